/*
 * net: small socket helpers in the style of redis' anet. Every function that
 * can fail returns -1 and writes a one-line reason into err (errlen bytes),
 * leaving errno as the failing call set it.
 */
#ifndef MASS_NET_H
#define MASS_NET_H

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

/* The pending error of a socket after a non-blocking connect (0: connected). */
int net_socket_error(int fd);

/* Sets TCP_NODELAY; errors are ignored (it is an optimisation). */
void net_nodelay(int fd);

/* Formats an address as "1.2.3.4" or "::1" (no port). Always NUL-terminates. */
void net_ip_str(const struct sockaddr *sa, char *buf, size_t len);

/* The port of an AF_INET/AF_INET6 address in host order, 0 for others. */
uint16_t net_port(const struct sockaddr *sa);

#endif
