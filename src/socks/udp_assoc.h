/*
 * udp_assoc: one UDP ASSOCIATE association (RFC 1928 section 7), the relay
 * of datagrams between a client and any number of targets.
 *
 *   client ──[RFC 1928 header + DATA]──▶ relay socket ──DATA──▶ target
 *   client ◀─[header: target's address]── relay socket ◀──DATA── target
 *
 * The relay socket is bound to an ephemeral port of the address the client
 * reached us on (the local address of its TCP control connection): the
 * address the client can certainly reach. Datagrams are accepted only from
 * the control connection's peer IP, and from one port: the DST.PORT of
 * the request when it is not 0, else the port of the first datagram
 * accepted. The request's DST.ADDR is not used: clients behind NAT cannot
 * know their address, and the control connection's peer is the client.
 * Other datagrams, fragments (FRAG != 0) and malformed headers are dropped
 * silently, as section 7 asks.
 *
 * Toward targets, one unconnected UDP socket per address family (made on
 * the first datagram of that family) sends to every target and receives
 * every answer, which goes back to the client behind a header naming its
 * source. Replies come only from a target the client has sent to (its
 * address and port, within the association): a target enters the table
 * of the last UDP_ASSOC_PEERS_MAX sent to once the ACL allowed a datagram
 * to it, so a reply is always from a peer the ACL allows; anything else
 * arriving on the socket is dropped. Domain destinations are resolved with the loop's resolver; while
 * a name resolves its datagram waits in a bounded queue
 * (UDP_ASSOC_PENDING_MAX datagrams, UDP_ASSOC_PENDING_BYTES octets per
 * association); what does not fit is dropped, as is a datagram whose name
 * does not resolve. The first address resolved is used. Every destination
 * passes the ACL (env.permit): a name before it resolves, then the address
 * (with the name) before the datagram is sent; a denied one is dropped.
 *
 * Metrics: each datagram's DATA (headers excluded) counts once as read when
 * it is taken for relaying and once as written when it has been sent on,
 * in both directions, as a relayed TCP chunk does.
 *
 * The association lives as long as its owner keeps it (the session ends it
 * when the control connection closes) or until idle_timeout seconds pass
 * without a datagram relayed in either direction.
 */
#ifndef MASS_UDP_ASSOC_H
#define MASS_UDP_ASSOC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define UDP_ASSOC_PENDING_MAX 16            /* datagrams waiting for a name */
#define UDP_ASSOC_PENDING_BYTES (64 * 1024) /* their DATA, in all */
#define UDP_ASSOC_BURST 64                  /* datagrams per socket per wake-up */
#define UDP_ASSOC_PEERS_MAX 64              /* targets a reply may come from */

struct udp_assoc;
struct loop;
struct resolver;

/*
 * The ACL's verdict on one datagram's destination, asked of the owner (its
 * one decision function, which adds the client and logs a denial): by name
 * before it resolves (dst NULL), then by the address (name still given).
 * Returns true when allowed.
 */
typedef bool udp_assoc_permit_fn(void *owner, const char *name, uint16_t port,
				 const struct sockaddr *dst);

/*
 * What an association works with, copied by udp_assoc_start(); the pointers
 * must outlive the handle (the session holds the runtime snapshot the ACL
 * belongs to).
 */
struct metrics;

struct udp_assoc_env {
	struct loop *loop;
	struct resolver *resolver;     /* for destinations given by name */
	udp_assoc_permit_fn *permit;   /* judges every destination */
	unsigned idle_timeout;         /* seconds without a datagram */
	struct metrics *metrics;       /* counts the datagrams' bytes (core/metrics.h) */
	/* one datagram at a time moves through here (the loop's own, shared by
	 * its associations: the loop is single-threaded); 64 KiB holds any */
	uint8_t *buf;
	size_t buflen;
	/* per-user limits: may a datagram of len bytes go in direction dir
	 * (0: to a target, 1: to the client)? false drops it. NULL: always. */
	bool (*meter)(void *owner, int dir, size_t len);
	/* egress (routes.h): the source address for a socket of family: 1 and
	 * *src (port 0), *len, *freebind set; 0 none (the kernel picks); -1
	 * none of that family (refused). NULL: always 0. */
	int (*source)(void *owner, int family, struct sockaddr_storage *src, socklen_t *len,
		      bool *freebind);
};

/*
 * Called once when the association ends by itself (idle timeout); the
 * owner then calls udp_assoc_free(), from within the call or later. Never
 * called from inside udp_assoc_start() or udp_assoc_free().
 */
typedef void udp_assoc_end_fn(void *owner);

/*
 * Opens an association for the client of control_fd, whose peer address is
 * client; port is the request's DST.PORT (0: learnt from the first
 * datagram). On success returns the handle and writes the relay socket's
 * address (for the reply's BND) into bnd. Returns NULL with *rep set to
 * the REP code to answer: 01 when a socket could not be made or bound, or
 * memory ran out.
 */
struct udp_assoc *udp_assoc_start(const struct udp_assoc_env *env, int control_fd,
				  const struct sockaddr_storage *client, uint16_t port,
				  udp_assoc_end_fn *end, void *owner,
				  struct sockaddr_storage *bnd, uint8_t *rep);

/*
 * The DATA octets (headers excluded) the association has relayed: *up sent
 * on to targets, *down sent back to the client. What a limit, the ACL or
 * a full socket dropped is not counted. For the close record.
 */
void udp_assoc_bytes(const struct udp_assoc *a, uint64_t *up, uint64_t *down);

/* Closes the sockets, cancels pending names, frees. NULL is a no-op. */
void udp_assoc_free(struct udp_assoc *a);

#endif
