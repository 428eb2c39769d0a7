/* SPDX-License-Identifier: MIT */
/*
 * The Modbus TCP server: a listener and its connections in the daemon's
 * sd-event loop. Requests are framed here (MBAP, or RTU frames over TCP
 * through modbus-framing.h; non-blocking, per connection) and answered by libmodbus from a register image
 * that is rebuilt once per accepted telegram, so every response comes from exactly one telegram and no client
 * can hold up another.
 *
 * A new client is never refused: at MaxClients, or at MaxClientsPerIP for its
 * own source, it replaces the longest idle connection (of its source, or of
 * all), because a charger that reconnects finds its old connection still open.
 * Log lines tests rely on:
 *   "Modbus client <addr:port> replaces <addr:port>, idle for <s>s: <limit> reached; ..."
 *   "<N> Modbus client(s) replaced idle ones in the last <s>s (MaxClients=<n>, MaxClientsPerIP=<n>)"
 *
 * An adapter owned by the daemon; talks to modbus-map, listener and the store.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/modbus-framing.h"
#include "smartconnectd/outputs/modbus-map.h"
#include "smartconnectd/meter/store.h"

/* What a read returns while the snapshot is stale ([Modbus] StalePolicy=;
 * the configuration parses it with modbus_server_stale_policy_names). */
enum modbus_server_stale_policy {
	MODBUS_SERVER_STALE_ERROR, /* exception 0x0B: a charger falls back to its safe current */
	MODBUS_SERVER_STALE_ZERO,  /* measurements read 0 (identification stays) */
	MODBUS_SERVER_STALE_KEEP,  /* the last values, however old */
	_MODBUS_SERVER_STALE_MAX,
};

struct modbus_server_settings {
	const char *host; /* listen address, numeric; ignored with a socket-activated fd */
	uint16_t port;
	const struct modbus_map_template *template;
	unsigned max_clients;
	unsigned max_per_ip; /* connections from one source (an IPv4 address, an IPv6 /64) */
	uint64_t idle_usec;  /* a connection silent this long is closed; 0 = never */
	enum modbus_server_stale_policy stale_policy;
	enum modbus_framing framing;   /* what a connection may speak; AUTO: its first request decides */
	struct modbus_map_ident ident; /* strings borrowed: must outlive the server */
	uint64_t summary_usec;         /* replaced clients are summarised at most this often; 0 = 60 s */
};

/* The function codes counted one by one; every other code shares the last slot. */
enum modbus_server_function_slot {
	MODBUS_SERVER_FC_READ_HOLDING,   /* 0x03 */
	MODBUS_SERVER_FC_READ_INPUT,     /* 0x04 */
	MODBUS_SERVER_FC_WRITE_SINGLE,   /* 0x06 */
	MODBUS_SERVER_FC_WRITE_MULTIPLE, /* 0x10 */
	MODBUS_SERVER_FC_OTHER,          /* anything else, and a request too short to have one */
	_MODBUS_SERVER_FC_MAX
};

/* Exception codes 1 to 11 by code: slot code-1. The server answers 1, 2, 3 and 11. */
#define MODBUS_SERVER_EXCEPTION_SLOTS 11

struct modbus_server_counters {
	uint64_t requests;   /* complete requests answered, exceptions included */
	uint64_t exceptions; /* of which answered with an exception */
	uint64_t by_function[_MODBUS_SERVER_FC_MAX];
	uint64_t by_exception[MODBUS_SERVER_EXCEPTION_SLOTS];
	uint64_t accepted; /* connections accepted */
	uint64_t replaced; /* connections closed to make room for a new one (a limit was reached) */
	uint64_t dropped;  /* connections closed for bad framing, idleness or send errors */
};

struct modbus_server;

/* Called after a client connected or went away; modbus_server_clients() has the new count. */
typedef void (*modbus_server_clients_fn)(struct modbus_server *m, void *userdata);

/*
 * Returns 0, or the complete MBAP frame length when buf starts with one, 0 when
 * more bytes are needed, -EBADMSG when the header is impossible (protocol id
 * not 0, length outside 2..254). Pure; the fuzzer calls it.
 */
ssize_t modbus_server_frame_len(const uint8_t *buf, size_t n);

/* The store is borrowed and must outlive the server. -ENOMEM or 0. */
int modbus_server_new(sd_event *e, struct store *store, const struct modbus_server_settings *s,
		      struct modbus_server **ret);
struct modbus_server *
modbus_server_free(struct modbus_server *m); /* closes every connection; NULL-safe, returns NULL */
DEFINE_FREEP(struct modbus_server, modbus_server_free)

/* Listen on listen_fd (socket activation, taken over) or, when it is negative,
 * bind the configured address. Logs and returns a negative errno on failure. */
int modbus_server_start(struct modbus_server *m, int listen_fd);

/* Apply new settings: the template, limits and policy change at once; a new
 * address rebinds unless the socket came from socket activation (then the
 * change needs a restart and is logged). Returns 0 or a negative errno. */
int modbus_server_reconfigure(struct modbus_server *m, const struct modbus_server_settings *s);

/* Who hears of client count changes (one listener; NULL to stop). Not called
 * while the server is being freed. */
void modbus_server_set_clients_callback(struct modbus_server *m, modbus_server_clients_fn fn, void *userdata);

unsigned modbus_server_clients(const struct modbus_server *m);
const struct modbus_server_counters *modbus_server_counters(const struct modbus_server *m);

/* The slot a function code is counted in, and its code for a label (0 for "other"). */
enum modbus_server_function_slot modbus_server_function_slot(unsigned function) __attribute__((const));
unsigned modbus_server_function_code(enum modbus_server_function_slot slot) __attribute__((const));

/* Count one request of the given function code (-1: too short to have one). */
void modbus_server_count_request(struct modbus_server_counters *c, int function);
/* Count one exception answer; codes outside 1..11 are counted in the total only. */
void modbus_server_count_exception(struct modbus_server_counters *c, unsigned code);

/* The register image clients read now, borrowed until the next telegram or
 * reconfiguration. The stale policy applies as it does to a read (with "zero"
 * the measurements go); refused: reads get exception 0x0B instead ("error"). */
struct modbus_server_image {
	const struct modbus_map_template *template;
	const uint16_t *input;   /* FC 0x04, MODBUS_MAP_SIZE words */
	const uint16_t *holding; /* FC 0x03 */
	enum modbus_server_stale_policy stale_policy;
	bool stale;
	bool refused;
};
void modbus_server_image(struct modbus_server *m, struct modbus_server_image *ret);

/* The port actually bound (useful with port 0). */
uint16_t modbus_server_port(const struct modbus_server *m);

/* "error", "zero", "keep", indexed by the policy. */
extern const char *const modbus_server_stale_policy_names[_MODBUS_SERVER_STALE_MAX];
/* NULL for a value out of range. */
const char *modbus_server_stale_policy_to_string(enum modbus_server_stale_policy p) __attribute__((const));
