/* Unit tests for the FTP dissector. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "dissect_harness.h"

/* curl -u 'bob:pa ss' ftp://HOST/x, with a multi-line 230 */
START_TEST(test_curl_login)
{
	static const struct harness_step t[] = {
		S("220 hi\r\n"), C("USER bob\r\n"), S("331 Password required\r\n"),
		C("PASS pa ss\r\n"), S("230-Welcome\r\n230-more\r\n230 Logged in\r\n"),
		C("PWD\r\n"), S("257 \"/\"\r\n"),
	};

	harness_check(t, NSTEPS(t), 21, "FTP bob pa ss ok\n", true);
}
END_TEST

START_TEST(test_fail_then_ok_multiline_greeting)
{
	static const struct harness_step t[] = {
		S("220-Welcome\r\n230 not the end\r\n220 ready\r\n"),
		C("user bob\r\npass bad\r\n"),
		S("331 Password required\r\n530-Login\r\n 530 inside\r\n530 incorrect\r\n"),
		C("USER bob\r\nPASS good\r\n"), S("331 ok\r\n230 in\r\n"),
	};

	harness_check(t, NSTEPS(t), 21, "FTP bob bad fail\nFTP bob good ok\n", true);
}
END_TEST

/* commands sent behind the SOCKS request, before a delayed greeting */
START_TEST(test_pipelined_before_greeting)
{
	static const struct harness_step t[] = {
		C("USER bob\r\nPASS bad\r\n"),
		S("120 wait\r\n220-hi\r\n220 ready\r\n331 ok\r\n530 no\r\n"),
	};

	harness_check(t, NSTEPS(t), 21, "FTP bob bad fail\n", false);
}
END_TEST

START_TEST(test_preliminary_and_close)
{
	static const struct harness_step t[] = {
		S("120 wait\r\n220 ready\r\n"), C("USER a:b\r\n"), S("331 ok\r\n"),
		C("PASS p:q \xfe\r\n"), S("150 not final\r\n"),
	};

	harness_check(t, NSTEPS(t), 21, "FTP a:b p:q \\xfe ?\n", false);
}
END_TEST

START_TEST(test_auth_tls_stops)
{
	static const struct harness_step t[] = {
		S("220 ready\r\n"), C("AUTH TLS\r\n"), S("234 go\r\n"), C("\x16\x03\x01"),
	};

	harness_check(t, NSTEPS(t), 21, "", true);
}
END_TEST

START_TEST(test_oversized_and_garbage)
{
	static struct harness_step t[4];
	static char big[5000];

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	t[0] = (struct harness_step)S("220 \x00\xff\r\n999-\r\n12\r\n999 \r\n");
	t[1] = (struct harness_step){ DISSECT_TO_SERVER, big, sizeof(big) };
	t[2] = (struct harness_step)C("USER u\nPASS p\n");
	t[3] = (struct harness_step)S("500 too long\n331 ok\n530 no\n");
	harness_check(t, 4, 21, "FTP u p fail\n", false);
}
END_TEST

static Suite *ftp_suite(void)
{
	Suite *s = suite_create("dissect_ftp");
	TCase *tc = tcase_create("ftp");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_curl_login);
	tcase_add_test(tc, test_fail_then_ok_multiline_greeting);
	tcase_add_test(tc, test_pipelined_before_greeting);
	tcase_add_test(tc, test_preliminary_and_close);
	tcase_add_test(tc, test_auth_tls_stops);
	tcase_add_test(tc, test_oversized_and_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(ftp_suite());
}
