/* SPDX-License-Identifier: MIT */
/*
 * The history's save file (see history-file.h): header, records, checksum.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/meter/history-file.h"

static const char file_magic[8] = { 'S', 'C', 'H', 'I', 'S', 'T', '\r', '\n' };
#define FILE_BOM 0x01020304u

struct file_header {
	char magic[8];
	uint32_t version, bom, rec_size;
	uint32_t n_minutes, n_quarters, reserved;
	uint64_t checksum;
};

_Static_assert(sizeof(struct file_header) == HISTORY_FILE_HEADER, "header layout");
_Static_assert(sizeof(struct history_rec) == 56, "record layout");

/* FNV-1a 64: finds a torn or bit-flipped file; not meant against forgery
 * (the state directory is the daemon's own). */
static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		x = (x ^ p[i]) * 0x100000001b3ULL;
	return x;
}

static uint32_t count_used(const struct history_rec *r, size_t n)
{
	uint32_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += r[i].start_min != 0;
	return k;
}

size_t history_file_size(const struct history *h)
{
	size_t used = count_used(h->minutes, HISTORY_MINUTES) + count_used(h->quarters, HISTORY_QUARTERS);

	return HISTORY_FILE_HEADER + used * sizeof(struct history_rec);
}

static uint8_t *put_used(uint8_t *p, const struct history_rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].start_min != 0) {
			memcpy(p, &r[i], sizeof(r[i]));
			p += sizeof(r[i]);
		}
	return p;
}

int64_t history_file_encode(const struct history *h, void *buf, size_t size)
{
	size_t need = history_file_size(h);
	struct file_header hd = {
		.version = HISTORY_FILE_VERSION,
		.bom = FILE_BOM,
		.rec_size = sizeof(struct history_rec),
		.n_minutes = count_used(h->minutes, HISTORY_MINUTES),
		.n_quarters = count_used(h->quarters, HISTORY_QUARTERS),
	};
	uint8_t *p = buf;

	if (size < need)
		return -ENOBUFS;
	memcpy(hd.magic, file_magic, sizeof(file_magic));
	put_used(put_used(p + HISTORY_FILE_HEADER, h->minutes, HISTORY_MINUTES), h->quarters,
		 HISTORY_QUARTERS);
	hd.checksum = fnv1a(p + HISTORY_FILE_HEADER, need - HISTORY_FILE_HEADER);
	memcpy(p, &hd, sizeof(hd));
	return (int64_t) need;
}

static int check_header(const struct file_header *hd, size_t n)
{
	if (memcmp(hd->magic, file_magic, sizeof(file_magic)) != 0 || hd->bom != FILE_BOM ||
	    hd->rec_size != sizeof(struct history_rec))
		return -EPROTO;
	if (hd->version != HISTORY_FILE_VERSION)
		return -EPROTONOSUPPORT;
	if (hd->n_minutes > HISTORY_MINUTES || hd->n_quarters > HISTORY_QUARTERS || hd->reserved != 0 ||
	    n != HISTORY_FILE_HEADER + ((size_t) hd->n_minutes + hd->n_quarters) * sizeof(struct history_rec))
		return -EBADMSG;
	return 0;
}

/* Put n records of step s from p into their slots. */
static int load_records(struct history *h, enum history_step s, const uint8_t *p, size_t n)
{
	struct history_rec *ring = s == HISTORY_STEP_MINUTE ? h->minutes : h->quarters;
	uint32_t size = s == HISTORY_STEP_MINUTE ? HISTORY_MINUTES : HISTORY_QUARTERS;
	uint32_t per = history_step_seconds(s) / 60;

	for (size_t i = 0; i < n; i++) {
		struct history_rec r;

		memcpy(&r, p + i * sizeof(r), sizeof(r));
		if (!history_rec_ok(&r, s))
			return -EINVAL;
		ring[(r.start_min / per) % size] = r;
	}
	return 0;
}

int history_file_decode(struct history *h, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	struct file_header hd;
	int r;

	history_clear(h);
	if (n < HISTORY_FILE_HEADER)
		return -ENODATA;
	memcpy(&hd, p, sizeof(hd));
	r = check_header(&hd, n);
	if (r == 0 && fnv1a(p + HISTORY_FILE_HEADER, n - HISTORY_FILE_HEADER) != hd.checksum)
		r = -EBADMSG;
	if (r == 0)
		r = load_records(h, HISTORY_STEP_MINUTE, p + HISTORY_FILE_HEADER, hd.n_minutes);
	if (r == 0)
		r = load_records(h, HISTORY_STEP_QUARTER,
				 p + HISTORY_FILE_HEADER + (size_t) hd.n_minutes * sizeof(struct history_rec),
				 hd.n_quarters);
	if (r < 0)
		history_clear(h);
	return r;
}

const char *history_file_strerror(int r)
{
	switch (r) {
	case -ENODATA:
		return "shorter than its header (empty or torn)";
	case -EPROTO:
		return "not a history file of this daemon";
	case -EPROTONOSUPPORT:
		return "another format version";
	case -EBADMSG:
		return "torn or corrupted (length or checksum)";
	case -EINVAL:
		return "a malformed record";
	default:
		return "unreadable";
	}
}
