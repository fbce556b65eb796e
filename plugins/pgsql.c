/*
 * pgsql: SOCKS users kept in PostgreSQL, shared by every socks5d that
 * points at the same table (ABI 1.2).
 *
 *   - an authentication provider (MASS_AUTH_SOCKS) answering from a local
 *     in-memory copy of the table, so logins never wait for the database
 *     and keep working while it is down;
 *   - MASS 01 (list, from the copy), 0A (add: a crypt(3) hash is inserted,
 *     never the password), 0B (delete) and 18 (set-class: the class
 *     column), when [indexes] gives them to pgsql; 0A/0B/18 are answered
 *     after the statement committed (deferred replies), and 01 at once
 *     when the database is not connected.
 *
 * The copy is loaded whole at every connection and kept current by
 * LISTEN/NOTIFY: the table carries a trigger (created with it) that
 * notifies "<table>_changed" with the name of every row inserted, updated
 * or deleted, so a change made by any instance (or by hand in psql)
 * reaches every instance within a round trip; each instance then reloads
 * that one row. A TRUNCATE notifies an empty name: a full reload.
 *
 * Only non-blocking libpq is used on the loop: PQconnectStart/PQconnectPoll,
 * PQsendQuery(Params)/PQconsumeInput/PQisBusy/PQgetResult, PQflush, the
 * socket watched through the host's watch services. One statement is in
 * flight at a time; the others wait in a FIFO (struct pg_op). A lost
 * connection fails every queued 0A/0B with 01 and reconnects with a
 * backoff of 100 ms doubling up to 5 s; every transition is logged.
 *
 * A watchdog (pg_tick) treats a statement unanswered for 5 s as a lost
 * link, and probes an idle link every 10 s, so a database gone silent
 * (no FIN, no RST) is noticed too.
 *
 * crypt(3) never runs on the loop nor in a thread of the plugin's: logins
 * are checked and 0A's passwords hashed by the host's password service
 * (password_verify, password_hash: the server's worker pool, its method
 * and cost, its constant-time compare), whose answers come back on the
 * loop. Every callback gets the call context (struct mass_ctx): the
 * plugin keeps no host pointer and no static state. Log lines go through
 * the host's log, which escapes network and server text itself.
 *
 * With cache_file set, the copy is also kept on disk (hashes only) and read
 * at load: a restart or reload while the database is down starts from it.
 *
 * Classes (issue 20): the table's `class` column (NULL: the default class)
 * is each user's class of per-user limits; whenever the copy changes a
 * user's class (a load, a notified row, the cache), the host is told
 * (user_class_set), so an UPDATE of the column moves the user's live
 * tunnels on every instance within a round trip and a second.
 *
 * Shared quotas: every quota_sync seconds (default 2, at most 5) the usage
 * the host counted is drained (usage_drain) and added to TABLE_usage (name,
 * period_start, used) with one additive INSERT ... ON CONFLICT DO UPDATE
 * SET used = used + EXCLUDED.used, whose answer is the fleet's total for
 * every quota the host enforces, handed back with usage_fleet_set. A user
 * can therefore exceed a quota by about quota_sync seconds (plus a round
 * trip) of traffic per instance. While the database is down, the drained
 * bytes are kept and added once it answers again, and the host goes on
 * enforcing on the last total plus everything counted since
 * (pgsql_quota.h). Rows no period can count any more (a slot over
 * PG_USAGE_KEEP_DAYS old by the database's clock) are deleted once an hour.
 *
 * libpq resolves a host name given in conninfo with a blocking
 * getaddrinfo() inside PQconnectStart, so a conninfo whose host is a name
 * (and that gives no hostaddr) is refused at load: give a numeric host, a
 * hostaddr, or a Unix socket directory.
 */
#include <mass/plugin.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "pgsql_quota.h"

#define PG_FIELD_MAX 255         /* a name, a password, a hash: 1..255 octets */
#define PG_CLASS_MAX 32          /* a class name (mass.ini(5) [class NAME]) */
#define PG_TABLE_MAX 48          /* leaves room for the _notify/_changed suffixes */
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000
#define PG_ROWS_QUEUED_MAX 256   /* more pending row reloads: one full reload */
#define PG_LIST_MAX 255          /* 01's COUNT is one octet */
#define PG_TICK_MS 1000          /* the watchdog's period */
#define PG_STALL_MS 5000         /* a statement unanswered this long: the link is dead */
#define PG_IDLE_MS 10000         /* an idle link is probed this often */
#define PG_SYNC_DEFAULT_S 2      /* quota_sync: usage shared this often... */
#define PG_SYNC_MAX_S 5          /* ...at least every 5 s (issue 20) */
#define PG_USAGE_KEEP_DAYS 400   /* usage rows kept: a rolling period is 366 days at most */
#define PG_PRUNE_EVERY_MS (3600u * 1000u) /* older rows are deleted this often */

/* One line in the daemon's log, for this load (the host escapes it). */
#define PG_LOG(ctx, level, ...) (ctx)->host->log_ctx((ctx), (level), __VA_ARGS__)

/* One user of the copy; the array is sorted by name (memcmp, then length). */
struct pg_user {
	char *name;
	size_t nlen;
	char *hash;
	char *cls;      /* the class column; NULL when the row gives none (default) */
};

enum pg_op_kind {
	PG_OP_SETUP,  /* create the table and trigger if absent, LISTEN */
	PG_OP_LOAD,   /* the whole table: replaces the copy */
	PG_OP_ROW,    /* one row, after a notification: updates the copy */
	PG_OP_ADD,    /* 0A's INSERT, reply deferred */
	PG_OP_DEL,    /* 0B's DELETE, reply deferred */
	PG_OP_PING,   /* an empty statement on an idle link (the watchdog) */
	PG_OP_USAGE,  /* the fleet's quotas: usage added, totals read (pgsql_quota.h) */
	PG_OP_RESET,  /* a quota reset here: the period's rows deleted */
	PG_OP_CLASS,  /* 18's UPDATE of the class column, reply deferred */
	PG_OP_PRUNE   /* the usage rows of periods over a year old deleted */
};

/* One statement, queued or in flight (the head of pg.ops). */
struct pg_op {
	TAILQ_ENTRY(pg_op) link;
	enum pg_op_kind kind;
	struct mass_reply *later;       /* ADD, DEL */
	char name[PG_FIELD_MAX + 1];    /* ROW, ADD, DEL */
	size_t nlen;
	char hash[PG_FIELD_MAX + 1];    /* ADD; CLASS: the class ("": NULL, the default) */
	char start[24], since[24];      /* RESET: the slot and the period's start */
	bool failed;                    /* a result was an error */
	bool done;                      /* ADD/DEL: the row was written */
	char sqlstate[6];
	char message[160];              /* for the log */
	struct pg_user *rows;           /* LOAD/ROW: what the result held */
	size_t nrows;
	unsigned long deleted;          /* PRUNE: the rows it deleted */
};
TAILQ_HEAD(pg_ops, pg_op);

/*
 * One 0A whose password the host is hashing. Kept on a list so that fini
 * frees it: when the load ends first, the host never calls back.
 */
struct pg_hashing {
	LIST_ENTRY(pg_hashing) link;
	struct mass_reply *later;       /* NULL: reply_defer failed, drop the result */
	char name[PG_FIELD_MAX + 1];
	size_t nlen;
};
LIST_HEAD(pg_hashings, pg_hashing);

enum pg_state { PG_DOWN, PG_CONNECTING, PG_UP };

struct pg {
	char *conninfo;
	char *cache_file;               /* NULL: no cache on disk */
	bool cache_dirty;               /* the copy changed since the cache was written */
	char table[PG_TABLE_MAX + 1];
	char channel[PG_TABLE_MAX + 16];
	char *sql_setup, *sql_load, *sql_row, *sql_add, *sql_del, *sql_usage, *sql_reset;
	char *sql_class, *sql_prune;

	enum pg_state state;
	PGconn *conn;
	int fd;
	struct mass_watch *watch;
	struct mass_timer *retry;
	struct mass_timer *tick;        /* the watchdog, while connected */
	uint64_t sent_ms;               /* when the statement in flight was sent */
	unsigned backoff_ms;
	struct pg_ops ops;
	bool inflight;                  /* the head of ops was sent */
	size_t rows_queued;
	struct pg_hashings hashing;     /* 0As waiting for password_hash */

	struct pg_user *users;
	size_t nusers, capusers;

	struct pg_quotas quotas;        /* the fleet's quotas (pgsql_quota.h) */
	bool quota_queued;              /* a USAGE statement is queued or in flight */
	bool quota_full;                /* the table was full (logged once) */
	uint64_t pruned_ms;             /* when a PRUNE was last queued (0: not yet) */
	unsigned sync_s;                /* quota_sync */
};

/* ------------------------------------------------------------- text helpers */

/*
 * A name (no ':') or a password: 1..255 printable ASCII octets, the rule
 * of the server's own store (src/auth/cred.h), which the ABI does not
 * export; the copy's names must also fit the cache file's NAME:HASH lines.
 */
static bool pg_valid_field(const char *s, size_t len, bool name)
{
	if (len < 1 || len > PG_FIELD_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E || (name && s[i] == ':'))
			return false;
	return true;
}

/* A stored hash: a crypt(3) string (printable, starting with '$'). */
static bool pg_valid_hash(const char *s, size_t len)
{
	return pg_valid_field(s, len, false) && s[0] == '$';
}

/* A libpq or server message on one line: each run of blanks (newline,
 * tab, space) made one space, trailing ones dropped. The host's log
 * escapes what is left. */
static const char *pg_oneline(const char *m, char *out, size_t cap)
{
	size_t n = 0;

	for (; *m != '\0' && n + 1 < cap; m++) {
		bool blank = *m == '\n' || *m == '\t' || *m == ' ' || *m == '\r';

		if (!blank)
			out[n++] = *m;
		else if (n > 0 && out[n - 1] != ' ')
			out[n++] = ' ';
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return out;
}

/* libpq's last message, for the log. */
static const char *pg_errmsg(PGconn *conn, char *out, size_t cap)
{
	return pg_oneline(conn ? PQerrorMessage(conn) : "out of memory", out, cap);
}

/* ------------------------------------------------------------- the copy */

static int pg_user_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

/* Index of name in the copy, or -(insertion point) - 1. */
static long pg_copy_find(const struct pg *pg, const char *name, size_t nlen)
{
	size_t lo = 0, hi = pg->nusers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = pg_user_cmp(pg->users[mid].name, pg->users[mid].nlen, name, nlen);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static void pg_users_free(struct pg_user *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(u[i].name);
		free(u[i].hash);
		free(u[i].cls);
	}
	free(u);
}

/* A class column's value: 1..32 printable octets, else none (NULL). The
 * host decides whether it names a class of its configuration. */
static const char *pg_class_value(const char *s, size_t len)
{
	if (s == NULL || len < 1 || len > PG_CLASS_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7E || s[i] == ':')
			return NULL;
	return s;
}

static bool pg_class_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * The copy says user name is of class cls now (NULL: the default), where it
 * said was before (fresh: the user is new to the copy): the host is told
 * when they differ, and of every new user (so that the host knows the
 * provider's users: user-limits answers for them), so the user's live
 * tunnels follow within a second. An unknown class is logged and leaves
 * the user where the host had it.
 */
static void pg_class_tell(struct mass_ctx *ctx, const char *name, size_t nlen, const char *was,
			  const char *cls, bool fresh)
{
	struct pg *pg = ctx->state;

	if ((!fresh && pg_class_same(was, cls)) || !MASS_HOST_HAS(ctx->host, user_class_set))
		return;
	if (ctx->host->user_class_set(ctx, name, nlen, cls ? cls : "default") != MASS_STATUS_OK)
		PG_LOG(ctx, MASS_LOG_WARN, "table %s: user %.*s: class \"%s\" is not a class of "
		       "this configuration; the user keeps the class it had", pg->table, (int)nlen,
		       name, cls ? cls : "default");
	else
		PG_LOG(ctx, MASS_LOG_DEBUG, "table %s: user %.*s: class %s", pg->table, (int)nlen,
		       name, cls ? cls : "default");
}

/* Sets name's hash and class in the copy (adding it), telling the host a
 * changed class. Returns 0, or -1 out of memory. */
static int pg_copy_put(struct mass_ctx *ctx, const char *name, size_t nlen, const char *hash,
		       const char *cls)
{
	struct pg *pg = ctx->state;
	long at = pg_copy_find(pg, name, nlen);
	char *h = strdup(hash), *c = cls ? strdup(cls) : NULL, *n;
	size_t i;

	if (h == NULL || (cls != NULL && c == NULL)) {
		free(h);
		return -1;
	}
	if (at >= 0) {
		pg_class_tell(ctx, name, nlen, pg->users[at].cls, c, false);
		free(pg->users[at].hash);
		free(pg->users[at].cls);
		pg->users[at].hash = h;
		pg->users[at].cls = c;
		return 0;
	}
	if (pg->nusers == pg->capusers) {
		size_t cap = pg->capusers ? pg->capusers * 2 : 16;
		struct pg_user *u = realloc(pg->users, cap * sizeof(*u));

		if (u == NULL) {
			free(h);
			free(c);
			return -1;
		}
		pg->users = u;
		pg->capusers = cap;
	}
	if ((n = malloc(nlen + 1)) == NULL) {
		free(h);
		free(c);
		return -1;
	}
	memcpy(n, name, nlen);
	n[nlen] = '\0';
	i = (size_t)(-at - 1);
	memmove(pg->users + i + 1, pg->users + i, (pg->nusers - i) * sizeof(*pg->users));
	pg->users[i] = (struct pg_user){ n, nlen, h, c };
	pg->nusers++;
	pg_class_tell(ctx, name, nlen, NULL, c, true);
	return 0;
}

static void pg_copy_del(struct mass_ctx *ctx, const char *name, size_t nlen)
{
	struct pg *pg = ctx->state;
	long at = pg_copy_find(pg, name, nlen);

	if (at < 0)
		return;
	pg_class_tell(ctx, name, nlen, pg->users[at].cls, NULL, false);
	free(pg->users[at].name);
	free(pg->users[at].hash);
	free(pg->users[at].cls);
	memmove(pg->users + at, pg->users + at + 1, (pg->nusers - (size_t)at - 1) * sizeof(*pg->users));
	pg->nusers--;
}

static int pg_row_cmp(const void *a, const void *b)
{
	const struct pg_user *x = a, *y = b;

	return pg_user_cmp(x->name, x->nlen, y->name, y->nlen);
}

/*
 * The cache file (cache_file): the copy as NAME:HASH[:CLASS] lines (crypt
 * strings hold no ':'), so that a
 * restart or a reload (a new load starts with an empty copy) while the
 * database is down still knows the users. Written once the changes that
 * arrived together are applied (no statement left queued: a burst of
 * notifications is one write), to a temporary file renamed over it, mode
 * 0600; not synced: the database is the truth, and the next connection
 * reloads from it. Read once in init, on the loop like the server's own
 * users file.
 */
static void pg_cache_write(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	char *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, bad = 0;

	if (asprintf(&tmp, "%s.tmp", pg->cache_file) < 0) {
		tmp = NULL;
		bad = 1;
	} else if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
		   (f = fdopen(fd, "w")) == NULL) {
		bad = 1;
	} else {
		for (size_t i = 0; i < pg->nusers; i++)
			if (fprintf(f, "%s:%s%s%s\n", pg->users[i].name, pg->users[i].hash,
				    pg->users[i].cls ? ":" : "", pg->users[i].cls ? pg->users[i].cls : "") < 0)
				bad = 1;
	}
	if (f != NULL) {
		if (fclose(f) != 0)
			bad = 1;
	} else if (fd >= 0) {
		close(fd);
	}
	if (!bad && rename(tmp, pg->cache_file) < 0)
		bad = 1;
	if (bad) {
		PG_LOG(ctx, MASS_LOG_WARN, "cache %s: cannot write it: %s", pg->cache_file,
		       strerror(errno));
		if (tmp != NULL)
			unlink(tmp);
	}
	free(tmp);
}

/* The copy changed: the cache is to be written (pg_cache_flush). */
static void pg_cache_dirty(struct pg *pg)
{
	pg->cache_dirty = pg->cache_file != NULL;
}

/* Writes the cache when the copy changed and no statement is queued. */
static void pg_cache_flush(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;

	if (pg->cache_dirty && TAILQ_EMPTY(&pg->ops)) {
		pg->cache_dirty = false;
		pg_cache_write(ctx);
	}
}

/* Fills the (empty) copy from the cache file, when there is one. */
static void pg_cache_read(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	FILE *f = fopen(pg->cache_file, "re");
	char line[2 * PG_FIELD_MAX + PG_CLASS_MAX + 5], *colon, *cls;
	size_t n, bad = 0;

	if (f == NULL) {
		if (errno != ENOENT)
			PG_LOG(ctx, MASS_LOG_WARN, "cache %s: %s", pg->cache_file, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		colon = strchr(line, ':');
		cls = colon != NULL ? strchr(colon + 1, ':') : NULL;
		if (cls != NULL)
			*cls++ = '\0';
		if (colon == NULL || !pg_valid_field(line, (size_t)(colon - line), true) ||
		    !pg_valid_hash(colon + 1, strlen(colon + 1)) ||
		    (cls != NULL && pg_class_value(cls, strlen(cls)) == NULL) ||
		    pg_copy_put(ctx, line, (size_t)(colon - line), colon + 1, cls) < 0)
			bad++;
	}
	fclose(f);
	PG_LOG(ctx, bad ? MASS_LOG_WARN : MASS_LOG_INFO, "cache %s: %zu users until the "
	       "database answers%s", pg->cache_file, pg->nusers, bad ? " (bad lines skipped)" : "");
}

/* ------------------------------------------------------------- statements */

static void pg_op_free(struct pg_op *op)
{
	pg_users_free(op->rows, op->nrows);
	free(op);
}

static void pg_op_queue(struct pg *pg, struct pg_op *op)
{
	if (op->kind == PG_OP_ROW)
		pg->rows_queued++;
	TAILQ_INSERT_TAIL(&pg->ops, op, link);
}

static struct pg_op *pg_op_new(enum pg_op_kind kind)
{
	struct pg_op *op = calloc(1, sizeof(*op));

	if (op != NULL)
		op->kind = kind;
	return op;
}

/* Fails every queued statement (their clients get 01) and empties the queue. */
static void pg_ops_fail(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	struct pg_op *op;

	while ((op = TAILQ_FIRST(&pg->ops)) != NULL) {
		TAILQ_REMOVE(&pg->ops, op, link);
		if (op->later != NULL)
			ctx->host->reply_send(op->later, MASS_STATUS_ERROR);
		pg_op_free(op);
	}
	pg->inflight = false;
	pg->rows_queued = 0;
	/* drained usage in a lost statement is kept for the next connection */
	pg_quota_abort(&pg->quotas);
	pg->quota_queued = false;
}

static void pg_retry_fire(struct mass_ctx *ctx, void *arg, struct mass_timer *t);
static void pg_watch_ready(struct mass_ctx *ctx, void *arg, struct mass_watch *w, int fd,
			   int events);

/* The connection is gone (or never came): drop it, fail what was queued,
 * and try again after the backoff. what says why, for the log. */
static void pg_lost(struct mass_ctx *ctx, const char *what)
{
	struct pg *pg = ctx->state;
	char msg[256];

	pg_errmsg(pg->conn, msg, sizeof(msg));
	PG_LOG(ctx, MASS_LOG_WARN, "%s%s%s; reconnecting in %u ms", what, msg[0] ? ": " : "",
	       msg, pg->backoff_ms);
	ctx->host->watch_remove(pg->watch);
	pg->watch = NULL;
	ctx->host->timer_cancel(pg->tick);
	pg->tick = NULL;
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	pg->conn = NULL;
	pg->fd = -1;
	pg->state = PG_DOWN;
	pg_ops_fail(ctx);
	pg_cache_flush(ctx);
	pg->retry = ctx->host->timer_add_ctx(ctx, pg->backoff_ms, 0, pg_retry_fire, NULL);
	pg->backoff_ms = pg->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS
								 : pg->backoff_ms * 2;
}

/* What the watch waits for: reading always once connected, writing while
 * libpq still holds output. Returns 0, or -1 when the connection failed
 * (pg_lost done). */
static int pg_flush(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	int r = PQflush(pg->conn);

	if (r < 0) {
		pg_lost(ctx, "database connection lost");
		return -1;
	}
	ctx->host->watch_set(pg->watch, MASS_WATCH_READ | (r ? MASS_WATCH_WRITE : 0));
	return 0;
}

/*
 * The USAGE statement: every entry of the quota table with the bytes to
 * add (pending, now sending); the arrays are libpq's to copy. Returns
 * PQsendQueryParams's.
 */
static int pg_usage_send(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	char *arr[4] = { NULL, NULL, NULL, NULL };
	const char *params[4] = { "{}", "{}", "{}", "{}" };
	int ok;

	if (pg_quota_arrays(&pg->quotas, &arr[0], &arr[1], &arr[2], &arr[3]) > 0)
		for (int i = 0; i < 4; i++)
			params[i] = arr[i];
	ok = PQsendQueryParams(pg->conn, pg->sql_usage, 4, NULL, params, NULL, NULL, 0);
	for (int i = 0; i < 4; i++)
		free(arr[i]);
	return ok;
}

/* Sends the head of the queue when nothing is in flight. */
static void pg_kick(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	struct pg_op *op = TAILQ_FIRST(&pg->ops);
	const char *params[2];
	int ok;

	if (pg->state != PG_UP || pg->inflight || op == NULL)
		return;
	params[0] = op->name;
	params[1] = op->hash;
	switch (op->kind) {
	case PG_OP_SETUP:
		ok = PQsendQuery(pg->conn, pg->sql_setup);
		break;
	case PG_OP_LOAD:
		ok = PQsendQuery(pg->conn, pg->sql_load);
		break;
	case PG_OP_PING:
		ok = PQsendQuery(pg->conn, "");
		break;
	case PG_OP_ROW:
		pg->rows_queued--;
		ok = PQsendQueryParams(pg->conn, pg->sql_row, 1, NULL, params, NULL, NULL, 0);
		break;
	case PG_OP_ADD:
		ok = PQsendQueryParams(pg->conn, pg->sql_add, 2, NULL, params, NULL, NULL, 0);
		break;
	case PG_OP_USAGE:
		ok = pg_usage_send(ctx);
		break;
	case PG_OP_CLASS:
		params[1] = op->hash[0] ? op->hash : NULL;
		ok = PQsendQueryParams(pg->conn, pg->sql_class, 2, NULL, params, NULL, NULL, 0);
		break;
	case PG_OP_PRUNE:
		ok = PQsendQuery(pg->conn, pg->sql_prune);
		break;
	case PG_OP_RESET: {
		const char *rp[3] = { op->name, op->since, op->start };

		ok = PQsendQueryParams(pg->conn, pg->sql_reset, 3, NULL, rp, NULL, NULL, 0);
		break;
	}
	default:
		ok = PQsendQueryParams(pg->conn, pg->sql_del, 1, NULL, params, NULL, NULL, 0);
		break;
	}
	if (!ok) {
		pg_lost(ctx, "database connection lost");
		return;
	}
	pg->inflight = true;
	pg->sent_ms = ctx->host->now_ms();
	pg_flush(ctx);
}

/* Collects a LOAD or ROW result's valid rows into op->rows. */
static void pg_op_rows(struct mass_ctx *ctx, struct pg_op *op, PGresult *res)
{
	struct pg *pg = ctx->state;
	int n = PQntuples(res), skipped = 0;

	if (PQnfields(res) != 3 || n <= 0)
		return;
	if ((op->rows = calloc((size_t)n, sizeof(*op->rows))) == NULL) {
		op->failed = true;
		snprintf(op->message, sizeof(op->message), "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = PQgetvalue(res, i, 0), *hash = PQgetvalue(res, i, 1), *cls;
		size_t nlen = (size_t)PQgetlength(res, i, 0);
		struct pg_user *u = &op->rows[op->nrows];

		if (!pg_valid_field(name, nlen, true) ||
		    !pg_valid_hash(hash, (size_t)PQgetlength(res, i, 1))) {
			if (skipped++ == 0)
				PG_LOG(ctx, MASS_LOG_WARN, "table %s: row %.*s skipped: name or hash "
				       "invalid (a crypt(3) hash is wanted, never a password)",
				       pg->table, (int)nlen, name);
			continue;
		}
		cls = pg_class_value(PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
				     (size_t)PQgetlength(res, i, 2));
		if (cls == NULL && PQgetlength(res, i, 2) > 0)
			PG_LOG(ctx, MASS_LOG_WARN, "table %s: user %.*s: class \"%.40s\" is no class "
			       "name: the default class", pg->table, (int)nlen, name,
			       PQgetvalue(res, i, 2));
		u->name = strdup(name);
		u->nlen = nlen;
		u->hash = strdup(hash);
		u->cls = cls ? strdup(cls) : NULL;
		op->nrows++;
		if (u->name == NULL || u->hash == NULL || (cls != NULL && u->cls == NULL)) {
			op->failed = true;
			snprintf(op->message, sizeof(op->message), "out of memory");
			return;
		}
	}
	if (skipped > 1)
		PG_LOG(ctx, MASS_LOG_WARN, "table %s: %d invalid rows skipped", pg->table, skipped);
}

/* A USAGE answer: the fleet's total per (name, period start), applied when
 * the statement is done (pg_usage_finish). */
static void pg_usage_rows(struct mass_ctx *ctx, PGresult *res)
{
	struct pg *pg = ctx->state;
	int n = PQntuples(res);

	if (PQnfields(res) != 3)
		return;
	for (int i = 0; i < n; i++)
		pg_quota_result(&pg->quotas, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0),
				strtoll(PQgetvalue(res, i, 1), NULL, 10), !PQgetisnull(res, i, 2),
				strtoull(PQgetvalue(res, i, 2), NULL, 10));
}

/* One PGresult of the statement in flight. */
static void pg_op_result(struct mass_ctx *ctx, struct pg_op *op, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	const char *s;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		if (!op->failed) {
			s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			snprintf(op->sqlstate, sizeof(op->sqlstate), "%s", s ? s : "");
			s = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			if (s == NULL)
				s = PQresStatus(st);
			snprintf(op->message, sizeof(op->message), "%s", s);
		}
		op->failed = true;
		return;
	}
	if (op->kind == PG_OP_LOAD || op->kind == PG_OP_ROW)
		pg_op_rows(ctx, op, res);
	else if (op->kind == PG_OP_USAGE)
		pg_usage_rows(ctx, res);
	else if (op->kind == PG_OP_ADD)
		op->done = true;
	else if (op->kind == PG_OP_DEL || op->kind == PG_OP_CLASS)
		op->done = strcmp(PQcmdTuples(res), "1") == 0;
	else if (op->kind == PG_OP_PRUNE)
		op->deleted = strtoul(PQcmdTuples(res), NULL, 10);
}

/* A LOAD replaces the copy with rows (sorted): the host is told every class
 * that changed, a user gone back to the default. Both lists are sorted, so
 * one merge walk. */
static void pg_classes_tell(struct mass_ctx *ctx, const struct pg_user *rows, size_t n)
{
	struct pg *pg = ctx->state;
	size_t i = 0, j = 0;

	while (i < pg->nusers || j < n) {
		int c = i == pg->nusers ? 1 : j == n ? -1
		      : pg_user_cmp(pg->users[i].name, pg->users[i].nlen, rows[j].name, rows[j].nlen);

		if (c < 0) {
			pg_class_tell(ctx, pg->users[i].name, pg->users[i].nlen, pg->users[i].cls, NULL,
				      false);
			i++;
		} else if (c > 0) {
			pg_class_tell(ctx, rows[j].name, rows[j].nlen, NULL, rows[j].cls, true);
			j++;
		} else {
			pg_class_tell(ctx, rows[j].name, rows[j].nlen, pg->users[i].cls, rows[j].cls,
				      false);
			i++;
			j++;
		}
	}
}

/* Replaces the copy by a LOAD's rows (sorted here). */
static void pg_copy_replace(struct mass_ctx *ctx, struct pg_op *op)
{
	struct pg *pg = ctx->state;

	if (op->nrows > 1)
		qsort(op->rows, op->nrows, sizeof(*op->rows), pg_row_cmp);
	pg_classes_tell(ctx, op->rows, op->nrows);
	pg_users_free(pg->users, pg->nusers);
	pg->users = op->rows;
	pg->nusers = pg->capusers = op->nrows;
	op->rows = NULL;
	op->nrows = 0;
	PG_LOG(ctx, MASS_LOG_INFO, "table %s: %zu users loaded", pg->table, pg->nusers);
}

/* Tells the host what each quota it enforces has used in the fleet. */
static void pg_usage_tell(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;

	for (size_t i = 0; i < pg->quotas.len; i++) {
		struct pg_quota *e = &pg->quotas.list[i];
		uint64_t base = pg_quota_base(e);

		/* unchanged: not told again (each telling marks the host's quota
		 * file for a rewrite) */
		if (!e->wanted || (e->has_told && e->told == base))
			continue;
		if (ctx->host->usage_fleet_set(ctx, e->name, e->nlen, e->tell_start, base) ==
		    MASS_STATUS_OK)
			pg_quota_told(e, base);
	}
}

/* 18's UPDATE is done: the copy and the host follow at once (the
 * notification that comes back finds them current), then the answer. */
static void pg_class_finish(struct mass_ctx *ctx, struct pg_op *op)
{
	struct pg *pg = ctx->state;
	long at = pg_copy_find(pg, op->name, op->nlen);
	bool ok = !op->failed && op->done;

	if (ok && at >= 0)
		ok = pg_copy_put(ctx, op->name, op->nlen, pg->users[at].hash,
				 op->hash[0] ? op->hash : NULL) == 0;
	PG_LOG(ctx, ok ? MASS_LOG_INFO : MASS_LOG_WARN, "set-class %s %s: %s", op->name,
	       op->hash[0] ? op->hash : "default", ok ? "committed" : op->failed ? op->message
	       : "no such user, answered 01");
	ctx->host->reply_send(op->later, ok ? MASS_STATUS_OK : MASS_STATUS_ERROR);
	op->later = NULL;
}

/* A reset's DELETE is done: the fleet's count starts again from 0 (failed:
 * tried again at the next sync). */
static void pg_reset_finish(struct mass_ctx *ctx, struct pg_op *op)
{
	struct pg *pg = ctx->state;
	struct pg_quota *e = pg_quota_find(&pg->quotas, op->name, op->nlen,
					   strtoll(op->start, NULL, 10));

	if (op->failed) {
		if (e != NULL)
			e->reset_queued = false;
		PG_LOG(ctx, MASS_LOG_WARN, "table %s_usage: resetting %s failed: %s (SQLSTATE %s); "
		       "tried again", pg->table, op->name, op->message, op->sqlstate);
		return;
	}
	if (e != NULL)
		pg_quota_reset_done(e);
	PG_LOG(ctx, MASS_LOG_INFO, "table %s_usage: %s's usage reset for the fleet", pg->table,
	       op->name);
}

/* The USAGE statement is done: its bytes are in the table (or, failed, kept
 * for the next sync), the host learns the fleet's totals. */
static void pg_usage_finish(struct mass_ctx *ctx, struct pg_op *op)
{
	struct pg *pg = ctx->state;

	pg->quota_queued = false;
	if (op->failed) {
		pg_quota_abort(&pg->quotas);
		PG_LOG(ctx, MASS_LOG_WARN, "table %s_usage: sharing quota usage failed: %s "
		       "(SQLSTATE %s); the usage is kept for the next try", pg->table, op->message,
		       op->sqlstate);
		return;
	}
	pg_quota_done(&pg->quotas);
	pg_usage_tell(ctx);
}

/*
 * The statement in flight has given its last result: apply it to the copy,
 * answer its client. Returns 0, or -1 when the connection was dropped
 * (a failed SETUP: pg_lost done). A little over 60 lines: one switch over
 * every kind of statement, read best in one place.
 */
static int pg_op_finish(struct mass_ctx *ctx, struct pg_op *op)
{
	struct pg *pg = ctx->state;
	const char *name = op->name;    /* NUL-terminated: the op was zeroed */
	bool ok = !op->failed;

	if (ok && (op->kind == PG_OP_LOAD || op->kind == PG_OP_ROW || op->kind == PG_OP_ADD ||
		   op->kind == PG_OP_DEL || op->kind == PG_OP_CLASS))
		pg_cache_dirty(pg);
	switch (op->kind) {
	case PG_OP_SETUP:
		if (!ok) {
			PG_LOG(ctx, MASS_LOG_ERROR, "table %s: setup failed: %s (SQLSTATE %s)",
			       pg->table, op->message, op->sqlstate);
			return -1;
		}
		break;
	case PG_OP_LOAD:
		if (ok)
			pg_copy_replace(ctx, op);
		else
			PG_LOG(ctx, MASS_LOG_ERROR, "table %s: load failed: %s; the copy is kept",
			       pg->table, op->message);
		break;
	case PG_OP_ROW:
		if (!ok)
			PG_LOG(ctx, MASS_LOG_ERROR, "table %s: reloading %s failed: %s",
			       pg->table, name, op->message);
		else if (op->nrows == 1)
			ok = pg_copy_put(ctx, op->rows[0].name, op->rows[0].nlen, op->rows[0].hash,
					 op->rows[0].cls) == 0;
		else
			pg_copy_del(ctx, op->name, op->nlen);
		break;
	case PG_OP_PING:
		break;
	case PG_OP_USAGE:
		pg_usage_finish(ctx, op);
		break;
	case PG_OP_RESET:
		pg_reset_finish(ctx, op);
		break;
	case PG_OP_PRUNE:
		if (!ok)
			PG_LOG(ctx, MASS_LOG_WARN, "table %s_usage: deleting old periods failed: %s "
			       "(SQLSTATE %s); tried again in an hour", pg->table, op->message,
			       op->sqlstate);
		else if (op->deleted > 0)
			PG_LOG(ctx, MASS_LOG_INFO, "table %s_usage: %lu rows of periods over a year "
			       "old deleted", pg->table, op->deleted);
		break;
	case PG_OP_CLASS:
		pg_class_finish(ctx, op);
		break;
	case PG_OP_ADD:
	case PG_OP_DEL:
		if (op->kind == PG_OP_ADD && ok)
			ok = pg_copy_put(ctx, op->name, op->nlen, op->hash, NULL) == 0;
		else if (ok && op->done)
			pg_copy_del(ctx, op->name, op->nlen);
		if (!ok)
			PG_LOG(ctx, strcmp(op->sqlstate, "23505") == 0 ? MASS_LOG_INFO : MASS_LOG_WARN,
			       "%s %s: %s, answered 01", op->kind == PG_OP_ADD ? "add" : "delete",
			       name, op->message[0] ? op->message : "out of memory");
		else
			PG_LOG(ctx, MASS_LOG_INFO, "%s %s: %s", op->kind == PG_OP_ADD ? "add" : "delete",
			       name, op->done ? "committed" : "no such user, answered 01");
		ctx->host->reply_send(op->later, ok && op->done ? MASS_STATUS_OK : MASS_STATUS_ERROR);
		op->later = NULL;
		break;
	}
	return 0;
}

/* A notification: reload the row it names ("" after a TRUNCATE: all). */
static void pg_notified(struct mass_ctx *ctx, const char *name)
{
	struct pg *pg = ctx->state;
	size_t nlen = strlen(name);
	struct pg_op *op, *q;
	bool full = nlen == 0 || pg->rows_queued >= PG_ROWS_QUEUED_MAX;

	if (!full && !pg_valid_field(name, nlen, true))
		return;
	/* a LOAD still waiting covers every change */
	TAILQ_FOREACH(q, &pg->ops, link)
		if (q->kind == PG_OP_LOAD && (q != TAILQ_FIRST(&pg->ops) || !pg->inflight))
			return;
	if ((op = pg_op_new(full ? PG_OP_LOAD : PG_OP_ROW)) == NULL) {
		PG_LOG(ctx, MASS_LOG_ERROR, "table %s: out of memory for a change notification",
		       pg->table);
		return;
	}
	memcpy(op->name, name, nlen + 1);
	op->nlen = nlen;
	pg_op_queue(pg, op);
}

/* The notifications libpq has parsed so far. */
static void pg_notifies(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	PGnotify *n;

	while ((n = PQnotifies(pg->conn)) != NULL) {
		if (strcmp(n->relname, pg->channel) == 0)
			pg_notified(ctx, n->extra);
		PQfreemem(n);
	}
}

/* Input arrived: notifications and results, as long as libpq holds them.
 * libpq parses what follows a result only once that result is taken, so
 * notifications are looked for again after the results. */
static void pg_input(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	PGresult *res;
	struct pg_op *op;

	if (!PQconsumeInput(pg->conn)) {
		pg_lost(ctx, "database connection lost");
		return;
	}
	pg_notifies(ctx);
	while (pg->inflight && !PQisBusy(pg->conn)) {
		op = TAILQ_FIRST(&pg->ops);
		if ((res = PQgetResult(pg->conn)) != NULL) {
			pg_op_result(ctx, op, res);
			PQclear(res);
			continue;
		}
		TAILQ_REMOVE(&pg->ops, op, link);
		pg->inflight = false;
		if (pg_op_finish(ctx, op) < 0) {
			pg_op_free(op);
			pg_lost(ctx, "database setup failed");
			return;
		}
		pg_op_free(op);
	}
	if (PQstatus(pg->conn) == CONNECTION_BAD) {
		pg_lost(ctx, "database connection lost");
		return;
	}
	pg_notifies(ctx);
	pg_cache_flush(ctx);
	if (!pg->inflight)
		pg_kick(ctx);
	else
		pg_flush(ctx);
}

/* ------------------------------------------------------------- connecting */

/*
 * The watchdog, every PG_TICK_MS while connected: a link that died without
 * a FIN or RST (a host gone, a partition) shows only as a statement never
 * answered, so one in flight for PG_STALL_MS drops the connection, and an
 * idle link gets an empty statement every PG_IDLE_MS to find out. Without
 * it a silent loss would also lose the notifications unnoticed.
 */
static void pg_tick(struct mass_ctx *ctx, void *arg, struct mass_timer *t)
{
	struct pg *pg = ctx->state;
	uint64_t age = ctx->host->now_ms() - pg->sent_ms;
	struct pg_op *op;

	(void)arg;
	(void)t;
	if (pg->inflight && age >= PG_STALL_MS) {
		PG_LOG(ctx, MASS_LOG_WARN, "no answer from the database for %llu ms",
		       (unsigned long long)age);
		pg_lost(ctx, "database connection dropped");
	} else if (!pg->inflight && TAILQ_EMPTY(&pg->ops) && age >= PG_IDLE_MS &&
		   (op = pg_op_new(PG_OP_PING)) != NULL) {
		pg_op_queue(pg, op);
		pg_kick(ctx);
	}
}

static void pg_connected(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	struct pg_op *setup = pg_op_new(PG_OP_SETUP), *load = pg_op_new(PG_OP_LOAD);

	if (setup == NULL || load == NULL || PQsetnonblocking(pg->conn, 1) != 0) {
		free(setup);
		free(load);
		pg_lost(ctx, "database connection unusable");
		return;
	}
	pg->state = PG_UP;
	pg->backoff_ms = PG_BACKOFF_MIN_MS;
	pg->tick = ctx->host->timer_add_ctx(ctx, PG_TICK_MS, PG_TICK_MS, pg_tick, NULL);
	PG_LOG(ctx, MASS_LOG_INFO, "connected to database %s on %s port %s; loading table %s",
	       PQdb(pg->conn), PQhost(pg->conn), PQport(pg->conn), pg->table);
	pg_op_queue(pg, setup);
	pg_op_queue(pg, load);
	pg_kick(ctx);
}

/* One step of PQconnectPoll; libpq may move to another socket (another
 * address of the host), then the watch follows it. */
static void pg_connect_step(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	PostgresPollingStatusType r = PQconnectPoll(pg->conn);
	int fd = PQsocket(pg->conn);

	if (r == PGRES_POLLING_FAILED || fd < 0) {
		pg_lost(ctx, "cannot connect to the database");
		return;
	}
	if (fd != pg->fd) {
		ctx->host->watch_remove(pg->watch);
		pg->fd = fd;
		pg->watch = ctx->host->watch_add_ctx(ctx, fd, MASS_WATCH_WRITE, pg_watch_ready, NULL);
		if (pg->watch == NULL) {
			pg_lost(ctx, "cannot watch the database socket");
			return;
		}
	}
	if (r == PGRES_POLLING_OK)
		pg_connected(ctx);
	else
		ctx->host->watch_set(pg->watch, r == PGRES_POLLING_READING ? MASS_WATCH_READ
									  : MASS_WATCH_WRITE);
}

static void pg_watch_ready(struct mass_ctx *ctx, void *arg, struct mass_watch *w, int fd,
			   int events)
{
	struct pg *pg = ctx->state;

	(void)arg;
	(void)w;
	(void)fd;
	if (pg->state == PG_CONNECTING)
		pg_connect_step(ctx);
	else if (pg->state == PG_UP && (events & MASS_WATCH_WRITE) &&
		 !(events & (MASS_WATCH_READ | MASS_WATCH_ERROR)))
		pg_flush(ctx);
	else if (pg->state == PG_UP)
		pg_input(ctx);
}

/* What the server says outside a result (a warning, "terminating
 * connection due to administrator command"): to the log, not to stderr,
 * which is libpq's default. */
static void pg_notice(void *arg, const char *message)
{
	struct mass_ctx *ctx = arg;  /* valid while the connection is: fini finishes it */
	char line[512];

	PG_LOG(ctx, MASS_LOG_INFO, "server: %s", pg_oneline(message, line, sizeof(line)));
}

static void pg_connect(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;

	pg->conn = PQconnectStart(pg->conninfo);
	if (pg->conn == NULL || PQstatus(pg->conn) == CONNECTION_BAD) {
		pg_lost(ctx, "cannot connect to the database");
		return;
	}
	PQsetNoticeProcessor(pg->conn, pg_notice, ctx);
	pg->state = PG_CONNECTING;
	pg->fd = PQsocket(pg->conn);
	/* libpq's first wait is for writing (the connect in progress) */
	pg->watch = pg->fd < 0 ? NULL : ctx->host->watch_add_ctx(ctx, pg->fd, MASS_WATCH_WRITE,
								  pg_watch_ready, NULL);
	if (pg->watch == NULL)
		pg_lost(ctx, "cannot watch the database socket");
}

static void pg_retry_fire(struct mass_ctx *ctx, void *arg, struct mass_timer *t)
{
	struct pg *pg = ctx->state;

	(void)arg;
	(void)t;
	pg->retry = NULL;
	PG_LOG(ctx, MASS_LOG_DEBUG, "connecting to the database");
	pg_connect(ctx);
}


/* ------------------------------------------------------------- shared quotas */

static void pg_quota_full(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;

	if (!pg->quota_full)
		PG_LOG(ctx, MASS_LOG_ERROR, "quota sharing: %d users and periods at most, or out of "
		       "memory: some usage is not shared", PG_QUOTA_MAX);
	pg->quota_full = true;
}

/* The classes whose quota period is rolling, and its days (class_each). */
struct pg_rolling {
	char name[PG_CLASS_MAX + 1];
	unsigned days;
};

struct pg_rollings {
	struct pg_rolling list[64];
	size_t len;
};

/* class_each: the describe line says "quota=SIZE/rolling N" for those. */
static int pg_rolling_one(struct mass_ctx *ctx, void *arg, const char *name, const char *describe)
{
	struct pg_rollings *r = arg;
	const char *at = strstr(describe, "/rolling ");

	(void)ctx;
	if (at != NULL && strlen(name) <= PG_CLASS_MAX && r->len < 64) {
		strcpy(r->list[r->len].name, name);
		r->list[r->len++].days = (unsigned)strtoul(at + 9, NULL, 10);
	}
	return 0;
}

/*
 * usage_each: a quota the host enforces now. The table's key is the slot
 * the host counts in now: the period's start, or for a rolling period the
 * current day (whose start usage_drain hands out too); usage_fleet_set
 * still gets the period's start.
 */
static int pg_sync_want(struct mass_ctx *ctx, void *arg, const struct mass_usage *u)
{
	struct pg *pg = ctx->state;
	const struct pg_rollings *r = arg;
	int64_t slot = u->period_start;

	if (u->quota == 0 || u->period_start == 0 || u->user_len > PG_FIELD_MAX)
		return 0;
	for (size_t i = 0; u->class_name != NULL && i < r->len; i++)
		if (strcmp(r->list[i].name, u->class_name) == 0 && r->list[i].days > 1)
			slot += (int64_t)(r->list[i].days - 1) * 86400;
	switch (pg_quota_want(&pg->quotas, u->user, u->user_len, slot, u->period_start, u->used)) {
	case -1:
		pg_quota_full(ctx);
		break;
	case 1:
		PG_LOG(ctx, MASS_LOG_INFO, "usage of %.*s reset here: resetting it for the fleet "
		       "(table %s_usage)", (int)u->user_len, u->user, pg->table);
		break;
	}
	return 0;
}

/* Queues the DELETE of every reset not yet written (before the USAGE
 * statement: one connection answers in order). */
static void pg_sync_resets(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;

	for (size_t i = 0; i < pg->quotas.len; i++) {
		struct pg_quota *e = &pg->quotas.list[i];
		struct pg_op *op;

		if (!e->reset_due || e->reset_queued || (op = pg_op_new(PG_OP_RESET)) == NULL)
			continue;
		memcpy(op->name, e->name, e->nlen);
		op->nlen = e->nlen;
		snprintf(op->start, sizeof(op->start), "%lld", (long long)e->period_start);
		snprintf(op->since, sizeof(op->since), "%lld", (long long)e->tell_start);
		e->reset_queued = true;
		pg_op_queue(pg, op);
	}
}

/*
 * Once an hour (the first at the first sync), the rows of TABLE_usage no
 * period can count any more are deleted: their slot began before any
 * quota period could (a rolling period is at most PERIOD_ROLLING_MAX, 366
 * days), by the database's clock, which every instance shares.
 */
static void pg_sync_old(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	uint64_t now = ctx->host->now_ms();
	struct pg_op *op;

	if (pg->pruned_ms != 0 && now - pg->pruned_ms < PG_PRUNE_EVERY_MS)
		return;
	if ((op = pg_op_new(PG_OP_PRUNE)) == NULL)
		return;
	pg->pruned_ms = now ? now : 1;
	pg_op_queue(pg, op);
}

/* usage_drain: bytes the host counted since the last sync. */
static void pg_sync_drained(struct mass_ctx *ctx, void *arg, const char *user, size_t len,
			    int64_t period_start, uint64_t bytes)
{
	struct pg *pg = ctx->state;

	(void)arg;
	if (len <= PG_FIELD_MAX && bytes > 0 &&
	    pg_quota_add(&pg->quotas, user, len, period_start, bytes) < 0)
		pg_quota_full(ctx);
}

/*
 * Every quota_sync seconds, connected or not: the host's new usage is
 * drained into the quota table (the host is told it back at once, so it
 * keeps enforcing on everything it counted), and when the database is up
 * and no USAGE statement is still out, one is queued (pgsql_quota.h).
 */
static void pg_sync(struct mass_ctx *ctx, void *arg, struct mass_timer *t)
{
	struct pg *pg = ctx->state;
	struct pg_rollings rolling = { .len = 0 };
	struct pg_op *op;

	(void)arg;
	(void)t;
	pg_quota_unwant(&pg->quotas);
	ctx->host->class_each(ctx, pg_rolling_one, &rolling);
	ctx->host->usage_each(ctx, pg_sync_want, &rolling);
	ctx->host->usage_drain(ctx, pg_sync_drained, NULL);
	pg_usage_tell(ctx);
	pg_quota_prune(&pg->quotas);
	if (pg->state == PG_UP) {
		pg_sync_resets(ctx);
		pg_sync_old(ctx);
		pg_kick(ctx);
	}
	if (pg->state != PG_UP || pg->quota_queued || pg->quotas.len == 0 ||
	    (op = pg_op_new(PG_OP_USAGE)) == NULL)
		return;
	pg->quota_queued = true;
	pg_op_queue(pg, op);
	pg_kick(ctx);
}

/* ------------------------------------------------------------- logins */

/* The host's verdict on a login (pending is the arg given with it). */
static void pg_verified(struct mass_ctx *ctx, void *arg, int match)
{
	if (match < 0)
		PG_LOG(ctx, MASS_LOG_WARN, "a stored hash could not be checked (malformed, or a "
		       "method this system's crypt(3) lacks): login refused");
	ctx->host->auth_complete(arg, match == 1 ? MASS_AUTH_ALLOW : MASS_AUTH_DENY);
}

/* The provider: a name the copy does not hold is not ours (DECLINE); one it
 * holds is checked against its hash by the host's password service
 * (PENDING), off the loop; BUSY when that service has no room now. */
static int pg_auth(struct mass_ctx *ctx, void *arg, const struct mass_auth_query *q,
		   struct mass_auth *pending)
{
	struct pg *pg = ctx->state;
	long at;

	(void)arg;
	if (!pg_valid_field(q->user, q->user_len, true) ||
	    (at = pg_copy_find(pg, q->user, q->user_len)) < 0)
		return MASS_AUTH_DECLINE;
	if (!pg_valid_field(q->pass, q->pass_len, false))
		return MASS_AUTH_DENY;
	if (ctx->host->password_verify_cached(ctx, q->user, q->user_len, pg->users[at].hash,
					      q->pass, q->pass_len, pg_verified, pending) < 0) {
		/* not checked, so not wrong: the host answers it as its own full queue */
		PG_LOG(ctx, MASS_LOG_WARN, "login of %.*s not checked: the password service is busy",
		       (int)q->user_len, q->user);
		return MASS_AUTH_BUSY;
	}
	return MASS_AUTH_PENDING;
}

/* ------------------------------------------------------------- MASS indexes */

/* 01: the names of the copy, in byte order; the first 255 (COUNT is one octet). */
static int pg_list(struct mass_ctx *ctx, const struct mass_request *req, struct mass_reply *reply)
{
	struct pg *pg = ctx->state;
	size_t n = pg->nusers < PG_LIST_MAX ? pg->nusers : PG_LIST_MAX;
	long mark = ctx->host->reply_count_begin(reply);

	(void)req;
	for (size_t i = 0; i < n; i++)
		ctx->host->reply_str(reply, pg->users[i].name, pg->users[i].nlen);
	ctx->host->reply_count_end(reply, mark, n);
	return MASS_STATUS_OK;
}

/* True when the built-in store holds name: a pgsql user of that name could
 * never log in (the store decides names it holds). */
static bool pg_in_store(const struct mass_host *host, const char *name, size_t nlen)
{
	size_t n = host->users_count(), len;

	for (size_t i = 0; i < n; i++) {
		const char *s = host->users_name(i, &len);

		if (s != NULL && len == nlen && memcmp(s, name, nlen) == 0)
			return true;
	}
	return false;
}

/* True when pass is a crypt(3) string this libcrypt knows: 0A then stores
 * it as it is, as the server's own store does. */
static bool pg_is_hash(const char *pass, size_t len)
{
	if (!pg_valid_hash(pass, len))
		return false;
#ifdef HAVE_CRYPT_CHECKSALT
	int r = crypt_checksalt(pass);

	return r == CRYPT_SALT_OK || r == CRYPT_SALT_METHOD_LEGACY || r == CRYPT_SALT_TOO_CHEAP;
#else
	return true;
#endif
}

/* 0A's INSERT goes to the queue (or 01 when the database went away while
 * the password was hashed). */
static void pg_insert(struct mass_ctx *ctx, const char *name, size_t nlen, const char *hash,
		      struct mass_reply *later)
{
	struct pg *pg = ctx->state;
	struct pg_op *op;

	if (pg->state != PG_UP || strlen(hash) > PG_FIELD_MAX ||
	    (op = pg_op_new(PG_OP_ADD)) == NULL) {
		PG_LOG(ctx, MASS_LOG_WARN, "add %.*s: %s, answered 01", (int)nlen, name,
		       pg->state != PG_UP ? "database not connected" : "hash too long or out of memory");
		ctx->host->reply_send(later, MASS_STATUS_ERROR);
		return;
	}
	op->later = later;
	memcpy(op->name, name, nlen);
	op->nlen = nlen;
	strcpy(op->hash, hash);
	pg_op_queue(pg, op);
	pg_kick(ctx);
}

/* The host has hashed 0A's password (or failed to). */
static void pg_hashed(struct mass_ctx *ctx, void *arg, const char *hash, const char *err)
{
	struct pg_hashing *h = arg;

	LIST_REMOVE(h, link);
	if (h->later == NULL) {
		/* the reply could not be deferred: 01 went at once */
	} else if (hash == NULL) {
		PG_LOG(ctx, MASS_LOG_ERROR, "add %.*s: hashing the password failed: %s",
		       (int)h->nlen, h->name, err ? err : "?");
		ctx->host->reply_send(h->later, MASS_STATUS_ERROR);
	} else {
		pg_insert(ctx, h->name, h->nlen, hash, h->later);
	}
	free(h);
}

/* 0A NAME PASS: 01 at once for an invalid or known name or a database not
 * connected; else the host hashes the password (a ready crypt(3) string
 * skips that), the INSERT is queued, and the reply waits for its commit. */
static int pg_add(struct mass_ctx *ctx, const struct mass_request *req, struct mass_reply *reply)
{
	struct pg *pg = ctx->state;
	const struct mass_param *name = &req->params[0], *pass = &req->params[1];
	const char *n = (const char *)name->data, *p = (const char *)pass->data;
	struct pg_hashing *h;
	struct mass_reply *later;

	if (!pg_valid_field(n, name->len, true) || !pg_valid_field(p, pass->len, false))
		return MASS_STATUS_ERROR;
	if (pg->state != PG_UP) {
		PG_LOG(ctx, MASS_LOG_WARN, "add %.*s: database not connected, answered 01",
		       (int)name->len, n);
		return MASS_STATUS_ERROR;
	}
	if (pg_copy_find(pg, n, name->len) >= 0 || pg_in_store(ctx->host, n, name->len)) {
		PG_LOG(ctx, MASS_LOG_INFO, "add %.*s: the user exists, answered 01", (int)name->len, n);
		return MASS_STATUS_ERROR;
	}
	if (pg_is_hash(p, pass->len)) {
		char hash[PG_FIELD_MAX + 1];

		if ((later = ctx->host->reply_defer_ctx(ctx, reply, NULL, NULL)) == NULL)
			return MASS_STATUS_ERROR;
		memcpy(hash, p, pass->len);
		hash[pass->len] = '\0';
		pg_insert(ctx, n, name->len, hash, later);
		return MASS_STATUS_PENDING;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return MASS_STATUS_ERROR;
	if (ctx->host->password_hash(ctx, p, pass->len, pg_hashed, h) < 0) {
		PG_LOG(ctx, MASS_LOG_WARN, "add %.*s: the password service is busy, answered 01",
		       (int)name->len, n);
		free(h);
		return MASS_STATUS_ERROR;
	}
	memcpy(h->name, n, name->len);
	h->nlen = name->len;
	LIST_INSERT_HEAD(&pg->hashing, h, link);
	/* NULL (no memory): 01 now, and pg_hashed drops the hash */
	h->later = ctx->host->reply_defer_ctx(ctx, reply, NULL, NULL);
	return h->later != NULL ? MASS_STATUS_PENDING : MASS_STATUS_ERROR;
}

struct pg_class_find {
	const char *name;
	bool found;
};

static int pg_class_is(struct mass_ctx *ctx, void *arg, const char *name, const char *describe)
{
	struct pg_class_find *f = arg;

	(void)ctx;
	(void)describe;
	f->found = strcmp(name, f->name) == 0;
	return f->found;
}

/* True when name is a class of the configuration in force. */
static bool pg_class_exists(struct mass_ctx *ctx, const char *name)
{
	struct pg_class_find f = { name, false };

	if (MASS_HOST_HAS(ctx->host, class_each))
		ctx->host->class_each(ctx, pg_class_is, &f);
	return f.found;
}

/*
 * 18 NAME CLASS, when [indexes] gives it to pgsql: a user of the table gets
 * the class in its row (UPDATE, answered after the commit; every instance
 * follows by the notification), so it lasts and holds for the fleet; a
 * user of the built-in store goes to the host as the limits plugin would.
 * CLASS "default" writes NULL. 01: no such class, no such user, the
 * database not connected.
 */
static int pg_set_class(struct mass_ctx *ctx, const struct mass_request *req,
			struct mass_reply *reply)
{
	struct pg *pg = ctx->state;
	const struct mass_param *name = &req->params[0], *cls = &req->params[1];
	const char *n = (const char *)name->data, *c = (const char *)cls->data;
	struct pg_op *op;

	if (!pg_valid_field(n, name->len, true) || pg_class_value(c, cls->len) == NULL ||
	    !pg_class_exists(ctx, c)) {
		PG_LOG(ctx, MASS_LOG_INFO, "set-class %.*s: no class \"%.32s\", answered 01",
		       (int)name->len, n, c);
		return MASS_STATUS_ERROR;
	}
	if (!MASS_HOST_HAS(ctx->host, user_class_set))
		return MASS_STATUS_ERROR;
	if (pg_in_store(ctx->host, n, name->len))
		return ctx->host->user_class_set(ctx, n, name->len, c);
	if (pg_copy_find(pg, n, name->len) < 0 || pg->state != PG_UP) {
		PG_LOG(ctx, MASS_LOG_INFO, "set-class %.*s %s: %s, answered 01", (int)name->len, n, c,
		       pg->state != PG_UP ? "database not connected" : "no such user");
		return MASS_STATUS_ERROR;
	}
	if ((op = pg_op_new(PG_OP_CLASS)) == NULL)
		return MASS_STATUS_ERROR;
	if ((op->later = ctx->host->reply_defer_ctx(ctx, reply, NULL, NULL)) == NULL) {
		free(op);
		return MASS_STATUS_ERROR;
	}
	memcpy(op->name, n, name->len);
	op->nlen = name->len;
	if (strcmp(c, "default") != 0)
		strcpy(op->hash, c);
	pg_op_queue(pg, op);
	pg_kick(ctx);
	return MASS_STATUS_PENDING;
}

/* 0B NAME: the DELETE is queued; the reply waits for its commit. */
static int pg_del(struct mass_ctx *ctx, const struct mass_request *req, struct mass_reply *reply)
{
	struct pg *pg = ctx->state;
	const struct mass_param *name = &req->params[0];
	struct pg_op *op;

	if (!pg_valid_field((const char *)name->data, name->len, true))
		return MASS_STATUS_ERROR;
	if (pg->state != PG_UP) {
		PG_LOG(ctx, MASS_LOG_WARN, "delete %.*s: database not connected, answered 01",
		       (int)name->len, (const char *)name->data);
		return MASS_STATUS_ERROR;
	}
	if ((op = pg_op_new(PG_OP_DEL)) == NULL)
		return MASS_STATUS_ERROR;
	if ((op->later = ctx->host->reply_defer_ctx(ctx, reply, NULL, NULL)) == NULL) {
		free(op);
		return MASS_STATUS_ERROR;
	}
	memcpy(op->name, name->data, name->len);
	op->nlen = name->len;
	pg_op_queue(pg, op);
	pg_kick(ctx);
	return MASS_STATUS_PENDING;
}

/* ------------------------------------------------------------- init, fini */

static bool pg_valid_table(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > PG_TABLE_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static char *pg_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pg_sprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/*
 * The statements, the table name in them (a lower-case identifier checked
 * by pg_valid_table). SETUP creates only what is missing (the table, its
 * class column, the TABLE_usage table of shared quotas, the trigger), so an
 * account that may only SELECT, INSERT, UPDATE and DELETE works once a DBA
 * made the objects, under a transaction-scoped advisory lock so that instances
 * starting together do not race; LISTEN comes before the LOAD queued after
 * it, so no change falls between the two. Long: the statements' text is
 * most of it.
 */
static int pg_sql_make(struct pg *pg)
{
	const char *t = pg->table, *c = pg->channel;

	pg->sql_setup = pg_sprintf(
		"SET client_min_messages = warning;"
		"BEGIN;"
		"SELECT pg_advisory_xact_lock(hashtext('mass pgsql %s'));"
		"DO $d$ BEGIN"
		" IF to_regclass('%s') IS NULL THEN"
		"  CREATE TABLE %s (name text PRIMARY KEY, hash text NOT NULL,"
		"   created timestamptz NOT NULL DEFAULT now(), class text);"
		" END IF;"
		" IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '%s'::regclass"
		"  AND attname = 'class' AND NOT attisdropped) THEN"
		"  ALTER TABLE %s ADD COLUMN class text;"
		" END IF;"
		" IF to_regclass('%s_usage') IS NULL THEN"
		"  CREATE TABLE %s_usage (name text NOT NULL, period_start bigint NOT NULL,"
		"   used bigint NOT NULL DEFAULT 0, PRIMARY KEY (name, period_start));"
		" END IF;"
		" IF to_regprocedure('%s_notify()') IS NULL THEN"
		"  CREATE FUNCTION %s_notify() RETURNS trigger LANGUAGE plpgsql AS $f$"
		"  BEGIN"
		"   IF TG_OP = 'TRUNCATE' THEN PERFORM pg_notify('%s', '');"
		"   ELSIF TG_OP = 'DELETE' THEN PERFORM pg_notify('%s', OLD.name);"
		"   ELSE PERFORM pg_notify('%s', NEW.name);"
		"    IF TG_OP = 'UPDATE' AND OLD.name <> NEW.name THEN PERFORM pg_notify('%s', OLD.name); END IF;"
		"   END IF;"
		"   RETURN NULL;"
		"  END $f$;"
		" END IF;"
		" IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '%s_notify' AND tgrelid = '%s'::regclass) THEN"
		"  CREATE TRIGGER %s_notify AFTER INSERT OR UPDATE OR DELETE ON %s"
		"   FOR EACH ROW EXECUTE FUNCTION %s_notify();"
		" END IF;"
		" IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '%s_truncate' AND tgrelid = '%s'::regclass) THEN"
		"  CREATE TRIGGER %s_truncate AFTER TRUNCATE ON %s"
		"   FOR EACH STATEMENT EXECUTE FUNCTION %s_notify();"
		" END IF;"
		"END $d$;"
		"COMMIT;"
		"LISTEN %s;",
		t, t, t, t, t, t, t, t, t, c, c, c, c, t, t, t, t, t, t, t, t, t, t, c);
	pg->sql_load = pg_sprintf("SELECT name, hash, class FROM %s", t);
	pg->sql_row = pg_sprintf("SELECT name, hash, class FROM %s WHERE name = $1", t);
	pg->sql_add = pg_sprintf("INSERT INTO %s (name, hash) VALUES ($1, $2)", t);
	pg->sql_del = pg_sprintf("DELETE FROM %s WHERE name = $1", t);
	/* additive: two instances adding at once both count (the row lock of
	 * ON CONFLICT DO UPDATE orders them); rows in key order, so two such
	 * statements never wait on each other crosswise. The CTE's rows are
	 * not visible to the outer SELECT: a slot written now comes from
	 * RETURNING, one only read (0 to add) from the table; a rolling
	 * period adds its older days (since .. the slot). A period with no
	 * row answers NULL (pg_quota_result). */
	pg->sql_usage = pg_sprintf(
		"WITH d AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[],"
		"  $4::bigint[]) AS d(name, period_start, used, since)),"
		" up AS (INSERT INTO %s_usage AS u (name, period_start, used)"
		"  SELECT name, period_start, used FROM d WHERE used > 0 ORDER BY name, period_start"
		"  ON CONFLICT (name, period_start) DO UPDATE SET used = u.used + EXCLUDED.used"
		"  RETURNING u.name, u.period_start, u.used),"
		" cur AS (SELECT d.name, d.period_start, d.since, coalesce(up.used, u.used) AS used"
		"  FROM d LEFT JOIN up ON up.name = d.name AND up.period_start = d.period_start"
		"  LEFT JOIN %s_usage u ON u.name = d.name AND u.period_start = d.period_start)"
		" SELECT c.name, c.period_start, CASE WHEN c.used IS NULL AND o.s IS NULL THEN NULL"
		"  ELSE (coalesce(c.used, 0) + coalesce(o.s, 0))::bigint END"
		" FROM cur c LEFT JOIN LATERAL (SELECT sum(used) AS s FROM %s_usage o"
		"  WHERE o.name = c.name AND o.period_start >= c.since"
		"  AND o.period_start < c.period_start) o ON true",
		t, t, t);
	pg->sql_class = pg_sprintf("UPDATE %s SET class = $2 WHERE name = $1", t);
	pg->sql_reset = pg_sprintf("DELETE FROM %s_usage WHERE name = $1 AND period_start >= $2"
				   " AND period_start <= $3", t);
	pg->sql_prune = pg_sprintf("DELETE FROM %s_usage WHERE period_start <"
				   " extract(epoch FROM now())::bigint - %d", t,
				   PG_USAGE_KEEP_DAYS * 86400);
	return pg->sql_setup && pg->sql_load && pg->sql_row && pg->sql_add && pg->sql_del &&
	       pg->sql_usage && pg->sql_reset && pg->sql_class && pg->sql_prune ? 0 : -1;
}


/* True when every entry of a comma-separated host list is numeric or a path. */
static bool pg_hosts_numeric(const char *hosts)
{
	char one[256];
	unsigned char addr[16];

	while (*hosts != '\0') {
		size_t n = strcspn(hosts, ",");

		if (n >= sizeof(one))
			return false;
		memcpy(one, hosts, n);
		one[n] = '\0';
		if (n > 0 && one[0] != '/' && one[0] != '@' &&
		    inet_pton(AF_INET, one, addr) != 1 && inet_pton(AF_INET6, one, addr) != 1)
			return false;
		hosts += n + (hosts[n] == ',');
	}
	return true;
}

/*
 * Refuses a conninfo that would make libpq resolve a name with a blocking
 * call on the loop: a host that is a name, with no hostaddr beside it.
 */
static int pg_check_conninfo(const char *conninfo, char *err, size_t errlen)
{
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &why), *o;
	const char *host = NULL, *hostaddr = NULL;
	int rc = 0;

	if (opts == NULL) {
		snprintf(err, errlen, "conninfo: %.200s", why ? why : "out of memory");
		PQfreemem(why);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
	}
	if (host == NULL || host[0] == '\0')
		host = getenv("PGHOST");
	if ((hostaddr == NULL || hostaddr[0] == '\0') && host != NULL && !pg_hosts_numeric(host)) {
		snprintf(err, errlen, "conninfo: host \"%.64s\" is a name, which libpq resolves "
			 "with a blocking call; give a numeric host, hostaddr=, or a socket "
			 "directory", host);
		rc = -1;
	}
	PQconninfoFree(opts);
	return rc;
}

/*
 * Frees the state. The host drops this load's registrations itself once
 * fini returns (watches, timers, the provider, pending logins, deferred
 * replies, password requests: their callbacks never run), so only our own
 * memory and the connection go here.
 */
static void pg_free(struct mass_ctx *ctx)
{
	struct pg *pg = ctx->state;
	struct pg_hashing *h;

	while (!TAILQ_EMPTY(&pg->ops)) {
		struct pg_op *op = TAILQ_FIRST(&pg->ops);

		TAILQ_REMOVE(&pg->ops, op, link);
		pg_op_free(op);
	}
	while ((h = LIST_FIRST(&pg->hashing)) != NULL) {
		LIST_REMOVE(h, link);
		free(h);
	}
	if (pg->cache_dirty)
		pg_cache_write(ctx);
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	pg_users_free(pg->users, pg->nusers);
	free(pg->conninfo);
	free(pg->cache_file);
	free(pg->sql_setup);
	free(pg->sql_load);
	free(pg->sql_row);
	free(pg->sql_add);
	free(pg->sql_del);
	free(pg->sql_usage);
	free(pg->sql_prune);
	free(pg->sql_reset);
	free(pg->sql_class);
	pg_quota_free(&pg->quotas);
	free(pg);
	ctx->state = NULL;
}

/*
 * Reads [plugin pgsql]. Returns 0, or -1 with the reason in err.
 * password_hash and password_cost were this plugin's own until it used
 * the host's password service: now [socks]'s apply, and these are
 * accepted (a mass.ini that has them still loads) with a warning.
 */
static int pg_configure(struct mass_ctx *ctx, const struct mass_config *config, char *err,
			size_t errlen)
{
	struct pg *pg = ctx->state;

	for (size_t i = 0; i < config->count; i++) {
		const struct mass_config_item *it = &config->items[i];

		if (strcmp(it->key, "conninfo") == 0) {
			free(pg->conninfo);
			if ((pg->conninfo = strdup(it->value)) == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		} else if (strcmp(it->key, "table") == 0) {
			if (!pg_valid_table(it->value)) {
				snprintf(err, errlen, "%s:%u: table: \"%.64s\" is not a lower-case SQL "
					 "identifier of at most %d characters", config->file, it->line,
					 it->value, PG_TABLE_MAX);
				return -1;
			}
			strcpy(pg->table, it->value);
		} else if (strcmp(it->key, "password_hash") == 0 ||
			   strcmp(it->key, "password_cost") == 0) {
			PG_LOG(ctx, MASS_LOG_WARN, "%s:%u: %s is ignored: 0A hashes with [socks] "
			       "password_hash and password_cost (the server's password service)",
			       config->file, it->line, it->key);
		} else if (strcmp(it->key, "cache_file") == 0) {
			free(pg->cache_file);
			pg->cache_file = it->value[0] ? strdup(it->value) : NULL;
			if (it->value[0] && pg->cache_file == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		} else if (strcmp(it->key, "quota_sync") == 0) {
			char *end;
			long v = strtol(it->value, &end, 10);

			if (it->value[0] < '0' || it->value[0] > '9' || *end != '\0' || v < 1 ||
			    v > PG_SYNC_MAX_S) {
				snprintf(err, errlen, "%s:%u: quota_sync: \"%.32s\" is not a number of "
					 "seconds (1..%d)", config->file, it->line, it->value,
					 PG_SYNC_MAX_S);
				return -1;
			}
			pg->sync_s = (unsigned)v;
		} else if (strcmp(it->key, "module") != 0) {
			snprintf(err, errlen, "%s:%u: unknown key \"%.64s\" (conninfo, table, cache_file, "
				 "quota_sync)", config->file, it->line, it->key);
			return -1;
		}
	}
	if (pg->conninfo == NULL) {
		snprintf(err, errlen, "conninfo is required (libpq syntax, e.g. "
			 "\"host=127.0.0.1 dbname=mass user=mass\")");
		return -1;
	}
	return pg_check_conninfo(pg->conninfo, err, errlen);
}

static int pg_init(struct mass_ctx *ctx, const struct mass_config *config, char *err,
		   size_t errlen)
{
	const struct mass_host *host = ctx->host;
	struct pg *pg;

	if (host->abi_minor < 2 || !MASS_HOST_HAS(host, password_verify_cached)) {
		snprintf(err, errlen, "needs ABI 1.2 (the host's password service)");
		return -1;
	}
	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ctx->state = pg;
	TAILQ_INIT(&pg->ops);
	LIST_INIT(&pg->hashing);
	pg->fd = -1;
	pg->backoff_ms = PG_BACKOFF_MIN_MS;
	strcpy(pg->table, "socks_users");
	pg->sync_s = PG_SYNC_DEFAULT_S;
	if (pg_configure(ctx, config, err, errlen) < 0)
		goto fail;
	snprintf(pg->channel, sizeof(pg->channel), "%s_changed", pg->table);
	if (pg_sql_make(pg) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (!host->auth_provider_add_ctx(ctx, MASS_AUTH_SOCKS, 0, pg_auth, NULL)) {
		snprintf(err, errlen, "cannot register with the host: %s", strerror(errno));
		goto fail;
	}
	if (pg->cache_file != NULL)
		pg_cache_read(ctx);
	if (MASS_HOST_HAS(host, usage_drain) && MASS_HOST_HAS(host, usage_fleet_set) &&
	    MASS_HOST_HAS(host, usage_each) && MASS_HOST_HAS(host, class_each) &&
	    !host->timer_add_ctx(ctx, pg->sync_s * 1000u, pg->sync_s * 1000u, pg_sync, NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	PG_LOG(ctx, MASS_LOG_INFO, "connecting to the database; users in table %s", pg->table);
	pg_connect(ctx);
	return 0;
fail:
	pg_free(ctx);
	return -1;
}

static void pg_fini(struct mass_ctx *ctx)
{
	pg_free(ctx);
}

static const struct mass_index pg_indexes[] = {
	{ .index = 0x01, .signature = "", .usage = "list the SOCKS users (PostgreSQL)",
	  .serve = pg_list, .reply_layout = "users:[name:str]" },
	{ .index = 0x0A, .signature = "ss", .usage = "add a SOCKS user to PostgreSQL: NAME PASSWORD",
	  .serve = pg_add, .reply_layout = "" },
	{ .index = 0x0B, .signature = "s", .usage = "delete a SOCKS user from PostgreSQL: NAME",
	  .serve = pg_del, .reply_layout = "" },
	{ .index = 0x18, .signature = "ss",
	  .usage = "move a user to a class, kept in PostgreSQL: NAME CLASS",
	  .serve = pg_set_class, .reply_layout = "" },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "pgsql",
	.version = "2.0.0",
	.description = "SOCKS users in PostgreSQL, shared by every instance",
	MASS_PLUGIN_INDEXES(pg_indexes),
	.init_ctx = pg_init,
	.fini_ctx = pg_fini,
};
