/* Unit tests for the IMAP dissector. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "dissect_harness.h"

/* curl -u 'carol:pw"q\x' imap://HOST/INBOX: a quoted string with escapes */
START_TEST(test_curl_login_quoted)
{
	static const struct harness_step t[] = {
		S("* OK ready\r\n"), C("A001 CAPABILITY\r\n"),
		S("* CAPABILITY IMAP4rev1\r\nA001 OK done\r\n"),
		C("A002 LOGIN carol \"pw\\\"q\\\\x\"\r\n"), S("A002 OK done\r\n"),
		C("A003 LIST \"INBOX\" *\r\n"),
	};

	harness_check(t, NSTEPS(t), 143, "IMAP carol pw\"q\\x5cx ok\n", true);
}
END_TEST

START_TEST(test_literals)
{
	static const struct harness_step t[] = {
		S("* OK ready\r\n"), C("a1 login {5}\r\n"), S("+ go ahead\r\n"),
		C("a b c {4+}\r\np\r\n\r\r\n"), S("* BYE\r\na1 NO [AUTHENTICATIONFAILED] no\r\n"),
		C("a2 LOGIN atom \"with space\"\r\n"), S("a2 OK\r\n"),
	};

	harness_check(t, NSTEPS(t), 143,
		      "IMAP a b c p\\x0d\\x0a\\x0d fail\nIMAP atom with space ok\n", true);
}
END_TEST

/* A literal refused before it was sent: the next line is a new command. */
START_TEST(test_literal_refused)
{
	static const struct harness_step t[] = {
		S("* OK ready\r\n"), C("t1 LOGIN {9999}\r\n"), S("t1 BAD too big\r\n"),
		C("t2 LOGIN u p\r\n"), S("* 1 FETCH (BODY[] {13}\r\nt2 OK forged\r\n)\r\nt2 NO\r\n"),
	};

	harness_check(t, NSTEPS(t), 143, "IMAP u p fail\n", false);
}
END_TEST

START_TEST(test_authenticate_plain)
{
	static const struct harness_step t[] = {
		S("* OK ready\r\n"), C("A1 AUTHENTICATE PLAIN\r\n"), S("+ \r\n"),
		C("AGFsaWNlAHMzIGNyOmV0\r\n"), S("A1 NO bad\r\n"),
		C("A2 authenticate plain AGJvYgB4\r\n"), S("A2 OK\r\n"),
	};

	harness_check(t, NSTEPS(t), 143, "IMAP alice s3 cr:et fail\nIMAP bob x ok\n", true);
}
END_TEST

START_TEST(test_unanswered_and_oversized)
{
	static struct harness_step t[3];
	static char big[2500];

	memset(big, 'z', sizeof(big));
	memcpy(big, "x1 LOGIN ", 9);
	big[sizeof(big) - 1] = '\n';
	t[0] = (struct harness_step){ DISSECT_TO_SERVER, big, sizeof(big) };
	t[1] = (struct harness_step)C("x2 LOGIN \xc3\xa9l\xc3\xa8ve {3+}\r\n\x00\xff:\r\n");
	t[2] = (struct harness_step)S("x1 BAD line too long\r\n* OK still there\r\n");
	harness_check(t, 3, 143, "IMAP \\xc3\\xa9l\\xc3\\xa8ve \\x00\\xff: ?\n", false);
}
END_TEST

START_TEST(test_starttls_and_garbage)
{
	static const struct harness_step t[] = {
		S("\x00\x01 * OK\r\n"), C("\"unterminated\r\n{\r\n{}\r\n\x80 LOGIN\r\nq STARTTLS\r\n"),
		S("q OK begin\r\n"), C("\x16\x03"),
	};

	harness_check(t, NSTEPS(t), 143, "", true);
}
END_TEST

/* curl -u 'us er:pa ss"w\rd': quoted strings with a space, a quote and a backslash */
START_TEST(test_quoted_specials)
{
	static const struct harness_step t[] = {
		S("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
		C("A001 LOGIN \"us er\" \"pa ss\\\"w\\\\rd\"\r\n"), S("A001 OK done\r\n"),
	};

	harness_check(t, NSTEPS(t), 143, "IMAP us er pa ss\"w\\x5crd ok\n", true);
}
END_TEST

/* Literals for both arguments: synchronising, then non-synchronising (RFC 7888). */
START_TEST(test_literal_both)
{
	static const struct harness_step t[] = {
		S("* OK ready\r\n"), C("L1 LOGIN {4}\r\n"), S("+ Ready\r\n"),
		C("us\"r {6+}\r\npa\\ \"d\r\n"), S("L1 OK\r\n"),
	};

	harness_check(t, NSTEPS(t), 143, "IMAP us\"r pa\\x5c \"d ok\n", true);
}
END_TEST

/* AUTHENTICATE LOGIN by continuations, then with SASL-IR (RFC 4959). */
START_TEST(test_authenticate_login)
{
	static const struct harness_step t[] = {
		S("* OK [CAPABILITY IMAP4rev1 AUTH=LOGIN SASL-IR] ready\r\n"),
		C("A1 AUTHENTICATE LOGIN\r\n"), S("+ VXNlcm5hbWU6\r\n"), C("YWxpY2U=\r\n"),
		S("+ UGFzc3dvcmQ6\r\n"), C("czNjcmV0\r\n"), S("A1 NO [AUTHENTICATIONFAILED] no\r\n"),
		C("A2 authenticate login Ym9i\r\n"), S("+ UGFzc3dvcmQ6\r\n"), C("eA==\r\n"),
		S("A2 OK done\r\n"),
	};

	harness_check(t, NSTEPS(t), 143, "IMAP alice s3cret fail\nIMAP bob x ok\n", true);
}
END_TEST

/* A cancelled exchange and another mechanism report nothing; the next login does. */
START_TEST(test_authenticate_cancel_and_other)
{
	static const struct harness_step t[] = {
		S("* OK ready\r\n"), C("c1 AUTHENTICATE LOGIN\r\n"), S("+ VXNlcm5hbWU6\r\n"),
		C("*\r\n"), S("c1 BAD cancelled\r\n"),
		C("c2 AUTHENTICATE CRAM-MD5\r\n"), S("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+\r\n"),
		C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"), S("c2 NO\r\n"),
		C("c3 AUTHENTICATE PLAIN =\r\n"), S("c3 NO\r\n"),
		C("c4 LOGIN u p\r\n"), S("c4 OK\r\n"),
	};

	harness_check(t, NSTEPS(t), 143, "IMAP u p ok\n", true);
}
END_TEST

static Suite *imap_suite(void)
{
	Suite *s = suite_create("dissect_imap");
	TCase *tc = tcase_create("imap");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_curl_login_quoted);
	tcase_add_test(tc, test_literals);
	tcase_add_test(tc, test_literal_refused);
	tcase_add_test(tc, test_authenticate_plain);
	tcase_add_test(tc, test_unanswered_and_oversized);
	tcase_add_test(tc, test_starttls_and_garbage);
	tcase_add_test(tc, test_quoted_specials);
	tcase_add_test(tc, test_literal_both);
	tcase_add_test(tc, test_authenticate_login);
	tcase_add_test(tc, test_authenticate_cancel_and_other);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(imap_suite());
}
