/*
 * ratelimit: a token bucket for log lines a client can provoke (failed
 * logins, denied datagrams), so a flood cannot fill the disk: up to burst
 * lines at once, then rate per second; what is held back is counted and
 * reported with the next line let through ("N more suppressed"). Pure: the
 * caller passes the time.
 */
#ifndef MASS_RATELIMIT_H
#define MASS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	unsigned burst;          /* lines at once (the bucket's size) */
	unsigned rate;           /* lines per second refilled */
	uint64_t tokens_milli;   /* tokens * 1000 */
	uint64_t last_ms;        /* last refill */
	uint64_t suppressed;     /* held back since the last line let through */
	bool started;
};

/* A bucket full at the first use. */
#define RATELIMIT_INIT(burst_, rate_) { .burst = (burst_), .rate = (rate_) }

/*
 * Whether one more line may be written at now_ms. On true, *suppressed
 * (when not NULL) gets how many were held back before it, and the count
 * restarts; on false the line is counted as held back.
 */
bool ratelimit_take(struct ratelimit *r, uint64_t now_ms, uint64_t *suppressed);

#endif
