/* SPDX-License-Identifier: MIT */
/*
 * TLS for the MQTT connection, private to mqtt.c. Never logs: errors are
 * written into the caller's buffer for its own log line.
 */
#pragma once

#include <errno.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>

#include "smartconnectd/outputs/mqtt.h"

/*
 * Give mosq a TLS context for the broker of s: its CAs (the system's when
 * both are empty), its client certificate when there is no user name, and
 * the broker's host name to verify and send as SNI. s must outlive mosq: the
 * context keeps a pointer to that name.
 * Returns 0, or -EINVAL with the reason in err.
 */
int mqtt_tls_setup(struct mosquitto *mosq, const struct mqtt_settings *s, char *err, size_t errsz);

/* True while a TLS handshake is under way on mosq's connection. */
bool mqtt_tls_handshaking(struct mosquitto *mosq);
