/*
 * session: one SOCKS5 client connection, from accept to close, as an
 * explicit state machine:
 *
 *   [proxy] → greeting → [auth] → request → [resolve] → connect → relay → closed
 *
 * [proxy]: a connection from a source of [socks] proxy_protocol starts with
 * a balancer's PROXY header (proxy_proto.h), whose client address then
 * stands for the peer's everywhere; a missing, broken or unexpected header
 * closes the connection, logged.
 *
 * [http]: with [socks] http_connect, a client whose first octet is not 05
 * sends an HTTP CONNECT head instead of a greeting; http_connect.h turns it
 * into the greeting, login and request it stands for, and the answers
 * into HTTP responses, so every later stage is the SOCKS one.
 *
 * Handlers consume whatever bytes have arrived, however they were split
 * (the wire parsers are in socks5_proto.h). Each stage is bounded by a
 * timeout from mass.ini: handshake_timeout from accept to a complete
 * request, connect_timeout per address tried, idle_timeout without traffic
 * in either direction, fin_timeout for a half-closed tunnel.
 *
 * For plugins (<mass/plugin.h>, ABI 1.1, through core/events.h): each stage
 * emits its session event (accepted, authenticated, request, established,
 * credential, closed) when someone subscribed, one branch otherwise; an
 * RFC 1929 name the users store does not hold goes to the authentication
 * providers instead of the verify pool, the session waiting for them as for
 * the pool (what the client sends meanwhile stays in the socket), within
 * handshake_timeout.
 */
#ifndef MASS_SESSION_H
#define MASS_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "context.h"
#include "mass/plugin.h"

/* Readies an empty session table (context.h), before the first accept. */
void session_table_init(struct session_table *t);

/*
 * Takes ownership of an accepted SOCKS client socket (a listener_accept_fn).
 * context is the struct socks_ctx (context.h) the listener was opened
 * with. The session holds the snapshot of the policy in force at accept
 * (snapshot_hold on context->policy->snap) until it ends, and reads from
 * it the ACL, proxy_protocol, timeouts, commands, dissector ports and
 * max_clients; the users and the auth and dissector switches it reads live
 * from context->live at each use, and it refuses new clients once
 * context->stopping is set.
 */
void session_accept(int fd, const struct sockaddr_storage *peer, socklen_t peerlen,
		    void *context);

/* Number of open sessions of ctx. */
size_t session_count(const struct socks_ctx *ctx);

/*
 * The per-user limits' once-a-second work (socks_limits_tick), and the
 * live sessions of users whose class became limited put under it.
 */
void session_limits_tick(struct socks_ctx *ctx);

/* Closes every session of ctx at once (end of the shutdown grace period). */
void session_close_all(struct socks_ctx *ctx);

/*
 * Session control for plugins (<mass/plugin.h>, host->sessions_each and
 * session_close). session_each calls fn with a snapshot of each live
 * session, oldest first, until fn returns non-zero; returns the calls made.
 * session_close_id ends session id in the next round of the loop (so never
 * under the caller, which may be handling that session's event), with its
 * CLOSED event; returns 0, or -1 when no live session has that id.
 */
size_t session_each(struct socks_ctx *ctx, mass_session_fn *fn, void *arg);
int session_close_id(struct socks_ctx *ctx, uint64_t id);

#endif
