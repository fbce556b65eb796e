/*
 * bind: the BIND command of RFC 1928 section 4, from the request to the
 * connected peer. The session owns the client connection and sends the
 * replies; this module owns the listening socket and tells the session
 * what happened through three callbacks.
 *
 * The listener: an ephemeral port on the local address this host would
 * use to reach DST (the source address the kernel's routing picks for it,
 * found with a connected UDP socket: no packet is sent). BIND serves
 * protocols like active FTP, where DST (the server) connects back to the
 * address the client announces to it, so that address must be reachable
 * from DST, which the address the client reached us on need not be. When
 * DST.ADDR is 0.0.0.0 or :: the client names no peer: then the listener
 * takes the address the client reached us on.
 *
 * The peer: the first connection accepted. When DST.ADDR is not all-zeros
 * the peer's address must be DST.ADDR (for a domain, any address the
 * resolver gives for it); DST.PORT is not checked, as the peer's source
 * port is rarely known in advance. The peer must also pass the ACL (the
 * owner's permit callback), as DST itself did before the command started. A peer not coming within
 * connect_timeout seconds fails the command with REP 06. A DST given by
 * name is resolved first and every address it resolves to must pass the
 * same callback before the listener opens (else REP 02).
 */
#ifndef MASS_BIND_H
#define MASS_BIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socks5_proto.h"

struct bind;
struct loop;
struct resolver;

/*
 * What a BIND works with, copied by bind_start(); the pointers must outlive
 * the handle (the session holds the runtime snapshot the ACL belongs to).
 */
struct bind_env {
	struct loop *loop;
	struct resolver *resolver;     /* for a DST given by name */
	unsigned connect_timeout;      /* seconds the peer gets to connect */
	/* egress (routes.h): the source address for a socket of family: 1 and
	 * *src (port 0), *len, *freebind set; 0 none (the kernel picks); -1
	 * none of that family (refused). NULL: always 0. */
	int (*source)(void *owner, int family, struct sockaddr_storage *src, socklen_t *len,
		      bool *freebind);
};

/*
 * Each callback runs on the loop thread, never from inside bind_start().
 * The owner may call bind_free() from within any of them.
 */
struct bind_ops {
	/* Listening on bnd: send the first reply. */
	void (*listening)(void *owner, const struct sockaddr *bnd);
	/*
	 * The peer connected: fd is a non-blocking, close-on-exec socket
	 * that the owner now owns (not registered with the loop). Send the
	 * second reply with peer and relay.
	 */
	void (*connected)(void *owner, int fd, const struct sockaddr *peer);
	/*
	 * The command failed with REP rep (before or after `listening`):
	 * answer and close. 02: a peer other than DST connected (it was
	 * closed); 06: no peer within connect_timeout; 04: DST's name did not
	 * resolve; others from socks5_rep_for_errno().
	 */
	void (*failed)(void *owner, uint8_t rep);
	/*
	 * The ACL's verdict on the peer that connected, and on each address
	 * a DST name resolved to before listening (the owner's one decision
	 * function, which logs a denial). Returns true when allowed; a denied
	 * peer is closed and the command fails with 02.
	 */
	bool (*permit)(void *owner, const struct sockaddr *peer);
};

/*
 * Starts BIND for a parsed request (the request is copied). control_fd is
 * the client's connection (its local address is the fallback listener
 * address). Returns the handle, or NULL when out of memory (no callback
 * will come).
 */
struct bind *bind_start(const struct bind_env *env, const struct request_parser *req,
			int control_fd, const struct bind_ops *ops, void *owner);

/* Closes the listener, cancels pending work; no callback comes after. NULL is a no-op. */
void bind_free(struct bind *b);

/*
 * The peer check, pure: true when n is 0 (any peer) or peer's host equals
 * one of the n allowed addresses (ports ignored).
 */
bool bind_peer_allowed(const struct sockaddr *peer, const struct sockaddr_storage *allowed,
		       size_t n);

#endif
