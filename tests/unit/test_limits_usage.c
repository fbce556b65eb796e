/*
 * Unit tests for usage: entries only for limited classes, session limits
 * per user and per address, quota crossing with each action, the period
 * roll driven by the caller's clock, live class changes, restore and prune.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "limits/limits_clock.h"
#include "limits/usage.h"

#define MIB (1024ULL * 1024)
#define SEC 1000000000ULL
#define DAY 86400
#define T0 1796515200LL   /* 2026-12-06 00:00 UTC, a Sunday */

static const uint8_t addr1[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 };
static const uint8_t addr2[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 2 };

static struct limits_class_table classes;
static struct usage_table *t;

static struct limits_class *class_of(const char *name, const char *const *kv)
{
	char err[160];
	struct limits_class *c = limits_class_table_get(&classes, name, err, sizeof(err));
	const char *key;

	ck_assert_ptr_nonnull(c);
	for (; kv && kv[0]; kv += 2)
		ck_assert_msg(limits_class_set(c, kv[0], kv[1], err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(limits_class_check(c, &key, err, sizeof(err)), 0);
	return c;
}

static void setup(void)
{
	ck_assert_int_eq(limits_class_table_init(&classes), 0);
	/* room for every class a test makes, so pointers into the table stay valid */
	classes.list = realloc(classes.list, 16 * sizeof(*classes.list));
	classes.cap = 16;
	t = usage_create();
	ck_assert_ptr_nonnull(t);
}

static void teardown(void)
{
	usage_destroy(t);
	limits_class_table_free(&classes);
}

START_TEST(test_unlimited_has_no_entry)
{
	const struct limits_class *dflt = limits_class_table_find(&classes, "default");

	ck_assert_ptr_null(usage_get(t, "alice", 5, dflt, 0, T0));
	ck_assert_ptr_null(usage_get(t, "alice", 5, NULL, 0, T0));
	ck_assert_uint_eq(usage_count(t), 0);
}
END_TEST

START_TEST(test_sessions_per_user)
{
	static const char *const kv[] = { "max_sessions", "3", NULL };
	const struct limits_class *c = class_of("three", kv);
	struct usage_ticket tk[5] = { { 0 } };
	struct usage_entry *e = usage_get(t, "bob", 3, c, 0, T0);

	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(usage_session_open(t, e, addr1, T0, &tk[i]), USAGE_OK);
	ck_assert_int_eq(usage_session_open(t, e, addr2, T0, &tk[3]), USAGE_MAX_SESSIONS);
	ck_assert_ptr_null(tk[3].entry);
	ck_assert_str_eq(usage_verdict_name(USAGE_MAX_SESSIONS), "max_sessions");
	ck_assert_uint_eq(e->refused, 1);
	usage_session_close(t, &tk[1]);
	ck_assert_ptr_null(tk[1].entry);
	usage_session_close(t, &tk[1]);    /* twice: a no-op */
	ck_assert_int_eq(usage_session_open(t, e, addr2, T0, &tk[3]), USAGE_OK);
	ck_assert_uint_eq(e->sessions, 3);
	/* the same entry for the same name, however often asked */
	ck_assert_ptr_eq(usage_get(t, "bob", 3, c, 0, T0), e);
	ck_assert_uint_eq(usage_count(t), 1);
}
END_TEST

START_TEST(test_sessions_per_address)
{
	static const char *const kv[] = { "max_sessions_per_address", "2", NULL };
	const struct limits_class *c = class_of("shared", kv);
	struct usage_ticket tk[6] = { { 0 } };
	struct usage_entry *a = usage_get(t, "a", 1, c, 0, T0);
	struct usage_entry *b = usage_get(t, "b", 1, c, 0, T0);

	/* two users of the class from one address share its allowance */
	ck_assert_int_eq(usage_session_open(t, a, addr1, T0, &tk[0]), USAGE_OK);
	ck_assert_int_eq(usage_session_open(t, b, addr1, T0, &tk[1]), USAGE_OK);
	ck_assert_int_eq(usage_session_open(t, b, addr1, T0, &tk[2]), USAGE_MAX_PER_ADDRESS);
	ck_assert_int_eq(usage_session_open(t, b, addr2, T0, &tk[2]), USAGE_OK);
	ck_assert_uint_eq(usage_address_sessions(t, "shared", addr1), 2);
	usage_session_close(t, &tk[0]);
	ck_assert_uint_eq(usage_address_sessions(t, "shared", addr1), 1);
	ck_assert_int_eq(usage_session_open(t, a, addr1, T0, &tk[3]), USAGE_OK);
	for (int i = 0; i < 4; i++)
		usage_session_close(t, &tk[i]);
	ck_assert_uint_eq(usage_address_sessions(t, "shared", addr1), 0);
	ck_assert_uint_eq(usage_address_sessions(t, "shared", addr2), 0);
}
END_TEST

START_TEST(test_quota_refuse_and_roll)
{
	static const char *const kv[] = { "quota", "10M", NULL };
	const struct limits_class *c = class_of("q", kv);
	struct usage_ticket tk = { 0 };
	struct usage_entry *e = usage_get(t, "carol", 5, c, 0, T0 + 3600);

	ck_assert_uint_eq(usage_quota_left(t, e, T0 + 3600), 10 * MIB);
	ck_assert(!usage_add(t, e, LIMITS_DOWN, 9 * MIB, 0, T0 + 3600));
	ck_assert_uint_eq(usage_quota_left(t, e, T0 + 3600), MIB);
	ck_assert(usage_add(t, e, LIMITS_UP, MIB, 0, T0 + 3601));     /* crossed: once */
	ck_assert(!usage_add(t, e, LIMITS_UP, 5, 0, T0 + 3602));
	ck_assert(e->exhausted);
	ck_assert_uint_eq(usage_quota_left(t, e, T0 + 3602), 0);
	ck_assert_int_eq(usage_session_open(t, e, addr1, T0 + 3602, &tk), USAGE_QUOTA);
	/* the UTC day ends: usage_tick rolls it, no restart */
	ck_assert_uint_eq(usage_tick(t, SEC, T0 + DAY - 1), 0);
	ck_assert(e->exhausted);
	ck_assert_uint_eq(usage_tick(t, 2 * SEC, T0 + DAY), 1);
	ck_assert(!e->exhausted);
	ck_assert_uint_eq(e->used, 0);
	ck_assert_int_eq(usage_session_open(t, e, addr1, T0 + DAY, &tk), USAGE_OK);
	usage_session_close(t, &tk);
}
END_TEST

START_TEST(test_quota_driven_by_test_clock)
{
	static const char *const kv[] = { "quota", "1M", "quota_period", "month", NULL };
	const struct limits_class *c = class_of("m", kv);
	struct limits_clock clk;
	char err[160];
	struct usage_entry *e;
	int64_t now;

	/* the documented hook: the env offset moves the quota clock */
	setenv(LIMITS_CLOCK_ENV, "-86400", 1);
	ck_assert_int_eq(limits_clock_from_env(&clk, err, sizeof(err)), 1);
	ck_assert_int_eq(clk.offset, -86400);
	setenv(LIMITS_CLOCK_ENV, "forty", 1);
	ck_assert_int_eq(limits_clock_from_env(&clk, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, LIMITS_CLOCK_ENV));
	setenv(LIMITS_CLOCK_ENV, "999999999", 1);
	ck_assert_int_eq(limits_clock_from_env(&clk, err, sizeof(err)), -1);
	unsetenv(LIMITS_CLOCK_ENV);
	ck_assert_int_eq(limits_clock_from_env(&clk, err, sizeof(err)), 0);

	now = limits_clock_now(&clk);
	e = usage_get(t, "dave", 4, c, 0, now);
	usage_add(t, e, LIMITS_DOWN, 2 * MIB, 0, now);
	ck_assert(e->exhausted);
	/* to the next month's first second */
	limits_clock_set_offset(&clk, period_slot_next(&c->period, e->slot_start) - now);
	usage_tick(t, SEC, limits_clock_now(&clk));
	ck_assert(!e->exhausted);
	ck_assert_uint_eq(usage_quota_left(t, e, limits_clock_now(&clk)), MIB);
}
END_TEST

START_TEST(test_quota_throttle_and_close)
{
	static const char *const kt[] = { "download_rate", "1M", "quota", "4M",
					  "quota_action", "throttle", "quota_throttle_rate", "8K",
					  NULL };
	static const char *const kc[] = { "quota", "4M", "quota_action", "close", NULL };
	const struct limits_class *ct = class_of("thr", kt), *cc = class_of("cls", kc);
	struct usage_ticket tk = { 0 };
	struct usage_entry *e = usage_get(t, "erin", 4, ct, 0, T0);
	struct usage_entry *f = usage_get(t, "fred", 4, cc, 0, T0);

	ck_assert_uint_eq(e->bucket[LIMITS_DOWN].rate, MIB);
	ck_assert_uint_eq(e->bucket[LIMITS_UP].rate, 0);
	ck_assert(usage_add(t, e, LIMITS_DOWN, 4 * MIB, SEC, T0));
	ck_assert(e->throttled);
	ck_assert_uint_eq(e->bucket[LIMITS_DOWN].rate, 8192);
	ck_assert_uint_eq(e->bucket[LIMITS_UP].rate, 8192);
	/* throttled, not refused, and not stopped by the quota */
	ck_assert_uint_eq(usage_quota_left(t, e, T0), UINT64_MAX);
	ck_assert_int_eq(usage_session_open(t, e, addr1, T0, &tk), USAGE_OK);
	usage_session_close(t, &tk);
	/* a reset (MASS) lifts it at once */
	usage_reset(t, e, 2 * SEC, T0);
	ck_assert(!e->throttled);
	ck_assert_uint_eq(e->bucket[LIMITS_DOWN].rate, MIB);
	ck_assert_uint_eq(e->bucket[LIMITS_UP].rate, 0);

	ck_assert(usage_add(t, f, LIMITS_UP, 5 * MIB, SEC, T0));
	ck_assert(!f->throttled);
	ck_assert_int_eq(usage_session_open(t, f, addr1, T0, &tk), USAGE_QUOTA);
}
END_TEST

START_TEST(test_rolling_window)
{
	static const char *const kv[] = { "quota", "10M", "quota_period", "rolling 3", NULL };
	const struct limits_class *c = class_of("r3", kv);
	struct usage_entry *e = usage_get(t, "gina", 4, c, 0, T0);

	usage_add(t, e, LIMITS_DOWN, 4 * MIB, 0, T0 + 10);            /* day 0 */
	usage_add(t, e, LIMITS_DOWN, 3 * MIB, 0, T0 + DAY + 10);      /* day 1 */
	usage_add(t, e, LIMITS_DOWN, 2 * MIB, 0, T0 + 2 * DAY + 10);  /* day 2 */
	ck_assert_uint_eq(usage_quota_left(t, e, T0 + 2 * DAY + 20), MIB);
	/* day 3: day 0's 4M drops out */
	ck_assert_uint_eq(usage_quota_left(t, e, T0 + 3 * DAY), 5 * MIB);
	/* four idle days later everything has */
	ck_assert_uint_eq(usage_quota_left(t, e, T0 + 7 * DAY), 10 * MIB);
}
END_TEST

/* A class edited by a reload, or the user moved: buckets change at once, sessions still balance. */
START_TEST(test_reclass_live)
{
	static const char *const k1[] = { "download_rate", "1M", "max_sessions", "5", NULL };
	static const char *const k2[] = { "download_rate", "2M", "download_burst", "64K", NULL };
	const struct limits_class *c1 = class_of("one", k1), *c2 = class_of("two", k2);
	struct usage_ticket tk = { 0 };
	struct usage_entry *e = usage_get(t, "hal", 3, c1, 0, T0);

	ck_assert_int_eq(usage_session_open(t, e, addr1, T0, &tk), USAGE_OK);
	ck_assert_ptr_eq(usage_get(t, "hal", 3, c2, SEC, T0), e);
	ck_assert_uint_eq(e->bucket[LIMITS_DOWN].rate, 2 * MIB);
	ck_assert_uint_eq(e->bucket[LIMITS_DOWN].burst, 64 * 1024);
	/* to an unlimited class: the unlimited path, the entry dormant until its session ends */
	ck_assert_ptr_null(usage_get(t, "hal", 3, &classes.list[0], 2 * SEC, T0));
	ck_assert_ptr_null(e->cls);
	ck_assert_uint_eq(e->bucket[LIMITS_DOWN].rate, 0);
	ck_assert_uint_eq(usage_prune(t), 0);
	usage_session_close(t, &tk);
	ck_assert_uint_eq(usage_prune(t), 1);
	ck_assert_uint_eq(usage_count(t), 0);
}
END_TEST

static const struct limits_class *lookup_two(void *arg, const char *name, size_t len)
{
	(void)len;
	return strcmp(name, "gone") == 0 ? NULL : arg;
}

START_TEST(test_reclass_all)
{
	static const char *const k1[] = { "upload_rate", "1M", NULL };
	static const char *const k2[] = { "upload_rate", "3M", NULL };
	const struct limits_class *c1 = class_of("c1", k1), *c2 = class_of("c2", k2);
	char name[16];

	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		ck_assert_ptr_nonnull(usage_get(t, name, strlen(name), c1, 0, T0));
	}
	ck_assert_ptr_nonnull(usage_get(t, "gone", 4, c1, 0, T0));
	ck_assert_uint_eq(usage_count(t), 501);
	ck_assert_uint_eq(usage_reclass(t, lookup_two, (void *)c2, SEC, T0), 0);
	ck_assert_uint_eq(usage_find(t, "u123", 4)->bucket[LIMITS_UP].rate, 3 * MIB);
	ck_assert_ptr_null(usage_find(t, "gone", 4)->cls);
	ck_assert_uint_eq(usage_prune(t), 1);
	ck_assert_ptr_null(usage_find(t, "gone", 4));
	ck_assert_ptr_nonnull(usage_find(t, "u499", 4));
}
END_TEST

START_TEST(test_live_rate)
{
	static const char *const kv[] = { "download_rate", "1M", NULL };
	struct usage_entry *e = usage_get(t, "ivy", 3, class_of("lr", kv), 0, T0);

	usage_tick(t, 10 * SEC, T0);
	usage_add(t, e, LIMITS_DOWN, 3 * MIB, 10 * SEC, T0);
	usage_add(t, e, LIMITS_UP, 1000, 10 * SEC, T0);
	usage_tick(t, 12 * SEC, T0 + 2);
	ck_assert_uint_eq(e->live_rate[LIMITS_DOWN], 3 * MIB / 2);
	ck_assert_uint_eq(e->live_rate[LIMITS_UP], 500);
	usage_tick(t, 13 * SEC, T0 + 3);
	ck_assert_uint_eq(e->live_rate[LIMITS_DOWN], 0);
}
END_TEST

START_TEST(test_restore)
{
	static const char *const kv[] = { "quota", "10M", "quota_period", "rolling 3", NULL };
	const struct limits_class *c = class_of("r", kv);
	const struct period day = { PERIOD_DAY, 0 };
	uint64_t slots[3] = { 1 * MIB, 2 * MIB, 4 * MIB };
	struct usage_entry *e;

	/* saved yesterday: its newest slot is now one day old, its oldest drops out */
	ck_assert_int_eq(usage_restore(t, "jo", 2, &c->period, T0 - DAY, slots, 3, T0 + 5), 0);
	e = usage_find(t, "jo", 2);
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(e->cls);                     /* dormant until claimed */
	ck_assert_ptr_eq(usage_get(t, "jo", 2, c, 0, T0 + 5), e);
	ck_assert_uint_eq(e->used, 3 * MIB);
	ck_assert_uint_eq(usage_quota_left(t, e, T0 + 5), 7 * MIB);
	/* a record of a past day for a daily quota is moot */
	ck_assert_int_eq(usage_restore(t, "kim", 3, &day, T0 - DAY, slots, 1, T0 + 5), 0);
	ck_assert_uint_eq(usage_find(t, "kim", 3)->used, 0);
	ck_assert_uint_eq(usage_prune(t), 1);
	/* today's counts */
	ck_assert_int_eq(usage_restore(t, "kim", 3, &day, T0, slots, 1, T0 + 5), 0);
	ck_assert_uint_eq(usage_find(t, "kim", 3)->used, MIB);
	/* records that do not fit their period */
	ck_assert_int_eq(usage_restore(t, "x", 1, &day, T0, slots, 2, T0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(usage_restore(t, "x", 1, &day, T0 + 5, slots, 1, T0), -1);
	ck_assert(usage_dirty(t));
	usage_clear_dirty(t);
	ck_assert(!usage_dirty(t));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("limits_usage");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unlimited_has_no_entry);
	tcase_add_test(tc, test_sessions_per_user);
	tcase_add_test(tc, test_sessions_per_address);
	tcase_add_test(tc, test_quota_refuse_and_roll);
	tcase_add_test(tc, test_quota_driven_by_test_clock);
	tcase_add_test(tc, test_quota_throttle_and_close);
	tcase_add_test(tc, test_rolling_window);
	tcase_add_test(tc, test_reclass_live);
	tcase_add_test(tc, test_reclass_all);
	tcase_add_test(tc, test_live_rate);
	tcase_add_test(tc, test_restore);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
