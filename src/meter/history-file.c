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
/* Version 2: 26-byte minutes (struct min_v2), days of 12-byte quarters (24-bit energies). */
#define VERSION_V2 2
#define REC_SIZES_V2 ((uint32_t) HISTORY_FILE_MIN_V2 << 16 | HISTORY_FILE_QTR_V2)
#define V2_USED (1u << 15)
#define V2_DAY 96 /* quarters per block */
#define N_MINUTE_BLOCKS (HISTORY_MINUTES / HISTORY_MINUTE_BLOCK)
#define N_QUARTER_BLOCKS (HISTORY_QUARTERS / HISTORY_QUARTER_BLOCK)

struct file_header {
	char magic[8];
	uint32_t version, bom, rec_sizes; /* minute record size << 16 | quarter record size */
	uint32_t n_minute_blocks, n_quarter_blocks, reserved;
	uint64_t checksum;
};

/* A minute of version 2: the fields one by one, valid | V2_USED. */
struct min_v2 {
	uint16_t valid, samples, e_import, e_export;
	int16_t p_mean, p_min, p_max, i_mean[3];
	uint16_t u_mean[3];
};

_Static_assert(sizeof(struct file_header) == HISTORY_FILE_HEADER, "header layout");
_Static_assert(sizeof(struct history_min) == 24, "minute record layout");
_Static_assert(sizeof(struct min_v2) == HISTORY_FILE_MIN_V2, "version 2 minute record layout");
_Static_assert(sizeof(struct history_qtr) == 11, "quarter record layout");
_Static_assert(sizeof(struct history_block) == 16, "block header layout");
_Static_assert(N_MINUTE_BLOCKS <= HISTORY_FILE_MINUTE_BLOCKS_MAX &&
		   N_QUARTER_BLOCKS <= 2 * HISTORY_FILE_QUARTER_BLOCKS_MAX &&
		   V2_DAY == 2 * HISTORY_QUARTER_BLOCK,
	       "older files hold at least a ring, a day in two blocks");

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

/* An hour of minutes in the file of this version. */
static size_t minute_block_size(uint32_t version)
{
	return version == VERSION_V2
		   ? sizeof(struct history_block) + HISTORY_MINUTE_BLOCK * sizeof(struct min_v2)
		   : HISTORY_FILE_MINUTE_BLOCK;
}

static size_t quarter_block_size(uint32_t version)
{
	return version == VERSION_V2 ? sizeof(struct history_block) + V2_DAY * HISTORY_FILE_QTR_V2
				     : HISTORY_FILE_QUARTER_BLOCK;
}

static size_t body_size(uint32_t version, uint32_t n_minute_blocks, uint32_t n_quarter_blocks)
{
	return (size_t) n_minute_blocks * minute_block_size(version) +
	       (size_t) n_quarter_blocks * quarter_block_size(version);
}

size_t history_file_size(const struct history *h)
{
	return HISTORY_FILE_HEADER + body_size(HISTORY_FILE_VERSION,
					       count_used(h->minute_blocks, N_MINUTE_BLOCKS),
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
	if (hd->version != HISTORY_FILE_VERSION && hd->version != VERSION_V2)
		return -EPROTONOSUPPORT;
	if (hd->rec_sizes != (hd->version == VERSION_V2 ? REC_SIZES_V2 : REC_SIZES))
		return -EPROTO;
	if (hd->n_minute_blocks > HISTORY_FILE_MINUTE_BLOCKS_MAX ||
	    hd->n_quarter_blocks >
		(hd->version == VERSION_V2 ? HISTORY_FILE_QUARTER_BLOCKS_MAX : N_QUARTER_BLOCKS) ||
	    hd->reserved != 0 ||
	    n != HISTORY_FILE_HEADER + body_size(hd->version, hd->n_minute_blocks, hd->n_quarter_blocks))
		return -EBADMSG;
	return 0;
}

/* A version 2 minute that history_block_ok() refused: empty but not all
 * zero, or used without its mark, a sample or with unknown field bits. */
static bool v2_malformed(const struct min_v2 *m)
{
	static const struct min_v2 empty;

	if (m->valid == 0)
		return memcmp(m, &empty, sizeof(empty)) != 0;
	return (m->valid & ~(HISTORY_HAS_MASK | V2_USED)) || !(m->valid & V2_USED) || m->samples == 0;
}

/* An hour of version 2 minutes as this version keeps them: the same values
 * (a voltage over 1 638.3 V saturates), a malformed one still refused. */
static void minutes_of_v2(struct history_min *out, const uint8_t *p)
{
	for (unsigned i = 0; i < HISTORY_MINUTE_BLOCK; i++, p += sizeof(struct min_v2)) {
		struct min_v2 m;

		memcpy(&m, p, sizeof(m));
		out[i] = (struct history_min){
			.meta = history_min_meta(m.valid, m.samples, m.u_mean),
			.e_import = m.e_import,
			.e_export = m.e_export,
			.p_mean = m.p_mean,
			.p_min = m.p_min,
			.p_max = m.p_max,
			.i_mean = { m.i_mean[0], m.i_mean[1], m.i_mean[2] },
		};
		if (v2_malformed(&m))
			out[i].meta = HISTORY_HAS_P; /* fields without a sample */
	}
}

/* A day of version 2 quarters (24-bit energies above the day's base) as two
 * half days of this version's: each half counts from its own lowest
 * register, so only more than 1 048 kWh in 12 hours leaves an energy
 * unknown. Fields, samples and power are kept: history_block_ok() judges
 * the records as before. */
static void quarters_of_v2(const struct history_block *day, const uint8_t *p, struct history_block half[2],
			   struct history_qtr out[V2_DAY])
{
	uint32_t e[V2_DAY][2], low[2][2] = { { UINT32_MAX, UINT32_MAX }, { UINT32_MAX, UINT32_MAX } };

	for (unsigned i = 0; i < V2_DAY; i++, p += HISTORY_FILE_QTR_V2) {
		memcpy(&out[i].meta, p, 2);
		memcpy(&out[i].p_mean, p + 8, 2);
		memcpy(&out[i].p_max, p + 10, 2);
		for (unsigned k = 0; k < 2; k++) {
			const uint8_t *x = p + 2 + 3 * k;

			e[i][k] = x[0] | (uint32_t) x[1] << 8 | (uint32_t) x[2] << 16;
			if (out[i].meta & (HISTORY_HAS_E_IMPORT << k))
				low[i / HISTORY_QUARTER_BLOCK][k] =
				    MIN(low[i / HISTORY_QUARTER_BLOCK][k], e[i][k]);
		}
	}
	for (unsigned j = 0; j < 2; j++) {
		half[j] = *day;
		half[j].index = (day->index - 1) * 2 + j + 1;
		/* None, or a base that would not fit: the day's base (the offsets then tell). */
		if (low[j][0] == UINT32_MAX || (uint64_t) day->e_import + low[j][0] > UINT32_MAX)
			low[j][0] = 0;
		if (low[j][1] == UINT32_MAX || (uint64_t) day->e_export + low[j][1] > UINT32_MAX)
			low[j][1] = 0;
		half[j].e_import += low[j][0];
		half[j].e_export += low[j][1];
	}
	for (unsigned i = 0; i < V2_DAY; i++) {
		const uint32_t *l = low[i / HISTORY_QUARTER_BLOCK];
		uint32_t off[2];

		for (unsigned k = 0; k < 2; k++) {
			off[k] = e[i][k] - MIN(e[i][k], l[k]);
			if (off[k] > HISTORY_QTR_E_MAX ||
			    (!(out[i].meta & (HISTORY_HAS_E_IMPORT << k)) && e[i][k])) {
				off[k] = 0;
				out[i].meta &= (uint16_t) ~(HISTORY_HAS_E_IMPORT << k);
			}
		}
		history_qtr_set_energy(&out[i], off[0], off[1]);
	}
}

/* Put block b and its records (this version's layout) into b's slot. */
static int place_block(struct history *h, enum history_step s, const struct history_block *b,
		       const void *recs)
{
	bool minute = s == HISTORY_STEP_MINUTE;
	struct history_block *blocks = minute ? h->minute_blocks : h->quarter_blocks;
	uint32_t n_blocks = minute ? N_MINUTE_BLOCKS : N_QUARTER_BLOCKS, k;
	size_t rec_bytes = minute ? HISTORY_MINUTE_BLOCK * sizeof(h->minutes[0])
				  : HISTORY_QUARTER_BLOCK * sizeof(h->quarters[0]);
	uint8_t *ring = minute ? (uint8_t *) h->minutes : (uint8_t *) h->quarters;

	if (b->index == 0)
		return -EINVAL;
	k = (b->index - 1) % n_blocks;
	if (blocks[k].index == b->index)
		return -EINVAL; /* the same block twice */
	if (blocks[k].index > b->index)
		return 0; /* a file of a longer ring: the newer hour or day of this slot kept */
	blocks[k] = *b;
	memcpy(ring + k * rec_bytes, recs, rec_bytes);
	return history_block_ok(h, s, k) ? 0 : -EINVAL;
}

/* One block of the file at p, of step s and the file's version. */
static int load_block(struct history *h, enum history_step s, uint32_t version, const uint8_t *p)
{
	struct history_block b, half[2];
	union {
		struct history_min min[HISTORY_MINUTE_BLOCK];
		struct history_qtr qtr[V2_DAY];
	} tmp;
	int r;

	memcpy(&b, p, sizeof(b));
	p += sizeof(b);
	if (version != VERSION_V2)
		return place_block(h, s, &b, p);
	if (s == HISTORY_STEP_MINUTE) {
		minutes_of_v2(tmp.min, p);
		return place_block(h, s, &b, tmp.min);
	}
	if (b.index == 0 || b.index > UINT32_MAX / 2)
		return -EINVAL;
	quarters_of_v2(&b, p, half, tmp.qtr);
	r = place_block(h, s, &half[0], tmp.qtr);
	return r < 0 ? r : place_block(h, s, &half[1], tmp.qtr + HISTORY_QUARTER_BLOCK);
}

/* Put n blocks of step s from p into their places. */
static int load_blocks(struct history *h, enum history_step s, uint32_t version, const uint8_t *p, size_t n)
{
	size_t size = s == HISTORY_STEP_MINUTE ? minute_block_size(version) : quarter_block_size(version);

	for (size_t i = 0; i < n; i++, p += size) {
		int r = load_block(h, s, version, p);

		if (r < 0)
			return r;
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
		r = load_blocks(h, HISTORY_STEP_MINUTE, hd.version, p + HISTORY_FILE_HEADER,
				hd.n_minute_blocks);
	if (r == 0)
		r = load_blocks(h, HISTORY_STEP_QUARTER, hd.version,
				p + HISTORY_FILE_HEADER + body_size(hd.version, hd.n_minute_blocks, 0),
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
