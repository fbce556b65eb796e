/*
 * pgsql_quota: see pgsql_quota.h.
 */
#include "pgsql_quota.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int pg_quota_cmp(const struct pg_quota *e, const char *name, size_t nlen, int64_t start)
{
	int c = memcmp(e->name, name, e->nlen < nlen ? e->nlen : nlen);

	if (c == 0)
		c = (e->nlen > nlen) - (e->nlen < nlen);
	if (c == 0)
		c = (e->period_start > start) - (e->period_start < start);
	return c;
}

/* Index of the entry, or -(insertion point) - 1. */
static long pg_quota_at(const struct pg_quotas *q, const char *name, size_t nlen, int64_t start)
{
	size_t lo = 0, hi = q->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = pg_quota_cmp(&q->list[mid], name, nlen, start);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

struct pg_quota *pg_quota_find(const struct pg_quotas *q, const char *name, size_t nlen,
			       int64_t period_start)
{
	long at = pg_quota_at(q, name, nlen, period_start);

	return at >= 0 ? &q->list[at] : NULL;
}

struct pg_quota *pg_quota_get(struct pg_quotas *q, const char *name, size_t nlen,
			      int64_t period_start)
{
	long at = pg_quota_at(q, name, nlen, period_start);
	size_t i;
	char *n;

	if (at >= 0)
		return &q->list[at];
	if (q->len == PG_QUOTA_MAX)
		return NULL;
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct pg_quota *grown = realloc(q->list, cap * sizeof(*grown));

		if (grown == NULL)
			return NULL;
		q->list = grown;
		q->cap = cap;
	}
	if ((n = malloc(nlen + 1)) == NULL)
		return NULL;
	memcpy(n, name, nlen);
	n[nlen] = '\0';
	i = (size_t)(-at - 1);
	memmove(q->list + i + 1, q->list + i, (q->len - i) * sizeof(*q->list));
	q->list[i] = (struct pg_quota){ .name = n, .nlen = nlen, .period_start = period_start,
					.tell_start = period_start };
	q->len++;
	return &q->list[i];
}

void pg_quota_unwant(struct pg_quotas *q)
{
	for (size_t i = 0; i < q->len; i++)
		q->list[i].wanted = false;
}

int pg_quota_want(struct pg_quotas *q, const char *name, size_t nlen, int64_t slot_start,
		  int64_t period_start, uint64_t seen)
{
	struct pg_quota *e = pg_quota_get(q, name, nlen, slot_start);

	if (e == NULL)
		return -1;
	e->wanted = true;
	e->seen = seen;
	e->tell_start = period_start;
	if (!e->has_told || seen >= e->told)
		return 0;
	/* reset: what was drained before it is not to be written, and the
	 * fleet's total is 0 once the rows are gone */
	e->reset_due = true;
	e->pending = 0;
	e->sending = 0;     /* a statement out now is older than the reset */
	e->has_read = false;
	e->fleet = 0;
	e->known = true;
	e->has_told = false;
	return 1;
}

void pg_quota_told(struct pg_quota *e, uint64_t v)
{
	e->told = v;
	e->has_told = true;
}

void pg_quota_reset_done(struct pg_quota *e)
{
	e->reset_due = false;
	e->reset_queued = false;
}

int pg_quota_add(struct pg_quotas *q, const char *name, size_t nlen, int64_t period_start,
		 uint64_t bytes)
{
	struct pg_quota *e = pg_quota_get(q, name, nlen, period_start);

	if (e == NULL)
		return -1;
	e->pending += bytes;
	return 0;
}

uint64_t pg_quota_base(const struct pg_quota *e)
{
	return e->known ? e->fleet + e->pending : e->seen;
}

/* Appends s as one element of a text[] literal: "..." with \ and " escaped. */
static size_t pg_quota_quote(char *out, const char *s, size_t len)
{
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			out[o++] = '\\';
		out[o++] = s[i];
	}
	out[o++] = '"';
	return o;
}

long pg_quota_arrays(struct pg_quotas *q, char **names, char **starts, char **bytes,
		     char **since)
{
	size_t nsize = 3, o = 0, so = 0, bo = 0, to = 0;

	*names = *starts = *bytes = *since = NULL;
	if (q->len == 0)
		return 0;
	for (size_t i = 0; i < q->len; i++)
		nsize += 2 * q->list[i].nlen + 3;
	*names = malloc(nsize);
	*starts = malloc(q->len * 22 + 3);
	*bytes = malloc(q->len * 22 + 3);
	*since = malloc(q->len * 22 + 3);
	if (*names == NULL || *starts == NULL || *bytes == NULL || *since == NULL) {
		free(*names);
		free(*starts);
		free(*bytes);
		free(*since);
		*names = *starts = *bytes = *since = NULL;
		return -1;
	}
	(*names)[o++] = (*starts)[so++] = (*bytes)[bo++] = (*since)[to++] = '{';
	for (size_t i = 0; i < q->len; i++) {
		struct pg_quota *e = &q->list[i];

		if (i > 0)
			(*names)[o++] = (*starts)[so++] = (*bytes)[bo++] = (*since)[to++] = ',';
		e->sending = e->pending;
		e->has_read = false;
		o += pg_quota_quote(*names + o, e->name, e->nlen);
		so += (size_t)sprintf(*starts + so, "%" PRId64, e->period_start);
		bo += (size_t)sprintf(*bytes + bo, "%" PRIu64, e->sending);
		to += (size_t)sprintf(*since + to, "%" PRId64, e->tell_start);
	}
	(*names)[o++] = (*starts)[so++] = (*bytes)[bo++] = (*since)[to++] = '}';
	(*names)[o] = (*starts)[so] = (*bytes)[bo] = (*since)[to] = '\0';
	return (long)q->len;
}

void pg_quota_result(struct pg_quotas *q, const char *name, size_t nlen, int64_t period_start,
		     bool present, uint64_t total)
{
	struct pg_quota *e = pg_quota_find(q, name, nlen, period_start);

	/* reset_due: a total from before the DELETE */
	if (e != NULL && !e->reset_due && (present || e->known)) {
		e->read = present ? total : 0;
		e->has_read = true;
	}
}

void pg_quota_done(struct pg_quotas *q)
{
	for (size_t i = 0; i < q->len; i++) {
		struct pg_quota *e = &q->list[i];

		e->pending -= e->sending;
		e->sending = 0;
		if (e->has_read) {
			e->fleet = e->read;
			e->known = true;
			e->has_read = false;
		}
	}
}

void pg_quota_abort(struct pg_quotas *q)
{
	for (size_t i = 0; i < q->len; i++) {
		q->list[i].sending = 0;
		q->list[i].has_read = false;
		q->list[i].reset_queued = false;
	}
}

void pg_quota_prune(struct pg_quotas *q)
{
	size_t o = 0;

	for (size_t i = 0; i < q->len; i++) {
		struct pg_quota *e = &q->list[i];

		if (!e->wanted && e->pending == 0 && e->sending == 0 && !e->reset_due)
			free(e->name);
		else
			q->list[o++] = *e;
	}
	q->len = o;
}

void pg_quota_free(struct pg_quotas *q)
{
	for (size_t i = 0; i < q->len; i++)
		free(q->list[i].name);
	free(q->list);
	q->list = NULL;
	q->len = q->cap = 0;
}
