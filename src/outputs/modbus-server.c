/* SPDX-License-Identifier: MIT */
/*
 * Modbus TCP server (see modbus-server.h). libmodbus does the protocol: one modbus_t
 * serves every connection through modbus_set_socket() and modbus_reply(), and
 * one mapping holds both register images (FC 0x03 holding, FC 0x04 input) over
 * the whole address space. modbus_receive() is never called: it select()s and
 * waits, so requests are framed here, per connection, without blocking;
 * modbus-framing.c tells MBAP from RTU frames sent over TCP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <modbus.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smartconnectd/net/listener.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/modbus-server.h"

#define MBAP_HEADER 7
#define MODBUS_SERVER_BACKLOG 64

struct mbconn {
	struct modbus_server *srv;
	struct mbconn *prev, *next;
	int fd;
	sd_event_source *io;
	sd_event_source *idle;
	struct listener_source src;
	uint64_t active_usec; /* accepted or last read from: who is the longest idle */
	char peer[INET6_ADDRSTRLEN + 8];
	enum modbus_framing framing; /* AUTO until the first request shows which */
	size_t len;
	uint8_t buf[MODBUS_TCP_MAX_ADU_LENGTH];
};

struct modbus_server {
	sd_event *event;
	struct store *store;
	struct modbus_server_settings set;
	int listen_fd;
	bool activated; /* listen_fd came from systemd: never rebound */
	uint16_t port;
	sd_event_source *listen_io;

	modbus_t *ctx;
	struct modbus_framing_codec *codec; /* RTU frames over TCP */
	modbus_mapping_t *map;
	uint64_t generation; /* of the snapshot in the image; 0 = none */
	bool zeroed;         /* the image shows no measurements (stale, policy zero) */
	uint16_t *written;   /* current values of the template's writable registers */

	struct mbconn *conns;
	unsigned n_conns;
	struct modbus_server_counters counters;
	struct log_summary replace_log;
	char replace_note[64]; /* ends the first replacement's line: when the summary comes */

	modbus_server_clients_fn on_clients;
	void *clients_userdata;
};

const char *const modbus_server_stale_policy_names[_MODBUS_SERVER_STALE_MAX] = {
	[MODBUS_SERVER_STALE_ERROR] = "error",
	[MODBUS_SERVER_STALE_ZERO] = "zero",
	[MODBUS_SERVER_STALE_KEEP] = "keep",
};

DEFINE_STRING_TABLE_TO(modbus_server_stale_policy, enum modbus_server_stale_policy,
		       modbus_server_stale_policy_names)

ssize_t modbus_server_frame_len(const uint8_t *buf, size_t n)
{
	if (n < MBAP_HEADER)
		return 0;

	unsigned proto = (unsigned) buf[2] << 8 | buf[3];
	unsigned len = (unsigned) buf[4] << 8 | buf[5]; /* unit id + PDU */
	if (proto != 0 || len < 2 || len > 254)
		return -EBADMSG;

	return n >= 6 + len ? (ssize_t) (6 + len) : 0;
}

#define MODBUS_SERVER_SUMMARY_USEC (60 * USEC_PER_SEC)

static uint64_t now_usec(const struct modbus_server *m)
{
	uint64_t now = 0;

	(void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	return now;
}

/* ---- the register image ---- */

static void modbus_server_fill(struct modbus_server *m, const struct reading *v)
{
	modbus_map_fill(m->set.template, v, &m->set.ident, m->written, m->map->tab_input_registers,
			m->map->tab_registers);
}

/* The image follows the current snapshot when a request reads it, not when a
 * telegram comes: a telegram no client reads costs nothing here, and each
 * answer still comes from one telegram (the whole image is filled at once). */
static void modbus_server_sync(struct modbus_server *m)
{
	const struct snapshot *snap = store_current(m->store);

	if (!snap || (snap->generation == m->generation && !m->zeroed))
		return;
	modbus_server_fill(m, &snap->v);
	m->generation = snap->generation;
	m->zeroed = false;
}

static int modbus_server_reset_written(struct modbus_server *m)
{
	const struct modbus_map_template *t = m->set.template;
	uint16_t *w = calloc(t->n_writable ? t->n_writable : 1, sizeof(uint16_t));

	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_writable; i++)
		w[i] = t->writable[i].initial;
	free(m->written);
	m->written = w;
	return 0;
}

/* Rebuild the whole image from the current snapshot (template switch, start). */
static void modbus_server_refill(struct modbus_server *m)
{
	const struct snapshot *snap = store_current(m->store);

	modbus_server_fill(m, snap ? &snap->v : NULL);
	m->generation = snap ? snap->generation : 0;
	m->zeroed = !snap;
}

/* ---- connections ---- */

static void modbus_server_clients_changed(struct modbus_server *m)
{
	if (m->on_clients)
		m->on_clients(m, m->clients_userdata);
}

static struct mbconn *mbconn_free(struct mbconn *c)
{
	if (!c)
		return NULL;

	/* Sources go before the fd is closed, so the number is never watched twice. */
	c->io = sd_event_source_disable_unref(c->io);
	c->idle = sd_event_source_disable_unref(c->idle);
	if (c->fd >= 0)
		close(c->fd);

	if (c->prev)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->srv->n_conns--;
	modbus_server_clients_changed(c->srv);
	free(c);
	return NULL;
}

static void mbconn_drop(struct mbconn *c, const char *why)
{
	log_debug("Modbus client %s: %s, closing", c->peer, why);
	c->srv->counters.dropped++;
	mbconn_free(c);
}

/* p is an MBAP answer; an RTU connection gets it as an RTU frame. */
static bool mbconn_send(struct mbconn *c, const uint8_t *p, size_t n)
{
	uint8_t rtu[MODBUS_FRAMING_RTU_MAX];
	ssize_t k;

	if (c->framing == MODBUS_FRAMING_RTU) {
		k = modbus_framing_to_rtu(c->srv->codec, p, n, rtu);
		if (k <= 0)
			return k == 0; /* 0: a broadcast, not answered */
		p = rtu;
		n = (size_t) k;
	}
	k = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

	/* A client whose socket buffer is full does not read its answers: a half
	 * answer would corrupt its stream, so it is dropped instead. */
	return k == (ssize_t) n;
}

static bool mbconn_exception(struct mbconn *c, const uint8_t *req, unsigned code)
{
	uint8_t rsp[9] = { req[0], req[1], 0, 0, 0, 3, req[6], (uint8_t) (req[7] | 0x80), (uint8_t) code };

	modbus_server_count_exception(&c->srv->counters, code);
	return mbconn_send(c, rsp, sizeof(rsp));
}

/* The EM24 model code: a one-register read at an address that is otherwise the
 * high word of a 32-bit value. */
static bool mbconn_single(struct mbconn *c, const uint8_t *req, uint16_t value)
{
	uint8_t rsp[11] = { req[0],         req[1], 0, 0, 0, 5, req[6], req[7], 2, (uint8_t) (value >> 8),
			    (uint8_t) value };

	return mbconn_send(c, rsp, sizeof(rsp));
}

/* libmodbus answers; the request has been checked, so this cannot write where it must not. */
static bool mbconn_reply(struct mbconn *c, const uint8_t *req, size_t len)
{
	struct modbus_server *m = c->srv;
	uint8_t rsp[MODBUS_FRAMING_RTU_MAX];
	ssize_t n;

	if (c->framing != MODBUS_FRAMING_RTU) {
		if (modbus_set_socket(m->ctx, c->fd) < 0)
			return false;
		return modbus_reply(m->ctx, req, (int) len, m->map) >= 0;
	}
	n = modbus_framing_rtu_reply(m->codec, req, len, m->map, rsp);
	return n == 0 || (n > 0 && send(c->fd, rsp, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT) == n);
}

/* Is the data too old to answer with at `now`, and what to do about it;
 * otherwise the image is brought up to the current snapshot. Returns true
 * when the request must get exception 0x0B. */
static bool modbus_server_stale_check(struct modbus_server *m, uint64_t now)
{
	if (!store_is_stale(m->store, now)) {
		modbus_server_sync(m);
		return false;
	}

	switch (m->set.stale_policy) {
	case MODBUS_SERVER_STALE_ERROR:
		return true;
	case MODBUS_SERVER_STALE_ZERO:
		if (!m->zeroed) {
			modbus_server_fill(m, NULL);
			m->zeroed = true;
		}
		return false;
	case MODBUS_SERVER_STALE_KEEP:
	case _MODBUS_SERVER_STALE_MAX:
		break;
	}
	modbus_server_sync(m);
	return false;
}

void modbus_server_image(struct modbus_server *m, struct modbus_server_image *ret)
{
	uint64_t now = now_usec(m);
	/* Brings the image up to the current snapshot, as a client's read does. */
	bool refused = modbus_server_stale_check(m, now);

	*ret = (struct modbus_server_image){
		.template = m->set.template,
		.input = m->map->tab_input_registers,
		.holding = m->map->tab_registers,
		.stale_policy = m->set.stale_policy,
		.stale = store_is_stale(m->store, now),
		.refused = refused,
	};
}

static bool mbconn_read_request(struct mbconn *c, const uint8_t *req, size_t len)
{
	struct modbus_server *m = c->srv;
	unsigned addr = (unsigned) req[8] << 8 | req[9], count = (unsigned) req[10] << 8 | req[11];
	uint16_t single;

	if (len != 12)
		return mbconn_exception(c, req, MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
	if (count < 1 || count > MODBUS_MAX_READ_REGISTERS)
		return mbconn_exception(c, req, MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
	if (!modbus_map_readable(m->set.template, addr, count))
		return mbconn_exception(c, req, MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
	/* The time of the read that brought the request: this loop iteration's. */
	if (modbus_server_stale_check(m, c->active_usec))
		return mbconn_exception(c, req, MODBUS_EXCEPTION_GATEWAY_TARGET);
	if (count == 1 && modbus_map_single_read(m->set.template, addr, &single))
		return mbconn_single(c, req, single);

	/* FC 0x04 reads the input image, FC 0x03 the holding image: identical but
	 * for the few setup registers a template keeps on FC 0x03 only. */
	return mbconn_reply(c, req, len);
}

/* FC 0x06, or FC 0x10 of one register: only where the template has a register
 * its readers write and read back; every other write is refused. */
static bool mbconn_write_request(struct mbconn *c, const uint8_t *req, size_t len)
{
	struct modbus_server *m = c->srv;
	bool multiple = req[7] == MODBUS_FC_WRITE_MULTIPLE_REGISTERS;
	unsigned addr = (unsigned) req[8] << 8 | req[9];
	int idx = modbus_map_writable_index(m->set.template, addr);

	if (idx < 0 || (multiple && (len != 15 || req[10] != 0 || req[11] != 1 || req[12] != 2)) ||
	    (!multiple && len != 12))
		return mbconn_exception(c, req, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);

	uint16_t value = multiple ? (uint16_t) (req[13] << 8 | req[14]) : (uint16_t) (req[10] << 8 | req[11]);
	if (!mbconn_reply(c, req, len))
		return false;
	m->written[idx] = value;
	m->map->tab_registers[addr] = value;
	m->map->tab_input_registers[addr] = value;
	return true;
}

static bool mbconn_handle(struct mbconn *c, const uint8_t *req, size_t len)
{
	modbus_server_count_request(&c->srv->counters, len < 8 ? -1 : req[7]);
	if (len < 8)
		return mbconn_exception(c, req, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);

	switch (req[7]) {
	case MODBUS_FC_READ_HOLDING_REGISTERS:
	case MODBUS_FC_READ_INPUT_REGISTERS:
		return mbconn_read_request(c, req, len);
	case MODBUS_FC_WRITE_SINGLE_REGISTER:
	case MODBUS_FC_WRITE_MULTIPLE_REGISTERS:
		return mbconn_write_request(c, req, len);
	default:
		/* Coils, discrete inputs, diagnostics, ...: a meter has none. */
		return mbconn_exception(c, req, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
	}
}

static int mbconn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct mbconn *c = userdata;
	ssize_t n;

	(void) s;
	if (revents & (EPOLLERR | EPOLLHUP) && !(revents & EPOLLIN)) {
		int err = 0;
		socklen_t len = sizeof(err);

		(void) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		mbconn_drop(c, err ? strerror(err) : "connection closed");
		return 0;
	}

	n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		/* A plain close by the client is the normal end of a connection. */
		log_debug("Modbus client %s disconnected%s%s", c->peer, n < 0 ? ": " : "",
			  n < 0 ? strerror(errno) : "");
		mbconn_free(c);
		return 0;
	}
	c->len += (size_t) n;
	/* The idle timer is not moved per request: it looks at this when it fires. */
	c->active_usec = now_usec(c->srv);

	for (;;) {
		uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
		size_t req_len = 0;
		ssize_t flen = modbus_framing_next(c->srv->codec, &c->framing, c->buf, c->len, req, &req_len);

		if (flen < 0) {
			mbconn_drop(c, c->framing == MODBUS_FRAMING_RTU   ? "not a Modbus RTU frame"
				       : c->framing == MODBUS_FRAMING_TCP ? "not a Modbus TCP frame"
									  : "not a Modbus TCP or RTU frame");
			return 0;
		}
		if (flen == 0)
			return 0;
		if (!mbconn_handle(c, req, req_len)) {
			mbconn_drop(c, "cannot send the answer");
			return 0;
		}
		c->len -= (size_t) flen;
		memmove(c->buf, c->buf + flen, c->len);
	}
}

/* Armed for the idle limit after the last read it knew of; a connection read
 * from since then gets the timer again, for the rest of its time. */
static int mbconn_on_idle(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mbconn *c = userdata;
	uint64_t until = c->active_usec + c->srv->set.idle_usec;

	if (until > usec && sd_event_source_set_time(s, until) >= 0 &&
	    sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0)
		return 0;
	mbconn_drop(c, "idle timeout");
	return 0;
}

/* ---- making room: a new client is never refused ---- */

/* Has the client closed (or reset) a connection whose end we have not read
 * yet? Its EOF may sit in the queue behind the listener's event. */
static bool mbconn_gone(const struct mbconn *c)
{
	uint8_t b;
	ssize_t k = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Connections from src; with reap, closed ones are first let go. */
static unsigned modbus_server_count(struct modbus_server *m, const struct listener_source *src, bool reap)
{
	unsigned n = 0;

	for (struct mbconn *c = m->conns, *next; c; c = next) {
		next = c->next;
		if (reap && mbconn_gone(c)) {
			log_debug("Modbus client %s disconnected", c->peer);
			mbconn_free(c);
		} else if (listener_source_eq(&c->src, src))
			n++;
	}
	return n;
}

/* The longest idle connection, of src only unless it is NULL. Connections
 * accepted in one loop iteration share a time stamp: of those the oldest
 * goes (the list runs from the newest, so a tie moves on). */
static struct mbconn *modbus_server_longest_idle(struct modbus_server *m, const struct listener_source *src)
{
	struct mbconn *best = NULL;

	for (struct mbconn *c = m->conns; c; c = c->next)
		if ((!src || listener_source_eq(&c->src, src)) &&
		    (!best || c->active_usec <= best->active_usec))
			best = c;
	return best;
}

static void mbconn_replace(struct mbconn *c, const char *peer, const char *limit)
{
	struct modbus_server *m = c->srv;
	uint64_t idle = now_usec(m) - c->active_usec;

	m->counters.replaced++;
	if (log_summary_event(&m->replace_log))
		log_warning("Modbus client %s replaces %s, idle for %llu.%03llus: %s reached; %s", peer,
			    c->peer, (unsigned long long) (idle / USEC_PER_SEC),
			    (unsigned long long) (idle % USEC_PER_SEC / USEC_PER_MSEC), limit,
			    m->replace_note);
	else
		log_debug("Modbus client %s replaces %s: %s reached", peer, c->peer, limit);
	mbconn_free(c);
}

/* Room for one more client from src. Only at a limit are the open connections
 * checked for a close not read yet, so a burst of connect/close cycles never
 * costs a live client its slot; then the longest idle one goes: of src at
 * MaxClientsPerIP (a source only ever displaces itself), of all at MaxClients. */
static void modbus_server_make_room(struct modbus_server *m, const struct listener_source *src,
				    const char *peer)
{
	unsigned per_ip = m->set.max_per_ip ?: UINT_MAX, same = modbus_server_count(m, src, false);
	struct mbconn *c = NULL;

	if (same < per_ip && m->n_conns < m->set.max_clients)
		return;
	same = modbus_server_count(m, src, true);
	if (same >= per_ip)
		c = modbus_server_longest_idle(m, src);
	else if (m->n_conns >= m->set.max_clients)
		c = modbus_server_longest_idle(m, NULL);
	if (c)
		mbconn_replace(c, peer, same >= per_ip ? "MaxClientsPerIP" : "MaxClients");
}

static void mbconn_new(int fd, const struct sockaddr *sa, const char *peer, void *userdata)
{
	struct modbus_server *m = userdata;
	struct listener_source src = listener_source_of(sa);
	struct mbconn *c;
	int r, one = 1;

	modbus_server_make_room(m, &src, peer);
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		log_oom();
		return;
	}
	c->srv = m;
	c->fd = fd;
	c->src = src;
	c->framing = m->set.framing;
	c->active_usec = now_usec(m);
	c->next = m->conns;
	if (m->conns)
		m->conns->prev = c;
	m->conns = c;
	m->n_conns++;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	/* Answers are single small writes: do not let Nagle hold them back. */
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	r = sd_event_add_io(m->event, &c->io, fd, EPOLLIN, mbconn_on_io, c);
	if (r >= 0 && m->set.idle_usec > 0)
		r = sd_event_add_time_relative(m->event, &c->idle, CLOCK_MONOTONIC, m->set.idle_usec, 0,
					       mbconn_on_idle, c);
	if (r < 0) {
		mbconn_free(c);
		log_warning_errno(r, "Cannot watch a Modbus connection, closing it: %m");
		return;
	}
	m->counters.accepted++;
	log_debug("Modbus client %s connected (%u open)", c->peer, m->n_conns);
	modbus_server_clients_changed(m);
}

static void modbus_server_on_replace_summary(struct log_summary *ls, unsigned n, uint64_t interval_usec,
					     void *userdata)
{
	struct modbus_server *m = userdata;

	(void) ls;
	log_warning("%u Modbus client%s replaced idle ones in the last %llus (MaxClients=%u, "
		    "MaxClientsPerIP=%u)",
		    n, n == 1 ? "" : "s", (unsigned long long) (interval_usec / USEC_PER_SEC),
		    m->set.max_clients, m->set.max_per_ip);
}

static void modbus_server_set_summary(struct modbus_server *m, uint64_t summary_usec)
{
	uint64_t usec = summary_usec ?: MODBUS_SERVER_SUMMARY_USEC;

	log_summary_set_interval(&m->replace_log, usec);
	snprintf(m->replace_note, sizeof(m->replace_note), "further replacements are summarised every %llus",
		 (unsigned long long) (usec / USEC_PER_SEC));
}

static int modbus_server_on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct modbus_server *m = userdata;
	uint64_t refused = 0; /* stays 0: mbconn_new() makes room instead */
	const struct listener_gate g = {
		.what = "Modbus",
		.max_clients = UINT_MAX,
		.n_clients = &m->n_conns,
		.refused = &refused,
		.full_log = &m->replace_log,
		.note = m->replace_note,
	};

	(void) s;
	(void) revents;
	listener_accept(fd, &g, mbconn_new, m);
	return 0;
}

/* ---- listener ---- */

static void modbus_server_close_listener(struct modbus_server *m)
{
	m->listen_io = sd_event_source_disable_unref(m->listen_io);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	m->listen_fd = -EBADF;
}

static int modbus_server_listen(struct modbus_server *m, int listen_fd)
{
	int r;

	if (listen_fd >= 0) {
		r = listener_adopt("Modbus", listen_fd);
		if (r < 0)
			return r;
		m->listen_fd = listen_fd;
		m->activated = true;
	} else if ((r = listener_bind("Modbus", m->set.host, m->set.port, MODBUS_SERVER_BACKLOG,
				      &m->listen_fd)) < 0)
		return r;

	m->port = listener_port(m->listen_fd);
	r = sd_event_add_io(m->event, &m->listen_io, m->listen_fd, EPOLLIN, modbus_server_on_accept, m);
	if (r >= 0)
		r = listener_set_priority(m->listen_io);
	if (r < 0)
		return log_error_errno(r, "Cannot watch the Modbus listener: %m");

	log_info("Modbus TCP server on port %u%s, meter type %s, at most %u clients (%u per address), "
		 "stale policy %s, framing %s",
		 m->port, m->activated ? " (socket activation)" : "", m->set.template->name,
		 m->set.max_clients, m->set.max_per_ip,
		 modbus_server_stale_policy_to_string(m->set.stale_policy),
		 modbus_framing_to_string(m->set.framing));
	return 0;
}

int modbus_server_new(sd_event *e, struct store *store, const struct modbus_server_settings *s,
		      struct modbus_server **ret)
{
	struct modbus_server *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	*m = (struct modbus_server){
		.event = sd_event_ref(e),
		.store = store,
		.set = *s,
		.listen_fd = -EBADF,
	};
	log_summary_init(&m->replace_log, e, MODBUS_SERVER_SUMMARY_USEC, modbus_server_on_replace_summary, m);
	modbus_server_set_summary(m, s->summary_usec);

	/* The context only carries the TCP framing for modbus_reply(); it never connects. */
	m->ctx = modbus_new_tcp("127.0.0.1", 502);
	m->map = modbus_mapping_new_start_address(0, 0, 0, 0, 0, MODBUS_MAP_SIZE, 0, MODBUS_MAP_SIZE);
	if (!m->ctx || !m->map || modbus_framing_codec_new(&m->codec) < 0 ||
	    modbus_server_reset_written(m) < 0) {
		modbus_server_free(m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

struct modbus_server *modbus_server_free(struct modbus_server *m)
{
	if (!m)
		return NULL;

	m->on_clients = NULL;
	while (m->conns)
		mbconn_free(m->conns);
	modbus_server_close_listener(m);
	log_summary_done(&m->replace_log);
	if (m->map)
		modbus_mapping_free(m->map);
	if (m->ctx)
		modbus_free(m->ctx);
	modbus_framing_codec_free(m->codec);
	free(m->written);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

int modbus_server_start(struct modbus_server *m, int listen_fd)
{
	modbus_server_refill(m);
	return modbus_server_listen(m, listen_fd);
}

int modbus_server_reconfigure(struct modbus_server *m, const struct modbus_server_settings *s)
{
	bool rebind =
	    (strcmp(s->host ? s->host : "", m->set.host ? m->set.host : "") != 0 || s->port != m->set.port);
	bool new_template = s->template != m->set.template;
	int r;

	m->set = *s;
	modbus_server_set_summary(m, s->summary_usec);
	if (new_template) {
		r = modbus_server_reset_written(m);
		if (r < 0)
			return log_oom();
		log_info("Modbus meter type is now %s", s->template->name);
	}
	modbus_server_refill(m);

	if (rebind && m->activated)
		log_warning(
		    "Modbus Listen changed, but the socket comes from systemd: restart the socket unit to "
		    "apply it");
	else if (rebind) {
		modbus_server_close_listener(m);
		return modbus_server_listen(m, -1);
	}
	return 0;
}

void modbus_server_set_clients_callback(struct modbus_server *m, modbus_server_clients_fn fn, void *userdata)
{
	m->on_clients = fn;
	m->clients_userdata = userdata;
}

unsigned modbus_server_clients(const struct modbus_server *m)
{
	return m->n_conns;
}

static const uint8_t function_codes[_MODBUS_SERVER_FC_MAX] = {
	[MODBUS_SERVER_FC_READ_HOLDING] = MODBUS_FC_READ_HOLDING_REGISTERS,
	[MODBUS_SERVER_FC_READ_INPUT] = MODBUS_FC_READ_INPUT_REGISTERS,
	[MODBUS_SERVER_FC_WRITE_SINGLE] = MODBUS_FC_WRITE_SINGLE_REGISTER,
	[MODBUS_SERVER_FC_WRITE_MULTIPLE] = MODBUS_FC_WRITE_MULTIPLE_REGISTERS,
};

enum modbus_server_function_slot modbus_server_function_slot(unsigned function)
{
	for (unsigned i = 0; i < MODBUS_SERVER_FC_OTHER; i++)
		if (function_codes[i] == function)
			return (enum modbus_server_function_slot) i;
	return MODBUS_SERVER_FC_OTHER;
}

unsigned modbus_server_function_code(enum modbus_server_function_slot slot)
{
	return slot < _MODBUS_SERVER_FC_MAX ? function_codes[slot] : 0;
}

void modbus_server_count_request(struct modbus_server_counters *c, int function)
{
	c->requests++;
	c->by_function[function < 0 ? MODBUS_SERVER_FC_OTHER
				    : modbus_server_function_slot((unsigned) function)]++;
}

void modbus_server_count_exception(struct modbus_server_counters *c, unsigned code)
{
	c->exceptions++;
	if (code >= 1 && code <= MODBUS_SERVER_EXCEPTION_SLOTS)
		c->by_exception[code - 1]++;
}

const struct modbus_server_counters *modbus_server_counters(const struct modbus_server *m)
{
	return &m->counters;
}

uint16_t modbus_server_port(const struct modbus_server *m)
{
	return m->port;
}
