/*
 * Unit tests for the host's users_add_async (src/mass/host.c) through the
 * real services table, on a real loop and verify pool: success (a hash
 * stored and written, the callback only later), a taken name, max_users,
 * invalid fields, a crypt string given as is, two adds racing for one name
 * and for the last slot, an old file's plaintext entries hashed by the
 * workers before the rewrite (also when one changes meanwhile), the load
 * unloaded while the add is pending, and the users plugin's 0A (ABI 1.2,
 * through the load's context): deferred, then answered once stored.
 */
#include <check.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "auth/cred.h"
#include "auth/users.h"
#include "auth/verify.h"
#include "core/log.h"
#include "core/loop.h"
#include "mass/host.h"
#include "mass/host_services.h"
#include "mass/mass_proto.h"
#include "mass/plugin.h"
#include "socks/context.h"

#define S(x) x, strlen(x)

/* "secret" */
static const char yes[] = "$y$j9T$DZws5d1i/6XhuqooG5gIF/$cGuhvWs3HTCuIOZ1a1z8zAFDy5a9XMJiLtRy03sdQB0";

static struct socks_ctx ctx;
static const struct mass_host *host;
static struct host_owner *owner;
static char dir[64], file[96], err[256];
static bool calling;   /* set around users_add_async: a callback then is a bug */

struct answer {
	int calls;
	int status;
};

static void on_done(void *arg, int status)
{
	struct answer *a = arg;

	ck_assert(!calling);
	ck_assert_ptr_eq(owner_current(), owner);   /* called back as its load */
	a->calls++;
	a->status = status;
}

static int add(const char *name, const char *pass, struct answer *a)
{
	int rc;

	calling = true;
	rc = host->users_add_async(S(name), S(pass), on_done, a);
	calling = false;
	return rc;
}

static void store(unsigned max)
{
	users_free(&ctx.live.users);
	ck_assert_int_eq(users_init(&ctx.live.users, max, file), 0);
}

static void setup(void)
{
	log_threshold = LOG_ERROR;
	snprintf(dir, sizeof(dir), "/tmp/test_host_users.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/users", dir);
	ctx.loop = loop_create(256, err, sizeof(err));
	ck_assert_ptr_nonnull(ctx.loop);
	ctx.verify = verify_pool_create(ctx.loop, 2, 16, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(ctx.verify);
	ck_assert_int_eq(users_init(&ctx.live.users, 255, file), 0);
	host_services_start(ctx.loop);
	host_set_context(&ctx);
	host = host_services();
	ck_assert(MASS_HOST_HAS(host, users_add_async));
	owner = host_owner_new("t", NULL, NULL, NULL);
	ck_assert_ptr_nonnull(owner);
	owner_enter(owner);
}

static void teardown(void)
{
	host_owner_release(owner);   /* NULL when a test released it */
	owner_enter(NULL);
	host_set_context(NULL);
	verify_pool_destroy(ctx.verify);
	users_free(&ctx.live.users);
	loop_destroy(ctx.loop);
	memset(&ctx, 0, sizeof(ctx));
	unlink(file);
	rmdir(dir);
}

/* Runs the loop until *count reaches want (or 10 s pass). */
static void run_until(const int *count, int want)
{
	for (int i = 0; i < 1000 && *count < want; i++)
		ck_assert_int_ge(loop_run_once(ctx.loop, 10), 0);
	ck_assert_int_eq(*count, want);
}

/* Runs the loop for about ms milliseconds. */
static void run_for(int ms)
{
	for (int i = 0; i < ms / 10; i++)
		ck_assert_int_ge(loop_run_once(ctx.loop, 10), 0);
}

static char *slurp(void)
{
	static char buf[8192];
	FILE *f = fopen(file, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(success_stores_a_hash_later)
{
	struct answer a = { 0 };
	long i;

	ck_assert_int_eq(add("alice", "s3cret", &a), MASS_STATUS_PENDING);
	ck_assert_int_eq(a.calls, 0);
	ck_assert_uint_eq(ctx.live.users.len, 0);   /* not before the hash is made */
	run_until(&a.calls, 1);
	ck_assert_int_eq(a.status, MASS_STATUS_OK);
	i = users_find(&ctx.live.users, S("alice"));
	ck_assert_int_ge(i, 0);
	ck_assert(ctx.live.users.list[i].hashed);
	ck_assert(users_check(&ctx.live.users, S("alice"), S("s3cret")));
	ck_assert(!users_check(&ctx.live.users, S("alice"), S("s3creT")));
	ck_assert_ptr_nonnull(strstr(slurp(), "alice:$y$"));
	ck_assert_ptr_null(strstr(slurp(), "s3cret"));
	ck_assert_uint_eq(verify_pool_stats(ctx.verify).hashed, 1);
	run_for(50);
	ck_assert_int_eq(a.calls, 1);   /* exactly once */
}
END_TEST

START_TEST(refused_at_once)
{
	struct answer a = { 0 };

	ck_assert_int_eq(users_add(&ctx.live.users, S("bob"), S(yes), true, err, sizeof(err)),
			 USERS_OK);
	ck_assert_int_eq(add("bob", "other", &a), MASS_STATUS_ERROR);     /* exists */
	ck_assert_int_eq(add("a:b", "pass", &a), MASS_STATUS_ERROR);      /* ':' in a name */
	ck_assert_int_eq(add("", "pass", &a), MASS_STATUS_ERROR);         /* empty name */
	ck_assert_int_eq(add("carl", "", &a), MASS_STATUS_ERROR);         /* empty password */
	ck_assert_int_eq(add("carl", "p\x01", &a), MASS_STATUS_ERROR);   /* not printable */
	ck_assert_int_eq(host->users_add_async(S("carl"), S("pass"), NULL, NULL),
			 MASS_STATUS_ERROR);                              /* no callback */
	store(1);
	ck_assert_int_eq(users_add(&ctx.live.users, S("bob"), S(yes), false, err, sizeof(err)),
			 USERS_OK);
	ck_assert_int_eq(add("carl", "pass", &a), MASS_STATUS_USER_LIMIT);  /* full */
	run_for(50);
	ck_assert_int_eq(a.calls, 0);
	ck_assert_uint_eq(verify_pool_stats(ctx.verify).hashed, 0);
}
END_TEST

START_TEST(given_hash_stored_as_is)
{
	struct answer a = { 0 };

	ck_assert_int_eq(add("dora", yes, &a), MASS_STATUS_PENDING);
	ck_assert_int_eq(a.calls, 0);
	run_until(&a.calls, 1);
	ck_assert_int_eq(a.status, MASS_STATUS_OK);
	ck_assert_str_eq(ctx.live.users.list[0].pass, yes);
	ck_assert_uint_eq(verify_pool_stats(ctx.verify).hashed, 0);
}
END_TEST

START_TEST(race_same_name)
{
	struct answer a = { 0 }, b = { 0 };

	ck_assert_int_eq(add("eve", "one", &a), MASS_STATUS_PENDING);
	ck_assert_int_eq(add("eve", "two", &b), MASS_STATUS_PENDING);  /* not there yet */
	run_until(&a.calls, 1);
	run_until(&b.calls, 1);
	ck_assert_int_eq((a.status == MASS_STATUS_OK) + (b.status == MASS_STATUS_OK), 1);
	ck_assert_int_eq(a.status == MASS_STATUS_OK ? b.status : a.status, MASS_STATUS_ERROR);
	ck_assert_uint_eq(ctx.live.users.len, 1);
	ck_assert(users_check(&ctx.live.users, S("eve"), S(a.status == MASS_STATUS_OK ? "one"
										       : "two")));
}
END_TEST

START_TEST(race_last_slot)
{
	struct answer a = { 0 }, b = { 0 };

	store(1);
	ck_assert_int_eq(add("fay", "one", &a), MASS_STATUS_PENDING);
	ck_assert_int_eq(add("gus", "two", &b), MASS_STATUS_PENDING);
	run_until(&a.calls, 1);
	run_until(&b.calls, 1);
	ck_assert_int_eq((a.status == MASS_STATUS_OK) + (b.status == MASS_STATUS_OK), 1);
	ck_assert_int_eq(a.status == MASS_STATUS_OK ? b.status : a.status, MASS_STATUS_USER_LIMIT);
	ck_assert_uint_eq(ctx.live.users.len, 1);
}
END_TEST

/* An old file's plaintext entries are hashed by the workers, not by the
 * users_save() on the loop: the pool counts one hash per entry. */
START_TEST(plaintext_entries_hashed_off_loop)
{
	struct answer a = { 0 };

	ck_assert_int_eq(users_add(&ctx.live.users, S("old1"), S("pw1"), false, err, sizeof(err)),
			 USERS_OK);
	ck_assert_int_eq(users_add(&ctx.live.users, S("old2"), S("pw2"), false, err, sizeof(err)),
			 USERS_OK);
	ck_assert_uint_eq(users_plain_count(&ctx.live.users), 2);
	ck_assert_int_eq(add("hal", "new", &a), MASS_STATUS_PENDING);
	run_until(&a.calls, 1);
	ck_assert_int_eq(a.status, MASS_STATUS_OK);
	ck_assert_uint_eq(users_plain_count(&ctx.live.users), 0);
	ck_assert_uint_eq(verify_pool_stats(ctx.verify).hashed, 3);
	ck_assert(users_check(&ctx.live.users, S("old1"), S("pw1")));
	ck_assert(users_check(&ctx.live.users, S("old2"), S("pw2")));
	ck_assert(users_check(&ctx.live.users, S("hal"), S("new")));
	ck_assert_ptr_null(strstr(slurp(), ":pw"));
	ck_assert_str_eq(ctx.live.users.list[0].name, "old1");   /* order kept */
}
END_TEST

/* A plaintext entry deleted, or changed, while its hash is made is not
 * brought back or overwritten. old1's hash swapped in means old2's is being
 * made (the same callback asked for it). */
START_TEST(plaintext_entry_changed_meanwhile)
{
	struct answer a = { 0 };

	for (int round = 0; round < 2; round++) {
		store(255);
		ck_assert_int_eq(users_add(&ctx.live.users, S("old1"), S("pw1"), false, err,
					   sizeof(err)), USERS_OK);
		ck_assert_int_eq(users_add(&ctx.live.users, S("old2"), S("pw2"), false, err,
					   sizeof(err)), USERS_OK);
		a.calls = 0;
		ck_assert_int_eq(add(round == 0 ? "ida" : "ivy", "new", &a), MASS_STATUS_PENDING);
		while (users_plain_count(&ctx.live.users) == 2)
			ck_assert_int_ge(loop_run_once(ctx.loop, 1), 0);
		ck_assert_int_eq(a.calls, 0);
		ck_assert_int_eq(users_find(&ctx.live.users, S("old2")), 1);
		if (round == 0)
			ck_assert_int_eq(users_del(&ctx.live.users, S("old2"), false, err,
						   sizeof(err)), USERS_OK);
		else
			ck_assert_int_eq(users_set_pass(&ctx.live.users, 1, S("pw3")), USERS_OK);
		run_until(&a.calls, 1);
		ck_assert_int_eq(a.status, MASS_STATUS_OK);
		if (round == 0) {
			ck_assert_int_lt(users_find(&ctx.live.users, S("old2")), 0);
			ck_assert_uint_eq(ctx.live.users.len, 2);
		} else {
			/* the stale hash of pw2 is dropped; pw3 is hashed after */
			ck_assert(users_check(&ctx.live.users, S("old2"), S("pw3")));
			ck_assert(!users_check(&ctx.live.users, S("old2"), S("pw2")));
			ck_assert_uint_eq(ctx.live.users.len, 3);
		}
		ck_assert_uint_eq(users_plain_count(&ctx.live.users), 0);
		ck_assert_ptr_null(strstr(slurp(), ":pw"));
	}
}
END_TEST

/* The users plugin's 0A through the handler: deferred on this host, and
 * the synchronous users_add on a host whose table ends before the field. */
static size_t sent_len = SIZE_MAX;
static uint8_t sent[16];

static void on_sent(void *conn, const uint8_t *reply, size_t len)
{
	(void)conn;
	ck_assert_uint_le(len, sizeof(sent));
	memcpy(sent, reply, len);
	sent_len = len;
}

static int plugin_0a(const struct mass_plugin *pl, struct mass_ctx *mctx, const char *name,
		     const char *pass, struct mass_reply *r, uint8_t *buf, size_t cap)
{
	struct mass_request req = { .index = 0x0A, .nparams = 2 };
	int status = MASS_STATUS_ERROR;

	req.params[0].data = (const uint8_t *)name;
	req.params[0].len = strlen(name);
	req.params[1].data = (const uint8_t *)pass;
	req.params[1].len = strlen(pass);
	mass_reply_init(r, buf, cap);
	for (size_t i = 0; i < pl->nindexes; i++)
		if (pl->indexes[i].index == 0x0A)
			status = pl->indexes[i].serve(mctx, &req, r);
	return status;
}

START_TEST(users_plugin_defers_0a)
{
	void *handle = dlopen(PLUGIN_BUILD_DIR "/users.so", RTLD_NOW | RTLD_LOCAL);
	const struct mass_plugin *pl;
	struct mass_ctx *mctx = &owner->ctx;
	struct mass_reply r, *later;
	uint8_t buf[64];

	ck_assert_msg(handle != NULL, "%s", dlerror());
	pl = dlsym(handle, MASS_PLUGIN_SYMBOL);
	ck_assert_ptr_nonnull(pl);
	ck_assert_ptr_eq(mctx->host, host);
	ck_assert_int_eq(pl->init_ctx(mctx, &(struct mass_config){ 0 }, err, sizeof(err)), 0);
	host_defer_arm("users", 0x0A);
	ck_assert_int_eq(plugin_0a(pl, mctx, "mia", "pw", &r, buf, sizeof(buf)),
			 MASS_STATUS_PENDING);
	later = host_defer_take();
	ck_assert_ptr_nonnull(later);
	ck_assert_uint_eq(ctx.live.users.len, 0);
	host_defer_attach(later, on_sent, NULL);
	for (int i = 0; i < 1000 && sent_len == SIZE_MAX; i++)
		ck_assert_int_ge(loop_run_once(ctx.loop, 10), 0);
	ck_assert_uint_eq(sent_len, 1);
	ck_assert_uint_eq(sent[0], MASS_STATUS_OK);
	ck_assert(ctx.live.users.list[0].hashed);
	/* refused at once: answered by the handler's return, nothing deferred */
	host_defer_arm("users", 0x0A);
	ck_assert_int_eq(plugin_0a(pl, mctx, "mia", "pw", &r, buf, sizeof(buf)),
			 MASS_STATUS_ERROR);
	ck_assert_ptr_null(host_defer_take());
	/* outside a handler nothing can be deferred: the synchronous path */
	ck_assert_int_eq(plugin_0a(pl, mctx, "ned", "pw", &r, buf, sizeof(buf)), MASS_STATUS_OK);
	ck_assert_int_ge(users_find(&ctx.live.users, S("ned")), 0);
	pl->fini_ctx(mctx);
	dlclose(handle);
}
END_TEST

START_TEST(unload_while_pending)
{
	struct answer a = { 0 }, b = { 0 };

	ck_assert_int_eq(add("jo", "one", &a), MASS_STATUS_PENDING);
	ck_assert_int_eq(add("kim", yes, &b), MASS_STATUS_PENDING);
	host_owner_release(owner);   /* frees the adds: the callbacks must not run */
	owner = NULL;
	run_for(300);
	ck_assert_int_eq(a.calls + b.calls, 0);
	ck_assert_uint_eq(ctx.live.users.len, 0);
}
END_TEST

/* Nothing to attribute the add to (no plugin runs): refused. */
START_TEST(no_owner_refused)
{
	struct answer a = { 0 };

	owner_enter(NULL);
	ck_assert_int_eq(add("lou", "one", &a), MASS_STATUS_ERROR);
	owner_enter(owner);
	run_for(50);
	ck_assert_int_eq(a.calls, 0);
}
END_TEST

/* ---------------------------------------------------------------- ABI 1.2 password service */

struct pw_answer {
	int calls;
	int match;
	struct mass_ctx *ctx;
	char hash[256];
	bool failed;
};

static void on_verified(struct mass_ctx *c, void *arg, int match)
{
	struct pw_answer *a = arg;

	ck_assert(!calling);
	ck_assert_ptr_eq(owner_current(), owner);   /* called back as its load */
	a->calls++;
	a->match = match;
	a->ctx = c;
}

static void on_hashed(struct mass_ctx *c, void *arg, const char *hash, const char *why)
{
	struct pw_answer *a = arg;

	ck_assert(!calling);
	a->calls++;
	a->ctx = c;
	a->failed = hash == NULL;
	snprintf(a->hash, sizeof(a->hash), "%s", hash != NULL ? hash : why);
}

static int verify(const char *crypt, const char *pass, struct pw_answer *a)
{
	int rc;

	calling = true;
	rc = host->password_verify(&owner->ctx, crypt, pass, strlen(pass), on_verified, a);
	calling = false;
	return rc;
}

/* A match, a mismatch, a string that is no crypt hash: each answered later,
 * on the loop, with the caller's context. */
/* The limits services (host_limits.c) over a class table and the usage table. */
static int class_seen(struct mass_ctx *c, void *arg, const char *name, const char *describe)
{
	char *out = arg;

	(void)c;
	snprintf(out + strlen(out), 512 - strlen(out), "%s: %s;", name, describe);
	return 0;
}

static void drained(struct mass_ctx *c, void *arg, const char *user, size_t len,
		    int64_t start, uint64_t bytes)
{
	uint64_t *sum = arg;

	(void)c;
	(void)start;
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(user, "ann", 3), 0);
	*sum += bytes;
}

START_TEST(limits_services)
{
	struct limits_class_table t;
	struct socks_limit *l;
	unsigned gen;
	struct mass_usage u;
	struct sockaddr_in client = { .sin_family = AF_INET };
	char seen[512] = "", e[128];
	uint64_t sum = 0;

	ck_assert(MASS_HOST_HAS(host, class_each));
	ck_assert_int_eq(limits_class_table_init(&t), 0);
	ck_assert_int_eq(limits_class_set(limits_class_table_get(&t, "gold", e, sizeof(e)),
					  "download_rate", "1M", e, sizeof(e)), 0);
	ck_assert_int_eq(limits_class_set(limits_class_table_get(&t, "cap", e, sizeof(e)),
					  "quota", "1M", e, sizeof(e)), 0);
	socks_limits_reclass(&ctx, &t);
	ck_assert_uint_eq(host->class_each(NULL, class_seen, seen), 3);
	ck_assert_str_eq(seen, "default: unlimited;gold: download_rate=1M;"
			 "cap: quota=1M/day action=refuse;");
	ck_assert_int_eq(users_add(&ctx.live.users, S("ann"), S(yes), false, err, sizeof(err)),
			 USERS_OK);
	ck_assert_int_eq(host->user_class_set(NULL, S("ann"), "gold"), MASS_STATUS_OK);
	ck_assert_ptr_nonnull(strstr(slurp(), "ann:$y$j9T$"));
	ck_assert_ptr_nonnull(strstr(slurp(), ":gold\n"));
	ck_assert_int_eq(host->user_class_set(NULL, S("ann"), "nosuch"), MASS_STATUS_ERROR);
	ck_assert_int_eq(host->usage_get(NULL, S("ann"), &u), 0);
	ck_assert_str_eq(u.class_name, "gold");
	/* a provider's user: remembered in memory */
	ck_assert_int_eq(host->usage_get(NULL, S("prov"), &u), -1);
	ck_assert_int_eq(host->user_class_set(NULL, S("prov"), "gold"), MASS_STATUS_OK);
	ck_assert_int_eq(host->usage_get(NULL, S("prov"), &u), 0);
	ck_assert_str_eq(u.class_name, "gold");
	/* usage: a session of ann under cap, 1000 bytes counted */
	ck_assert_int_eq(host->user_class_set(NULL, S("ann"), "cap"), MASS_STATUS_OK);
	ck_assert_int_eq(socks_limits_open(&ctx, &l, NULL, "ann", (struct sockaddr *)&client,
					   &gen), USAGE_OK);
	ck_assert_ptr_nonnull(l);
	ck_assert(socks_limits_datagram(&ctx, l, RELAY_TO_UPSTREAM, 1000));
	ck_assert_int_eq(host->usage_get(NULL, S("ann"), &u), 0);
	ck_assert_uint_eq(u.used, 1000);
	ck_assert_uint_eq(u.quota, 1 << 20);
	ck_assert_uint_eq(u.sessions, 1);
	ck_assert_int_ne(u.period_start, 0);
	ck_assert_uint_eq(host->usage_drain(NULL, drained, &sum), 1);
	ck_assert_uint_eq(sum, 1000);
	ck_assert_uint_eq(host->usage_drain(NULL, drained, &sum), 0);
	/* the fleet's total, plus nothing counted here since the drain */
	ck_assert_int_eq(host->usage_fleet_set(NULL, S("ann"), u.period_start, 5000),
			 MASS_STATUS_OK);
	ck_assert_int_eq(host->usage_get(NULL, S("ann"), &u), 0);
	ck_assert_uint_eq(u.used, 5000);
	ck_assert_int_eq(host->usage_reset(NULL, S("ann")), MASS_STATUS_OK);
	ck_assert_int_eq(host->usage_get(NULL, S("ann"), &u), 0);
	ck_assert_uint_eq(u.used, 0);
	ck_assert_int_eq(host->usage_reset(NULL, S("nobody")), MASS_STATUS_ERROR);
	socks_limits_close(&ctx, &l);
	ck_assert_ptr_null(l);
	socks_limits_free(&ctx.live.limits);
	limits_class_table_free(&t);
}
END_TEST

START_TEST(password_verify_matches)
{
	struct pw_answer ok = { 0 }, bad = { 0 }, odd = { 0 };

	ck_assert_int_eq(verify(yes, "secret", &ok), 0);
	ck_assert_int_eq(verify(yes, "Secret", &bad), 0);
	ck_assert_int_eq(verify("plaintext", "plaintext", &odd), 0);
	ck_assert_int_eq(ok.calls + bad.calls + odd.calls, 0);
	run_until(&ok.calls, 1);
	run_until(&bad.calls, 1);
	run_until(&odd.calls, 1);
	ck_assert_int_eq(ok.match, 1);
	ck_assert_int_eq(bad.match, 0);
	ck_assert_int_eq(odd.match, -1);
	ck_assert_ptr_eq(ok.ctx, &owner->ctx);
	/* refused at once: no pass, or no context */
	ck_assert_int_eq(verify(yes, "", &ok), -1);
	ck_assert_int_eq(host->password_verify(NULL, yes, "x", 1, on_verified, &ok), -1);
	run_for(50);
	ck_assert_int_eq(ok.calls, 1);
}
END_TEST

/* A hash made with the server's method, which then verifies. */
START_TEST(password_hash_then_verify)
{
	struct pw_answer h = { 0 }, v = { 0 };

	calling = true;
	ck_assert_int_eq(host->password_hash(&owner->ctx, "pw", 2, on_hashed, &h), 0);
	calling = false;
	run_until(&h.calls, 1);
	ck_assert_msg(!h.failed && h.hash[0] == '$', "%s", h.hash);
	ck_assert_int_eq(verify(h.hash, "pw", &v), 0);
	run_until(&v.calls, 1);
	ck_assert_int_eq(v.match, 1);
}
END_TEST

/* The load ends first: done is never called, nothing leaks (ASan). */
START_TEST(password_unload_while_pending)
{
	struct pw_answer a = { 0 }, b = { 0 };

	ck_assert_int_eq(verify(yes, "secret", &a), 0);
	ck_assert_int_eq(host->password_hash(&owner->ctx, "pw", 2, on_hashed, &b), 0);
	host_owner_release(owner);
	owner = NULL;
	run_for(300);
	ck_assert_int_eq(a.calls + b.calls, 0);
}
END_TEST

static Suite *host_users_suite(void)
{
	Suite *s = suite_create("host_users");
	TCase *tc = tcase_create("add_async");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, success_stores_a_hash_later);
	tcase_add_test(tc, refused_at_once);
	tcase_add_test(tc, given_hash_stored_as_is);
	tcase_add_test(tc, race_same_name);
	tcase_add_test(tc, race_last_slot);
	tcase_add_test(tc, plaintext_entries_hashed_off_loop);
	tcase_add_test(tc, plaintext_entry_changed_meanwhile);
	tcase_add_test(tc, users_plugin_defers_0a);
	tcase_add_test(tc, unload_while_pending);
	tcase_add_test(tc, no_owner_refused);
	tcase_add_test(tc, limits_services);
	tcase_add_test(tc, password_verify_matches);
	tcase_add_test(tc, password_hash_then_verify);
	tcase_add_test(tc, password_unload_while_pending);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(host_users_suite());
}
