/* socks5_udp: UDP ASSOCIATE datagram header codec. See socks5_udp.h. */
#include "socks5_udp.h"

#include <string.h>

/*
 * The header after RSV RSV FRAG is a request's ATYP DST.ADDR DST.PORT, so
 * the request parser reads it once primed with VER CMD RSV. A datagram is
 * whole, so a parser still wanting bytes means the header was truncated.
 */
enum socks5_udp_error socks5_udp_parse(struct socks5_udp_header *h,
				       const uint8_t *buf, size_t len)
{
	static const uint8_t prime[3] = { SOCKS5_VERSION, 0, 0 };
	size_t used;

	if (len < 4)
		return SOCKS5_UDP_TRUNCATED;
	h->frag = buf[2];
	request_init(&h->dst);
	(void)request_parse(&h->dst, prime, sizeof(prime), &used);
	switch (request_parse(&h->dst, buf + 3, len - 3, &used)) {
	case PROTO_DONE:
		h->data_offset = 3 + used;
		return SOCKS5_UDP_OK;
	case PROTO_MORE:
		return SOCKS5_UDP_TRUNCATED;
	default:
		return h->dst.error == REQUEST_EMPTY_DOMAIN ? SOCKS5_UDP_EMPTY_DOMAIN
							    : SOCKS5_UDP_BAD_ATYP;
	}
}

/* A reply's VER REP RSV prefix has the length of RSV RSV FRAG: the reply
 * builder writes the rest, so addresses are encoded in one place. */
size_t socks5_udp_build(uint8_t *out, size_t outlen, const struct sockaddr *sa)
{
	uint8_t tmp[SOCKS5_REPLY_MAX];
	size_t n;

	if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 0;
	n = socks5_reply_build(tmp, 0, sa);
	if (n > outlen)
		return 0;
	tmp[0] = tmp[1] = tmp[2] = 0;
	memcpy(out, tmp, n);
	return n;
}

const char *socks5_udp_strerror(enum socks5_udp_error e)
{
	switch (e) {
	case SOCKS5_UDP_OK:
		return "ok";
	case SOCKS5_UDP_TRUNCATED:
		return "truncated header";
	case SOCKS5_UDP_BAD_ATYP:
		return "unknown address type";
	case SOCKS5_UDP_EMPTY_DOMAIN:
		return "empty domain name";
	}
	return "unknown error";
}
