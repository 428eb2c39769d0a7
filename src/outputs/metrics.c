/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics in the Prometheus text format 0.0.4 (see metrics.h): one
 * family per HELP/TYPE pair, its samples right after it, as the format asks.
 * Pure. No I/O. Never logs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/proto.h"
#include "smartconnectd/outputs/mbus-channel.h"
#include "smartconnectd/outputs/metrics.h"

#define JOULES_PER_KWH 3600000.0

/* A growing text; after an allocation failure it stays failed. */
struct mbuf {
	char *text;
	size_t len, size;
	bool failed;
};

static void mb_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->text ? b->text + b->len : NULL, b->size - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->len + (size_t) n < b->size) {
			b->len += (size_t) n;
			return;
		}
		size_t size = MAX(b->size * 2, b->len + (size_t) n + 1024);
		char *t = realloc(b->text, size);
		if (!t) {
			b->failed = true;
			return;
		}
		b->text = t;
		b->size = size;
	}
}

static void family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mb_printf(b, "# HELP smartconnect_%s %s\n# TYPE smartconnect_%s %s\n", name, help, name, type);
}

static void sample_u(struct mbuf *b, const char *name, const char *labels, uint64_t v)
{
	mb_printf(b, "smartconnect_%s%s %llu\n", name, labels ?: "", (unsigned long long) v);
}

/* 15 significant digits, as the JSON outputs: the fields hold at most 12, so
 * a value prints as the decimal the meter sent (236.7, not 236.69999999999999). */
static void sample_d(struct mbuf *b, const char *name, const char *labels, double v)
{
	mb_printf(b, "smartconnect_%s%s %.15g\n", name, labels ?: "", v);
}

static void counter(struct mbuf *b, const char *name, const char *help, uint64_t v)
{
	family(b, name, "counter", help);
	sample_u(b, name, NULL, v);
}

static void gauge(struct mbuf *b, const char *name, const char *help, double v)
{
	family(b, name, "gauge", help);
	sample_d(b, name, NULL, v);
}

/* ---- the meter's values ----------------------------------------------------------------------- */

/* A field family with one labelled sample per field the reading has; nothing
 * at all when it has none (an empty family would say "0 phases"). */
struct field_sample {
	enum reading_field f;
	const char *labels;
};

static void field_family(struct mbuf *b, const struct reading *v, const char *name, const char *type,
			 const char *help, const struct field_sample *fs, size_t n, double scale)
{
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any = any || reading_has(v, fs[i].f);
	if (!any)
		return;
	family(b, name, type, help);
	for (size_t i = 0; i < n; i++)
		if (reading_has(v, fs[i].f))
			sample_d(b, name, fs[i].labels, reading_get(v, fs[i].f) * scale);
}

/* Per-tariff registers are objects, not normalised fields: DSMR 1-0:1.8.1
 * is tariff 1 (low in the Netherlands, day in Belgium), 1.8.2 tariff 2. */
static void tariff_family(struct mbuf *b, const struct reading *v, const char *name, const char *help,
			  const char *obis_fmt)
{
	bool header = false;

	for (unsigned t = 1; t <= 4; t++) {
		const struct reading_object *o;
		char id[16], labels[32];
		int64_t micro;

		snprintf(id, sizeof(id), obis_fmt, t);
		o = reading_find(v, id);
		if (!o || o->count < 1)
			continue;
		struct reading_span s = v->values[o->first];
		if (reading_parse_scaled(reading_str(v, s), s.len, READING_Q_ENERGY, "kWh", &micro) < 0)
			continue;
		if (!header)
			family(b, name, "counter", help);
		header = true;
		snprintf(labels, sizeof(labels), "{tariff=\"%u\"}", t);
		sample_d(b, name, labels, (double) micro / (double) READING_SCALE * JOULES_PER_KWH);
	}
}

static void meter_values(struct mbuf *b, const struct reading *v)
{
	static const struct field_sample power[] = { { READING_P, NULL } };
	static const struct field_sample imp[] = { { READING_E_IMPORT, NULL } };
	static const struct field_sample exp[] = { { READING_E_EXPORT, NULL } };
	static const struct field_sample phase_p[] = { { READING_P1, "{phase=\"1\"}" },
						       { READING_P2, "{phase=\"2\"}" },
						       { READING_P3, "{phase=\"3\"}" } };
	static const struct field_sample phase_u[] = { { READING_U1, "{phase=\"1\"}" },
						       { READING_U2, "{phase=\"2\"}" },
						       { READING_U3, "{phase=\"3\"}" } };
	static const struct field_sample line_u[] = { { READING_U12, "{lines=\"12\"}" },
						      { READING_U31, "{lines=\"31\"}" },
						      { READING_U32, "{lines=\"32\"}" } };
	static const struct field_sample phase_i[] = { { READING_I1, "{phase=\"1\"}" },
						       { READING_I2, "{phase=\"2\"}" },
						       { READING_I3, "{phase=\"3\"}" } };

	field_family(b, v, "power_watts", "gauge", "Active power, positive when importing.", power, 1, 1);
	field_family(b, v, "phase_power_watts", "gauge", "Active power per phase, positive when importing.",
		     phase_p, ARRAY_SIZE(phase_p), 1);
	field_family(b, v, "phase_voltage_volts", "gauge", "Phase to neutral voltage.", phase_u,
		     ARRAY_SIZE(phase_u), 1);
	field_family(b, v, "line_voltage_volts", "gauge", "Line to line voltage (grids without neutral).",
		     line_u, ARRAY_SIZE(line_u), 1);
	field_family(b, v, "phase_current_amperes", "gauge", "Current per phase.", phase_i,
		     ARRAY_SIZE(phase_i), 1);
	field_family(b, v, "energy_imported_joules_total", "counter",
		     "Energy imported, all tariffs (the meter's register in kWh times 3.6e6).", imp, 1,
		     JOULES_PER_KWH);
	field_family(b, v, "energy_exported_joules_total", "counter",
		     "Energy exported, all tariffs (the meter's register in kWh times 3.6e6).", exp, 1,
		     JOULES_PER_KWH);
	tariff_family(b, v, "tariff_energy_imported_joules_total",
		      "Energy imported per tariff (DSMR 1-0:1.8.n).", "1-0:1.8.%u");
	tariff_family(b, v, "tariff_energy_exported_joules_total",
		      "Energy exported per tariff (DSMR 1-0:2.8.n).", "1-0:2.8.%u");
}

/* Joules or cubic metres per unit of an M-Bus register; 0: a unit we do not know. */
static double mbus_scale(const struct reading_number *n)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = { { "m3", 1 }, { "GJ", 1e9 }, { "MWh", 3.6e9 }, { "kWh", 3.6e6 } };

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (n->unit_len == strlen(units[i].unit) && memcmp(n->unit, units[i].unit, n->unit_len) == 0)
			return units[i].scale;
	return 0;
}

/* One family per kind of M-Bus meter the telegram relays, a sample per channel. */
static void mbus_values(struct mbuf *b, const struct reading *v)
{
	static const struct {
		enum mbus_kind kind;
		const char *name, *help;
	} fams[] = {
		{ MBUS_GAS, "gas_cubic_meters_total", "Gas meter register (M-Bus), by channel." },
		{ MBUS_WATER, "water_cubic_meters_total", "Water meter register (M-Bus), by channel." },
		{ MBUS_WARM_WATER, "warm_water_cubic_meters_total",
		  "Warm water meter register (M-Bus), by channel." },
		{ MBUS_HEAT, "heat_joules_total", "Heat meter register (M-Bus; GJ times 1e9), by channel." },
	};

	for (size_t f = 0; f < ARRAY_SIZE(fams); f++) {
		bool header = false;

		for (unsigned ch = 1; ch <= MBUS_CHANNEL_MAX; ch++) {
			struct mbus_channel mc;
			char labels[32];
			double scale;

			if (!mbus_channel_read(v, ch, &mc) || mc.kind != fams[f].kind)
				continue;
			scale = mbus_scale(&mc.value);
			if (scale == 0)
				continue;
			if (!header)
				family(b, fams[f].name, "counter", fams[f].help);
			header = true;
			snprintf(labels, sizeof(labels), "{channel=\"%u\"}", ch);
			sample_d(b, fams[f].name, labels, mbus_number(&mc.value) * scale);
		}
	}
}

static void meter_info(struct mbuf *b, const struct metrics_input *in)
{
	gauge(b, "meter_receiving", "1 while the meter sends valid telegrams, 0 otherwise.",
	      in->meter_receiving);
	if (!in->reading)
		return;
	gauge(b, "meter_stale", "1 when the last telegram is older than the stale limit.", in->stale);
	gauge(b, "meter_data_age_seconds", "Time since the last accepted telegram.",
	      (double) in->data_age_usec / 1e6);
	gauge(b, "meter_timestamp_seconds", "The meter's clock in the last telegram, as Unix time.",
	      (double) in->reading->ts);
	meter_values(b, in->reading);
	mbus_values(b, in->reading);
}

/* ---- counters --------------------------------------------------------------------------------- */

/* Label values are part of the metrics' interface: short tokens, not the
 * log's words, which may be reworded. */
static const char *const reject_labels[] = {
	[TELEGRAM_ERR_CRC] = "crc",
	[TELEGRAM_ERR_CRC_MISSING] = "crc_missing",
	[TELEGRAM_ERR_CHECKSUM] = "checksum",
	[TELEGRAM_ERR_SYNTAX] = "malformed",
	[TELEGRAM_ERR_LINE_TOO_LONG] = "line_too_long",
	[TELEGRAM_ERR_TOO_LONG] = "too_long",
	[TELEGRAM_ERR_TRUNCATED] = "truncated",
	[TELEGRAM_ERR_INTERRUPTED] = "interrupted",
	[TELEGRAM_ERR_EMPTY] = "empty",
	[TELEGRAM_ERR_NO_KEY] = "no_key",
	[TELEGRAM_ERR_WRONG_KEY] = "wrong_key",
	[TELEGRAM_ERR_LENGTH] = "length",
	[TELEGRAM_ERR_REPLAY] = "replay",
};
_Static_assert(ARRAY_SIZE(reject_labels) == _TELEGRAM_ERR_MAX, "a label for every reason");

static void telegram_counters_out(struct mbuf *b, const struct metrics_input *in)
{
	const struct telegram_counters *t = &in->telegram;
	const char *name = "telegrams_rejected_total";

	counter(b, "telegrams_accepted_total", "Telegrams accepted.", t->accepted);
	family(b, name, "counter", "Telegrams rejected, by reason (crc: the DSMR CRC did not match).");
	for (unsigned e = 0; e < _TELEGRAM_ERR_MAX; e++) {
		char labels[64];

		snprintf(labels, sizeof(labels), "{reason=\"%s\"}", reject_labels[e]);
		sample_u(b, name, labels, t->by_error[e]);
	}
	counter(b, "telegrams_encrypted_total", "Accepted telegrams that came encrypted.", t->encrypted);
	counter(b, "telegrams_tag_unverified_total",
		"Encrypted telegrams accepted on their CRC with a tag that did not verify.",
		t->tag_unverified);
	counter(b, "meter_received_bytes_total", "Bytes read from the meter's serial line.", t->bytes);
	counter(b, "meter_noise_bytes_total", "Bytes from the meter outside any frame.", t->noise_bytes);
	counter(b, "meter_device_opens_total", "Times the meter device was opened; each reopen counts.",
		in->device_opens);
}

/* By function and by exception code; each family sums to the old totals. The
 * codes the server can answer with always have a sample, so a rate over them
 * starts at zero rather than at the first exception. */
static void modbus_requests_out(struct mbuf *b, const struct modbus_server_counters *m)
{
	static const unsigned answered[] = { 1, 2, 3, 11 };
	const char *req = "modbus_requests_total", *exc = "modbus_exceptions_total";
	char labels[32];

	family(b, req, "counter", "Modbus requests answered, exceptions included, by function code.");
	for (unsigned i = 0; i < _MODBUS_SERVER_FC_MAX; i++) {
		unsigned code = modbus_server_function_code((enum modbus_server_function_slot) i);

		if (code)
			snprintf(labels, sizeof(labels), "{function=\"%u\"}", code);
		else
			snprintf(labels, sizeof(labels), "{function=\"other\"}");
		sample_u(b, req, labels, m->by_function[i]);
	}
	family(b, exc, "counter", "Modbus requests answered with an exception, by exception code.");
	for (unsigned i = 0; i < MODBUS_SERVER_EXCEPTION_SLOTS; i++) {
		bool always = false;

		for (size_t k = 0; k < ARRAY_SIZE(answered); k++)
			always |= answered[k] == i + 1;
		if (!always && !m->by_exception[i])
			continue;
		snprintf(labels, sizeof(labels), "{code=\"%u\"}", i + 1);
		sample_u(b, exc, labels, m->by_exception[i]);
	}
}

static void modbus_counters_out(struct mbuf *b, const struct metrics_input *in)
{
	const struct modbus_server_counters *m = &in->modbus;

	modbus_requests_out(b, m);
	counter(b, "modbus_clients_accepted_total", "Modbus connections accepted.", m->accepted);
	counter(
	    b, "modbus_clients_replaced_total",
	    "Modbus connections closed to make room for a new one: MaxClients or MaxClientsPerIP reached.",
	    m->replaced);
	counter(b, "modbus_clients_dropped_total",
		"Modbus connections closed for bad framing, idleness or send errors.", m->dropped);
	gauge(b, "modbus_clients", "Modbus clients connected.", in->modbus_clients);
}

static void mqtt_counters_out(struct mbuf *b, const struct metrics_input *in)
{
	const struct mqtt_counters *m = &in->mqtt;
	const struct reachability_counters *r = &in->reach;
	const char *ping = "reachability_probes_total";

	gauge(b, "mqtt_enabled", "1 when MQTT is enabled.", in->mqtt_enabled);
	gauge(b, "mqtt_connected", "1 while connected to the broker.", in->mqtt_connected);
	counter(b, "mqtt_connects_total", "Connections to the broker accepted (CONNACK).", m->event_connect);
	counter(b, "mqtt_connection_errors_total", "Failed connection attempts and lost connections.",
		m->event_errors);
	counter(b, "mqtt_publishes_total", "Messages handed to the broker connection.", m->send_pass);
	counter(b, "mqtt_publish_failures_total",
		"Messages due while not connected or refused by the library (dropped).", m->send_fail);
	counter(b, "mqtt_packets_refused_total",
		"Broker connections dropped for a packet over the size bound or a malformed header.",
		m->rx_refused);
	family(b, ping, "counter", "Reachability probes of the gateway and the Internet host, by result.");
	sample_u(b, ping, "{target=\"gateway\",result=\"ok\"}", r->gw_pass);
	sample_u(b, ping, "{target=\"gateway\",result=\"failed\"}", r->gw_fail);
	sample_u(b, ping, "{target=\"internet\",result=\"ok\"}", r->internet_pass);
	sample_u(b, ping, "{target=\"internet\",result=\"failed\"}", r->internet_fail);
}

static void passthrough_counters_out(struct mbuf *b, const struct metrics_input *in)
{
	const struct passthrough_counters *p = &in->passthrough;

	counter(b, "passthrough_clients_accepted_total", "Passthrough connections accepted.",
		p->clients_accepted);
	counter(b, "passthrough_clients_refused_total",
		"Passthrough connections refused: MaxClients reached or not in AllowFrom.",
		p->clients_refused);
	gauge(b, "passthrough_clients", "Passthrough clients connected.", in->passthrough_clients);
	counter(b, "passthrough_sent_bytes_total", "Bytes sent to passthrough clients.", p->bytes_sent);
	counter(b, "passthrough_dropped_bytes_total", "Bytes a full client queue did not take.",
		p->bytes_dropped);
	counter(b, "passthrough_received_bytes_total", "Bytes passthrough clients sent (ignored).",
		p->bytes_ignored);
	counter(b, "passthrough_telegrams_sent_total",
		"Telegrams written whole to a client, summed over clients.", p->telegrams_sent);
	counter(b, "passthrough_telegrams_dropped_total", "Telegrams a full client queue did not take.",
		p->telegrams_dropped);
}

static void http_counters_out(struct mbuf *b, const struct metrics_input *in)
{
	const char *name = "http_responses_total";

	family(b, name, "counter", "HTTP responses sent, by status code.");
	for (unsigned i = 0; i < HTTPD_STATUS_SLOTS; i++) {
		char labels[32];

		if (!in->http.by_status[i])
			continue;
		snprintf(labels, sizeof(labels), "{code=\"%u\"}", i + HTTPD_STATUS_FIRST);
		sample_u(b, name, labels, in->http.by_status[i]);
	}
	counter(b, "http_auth_failures_total", "HTTP requests with wrong credentials.",
		in->http.auth_failures);
	gauge(b, "http_live_clients", "Streams of GET /api/v1/live open.", in->live_clients);
	counter(b, "http_live_dropped_events_total", "Live events lost by clients that did not keep up.",
		in->http.live_dropped);
}

char *metrics_format(const struct metrics_input *in)
{
	struct mbuf b = {};

	meter_info(&b, in);
	telegram_counters_out(&b, in);
	modbus_counters_out(&b, in);
	mqtt_counters_out(&b, in);
	passthrough_counters_out(&b, in);
	http_counters_out(&b, in);
	gauge(&b, "uptime_seconds", "Time since the daemon started.", (double) in->uptime_usec / 1e6);
	counter(&b, "out_of_memory_total", "Allocation failures since the start.", in->oom);
	if (b.failed || !b.text) {
		free(b.text);
		return NULL;
	}
	return b.text;
}
