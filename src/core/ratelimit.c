/* ratelimit: a token bucket for log lines. See ratelimit.h. */
#include "ratelimit.h"

#include <stddef.h>

bool ratelimit_take(struct ratelimit *r, uint64_t now_ms, uint64_t *suppressed)
{
	uint64_t full = (uint64_t)r->burst * 1000u;

	if (!r->started) {
		r->started = true;
		r->tokens_milli = full;
		r->last_ms = now_ms;
	}
	if (now_ms > r->last_ms) {
		uint64_t add = (now_ms - r->last_ms) * r->rate;

		r->tokens_milli = add >= full - r->tokens_milli ? full : r->tokens_milli + add;
		r->last_ms = now_ms;
	}
	if (r->tokens_milli < 1000u) {
		r->suppressed++;
		return false;
	}
	r->tokens_milli -= 1000u;
	if (suppressed != NULL)
		*suppressed = r->suppressed;
	r->suppressed = 0;
	return true;
}
