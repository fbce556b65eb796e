/* socks5_client: the client side of SOCKS5 and RFC 1929. See socks5_client.h. */
#include "socks5_client.h"

#include <netinet/in.h>
#include <string.h>

#include "core/net.h"

/*
 * A byte-at-a-time state machine, as in socks/socks5_proto.c (whose driver
 * this layer may not use: socks sits above route): any split of the input
 * gives the same result and nothing past the message is consumed. Replies
 * are 262 octets at most, so the per-octet call costs nothing that matters.
 */
enum {
	C_VER, C_METHOD, C_STATUS, C_REP, C_RSV, C_ATYP, C_DLEN, C_ADDR, C_PORT_HI,
	C_PORT_LO, C_DONE = 0xFE, C_ERROR = 0xFF
};

enum { ATYP_IPV4 = 1, ATYP_DOMAIN = 3, ATYP_IPV6 = 4 };

void socks5_client_init(struct socks5_client_parser *p, enum socks5_client_msg msg,
			uint8_t offered)
{
	memset(p, 0, sizeof(*p));
	p->msg = (uint8_t)msg;
	p->offered = offered;
	p->state = C_VER;
}

static enum proto_result socks5_client_fail(struct socks5_client_parser *p,
					    enum socks5_client_error e)
{
	p->error = e;
	return PROTO_ERROR;
}

static enum proto_result socks5_client_ver(struct socks5_client_parser *p, uint8_t c)
{
	if (c != (p->msg == SOCKS5_CLIENT_AUTH ? 0x01 : 0x05))
		return socks5_client_fail(p, SOCKS5_CLIENT_BAD_VERSION);
	p->state = p->msg == SOCKS5_CLIENT_METHOD ? C_METHOD :
		   p->msg == SOCKS5_CLIENT_AUTH ? C_STATUS : C_REP;
	return PROTO_MORE;
}

static enum proto_result socks5_client_method(struct socks5_client_parser *p, uint8_t c)
{
	bool ok = c == 0xFF ||
		  (c == 0x00 && (p->offered & SOCKS5_CLIENT_OFFER_NONE)) ||
		  (c == 0x02 && (p->offered & SOCKS5_CLIENT_OFFER_USERPASS));

	if (!ok)
		return socks5_client_fail(p, SOCKS5_CLIENT_BAD_METHOD);
	p->method = c;
	return PROTO_DONE;
}

static enum proto_result socks5_client_atyp(struct socks5_client_parser *p, uint8_t c)
{
	p->atyp = c;
	p->seen = 0;
	p->state = C_ADDR;
	if (c == ATYP_IPV4)
		p->addr_len = 4;
	else if (c == ATYP_IPV6)
		p->addr_len = 16;
	else if (c == ATYP_DOMAIN)
		p->state = C_DLEN;
	else
		return socks5_client_fail(p, SOCKS5_CLIENT_BAD_ATYP);
	return PROTO_MORE;
}

static enum proto_result socks5_client_step(struct socks5_client_parser *p, uint8_t c)
{
	switch (p->state) {
	case C_VER:
		return socks5_client_ver(p, c);
	case C_METHOD:
		return socks5_client_method(p, c);
	case C_STATUS:
		p->status = c;
		return PROTO_DONE;
	case C_REP:
		p->rep = c;
		p->state = C_RSV;
		return PROTO_MORE;
	case C_RSV:
		if (c != 0)
			return socks5_client_fail(p, SOCKS5_CLIENT_BAD_RSV);
		p->state = C_ATYP;
		return PROTO_MORE;
	case C_ATYP:
		return socks5_client_atyp(p, c);
	case C_DLEN:
		if (c == 0)
			return socks5_client_fail(p, SOCKS5_CLIENT_EMPTY_DOMAIN);
		p->addr_len = c;
		p->state = C_ADDR;
		return PROTO_MORE;
	case C_ADDR:
		p->addr[p->seen++] = c;
		if (p->seen == p->addr_len)
			p->state = C_PORT_HI;
		return PROTO_MORE;
	case C_PORT_HI:
		p->port = (uint16_t)(c << 8);
		p->state = C_PORT_LO;
		return PROTO_MORE;
	default:
		p->port |= c;
		return PROTO_DONE;
	}
}

enum proto_result socks5_client_parse(struct socks5_client_parser *p, const uint8_t *buf,
				      size_t len, size_t *used)
{
	*used = 0;
	if (p->state == C_DONE)
		return PROTO_DONE;
	if (p->state == C_ERROR)
		return PROTO_ERROR;
	for (size_t i = 0; i < len; i++) {
		enum proto_result r = socks5_client_step(p, buf[i]);

		if (r != PROTO_MORE) {
			p->state = r == PROTO_DONE ? C_DONE : C_ERROR;
			*used = i + 1;
			return r;
		}
	}
	*used = len;
	return PROTO_MORE;
}

const char *socks5_client_error_str(enum socks5_client_error e)
{
	switch (e) {
	case SOCKS5_CLIENT_OK:
		return "no error";
	case SOCKS5_CLIENT_BAD_VERSION:
		return "wrong version octet";
	case SOCKS5_CLIENT_BAD_METHOD:
		return "method not offered";
	case SOCKS5_CLIENT_BAD_RSV:
		return "reserved octet not zero";
	case SOCKS5_CLIENT_BAD_ATYP:
		return "unknown address type";
	case SOCKS5_CLIENT_EMPTY_DOMAIN:
		return "empty domain name";
	}
	return "unknown error";
}

void socks5_client_bnd(const struct socks5_client_parser *p, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (p->atyp == ATYP_IPV4) {
		ss->ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, p->addr, 4);
	} else if (p->atyp == ATYP_IPV6) {
		ss->ss_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, p->addr, 16);
	}
	net_set_port(ss, p->port);
	*len = net_addr_len((const struct sockaddr *)ss);
}

/* --- builders --- */

size_t socks5_client_greeting(uint8_t out[SOCKS5_CLIENT_GREETING_MAX], uint8_t offered)
{
	size_t n = 2;

	out[0] = 0x05;
	if (offered & SOCKS5_CLIENT_OFFER_NONE)
		out[n++] = 0x00;
	if (offered & SOCKS5_CLIENT_OFFER_USERPASS)
		out[n++] = 0x02;
	out[1] = (uint8_t)(n - 2);
	return n == 2 ? 0 : n;
}

size_t socks5_client_userpass(uint8_t out[SOCKS5_CLIENT_USERPASS_MAX], const char *user,
			      size_t ulen, const char *pass, size_t plen)
{
	if (ulen == 0 || ulen > 255 || plen > 255)
		return 0;
	out[0] = 0x01;
	out[1] = (uint8_t)ulen;
	memcpy(out + 2, user, ulen);
	out[2 + ulen] = (uint8_t)plen;
	memcpy(out + 3 + ulen, pass, plen);
	return 3 + ulen + plen;
}

/* VER CMD RSV ATYP: the four octets every request starts with. */
static void socks5_client_request_head(uint8_t *out, uint8_t cmd, uint8_t atyp)
{
	out[0] = 0x05;
	out[1] = cmd;
	out[2] = 0x00;
	out[3] = atyp;
}

size_t socks5_client_request_addr(uint8_t out[SOCKS5_CLIENT_REQUEST_MAX], uint8_t cmd,
				  const struct sockaddr *dst)
{
	uint8_t host[16];
	size_t alen = net_host(dst, host), n = 4;
	uint16_t port = net_port(dst);

	if (alen == 0)
		return 0;
	socks5_client_request_head(out, cmd, alen == 4 ? ATYP_IPV4 : ATYP_IPV6);
	memcpy(out + n, host, alen);
	n += alen;
	out[n++] = (uint8_t)(port >> 8);
	out[n++] = (uint8_t)port;
	return n;
}

size_t socks5_client_request_name(uint8_t out[SOCKS5_CLIENT_REQUEST_MAX], uint8_t cmd,
				  const char *name, size_t nlen, uint16_t port)
{
	size_t n = 5;

	if (nlen == 0 || nlen > 255)
		return 0;
	socks5_client_request_head(out, cmd, ATYP_DOMAIN);
	out[4] = (uint8_t)nlen;
	memcpy(out + n, name, nlen);
	n += nlen;
	out[n++] = (uint8_t)(port >> 8);
	out[n++] = (uint8_t)port;
	return n;
}
