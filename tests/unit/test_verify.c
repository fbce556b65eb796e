/*
 * Unit tests for the verify pool on a real loop: deferred answers, hashes
 * checked by workers, the cache (hit, failure not cached, changed password,
 * clear), concurrent logins, cancel while queued and while running, a full
 * queue, hashing for MASS 0A, one crypt string checked (uncached, and cached
 * by name for a provider), and destroy with requests outstanding.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "auth/cred.h"
#include "auth/users.h"
#include "auth/verify.h"
#include "core/loop.h"

#define S(x) x, strlen(x)

/* "secret" */
static const char yes[] = "$y$j9T$DZws5d1i/6XhuqooG5gIF/$cGuhvWs3HTCuIOZ1a1z8zAFDy5a9XMJiLtRy03sdQB0";
static const char bcr[] = "$2b$05$9eN7Se6WzgboXazzwhV3c.6iUv6EOJXgrjyZmE7t5LbfZhj6JjGxK";
static const char scr[] = "$7$CU..../....0.9isDeL7dGl0oBsyHgk80$K2Z/EGdoRW3.1FBMz5uS4yfAgox7kPoWKQ1ZNBIv/L1";

static struct loop *loop;
static struct users users;
static char err[256];

struct answer {
	int calls;
	bool ok;
	bool in_start;   /* set around verify_start(): a call then is a bug */
	char hash[CRED_HASH_MAX];
};

static bool starting;

static void on_done(void *ctx, bool ok)
{
	struct answer *a = ctx;

	ck_assert(!starting);
	a->calls++;
	a->ok = ok;
}

static void on_hash(void *ctx, const char *hash, size_t len, const char *why)
{
	struct answer *a = ctx;

	a->calls++;
	a->ok = hash != NULL;
	snprintf(a->hash, sizeof(a->hash), "%.*s", hash ? (int)len : 255, hash ? hash : why);
}

static void setup(void)
{
	loop = loop_create(1024, err, sizeof(err));
	ck_assert_ptr_nonnull(loop);
	ck_assert_int_eq(users_init(&users, 255, NULL), 0);
	ck_assert_int_eq(users_add(&users, S("plain"), S("secret"), false, err, sizeof(err)), USERS_OK);
	ck_assert_int_eq(users_add(&users, S("yes"), S(yes), false, err, sizeof(err)), USERS_OK);
	ck_assert_int_eq(users_add(&users, S("bcr"), S(bcr), false, err, sizeof(err)), USERS_OK);
	ck_assert_int_eq(users_add(&users, S("scr"), S(scr), false, err, sizeof(err)), USERS_OK);
}

static void teardown(void)
{
	users_free(&users);
	loop_destroy(loop);
}

/* Runs the loop until *count reaches want (or 10 s pass). */
static void run_until(const int *count, int want)
{
	for (int i = 0; i < 1000 && *count < want; i++)
		ck_assert_int_ge(loop_run_once(loop, 10), 0);
	ck_assert_int_eq(*count, want);
}

static int start(struct verify_pool *p, const char *name, const char *pass, struct answer *a,
		 struct verify_req **h)
{
	int rc;

	starting = true;
	rc = verify_start(p, &users, S(name), S(pass), on_done, a, h);
	starting = false;
	return rc;
}

START_TEST(plain_is_deferred)
{
	struct verify_pool *p = verify_pool_create(loop, 2, 8, 16, err, sizeof(err));
	struct answer good = { 0 }, bad = { 0 }, unknown = { 0 }, invalid = { 0 };

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(start(p, "plain", "secret", &good, NULL), 0);
	ck_assert_int_eq(start(p, "plain", "secreT", &bad, NULL), 0);
	ck_assert_int_eq(start(p, "plain", "a\x01", &invalid, NULL), 0);
	ck_assert_int_eq(good.calls + bad.calls + invalid.calls, 0);
	run_until(&good.calls, 1);
	ck_assert(good.ok);
	ck_assert_int_eq(bad.calls, 1);
	ck_assert(!bad.ok);
	ck_assert_int_eq(invalid.calls, 1);
	ck_assert(!invalid.ok);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 0);
	/* an unknown name in a store with hashes costs a dummy hash on a worker */
	ck_assert_int_eq(start(p, "nobody", "secret", &unknown, NULL), 0);
	run_until(&unknown.calls, 1);
	ck_assert(!unknown.ok);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 1);
	verify_pool_destroy(p);
}
END_TEST

START_TEST(hash_kinds_and_cache)
{
	struct verify_pool *p = verify_pool_create(loop, 2, 8, 16, err, sizeof(err));
	static const char *const names[] = { "yes", "bcr", "scr" };
	struct answer a[3] = { { 0 } }, wrong[3] = { { 0 } }, again[3] = { { 0 } };
	struct verify_stats st;
	int total = 0;

	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(start(p, names[i], "secret", &a[i], NULL), 0);
		ck_assert_int_eq(start(p, names[i], "secrex", &wrong[i], NULL), 0);
	}
	for (int i = 0; i < 3; i++) {
		run_until(&a[i].calls, 1);
		run_until(&wrong[i].calls, 1);
		ck_assert_msg(a[i].ok, "%s", names[i]);
		ck_assert_msg(!wrong[i].ok, "%s", names[i]);
	}
	st = verify_pool_stats(p);
	ck_assert_uint_eq(st.hashed, 6);
	ck_assert_uint_eq(st.cache_hits, 0);
	/* the successes are remembered; the failures are not */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(start(p, names[i], "secret", &again[i], NULL), 0);
		ck_assert_int_eq(start(p, names[i], "secrex", &wrong[i], NULL), 0);
	}
	for (int i = 0; i < 3; i++) {
		run_until(&again[i].calls, 1);
		run_until(&wrong[i].calls, 2);
		ck_assert(again[i].ok);
		ck_assert(!wrong[i].ok);
	}
	st = verify_pool_stats(p);
	ck_assert_uint_eq(st.cache_hits, 3);
	ck_assert_uint_eq(st.hashed, 9);
	/* a changed password misses the cache: the old one fails */
	ck_assert_int_eq(users_del(&users, S("bcr"), false, err, sizeof(err)), USERS_OK);
	ck_assert_int_eq(users_add(&users, S("bcr"), S("$2b$04$9eN7Se6WzgboXazzwhV3c.6iUv6EOJXgrjyZmE7t5LbfZhj6JjGxK"),
				   false, err, sizeof(err)), USERS_OK);
	memset(again, 0, sizeof(again));
	ck_assert_int_eq(start(p, "bcr", "secret", &again[0], NULL), 0);
	run_until(&again[0].calls, 1);
	ck_assert(!again[0].ok);
	/* cleared: the next login hashes again */
	verify_cache_clear(p);
	ck_assert_int_eq(start(p, "yes", "secret", &again[1], NULL), 0);
	run_until(&again[1].calls, 1);
	ck_assert(again[1].ok);
	st = verify_pool_stats(p);
	ck_assert_uint_eq(st.cache_hits, 3);
	ck_assert_uint_eq(st.hashed, 11);
	(void)total;
	verify_pool_destroy(p);
}
END_TEST

/* One set of four: a fifth success evicts the least recently used. */
START_TEST(cache_lru)
{
	struct verify_pool *p = verify_pool_create(loop, 2, 16, 1, err, sizeof(err));
	static const char *const names[] = { "b0", "b1", "b2", "b3", "b4" };
	struct answer a = { 0 };
	int want = 0;

	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(users_add(&users, S(names[i]), S(bcr), false, err, sizeof(err)),
				 USERS_OK);
	/* b0..b3 fill the set; b0 is used again, so b1 is the oldest when b4 comes */
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(start(p, names[i], "secret", &a, NULL), 0);
		run_until(&a.calls, ++want);
	}
	ck_assert_int_eq(start(p, "b0", "secret", &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert_uint_eq(verify_pool_stats(p).cache_hits, 1);
	ck_assert_int_eq(start(p, "b4", "secret", &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 5);
	ck_assert_int_eq(start(p, "b0", "secret", &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 5);  /* still remembered */
	ck_assert_int_eq(start(p, "b1", "secret", &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 6);  /* evicted: hashed again */
	ck_assert(a.ok);
	verify_pool_destroy(p);
}
END_TEST

/* Many logins at once over four workers, each answered once and right. */
START_TEST(concurrent)
{
	enum { N = 64 };
	struct verify_pool *p = verify_pool_create(loop, 4, N, 0, err, sizeof(err));
	struct answer a[N] = { { 0 } };
	int done = 0;

	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(start(p, i % 2 ? "bcr" : "plain", i % 3 ? "secret" : "nope",
				       &a[i], NULL), 0);
	for (int round = 0; round < 1000 && done < N; round++) {
		ck_assert_int_ge(loop_run_once(loop, 10), 0);
		done = 0;
		for (int i = 0; i < N; i++)
			done += a[i].calls;
	}
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(a[i].calls, 1);
		ck_assert(a[i].ok == (i % 3 != 0));
	}
	verify_pool_destroy(p);
}
END_TEST

/* One worker busy with scrypt (~150 ms): cancel the running one and a queued one. */
START_TEST(cancel)
{
	struct verify_pool *p = verify_pool_create(loop, 1, 8, 16, err, sizeof(err));
	struct answer running = { 0 }, queued = { 0 }, kept = { 0 };
	struct verify_req *h1, *h2, *h3;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(start(p, "scr", "secret", &running, &h1), 0);
	usleep(50 * 1000);  /* the worker has taken it: scrypt runs for ~150 ms */
	ck_assert_int_eq(start(p, "bcr", "secret", &queued, &h2), 0);
	ck_assert_int_eq(start(p, "bcr", "secret", &kept, &h3), 0);
	verify_cancel(h2);
	verify_cancel(h1);
	run_until(&kept.calls, 1);
	ck_assert(kept.ok);
	/* wait until the worker is done with scrypt too */
	for (int i = 0; i < 500 && verify_pool_stats(p).hashed < 2; i++)
		loop_run_once(loop, 10);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 2);
	loop_run_once(loop, 10);
	ck_assert_int_eq(running.calls, 0);
	ck_assert_int_eq(queued.calls, 0);
	/* a cancelled success is still a success: it may be remembered */
	verify_pool_destroy(p);
}
END_TEST

static int order_next;

static void on_order(void *ctx, bool ok)
{
	int *slot = ctx;

	ck_assert(ok);
	*slot = ++order_next;
}

/* verify_start_first (MASS admins) jumps the queue, in arrival order among its kind. */
START_TEST(first_jumps_the_queue)
{
	struct verify_pool *p = verify_pool_create(loop, 1, 16, 0, err, sizeof(err));
	int busy = 0, normal[3] = { 0 }, first[2] = { 0 };

	ck_assert_ptr_nonnull(p);
	order_next = 0;
	ck_assert_int_eq(verify_start(p, &users, S("scr"), S("secret"), on_order, &busy, NULL), 0);
	usleep(50 * 1000);  /* the worker is on scrypt for ~150 ms */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(verify_start(p, &users, S("bcr"), S("secret"), on_order,
					      &normal[i], NULL), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(verify_start_first(p, &users, S("bcr"), S("secret"), on_order,
						    &first[i], NULL), 0);
	run_until(&order_next, 6);
	ck_assert_int_eq(busy, 1);
	ck_assert_int_eq(first[0], 2);
	ck_assert_int_eq(first[1], 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(normal[i], 4 + i);
	verify_pool_destroy(p);
}
END_TEST

START_TEST(queue_full)
{
	struct verify_pool *p = verify_pool_create(loop, 1, 2, 0, err, sizeof(err));
	struct answer a[6] = { { 0 } }, plain = { 0 };
	int accepted = 0, refused = 0;

	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < 6; i++) {
		if (start(p, "scr", "secret", &a[i], NULL) == 0)
			accepted++;
		else
			refused++;
	}
	/* one running at most, two waiting */
	ck_assert_int_le(accepted, 3);
	ck_assert_int_ge(refused, 3);
	ck_assert_uint_eq(verify_pool_stats(p).queue_full, (uint64_t)refused);
	/* answers that need no worker still go through */
	ck_assert_int_eq(start(p, "plain", "secret", &plain, NULL), 0);
	run_until(&plain.calls, 1);
	ck_assert(plain.ok);
	verify_pool_destroy(p);  /* with requests outstanding: no callback, no leak */
	for (int i = 0; i < 6; i++)
		ck_assert_int_le(a[i].calls, 1);
}
END_TEST

static const struct sockaddr *src_v4(uint32_t host)
{
	static struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(host);
	return (const struct sockaddr *)&sin;
}

/*
 * The queue is shared fairly: one source gets VERIFY_SHARE places, the
 * last VERIFY_RESERVE are for admins, and a refusal is EAGAIN (busy).
 */
START_TEST(fair_share_and_admin_reserve)
{
	struct verify_pool *p = verify_pool_create(loop, 1, 32, 0, err, sizeof(err));
	static struct answer a[80];
	struct verify_from from = { NULL, false };
	int flood = 0, others = 0, admins = 0;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(VERIFY_SHARE(32), 4);
	ck_assert_int_eq(VERIFY_RESERVE(32), 2);
	/* one source floods: at most its share waits (plus the one a worker took) */
	from.addr = src_v4(0x0a000001);
	for (int i = 0; i < 20; i++) {
		errno = 0;
		if (verify_start_from(p, &from, &users, S("scr"), S("wrong"), on_done, &a[i],
				      NULL) == 0)
			flood++;
		else
			ck_assert_int_eq(errno, EAGAIN);
	}
	ck_assert_int_le(flood, 5);
	/* other sources still get in, up to the reserve */
	for (uint32_t i = 0; i < 40; i++) {
		from.addr = src_v4(0x0a000100 + i);
		if (verify_start_from(p, &from, &users, S("scr"), S("secret"), on_done,
				      &a[20 + i], NULL) == 0)
			others++;
	}
	ck_assert_int_ge(others, 32 - 2 - flood);
	ck_assert_int_le(others, 32 - 2 - flood + 2);
	/* the reserve: an admin still gets a place, a SOCKS login does not */
	from.admin = true;
	for (int i = 0; i < 2; i++)
		if (verify_start_from(p, &from, &users, S("scr"), S("secret"), on_done,
				      &a[60 + i], NULL) == 0)
			admins++;
	ck_assert_int_ge(admins, 1);
	verify_pool_destroy(p);
}
END_TEST

START_TEST(hash_for_0a)
{
	struct verify_pool *p = verify_pool_create(loop, 1, 4, 0, err, sizeof(err));
	struct answer a = { 0 }, bad = { 0 }, invalid = { 0 };

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(verify_hash_start(p, NULL, 0, S("new pass"), on_hash, &a, NULL), 0);
	ck_assert_int_eq(verify_hash_start(p, "md5", 0, S("x"), on_hash, &bad, NULL), 0);
	ck_assert_int_eq(verify_hash_start(p, "bcrypt", 0, "", 0, on_hash, &invalid, NULL), 0);
	ck_assert_int_eq(a.calls, 0);
	run_until(&a.calls, 1);
	run_until(&bad.calls, 1);
	run_until(&invalid.calls, 1);
	ck_assert(a.ok);
	ck_assert_int_eq(strncmp(a.hash, "$y$", 3), 0);
	ck_assert(cred_check(S(a.hash), S("new pass")));
	ck_assert(!bad.ok);
	ck_assert_msg(strstr(bad.hash, "unknown hash method") != NULL, "%s", bad.hash);
	ck_assert(!invalid.ok);
	verify_pool_destroy(p);
}
END_TEST

/* One crypt string from elsewhere (a provider's database): checked by a worker, never cached. */
START_TEST(crypt_string)
{
	struct verify_pool *p = verify_pool_create(loop, 1, 8, 16, err, sizeof(err));
	struct answer good = { 0 }, again = { 0 }, bad = { 0 }, invalid = { 0 }, broken = { 0 };
	struct answer never = { 0 };

	ck_assert_ptr_nonnull(p);
	starting = true;
	ck_assert_int_eq(verify_crypt_start(p, yes, S("secret"), on_done, &good, NULL), 0);
	ck_assert_int_eq(verify_crypt_start(p, bcr, S("secrex"), on_done, &bad, NULL), 0);
	ck_assert_int_eq(verify_crypt_start(p, bcr, S("a\x01"), on_done, &invalid, NULL), 0);
	ck_assert_int_eq(verify_crypt_start(p, "$2b$99$9eN7Se6WzgboXazzwhV3c.6iUv6EOJXgrjyZmE7t5LbfZhj6JjGxK",
					    S("secret"), on_done, &broken, NULL), 0);
	starting = false;
	run_until(&good.calls, 1);
	run_until(&bad.calls, 1);
	run_until(&invalid.calls, 1);
	run_until(&broken.calls, 1);
	ck_assert(good.ok);
	ck_assert(!bad.ok);
	ck_assert(!invalid.ok);
	ck_assert(!broken.ok);
	/* the invalid password costs no worker; a success is not remembered */
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 3);
	ck_assert_int_eq(verify_crypt_start(p, yes, S("secret"), on_done, &again, NULL), 0);
	run_until(&again.calls, 1);
	ck_assert(again.ok);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 4);
	ck_assert_uint_eq(verify_pool_stats(p).cache_hits, 0);
	/* not a crypt string: refused at once, never compared as plaintext */
	errno = 0;
	ck_assert_int_eq(verify_crypt_start(p, "secret", S("secret"), on_done, &never, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(verify_crypt_start(p, "", S("secret"), on_done, &never, NULL), -1);
	loop_run_once(loop, 10);
	ck_assert_int_eq(never.calls, 0);
	verify_pool_destroy(p);
}
END_TEST

/* A provider's login by name: a success is remembered, like the store's. */
START_TEST(crypt_string_cached)
{
	struct verify_pool *p = verify_pool_create(loop, 1, 8, 16, err, sizeof(err));
	struct answer a = { 0 };
	int want = 0;

	ck_assert_ptr_nonnull(p);
	/* first: a worker; again: the cache; a wrong password: a worker, not remembered */
	ck_assert_int_eq(verify_crypt_start_cached(p, S("dave"), bcr, S("secret"), on_done, &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert(a.ok);
	ck_assert_int_eq(verify_crypt_start_cached(p, S("dave"), bcr, S("secret"), on_done, &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert(a.ok);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 1);
	ck_assert_uint_eq(verify_pool_stats(p).cache_hits, 1);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(verify_crypt_start_cached(p, S("dave"), bcr, S("secrex"), on_done, &a,
							   NULL), 0);
		run_until(&a.calls, ++want);
		ck_assert(!a.ok);
	}
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 3);
	/* another name, another crypt string: each misses */
	ck_assert_int_eq(verify_crypt_start_cached(p, S("erin"), bcr, S("secret"), on_done, &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert_int_eq(verify_crypt_start_cached(p, S("dave"), yes, S("secret"), on_done, &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert(a.ok);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 5);
	/* the uncached call never consults nor fills it; clear forgets */
	ck_assert_int_eq(verify_crypt_start(p, bcr, S("secret"), on_done, &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 6);
	verify_cache_clear(p);
	ck_assert_int_eq(verify_crypt_start_cached(p, S("dave"), bcr, S("secret"), on_done, &a, NULL), 0);
	run_until(&a.calls, ++want);
	ck_assert(a.ok);
	ck_assert_uint_eq(verify_pool_stats(p).hashed, 7);
	ck_assert_uint_eq(verify_pool_stats(p).cache_hits, 1);
	ck_assert_int_eq(verify_crypt_start_cached(p, "", 0, bcr, S("secret"), on_done, &a, NULL), -1);
	verify_pool_destroy(p);
}
END_TEST

START_TEST(create_errors)
{
	struct verify_pool *p = verify_pool_create(loop, 0, 4, 0, err, sizeof(err));

	ck_assert_ptr_nonnull(p);  /* 0: one worker per CPU */
	verify_pool_destroy(p);
	ck_assert_ptr_null(verify_pool_create(loop, 17, 4, 0, err, sizeof(err)));
	ck_assert_ptr_null(verify_pool_create(loop, 1, 0, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "threads"));
}
END_TEST

static Suite *verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, plain_is_deferred);
	tcase_add_test(tc, hash_kinds_and_cache);
	tcase_add_test(tc, cache_lru);
	tcase_add_test(tc, concurrent);
	tcase_add_test(tc, cancel);
	tcase_add_test(tc, first_jumps_the_queue);
	tcase_add_test(tc, queue_full);
	tcase_add_test(tc, fair_share_and_admin_reserve);
	tcase_add_test(tc, hash_for_0a);
	tcase_add_test(tc, crypt_string);
	tcase_add_test(tc, crypt_string_cached);
	tcase_add_test(tc, create_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(verify_suite());
}
