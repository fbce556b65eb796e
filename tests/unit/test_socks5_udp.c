/* Unit tests for the UDP ASSOCIATE header codec. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "socks/socks5_udp.h"

START_TEST(parse_ipv4_with_data)
{
	static const uint8_t dg[] = { 0, 0, 0, 1, 10, 0, 0, 1, 0, 53, 'h', 'i' };
	struct socks5_udp_header h;
	char str[64];

	ck_assert_int_eq(socks5_udp_parse(&h, dg, sizeof(dg)), SOCKS5_UDP_OK);
	ck_assert_uint_eq(h.frag, 0);
	ck_assert_uint_eq(h.data_offset, 10);
	ck_assert_uint_eq(h.dst.atyp, SOCKS5_ATYP_IPV4);
	ck_assert_uint_eq(h.dst.port, 53);
	request_dest_str(&h.dst, str, sizeof(str));
	ck_assert_str_eq(str, "10.0.0.1");
}
END_TEST

START_TEST(parse_ipv6_empty_data_and_frag)
{
	uint8_t dg[22] = { 0xAA, 0xBB, 7, 4 };
	struct socks5_udp_header h;
	struct sockaddr_storage ss;
	socklen_t len;

	dg[19] = 1;
	dg[20] = 0x12;
	dg[21] = 0x34;
	/* RSV is ignored; FRAG is reported. */
	ck_assert_int_eq(socks5_udp_parse(&h, dg, sizeof(dg)), SOCKS5_UDP_OK);
	ck_assert_uint_eq(h.frag, 7);
	ck_assert_uint_eq(h.data_offset, sizeof(dg));
	ck_assert_uint_eq(h.dst.port, 0x1234);
	request_sockaddr(&h.dst, &ss, &len);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	ck_assert(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr));
}
END_TEST

START_TEST(parse_domain_255)
{
	uint8_t dg[4 + 1 + 255 + 2 + 3];
	struct socks5_udp_header h;

	memset(dg, 0, sizeof(dg));
	dg[3] = 3;
	dg[4] = 255;
	memset(dg + 5, 'd', 255);
	dg[260] = 0x01;
	dg[261] = 0xBB;
	ck_assert_int_eq(socks5_udp_parse(&h, dg, sizeof(dg)), SOCKS5_UDP_OK);
	ck_assert_uint_eq(h.data_offset, SOCKS5_UDP_HEADER_MAX);
	ck_assert_uint_eq(h.dst.addr_len, 255);
	ck_assert_uint_eq(strlen((const char *)h.dst.addr), 255);
	ck_assert_uint_eq(h.dst.port, 443);
}
END_TEST

START_TEST(every_truncation_is_reported)
{
	static const uint8_t v4[] = { 0, 0, 0, 1, 1, 2, 3, 4, 0, 80 };
	static const uint8_t dom[] = { 0, 0, 0, 3, 3, 'a', '.', 'b', 0, 80 };
	struct socks5_udp_header h;
	size_t n;

	for (n = 0; n < sizeof(v4); n++)
		ck_assert_int_eq(socks5_udp_parse(&h, v4, n), SOCKS5_UDP_TRUNCATED);
	for (n = 0; n < sizeof(dom); n++)
		ck_assert_int_eq(socks5_udp_parse(&h, dom, n), SOCKS5_UDP_TRUNCATED);
	ck_assert_int_eq(socks5_udp_parse(&h, dom, sizeof(dom)), SOCKS5_UDP_OK);
	ck_assert_str_eq((const char *)h.dst.addr, "a.b");
}
END_TEST

/* Every ATYP: each cut inside the header is truncated, each cut inside DATA is not. */
START_TEST(every_atyp_cut_everywhere)
{
	static const uint8_t v4[] = { 0, 0, 0, 1, 1, 2, 3, 4, 0, 80, 'd', 'a', 't', 'a' };
	static const uint8_t dom[] = { 0, 0, 0, 3, 1, 'x', 0, 80, 'd', 'a', 't', 'a' };
	uint8_t v6[4 + 16 + 2 + 4] = { 0, 0, 0, 4 };
	const struct { const uint8_t *dg; size_t len, hdr; } cases[] = {
		{ v4, sizeof(v4), 10 }, { v6, sizeof(v6), 22 }, { dom, sizeof(dom), 8 }
	};
	struct socks5_udp_header h;

	v6[19] = 1;
	v6[21] = 53;
	memcpy(v6 + 22, "data", 4);
	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
		for (size_t n = 0; n < cases[c].len; n++) {
			enum socks5_udp_error e = socks5_udp_parse(&h, cases[c].dg, n);

			if (n < cases[c].hdr) {
				ck_assert_int_eq(e, SOCKS5_UDP_TRUNCATED);
				continue;
			}
			ck_assert_int_eq(e, SOCKS5_UDP_OK);
			ck_assert_uint_eq(h.data_offset, cases[c].hdr);
			ck_assert_uint_eq(h.dst.atyp, cases[c].dg[3]);
		}
	}
}
END_TEST

START_TEST(garbage_is_rejected)
{
	static const uint8_t atyp2[] = { 0, 0, 0, 2, 1, 2, 3, 4, 0, 80 };
	static const uint8_t atyp0[] = { 0, 0, 0, 0 };
	static const uint8_t empty[] = { 0, 0, 0, 3, 0, 0, 80, 'x' };
	struct socks5_udp_header h;

	ck_assert_int_eq(socks5_udp_parse(&h, atyp2, sizeof(atyp2)), SOCKS5_UDP_BAD_ATYP);
	ck_assert_int_eq(socks5_udp_parse(&h, atyp0, sizeof(atyp0)), SOCKS5_UDP_BAD_ATYP);
	ck_assert_int_eq(socks5_udp_parse(&h, empty, sizeof(empty)), SOCKS5_UDP_EMPTY_DOMAIN);
	ck_assert_str_eq(socks5_udp_strerror(SOCKS5_UDP_EMPTY_DOMAIN), "empty domain name");
	ck_assert_str_eq(socks5_udp_strerror(SOCKS5_UDP_TRUNCATED), "truncated header");
}
END_TEST

START_TEST(build_ipv4_and_parse_back)
{
	static const uint8_t want[] = { 0, 0, 0, 1, 198, 51, 100, 2, 0x13, 0x88 };
	struct sockaddr_in sin;
	struct socks5_udp_header h;
	uint8_t out[SOCKS5_UDP_BUILD_MAX];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5000);
	inet_pton(AF_INET, "198.51.100.2", &sin.sin_addr);
	ck_assert_uint_eq(socks5_udp_build(out, sizeof(out), (struct sockaddr *)&sin), 10);
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_int_eq(socks5_udp_parse(&h, out, 10), SOCKS5_UDP_OK);
	ck_assert_uint_eq(h.data_offset, 10);
	ck_assert_uint_eq(h.dst.port, 5000);
	ck_assert_uint_eq(socks5_udp_build(out, 9, (struct sockaddr *)&sin), 0);
}
END_TEST

START_TEST(build_ipv6_and_refusals)
{
	struct sockaddr_in6 sin6;
	struct sockaddr unix_sa = { .sa_family = AF_UNIX };
	uint8_t out[SOCKS5_UDP_BUILD_MAX + 4];

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(53);
	inet_pton(AF_INET6, "2001:db8::53", &sin6.sin6_addr);
	ck_assert_uint_eq(socks5_udp_build(out, sizeof(out), (struct sockaddr *)&sin6),
			  SOCKS5_UDP_BUILD_MAX);
	ck_assert_uint_eq(out[0] | out[1] | out[2], 0);
	ck_assert_uint_eq(out[3], SOCKS5_ATYP_IPV6);
	ck_assert_mem_eq(out + 4, &sin6.sin6_addr, 16);
	ck_assert_uint_eq(out[20], 0);
	ck_assert_uint_eq(out[21], 53);
	ck_assert_uint_eq(socks5_udp_build(out, 21, (struct sockaddr *)&sin6), 0);
	ck_assert_uint_eq(socks5_udp_build(out, sizeof(out), NULL), 0);
	ck_assert_uint_eq(socks5_udp_build(out, sizeof(out), &unix_sa), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("socks5_udp");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, parse_ipv4_with_data);
	tcase_add_test(tc, parse_ipv6_empty_data_and_frag);
	tcase_add_test(tc, parse_domain_255);
	tcase_add_test(tc, every_truncation_is_reported);
	tcase_add_test(tc, every_atyp_cut_everywhere);
	tcase_add_test(tc, garbage_is_rejected);
	tcase_add_test(tc, build_ipv4_and_parse_back);
	tcase_add_test(tc, build_ipv6_and_refusals);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
