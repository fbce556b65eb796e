/*
 * host: the plugin host, as the runtime and the registry see it. It hands
 * plugins the services table (struct mass_host of <mass/plugin.h>), built
 * by host.c from one file per service family:
 *
 *	host_users.c     the SOCKS users store (sync and users_add_async)
 *	host_events.c    session events (subscribe)
 *	host_auth.c      authentication providers
 *	host_loop.c      timers and descriptor watches
 *	host_reply.c     the reply builders and deferred replies (with cancel)
 *	host_sessions.c  session control
 *	host_password.c  the off-loop password service (ABI 1.2)
 *	host.c           counters, switches, log, server info, index tables
 *
 * and keeps what each load registered on that load's owner (owner.h),
 * released when the load ends. The state of all of them is one struct host
 * (host_impl.h), one per loop.
 */
#ifndef MASS_HOST_H
#define MASS_HOST_H

#include "mass/plugin.h"
#include "owner.h"

struct socks_ctx;
struct plugins;

/* The SOCKS context (socks/context.h) the services act on (NULL: none; the
 * users, switch and session services then do nothing). The runtime sets
 * it at each swap. */
void host_set_context(struct socks_ctx *ctx);

/* The one services table (valid for the process's life). */
const struct mass_host *host_services(void);

/*
 * A new owner (owner.h) for one load of plugin `name` of set `set`, served
 * by the loop's host, with the set's mass.ini path and plugin directory
 * (copied; NULL is ""). NULL when out of memory.
 */
struct host_owner *host_owner_new(const char *name, const struct plugins *set,
				  const char *config_file, const char *plugin_dir);

/* Releases everything o registered (pending logins fail, deferred replies
 * are answered 01, password jobs are dropped), then o; logs the count at
 * debug level. Call after fini. NULL is a no-op. */
void host_owner_release(struct host_owner *o);

/* Maps a users_add()/users_del() result to a MASS status octet. */
int host_users_status(int users_result);

#endif
