/*
 * Fuzz target: the SOCKS5 client-side parser (what a parent SOCKS5 server
 * sends back). The same input is read as each of the three messages (the
 * method choice, the RFC 1929 status, the reply); a reply read whole must
 * match its octets, and the request builder's output (the same layout)
 * must parse back to the same address and port.
 */
#include <string.h>

#include "fuzz.h"
#include "route/socks5_client.h"

static enum proto_result fuzz_s5c_parse(void *p, const uint8_t *buf, size_t len, size_t *used)
{
	return socks5_client_parse(p, buf, len, used);
}

static void fuzz_s5c_reply_done(const struct socks5_client_parser *p, const uint8_t *buf,
				size_t used)
{
	uint8_t out[SOCKS5_CLIENT_REQUEST_MAX];
	struct socks5_client_parser back;
	struct sockaddr_storage ss;
	socklen_t sl;
	size_t n, bu;

	FUZZ_CHECK(p->error == SOCKS5_CLIENT_OK && p->rep == buf[1] && buf[2] == 0);
	FUZZ_CHECK(p->port == (buf[used - 2] << 8 | buf[used - 1]));
	socks5_client_bnd(p, &ss, &sl);
	if (p->atyp == 3) {
		FUZZ_CHECK(used == 7 + (size_t)p->addr_len && sl == 0);
		FUZZ_CHECK(p->addr_len > 0 && p->addr[p->addr_len] == '\0');
		n = socks5_client_request_name(out, p->rep, (const char *)p->addr, p->addr_len,
					       p->port);
	} else {
		FUZZ_CHECK(p->atyp == 1 || p->atyp == 4);
		FUZZ_CHECK(used == 6 + (size_t)p->addr_len && sl > 0);
		n = socks5_client_request_addr(out, p->rep, (struct sockaddr *)&ss);
	}
	FUZZ_CHECK(n > 0);
	socks5_client_init(&back, SOCKS5_CLIENT_REPLY, 0);
	FUZZ_CHECK(socks5_client_parse(&back, out, n, &bu) == PROTO_DONE && bu == n);
	FUZZ_CHECK(back.port == p->port && back.rep == p->rep);
	/* an IPv4-mapped IPv6 BND comes back as IPv4: compare the rest only then */
	if (back.atyp == p->atyp)
		FUZZ_CHECK(memcmp(back.addr, p->addr, p->addr_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum socks5_client_msg kinds[] = {
		SOCKS5_CLIENT_METHOD, SOCKS5_CLIENT_AUTH, SOCKS5_CLIENT_REPLY
	};
	struct socks5_client_parser whole, split;
	const uint8_t *buf = data + 1;
	size_t n, used;
	enum proto_result r;

	if (size == 0)
		return 0;
	n = size - 1;
	for (size_t k = 0; k < 3; k++) {
		uint8_t offered = (uint8_t)(data[0] >> 6);

		socks5_client_init(&whole, kinds[k], offered);
		socks5_client_init(&split, kinds[k], offered);
		r = fuzz_whole_split(fuzz_s5c_parse, &whole, &split, sizeof(whole), buf, n,
				     fuzz_cut(data, n), &used);
		if (r == PROTO_ERROR)
			FUZZ_CHECK(whole.error != SOCKS5_CLIENT_OK &&
				   strcmp(socks5_client_error_str(whole.error), "unknown error") != 0);
		if (r == PROTO_DONE && kinds[k] != SOCKS5_CLIENT_REPLY)
			FUZZ_CHECK(used == 2);
		if (r == PROTO_DONE && kinds[k] == SOCKS5_CLIENT_REPLY)
			fuzz_s5c_reply_done(&whole, buf, used);
	}
	return 0;
}
