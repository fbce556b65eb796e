/* limits_clock: wall clock for quota periods, with the test offset. See limits_clock.h. */
#include "limits_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "limits/units.h"

int limits_clock_from_env(struct limits_clock *c, char *err, size_t errlen)
{
	const char *s = getenv(LIMITS_CLOCK_ENV);
	uint64_t v;
	int neg;

	c->offset = 0;
	if (!s)
		return 0;
	neg = s[0] == '-';
	if (units_decimal(s + neg, LIMITS_CLOCK_OFFSET_MAX, &v, err, errlen) != 0) {
		char why[128];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s (seconds, at most 10 years either way)",
			 LIMITS_CLOCK_ENV, why);
		return -1;
	}
	c->offset = neg ? -(int64_t)v : (int64_t)v;
	return 1;
}

void limits_clock_set_offset(struct limits_clock *c, int64_t offset)
{
	c->offset = offset;
}

int64_t limits_clock_now(const struct limits_clock *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + c->offset;
}
