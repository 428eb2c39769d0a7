/* SPDX-License-Identifier: MIT */
/*
 * The MQTT publisher (see mqtt.h). One struct mosquitto per connection
 * attempt: a failed or lost connection is torn down whole (socket closed,
 * library state gone) and the next attempt starts from nothing, so no library
 * state machine outlives an error. Library callbacks only record what
 * happened; the decisions are taken after the library call returned, because
 * a mosquitto object must not be destroyed from inside its own callback.
 */
#include <errno.h>
#include <malloc.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"
#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/outputs/reading-json-text.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/mqtt.h"
#include "smartconnectd/net/resolve.h"

#include "mqtt-internal.h"
#include "mqtt-tls.h"
#include "smartconnectd/outputs/mqtt-limits.h"

static const char *const state_names[_MQTT_STATE_MAX] = {
	[MQTT_STATE_DISABLED] = "disabled",
	[MQTT_STATE_CONNECTING] = "connecting",
	[MQTT_STATE_CONNECTED] = "connected",
	[MQTT_STATE_DISCONNECTED] = "disconnected",
};

static void mqtt_teardown(struct mqtt *m);
static int mqtt_sync_io(struct mqtt *m);
static void mqtt_fail(struct mqtt *m, const char *why);

DEFINE_STRING_TABLE_TO(mqtt_state, enum mqtt_state, state_names)

static uint64_t mqtt_now(const struct mqtt *m)
{
	uint64_t now = 0;

	(void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	return now;
}

static void mqtt_set_state(struct mqtt *m, enum mqtt_state s)
{
	if (m->state == s)
		return;
	m->state = s;
	if (m->on_state)
		m->on_state(m, m->userdata);
}

/* ---- topics and messages ---- */

const char *mqtt_topic(const struct mqtt *m, const char *metric, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/data/%s", m->base, metric);

	/* Our own metric names always fit; a cut topic would be a wrong one. */
	if (n < 0 || (size_t) n >= size)
		buf[0] = '\0';
	return buf;
}

static void mqtt_build_topics(struct mqtt *m)
{
	/* An empty topic level is legal MQTT but trips up many consumers. */
	snprintf(m->base, sizeof(m->base), "devices/%s/smart-connect/%s",
		 m->set.site[0] ? m->set.site : "default", m->set.serial);
	if (snprintf(m->status_topic, sizeof(m->status_topic), "%s/status", m->base) < 0)
		m->status_topic[0] = '\0';
	mqtt_topic(m, "power_instant", m->power_topic, sizeof(m->power_topic));
	mqtt_topic(m, "device_counters", m->counters_topic, sizeof(m->counters_topic));
	mqtt_topic(m, "capacity", m->capacity_topic, sizeof(m->capacity_topic));
}

/* Hand one message of len bytes to the connection, with MQTT 5 properties
 * (NULL: none; never on 3.1.1). Counted either way. */
static int mqtt_publish(struct mqtt *m, const char *topic, const char *payload, size_t len, int qos,
			bool retain, const mosquitto_property *props)
{
	int rc;

	if (m->state != MQTT_STATE_CONNECTED || !m->mosq) {
		m->counters.send_fail++;
		return -ENOTCONN;
	}
	rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int) len, payload, qos, retain, props);
	if (rc != MOSQ_ERR_SUCCESS) {
		m->counters.send_fail++;
		if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)
			m->lost = true;
		return -EIO;
	}
	m->counters.send_pass++;
	return 0;
}

int mqtt_send(struct mqtt *m, const char *topic, const char *payload, int qos, bool retain)
{
	return mqtt_publish(m, topic, payload, strlen(payload), qos, retain, NULL);
}

/* power_instant, under its topic alias where the connection has one (mqtt-protocol.c). */
static void mqtt_send_power(struct mqtt *m, const char *text, size_t len)
{
	const mosquitto_property *alias;
	const char *topic = mqtt_protocol_power_topic(m, &alias);

	if (mqtt_publish(m, topic, text, len, 0, false, alias) == 0 && alias)
		mqtt_protocol_power_sent(m);
}

int mqtt_send_json(struct mqtt *m, const char *topic, json_t *o, int qos, bool retain)
{
	_cleanup_free_ char *text = NULL;

	if (!o) {
		m->counters.send_fail++;
		return log_oom();
	}
	text = json_dumps(o, READING_JSON_DUMP_FLAGS);
	json_decref(o);
	if (!text) {
		m->counters.send_fail++;
		return log_oom();
	}
	return mqtt_send(m, topic, text, qos, retain);
}

/* What a library return code means. libmosquitto 2.0's mosquitto_strerror()
 * says "Unknown error." for several codes the library itself returns (a
 * keep-alive timeout among them), so those are named here. */
static const char *mqtt_strerror(const struct mqtt *m, int rc, char *buf, size_t size)
{
	const char *s;

	switch (rc) {
	case MOSQ_ERR_KEEPALIVE:
		snprintf(buf, size, "the broker did not answer the keep-alive ping within KeepAlive=%us",
			 m->set.keepalive_sec);
		return buf;
	case MOSQ_ERR_MALFORMED_PACKET:
		return "malformed packet from the broker";
	case MOSQ_ERR_LOOKUP:
		return "name lookup failed";
	case MOSQ_ERR_TIMEOUT:
		return "timed out";
	default:
		s = mosquitto_strerror(rc);
		if (strncmp(s, "Unknown error", 13) != 0)
			return s;
		snprintf(buf, size, "libmosquitto error %d", rc);
		return buf;
	}
}

/* After a library call from our own code (not a callback): act on what the
 * callbacks recorded, then watch the socket as the library now needs. */
static void mqtt_after(struct mqtt *m, int rc, const char *what)
{
	char why[ERROR_MAX + 64], buf[96];

	if (rc != MOSQ_ERR_SUCCESS || m->lost) {
		int e = errno;

		if (m->connack && m->connack_rc != 0)
			snprintf(why, sizeof(why), "broker refused the connection: %s",
				 mosquitto_reason_string(m->connack_rc));
		else if (m->lib_error[0])
			snprintf(why, sizeof(why), "%s", m->lib_error);
		else if (rc == MOSQ_ERR_ERRNO && e == EPROTO && m->set.broker.tls &&
			 m->state == MQTT_STATE_CONNECTING)
			/* TLS 1.3: the broker's verdict on our certificate comes after
			 * the handshake, often as a plain close. */
			snprintf(why, sizeof(why),
				 "TLS session ended before CONNACK (the broker did not accept the client "
				 "certificate, or closed the session): %s",
				 strerror(e));
		else if (rc == MOSQ_ERR_ERRNO)
			/* errno 0 would read "Success": the library saw the socket end. */
			snprintf(why, sizeof(why), "%s: %s", what, e ? strerror(e) : "connection closed");
		else if (rc != MOSQ_ERR_SUCCESS)
			snprintf(why, sizeof(why), "%s: %s", what, mqtt_strerror(m, rc, buf, sizeof(buf)));
		else
			snprintf(why, sizeof(why), "connection lost");
		mqtt_fail(m, why);
		return;
	}
	if (mqtt_sync_io(m) < 0)
		mqtt_fail(m, "cannot watch the socket");
}

static void mqtt_on_connected(struct mqtt *m)
{
	m->deadline = sd_event_source_disable_unref(m->deadline);
	m->failures = 0;
	m->last_error[0] = '\0';
	m->counters.event_connect++;
	log_info("MQTT connected to %s:%u", m->set.broker.host, m->set.broker.port);
	mqtt_set_state(m, MQTT_STATE_CONNECTED);
	/* Connected over plain TCP, the library has no error of its own left to
	 * tell, but formats a debug line (in a malloc'd buffer) per PUBLISH. */
	if (!m->set.broker.tls && log_get_max_level() < LOG_DEBUG)
		mosquitto_log_callback_set(m->mosq, NULL);

	(void) mqtt_send(m, m->status_topic, "online", 0, true);
	mqtt_homeassistant_publish(m, store_current(m->store));
	mqtt_commands_on_connected(m);
}

void mqtt_flush(struct mqtt *m)
{
	if (m->mosq)
		mqtt_after(m, MOSQ_ERR_SUCCESS, "publish");
}

/* ---- library callbacks: record only ---- */

static void mqtt_lib_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
				const mosquitto_property *props)
{
	struct mqtt *m = obj;

	(void) mosq;
	(void) flags;
	m->connack = true;
	m->connack_rc = rc;
	if (rc == 0)
		mqtt_protocol_on_connack(m, props);
}

static void mqtt_lib_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;

	(void) mosq;
	(void) rc;
	m->lost = true;
}

static void mqtt_lib_on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	struct mqtt *m = obj;

	(void) mosq;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) {
		/* Keep the first line of an error: OpenSSL's reason comes first. */
		if (!m->lib_error[0])
			snprintf(m->lib_error, sizeof(m->lib_error), "%s", str);
	}
	log_debug("libmosquitto: %s", str);
}

/* CONNACK seen during the last call. True when the connection went on. */
static bool mqtt_check_connack(struct mqtt *m)
{
	char why[ERROR_MAX];

	if (!m->connack)
		return true;
	if (m->connack_rc != 0) {
		snprintf(why, sizeof(why), "broker refused the connection: %s",
			 mosquitto_reason_string(m->connack_rc));
		mqtt_fail(m, why);
		return false;
	}
	m->connack = false;
	mqtt_protocol_accepted(m);
	mqtt_on_connected(m);
	return true;
}

/* ---- the socket ---- */

/* EPOLLOUT only while output is pending. During the TLS handshake the
 * library's want_write stays set once a write would have blocked, so there
 * the socket is watched for writing only until TCP is connected. */
static bool mqtt_wants_out(struct mqtt *m)
{
	if (!m->tcp_up)
		return true;
	if (mqtt_tls_handshaking(m->mosq))
		return false;
	return mosquitto_want_write(m->mosq);
}

static int mqtt_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct mqtt *m = userdata;
	int rc = MOSQ_ERR_SUCCESS;

	(void) s;
	(void) fd;
	if (revents & EPOLLOUT && !m->tcp_up) {
		m->tcp_up = true;
		/* TLS: the handshake goes on in loop_read, which also sends the ClientHello. */
		if (mqtt_tls_handshaking(m->mosq))
			revents |= EPOLLIN;
	}
	if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		rc = mqtt_read_bounded(m);
		if (rc == MQTT_RX_REFUSED) {
			mqtt_fail(m, m->lib_error);
			return 0;
		}
	}
	if (rc == MOSQ_ERR_SUCCESS && !m->lost && !mqtt_check_connack(m))
		return 0;
	if (rc == MOSQ_ERR_SUCCESS && !m->lost && m->mosq && mosquitto_want_write(m->mosq) &&
	    mqtt_wants_out(m))
		rc = mosquitto_loop_write(m->mosq, 1);
	if (m->mosq)
		mqtt_after(m, rc, "read/write");
	return 0;
}

static int mqtt_sync_io(struct mqtt *m)
{
	int fd = m->mosq ? mosquitto_socket(m->mosq) : -1;
	int r;

	if (fd != m->fd || !m->io) {
		m->io = sd_event_source_disable_unref(m->io);
		m->fd = fd;
		if (fd < 0)
			return m->state == MQTT_STATE_CONNECTED || m->state == MQTT_STATE_CONNECTING
				   ? -ENOTCONN
				   : 0;
		r = sd_event_add_io(m->event, &m->io, fd, EPOLLIN, mqtt_on_io, m);
		if (r < 0)
			return r;
	}
	/* Waiting for the rest of a packet header: woken by new bytes only. */
	return sd_event_source_set_io_events(m->io, EPOLLIN | (m->rx_wait ? EPOLLET : 0) |
							(mqtt_wants_out(m) ? EPOLLOUT : 0));
}

static int mqtt_on_misc(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mqtt *m = userdata;

	(void) sd_event_source_set_time(s, usec + MISC_USEC(m->set.keepalive_sec));
	if (m->mosq && m->state == MQTT_STATE_CONNECTED)
		mqtt_after(m, mosquitto_loop_misc(m->mosq), "keepalive");
	return 0;
}

/* ---- connecting ---- */

static int mqtt_setup_mosq(struct mqtt *m, char *err, size_t errsz)
{
	const struct mqtt_settings *s = &m->set;
	char client_id[96], buf[96];
	int rc;

	snprintf(client_id, sizeof(client_id), "smartconnect-%s", m->set.serial);
	m->mosq = mosquitto_new(client_id, true, m);
	if (!m->mosq)
		return -ENOMEM;
	mosquitto_connect_v5_callback_set(m->mosq, mqtt_lib_on_connect);
	mosquitto_disconnect_callback_set(m->mosq, mqtt_lib_on_disconnect);
	mosquitto_log_callback_set(m->mosq, mqtt_lib_on_log);
	mqtt_commands_setup(m);
	(void) mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
				    mqtt_protocol_v5(m) ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	(void) mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);

	rc = mosquitto_will_set(m->mosq, m->status_topic, 7, "offline", 1, true);
	if (rc == MOSQ_ERR_SUCCESS && s->username[0])
		rc = mosquitto_username_pw_set(m->mosq, s->username, s->password[0] ? s->password : NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errsz, "%s", mqtt_strerror(m, rc, buf, sizeof(buf)));
		return -EINVAL;
	}
	if (mqtt_protocol_v5(m) && mqtt_limits_set_connect_properties(m->mosq) < 0)
		return -ENOMEM;

	if (s->broker.tls)
		return mqtt_tls_setup(m->mosq, s, err, errsz);
	return 0;
}

static void mqtt_connect_addr(struct mqtt *m, const char *addr)
{
	char err[ERROR_MAX] = "";
	int r, rc;

	snprintf(m->addr, sizeof(m->addr), "%s", addr);
	r = mqtt_setup_mosq(m, err, sizeof(err));
	if (r < 0) {
		mqtt_fail(m, r == -ENOMEM ? "out of memory" : err);
		return;
	}
	log_debug("MQTT connecting to %s:%u at %s", m->set.broker.host, m->set.broker.port, addr);
	m->tcp_up = false;
	rc =
	    mosquitto_connect_bind_async(m->mosq, addr, m->set.broker.port, (int) m->set.keepalive_sec, NULL);
	mqtt_after(m, rc, "connect");
}

static void mqtt_on_resolved(int error, const char *addr, void *userdata)
{
	struct mqtt *m = userdata;
	char why[ERROR_MAX];

	m->res = NULL;
	if (error < 0) {
		snprintf(why, sizeof(why), "cannot resolve '%.64s': %s", m->set.broker.host,
			 error == -ENOENT ? "no such host" : strerror(-error));
		mqtt_fail(m, why);
		return;
	}
	mqtt_connect_addr(m, addr);
}

static int mqtt_on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mqtt *m = userdata;
	char why[ERROR_MAX];

	(void) s;
	(void) usec;
	m->deadline = sd_event_source_disable_unref(m->deadline);
	snprintf(why, sizeof(why), "no answer within %us (%s)", m->set.connect_timeout_sec,
		 m->res       ? "resolving the host name"
		 : !m->tcp_up ? "TCP connect"
			      : "TLS or CONNACK");
	mqtt_fail(m, why);
	return 0;
}

static void mqtt_attempt(struct mqtt *m)
{
	int r;

	mqtt_teardown(m);
	m->lib_error[0] = '\0';
	mqtt_set_state(m, MQTT_STATE_CONNECTING);

	r = sd_event_add_time_relative(m->event, &m->deadline, CLOCK_MONOTONIC,
				       (uint64_t) m->set.connect_timeout_sec * USEC_PER_SEC, 0,
				       mqtt_on_deadline, m);
	if (r < 0) {
		mqtt_fail(m, "cannot arm the connect timer");
		return;
	}
	r = resolve_start(m->event, m->set.broker.host, mqtt_on_resolved, m, &m->res);
	if (r < 0)
		mqtt_fail(m, "cannot start name resolution");
}

static int mqtt_on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mqtt *m = userdata;

	(void) s;
	(void) usec;
	m->retry = sd_event_source_disable_unref(m->retry);
	mqtt_attempt(m);
	return 0;
}

static uint64_t mqtt_random(struct mqtt *m)
{
	/* xorshift64*: jitter only, no need for more. */
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * 2685821657736338717ULL;
}

/* Capped exponential back-off, each delay drawn from the upper half of its
 * step so that many gateways losing one broker do not come back in step. */
static uint64_t mqtt_backoff(struct mqtt *m)
{
	uint64_t d = BACKOFF_MIN_USEC;

	for (unsigned i = 1; i < m->failures && d < BACKOFF_MAX_USEC; i++)
		d *= 2;
	d = MIN(d, BACKOFF_MAX_USEC);
	return d / 2 + mqtt_random(m) % (d / 2 + 1);
}

/* Drop everything of the current attempt or connection. */
static void mqtt_teardown(struct mqtt *m)
{
	m->io = sd_event_source_disable_unref(m->io);
	m->fd = -1;
	m->deadline = sd_event_source_disable_unref(m->deadline);
	m->res = resolve_cancel(m->res);
	if (m->mosq) {
		mosquitto_destroy(m->mosq);
		m->mosq = NULL;
	}
	m->connack = m->lost = m->rx_wait = false;
	mqtt_rx_guard_reset(&m->rx);
	mqtt_protocol_disconnected(m);
}

static void mqtt_fail(struct mqtt *m, const char *why)
{
	uint64_t delay;
	int r;

	mqtt_protocol_failed(m);
	mqtt_teardown(m);
	m->counters.event_errors++;
	m->failures++;
	snprintf(m->last_error, sizeof(m->last_error), "%s", why);
	delay = mqtt_backoff(m);
	log_warning("MQTT connection to %s:%u failed: %s, retrying in %llu ms", m->set.broker.host,
		    m->set.broker.port, why, (unsigned long long) (delay / USEC_PER_MSEC));

	m->retry = sd_event_source_disable_unref(m->retry);
	r = sd_event_add_time_relative(m->event, &m->retry, CLOCK_MONOTONIC, delay, 0, mqtt_on_retry, m);
	if (r < 0)
		log_error_errno(r, "Failed to arm the MQTT retry timer, MQTT stays down: %m");
	/* Always a change for the status line: the error text is new. */
	m->state = MQTT_STATE_DISCONNECTED;
	if (m->on_state)
		m->on_state(m, m->userdata);
}

/* ---- publishing ---- */

static void mqtt_on_snapshot(const struct snapshot *snap, void *userdata)
{
	struct mqtt *m = userdata;
	char text[READING_JSON_TEXT_POWER_MAX];
	int n;

	/* A message per accepted telegram, never one of stale data. */
	if (store_is_stale(m->store, mqtt_now(m)) || snap != store_current(m->store))
		return;
	/* Written from the integers on the stack; the tree only for a frame too odd to fit. */
	n = reading_json_text_power_instant(&snap->v, text, sizeof(text));
	if (n >= 0)
		mqtt_send_power(m, text, (size_t) n);
	else /* the whole topic: a message without the alias is as good */
		(void) mqtt_send_json(m, m->power_topic, reading_json_power_instant(&snap->v), 0, false);
	if (m->set.homeassistant)
		mqtt_homeassistant_follow(m, snap);
	if (m->mosq)
		mqtt_after(m, MOSQ_ERR_SUCCESS, "publish");
}

static json_t *mqtt_counters_json(struct mqtt *m)
{
	struct mqtt_extra_counters x = { 0 };
	struct mallinfo2 mi = mallinfo2();
	uint64_t heap_free = mi.fordblks;

	if (m->extra_fn)
		m->extra_fn(&x, m->extra_userdata);
	m->heap_min_free = MIN(m->heap_min_free, heap_free);

	return json_pack(
	    "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "uptime",
	    (json_int_t) ((mqtt_now(m) - m->start_usec) / USEC_PER_SEC), "gw_ping_pass",
	    (json_int_t) x.gw_ping_pass, "gw_ping_fail", (json_int_t) x.gw_ping_fail, "internet_ping_pass",
	    (json_int_t) x.internet_ping_pass, "internet_ping_fail", (json_int_t) x.internet_ping_fail,
	    "telegrams_pass", (json_int_t) x.telegrams_pass, "telegrams_fail", (json_int_t) x.telegrams_fail,
	    "telegrams_frame_fail", (json_int_t) x.telegrams_frame_fail, "mqtt_event_errors",
	    (json_int_t) m->counters.event_errors, "mqtt_event_connect",
	    (json_int_t) m->counters.event_connect, "mqtt_send_pass", (json_int_t) m->counters.send_pass,
	    "mqtt_send_fail", (json_int_t) m->counters.send_fail, "heap_free", (json_int_t) heap_free,
	    "heap_min_free", (json_int_t) m->heap_min_free, "heap_largest_free", (json_int_t) mi.keepcost,
	    "heap_failed_allocs", (json_int_t) log_oom_count());
}

static int mqtt_on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mqtt *m = userdata;

	(void) sd_event_source_set_time(s, usec + (uint64_t) m->set.counters_sec * USEC_PER_SEC);
	(void) mqtt_send_json(m, m->counters_topic, mqtt_counters_json(m), 0, false);
	if (m->mosq)
		mqtt_after(m, MOSQ_ERR_SUCCESS, "publish");
	return 0;
}

/* ---- life cycle ---- */

/* Keep a copy of s, its strings packed into one block that m owns. */
static int mqtt_keep_settings(struct mqtt *m, const struct mqtt_settings *s)
{
	struct mqtt_settings c = *s;
	const char **strs[] = {
		&c.serial,  &c.site,      &c.username, &c.password,         &c.ca_file,
		&c.ca_path, &c.cert_file, &c.key_file, &c.discovery_prefix, &c.ha_state_file
	};
	size_t total = 0;
	char *block, *p;

	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		total += strlen(*strs[i] ?: "") + 1;
	block = malloc(total);
	if (!block)
		return -ENOMEM;
	p = block;
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		size_t n = strlen(*strs[i] ?: "") + 1;

		memcpy(p, *strs[i] ?: "", n);
		*strs[i] = p;
		p += n;
	}
	free(m->strings);
	m->strings = block;
	m->set = c;
	mqtt_build_topics(m);
	return 0;
}

int mqtt_new(sd_event *e, struct store *store, const struct mqtt_settings *s, mqtt_state_fn on_state,
	     void *userdata, struct mqtt **ret)
{
	struct mqtt *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->event = sd_event_ref(e);
	m->store = store;
	m->on_state = on_state;
	m->userdata = userdata;
	m->fd = -1;
	m->heap_min_free = UINT64_MAX;
	if (getrandom(&m->rng, sizeof(m->rng), GRND_NONBLOCK) != sizeof(m->rng) || !m->rng)
		m->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t) (uintptr_t) m;
	m->start_usec = mqtt_now(m);
	if (mqtt_keep_settings(m, s) < 0) {
		mqtt_free(m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

void mqtt_set_extra(struct mqtt *m, mqtt_extra_fn fn, void *userdata)
{
	m->extra_fn = fn;
	m->extra_userdata = userdata;
}

/* Say goodbye when connected: "offline" (the will is only for unclean ends)
 * and DISCONNECT, written at once if the socket takes them, never waited for. */
static void mqtt_stop(struct mqtt *m)
{
	if (m->mosq && m->state == MQTT_STATE_CONNECTED) {
		(void) mqtt_send(m, m->status_topic, "offline", 0, true);
		(void) mosquitto_disconnect(m->mosq);
		(void) mosquitto_loop_write(m->mosq, 1);
	}
	if (m->watching)
		store_unwatch(m->store, m->watch_id);
	m->watching = false;
	mqtt_teardown(m);
	m->retry = sd_event_source_disable_unref(m->retry);
	m->misc = sd_event_source_disable_unref(m->misc);
	m->tick = sd_event_source_disable_unref(m->tick);
}

struct mqtt *mqtt_free(struct mqtt *m)
{
	if (!m)
		return NULL;
	mqtt_stop(m);
	sd_event_unref(m->event);
	mqtt_protocol_free(m);
	free(m->strings);
	free(m->ha_topics);
	mqtt_commands_free(m);
	free(m);
	return NULL;
}

int mqtt_start(struct mqtt *m)
{
	uint64_t now = mqtt_now(m);
	int r;

	m->failures = 0;
	m->last_error[0] = '\0';
	mqtt_protocol_reset(m);
	if (!m->set.enabled) {
		mqtt_set_state(m, MQTT_STATE_DISABLED);
		return 0;
	}

	r = store_watch(m->store, mqtt_on_snapshot, m, &m->watch_id);
	if (r < 0)
		return log_oom();
	m->watching = true;
	r = sd_event_add_time(m->event, &m->misc, CLOCK_MONOTONIC, now + MISC_USEC(m->set.keepalive_sec),
			      MISC_SLACK_USEC(m->set.keepalive_sec), mqtt_on_misc, m);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->misc, SD_EVENT_ON);
	if (r >= 0)
		r = sd_event_add_time(m->event, &m->tick, CLOCK_MONOTONIC,
				      now + (uint64_t) m->set.counters_sec * USEC_PER_SEC,
				      (uint64_t) m->set.counters_sec * USEC_PER_SEC / 8, mqtt_on_tick, m);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->tick, SD_EVENT_ON);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the MQTT timers: %m");

	log_info("MQTT publishing to %s as %s", m->set.broker.url, m->base);
	mqtt_attempt(m);
	return 0;
}

int mqtt_reconfigure(struct mqtt *m, const struct mqtt_settings *s)
{
	int r;

	mqtt_stop(m);
	r = mqtt_keep_settings(m, s);
	if (r < 0)
		return log_oom();
	return mqtt_start(m);
}

int mqtt_reconnect(struct mqtt *m)
{
	if (!m->set.enabled)
		return 0;
	mqtt_stop(m);
	return mqtt_start(m);
}

enum mqtt_state mqtt_get_state(const struct mqtt *m)
{
	return m->state;
}

const char *mqtt_last_error(const struct mqtt *m)
{
	return m->last_error[0] ? m->last_error : NULL;
}

const struct mqtt_counters *mqtt_get_counters(const struct mqtt *m)
{
	return &m->counters;
}

const char *mqtt_status(const struct mqtt *m, char *buf, size_t size)
{
	const struct mqtt_broker *b = &m->set.broker;

	switch (m->state) {
	case MQTT_STATE_DISABLED:
		snprintf(buf, size, "MQTT disabled");
		break;
	case MQTT_STATE_CONNECTED:
		snprintf(buf, size, "MQTT connected to %s:%u", b->host, b->port);
		break;
	case MQTT_STATE_CONNECTING:
	case MQTT_STATE_DISCONNECTED:
	case _MQTT_STATE_MAX:
		if (m->last_error[0])
			snprintf(buf, size, "MQTT error: %s", m->last_error);
		else
			snprintf(buf, size, "MQTT connecting to %s:%u", b->host, b->port);
		break;
	}
	return buf;
}

json_t *mqtt_status_json(const struct mqtt *m)
{
	return json_pack("{s:b,s:s,s:s?}", "enabled", m->set.enabled, "state", mqtt_state_to_string(m->state),
			 "last_error", mqtt_last_error(m));
}
