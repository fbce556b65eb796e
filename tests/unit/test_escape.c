/* Unit tests for the one escaper of network text in logs (core/escape). */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "core/escape.h"

START_TEST(forged_lines_stay_one_line)
{
	char out[ESCAPE_SIZE(64)];

	/* LF and ESC from a destination name: a fake line and a terminal escape */
	escape_str(out, sizeof(out), "a.test\nsocks5d[1]: info: forged\x1b[2J");
	ck_assert_str_eq(out, "a.test\\nsocks5d[1]: info: forged\\x1b[2J");
	ck_assert_ptr_null(strchr(out, '\n'));
	ck_assert_str_eq(escape_str(out, sizeof(out), NULL), "-");
	ck_assert_str_eq(escape_text(out, sizeof(out), "\r\0\xff", 3), "\\x0d\\x00\\xff");
}
END_TEST

START_TEST(worst_case_fits_escape_size)
{
	char src[255], out[ESCAPE_SIZE(255)];

	memset(src, 0x01, sizeof(src));
	escape_text(out, sizeof(out), src, sizeof(src));
	ck_assert_uint_eq(strlen(out), 4 * sizeof(src));
	/* one short: the last escape is left out whole */
	escape_text(out, sizeof(out) - 1, src, sizeof(src));
	ck_assert_uint_eq(strlen(out), 4 * (sizeof(src) - 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, forged_lines_stay_one_line);
	tcase_add_test(tc, worst_case_fits_escape_size);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
