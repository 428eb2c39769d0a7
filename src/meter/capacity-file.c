/* SPDX-License-Identifier: MIT */
/*
 * The capacity tariff's save file (see capacity-file.h): header, running
 * month, past months, checksum.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/meter/capacity-file.h"
#include "smartconnectd/meter/history-file.h"

static const char file_magic[8] = { 'S', 'C', 'C', 'A', 'P', 'A', '\r', '\n' };
#define FILE_BOM 0x01020304u
#define FLAG_MONTH 1
#define FLAG_PEAK 2
#define QUARTER 900
/* Bounds that no meter reaches and that keep every later sum far from overflow. */
#define MONTH_MIN (1970 * 12)
#define MONTH_MAX (10000 * 12)
#define PEAK_W_MAX 1000000000000LL /* 1 TW */
#define TIME_MAX 253402300800LL    /* 10000-01-01 */

struct file_header {
	char magic[8];
	uint32_t version, bom, length, n_months;
	uint64_t checksum;
};

struct file_running {
	int64_t flags, month, peak_w, peak_time, reserved;
};

_Static_assert(sizeof(struct file_header) == CAPACITY_FILE_HEADER, "header layout");
_Static_assert(sizeof(struct file_running) == CAPACITY_FILE_RUNNING, "running month layout");
_Static_assert(sizeof(struct capacity_month) == CAPACITY_FILE_MONTH, "past month layout");

size_t capacity_file_size(const struct capacity *c)
{
	return CAPACITY_FILE_HEADER + CAPACITY_FILE_RUNNING + (size_t) c->n_months * CAPACITY_FILE_MONTH;
}

int64_t capacity_file_encode(const struct capacity *c, void *buf, size_t size)
{
	size_t need = capacity_file_size(c);
	struct file_header hd = {
		.version = CAPACITY_FILE_VERSION,
		.bom = FILE_BOM,
		.length = (uint32_t) need,
		.n_months = c->n_months,
	};
	struct file_running run = { 0 };
	uint8_t *p = buf;

	if (size < need)
		return -ENOBUFS;
	if (c->has_month) {
		run.flags = FLAG_MONTH | (c->computed.has_peak ? FLAG_PEAK : 0);
		run.month = c->month;
		if (c->computed.has_peak) {
			run.peak_w = c->computed.peak_w;
			run.peak_time = c->computed.peak_time;
		}
	}
	memcpy(hd.magic, file_magic, sizeof(file_magic));
	memcpy(p + CAPACITY_FILE_HEADER, &run, sizeof(run));
	memcpy(p + CAPACITY_FILE_HEADER + CAPACITY_FILE_RUNNING, c->months,
	       c->n_months * CAPACITY_FILE_MONTH);
	hd.checksum = history_file_checksum(p + CAPACITY_FILE_HEADER, need - CAPACITY_FILE_HEADER);
	memcpy(p, &hd, sizeof(hd));
	return (int64_t) need;
}

static int check_header(const struct file_header *hd, const uint8_t *p, size_t n)
{
	/* The version first: a file of another version is told as such. */
	if (memcmp(hd->magic, file_magic, sizeof(file_magic)) != 0 || hd->bom != FILE_BOM)
		return -EPROTO;
	if (hd->version != CAPACITY_FILE_VERSION)
		return -EPROTONOSUPPORT;
	if (hd->n_months > CAPACITY_MONTHS || hd->length != n ||
	    n != CAPACITY_FILE_HEADER + CAPACITY_FILE_RUNNING + (size_t) hd->n_months * CAPACITY_FILE_MONTH ||
	    history_file_checksum(p + CAPACITY_FILE_HEADER, n - CAPACITY_FILE_HEADER) != hd->checksum)
		return -EBADMSG;
	return 0;
}

/* A computed peak: a whole quarter's end, in range. */
static bool peak_ok(int64_t w, int64_t t)
{
	return w >= -PEAK_W_MAX && w <= PEAK_W_MAX && t > 0 && t < TIME_MAX && t % QUARTER == 0;
}

static bool running_ok(const struct file_running *r, uint32_t n_months)
{
	if (r->reserved != 0 || (r->flags & ~(FLAG_MONTH | FLAG_PEAK)) != 0)
		return false;
	if (!(r->flags & FLAG_MONTH))
		return r->flags == 0 && r->month == 0 && r->peak_w == 0 && r->peak_time == 0 && n_months == 0;
	if (r->month < MONTH_MIN || r->month >= MONTH_MAX)
		return false;
	if (!(r->flags & FLAG_PEAK))
		return r->peak_w == 0 && r->peak_time == 0;
	return peak_ok(r->peak_w, r->peak_time);
}

/* Oldest first, one entry a month, all among the 13 before the running month. */
static bool months_ok(const struct capacity_month *m, uint32_t n, int64_t running)
{
	for (uint32_t i = 0; i < n; i++)
		if (m[i].month < running - CAPACITY_MONTHS || m[i].month >= running ||
		    (i > 0 && m[i].month <= m[i - 1].month) || !peak_ok(m[i].peak_w, m[i].peak_time))
			return false;
	return true;
}

int capacity_file_decode(struct capacity *c, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	struct file_header hd;
	struct file_running run;
	struct capacity_month months[CAPACITY_MONTHS] = { 0 };
	int r;

	if (n < CAPACITY_FILE_HEADER)
		return -ENODATA;
	memcpy(&hd, p, sizeof(hd));
	r = check_header(&hd, p, n);
	if (r < 0)
		return r;
	memcpy(&run, p + CAPACITY_FILE_HEADER, sizeof(run));
	memcpy(months, p + CAPACITY_FILE_HEADER + CAPACITY_FILE_RUNNING, hd.n_months * CAPACITY_FILE_MONTH);
	if (!running_ok(&run, hd.n_months) || !months_ok(months, hd.n_months, run.month))
		return -EINVAL;
	c->has_month = run.flags & FLAG_MONTH;
	c->month = run.month;
	c->computed.has_peak = run.flags & FLAG_PEAK;
	c->computed.peak_w = run.peak_w;
	c->computed.peak_time = run.peak_time;
	memcpy(c->months, months, sizeof(months));
	c->n_months = hd.n_months;
	return 0;
}

const char *capacity_file_strerror(int r)
{
	switch (r) {
	case -ENODATA:
		return "shorter than its header (empty or torn)";
	case -EPROTO:
		return "not a capacity file of this daemon";
	case -EPROTONOSUPPORT:
		return "another format version";
	case -EBADMSG:
		return "torn or corrupted (length or checksum)";
	case -EINVAL:
		return "a value out of its range";
	default:
		return "unreadable";
	}
}
