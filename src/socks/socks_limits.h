/*
 * socks_limits: per-user limits (classes, limits/) as the SOCKS engine
 * applies them. The live part (struct socks_limits, in socks_live: the
 * usage table, the quota clock, the classes in force, the classes set for
 * users the built-in store does not hold, the quota file) outlives
 * snapshots; what one session holds is a struct socks_limit.
 *
 * The unlimited path costs nothing: a session whose user's class limits
 * nothing keeps an empty struct socks_limit (entry NULL) and its relay no
 * relay_limit, exactly as before limits existed.
 *
 * A limited session: socks_limits_open() at the request (checks the quota,
 * max_sessions and max_sessions_per_address, counts the session), then
 * around each relay_pump() socks_limits_prepare() (the buckets' clock, the
 * quota left) and socks_limits_account() (the bytes moved into the usage
 * table), and socks_limits_wait_ms() when the relay stopped for the bucket;
 * socks_limits_close() at the end. The owner runs socks_limits_tick() once
 * a second (live rates, period roll, quota file flush).
 *
 * Everything runs on the loop thread.
 */
#ifndef MASS_SOCKS_LIMITS_H
#define MASS_SOCKS_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "limits/limits_class.h"
#include "limits/limits_clock.h"
#include "core/loop.h"
#include "core/trusted_file.h"
#include "limits/usage.h"
#include "socks/relay.h"

struct socks_ctx;

/* A class set for a user the built-in store does not hold (a provider's). */
struct socks_limits_override {
	char *name;
	char cls[LIMITS_CLASS_NAME_MAX + 1];
};

/* The fleet's share of one user (usage_drain / usage_fleet_set). */
struct socks_limits_live {
	struct usage_table *usage;         /* NULL: none made yet (no memory: unlimited) */
	struct limits_clock clock;         /* the quota clock (MASS_TEST_CLOCK_OFFSET) */
	const struct limits_class_table *classes; /* of the policy in force */
	struct socks_limits_override *over;
	size_t nover, capover;
	unsigned gen;                      /* bumped when a user's class may have changed */
	char *quota_file;                  /* NULL: usage is not persisted */
	struct trusted_policy trust;       /* how quota_file is opened and rewritten */
	unsigned flush_s;                  /* seconds between flushes */
	uint64_t flushed_ms;               /* the loop time of the last flush */
};

/*
 * One limited session's hold, allocated only for a session whose user's
 * class limits something (a session without one holds a NULL pointer: the
 * unlimited path, 8 bytes). Its owner arms wake (a relay its bucket
 * stopped resumes; quota_close ends the session) and finds itself again
 * through owner.
 */
struct socks_limit {
	struct usage_entry *entry;         /* the user's usage (never NULL) */
	struct usage_ticket ticket;
	struct relay_limit relay;          /* the relay's view (relay.h) */
	uint64_t counted[2];               /* bytes already in usage, per relay direction */
	struct loop_timer wake;            /* the owner's timer */
	void *owner;                       /* the session */
	bool quota_close;                  /* wake ends the session ("quota") */
};

/* Monotonic nanoseconds (the buckets' clock). */
uint64_t socks_limits_now_ns(void);

/*
 * The class of user (NULL: an unauthenticated client): the built-in
 * store's, else one set by socks_limits_set_override(), else default.
 * NULL when no class table is in force.
 */
const struct limits_class *socks_limits_class_of(const struct socks_ctx *ctx,
						 const char *user, size_t len);

/*
 * socks_limits_class_of() in the class table t (a session's snapshot:
 * session->policy->classes), for a decision that must follow the policy
 * the session started with, e.g. an ACL `class NAME` condition. The
 * pointer is valid while the snapshot is held. NULL when t is NULL or
 * empty.
 */
const struct limits_class *socks_limits_class_in(const struct socks_ctx *ctx,
						 const struct limits_class_table *t,
						 const char *user, size_t len);

/* The class name set for a provider's user, or NULL. */
const char *socks_limits_override(const struct socks_ctx *ctx, const char *user, size_t len);

/* Remembers cls for a user the store does not hold. Returns 0, -1 on ENOMEM. */
int socks_limits_set_override(struct socks_ctx *ctx, const char *user, size_t len,
			      const char *cls);

/*
 * Puts user's usage entry (if any) under its class now (a class change,
 * a MASS set-class) and bumps the generation so that the user's live
 * unlimited sessions are looked at again within a second.
 */
void socks_limits_user_changed(struct socks_ctx *ctx, const char *user, size_t len);

/*
 * A new session (CONNECT, BIND or UDP ASSOCIATE) of user from client, for
 * owner. Returns USAGE_OK (*l the hold, NULL when unlimited or out of
 * memory: then served unlimited) or the limit that refused it (*l NULL,
 * nothing held). *gen gets the generation looked at.
 */
enum usage_verdict socks_limits_open(struct socks_ctx *ctx, struct socks_limit **l,
				     void *owner, const char *user,
				     const struct sockaddr *client, unsigned *gen);

/*
 * A running unlimited session whose user's class may have become limited
 * (the generation moved): *l made when it did (counted without a check:
 * the session already runs). Returns true when *l now limits.
 */
bool socks_limits_attach(struct socks_ctx *ctx, struct socks_limit **l, void *owner,
			 const char *user, unsigned *gen);

/* Before relay_pump(): the buckets' time and the quota left. */
void socks_limits_prepare(struct socks_ctx *ctx, struct socks_limit *l);

/*
 * After relay_pump(): counts bytes[dir] (the relay's totals) beyond what
 * was counted. Returns true when the user's quota ran out with
 * quota_action = close: the caller closes the user's tunnels.
 */
bool socks_limits_account(struct socks_ctx *ctx, struct socks_limit *l,
			  const uint64_t bytes[2]);

/*
 * Milliseconds until a stopped relay direction may move again (at least 1),
 * its end rounded up to a grid of SOCKS_LIMITS_GRID_MS on the loop's clock
 * (finer when the bucket's burst leaves less slack): stopped tunnels wake
 * together, in one loop round.
 */
#define SOCKS_LIMITS_GRID_MS 16
uint64_t socks_limits_wait_ms(struct socks_ctx *ctx, struct socks_limit *l);

/*
 * Takes len bytes of a UDP datagram in direction dir (RELAY_TO_UPSTREAM or
 * RELAY_TO_CLIENT) from the user's bucket and counts them. Returns false
 * when the datagram must be dropped (bucket empty or quota used up). Under
 * quota_action = close, a datagram that finds the quota used up, or uses
 * it up, sets l->quota_close: the caller ends the association.
 */
bool socks_limits_datagram(struct socks_ctx *ctx, struct socks_limit *l, int dir,
			   size_t len);

/* Ends what open or attach counted, stops wake, frees *l (NULL: no-op). */
void socks_limits_close(struct socks_ctx *ctx, struct socks_limit **l);

/*
 * The once-a-second work: live rates, period roll, prune, and the quota
 * file flushed when dirty and flush_s passed (force: now, e.g. at exit).
 */
void socks_limits_tick(struct socks_ctx *ctx, bool force);

/*
 * Applies a new class table (reload, start): every entry is put under its
 * user's class in t. The old table may be freed after this returns.
 */
void socks_limits_reclass(struct socks_ctx *ctx, const struct limits_class_table *t);

/*
 * At start: the quota clock from MASS_TEST_CLOCK_OFFSET (a warning when
 * set), the usage table, and quota_file (NULL: none) loaded into it; the
 * file is then flushed every flush_s seconds. The file is opened and
 * rewritten under trust (core/trusted_file.h, from [socks] strict_files).
 * Returns 0, or -1 with "PATH:LINE: reason" in err (a malformed or refused
 * file, or a bad hook value).
 */
int socks_limits_start(struct socks_ctx *ctx, const char *quota_file, unsigned flush_s,
		       const struct trusted_policy *trust, char *err, size_t errlen);

/* Frees the live part (exit; after the final flush). */
void socks_limits_free(struct socks_limits_live *lv);

#endif
