/* Unit tests for units: decimals, sizes and rates with binary suffixes, and what is refused. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "limits/units.h"

static uint64_t size_ok(const char *s)
{
	char err[160] = "";
	uint64_t v = 12345;

	ck_assert_msg(units_size(s, &v, err, sizeof(err)) == 0, "%s: %s", s, err);
	return v;
}

static const char *size_bad(const char *s)
{
	static char err[160];
	uint64_t v = 12345;

	err[0] = '\0';
	ck_assert_msg(units_size(s, &v, err, sizeof(err)) == -1, "%s accepted", s);
	ck_assert_uint_eq(v, 12345);
	ck_assert_msg(err[0] != '\0', "%s: no reason", s);
	return err;
}

START_TEST(test_sizes_binary)
{
	ck_assert_uint_eq(size_ok("0"), 0);
	ck_assert_uint_eq(size_ok("1000"), 1000);
	ck_assert_uint_eq(size_ok("1K"), 1024);
	ck_assert_uint_eq(size_ok("1k"), 1024);
	ck_assert_uint_eq(size_ok("10M"), 10ULL << 20);
	ck_assert_uint_eq(size_ok("10MiB"), 10ULL << 20);
	ck_assert_uint_eq(size_ok("10MB"), 10ULL << 20);
	ck_assert_uint_eq(size_ok("50G"), 50ULL << 30);
	ck_assert_uint_eq(size_ok("2T"), 2ULL << 40);
	ck_assert_uint_eq(size_ok("1.5G"), 3ULL << 29);
	ck_assert_uint_eq(size_ok("0.5K"), 512);
	ck_assert_uint_eq(size_ok("512B"), 512);
	ck_assert_uint_eq(size_ok("  7K \t"), 7168);
	ck_assert_uint_eq(size_ok("1024T"), UNITS_MAX);
}
END_TEST

START_TEST(test_sizes_refused)
{
	ck_assert_ptr_nonnull(strstr(size_bad("-1"), "negative"));
	ck_assert_ptr_nonnull(strstr(size_bad("-5M"), "negative"));
	ck_assert_ptr_nonnull(strstr(size_bad("1025T"), "too large"));
	ck_assert_ptr_nonnull(strstr(size_bad("99999999999999999999999"), "too large"));
	ck_assert_ptr_nonnull(strstr(size_bad("1125899906842625"), "too large"));
	ck_assert_ptr_nonnull(strstr(size_bad(""), "not a size"));
	size_bad("M");
	size_bad("1X");
	size_bad("1 M");
	size_bad("1e6");
	size_bad("0x10");
	size_bad("1.5");      /* a fraction of a byte */
	size_bad("1.K");
	size_bad(".5K");
	size_bad("1M/s");     /* a size is not a rate */
	size_bad("1KK");
	size_bad("+1");
}
END_TEST

START_TEST(test_rates)
{
	char err[160];
	uint64_t v;

	ck_assert_int_eq(units_rate("1M", &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 1 << 20);
	ck_assert_int_eq(units_rate("10MiB/s", &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 10 << 20);
	ck_assert_int_eq(units_rate("512K/s", &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 512 << 10);
	ck_assert_int_eq(units_rate("-1M", &v, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "negative rate"));
	ck_assert_int_eq(units_rate("2P", &v, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "per second"));
	ck_assert_int_eq(units_rate("2000T", &v, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too large"));
	ck_assert_int_eq(units_rate("1M/h", &v, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_decimal)
{
	char err[160];
	uint64_t v;

	ck_assert_int_eq(units_decimal("42", 100, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(units_decimal("101", 100, &v, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than 100"));
	ck_assert_int_eq(units_decimal("4K", 100000, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(units_decimal("-4", 100, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(units_decimal("", 100, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(units_decimal("18446744073709551616", UINT64_MAX, &v, err,
				       sizeof(err)), -1);
	ck_assert_int_eq(units_decimal("18446744073709551615", UINT64_MAX, &v, err,
				       sizeof(err)), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

START_TEST(test_format_round_trip)
{
	static const uint64_t values[] = { 0, 7, 1024, 1536 << 10, 10ULL << 20, 50ULL << 30,
					   3ULL << 40, UNITS_MAX, 1000 };
	static const char *const texts[] = { "0", "7", "1K", "1536K", "10M", "50G", "3T",
					     "1024T", "1000" };
	char buf[32];

	for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
		units_format(values[i], buf, sizeof(buf));
		ck_assert_str_eq(buf, texts[i]);
		ck_assert_uint_eq(size_ok(buf), values[i]);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("limits_units");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sizes_binary);
	tcase_add_test(tc, test_sizes_refused);
	tcase_add_test(tc, test_rates);
	tcase_add_test(tc, test_decimal);
	tcase_add_test(tc, test_format_round_trip);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
