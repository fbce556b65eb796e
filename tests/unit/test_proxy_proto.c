/*
 * Unit tests for the PROXY protocol parser (v1 and v2): every header is fed
 * whole, byte by byte and cut in two at every position, with SOCKS bytes
 * after it that must stay unconsumed, and must end in the same state each
 * time; every refusal at the octet that makes it one.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core/net.h"
#include "socks/proxy_proto.h"

/* A SOCKS5 greeting behind the header: it belongs to the session. */
static const uint8_t pipelined[] = { 0x05, 0x01, 0x00 };

#define V2_SIG "\r\n\r\n\0\r\nQUIT\n"

/*
 * Feeds msg (with pipelined behind it) whole, one octet at a time, and cut
 * at every position; each run must give want after want_used octets and the
 * same parser. *out gets the parser of the whole run.
 */
static void feed_every_way(const uint8_t *msg, size_t len, enum proto_result want,
			   size_t want_used, struct proxy_parser *out)
{
	static uint8_t buf[2048];
	size_t total = len + sizeof(pipelined), cut, used, got, i;
	struct proxy_parser p;
	enum proto_result r;

	ck_assert_uint_le(total, sizeof(buf));
	memcpy(buf, msg, len);
	memcpy(buf + len, pipelined, sizeof(pipelined));
	proxy_init(out);
	ck_assert_int_eq(proxy_parse(out, buf, total, &used), want);
	ck_assert_uint_eq(used, want_used);
	ck_assert_int_eq(proxy_parse(out, buf, total, &used), want);  /* finished: sticky */
	ck_assert_uint_eq(used, 0);

	proxy_init(&p);
	for (i = 0, r = PROTO_MORE; i < total && r == PROTO_MORE; i++) {
		r = proxy_parse(&p, buf + i, 1, &used);
		ck_assert_uint_eq(used, 1);
	}
	ck_assert_int_eq(r, want);
	ck_assert_uint_eq(i, want_used);
	ck_assert_mem_eq(&p, out, sizeof(p));

	for (cut = 0; cut <= want_used; cut++) {
		proxy_init(&p);
		r = proxy_parse(&p, buf, cut, &used);
		ck_assert_uint_eq(used, cut);
		got = used;
		if (r == PROTO_MORE) {
			r = proxy_parse(&p, buf + cut, total - cut, &used);
			got += used;
		}
		ck_assert_int_eq(r, want);
		ck_assert_uint_eq(got, want_used);
		ck_assert_mem_eq(&p, out, sizeof(p));
	}
}

static void feed_str(const char *s, enum proto_result want, size_t want_used,
		     struct proxy_parser *out)
{
	feed_every_way((const uint8_t *)s, strlen(s), want, want_used, out);
}

/* A refusal at the last octet of s (the earlier ones wanted more). */
static void refused(const uint8_t *msg, size_t len, enum proxy_error e)
{
	struct proxy_parser p;

	feed_every_way(msg, len, PROTO_ERROR, len, &p);
	ck_assert_int_eq(p.error, e);
}

static void refused_str(const char *s, enum proxy_error e)
{
	refused((const uint8_t *)s, strlen(s), e);
}

static void assert_addr(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	char got[NET_ADDRSTRLEN];

	net_ip_str((const struct sockaddr *)ss, got, sizeof(got));
	ck_assert_str_eq(got, ip);
	ck_assert_uint_eq(net_port((const struct sockaddr *)ss), port);
}

/* --- v1 --- */

START_TEST(v1_tcp4)
{
	const char *h = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 1080\r\n";
	struct proxy_parser p;

	feed_str(h, PROTO_DONE, strlen(h), &p);
	ck_assert_int_eq(p.version, 1);
	ck_assert(!p.local);
	assert_addr(&p.src, "192.0.2.7", 56324);
	assert_addr(&p.dst, "198.51.100.1", 1080);
}
END_TEST

START_TEST(v1_tcp6)
{
	const char *h = "PROXY TCP6 2001:db8::1 ::1 0 65535\r\n";
	struct proxy_parser p;

	feed_str(h, PROTO_DONE, strlen(h), &p);
	ck_assert(!p.local);
	ck_assert_int_eq(p.src.ss_family, AF_INET6);
	assert_addr(&p.src, "2001:db8::1", 0);
	assert_addr(&p.dst, "::1", 65535);
}
END_TEST

START_TEST(v1_unknown)
{
	struct proxy_parser p;
	const char *a = "PROXY UNKNOWN\r\n";
	const char *b = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";

	feed_str(a, PROTO_DONE, strlen(a), &p);
	ck_assert(p.local);
	feed_str(b, PROTO_DONE, strlen(b), &p);
	ck_assert(p.local);
}
END_TEST

/* The longest line the specification allows: 107 octets, CRLF included. */
START_TEST(v1_longest)
{
	char h[PROXY_V1_MAX + 2];
	struct proxy_parser p;

	snprintf(h, sizeof(h), "PROXY UNKNOWN %-*s\r\n", PROXY_V1_MAX - 16, "x");
	ck_assert_uint_eq(strlen(h), PROXY_V1_MAX);
	feed_str(h, PROTO_DONE, PROXY_V1_MAX, &p);
	ck_assert(p.local);
	/* one more octet before the CRLF: refused at the 107th, not the CR */
	snprintf(h, sizeof(h), "PROXY UNKNOWN %-*s\r\n", PROXY_V1_MAX - 15, "x");
	refused((const uint8_t *)h, PROXY_V1_MAX, PROXY_TOO_LONG);
}
END_TEST

START_TEST(v1_refused)
{
	refused_str("G", PROXY_BAD_SIGNATURE);
	refused_str("\x05", PROXY_BAD_SIGNATURE);
	refused_str("PROXy", PROXY_BAD_SIGNATURE);
	refused_str("PROXY\r", PROXY_BAD_SIGNATURE);
	refused_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", PROXY_BAD_LINE);     /* LF alone */
	refused_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx", PROXY_BAD_LINE);    /* CR alone */
	refused_str("PROXY TCP4 1.2.3.4\t", PROXY_BAD_LINE);                 /* control */
	refused_str("PROXY TCP4 1.2.3.4 \xC3", PROXY_BAD_LINE);              /* not ASCII */
	refused_str("PROXY \r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", PROXY_BAD_LINE);
	refused_str("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", PROXY_BAD_LINE);
	refused_str("PROXY UNKNOWNX\r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", PROXY_BAD_LINE);  /* two spaces */
	refused_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", PROXY_BAD_LINE);      /* wrong family */
	refused_str("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n", PROXY_BAD_LINE);
	refused_str("PROXY TCP4 host 5.6.7.8 1 2\r\n", PROXY_BAD_LINE);
}
END_TEST

/* --- v2 --- */

/* Builds a v2 header: signature, ver_cmd, fam, the block. Returns its length. */
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *block,
		 size_t len)
{
	memcpy(out, V2_SIG, 12);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(len >> 8);
	out[15] = (uint8_t)len;
	if (len > 0)
		memcpy(out + 16, block, len);
	return 16 + len;
}

static const uint8_t block4[12] = {
	192, 0, 2, 7,  198, 51, 100, 1,  0xDC, 0x04,  0x04, 0x38
};

START_TEST(v2_tcp4)
{
	uint8_t h[64];
	size_t n = v2(h, 0x21, 0x11, block4, sizeof(block4));
	struct proxy_parser p;

	feed_every_way(h, n, PROTO_DONE, n, &p);
	ck_assert_int_eq(p.version, 2);
	ck_assert(!p.local);
	assert_addr(&p.src, "192.0.2.7", 56324);
	assert_addr(&p.dst, "198.51.100.1", 1080);
}
END_TEST

START_TEST(v2_tcp6)
{
	uint8_t block[36] = { 0x20, 0x01, 0x0d, 0xb8 }, h[64];
	struct proxy_parser p;
	size_t n;

	block[15] = 1;          /* 2001:db8::1 */
	block[31] = 1;          /* ::1 */
	block[32] = 0x12;
	block[33] = 0x34;
	block[34] = 0x04;
	block[35] = 0x38;
	n = v2(h, 0x21, 0x21, block, sizeof(block));
	feed_every_way(h, n, PROTO_DONE, n, &p);
	assert_addr(&p.src, "2001:db8::1", 0x1234);
	assert_addr(&p.dst, "::1", 1080);
}
END_TEST

/* TLVs after the addresses are skipped, an empty one included. */
START_TEST(v2_tlvs_skipped)
{
	uint8_t block[12 + 3 + 5 + 3 + 3 + 2], h[64];
	struct proxy_parser p;
	size_t n;

	memcpy(block, block4, 12);
	memcpy(block + 12, "\x02\x00\x05" "hello" "\x04\x00\x00" "\x03\x00\x02" "\xAA\xBB", 16);
	n = v2(h, 0x21, 0x11, block, sizeof(block));
	feed_every_way(h, n, PROTO_DONE, n, &p);
	ck_assert(!p.local);
	assert_addr(&p.src, "192.0.2.7", 56324);
}
END_TEST

/* LOCAL: the block is discarded whatever it holds; UNSPEC carries no address. */
START_TEST(v2_local_and_unspec)
{
	uint8_t h[PROXY_V2_MAX_LEN + 16], junk[PROXY_V2_MAX_LEN];
	struct proxy_parser p;
	size_t n;

	memset(junk, 0xFF, sizeof(junk));
	n = v2(h, 0x20, 0x00, NULL, 0);
	feed_every_way(h, n, PROTO_DONE, n, &p);
	ck_assert(p.local);
	n = v2(h, 0x20, 0x31, junk, 7);          /* LOCAL over AF_UNIX: still fine */
	feed_every_way(h, n, PROTO_DONE, n, &p);
	ck_assert(p.local);
	n = v2(h, 0x21, 0x00, junk, 5);
	feed_every_way(h, n, PROTO_DONE, n, &p);
	ck_assert(p.local);
	n = v2(h, 0x20, 0x11, junk, sizeof(junk)); /* the longest */
	feed_every_way(h, n, PROTO_DONE, n, &p);
	ck_assert(p.local);
}
END_TEST

START_TEST(v2_refused)
{
	uint8_t h[64], tlv[12 + 4];
	size_t n;

	refused((const uint8_t *)"\r\n\r\n\0\r\nQUIX", 11, PROXY_BAD_SIGNATURE);
	refused((const uint8_t *)"\r\n\r\n\0\r\nQUIT\r", 12, PROXY_BAD_SIGNATURE);
	refused((const uint8_t *)"\r\r", 2, PROXY_BAD_SIGNATURE);
	memcpy(h, V2_SIG, 12);
	h[12] = 0x11;
	refused(h, 13, PROXY_BAD_VERSION);
	h[12] = 0x22;
	refused(h, 13, PROXY_BAD_COMMAND);
	h[12] = 0x21;
	h[13] = 0x31;                             /* AF_UNIX */
	refused(h, 14, PROXY_BAD_FAMILY);
	h[13] = 0x12;                             /* TCP4 over DGRAM */
	refused(h, 14, PROXY_BAD_FAMILY);
	h[13] = 0x41;
	refused(h, 14, PROXY_BAD_FAMILY);
	h[13] = 0x11;
	h[14] = (PROXY_V2_MAX_LEN + 1) >> 8;
	h[15] = (PROXY_V2_MAX_LEN + 1) & 0xFF;
	refused(h, 16, PROXY_TOO_LONG);
	h[12] = 0x20;                             /* LOCAL is bounded too */
	refused(h, 16, PROXY_TOO_LONG);
	h[12] = 0x21;
	h[14] = 0;
	h[15] = 11;
	refused(h, 16, PROXY_BAD_LENGTH);
	h[13] = 0x21;
	h[15] = 35;
	refused(h, 16, PROXY_BAD_LENGTH);
	/* a TLV longer than what is left, a TLV header cut by the length */
	memcpy(tlv, block4, 12);
	memcpy(tlv + 12, "\x01\x00\x02\x00", 4);
	n = v2(h, 0x21, 0x11, tlv, 12 + 3);
	refused(h, n, PROXY_BAD_TLV);
	n = v2(h, 0x21, 0x11, tlv, 12 + 2);
	refused(h, n, PROXY_BAD_TLV);
}
END_TEST

/* A header cut short wants more, whatever octet it stops after; signatures told. */
START_TEST(incomplete_wants_more)
{
	const char *v1h = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 1080\r\n";
	uint8_t h[64];
	size_t n = v2(h, 0x21, 0x11, block4, sizeof(block4)), used;
	struct proxy_parser p;

	for (size_t cut = 0; cut < n; cut++) {
		proxy_init(&p);
		ck_assert_int_eq(proxy_parse(&p, h, cut, &used), PROTO_MORE);
		ck_assert_uint_eq(used, cut);
	}
	for (size_t cut = 0; cut < strlen(v1h); cut++) {
		proxy_init(&p);
		ck_assert_int_eq(proxy_parse(&p, (const uint8_t *)v1h, cut, &used), PROTO_MORE);
	}
	ck_assert_str_eq(proxy_error_str(PROXY_BAD_TLV), "v2 TLV past the header's length");
	ck_assert(proxy_signature_prefix((const uint8_t *)"PRO", 3));
	ck_assert(proxy_signature_prefix((const uint8_t *)"PROXY TCP4", 10));
	ck_assert(proxy_signature_prefix(h, 2));
	ck_assert(proxy_signature_prefix(h, n));
	ck_assert(!proxy_signature_prefix((const uint8_t *)"PROXy", 5));
	ck_assert(!proxy_signature_prefix((const uint8_t *)"\x05\x01\x00", 3));
	ck_assert(!proxy_signature_prefix(h, 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proxy_proto");
	TCase *v1 = tcase_create("v1");
	TCase *v2c = tcase_create("v2");

	tcase_add_test(v1, v1_tcp4);
	tcase_add_test(v1, v1_tcp6);
	tcase_add_test(v1, v1_unknown);
	tcase_add_test(v1, v1_longest);
	tcase_add_test(v1, v1_refused);
	tcase_add_test(v2c, v2_tcp4);
	tcase_add_test(v2c, v2_tcp6);
	tcase_add_test(v2c, v2_tlvs_skipped);
	tcase_add_test(v2c, v2_local_and_unspec);
	tcase_add_test(v2c, v2_refused);
	tcase_add_test(v2c, incomplete_wants_more);
	suite_add_tcase(s, v1);
	suite_add_tcase(s, v2c);
	return check_main_run(s);
}
