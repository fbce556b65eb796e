/* Unit tests for period: UTC day, ISO week, month and rolling slots, at their boundaries. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "limits/period.h"

/* 2026-12-06 (a Sunday) 10:59:00 UTC, and other fixed instants */
#define T_SUN 1796554740LL
#define D_20261206 1796515200LL   /* 2026-12-06 00:00 */
#define D_20261130 1795996800LL   /* Monday 2026-11-30 00:00 */
#define D_20261201 1796083200LL
#define D_20270101 1798761600LL
#define D_20240201 1706745600LL
#define D_20240301 1709251200LL   /* 2024 is a leap year: February has 29 days */

static struct period parse_ok(const char *s)
{
	struct period p;
	char err[160];

	ck_assert_msg(period_parse(s, &p, err, sizeof(err)) == 0, "%s: %s", s, err);
	return p;
}

START_TEST(test_parse)
{
	struct period p;
	char err[160], buf[32];

	ck_assert_int_eq(parse_ok("day").kind, PERIOD_DAY);
	ck_assert_int_eq(parse_ok("week").kind, PERIOD_WEEK);
	ck_assert_int_eq(parse_ok("month").kind, PERIOD_MONTH);
	p = parse_ok("rolling 30");
	ck_assert_int_eq(p.kind, PERIOD_ROLLING);
	ck_assert_uint_eq(p.days, 30);
	ck_assert_uint_eq(period_slots(&p), 30);
	ck_assert_uint_eq(parse_ok("rolling 7d").days, 7);
	period_format(&p, buf, sizeof(buf));
	ck_assert_str_eq(buf, "rolling 30");
	ck_assert_int_eq(period_parse("rolling 0", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(period_parse("rolling 367", &p, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "1 to 366"));
	ck_assert_int_eq(period_parse("rolling -3", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(period_parse("year", &p, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a period"));
	ck_assert_int_eq(period_parse("rolling", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(period_parse("Day", &p, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_day_and_week)
{
	struct period day = { PERIOD_DAY, 0 }, week = { PERIOD_WEEK, 0 };

	ck_assert_int_eq(period_slot_start(&day, T_SUN), D_20261206);
	ck_assert_int_eq(period_slot_start(&day, D_20261206), D_20261206);
	ck_assert_int_eq(period_slot_start(&day, D_20261206 - 1), D_20261206 - 86400);
	ck_assert_int_eq(period_slot_next(&day, D_20261206), D_20261206 + 86400);
	/* the ISO week of a Sunday began on the Monday six days before */
	ck_assert_int_eq(period_slot_start(&week, T_SUN), D_20261130);
	ck_assert_int_eq(period_slot_start(&week, D_20261130), D_20261130);
	ck_assert_int_eq(period_slot_start(&week, D_20261130 - 1), D_20261130 - 7 * 86400);
	ck_assert_int_eq(period_slot_next(&week, D_20261130), D_20261130 + 7 * 86400);
	/* 1970-01-01 was a Thursday: its week began on 1969-12-29 */
	ck_assert_int_eq(period_slot_start(&week, 0), -3 * 86400);
	ck_assert_uint_eq(period_slots_between(&week, D_20261130, D_20261130 + 14 * 86400), 2);
}
END_TEST

START_TEST(test_month)
{
	struct period m = { PERIOD_MONTH, 0 };

	ck_assert_int_eq(period_slot_start(&m, T_SUN), D_20261201);
	ck_assert_int_eq(period_slot_start(&m, D_20261201), D_20261201);
	ck_assert_int_eq(period_slot_start(&m, D_20261201 - 1), D_20261201 - 30 * 86400);
	ck_assert_int_eq(period_slot_next(&m, D_20261201), D_20270101);
	ck_assert_int_eq(period_slot_start(&m, D_20270101 - 1), D_20261201);
	ck_assert_int_eq(period_slot_next(&m, D_20240201), D_20240301);
	ck_assert_int_eq(period_slot_start(&m, D_20240301 - 1), D_20240201);
	ck_assert_int_eq(period_slot_start(&m, 0), 0);
	ck_assert_uint_eq(period_slots_between(&m, D_20261201, D_20270101), 1);
	ck_assert_uint_eq(period_slots_between(&m, D_20261201, D_20261201), 0);
}
END_TEST

/* Every month start from 1970 to 2100 is the next of the one before, and its own start. */
START_TEST(test_month_walk)
{
	struct period m = { PERIOD_MONTH, 0 };
	int64_t s = 0;

	for (int i = 0; i < 130 * 12; i++) {
		int64_t next = period_slot_next(&m, s);
		int64_t days = (next - s) / 86400;

		ck_assert_int_eq((next - s) % 86400, 0);
		ck_assert_msg(days >= 28 && days <= 31, "month %d: %lld days", i, (long long)days);
		ck_assert_int_eq(period_slot_start(&m, next - 1), s);
		ck_assert_int_eq(period_slot_start(&m, next), next);
		s = next;
	}
	ck_assert_int_eq(s, 4102444800LL);   /* 2100-01-01 */
}
END_TEST

START_TEST(test_rolling)
{
	struct period r = { PERIOD_ROLLING, 30 };

	ck_assert_int_eq(period_slot_start(&r, T_SUN), D_20261206);
	ck_assert_int_eq(period_slot_next(&r, D_20261206), D_20261206 + 86400);
	ck_assert_uint_eq(period_slots_between(&r, D_20261206 - 3 * 86400, D_20261206), 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("limits_period");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_day_and_week);
	tcase_add_test(tc, test_month);
	tcase_add_test(tc, test_month_walk);
	tcase_add_test(tc, test_rolling);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
