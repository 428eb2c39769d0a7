/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server's insides, shared by its files: httpd.c (the daemon-facing
 * object and the libmicrohttpd instances in the loop), httpd-conn.c (request
 * deadlines and room for a new client), httpd-auth.c (basic auth and the
 * lockout), httpd-session.c (the page's one session), httpd-host.c (which Host, Origin and Referer values are
 * ours) and httpd-routes.c (the routing table and the responses). Nothing else includes this.
 */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "smartconnectd/outputs/httpd.h"

#define HTTPD_PASSWORD_MAX 256
#define HTTPD_FAIL_SLOTS 64
#define HTTPD_HOSTS_MAX 1024        /* "[HTTP] AllowedHosts=" and "<mDNS name>.local" */
#define HTTPD_LIVE_QUEUE 16         /* events queued per live stream; more drop the oldest */
#define HTTPD_LIVE_KEEPALIVE_SEC 15 /* a comment line on every live stream this often */
#define HTTPD_LIVE_STALL_SEC 120    /* a live client that reads nothing this long is dropped */
#define HTTPD_LIVE_SNDBUF 16384     /* socket send buffer of a live stream (the kernel doubles it) */

/* Everything a running instance was made from; a change means a new instance. */
struct httpd_material {
	char user[128];
	char password[HTTPD_PASSWORD_MAX];
	char *cert, *key; /* PEM text, NULL for plain HTTP */
	unsigned max_connections, max_per_ip, timeout_sec;
};

/* One TCP connection of an instance (httpd-conn.c), its MHD socket context. */
struct httpd_conn {
	struct httpd_srv *srv;
	int fd;
	uint64_t since;    /* CLOCK_MONOTONIC: when it began to wait for its current request */
	uint64_t deadline; /* that request's headers and body are in by then, or it is closed */
	bool answering;    /* a response is queued: no deadline until the request completes */
	bool closing;      /* shut down by us, MHD has not noticed yet */
	struct httpd_conn *prev, *next;
};

/* A listening socket and the instance serving it: the plain one ([HTTP]
 * Listen=, or HTTPS itself without a second listener) and the HTTPS one
 * ([HTTP] ListenTLS= or the socket named "https"). */
enum { HTTPD_EP_PLAIN, HTTPD_EP_TLS, _HTTPD_EP_MAX };
struct httpd_endpoint {
	int listen_fd;
	bool activated; /* listen_fd came from systemd: never rebound */
	bool enabled;   /* has an address or a socket */
	bool tls;       /* serves HTTPS */
	uint16_t port;
	char host[256];
	uint16_t cfg_port;
	struct httpd_srv *cur;
};

struct httpd_srv {
	struct httpd *h;
	struct httpd_endpoint *ep;
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer;
	bool retiring;            /* quiesced: serves its connections, then goes */
	bool tls_ref;             /* holds a reference on GnuTLS's global state */
	bool kicked;              /* a connection was resumed: run MHD at once */
	uint64_t deadline;        /* CLOCK_MONOTONIC: retiring ends at the latest then */
	struct httpd_conn *conns; /* list, newest first */
	unsigned n_conns;         /* in conns and not closing */
	struct httpd_srv *next;
};

/* Failed logins of one source: an IPv4 address or an IPv6 /64. */
struct httpd_fail {
	bool used;
	int family;
	uint8_t addr[16];
	unsigned fails;
	uint64_t last_usec, locked_until;
};

/* All sources together: at most HTTPD_CHECKS_PER_SEC failed logins are
 * checked per second (a token bucket, in millionths of a token). */
struct httpd_budget {
	uint64_t tokens, last_usec;
};

/* The one session of the page (httpd-session.c): digests of its token and
 * of the token it replaced, never the tokens. */
#define HTTPD_SESSION_DIGEST 32
struct httpd_session {
	bool active, replaced_set;
	unsigned char digest[HTTPD_SESSION_DIGEST];
	unsigned char replaced[HTTPD_SESSION_DIGEST];
	uint64_t last_usec; /* CLOCK_MONOTONIC: its last request */
};

struct httpd {
	sd_event *event;
	const struct httpd_ops *ops;
	void *userdata;

	struct httpd_endpoint ep[_HTTPD_EP_MAX];
	bool dual;        /* a second, HTTPS listener: the plain one stays plain */
	bool require_tls; /* [HTTP] RequireTLS=: the plain listener only redirects */

	struct httpd_material mat;
	struct httpd_srv *retired; /* list */
	struct httpd_fail fails[HTTPD_FAIL_SLOTS];
	unsigned fails_used; /* slots in use: none, and a good login looks at none */
	struct httpd_budget budget;
	struct httpd_session session;
	uint64_t session_idle_usec;
	/* Host names besides addresses, host name and localhost: lower case,
	 * separated by single blanks; applied without a new instance. */
	char hosts[HTTPD_HOSTS_MAX];
	bool metrics_auth;
	struct httpd_counters counters;

	struct httpd_live *live; /* streams of GET /api/v1/live (httpd-live.c), a list */
	unsigned n_live, max_live;
	sd_event_source *live_timer; /* keep-alive comments while there are streams */
};

/* Per request: its instance and the body being collected. */
struct httpd_request {
	struct httpd_srv *srv;
	char *body;
	size_t len;
	bool too_large;
	bool by_session; /* authenticated by the page's session cookie */
};

/* Check the request's credentials and the lockout of its address (httpd-auth.c).
 * 0: go on; otherwise the answer (401 or 429) is queued and its result is in *ret. */
int httpd_auth_check(struct httpd *h, struct MHD_Connection *c, enum MHD_Result *ret);
/* The same for the credentials of the sign-in form: the lockout and budget
 * apply, a wrong pair gets 401 without a basic challenge. */
int httpd_auth_login(struct httpd *h, struct MHD_Connection *c, const char *user, const char *pass,
		     enum MHD_Result *ret);

/* The page's session (httpd-session.c). httpd_session_check(): 0 the
 * request's cookie is the session; 1 no session cookie; otherwise 401 with
 * why ("signed in elsewhere", "session expired", "not signed in") is queued
 * and its result is in *ret. */
int httpd_session_check(struct httpd *h, struct MHD_Connection *c, enum MHD_Result *ret);
void httpd_session_end(struct httpd *h);
enum MHD_Result httpd_session_on_get(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq);
enum MHD_Result httpd_session_on_post(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq);
enum MHD_Result httpd_session_on_delete(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq);

/* Connections and their deadlines (httpd-conn.c); cls is the struct httpd_srv. */
void httpd_conn_on_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe);
void *httpd_conn_on_uri(void *cls, const char *uri, struct MHD_Connection *c);
/* Count a response queued on c with status (routes and auth call this); a
 * connection left untracked by an allocation failure is not counted. */
void httpd_conn_count(struct MHD_Connection *c, unsigned status);
/* A response is queued on c: the deadline stops (routes and auth call this). */
void httpd_conn_answering(struct MHD_Connection *c);
/* The request on c completed: the connection waits for the next one. */
void httpd_conn_request_done(struct MHD_Connection *c);
/* Shut down the connections of srv past their deadline; returns the next
 * deadline (UINT64_MAX: none). */
uint64_t httpd_conn_sweep(struct httpd_srv *srv, uint64_t now);

/* Whether the Host header names this gateway, and whether a state-changing
 * request comes from a page of this gateway (httpd-host.c). 0: go on;
 * otherwise the answer (421 or 403) is queued and its result is in *ret. */
int httpd_host_check(struct httpd *h, struct MHD_Connection *c, bool changes_state, enum MHD_Result *ret);
/* "<local_name>.local" and the allowed hosts into h->hosts; -EINVAL when they do not fit. */
int httpd_host_set(struct httpd *h, const char *local_name, const char *allowed);

/* libmicrohttpd's request and completion callbacks; cls is the struct
 * httpd_srv (httpd-routes.c). */
enum MHD_Result httpd_routes_on_request(void *cls, struct MHD_Connection *c, const char *url,
					const char *method, const char *version, const char *upload_data,
					size_t *upload_data_size, void **req_cls);
void httpd_routes_on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			       enum MHD_RequestTerminationCode toe);

/* On the plain listener while HTTPS is served (httpd-tls.c): a browser's
 * page request gets a redirect to the same page over HTTPS, and with
 * RequireTLS= every other request a 403. 0: go on; otherwise the answer is
 * queued and its result is in *ret. */
int httpd_tls_check(struct httpd_srv *srv, struct MHD_Connection *c, const char *url, const char *method,
		    enum MHD_Result *ret);

/* Run srv's MHD from the loop as soon as possible (httpd.c). */
void httpd_srv_kick(struct httpd_srv *srv);

/* GET /api/v1/live on c of srv (httpd-live.c): a new stream and its response
 * in *ret (the caller queues it). MHD_NO on OOM. */
enum MHD_Result httpd_live_start(struct httpd_srv *srv, struct MHD_Connection *c, bool by_session,
				 struct MHD_Response **ret);
/* End the streams opened with the page's session (a new sign-in); how many. */
unsigned httpd_live_end_sessions(struct httpd *h);
/* End the streams of srv (NULL: all) after what they have queued; how many. */
unsigned httpd_live_end(struct httpd *h, const struct httpd_srv *srv);

/* The response helpers the routes and the authentication share. */
void httpd_routes_headers(struct MHD_Response *resp); /* cache, sniffing, referrer */
/* Takes j; NULL when j is NULL or on OOM. */
struct MHD_Response *httpd_routes_json(json_t *j);
/* The JSON response for j (taken) with *status; when j is NULL or cannot be
 * encoded, a JSON error and *status 500 instead. NULL only when even that
 * cannot be allocated. */
struct MHD_Response *httpd_routes_json_or_500(json_t *j, unsigned *status);
/* Queue resp (NULL: MHD_NO) with the common headers and drop our reference. */
enum MHD_Result httpd_routes_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp);

/* GET /api/v1/history (httpd-history.c). */
enum MHD_Result httpd_history_on_get(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq);
