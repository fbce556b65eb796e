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
 * A reset here (MASS 19) shows as the host counting less than it was last
 * told (pg_quota_told) in the same period: pg_quota_want says so, the
 * entry forgets its bytes and is reset_due until the plugin has deleted
 * the period's rows from the table, so the reset holds for the fleet.
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
	uint64_t told;       /* what the host was last told (has_told) */
	bool known, has_read, wanted, has_told;
	bool reset_due;      /* reset here: the table's rows are to be deleted */
	bool reset_queued;   /* the DELETE is queued or in flight */
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
/* (returns 1 when seen is below what the host was last told: a reset.) */

/* The host was told v for e (usage_fleet_set answered 00). */
void pg_quota_told(struct pg_quota *e, uint64_t v);

/* The rows of e's period are deleted from the table: the reset holds. */
void pg_quota_reset_done(struct pg_quota *e);

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
 * of its days); present false when the table has no row for the slot: 0
 * for an entry whose total was read before (its rows were deleted: a reset
 * by some instance or by hand), nothing learnt for one never read. */
void pg_quota_result(struct pg_quotas *q, const char *name, size_t nlen, int64_t period_start,
		     bool present, uint64_t total);

/* The statement committed: sent bytes leave pending, totals read become fleet. */
void pg_quota_done(struct pg_quotas *q);

/* The statement failed or the link broke: nothing sent counts as written
 * (and no DELETE of a reset is out any more). */
void pg_quota_abort(struct pg_quotas *q);

/* Drops the entries neither wanted nor holding bytes to write. */
void pg_quota_prune(struct pg_quotas *q);

void pg_quota_free(struct pg_quotas *q);

#endif
