/*
 * Fuzz target: the UDP ASSOCIATE header codec. A datagram arrives whole, so
 * the "split" here is a truncation: every prefix of a datagram must parse
 * as truncated before the end of its header and identically after it. A
 * parsed IPv4/IPv6 destination must survive build and parse unchanged.
 */
#include <string.h>

#include "fuzz.h"
#include "socks/socks5_udp.h"

static void fuzz_udp_roundtrip(const struct socks5_udp_header *h)
{
	struct sockaddr_storage ss;
	struct socks5_udp_header back;
	uint8_t out[SOCKS5_UDP_BUILD_MAX];
	socklen_t sslen;
	size_t n;

	request_sockaddr(&h->dst, &ss, &sslen);
	n = socks5_udp_build(out, sizeof(out), (struct sockaddr *)&ss);
	if (h->dst.atyp == SOCKS5_ATYP_DOMAIN) {
		FUZZ_CHECK(n == 0);
		return;
	}
	FUZZ_CHECK(n == 6 + (size_t)h->dst.addr_len);
	FUZZ_CHECK(socks5_udp_build(out, n - 1, (struct sockaddr *)&ss) == 0);
	FUZZ_CHECK(socks5_udp_parse(&back, out, n) == SOCKS5_UDP_OK);
	FUZZ_CHECK(back.frag == 0 && back.data_offset == n);
	FUZZ_CHECK(back.dst.atyp == h->dst.atyp && back.dst.port == h->dst.port);
	FUZZ_CHECK(memcmp(back.dst.addr, h->dst.addr, h->dst.addr_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks5_udp_header h, prefix;
	enum socks5_udp_error e, pe;
	const uint8_t *buf = data + 1;
	size_t n, cut;

	if (size == 0)
		return 0;
	n = size - 1;
	cut = fuzz_cut(data, n);
	e = socks5_udp_parse(&h, buf, n);
	FUZZ_CHECK(socks5_udp_strerror(e) != NULL);
	pe = socks5_udp_parse(&prefix, buf, cut);
	if (e != SOCKS5_UDP_OK) {
		FUZZ_CHECK(pe == e || pe == SOCKS5_UDP_TRUNCATED);
		return 0;
	}
	FUZZ_CHECK(h.data_offset <= n && h.frag == buf[2]);
	FUZZ_CHECK(h.data_offset == (h.dst.atyp == SOCKS5_ATYP_DOMAIN ? 7u : 6u) + h.dst.addr_len);
	if (h.dst.atyp == SOCKS5_ATYP_DOMAIN)
		FUZZ_CHECK(h.dst.addr_len > 0 && h.dst.addr[h.dst.addr_len] == '\0');
	if (cut < h.data_offset) {
		FUZZ_CHECK(pe == SOCKS5_UDP_TRUNCATED);
	} else {
		FUZZ_CHECK(pe == SOCKS5_UDP_OK && prefix.data_offset == h.data_offset);
		FUZZ_CHECK(memcmp(&prefix.dst, &h.dst, sizeof(h.dst)) == 0);
	}
	fuzz_udp_roundtrip(&h);
	return 0;
}
