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
 * Decisions of mass-protocol(7) implemented here: a greeting or
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
 * Reads the settings in force (env->settings, struct mgmt_settings: auth,
 * timeout, max_connections, admins, plugins) at the time of each event,
 * holding no pointer into them across events, so a reload (which points
 * env->settings at the new snapshot's) changes auth, timeout, limit,
 * admins and plugins at once, also for a connection already open; the
 * listen addresses and port are bound once by mgmt_start() and need a
 * restart.
 *
 * How main uses this module:
 *	start:  after the loop exists and before privileges are dropped:
 *	            srv = mgmt_start(&ctx.mgmt, cfg.mgmt_listen, cfg.mgmt_listen_len,
 *	                             cfg.mgmt_port, err, sizeof(err));
 *	            if (srv == NULL) fatal(err);
 *	        it logs "management listening on ADDR port PORT" per listener;
 *	        once runtime_apply() put the first snapshot in force (before
 *	        the loop runs: no connection is served without one),
 *	        mgmt_ready() logs the hint when no admin is configured.
 *	reload: nothing to call (see above); runtime_apply() swaps env->settings.
 *	stop:   mgmt_stop() on SIGTERM/SIGINT: closes the listeners and drops
 *	        open management connections; mgmt_free() at exit (before
 *	        loop_destroy).
 */
#ifndef MASS_MGMT_H
#define MASS_MGMT_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

struct loop;
struct plugins;
struct users;
struct verify_pool;

/* Most management listen addresses. */
#define MGMT_LISTEN_MAX 8

/*
 * The MASS server's part of one configuration snapshot ([management],
 * [admins], the plugin set), immutable while in force.
 */
struct mgmt_settings {
	bool auth;                       /* require an admin (method 02) */
	unsigned timeout;                /* seconds for a complete request */
	unsigned max_connections;
	unsigned max_unauthenticated;    /* of them, not yet logged in */
	const struct users *admins;      /* management credentials */
	struct plugins *plugins;         /* the index table */
};

/* What the server runs on; its owner keeps it alive while the server runs. */
struct mgmt_env {
	struct loop *loop;
	struct verify_pool *verify;      /* admin logins off the loop */
	const struct mgmt_settings *settings; /* in force: read at each event */
};

/*
 * The server: its listeners, connections, login failure table and reply
 * buffer, owned by whoever runs its loop (main), never shared.
 */
struct mgmt_server;

/*
 * Opens the listeners on the nlisten numeric addresses listen, port port
 * (0: an ephemeral port each; see mgmt_port()) and watches them on
 * env->loop; every connection is then served with env->settings (which
 * must be set before the loop runs). Returns the server, or NULL with err
 * set and nothing left open.
 */
struct mgmt_server *mgmt_start(const struct mgmt_env *env, char *const *listen, size_t nlisten,
			       uint16_t port, char *err, size_t errlen);

/* The first settings are in force: warns when logins cannot succeed (no [admins]). */
void mgmt_ready(struct mgmt_server *srv);

/* Closes the listeners and every open management connection. Idempotent. */
void mgmt_stop(struct mgmt_server *srv);

/* Stops (mgmt_stop) and frees the server. NULL is a no-op. */
void mgmt_free(struct mgmt_server *srv);

/* The number of listeners open. */
size_t mgmt_listener_count(const struct mgmt_server *srv);

/* The bound port of listener i (host order), 0 when there is no such listener. */
uint16_t mgmt_port(const struct mgmt_server *srv, size_t i);

/* The bound address of listener i as text, NULL when there is no such listener. */
const char *mgmt_addr(const struct mgmt_server *srv, size_t i);

/* Management connections open now. */
size_t mgmt_connection_count(const struct mgmt_server *srv);

#endif
