/*
 * bucket: a token bucket of bytes, one per user per direction, shared by all
 * of that user's tunnels and datagrams. Pure: the caller passes a monotonic
 * time in nanoseconds (the loop's clock, or a test's).
 *
 * Tokens are bytes. The bucket refills at `rate` bytes per second, by the
 * time elapsed since the last call, exactly: the fraction of a byte not yet
 * earned is carried over (in byte-nanoseconds), so no rounding accumulates
 * however often it is asked, and a tunnel that asks every millisecond gets
 * what one asking every second gets. It holds at most `burst` bytes (at
 * least 1), and starts full. A consumer takes what it may move now with
 * bucket_take(), gives back what it took but did not move with
 * bucket_return(), and when it got nothing arms a timer for
 * bucket_wait_ns(). Over any interval T from a full bucket a consumer gets
 * at most burst + rate * T bytes, and a consumer always asking gets at
 * least rate * T - (bytes it took but had to return).
 *
 * rate 0 means unlimited: take grants everything asked and wait is 0.
 * bucket_set() changes rate and burst at once (a MASS change or a reload):
 * what was earned at the old rate up to now is kept (capped by the new
 * burst), and the new rate counts from now.
 *
 * Limits: rate and burst at most UNITS_MAX (2^50), so every product here
 * stays in 64 bits. Times must not go backwards (a smaller now_ns is
 * treated as no time elapsed).
 */
#ifndef MASS_BUCKET_H
#define MASS_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The burst a rate gets when none is configured: a quarter of a second of
 * traffic, at least BUCKET_MIN_BURST, so a waiting tunnel wakes for a
 * chunk worth its system calls (a limited relay's CPU per byte falls with
 * the chunk: bench/README.md) and the surplus over 20 s is 1.25%.
 */
#define BUCKET_MIN_BURST (16 * 1024)
#define BUCKET_NS 1000000000ULL

struct bucket {
	uint64_t rate;       /* bytes per second; 0: unlimited */
	uint64_t burst;      /* capacity in bytes, >= 1 */
	uint64_t tokens;     /* bytes that may move now, <= burst */
	uint64_t carry;      /* fraction earned: byte-nanoseconds, < BUCKET_NS */
	uint64_t last_ns;    /* the time tokens and carry were computed for */
	uint64_t granted;    /* bytes granted and not returned, ever (counters) */
	uint64_t delayed;    /* bytes asked for and refused, ever (counters) */
};

/* The default burst of a rate (see BUCKET_MIN_BURST). */
uint64_t bucket_default_burst(uint64_t rate);

/* A full bucket of rate (0: unlimited) and burst (0: the default) at now_ns. */
void bucket_init(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns);

/*
 * Changes rate and burst (0: the default) from now_ns on; tokens earned so
 * far are kept up to the new burst. A bucket going from unlimited to
 * limited starts full.
 */
void bucket_set(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns);

/* Grants up to want bytes now (0 when empty) and takes them from the bucket. */
uint64_t bucket_take(struct bucket *b, uint64_t now_ns, uint64_t want);

/* Gives back n bytes granted but not moved (capped at burst). */
void bucket_return(struct bucket *b, uint64_t n);

/*
 * Nanoseconds until min(want, burst / 2) bytes (at least 1) can be taken: 0
 * when they can now (or the bucket is unlimited). Waiting for a chunk
 * rather than one byte keeps a throttled tunnel from waking for scraps;
 * waiting for no more than half the burst leaves room for what a timer
 * that fires late (the loop counts milliseconds) earns meanwhile, so the
 * cap at burst throws nothing away.
 */
uint64_t bucket_wait_ns(struct bucket *b, uint64_t now_ns, uint64_t want);

/* True when the bucket limits anything. */
static inline bool bucket_limited(const struct bucket *b)
{
	return b->rate != 0;
}

#endif
