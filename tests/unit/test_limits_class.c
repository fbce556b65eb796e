/* Unit tests for limits_class: every key, refused values with their reason, whole-class checks, the table. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "limits/limits_class.h"

static char err[256];

static void set_ok(struct limits_class *c, const char *key, const char *value)
{
	ck_assert_msg(limits_class_set(c, key, value, err, sizeof(err)) == 0, "%s = %s: %s",
		      key, value, err);
}

static const char *set_bad(struct limits_class *c, const char *key, const char *value)
{
	err[0] = '\0';
	ck_assert_msg(limits_class_set(c, key, value, err, sizeof(err)) == -1,
		      "%s = %s accepted", key, value);
	ck_assert(err[0] != '\0');
	return err;
}

/* The README's example: basic at 10 MiB/s, 20 sessions, 50 GiB a month. */
START_TEST(test_basic_class)
{
	struct limits_class c;
	const char *key = NULL;

	limits_class_init(&c, "basic");
	ck_assert(!limits_class_limited(&c));
	set_ok(&c, "upload_rate", "10M");
	set_ok(&c, "download_rate", "10MiB/s");
	set_ok(&c, "max_sessions", "20");
	set_ok(&c, "quota", "50G");
	set_ok(&c, "quota_period", "month");
	ck_assert_int_eq(limits_class_check(&c, &key, err, sizeof(err)), 0);
	ck_assert(limits_class_limited(&c));
	ck_assert_uint_eq(c.rate[LIMITS_UP], 10 << 20);
	ck_assert_uint_eq(c.rate[LIMITS_DOWN], 10 << 20);
	ck_assert_uint_eq(c.burst[LIMITS_UP], 0);
	ck_assert_uint_eq(c.max_sessions, 20);
	ck_assert_uint_eq(c.quota, 50ULL << 30);
	ck_assert_int_eq(c.period.kind, PERIOD_MONTH);
	ck_assert_int_eq(c.action, LIMITS_REFUSE);
}
END_TEST

START_TEST(test_every_key)
{
	struct limits_class c;
	const char *key = NULL;

	limits_class_init(&c, "all");
	set_ok(&c, "upload_rate", "1M");
	set_ok(&c, "download_rate", "2M");
	set_ok(&c, "upload_burst", "64K");
	set_ok(&c, "download_burst", "128K");
	set_ok(&c, "max_sessions", "3");
	set_ok(&c, "max_sessions_per_address", "5");
	set_ok(&c, "quota", "10M");
	set_ok(&c, "quota_period", "rolling 30");
	set_ok(&c, "quota_action", "throttle");
	set_ok(&c, "quota_throttle_rate", "8K");
	ck_assert_int_eq(limits_class_check(&c, &key, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.burst[LIMITS_DOWN], 128 << 10);
	ck_assert_uint_eq(c.max_sessions_per_address, 5);
	ck_assert_uint_eq(c.period.days, 30);
	ck_assert_int_eq(c.action, LIMITS_THROTTLE);
	ck_assert_uint_eq(c.throttle_rate, 8 << 10);
	ck_assert_str_eq(limits_class_action_name(c.action), "throttle");
}
END_TEST

START_TEST(test_refused_values)
{
	struct limits_class c;

	limits_class_init(&c, "bad");
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "upload_rate", "-1M"), "negative"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "download_rate", "9P"), "rate"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "download_rate", "2048T"), "too large"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "upload_burst", "1K"), "at least 4K"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "quota", "lots"), "not a size"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "quota", "-10G"), "negative"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "quota_period", "fortnight"), "not a period"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "quota_action", "drop"), "not an action"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "quota_throttle_rate", "0"), "stall"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "max_sessions", "1000001"), "more than"));
	ck_assert_ptr_nonnull(strstr(set_bad(&c, "max_sessions", "3.5"), "whole number"));
	ck_assert_str_eq(set_bad(&c, "rate", "1M"), "unknown key");
	/* nothing refused was stored */
	ck_assert(!limits_class_limited(&c));
}
END_TEST

static const char *check_bad(const struct limits_class *c)
{
	const char *key = NULL;

	ck_assert_int_eq(limits_class_check(c, &key, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(key);
	return key;
}

START_TEST(test_whole_class)
{
	struct limits_class c;

	limits_class_init(&c, "x");
	set_ok(&c, "download_burst", "64K");
	ck_assert_str_eq(check_bad(&c), "download_burst");
	ck_assert_ptr_nonnull(strstr(err, "download_rate"));

	limits_class_init(&c, "x");
	set_ok(&c, "quota_period", "week");
	ck_assert_str_eq(check_bad(&c), "quota_period");
	ck_assert_ptr_nonnull(strstr(err, "without a quota"));

	limits_class_init(&c, "x");
	set_ok(&c, "quota", "1G");
	set_ok(&c, "quota_throttle_rate", "4K");
	ck_assert_str_eq(check_bad(&c), "quota_throttle_rate");

	limits_class_init(&c, "x");
	set_ok(&c, "quota", "0");   /* 0: no quota, same as absent */
	ck_assert(!limits_class_limited(&c));
}
END_TEST

START_TEST(test_table)
{
	struct limits_class_table t;
	struct limits_class *c;

	ck_assert_int_eq(limits_class_table_init(&t), 0);
	ck_assert_uint_eq(t.len, 1);
	ck_assert_str_eq(t.list[0].name, "default");
	ck_assert(!limits_class_limited(&t.list[0]));
	ck_assert_ptr_eq(limits_class_table_get(&t, "default", err, sizeof(err)), &t.list[0]);
	for (int i = 0; i < 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%d", i);
		c = limits_class_table_get(&t, name, err, sizeof(err));
		ck_assert_ptr_nonnull(c);
		ck_assert_str_eq(c->name, name);
	}
	ck_assert_uint_eq(t.len, 11);
	ck_assert_ptr_nonnull(limits_class_table_find(&t, "c9"));
	ck_assert_ptr_null(limits_class_table_find(&t, "c10"));
	ck_assert_ptr_null(limits_class_table_get(&t, "bad name", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "invalid class name"));
	ck_assert_ptr_null(limits_class_table_get(&t, "", err, sizeof(err)));
	ck_assert_ptr_null(limits_class_table_get(&t, "a23456789012345678901234567890123",
						  err, sizeof(err)));
	ck_assert_ptr_nonnull(limits_class_table_get(&t, "a2345678901234567890123456789012",
						     err, sizeof(err)));
	limits_class_table_free(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("limits_class");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_basic_class);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_refused_values);
	tcase_add_test(tc, test_whole_class);
	tcase_add_test(tc, test_table);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
