/* SPDX-License-Identifier: MIT */
/*
 * The configuration as JSON (see config-json.h): a walk over config.c's key
 * table, with a short list of keys that the original device's API places
 * elsewhere than "Section.Key".
 *
 * Pure except the two file functions at the end. Never logs.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/base/file.h"
#include "smartconnectd/core/config-json.h"

#define PATH_MAX_LEN 160

/* Keys whose JSON place is not "Section.Key". */
static const struct {
	const char *section, *key, *path;
} json_paths[] = {
	{ "Modbus", "MeterType", "MeterType" },
	{ "Network", "Manage", "NetworkManagement.Manage" },
	{ "Network", "EthernetInterface", "Ethernet.Interface" },
	{ "Network", "WiFiInterface", "WiFi.Interface" },
	{ "Network", "ConfirmTimeout", "NetworkManagement.ConfirmTimeout" },
	{ "Network", "Hostname", "Hostname" },
	{ "Network", "DefaultNetIf", "DefaultNetIf" },
	{ "Network", "EthernetIpMode", "Ethernet.IpMode" },
	{ "Network", "EthernetAddress", "Ethernet.StaticIPv4.IpAddress" },
	{ "Network", "EthernetNetmask", "Ethernet.StaticIPv4.Netmask" },
	{ "Network", "EthernetGateway", "Ethernet.StaticIPv4.Gateway" },
	{ "Network", "EthernetDNS", "Ethernet.StaticIPv4.DNS" },
	{ "Network", "WiFiSSID", "WiFi.ConnectionData.WiFiSSID" },
	{ "Network", "WiFiPassword", "WiFi.ConnectionData.WiFiPassword" },
	{ "Network", "WiFiIpMode", "WiFi.IpMode" },
	{ "Network", "WiFiAddress", "WiFi.StaticIPv4.IpAddress" },
	{ "Network", "WiFiNetmask", "WiFi.StaticIPv4.Netmask" },
	{ "Network", "WiFiGateway", "WiFi.StaticIPv4.Gateway" },
	{ "Network", "WiFiDNS", "WiFi.StaticIPv4.DNS" },
};

static void set_error(struct config_json_error *e, const char *field, const char *fmt, ...) _printf_(3, 4);

static void set_error(struct config_json_error *e, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->field, sizeof(e->field), "%s", field ?: "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);

	/* Messages quote what the client sent and end up in the log: one line. */
	for (char *p = e->message; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			*p = '?';
	for (char *p = e->field; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			*p = '?';
}

const char *config_json_path(size_t i, char *buf, size_t size)
{
	struct config_key_info k = config_key_at(i);

	for (size_t j = 0; j < ARRAY_SIZE(json_paths); j++)
		if (strcmp(json_paths[j].section, k.section) == 0 && strcmp(json_paths[j].key, k.key) == 0) {
			snprintf(buf, size, "%s", json_paths[j].path);
			return buf;
		}
	snprintf(buf, size, "%s.%s", k.section, k.key);
	return buf;
}

/* The key at exactly this path, or -ENOENT; -EISDIR when the path is an
 * object on the way to keys. */
static int lookup_path(const char *path)
{
	size_t n = strlen(path);
	char p[PATH_MAX_LEN];
	bool node = false;

	for (size_t i = 0; i < config_n_keys(); i++) {
		config_json_path(i, p, sizeof(p));
		if (strcmp(p, path) == 0)
			return (int) i;
		if (strncmp(p, path, n) == 0 && p[n] == '.')
			node = true;
	}
	return node ? -EISDIR : -ENOENT;
}

/* The object at the dotted path inside root, created on the way. */
static json_t *object_at(json_t *root, const char *path, const char **ret_leaf)
{
	char part[PATH_MAX_LEN];
	const char *p = path, *dot;

	while ((dot = strchr(p, '.'))) {
		json_t *o;

		snprintf(part, sizeof(part), "%.*s", (int) (dot - p), p);
		o = json_object_get(root, part);
		if (!o) {
			o = json_object();
			if (!o || json_object_set_new(root, part, o) < 0)
				return NULL;
		}
		root = o;
		p = dot + 1;
	}
	*ret_leaf = p;
	return root;
}

static json_t *value_json(const struct config *c, size_t i)
{
	struct config_key_info k = config_key_at(i);
	char v[CONFIG_VALUE_MAX];

	config_get(c, i, v, sizeof(v));
	if (k.secret)
		return json_string(v[0] ? CONFIG_JSON_HIDDEN : "");
	switch (k.kind) {
	case CONFIG_VALUE_BOOL:
		return json_boolean(strcmp(v, "yes") == 0);
	case CONFIG_VALUE_INT:
		return json_integer(strtoll(v, NULL, 10));
	case CONFIG_VALUE_STRING:
		break;
	}
	return json_string(v);
}

json_t *config_json_dump(const struct config *c)
{
	json_auto_t *root = json_object();

	if (!root)
		return NULL;
	for (size_t i = 0; i < config_n_keys(); i++) {
		char path[PATH_MAX_LEN];
		const char *leaf;
		json_t *o;

		o = object_at(root, config_json_path(i, path, sizeof(path)), &leaf);
		if (!o || json_object_set_new(o, leaf, value_json(c, i)) < 0)
			return NULL;
	}
	return json_incref(root);
}

/* The JSON value as the config file would spell it; -EINVAL for a wrong type. */
static int value_text(const json_t *v, enum config_value_kind kind, char *buf, size_t size,
		      const char **ret_want)
{
	switch (kind) {
	case CONFIG_VALUE_BOOL:
		*ret_want = "true or false";
		if (!json_is_boolean(v))
			return -EINVAL;
		snprintf(buf, size, "%s", json_is_true(v) ? "yes" : "no");
		return 0;
	case CONFIG_VALUE_INT:
		*ret_want = "an integer";
		if (!json_is_integer(v))
			return -EINVAL;
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	case CONFIG_VALUE_STRING:
		break;
	}
	*ret_want = "a string";
	if (!json_is_string(v))
		return -EINVAL;
	/* A NUL inside the string would silently cut the value short. */
	if (json_string_length(v) >= size || strlen(json_string_value(v)) != json_string_length(v))
		return -ERANGE;
	snprintf(buf, size, "%s", json_string_value(v));
	return 0;
}

static int apply_leaf(struct config *c, size_t i, const char *path, const json_t *v,
		      struct config_json_error *e)
{
	struct config_key_info k = config_key_at(i);
	char text[CONFIG_VALUE_MAX], err[384];
	const char *want;
	int r;

	r = value_text(v, k.kind, text, sizeof(text), &want);
	if (r == -ERANGE) {
		set_error(e, path, "%s: too long or contains a NUL character", path);
		return -EINVAL;
	}
	if (r < 0) {
		set_error(e, path, "%s: expected %s", path, want);
		return -EINVAL;
	}
	if (k.secret && strcmp(text, CONFIG_JSON_HIDDEN) == 0)
		return 0;
	r = config_set(c, i, text, err, sizeof(err));
	if (r < 0) {
		set_error(e, path, "%s: %s", path, err);
		return -EINVAL;
	}
	return 0;
}

static int apply_object(struct config *c, const json_t *obj, const char *prefix, struct config_json_error *e)
{
	const char *name;
	size_t name_len;
	json_t *v;
	int r;

	json_object_keylen_foreach((json_t *) obj, name, name_len, v)
	{
		char path[PATH_MAX_LEN];
		int n;

		/* A key with a NUL in it must not alias the key before the NUL. */
		n = snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
		r = n < 0 || (size_t) n >= sizeof(path) || strlen(name) != name_len ? -ENOENT
										    : lookup_path(path);
		if (r == -ENOENT) {
			set_error(e, path, "%s: unknown key", path);
			return -EINVAL;
		}
		if (r == -EISDIR) {
			if (!json_is_object(v)) {
				set_error(e, path, "%s: expected an object", path);
				return -EINVAL;
			}
			r = apply_object(c, v, path, e);
		} else {
			r = apply_leaf(c, (size_t) r, path, v, e);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int config_json_apply(struct config *c, const json_t *patch, struct config_json_error *e)
{
	if (!json_is_object(patch)) {
		set_error(e, NULL, "expected a JSON object");
		return -EINVAL;
	}
	return apply_object(c, patch, "", e);
}

/* The first config_validate() message, with its "[Section] Key" turned into a JSON path. */
struct validate_state {
	struct config_json_error *e;
	bool seen;
};

static void on_validate_error(const char *message, void *userdata)
{
	struct validate_state *vs = userdata;
	char section[64], key[64], path[PATH_MAX_LEN] = "";
	int i;

	if (vs->seen)
		return;
	vs->seen = true;
	if (sscanf(message, "[%63[^]]] %63[^:]:", section, key) == 2 &&
	    (i = config_key_find(section, key)) >= 0)
		config_json_path((size_t) i, path, sizeof(path));
	if (path[0])
		set_error(vs->e, path, "%s: %s", path, message);
	else
		set_error(vs->e, NULL, "%s", message);
}

/* Merge src into dst (both objects), leaving out secrets sent as "<hidden>". */
static int merge_into(json_t *dst, const json_t *src, const char *prefix)
{
	const char *name;
	json_t *v;

	json_object_foreach ((json_t *) src, name, v) {
		char path[PATH_MAX_LEN];
		json_t *d = json_object_get(dst, name);
		int i;

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
		if (json_is_object(v)) {
			if (!json_is_object(d)) {
				d = json_object();
				if (!d || json_object_set_new(dst, name, d) < 0)
					return -ENOMEM;
			}
			if (merge_into(d, v, path) < 0)
				return -ENOMEM;
			continue;
		}
		i = lookup_path(path);
		if (i >= 0 && config_key_at((size_t) i).secret && json_is_string(v) &&
		    strcmp(json_string_value(v), CONFIG_JSON_HIDDEN) == 0)
			continue;
		if (json_object_set(dst, name, v) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Dotted names ({"HTTP.Password": …}) would be stored beside the nested form
 * and win over it at the next load: a patch has one spelling, the nested one. */
static int check_names(const json_t *obj, const char *prefix, struct config_json_error *e)
{
	const char *name;
	json_t *v;

	json_object_foreach ((json_t *) obj, name, v) {
		char path[PATH_MAX_LEN];

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
		if (strchr(name, '.')) {
			set_error(e, path,
				  "%s: a name cannot contain '.'; nest the objects instead, "
				  "as in {\"HTTP\": {\"Password\": ...}}",
				  path);
			return -EINVAL;
		}
		if (json_is_object(v) && check_names(v, path, e) < 0)
			return -EINVAL;
	}
	return 0;
}

/* The files the patch newly names must be regular files of bounded size: a
 * FIFO or a tty would block the daemon that reads it, at once and again at
 * every start, so it is refused before anything is saved. */
static int check_files(const struct config *before, const struct config *after, struct config_json_error *e)
{
	char a[CONFIG_VALUE_MAX], b[CONFIG_VALUE_MAX], path[PATH_MAX_LEN];
	int r;

	for (size_t i = 0; i < config_n_keys(); i++) {
		if (!config_key_at(i).read_file)
			continue;
		config_get(after, i, a, sizeof(a));
		if (!a[0] || strcmp(a, config_get(before, i, b, sizeof(b))) == 0)
			continue;
		r = file_open_regular(a, FILE_SETTING_MAX);
		if (r < 0) {
			config_json_path(i, path, sizeof(path));
			set_error(e, path, "%s: '%s' cannot be used: %s", path, a, file_error_to_string(r));
			return -EINVAL;
		}
		close(r);
	}
	return 0;
}

int config_json_patch(const struct config *base, const json_t *overrides, const char *body, size_t len,
		      struct config **ret_config, json_t **ret_overrides, struct config_json_error *e)
{
	_cleanup_(config_freep) struct config *next = NULL;
	struct validate_state vs = { .e = e };
	json_auto_t *patch = NULL, *merged = NULL;
	struct config before;
	json_error_t je;
	int r;

	if (len > CONFIG_JSON_BODY_MAX) {
		set_error(e, NULL, "request body too large (at most %d bytes)", CONFIG_JSON_BODY_MAX);
		return -EINVAL;
	}
	patch = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!patch) {
		set_error(e, NULL, "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
		return -EINVAL;
	}

	if (json_is_object(patch) && check_names(patch, "", e) < 0)
		return -EINVAL;

	next = config_new();
	if (!next)
		return -ENOMEM;
	*next = *base;
	/* The stored overrides were valid when written, but a changed config file
	 * may clash with them: report that too. */
	if (overrides) {
		r = config_json_apply(next, overrides, e);
		if (r < 0)
			return r;
	}
	before = *next;
	r = config_json_apply(next, patch, e);
	if (r < 0)
		return r;
	r = config_validate(next, on_validate_error, &vs);
	if (r < 0)
		return r;
	r = check_files(&before, next, e);
	if (r < 0)
		return r;

	merged = overrides ? json_deep_copy(overrides) : json_object();
	if (!merged || merge_into(merged, patch, "") < 0)
		return -ENOMEM;

	*ret_config = TAKE_PTR(next);
	*ret_overrides = json_incref(merged);
	return 0;
}

/* A file written before patches were held to the nested spelling may hold
 * dotted names: fold them into the nested form, after the nested names, as
 * the sorted file was applied then. NULL when a dotted name runs through a
 * value (the file is then refused). */
static json_t *fold_dotted(const json_t *doc)
{
	json_auto_t *out = json_object();
	const char *name, *leaf;
	json_t *v, *o;

	if (!out)
		return NULL;
	json_object_foreach ((json_t *) doc, name, v)
		if (!strchr(name, '.') && json_object_set_new(out, name, json_deep_copy(v)) < 0)
			return NULL;
	json_object_foreach ((json_t *) doc, name, v) {
		if (!strchr(name, '.'))
			continue;
		o = object_at(out, name, &leaf);
		if (!o || !json_is_object(o) || json_object_set(o, leaf, v) < 0)
			return NULL;
	}
	return json_incref(out);
}

int config_json_load_file(const char *path, const struct config *base, struct config **ret_config,
			  json_t **ret_overrides, struct config_json_error *e)
{
	_cleanup_(config_freep) struct config *next = NULL;
	struct validate_state vs = { .e = e };
	json_auto_t *doc = NULL;
	json_error_t je;
	struct stat st;
	int r;

	if (stat(path, &st) < 0) {
		r = -errno;
		if (r != -ENOENT)
			set_error(e, NULL, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_JSON_BODY_MAX) {
		set_error(e, NULL, "%s: not a regular file of at most %d bytes", path, CONFIG_JSON_BODY_MAX);
		return -EINVAL;
	}
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		set_error(e, NULL, "%s: invalid JSON at line %d, column %d: %s", path, je.line, je.column,
			  je.text);
		return -EINVAL;
	}
	if (json_is_object(doc)) {
		json_t *folded = fold_dotted(doc);

		if (!folded) {
			set_error(e, NULL, "%s: a dotted name clashes with a value", path);
			return -EINVAL;
		}
		json_decref(doc);
		doc = folded;
	}

	next = config_new();
	if (!next)
		return -ENOMEM;
	*next = *base;
	r = config_json_apply(next, doc, e);
	if (r == 0)
		r = config_validate(next, on_validate_error, &vs);
	if (r < 0) {
		char msg[sizeof(e->message)];

		snprintf(msg, sizeof(msg), "%s", e->message);
		snprintf(e->message, sizeof(e->message), "%.200s: %.400s", path, msg);
		return r;
	}

	*ret_config = TAKE_PTR(next);
	*ret_overrides = json_incref(doc);
	return 0;
}

int config_json_remove_partial(const char *path)
{
	_cleanup_free_ char *tmp = NULL;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	if (unlink(tmp) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

int config_json_save_file(const char *path, const json_t *overrides)
{
	_cleanup_free_ char *text = NULL, *dircopy = NULL;
	size_t len;

	text = json_dumps(overrides, JSON_INDENT(2) | JSON_SORT_KEYS);
	dircopy = strdup(path);
	if (!text || !dircopy)
		return -ENOMEM;
	if (mkdir(dirname(dircopy), 0750) < 0 && errno != EEXIST)
		return -errno;
	/* The file ends with a newline, as an editor would leave it. */
	len = strlen(text);
	text[len] = '\n';
	return file_write_atomic(path, 0600, text, len + 1);
}
