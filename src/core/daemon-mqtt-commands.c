/* SPDX-License-Identifier: MIT */
/*
 * The hub's side of the MQTT remote commands (see mqtt.h, Commands=yes):
 * each command does what the HTTP API's endpoint of the same meaning does,
 * through the same functions, so a config command and a PATCH of
 * /api/v1/config give the same result and the same refusals.
 *
 *   config    a JSON patch, as PATCH /api/v1/config; answers the resulting
 *             configuration with its secrets hidden (as GET does)
 *   status    GET /api/v1/status
 *   telegram  GET /api/v1/telegram
 *   reset     POST /api/v1/reset
 *   identify  POST /api/v1/identify
 *   update    refused: this build has no update path
 *
 * A command that changes something and repeats one of the last seconds
 * exactly (mqtt_command.repeated) is refused, so a redelivered message is
 * not carried out twice. Every command is logged with the topic it came on.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/mqtt.h"

#include "daemon-internal.h"

static json_t *answer_error(const char *why)
{
	return json_pack("{s:b,s:s}", "ok", false, "error", why);
}

static json_t *answer_ok(const char *key, json_t *value)
{
	if (!value)
		return NULL;
	return json_pack("{s:b,s:o}", "ok", true, key, value);
}

static json_t *command_config(struct daemon *d, const struct mqtt_command *c)
{
	json_t *err = NULL, *answer;
	int r = daemon_patch_config(d, c->payload, c->len, &err);

	if (r == 0)
		return answer_ok("config", daemon_config_json(d));
	answer =
	    err ?: json_pack("{s:s}", "error", r == -EINVAL ? "invalid" : "cannot apply the configuration");
	if (answer && json_object_set_new(answer, "ok", json_false()) < 0) {
		json_decref(answer);
		return NULL;
	}
	return answer;
}

static json_t *command_telegram(struct daemon *d)
{
	const char *text = NULL;
	size_t len = 0;

	if (daemon_last_telegram(d, &text, &len) < 0)
		return answer_error("no telegram yet");
	/* NULL for bytes that are not UTF-8: then no answer is better than broken JSON. */
	return answer_ok("telegram", json_stringn(text, len)) ?: answer_error("the telegram is not text");
}

static json_t *command_done(int r)
{
	if (r < 0)
		return answer_error(strerror(-r));
	return json_pack("{s:b}", "ok", true);
}

/* Read-only commands first: they may repeat. */
static json_t *command_dispatch(struct daemon *d, const struct mqtt_command *c)
{
	if (strcmp(c->name, "status") == 0)
		return answer_ok("status", daemon_status_json(d));
	if (strcmp(c->name, "telegram") == 0)
		return command_telegram(d);
	if (strcmp(c->name, "update") == 0)
		return answer_error("updates not available");
	if (strcmp(c->name, "config") != 0 && strcmp(c->name, "reset") != 0 &&
	    strcmp(c->name, "identify") != 0)
		return answer_error("unknown command");
	if (c->repeated)
		return answer_error("repeated command ignored");
	if (strcmp(c->name, "config") == 0)
		return command_config(d, c);
	if (strcmp(c->name, "reset") == 0)
		return command_done(daemon_soft_reset(d));
	return command_done(daemon_identify(d));
}

json_t *daemon_mqtt_command(struct mqtt *m, const struct mqtt_command *c, void *userdata)
{
	json_t *answer;
	json_t *why;

	(void) m;
	log_info("MQTT command '%s' received on %s (%zu bytes)", c->name, c->topic, c->len);
	answer = command_dispatch(userdata, c);
	why = answer ? json_object_get(answer, "error") : NULL;
	if (!answer)
		(void) log_oom();
	else if (why)
		log_info("MQTT command '%s' on %s refused: %s", c->name, c->topic, json_string_value(why));
	else
		log_info("MQTT command '%s' on %s done", c->name, c->topic);
	return answer;
}
