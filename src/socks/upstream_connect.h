/*
 * upstream_connect: a CONNECT through one of an upstream's parent proxies
 * (routes.h), from the route's choice to an open tunnel. The session owns
 * the client and answers it; this module owns the socket to the parent
 * until the tunnel is open, then hands it over (ops->connected), or tells
 * why it could not (ops->failed). Like bind.h, it reports through
 * callbacks, never from inside upconn_start().
 *
 * Per parent, in the upstream's order, skipping the ones down
 * (route/upstream.h's failover state): resolve its name when it is not an
 * address (the first address), connect, then the handshake:
 *   socks5://  greeting (no auth, and user/password when the URL has
 *              credentials), the RFC 1929 login when the parent picks it,
 *              the CONNECT request by name (the parent resolves it) or by
 *              address, the reply (route/socks5_client.h);
 *   http://    `CONNECT host:port` with Basic credentials when the URL has
 *              them, the response head (route/http_head.h).
 * Each parent gets connect_timeout seconds for all of it. A failed
 * connect, a name that does not resolve, a timeout, a protocol error or an
 * early close, a refused method or login (HTTP 407), or any other answer
 * that says the parent does not work counts as a failure of that parent
 * (upstream_health_failed; logged when it goes down) and the next parent
 * is tried. A parent that answers for the destination (SOCKS REP other
 * than 00; HTTP 403, 404, 502, 503, 504) worked: the client gets the
 * matching REP (403 → 02, 404 and 502 → 04, 503 → 05, 504 → 06) and no
 * other parent is tried. When no parent is left (all down, or all failed
 * for this request) the client gets REP 03 (network unreachable: the way
 * to the destination is down), and an HTTP CONNECT client 503.
 *
 * Octets were never read past the parent's reply: what the parent sends
 * after it stays in the socket for the relay. Credentials never reach a
 * log line: parents are named by upstream_parent_str().
 */
#ifndef MASS_UPSTREAM_CONNECT_H
#define MASS_UPSTREAM_CONNECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "routes.h"

struct loop;
struct resolver;
struct upconn;

struct upconn_ops {
	/* The tunnel is open: fd (non-blocking, no longer watched) is the owner's. */
	void (*connected)(void *owner, int fd);
	/* It is not: rep for the client; unavailable when no parent could be used. */
	void (*failed)(void *owner, uint8_t rep, bool unavailable);
};

/* What an attempt works with; the pointers must outlive the handle. */
struct upconn_env {
	struct loop *loop;
	struct resolver *resolver;
	unsigned connect_timeout;      /* seconds per parent */
	/* egress toward the parent, as bind_env's source (bind.h); NULL: none */
	int (*source)(void *owner, int family, struct sockaddr_storage *src, socklen_t *len,
		      bool *freebind);
};

/*
 * Starts the attempt for the destination name (NULL when dst is given
 * instead: an AF_INET or AF_INET6 address) and port through up, whose
 * health it updates. Returns the handle (free it with upconn_free(), also
 * from inside a callback, after which it is gone), or NULL without memory.
 */
struct upconn *upconn_start(const struct upconn_env *env, struct routes_upstream *up,
			    const char *name, const struct sockaddr *dst, uint16_t port,
			    const struct upconn_ops *ops, void *owner);

/* Stops the attempt (the socket to the parent closed); NULL is fine. */
void upconn_free(struct upconn *uc);

#endif
