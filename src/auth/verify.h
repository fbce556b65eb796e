/*
 * verify: password checks and hashing off the loop.
 *
 * crypt(3) of a yescrypt or bcrypt hash costs milliseconds of CPU on
 * purpose (yescrypt at the default cost: about 15 ms); run on the loop, each
 * login would stall every tunnel, MASS request and timer for that long, and
 * a burst of first logins would stall them for seconds. So a small fixed
 * pool of worker threads runs crypt(3), and the results come back to the
 * loop through an eventfd the loop watches. These workers are the only
 * threads in socks5d: they touch nothing but the request they took (copies
 * of the stored hash and the password) and the pool's queue, under the
 * pool's mutex; they never call back, log, or read the users store. Every
 * callback runs on the loop thread, from the eventfd's callback.
 *
 * Successful checks are remembered as keyed digests, HMAC-SHA-256
 * (libsodium's crypto_auth_hmacsha256) under a per-pool random key
 * (randombytes) of (name, stored password, password),
 * in a fixed table of cache_entries slots (sets of 4, the least recently
 * used replaced): a repeated login by the same user with the same password
 * costs one HMAC, microseconds.
 * A failure is never remembered. Because the stored hash is part of the key,
 * a changed password misses by itself and a deleted user fails the lookup
 * of its name before the cache is consulted; verify_cache_clear() forgets
 * everything (call it on reload). Digests are compared in constant time
 * (sodium_memcmp). verify_pool_create() calls sodium_init(), libsodium's
 * one-time setup, for socks5d.
 *
 * Answers are always deferred: verify_start() never calls back from inside
 * itself. A plaintext entry, an unknown name in a store without hashes, and
 * a cache hit are answered in the loop's next round; a hash is checked by a
 * worker. An unknown name is checked against users_dummy() so that it costs
 * what a known name costs.
 *
 * The queue of work for the workers is bounded (queue_max) and shared
 * fairly: the last VERIFY_RESERVE(queue_max) places are kept for admin
 * work (verify_start_first(), admin logins through verify_start_from(),
 * verify_hash_start() for MASS 0A), and a request that names its client
 * (verify_start_from()) is refused while that client's source (its IPv4
 * address or IPv6 /64) already has VERIFY_SHARE(queue_max) requests
 * waiting. A refusal is "busy", errno EAGAIN, never a wrong password: the
 * caller closes the connection or answers a server failure, and counts no
 * failure against anyone. The pool logs refusals, at most once a second.
 *
 * Create the pool after any fork() (daemonising) and after dropping
 * privileges; workers block every signal, so signals reach the loop thread.
 * Everything here except the workers' own code runs on the loop thread.
 */
#ifndef MASS_VERIFY_H
#define MASS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct sockaddr;
struct users;
struct verify_pool;
struct verify_req;

/* Places of the queue only admin work may take; most one source may hold waiting. */
#define VERIFY_RESERVE(queue_max) ((queue_max) / 16 > 0 ? (queue_max) / 16 : 1)
#define VERIFY_SHARE(queue_max) ((queue_max) / 8 > 0 ? (queue_max) / 8 : 1)

/* Who asks (verify_start_from()): the client and whether it is an admin login. */
struct verify_from {
	const struct sockaddr *addr;  /* the client; NULL: no per-source share */
	bool admin;                   /* a MASS admin: queued first, may use the reserve */
};

/* The answer of verify_start(): ok is true when the password matched. */
typedef void verify_done_fn(void *ctx, bool ok);

/*
 * The answer of verify_hash_start(): the NUL-terminated crypt string and its
 * length, or hash NULL and the reason in err.
 */
typedef void verify_hash_fn(void *ctx, const char *hash, size_t len, const char *err);

struct verify_stats {
	uint64_t checks;      /* verify_start() and verify_crypt_start() calls */
	uint64_t cache_hits;  /* answered from the cache */
	uint64_t hashed;      /* crypt(3) runs by workers (checks and hashes) */
	uint64_t queue_full;  /* refusals because the queue was full */
};

/*
 * Creates the pool on loop: threads workers (1..16; 0: one per CPU, at
 * most 4), at most queue_max
 * requests waiting for a worker (at least 1), a cache of cache_entries
 * digests (0: no cache). Returns NULL with the reason in err.
 */
struct verify_pool *verify_pool_create(struct loop *loop, unsigned threads, size_t queue_max,
				       size_t cache_entries, char *err, size_t errlen);

/*
 * Stops and joins the workers and frees the pool. Requests still
 * outstanding are dropped: their callbacks never run and their handles are
 * invalid. Not from inside a pool callback.
 */
void verify_pool_destroy(struct verify_pool *pool);

/*
 * Checks name/pass (nlen/plen octets, not NUL-terminated) against users.
 * Returns 0: done(ctx, ok) will run later on the loop, exactly once, unless
 * verify_cancel(*handle) is called first; *handle (when handle is not NULL)
 * is valid until then. Returns -1 when the request cannot be queued: errno
 * EAGAIN when the queue is full for it (busy, logged: see above), ENOMEM;
 * done never runs, and the caller answers "busy", not a wrong password.
 * users is read only during this call. Not admin work: the reserve stays
 * free.
 */
int verify_start(struct verify_pool *pool, const struct users *users, const char *name,
		 size_t nlen, const char *pass, size_t plen, verify_done_fn *done, void *ctx,
		 struct verify_req **handle);

/*
 * verify_start() for a MASS admin: queued ahead of every request that is not
 * itself first (in arrival order among those), so that a burst of SOCKS
 * logins never delays management by more than the check a worker is
 * running. Same returns.
 */
int verify_start_first(struct verify_pool *pool, const struct users *users, const char *name,
		       size_t nlen, const char *pass, size_t plen, verify_done_fn *done,
		       void *ctx, struct verify_req **handle);

/*
 * verify_start() or verify_start_first() (from->admin) for a client whose
 * source gets only its share of the queue (from->addr). Same returns.
 */
int verify_start_from(struct verify_pool *pool, const struct verify_from *from,
		      const struct users *users, const char *name, size_t nlen, const char *pass,
		      size_t plen, verify_done_fn *done, void *ctx, struct verify_req **handle);

/*
 * Checks pass (plen octets) against one crypt(3) string crypt (NUL-
 * terminated): for a password kept elsewhere than the users store (an auth
 * provider's database), through the host's password service. Never cached.
 * Returns 0: done(ctx, ok) runs later on the loop, exactly once, unless
 * verify_cancel(*handle) comes first (an invalid password is answered false
 * in the loop's next round, without a worker). Returns -1 when done never
 * runs: errno EINVAL when crypt is not a crypt(3) hash (cred_is_hash(), at
 * most CRED_FIELD_MAX octets: a plaintext or empty string is refused here,
 * never compared), EAGAIN when the queue is full (logged), ENOMEM. A hash
 * that libcrypt cannot evaluate (a broken setting) is answered false.
 */
int verify_crypt_start(struct verify_pool *pool, const char *crypt, const char *pass,
		       size_t plen, verify_done_fn *done, void *ctx, struct verify_req **handle);

/*
 * verify_crypt_start() for a login whose success may be remembered: name
 * (nlen octets, 1..255) is the user the crypt string belongs to. A success
 * goes into the pool's cache as the store's logins do (the digest of name,
 * crypt and pass), so the next login with the same three is answered in
 * the loop's next round without a worker; a changed crypt string misses by
 * itself, verify_cache_clear() forgets everything, a failure is never
 * remembered. For an authentication provider's users (the pgsql plugin),
 * through the host's password service. Same returns as
 * verify_crypt_start(); EINVAL also for a name out of range.
 */
int verify_crypt_start_cached(struct verify_pool *pool, const char *name, size_t nlen,
			      const char *crypt, const char *pass, size_t plen,
			      verify_done_fn *done, void *ctx, struct verify_req **handle);

/*
 * Hashes pass (plen octets) with method (NULL: the default) and cost, as
 * cred_hash_make() does, on a worker: for MASS 0A, which then stores the
 * hash. Returns 0 (done runs later unless cancelled) or -1 (queue full or
 * out of memory; done never runs).
 */
int verify_hash_start(struct verify_pool *pool, const char *method, unsigned long cost,
		      const char *pass, size_t plen, verify_hash_fn *done, void *ctx,
		      struct verify_req **handle);

/*
 * For a session that goes away while waiting: its callback will never run.
 * A request not yet taken by a worker is dropped at once; one a worker is
 * running finishes there and its result is thrown away. handle is invalid
 * afterwards. Only before the callback has run.
 */
void verify_cancel(struct verify_req *handle);

/* Forgets every remembered success (reload, a changed store). */
void verify_cache_clear(struct verify_pool *pool);

/* A copy of the counters. */
struct verify_stats verify_pool_stats(struct verify_pool *pool);

#endif
