/*
 * net: small socket helpers in the style of redis' anet, and the one
 * module of IPv4/IPv6 socket address helpers (length, port, host octets,
 * comparisons, text), so no other file sets a port or unmaps an address by
 * hand. Every function that can fail returns -1 and writes a one-line
 * reason into err (errlen bytes), leaving errno as the failing call set it.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the same host as
 * a.b.c.d: a dual-stack socket reports IPv4 peers that way, and a client
 * must not dodge an IPv4 rule by writing it as IPv6.
 */
#ifndef MASS_NET_H
#define MASS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text net_addr_str() writes: "[v6]:port" plus NUL. */
#define NET_ADDRSTRLEN 56

/*
 * Parses a numeric IPv4 or IPv6 address (no names) with `port` into ss.
 * Returns 0, or -1 with err set.
 */
int net_parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
		   socklen_t *len, char *err, size_t errlen);

/*
 * Opens a non-blocking, close-on-exec TCP listener on addr with SO_REUSEADDR
 * (and IPV6_V6ONLY for IPv6, so "0.0.0.0" and "::" can both be bound) and
 * TCP_NODELAY, which accepted sockets inherit.
 * Returns the fd, or -1 with err set.
 */
int net_listen(const struct sockaddr *addr, socklen_t len, int backlog,
	       char *err, size_t errlen);

/*
 * Accepts one connection as a non-blocking, close-on-exec socket.
 * Returns the fd, or -1 with errno set (EAGAIN when there is none).
 */
int net_accept(int lfd, struct sockaddr_storage *peer, socklen_t *peerlen);

/*
 * Starts a non-blocking connect to addr. Returns the fd with the connect in
 * progress (or done), or -1 with errno set by socket() or connect().
 */
int net_connect_start(const struct sockaddr *addr, socklen_t len);

/*
 * The same, leaving from src (port 0; NULL: the kernel chooses, as
 * net_connect_start): IP_BIND_ADDRESS_NO_PORT, so the port is picked at
 * connect() per destination and the source's ports are not used up by
 * bind(), and IP_FREEBIND (IPV6_FREEBIND) with freebind, for an address
 * of a prefix routed to the host (`ip -6 route add local PREFIX dev lo`)
 * but on no interface. Returns the socket, or -1 with errno set.
 */
int net_connect_from(const struct sockaddr *addr, socklen_t len, const struct sockaddr *src,
		     socklen_t srclen, bool freebind);

/*
 * A socket of src's family and type bound to src (port as given), with
 * IP_FREEBIND when freebind: for BIND's listener and UDP's outbound socket
 * on an egress address. Returns it (non-blocking), or -1 with errno set.
 */
int net_bind_from(const struct sockaddr *src, socklen_t srclen, int type, bool freebind);

/* The pending error of a socket after a non-blocking connect (0: connected). */
int net_socket_error(int fd);

/* Sets TCP_NODELAY; errors are ignored (it is an optimisation). */
void net_nodelay(int fd);

/*
 * Caps the rate at which the kernel sends what fd queued (SO_MAX_PACING_RATE,
 * bytes per second; 0: no cap). The kernel paces with its own timer, in
 * segments of up to a millisecond of the rate, for any congestion control.
 * Errors are ignored (it is an optimisation: without it the bytes still
 * leave at the rate, in larger steps).
 */
void net_pacing(int fd, uint64_t bytes_per_s);

/* Bytes fd queued and not yet sent (SIOCOUTQNSD); 0 on error. */
size_t net_unsent(int fd);

/* Formats an address as "1.2.3.4" or "::1" (no port). Always NUL-terminates. */
void net_ip_str(const struct sockaddr *sa, char *buf, size_t len);

/* The port of an AF_INET/AF_INET6 address in host order, 0 for others. */
uint16_t net_port(const struct sockaddr *sa);

/* Sets the port (host order) of an AF_INET/AF_INET6 address; others are left alone. */
void net_set_port(struct sockaddr_storage *ss, uint16_t port);

/* sizeof(struct sockaddr_in) or sizeof(struct sockaddr_in6); 0 for other families. */
socklen_t net_addr_len(const struct sockaddr *sa);

/*
 * The host octets of sa into out, IPv4-mapped addresses unmapped: 4 for
 * IPv4 (or mapped), 16 for other IPv6, 0 for other families.
 */
size_t net_host(const struct sockaddr *sa, uint8_t out[16]);

/* True for 0.0.0.0 and :: (the "any address" a client sends when it cannot know). */
bool net_is_unspecified(const struct sockaddr *sa);

/* True when a and b are IPv4/IPv6 addresses of the same host (ports ignored). */
bool net_same_ip(const struct sockaddr *a, const struct sockaddr *b);

/* True when a and b have the same host and the same port. */
bool net_same(const struct sockaddr *a, const struct sockaddr *b);

/* An address block: 10.0.0.0/8, fd00::/8, or one address (/32, /128). */
struct net_cidr {
	uint8_t family;               /* AF_INET or AF_INET6 */
	uint8_t prefix;
	uint8_t addr[16];             /* 4 octets for AF_INET */
};

/*
 * Parses "a.b.c.d[/n]" or "v6[/n]" (host bits after the prefix must be
 * zero). Returns 0, or -1 with err set.
 */
int net_cidr_parse(const char *text, struct net_cidr *out, char *err, size_t errlen);

/* True when sa (AF_INET or AF_INET6, IPv4-mapped unmapped) is inside c. */
bool net_cidr_match(const struct net_cidr *c, const struct sockaddr *sa);

/* True when sa is inside one of the n blocks of nets. */
bool net_cidr_any(const struct net_cidr *nets, size_t n, const struct sockaddr *sa);

/*
 * The IPv4 and IPv6 addresses of the host's interfaces (getifaddrs), at most
 * max, into out (ports 0). Returns how many were written, or -1 with errno
 * set when the list cannot be had.
 */
int net_local_addrs(struct sockaddr_storage *out, size_t max);

/*
 * A destination name as the client sent it, made the one form that the
 * ACL judges, the resolver asks and the access log records: lower case,
 * one final dot removed (a SOCKS destination is absolute anyway: it is
 * resolved without search domains). Refused (-1, name unchanged): an empty
 * name or label, a leading dot, and any byte but letters, digits, '-',
 * '_', '.' and ':' (an IPv6 literal), so '\' escapes, which the resolver
 * would strip ("l\o.test" asks for lo.test), never reach it. Returns 0.
 */
int net_name_normalise(char *name);

#endif
