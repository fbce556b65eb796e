/*
 * socks5_udp: the header of a UDP ASSOCIATE datagram (RFC 1928 section 7),
 *
 *   RSV(2) FRAG(1) ATYP(1) DST.ADDR DST.PORT(2) DATA
 *
 * A pure codec: a datagram arrives whole, so unlike the stream parsers of
 * socks5_proto.h this one takes the entire datagram at once. The address
 * part is read by the request parser of socks5_proto.h, so both wire forms
 * of a SOCKS address are parsed by the same code.
 */
#ifndef MASS_SOCKS5_UDP_H
#define MASS_SOCKS5_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socks5_proto.h"

/* The longest header: RSV FRAG ATYP LEN, a 255-octet domain, PORT. */
#define SOCKS5_UDP_HEADER_MAX (4 + 1 + 255 + 2)
/* The longest header socks5_udp_build() writes (an IPv6 address). */
#define SOCKS5_UDP_BUILD_MAX (4 + 16 + 2)

enum socks5_udp_error {
	SOCKS5_UDP_OK = 0,
	SOCKS5_UDP_TRUNCATED,     /* the datagram ends inside the header */
	SOCKS5_UDP_BAD_ATYP,      /* ATYP is not 1, 3 or 4: drop the datagram */
	SOCKS5_UDP_EMPTY_DOMAIN   /* a domain of length 0: drop the datagram */
};

struct socks5_udp_header {
	uint8_t frag;             /* FRAG as sent; 0 is a whole datagram */
	size_t data_offset;       /* DATA starts here; it may be empty */
	/*
	 * DST.ADDR and DST.PORT as parsed: dst.atyp, dst.addr (a domain is
	 * NUL-terminated), dst.addr_len and dst.port (host order) are
	 * valid, so request_sockaddr() and request_dest_str() apply to it.
	 * dst.cmd is meaningless here.
	 */
	struct request_parser dst;
};

/*
 * Parses the header of a datagram of len octets. RSV is ignored (as for
 * requests); FRAG is reported, not judged (the caller drops fragments it
 * does not reassemble). Returns SOCKS5_UDP_OK with every field of h set, or
 * one of the errors above (h is then unspecified). Keeps no pointer to buf.
 */
enum socks5_udp_error socks5_udp_parse(struct socks5_udp_header *h,
				       const uint8_t *buf, size_t len);

/*
 * Writes the header for a datagram from the IPv4 or IPv6 address sa (FRAG
 * 0) into out, which holds outlen octets (SOCKS5_UDP_BUILD_MAX always
 * suffices). Returns the header's length: 10 for IPv4, 22 for IPv6; or 0
 * when sa is NULL, of another family, or out is too small.
 */
size_t socks5_udp_build(uint8_t *out, size_t outlen, const struct sockaddr *sa);

/* A static description of an error code, e.g. "truncated header". */
const char *socks5_udp_strerror(enum socks5_udp_error e);

#endif
