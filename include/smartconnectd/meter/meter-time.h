/* SPDX-License-Identifier: MIT */
/*
 * Meter clock to UTC. Meters send local legal time with a season letter
 * (DSMR "YYMMDDhhmmssX", X = S summer / W winter; TIC horodate "SAAMMJJhhmmss",
 * S = E été / H hiver, lower case when the meter clock is degraded). The caller
 * gives the meter zone's standard (winter) UTC offset; summer time adds one hour.
 * Where the letter is missing (DSMR 2.2/3.0 profiles, TIC mobile-peak groups) the
 * EU rule decides: summer time from the last Sunday of March 01:00 UTC to the last
 * Sunday of October 01:00 UTC; in the repeated October hour winter time is assumed.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t meter_time_days_from_civil(int year, unsigned month, unsigned day);

/* Is EU summer time in force at this UTC instant? */
bool meter_time_eu_summer(int64_t utc);

/* DSMR TST: "YYMMDDhhmmssS", "YYMMDDhhmmssW" or "YYMMDDhhmmss" (12 digits, no
 * letter). Returns 0 with *ret = UTC seconds, or -EINVAL for anything else,
 * including the "no valid time" placeholders such as 632525252525W and dates
 * that do not exist. */
int meter_time_parse_tst(const char *s, size_t n, int std_offset_min, int64_t *ret);

/* TIC horodate: 13 characters, season letter first. Returns 0 (clock good),
 * 1 (clock degraded: lower-case letter, the time is decoded but should not be
 * trusted), or -EINVAL. A space as season letter uses the EU rule. */
int meter_time_parse_horodate(const char *s, size_t n, int std_offset_min, int64_t *ret);
