/*
 * period: quota periods in UTC, as pure arithmetic on Unix seconds.
 *
 * A period is a UTC calendar day, an ISO week (Monday 00:00 UTC to the next
 * Monday), a calendar month (the 1st 00:00 UTC), or a rolling window of N
 * days (1..PERIOD_ROLLING_MAX): the usage of the last N UTC days, today
 * included, so what a user used drops out day by day rather than all at
 * once.
 *
 * Usage is counted in slots. A calendar period is one slot, the period
 * itself; a rolling window is N slots of one UTC day each. The slot that
 * holds an instant is found by period_slot_start(), the slot after it by
 * period_slot_next(); the usage store rolls at that boundary. Leap seconds
 * do not exist here (Unix time). Pure; no time zone, no libc time calls.
 */
#ifndef MASS_PERIOD_H
#define MASS_PERIOD_H

#include <stddef.h>
#include <stdint.h>

#define PERIOD_ROLLING_MAX 366
#define PERIOD_DAY_SECONDS 86400

enum period_kind {
	PERIOD_DAY = 0,   /* the default of a quota without a period */
	PERIOD_WEEK,
	PERIOD_MONTH,
	PERIOD_ROLLING,
};

struct period {
	enum period_kind kind;
	unsigned days;    /* PERIOD_ROLLING: 1..PERIOD_ROLLING_MAX; else 0 */
};

/*
 * "day", "week", "month", or "rolling N" (N days, 1..366; "rolling 30d"
 * too). Returns 0, or -1 with a reason in err.
 */
int period_parse(const char *s, struct period *p, char *err, size_t errlen);

/* The text period_parse() reads back ("month", "rolling 30"). Returns what snprintf does. */
int period_format(const struct period *p, char *buf, size_t len);

/* Slots a usage counter keeps: 1 for a calendar period, N for rolling N. */
unsigned period_slots(const struct period *p);

/* The start (Unix seconds, UTC) of the slot holding the instant now. */
int64_t period_slot_start(const struct period *p, int64_t now);

/* The start of the slot after the one starting at start (a slot start). */
int64_t period_slot_next(const struct period *p, int64_t start);

/*
 * How many slots lie from the slot starting at from to the one starting at
 * to (both slot starts, from <= to): 0 when the same. For a calendar period
 * any later slot counts as at least 1 (the count is only compared with 0
 * and with period_slots()).
 */
uint64_t period_slots_between(const struct period *p, int64_t from, int64_t to);

#endif
