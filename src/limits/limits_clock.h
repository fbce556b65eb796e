/*
 * limits_clock: the wall clock quota periods are counted by, with a
 * documented test-only hook to move it.
 *
 * Quota periods follow UTC (period.h), so they need the wall clock, not the
 * loop's monotonic one; rates use the monotonic clock (bucket.h). The
 * usage table never reads a clock itself: its callers pass
 * limits_clock_now() in, so unit tests pass any instant and integration
 * tests move this clock.
 *
 * Test hook: MASS_TEST_CLOCK_OFFSET=SECONDS in socks5d's environment (an
 * integer, may be negative, |SECONDS| <= 10 years) shifts this clock and
 * nothing else: the period boundary can be crossed by a test without
 * sleeping a day or touching the system clock. socks5d logs a warning at
 * start when it is set. limits_clock_set_offset() moves it at run time (a
 * later MASS index may expose it behind the same warning). Not for
 * production use: nothing else in the server (logs, timeouts) follows it.
 */
#ifndef MASS_LIMITS_CLOCK_H
#define MASS_LIMITS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define LIMITS_CLOCK_ENV "MASS_TEST_CLOCK_OFFSET"
#define LIMITS_CLOCK_OFFSET_MAX (10LL * 366 * 86400)

struct limits_clock {
	int64_t offset;      /* seconds added to the system's wall clock */
};

/*
 * Reads the offset from the environment (absent: 0). Returns 1 when the
 * hook is set, 0 when not, -1 with a reason in err when the value is
 * malformed or too large (the clock is then left at offset 0).
 */
int limits_clock_from_env(struct limits_clock *c, char *err, size_t errlen);

/* Moves the clock to offset seconds from the system's. */
void limits_clock_set_offset(struct limits_clock *c, int64_t offset);

/* Unix seconds, UTC, as quota periods see them. */
int64_t limits_clock_now(const struct limits_clock *c);

#endif
