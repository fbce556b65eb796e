/* verify: the worker pool for crypt(3) and the cache of successes. See verify.h. */
#include "verify.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/queue.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/cred.h"
#include "auth/users.h"
#include "core/log.h"
#include "core/net.h"
#include "core/loop.h"

#define VERIFY_MAX_THREADS 16
#define VERIFY_METHOD_MAX 32
#define VERIFY_WORKER_NICE 10  /* workers yield the cores to the loop thread */
#define VERIFY_DIGEST_LEN crypto_auth_hmacsha256_BYTES

enum verify_kind { VERIFY_CHECK, VERIFY_HASH };

/* Where a request is; changed only under the pool's mutex. */
enum verify_state {
	VERIFY_QUEUED,   /* in pool->queue, waiting for a worker */
	VERIFY_RUNNING,  /* a worker has it */
	VERIFY_DONE      /* in pool->done, waiting for the loop */
};

struct verify_req {
	TAILQ_ENTRY(verify_req) link;
	struct verify_pool *pool;
	enum verify_kind kind;
	enum verify_state state;
	bool cancelled;              /* loop thread only */
	bool known;                  /* the name exists (else: a dummy check) */
	bool ok;                     /* the answer, written by whoever answers */
	bool cacheable;              /* a hash check whose success goes to the cache */
	bool first;                  /* queued ahead of the others (verify_start_first) */
	bool admin;                  /* may take the admin reserve */
	uint8_t src[16];             /* the client's source (pace.h's key); srclen 0: none */
	size_t srclen;
	uint64_t generation;         /* the cache's generation when started */
	unsigned char digest[VERIFY_DIGEST_LEN];
	verify_done_fn *done;
	verify_hash_fn *hashed;
	void *ctx;
	char stored[CRED_HASH_MAX];  /* VERIFY_CHECK: the stored hash */
	size_t slen;
	char pass[CRED_HASH_MAX];
	size_t plen;
	char method[VERIFY_METHOD_MAX]; /* VERIFY_HASH */
	unsigned long cost;
	char out[CRED_HASH_MAX];     /* VERIFY_HASH: the hash, or the reason */
	int outlen;                  /* -1: out holds the reason */
};

TAILQ_HEAD(verify_list, verify_req);

/* The cache: sets of VERIFY_WAYS slots, least recently used replaced. */
#define VERIFY_WAYS 4

struct verify_slot {
	uint64_t used;               /* 0: empty; else the tick of its last use */
	unsigned char digest[VERIFY_DIGEST_LEN];
};

struct verify_pool {
	struct loop *loop;
	int efd;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct verify_list queue;    /* under lock */
	struct verify_list done;     /* under lock */
	size_t queued, queue_max;    /* under lock */
	size_t queued_first;         /* under lock: how many at the queue's head are first */
	bool stop;                   /* under lock */
	pthread_t threads[VERIFY_MAX_THREADS];
	unsigned nthreads;
	uint64_t hashed;             /* under lock */
	/* loop thread only: */
	struct verify_slot *cache;
	size_t cache_len;
	size_t cache_sets;           /* cache_len / VERIFY_WAYS */
	uint64_t generation, tick;
	unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
	uint64_t checks, hits, full;
	uint64_t full_logged_ms;
};

static void verify_free_req(struct verify_req *r)
{
	explicit_bzero(r, sizeof(*r));
	free(r);
}

static void verify_signal(struct verify_pool *pool)
{
	uint64_t one = 1;

	/* cannot block (EFD_NONBLOCK) nor fill up (2^64 - 2 wakeups); EINTR: retry */
	while (write(pool->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* The worker's side: one request at a time, nothing shared but the lists. */
static void verify_run(struct verify_req *r)
{
	if (r->kind == VERIFY_CHECK) {
		bool same = cred_check(r->stored, r->slen, r->pass, r->plen);

		r->ok = r->known && same;
	} else {
		r->outlen = cred_hash_make(r->method[0] ? r->method : NULL, r->cost, r->pass,
					   r->plen, r->out, sizeof(r->out), r->out,
					   sizeof(r->out));
	}
	explicit_bzero(r->pass, sizeof(r->pass));
}

static void *verify_worker(void *arg)
{
	struct verify_pool *pool = arg;
	struct verify_req *r;

	/*
	 * A hash is seconds of CPU in a burst, the loop's work microseconds of
	 * latency: on a machine with as many workers as cores, the loop must
	 * win every contest for a core. Best effort: a sandbox that forbids
	 * setpriority (the unit's syscall filter) leaves the workers at the
	 * loop's priority.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), VERIFY_WORKER_NICE);
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->stop && TAILQ_EMPTY(&pool->queue))
			pthread_cond_wait(&pool->wake, &pool->lock);
		if (pool->stop)
			break;
		r = TAILQ_FIRST(&pool->queue);
		TAILQ_REMOVE(&pool->queue, r, link);
		pool->queued--;
		pool->queued_first -= r->first;
		r->state = VERIFY_RUNNING;
		pthread_mutex_unlock(&pool->lock);

		verify_run(r);

		pthread_mutex_lock(&pool->lock);
		pool->hashed++;
		r->state = VERIFY_DONE;
		TAILQ_INSERT_TAIL(&pool->done, r, link);
		verify_signal(pool);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

/* A digest's set: its first octets are uniform (the key is secret). */
static struct verify_slot *verify_set(struct verify_pool *pool, const unsigned char *d)
{
	uint64_t h;

	memcpy(&h, d, sizeof(h));
	return &pool->cache[(h % pool->cache_sets) * VERIFY_WAYS];
}

static bool verify_digest_equal(const unsigned char *a, const unsigned char *b)
{
	return sodium_memcmp(a, b, VERIFY_DIGEST_LEN) == 0;
}

/* True when d is remembered (every way of its set is compared). */
static bool verify_cache_hit(struct verify_pool *pool, const unsigned char *d)
{
	struct verify_slot *set = verify_set(pool, d);
	struct verify_slot *hit = NULL;

	for (size_t w = 0; w < VERIFY_WAYS; w++)
		if (verify_digest_equal(set[w].digest, d) && set[w].used)
			hit = &set[w];
	if (hit)
		hit->used = ++pool->tick;
	return hit != NULL;
}

static void verify_cache_put(struct verify_pool *pool, const struct verify_req *r)
{
	struct verify_slot *set, *victim;

	if (!pool->cache_sets || r->generation != pool->generation)
		return;
	set = verify_set(pool, r->digest);
	victim = &set[0];
	for (size_t w = 0; w < VERIFY_WAYS; w++) {
		if (set[w].used && verify_digest_equal(set[w].digest, r->digest)) {
			victim = &set[w];
			break;
		}
		if (set[w].used < victim->used)
			victim = &set[w];
	}
	victim->used = ++pool->tick;
	memcpy(victim->digest, r->digest, VERIFY_DIGEST_LEN);
}

/* Hands finished requests to their callbacks, on the loop thread. */
static void verify_ready(struct loop *loop, int fd, void *data, int events)
{
	struct verify_pool *pool = data;
	struct verify_list ready = TAILQ_HEAD_INITIALIZER(ready);
	struct verify_req *r;
	uint64_t n;

	(void)loop;
	(void)events;
	while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&pool->lock);
	TAILQ_CONCAT(&ready, &pool->done, link);
	pthread_mutex_unlock(&pool->lock);
	/* a callback may cancel a request further down this list: it is then skipped */
	while ((r = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, r, link);
		if (r->kind == VERIFY_CHECK && r->ok && r->cacheable)
			verify_cache_put(pool, r);
		if (!r->cancelled) {
			if (r->kind == VERIFY_CHECK)
				r->done(r->ctx, r->ok);
			else
				r->hashed(r->ctx, r->outlen >= 0 ? r->out : NULL,
					  r->outlen >= 0 ? (size_t)r->outlen : 0,
					  r->outlen >= 0 ? NULL : r->out);
		}
		verify_free_req(r);
	}
}

/* Starts the workers with every signal blocked: signals are the loop thread's. */
static int verify_start_workers(struct verify_pool *pool, unsigned threads, char *err,
				size_t errlen)
{
	sigset_t all, old;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; pool->nthreads < threads && rc == 0; pool->nthreads++) {
		rc = pthread_create(&pool->threads[pool->nthreads], NULL, verify_worker, pool);
		if (rc != 0) {
			snprintf(err, errlen, "verify pool: pthread_create: %s", strerror(rc));
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

struct verify_pool *verify_pool_create(struct loop *loop, unsigned threads, size_t queue_max,
				       size_t cache_entries, char *err, size_t errlen)
{
	struct verify_pool *pool;

	if (threads == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		threads = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (unsigned)ncpu;
	}
	if (threads > VERIFY_MAX_THREADS || queue_max < 1) {
		snprintf(err, errlen, "verify pool: 1..%d threads and a queue of at least 1",
			 VERIFY_MAX_THREADS);
		return NULL;
	}
	/* whole sets; a cache smaller than one set is one set */
	if (cache_entries)
		cache_entries = cache_entries < VERIFY_WAYS ? VERIFY_WAYS :
				cache_entries - cache_entries % VERIFY_WAYS;
	/* libsodium's one-time setup (idempotent, thread-safe): the pool is
	 * what every user of src/auth/'s primitives in socks5d creates first */
	if (sodium_init() < 0) {
		snprintf(err, errlen, "verify pool: libsodium cannot initialise");
		return NULL;
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool || (cache_entries && !(pool->cache = calloc(cache_entries,
								sizeof(*pool->cache))))) {
		snprintf(err, errlen, "verify pool: %s", strerror(ENOMEM));
		goto fail_mem;
	}
	pool->loop = loop;
	pool->cache_len = cache_entries;
	pool->cache_sets = cache_entries / VERIFY_WAYS;
	pool->queue_max = queue_max;
	TAILQ_INIT(&pool->queue);
	TAILQ_INIT(&pool->done);
	crypto_auth_hmacsha256_keygen(pool->key);
	pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->efd < 0) {
		snprintf(err, errlen, "verify pool: eventfd: %s", strerror(errno));
		goto fail_mem;
	}
	if (loop_add(loop, pool->efd, LOOP_READ, verify_ready, pool) != 0) {
		snprintf(err, errlen, "verify pool: watching the eventfd: %s", strerror(errno));
		goto fail_fd;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	if (verify_start_workers(pool, threads, err, errlen) < 0) {
		verify_pool_destroy(pool);
		return NULL;
	}
	return pool;
fail_fd:
	close(pool->efd);
fail_mem:
	if (pool)
		free(pool->cache);
	free(pool);
	return NULL;
}

void verify_pool_destroy(struct verify_pool *pool)
{
	struct verify_req *r;

	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stop = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	while ((r = TAILQ_FIRST(&pool->queue)) != NULL) {
		TAILQ_REMOVE(&pool->queue, r, link);
		verify_free_req(r);
	}
	while ((r = TAILQ_FIRST(&pool->done)) != NULL) {
		TAILQ_REMOVE(&pool->done, r, link);
		verify_free_req(r);
	}
	loop_remove(pool->loop, pool->efd);
	close(pool->efd);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	sodium_memzero(pool->key, sizeof(pool->key));
	free(pool->cache);
	free(pool);
}

/*
 * Whether r may take a place in the queue: below the admin reserve (or r
 * is admin work), and r's source below its share. Under the lock.
 */
static bool verify_room(const struct verify_pool *pool, const struct verify_req *r)
{
	size_t limit = pool->queue_max;
	size_t mine = 0;
	const struct verify_req *q;

	if (!r->admin)
		limit -= pool->queue_max > VERIFY_RESERVE(pool->queue_max) ?
			 VERIFY_RESERVE(pool->queue_max) : 0;
	if (pool->queued >= limit)
		return false;
	if (r->srclen == 0 || r->admin)
		return true;
	TAILQ_FOREACH(q, &pool->queue, link)
		if (q->srclen == r->srclen && memcmp(q->src, r->src, r->srclen) == 0 &&
		    ++mine >= VERIFY_SHARE(pool->queue_max))
			return false;
	return true;
}

/* Queues r for a worker (to_worker) or straight for the loop's next round. */
static int verify_submit(struct verify_pool *pool, struct verify_req *r, bool to_worker,
			 struct verify_req **handle)
{
	pthread_mutex_lock(&pool->lock);
	if (to_worker && !verify_room(pool, r)) {
		bool whole = pool->queued >= pool->queue_max;

		pthread_mutex_unlock(&pool->lock);
		pool->full++;
		if (pool->full_logged_ms == 0 ||
		    loop_now_ms(pool->loop) - pool->full_logged_ms >= 1000) {
			log_warn("verify: %s; refusing as busy (%llu refused so far)",
				 whole ? "the queue of password checks is full" :
				 "no room for this client (its source's share, or the admin reserve)",
				 (unsigned long long)pool->full);
			pool->full_logged_ms = loop_now_ms(pool->loop);
			if (pool->full_logged_ms == 0)
				pool->full_logged_ms = 1;
		}
		verify_free_req(r);
		errno = EAGAIN;
		return -1;
	}
	if (to_worker && r->first) {
		struct verify_req *after = NULL;

		/* behind the other first ones, ahead of the rest */
		for (size_t i = 0; i < pool->queued_first; i++)
			after = after ? TAILQ_NEXT(after, link) : TAILQ_FIRST(&pool->queue);
		r->state = VERIFY_QUEUED;
		if (after)
			TAILQ_INSERT_AFTER(&pool->queue, after, r, link);
		else
			TAILQ_INSERT_HEAD(&pool->queue, r, link);
		pool->queued++;
		pool->queued_first++;
		pthread_cond_signal(&pool->wake);
	} else if (to_worker) {
		r->state = VERIFY_QUEUED;
		TAILQ_INSERT_TAIL(&pool->queue, r, link);
		pool->queued++;
		pthread_cond_signal(&pool->wake);
	} else {
		r->state = VERIFY_DONE;
		TAILQ_INSERT_TAIL(&pool->done, r, link);
		verify_signal(pool);
	}
	pthread_mutex_unlock(&pool->lock);
	if (handle)
		*handle = r;
	return 0;
}

/* HMAC(key, len-prefixed name, stored, pass): the cache's key for one login. */
static void verify_digest(const struct verify_pool *pool, const char *name, size_t nlen,
			  const char *stored, size_t slen, const char *pass, size_t plen,
			  unsigned char out[VERIFY_DIGEST_LEN])
{
	crypto_auth_hmacsha256_state h;
	unsigned char len;

	crypto_auth_hmacsha256_init(&h, pool->key, sizeof(pool->key));
	len = (unsigned char)nlen;
	crypto_auth_hmacsha256_update(&h, &len, 1);
	crypto_auth_hmacsha256_update(&h, (const unsigned char *)name, nlen);
	len = (unsigned char)slen;
	crypto_auth_hmacsha256_update(&h, &len, 1);
	crypto_auth_hmacsha256_update(&h, (const unsigned char *)stored, slen);
	len = (unsigned char)plen;
	crypto_auth_hmacsha256_update(&h, &len, 1);
	crypto_auth_hmacsha256_update(&h, (const unsigned char *)pass, plen);
	crypto_auth_hmacsha256_final(&h, out);
	sodium_memzero(&h, sizeof(h));
}

/* A new request of kind for pool, ctx set; the caller fills the rest. NULL on ENOMEM. */
static struct verify_req *verify_req_new(struct verify_pool *pool, enum verify_kind kind,
					 void *ctx)
{
	struct verify_req *r = calloc(1, sizeof(*r));

	if (r) {
		r->pool = pool;
		r->kind = kind;
		r->ctx = ctx;
	}
	return r;
}

/* A new password check for pool, counted and tagged with the cache's generation. */
static struct verify_req *verify_check_new(struct verify_pool *pool, verify_done_fn *done,
					   void *ctx)
{
	struct verify_req *r = verify_req_new(pool, VERIFY_CHECK, ctx);

	if (r) {
		r->done = done;
		r->generation = pool->generation;
		pool->checks++;
	}
	return r;
}

/*
 * Decides who answers: the loop's next round (invalid input, a plaintext
 * entry, an unknown name with no hash to spend time on, a cache hit) or a
 * worker (a hash to check, the dummy one for an unknown name included).
 */
static int verify_start_at(struct verify_pool *pool, const struct verify_from *from,
			   const struct users *users, const char *name, size_t nlen,
			   const char *pass, size_t plen, verify_done_fn *done, void *ctx,
			   struct verify_req **handle)
{
	struct verify_req *r = verify_check_new(pool, done, ctx);
	const char *stored;
	bool worker = false;
	long i;

	if (!r)
		return -1;
	r->first = r->admin = from->admin;
	if (from->addr != NULL) {
		r->srclen = net_host(from->addr, r->src);
		if (r->srclen == 16)
			r->srclen = 8;  /* an IPv6 source is its /64, as in pace.h */
	}
	if (!cred_valid_pass(pass, plen) || nlen > CRED_FIELD_MAX)
		return verify_submit(pool, r, false, handle);
	i = users_find(users, name, nlen);
	r->known = i >= 0;
	if (r->known) {
		stored = users->list[i].pass;
		r->slen = users->list[i].pass_len;
	} else {
		stored = users_dummy(users, &r->slen);
	}
	if (!cred_is_hash(stored, r->slen)) {
		r->ok = r->known && cred_ct_equal(stored, r->slen, pass, plen);
	} else {
		bool cached = pool->cache_sets && r->known;

		if (cached)
			verify_digest(pool, name, nlen, stored, r->slen, pass, plen, r->digest);
		if (cached && verify_cache_hit(pool, r->digest)) {
			pool->hits++;
			r->ok = true;
		} else {
			r->cacheable = cached;
			memcpy(r->stored, stored, r->slen);
			memcpy(r->pass, pass, plen);
			r->plen = plen;
			worker = true;
		}
	}
	return verify_submit(pool, r, worker, handle);
}

int verify_start(struct verify_pool *pool, const struct users *users, const char *name,
		 size_t nlen, const char *pass, size_t plen, verify_done_fn *done, void *ctx,
		 struct verify_req **handle)
{
	const struct verify_from from = { NULL, false };

	return verify_start_at(pool, &from, users, name, nlen, pass, plen, done, ctx, handle);
}

int verify_start_first(struct verify_pool *pool, const struct users *users, const char *name,
		       size_t nlen, const char *pass, size_t plen, verify_done_fn *done,
		       void *ctx, struct verify_req **handle)
{
	const struct verify_from from = { NULL, true };

	return verify_start_at(pool, &from, users, name, nlen, pass, plen, done, ctx, handle);
}

int verify_start_from(struct verify_pool *pool, const struct verify_from *from,
		      const struct users *users, const char *name, size_t nlen, const char *pass,
		      size_t plen, verify_done_fn *done, void *ctx, struct verify_req **handle)
{
	return verify_start_at(pool, from, users, name, nlen, pass, plen, done, ctx, handle);
}

/*
 * One crypt string (verify_crypt_start, _cached): a worker checks it,
 * unless name is given (cached) and the cache remembers this success.
 */
static int verify_crypt_at(struct verify_pool *pool, const char *name, size_t nlen,
			   const char *crypt, const char *pass, size_t plen, verify_done_fn *done,
			   void *ctx, struct verify_req **handle)
{
	size_t clen = strnlen(crypt, CRED_HASH_MAX);
	struct verify_req *r;

	if (clen > CRED_FIELD_MAX || !cred_is_hash(crypt, clen) ||
	    (name && (nlen < 1 || nlen > CRED_FIELD_MAX))) {
		errno = EINVAL;
		return -1;
	}
	r = verify_check_new(pool, done, ctx);
	if (!r)
		return -1;
	r->known = true;
	if (!cred_valid_pass(pass, plen))
		return verify_submit(pool, r, false, handle);
	if (name && pool->cache_sets) {
		verify_digest(pool, name, nlen, crypt, clen, pass, plen, r->digest);
		if (verify_cache_hit(pool, r->digest)) {
			pool->hits++;
			r->ok = true;
			return verify_submit(pool, r, false, handle);
		}
		r->cacheable = true;
	}
	memcpy(r->stored, crypt, clen);
	r->slen = clen;
	memcpy(r->pass, pass, plen);
	r->plen = plen;
	return verify_submit(pool, r, true, handle);
}

int verify_crypt_start(struct verify_pool *pool, const char *crypt, const char *pass,
		       size_t plen, verify_done_fn *done, void *ctx, struct verify_req **handle)
{
	return verify_crypt_at(pool, NULL, 0, crypt, pass, plen, done, ctx, handle);
}

int verify_crypt_start_cached(struct verify_pool *pool, const char *name, size_t nlen,
			      const char *crypt, const char *pass, size_t plen,
			      verify_done_fn *done, void *ctx, struct verify_req **handle)
{
	return verify_crypt_at(pool, name, nlen, crypt, pass, plen, done, ctx, handle);
}

int verify_hash_start(struct verify_pool *pool, const char *method, unsigned long cost,
		      const char *pass, size_t plen, verify_hash_fn *done, void *ctx,
		      struct verify_req **handle)
{
	struct verify_req *r;

	if (method && strlen(method) >= VERIFY_METHOD_MAX) {
		errno = EINVAL;
		return -1;
	}
	r = verify_req_new(pool, VERIFY_HASH, ctx);
	if (!r)
		return -1;
	r->admin = true;  /* MASS 0A: an admin's request */
	r->hashed = done;
	r->cost = cost;
	if (method)
		strcpy(r->method, method);
	/* too long: hashed as empty, which the worker refuses as an invalid password */
	if (plen > CRED_FIELD_MAX)
		plen = 0;
	memcpy(r->pass, pass, plen);
	r->plen = plen;
	return verify_submit(pool, r, true, handle);
}

void verify_cancel(struct verify_req *r)
{
	struct verify_pool *pool = r->pool;

	pthread_mutex_lock(&pool->lock);
	if (r->state == VERIFY_QUEUED) {
		TAILQ_REMOVE(&pool->queue, r, link);
		pool->queued--;
		pool->queued_first -= r->first;
		pthread_mutex_unlock(&pool->lock);
		verify_free_req(r);
		return;
	}
	/* running or done: the loop frees it when it comes back, without calling back */
	r->cancelled = true;
	pthread_mutex_unlock(&pool->lock);
}

void verify_cache_clear(struct verify_pool *pool)
{
	pool->generation++;
	if (pool->cache_len)
		explicit_bzero(pool->cache, pool->cache_len * sizeof(*pool->cache));
}

struct verify_stats verify_pool_stats(struct verify_pool *pool)
{
	struct verify_stats s = { pool->checks, pool->hits, 0, pool->full };

	pthread_mutex_lock(&pool->lock);
	s.hashed = pool->hashed;
	pthread_mutex_unlock(&pool->lock);
	return s;
}
