/*
 * egress: which local address an outbound connection leaves from. Pure
 * except egress_random(). A class's egress spec is a list of up to
 * EGRESS_MAX entries, each one IPv4 address, one IPv6 address, or an IPv6
 * prefix (/0../127; /128 is one address), and a mode:
 *   random  a fresh pick per connection (from the caller's random value);
 *   sticky  a pick derived from the user name alone, so a user leaves from
 *           the same address on every connection, after every restart, on
 *           every instance with the same spec. An unauthenticated session
 *           has no name: it gets a random pick.
 * A pick first chooses an entry of the destination's family (value mod the
 * number of such entries), then, for a prefix, the host bits from further
 * bits of the same value; the all-zero host (the subnet-router anycast
 * address) is never picked from a prefix shorter than /127.
 *
 * Stickiness uses egress_hash(): 64-bit FNV-1a over the fixed key
 * "mass-egress-1" followed by the name, then MurmurHash3's fmix64 so every
 * output bit depends on every input bit. It is not a MAC, and need not be:
 * stickiness is not a security boundary (anyone may learn which address a
 * user leaves from by being the destination), and libsodium is not linked
 * by this tree yet. Changing the key or the function moves every sticky
 * user once: don't, without saying so in the release notes.
 *
 * The caller binds the socket to the address picked before connect():
 * IP_BIND_ADDRESS_NO_PORT for an address, and IP_FREEBIND as well when
 * `freebind` is set (a prefix: the admin routes it to the host with
 * `ip -6 route add local PREFIX dev lo`).
 */
#ifndef MASS_EGRESS_H
#define MASS_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/net.h"

#define EGRESS_MAX 32

enum egress_mode { EGRESS_RANDOM = 0, EGRESS_STICKY };

struct egress_spec {
	uint8_t mode;                   /* enum egress_mode */
	uint8_t n;                      /* entries in ent */
	struct net_cidr ent[EGRESS_MAX];
};

/* An empty spec (no egress: the kernel chooses), mode random. */
void egress_init(struct egress_spec *s);

/*
 * Adds the entries of a list: addresses or IPv6 prefixes separated by
 * commas and/or blanks ("192.0.2.1, 2001:db8:1::/64"). IPv4 blocks other
 * than /32 and prefixes longer than /128 are refused, as is the same entry
 * twice or more than EGRESS_MAX in all. Returns 0, or -1 with a reason in
 * err (s may then hold the entries before the bad one).
 */
int egress_parse(struct egress_spec *s, const char *list, char *err, size_t errlen);

/* "random" or "sticky". Returns 0, or -1 with a reason in err. */
int egress_mode_parse(const char *text, enum egress_mode *mode, char *err, size_t errlen);

/* True when the spec has an entry of family (AF_INET or AF_INET6). */
bool egress_has_family(const struct egress_spec *s, int family);

enum egress_result {
	EGRESS_NONE = 0,        /* empty spec: do not bind, the kernel chooses */
	EGRESS_OK,              /* *out (port 0) is the source; *freebind set */
	EGRESS_NO_FAMILY        /* entries, but none of this family: do not use
				   a destination of this family */
};

/*
 * Picks the source for a socket of family (AF_INET or AF_INET6). user
 * (ulen octets, may be NULL) is hashed in sticky mode; rnd is used in
 * random mode and in sticky mode when there is no user. out gets the
 * address with port 0, *outlen its length, *freebind whether it came from
 * a prefix.
 */
enum egress_result egress_pick(const struct egress_spec *s, int family, const char *user,
			       size_t ulen, uint64_t rnd, struct sockaddr_storage *out,
			       socklen_t *outlen, bool *freebind);

/* The sticky hash of a name (see above); stable across versions. */
uint64_t egress_hash(const char *user, size_t ulen);

/* 64 random bits from getrandom(2), for random mode. */
uint64_t egress_random(void);

#endif
