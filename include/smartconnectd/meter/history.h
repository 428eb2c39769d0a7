/* SPDX-License-Identifier: MIT */
/*
 * What the meter did: two fixed rings of records, one per minute for 7 days
 * and an hour and one per quarter-hour for 13 months, on the gateway's clock
 * (CLOCK_REALTIME minutes since the epoch, UTC), so a meter with a wrong
 * clock still gets a history. Both rings and the two records being built
 * live in one block allocated by history_new(); history_add() never
 * allocates.
 *
 * A period sits in slot (period index % ring size). The rings are cut in
 * blocks, an hour of minutes and half a day of quarters; a block's header
 * says which hour or half day its slots hold (a slot of another is a gap:
 * minutes without a telegram, daemon down or meter stale, stay gaps and are
 * never filled in) and the energy registers its records count from.
 *
 * Records are compact (issue 20: the whole daemon in 2 MB of anonymous
 * memory), history_get() returns them decoded as a struct history_rec:
 *   minute, 24 bytes: fields known, samples (saturating at 4095), import
 *     and export in Wh above the hour's base (u16: 65 kWh in an hour, 65 kW
 *     for an hour, more than a 3 x 80 A house draws), mean/min/max power,
 *     per-phase mean current in 10 mA (int16, +-327 A) and voltage in 0.1 V
 *     (14 bits: up to 1 638.3 V, saturating); fields, samples and voltages
 *     share one 64-bit word;
 *   quarter, 11 bytes: what the quarter history and the capacity tariff use,
 *     fields known and samples (saturating at 4095) in 16 bits, import and
 *     export in Wh above the half day's base (20 bits: 1 048 kWh in 12 hours,
 *     87 kW for 12 hours, beyond the power scale's 81.9 kW), mean and max
 *     power; no minimum, currents or voltages.
 * Power, int16 on a two-slope scale: 1 W steps up to +-16 384 W (the meter's
 * own resolution, where a house spends its time), 4 W steps beyond, up to
 * +-81 916 W (3 x 63 A = 43.5 kW, 3 x 80 A = 55 kW fit); beyond it saturates.
 * An energy register that does not fit its block's base (meter replaced,
 * register reset) leaves that record's energy unknown, never wrong.
 *
 * Memory: 10 140 minutes * 24 + 38 208 quarters * 11 = 663 648 bytes, plus
 * 965 block headers of 16 bytes and two accumulators: 679 456 bytes in all
 * (731 576 with 26-byte minutes and 12-byte quarters in days, 773 664 with
 * 8 days of those and 403 days of quarters, 2 811 648 with 56-byte records).
 *
 * Pure. No I/O. Never logs. Time is passed in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/reading.h"

/* 7 days and an hour: the last 7 days always complete beside the hour being
 * built. Was 8 days (files written then still load: history-file.h). */
#define HISTORY_MINUTES ((7 * 24 + 1) * 60)
/* 398 days: the longest 13 months (397 days) beside the day being built.
 * Was 13 * 31 days (files written then still load). */
#define HISTORY_QUARTERS (398 * 96)

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
	HISTORY_HAS_I1 = 1u << 3,    /* I2, I3: << 4, << 5 */
	HISTORY_HAS_U1 = 1u << 6,    /* U2, U3: << 7, << 8 */
	HISTORY_HAS_P_MIN = 1u << 9, /* HISTORY_HAS_P: mean and max; minutes have the minimum too */
	HISTORY_HAS_MASK = (1u << 10) - 1,
};

#define HISTORY_MINUTE_BLOCK 60  /* minutes per block: an hour */
#define HISTORY_QUARTER_BLOCK 48 /* quarters per block: half a day (a day until file version 2) */

/* A period as history_get() returns it. Fixed-point integers: W, mWh (whole
 * Wh: the rings keep Wh), mA (multiples of 10), 0.1 V. */
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

/* Stored minute: 24 bytes. meta 0: an empty slot; a used one has at least
 * one sample. */
struct history_min {
	uint64_t meta; /* HISTORY_HAS_* (bits 0-9), samples (10-21), u_mean[k] in 0.1 V (22 + 14 k) */
	uint16_t e_import, e_export;  /* Wh above the block's base */
	int16_t p_mean, p_min, p_max; /* history_power_encode() */
	int16_t i_mean[3];            /* 10 mA */
};

#define HISTORY_MIN_SAMPLES_MAX 4095u
#define HISTORY_MIN_U_MAX 16383u /* 0.1 V */

/* The meta word of a stored minute and back (fields beyond their bits saturate). */
uint64_t history_min_meta(uint16_t valid, uint32_t samples, const uint16_t u_mean[3]) __attribute__((pure));
uint16_t history_min_valid(const struct history_min *m) __attribute__((pure));
uint16_t history_min_samples(const struct history_min *m) __attribute__((pure));
uint16_t history_min_u(const struct history_min *m, unsigned k) __attribute__((pure));

/* Stored quarter: 11 bytes. meta 0: an empty slot. */
struct history_qtr {
	uint16_t meta; /* HISTORY_HAS_P, _E_IMPORT, _E_EXPORT, HISTORY_QTR_USED, samples << 4 */
	uint8_t e[5];  /* import and export, 20 bits each from the low end: Wh above the block's base */
	int16_t p_mean, p_max; /* history_power_encode() */
} __attribute__((packed));

#define HISTORY_QTR_USED (1u << 3)
#define HISTORY_QTR_E_MAX 0xfffffu

/* A quarter's energy offsets (k 0: import, 1: export) and both set at once (each at most HISTORY_QTR_E_MAX).
 */
uint32_t history_qtr_energy(const struct history_qtr *q, unsigned k) __attribute__((pure));
void history_qtr_set_energy(struct history_qtr *q, uint32_t e_import, uint32_t e_export);

/* An hour of minutes or half a day of quarters. */
struct history_block {
	uint32_t index;              /* hour or half day since the epoch + 1; 0: unused */
	uint32_t e_import, e_export; /* Wh: the registers its records count from */
	uint32_t base;               /* which of the two are set: HISTORY_HAS_E_IMPORT, _E_EXPORT */
};

struct history {
	struct history_acc acc[_HISTORY_STEP_MAX];
	struct history_block minute_blocks[HISTORY_MINUTES / HISTORY_MINUTE_BLOCK];
	struct history_block quarter_blocks[HISTORY_QUARTERS / HISTORY_QUARTER_BLOCK];
	struct history_min minutes[HISTORY_MINUTES];
	struct history_qtr quarters[HISTORY_QUARTERS];
};

/* Power in W to the stored int16 and back (see above): monotonic, so a
 * record's min <= mean <= max survives. */
int16_t history_power_encode(int64_t w) __attribute__((const));
int32_t history_power_decode(int16_t c) __attribute__((const));

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

/* The record in slot (0 .. ring size - 1) of step s's ring, for the file and
 * checks: false when empty or of another lap. */
bool history_slot_get(const struct history *h, enum history_step s, uint32_t slot, struct history_rec *ret);

/* A used block holds its own hour or day, known base bits, and records
 * that are empty (all zero) or decode well-formed (the file loader's check). */
bool history_block_ok(const struct history *h, enum history_step s, uint32_t block);

/* A record is well-formed: start aligned to its step and not 0, at least one
 * sample, valid bits known (a minimum only with the mean), min <= mean <=
 * max, reserved 0. */
bool history_rec_ok(const struct history_rec *r, enum history_step s);
