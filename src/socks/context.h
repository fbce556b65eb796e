/*
 * context: what the SOCKS engine (sessions) and the services above it read
 * from the process, without knowing how it was built (runtime.h, at the top,
 * builds it from mass.ini).
 *
 *   struct socks_policy  the SOCKS part of one configuration snapshot: the
 *                        compiled ACL, the timeouts, the commands allowed,
 *                        the PROXY protocol sources, the dissector ports,
 *                        max_clients. Immutable; it lives inside a snapshot
 *                        (core/snapshot.h) that a session holds from accept
 *                        to close, so a tunnel open at a reload finishes
 *                        under the policy it started with.
 *   struct socks_live    the live store: the SOCKS users (MASS 0A/0B) and
 *                        the auth and dissector switches (MASS 0C/0D); it
 *                        outlives snapshots.
 *   struct session_table the sessions of one loop (oldest first), their
 *                        count, the next id, the daemon log's rate limits,
 *                        the one handshake read buffer and the one UDP
 *                        datagram buffer; only
 *                        session.c reads or writes it (session_table_init
 *                        there).
 *   struct socks_ctx     the loop's SOCKS context: the loop, the resolver,
 *                        the verify pool, the live store, the policy in
 *                        force, the session table, the access log and the
 *                        stopping flag. Its owner (main's
 *                        runtime context) passes it to the listeners
 *                        (session_accept) and to the MASS host.
 *
 * Everything here is read and written on the loop thread.
 */
#ifndef MASS_SOCKS_CONTEXT_H
#define MASS_SOCKS_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "auth/pace.h"
#include "auth/users.h"
#include "core/net.h"
#include "core/pool.h"
#include "core/ratelimit.h"
#include "core/snapshot.h"
#include "dissect/dissect.h"
#include "limits/limits_class.h"
#include "socks/socks_limits.h"

struct loop;
struct resolver;
struct verify_pool;
struct acl;
struct accesslog;
struct metrics;
struct session;
struct routes;

/* The largest datagram a UDP association moves (udp_assoc.h). */
#define SOCKS_UDP_BUF 65536

/* The commands a policy allows (bits of socks_policy.commands). */
enum socks_command_bit { SOCKS_ALLOW_CONNECT = 1, SOCKS_ALLOW_BIND = 2, SOCKS_ALLOW_UDP = 4 };

struct socks_policy {
	struct snapshot *snap;            /* hold it while reading the policy */
	const struct acl *acl;            /* compiled [acl], built-in rules first */
	unsigned connect_timeout;         /* seconds, each */
	unsigned idle_timeout;
	unsigned handshake_timeout;
	unsigned fin_timeout;
	unsigned max_clients;             /* 0: limited by the fd limit only */
	unsigned commands;                /* enum socks_command_bit */
	const struct net_cidr *proxy_nets; /* sources that must send a PROXY header */
	size_t proxy_len;
	const struct dissect_ports *dissector_ports; /* DISSECT_COUNT entries */
	bool http_connect;                /* HTTP CONNECT on the SOCKS listener too */
	struct routes *routes;            /* [upstreams] and [routes] (routes.h); their
					   * failover state is mutable, loop thread only */
	/* [class NAME] sections, list[0] default (empty table: all unlimited);
	 * a class pointer a session reads is valid while it holds the snapshot */
	const struct limits_class_table *classes;
};

struct socks_live {
	struct users users;               /* SOCKS users (RFC 1929) */
	bool auth;                        /* SOCKS auth required now */
	bool dissectors;                  /* dissectors on now */
	struct socks_limits_live limits;  /* per-user limits in force (socks_limits.h) */
};

struct session_table {
	TAILQ_HEAD(session_list, session) list; /* oldest first */
	size_t total;
	uint64_t next_id;                 /* the id of the next session, from 1 */
	struct ratelimit proxy_lines;     /* refused PROXY headers logged */
	struct ratelimit login_lines;     /* failed logins logged */
	struct pace login_pace;           /* failed logins and handshakes per source (auth/pace.h) */
	uint8_t rx[POOL_BUF_SIZE];        /* one read buffer for every handshake of the loop */
	uint8_t udp[SOCKS_UDP_BUF];       /* one datagram at a time, for every UDP association */
};

struct socks_ctx {
	struct loop *loop;
	struct resolver *resolver;
	struct verify_pool *verify;       /* password checks off the loop (auth/verify.h) */
	struct socks_live live;
	const struct socks_policy *policy; /* in force (NULL before the first one) */
	struct session_table sessions;    /* session_table_init() (session.h) before use */
	struct accesslog *accesslog;      /* where sessions log (socks/accesslog.h) */
	struct metrics *metrics;          /* what sessions, relays, UDP count into */
	struct pool *pool;                /* the relays' buffers and pipes (core/pool.h) */
	struct acl_live *self_live;       /* what socks5d is now (acl.h): the ACL and the host
					   * (a plugin's listener) read and write it; NULL: none */
	bool stopping;                    /* SIGTERM seen: no new connections */
};

#endif
