/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server's insides, shared by its files: httpd.c (the daemon-facing
 * object and the libmicrohttpd instances in the loop), httpd-auth.c (basic
 * auth and the per-address lockout) and httpd-routes.c (the routing table
 * and the responses). Nothing else includes this.
 */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "smartconnectd/outputs/httpd.h"

#define HTTPD_PASSWORD_MAX 256
#define HTTPD_FAIL_SLOTS 64

/* Everything a running instance was made from; a change means a new instance. */
struct httpd_material {
	char user[128];
	char password[HTTPD_PASSWORD_MAX];
	char *cert, *key; /* PEM text, NULL for plain HTTP */
	unsigned max_connections, max_per_ip, timeout_sec;
};

struct httpd_srv {
	struct httpd *h;
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer;
	bool retiring;     /* quiesced: serves its connections, then goes */
	uint64_t deadline; /* CLOCK_MONOTONIC: retiring ends at the latest then */
	struct httpd_srv *next;
};

struct httpd_fail {
	bool used;
	int family;
	uint8_t addr[16];
	unsigned fails;
	uint64_t last_usec, locked_until;
};

struct httpd {
	sd_event *event;
	const struct httpd_ops *ops;
	void *userdata;

	int listen_fd;
	bool activated;
	uint16_t port;
	char host[256];
	uint16_t cfg_port;

	struct httpd_material mat;
	struct httpd_srv *cur;
	struct httpd_srv *retired; /* list */
	struct httpd_fail fails[HTTPD_FAIL_SLOTS];
};

/* Per request: the body being collected. */
struct httpd_request {
	char *body;
	size_t len;
	bool too_large;
};

/* Check the request's credentials and the lockout of its address (httpd-auth.c).
 * 0: go on; otherwise the answer (401 or 429) is queued and its result is in *ret. */
int httpd_auth_check(struct httpd *h, struct MHD_Connection *c, enum MHD_Result *ret);

/* libmicrohttpd's request and completion callbacks; cls is the struct
 * httpd_srv (httpd-routes.c). */
enum MHD_Result httpd_routes_on_request(void *cls, struct MHD_Connection *c, const char *url,
					const char *method, const char *version, const char *upload_data,
					size_t *upload_data_size, void **req_cls);
void httpd_routes_on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			       enum MHD_RequestTerminationCode toe);

/* The response helpers the routes and the authentication share. */
void httpd_routes_headers(struct MHD_Response *resp); /* cache, sniffing, referrer */
/* Takes j; NULL when j is NULL or on OOM. */
struct MHD_Response *httpd_routes_json(json_t *j);
/* Queue resp (NULL: MHD_NO) with the common headers and drop our reference. */
enum MHD_Result httpd_routes_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp);
