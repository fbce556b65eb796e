/*
 * proxy_proto: a pure, incremental parser of the PROXY protocol header
 * (HAProxy's proxy-protocol.txt, versions 1 and 2) that a TCP balancer sends
 * before the client's own bytes, to name the client it connected for. No
 * sockets here: see core/proto.h for the calling convention. The parser
 * consumes the header and never an octet past it: what follows is SOCKS.
 *
 * Accepted:
 *   v1  "PROXY TCP4 SRC DST SPORT DPORT\r\n", the same with TCP6, or
 *       "PROXY UNKNOWN...\r\n"; at most PROXY_V1_MAX octets, CRLF included;
 *       single spaces, numeric addresses of the named family, decimal ports
 *       0..65535 without leading zeros.
 *   v2  the 12-octet signature, version 2 with command LOCAL or PROXY, then
 *       for PROXY: AF_INET or AF_INET6 over STREAM (addresses and ports
 *       read), or AF_UNSPEC (nothing read); the TLVs after the addresses are
 *       checked to fit the announced length and skipped. LOCAL's block is
 *       skipped whatever it holds, as the specification says. The length
 *       after the 16 fixed octets is at most PROXY_V2_MAX_LEN.
 * Refused (PROTO_ERROR, error says why): anything else, as early as the
 * first octet that cannot belong to a valid header.
 *
 * A header that carries no address (v1 UNKNOWN, v2 LOCAL, v2 AF_UNSPEC)
 * ends with `local` set: the connection's real endpoints stand (a
 * balancer's health check).
 */
#ifndef MASS_PROXY_PROTO_H
#define MASS_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/proto.h"

#define PROXY_V1_MAX 107          /* the longest v1 line, CRLF included */
#define PROXY_V2_MAX_LEN 1024     /* v2: addresses and TLVs after the 16 fixed octets */

enum proxy_error {
	PROXY_OK = 0,
	PROXY_BAD_SIGNATURE,   /* neither "PROXY " nor the v2 signature */
	PROXY_TOO_LONG,        /* v1 line over PROXY_V1_MAX, v2 length over PROXY_V2_MAX_LEN */
	PROXY_BAD_LINE,        /* v1: not "TCP4|TCP6 SRC DST SPORT DPORT" or UNKNOWN, bad CRLF */
	PROXY_BAD_VERSION,     /* v2: version other than 2 */
	PROXY_BAD_COMMAND,     /* v2: command other than LOCAL (0) or PROXY (1) */
	PROXY_BAD_FAMILY,      /* v2 PROXY: family/protocol other than TCP4, TCP6, UNSPEC */
	PROXY_BAD_LENGTH,      /* v2: length shorter than the family's addresses */
	PROXY_BAD_TLV          /* v2: a TLV running past the announced length */
};

struct proxy_parser {
	uint8_t state;
	uint8_t version;               /* 0 until the first octet, then 1 or 2 */
	bool local;                    /* done: no address carried, keep the real peer */
	uint8_t fam;                   /* v2: family and protocol octet */
	uint16_t len;                  /* v2: length after the 16 fixed octets */
	uint16_t seen;                 /* octets of the current part so far */
	uint16_t left;                 /* v2: octets of the block still to come */
	uint16_t tlv_left;             /* v2: octets of the current TLV value to skip */
	uint8_t buf[PROXY_V1_MAX + 1]; /* v1 line, v2 addresses and TLV headers */
	struct sockaddr_storage src;   /* done and !local: the client */
	struct sockaddr_storage dst;   /* done and !local: the address it connected to */
	enum proxy_error error;
};

void proxy_init(struct proxy_parser *p);

/*
 * Feeds header octets (proto.h): PROTO_MORE (all consumed, header not
 * complete), PROTO_DONE (*used ends the header; src/dst or local set), or
 * PROTO_ERROR (p->error says why; close the connection).
 */
enum proto_result proxy_parse(struct proxy_parser *p, const uint8_t *buf, size_t len,
			      size_t *used);

/*
 * True when the len octets of buf (len >= 1) begin a PROXY header's
 * signature ("PROXY " or v2's), as far as they go: to tell a balancer's
 * header sent where none is expected from other garbage.
 */
bool proxy_signature_prefix(const uint8_t *buf, size_t len);

/* A short English name of an error, for the log. */
const char *proxy_error_str(enum proxy_error e);

#endif
