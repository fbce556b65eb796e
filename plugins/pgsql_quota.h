/*
 * pgsql_quota: the pgsql plugin's share of the fleet's quotas, as pure
 * functions over a table (no libpq, no host: pgsql.c drives both).
 *
 * One entry per (user, period start). Every sync (quota_sync seconds) the
 * plugin
 *   1. marks the entries the host enforces a quota on now (usage_each):
 *      pg_quota_want, with what the host counts altogether (seen);
 *   2. takes the bytes the host counted since the last sync (usage_drain):
 *      pg_quota_add, into pending; the host forgets them, so the plugin
 *      tells it back fleet + pending (pg_quota_base) until they are written;
 *   3. sends one additive statement (pg_quota_arrays: the entries as three
 *      PostgreSQL array literals; pending moves to sending) whose result is
 *      the fleet's totals (pg_quota_result), applied when it committed
 *      (pg_quota_done: sending leaves pending, the totals become fleet), or
 *      forgotten when it failed (pg_quota_abort: pending kept, written at
 *      a later sync: nothing drained is lost while the database is down);
 *   4. drops the entries nobody needs any more (pg_quota_prune).
 *
 * A statement that committed but whose answer was lost (the link broke in
 * between) is sent again: the fleet then counts those bytes twice, an
 * error on the safe side.
 *
 * Functions that can fail return -1 (out of memory, or the table full at
 * PG_QUOTA_MAX entries).
 */
#ifndef MASS_PGSQL_QUOTA_H
#define MASS_PGSQL_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_QUOTA_MAX 100000     /* entries: users × periods in flight */

struct pg_quota {
	char *name;
	size_t nlen;
	int64_t period_start;
	uint64_t pending;    /* drained from the host, not yet added to the table */
	uint64_t sending;    /* of pending: in the statement in flight */
	uint64_t fleet;      /* the table's total, as last read (known) */
	uint64_t read;       /* the total the statement in flight answered (has_read) */
	uint64_t seen;       /* the host's own total at the last want */
	int64_t tell_start;  /* the period's start: usage_fleet_set's, and where the
				total read back starts (a rolling period's older days) */
	bool known, has_read, wanted;
};

struct pg_quotas {
	struct pg_quota *list;  /* sorted by name (memcmp, then length), then period */
	size_t len, cap;
};

/* The entry of (name, period_start), added when absent; NULL when out of
 * memory or full. */
struct pg_quota *pg_quota_get(struct pg_quotas *q, const char *name, size_t nlen,
			      int64_t period_start);

/* The entry, or NULL. */
struct pg_quota *pg_quota_find(const struct pg_quotas *q, const char *name, size_t nlen,
			       int64_t period_start);

/* Starts a sync: no entry is wanted until pg_quota_want says so. */
void pg_quota_unwant(struct pg_quotas *q);

/*
 * The host enforces a quota on name, counts seen in all, and counts it in
 * the slot starting slot_start, which is the table's key: the period's
 * start (period_start), or for a rolling period of N days the current
 * day's (period_start + (N - 1) days; the host keeps the older days).
 */
int pg_quota_want(struct pg_quotas *q, const char *name, size_t nlen, int64_t slot_start,
		  int64_t period_start, uint64_t seen);

/* bytes drained from the host for (name, period_start). */
int pg_quota_add(struct pg_quotas *q, const char *name, size_t nlen, int64_t period_start,
		 uint64_t bytes);

/* What the host should count as the fleet's for e: the fleet's total plus
 * what is drained and not yet written; before any total was read, what the
 * host itself counted (seen), so nothing drained is forgotten. */
uint64_t pg_quota_base(const struct pg_quota *e);

/*
 * The entries as four array literals for the statement ($1 text[] names,
 * $2 bigint[] slot starts, $3 bigint[] bytes to add, $4 bigint[] period
 * starts; malloc'd, free them), moving each entry's pending to sending.
 * Returns the number of entries (0: nothing to send, the arrays are NULL),
 * or -1 out of memory.
 */
long pg_quota_arrays(struct pg_quotas *q, char **names, char **starts, char **bytes,
		     char **since);

/* One row of the statement's answer: the table's total for name's period
 * whose current slot starts at period_start (for a rolling period, the sum
 * of its days). */
void pg_quota_result(struct pg_quotas *q, const char *name, size_t nlen, int64_t period_start,
		     uint64_t total);

/* The statement committed: sent bytes leave pending, totals read become fleet. */
void pg_quota_done(struct pg_quotas *q);

/* The statement failed or the link broke: nothing sent counts as written. */
void pg_quota_abort(struct pg_quotas *q);

/* Drops the entries neither wanted nor holding bytes to write. */
void pg_quota_prune(struct pg_quotas *q);

void pg_quota_free(struct pg_quotas *q);

#endif
