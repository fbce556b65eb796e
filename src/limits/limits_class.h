/*
 * limits_class: a class is a named set of per-user limits, from a
 * `[class NAME]` section of mass.ini; the class table holds every class of
 * one configuration, `default` always among them (first, unlimited unless
 * the file gives it keys). Each user has a class; the default class covers
 * users without one and unauthenticated clients.
 *
 * Keys (each optional; absent means unlimited or the stated default):
 *   upload_rate      bytes/s client -> destination, shared by all of the
 *                    user's tunnels and datagrams (units.h: "10M" = 10 MiB/s)
 *   download_rate    bytes/s destination -> client, likewise
 *   upload_burst     bytes the upload bucket holds (default: rate/4, at
 *   download_burst   least 16K; at least 4K when set; needs its rate)
 *   max_sessions     concurrent sessions per user (CONNECT, BIND and UDP
 *                    ASSOCIATE each count), 1..1000000
 *   max_sessions_per_address   concurrent sessions of this class's users
 *                    from one client address, 1..1000000
 *   quota            bytes per period, both directions together
 *   quota_period     day | week | month | rolling N   (default day; UTC,
 *                    ISO weeks; see period.h)
 *   quota_action     what a used-up quota does (default refuse):
 *                      refuse    new requests get REP 02, live tunnels run on
 *                      close     new requests refused and live tunnels closed
 *                      throttle  new and live tunnels go at quota_throttle_rate
 *   quota_throttle_rate   bytes/s per direction once throttled (default 16K)
 * A value of 0 for a rate, a session limit or the quota is the same as
 * absent. The config parser owns sections, lines and duplicates: it calls
 * limits_class_set() per key and limits_class_check() at the section's
 * end, and prefixes the reason with "FILE:LINE: [class NAME] key: ".
 *
 * Pure: no I/O, no allocation except the table's array.
 */
#ifndef MASS_LIMITS_CLASS_H
#define MASS_LIMITS_CLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits/period.h"

#define LIMITS_CLASS_NAME_MAX 32            /* [A-Za-z0-9_-]{1,32} */
#define LIMITS_CLASS_DEFAULT "default"
#define LIMITS_SESSIONS_MAX 1000000
#define LIMITS_BURST_MIN 4096
#define LIMITS_THROTTLE_DEFAULT (16 * 1024)

enum limits_action {
	LIMITS_REFUSE = 0,  /* new requests refused */
	LIMITS_CLOSE,       /* new requests refused, live tunnels closed */
	LIMITS_THROTTLE,    /* everything at throttle_rate */
};

struct limits_class {
	char name[LIMITS_CLASS_NAME_MAX + 1];
	uint64_t rate[2];            /* [LIMITS_UP], [LIMITS_DOWN]: bytes/s, 0 unlimited */
	uint64_t burst[2];           /* bytes, 0: bucket_default_burst(rate) */
	unsigned max_sessions;       /* per user, 0 unlimited */
	unsigned max_sessions_per_address; /* per client address, 0 unlimited */
	uint64_t quota;              /* bytes per period, 0 none */
	struct period period;
	enum limits_action action;
	uint64_t throttle_rate;      /* bytes/s per direction under LIMITS_THROTTLE */
	unsigned keys;               /* bit per key set (limits_class_set), for checks */
};

enum { LIMITS_UP = 0, LIMITS_DOWN = 1 };  /* index of rate[] and burst[] */

/* True when name is a valid class name. */
bool limits_class_name_valid(const char *name);

/* An unlimited class called name (not checked: see limits_class_name_valid). */
void limits_class_init(struct limits_class *c, const char *name);

/*
 * Sets one key from its mass.ini value. Returns 0, or -1 with the reason in
 * err: "unknown key" for a key not listed above, else why the value is
 * refused (negative, too large, malformed).
 */
int limits_class_set(struct limits_class *c, const char *key, const char *value,
		     char *err, size_t errlen);

/*
 * Checks the class as a whole once all its keys are set (a burst without
 * its rate, quota keys without a quota, a throttle rate without
 * quota_action = throttle). Returns 0, or -1 with the reason in err and
 * the offending key's name in *key.
 */
int limits_class_check(const struct limits_class *c, const char **key, char *err,
		       size_t errlen);

/* True when the class limits anything (else its users take the unlimited path). */
bool limits_class_limited(const struct limits_class *c);

/* The name of an action ("refuse", "close", "throttle"). */
const char *limits_class_action_name(enum limits_action a);

/* The classes of one configuration; list[0] is always "default". */
struct limits_class_table {
	struct limits_class *list;
	size_t len, cap;
};

/* A table holding only an unlimited default class. Returns 0, -1 on ENOMEM. */
int limits_class_table_init(struct limits_class_table *t);

void limits_class_table_free(struct limits_class_table *t);

/*
 * The class called name, added (unlimited) when absent: a `[class NAME]`
 * header. Returns NULL when the name is invalid or memory ran out (err
 * says which).
 */
struct limits_class *limits_class_table_get(struct limits_class_table *t, const char *name,
					    char *err, size_t errlen);

/* The class called name, or NULL. */
const struct limits_class *limits_class_table_find(const struct limits_class_table *t,
						   const char *name);

#endif
