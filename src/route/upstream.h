/*
 * upstream: named parent proxies, as mass.ini writes them, and the
 * failover state of each parent. Pure: no sockets, no clock (the caller
 * passes the time), no allocation. The [upstreams] section parser (in
 * src/config.c) calls upstream_parse() per value:
 *
 *   NAME = URL [URL ...] [max_fails=N] [fail_timeout=SECONDS]
 *
 * URL is `socks5://[USER[:PASS]@]HOST:PORT[/]` or the same with `http://`
 * (a parent that serves HTTP CONNECT); HOST is a name, an IPv4 address or
 * an IPv6 address in brackets; PORT is required. USER and PASS are
 * percent-decoded (write '@' as %40, ':' in a user as %3A), at most 255
 * octets each, never a control octet; an HTTP user may not hold ':' (Basic cannot
 * carry it). Parents are tried in the order listed (failover, not load
 * sharing). At most UPSTREAM_MAX_PARENTS parents per upstream.
 *
 * Failover: a parent failing max_fails times in a row (connect or
 * handshake; default 3, 1..1000) is skipped for fail_timeout seconds
 * (default 30, 1..86400); then one connection probes it: a success puts
 * it back, a failure skips it again for the timeout.
 *
 * Credentials are never in a message this module writes: error reasons
 * and upstream_parent_str() show the URL without its user and password.
 */
#ifndef MASS_UPSTREAM_H
#define MASS_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define UPSTREAM_MAX_PARENTS 8
#define UPSTREAM_DEFAULT_MAX_FAILS 3
#define UPSTREAM_DEFAULT_FAIL_TIMEOUT 30

enum upstream_proto { UPSTREAM_SOCKS5 = 1, UPSTREAM_HTTP };

struct upstream_parent {
	uint8_t proto;                  /* enum upstream_proto */
	bool has_cred;                  /* USER (and maybe PASS) given */
	bool numeric;                   /* HOST is an address: addr holds it */
	uint16_t port;
	socklen_t addrlen;
	struct sockaddr_storage addr;   /* numeric: HOST and PORT */
	char host[256];                 /* name or address, without brackets */
	char user[256];                 /* percent-decoded; secret, never logged */
	char pass[256];
};

struct upstream {
	uint8_t n;                      /* parents in parent[] */
	uint16_t max_fails;
	uint32_t fail_timeout;          /* seconds */
	struct upstream_parent parent[UPSTREAM_MAX_PARENTS];
};

/* Parses one URL into *out. Returns 0, or -1 with a reason (no credentials) in err. */
int upstream_parent_parse(const char *url, struct upstream_parent *out, char *err,
			  size_t errlen);

/*
 * Parses a whole value (blank-separated URLs and parameters) into *out.
 * Returns 0, or -1 with a reason (no credentials) in err.
 */
int upstream_parse(const char *value, struct upstream *out, char *err, size_t errlen);

/* "socks5://HOST:PORT" or "http://[v6]:PORT", never the credentials. Returns buf. */
char *upstream_parent_str(const struct upstream_parent *p, char *buf, size_t len);

/* Wipes the credentials of every parent (before freeing an old config). */
void upstream_wipe(struct upstream *u);

/* --- failover state, one per parent, owned by the runtime --- */

struct upstream_health {
	uint32_t fails;                 /* failures in a row */
	uint64_t down_since_ms;         /* when it was last marked down, 0: never */
	uint64_t down_until_ms;         /* skipped until then */
	char last_error[64];            /* the last failure's reason ("" none) */
};

/* A failed connect or handshake at now_ms; why is copied (truncated). */
void upstream_health_failed(struct upstream_health *h, const struct upstream *u,
			    uint64_t now_ms, const char *why);

/* A completed handshake: the parent is up. */
void upstream_health_ok(struct upstream_health *h);

/* True when the parent is skipped at now_ms. */
bool upstream_health_down(const struct upstream_health *h, uint64_t now_ms);

/*
 * The parent to try at now_ms: the first listed that is not skipped, or
 * -1 when all are down (answer the client with the reply code for that).
 * A parent whose timeout has run out is returned as the probe, and skipped
 * again for the timeout meanwhile, so one connection probes it while the
 * others use the next parent. health has u->n entries.
 */
int upstream_choose(const struct upstream *u, struct upstream_health *health,
		    uint64_t now_ms);

/*
 * The same, passing over the parents whose bit (1 << index) is set in
 * tried: the next parent for a connection whose earlier tries failed.
 */
int upstream_choose_except(const struct upstream *u, struct upstream_health *health,
			   uint64_t now_ms, uint32_t tried);

#endif
