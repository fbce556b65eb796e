/*
 * config: mass.ini, parsed with inih into one plain structure.
 *
 * The file's keys and their defaults are documented in etc/mass.ini and
 * mass.ini(5).
 *
 * Ownership lives in this file alone: a struct config owns every string it
 * points to, defaults included (config.c tells its static defaults from
 * allocated strings); nobody else frees, moves or replaces them. Change a
 * string with config_set_string(), config_parse_listen() or
 * config_copy_listen(), release everything with config_free(). A struct
 * config may be moved by value (the moved-from copy is then reset with
 * config_defaults(), never freed). Loading is all-or-nothing: on any error the structure is left
 * freed and err names the file, line and key, so a reload can keep the
 * running configuration.
 */
#ifndef MASS_CONFIG_H
#define MASS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net.h"
#include "dissect/dissect.h"
#include "limits/limits_class.h"
#include "socks/acl.h"
#include "socks/context.h"

#define CONFIG_MAX_LISTEN 8      /* addresses per listen key */
#define CONFIG_MAX_USERS_LIMIT 255
#define CONFIG_MAX_PROXY 16      /* [socks] proxy_protocol blocks */

/* Address blocks, e.g. the balancers allowed to send a PROXY header. */
struct config_cidrs {
	struct net_cidr nets[CONFIG_MAX_PROXY];
	size_t len;
};

/* One "key = value" line, in file order, with its line number for messages. */
struct config_kv {
	char *key;
	char *value;
	int line;
};

struct config_list {
	struct config_kv *items;
	size_t len, cap;
};

/* A [plugin NAME] section: its keys go to that plugin's init, verbatim. */
struct config_plugin {
	char *name;
	char *module;            /* `module = PATH`, or NULL: NAME.so in plugins_dir */
	struct config_list keys; /* every key of the section, module included */
};

/* the [socks] commands key, as the SOCKS policy's bits (socks/context.h) */
enum config_command {
	CMD_CONNECT = SOCKS_ALLOW_CONNECT,
	CMD_BIND = SOCKS_ALLOW_BIND,
	CMD_UDP = SOCKS_ALLOW_UDP
};


struct config {
	char *path;                       /* the file this came from (NULL: defaults) */

	/* [socks] */
	char *listen[CONFIG_MAX_LISTEN];  /* numeric addresses */
	size_t listen_len;
	uint16_t port;
	bool auth;
	bool dissectors;
	char *users_file;                 /* NULL: users live in memory only */
	bool strict_files;                /* refuse files others could have written (trusted_file.h) */
	unsigned max_users;               /* 0..255 */
	char *password_hash;              /* method for new hashes (0A, rehash); NULL: yescrypt */
	unsigned password_cost;           /* its cost; 0: libcrypt's default */
	char *access_log;                 /* "-" is stderr */
	unsigned connect_timeout;         /* seconds, each */
	unsigned idle_timeout;
	unsigned shutdown_timeout;
	unsigned handshake_timeout;
	unsigned fin_timeout;
	unsigned max_clients;             /* 0: limited by the fd limit only */
	char *resolver;                   /* "ip[:port],..." for c-ares, NULL: system */
	unsigned commands;                /* enum config_command bits */
	unsigned max_buffer_memory;       /* MiB of relay pipes held by all tunnels */
	char *user;                       /* drop to this user after binding, or NULL */
	char *log_level;                  /* error|warn|info|debug (log.h); NULL: info */
	struct config_cidrs proxy_protocol; /* sources that must send a PROXY header; empty: none */
	bool http_connect;                /* HTTP CONNECT on the SOCKS listener (off) */
	char *quota_file;                 /* quota usage kept across restarts; NULL: not kept */
	unsigned quota_flush;             /* seconds between flushes of quota_file */

	/* [dissectors]: one key per protocol of dissect.h's table */
	struct dissect_ports dissector_ports[DISSECT_COUNT];

	/* [acl], rules in order (parsed by the acl module) */
	struct config_list acl;

	/* [upstreams] NAME = URL...; [routes] TARGET = CONDITIONS (socks/routes.h) */
	struct config_list upstreams;
	struct config_list routes;
	/* the egress, egress_mode and route keys of [class NAME] sections, one
	 * list per key: class name = value (checked; route names at build) */
	struct config_list class_egress;
	struct config_list class_egress_mode;
	struct config_list class_route;

	/* [users] and [admins]: name = password */
	struct config_list users;
	struct config_list admins;
	/* [users] values ending in " class=NAME": key the user, value the class
	 * (the password in users has the suffix removed) */
	struct config_list user_classes;

	/* [class NAME] sections; list[0] is "default" (config_load makes it;
	 * an empty table, list NULL, means every user is unlimited) */
	struct limits_class_table classes;

	/* [management] */
	char *mgmt_listen[CONFIG_MAX_LISTEN];
	size_t mgmt_listen_len;
	uint16_t mgmt_port;
	bool mgmt_auth;
	unsigned mgmt_timeout;
	unsigned mgmt_max_connections;
	unsigned mgmt_max_unauthenticated; /* of them, not yet logged in */

	/* [plugins] and [indexes] */
	char *plugins_dir;                /* default PKGLIBDIR */
	bool plugins_strict;              /* refuse modules others could have written */
	char *indexes[256];               /* plugin name serving each index, or NULL */
	int index_lines[256];             /* line of each [indexes] entry, for messages */

	/* [plugin NAME] sections */
	struct config_plugin *plugins;
	size_t plugins_len;
};

/* The class [users] gives name (NULL: none given, the default class). */
const char *config_user_class(const struct config *c, const char *name);

/* Fills c with the documented defaults (and no users, admins or indexes). */
void config_defaults(struct config *c);

/*
 * Loads path over the defaults (c's previous contents are neither read nor
 * freed: load into a fresh structure, then swap). Returns 0 on success. On
 * failure returns -1,
 * writes "PATH:LINE: [section] key: reason" (or "PATH: reason" when the file
 * cannot be read) into err, and leaves c freed.
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/*
 * As config_load(), from the len octets at buf (no NUL needed; more than
 * 1 MiB is refused as a file would be), with name standing for the path in
 * messages and in c->path. No file and no process work: for the fuzz target
 * and tests.
 */
int config_load_buffer(struct config *c, const char *name, const char *buf, size_t len,
		       char *err, size_t errlen);

/* Releases everything c owns; c is left with the defaults. */
void config_free(struct config *c);

/* The [plugin NAME] section, or NULL. */
const struct config_plugin *config_plugin_find(const struct config *c, const char *name);

/*
 * The [acl] lines as acl_compile() takes them (socks/acl.h), pointing into
 * c (valid while c is). Returns 0 (release with free((void *)rules->items)),
 * or -1 on ENOMEM.
 */
int config_acl_rules(const struct config *c, struct acl_rules *rules);

/* Appends "key = value" to a list (copies both). Returns 0, -1 on ENOMEM. */
int config_list_add(struct config_list *list, const char *key, const char *value, int line);

/* Frees every entry of a list built with config_list_add(); the list is left empty. */
void config_list_clear(struct config_list *list);

/* Replaces *dst by a copy of src. Returns 0, -1 on ENOMEM. */
int config_set_string(char **dst, const char *src);

/* Parses a "ip, ip" list into addrs (strings owned by c). Returns 0 or -1. */
int config_parse_listen(char **addrs, size_t *len, const char *value, char *err, size_t errlen);

/* True when a and b listen on the same SOCKS and management addresses and ports. */
bool config_same_listen(const struct config *a, const struct config *b);

/*
 * Makes dst listen where src does (addresses copied, ports), releasing what
 * dst had: a reload keeps the sockets bound at start. Returns 0, or -1 on
 * ENOMEM (dst then still valid, with its own addresses).
 */
int config_copy_listen(struct config *dst, const struct config *src);

#endif
