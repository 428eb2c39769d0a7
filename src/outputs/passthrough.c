/* SPDX-License-Identifier: MIT */
/*
 * The passthrough (see passthrough.h): the meter's bytes are held from the
 * tap until the framer has settled them, then cut into chunks (noise, frame)
 * that go by reference to every output: TCP clients and the P1 out tty. Each
 * output writes from its own bounded queue, without blocking, from the loop.
 *
 * Not here: serial I/O (tty.c), framing (telegram.c via the meter's tap), the
 * queue itself (passthrough_queue.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smartconnectd/net/listener.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/passthrough.h"
#include "smartconnectd/outputs/passthrough-queue.h"
#include "smartconnectd/meter/tty.h"

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

struct ptdevice {
	struct tty *tty;
	uint64_t join;
	bool synced;
	enum tty_setting setting;
	uint64_t bytes, frames, dropped;
	struct passthrough_queue q;
};

struct passthrough {
	sd_event *event;

	struct config_listen listen;
	bool valid_only;
	unsigned max_clients;
	size_t queue_size;
	struct config_allow allow;
	char device_path[CONFIG_PATH_MAX];

	int listen_fd;
	bool activated; /* listen_fd came from systemd: never rebound */
	uint16_t port;
	sd_event_source *listen_io;
	struct ptclient *clients;
	unsigned n_clients;

	struct ptdevice *dev;
	enum tty_setting setting; /* of the bytes last read */

	/* Bytes from the tap the framer has not settled yet; pend[0] is at pend_off. */
	uint8_t *pend;
	size_t pend_len;
	uint64_t pend_off;

	struct passthrough_counters counters;
	struct log_ratelimit drop_rl, full_rl, deny_rl;
	sd_event_source *drop_timer;
};

static uint64_t pt_now(const struct passthrough *p)
{
	uint64_t t = 0;

	(void) sd_event_now(p->event, CLOCK_MONOTONIC, &t);
	return t;
}

static bool pt_active(const struct passthrough *p)
{
	return p->listen_fd >= 0 || p->dev;
}

bool passthrough_allowed(const struct config_allow *a, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *addr;
	uint8_t family;

	if (a->n == 0)
		return true;
	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		addr = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
		family = AF_INET6;
		if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
			family = AF_INET;
			addr += sizeof(v4mapped);
		}
	} else
		return false;

	for (uint32_t i = 0; i < a->n; i++) {
		const struct config_cidr *c = &a->cidr[i];
		unsigned whole = c->prefix / 8, rest = c->prefix % 8;

		if (c->family != family || memcmp(c->addr, addr, whole) != 0)
			continue;
		if (rest == 0 || ((c->addr[whole] ^ addr[whole]) & (uint8_t) (0xff << (8 - rest))) == 0)
			return true;
	}
	return false;
}

/* ---- drops: counted, summarised at most once a minute ---- */

static int pt_on_drop_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void pt_arm_drop_summary(struct passthrough *p)
{
	uint64_t at = log_ratelimit_deadline(&p->drop_rl);
	int r;

	if (at == UINT64_MAX)
		return;
	if (!p->drop_timer)
		r = sd_event_add_time(p->event, &p->drop_timer, CLOCK_MONOTONIC, at, 0, pt_on_drop_timer, p);
	else if ((r = sd_event_source_set_time(p->drop_timer, at)) >= 0)
		r = sd_event_source_set_enabled(p->drop_timer, SD_EVENT_ONESHOT);
	if (r < 0)
		log_warning_errno(r, "Failed to arm the passthrough drop summary, ignoring: %m");
}

static int pt_on_drop_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct passthrough *p = userdata;
	unsigned n;

	(void) s;
	(void) usec;
	n = log_ratelimit_flush(&p->drop_rl, pt_now(p));
	if (n > 0)
		log_warning(
		    "%u telegram%s dropped for slow passthrough readers in the last minute (%llu in all)", n,
		    n == 1 ? "" : "s", (unsigned long long) p->counters.telegrams_dropped);
	pt_arm_drop_summary(p);
	return 0;
}

/* A chunk a queue did not take. who names the reader for the first log line. */
static void pt_dropped(struct passthrough *p, const struct passthrough_chunk *c, const char *who,
		       const struct passthrough_queue *q)
{
	p->counters.bytes_dropped += c->len;
	if (!passthrough_chunk_is_frame(c))
		return;
	if (log_ratelimit_event(&p->drop_rl, pt_now(p))) {
		log_warning("Passthrough reader %s is not keeping up (%zu bytes queued): dropping whole "
			    "telegrams; further drops this minute are only counted",
			    who, q->bytes);
		pt_arm_drop_summary(p);
	}
}

/* ---- clients ---- */

static void ptclient_close(struct ptclient *cl, const char *why)
{
	struct passthrough *p = cl->p;

	log_info("Passthrough client %s disconnected: %s (%llu telegrams sent, %llu dropped)", cl->peer, why,
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
		errno = -r;
		log_debug_errno(r, "Passthrough client %s: send failed: %m", cl->peer);
		ptclient_close(cl, r == -EPIPE || r == -ECONNRESET ? "connection closed" : "send failed");
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
	/* A client that came mid-telegram starts at the next telegram. */
	if (!cl->synced) {
		if (!passthrough_chunk_is_frame(c) || c->offset < cl->join)
			return;
		cl->synced = true;
	}
	if (!passthrough_queue_push(&cl->q, c)) {
		if (passthrough_chunk_is_frame(c)) {
			cl->dropped++;
			p->counters.telegrams_dropped++;
		}
		pt_dropped(p, c, cl->peer, &cl->q);
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
		ptclient_close(cl, errno == ECONNRESET ? "connection reset" : "receive failed");
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
		ptclient_close(cl, err == ECONNRESET ? "connection reset" : "connection closed");
		return 0;
	}
	if (revents & EPOLLOUT)
		(void) ptclient_flush(cl);
	return 0;
}

static uint64_t pt_stream_end(const struct passthrough *p)
{
	return p->pend_off + p->pend_len;
}

static void ptclient_new(struct passthrough *p, int fd, const char *peer)
{
	struct ptclient *cl = malloc(sizeof(*cl));
	int r;

	if (!cl) {
		close(fd);
		log_oom();
		return;
	}
	*cl = (struct ptclient){ .p = p, .fd = fd, .join = pt_stream_end(p), .next = p->clients };
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
	log_info("Passthrough client %s connected (%u open)", cl->peer, p->n_clients);
}

static void pt_refuse(struct passthrough *p, int fd, const char *peer, struct log_ratelimit *rl,
		      const char *why)
{
	p->counters.clients_refused++;
	if (log_ratelimit_event(rl, pt_now(p)))
		log_warning(
		    "Refusing passthrough client %s: %s; further refusals this minute are only counted", peer,
		    why);
	close(fd);
}

static int pt_on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct passthrough *p = userdata;

	(void) s;
	(void) revents;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[PT_PEER_MAX], why[64];
		int cfd = accept4(fd, (struct sockaddr *) &ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning_errno(errno, "Passthrough accept failed, ignoring: %m");
			return 0;
		}
		listener_peer_name((struct sockaddr *) &ss, peer, sizeof(peer));
		if (!passthrough_allowed(&p->allow, (struct sockaddr *) &ss))
			pt_refuse(p, cfd, peer, &p->deny_rl, "not in AllowFrom");
		else if (p->n_clients >= p->max_clients) {
			snprintf(why, sizeof(why), "%u clients connected (MaxClients)", p->n_clients);
			pt_refuse(p, cfd, peer, &p->full_rl, why);
		} else
			ptclient_new(p, cfd, peer);
	}
}

/* ---- the P1 out device ---- */

static ssize_t ptdevice_write(const void *buf, size_t n, void *userdata)
{
	return tty_write(userdata, buf, n);
}

static void ptdevice_flush(struct passthrough *p)
{
	struct ptdevice *d = p->dev;
	int r;

	r = passthrough_queue_flush(&d->q, ptdevice_write, d->tty, &d->frames, &d->bytes);
	/* Any other error: the tty handles the line as vanished and says so. */
	if (r == 0 || r == -EAGAIN)
		(void) tty_want_write(d->tty, r == -EAGAIN);
}

static void ptdevice_push(struct passthrough *p, struct passthrough_chunk *c)
{
	struct ptdevice *d = p->dev;
	bool was_empty = passthrough_queue_empty(&d->q);

	if (tty_get_state(d->tty) != TTY_STATE_OPEN)
		return;
	if (!d->synced) {
		if (!passthrough_chunk_is_frame(c) || c->offset < d->join)
			return;
		d->synced = true;
	}
	if (!passthrough_queue_push(&d->q, c)) {
		d->dropped += passthrough_chunk_is_frame(c);
		pt_dropped(p, c, tty_get_path(d->tty), &d->q);
		return;
	}
	if (was_empty)
		ptdevice_flush(p);
}

static void ptdevice_on_writable(void *userdata)
{
	ptdevice_flush(userdata);
}

static void ptdevice_on_state(enum tty_state state, void *userdata)
{
	struct passthrough *p = userdata;
	struct ptdevice *d = p->dev;

	(void) state;
	/* Called from inside tty_start() too, before p->dev is set. */
	if (!d)
		return;
	passthrough_queue_clear(&d->q);
	(void) tty_want_write(d->tty, false);
	/* A line that comes back starts at the next telegram. */
	d->synced = false;
	d->join = pt_stream_end(p);
}

static struct ptdevice *ptdevice_free(struct ptdevice *d)
{
	if (!d)
		return NULL;
	d->tty = tty_free(d->tty);
	passthrough_queue_clear(&d->q);
	free(d);
	return NULL;
}

static int ptdevice_open(struct passthrough *p)
{
	static const struct tty_callbacks cb = {
		.on_state = ptdevice_on_state,
		.on_writable = ptdevice_on_writable,
	};
	struct ptdevice *d;
	int r;

	if (!p->device_path[0])
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return log_oom();
	passthrough_queue_init(&d->q, p->queue_size);
	d->setting = p->setting;
	r = tty_new(p->event, p->device_path, d->setting, &cb, p, &d->tty);
	if (r < 0) {
		free(d);
		return log_oom();
	}
	r = tty_start(d->tty);
	if (r < 0) {
		ptdevice_free(d);
		return r;
	}
	d->join = pt_stream_end(p);
	p->dev = d;
	log_info("Passthrough copy of the meter's line to '%s'", p->device_path);
	return 0;
}

/* The copy runs at the serial setting the meter's bytes were read at. */
static void ptdevice_follow(struct passthrough *p, enum tty_setting s)
{
	int r;

	p->setting = s;
	if (!p->dev || p->dev->setting == s)
		return;
	p->dev->setting = s;
	r = tty_set_setting(p->dev->tty, s);
	if (r < 0)
		log_warning_errno(r, "Cannot set %s on '%s', ignoring: %m", tty_setting_to_string(s),
				  p->device_path);
	else
		log_debug("Passthrough device '%s' now at %s", p->device_path, tty_setting_to_string(s));
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
		ptdevice_push(p, c);
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

	ptdevice_follow(p, setting);
	if (!pt_active(p)) {
		p->pend_len = 0;
		p->pend_off = offset + n;
		return;
	}
	if (offset != pt_stream_end(p)) {
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

static void pt_on_frame(uint64_t offset, size_t len, bool accepted, void *userdata)
{
	struct passthrough *p = userdata;

	if (!pt_active(p))
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

static void pt_apply(struct passthrough *p, const struct config *c)
{
	p->listen = c->passthrough_listen;
	p->valid_only = c->passthrough_valid_only;
	p->max_clients = c->passthrough_max_clients;
	p->queue_size = c->passthrough_queue_size;
	p->allow = c->passthrough_allow;
	snprintf(p->device_path, sizeof(p->device_path), "%s", c->passthrough_device);

	for (struct ptclient *cl = p->clients; cl; cl = cl->next)
		cl->q.limit = p->queue_size;
	if (p->dev)
		p->dev->q.limit = p->queue_size;
}

int passthrough_new(sd_event *e, const struct config *c, struct passthrough **ret)
{
	struct passthrough *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->pend = malloc(PT_PENDING_MAX);
	if (!p->pend) {
		free(p);
		return -ENOMEM;
	}
	p->event = sd_event_ref(e);
	p->listen_fd = -EBADF;
	p->setting = TTY_SETTING_115200_8N1;
	p->drop_rl = LOG_RATELIMIT_INIT(PT_SUMMARY_USEC);
	p->full_rl = LOG_RATELIMIT_INIT(PT_SUMMARY_USEC);
	p->deny_rl = LOG_RATELIMIT_INIT(PT_SUMMARY_USEC);
	pt_apply(p, c);
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
	pt_close_clients(p, "stopping");
	pt_close_listener(p);
	p->dev = ptdevice_free(p->dev);
	p->drop_timer = sd_event_source_disable_unref(p->drop_timer);
	sd_event_unref(p->event);
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
	return ptdevice_open(p);
}

int passthrough_reconfigure(struct passthrough *p, const struct config *c)
{
	const struct config_listen *l = &c->passthrough_listen;
	bool rebind = strcmp(l->host, p->listen.host) != 0 || l->port != p->listen.port;
	bool new_device = strcmp(c->passthrough_device, p->device_path) != 0;
	int r = 0;

	pt_apply(p, c);
	if (new_device) {
		p->dev = ptdevice_free(p->dev);
		r = ptdevice_open(p);
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

static json_t *ptdevice_json(const struct passthrough *p)
{
	const struct ptdevice *d = p->dev;
	static const char *const states[_TTY_STATE_MAX] = {
		[TTY_STATE_STOPPED] = "stopped",
		[TTY_STATE_OPEN] = "open",
		[TTY_STATE_RETRYING] = "retrying",
	};

	if (!d)
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "path", p->device_path, "state",
			 states[tty_get_state(d->tty)], "setting", tty_setting_to_string(d->setting),
			 "bytes_sent", (json_int_t) d->bytes, "telegrams_sent", (json_int_t) d->frames,
			 "telegrams_dropped", (json_int_t) d->dropped);
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
	    "device", ptdevice_json(p));
	int r;

	if (!add)
		return -ENOMEM;
	r = json_object_update(o, add);
	json_decref(add);
	return r < 0 ? -ENOMEM : 0;
}
