/*
 * pace: login pacing per source address, so that guessing costs the same
 * whatever the client does (many connections, dropping each attempt early).
 *
 * A source is an IPv4 address (IPv4-mapped IPv6 unmapped) or an IPv6 /64
 * (one host usually holds a whole /64, so its addresses are one source).
 * A source that has never failed, or whose last login succeeded, is not
 * held back at all: any number of its checks may run at once. Once it has
 * failed n times since its last success:
 *   - its next check does not START before PACE delay(n) has passed since
 *     the failure (min_ms doubling with each failure, at most max_ms);
 *   - at most one of its checks is in flight at a time.
 * So an attacker gets at most one guess per max_ms per source, however many
 * connections it opens and however early it drops them: a waiting login
 * that is dropped never starts its check, and a check is only ever started
 * through pace_admit(). A success resets the source.
 *
 * The table holds PACE_SOURCES sources; a new one takes the slot of the
 * least recently used source with nothing in flight (an attacker with more
 * addresses than that can make the table forget some: each forgotten
 * source starts again at one guess in flight). Pure: the caller passes the
 * time (milliseconds, any monotonic origin). Loop thread only.
 */
#ifndef MASS_PACE_H
#define MASS_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PACE_SOURCES 1024
/* How long a login waits before asking again while its source has a check in flight. */
#define PACE_POLL_MS 50u

struct pace_source {
	uint8_t key[16];
	uint8_t keylen;         /* 0: a free slot */
	unsigned fails;         /* failures since the last success */
	unsigned inflight;      /* checks admitted and not yet ended */
	unsigned unauth;        /* connections not past their login (pace_hold) */
	uint64_t next_ms;       /* no check starts before this (when fails > 0) */
	uint64_t last_ms;       /* last use, for replacement */
};

struct pace {
	uint64_t min_ms, max_ms;
	struct pace_source src[PACE_SOURCES];
};

/* The outcome of a check, for pace_end(). */
enum pace_result {
	PACE_OK,      /* the login succeeded: the source is reset */
	PACE_FAIL,    /* a wrong name or password: the delay grows */
	PACE_NONE     /* no answer (busy, cancelled, an error): nothing learnt, nothing earned */
};

/* Sets p empty, with failure delays from min_ms doubling up to max_ms. */
void pace_init(struct pace *p, uint64_t min_ms, uint64_t max_ms);

/*
 * Whether a check from sa may start at now_ms. Returns 0 when it may (it is
 * then in flight until pace_end()), else how many milliseconds to wait
 * before asking again.
 */
uint64_t pace_admit(struct pace *p, const struct sockaddr *sa, uint64_t now_ms);

/*
 * A check admitted by pace_admit() ended with result. Returns the delay the
 * source has now earned before its next check (0 unless PACE_FAIL), and
 * *fails (when not NULL) the failures since its last success.
 */
uint64_t pace_end(struct pace *p, const struct sockaddr *sa, enum pace_result result,
		  uint64_t now_ms, unsigned *fails);

/* The delay earned by the nth failure since a success (n >= 1). */
uint64_t pace_delay(const struct pace *p, unsigned n);

/*
 * Counts one more connection from sa not past its login, when its source
 * holds fewer than cap; returns false (nothing counted) when it holds cap
 * already. pace_release() undoes one.
 */
bool pace_hold(struct pace *p, const struct sockaddr *sa, unsigned cap, uint64_t now_ms);
void pace_release(struct pace *p, const struct sockaddr *sa);

/* True when a and b are the same source (IPv4 address, IPv6 /64). */
bool pace_same_source(const struct sockaddr *a, const struct sockaddr *b);

#endif
