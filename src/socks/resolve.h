/*
 * resolve: asynchronous name resolution on the event loop (c-ares).
 *
 * c-ares' sockets are watched by the loop and its timeouts driven by a loop
 * timer, so a lookup never blocks. Names are looked up in the hosts file
 * first (c-ares' "fb" order), then DNS, for both A and AAAA records, and
 * handed back in the order c-ares sorts them (RFC 6724). A name is asked
 * exactly as given, never completed from resolv.conf's search list
 * (ARES_FLAG_NOSEARCH): a SOCKS destination is absolute, and the name the
 * ACL judged must be the name asked. Callers pass names already made one
 * form by net_name_normalise() (core/net.h), which refuses '\' escapes.
 *
 * Timeouts: each DNS server gets 2 tries per question; the first waits
 * 1500 ms, the second 3000 ms (c-ares doubles the wait on each pass over the
 * server list). A and AAAA are asked in parallel and a timeout ends the
 * lookup, so a dead server fails a lookup in about 4.5 s per
 * server configured. 1.5 s is far above a healthy answer's time yet lets one
 * lost datagram be retried; 4.5 s stays below the patience of SOCKS clients
 * (c-ares' own defaults, 2 s and 3 tries, would take 14 s).
 */
#ifndef MASS_RESOLVE_H
#define MASS_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct loop;
struct resolver;
struct resolve_query;

#define RESOLVE_MAX_ADDRS 16   /* addresses handed back per name, at most */

enum resolve_status {
	RESOLVE_OK = 0,
	RESOLVE_NOT_FOUND,   /* the name does not exist or has no address (REP 04) */
	RESOLVE_FAILED       /* timeout, server failure, out of memory (REP 04) */
};

/*
 * Called once per resolve_start() that was not cancelled (nor its resolver
 * destroyed), on the loop thread, never from inside resolve_start(). addrs
 * (count entries, ports already set) is valid only during the call; count
 * is 0 unless RESOLVE_OK. The query handle is freed once the callback
 * returns. The callback may start or cancel queries and may destroy the
 * resolver.
 */
typedef void resolve_fn(void *data, enum resolve_status status,
			const struct sockaddr_storage *addrs, size_t count);

/*
 * Creates a resolver on loop. servers is NULL for the system's resolv.conf,
 * or a c-ares server list ("127.0.0.1:5353,[::1]:53"). Returns NULL with err
 * set on failure.
 */
struct resolver *resolver_create(struct loop *loop, const char *servers,
				 char *err, size_t errlen);

/* Cancels every pending query (their callbacks are not called) and frees. */
void resolver_destroy(struct resolver *r);

/*
 * Starts resolving name for port. Returns a handle for resolve_cancel(), or
 * NULL if the query could not be started (out of memory): then fn is not
 * called.
 */
struct resolve_query *resolve_start(struct resolver *r, const char *name,
				    uint16_t port, resolve_fn *fn, void *data);

/*
 * Forgets a pending query: its callback will not be called. Only for a query
 * whose callback has not run yet.
 */
void resolve_cancel(struct resolve_query *q);

#endif
