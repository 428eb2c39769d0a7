/* SPDX-License-Identifier: MIT */
/*
 * Meter clock to UTC (see meter-time.h). Civil-date arithmetic after Howard
 * Hinnant's days_from_civil; no libc time zone code, so it is pure and
 * independent of the host's TZ setting.
 */
#include <errno.h>

#include "smartconnectd/meter/meter-time.h"

int64_t meter_time_days_from_civil(int year, unsigned month, unsigned day)
{
	int64_t y = (int64_t) year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned) (y - era * 400);
	unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t) doe - 719468;
}

static unsigned days_in_month(int year, unsigned month)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : dim[month - 1];
}

/* UTC seconds of the last Sunday of a month at 01:00 UTC (EU switch instant). */
static int64_t last_sunday_0100(int year, unsigned month)
{
	int64_t d = meter_time_days_from_civil(year, month, days_in_month(year, month));
	/* 1970-01-01 was a Thursday: weekday 0 = Sunday is (d + 4) mod 7. */
	int64_t wd = ((d + 4) % 7 + 7) % 7;

	return (d - wd) * 86400 + 3600;
}

bool meter_time_eu_summer(int64_t utc)
{
	int64_t days = utc >= 0 ? utc / 86400 : (utc - 86399) / 86400;
	/* Year of the instant: good enough to pick the right switch dates. */
	int year = (int) (1970 + days / 365);

	while (meter_time_days_from_civil(year, 1, 1) > days)
		year--;
	while (meter_time_days_from_civil(year + 1, 1, 1) <= days)
		year++;
	return utc >= last_sunday_0100(year, 3) && utc < last_sunday_0100(year, 10);
}

static int two_digits(const char *s, unsigned *ret)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -EINVAL;
	*ret = (unsigned) (s[0] - '0') * 10 + (unsigned) (s[1] - '0');
	return 0;
}

/* 12 digits YYMMDDhhmmss to local seconds since the epoch (as if UTC). */
static int parse_12(const char *s, int64_t *ret)
{
	unsigned f[6];

	for (unsigned i = 0; i < 6; i++)
		if (two_digits(s + 2 * i, &f[i]) < 0)
			return -EINVAL;

	int year = 2000 + (int) f[0];
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > days_in_month(year, f[1]) || f[3] > 23 || f[4] > 59 ||
	    f[5] > 59)
		return -EINVAL;

	*ret = meter_time_days_from_civil(year, f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
	return 0;
}

/* Local time without a season letter: try winter time, switch to summer time
 * when the EU rule says summer was in force at that instant. */
static int64_t local_to_utc_by_rule(int64_t local, int std_offset_min)
{
	int64_t winter = local - (int64_t) std_offset_min * 60;
	int64_t summer = winter - 3600;

	/* In the repeated October hour only the summer reading is "in summer";
	 * winter time is assumed there, as it is for the skipped March hour. */
	return meter_time_eu_summer(summer) && meter_time_eu_summer(winter) ? summer : winter;
}

int meter_time_parse_tst(const char *s, size_t n, int std_offset_min, int64_t *ret)
{
	int64_t local;

	if ((n != 12 && n != 13) || parse_12(s, &local) < 0)
		return -EINVAL;

	if (n == 12) {
		*ret = local_to_utc_by_rule(local, std_offset_min);
		return 0;
	}

	switch (s[12]) {
	case 'W':
	case 'w':
		*ret = local - (int64_t) std_offset_min * 60;
		return 0;
	case 'S':
	case 's':
		*ret = local - (int64_t) std_offset_min * 60 - 3600;
		return 0;
	default:
		return -EINVAL;
	}
}

int meter_time_parse_horodate(const char *s, size_t n, int std_offset_min, int64_t *ret)
{
	int64_t local;

	if (n != 13 || parse_12(s + 1, &local) < 0)
		return -EINVAL;

	switch (s[0]) {
	case 'H':
		*ret = local - (int64_t) std_offset_min * 60;
		return 0;
	case 'E':
		*ret = local - (int64_t) std_offset_min * 60 - 3600;
		return 0;
	case 'h':
		*ret = local - (int64_t) std_offset_min * 60;
		return 1;
	case 'e':
		*ret = local - (int64_t) std_offset_min * 60 - 3600;
		return 1;
	case ' ':
		*ret = local_to_utc_by_rule(local, std_offset_min);
		return 0;
	default:
		return -EINVAL;
	}
}
