/*
 * Fuzz target: the SOCKS5 request parser, plus the address helpers on what
 * it parsed, and a round trip through the reply builder (a reply has the
 * shape of a request, so parsing a built reply must give the address back).
 */
#include <string.h>

#include "fuzz.h"
#include "socks/socks5_proto.h"

static enum proto_result fuzz_request_parse(void *p, const uint8_t *buf, size_t len,
					    size_t *used)
{
	return request_parse(p, buf, len, used);
}

static void fuzz_request_roundtrip(const struct request_parser *p)
{
	struct sockaddr_storage ss;
	struct request_parser back;
	uint8_t reply[SOCKS5_REPLY_MAX];
	socklen_t sslen;
	size_t n, used;

	request_sockaddr(p, &ss, &sslen);
	if (p->atyp == SOCKS5_ATYP_DOMAIN) {
		FUZZ_CHECK(sslen == 0);
		return;
	}
	FUZZ_CHECK(sslen > 0);
	n = socks5_reply_build(reply, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&ss);
	FUZZ_CHECK(n == 6 + (size_t)p->addr_len);
	request_init(&back);
	FUZZ_CHECK(request_parse(&back, reply, n, &used) == PROTO_DONE && used == n);
	FUZZ_CHECK(back.atyp == p->atyp && back.port == p->port);
	FUZZ_CHECK(memcmp(back.addr, p->addr, p->addr_len) == 0);
}

static void fuzz_request_done(const struct request_parser *p, const uint8_t *buf,
			      size_t used, uint8_t strlen_sel)
{
	char str[300];
	size_t strsz = (size_t)strlen_sel % sizeof(str) + 1;

	FUZZ_CHECK(p->error == REQUEST_OK && p->cmd == buf[1]);
	FUZZ_CHECK(p->atyp == SOCKS5_ATYP_IPV4 || p->atyp == SOCKS5_ATYP_IPV6 ||
		   p->atyp == SOCKS5_ATYP_DOMAIN);
	if (p->atyp == SOCKS5_ATYP_DOMAIN) {
		FUZZ_CHECK(p->addr_len > 0 && p->addr[p->addr_len] == '\0');
		FUZZ_CHECK(used == 7 + (size_t)p->addr_len);
	} else {
		FUZZ_CHECK(p->addr_len == (p->atyp == SOCKS5_ATYP_IPV4 ? 4 : 16));
		FUZZ_CHECK(used == 6 + (size_t)p->addr_len);
	}
	FUZZ_CHECK(p->port == (buf[used - 2] << 8 | buf[used - 1]));
	memset(str, 'X', sizeof(str));
	request_dest_str(p, str, strsz);
	FUZZ_CHECK(memchr(str, '\0', strsz) != NULL);
	fuzz_request_roundtrip(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request_parser whole, split;
	size_t used_whole, n;
	const uint8_t *buf = data + 1;
	enum proto_result r;

	if (size == 0)
		return 0;
	n = size - 1;
	request_init(&whole);
	request_init(&split);
	r = fuzz_whole_split(fuzz_request_parse, &whole, &split, sizeof(whole), buf, n,
			     fuzz_cut(data, n), &used_whole);
	if (r == PROTO_ERROR)
		FUZZ_CHECK(whole.error != REQUEST_OK);
	if (r == PROTO_DONE)
		fuzz_request_done(&whole, buf, used_whole, data[0]);
	return 0;
}
