/*
 * owner: what one plugin load owns. Every load of a plugin (one init to
 * its fini) is one struct host_owner, made by the registry (plugins.c)
 * before init and released after fini, or after a failed init. Everything
 * the plugin registers through a host service (a subscription, a timer, a
 * watch, a provider, a login it holds, a deferred reply, a password job)
 * is a struct owner_res on that owner's list, carrying the function that
 * releases it; owner_release() calls each one, whatever the plugin's fini
 * did, so no callback ever reaches an unloaded object. This module knows
 * no kind of resource: each service family (host_*.c) brings its own
 * release function.
 *
 * The owner also carries the load's call context (ABI 1.2, struct
 * mass_ctx), handed to a 1.2 plugin's init_ctx, serve, fini_ctx and every
 * callback; owner_of_ctx() maps a context back to its load.
 *
 * The caller. A 1.0 or 1.1 plugin calls services that take no context
 * (host->log, subscribe, timer_add, ...), so the host must know which load
 * is running to attribute what it registers and to prefix its log lines:
 * owner_enter() names it around every call into a plugin. That one
 * pointer is the only process-wide state of the host (see owner.c).
 *
 * A leaf: it includes only <mass/plugin.h> and the C library. Everything
 * runs on the loop thread.
 */
#ifndef MASS_OWNER_H
#define MASS_OWNER_H

#include <sys/queue.h>

#include "mass/plugin.h"

struct host_owner;
struct owner_res;

/* Stops what r stands for, calls owner_res_unlink(r) and frees r (it must
 * not call into the plugin). */
typedef void owner_release_fn(struct owner_res *r);

/* Embedded at the start of every registered object. */
struct owner_res {
	TAILQ_ENTRY(owner_res) link;
	struct host_owner *owner;          /* NULL: on nobody's list */
	owner_release_fn *release;
};
TAILQ_HEAD(owner_res_list, owner_res);

struct host_owner {
	struct mass_ctx ctx;               /* the load's call context (1.2) */
	char *name;                        /* the plugin's name, as mass.ini gives it */
	const void *set;                   /* the plugin set (struct plugins) it belongs to */
	void *host;                        /* the host serving it (struct host) */
	char *config_file, *plugin_dir;    /* for the server info */
	struct mass_server_info info;      /* filled by host->server_info() */
	struct owner_res_list res;
};

/*
 * A new owner for one load of plugin `name` of `set`, served by `host`
 * whose services table is `table` (ctx.host), with the set's mass.ini
 * path and plugin directory (strings copied; NULL is ""). NULL when out of
 * memory.
 */
struct host_owner *owner_new(const char *name, const void *set, void *host,
			     const struct mass_host *table, const char *config_file,
			     const char *plugin_dir);

/* Releases everything o registered, newest last, then frees o. Returns the
 * number of registrations released. NULL is a no-op. */
size_t owner_release(struct host_owner *o);

/* Puts r on o's list with its release function. Returns -1 when o is NULL
 * (no plugin runs: a registering service then fails as out of memory). */
int owner_res_add(struct host_owner *o, struct owner_res *r, owner_release_fn *release);

/* Takes r off its owner's list (no-op when on none). */
void owner_res_unlink(struct owner_res *r);

/* Moves r to another owner's list (a login passed on to another provider). */
void owner_res_move(struct owner_res *r, struct host_owner *to);

/* The load whose context ctx is (NULL for NULL). */
struct host_owner *owner_of_ctx(struct mass_ctx *ctx);

/*
 * Makes o the load running now (NULL: the core). Returns the previous one,
 * to be restored with owner_enter(prev) once the plugin's call returned:
 * calls nest (an event emitted while a handler runs).
 */
struct host_owner *owner_enter(struct host_owner *o);

/* The load running now, or NULL. */
struct host_owner *owner_current(void);

#endif
