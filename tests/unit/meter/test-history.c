/* SPDX-License-Identifier: MIT */
/*
 * Tests of the history rings over synthetic telegram streams: minute and
 * quarter records (mean, min, max, registers at the end, currents and
 * voltages), the period being built, gaps, the ring wrapping after 7 days
 * and an hour, a clock stepped back, and the save file: round trip, restart
 * restore with the downtime left a gap, torn, flipped, foreign and malformed
 * files, a file of the former longer rings (8 days of minutes, 403 days of
 * quarters).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/history-file.h"
#include "smartconnectd/meter/history.h"
#include "tap.h"

#define T0 1700000000LL    /* 2023-11-14 22:13:20 UTC */
#define M0 (T0 - T0 % 900) /* a quarter boundary */

static struct reading v;

/* A telegram: power p W, import e Wh, I1 = p / 230 in mA, U1 = 230.0 V. */
static void feed(struct history *h, int64_t t, int64_t p, int64_t e_wh)
{
	reading_reset(&v);
	reading_set(&v, READING_P, p * READING_SCALE);
	reading_set(&v, READING_E_IMPORT, e_wh * 1000);
	reading_set(&v, READING_E_EXPORT, 7000);
	reading_set(&v, READING_I1, p * 1000000 / 230 * 1000 / 1000);
	reading_set(&v, READING_U1, 230 * READING_SCALE + 100000 * (t % 3));
	history_add(h, &v, t);
}

static void test_minute(void)
{
	struct history *h;
	struct history_rec r;
	bool building;

	history_new(&h);
	/* One telegram a second for 2 minutes: P = 1000 + s (s the second of the minute). */
	for (int64_t s = 0; s < 120; s++)
		feed(h, M0 + s, 1000 + s % 60, 5000 + s);
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, M0, &r, &building), 1, "first minute closed");
	TAP_EQ_INT(building, 0, "not building");
	TAP_EQ_INT(r.samples, 60, "60 telegrams");
	TAP_EQ_INT(r.p_min, 1000, "min");
	TAP_EQ_INT(r.p_max, 1059, "max");
	TAP_EQ_INT(r.p_mean, 1030, "mean of 1000..1059 (1029.5 rounded away from zero)");
	TAP_EQ_INT(r.e_import, 5059 * 1000, "import register at the end of the minute, mWh");
	TAP_EQ_INT(r.e_export, 7000, "export");
	TAP_EQ_INT(r.u_mean[0], 2301, "mean voltage in 0.1 V (230 + 0.1 * 20/60)");
	TAP_EQ_INT(r.i_mean[0], 4480, "mean current, 10 mA steps (4.4783 A)");
	TAP_EQ_INT(r.valid,
		   HISTORY_HAS_P | HISTORY_HAS_P_MIN | HISTORY_HAS_E_IMPORT | HISTORY_HAS_E_EXPORT |
		       HISTORY_HAS_I1 | HISTORY_HAS_U1,
		   "fields known");
	tap_ok(history_rec_ok(&r, HISTORY_STEP_MINUTE), "record well-formed");

	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, M0 + 60, &r, &building), 1, "second minute");
	TAP_EQ_INT(building, 1, "still being built: partial");
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, M0 + 120, &r, &building), 0, "nothing after");
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, M0 + 30, &r, &building), 0, "unaligned start");

	TAP_EQ_INT(history_get(h, HISTORY_STEP_QUARTER, M0, &r, &building), 1, "the quarter being built");
	TAP_EQ_INT(r.samples, 120, "its telegrams so far");
	history_free(h);
}

static void test_quarter_and_gap(void)
{
	struct history *h;
	struct history_rec r;
	bool building;

	history_new(&h);
	/* 10 minutes, one telegram every 10 s, then the meter is silent for 3
	 * minutes, then 20 more minutes. */
	for (int64_t t = M0; t < M0 + 600; t += 10)
		feed(h, t, 2000, 100000 + (t - M0) / 10);
	for (int64_t t = M0 + 780; t < M0 + 1980; t += 10)
		feed(h, t, 4000, 200000);
	for (int64_t m = 0; m < 33; m++) {
		int got = history_get(h, HISTORY_STEP_MINUTE, M0 + m * 60, &r, &building);

		tap_ok(got == (m < 10 || m >= 13), "minute %lld %s", (long long) m,
		       m < 10 || m >= 13 ? "present" : "a gap");
	}
	TAP_EQ_INT(history_get(h, HISTORY_STEP_QUARTER, M0, &r, &building), 1, "first quarter");
	TAP_EQ_INT(r.samples, 60 + 12, "60 telegrams before the gap, 12 after");
	TAP_EQ_INT(r.valid & (HISTORY_HAS_P_MIN | HISTORY_HAS_I1 | HISTORY_HAS_U1), 0,
		   "a quarter keeps no minimum, currents or voltages");
	TAP_EQ_INT(r.p_max, 4000, "quarter max");
	TAP_EQ_INT(r.p_mean, (60 * 2000 + 12 * 4000 + 36) / 72, "quarter mean over its telegrams");
	TAP_EQ_INT(r.e_import, 200000 * 1000, "register at the quarter's end");
	TAP_EQ_INT(history_get(h, HISTORY_STEP_QUARTER, M0 + 900, &r, &building), 1, "second quarter");
	TAP_EQ_INT(r.samples, 90, "15 minutes of telegrams");
	history_free(h);
}

static void test_wrap_and_clock(void)
{
	struct history *h;
	struct history_rec r;
	bool building;
	int64_t last = M0 + (int64_t) (HISTORY_MINUTES + 10) * 60;

	history_new(&h);
	for (int64_t t = M0; t <= last; t += 60)
		feed(h, t, 100, 1);
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, M0, &r, &building), 0, "a ring ago: overwritten");
	/* A ring slot's block is an hour: the new hour's first minute empties it. */
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, M0 + 10 * 60 + 60, &r, &building), 0,
		   "the rest of that hour went with its block");
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, M0 + 3600, &r, &building), 1,
		   "the oldest minute kept: the next hour's first");
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, last - 7 * 86400, &r, &building), 1,
		   "7 days ago kept");
	TAP_EQ_INT(history_get(h, HISTORY_STEP_QUARTER, M0, &r, &building), 1, "quarters go back 13 months");

	/* The gateway's clock steps back 5 minutes: those minutes start again. */
	feed(h, last - 300, 999, 1);
	feed(h, last - 240, 999, 1);
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, last - 300, &r, &building), 1, "minute again");
	TAP_EQ_INT(r.p_mean, 999, "replaced by the new telegram");
	TAP_EQ_INT(r.samples, 1, "only the new telegram");
	history_free(h);
}

/* Minute and quarter records of a and b are the same. */
static bool same_rings(const struct history *a, const struct history *b)
{
	return memcmp(a->minute_blocks, b->minute_blocks, sizeof(a->minute_blocks)) == 0 &&
	       memcmp(a->quarter_blocks, b->quarter_blocks, sizeof(a->quarter_blocks)) == 0 &&
	       memcmp(a->minutes, b->minutes, sizeof(a->minutes)) == 0 &&
	       memcmp(a->quarters, b->quarters, sizeof(a->quarters)) == 0;
}

static uint8_t *encode(const struct history *h, size_t *len)
{
	size_t size = history_file_size(h);
	uint8_t *buf = malloc(size);

	*len = (size_t) history_file_encode(h, buf, size);
	return buf;
}

static void test_file_roundtrip(void)
{
	struct history *h, *back;
	struct history_rec r;
	bool building;
	uint8_t *buf;
	size_t len;

	history_new(&h);
	history_new(&back);
	buf = encode(h, &len);
	TAP_EQ_INT(len, HISTORY_FILE_HEADER, "an empty history is its header");
	TAP_EQ_INT(history_file_decode(back, buf, len), 0, "and loads");
	free(buf);

	for (int64_t t = M0; t < M0 + 3600; t += 5)
		feed(h, t, 1500 + t % 7, 42 + (t - M0) / 60);
	history_flush(h);
	buf = encode(h, &len);
	TAP_EQ_INT(len, HISTORY_FILE_HEADER + HISTORY_FILE_MINUTE_BLOCK + HISTORY_FILE_QUARTER_BLOCK,
		   "an hour of minutes, half a day of quarters: one block each");
	TAP_EQ_INT(history_file_decode(back, buf, len), 0, "decoded");
	tap_ok(same_rings(h, back), "the same records after the round trip");
	free(buf);

	/* Restart: the daemon was down for 10 minutes, then telegrams again. */
	for (int64_t t = M0 + 4200; t < M0 + 4500; t += 5)
		feed(back, t, 800, 100);
	TAP_EQ_INT(history_get(back, HISTORY_STEP_MINUTE, M0 + 3540, &r, &building), 1,
		   "last minute restored");
	for (int64_t m = 60; m < 70; m++)
		tap_ok(history_get(back, HISTORY_STEP_MINUTE, M0 + m * 60, &r, &building) == 0,
		       "downtime minute %lld stays a gap", (long long) m);
	TAP_EQ_INT(history_get(back, HISTORY_STEP_MINUTE, M0 + 4200, &r, &building), 1, "new minutes follow");
	history_free(h);
	history_free(back);
}

static void test_file_refused(void)
{
	struct history *h, *back;
	struct history_rec r;
	bool building;
	uint8_t *buf;
	size_t len;

	history_new(&h);
	history_new(&back);
	for (int64_t t = M0; t < M0 + 1800; t += 10)
		feed(h, t, 300, 9);
	history_flush(h);
	buf = encode(h, &len);

	TAP_EQ_INT(history_file_decode(back, buf, 0), -ENODATA, "empty file");
	TAP_EQ_INT(history_file_decode(back, buf, 20), -ENODATA, "torn inside the header");
	TAP_EQ_INT(history_file_decode(back, buf, len - 1), -EBADMSG, "torn by one byte");
	TAP_EQ_INT(history_file_decode(back, buf, len - sizeof(struct history_min)), -EBADMSG,
		   "torn by one record");
	TAP_EQ_INT(history_get(back, HISTORY_STEP_MINUTE, M0, &r, &building), 0, "refused: empty history");

	buf[len / 2] ^= 0x10;
	TAP_EQ_INT(history_file_decode(back, buf, len), -EBADMSG, "a flipped bit: checksum");
	buf[len / 2] ^= 0x10;
	buf[0] = 'X';
	TAP_EQ_INT(history_file_decode(back, buf, len), -EPROTO, "foreign magic");
	buf[0] = 'S';
	buf[8] = 1;
	TAP_EQ_INT(history_file_decode(back, buf, len), -EPROTONOSUPPORT,
		   "version 1 (56-byte records) refused");
	buf[8] = 4;
	TAP_EQ_INT(history_file_decode(back, buf, len), -EPROTONOSUPPORT, "a later version refused");
	buf[8] = 2;
	TAP_EQ_INT(history_file_decode(back, buf, len), -EPROTO,
		   "version 2 with this version's record sizes");
	buf[8] = 3;
	buf[12] ^= 0xff;
	TAP_EQ_INT(history_file_decode(back, buf, len), -EPROTO, "other byte order");
	buf[12] ^= 0xff;
	TAP_EQ_INT(history_file_decode(back, buf, len), 0, "restored intact");
	free(buf);

	/* A record that cannot be (min above max) under a correct checksum. */
	h->minutes[(M0 / 60) % HISTORY_MINUTES].p_min = 5000;
	buf = encode(h, &len);
	TAP_EQ_INT(history_file_decode(back, buf, len), -EINVAL, "malformed record refused");
	free(buf);
	h->minutes[(M0 / 60) % HISTORY_MINUTES].p_min = history_power_encode(300);
	h->minute_blocks[(M0 / 3600) % (HISTORY_MINUTES / 60)].base = 0;
	buf = encode(h, &len);
	TAP_EQ_INT(history_file_decode(back, buf, len), -EINVAL, "malformed record refused");
	TAP_EQ_INT(history_get(back, HISTORY_STEP_MINUTE, M0 + 60, &r, &building), 0, "nothing half-loaded");
	free(buf);
	tap_ok(strlen(history_file_strerror(-EBADMSG)) > 0, "error words");
	history_free(h);
	history_free(back);
}

static void test_compact(void)
{
	static const int64_t w[] = {
		0, 1, -1, 338, 16384, 16385, -16386, 43470, 55200, 81916, 90000, -90000
	};
	static const int32_t back[] = { 0,      1,     -1,    338,   16384, 16384,
					-16388, 43472, 55200, 81916, 81916, -81916 };
	struct history *h;
	struct history_rec r;
	bool building;
	int16_t prev = INT16_MIN;

	TAP_EQ_INT(sizeof(struct history_min), 24, "a minute record: 24 bytes");
	TAP_EQ_INT(sizeof(struct history_qtr), 11, "a quarter record: 11 bytes");
	tap_ok(sizeof(struct history) < 712000, "the whole history: %zu bytes (731 576 with 26-byte minutes)",
	       sizeof(struct history));
	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		tap_ok(history_power_decode(history_power_encode(w[i])) == back[i], "power %lld W kept as %d",
		       (long long) w[i], back[i]);
	for (int64_t x = -90000; x <= 90000; x++) {
		int16_t c = history_power_encode(x);

		if (c < prev)
			break;
		prev = c;
	}
	TAP_EQ_INT(prev, INT16_MAX, "the power scale is monotonic: min <= mean <= max survives");

	/* An hour of a 3 x 80 A house: 55 kWh, still in the minute's 16 bits. */
	history_new(&h);
	for (int64_t m = 0; m < 61; m++)
		feed(h, M0 + m * 60, 55200, 1000000 + m * 920);
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, M0 + 59 * 60, &r, &building), 1,
		   "last minute of the hour");
	TAP_EQ_INT(r.e_import, (1000000 + 59 * 920) * 1000LL, "55 kWh above the hour's base, to the Wh");
	TAP_EQ_INT(r.p_mean, 55200, "55.2 kW kept (4 W steps)");
	/* The meter replaced: its register below the hour's base leaves the energy unknown. */
	feed(h, M0 + 3600 + 60, 100, 5);
	feed(h, M0 + 3600 + 120, 100, 5);
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, M0 + 3600 + 60, &r, &building), 1, "after the swap");
	TAP_EQ_INT(r.valid & HISTORY_HAS_E_IMPORT, 0, "a register below the base: energy unknown, not wrong");
	TAP_EQ_INT(history_get(h, HISTORY_STEP_QUARTER, M0 + 3600, &r, &building), 1, "the quarter, closed");
	/* Half a day at 81 kW (the power scale's end): 952 kWh above the half
	 * day's base, still in the quarter's 20 bits. */
	for (int64_t q = 0, h0 = M0 - M0 % 43200 + 43200; q <= 48; q++)
		feed(h, h0 + q * 900, 81000, 2000000 + q * 20250);
	TAP_EQ_INT(history_get(h, HISTORY_STEP_QUARTER, M0 - M0 % 43200 + 43200 + 47 * 900, &r, &building), 1,
		   "the half day's last quarter");
	tap_ok((r.valid & HISTORY_HAS_E_IMPORT) && r.e_import == (2000000 + 47 * 20250) * 1000LL,
	       "81 kW for 12 hours: the quarter's register kept to the Wh (%lld)", (long long) r.e_import);
	history_free(h);
}

/* A minute as version 2 of the file keeps it. */
struct min_v2 {
	uint16_t valid, samples, e_import, e_export;
	int16_t p_mean, p_min, p_max, i_mean[3];
	uint16_t u_mean[3];
};

static struct min_v2 min_v2_of(const struct history_min *m)
{
	struct min_v2 o = {
		.valid = history_min_valid(m) | 1u << 15,
		.samples = history_min_samples(m),
		.e_import = m->e_import,
		.e_export = m->e_export,
		.p_mean = m->p_mean,
		.p_min = m->p_min,
		.p_max = m->p_max,
	};

	for (unsigned k = 0; k < 3; k++) {
		o.i_mean[k] = m->i_mean[k];
		o.u_mean[k] = history_min_u(m, k);
	}
	return o;
}

static void set_minute_power(void *rec, int32_t w)
{
	struct min_v2 *m = rec;

	m->p_mean = m->p_min = m->p_max = history_power_encode(w);
}

/* A quarter as version 2 of the file keeps it: 24-bit energies above the day's base. */
struct qtr_v2 {
	uint16_t meta;
	uint8_t e_import[3], e_export[3];
	int16_t p_mean, p_max;
};

static struct qtr_v2 qtr_v2_of(const struct history_qtr *q)
{
	struct qtr_v2 o = { .meta = q->meta, .p_mean = q->p_mean, .p_max = q->p_max };

	for (unsigned i = 0; i < 3; i++) {
		o.e_import[i] = (uint8_t) (history_qtr_energy(q, 0) >> (8 * i));
		o.e_export[i] = (uint8_t) (history_qtr_energy(q, 1) >> (8 * i));
	}
	return o;
}

static void set_quarter_power(void *rec, int32_t w)
{
	struct qtr_v2 *q = rec;

	q->p_mean = q->p_max = history_power_encode(w);
}

/* n blocks of a former ring in slot order (block % n), block first + i with
 * power 100 + i in each of its per_block copies of rec. */
static uint8_t *put_ring(uint8_t *p, struct history_block *b, void *rec, size_t rec_size, unsigned per_block,
			 uint32_t n, uint32_t first, void (*set)(void *rec, int32_t w))
{
	for (uint32_t slot = 0; slot < n; slot++) {
		uint32_t i = (slot + n - first % n) % n;

		b->index = first + i + 1;
		set(rec, (int32_t) (100 + i));
		memcpy(p, b, sizeof(*b));
		p += sizeof(*b);
		for (unsigned k = 0; k < per_block; k++, p += rec_size)
			memcpy(p, rec, rec_size);
	}
	return p;
}

/* A file as the former rings wrote it: 192 hours of minutes (8 days) and
 * 403 days of quarters (13 * 31) in slot order, hour or day i's power
 * 100 + i W. */
static uint8_t *file_of_longer_rings(uint32_t hour0, uint32_t day0, size_t *len)
{
	struct history *h;
	struct min_v2 m;
	struct qtr_v2 q;
	struct history_block b, bq;
	uint32_t head[8] = { 2, 0x01020304u, 26u << 16 | 12, 192, 403, 0 };
	uint64_t sum;
	uint8_t *buf, *p;

	history_new(&h);
	for (int64_t t = M0; t <= M0 + 900; t += 60)
		feed(h, t, 100, 9);
	m = min_v2_of(&h->minutes[(M0 / 60) % HISTORY_MINUTES]);
	b = h->minute_blocks[(M0 / 3600) % (HISTORY_MINUTES / 60)];
	q = qtr_v2_of(&h->quarters[(M0 / 900) % HISTORY_QUARTERS]);
	bq = h->quarter_blocks[(M0 / 900 / HISTORY_QUARTER_BLOCK) %
			       (HISTORY_QUARTERS / HISTORY_QUARTER_BLOCK)];
	history_free(h);
	*len = HISTORY_FILE_HEADER + 192 * (sizeof(b) + HISTORY_MINUTE_BLOCK * sizeof(m)) +
	       403 * (sizeof(bq) + 96 * sizeof(q));
	buf = calloc(1, *len);
	p = buf + HISTORY_FILE_HEADER;
	p = put_ring(p, &b, &m, sizeof(m), HISTORY_MINUTE_BLOCK, 192, hour0, set_minute_power);
	put_ring(p, &bq, &q, sizeof(q), 96, 403, day0, set_quarter_power);
	sum = history_file_checksum(buf + HISTORY_FILE_HEADER, *len - HISTORY_FILE_HEADER);
	memcpy(buf, "SCHIST\r\n", 8);
	memcpy(buf + 8, head, 24);
	memcpy(buf + 32, &sum, sizeof(sum));
	return buf;
}

static void test_file_of_longer_rings(void)
{
	uint32_t hour0 = (uint32_t) (M0 / 3600), day0 = (uint32_t) (M0 / 86400);
	struct history *h;
	struct history_rec r;
	bool building;
	uint8_t *buf;
	size_t len;

	const struct {
		enum history_step s;
		int64_t start;
		int32_t p; /* 0: a gap */
		const char *what;
	} want[] = {
		{ HISTORY_STEP_MINUTE, (hour0 + 191) * 3600LL + 59 * 60, 100 + 191,
		  "the newest minute kept" },
		{ HISTORY_STEP_MINUTE, (hour0 + 191 - 168) * 3600LL, 100 + 191 - 168,
		  "7 days before the newest hour kept" },
		{ HISTORY_STEP_MINUTE, (hour0 + 22) * 3600LL, 0,
		  "the hour before: dropped for the newer of its slot" },
		{ HISTORY_STEP_MINUTE, hour0 * 3600LL, 0, "the oldest hour dropped" },
		{ HISTORY_STEP_QUARTER, (day0 + 402) * 86400LL + 95 * 900, 100 + 402,
		  "the newest quarter kept" },
		{ HISTORY_STEP_QUARTER, (day0 + 402 - 397) * 86400LL, 100 + 402 - 397,
		  "397 days (the longest 13 months) before the newest day kept" },
		{ HISTORY_STEP_QUARTER, (day0 + 4) * 86400LL, 0,
		  "the day before: dropped for the newer of its slot" },
	};

	history_new(&h);
	buf = file_of_longer_rings(hour0, day0, &len);
	TAP_EQ_INT(history_file_decode(h, buf, len), 0, "a file of the 8-day and 403-day rings loads");
	free(buf);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		int found = history_get(h, want[i].s, want[i].start, &r, &building);

		tap_ok(want[i].p ? found == 1 && r.p_mean == want[i].p : found == 0, "%s", want[i].what);
	}
	/* The version 2 minute's other values, as feed() made them. */
	TAP_EQ_INT(history_get(h, HISTORY_STEP_MINUTE, (hour0 + 191) * 3600LL, &r, &building), 1,
		   "a version 2 minute");
	tap_ok(r.samples == 1 && r.u_mean[0] == 2300 + M0 % 3 && r.i_mean[0] == 440 && r.e_import == 9000 &&
		   r.e_export == 7000 &&
		   r.valid == (HISTORY_HAS_P | HISTORY_HAS_P_MIN | HISTORY_HAS_E_IMPORT |
			       HISTORY_HAS_E_EXPORT | HISTORY_HAS_I1 | HISTORY_HAS_U1),
	       "its samples, voltage, current, registers and fields kept (%u %u %d %lld %lld %#x)", r.samples,
	       r.u_mean[0], r.i_mean[0], (long long) r.e_import, (long long) r.e_export, r.valid);
	buf = encode(h, &len);
	TAP_EQ_INT(len,
		   HISTORY_FILE_HEADER + (HISTORY_MINUTES / 60) * HISTORY_FILE_MINUTE_BLOCK +
		       (HISTORY_QUARTERS / HISTORY_QUARTER_BLOCK) * HISTORY_FILE_QUARTER_BLOCK,
		   "saved again: 7 days and an hour of minutes, 398 days of quarters");
	free(buf);
	history_free(h);
}

int main(void)
{
	test_compact();
	test_minute();
	test_quarter_and_gap();
	test_wrap_and_clock();
	test_file_roundtrip();
	test_file_refused();
	test_file_of_longer_rings();
	return tap_done();
}
