/*
 * host_services: the plugin host's entry points for the rest of the
 * daemon: main (the loop, the listeners of the server info), the
 * management server (admin logins through the providers, deferred
 * replies) and the registry (arming a handler call that may defer). The
 * services themselves are in host.h's files; what a plugin registers is
 * its load's (owner.h).
 *
 * Session events and authentication providers reach the SOCKS engine
 * through core/events.h, whose host side host_services_start() installs.
 *
 * Loop services need the loop: host_services_start(loop) before any
 * plugin is initialised (main, right after loop_create).
 *
 * Everything runs on the loop thread. Nothing here is re-entrant across
 * threads.
 */
#ifndef MASS_HOST_SERVICES_H
#define MASS_HOST_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mass/plugin.h"

struct loop;
struct plugins;
struct mass_reply;

/* Where the services find the loop and the clock: the loop's host is
 * given its loop (NULL: none). Call before any init (main, after
 * loop_create). */
void host_services_start(struct loop *loop);

struct acl_live;

/* Where a plugin's listening socket joins socks5d's own listeners when it
 * is watched (socks/acl.h; host_loop.c): main's live view, before any
 * init. NULL: nowhere. */
void host_services_set_self(struct acl_live *live);

/* ---------------------------------------------------------------- server info */

/* The bound listeners, SOCKS (kind 0) or MASS (kind 1), as the server info
 * reports them; copied. Call whenever they change (start). */
void host_info_set_listeners(int kind, const struct mass_listen_addr *addrs, size_t n);

/* ---------------------------------------------------------------- authentication */

/*
 * The providers are reached by the SOCKS engine through core/events.h (the
 * host installs its side in host_services_start) and by the management
 * server directly: host_auth_ask() has events_host.auth_ask's contract.
 */
typedef void host_auth_done_fn(void *ctx, int verdict);

bool host_auth_has_providers(int realm);
void *host_auth_ask(const struct mass_auth_query *q, host_auth_done_fn *done, void *ctx,
		    int *verdict);
void host_auth_cancel(void *pending);

/* ---------------------------------------------------------------- deferred replies */

/* Called once with the octets of a deferred reply to send (status octet
 * first), or with len 0 when the reply will never come (load ended). */
typedef void host_reply_fn(void *conn, const uint8_t *reply, size_t len);

/*
 * Around a handler call: host_defer_arm() before, host_defer_take() after.
 * take returns the deferred reply the handler made with reply_defer (it
 * returned MASS_STATUS_PENDING) or NULL; a deferred reply made but not
 * taken (the handler returned another status) is answered by its
 * reply_send to nobody.
 */
void host_defer_arm(const char *plugin, uint8_t index);
struct mass_reply *host_defer_take(void);

/* Delivers the deferred reply d to fn(conn, ...) when the plugin sends it. */
void host_defer_attach(struct mass_reply *d, host_reply_fn *fn, void *conn);

/* The connection waiting for d went away (closed, reset) or the timeout
 * answered it: d is forgotten by it; the plugin's reply_send then only
 * frees d (and returns -1). A reply deferred with reply_defer_ctx and a
 * cancel gets its notice in the loop's next round. */
void host_defer_detach(struct mass_reply *d);

/*
 * Seals a reply with a handler's status (mass_reply_finish) and logs why,
 * when it goes out as 01 against what the plugin built: "plugin NAME:
 * index NN: REASON". Returns the octets to send. The one place the reply
 * diagnostics live, for immediate and deferred replies alike.
 */
size_t host_reply_seal(const char *plugin, uint8_t index, struct mass_reply *r, int status);

#endif
