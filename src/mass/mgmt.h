/*
 * mgmt: the MASS management server, on the one event loop.
 *
 * Each connection is a state machine fed whatever bytes arrived:
 *   greeting (VER 01, socks5_proto's parser) → admin sub-negotiation (RFC
 *   1929, checked against the admins in constant time; a name [admins]
 *   does not hold goes to the MASS_AUTH_ADMIN providers of ABI 1.1, and the
 *   connection waits for their answer, keeping what the client sends
 *   meanwhile) → request (framed
 *   by mass_proto from the serving plugin's signature) → the handler runs
 *   (plugins_serve), or defers its reply (ABI 1.1: the connection waits,
 *   reading nothing, until the plugin's reply_send or the timeout, then
 *   01 and a log line) → the reply is written (partial writes
 *   resumed on writability) → our FIN, then whatever the client still sends
 *   is read and discarded until its FIN (at most 64 KiB, at most 1 s), so
 *   unread input does not turn the close into a reset that could destroy the
 *   reply in flight → close.
 * Decisions of mass-protocol.md implemented here: a greeting or
 * sub-negotiation VER other than 01 closes without a reply; NMETHODS 0 is
 * answered 01 FF; with [management] auth = on the server picks 02 if offered,
 * else FF and closes; with auth = off it picks 00 if offered, else 02 (and
 * then still checks the credentials). A connection without a complete
 * request cfg.mgmt_timeout seconds after accept (an absolute deadline, not
 * extended by bytes; while a reply drains, the time allowed without
 * progress) is dropped without a reply (a request cut short is logged);
 * one whose client sent its FIN in the middle of a request's parameters is
 * answered 01 at once. A new connection beyond
 * cfg.mgmt_max_unauthenticated not logged in, or beyond
 * cfg.mgmt_max_connections in all, drops the oldest one not logged in; it
 * is closed at once only when every connection is logged in. A failed
 * login is logged (name escaped, address) and answered after a delay
 * growing per source address (250 ms doubling to 8 s, reset by a success;
 * nothing is read meanwhile). Every request for an index above 09 is
 * logged with the admin, the address and the status (mgmt_requested).
 *
 * Reads the context's snapshot in force (runtime.h: cfg.mgmt_auth,
 * mgmt_timeout, mgmt_max_connections, admins, plugins) at the time of each
 * event, holding no pointer into it across events, so a reload changes
 * auth, timeout, limit, admins and plugins at once, also for a connection
 * already open; the listen addresses and port are bound once by
 * mgmt_start() and need a restart.
 *
 * How main uses this module:
 *	start:  after the loop exists and before privileges are dropped:
 *	            if (mgmt_start(loop, &cfg, &ctx, err, sizeof(err)) < 0) fatal(err);
 *	        it logs "management listening on ADDR port PORT" per listener;
 *	        once runtime_apply() put the first snapshot in force (before
 *	        the loop runs: no connection is served without one),
 *	        mgmt_ready() logs the hint when no admin is configured.
 *	reload: nothing to call (see above); runtime_apply() swaps the snapshot.
 *	stop:   mgmt_stop() on SIGTERM/SIGINT: closes the listeners and drops
 *	        open management connections (call before loop_destroy).
 */
#ifndef MASS_MGMT_H
#define MASS_MGMT_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct config;
struct runtime_ctx;

/* Most management listen addresses. */
#define MGMT_LISTEN_MAX 8

/*
 * Opens the listeners on cfg->mgmt_listen, port cfg->mgmt_port (0: an
 * ephemeral port each; see mgmt_port()) and watches them on loop; every
 * connection is then served with ctx->rt (which must be set before the loop
 * runs). Returns 0, or -1 with err set and nothing left open.
 */
int mgmt_start(struct loop *loop, const struct config *cfg, const struct runtime_ctx *ctx,
	       char *err, size_t errlen);

/* The first snapshot is in force: warns when logins cannot succeed (no [admins]). */
void mgmt_ready(void);

/* Closes the listeners and every open management connection. Idempotent. */
void mgmt_stop(void);

/* The number of listeners open. */
size_t mgmt_listener_count(void);

/* The bound port of listener i (host order), 0 when there is no such listener. */
uint16_t mgmt_port(size_t i);

/* The bound address of listener i as text, NULL when there is no such listener. */
const char *mgmt_addr(size_t i);

/* Management connections open now. */
size_t mgmt_connection_count(void);

#endif
