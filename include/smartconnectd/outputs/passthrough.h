/* SPDX-License-Identifier: MIT */
/*
 * The passthrough: what the meter sends, copied to other readers, as the
 * dongle's "P1 out" does and more.
 *
 * - A TCP server ([Passthrough] Listen=) streams the meter's bytes to any
 *   number of clients (Home Assistant's DSMR "network" source, dsmr-reader,
 *   evcc): every byte as received, noise included, or with ValidOnly=yes only
 *   the frames that passed their CRC or checksums.
 * - A second tty ([Passthrough] Device=) gets a byte-exact copy at the serial
 *   setting the meter's line is read at.
 *
 * The meter hands over its bytes and frame verdicts through a meter_tap. The
 * stream is cut into chunks (whole frames, noise runs) that every output
 * queues by reference; a queue that is full drops whole chunks, so a slow
 * reader loses whole telegrams and never slows the meter or another reader.
 * A client that connects mid-telegram starts at the next telegram.
 *
 * Log lines tests rely on:
 *   "Passthrough server on port <N>[ (socket activation)], ..."
 *   "Passthrough client <addr:port> connected (<n> open)"
 *   "Passthrough client <addr:port> disconnected: <why> (<t> telegrams sent, <d> dropped)"
 *   "Refusing passthrough client <addr:port>: <why>"
 *   "<N> telegrams dropped for slow passthrough readers in the last <s>s"
 *   "<N> passthrough client(s) refused in the last <s>s: MaxClients=<n> reached" (or "not in AllowFrom")
 *   "Passthrough clients in the last <s>s: <c> connected, <d> disconnected (<n> open)"
 * Each kind of repeated line is logged in full once per LogSummaryInterval,
 * then summarised; connects and disconnects beyond that go out at debug level.
 *
 * An adapter owned by the daemon; talks to tty, listener and the meter's tap.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/meter.h"
#include "smartconnectd/net/listener.h"
#include "smartconnectd/outputs/jbuf.h"

struct passthrough_counters {
	uint64_t clients_accepted;
	uint64_t clients_refused;   /* MaxClients reached or not in AllowFrom */
	uint64_t bytes_sent;        /* to clients */
	uint64_t telegrams_sent;    /* frames written whole to a client, summed over clients */
	uint64_t telegrams_dropped; /* frames a full client queue did not take */
	uint64_t bytes_dropped;     /* bytes of every chunk not taken, noise included */
	uint64_t bytes_ignored;     /* what clients sent us */
};

/* What the passthrough is made from; built by the daemon. */
struct passthrough_settings {
	struct listener_address listen; /* empty host: no TCP server */
	bool valid_only;                /* only frames that passed their CRC or checksums */
	bool decrypted;                 /* an encrypted meter's telegrams sent decrypted */
	unsigned max_clients;
	size_t queue_size;           /* bytes queued per client, and for the device */
	struct listener_allow allow; /* who may connect */
	const char *device;          /* the P1 out tty, copied; NULL or empty: none */
	uint64_t summary_usec;       /* repeated log lines summarised at most this often; 0 = 60 s */
};

struct passthrough;

/* Takes a copy of s. Nothing is opened before passthrough_start().
 * -ENOMEM or 0. */
int passthrough_new(sd_event *e, const struct passthrough_settings *s, struct passthrough **ret);
/* Closes every client, the listener and the device. NULL-safe, returns NULL. */
struct passthrough *passthrough_free(struct passthrough *p);
DEFINE_FREEP(struct passthrough, passthrough_free)

/* Start what is configured: listen on listen_fd (socket activation, taken over
 * also on failure) or bind Listen=, and open Device= (a missing device is
 * retried). Logs and returns a negative errno when the listener fails. */
int passthrough_start(struct passthrough *p, int listen_fd);

/* Apply s: limits at once, a new listen address rebinds (not a socket from
 * systemd: logged), a new device switches. Clients that are connected stay.
 * Logs; returns 0 or a negative errno. */
int passthrough_reconfigure(struct passthrough *p, const struct passthrough_settings *s);

/* The tap to hand to meter_set_tap(). */
struct meter_tap passthrough_tap(struct passthrough *p);

unsigned passthrough_clients(const struct passthrough *p);
const struct passthrough_counters *passthrough_counters(const struct passthrough *p);
/* The port bound (useful with port 0); 0 when not listening. */
uint16_t passthrough_port(const struct passthrough *p);

/* Fill o with {"clients", "bytes_sent", "telegrams_sent", "telegrams_dropped",
 * "clients_refused", ..., "device": {...} or null}. 0 or -ENOMEM. */
int passthrough_status_json(const struct passthrough *p, json_t *o);
/* The same members as text into the object open in j (passthrough-status.c). */
void passthrough_status_text(const struct passthrough *p, struct jbuf *j);
