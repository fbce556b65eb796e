/* bucket: a byte token bucket driven by the caller's clock. See bucket.h. */
#include "bucket.h"

uint64_t bucket_default_burst(uint64_t rate)
{
	uint64_t burst = rate / 4;

	return burst < BUCKET_MIN_BURST ? BUCKET_MIN_BURST : burst;
}

void bucket_init(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns)
{
	*b = (struct bucket){ .last_ns = now_ns };
	bucket_set(b, rate, burst, now_ns);
	b->tokens = b->burst;
	b->carry = 0;
}

/*
 * Adds what the time since last_ns earned. The elapsed time is split in
 * whole seconds and nanoseconds, and the rate in giga-bytes and the rest,
 * so that every product stays below 2^64: rate <= 2^50, and a bucket idle
 * for longer than it takes to fill is simply full.
 */
static void bucket_refill(struct bucket *b, uint64_t now_ns)
{
	uint64_t elapsed, secs, ns, add, part;

	if (now_ns <= b->last_ns)
		return;
	elapsed = now_ns - b->last_ns;
	b->last_ns = now_ns;
	if (b->rate == 0)
		return;
	secs = elapsed / BUCKET_NS;
	ns = elapsed % BUCKET_NS;
	if (secs > b->burst / b->rate + 1) {
		b->tokens = b->burst;
		b->carry = 0;
		return;
	}
	/* rate * ns / 1e9 with rate = hi * 1e9 + lo: hi * ns + lo * ns / 1e9 */
	part = (b->rate % BUCKET_NS) * ns + b->carry;   /* < 2^30 * 2^30 + 2^30 */
	add = b->rate * secs + (b->rate / BUCKET_NS) * ns + part / BUCKET_NS;
	b->carry = part % BUCKET_NS;
	if (add >= b->burst - b->tokens) {
		b->tokens = b->burst;
		b->carry = 0;
	} else {
		b->tokens += add;
	}
}

void bucket_set(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns)
{
	bool was_limited = b->rate != 0;

	bucket_refill(b, now_ns);
	if (now_ns > b->last_ns)
		b->last_ns = now_ns;
	b->rate = rate;
	b->burst = burst ? burst : bucket_default_burst(rate);
	if (!was_limited) {
		b->tokens = b->burst;
		b->carry = 0;
	} else if (b->tokens > b->burst) {
		b->tokens = b->burst;
	}
}

uint64_t bucket_take(struct bucket *b, uint64_t now_ns, uint64_t want)
{
	uint64_t got;

	if (b->rate == 0) {
		b->granted += want;
		return want;
	}
	bucket_refill(b, now_ns);
	got = want < b->tokens ? want : b->tokens;
	b->tokens -= got;
	b->granted += got;
	b->delayed += want - got;
	return got;
}

void bucket_return(struct bucket *b, uint64_t n)
{
	b->granted -= n < b->granted ? n : b->granted;
	if (b->rate == 0)
		return;
	b->tokens = n >= b->burst - b->tokens ? b->burst : b->tokens + n;
}

uint64_t bucket_wait_ns(struct bucket *b, uint64_t now_ns, uint64_t want)
{
	__extension__ typedef unsigned __int128 u128;
	uint64_t need;
	u128 owed;

	if (b->rate == 0)
		return 0;
	bucket_refill(b, now_ns);
	/* half a burst at most: a timer firing late (ms ticks) then loses nothing to the cap */
	need = want < b->burst / 2 ? want : b->burst / 2;
	if (need == 0)
		need = 1;
	if (b->tokens >= need)
		return 0;
	/*
	 * ceil(((need - tokens) * 1e9 - carry) / rate): the bytes missing,
	 * less the fraction of a byte already earned. Up to 2^80 before the
	 * division, hence 128 bits (GCC and Clang on every 64-bit target).
	 */
	owed = (u128)(need - b->tokens) * BUCKET_NS - b->carry;
	return (uint64_t)((owed + b->rate - 1) / b->rate);
}
