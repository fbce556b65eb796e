/*
 * runtime: what socks5d runs on, built from one parsed configuration, and
 * reload as one transaction.
 *
 * Three kinds of state, each with one owner:
 *
 *   struct runtime       the snapshot: the configuration in force, admins,
 *                        the compiled ACL, the plugin set, the file's
 *                        switches, and the views the lower layers read:
 *                        socks (struct socks_policy, socks/context.h) and
 *                        mgmt (struct mgmt_settings, mass/mgmt.h). Built
 *                        complete by runtime_apply() and immutable once in
 *                        service, so later several event loops can share
 *                        one. Its lifetime is a reference count
 *                        (core/snapshot.h): the context holds one for the
 *                        snapshot in force, and each SOCKS session holds
 *                        one for the policy it started with, so a session
 *                        never sees a freed snapshot; a reload changes the
 *                        ACL, timeouts, commands and dissector ports for
 *                        sessions accepted after it.
 *   the live store       ctx->socks.live (socks/context.h): the SOCKS users
 *                        (MASS 0A/0B), and the auth and dissector switches
 *                        (MASS 0C/0D). It outlives snapshots; a reload puts
 *                        the switches back to the file's values and
 *                        replaces the users only as runtime_apply() says.
 *   struct runtime_ctx   the process context: the SOCKS context (loop,
 *                        resolver, live store, policy in force, stopping),
 *                        the MASS server's settings in force, the snapshot
 *                        in force, the command-line options that override
 *                        the file. main.c owns the one instance and passes
 *                        its parts to the listeners (session_accept gets
 *                        &ctx->socks), mgmt (&ctx->mgmt) and host.
 *
 * Only this header and main.c include config.h and this header: the
 * layers below read the views above, never struct config.
 *
 * Process-wide state: everything mutable is owned by an object passed as
 * an argument (main's struct main_state holds this context, the management
 * server, the listeners and the notify socket; the context holds the
 * session table, access log, counters and buffer pool of its loop). What
 * stays process-wide, and why:
 *
 *   - signal disposition and mask (main.c: SIGPIPE ignored; SIGHUP, SIGTERM
 *     and SIGINT blocked and read from one signalfd): the kernel keeps them
 *     per process; one loop (main's) owns the signalfd.
 *   - credentials and limits (setuid/setgid after binding, RLIMIT_NOFILE):
 *     kernel attributes of the process.
 *   - the environment ($NOTIFY_SOCKET, read and unset once by notify_init):
 *     one per process.
 *   - log_threshold and log_journal (core/log.c): the daemon log is the
 *     process's stderr; the threshold is set at start and at reload on the
 *     main loop and only read elsewhere.
 *   - the running load and the host object (mass/owner.c owner_running,
 *     mass/host.c host_loop_host): ABI 1.0 and 1.1 services take no
 *     context, so the host must know which load is calling from file
 *     scope; 1.2 plugins get it as an argument (struct mass_ctx). With one
 *     loop per core these become thread-local.
 *   - events_active and the installed hooks (core/events.c): session.c
 *     tests one counter per event type before building an event; one loop
 *     runs the plugins.
 *   - test hooks (atomic_file_dir_fsync, core/atomic_file.c): a function
 *     pointer tests swap to make a directory fsync fail; never changed by
 *     the daemon.
 *   - c-ares's library init (ares_library_init, socks/resolve.c) and the
 *     dynamic linker's state for loaded plugins: process-wide by the
 *     libraries' design.
 *   - config.c's default strings ("0.0.0.0", "::", "127.0.0.1", "-",
 *     PKGLIBDIR) and resolve.c's c-ares lookups string ("fb"): non-const
 *     only because the structures they go into hold char *; never written
 *     (config.c tells them from allocated strings by address).
 *
 * Everything runs on the loop thread.
 */
#ifndef MASS_RUNTIME_H
#define MASS_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "core/loop.h"
#include "auth/users.h"
#include "core/metrics.h"
#include "core/snapshot.h"
#include "mass/mgmt.h"
#include "mass/plugins.h"
#include "socks/accesslog.h"
#include "socks/context.h"

struct plugins;
struct acl;

struct runtime {
	/* the reference count (core/snapshot.h): lower layers hold and release
	 * the snapshot through it alone and never link against this layer */
	struct snapshot snap;
	struct config cfg;          /* in force; listen fields as bound at start */
	struct users admins;        /* management credentials ([admins]) */
	struct acl *acl;            /* compiled [acl], built-in rule first */
	struct routes *routes;      /* [upstreams] and [routes], failover state inside */
	struct plugins *plugins;    /* the index table; NULL once retired (see below) */
	bool auth;                  /* [socks] auth */
	bool dissectors;            /* [socks] dissectors, off with -N */
	struct socks_policy socks;  /* what sessions read (socks/context.h), into cfg */
	struct mgmt_settings mgmt;  /* what the MASS server reads (mass/mgmt.h) */
};

/* What the command line says; it overrides the file, also across reloads. */
struct runtime_options {
	struct config_list cli_users;   /* -u USER:PASS, added after the file's */
	bool no_dissectors;             /* -N: dissectors stay off across reloads */
	bool check;                     /* -t: build everything, write no file */
};

/* Most sockets socks5d listens on: SOCKS and management listen addresses. */
#define RUNTIME_SELF_MAX (2 * CONFIG_MAX_LISTEN)

struct runtime_ctx {
	/* the SOCKS context (socks/context.h): loop, resolver, verify pool,
	 * live store, the policy in force, stopping */
	struct socks_ctx socks;
	/* the MASS server's view (mass/mgmt.h): its settings in force */
	struct mgmt_env mgmt;
	const struct runtime *rt;   /* in force (NULL before the first apply) */
	struct accesslog accesslog; /* socks.accesslog points here */
	struct metrics metrics;     /* socks.metrics points here (MASS 02..09) */
	struct pool pool;           /* socks.pool points here */
	struct runtime_options opts;
	/* every listener as bound (SOCKS and management, ports as got), set by
	 * main before the first runtime_apply(): the ACL's built-in rules */
	struct sockaddr_storage self[RUNTIME_SELF_MAX];
	size_t nself;
	struct loop_timer limits_tick; /* per-user limits, once a second (socks_limits.h) */
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
 * SOCKS users, then the plugin set (runtime_plugins_load(), PLUGINS_START when
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

/* Drops a reference; the last one frees the snapshot. NULL is a no-op. */
static inline void runtime_release(const struct runtime *rt)
{
	if (rt != NULL)
		snapshot_release((struct snapshot *)&rt->snap);
}

/* plugins_load_spec() over cfg's [indexes], [plugins] and [plugin NAME]:
 * the one place a struct config becomes a plugin spec (the loader below
 * knows only the spec). */
struct plugins *runtime_plugins_load(const struct config *cfg, enum plugins_mode mode,
				     char *err, size_t errlen);

/* Releases the snapshot in force and the live store (exit). */
void runtime_ctx_free(struct runtime_ctx *ctx);

/*
 * How the files socks5d loads or rewrites (users file, quota state) are
 * opened, from cfg: [socks] strict_files and the service user (`user`,
 * which owns what socks5d rewrites after start). See core/trusted_file.h.
 */
struct trusted_policy runtime_trust(const struct config *cfg);

#endif
