/* SPDX-License-Identifier: MIT */
/*
 * The connections of an HTTP instance (see httpd.h): libmicrohttpd's
 * Timeout= is an idle timeout, renewed by every byte, so a client that sends
 * one header line now and then would hold its connection for ever, and
 * MaxConnections such clients would shut everybody else out. Here each
 * request gets an absolute deadline for its line, headers and body; a
 * connection past it is shut down. And MHD is allowed one connection more
 * than the setting: when that spare one is taken, the connection that has
 * waited longest for a request of its own makes room, so a new client gets
 * in while slow ones wait.
 *
 * A connection is shut down (shutdown(2) on its socket, which stays MHD's to
 * close): MHD sees the end of the stream at its next run and closes it the
 * usual way.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "smartconnectd/base/log.h"

#include "httpd-internal.h"

static uint64_t conn_now(const struct httpd_srv *srv)
{
	uint64_t now = 0;

	(void) sd_event_now(srv->h->event, CLOCK_MONOTONIC, &now);
	return now;
}

static struct httpd_conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void conn_shut(struct httpd_conn *k, const char *why)
{
	if (k->closing)
		return;
	k->closing = true;
	k->srv->n_conns--;
	log_debug("HTTP: closing a connection, %s", why);
	(void) shutdown(k->fd, SHUT_RDWR);
}

/* Room for the newcomer: the connection that has waited longest for its
 * request goes. One being answered is left alone. */
static void conn_make_room(struct httpd_srv *srv, struct httpd_conn *newcomer)
{
	struct httpd_conn *victim = NULL;

	for (struct httpd_conn *k = srv->conns; k; k = k->next)
		if (k != newcomer && !k->closing && !k->answering && (!victim || k->since <= victim->since))
			victim = k;
	if (victim)
		conn_shut(victim, "the server is full and it waited longest");
}

static void conn_started(struct httpd_srv *srv, struct MHD_Connection *c, void **socket_context)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct httpd_conn *k;
	uint64_t now = conn_now(srv);

	if (!ci)
		return;
	k = calloc(1, sizeof(*k));
	if (!k) {
		/* Untracked, it still has MHD's idle timeout. */
		(void) log_oom();
		return;
	}
	*k = (struct httpd_conn){
		.srv = srv,
		.fd = ci->connect_fd,
		.since = now,
		.deadline = now + HTTPD_REQUEST_SEC * USEC_PER_SEC,
		.next = srv->conns,
	};
	if (srv->conns)
		srv->conns->prev = k;
	srv->conns = k;
	srv->n_conns++;
	*socket_context = k;
	if (srv->n_conns > srv->h->mat.max_connections)
		conn_make_room(srv, k);
}

static void conn_closed(struct httpd_srv *srv, void **socket_context)
{
	struct httpd_conn *k = *socket_context;

	if (!k)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		srv->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	if (!k->closing)
		srv->n_conns--;
	free(k);
	*socket_context = NULL;
}

void httpd_conn_on_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		conn_started(cls, c, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		conn_closed(cls, socket_context);
}

void *httpd_conn_on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct httpd_conn *k = conn_of(c);

	(void) uri;
	/* The request line is in: the request has begun. A new connection
	 * keeps the deadline it got when it was accepted, a kept-alive one
	 * gets its own now. */
	if (k)
		k->deadline = MIN(k->deadline, conn_now(cls) + HTTPD_REQUEST_SEC * USEC_PER_SEC);
	return NULL; /* the request callback starts from NULL */
}

void httpd_conn_answering(struct MHD_Connection *c)
{
	struct httpd_conn *k = conn_of(c);

	if (k)
		k->answering = true;
}

void httpd_conn_count(struct MHD_Connection *c, unsigned status)
{
	struct httpd_conn *k = conn_of(c);

	if (k && status >= HTTPD_STATUS_FIRST && status < HTTPD_STATUS_FIRST + HTTPD_STATUS_SLOTS)
		k->srv->h->counters.by_status[status - HTTPD_STATUS_FIRST]++;
}

void httpd_conn_request_done(struct MHD_Connection *c)
{
	struct httpd_conn *k = conn_of(c);
	uint64_t now;

	if (!k)
		return;
	/* Kept alive: MHD's Timeout= closes it if nothing comes, and the next
	 * request, once its line is in, has its own deadline. */
	now = conn_now(k->srv);
	k->answering = false;
	k->since = now;
	k->deadline = now + ((uint64_t) k->srv->h->mat.timeout_sec + HTTPD_REQUEST_SEC) * USEC_PER_SEC;
}

uint64_t httpd_conn_sweep(struct httpd_srv *srv, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (struct httpd_conn *k = srv->conns; k; k = k->next) {
		if (k->closing || k->answering)
			continue;
		if (k->deadline <= now)
			conn_shut(k, "its request did not arrive in time");
		else
			next = MIN(next, k->deadline);
	}
	return next;
}
