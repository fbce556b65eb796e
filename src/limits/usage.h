/*
 * usage: what each limited user is using now, for the limits of its class:
 * live sessions (per user and per client address), the two token buckets
 * shared by all of the user's tunnels, the bytes of the current quota
 * period, and the live rate. One table per process, owned by the loop
 * (nothing here is thread-safe), keyed by user name.
 *
 * Only users whose class limits something have an entry: usage_get()
 * returns NULL for the others, and a NULL entry is the unlimited path, as
 * fast as before limits existed. Unauthenticated clients are the user
 * named "" (empty) in the default class.
 *
 * Nothing here reads a clock: callers pass the loop's monotonic time in
 * nanoseconds (now_ns, for the buckets and the live rate) and
 * limits_clock_now() (now_s, Unix seconds for the quota period). Periods
 * roll lazily on each call that passes now_s and for every entry in
 * usage_tick(), which the owner runs once a second (it also computes the
 * live rates): a period boundary is crossed without a restart, within a
 * second.
 *
 * Classes are borrowed: an entry points into the caller's class table. When
 * the table is replaced (reload) or a user moves to another class, call
 * usage_set_class() (or usage_reclass() for all) before the old table is
 * freed: new rates apply to the user's buckets at once, so its live
 * tunnels move at the new rate from their next take. A quota period that
 * changes kind restarts the count at 0 (usage is not convertible between
 * periods); the same period keeps it.
 *
 * Entries are freed by usage_prune() only, when nothing refers to them:
 * no session open, no class limit, nothing used in the period. Sessions
 * hold a struct usage_ticket between usage_session_open() and
 * usage_session_close(), so an entry's class may change meanwhile and the
 * counts still balance.
 */
#ifndef MASS_USAGE_H
#define MASS_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "limits/bucket.h"
#include "limits/limits_class.h"
#include "limits/period.h"

struct usage_entry {
	LIST_ENTRY(usage_entry) chain;     /* its hash bucket */
	char *name;                        /* NUL-terminated copy */
	size_t name_len;
	const struct limits_class *cls;    /* NULL: dormant (restored, or class now unlimited) */
	struct bucket bucket[2];           /* [LIMITS_UP], [LIMITS_DOWN] */
	unsigned sessions;                 /* open now */
	/* quota: slots of the period, newest first (period.h) */
	struct period period;
	int64_t slot_start;                /* start of slots[0] */
	unsigned nslots;
	uint64_t *slots;                   /* nslots counters; &slot1 when nslots == 1 */
	uint64_t slot1;
	uint64_t used;                     /* sum of slots: bytes in the period */
	bool exhausted;                    /* used >= the class's quota */
	bool throttled;                    /* buckets at the class's throttle_rate */
	/* live rate, per direction, over the last usage_tick() interval */
	uint64_t window_bytes[2];
	uint64_t live_rate[2];             /* bytes/s */
	/* counters (the metrics plugin's) */
	uint64_t refused;                  /* sessions refused by a limit */
	/* fleet sharing (usage_drain): bytes counted here since the last drain,
	 * by the slot they were counted in (the one before a roll kept apart) */
	uint64_t undrained, undrained_old;
	int64_t undrained_start, undrained_old_start;
};

/* A session's hold on the counts it raised; zero-initialised: no hold. */
struct usage_ticket {
	struct usage_entry *entry;
	struct usage_addr *addr;
};

struct usage_table;

/* What refused a session: the limit to name in the access log. */
enum usage_verdict {
	USAGE_OK = 0,
	USAGE_MAX_SESSIONS,                /* the user's max_sessions */
	USAGE_MAX_PER_ADDRESS,             /* the class's max_sessions_per_address */
	USAGE_QUOTA,                       /* the quota is used up (refuse or close) */
};

/* The key the verdict's limit has in mass.ini ("max_sessions", "quota"), "" for OK. */
const char *usage_verdict_name(enum usage_verdict v);

/* An empty table. NULL when out of memory. */
struct usage_table *usage_create(void);

/* Frees the table and every entry; tickets still held become invalid. */
void usage_destroy(struct usage_table *t);

/* The entry of a user, or NULL. */
struct usage_entry *usage_find(struct usage_table *t, const char *name, size_t len);

/*
 * The entry of a user of class cls, created when the class limits
 * something, and put under cls (usage_set_class) when it was under another.
 * Returns NULL when the class limits nothing (the unlimited path; an entry
 * the user had goes dormant) or when memory ran out (errno ENOMEM; the
 * caller then serves the user unlimited or refuses, its choice).
 */
struct usage_entry *usage_get(struct usage_table *t, const char *name, size_t len,
			      const struct limits_class *cls, uint64_t now_ns, int64_t now_s);

/*
 * Puts e under cls (NULL or unlimited: dormant): bucket rates, throttle
 * and quota state follow at once. Returns 0, -1 on ENOMEM (a rolling window
 * needing more slots; e then keeps its old period and count).
 */
int usage_set_class(struct usage_table *t, struct usage_entry *e,
		    const struct limits_class *cls, uint64_t now_ns, int64_t now_s);

/*
 * Calls lookup for every entry and puts it under the class returned (the
 * user's class in the new table, NULL when the user is gone). Returns the
 * number of entries that could not be reshaped (ENOMEM), 0 normally.
 */
size_t usage_reclass(struct usage_table *t,
		     const struct limits_class *(*lookup)(void *arg, const char *name,
							  size_t len),
		     void *arg, uint64_t now_ns, int64_t now_s);

/*
 * A new session of e's user from the client address addr (16 octets,
 * IPv4 as v4-mapped IPv6). Checks the quota, the user's max_sessions and
 * the class's max_sessions_per_address, in that order; when all allow,
 * counts the session in both and fills *ticket. A refusal is counted in
 * e->refused. Returns USAGE_OK, or the limit that refused (nothing held).
 * With throttle as the quota action a used-up quota does not refuse.
 * Addresses are counted only for a class with max_sessions_per_address;
 * when that count cannot be allocated the session is let in uncounted
 * there.
 */
enum usage_verdict usage_session_open(struct usage_table *t, struct usage_entry *e,
				      const uint8_t addr[16], int64_t now_s,
				      struct usage_ticket *ticket);

/* Ends what usage_session_open() counted; the ticket is zeroed. A zero ticket is a no-op. */
void usage_session_close(struct usage_table *t, struct usage_ticket *ticket);

/* Sessions open from addr under class name cls_name (0 when none). */
unsigned usage_address_sessions(const struct usage_table *t, const char *cls_name,
				const uint8_t addr[16]);

/*
 * Counts bytes moved in direction dir (LIMITS_UP or LIMITS_DOWN) against
 * the quota and the live rate. Returns true when this crossed the quota
 * (once per period): the caller then closes the user's live tunnels for
 * quota_action = close (the buckets are already throttled for throttle).
 */
bool usage_add(struct usage_table *t, struct usage_entry *e, int dir, uint64_t bytes,
	       uint64_t now_ns, int64_t now_s);

/*
 * Bytes e may still move in this period before its quota is used up:
 * UINT64_MAX without a quota or when throttled (the relay then limits
 * only by the bucket), 0 when used up. The relay moves at most this much
 * in one chunk, so a transfer stops within a chunk of the quota.
 */
uint64_t usage_quota_left(struct usage_table *t, struct usage_entry *e, int64_t now_s);

/*
 * Fleet sharing: calls fn with the bytes counted in e since the last drain
 * (per slot start: the slot before a roll first, if any) and forgets them.
 * Returns the number of calls made (0..2).
 */
size_t usage_drain(struct usage_entry *e,
		   void (*fn)(void *arg, const struct usage_entry *e, int64_t slot_start,
			      uint64_t bytes), void *arg);

/*
 * Fleet sharing: fleet_used is every instance's drained total for e's slot
 * starting at slot_start; e's current slot becomes that plus what it
 * counted since its last drain (quota state applied at once). Returns 0,
 * -1 when slot_start is not e's current slot (nothing changed).
 */
int usage_fleet_set(struct usage_table *t, struct usage_entry *e, int64_t slot_start,
		    uint64_t fleet_used, uint64_t now_ns, int64_t now_s);

/* Forgets e's usage in the current period (MASS reset): quota, throttle lifted. */
void usage_reset(struct usage_table *t, struct usage_entry *e, uint64_t now_ns, int64_t now_s);

/*
 * The once-a-second walk: rolls every entry's period to now_s (lifting
 * throttles and exhaustion at a boundary) and computes the live rates over
 * the time since the last tick. Returns the number of entries whose quota
 * state was lifted by a roll.
 */
size_t usage_tick(struct usage_table *t, uint64_t now_ns, int64_t now_s);

/*
 * Restores a record of the quota store: usage of name in a period, slots
 * newest first with slots[0] starting at slot_start. Merged into an
 * existing entry of the same period (added), else the entry is created
 * dormant until usage_get() claims it. Counts of slots already past are
 * dropped (a record from before the period). Returns 0, -1 on ENOMEM or a
 * record whose slot count does not fit its period (EINVAL).
 */
int usage_restore(struct usage_table *t, const char *name, size_t len,
		  const struct period *period, int64_t slot_start, const uint64_t *slots,
		  unsigned nslots, int64_t now_s);

/* Calls fn for every entry, in no particular order; fn must not add or free entries. */
void usage_each(struct usage_table *t, void (*fn)(void *arg, struct usage_entry *e),
		void *arg);

/* Frees the entries nothing refers to (see above). Returns how many. */
size_t usage_prune(struct usage_table *t);

/* Entries in the table. */
size_t usage_count(const struct usage_table *t);

/*
 * Whether usage changed since usage_clear_dirty() (bytes counted, a reset,
 * a roll, a restore): the quota store flushes only then.
 */
bool usage_dirty(const struct usage_table *t);
void usage_clear_dirty(struct usage_table *t);

#endif
