/*
 * host: the services table handed to MASS plugins (struct mass_host of
 * <mass/plugin.h>), implemented over metrics_get(), the live store of the
 * runtime context (its users, persisted through users_add/users_del, with
 * users_add_async hashing in the context's verify pool; the auth and
 * dissector switches) and the daemon log. users_add_async's work in flight
 * is a hold of the calling load (host_services.h), freed if it unloads.
 *
 * ABI 1.0 host functions take no context argument, so this module keeps
 * one module-local pointer to the SOCKS context (socks/context.h), set by the runtime when
 * it swaps a snapshot in (host_set_context). It reads nothing else.
 */
#ifndef MASS_HOST_H
#define MASS_HOST_H

#include "mass/plugin.h"

struct socks_ctx;

/* The context the services act on (NULL: none; the services then do nothing). */
void host_set_context(struct socks_ctx *ctx);

/* The context set last (NULL: none). */
struct socks_ctx *host_context(void);

/* The one services table (static storage; valid for the process's life). */
const struct mass_host *host_services(void);

/*
 * Names the plugin about to run (NULL: the core), so host->log() lines say
 * which plugin wrote them. The registry calls it around init, fini and each
 * handler.
 */
void host_set_caller(const char *name);

/* Maps a users_add()/users_del() result to a MASS status octet. */
int host_users_status(int users_result);

#endif
