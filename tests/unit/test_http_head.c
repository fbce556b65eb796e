/*
 * Unit tests for the HTTP/1.x head parser and builders: every head is fed
 * whole, byte by byte and cut in two at every position, with tunnel bytes
 * after it, and must end in the same state each time; then what was read
 * (method, target, status, fields, Basic credentials) and what is refused.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "route/http_head.h"

/* Tunnel bytes after the head: a TLS ClientHello's first octets. */
static const uint8_t pipelined[] = { 0x16, 0x03, 0x01, 0x02, 0x00 };

static struct http_head whole, part;  /* 8 KiB each: not on the stack */

/*
 * Feeds msg then the pipelined bytes: whole into whole, byte by byte, and
 * cut at every stride-th position, asserting the same verdict, the same
 * consumption (want_used) and the same final state each time.
 */
static void feed_stride(enum http_head_kind kind, const char *msg, size_t len,
			enum proto_result want, size_t want_used, size_t stride)
{
	static uint8_t buf[HTTP_HEAD_MAX * 2];
	size_t total = len + sizeof(pipelined), cut, used, got, i;
	enum proto_result r;

	ck_assert_uint_le(total, sizeof(buf));
	memcpy(buf, msg, len);
	memcpy(buf + len, pipelined, sizeof(pipelined));
	http_head_init(&whole, kind);
	ck_assert_int_eq(http_head_parse(&whole, buf, total, &used), want);
	ck_assert_uint_eq(used, want_used);
	ck_assert_int_eq(http_head_parse(&whole, buf, total, &used), want);
	ck_assert_uint_eq(used, 0);

	http_head_init(&part, kind);
	for (i = 0, r = PROTO_MORE; i < total && r == PROTO_MORE; i++) {
		r = http_head_parse(&part, buf + i, 1, &used);
		ck_assert_uint_eq(used, 1);
	}
	ck_assert_int_eq(r, want);
	ck_assert_uint_eq(i, want_used);
	ck_assert_mem_eq(&part, &whole, sizeof(whole));

	for (cut = 0; cut <= want_used; cut += stride) {
		http_head_init(&part, kind);
		r = http_head_parse(&part, buf, cut, &used);
		ck_assert_uint_eq(used, cut);
		got = used;
		if (r == PROTO_MORE) {
			r = http_head_parse(&part, buf + cut, total - cut, &used);
			got += used;
		}
		ck_assert_int_eq(r, want);
		ck_assert_uint_eq(got, want_used);
		ck_assert_mem_eq(&part, &whole, sizeof(whole));
	}
}

static void feed(enum http_head_kind kind, const char *msg, enum proto_result want,
		 size_t want_used)
{
	feed_stride(kind, msg, strlen(msg), want, want_used, 1);
}

#define REQ HTTP_HEAD_REQUEST
#define RSP HTTP_HEAD_RESPONSE

START_TEST(connect_with_basic)
{
	/* alice:wonder:land (a colon in the password is the password's) */
	static const char msg[] = "CONNECT example.com:443 HTTP/1.1\r\n"
		"Host: example.com:443\r\n"
		"Proxy-Authorization:   Basic YWxpY2U6d29uZGVyOmxhbmQ=  \r\n"
		"User-Agent: curl/8.5.0\r\n\r\n";
	struct http_basic cred;
	char host[HTTP_HOST_MAX + 1];
	uint16_t port;

	feed(REQ, msg, PROTO_DONE, strlen(msg));
	ck_assert(http_head_is_connect(&whole));
	ck_assert_str_eq(http_head_method(&whole), "CONNECT");
	ck_assert_str_eq(http_head_target_str(&whole), "example.com:443");
	ck_assert_uint_eq(whole.minor, 1);
	ck_assert_uint_eq(whole.nfields, 3);
	ck_assert_str_eq(http_head_field(&whole, "host"), "example.com:443");
	ck_assert_str_eq(http_head_field(&whole, "USER-AGENT"), "curl/8.5.0");
	ck_assert_ptr_null(http_head_field(&whole, "Cookie"));
	ck_assert_int_eq(http_head_target(&whole, host, &port), 0);
	ck_assert_str_eq(host, "example.com");
	ck_assert_uint_eq(port, 443);
	ck_assert_int_eq(http_head_basic(&whole, &cred), HTTP_BASIC_OK);
	ck_assert_str_eq(cred.user, "alice");
	ck_assert_str_eq(cred.pass, "wonder:land");
}
END_TEST

START_TEST(bare_lf_and_http10)
{
	static const char msg[] = "CONNECT [2001:db8::1]:8443 HTTP/1.0\nX-A: b\n\n";
	struct http_basic cred;
	char host[HTTP_HOST_MAX + 1];
	uint16_t port;

	feed(REQ, msg, PROTO_DONE, strlen(msg));
	ck_assert_uint_eq(whole.minor, 0);
	ck_assert_int_eq(http_head_target(&whole, host, &port), 0);
	ck_assert_str_eq(host, "2001:db8::1");
	ck_assert_uint_eq(port, 8443);
	ck_assert_int_eq(http_head_basic(&whole, &cred), HTTP_BASIC_NONE);
}
END_TEST

START_TEST(not_connect)
{
	static const char msg[] = "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n";
	char host[HTTP_HOST_MAX + 1];
	uint16_t port;

	feed(REQ, msg, PROTO_DONE, strlen(msg));
	ck_assert(!http_head_is_connect(&whole));
	ck_assert_str_eq(http_head_method(&whole), "GET");
	ck_assert_int_eq(http_head_target(&whole, host, &port), -1);
}
END_TEST

/* Each target, as an authority-form CONNECT target: valid or not. */
START_TEST(targets)
{
	static const struct { const char *t; int ok; const char *host; unsigned port; } cases[] = {
		{ "1.2.3.4:80", 0, "1.2.3.4", 80 },
		{ "a-b_c.example:65535", 0, "a-b_c.example", 65535 },
		{ "[::1]:1", 0, "::1", 1 },
		{ "example.com", -1, NULL, 0 },
		{ "example.com:", -1, NULL, 0 },
		{ "example.com:0", -1, NULL, 0 },
		{ "example.com:65536", -1, NULL, 0 },
		{ "example.com:080", -1, NULL, 0 },
		{ "example.com:+80", -1, NULL, 0 },
		{ ":80", -1, NULL, 0 },
		{ "::1:80", -1, NULL, 0 },
		{ "[::1]80", -1, NULL, 0 },
		{ "[fe80::1%eth0]:80", -1, NULL, 0 },
		{ "[nothex]:80", -1, NULL, 0 },
		{ "ex%41mple.com:80", -1, NULL, 0 },
		{ "user@example.com:80", -1, NULL, 0 },
	};
	char msg[512], host[HTTP_HOST_MAX + 1];
	uint16_t port;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(msg, sizeof(msg), "CONNECT %s HTTP/1.1\r\n\r\n", cases[i].t);
		feed(REQ, msg, PROTO_DONE, strlen(msg));
		ck_assert_msg(http_head_target(&whole, host, &port) == cases[i].ok, "%s", cases[i].t);
		if (cases[i].ok == 0) {
			ck_assert_str_eq(host, cases[i].host);
			ck_assert_uint_eq(port, cases[i].port);
		}
	}
}
END_TEST

START_TEST(response_heads)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	static const char noreason[] = "HTTP/1.0 200\r\nVia: 1.1 squid\r\n\r\n";
	static const char denied[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
		"Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n";

	feed(RSP, ok, PROTO_DONE, strlen(ok));
	ck_assert_uint_eq(whole.status, 200);
	ck_assert_str_eq(http_head_reason(&whole), "Connection established");
	feed(RSP, noreason, PROTO_DONE, strlen(noreason));
	ck_assert_uint_eq(whole.status, 200);
	ck_assert_uint_eq(whole.minor, 0);
	ck_assert_str_eq(http_head_reason(&whole), "");
	ck_assert_str_eq(http_head_field(&whole, "via"), "1.1 squid");
	feed(RSP, denied, PROTO_DONE, strlen(denied));
	ck_assert_uint_eq(whole.status, 407);
	ck_assert_str_eq(http_head_field(&whole, "Proxy-Authenticate"), "Basic realm=\"x\"");
}
END_TEST

/* Refused heads: the error, and where it is found. */
START_TEST(refused)
{
	static const struct { int kind; const char *msg; enum http_head_error e; size_t at; } cases[] = {
		{ REQ, "CONNECT a:1 HTTP/1.1\r\nX: a\rb\r\n\r\n", HTTP_HEAD_BARE_CR, 28 },
		{ REQ, "CONNECT a:1 HTTP/1.1\r\nX: a\r\n b\r\n\r\n", HTTP_HEAD_OBS_FOLD, 29 },
		{ REQ, " CONNECT a:1 HTTP/1.1\r\n\r\n", HTTP_HEAD_OBS_FOLD, 1 },
		{ REQ, "CONNECT a:1 HTTP/1.1\r\nX : a\r\n\r\n", HTTP_HEAD_BAD_FIELD, 29 },
		{ REQ, "CONNECT a:1 HTTP/1.1\r\nNoColon\r\n\r\n", HTTP_HEAD_BAD_FIELD, 31 },
		{ REQ, "CONNECT a:1 HTTP/1.1\r\n: v\r\n\r\n", HTTP_HEAD_BAD_FIELD, 27 },
		{ REQ, "CONNECT a:1 HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", HTTP_HEAD_BAD_FIELD, 30 },
		{ REQ, "CONNECT a:1 HTTP/1.1\r\nX: a\0b\r\n\r\n", HTTP_HEAD_BAD_FIELD, 27 },
		{ REQ, "CONNECT a:1 HTTP/2.0\r\n\r\n", HTTP_HEAD_BAD_VERSION, 22 },
		{ REQ, "CONNECT a:1 HTTP/1.2\r\n\r\n", HTTP_HEAD_BAD_VERSION, 22 },
		{ REQ, "CONNECT  a:1 HTTP/1.1\r\n\r\n", HTTP_HEAD_BAD_START, 23 },
		{ REQ, "CONNECT a:1 HTTP/1.1 \r\n\r\n", HTTP_HEAD_BAD_START, 23 },
		{ REQ, "CONNECT a:1\r\n\r\n", HTTP_HEAD_BAD_START, 13 },
		{ REQ, "\r\nCONNECT a:1 HTTP/1.1\r\n\r\n", HTTP_HEAD_BAD_START, 2 },
		{ REQ, "CONN(ECT a:1 HTTP/1.1\r\n\r\n", HTTP_HEAD_BAD_START, 23 },
		{ REQ, "\x16\x03\x01\x02\x00\x01", HTTP_HEAD_BAD_START, 5 },
		{ RSP, "HTTP/1.1 99 Odd\r\n\r\n", HTTP_HEAD_BAD_START, 17 },
		{ RSP, "HTTP/1.1 600 Odd\r\n\r\n", HTTP_HEAD_BAD_START, 18 },
		{ RSP, "HTTP/1.1 2000\r\n\r\n", HTTP_HEAD_BAD_START, 15 },
		{ RSP, "HTTP/1.3 200 OK\r\n\r\n", HTTP_HEAD_BAD_VERSION, 17 },
		{ RSP, "SSH-2.0-OpenSSH\r\n\r\n", HTTP_HEAD_BAD_START, 17 },
		{ RSP, "HTTP/1.1 200 O\x7fK\r\n\r\n", HTTP_HEAD_BAD_START, 18 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *m = cases[i].msg;
		/* a NUL inside is the message's: it is refused there */
		size_t n = strlen(m) >= cases[i].at ? strlen(m) : cases[i].at;

		feed_stride(cases[i].kind, m, n, PROTO_ERROR, cases[i].at, 1);
		ck_assert_msg(whole.error == cases[i].e, "case %zu: %s", i,
			      http_head_error_str(whole.error));
	}
}
END_TEST

START_TEST(limits)
{
	static char msg[HTTP_HEAD_MAX + 64];
	size_t n;
	int i;

	/* exactly HTTP_HEAD_MAX octets: read; one more: refused at that octet */
	n = (size_t)snprintf(msg, sizeof(msg), "CONNECT a:1 HTTP/1.1\r\nX: ");
	memset(msg + n, 'v', HTTP_HEAD_MAX - n - 4);
	memcpy(msg + HTTP_HEAD_MAX - 4, "\r\n\r\n", 5);
	feed_stride(REQ, msg, HTTP_HEAD_MAX, PROTO_DONE, HTTP_HEAD_MAX, 97);
	ck_assert_uint_eq(strlen(http_head_field(&whole, "x")), HTTP_HEAD_MAX - n - 4);
	memset(msg + n, 'v', HTTP_HEAD_MAX - n - 3);
	memcpy(msg + HTTP_HEAD_MAX - 3, "\r\n\r\n", 5);
	feed_stride(REQ, msg, HTTP_HEAD_MAX + 1, PROTO_ERROR, HTTP_HEAD_MAX + 1, 97);
	ck_assert_int_eq(whole.error, HTTP_HEAD_TOO_LONG);

	/* HTTP_HEAD_MAX_FIELDS fields: read; one more: refused */
	n = (size_t)snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < HTTP_HEAD_MAX_FIELDS; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "F%d: %d\r\n", i, i);
	feed(RSP, strcat(msg, "\r\n"), PROTO_DONE, n + 2);
	ck_assert_uint_eq(whole.nfields, HTTP_HEAD_MAX_FIELDS);
	ck_assert_str_eq(http_head_field(&whole, "f63"), "63");
	strcpy(msg + n, "G: 1\r\n\r\n");
	feed(RSP, msg, PROTO_ERROR, n + 6);
	ck_assert_int_eq(whole.error, HTTP_HEAD_TOO_MANY_FIELDS);
}
END_TEST

START_TEST(basic_refused)
{
	static const char *const values[] = {
		"Bearer abc",                         /* not Basic */
		"Basic",                              /* nothing */
		"Basic YWxpY2U",                      /* not padded */
		"Basic YWxpY2U=",                     /* "alice": no colon */
		"Basic YWxp!2U6eA==",                 /* outside the alphabet */
		"Basic YQBiOmM=",                     /* "a\0b:c": NUL */
	};
	static char msg[2048];
	struct http_basic cred;
	char big[300];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(msg, sizeof(msg), "CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: %s\r\n\r\n",
			 values[i]);
		feed(REQ, msg, PROTO_DONE, strlen(msg));
		ck_assert_msg(http_head_basic(&whole, &cred) == HTTP_BASIC_BAD, "%s", values[i]);
		ck_assert_str_eq(cred.user, "");
	}
	snprintf(msg, sizeof(msg), "CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic "
		 "YTpi\r\nProxy-Authorization: Basic YTpi\r\n\r\n");
	feed(REQ, msg, PROTO_DONE, strlen(msg));
	ck_assert_int_eq(http_head_basic(&whole, &cred), HTTP_BASIC_BAD);  /* twice */

	/* a 256-octet user does not fit RFC 1929's limits, nor ours */
	memset(big, 'u', sizeof(big));
	big[256] = '\0';
	ck_assert_uint_eq(http_head_connect_request(msg, sizeof(msg), "a", 1, big, "p"), 0);
}
END_TEST

START_TEST(describe_redacts)
{
	static const char msg[] = "CONNECT h:1 HTTP/1.1\r\nProxy-Authorization: Basic YTpi\r\n"
		"authorization: x\r\nCookie: c\r\nX-Note: tab\there\xff\r\n\r\n";
	char line[512];
	struct http_basic cred;

	feed(REQ, msg, PROTO_DONE, strlen(msg));
	http_head_describe(&whole, line, sizeof(line));
	ck_assert_str_eq(line, "CONNECT h:1 HTTP/1.1; Proxy-Authorization: <redacted>; "
			 "authorization: <redacted>; Cookie: <redacted>; X-Note: tab\\there\\xff");
	ck_assert_ptr_null(strstr(line, "YTpi"));
	http_head_describe(&whole, line, 10);
	ck_assert_str_eq(line, "CONNECT h");
	ck_assert_int_eq(http_head_basic(&whole, &cred), HTTP_BASIC_OK);
	http_head_scrub(&whole);
	ck_assert_ptr_null(memmem(whole.text, sizeof(whole.text), "YTpi", 4));
	ck_assert_str_eq(http_head_field(&whole, "Proxy-Authorization"), "");
	ck_assert_int_eq(http_head_basic(&whole, &cred), HTTP_BASIC_BAD);
	/* a head refused in its start line describes as nothing */
	feed(REQ, "BAD\r\n", PROTO_ERROR, 5);
	ck_assert_str_eq(http_head_describe(&whole, line, sizeof(line)), "");
}
END_TEST

START_TEST(build_connect)
{
	char out[1024];
	size_t n;
	struct http_basic cred;
	char host[HTTP_HOST_MAX + 1];
	uint16_t port;

	n = http_head_connect_request(out, sizeof(out), "example.com", 443, NULL, NULL);
	ck_assert_str_eq(out, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
	ck_assert_uint_eq(n, strlen(out));
	n = http_head_connect_request(out, sizeof(out), "2001:db8::2", 80, "bob", "s3:cr\xc3\xa9t");
	ck_assert_uint_gt(n, 0);
	/* it reads back through the parser, credentials included */
	feed(REQ, out, PROTO_DONE, n);
	ck_assert_int_eq(http_head_target(&whole, host, &port), 0);
	ck_assert_str_eq(host, "2001:db8::2");
	ck_assert_uint_eq(port, 80);
	ck_assert_int_eq(http_head_basic(&whole, &cred), HTTP_BASIC_OK);
	ck_assert_str_eq(cred.user, "bob");
	ck_assert_str_eq(cred.pass, "s3:cr\xc3\xa9t");
	n = http_head_connect_request(out, sizeof(out), "a", 1, "", "");
	ck_assert_str_eq(out, "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\nProxy-Authorization: Basic Og==\r\n\r\n");

	ck_assert_uint_eq(http_head_connect_request(out, sizeof(out), "", 1, NULL, NULL), 0);
	ck_assert_uint_eq(http_head_connect_request(out, sizeof(out), "a b", 1, NULL, NULL), 0);
	ck_assert_uint_eq(http_head_connect_request(out, sizeof(out), "a\r\nX: y", 1, NULL, NULL), 0);
	ck_assert_uint_eq(http_head_connect_request(out, sizeof(out), "a:b", 1, NULL, NULL), 0);
	ck_assert_uint_eq(http_head_connect_request(out, sizeof(out), "a", 1, "u:v", "p"), 0);
	ck_assert_uint_eq(http_head_connect_request(out, sizeof(out), "a", 1, "u", "p\r\n"), 0);
	ck_assert_uint_eq(http_head_connect_request(out, 20, "a", 1, NULL, NULL), 0);
}
END_TEST

START_TEST(build_responses)
{
	static const int statuses[] = { 200, 400, 403, 405, 407, 502, 503, 504 };
	char out[HTTP_RESPONSE_MAX];
	size_t n;

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		n = http_head_response(out, sizeof(out), statuses[i], NULL);
		ck_assert_uint_gt(n, 0);
		feed(RSP, out, PROTO_DONE, n);
		ck_assert_uint_eq(whole.status, statuses[i]);
		if (statuses[i] != 200)
			ck_assert_str_eq(http_head_field(&whole, "Connection"), "close");
	}
	n = http_head_response(out, sizeof(out), 407, "corp");
	ck_assert_str_eq(out, "HTTP/1.1 407 Proxy Authentication Required\r\n"
			 "Proxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n");
	ck_assert_uint_eq(n, strlen(out));
	n = http_head_response(out, sizeof(out), 200, NULL);
	ck_assert_str_eq(out, "HTTP/1.1 200 Connection established\r\n\r\n");
	ck_assert_uint_eq(http_head_response(out, sizeof(out), 404, NULL), 0);
	ck_assert_uint_eq(http_head_response(out, sizeof(out), 407, "a\"b"), 0);
	ck_assert_uint_eq(http_head_response(out, sizeof(out), 407, "a\r\nb"), 0);
	ck_assert_uint_eq(http_head_response(out, 10, 403, NULL), 0);
}
END_TEST

START_TEST(error_strings)
{
	for (int e = HTTP_HEAD_OK; e <= HTTP_HEAD_OBS_FOLD; e++)
		ck_assert_str_ne(http_head_error_str((enum http_head_error)e), "unknown error");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_head");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, connect_with_basic);
	tcase_add_test(tc, bare_lf_and_http10);
	tcase_add_test(tc, not_connect);
	tcase_add_test(tc, targets);
	tcase_add_test(tc, response_heads);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, basic_refused);
	tcase_add_test(tc, describe_redacts);
	tcase_add_test(tc, build_connect);
	tcase_add_test(tc, build_responses);
	tcase_add_test(tc, error_strings);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
