/*
 * host_services: the ABI 1.1 half of the host services table (struct
 * mass_host of <mass/plugin.h>, every field after reply_count_end), and the
 * host-side hooks the SOCKS engine and the management server call.
 *
 * Ownership. Every plugin load is one struct host_owner, made by the
 * registry (plugins.c) before its init and released after its fini (or its
 * failed init). Everything a plugin registers through a service is
 * attributed to the owner the host is running at that moment
 * (host_owner_enter), kept on that owner's list, and freed by
 * host_owner_release(), whatever the plugin's fini did. Calling a
 * registering service while no owner runs (never happens from a plugin)
 * fails as out of memory would.
 *
 * Session events and authentication providers reach the SOCKS engine
 * through core/events.h, whose host side this module installs.
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

/* ---------------------------------------------------------------- owners */

struct host_owner;

/* Where the services find the loop and the clock. Call once, before any init. */
void host_services_start(struct loop *loop);

/*
 * A new owner for one load of plugin `name` (copied) of set `set`, with the
 * set's mass.ini path and plugin directory (copied; NULL is ""). NULL when
 * out of memory.
 */
struct host_owner *host_owner_new(const char *name, const struct plugins *set,
				  const char *config_file, const char *plugin_dir);

/* Removes and frees everything o registered (pending logins fail, deferred
 * replies are answered 01), then o. Call after fini. NULL is a no-op. */
void host_owner_release(struct host_owner *o);

/*
 * Makes o the plugin running now (NULL: the core), for attribution and for
 * host->log()'s prefix. Returns the previous one, to be restored with
 * host_owner_enter(prev) once the plugin's call returned: callbacks nest
 * (an event emitted while a handler runs).
 */
struct host_owner *host_owner_enter(struct host_owner *o);

/* The load running now, or NULL. */
struct host_owner *host_owner_current(void);

/*
 * A hold: work another host module does for the running load (host.c's
 * users_add_async waiting for a hash) that must not outlive it.
 * host_hold_add() puts (release, obj) on the owner running now; if that load
 * ends first, host_owner_release() calls release(obj), which must stop the
 * work and free obj without calling into the plugin. Returns NULL when no
 * plugin runs or out of memory. host_hold_owner() is the owner to enter
 * before calling the plugin back; host_hold_drop() ends the hold when the
 * work finished (NULL is a no-op).
 */
struct host_hold;
typedef void host_release_fn(void *obj);

struct host_hold *host_hold_add(host_release_fn *release, void *obj);
struct host_owner *host_hold_owner(const struct host_hold *h);
void host_hold_drop(struct host_hold *h);

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
typedef void host_auth_done_fn(void *ctx, bool ok);

bool host_auth_has_providers(int realm);
void *host_auth_ask(const struct mass_auth_query *q, host_auth_done_fn *done, void *ctx,
		    bool *ok);
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

/* The connection waiting for d went away (or timed out): d is forgotten by
 * it; the plugin's reply_send then only frees d. */
void host_defer_detach(struct mass_reply *d);

/*
 * Seals a reply with a handler's status (mass_reply_finish) and logs why,
 * when it goes out as 01 against what the plugin built: "plugin NAME:
 * index NN: REASON". Returns the octets to send. The one place the reply
 * diagnostics live, for immediate and deferred replies alike.
 */
size_t host_reply_seal(const char *plugin, uint8_t index, struct mass_reply *r, int status);

/* Fills the ABI 1.1 fields of the services table (host.c's). */
void host_services_fill(struct mass_host *h);

#endif
