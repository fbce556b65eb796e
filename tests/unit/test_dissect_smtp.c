/* Unit tests for the SMTP dissector. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "dissect_harness.h"

/* curl smtp:// --login-options AUTH=PLAIN against a server offering it (SASL-IR) */
START_TEST(test_curl_auth_plain)
{
	static const struct harness_step t[] = {
		S("220 mx.example ESMTP ready\r\n"), C("EHLO client\r\n"),
		S("250-mx.example\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"),
		C("AUTH PLAIN AGFsaWNlAHMzIGNyOmV0\r\n"), S("235 2.7.0 Authentication successful\r\n"),
		C("MAIL FROM:<a@example>\r\n"),
	};

	harness_check(t, NSTEPS(t), 587, "SMTP alice s3 cr:et ok\n", true);
}
END_TEST

/* AUTH PLAIN by continuation, failed (535), then AUTH LOGIN by continuations */
START_TEST(test_plain_then_login)
{
	static const struct harness_step t[] = {
		S("220-mx.example ESMTP\r\n220 more greeting\r\n"), C("EHLO c\r\n"),
		S("250-mx\r\n250 AUTH LOGIN PLAIN\r\n"),
		C("AUTH PLAIN\r\n"), S("334 \r\n"), C("AGJvYgB3cm9uZw==\r\n"),
		S("535 5.7.8 Authentication credentials invalid\r\n"),
		C("auth login\r\n"), S("334 VXNlcm5hbWU6\r\n"), C("Ym9i\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
		C("cmlnaHQ=\r\n"), S("235 ok\r\n"),
	};

	harness_check(t, NSTEPS(t), 25, "SMTP bob wrong fail\nSMTP bob right ok\n", true);
}
END_TEST

/* AUTH LOGIN with the user as initial response; a 454 (4xx) is a failure too */
START_TEST(test_login_initial_response)
{
	static const struct harness_step t[] = {
		S("220 mx\r\n"), C("EHLO c\r\n"), S("250 AUTH LOGIN\r\n"),
		C("AUTH LOGIN Y2Fyb2w=\r\n"), S("334 UGFzc3dvcmQ6\r\n"), C("eHl6\r\n"),
		S("454 4.7.0 Temporary authentication failure\r\n"),
		C("AUTH LOGIN Y2Fyb2w=\r\n"), S("334 UGFzc3dvcmQ6\r\n"), C("eHl6\r\n"), S("235 ok\r\n"),
	};

	harness_check(t, NSTEPS(t), 25, "SMTP carol xyz fail\nSMTP carol xyz ok\n", true);
}
END_TEST

/* Pipelined commands (RFC 2920) meet their replies in order; a cancel and
 * other mechanisms report nothing */
START_TEST(test_pipelined_cancel_other)
{
	static const struct harness_step t[] = {
		S("220 mx\r\n"), C("EHLO c\r\nNOOP\r\nAUTH LOGIN\r\n"),
		S("250-mx\r\n250-PIPELINING\r\n250 AUTH LOGIN CRAM-MD5\r\n250 ok\r\n334 VXNlcm5hbWU6\r\n"),
		C("*\r\n"), S("501 5.0.0 cancelled\r\n"),
		C("AUTH CRAM-MD5\r\n"), S("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+\r\n"),
		C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"), S("535 no\r\n"),
		C("AUTH PLAIN AHUAcA==\r\nRSET\r\n"), S("535 no\r\n250 ok\r\n"),
	};

	harness_check(t, NSTEPS(t), 25, "SMTP u p fail\n", false);
}
END_TEST

/* STARTTLS accepted: nothing more is readable, the flow is left alone */
START_TEST(test_starttls)
{
	static const struct harness_step t[] = {
		S("220 mx ESMTP\r\n"), C("EHLO c\r\n"), S("250-mx\r\n250 STARTTLS\r\n"),
		C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
		C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 AUTH PLAIN AHUAcA==\r\n"),
	};
	static const struct harness_step refused[] = {
		S("220 mx ESMTP\r\n"), C("STARTTLS\r\n"), S("454 TLS not available\r\n"),
		C("AUTH PLAIN AHUAcA==\r\n"), S("235 ok\r\n"),
	};

	harness_check(t, NSTEPS(t), 587, "", true);
	harness_check(refused, NSTEPS(refused), 587, "SMTP u p ok\n", true);
}
END_TEST

/* A message (DATA) ends the inspection; BDAT chunks are skipped by size */
START_TEST(test_data_and_bdat)
{
	static const struct harness_step data[] = {
		S("220 mx\r\n"), C("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
		S("250 ok\r\n250 ok\r\n354 go ahead\r\n"), C("AUTH PLAIN AHUAcA==\r\n.\r\n"),
		S("235 ok\r\n"),
	};
	static const struct harness_step bdat[] = {
		S("220 mx\r\n"), C("BDAT 22\r\nAUTH PLAIN AHUAcA==\r\n"), S("250 ok\r\n"),
		C("BDAT 0 LAST\r\nAUTH PLAIN AHYAcQ==\r\n"), S("250 ok\r\n235 ok\r\n"),
	};

	harness_check(data, NSTEPS(data), 25, "", true);
	harness_check(bdat, NSTEPS(bdat), 25, "SMTP v q ok\n", true);
}
END_TEST

/* Recognised by its greeting on a port watched for another protocol */
START_TEST(test_greeting_elsewhere)
{
	static const struct harness_step t[] = {
		S("220 mx.example ESMTP Postfix\r\n"), C("EHLO c\r\n"), S("250 AUTH PLAIN\r\n"),
		C("AUTH PLAIN AHUAcA==\r\n"), S("235 ok\r\n"),
	};

	harness_check(t, NSTEPS(t), 143, "SMTP u p ok\n", true);
	harness_check(t, NSTEPS(t), 110, "SMTP u p ok\n", true);
}
END_TEST

START_TEST(test_garbage)
{
	static struct harness_step t[4];
	static char big[3000];

	memset(big, 'A', sizeof(big));
	memcpy(big, "AUTH PLAIN ", 11);
	memcpy(big + sizeof(big) - 2, "\r\n", 2);
	t[0] = (struct harness_step)S("220 mx\r\n");
	t[1] = (struct harness_step){ DISSECT_TO_SERVER, big, sizeof(big) };
	t[2] = (struct harness_step)C("AUTH\r\nAUTH PLAIN !!\r\nAUTH LOGIN\r\n\xff\r\n\r\n"
				      "BDAT x\r\nBDAT 99999999999999999999999\r\n");
	t[3] = (struct harness_step)S("\x00\r\n99 x\r\n2345\r\n500 a\r\n535 b\r\n334 c\r\n"
				      "535 d\r\n500 e\r\n500 f\r\n");
	harness_check(t, NSTEPS(t), 25, "", false);
}
END_TEST

static Suite *smtp_suite(void)
{
	Suite *s = suite_create("dissect_smtp");
	TCase *tc = tcase_create("smtp");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_curl_auth_plain);
	tcase_add_test(tc, test_plain_then_login);
	tcase_add_test(tc, test_login_initial_response);
	tcase_add_test(tc, test_pipelined_cancel_other);
	tcase_add_test(tc, test_starttls);
	tcase_add_test(tc, test_data_and_bdat);
	tcase_add_test(tc, test_greeting_elsewhere);
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(smtp_suite());
}
