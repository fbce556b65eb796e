/*
 * server: the process-wide state of socks5d, shared by the SOCKS core and the
 * management server. One thread owns all of it.
 */
#ifndef MASS_SERVER_H
#define MASS_SERVER_H

#include <stdbool.h>

#include "config.h"
#include "users.h"

struct loop;
struct resolver;
struct plugins;

struct server {
	struct loop *loop;
	struct resolver *resolver;
	struct config cfg;        /* the configuration in force */
	struct users users;       /* SOCKS users (RFC 1929) */
	struct users admins;      /* management credentials ([admins]) */
	struct plugins *plugins;  /* the loaded index table (mgmt) */
	bool auth;                /* SOCKS auth required now (cfg, then MASS 0C) */
	bool dissectors;          /* dissectors on now (cfg, -N, then MASS 0D) */
	bool no_dissectors_flag;  /* -N given: dissectors stay off across reloads */
	bool stopping;            /* SIGTERM seen: no new connections */
};

extern struct server server;

#endif
