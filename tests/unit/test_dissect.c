/* Unit tests for the dissector framework: choice, splitter, budget. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "dissect_harness.h"

static void count_report(void *ctx, const struct dissect_credential *c)
{
	(void)c;
	(*(int *)ctx)++;
}

START_TEST(test_port_not_watched)
{
	static const struct harness_step t[] = {
		S("+OK ready\r\n"), C("USER a\r\nPASS b\r\n"), S("+OK\r\n+OK\r\n"),
	};
	struct harness_out out;

	harness_run(t, NSTEPS(t), 2110, 0, NSTEPS(t), 0, &out);
	ck_assert(!out.watched);
	ck_assert_str_eq(out.text, "");
	harness_run(t, NSTEPS(t), 110, 0, NSTEPS(t), 0, &out);
	ck_assert(out.watched);
	ck_assert_str_eq(out.text, "POP3 a b ok\n");
}
END_TEST

START_TEST(test_choice)
{
	struct dissect_ports ports[DISSECT_COUNT];
	static const uint8_t get[] = "GET / HTTP/1.1\r\n";
	int n = 0;
	struct dissect *d;

	harness_ports(ports);
	d = dissect_start(ports, 443, get, sizeof(get) - 1, count_report, &n);
	ck_assert_ptr_nonnull(d);
	dissect_free(d);
	ck_assert_ptr_null(dissect_start(ports, 443, NULL, 0, count_report, &n));
	ports[DISSECT_HTTP].len = 0; /* HTTP switched off: no sniffing either */
	ck_assert_ptr_null(dissect_start(ports, 443, get, sizeof(get) - 1, count_report, &n));
	ck_assert_ptr_null(dissect_start(ports, 80, get, sizeof(get) - 1, count_report, &n));
	memset(ports, 0, sizeof(ports));
	ck_assert_ptr_null(dissect_start(ports, 110, NULL, 0, count_report, &n));
	dissect_free(NULL);
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(test_looks_like_http)
{
	static const char *const yes[] = {
		"GET / HTTP/1.1\r\n", "POST /x", "HEAD *", "CONNECT example.org:443 HTTP/1.1",
		"OPTIONS * HTTP/1.1", "PUT http://a/", "DELETE /",
	};
	static const char *const no[] = {
		"", "GET", "GET ", "GET  /", "get / HTTP/1.1", "USER alice\r\n", "\x16\x03\x01",
		"GETX / HTTP/1.1", "A001 LOGIN a b",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(dissect_looks_like_http((const uint8_t *)yes[i], strlen(yes[i])), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!dissect_looks_like_http((const uint8_t *)no[i], strlen(no[i])), "%s", no[i]);
	ck_assert(!dissect_looks_like_http(NULL, 10));
}
END_TEST

/* A watched port's protocol is settled by the first line: a greeting or an
 * HTTP request line picks its protocol (if configured), else the port's. */
START_TEST(test_settled_by_first_line)
{
	static const struct harness_step pop3_on_imap[] = {
		S("+OK POP3 ready\r\n"), C("USER a\r\nPASS b\r\n"), S("+OK\r\n+OK\r\n"),
	};
	static const struct harness_step imap_on_pop3[] = {
		S("* OK IMAP4rev1\r\n"), C("t LOGIN a b\r\n"), S("t OK\r\n"),
	};
	static const struct harness_step ftp_on_imap[] = {
		S("220 ProFTPD\r\n"), C("USER a\r\nPASS b\r\n"), S("331 pw\r\n230 in\r\n"),
	};
	static const struct harness_step smtp_on_imap[] = {
		S("220 mx ESMTP\r\n"), C("AUTH PLAIN AGEAYg==\r\n"), S("235 ok\r\n"),
	};
	static const struct harness_step client_first[] = {
		C("USER a\r\n"), S("+OK hi\r\n+OK\r\n"), C("PASS b\r\n"), S("+OK\r\n"),
	};
	struct dissect_ports ports[DISSECT_COUNT];
	struct dissect *d;
	int n = 0;

	harness_check(pop3_on_imap, NSTEPS(pop3_on_imap), 143, "POP3 a b ok\n", true);
	harness_check(imap_on_pop3, NSTEPS(imap_on_pop3), 110, "IMAP a b ok\n", true);
	harness_check(ftp_on_imap, NSTEPS(ftp_on_imap), 143, "FTP a b ok\n", true);
	harness_check(smtp_on_imap, NSTEPS(smtp_on_imap), 143, "SMTP a b ok\n", true);
	harness_check(smtp_on_imap, NSTEPS(smtp_on_imap), 21, "", true); /* FTP's port: FTP's */
	harness_check(client_first, NSTEPS(client_first), 110, "POP3 a b ok\n", true);
	/* a protocol without ports is not picked: the port's reads it */
	harness_ports(ports);
	ports[DISSECT_POP3].len = 0;
	d = dissect_start(ports, 143, NULL, 0, count_report, &n);
	ck_assert_ptr_nonnull(d);
	for (size_t i = 0; i < NSTEPS(pop3_on_imap); i++)
		dissect_feed(d, pop3_on_imap[i].dir, (const uint8_t *)pop3_on_imap[i].data,
			     pop3_on_imap[i].len);
	dissect_free(d);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* Past the budget the flow stops; what was pending is reported "?" at the end. */
START_TEST(test_budget)
{
	struct dissect_ports ports[DISSECT_COUNT];
	static uint8_t junk[4096];
	int n = 0;
	size_t fed = 0;
	struct dissect *d;
	enum dissect_verdict v = DISSECT_CONTINUE;

	harness_ports(ports);
	memset(junk, 'x', sizeof(junk));
	d = dissect_start(ports, 21, NULL, 0, count_report, &n);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dissect_feed(d, DISSECT_TO_SERVER, (const uint8_t *)"USER a\nPASS b\n", 14),
			 DISSECT_CONTINUE);
	while (v == DISSECT_CONTINUE && fed < 2 * DISSECT_BUDGET) {
		v = dissect_feed(d, DISSECT_TO_CLIENT, junk, sizeof(junk));
		fed += sizeof(junk);
	}
	ck_assert_int_eq(v, DISSECT_STOP);
	ck_assert_uint_eq(fed, DISSECT_BUDGET);
	ck_assert_int_eq(dissect_feed(d, DISSECT_TO_SERVER, junk, 1), DISSECT_STOP);
	ck_assert_int_eq(n, 0);
	dissect_free(d);
	ck_assert_int_eq(n, 1);
}
END_TEST

/* The line splitter: bare LF, CRLF split across reads, a line exactly at
 * the cap (its CR included), one byte over it. */
START_TEST(test_line_limits)
{
	static char at_cap[DISSECT_LINE_MAX + 16], over[DISSECT_LINE_MAX + 16];
	struct harness_step t[5];
	struct harness_out out;
	size_t n;

	n = (size_t)snprintf(at_cap, sizeof(at_cap), "USER ");
	memset(at_cap + n, 'u', DISSECT_LINE_MAX - 1 - n);
	memcpy(at_cap + DISSECT_LINE_MAX - 1, "\r\n", 2);
	memcpy(over, at_cap, sizeof(over));
	memmove(over + 1, over, DISSECT_LINE_MAX + 1);
	memcpy(over, "USER ", 5); /* one byte longer: cut, so not a USER */
	t[0] = (struct harness_step){ DISSECT_TO_SERVER, at_cap, DISSECT_LINE_MAX + 1 };
	t[1] = (struct harness_step)C("PASS 1\r");
	t[2] = (struct harness_step)C("\nUSER v\n");
	t[3] = (struct harness_step){ DISSECT_TO_SERVER, over, DISSECT_LINE_MAX + 2 };
	t[4] = (struct harness_step)C("PASS 2\n");
	harness_run(t, 5, 110, 0, 5, 0, &out);
	ck_assert_uint_eq(strlen(out.text), strlen("POP3  1 ?\nPOP3 v 2 ?\n") + DISSECT_LINE_MAX - 6);
	ck_assert(strncmp(out.text, "POP3 uuu", 8) == 0);
	ck_assert(strstr(out.text, "u 1 ?\nPOP3 v 2 ?\n") != NULL);
}
END_TEST

START_TEST(test_bad_direction)
{
	struct dissect_ports ports[DISSECT_COUNT];
	struct dissect *d;

	harness_ports(ports);
	d = dissect_start(ports, 143, NULL, 0, NULL, NULL);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dissect_feed(d, DISSECT_TO_SERVER, (const uint8_t *)"", 0), DISSECT_CONTINUE);
	ck_assert_int_eq(dissect_feed(d, (enum dissect_dir)7, (const uint8_t *)"x", 1), DISSECT_STOP);
	ck_assert_int_eq(dissect_feed(NULL, DISSECT_TO_SERVER, (const uint8_t *)"x", 1), DISSECT_STOP);
	dissect_free(d);
}
END_TEST

static Suite *dissect_suite(void)
{
	Suite *s = suite_create("dissect");
	TCase *tc = tcase_create("framework");

	tcase_add_test(tc, test_port_not_watched);
	tcase_add_test(tc, test_choice);
	tcase_add_test(tc, test_looks_like_http);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_settled_by_first_line);
	tcase_add_test(tc, test_line_limits);
	tcase_add_test(tc, test_bad_direction);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(dissect_suite());
}
