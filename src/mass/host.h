/*
 * host: the services table handed to MASS plugins (struct mass_host of
 * <mass/plugin.h>), implemented over the process state: metrics_get(),
 * server.users (persisted through users_add/users_del), server.auth,
 * server.dissectors and the daemon log.
 */
#ifndef MASS_HOST_H
#define MASS_HOST_H

#include "mass/plugin.h"

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
