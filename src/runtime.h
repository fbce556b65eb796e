/*
 * runtime: what socks5d runs on, built from one parsed configuration, and
 * reload as one transaction.
 *
 * Three kinds of state, each with one owner:
 *
 *   struct runtime       the snapshot: the configuration in force, admins,
 *                        the compiled ACL, the plugin set, the file's
 *                        switches. Built complete by runtime_apply() and
 *                        immutable once in service (read through const
 *                        pointers only), so later several event loops can
 *                        share one. Its lifetime is a reference count: the
 *                        context holds one for the snapshot in force, and
 *                        each SOCKS session holds one for the snapshot it
 *                        started with (runtime_hold/runtime_release), so a
 *                        session never sees a freed snapshot; a reload
 *                        changes the ACL, timeouts, commands and dissector
 *                        ports for sessions accepted after it.
 *   struct runtime_live  the live store: the SOCKS users (MASS 0A/0B), and
 *                        the auth and dissector switches (MASS 0C/0D). It
 *                        outlives snapshots; a reload puts the switches
 *                        back to the file's values and replaces the users
 *                        only as runtime_apply() says.
 *   struct runtime_ctx   the process context: loop, resolver, the snapshot
 *                        in force, the live store, the command-line options
 *                        that override the file, the stopping flag. main.c
 *                        owns the one instance and passes it to the
 *                        listeners (session_accept), mgmt and host.
 *
 * Everything runs on the loop thread.
 */
#ifndef MASS_RUNTIME_H
#define MASS_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "auth/users.h"

struct loop;
struct resolver;
struct plugins;
struct acl;
struct verify_pool;

struct runtime {
	atomic_uint refs;           /* the one field changed after the build */
	/* frees the snapshot when the last reference goes: a pointer, so that
	 * lower layers (sessions) hold and release snapshots through this
	 * header alone and never link against the layer that builds them */
	void (*destroy)(struct runtime *rt);
	struct config cfg;          /* in force; listen fields as bound at start */
	struct users admins;        /* management credentials ([admins]) */
	struct acl *acl;            /* compiled [acl], built-in rule first */
	struct plugins *plugins;    /* the index table; NULL once retired (see below) */
	bool auth;                  /* [socks] auth */
	bool dissectors;            /* [socks] dissectors, off with -N */
};

struct runtime_live {
	struct users users;         /* SOCKS users (RFC 1929) */
	bool auth;                  /* SOCKS auth required now */
	bool dissectors;            /* dissectors on now */
};

/* What the command line says; it overrides the file, also across reloads. */
struct runtime_options {
	struct config_list cli_users;   /* -u USER:PASS, added after the file's */
	bool no_dissectors;             /* -N: dissectors stay off across reloads */
};

/* Most sockets socks5d listens on: SOCKS and management listen addresses. */
#define RUNTIME_SELF_MAX (2 * CONFIG_MAX_LISTEN)

struct runtime_ctx {
	struct loop *loop;
	struct resolver *resolver;
	const struct runtime *rt;   /* in force (NULL before the first apply) */
	struct runtime_live live;
	struct runtime_options opts;
	struct verify_pool *verify; /* password checks off the loop (auth/verify.h) */
	bool stopping;              /* SIGTERM seen: no new connections */
	/* every listener as bound (SOCKS and management, ports as got), set by
	 * main before the first runtime_apply(): the ACL's built-in rules */
	struct sockaddr_storage self[RUNTIME_SELF_MAX];
	size_t nself;
};

/*
 * The one code path of start and SIGHUP. Builds a complete candidate from
 * cfg (taken over: cfg is left reset to the defaults, whatever the result)
 * and swaps it in only when every part succeeded; otherwise frees it, writes
 * the reason into err, returns -1 and leaves ctx untouched. Returns 0 once
 * the candidate is in force.
 *
 * The parts, in order: the listen addresses (on reload the old ones are
 * kept; a change is logged as needing a restart), the ACL (its built-in
 * rules from ctx->self and the host's addresses as they are now, logged),
 * the admins, the
 * SOCKS users, then the plugin set (plugins_load(), PLUGINS_START when
 * ctx->rt is NULL, else PLUGINS_RELOAD: see plugins.h for what each mode
 * refuses). Users: at start from users_file when it exists, else from
 * [users] (creating users_file when set), then -u; on reload they are
 * rebuilt from [users] and -u only when neither the old nor the new file
 * sets users_file (a users_file is the store and stays as loaded; a change
 * of users_file is logged as needing a restart), else only max_users
 * changes.
 *
 * The swap: the live switches return to the new file's values, the new
 * plugin set is already initialised and the old one is finalised now (its
 * snapshot is retired with plugins NULL, whoever still holds it: sessions
 * read no plugin), and the old snapshot is released.
 */
int runtime_apply(struct runtime_ctx *ctx, struct config *cfg, char *err, size_t errlen);

/* Takes one more reference on rt (non-NULL). Returns rt. */
static inline const struct runtime *runtime_hold(const struct runtime *rt)
{
	atomic_fetch_add(&((struct runtime *)rt)->refs, 1);
	return rt;
}

/* Drops a reference; the last one frees the snapshot. NULL is a no-op. */
static inline void runtime_release(const struct runtime *rt)
{
	struct runtime *r = (struct runtime *)rt;

	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1)
		r->destroy(r);
}

/* Releases the snapshot in force and the live store (exit). */
void runtime_ctx_free(struct runtime_ctx *ctx);

#endif
