/* SPDX-License-Identifier: MIT */
/*
 * The configuration as the HTTP API's JSON: the seed's shape, generic over the
 * key table, secrets hidden, GET -> PATCH round trip, every refusal naming its
 * field and changing nothing, overrides merged and saved atomically.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/core/config-json.h"
#include "tap.h"

static struct config *base_config(void)
{
	static const char ini[] =
	    "[HTTP]\nPassword=httpsecret\n[MQTT]\nPassword=mqttsecret\nBroker=mqtt://b:1883\n";
	struct config *c = config_new();

	if (config_parse(c, "t.conf", ini, sizeof(ini) - 1, NULL, NULL) < 0)
		abort();
	return c;
}

static struct config *config_copy_or_abort(const struct config *src)
{
	struct config *c = config_new();

	if (!c)
		abort();
	*c = *src;
	return c;
}

static void copy_message(const char *message, void *userdata)
{
	char *buf = userdata;

	if (!buf[0])
		snprintf(buf, 512, "%s", message);
}

static void test_shape(void)
{
	struct config *c = base_config();
	json_t *j = config_json_dump(c);
	char *text = json_dumps(j, JSON_COMPACT);

	tap_ok(json_is_string(json_object_get(j, "MeterType")), "MeterType at the top");
	tap_ok(json_is_string(json_object_get(j, "DefaultNetIf")), "DefaultNetIf at the top");
	tap_ok(json_is_string(json_object_get(json_object_get(json_object_get(j, "Ethernet"), "StaticIPv4"),
					      "IpAddress")),
	       "Ethernet.StaticIPv4.IpAddress");
	tap_ok(json_is_string(json_object_get(json_object_get(json_object_get(j, "WiFi"), "ConnectionData"),
					      "WiFiSSID")),
	       "WiFi.ConnectionData.WiFiSSID");
	tap_ok(json_is_false(json_object_get(json_object_get(j, "MQTT"), "Enabled")),
	       "MQTT.Enabled is a boolean");
	tap_ok(json_is_integer(json_object_get(json_object_get(j, "Modbus"), "MaxClients")),
	       "Modbus.MaxClients is an integer");
	tap_ok(!json_object_get(json_object_get(j, "Modbus"), "MeterType"), "MeterType only once");
	tap_ok(!json_object_get(j, "Network"), "no Network object: its keys have the seed's places");
	tap_ok(strstr(text, "httpsecret") == NULL && strstr(text, "mqttsecret") == NULL,
	       "no secret in the dump");
	tap_ok(strcmp(json_string_value(json_object_get(json_object_get(j, "MQTT"), "Password")),
		      CONFIG_JSON_HIDDEN) == 0,
	       "a set secret reads %s", CONFIG_JSON_HIDDEN);
	tap_ok(strcmp(json_string_value(json_object_get(
			  json_object_get(json_object_get(j, "WiFi"), "ConnectionData"), "WiFiPassword")),
		      "") == 0,
	       "an unset secret reads \"\"");

	/* Every key of the table is somewhere in the dump. */
	unsigned missing = 0;
	for (size_t i = 0; i < config_n_keys(); i++) {
		char path[160], *save = NULL;
		json_t *o = j;

		config_json_path(i, path, sizeof(path));
		for (char *p = strtok_r(path, ".", &save); p && o; p = strtok_r(NULL, ".", &save))
			o = json_object_get(o, p);
		missing += o == NULL;
	}
	tap_ok(missing == 0, "every key of the table is in the dump (%u missing)", missing);
	free(text);
	json_decref(j);
	config_free(c);
}

static void test_round_trip(void)
{
	struct config *c = base_config(), *next = NULL;
	struct config_json_error e = {};
	json_t *j = config_json_dump(c), *ovr = NULL;
	char *body = json_dumps(j, JSON_COMPACT);
	int r;

	r = config_json_patch(c, NULL, body, strlen(body), &next, &ovr, &e);
	tap_ok(r == 0, "PATCH with the GET output is accepted (%s)", e.message);
	tap_ok(r == 0 && config_diff(c, next) == 0 && memcmp(c, next, sizeof(*c)) == 0,
	       "GET -> PATCH round-trips, secrets unchanged");
	char *saved = r == 0 ? json_dumps(ovr, 0) : NULL;
	tap_ok(saved && strstr(saved, "<hidden>") == NULL, "placeholders are not stored");
	free(saved);
	config_free(next);
	json_decref(ovr);
	free(body);
	json_decref(j);
	config_free(c);
}

static void test_merge(void)
{
	struct config *c = base_config(), *n1 = NULL, *n2 = NULL;
	struct config_json_error e = {};
	json_t *o1 = NULL, *o2 = NULL;
	const char *p1 = "{\"MQTT\":{\"Site\":\"a\",\"Password\":\"new\"},\"MeterType\":\"SunSpec\"}";
	const char *p2 = "{\"MQTT\":{\"Username\":\"u\",\"Password\":\"<hidden>\"}}";

	tap_ok(config_json_patch(c, NULL, p1, strlen(p1), &n1, &o1, &e) == 0, "first patch");
	tap_ok(config_json_patch(c, o1, p2, strlen(p2), &n2, &o2, &e) == 0, "second patch over the first");
	tap_ok(n2 && strcmp(n2->mqtt_site, "a") == 0 && strcmp(n2->mqtt_username, "u") == 0 &&
		   strcmp(n2->mqtt_password, "new") == 0 && n2->meter_type == CONFIG_METER_TYPE_SUNSPEC,
	       "fields of both patches are in force, the hidden secret kept");
	tap_ok(n2 && strcmp(n2->http_password, "httpsecret") == 0, "untouched keys keep the file's value");
	tap_ok(o2 && json_object_get(json_object_get(o2, "MQTT"), "Site") &&
		   strcmp(json_string_value(json_object_get(json_object_get(o2, "MQTT"), "Password")),
			  "new") == 0,
	       "overrides merged: Site and the real password stored");
	config_free(n1);
	config_free(n2);
	json_decref(o1);
	json_decref(o2);
	config_free(c);
}

static void test_errors(void)
{
	static const struct {
		const char *body, *field;
	} bad[] = {
		{ "{\"MQTT\":{\"Brokr\":\"x\"}}", "MQTT.Brokr" },
		{ "{\"Nope\":1}", "Nope" },
		{ "{\"MQTT\":{\"Enabled\":\"yes\"}}", "MQTT.Enabled" },
		{ "{\"Modbus\":{\"MaxClients\":\"16\"}}", "Modbus.MaxClients" },
		{ "{\"Modbus\":{\"MaxClients\":1.5}}", "Modbus.MaxClients" },
		{ "{\"Modbus\":{\"MaxClients\":0}}", "Modbus.MaxClients" },
		{ "{\"Modbus\":{\"MaxClients\":-1}}", "Modbus.MaxClients" },
		{ "{\"MQTT\":{\"Broker\":\"http://x\"}}", "MQTT.Broker" },
		{ "{\"MQTT\":{\"Broker\":null}}", "MQTT.Broker" },
		{ "{\"MQTT\":\"x\"}", "MQTT" },
		{ "{\"MeterType\":{\"a\":1}}", "MeterType" },
		{ "{\"Ethernet\":{\"StaticIPv4\":{\"IpAddress\":\"1.2.3\"}}}",
		  "Ethernet.StaticIPv4.IpAddress" },
		{ "{\"Ethernet\":{\"StaticIPv4\":{\"Netmask\":\"255.0.255.0\"}}}",
		  "Ethernet.StaticIPv4.Netmask" },
		{ "{\"Ethernet\":{\"IpMode\":\"Static\"}}", "Ethernet.StaticIPv4.IpAddress" },
		{ "{\"MQTT\":{\"Enabled\":true,\"Broker\":\"\"}}", "MQTT.Enabled" },
		{ "{\"WiFi\":{\"ConnectionData\":{\"WiFiPassword\":\"short\"}}}",
		  "WiFi.ConnectionData.WiFiPassword" },
		{ "{\"Meter\":{\"Device\":{\"x\":{\"y\":1}}}}", "Meter.Device" },
	};
	static const char *const bad_doc[] = { "[1,2]", "not json", "", "{\"a\":1,\"a\":2}",
					       "{\"MQTT\":{}} x",
					       /* jansson refuses NULs, so no value or key is cut short */
					       "{\"MQTT\":{\"Site\":\"a\\u0000b\"}}",
					       "{\"MQTT\\u0000x\":{}}" };
	struct config *c = base_config();

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct config_json_error e = {};
		struct config *next = NULL, copy = *c;
		json_t *ovr = NULL;
		int r;

		r = config_json_patch(c, NULL, bad[i].body, strlen(bad[i].body), &next, &ovr, &e);
		tap_ok(r == -EINVAL && strncmp(e.field, bad[i].field, strlen(bad[i].field)) == 0 &&
			   strstr(e.message, bad[i].field) && !next && !ovr &&
			   memcmp(&copy, c, sizeof(copy)) == 0,
		       "%s: refused, field '%s', message '%s'", bad[i].body, e.field, e.message);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_doc); i++) {
		struct config_json_error e = {};
		struct config *next = NULL;
		json_t *ovr = NULL;

		tap_ok(config_json_patch(c, NULL, bad_doc[i], strlen(bad_doc[i]), &next, &ovr, &e) ==
			       -EINVAL &&
			   e.message[0] && !next,
		       "'%s': refused (%s)", bad_doc[i], e.message);
	}

	/* 100,000 nested arrays: jansson's depth limit, no recursion here. */
	size_t n = 200000;
	char *deep = malloc(n + 1);
	struct config_json_error e = {};
	struct config *next = NULL;
	json_t *ovr = NULL;

	memset(deep, '[', n / 2);
	memset(deep + n / 2, ']', n / 2);
	deep[n] = '\0';
	tap_ok(config_json_patch(c, NULL, deep, n, &next, &ovr, &e) == -EINVAL && !next,
	       "deep nesting refused (%s)", e.message);
	free(deep);

	/* Secrets are never echoed in messages. */
	const char *p = "{\"MQTT\":{\"Password\":\"x\\u0001secretvalue\"}}";
	tap_ok(config_json_patch(c, NULL, p, strlen(p), &next, &ovr, &e) == -EINVAL &&
		   !strstr(e.message, "secretvalue"),
	       "a bad secret is not echoed (%s)", e.message);
	config_free(c);
}

static void test_files(void)
{
	char dir[] = "/tmp/test-config-json-XXXXXX", path[512], sub[600];
	struct config *c = base_config(), *next = NULL;
	struct config_json_error e = {};
	json_t *doc = json_pack("{s:{s:s}}", "MQTT", "Site", "filesite"), *got = NULL;
	FILE *f;

	if (!mkdtemp(dir))
		abort();
	snprintf(sub, sizeof(sub), "%s/state", dir);
	snprintf(path, sizeof(path), "%.400s/overrides.json", sub);
	tap_ok(config_json_load_file(path, c, &next, &got, &e) == -ENOENT, "no file: -ENOENT");
	tap_ok(config_json_save_file(path, doc) == 0, "save (creates the directory)");
	tap_ok(config_json_load_file(path, c, &next, &got, &e) == 0 &&
		   strcmp(next->mqtt_site, "filesite") == 0,
	       "load applies it");
	struct stat st;
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 077) == 0, "written with mode 0600");
	snprintf(sub, sizeof(sub), "%s.tmp", path);
	tap_ok(access(sub, F_OK) < 0, "no temporary file left");
	config_free(next);
	next = NULL;
	json_decref(got);

	f = fopen(path, "w");
	fputs("{\"MQTT\":{\"Site\":\"bad site\"}}", f);
	fclose(f);
	tap_ok(config_json_load_file(path, c, &next, &got, &e) == -EINVAL &&
		   strcmp(e.field, "MQTT.Site") == 0 && strstr(e.message, path),
	       "a broken file names file and field (%s)", e.message);
	f = fopen(path, "w");
	fputs("{\"MQTT\":", f);
	fclose(f);
	tap_ok(config_json_load_file(path, c, &next, &got, &e) == -EINVAL && strstr(e.message, path),
	       "invalid JSON names the file (%s)", e.message);

	/* A directory where the temporary file should go: the save fails, the old file stays. */
	snprintf(sub, sizeof(sub), "%s.tmp", path);
	mkdir(sub, 0700);
	size_t len0, len1;
	char *before = tap_read_file(path, &len0);
	tap_ok(config_json_save_file(path, doc) < 0, "save fails when the temporary file cannot be made");
	char *after = tap_read_file(path, &len1);
	tap_ok(before && after && len0 == len1 && memcmp(before, after, len0) == 0, "old file untouched");
	free(before);
	free(after);
	rmdir(sub);
	unlink(path);
	snprintf(sub, sizeof(sub), "%s/state", dir);
	rmdir(sub);
	rmdir(dir);
	json_decref(doc);
	config_free(c);
}

/* The configuration as text with its secrets: what two configurations differ in. */
static char *dump_text(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f || config_dump(c, f, true) < 0)
		abort();
	fclose(f);
	return buf;
}

static void test_dotted_names(void)
{
	static const char *const refused[] = {
		"{\"HTTP.Password\":\"x\"}",
		"{\"MQTT\":{\"Site\":\"a\"},\"MQTT.Site\":\"b\"}",
		"{\"Ethernet\":{\"StaticIPv4.IpAddress\":\"10.0.0.2\"}}",
	};
	struct config *c = base_config(), *next = NULL;
	struct config_json_error e = {};
	json_t *ovr = NULL;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		next = NULL;
		tap_ok(config_json_patch(c, NULL, refused[i], strlen(refused[i]), &next, &ovr, &e) ==
			       -EINVAL &&
			   !next && strchr(e.field, '.') && strstr(e.message, "nest"),
		       "dotted name refused, naming it: %s -> %s", refused[i], e.message);
	}
	config_free(c);
}

/* A file from before dotted names were refused: folded, the dotted name last. */
static void test_dotted_file(void)
{
	char dir[] = "/tmp/test-config-json-XXXXXX", path[128];
	struct config *c = base_config(), *next = NULL;
	struct config_json_error e = {};
	json_t *got = NULL;
	FILE *f;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/overrides.json", dir);
	f = fopen(path, "w");
	fputs("{\"HTTP\":{\"Password\":\"nested\"},\"HTTP.Password\":\"dotted\"}", f);
	fclose(f);
	tap_ok(config_json_load_file(path, c, &next, &got, &e) == 0 &&
		   strcmp(next->http_password, "dotted") == 0,
	       "an old file's dotted name applies after the nested one (%s)", e.message);
	tap_ok(got && !json_object_get(got, "HTTP.Password") &&
		   strcmp(json_string_value(json_object_get(json_object_get(got, "HTTP"), "Password")),
			  "dotted") == 0,
	       "and the document is folded into the nested form");
	unlink(path);
	rmdir(dir);
	json_decref(got);
	config_free(next);
	config_free(c);
}

/* Property: after any sequence of PATCHes, the saved overrides loaded over the
 * same base give exactly the running configuration (what a reload does). */
static void test_patch_sequences(void)
{
	static const char *const patches[] = {
		"{\"HTTP\":{\"Password\":\"p1\"}}",
		"{\"HTTP\":{\"Password\":\"<hidden>\"}}",
		"{\"HTTP.Password\":\"p2\"}",
		"{\"HTTP\":{\"Timeout\":20}}",
		"{\"MQTT\":{\"Site\":\"s1\",\"Password\":\"m1\"}}",
		"{\"MQTT\":{\"Password\":\"<hidden>\",\"Site\":\"s2\"}}",
		"{\"MQTT.Site\":\"s3\"}",
		"{\"MeterType\":\"SunSpec\"}",
		"{\"MeterType\":\"EMpro\"}",
		"{\"MQTT\":{\"Site\":\"bad site\"}}",
		"{\"Ethernet\":{\"IpMode\":\"static\",\"StaticIPv4\":{\"IpAddress\":\"192.168.1.20\","
		"\"Netmask\":\"255.255.255.0\",\"Gateway\":\"192.168.1.1\"}}}",
		"{\"Ethernet\":{\"IpMode\":\"dhcp\"}}",
		"{\"WiFi\":{\"ConnectionData\":{\"WiFiSSID\":\"caf\\u00e9\",\"WiFiPassword\":\"w1\"}}}",
	};
	const size_t n = sizeof(patches) / sizeof(patches[0]);
	char dir[] = "/tmp/test-config-json-XXXXXX", path[128];
	unsigned seed = 12345, mismatches = 0, applied = 0, rounds = 0;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/overrides.json", dir);
	for (unsigned seq = 0; seq < 200; seq++) {
		struct config *base = base_config(), *running = config_copy_or_abort(base);
		json_t *ovr = NULL;

		unsigned len = 1 + (unsigned) rand_r(&seed) % 8;

		for (unsigned k = 0; k < len; k++) {
			const char *p = patches[(size_t) rand_r(&seed) % n];
			struct config *next = NULL, *loaded = NULL;
			struct config_json_error e = {};
			json_t *nov = NULL, *got = NULL;
			char *a, *b;

			if (config_json_patch(base, ovr, p, strlen(p), &next, &nov, &e) < 0)
				continue;
			applied++;
			config_free(running);
			running = next;
			json_decref(ovr);
			ovr = nov;
			if (config_json_save_file(path, ovr) < 0 ||
			    config_json_load_file(path, base, &loaded, &got, &e) < 0)
				abort();
			a = dump_text(running);
			b = dump_text(loaded);
			mismatches += strcmp(a, b) != 0;
			rounds++;
			free(a);
			free(b);
			config_free(loaded);
			json_decref(got);
		}
		json_decref(ovr);
		config_free(running);
		config_free(base);
	}
	unlink(path);
	rmdir(dir);
	tap_ok(applied > 100 && mismatches == 0,
	       "200 random PATCH sequences (%u patches applied): a reload gives the running configuration "
	       "every time (%u mismatches in %u checks)",
	       applied, mismatches, rounds);
}

static void test_utf8(void)
{
	static const char latin1[] = "[Network]\nWiFiSSID=caf\xe9\n";
	struct config *c = config_new();
	char msg[512] = "";
	int r;

	r = config_parse(c, "t.conf", latin1, sizeof(latin1) - 1, copy_message, msg);
	tap_ok(r < 0 && strstr(msg, "WiFiSSID") && strstr(msg, "UTF-8"),
	       "a Latin-1 SSID in the file is refused, naming the key: %s", msg);
	tap_ok(!config_text_is_utf8("caf\xe9") && config_text_is_utf8("caf\xc3\xa9") &&
		   !config_text_is_utf8("\xc0\xaf") && !config_text_is_utf8("\xed\xa0\x80"),
	       "UTF-8 check: Latin-1, overlong and surrogate bytes refused, UTF-8 accepted");
	config_free(c);
}

int main(void)
{
	test_shape();
	test_round_trip();
	test_merge();
	test_errors();
	test_files();
	test_dotted_names();
	test_dotted_file();
	test_patch_sequences();
	test_utf8();
	return tap_done();
}
