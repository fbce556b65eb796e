/*
 * Unit tests for the HTTP CONNECT translation (socks/http_connect.h): a head
 * becomes the SOCKS5 greeting, login and request it stands for, at every
 * split of the input; the session's answers become the right HTTP statuses.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "route/http_head.h"
#include "socks/http_connect.h"
#include "socks/socks5_proto.h"

/* "alice:wonderland" */
#define AUTH "Proxy-Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n"

/*
 * Feeds a head whole and cut at every position, tunnel bytes behind it;
 * every way must end done at the empty line.
 */
static struct http_connect *feed_every_way(const char *head)
{
	size_t len = strlen(head), used, used2;
	struct http_connect *hc = NULL;
	char text[512];
	int status;

	ck_assert_uint_lt(len + 4, sizeof(text));
	memcpy(text, head, len);
	memcpy(text + len, "xyz", 4);

	for (size_t cut = 0; cut <= len; cut++) {
		http_connect_free(hc);
		hc = http_connect_new();
		ck_assert_ptr_nonnull(hc);
		ck_assert_int_eq(http_connect_feed(hc, (const uint8_t *)text, cut, &used, &status),
				 cut == len ? PROTO_DONE : PROTO_MORE);
		if (cut == len) {
			ck_assert_uint_eq(used, len);
			continue;
		}
		ck_assert_uint_eq(used, cut);
		ck_assert_int_eq(http_connect_feed(hc, (const uint8_t *)text + cut, len - cut + 3,
						   &used2, &status), PROTO_DONE);
		ck_assert_uint_eq(used2, len - cut);   /* never past the empty line */
	}
	return hc;
}

START_TEST(test_login_and_request)
{
	static const uint8_t want[] = {
		0x01, 5, 'a', 'l', 'i', 'c', 'e', 10, 'w', 'o', 'n', 'd', 'e', 'r', 'l', 'a', 'n', 'd',
		0x05, 0x01, 0x00, 0x03, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', 0x01, 0xBB,
	};
	struct http_connect *hc = feed_every_way("CONNECT example.org:443 HTTP/1.1\r\n"
						 "Host: example.org:443\r\n" AUTH "\r\n");
	uint8_t g[4], out[HTTP_CONNECT_SOCKS_MAX];
	char resp[HTTP_RESPONSE_MAX];
	size_t n;

	ck_assert_uint_eq(http_connect_greeting(hc, g), 4);
	ck_assert(memcmp(g, "\x05\x02\x00\x02", 4) == 0);
	/* the server chose 02: nothing sent, the login follows */
	ck_assert_uint_eq(http_connect_answer(hc, (const uint8_t *)"\x05\x02", 2, resp,
					      sizeof(resp)), 0);
	n = http_connect_socks(hc, out, sizeof(out));
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert(memcmp(out, want, n) == 0);
	ck_assert_uint_eq(http_connect_answer(hc, (const uint8_t *)"\x01\x00", 2, resp,
					      sizeof(resp)), 0);
	n = http_connect_answer(hc, (const uint8_t *)"\x05\x00\x00\x01\x7f\0\0\1\0\x50", 10,
				resp, sizeof(resp));
	ck_assert_uint_gt(n, 0);
	resp[n] = '\0';
	ck_assert_str_eq(resp, "HTTP/1.1 200 Connection established\r\n\r\n");
	http_connect_free(hc);
}
END_TEST

START_TEST(test_literals_and_no_login)
{
	struct http_connect *hc = feed_every_way("CONNECT [::1]:8080 HTTP/1.1\r\n\r\n");
	uint8_t g[4], out[HTTP_CONNECT_SOCKS_MAX];
	char resp[HTTP_RESPONSE_MAX];
	size_t n;

	ck_assert_uint_eq(http_connect_greeting(hc, g), 3);
	ck_assert(memcmp(g, "\x05\x01\x00", 3) == 0);
	ck_assert_uint_eq(http_connect_answer(hc, (const uint8_t *)"\x05\x00", 2, resp,
					      sizeof(resp)), 0);
	n = http_connect_socks(hc, out, sizeof(out));
	ck_assert_uint_eq(n, 4 + 16 + 2);
	ck_assert(memcmp(out, "\x05\x01\x00\x04", 4) == 0);
	ck_assert_uint_eq(out[19], 1);
	ck_assert_uint_eq(out[20], 0x1F);
	ck_assert_uint_eq(out[21], 0x90);
	http_connect_free(hc);

	hc = feed_every_way("CONNECT 10.1.2.3:1 HTTP/1.0\n\n");
	(void)http_connect_answer(hc, (const uint8_t *)"\x05\x00", 2, resp, sizeof(resp));
	n = http_connect_socks(hc, out, sizeof(out));
	ck_assert_uint_eq(n, 10);
	ck_assert(memcmp(out, "\x05\x01\x00\x01\x0a\x01\x02\x03\x00\x01", 10) == 0);
	http_connect_free(hc);
}
END_TEST

/* The status line of the answer to a method choice (and REP when reached). */
static int answer_status(const char *auth, const uint8_t *method, const uint8_t *status,
			 uint8_t rep, bool unavailable, char *resp)
{
	char text[256];
	struct http_connect *hc;
	uint8_t reply[10] = { 0x05, rep, 0, 1 };
	size_t n, used;
	int st;

	snprintf(text, sizeof(text), "CONNECT a.b:1 HTTP/1.1\r\n%s\r\n", auth);
	hc = http_connect_new();
	ck_assert_int_eq(http_connect_feed(hc, (const uint8_t *)text, strlen(text), &used, &st),
			 PROTO_DONE);
	if (unavailable)
		http_connect_unavailable(hc);
	n = http_connect_answer(hc, method, 2, resp, HTTP_RESPONSE_MAX);
	if (n == 0 && status != NULL)
		n = http_connect_answer(hc, status, 2, resp, HTTP_RESPONSE_MAX);
	if (n == 0)
		n = http_connect_answer(hc, reply, sizeof(reply), resp, HTTP_RESPONSE_MAX);
	http_connect_free(hc);
	ck_assert_uint_gt(n, 12);
	resp[n] = '\0';
	return atoi(resp + 9);
}

START_TEST(test_statuses)
{
	const uint8_t none[2] = { 5, 0 }, userpass[2] = { 5, 2 }, reject[2] = { 5, 0xFF };
	const uint8_t ok[2] = { 1, 0 }, bad[2] = { 1, 1 };
	char resp[HTTP_RESPONSE_MAX + 1];

	ck_assert_int_eq(answer_status("", reject, NULL, 0, false, resp), 407);
	ck_assert_ptr_nonnull(strstr(resp, "Proxy-Authenticate: Basic realm=\"socks5d\"\r\n"));
	ck_assert_int_eq(answer_status(AUTH, userpass, bad, 0, false, resp), 407);
	ck_assert_int_eq(answer_status(AUTH, userpass, ok, 0, false, resp), 200);
	ck_assert_int_eq(answer_status("", none, NULL, SOCKS5_REP_NOT_ALLOWED, false, resp), 403);
	ck_assert_int_eq(answer_status("", none, NULL, SOCKS5_REP_REFUSED, false, resp), 502);
	ck_assert_int_eq(answer_status("", none, NULL, SOCKS5_REP_HOST_UNREACHABLE, false, resp), 502);
	ck_assert_int_eq(answer_status("", none, NULL, SOCKS5_REP_TTL_EXPIRED, false, resp), 504);
	ck_assert_int_eq(answer_status("", none, NULL, SOCKS5_REP_CMD_NOT_SUPPORTED, false, resp), 405);
	ck_assert_int_eq(answer_status("", none, NULL, SOCKS5_REP_NET_UNREACHABLE, true, resp), 503);
}
END_TEST

START_TEST(test_refusals)
{
	static const struct { const char *text; int status; } cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 405 },
		{ "connect a:1 HTTP/1.1\r\n\r\n", 405 },          /* methods are case-sensitive */
		{ "CONNECT a HTTP/1.1\r\n\r\n", 400 },
		{ "CONNECT a:0 HTTP/1.1\r\n\r\n", 400 },
		{ "CONNECT a:1 HTTP/1.1\r\n folded\r\n\r\n", 400 },
		{ "CONNECT a:1 HTTP/3\r\n\r\n", 400 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_connect *hc = http_connect_new();
		size_t used;
		int st = 0;

		ck_assert_int_eq(http_connect_feed(hc, (const uint8_t *)cases[i].text,
						   strlen(cases[i].text), &used, &st), PROTO_ERROR);
		ck_assert_msg(st == cases[i].status, "%s: %d", cases[i].text, st);
		http_connect_free(hc);
	}
}
END_TEST

static Suite *http_connect_suite(void)
{
	Suite *s = suite_create("http_connect");
	TCase *tc = tcase_create("translate");

	tcase_add_test(tc, test_login_and_request);
	tcase_add_test(tc, test_literals_and_no_login);
	tcase_add_test(tc, test_statuses);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(http_connect_suite());
}
