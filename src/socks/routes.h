/*
 * routes: where a CONNECT goes: straight to the destination ("direct") or
 * through a named upstream ([upstreams], route/upstream.h). Built from two
 * sections of mass.ini:
 *
 *   [upstreams]  NAME = URL [URL ...] [max_fails=N] [fail_timeout=S]
 *   [routes]     TARGET = CONDITIONS
 *
 * TARGET is an upstream's NAME or "direct"; CONDITIONS are those of [acl]
 * (acl.h: dest, dest-host, port, src, all, and what acl.h adds later),
 * compiled by the same code, so a rule means the same in both sections.
 * The first rule whose conditions all match decides; no match is direct.
 * Routing is decided once per request, before resolution: a request by
 * name goes to a parent as the name (the parent resolves it), so a
 * `dest CIDR` condition matches only requests by address (or a name that
 * is a literal address); write dest-host rules for names.
 *
 * The failover state of each parent (route/upstream.h's upstream_health)
 * lives here, mutable, read and written on the loop thread; a rebuild on
 * reload takes over the state of every parent that is unchanged (same
 * upstream name, same URL without credentials), so a parent known down
 * stays down.
 *
 * A class ([class NAME], limits/limits_class.h) may add three keys, kept
 * here: egress (route/egress.h: addresses and IPv6 prefixes its outbound
 * sockets leave from), egress_mode (random or sticky) and route (the
 * upstream, or direct, for its requests no [routes] rule matches; a class
 * routed through an upstream has its UDP ASSOCIATE refused, REP 07).
 *
 * Credentials live only in the upstream structures and are
 * wiped when the routes are freed; nothing this module writes holds them.
 */
#ifndef MASS_ROUTES_H
#define MASS_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "route/egress.h"
#include "route/upstream.h"

#define ROUTES_NAME_MAX 63

/* One [upstreams] entry and the health of each of its parents. */
struct routes_upstream {
	char name[ROUTES_NAME_MAX + 1];
	struct upstream up;
	struct upstream_health health[UPSTREAM_MAX_PARENTS];
};

/* A class's egress and default route. */
struct routes_class {
	char name[33];
	struct egress_spec egress;       /* n 0: the kernel picks */
	bool has_route;                  /* route given: to (NULL: direct) */
	struct routes_upstream *to;
};

struct routes;

/* A class's keys as read (NULL: not given). */
struct routes_class_text {
	const char *cls;
	const char *egress, *mode, *route;
	int line;                        /* of route, for its message */
};

/* One key = value line of either section, as read (the caller owns the strings). */
struct routes_text {
	const char *key;
	const char *value;
	int line;
};

/*
 * Builds the routes of one configuration (path names the file in
 * messages, NULL "(defaults)"), taking over the health of unchanged parents
 * from old (NULL: none). Returns the routes (never NULL on success, also
 * when both sections are empty), or NULL with "PATH:LINE: [section] KEY:
 * reason" (or "out of memory") in err: a malformed upstream, a duplicate
 * name, a name that is not letters, digits, '-', '_' (at most 63), a rule
 * naming an upstream that does not exist, a malformed condition.
 */
struct routes *routes_build(const struct routes_text *upstreams, size_t nupstreams,
			    const struct routes_text *rules, size_t nrules, const char *path,
			    const struct routes *old, char *err, size_t errlen);

/*
 * Adds the classes' keys (after routes_build). Returns 0, or -1 with
 * "PATH:LINE: [class NAME] route: ..." for a route naming no upstream (the
 * other keys were checked by the config loader; a bad one is refused here
 * too).
 */
int routes_set_classes(struct routes *r, const struct routes_class_text *cls, size_t n,
		       const char *path, char *err, size_t errlen);

/* The keys of class cls (NULL: "default"), or NULL when it has none. */
const struct routes_class *routes_class_find(const struct routes *r, const char *cls);

/* Wipes the credentials and frees (NULL is fine). */
void routes_free(struct routes *r);

/* Checks one [upstreams] line alone (for the config loader): 0, or -1 with err. */
int routes_check_upstream(const char *name, const char *value, char *err, size_t errlen);

/*
 * The route of req asked by who (acl.h; NULL: no login): an upstream
 * (valid as long as r), or NULL for direct. With no [routes] rule matching,
 * the route of who's class when it has one.
 * *line (when not NULL) gets the deciding [routes] line, 0 without one.
 */
struct routes_upstream *routes_pick(struct routes *r, const struct acl_request *req,
				    const struct acl_who *who, int *line);

/* Number of upstreams, and the i-th (for the MASS index and counters). */
size_t routes_upstream_count(const struct routes *r);
struct routes_upstream *routes_upstream_at(struct routes *r, size_t i);

/* The upstream named name, or NULL. */
struct routes_upstream *routes_find(struct routes *r, const char *name);

#endif
