/*
 * period: UTC day, ISO week, month and rolling windows. See period.h.
 *
 * Calendar dates use Howard Hinnant's days_from_civil / civil_from_days
 * (proleptic Gregorian, exact for any 64-bit day count we meet), so no
 * gmtime/timegm and no dependence on TZ.
 */
#include "period.h"

#include <stdio.h>
#include <string.h>

#include "units.h"

static int64_t period_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
static int64_t period_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = period_floor_div(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The year and month of a day count. */
static void period_civil_from_days(int64_t z, int64_t *y, unsigned *m)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = period_floor_div(z, 146097);
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int period_parse(const char *s, struct period *p, char *err, size_t errlen)
{
	static const char *const names[] = { "day", "week", "month" };
	char num[16];
	uint64_t days;
	size_t n;

	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*p = (struct period){ .kind = (enum period_kind)i, .days = 0 };
			return 0;
		}
	if (strncmp(s, "rolling ", 8) != 0)
		goto bad;
	s += 8;
	s += strspn(s, " ");
	n = strlen(s);
	if (n > 0 && s[n - 1] == 'd')
		n--;
	if (n == 0 || n >= sizeof(num))
		goto bad;
	memcpy(num, s, n);
	num[n] = '\0';
	if (units_decimal(num, PERIOD_ROLLING_MAX, &days, err, errlen) != 0 || days == 0) {
		snprintf(err, errlen, "rolling window \"%s\" is not 1 to %d days", s,
			 PERIOD_ROLLING_MAX);
		return -1;
	}
	*p = (struct period){ .kind = PERIOD_ROLLING, .days = (unsigned)days };
	return 0;
bad:
	snprintf(err, errlen, "\"%s\" is not a period (day, week, month or rolling N, "
		 "N days from 1 to %d)", s, PERIOD_ROLLING_MAX);
	return -1;
}

int period_format(const struct period *p, char *buf, size_t len)
{
	switch (p->kind) {
	case PERIOD_WEEK:
		return snprintf(buf, len, "week");
	case PERIOD_MONTH:
		return snprintf(buf, len, "month");
	case PERIOD_ROLLING:
		return snprintf(buf, len, "rolling %u", p->days);
	case PERIOD_DAY:
		break;
	}
	return snprintf(buf, len, "day");
}

unsigned period_slots(const struct period *p)
{
	return p->kind == PERIOD_ROLLING ? p->days : 1;
}

int64_t period_slot_start(const struct period *p, int64_t now)
{
	int64_t day = period_floor_div(now, PERIOD_DAY_SECONDS), y;
	unsigned m;

	switch (p->kind) {
	case PERIOD_WEEK:
		/* 1970-01-01 was a Thursday: Monday-based weekday is (day + 3) mod 7 */
		day -= (day + 3) - period_floor_div(day + 3, 7) * 7;
		break;
	case PERIOD_MONTH:
		period_civil_from_days(day, &y, &m);
		day = period_days_from_civil(y, m, 1);
		break;
	case PERIOD_DAY:
	case PERIOD_ROLLING:
		break;
	}
	return day * PERIOD_DAY_SECONDS;
}

int64_t period_slot_next(const struct period *p, int64_t start)
{
	int64_t y;
	unsigned m;

	switch (p->kind) {
	case PERIOD_WEEK:
		return start + 7 * PERIOD_DAY_SECONDS;
	case PERIOD_MONTH:
		period_civil_from_days(period_floor_div(start, PERIOD_DAY_SECONDS), &y, &m);
		return (m == 12 ? period_days_from_civil(y + 1, 1, 1) :
				  period_days_from_civil(y, m + 1, 1)) * PERIOD_DAY_SECONDS;
	case PERIOD_DAY:
	case PERIOD_ROLLING:
		break;
	}
	return start + PERIOD_DAY_SECONDS;
}

uint64_t period_slots_between(const struct period *p, int64_t from, int64_t to)
{
	if (to <= from)
		return 0;
	if (p->kind == PERIOD_ROLLING || p->kind == PERIOD_DAY)
		return (uint64_t)((to - from) / PERIOD_DAY_SECONDS);
	if (p->kind == PERIOD_WEEK)
		return (uint64_t)((to - from) / (7 * PERIOD_DAY_SECONDS));
	return 1;
}
