/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API and the web page: libmicrohttpd in the daemon's sd-event loop
 * (MHD_USE_EPOLL without a thread: MHD's epoll fd is an io source, its
 * timeout an sd-event timer re-armed after every MHD_run()).
 *
 * Every path but the page "/" (its sign-in form, no data) needs HTTP basic
 * auth or the page's session cookie (GET /metrics only with metrics_auth, so
 * a Prometheus server can scrape without a password where the operator wants
 * that). The page signs in with POST /api/v1/session (httpd-session.c): one
 * session at a time, a new sign-in ends the one before, whose requests then
 * get 401 "signed in elsewhere"; basic auth works whatever the session does. Credentials are compared in
 * constant time (SHA-256 of both sides, CRYPTO_memcmp). A client source (an
 * IPv4 address, an IPv6 /64) that fails HTTPD_FAIL_FREE times in a row is
 * locked out: for 2^(n - FREE) seconds, at most HTTPD_LOCKOUT_MAX_SEC, every
 * request from it gets 429 with Retry-After and its credentials are not even
 * looked at; a locked source keeps its place in the table whatever others do.
 * A success clears the source. Whatever the number of sources, at most
 * HTTPD_CHECKS_PER_SEC failed logins are checked per second; past that, a
 * request with credentials gets 429 at once. Without a password the server
 * does not run at all (logged).
 *
 * Before the credentials, the Host header must name this gateway (one of its
 * addresses, its host name, localhost, "<mDNS name>.local" or an allowed host;
 * else 421), so a foreign name resolved to us (DNS rebinding) gets nothing. A
 * request that changes state must not come from another site's page: one
 * Origin at most, naming the Host; without Origin, a Referer must name it.
 *
 * A request's line, headers and body must arrive within HTTPD_REQUEST_SEC of
 * its start, however steadily they trickle; one connection beyond
 * MaxConnections is accepted, and takes the place of the connection that has
 * waited longest for its request, so slow clients cannot fill the server.
 * HTTPS allows TLS 1.2 and 1.3 only.
 *
 * HTTPS either replaces plain HTTP on the one listener (a certificate, no
 * second listener) or runs on a second listener next to it. Then the plain
 * listener answers a browser's page request (GET or HEAD of a path outside
 * /api/ and /metrics, Accept naming text/html) with 308 to the same path over
 * HTTPS on the request's Host, before any credentials are asked for; scripts
 * keep the JSON API on it unless require_tls, which turns every other request
 * into 403 with a JSON error naming the HTTPS URL (httpd-tls.c).
 *
 * GET /api/v1/live streams server-sent events (httpd-live.c): a "status"
 * event with the status object first, then whatever the daemon sends with
 * httpd_live_send(), and a comment every HTTPD_LIVE_KEEPALIVE_SEC. A slow
 * client loses its oldest whole events, never part of one; at most
 * max_live_clients streams, more get 503; a reload that replaces the
 * instance, and the server's end, end the streams cleanly.
 *
 * What the endpoints answer comes from the daemon through struct httpd_ops,
 * so these files know nothing of the daemon's insides.
 *
 * Log lines tests rely on:
 *   "HTTP API on port <N>[ (socket activation)], <http|https>" (one per listener)
 *   "No HTTP password set ..., the HTTP API is not served"
 *
 * An adapter owned by the daemon; talks to libmicrohttpd and OpenSSL.
 */
#pragma once

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"

#define HTTPD_BODY_MAX (64 * 1024) /* request bodies; more gets 413 */
/* libmicrohttpd's memory per connection. Half is the read buffer, which caps
 * the request line and headers at about 3.5 KiB (more gets 431): a browser
 * with the page's cookie and Basic credentials sends well under 2. Bodies do
 * not need it: they are copied out chunk by chunk (HTTPD_BODY_MAX). It is
 * cleared for every connection, so each KiB more costs every request. */
#define HTTPD_MEMORY_LIMIT (8 * 1024)
#define HTTPD_FAIL_FREE 5 /* failed logins per address before the lockout */
#define HTTPD_LOCKOUT_MAX_SEC 300
#define HTTPD_CHECKS_PER_SEC 20 /* failed logins checked per second, all sources together */
#define HTTPD_REQUEST_SEC 10    /* a request's line, headers and body, from its start */

struct history;
struct capacity_view;

struct httpd_settings {
	const char *host; /* numeric listen address; ignored with a socket-activated fd */
	uint16_t port;
	const char *user;
	const char *password;      /* used when not empty */
	const char *password_file; /* else its first line; read at start and on every reconfigure */
	const char *certificate;   /* PEM files, both empty for plain HTTP */
	const char *key;
	/* A second listener for HTTPS (with the certificate above); the first
	 * then stays plain. Without it, a certificate makes the first HTTPS. */
	bool tls_listen;
	const char *tls_host; /* ignored with a socket-activated fd */
	uint16_t tls_port;
	/* With the second listener: the plain one answers no request itself
	 * (403), it only redirects a browser's page to HTTPS. */
	bool require_tls;
	unsigned max_connections;
	unsigned max_per_ip;
	unsigned timeout_sec;
	const char *local_name;    /* mDNS name: "<local_name>.local" is accepted as Host */
	const char *allowed_hosts; /* more Host names, separated by blanks or commas */
	bool metrics_auth;         /* GET /metrics needs the credentials too */
	unsigned max_live_clients; /* streams of GET /api/v1/live at once; more get 503 */
	unsigned session_idle_sec; /* the page's session ends after this long unused */
};

/* Answers of the daemon. JSON results are new references (NULL = 500). */
struct httpd_ops {
	json_t *(*status)(void *userdata);
	/* The same object as text into buf: its length, or a negative errno
	 * (then status() answers). Optional; GET /api/v1/status uses it. */
	int (*status_text)(void *userdata, char *buf, size_t size);
	json_t *(*config)(void *userdata);
	/* Returns 0, -EINVAL (400, *ret_error = {"error","field"}) or another
	 * negative errno (500, *ret_error may be set). */
	int (*patch_config)(void *userdata, const char *body, size_t len, json_t **ret_error);
	/* The last raw telegram, borrowed for the call; -ENODATA when none. */
	int (*telegram)(void *userdata, const char **ret_text, size_t *ret_len);
	int (*reset)(void *userdata);
	/* POST /api/v1/identify (the LED blinks for a while) and
	 * /api/v1/factory-reset: 0, or a negative errno (500). */
	int (*identify)(void *userdata);
	int (*factory_reset)(void *userdata);
	/* POST /api/v1/network/<action> ("confirm", "ap"): 0 (200, *ret the
	 * answer), -EPERM or -EBUSY (409, *ret the error), another negative
	 * errno (500). patch_config answers -EPERM and -EBUSY the same way. */
	int (*network)(void *userdata, const char *action, json_t **ret);
	/* GET /api/v1/firmware (NULL = 500) and POST: 0 (202, *ret the answer),
	 * -EINVAL (400), -EPERM or -EBUSY (409), another negative errno (503);
	 * *ret is the answer or the error. */
	json_t *(*firmware)(void *userdata);
	int (*firmware_update)(void *userdata, const char *body, size_t len, json_t **ret);
	/* GET /metrics: the page as text (free()), NULL = 500. */
	char *(*metrics)(void *userdata);
	/* GET /api/v1/history (httpd-history.c): the rings, borrowed for the call,
	 * and the capacity tariff's figures; NULL: no history kept (503). */
	const struct history *(*history)(void *userdata, struct capacity_view *ret_capacity);
	/* GET /api/v1/modbus: the registers the Modbus TCP server serves now
	 * (modbus-view.h) into *ret; -ENODEV when there is none (503), another
	 * negative errno (500). Optional. */
	int (*modbus)(void *userdata, json_t **ret);
	const char *version;
};

/* What the server counts from httpd_new() on, across reconfigurations. */
#define HTTPD_STATUS_FIRST 100
#define HTTPD_STATUS_SLOTS 500 /* 100..599 */
struct httpd_counters {
	uint64_t by_status[HTTPD_STATUS_SLOTS]; /* responses queued, by status - HTTPD_STATUS_FIRST */
	uint64_t auth_failures;                 /* requests with wrong credentials */
	uint64_t live_dropped;                  /* events a slow live client's full queue lost */
};

struct httpd;

/* ops and userdata are borrowed and must outlive the server. -ENOMEM or 0. */
int httpd_new(sd_event *e, const struct httpd_ops *ops, void *userdata, struct httpd **ret);
struct httpd *httpd_free(struct httpd *h); /* NULL-safe, returns NULL; closes the listener */
DEFINE_FREEP(struct httpd, httpd_free)

/* Listen on listen_fd and tls_fd (socket activation, taken over; -1: none)
 * or bind the configured addresses; a tls_fd means a second, HTTPS listener
 * as tls_listen does. Without a password, or with a certificate or key that
 * cannot be read: logs an error, takes the fds and returns 0 (the daemon runs
 * without the API, or with the second listener, with plain HTTP only). Other
 * failures: logged, negative errno. */
int httpd_start(struct httpd *h, int listen_fd, int tls_fd, const struct httpd_settings *s);

/* Re-read the password, certificate and key files and apply s. When anything
 * changed, a new server takes over the listener and the old one finishes the
 * requests it has (safe to call from inside a request, e.g. a PATCH). A file
 * that cannot be read (missing, not a regular file, too large) is logged and
 * the running server keeps what it had. */
int httpd_reconfigure(struct httpd *h, const struct httpd_settings *s);

/* libmicrohttpd's external logger for every instance of ours (this API and
 * the HomeWizard-compatible one): its messages at debug level, after cls,
 * a string naming the server. */
void httpd_log_mhd(void *cls, const char *fmt, va_list ap);

/* GnuTLS (libmicrohttpd's TLS library) initialises itself when it is loaded,
 * and libmicrohttpd's constructor initialises it once more: ~120 kB of heap,
 * the ASN.1 trees of PKIX, whether or not HTTPS ever runs. Each HTTPS instance
 * holds a reference of its own, so the process drops those two, once, before
 * the first server starts. Nothing when no GnuTLS is loaded. Never logs. */
void httpd_tls_library_release(void);

bool httpd_serving(const struct httpd *h);
/* Borrowed; NULL-safe (NULL). */
const struct httpd_counters *httpd_counters(const struct httpd *h);

/* GET /api/v1/live: send "event: <event>\ndata: <data>\n\n" to every stream
 * (an empty event sends data as a comment). data is one line of text, copied.
 * 0, or -ENOMEM (logged by the caller). NULL-safe. */
int httpd_live_send(struct httpd *h, const char *event, const char *data);
/* Streams open now (0 for NULL): the daemon builds events only for someone. */
unsigned httpd_live_clients(const struct httpd *h);
uint16_t httpd_port(const struct httpd *h);
