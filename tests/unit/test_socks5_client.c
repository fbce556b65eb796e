/*
 * Unit tests for the SOCKS5 client side: every server message is fed whole,
 * byte by byte and cut in two at every position, with pipelined bytes after
 * it, and must end in the same state each time; the builders give the
 * octets RFC 1928 / RFC 1929 prescribe.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "route/socks5_client.h"

/* Tunnelled bytes a parent may send right after its reply. */
static const uint8_t pipelined[] = { 'H', 'T', 'T', 'P', '/' };

/*
 * Feeds msg (len octets) then the pipelined bytes: whole into *out, then
 * byte by byte and cut at every position, asserting the same verdict, the
 * same consumption (want_used) and the same final state every time.
 */
static void feed_every_way(enum socks5_client_msg kind, uint8_t offered, const uint8_t *msg,
			   size_t len, enum proto_result want, size_t want_used,
			   struct socks5_client_parser *out)
{
	uint8_t buf[600];
	size_t total = len + sizeof(pipelined), cut, used, got, i;
	struct socks5_client_parser p;
	enum proto_result r;

	ck_assert_uint_le(total, sizeof(buf));
	memcpy(buf, msg, len);
	memcpy(buf + len, pipelined, sizeof(pipelined));
	socks5_client_init(out, kind, offered);
	ck_assert_int_eq(socks5_client_parse(out, buf, total, &used), want);
	ck_assert_uint_eq(used, want_used);
	ck_assert_int_eq(socks5_client_parse(out, buf, total, &used), want);
	ck_assert_uint_eq(used, 0);

	socks5_client_init(&p, kind, offered);
	for (i = 0, r = PROTO_MORE; i < total && r == PROTO_MORE; i++) {
		r = socks5_client_parse(&p, buf + i, 1, &used);
		ck_assert_uint_eq(used, 1);
	}
	ck_assert_int_eq(r, want);
	ck_assert_uint_eq(i, want_used);
	ck_assert_mem_eq(&p, out, sizeof(p));

	for (cut = 0; cut <= want_used; cut++) {
		socks5_client_init(&p, kind, offered);
		r = socks5_client_parse(&p, buf, cut, &used);
		ck_assert_uint_eq(used, cut);
		got = used;
		if (r == PROTO_MORE) {
			r = socks5_client_parse(&p, buf + cut, total - cut, &used);
			got += used;
		}
		ck_assert_int_eq(r, want);
		ck_assert_uint_eq(got, want_used);
		ck_assert_mem_eq(&p, out, sizeof(p));
	}
}

#define BOTH (SOCKS5_CLIENT_OFFER_NONE | SOCKS5_CLIENT_OFFER_USERPASS)

START_TEST(method_choices)
{
	static const uint8_t none[] = { 0x05, 0x00 }, up[] = { 0x05, 0x02 };
	static const uint8_t reject[] = { 0x05, 0xFF }, gssapi[] = { 0x05, 0x01 };
	static const uint8_t v4[] = { 0x04, 0x00 };
	struct socks5_client_parser p;

	feed_every_way(SOCKS5_CLIENT_METHOD, BOTH, none, 2, PROTO_DONE, 2, &p);
	ck_assert_uint_eq(p.method, 0x00);
	feed_every_way(SOCKS5_CLIENT_METHOD, BOTH, up, 2, PROTO_DONE, 2, &p);
	ck_assert_uint_eq(p.method, 0x02);
	feed_every_way(SOCKS5_CLIENT_METHOD, BOTH, reject, 2, PROTO_DONE, 2, &p);
	ck_assert_uint_eq(p.method, 0xFF);
	/* a method the greeting did not offer is hostile */
	feed_every_way(SOCKS5_CLIENT_METHOD, BOTH, gssapi, 2, PROTO_ERROR, 2, &p);
	ck_assert_int_eq(p.error, SOCKS5_CLIENT_BAD_METHOD);
	feed_every_way(SOCKS5_CLIENT_METHOD, SOCKS5_CLIENT_OFFER_NONE, up, 2, PROTO_ERROR, 2, &p);
	ck_assert_int_eq(p.error, SOCKS5_CLIENT_BAD_METHOD);
	feed_every_way(SOCKS5_CLIENT_METHOD, BOTH, v4, 2, PROTO_ERROR, 1, &p);
	ck_assert_int_eq(p.error, SOCKS5_CLIENT_BAD_VERSION);
	ck_assert_str_eq(socks5_client_error_str(p.error), "wrong version octet");
}
END_TEST

START_TEST(auth_status)
{
	static const uint8_t ok[] = { 0x01, 0x00 }, no[] = { 0x01, 0x01 }, bad[] = { 0x05, 0x00 };
	struct socks5_client_parser p;

	feed_every_way(SOCKS5_CLIENT_AUTH, 0, ok, 2, PROTO_DONE, 2, &p);
	ck_assert_uint_eq(p.status, 0);
	feed_every_way(SOCKS5_CLIENT_AUTH, 0, no, 2, PROTO_DONE, 2, &p);
	ck_assert_uint_eq(p.status, 1);
	feed_every_way(SOCKS5_CLIENT_AUTH, 0, bad, 2, PROTO_ERROR, 1, &p);
	ck_assert_int_eq(p.error, SOCKS5_CLIENT_BAD_VERSION);
}
END_TEST

START_TEST(reply_ipv4)
{
	static const uint8_t msg[] = { 0x05, 0x00, 0x00, 0x01, 192, 0, 2, 7, 0x04, 0x38 };
	struct socks5_client_parser p;
	struct sockaddr_storage ss;
	socklen_t sl;
	char ip[64];

	feed_every_way(SOCKS5_CLIENT_REPLY, 0, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert_uint_eq(p.rep, 0);
	ck_assert_uint_eq(p.atyp, 1);
	ck_assert_uint_eq(p.port, 1080);
	socks5_client_bnd(&p, &ss, &sl);
	ck_assert_uint_eq(sl, sizeof(struct sockaddr_in));
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
	ck_assert_str_eq(ip, "192.0.2.7");
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 1080);
}
END_TEST

START_TEST(reply_ipv6_failure)
{
	uint8_t msg[22] = { 0x05, 0x05, 0x00, 0x04 };
	struct socks5_client_parser p;
	struct sockaddr_storage ss;
	socklen_t sl;

	msg[4] = 0x20;
	msg[5] = 0x01;
	msg[19] = 0x01;
	msg[20] = 0xFF;
	msg[21] = 0xFF;
	feed_every_way(SOCKS5_CLIENT_REPLY, 0, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert_uint_eq(p.rep, 0x05);  /* refused: parsed, the caller maps it */
	ck_assert_uint_eq(p.port, 65535);
	socks5_client_bnd(&p, &ss, &sl);
	ck_assert_uint_eq(sl, sizeof(struct sockaddr_in6));
	ck_assert_mem_eq(&((struct sockaddr_in6 *)&ss)->sin6_addr, msg + 4, 16);
}
END_TEST

START_TEST(reply_domain)
{
	uint8_t msg[7 + 255] = { 0x05, 0x00, 0x00, 0x03, 255 };
	struct socks5_client_parser p;
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(msg + 5, 'a', 255);
	msg[5 + 255] = 0;
	msg[6 + 255] = 80;
	feed_every_way(SOCKS5_CLIENT_REPLY, 0, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert_uint_eq(p.addr_len, 255);
	ck_assert_uint_eq(strlen((const char *)p.addr), 255);
	ck_assert_uint_eq(p.port, 80);
	socks5_client_bnd(&p, &ss, &sl);
	ck_assert_uint_eq(sl, 0);
}
END_TEST

START_TEST(reply_hostile)
{
	static const uint8_t ver[] = { 0x04, 0x5A, 0, 0, 0, 0, 0, 0 };
	static const uint8_t rsv[] = { 0x05, 0x00, 0x01, 0x01, 1, 2, 3, 4, 0, 80 };
	static const uint8_t atyp[] = { 0x05, 0x00, 0x00, 0x02, 1, 2, 3, 4, 0, 80 };
	static const uint8_t empty[] = { 0x05, 0x00, 0x00, 0x03, 0x00, 0, 80 };
	static const uint8_t http[] = { 'H', 'T', 'T', 'P', '/', '1' };
	struct socks5_client_parser p;

	feed_every_way(SOCKS5_CLIENT_REPLY, 0, ver, sizeof(ver), PROTO_ERROR, 1, &p);
	ck_assert_int_eq(p.error, SOCKS5_CLIENT_BAD_VERSION);
	feed_every_way(SOCKS5_CLIENT_REPLY, 0, rsv, sizeof(rsv), PROTO_ERROR, 3, &p);
	ck_assert_int_eq(p.error, SOCKS5_CLIENT_BAD_RSV);
	feed_every_way(SOCKS5_CLIENT_REPLY, 0, atyp, sizeof(atyp), PROTO_ERROR, 4, &p);
	ck_assert_int_eq(p.error, SOCKS5_CLIENT_BAD_ATYP);
	feed_every_way(SOCKS5_CLIENT_REPLY, 0, empty, sizeof(empty), PROTO_ERROR, 5, &p);
	ck_assert_int_eq(p.error, SOCKS5_CLIENT_EMPTY_DOMAIN);
	feed_every_way(SOCKS5_CLIENT_REPLY, 0, http, sizeof(http), PROTO_ERROR, 1, &p);
	ck_assert_int_eq(p.error, SOCKS5_CLIENT_BAD_VERSION);
	for (int e = SOCKS5_CLIENT_OK; e <= SOCKS5_CLIENT_EMPTY_DOMAIN; e++)
		ck_assert_str_ne(socks5_client_error_str((enum socks5_client_error)e), "unknown error");
}
END_TEST

START_TEST(reply_incomplete)
{
	static const uint8_t msg[] = { 0x05, 0x00, 0x00, 0x01, 1, 2, 3, 4, 0 };
	struct socks5_client_parser p;
	size_t used;

	socks5_client_init(&p, SOCKS5_CLIENT_REPLY, 0);
	ck_assert_int_eq(socks5_client_parse(&p, msg, sizeof(msg), &used), PROTO_MORE);
	ck_assert_uint_eq(used, sizeof(msg));
	ck_assert_int_eq(socks5_client_parse(&p, msg, 0, &used), PROTO_MORE);
	ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(build_greeting_userpass)
{
	uint8_t out[SOCKS5_CLIENT_USERPASS_MAX];
	char big[256];

	ck_assert_uint_eq(socks5_client_greeting(out, SOCKS5_CLIENT_OFFER_NONE), 3);
	ck_assert_mem_eq(out, "\x05\x01\x00", 3);
	ck_assert_uint_eq(socks5_client_greeting(out, BOTH), 4);
	ck_assert_mem_eq(out, "\x05\x02\x00\x02", 4);
	ck_assert_uint_eq(socks5_client_greeting(out, 0), 0);

	ck_assert_uint_eq(socks5_client_userpass(out, "bob", 3, "pw", 2), 8);
	ck_assert_mem_eq(out, "\x01\x03" "bob" "\x02" "pw", 8);
	ck_assert_uint_eq(socks5_client_userpass(out, "bob", 3, "", 0), 6);
	memset(big, 'x', sizeof(big));
	ck_assert_uint_eq(socks5_client_userpass(out, big, 255, big, 255), 513);
	ck_assert_uint_eq(socks5_client_userpass(out, big, 256, "p", 1), 0);
	ck_assert_uint_eq(socks5_client_userpass(out, "u", 1, big, 256), 0);
	ck_assert_uint_eq(socks5_client_userpass(out, "", 0, "p", 1), 0);
}
END_TEST

START_TEST(build_requests)
{
	uint8_t out[SOCKS5_CLIENT_REQUEST_MAX];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(443) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(53) };
	struct sockaddr_un_like { sa_family_t f; char x[20]; } other = { AF_UNIX, "" };
	char name[256];

	inet_pton(AF_INET, "198.51.100.9", &sin.sin_addr);
	ck_assert_uint_eq(socks5_client_request_addr(out, 1, (struct sockaddr *)&sin), 10);
	ck_assert_mem_eq(out, "\x05\x01\x00\x01\xC6\x33\x64\x09\x01\xBB", 10);
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);  /* mapped: sent as IPv4 */
	ck_assert_uint_eq(socks5_client_request_addr(out, 3, (struct sockaddr *)&sin6), 10);
	ck_assert_mem_eq(out, "\x05\x03\x00\x01\x0A\x01\x02\x03\x00\x35", 10);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	ck_assert_uint_eq(socks5_client_request_addr(out, 1, (struct sockaddr *)&sin6), 22);
	ck_assert_uint_eq(out[3], 4);
	ck_assert_mem_eq(out + 4, &sin6.sin6_addr, 16);
	ck_assert_uint_eq(socks5_client_request_addr(out, 1, (struct sockaddr *)&other), 0);

	ck_assert_uint_eq(socks5_client_request_name(out, 1, "example.com", 11, 80), 18);
	ck_assert_mem_eq(out, "\x05\x01\x00\x03\x0B" "example.com" "\x00\x50", 18);
	memset(name, 'n', sizeof(name));
	ck_assert_uint_eq(socks5_client_request_name(out, 1, name, 255, 1), 262);
	ck_assert_uint_eq(socks5_client_request_name(out, 1, name, 256, 1), 0);
	ck_assert_uint_eq(socks5_client_request_name(out, 1, name, 0, 1), 0);
}
END_TEST

/* A built reply-shaped request parses back as a reply (same layout). */
START_TEST(request_roundtrip_as_reply)
{
	uint8_t out[SOCKS5_CLIENT_REQUEST_MAX];
	struct socks5_client_parser p;
	size_t n = socks5_client_request_name(out, 0, "host.example", 12, 8080);

	feed_every_way(SOCKS5_CLIENT_REPLY, 0, out, n, PROTO_DONE, n, &p);
	ck_assert_str_eq((const char *)p.addr, "host.example");
	ck_assert_uint_eq(p.port, 8080);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("socks5_client");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, method_choices);
	tcase_add_test(tc, auth_status);
	tcase_add_test(tc, reply_ipv4);
	tcase_add_test(tc, reply_ipv6_failure);
	tcase_add_test(tc, reply_domain);
	tcase_add_test(tc, reply_hostile);
	tcase_add_test(tc, reply_incomplete);
	tcase_add_test(tc, build_greeting_userpass);
	tcase_add_test(tc, build_requests);
	tcase_add_test(tc, request_roundtrip_as_reply);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
