/*
 * mgmt: the MASS management server, on the one event loop.
 *
 * Each connection is a state machine fed whatever bytes arrived:
 *   greeting (VER 01, socks5_proto's parser) → admin sub-negotiation (RFC
 *   1929, checked against server.admins in constant time) → request (framed
 *   by mass_proto from the serving plugin's signature) → the handler runs
 *   synchronously (plugins_serve) → the reply is written (partial writes
 *   resumed on writability) → our FIN, then whatever the client still sends
 *   is read and discarded until its FIN (at most 64 KiB, at most 1 s), so
 *   unread input does not turn the close into a reset that could destroy the
 *   reply in flight → close.
 * Decisions of mass-protocol.md implemented here: a greeting or
 * sub-negotiation VER other than 01 closes without a reply; NMETHODS 0 is
 * answered 01 FF; with [management] auth = on the server picks 02 if offered,
 * else FF and closes; with auth = off it picks 00 if offered, else 02 (and
 * then still checks the credentials). A connection with nothing received for
 * cfg.mgmt_timeout seconds (nothing sent either, while a reply drains) is
 * dropped without a reply. Beyond cfg.mgmt_max_connections open connections
 * a new one is closed at once.
 *
 * Reads server.cfg (mgmt_listen, mgmt_port, mgmt_auth, mgmt_timeout,
 * mgmt_max_connections), server.admins and server.plugins at the time of
 * each event, so a reload changes auth, timeout, limit, admins and plugins
 * for new connections; the listen address and port need a restart.
 *
 * How main uses this module:
 *	start:  after the loop exists, server.cfg is loaded, server.admins
 *	        filled and server.plugins loaded (plugins.h):
 *	            if (mgmt_start(server.loop, err, sizeof(err)) < 0) fatal(err);
 *	        it logs "management listening on ADDR:PORT" per listener.
 *	reload: nothing to call (see above); plugins_reload() swaps the table.
 *	stop:   mgmt_stop() on SIGTERM/SIGINT: closes the listeners and drops
 *	        open management connections (call before loop_destroy).
 */
#ifndef MASS_MGMT_H
#define MASS_MGMT_H

#include <stddef.h>
#include <stdint.h>

struct loop;

/* Most management listen addresses. */
#define MGMT_LISTEN_MAX 8

/*
 * Opens the listeners on server.cfg.mgmt_listen, port server.cfg.mgmt_port
 * (0: an ephemeral port each; see mgmt_port()) and watches them on loop.
 * Returns 0, or -1 with err set and nothing left open.
 */
int mgmt_start(struct loop *loop, char *err, size_t errlen);

/* Closes the listeners and every open management connection. Idempotent. */
void mgmt_stop(void);

/* The number of listeners open. */
size_t mgmt_listener_count(void);

/* The bound port of listener i (host order), 0 when there is no such listener. */
uint16_t mgmt_port(size_t i);

/* Management connections open now. */
size_t mgmt_connection_count(void);

#endif
