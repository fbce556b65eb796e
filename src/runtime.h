/*
 * server: the process-wide state of socks5d, shared by the SOCKS core and the
 * management server. One thread owns all of it.
 */
#ifndef MASS_SERVER_H
#define MASS_SERVER_H

#include <stdbool.h>

#include "config.h"
#include "auth/users.h"

struct loop;
struct resolver;
struct plugins;
struct acl;

struct server {
	struct loop *loop;
	struct resolver *resolver;
	struct config cfg;        /* the configuration in force */
	struct users users;       /* SOCKS users (RFC 1929) */
	struct users admins;      /* management credentials ([admins]) */
	struct plugins *plugins;  /* the loaded index table (mgmt) */
	struct acl *acl;          /* compiled [acl] of cfg, built-in rule first */
	bool auth;                /* SOCKS auth required now (cfg, then MASS 0C) */
	bool dissectors;          /* dissectors on now (cfg, -N, then MASS 0D) */
	bool no_dissectors_flag;  /* -N given: dissectors stay off across reloads */
	bool stopping;            /* SIGTERM seen: no new connections */
};

extern struct server server;

/*
 * Builds the SOCKS users store for cfg: from users_file when it exists (then
 * [users] is ignored, with a log line), else from [users], creating
 * users_file when it is set; users given with -u (cli_users) are added last
 * and persisted. Returns 0, or -1 with err set and u freed.
 */
int server_build_users(struct users *u, const struct config *cfg,
		       const struct config_list *cli_users, char *err, size_t errlen);

/* Builds the management credentials from [admins]. Returns 0, or -1 with err set. */
int server_build_admins(struct users *u, const struct config *cfg, char *err, size_t errlen);

#endif
