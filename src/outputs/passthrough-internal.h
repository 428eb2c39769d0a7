/* SPDX-License-Identifier: MIT */
/*
 * The passthrough's insides, shared by its server (passthrough.c) and its P1
 * out device (passthrough-device.c); nothing else includes this.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/log-summary.h"
#include "smartconnectd/meter/tty.h"
#include "smartconnectd/net/listener.h"
#include "smartconnectd/outputs/passthrough-queue.h"
#include "smartconnectd/outputs/passthrough.h"

struct ptclient;

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

	struct listener_address listen;
	bool valid_only;
	bool decrypted; /* Decrypted=yes */
	unsigned max_clients;
	size_t queue_size;
	struct listener_allow allow;
	char *device_path; /* "" when there is no device */

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
	/* Decrypted=yes: the telegram of the encrypted frame at plain_off, from
	 * the tap's on_plaintext() until its on_frame() (borrowed). */
	const char *plain;
	size_t plain_len;
	uint64_t plain_off;

	struct passthrough_counters counters;
	struct log_summary drop_log;           /* telegrams dropped for slow readers */
	struct log_summary full_log, deny_log; /* clients refused: MaxClients, AllowFrom */
	char refuse_note[64];                  /* ends a refusal's full line: when the summary comes */
	struct log_summary conn_log;           /* clients connected and disconnected */
	unsigned conn_counted[2];              /* connects, disconnects counted in conn_log's window */
	bool stopping;                         /* in passthrough_free(): no more summaries */
};

/* The offset just past the last byte the tap delivered. */
static inline uint64_t passthrough_stream_end(const struct passthrough *p)
{
	return p->pend_off + p->pend_len;
}

/* Does c go to a reader that joined the stream at join? A reader that came
 * mid-telegram starts at the first frame that begins after it joined, then
 * takes everything; *synced records that it has started. */
static inline bool passthrough_reader_takes(bool *synced, uint64_t join, const struct passthrough_chunk *c)
{
	if (*synced)
		return true;
	if (!passthrough_chunk_is_frame(c) || c->offset < join)
		return false;
	*synced = true;
	return true;
}

/* A chunk a queue did not take: counted, and the first frame of a minute
 * logged naming the reader who (passthrough.c). */
void passthrough_dropped(struct passthrough *p, const struct passthrough_chunk *c, const char *who,
			 const struct passthrough_queue *q);

/* The P1 out device (passthrough-device.c). open: nothing to do without a
 * device path; logs and returns a negative errno when the device cannot be
 * set up (a missing device is retried, not an error). */
int passthrough_device_open(struct passthrough *p);
struct ptdevice *passthrough_device_free(struct ptdevice *d); /* NULL-safe, returns NULL */
/* Queue a chunk for the device (it takes a reference). */
void passthrough_device_push(struct passthrough *p, struct passthrough_chunk *c);
/* The meter's bytes came at serial setting s: the copy runs at it too. */
void passthrough_device_follow(struct passthrough *p, enum tty_setting s);
/* {"path","state","setting","bytes_sent","telegrams_sent","telegrams_dropped"},
 * or null without a device. NULL on OOM. */
json_t *passthrough_device_json(const struct passthrough *p);
/* "stopped", "open", "retrying" */
const char *passthrough_device_state(const struct ptdevice *d);
