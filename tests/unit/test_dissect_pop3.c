/* Unit tests for the POP3 dissector. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "dissect_harness.h"

/* curl -u 'alice:s3 cr:et' pop3://HOST/ against a server offering USER only */
START_TEST(test_curl_user_pass)
{
	static const struct harness_step t[] = {
		S("+OK ready\r\n"), C("CAPA\r\n"), S("+OK\r\nUSER\r\n.\r\n"),
		C("USER alice\r\n"), S("+OK\r\n"), C("PASS s3 cr:et\r\n"), S("+OK\r\n"),
		C("LIST\r\n"), S("+OK\r\n.\r\n"), C("QUIT\r\n"), S("+OK bye\r\n"),
	};

	harness_check(t, NSTEPS(t), 110, "POP3 alice s3 cr:et ok\n", true);
}
END_TEST

/* curl against a server offering SASL PLAIN: AUTH PLAIN, "+ ", response */
START_TEST(test_curl_auth_plain)
{
	static const struct harness_step t[] = {
		S("+OK ready\r\n"), C("CAPA\r\n"), S("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"),
		C("AUTH PLAIN\r\n"), S("+ \r\n"), C("AGFsaWNlAHMzIGNyOmV0\r\n"), S("+OK\r\n"),
		C("LIST\r\n"), S("+OK\r\n.\r\n"),
	};

	harness_check(t, NSTEPS(t), 110, "POP3 alice s3 cr:et ok\n", true);
}
END_TEST

START_TEST(test_auth_plain_initial_response)
{
	static const struct harness_step t[] = {
		S("+OK ready\r\n"), C("auth plain AGFsaWNlAHMzIGNyOmV0\r\n"), S("-ERR no\r\n"),
		C("AUTH PLAIN AGJvYgB4\r\n"), S("+OK\r\n"),
	};

	harness_check(t, NSTEPS(t), 110, "POP3 alice s3 cr:et fail\nPOP3 bob x ok\n", true);
}
END_TEST

START_TEST(test_auth_login)
{
	static const struct harness_step t[] = {
		S("+OK ready\r\n"), C("AUTH LOGIN\r\n"), S("+ VXNlcm5hbWU6\r\n"),
		C("YWxpY2U=\r\n"), S("+ UGFzc3dvcmQ6\r\n"), C("czNjcmV0\r\n"), S("+OK\r\n"),
	};

	harness_check(t, NSTEPS(t), 110, "POP3 alice s3cret ok\n", true);
}
END_TEST

/* Case-insensitive commands, everything pipelined in one write, a failure then success. */
START_TEST(test_pipelined_fail_then_ok)
{
	static const struct harness_step t[] = {
		S("+OK ready\r\n"),
		C("capa\r\nuser bob\r\npass wrong\r\nUsEr bob\r\nPaSs right\r\n"),
		S("+OK\r\nUSER\r\n+OK not a reply\r\n.\r\n+OK\r\n-ERR bad\r\n+OK\r\n+OK in\r\n"),
	};

	harness_check(t, NSTEPS(t), 110, "POP3 bob wrong fail\nPOP3 bob right ok\n", true);
}
END_TEST

START_TEST(test_unanswered_reported_on_close)
{
	static const struct harness_step t[] = {
		S("+OK ready\r\n"), C("USER alice\nPASS pw\n"), S("+OK\n"),
	};

	harness_check(t, NSTEPS(t), 110, "POP3 alice pw ?\n", false);
}
END_TEST

/* commands sent behind the SOCKS request, before the greeting */
START_TEST(test_pipelined_before_greeting)
{
	static const struct harness_step t[] = {
		C("USER alice\r\nPASS bad\r\n"), S("+OK ready\r\n+OK\r\n-ERR no\r\n"),
	};

	harness_check(t, NSTEPS(t), 110, "POP3 alice bad fail\n", false);
}
END_TEST

START_TEST(test_oversized_line_skipped)
{
	static struct harness_step t[4];
	static char big[3000];

	memset(big, 'A', sizeof(big));
	memcpy(big, "NOOP ", 5);
	big[sizeof(big) - 2] = '\r';
	big[sizeof(big) - 1] = '\n';
	t[0] = (struct harness_step)S("+OK ready\r\n");
	t[1] = (struct harness_step){ DISSECT_TO_SERVER, big, sizeof(big) };
	t[2] = (struct harness_step)C("USER u\r\nPASS \xc3\xa9t\xff\r\n");
	t[3] = (struct harness_step)S("-ERR line too long\r\n+OK\r\n+OK\r\n");
	harness_check(t, 4, 110, "POP3 u \\xc3\\xa9t\\xff ok\n", true);
}
END_TEST

START_TEST(test_stls_stops)
{
	static const struct harness_step t[] = {
		S("+OK ready\r\n"), C("STLS\r\n"), S("+OK begin TLS\r\n"), C("\x16\x03\x01garbage"),
	};

	harness_check(t, NSTEPS(t), 110, "", true);
}
END_TEST

START_TEST(test_garbage)
{
	static const struct harness_step t[] = {
		S("\x00\xff garbage\r\n+\r\n+ \r\n"), C("\x00\x01\x02\r\nAUTH PLAIN ###\r\nPASS\r\n"),
		S("+OK\r\n-ERR\r\n+OK\r\n"), C("\r\n\n\n"),
	};

	harness_check(t, NSTEPS(t), 110, "POP3   ok\n", true);
}
END_TEST

static Suite *pop3_suite(void)
{
	Suite *s = suite_create("dissect_pop3");
	TCase *tc = tcase_create("pop3");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_curl_user_pass);
	tcase_add_test(tc, test_curl_auth_plain);
	tcase_add_test(tc, test_auth_plain_initial_response);
	tcase_add_test(tc, test_auth_login);
	tcase_add_test(tc, test_pipelined_fail_then_ok);
	tcase_add_test(tc, test_unanswered_reported_on_close);
	tcase_add_test(tc, test_pipelined_before_greeting);
	tcase_add_test(tc, test_oversized_line_skipped);
	tcase_add_test(tc, test_stls_stops);
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(pop3_suite());
}
