/* socks5_proto: SOCKS5 and RFC 1929 wire format. See socks5_proto.h. */
#include "socks5_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/net.h"

/*
 * Each parser is a byte-at-a-time state machine: a step function takes one
 * octet and says whether the message is complete, broken or wants more. The
 * driver below feeds it, so any split of the input gives the same result and
 * nothing past the end of the message is consumed. Handshake messages are a
 * few hundred bytes at most, so the per-byte call costs nothing that matters.
 */
enum { ST_DONE = 0xFE, ST_ERROR = 0xFF };

typedef enum proto_result (*socks5_step_fn)(void *p, uint8_t c);

static enum proto_result socks5_drive(void *p, uint8_t *state, socks5_step_fn step,
				      const uint8_t *buf, size_t len, size_t *used)
{
	size_t i;

	/* A finished parser consumes nothing more and keeps its verdict. */
	*used = 0;
	if (*state == ST_DONE)
		return PROTO_DONE;
	if (*state == ST_ERROR)
		return PROTO_ERROR;
	for (i = 0; i < len; i++) {
		enum proto_result r = step(p, buf[i]);

		if (r != PROTO_MORE) {
			*state = r == PROTO_DONE ? ST_DONE : ST_ERROR;
			*used = i + 1;
			return r;
		}
	}
	*used = len;
	return PROTO_MORE;
}

/* --- greeting --- */

enum { G_VER, G_NMETHODS, G_METHODS };

void greeting_init(struct greeting_parser *p, uint8_t version)
{
	memset(p, 0, sizeof(*p));
	p->version = version;
	p->state = G_VER;
}

static enum proto_result greeting_step(void *vp, uint8_t c)
{
	struct greeting_parser *p = vp;

	switch (p->state) {
	case G_VER:
		if (c != p->version) {
			p->error = GREETING_BAD_VERSION;
			return PROTO_ERROR;
		}
		p->state = G_NMETHODS;
		return PROTO_MORE;
	case G_NMETHODS:
		if (c == 0) {
			p->error = GREETING_NO_METHODS;
			return PROTO_ERROR;
		}
		p->nmethods = c;
		p->seen = 0;
		p->state = G_METHODS;
		return PROTO_MORE;
	default:
		p->offered[c >> 3] |= (uint8_t)(1u << (c & 7));
		return ++p->seen == p->nmethods ? PROTO_DONE : PROTO_MORE;
	}
}

enum proto_result greeting_parse(struct greeting_parser *p, const uint8_t *buf,
				 size_t len, size_t *used)
{
	return socks5_drive(p, &p->state, greeting_step, buf, len, used);
}

bool greeting_offers(const struct greeting_parser *p, uint8_t method)
{
	return (p->offered[method >> 3] >> (method & 7)) & 1;
}

/* --- RFC 1929 --- */

enum { U_VER, U_ULEN, U_UNAME, U_PLEN, U_PASSWD };

void userpass_init(struct userpass_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = U_VER;
}

/* An empty PASSWD ends the message at PLEN itself. */
static enum proto_result userpass_after_plen(struct userpass_parser *p)
{
	p->pass[p->plen] = '\0';
	p->seen = 0;
	p->state = U_PASSWD;
	return p->plen == 0 ? PROTO_DONE : PROTO_MORE;
}

static enum proto_result userpass_step(void *vp, uint8_t c)
{
	struct userpass_parser *p = vp;

	switch (p->state) {
	case U_VER:
		if (c != 0x01) {
			p->error = USERPASS_BAD_VERSION;
			return PROTO_ERROR;
		}
		p->state = U_ULEN;
		return PROTO_MORE;
	case U_ULEN:
		/* RFC 1929 says ULEN >= 1; an empty name simply fails to log in. */
		p->ulen = c;
		p->user[c] = '\0';
		p->seen = 0;
		p->state = c == 0 ? U_PLEN : U_UNAME;
		return PROTO_MORE;
	case U_UNAME:
		p->user[p->seen++] = (char)c;
		if (p->seen == p->ulen)
			p->state = U_PLEN;
		return PROTO_MORE;
	case U_PLEN:
		p->plen = c;
		return userpass_after_plen(p);
	default:
		p->pass[p->seen++] = (char)c;
		return p->seen == p->plen ? PROTO_DONE : PROTO_MORE;
	}
}

enum proto_result userpass_parse(struct userpass_parser *p, const uint8_t *buf,
				 size_t len, size_t *used)
{
	return socks5_drive(p, &p->state, userpass_step, buf, len, used);
}

/* --- request --- */

enum { R_VER, R_CMD, R_RSV, R_ATYP, R_DLEN, R_ADDR, R_PORT_HI, R_PORT_LO };

void request_init(struct request_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = R_VER;
}

static enum proto_result request_atyp(struct request_parser *p, uint8_t c)
{
	p->atyp = c;
	p->seen = 0;
	switch (c) {
	case SOCKS5_ATYP_IPV4:
		p->addr_len = 4;
		p->state = R_ADDR;
		return PROTO_MORE;
	case SOCKS5_ATYP_IPV6:
		p->addr_len = 16;
		p->state = R_ADDR;
		return PROTO_MORE;
	case SOCKS5_ATYP_DOMAIN:
		p->state = R_DLEN;
		return PROTO_MORE;
	default:
		p->error = REQUEST_BAD_ATYP;
		return PROTO_ERROR;
	}
}

static enum proto_result request_step(void *vp, uint8_t c)
{
	struct request_parser *p = vp;

	switch (p->state) {
	case R_VER:
		if (c != SOCKS5_VERSION) {
			p->error = REQUEST_BAD_VERSION;
			return PROTO_ERROR;
		}
		p->state = R_CMD;
		return PROTO_MORE;
	case R_CMD:
		/* Any CMD parses: the session answers an unknown one with 07. */
		p->cmd = c;
		p->state = R_RSV;
		return PROTO_MORE;
	case R_RSV:
		/* RSV is ignored, as clients in the wild do not all send 00. */
		p->state = R_ATYP;
		return PROTO_MORE;
	case R_ATYP:
		return request_atyp(p, c);
	case R_DLEN:
		if (c == 0) {
			p->error = REQUEST_EMPTY_DOMAIN;
			return PROTO_ERROR;
		}
		p->addr_len = c;
		p->addr[c] = '\0';
		p->state = R_ADDR;
		return PROTO_MORE;
	case R_ADDR:
		p->addr[p->seen++] = c;
		if (p->seen == p->addr_len)
			p->state = R_PORT_HI;
		return PROTO_MORE;
	case R_PORT_HI:
		p->port = (uint16_t)(c << 8);
		p->state = R_PORT_LO;
		return PROTO_MORE;
	default:
		p->port |= c;
		return PROTO_DONE;
	}
}

enum proto_result request_parse(struct request_parser *p, const uint8_t *buf,
				size_t len, size_t *used)
{
	return socks5_drive(p, &p->state, request_step, buf, len, used);
}

void request_sockaddr(const struct request_parser *p, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (p->atyp == SOCKS5_ATYP_IPV4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p->addr, 4);
	} else if (p->atyp == SOCKS5_ATYP_IPV6) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p->addr, 16);
	}
	net_set_port(ss, p->port);
	*len = net_addr_len((const struct sockaddr *)ss);
}

void request_dest_str(const struct request_parser *p, char *buf, size_t len)
{
	int af = p->atyp == SOCKS5_ATYP_IPV4 ? AF_INET :
		 p->atyp == SOCKS5_ATYP_IPV6 ? AF_INET6 : AF_UNSPEC;

	if (len == 0)
		return;
	if (af == AF_UNSPEC) {
		/* The domain is NUL-terminated by the parser; a NUL inside it
		 * ends it here exactly as it ends it for the resolver. */
		snprintf(buf, len, "%s", p->atyp == SOCKS5_ATYP_DOMAIN ?
			 (const char *)p->addr : "?");
		return;
	}
	if (inet_ntop(af, p->addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

/* --- replies --- */

size_t socks5_reply_build(uint8_t *out, uint8_t rep, const struct sockaddr *bnd)
{
	size_t n = 4;
	const uint8_t *addr = (const uint8_t *)"\0\0\0\0";
	size_t alen = 4;
	uint16_t port = 0;

	out[0] = SOCKS5_VERSION;
	out[1] = rep;
	out[2] = 0;
	out[3] = SOCKS5_ATYP_IPV4;
	if (bnd != NULL && bnd->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)bnd;

		addr = (const uint8_t *)&sin->sin_addr;
		port = net_port(bnd);
	} else if (bnd != NULL && bnd->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)bnd;

		out[3] = SOCKS5_ATYP_IPV6;
		addr = (const uint8_t *)&sin6->sin6_addr;
		alen = 16;
		port = net_port(bnd);
	}
	memcpy(out + n, addr, alen);
	n += alen;
	out[n++] = (uint8_t)(port >> 8);
	out[n++] = (uint8_t)port;
	return n;
}

uint8_t socks5_rep_for_errno(int err)
{
	switch (err) {
	case ENETUNREACH:
	case ENETDOWN:
		return SOCKS5_REP_NET_UNREACHABLE;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return SOCKS5_REP_HOST_UNREACHABLE;
	case ECONNREFUSED:
		return SOCKS5_REP_REFUSED;
	case ETIMEDOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	case EACCES:
	case EPERM:
		return SOCKS5_REP_NOT_ALLOWED;
	case EAFNOSUPPORT:   /* no egress address of the destination's family */
		return SOCKS5_REP_ATYP_NOT_SUPPORTED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}
