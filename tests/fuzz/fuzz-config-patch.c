/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for PATCH /api/v1/config (config_json_patch): any bytes as the
 * request body, applied over a fixed configuration with stored overrides.
 * Besides not crashing, it checks that
 *  - a refused patch leaves the base configuration and the overrides exactly
 *    as they were, returns nothing, and explains itself in one bounded line;
 *    a field, when given, is a path of the JSON shape and named by the message;
 *  - an accepted patch gives a configuration that config_validate() accepts,
 *    whose JSON holds no secret, and which round-trips: its own JSON sent
 *    back as a patch (placeholders included) changes nothing;
 *  - the new overrides document, applied over the base, gives the same
 *    configuration (what is saved is what runs).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/core/config-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_ini[] = "[HTTP]\nPassword=fuzz-http-secret\n"
			       "[MQTT]\nPassword=fuzz-mqtt-secret\nBroker=mqtt://broker:1883\nSite=s\n"
			       "[Network]\nWiFiPassword=fuzz-wifi-secret\n";
static const char overrides_json[] = "{\"MQTT\":{\"Username\":\"u\"},\"MeterType\":\"SunSpec\"}";

static void no_error(const char *msg, void *userdata)
{
	(void) msg;
	(void) userdata;
	abort();
}

/* Every secret reads "<hidden>" or "", and none of the base's secrets shows. */
static void check_no_secret(const struct config *c, bool patch_has_marker)
{
	json_t *j = config_json_dump(c);
	char *text = json_dumps(j, JSON_COMPACT);

	assert(text);
	for (size_t i = 0; i < config_n_keys(); i++) {
		char path[160], *save = NULL;
		json_t *o = j;

		if (!config_key_at(i).secret)
			continue;
		config_json_path(i, path, sizeof(path));
		for (char *p = strtok_r(path, ".", &save); p && o; p = strtok_r(NULL, ".", &save))
			o = json_object_get(o, p);
		assert(json_is_string(o));
		assert(strcmp(json_string_value(o), CONFIG_JSON_HIDDEN) == 0 || !json_string_value(o)[0]);
	}
	/* The base's secret values appear nowhere, unless the patch itself put
	 * that text into a field that is not secret (a broker URL, say). */
	if (!patch_has_marker)
		assert(!strstr(text, "fuzz-mqtt-secret") && !strstr(text, "fuzz-http-secret") &&
		       !strstr(text, "fuzz-wifi-secret"));
	free(text);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *base = config_new(), *next = NULL, *again = NULL, *replay = NULL;
	struct config_json_error e = { .field = "x", .message = "x" };
	json_t *ovr = json_loads(overrides_json, 0, NULL), *ovr_copy = json_deep_copy(ovr), *out = NULL;
	struct config base_copy;
	int r;

	assert(base && ovr && ovr_copy);
	assert(config_parse(base, "base.conf", base_ini, sizeof(base_ini) - 1, no_error, NULL) == 0);
	base_copy = *base;

	r = config_json_patch(base, ovr, (const char *) data, size, &next, &out, &e);
	assert(memcmp(base, &base_copy, sizeof(base_copy)) == 0);
	assert(json_equal(ovr, ovr_copy));
	if (r < 0) {
		assert(r == -EINVAL || r == -ENOMEM);
		assert(!next && !out);
		if (r == -EINVAL) {
			assert(e.message[0] && !strchr(e.message, '\n'));
			/* The base's secrets are never echoed (the patch's own text may be). */
			if (!memmem(data, size, "fuzz-", 5))
				assert(!strstr(e.message, "fuzz-mqtt-secret") &&
				       !strstr(e.message, "fuzz-http-secret"));
			if (e.field[0])
				assert(strstr(e.message, e.field));
		}
		goto out;
	}

	assert(config_validate(next, no_error, NULL) == 0);
	check_no_secret(next, memmem(data, size, "fuzz-", 5) != NULL);

	/* GET -> PATCH changes nothing. */
	json_t *dump = config_json_dump(next);
	char *body = json_dumps(dump, JSON_COMPACT);
	json_t *out2 = NULL;
	assert(body);
	assert(config_json_patch(base, out, body, strlen(body), &again, &out2, &e) == 0);
	assert(memcmp(again, next, sizeof(*next)) == 0);
	json_decref(out2);
	free(body);
	json_decref(dump);

	/* The saved document alone reproduces the running configuration. */
	replay = config_new();
	*replay = *base;
	assert(config_json_apply(replay, out, &e) == 0);
	assert(memcmp(replay, next, sizeof(*next)) == 0);

out:
	config_free(base);
	config_free(next);
	config_free(again);
	config_free(replay);
	json_decref(ovr);
	json_decref(ovr_copy);
	json_decref(out);
	return 0;
}
