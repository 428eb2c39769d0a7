/* SPDX-License-Identifier: MIT */
/*
 * The history's save file (see history-file.h): header, used blocks, checksum.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/meter/history-file.h"

static const char file_magic[8] = { 'S', 'C', 'H', 'I', 'S', 'T', '\r', '\n' };
#define FILE_BOM 0x01020304u
#define REC_SIZES ((uint32_t) sizeof(struct history_min) << 16 | (uint32_t) sizeof(struct history_qtr))
#define N_MINUTE_BLOCKS (HISTORY_MINUTES / HISTORY_MINUTE_BLOCK)
#define N_QUARTER_BLOCKS (HISTORY_QUARTERS / HISTORY_QUARTER_BLOCK)

struct file_header {
	char magic[8];
	uint32_t version, bom, rec_sizes; /* minute record size << 16 | quarter record size */
	uint32_t n_minute_blocks, n_quarter_blocks, reserved;
	uint64_t checksum;
};

_Static_assert(sizeof(struct file_header) == HISTORY_FILE_HEADER, "header layout");
_Static_assert(sizeof(struct history_min) == 26, "minute record layout");
_Static_assert(sizeof(struct history_qtr) == 12, "quarter record layout");
_Static_assert(sizeof(struct history_block) == 16, "block header layout");
_Static_assert(N_MINUTE_BLOCKS <= HISTORY_FILE_MINUTE_BLOCKS_MAX &&
		   N_QUARTER_BLOCKS <= HISTORY_FILE_QUARTER_BLOCKS_MAX,
	       "older files hold at least a ring");

/* FNV-1a 64: finds a torn or bit-flipped file; not meant against forgery
 * (the state directory is the daemon's own). */
uint64_t history_file_checksum(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t x = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		x = (x ^ p[i]) * 0x100000001b3ULL;
	return x;
}

static uint32_t count_used(const struct history_block *b, size_t n)
{
	uint32_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += b[i].index != 0;
	return k;
}

static size_t body_size(uint32_t n_minute_blocks, uint32_t n_quarter_blocks)
{
	return (size_t) n_minute_blocks * HISTORY_FILE_MINUTE_BLOCK +
	       (size_t) n_quarter_blocks * HISTORY_FILE_QUARTER_BLOCK;
}

size_t history_file_size(const struct history *h)
{
	return HISTORY_FILE_HEADER + body_size(count_used(h->minute_blocks, N_MINUTE_BLOCKS),
					       count_used(h->quarter_blocks, N_QUARTER_BLOCKS));
}

/* Each used block: its header, then its records. */
static uint8_t *put_used(uint8_t *p, const struct history_block *b, size_t n, const void *recs,
			 size_t rec_bytes)
{
	for (size_t i = 0; i < n; i++)
		if (b[i].index != 0) {
			memcpy(p, &b[i], sizeof(b[i]));
			memcpy(p + sizeof(b[i]), (const uint8_t *) recs + i * rec_bytes, rec_bytes);
			p += sizeof(b[i]) + rec_bytes;
		}
	return p;
}

int64_t history_file_encode(const struct history *h, void *buf, size_t size)
{
	size_t need = history_file_size(h);
	struct file_header hd = {
		.version = HISTORY_FILE_VERSION,
		.bom = FILE_BOM,
		.rec_sizes = REC_SIZES,
		.n_minute_blocks = count_used(h->minute_blocks, N_MINUTE_BLOCKS),
		.n_quarter_blocks = count_used(h->quarter_blocks, N_QUARTER_BLOCKS),
	};
	uint8_t *p = buf;

	if (size < need)
		return -ENOBUFS;
	memcpy(hd.magic, file_magic, sizeof(file_magic));
	put_used(put_used(p + HISTORY_FILE_HEADER, h->minute_blocks, N_MINUTE_BLOCKS, h->minutes,
			  HISTORY_MINUTE_BLOCK * sizeof(h->minutes[0])),
		 h->quarter_blocks, N_QUARTER_BLOCKS, h->quarters,
		 HISTORY_QUARTER_BLOCK * sizeof(h->quarters[0]));
	hd.checksum = history_file_checksum(p + HISTORY_FILE_HEADER, need - HISTORY_FILE_HEADER);
	memcpy(p, &hd, sizeof(hd));
	return (int64_t) need;
}

static int check_header(const struct file_header *hd, size_t n)
{
	/* The version first: a file of another version is told as such. */
	if (memcmp(hd->magic, file_magic, sizeof(file_magic)) != 0 || hd->bom != FILE_BOM)
		return -EPROTO;
	if (hd->version != HISTORY_FILE_VERSION)
		return -EPROTONOSUPPORT;
	if (hd->rec_sizes != REC_SIZES)
		return -EPROTO;
	if (hd->n_minute_blocks > HISTORY_FILE_MINUTE_BLOCKS_MAX ||
	    hd->n_quarter_blocks > HISTORY_FILE_QUARTER_BLOCKS_MAX || hd->reserved != 0 ||
	    n != HISTORY_FILE_HEADER + body_size(hd->n_minute_blocks, hd->n_quarter_blocks))
		return -EBADMSG;
	return 0;
}

/* Put n blocks of step s from p into their places. */
static int load_blocks(struct history *h, enum history_step s, const uint8_t *p, size_t n)
{
	bool minute = s == HISTORY_STEP_MINUTE;
	struct history_block *blocks = minute ? h->minute_blocks : h->quarter_blocks;
	uint32_t n_blocks = minute ? N_MINUTE_BLOCKS : N_QUARTER_BLOCKS;
	size_t rec_bytes = minute ? HISTORY_MINUTE_BLOCK * sizeof(h->minutes[0])
				  : HISTORY_QUARTER_BLOCK * sizeof(h->quarters[0]);
	uint8_t *recs = minute ? (uint8_t *) h->minutes : (uint8_t *) h->quarters;

	for (size_t i = 0; i < n; i++, p += sizeof(struct history_block) + rec_bytes) {
		struct history_block b;
		uint32_t k;

		memcpy(&b, p, sizeof(b));
		if (b.index == 0)
			return -EINVAL;
		k = (b.index - 1) % n_blocks;
		if (blocks[k].index == b.index)
			return -EINVAL; /* the same block twice */
		if (blocks[k].index > b.index)
			continue; /* a file of a longer ring: the newer hour or day of this slot kept */
		blocks[k] = b;
		memcpy(recs + k * rec_bytes, p + sizeof(b), rec_bytes);
		if (!history_block_ok(h, s, k))
			return -EINVAL;
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
	if (r == 0 && history_file_checksum(p + HISTORY_FILE_HEADER, n - HISTORY_FILE_HEADER) != hd.checksum)
		r = -EBADMSG;
	if (r == 0)
		r = load_blocks(h, HISTORY_STEP_MINUTE, p + HISTORY_FILE_HEADER, hd.n_minute_blocks);
	if (r == 0)
		r = load_blocks(h, HISTORY_STEP_QUARTER,
				p + HISTORY_FILE_HEADER + body_size(hd.n_minute_blocks, 0),
				hd.n_quarter_blocks);
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
