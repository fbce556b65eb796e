/*
 * socks5_proto: pure, incremental parsers and builders for the SOCKS5 wire
 * format (RFC 1928) and the username/password sub-negotiation (RFC 1929).
 * No sockets here: see proto.h for the calling convention.
 *
 * The MASS management protocol reuses the greeting (with VER 01) and the
 * RFC 1929 exchange byte for byte, so both servers use these parsers.
 */
#ifndef MASS_SOCKS5_PROTO_H
#define MASS_SOCKS5_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/proto.h"

#define SOCKS5_VERSION 0x05

enum socks5_method {
	SOCKS5_METHOD_NONE = 0x00,
	SOCKS5_METHOD_USERPASS = 0x02,
	SOCKS5_METHOD_REJECT = 0xFF
};

enum socks5_cmd { SOCKS5_CMD_CONNECT = 1, SOCKS5_CMD_BIND = 2, SOCKS5_CMD_UDP = 3 };
enum socks5_atyp { SOCKS5_ATYP_IPV4 = 1, SOCKS5_ATYP_DOMAIN = 3, SOCKS5_ATYP_IPV6 = 4 };

/* Every REP code of RFC 1928 section 6. */
enum socks5_rep {
	SOCKS5_REP_SUCCEEDED = 0x00,
	SOCKS5_REP_GENERAL_FAILURE = 0x01,
	SOCKS5_REP_NOT_ALLOWED = 0x02,
	SOCKS5_REP_NET_UNREACHABLE = 0x03,
	SOCKS5_REP_HOST_UNREACHABLE = 0x04,
	SOCKS5_REP_REFUSED = 0x05,
	SOCKS5_REP_TTL_EXPIRED = 0x06,
	SOCKS5_REP_CMD_NOT_SUPPORTED = 0x07,
	SOCKS5_REP_ATYP_NOT_SUPPORTED = 0x08
};

/* --- greeting: VER NMETHODS METHODS[NMETHODS] --- */

enum greeting_error {
	GREETING_OK = 0,
	GREETING_BAD_VERSION,  /* close without a reply */
	GREETING_NO_METHODS    /* NMETHODS = 0: reply VER FF, close */
};

struct greeting_parser {
	uint8_t version;       /* expected VER: 05 for SOCKS, 01 for MASS */
	uint8_t state;
	uint8_t nmethods, seen;
	uint8_t offered[32];   /* bitmap of the methods offered */
	enum greeting_error error;
};

void greeting_init(struct greeting_parser *p, uint8_t version);
enum proto_result greeting_parse(struct greeting_parser *p, const uint8_t *buf,
				 size_t len, size_t *used);
bool greeting_offers(const struct greeting_parser *p, uint8_t method);

/* --- RFC 1929: VER=01 ULEN UNAME PLEN PASSWD --- */

enum userpass_error {
	USERPASS_OK = 0,
	USERPASS_BAD_VERSION   /* close without a reply */
};

struct userpass_parser {
	uint8_t state;
	uint8_t ulen, plen, seen;
	char user[256];        /* NUL-terminated; may hold any octet but NUL-terminated at ulen */
	char pass[256];
	enum userpass_error error;
};

void userpass_init(struct userpass_parser *p);
enum proto_result userpass_parse(struct userpass_parser *p, const uint8_t *buf,
				 size_t len, size_t *used);

/* --- request: VER CMD RSV ATYP DST.ADDR DST.PORT --- */

enum request_error {
	REQUEST_OK = 0,
	REQUEST_BAD_VERSION,   /* close without a reply */
	REQUEST_BAD_ATYP,      /* reply 08: the length of DST.ADDR is unknowable */
	REQUEST_EMPTY_DOMAIN   /* a domain of length 0: reply 04 */
};

struct request_parser {
	uint8_t state;
	uint8_t cmd, atyp;
	uint8_t addr_len;      /* 4, 16, or the domain's length */
	uint8_t seen;
	uint8_t addr[256];     /* raw address octets; a domain is NUL-terminated */
	uint16_t port;         /* host order */
	enum request_error error;
};

void request_init(struct request_parser *p);
enum proto_result request_parse(struct request_parser *p, const uint8_t *buf,
				size_t len, size_t *used);

/* Fills a sockaddr from a parsed IPv4/IPv6 request (not for domains). */
void request_sockaddr(const struct request_parser *p, struct sockaddr_storage *ss,
		      socklen_t *len);

/* Writes "1.2.3.4", "::1" or the domain into buf (always NUL-terminated). */
void request_dest_str(const struct request_parser *p, char *buf, size_t len);

/*
 * --- replies ---
 * Builds VER REP RSV ATYP BND.ADDR BND.PORT into out (at least
 * SOCKS5_REPLY_MAX bytes). bnd may be NULL (or of another family): then
 * 0.0.0.0:0 is sent. Returns the reply's length.
 */
#define SOCKS5_REPLY_MAX 22
size_t socks5_reply_build(uint8_t *out, uint8_t rep, const struct sockaddr *bnd);

/*
 * The REP code for a failed connect()/getsockopt(SO_ERROR) errno. This is
 * the one place errno values map to SOCKS replies.
 */
uint8_t socks5_rep_for_errno(int err);

#endif
