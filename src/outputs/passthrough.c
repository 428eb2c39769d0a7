/* SPDX-License-Identifier: MIT */
/*
 * The passthrough (see passthrough.h): the meter's bytes are held from the
 * tap until the framer has settled them, then cut into chunks (noise, frame)
 * that go by reference to every output: TCP clients and the P1 out tty. Each
 * output writes from its own bounded queue, without blocking, from the loop.
 *
 * Not here: the P1 out device (passthrough-device.c), serial I/O (tty.c),
 * framing (telegram.c via the meter's tap), the queue itself
 * (passthrough-queue.c), accepting clients (listener.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/net/listener.h"
#include "smartconnectd/outputs/passthrough.h"

#include "passthrough-internal.h"

#define PT_BACKLOG 64
/* Bytes held while the framer decides: more than the longest frame it
 * collects; beyond this the oldest bytes go out as noise. */
#define PT_PENDING_MAX (4 * READING_TEXT_MAX)
/* What a client sends us is read and thrown away, this much per wake-up. */
#define PT_DRAIN_CHUNK 4096
#define PT_DRAINS_PER_EVENT 4
#define PT_SUMMARY_USEC (60 * USEC_PER_SEC)
#define PT_PEER_MAX (INET6_ADDRSTRLEN + 8)
/* The kernel's send buffer per client (it doubles it). Autotuning would let it
 * grow to megabytes for a client that never reads; the data rate of a meter
 * needs only a few kilobytes, and the queue is ours to bound. */
#define PT_SNDBUF (32 * 1024)

struct ptclient {
	struct passthrough *p;
	struct ptclient *prev, *next;
	int fd;
	sd_event_source *io;
	char peer[PT_PEER_MAX];
	uint64_t join;   /* stream offset when it connected */
	bool synced;     /* a frame that started after join has been queued */
	bool rd_closed;  /* the client half-closed: it may still read */
	uint64_t frames; /* written whole */
	uint64_t dropped;
	struct passthrough_queue q; /* last member: large */
};

static bool pt_active(const struct passthrough *p)
{
	return p->listen_fd >= 0 || p->dev;
}

/* ---- noisy repeats: counted, summarised at most once per LogSummaryInterval ---- */

static unsigned long long pt_seconds(uint64_t usec)
{
	return (unsigned long long) (usec / USEC_PER_SEC);
}

static void pt_on_drop_summary(struct log_summary *ls, unsigned n, uint64_t interval_usec, void *userdata)
{
	struct passthrough *p = userdata;

	(void) ls;
	log_warning("%u telegram%s dropped for slow passthrough readers in the last %llus (%llu in all)", n,
		    n == 1 ? "" : "s", pt_seconds(interval_usec),
		    (unsigned long long) p->counters.telegrams_dropped);
}

static void pt_on_full_summary(struct log_summary *ls, unsigned n, uint64_t interval_usec, void *userdata)
{
	struct passthrough *p = userdata;

	(void) ls;
	log_warning("%u passthrough client%s refused in the last %llus: MaxClients=%u reached", n,
		    n == 1 ? "" : "s", pt_seconds(interval_usec), p->max_clients);
}

static void pt_on_deny_summary(struct log_summary *ls, unsigned n, uint64_t interval_usec, void *userdata)
{
	(void) ls;
	(void) userdata;
	log_warning("%u passthrough client%s refused in the last %llus: not in AllowFrom", n,
		    n == 1 ? "" : "s", pt_seconds(interval_usec));
}

/* Connects and disconnects share one window: a client that comes and goes
 * in a loop gives one line in full, then one summary per interval. */
static void pt_on_conn_summary(struct log_summary *ls, unsigned n, uint64_t interval_usec, void *userdata)
{
	struct passthrough *p = userdata;

	(void) ls;
	(void) n;
	log_info("Passthrough clients in the last %llus: %u connected, %u disconnected (%u open)",
		 pt_seconds(interval_usec), p->conn_counted[0], p->conn_counted[1], p->n_clients);
	p->conn_counted[0] = p->conn_counted[1] = 0;
}

/* One connect (gone = false) or disconnect: true when its line is logged in full. */
static bool pt_conn_event(struct passthrough *p, bool gone)
{
	/* While stopping, the loop takes no new timer: each line goes out in full. */
	if (p->stopping || log_summary_event(&p->conn_log))
		return true;
	p->conn_counted[gone]++;
	return false;
}

static void pt_set_summaries(struct passthrough *p, uint64_t summary_usec)
{
	uint64_t usec = summary_usec ?: PT_SUMMARY_USEC;

	log_summary_set_interval(&p->drop_log, usec);
	log_summary_set_interval(&p->full_log, usec);
	log_summary_set_interval(&p->deny_log, usec);
	log_summary_set_interval(&p->conn_log, usec);
	snprintf(p->refuse_note, sizeof(p->refuse_note), "further refusals are summarised every %llus",
		 pt_seconds(usec));
}

void passthrough_dropped(struct passthrough *p, const struct passthrough_chunk *c, const char *who,
			 const struct passthrough_queue *q)
{
	p->counters.bytes_dropped += c->len;
	if (!passthrough_chunk_is_frame(c))
		return;
	if (log_summary_event(&p->drop_log))
		log_warning("Passthrough reader %s is not keeping up (%zu bytes queued): dropping whole "
			    "telegrams; further drops are summarised every %llus",
			    who, q->bytes, pt_seconds(log_summary_interval(&p->drop_log)));
}

/* ---- clients ---- */

static void ptclient_close(struct ptclient *cl, const char *why)
{
	struct passthrough *p = cl->p;

	/* At debug level every line is kept; above it a flood gives summaries. */
	log_full(pt_conn_event(p, true) ? LOG_INFO : LOG_DEBUG,
		 "Passthrough client %s disconnected: %s (%llu telegrams sent, %llu dropped)", cl->peer, why,
		 (unsigned long long) cl->frames, (unsigned long long) cl->dropped);

	/* The source goes before the fd is closed, so the number is never watched twice. */
	cl->io = sd_event_source_disable_unref(cl->io);
	if (cl->fd >= 0)
		close(cl->fd);
	passthrough_queue_clear(&cl->q);

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		p->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	p->n_clients--;
	free(cl);
}

static void ptclient_update_events(struct ptclient *cl)
{
	uint32_t ev = (cl->rd_closed ? 0 : EPOLLIN) | (passthrough_queue_empty(&cl->q) ? 0 : EPOLLOUT);
	int r = sd_event_source_set_io_events(cl->io, ev);

	if (r < 0)
		log_warning_errno(r, "Cannot watch passthrough client %s, ignoring: %m", cl->peer);
}

static ssize_t ptclient_write(const void *buf, size_t n, void *userdata)
{
	struct ptclient *cl = userdata;
	ssize_t k;

	do
		k = send(cl->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	return k >= 0 ? k : -errno;
}

/* Write what the socket takes now. False when the client was closed. */
static bool ptclient_flush(struct ptclient *cl)
{
	struct passthrough *p = cl->p;
	uint64_t frames = 0, bytes = 0;
	int r;

	r = passthrough_queue_flush(&cl->q, ptclient_write, cl, &frames, &bytes);
	cl->frames += frames;
	p->counters.telegrams_sent += frames;
	p->counters.bytes_sent += bytes;
	if (r < 0 && r != -EAGAIN) {
		ptclient_close(cl, r == -EPIPE || r == -ECONNRESET ? "connection closed" : strerror(-r));
		return false;
	}
	ptclient_update_events(cl);
	return true;
}

static void ptclient_push(struct ptclient *cl, struct passthrough_chunk *c)
{
	struct passthrough *p = cl->p;
	bool was_empty = passthrough_queue_empty(&cl->q);

	if (p->valid_only && c->kind != PASSTHROUGH_CHUNK_ACCEPTED)
		return;
	if (!passthrough_reader_takes(&cl->synced, cl->join, c))
		return;
	if (!passthrough_queue_push(&cl->q, c)) {
		if (passthrough_chunk_is_frame(c)) {
			cl->dropped++;
			p->counters.telegrams_dropped++;
		}
		passthrough_dropped(p, c, cl->peer, &cl->q);
		return;
	}
	if (was_empty)
		(void) ptclient_flush(cl);
}

/* Read and forget what the client sends; notice its half-close. False when closed. */
static bool ptclient_drain(struct ptclient *cl)
{
	uint8_t buf[PT_DRAIN_CHUNK];

	for (unsigned i = 0; i < PT_DRAINS_PER_EVENT; i++) {
		ssize_t n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			cl->p->counters.bytes_ignored += (uint64_t) n;
			continue;
		}
		if (n == 0) {
			/* Readers like "nc host port </dev/null" half-close at once
			 * and still read: keep sending. */
			log_debug("Passthrough client %s half-closed, still sending", cl->peer);
			cl->rd_closed = true;
			ptclient_update_events(cl);
			return true;
		}
		if (errno == EAGAIN || errno == EINTR)
			return true;
		ptclient_close(cl, errno == ECONNRESET ? "connection reset" : strerror(errno));
		return false;
	}
	return true;
}

static int ptclient_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ptclient *cl = userdata;

	(void) s;
	(void) fd;
	if ((revents & EPOLLIN) && !cl->rd_closed && !ptclient_drain(cl))
		return 0;
	if (revents & (EPOLLERR | EPOLLHUP)) {
		int err = 0;
		socklen_t len = sizeof(err);

		(void) getsockopt(cl->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		ptclient_close(cl, err == ECONNRESET ? "connection reset"
				   : err             ? strerror(err)
						     : "connection closed");
		return 0;
	}
	if (revents & EPOLLOUT)
		(void) ptclient_flush(cl);
	return 0;
}

static void ptclient_new(int fd, const struct sockaddr *sa, const char *peer, void *userdata)
{
	struct passthrough *p = userdata;
	struct ptclient *cl = malloc(sizeof(*cl));
	int r;

	(void) sa;
	if (!cl) {
		close(fd);
		log_oom();
		return;
	}
	*cl = (struct ptclient){ .p = p, .fd = fd, .join = passthrough_stream_end(p), .next = p->clients };
	(void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){ PT_SNDBUF }, sizeof(int));
	passthrough_queue_init(&cl->q, p->queue_size);
	snprintf(cl->peer, sizeof(cl->peer), "%s", peer);

	r = sd_event_add_io(p->event, &cl->io, fd, EPOLLIN, ptclient_on_io, cl);
	if (r < 0) {
		close(fd);
		free(cl);
		log_warning_errno(r, "Cannot watch passthrough client %s, closing it: %m", peer);
		return;
	}
	if (p->clients)
		p->clients->prev = cl;
	p->clients = cl;
	p->n_clients++;
	p->counters.clients_accepted++;
	log_full(pt_conn_event(p, false) ? LOG_INFO : LOG_DEBUG, "Passthrough client %s connected (%u open)",
		 cl->peer, p->n_clients);
}

static int pt_on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct passthrough *p = userdata;
	const struct listener_gate g = {
		.what = "passthrough",
		.max_clients = p->max_clients,
		.allow = &p->allow,
		.n_clients = &p->n_clients,
		.refused = &p->counters.clients_refused,
		.full_log = &p->full_log,
		.denied_log = &p->deny_log,
		.note = p->refuse_note,
	};

	(void) s;
	(void) revents;
	listener_accept(fd, &g, ptclient_new, p);
	return 0;
}

/* ---- the stream: chunks out of the tap ---- */

static bool pt_wanted(const struct passthrough *p, enum passthrough_chunk_kind kind)
{
	bool clients = p->clients && (!p->valid_only || kind == PASSTHROUGH_CHUNK_ACCEPTED);

	return clients || (p->dev && tty_get_state(p->dev->tty) == TTY_STATE_OPEN);
}

static void pt_emit(struct passthrough *p, enum passthrough_chunk_kind kind, uint64_t offset,
		    const uint8_t *data, size_t len)
{
	struct passthrough_chunk *c;

	if (len == 0 || !pt_wanted(p, kind))
		return;
	c = passthrough_chunk_new(kind, offset, data, len);
	if (!c) {
		p->counters.bytes_dropped += len;
		log_oom();
		return;
	}
	/* Our own reference keeps c alive while a failing client is closed. */
	if (p->dev)
		passthrough_device_push(p, c);
	for (struct ptclient *cl = p->clients, *next; cl; cl = next) {
		next = cl->next;
		ptclient_push(cl, c);
	}
	passthrough_chunk_unref(c);
}

/* Hand out the held bytes before upto as one chunk of this kind. */
static void pt_take(struct passthrough *p, uint64_t upto, enum passthrough_chunk_kind kind)
{
	size_t k;

	if (upto <= p->pend_off)
		return;
	k = (size_t) MIN(upto - p->pend_off, (uint64_t) p->pend_len);
	pt_emit(p, kind, p->pend_off, p->pend, k);
	memmove(p->pend, p->pend + k, p->pend_len - k);
	p->pend_len -= k;
	p->pend_off += k;
}

static void pt_on_bytes(uint64_t offset, const uint8_t *buf, size_t n, enum tty_setting setting,
			void *userdata)
{
	struct passthrough *p = userdata;

	passthrough_device_follow(p, setting);
	if (!pt_active(p)) {
		p->pend_len = 0;
		p->pend_off = offset + n;
		return;
	}
	if (offset != passthrough_stream_end(p)) {
		/* Bytes were missed: what is held no longer continues. */
		p->pend_len = 0;
		p->pend_off = offset;
	}
	while (n > 0) {
		size_t k;

		if (p->pend_len == PT_PENDING_MAX)
			pt_take(p, p->pend_off + READING_TEXT_MAX, PASSTHROUGH_CHUNK_NOISE);
		k = MIN(n, PT_PENDING_MAX - p->pend_len);
		memcpy(p->pend + p->pend_len, buf, k);
		p->pend_len += k;
		buf += k;
		n -= k;
	}
}

static void pt_on_plaintext(uint64_t offset, const char *text, size_t len, void *userdata)
{
	struct passthrough *p = userdata;

	p->plain = p->decrypted ? text : NULL;
	p->plain_len = len;
	p->plain_off = offset;
}

/* Decrypted=yes: the frame's ciphertext is settled without going out, and the
 * decrypted telegram goes out in its place, for readers that cannot decrypt. */
static bool pt_send_plaintext(struct passthrough *p, uint64_t offset, size_t len)
{
	size_t k;

	if (!p->plain || p->plain_off != offset || offset < p->pend_off)
		return false;
	pt_take(p, offset, PASSTHROUGH_CHUNK_NOISE);
	k = (size_t) MIN((uint64_t) len, (uint64_t) p->pend_len);
	memmove(p->pend, p->pend + k, p->pend_len - k);
	p->pend_len -= k;
	p->pend_off += k;
	pt_emit(p, PASSTHROUGH_CHUNK_ACCEPTED, offset, (const uint8_t *) p->plain, p->plain_len);
	return true;
}

static void pt_on_frame(uint64_t offset, size_t len, bool accepted, void *userdata)
{
	struct passthrough *p = userdata;
	bool plain = accepted && pt_active(p) && pt_send_plaintext(p, offset, len);

	p->plain = NULL;
	if (!pt_active(p) || plain)
		return;
	if (offset < p->pend_off) {
		/* Its start went out as noise already (held bytes overflowed) or was
		 * never seen (the passthrough was switched on mid-frame): the rest is
		 * noise too, which keeps the raw stream byte-exact and no client
		 * takes it as a telegram start. */
		pt_take(p, offset + len, PASSTHROUGH_CHUNK_NOISE);
		return;
	}
	pt_take(p, offset, PASSTHROUGH_CHUNK_NOISE);
	pt_take(p, offset + len, accepted ? PASSTHROUGH_CHUNK_ACCEPTED : PASSTHROUGH_CHUNK_REJECTED);
}

static void pt_on_sync(uint64_t offset, void *userdata)
{
	struct passthrough *p = userdata;

	if (pt_active(p))
		pt_take(p, offset, PASSTHROUGH_CHUNK_NOISE);
}

struct meter_tap passthrough_tap(struct passthrough *p)
{
	return (struct meter_tap){
		.on_bytes = pt_on_bytes,
		.on_frame = pt_on_frame,
		.on_plaintext = pt_on_plaintext,
		.on_sync = pt_on_sync,
		.userdata = p,
	};
}

/* ---- listener ---- */

static void pt_close_listener(struct passthrough *p)
{
	p->listen_io = sd_event_source_disable_unref(p->listen_io);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	p->listen_fd = -EBADF;
	p->port = 0;
}

static int pt_listen(struct passthrough *p, int listen_fd)
{
	int r;

	if (listen_fd >= 0) {
		r = listener_adopt("passthrough", listen_fd);
		if (r < 0)
			return r;
		p->listen_fd = listen_fd;
		p->activated = true;
	} else if (!p->listen.host[0])
		return 0;
	else if ((r = listener_bind("passthrough", p->listen.host, p->listen.port, PT_BACKLOG,
				    &p->listen_fd)) < 0)
		return r;

	p->port = listener_port(p->listen_fd);
	r = sd_event_add_io(p->event, &p->listen_io, p->listen_fd, EPOLLIN, pt_on_accept, p);
	if (r >= 0)
		r = listener_set_priority(p->listen_io);
	if (r < 0) {
		pt_close_listener(p);
		return log_error_errno(r, "Cannot watch the passthrough listener: %m");
	}
	log_info("Passthrough server on port %u%s, %s, at most %u clients, %zu bytes queued per client",
		 p->port, p->activated ? " (socket activation)" : "",
		 p->valid_only ? "valid frames only" : "raw stream", p->max_clients, p->queue_size);
	return 0;
}

/* ---- object ---- */

/* Take s over: a copy of the device path, the rest by value. */
static int pt_apply(struct passthrough *p, const struct passthrough_settings *s)
{
	char *path = strdup(s->device ?: "");

	if (!path)
		return -ENOMEM;
	free(p->device_path);
	p->device_path = path;
	p->listen = s->listen;
	p->valid_only = s->valid_only;
	p->decrypted = s->decrypted;
	p->max_clients = s->max_clients;
	p->queue_size = s->queue_size;
	p->allow = s->allow;
	pt_set_summaries(p, s->summary_usec);

	for (struct ptclient *cl = p->clients; cl; cl = cl->next)
		cl->q.limit = p->queue_size;
	if (p->dev)
		p->dev->q.limit = p->queue_size;
	return 0;
}

int passthrough_new(sd_event *e, const struct passthrough_settings *s, struct passthrough **ret)
{
	struct passthrough *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->event = sd_event_ref(e);
	p->listen_fd = -EBADF;
	p->setting = TTY_SETTING_115200_8N1;
	log_summary_init(&p->drop_log, e, PT_SUMMARY_USEC, pt_on_drop_summary, p);
	log_summary_init(&p->full_log, e, PT_SUMMARY_USEC, pt_on_full_summary, p);
	log_summary_init(&p->deny_log, e, PT_SUMMARY_USEC, pt_on_deny_summary, p);
	log_summary_init(&p->conn_log, e, PT_SUMMARY_USEC, pt_on_conn_summary, p);
	p->pend = malloc(PT_PENDING_MAX);
	if (!p->pend || pt_apply(p, s) < 0) {
		passthrough_free(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

static void pt_close_clients(struct passthrough *p, const char *why)
{
	while (p->clients)
		ptclient_close(p->clients, why);
}

struct passthrough *passthrough_free(struct passthrough *p)
{
	if (!p)
		return NULL;

	if (pt_active(p))
		log_info(
		    "Passthrough stopping: %llu clients served, %llu refused, %llu telegrams and %llu bytes "
		    "sent, %llu telegrams dropped",
		    (unsigned long long) p->counters.clients_accepted,
		    (unsigned long long) p->counters.clients_refused,
		    (unsigned long long) p->counters.telegrams_sent,
		    (unsigned long long) p->counters.bytes_sent,
		    (unsigned long long) p->counters.telegrams_dropped);
	p->stopping = true;
	pt_close_clients(p, "stopping");
	pt_close_listener(p);
	p->dev = passthrough_device_free(p->dev);
	log_summary_done(&p->drop_log);
	log_summary_done(&p->full_log);
	log_summary_done(&p->deny_log);
	log_summary_done(&p->conn_log);
	sd_event_unref(p->event);
	free(p->device_path);
	free(p->pend);
	free(p);
	return NULL;
}

int passthrough_start(struct passthrough *p, int listen_fd)
{
	int r;

	r = pt_listen(p, listen_fd);
	if (r < 0)
		return r;
	return passthrough_device_open(p);
}

int passthrough_reconfigure(struct passthrough *p, const struct passthrough_settings *s)
{
	const struct listener_address *l = &s->listen;
	bool rebind = strcmp(l->host, p->listen.host) != 0 || l->port != p->listen.port;
	bool new_device = strcmp(s->device ?: "", p->device_path) != 0;
	int r = 0;

	if (pt_apply(p, s) < 0)
		return log_oom();
	if (new_device) {
		p->dev = passthrough_device_free(p->dev);
		r = passthrough_device_open(p);
		if (!p->device_path[0])
			log_info("Passthrough device off");
	}

	if (rebind && p->activated)
		log_warning(
		    "Passthrough Listen changed, but the socket comes from systemd: restart the socket "
		    "unit to apply it");
	else if (rebind) {
		pt_close_clients(p, "the server moves");
		pt_close_listener(p);
		if (!p->listen.host[0])
			log_info("Passthrough server off");
		r = pt_listen(p, -EBADF) ?: r;
	}
	return r;
}

unsigned passthrough_clients(const struct passthrough *p)
{
	return p->n_clients;
}

const struct passthrough_counters *passthrough_counters(const struct passthrough *p)
{
	return &p->counters;
}

uint16_t passthrough_port(const struct passthrough *p)
{
	return p->port;
}

int passthrough_status_json(const struct passthrough *p, json_t *o)
{
	const struct passthrough_counters *k = &p->counters;
	json_t *add = json_pack(
	    "{s:b, s:i, s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "listening", p->listen_fd >= 0,
	    "port", (int) p->port, "valid_only", p->valid_only, "clients", (int) p->n_clients,
	    "clients_accepted", (json_int_t) k->clients_accepted, "clients_refused",
	    (json_int_t) k->clients_refused, "bytes_sent", (json_int_t) k->bytes_sent, "telegrams_sent",
	    (json_int_t) k->telegrams_sent, "telegrams_dropped", (json_int_t) k->telegrams_dropped,
	    "bytes_dropped", (json_int_t) k->bytes_dropped, "bytes_ignored", (json_int_t) k->bytes_ignored,
	    "device", passthrough_device_json(p));
	int r;

	if (!add)
		return -ENOMEM;
	r = json_object_update(o, add);
	json_decref(add);
	return r < 0 ? -ENOMEM : 0;
}
