/*
 * addr: pure comparisons of IPv4/IPv6 socket addresses, for the checks of
 * BIND (is the connecting peer the one announced?) and UDP ASSOCIATE (is
 * this datagram from the client?). An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is the same host as a.b.c.d: a dual-stack socket
 * reports IPv4 peers that way.
 */
#ifndef MASS_ADDR_H
#define MASS_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

/* sizeof(struct sockaddr_in) or sizeof(struct sockaddr_in6); 0 for other families. */
socklen_t addr_len(const struct sockaddr *sa);

/* True for 0.0.0.0 and :: (the "any address" a client sends when it cannot know). */
bool addr_is_unspecified(const struct sockaddr *sa);

/* True when a and b are IPv4/IPv6 addresses of the same host (ports ignored). */
bool addr_same_ip(const struct sockaddr *a, const struct sockaddr *b);

/* True when a and b have the same host and the same port. */
bool addr_same(const struct sockaddr *a, const struct sockaddr *b);

#endif
