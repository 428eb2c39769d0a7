/* SPDX-License-Identifier: MIT */
/*
 * What the meter did: two fixed rings of records, one per minute for 8 days
 * and one per quarter-hour for 13 months, on the gateway's clock
 * (CLOCK_REALTIME minutes since the epoch, UTC), so a meter with a wrong
 * clock still gets a history. Both rings and the two records being built
 * live in one block allocated by history_new(); history_add() never
 * allocates.
 *
 * A record sits in slot (period index % ring size) and carries its own
 * start, so a slot whose start differs from the asked period is a gap:
 * minutes without a telegram (daemon down, meter stale) stay gaps and are
 * never filled in.
 *
 * Memory: HISTORY_MINUTES + HISTORY_QUARTERS records of 56 bytes,
 * 50 208 * 56 = 2 811 648 bytes (2.7 MiB), plus two accumulators.
 *
 * Pure. No I/O. Never logs. Time is passed in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/reading.h"

#define HISTORY_MINUTES (8 * 1440)      /* 8 days: the last 7 days always complete */
#define HISTORY_QUARTERS (13 * 31 * 96) /* 13 months of 31 days */

enum history_step {
	HISTORY_STEP_MINUTE,  /* 60 s */
	HISTORY_STEP_QUARTER, /* 900 s */
	_HISTORY_STEP_MAX,
};

/* Which fields of a record are known. */
enum {
	HISTORY_HAS_P = 1u << 0,
	HISTORY_HAS_E_IMPORT = 1u << 1,
	HISTORY_HAS_E_EXPORT = 1u << 2,
	HISTORY_HAS_I1 = 1u << 3, /* I2, I3: << 4, << 5 */
	HISTORY_HAS_U1 = 1u << 6, /* U2, U3: << 7, << 8 */
	HISTORY_HAS_MASK = (1u << 9) - 1,
};

/* One period. Fixed-point integers: W, mWh (the reading's µkWh), mA, 0.1 V. */
struct history_rec {
	int64_t e_import, e_export; /* register at the end of the period (last telegram in it) */
	uint32_t start_min;         /* minutes since the epoch, UTC; 0 = empty slot */
	uint16_t samples;           /* telegrams in the period */
	uint16_t valid;             /* HISTORY_HAS_* */
	int32_t p_mean, p_min, p_max;
	int32_t i_mean[3];
	uint16_t u_mean[3];
	uint16_t reserved; /* 0 */
};

/* The period being built: sums, never stored in the rings. */
struct history_acc {
	uint32_t start_min; /* 0: nothing yet */
	uint32_t samples;
	int64_t p_sum, i_sum[3], u_sum[3];
	uint32_t n_p, n_i[3], n_u[3];
	int32_t p_min, p_max;
	int64_t e_import, e_export;
	uint16_t valid;
};

struct history {
	struct history_acc acc[_HISTORY_STEP_MAX];
	struct history_rec minutes[HISTORY_MINUTES];
	struct history_rec quarters[HISTORY_QUARTERS];
};

/* Seconds per period of a step. */
unsigned history_step_seconds(enum history_step s) __attribute__((const));

/* -ENOMEM or 0. Owned by the caller. */
int history_new(struct history **ret);
struct history *history_free(struct history *h); /* NULL-safe, returns NULL */
DEFINE_FREEP(struct history, history_free)

/* Forget everything. */
void history_clear(struct history *h);

/* One telegram received at now_sec (gateway clock, UTC seconds). A telegram
 * in a later period than the one being built closes that one into its ring.
 * A clock stepped back starts the earlier period again over what was there. */
void history_add(struct history *h, const struct reading *v, int64_t now_sec);

/* Close both periods being built into their rings (clean shutdown). */
void history_flush(struct history *h);

/* The record of the period starting at start_sec (a multiple of the step),
 * the period being built included. Returns 1 with *ret filled, 0 for a gap.
 * *ret_partial tells whether it is the period being built (not closed yet). */
int history_get(const struct history *h, enum history_step s, int64_t start_sec, struct history_rec *ret,
		bool *ret_partial);

/* A record is well-formed: start aligned to its step and not 0, at least one
 * sample, valid bits known, min <= mean <= max, reserved 0. */
bool history_rec_ok(const struct history_rec *r, enum history_step s);
