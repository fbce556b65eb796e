/*
 * session: one SOCKS5 client connection, from accept to close, as an
 * explicit state machine:
 *
 *   greeting → [auth] → request → [resolve] → connect → relay → closed
 *
 * Handlers consume whatever bytes have arrived, however they were split
 * (the wire parsers are in socks5_proto.h). Each stage is bounded by a
 * timeout from mass.ini: handshake_timeout from accept to a complete
 * request, connect_timeout per address tried, idle_timeout without traffic
 * in either direction, fin_timeout for a half-closed tunnel.
 */
#ifndef MASS_SESSION_H
#define MASS_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Takes ownership of an accepted SOCKS client socket (a listener_accept_fn).
 * context is the struct runtime_ctx (runtime.h) the listener was opened
 * with. The session holds a reference to the snapshot in force at accept
 * (runtime_hold) until it ends, and reads from it the ACL, timeouts,
 * commands, dissector ports and max_clients; the users and the auth and
 * dissector switches it reads live from context->live at each use, and it
 * refuses new clients once context->stopping is set.
 */
void session_accept(int fd, const struct sockaddr_storage *peer, socklen_t peerlen,
		    void *context);

/* Number of open sessions. */
size_t session_count(void);

/* Closes every session at once (end of the shutdown grace period). */
void session_close_all(void);

#endif
