/*
 * Unit tests for the SOCKS5 / RFC 1929 parsers and builders: every message
 * is fed whole, byte by byte and cut in two at every position, with
 * pipelined bytes after it, and must end in the same state each time.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "socks/socks5_proto.h"

/* Trailing bytes that belong to the next message and must stay unconsumed. */
static const uint8_t pipelined[] = { 0x05, 0x01, 0x00, 0x01, 0xEE };

union any_parser {
	struct greeting_parser g;
	struct userpass_parser u;
	struct request_parser r;
};

struct kind {
	void (*init)(union any_parser *p);
	enum proto_result (*parse)(union any_parser *p, const uint8_t *b, size_t n, size_t *used);
	size_t size;
};

static void g5_init(union any_parser *p) { greeting_init(&p->g, SOCKS5_VERSION); }
static void g1_init(union any_parser *p) { greeting_init(&p->g, 0x01); }
static void u_init(union any_parser *p) { userpass_init(&p->u); }
static void r_init(union any_parser *p) { request_init(&p->r); }

static enum proto_result g_parse(union any_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	return greeting_parse(&p->g, b, n, used);
}

static enum proto_result u_parse(union any_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	return userpass_parse(&p->u, b, n, used);
}

static enum proto_result r_parse(union any_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	return request_parse(&p->r, b, n, used);
}

static const struct kind GREETING5 = { g5_init, g_parse, sizeof(struct greeting_parser) };
static const struct kind GREETING1 = { g1_init, g_parse, sizeof(struct greeting_parser) };
static const struct kind USERPASS = { u_init, u_parse, sizeof(struct userpass_parser) };
static const struct kind REQUEST = { r_init, r_parse, sizeof(struct request_parser) };

/*
 * Feeds msg (len octets) followed by pipelined bytes: whole into *out, then
 * byte by byte and cut at every position, asserting the same verdict, the
 * same consumption (want_used) and the same final parser state every time.
 */
static void feed_every_way(const struct kind *k, const uint8_t *msg, size_t len,
			   enum proto_result want, size_t want_used, union any_parser *out)
{
	uint8_t buf[600];
	size_t total = len + sizeof(pipelined), cut, used, got, i;
	union any_parser p;
	enum proto_result r;

	ck_assert_uint_le(total, sizeof(buf));
	memcpy(buf, msg, len);
	memcpy(buf + len, pipelined, sizeof(pipelined));
	k->init(out);
	ck_assert_int_eq(k->parse(out, buf, total, &used), want);
	ck_assert_uint_eq(used, want_used);
	ck_assert_int_eq(k->parse(out, buf, total, &used), want);  /* finished: sticky */
	ck_assert_uint_eq(used, 0);

	k->init(&p);
	for (i = 0, r = PROTO_MORE; i < total && r == PROTO_MORE; i++) {
		r = k->parse(&p, buf + i, 1, &used);
		ck_assert_uint_eq(used, 1);
	}
	ck_assert_int_eq(r, want);
	ck_assert_uint_eq(i, want_used);
	ck_assert_mem_eq(&p, out, k->size);

	for (cut = 0; cut <= want_used; cut++) {
		k->init(&p);
		r = k->parse(&p, buf, cut, &used);
		ck_assert_uint_eq(used, cut);
		got = used;
		if (r == PROTO_MORE) {
			r = k->parse(&p, buf + cut, total - cut, &used);
			got += used;
		}
		ck_assert_int_eq(r, want);
		ck_assert_uint_eq(got, want_used);
		ck_assert_mem_eq(&p, out, k->size);
	}
}

/* --- greeting --- */

START_TEST(greeting_two_methods)
{
	static const uint8_t msg[] = { 0x05, 0x02, 0x00, 0x02 };
	union any_parser p;

	feed_every_way(&GREETING5, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert(greeting_offers(&p.g, SOCKS5_METHOD_NONE));
	ck_assert(greeting_offers(&p.g, SOCKS5_METHOD_USERPASS));
	ck_assert(!greeting_offers(&p.g, 0x01));
	ck_assert(!greeting_offers(&p.g, 0xFF));
	ck_assert_int_eq(p.g.error, GREETING_OK);
}
END_TEST

START_TEST(greeting_all_255_methods)
{
	uint8_t msg[257];
	union any_parser p;
	int m;

	msg[0] = 0x05;
	msg[1] = 255;
	for (m = 0; m < 255; m++)
		msg[2 + m] = (uint8_t)(m + 1);  /* 1..255 */
	feed_every_way(&GREETING5, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert(!greeting_offers(&p.g, 0x00));
	for (m = 1; m <= 255; m++)
		ck_assert(greeting_offers(&p.g, (uint8_t)m));
}
END_TEST

START_TEST(greeting_mass_version)
{
	static const uint8_t mass[] = { 0x01, 0x01, 0x02 };
	static const uint8_t socks[] = { 0x05, 0x01, 0x02 };
	union any_parser p;

	feed_every_way(&GREETING1, mass, sizeof(mass), PROTO_DONE, sizeof(mass), &p);
	ck_assert(greeting_offers(&p.g, SOCKS5_METHOD_USERPASS));
	feed_every_way(&GREETING1, socks, sizeof(socks), PROTO_ERROR, 1, &p);
	ck_assert_int_eq(p.g.error, GREETING_BAD_VERSION);
}
END_TEST

START_TEST(greeting_garbage)
{
	static const uint8_t v4[] = { 0x04, 0x01, 0x00 };
	static const uint8_t http[] = { 'G', 'E', 'T', ' ' };
	static const uint8_t none[] = { 0x05, 0x00 };
	union any_parser p;

	feed_every_way(&GREETING5, v4, sizeof(v4), PROTO_ERROR, 1, &p);
	ck_assert_int_eq(p.g.error, GREETING_BAD_VERSION);
	feed_every_way(&GREETING5, http, sizeof(http), PROTO_ERROR, 1, &p);
	ck_assert_int_eq(p.g.error, GREETING_BAD_VERSION);
	feed_every_way(&GREETING5, none, sizeof(none), PROTO_ERROR, 2, &p);
	ck_assert_int_eq(p.g.error, GREETING_NO_METHODS);
}
END_TEST

START_TEST(greeting_incomplete_wants_more)
{
	static const uint8_t msg[] = { 0x05, 0x03, 0x00, 0x02 };
	struct greeting_parser g;
	size_t used;

	greeting_init(&g, SOCKS5_VERSION);
	ck_assert_int_eq(greeting_parse(&g, msg, sizeof(msg), &used), PROTO_MORE);
	ck_assert_uint_eq(used, sizeof(msg));
	ck_assert_int_eq(greeting_parse(&g, msg, 0, &used), PROTO_MORE);
	ck_assert_uint_eq(used, 0);
}
END_TEST

/* --- RFC 1929 --- */

static size_t userpass_msg(uint8_t *out, const char *user, size_t ulen,
			   const char *pass, size_t plen)
{
	out[0] = 0x01;
	out[1] = (uint8_t)ulen;
	memcpy(out + 2, user, ulen);
	out[2 + ulen] = (uint8_t)plen;
	memcpy(out + 3 + ulen, pass, plen);
	return 3 + ulen + plen;
}

START_TEST(userpass_alice)
{
	uint8_t msg[64];
	size_t n = userpass_msg(msg, "alice", 5, "wonderland", 10);
	union any_parser p;

	feed_every_way(&USERPASS, msg, n, PROTO_DONE, n, &p);
	ck_assert_str_eq(p.u.user, "alice");
	ck_assert_str_eq(p.u.pass, "wonderland");
	ck_assert_uint_eq(p.u.ulen, 5);
	ck_assert_uint_eq(p.u.plen, 10);
}
END_TEST

START_TEST(userpass_max_lengths)
{
	char user[255], pass[255];
	uint8_t msg[600];
	size_t n;
	union any_parser p;

	memset(user, 'u', sizeof(user));
	memset(pass, 'p', sizeof(pass));
	user[0] = '\t';
	pass[254] = (char)0xFF;
	n = userpass_msg(msg, user, 255, pass, 255);
	feed_every_way(&USERPASS, msg, n, PROTO_DONE, n, &p);
	ck_assert_uint_eq(strlen(p.u.user), 255);
	ck_assert_mem_eq(p.u.user, user, 255);
	ck_assert_mem_eq(p.u.pass, pass, 255);
	ck_assert_int_eq(p.u.pass[255], '\0');
}
END_TEST

START_TEST(userpass_empty_fields)
{
	uint8_t msg[16];
	size_t n = userpass_msg(msg, "", 0, "", 0);
	union any_parser p;

	ck_assert_uint_eq(n, 3);
	feed_every_way(&USERPASS, msg, n, PROTO_DONE, n, &p);
	ck_assert_str_eq(p.u.user, "");
	ck_assert_str_eq(p.u.pass, "");
	n = userpass_msg(msg, "bob", 3, "", 0);
	feed_every_way(&USERPASS, msg, n, PROTO_DONE, n, &p);
	ck_assert_str_eq(p.u.user, "bob");
	ck_assert_str_eq(p.u.pass, "");
}
END_TEST

START_TEST(userpass_bad_version)
{
	uint8_t msg[32];
	size_t n = userpass_msg(msg, "alice", 5, "x", 1);
	union any_parser p;

	msg[0] = 0x05;
	feed_every_way(&USERPASS, msg, n, PROTO_ERROR, 1, &p);
	ck_assert_int_eq(p.u.error, USERPASS_BAD_VERSION);
}
END_TEST

/* --- request --- */

START_TEST(request_ipv4)
{
	static const uint8_t msg[] = { 5, 1, 0, 1, 127, 0, 0, 1, 0x1F, 0x90 };
	union any_parser p;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len;
	char str[64];

	feed_every_way(&REQUEST, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert_uint_eq(p.r.cmd, SOCKS5_CMD_CONNECT);
	ck_assert_uint_eq(p.r.atyp, SOCKS5_ATYP_IPV4);
	ck_assert_uint_eq(p.r.addr_len, 4);
	ck_assert_uint_eq(p.r.port, 8080);
	request_sockaddr(&p.r, &ss, &len);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 8080);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7F000001);
	request_dest_str(&p.r, str, sizeof(str));
	ck_assert_str_eq(str, "127.0.0.1");
}
END_TEST

START_TEST(request_ipv6)
{
	static const uint8_t msg[] = { 5, 3, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,
				       0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xBB };
	union any_parser p;
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	char str[64];

	feed_every_way(&REQUEST, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert_uint_eq(p.r.cmd, SOCKS5_CMD_UDP);
	ck_assert_uint_eq(p.r.atyp, SOCKS5_ATYP_IPV6);
	ck_assert_uint_eq(p.r.addr_len, 16);
	ck_assert_uint_eq(p.r.port, 443);
	request_sockaddr(&p.r, &ss, &len);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 443);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	request_dest_str(&p.r, str, sizeof(str));
	ck_assert_str_eq(str, "::1");
}
END_TEST

START_TEST(request_domain)
{
	static const uint8_t msg[] = { 5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				       '.', 'c', 'o', 'm', 0x00, 0x50 };
	union any_parser p;
	struct sockaddr_storage ss;
	socklen_t len = 99;
	char str[64], small[5];

	feed_every_way(&REQUEST, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert_uint_eq(p.r.atyp, SOCKS5_ATYP_DOMAIN);
	ck_assert_uint_eq(p.r.addr_len, 11);
	ck_assert_str_eq((const char *)p.r.addr, "example.com");
	ck_assert_uint_eq(p.r.port, 80);
	request_sockaddr(&p.r, &ss, &len);
	ck_assert_uint_eq(len, 0);
	request_dest_str(&p.r, str, sizeof(str));
	ck_assert_str_eq(str, "example.com");
	request_dest_str(&p.r, small, sizeof(small));
	ck_assert_str_eq(small, "exam");
}
END_TEST

START_TEST(request_domain_255)
{
	uint8_t msg[7 + 255];
	union any_parser p;
	char str[300];

	msg[0] = 5;
	msg[1] = 1;
	msg[2] = 0;
	msg[3] = 3;
	msg[4] = 255;
	memset(msg + 5, 'a', 255);
	msg[5 + 255] = 0xFF;
	msg[6 + 255] = 0xFF;
	feed_every_way(&REQUEST, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert_uint_eq(p.r.addr_len, 255);
	ck_assert_uint_eq(strlen((const char *)p.r.addr), 255);
	ck_assert_uint_eq(p.r.port, 65535);
	request_dest_str(&p.r, str, sizeof(str));
	ck_assert_uint_eq(strlen(str), 255);
}
END_TEST

START_TEST(request_unknown_cmd_parses)
{
	static const uint8_t msg[] = { 5, 9, 0x42, 1, 10, 0, 0, 1, 0, 22 };
	union any_parser p;

	feed_every_way(&REQUEST, msg, sizeof(msg), PROTO_DONE, sizeof(msg), &p);
	ck_assert_uint_eq(p.r.cmd, 9);
	ck_assert_int_eq(p.r.error, REQUEST_OK);
}
END_TEST

START_TEST(request_garbage)
{
	static const uint8_t badver[] = { 4, 1, 0, 1, 1, 2, 3, 4, 0, 80 };
	static const uint8_t atyp2[] = { 5, 1, 0, 2, 1, 2, 3, 4, 0, 80 };
	static const uint8_t atyp0[] = { 5, 1, 0, 0 };
	static const uint8_t empty[] = { 5, 1, 0, 3, 0, 0, 80 };
	union any_parser p;

	feed_every_way(&REQUEST, badver, sizeof(badver), PROTO_ERROR, 1, &p);
	ck_assert_int_eq(p.r.error, REQUEST_BAD_VERSION);
	feed_every_way(&REQUEST, atyp2, sizeof(atyp2), PROTO_ERROR, 4, &p);
	ck_assert_int_eq(p.r.error, REQUEST_BAD_ATYP);
	ck_assert_uint_eq(p.r.atyp, 2);
	feed_every_way(&REQUEST, atyp0, sizeof(atyp0), PROTO_ERROR, 4, &p);
	ck_assert_int_eq(p.r.error, REQUEST_BAD_ATYP);
	feed_every_way(&REQUEST, empty, sizeof(empty), PROTO_ERROR, 5, &p);
	ck_assert_int_eq(p.r.error, REQUEST_EMPTY_DOMAIN);
}
END_TEST

/* --- replies and errno --- */

START_TEST(reply_ipv4)
{
	static const uint8_t want[] = { 5, 0, 0, 1, 192, 0, 2, 7, 0x04, 0x38 };
	struct sockaddr_in sin;
	uint8_t out[SOCKS5_REPLY_MAX];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(1080);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	ck_assert_uint_eq(socks5_reply_build(out, SOCKS5_REP_SUCCEEDED,
					     (struct sockaddr *)&sin), sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(reply_ipv6)
{
	static const uint8_t want[] = { 5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFE };
	struct sockaddr_in6 sin6;
	uint8_t out[SOCKS5_REPLY_MAX];

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(65534);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	ck_assert_uint_eq(socks5_reply_build(out, SOCKS5_REP_SUCCEEDED,
					     (struct sockaddr *)&sin6), SOCKS5_REPLY_MAX);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(reply_null_and_other_family)
{
	static const uint8_t want[] = { 5, 7, 0, 1, 0, 0, 0, 0, 0, 0 };
	struct sockaddr unix_sa = { .sa_family = AF_UNIX };
	uint8_t out[SOCKS5_REPLY_MAX];

	ck_assert_uint_eq(socks5_reply_build(out, SOCKS5_REP_CMD_NOT_SUPPORTED, NULL), 10);
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_uint_eq(socks5_reply_build(out, SOCKS5_REP_CMD_NOT_SUPPORTED, &unix_sa), 10);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(rep_for_each_errno)
{
	ck_assert_uint_eq(socks5_rep_for_errno(ENETUNREACH), SOCKS5_REP_NET_UNREACHABLE);
	ck_assert_uint_eq(socks5_rep_for_errno(ENETDOWN), SOCKS5_REP_NET_UNREACHABLE);
	ck_assert_uint_eq(socks5_rep_for_errno(EHOSTUNREACH), SOCKS5_REP_HOST_UNREACHABLE);
	ck_assert_uint_eq(socks5_rep_for_errno(EHOSTDOWN), SOCKS5_REP_HOST_UNREACHABLE);
	ck_assert_uint_eq(socks5_rep_for_errno(ECONNREFUSED), SOCKS5_REP_REFUSED);
	ck_assert_uint_eq(socks5_rep_for_errno(ETIMEDOUT), SOCKS5_REP_TTL_EXPIRED);
	ck_assert_uint_eq(socks5_rep_for_errno(EACCES), SOCKS5_REP_NOT_ALLOWED);
	ck_assert_uint_eq(socks5_rep_for_errno(EPERM), SOCKS5_REP_NOT_ALLOWED);
	ck_assert_uint_eq(socks5_rep_for_errno(EMFILE), SOCKS5_REP_GENERAL_FAILURE);
	ck_assert_uint_eq(socks5_rep_for_errno(ECONNRESET), SOCKS5_REP_GENERAL_FAILURE);
	ck_assert_uint_eq(socks5_rep_for_errno(0), SOCKS5_REP_GENERAL_FAILURE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("socks5_proto");
	TCase *g = tcase_create("greeting");
	TCase *u = tcase_create("userpass");
	TCase *r = tcase_create("request");
	TCase *b = tcase_create("builders");

	tcase_add_test(g, greeting_two_methods);
	tcase_add_test(g, greeting_all_255_methods);
	tcase_add_test(g, greeting_mass_version);
	tcase_add_test(g, greeting_garbage);
	tcase_add_test(g, greeting_incomplete_wants_more);
	tcase_add_test(u, userpass_alice);
	tcase_add_test(u, userpass_max_lengths);
	tcase_add_test(u, userpass_empty_fields);
	tcase_add_test(u, userpass_bad_version);
	tcase_add_test(r, request_ipv4);
	tcase_add_test(r, request_ipv6);
	tcase_add_test(r, request_domain);
	tcase_add_test(r, request_domain_255);
	tcase_add_test(r, request_unknown_cmd_parses);
	tcase_add_test(r, request_garbage);
	tcase_add_test(b, reply_ipv4);
	tcase_add_test(b, reply_ipv6);
	tcase_add_test(b, reply_null_and_other_family);
	tcase_add_test(b, rep_for_each_errno);
	suite_add_tcase(s, g);
	suite_add_tcase(s, u);
	suite_add_tcase(s, r);
	suite_add_tcase(s, b);
	return check_main_run(s);
}
