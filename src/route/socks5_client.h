/*
 * socks5_client: the client side of SOCKS5 (RFC 1928) and of its
 * username/password sub-negotiation (RFC 1929), for talking to a parent
 * SOCKS5 server. Pure: no sockets. One incremental parser for the three
 * messages a server sends back, with the calling convention of core/proto.h,
 * and builders for the three messages a client sends.
 *
 * A parser is initialised for one message and re-initialised for the next:
 *   SOCKS5_CLIENT_METHOD  VER METHOD                      (2 octets)
 *   SOCKS5_CLIENT_AUTH    VER(01) STATUS                  (2 octets)
 *   SOCKS5_CLIENT_REPLY   VER REP RSV ATYP BND.ADDR BND.PORT
 *                         (10 for IPv4, 22 for IPv6, 7 + 1..255 for a name)
 *
 * What the server may legitimately answer parses to PROTO_DONE and the
 * caller reads it: METHOD FF ("no acceptable method"), an RFC 1929 STATUS
 * other than 00 (refused), a REP other than 00 (failure). Anything a
 * conforming server cannot send is PROTO_ERROR with `error` saying why
 * (socks5_client_error_str() names it): a wrong VER, a METHOD the client
 * did not offer, RSV not 00, an unknown ATYP, a domain of length 0. The
 * longest message is bounded by the format itself (262 octets), and nothing
 * after a message is consumed: a parent may pipeline the first tunnelled
 * bytes right after its reply.
 */
#ifndef MASS_SOCKS5_CLIENT_H
#define MASS_SOCKS5_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/proto.h"

enum socks5_client_msg {
	SOCKS5_CLIENT_METHOD = 1,
	SOCKS5_CLIENT_AUTH,
	SOCKS5_CLIENT_REPLY
};

enum socks5_client_error {
	SOCKS5_CLIENT_OK = 0,
	SOCKS5_CLIENT_BAD_VERSION,     /* VER not 05 (not 01 for AUTH) */
	SOCKS5_CLIENT_BAD_METHOD,      /* a METHOD the greeting did not offer (nor FF) */
	SOCKS5_CLIENT_BAD_RSV,         /* reply RSV not 00 */
	SOCKS5_CLIENT_BAD_ATYP,        /* reply ATYP not 01, 03 or 04 */
	SOCKS5_CLIENT_EMPTY_DOMAIN     /* reply ATYP 03 with length 0 */
};

/* The octets on the wire per ATYP; the reply of a domain is NUL-terminated. */
struct socks5_client_parser {
	uint8_t msg;                   /* enum socks5_client_msg */
	uint8_t state;
	uint8_t offered;               /* METHOD: bit 0 no auth, bit 1 user/pass */
	uint8_t method;                /* METHOD done: the server's choice (FF: none) */
	uint8_t status;                /* AUTH done: 00 accepted, anything else refused */
	uint8_t rep;                   /* REPLY done: REP (00 succeeded) */
	uint8_t atyp;                  /* REPLY done: 1, 3 or 4 */
	uint8_t addr_len;              /* 4, 16 or the name's length */
	uint8_t seen;
	uint8_t addr[256];             /* BND.ADDR octets; a name NUL-terminated */
	uint16_t port;                 /* BND.PORT, host order */
	enum socks5_client_error error;
};

/* Offered methods for SOCKS5_CLIENT_METHOD (see socks5_client_greeting()). */
#define SOCKS5_CLIENT_OFFER_NONE 0x01
#define SOCKS5_CLIENT_OFFER_USERPASS 0x02

/*
 * Prepares p for one message. offered is the OFFER_* mask the greeting
 * carried (used for METHOD only; pass 0 otherwise).
 */
void socks5_client_init(struct socks5_client_parser *p, enum socks5_client_msg msg,
			uint8_t offered);

/* core/proto.h: PROTO_MORE, PROTO_DONE (*used ends the message), PROTO_ERROR. */
enum proto_result socks5_client_parse(struct socks5_client_parser *p, const uint8_t *buf,
				      size_t len, size_t *used);

/* A short English reason for an error, for the log and the failover state. */
const char *socks5_client_error_str(enum socks5_client_error e);

/* REPLY done: BND as a sockaddr (IPv4/IPv6 only; *len 0 for a name). */
void socks5_client_bnd(const struct socks5_client_parser *p, struct sockaddr_storage *ss,
		       socklen_t *len);

/* --- builders: each returns the message's length, or 0 when it cannot be built --- */

#define SOCKS5_CLIENT_GREETING_MAX 4
#define SOCKS5_CLIENT_USERPASS_MAX 513
#define SOCKS5_CLIENT_REQUEST_MAX 262

/* VER 05, NMETHODS, METHODS for the OFFER_* mask offered (0 when empty). */
size_t socks5_client_greeting(uint8_t out[SOCKS5_CLIENT_GREETING_MAX], uint8_t offered);

/* 01 ULEN UNAME PLEN PASSWD: 0 when ulen is 0 or either is over 255. */
size_t socks5_client_userpass(uint8_t out[SOCKS5_CLIENT_USERPASS_MAX], const char *user,
			      size_t ulen, const char *pass, size_t plen);

/*
 * VER CMD 00 ATYP DST.ADDR DST.PORT for cmd 1 (CONNECT), 2 (BIND) or 3
 * (UDP ASSOCIATE). _addr takes an AF_INET/AF_INET6 sockaddr and its port
 * (an IPv4-mapped IPv6 address goes as IPv4); _name a domain of 1..255
 * octets and a port. 0 for another family or a bad name length.
 */
size_t socks5_client_request_addr(uint8_t out[SOCKS5_CLIENT_REQUEST_MAX], uint8_t cmd,
				  const struct sockaddr *dst);
size_t socks5_client_request_name(uint8_t out[SOCKS5_CLIENT_REQUEST_MAX], uint8_t cmd,
				  const char *name, size_t nlen, uint16_t port);

#endif
