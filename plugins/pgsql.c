/*
 * pgsql: SOCKS users kept in PostgreSQL, shared by every socks5d that
 * points at the same table (ABI 1.1).
 *
 *   - an authentication provider (MASS_AUTH_SOCKS) answering from a local
 *     in-memory copy of the table, so logins never wait for the database
 *     and keep working while it is down;
 *   - MASS 01 (list, from the copy), 0A (add: a crypt(3) hash is inserted,
 *     never the password) and 0B (delete), when [indexes] gives them to
 *     pgsql; 0A/0B are answered after the statement committed (deferred
 *     replies), and 01 at once when the database is not connected.
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
 * crypt(3) (yescrypt costs ~15 ms per call) never runs on the loop: one
 * worker thread of the plugin's own hashes 0A's passwords and checks
 * logins, and hands results back through a pipe watched on the loop, where
 * every host service is called (struct pg_job). A good login is remembered
 * as a keyed tag (pg_tag), so a user's next logins skip crypt(3).
 *
 * With cache_file set, the copy is also kept on disk (hashes only) and read
 * at load: a restart or reload while the database is down starts from it.
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
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <unistd.h>

#define PG_FIELD_MAX 255         /* a name, a password, a hash: 1..255 octets */
#define PG_TABLE_MAX 48          /* leaves room for the _notify/_changed suffixes */
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000
#define PG_ROWS_QUEUED_MAX 256   /* more pending row reloads: one full reload */
#define PG_LIST_MAX 255          /* 01's COUNT is one octet */
#define PG_JOBS_MAX 1024         /* crypt(3) calls waiting: beyond, logins fail at once */
#define PG_TICK_MS 1000          /* the watchdog's period */
#define PG_STALL_MS 5000         /* a statement unanswered this long: the link is dead */
#define PG_IDLE_MS 10000         /* an idle link is probed this often */

/* One user of the copy; the array is sorted by name (memcmp, then length). */
struct pg_user {
	char *name;
	size_t nlen;
	char *hash;
	uint64_t tag;                   /* the last good login's pg_tag(), when tagged */
	bool tagged;
};

enum pg_op_kind {
	PG_OP_SETUP,  /* create the table and trigger if absent, LISTEN */
	PG_OP_LOAD,   /* the whole table: replaces the copy */
	PG_OP_ROW,    /* one row, after a notification: updates the copy */
	PG_OP_ADD,    /* 0A's INSERT, reply deferred */
	PG_OP_DEL,    /* 0B's DELETE, reply deferred */
	PG_OP_PING    /* an empty statement on an idle link (the watchdog) */
};

/* One statement, queued or in flight (the head of pg.ops). */
struct pg_op {
	TAILQ_ENTRY(pg_op) link;
	enum pg_op_kind kind;
	struct mass_reply *later;       /* ADD, DEL */
	char name[PG_FIELD_MAX + 1];    /* ROW, ADD, DEL */
	size_t nlen;
	char hash[PG_FIELD_MAX + 1];    /* ADD */
	bool failed;                    /* a result was an error */
	bool done;                      /* ADD/DEL: the row was written */
	char sqlstate[6];
	char message[160];              /* escaped, for the log */
	struct pg_user *rows;           /* LOAD/ROW: what the result held */
	size_t nrows;
};
TAILQ_HEAD(pg_ops, pg_op);

enum pg_job_kind { PG_JOB_VERIFY, PG_JOB_HASH };

/* One crypt(3) call for the worker thread. */
struct pg_job {
	STAILQ_ENTRY(pg_job) link;
	enum pg_job_kind kind;
	struct mass_auth *pending;      /* VERIFY */
	struct mass_reply *later;       /* HASH: 0A's reply */
	char name[PG_FIELD_MAX + 1];
	size_t nlen;
	char pass[PG_FIELD_MAX + 1];
	size_t plen;
	char hash[PG_FIELD_MAX + 1];    /* VERIFY: the stored hash; HASH: the result */
	bool ok;
	uint64_t tag;                   /* VERIFY, ok: pg_tag() of the login */
};
STAILQ_HEAD(pg_jobs, pg_job);

enum pg_state { PG_DOWN, PG_CONNECTING, PG_UP };

struct pg {
	const struct mass_host *host;
	char *conninfo;
	char *cache_file;               /* NULL: no cache on disk */
	bool cache_dirty;               /* the copy changed since the cache was written */
	char table[PG_TABLE_MAX + 1];
	char channel[PG_TABLE_MAX + 16];
	char *sql_setup, *sql_load, *sql_row, *sql_add, *sql_del;
	const char *prefix;             /* crypt_gensalt prefix, e.g. "$y$" */
	unsigned long cost;

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

	struct pg_user *users;
	size_t nusers, capusers;

	/* the crypt worker: todo and done under lock; done signalled by a
	 * byte on pipe_w, read on the loop from pipe_r */
	uint8_t tag_key[16];            /* pg_tag()'s key, random per load */
	pthread_t worker;
	bool worker_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct pg_jobs todo, done;
	size_t njobs;                   /* submitted, not yet acted upon; the loop's only */
	int pipe_r, pipe_w;
	struct mass_watch *pipe_watch;
};

/* ------------------------------------------------------------- text helpers */

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

/* Network or server text, for a log line: printable ASCII kept, anything
 * else (and '\\') as \xHH; always NUL-terminated, cut to fit. */
static const char *pg_esc(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c <= 0x7E && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

/* A libpq or server message on one line: each run of blanks (newline,
 * tab, space) made one space, trailing ones dropped, the rest escaped. */
static const char *pg_oneline(const char *m, char *out, size_t cap)
{
	char flat[512];
	size_t n = 0;

	for (; *m != '\0' && n + 1 < sizeof(flat); m++) {
		bool blank = *m == '\n' || *m == '\t' || *m == ' ' || *m == '\r';

		if (!blank)
			flat[n++] = *m;
		else if (n > 0 && flat[n - 1] != ' ')
			flat[n++] = ' ';
	}
	while (n > 0 && flat[n - 1] == ' ')
		n--;
	return pg_esc(flat, n, out, cap);
}

/* libpq's last message, for the log. */
static const char *pg_errmsg(PGconn *conn, char *out, size_t cap)
{
	return pg_oneline(conn ? PQerrorMessage(conn) : "out of memory", out, cap);
}

static bool pg_ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char d = 0;

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/*
 * Good logins are remembered so that a user's next ones skip crypt(3), as
 * the server's own store does: pg_tag() is SipHash-2-4, under a key drawn
 * at each load, of (name, stored hash, password), kept with the user after
 * a successful check. A login whose tag matches is allowed at once; a
 * changed hash forgets it (the hash is in the input, and a new hash clears
 * the tag); failures are never remembered. The password itself is never
 * kept. Pure: the worker computes it too.
 */
static uint64_t pg_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define PG_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define PG_SIPROUND do { \
	v0 += v1; v1 = PG_ROTL(v1, 13); v1 ^= v0; v0 = PG_ROTL(v0, 32); \
	v2 += v3; v3 = PG_ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = PG_ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = PG_ROTL(v1, 17); v1 ^= v2; v2 = PG_ROTL(v2, 32); \
} while (0)

static uint64_t pg_siphash(const uint8_t key[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = pg_le64(key), k1 = pg_le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t m, b = (uint64_t)len << 56;
	size_t end = len - len % 8;

	for (size_t i = 0; i < end; i += 8) {
		m = pg_le64(in + i);
		v3 ^= m;
		PG_SIPROUND;
		PG_SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < len % 8; j++)
		b |= (uint64_t)in[end + j] << (8 * j);
	v3 ^= b;
	PG_SIPROUND;
	PG_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	PG_SIPROUND;
	PG_SIPROUND;
	PG_SIPROUND;
	PG_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The tag of a login: the three fields, each with its length in front. */
static uint64_t pg_tag(const uint8_t key[16], const char *name, size_t nlen, const char *hash,
		       const char *pass, size_t plen)
{
	uint8_t buf[3 * (PG_FIELD_MAX + 1)];
	size_t hlen = strlen(hash), o = 0;
	uint64_t t;

	buf[o++] = (uint8_t)nlen;
	memcpy(buf + o, name, nlen);
	o += nlen;
	buf[o++] = (uint8_t)hlen;
	memcpy(buf + o, hash, hlen);
	o += hlen;
	buf[o++] = (uint8_t)plen;
	memcpy(buf + o, pass, plen);
	o += plen;
	t = pg_siphash(key, buf, o);
	explicit_bzero(buf, sizeof(buf));
	return t;
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
	}
	free(u);
}

/* Sets name's hash in the copy (adding it). Returns 0, or -1 out of memory. */
static int pg_copy_put(struct pg *pg, const char *name, size_t nlen, const char *hash)
{
	long at = pg_copy_find(pg, name, nlen);
	char *h = strdup(hash), *n;
	size_t i;

	if (h == NULL)
		return -1;
	if (at >= 0) {
		if (strcmp(pg->users[at].hash, h) != 0)
			pg->users[at].tagged = false;  /* a new hash: the old password is forgotten */
		free(pg->users[at].hash);
		pg->users[at].hash = h;
		return 0;
	}
	if (pg->nusers == pg->capusers) {
		size_t cap = pg->capusers ? pg->capusers * 2 : 16;
		struct pg_user *u = realloc(pg->users, cap * sizeof(*u));

		if (u == NULL) {
			free(h);
			return -1;
		}
		pg->users = u;
		pg->capusers = cap;
	}
	if ((n = malloc(nlen + 1)) == NULL) {
		free(h);
		return -1;
	}
	memcpy(n, name, nlen);
	n[nlen] = '\0';
	i = (size_t)(-at - 1);
	memmove(pg->users + i + 1, pg->users + i, (pg->nusers - i) * sizeof(*pg->users));
	pg->users[i] = (struct pg_user){ n, nlen, h, 0, false };
	pg->nusers++;
	return 0;
}

static void pg_copy_del(struct pg *pg, const char *name, size_t nlen)
{
	long at = pg_copy_find(pg, name, nlen);

	if (at < 0)
		return;
	free(pg->users[at].name);
	free(pg->users[at].hash);
	memmove(pg->users + at, pg->users + at + 1, (pg->nusers - (size_t)at - 1) * sizeof(*pg->users));
	pg->nusers--;
}

static int pg_row_cmp(const void *a, const void *b)
{
	const struct pg_user *x = a, *y = b;

	return pg_user_cmp(x->name, x->nlen, y->name, y->nlen);
}

/*
 * The cache file (cache_file): the copy as NAME:HASH lines, so that a
 * restart or a reload (a new load starts with an empty copy) while the
 * database is down still knows the users. Written once the changes that
 * arrived together are applied (no statement left queued: a burst of
 * notifications is one write), to a temporary file renamed over it, mode
 * 0600; not synced: the database is the truth, and the next connection
 * reloads from it. Read once in init, on the loop like the server's own
 * users file.
 */
static void pg_cache_write(struct pg *pg)
{
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
			if (fprintf(f, "%s:%s\n", pg->users[i].name, pg->users[i].hash) < 0)
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
		pg->host->log(MASS_LOG_WARN, "cache %s: cannot write it: %s", pg->cache_file,
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
static void pg_cache_flush(struct pg *pg)
{
	if (pg->cache_dirty && TAILQ_EMPTY(&pg->ops)) {
		pg->cache_dirty = false;
		pg_cache_write(pg);
	}
}

/* Fills the (empty) copy from the cache file, when there is one. */
static void pg_cache_read(struct pg *pg)
{
	FILE *f = fopen(pg->cache_file, "re");
	char line[2 * PG_FIELD_MAX + 4], *colon;
	size_t n, bad = 0;

	if (f == NULL) {
		if (errno != ENOENT)
			pg->host->log(MASS_LOG_WARN, "cache %s: %s", pg->cache_file, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		colon = strchr(line, ':');
		if (colon == NULL || !pg_valid_field(line, (size_t)(colon - line), true) ||
		    !pg_valid_hash(colon + 1, strlen(colon + 1)) ||
		    pg_copy_put(pg, line, (size_t)(colon - line), colon + 1) < 0)
			bad++;
	}
	fclose(f);
	pg->host->log(bad ? MASS_LOG_WARN : MASS_LOG_INFO, "cache %s: %zu users until the "
		      "database answers%s", pg->cache_file, pg->nusers,
		      bad ? " (bad lines skipped)" : "");
}

/* ------------------------------------------------------------- crypt worker */

static void *pg_worker_main(void *arg)
{
	struct pg *pg = arg;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	struct pg_job *job;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *out;

	pthread_mutex_lock(&pg->lock);
	for (;;) {
		while (!pg->stop && STAILQ_EMPTY(&pg->todo))
			pthread_cond_wait(&pg->cond, &pg->lock);
		if (pg->stop)
			break;
		job = STAILQ_FIRST(&pg->todo);
		STAILQ_REMOVE_HEAD(&pg->todo, link);
		pthread_mutex_unlock(&pg->lock);

		job->ok = false;
		if (cd != NULL && job->kind == PG_JOB_VERIFY) {
			out = crypt_rn(job->pass, job->hash, cd, (int)sizeof(*cd));
			job->ok = out && out[0] == '$' &&
				  pg_ct_equal(out, strlen(out), job->hash, strlen(job->hash));
			if (job->ok)
				job->tag = pg_tag(pg->tag_key, job->name, job->nlen, job->hash,
						  job->pass, job->plen);
		} else if (cd != NULL && crypt_gensalt_rn(pg->prefix, pg->cost, NULL, 0, setting,
							  (int)sizeof(setting))) {
			out = crypt_rn(job->pass, setting, cd, (int)sizeof(*cd));
			if (out && out[0] == '$' && strlen(out) <= PG_FIELD_MAX) {
				strcpy(job->hash, out);
				job->ok = true;
			}
		}
		explicit_bzero(job->pass, sizeof(job->pass));
		if (cd != NULL)
			explicit_bzero(cd, sizeof(*cd));

		pthread_mutex_lock(&pg->lock);
		STAILQ_INSERT_TAIL(&pg->done, job, link);
		/* the pipe is non-blocking: when full, the loop has bytes to read
		 * already and will find this job with the others */
		if (write(pg->pipe_w, "", 1) < 0 && errno != EAGAIN)
			break;
	}
	pthread_mutex_unlock(&pg->lock);
	free(cd);
	return NULL;
}

/* True when PG_JOBS_MAX jobs wait already: a flood of logins must not
 * queue work without bound, so callers answer at once instead. */
static bool pg_jobs_full(const struct pg *pg)
{
	return pg->njobs >= PG_JOBS_MAX;
}

/* Hands job to the worker. */
static void pg_job_submit(struct pg *pg, struct pg_job *job)
{
	pg->njobs++;
	pthread_mutex_lock(&pg->lock);
	STAILQ_INSERT_TAIL(&pg->todo, job, link);
	pthread_cond_signal(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
}

static void pg_op_queue(struct pg *pg, struct pg_op *op);
static void pg_kick(struct pg *pg);

/* A finished HASH job: 0A's INSERT goes to the queue (or 01 when the
 * database went away meanwhile). */
static void pg_hash_done(struct pg *pg, struct pg_job *job)
{
	char esc[4 * PG_FIELD_MAX + 1];
	struct pg_op *op;

	if (!job->ok) {
		pg->host->log(MASS_LOG_ERROR, "add %s: crypt(3) failed to hash the password",
			      pg_esc(job->name, job->nlen, esc, sizeof(esc)));
		pg->host->reply_send(job->later, MASS_STATUS_ERROR);
		return;
	}
	if (pg->state != PG_UP || (op = calloc(1, sizeof(*op))) == NULL) {
		pg->host->log(MASS_LOG_WARN, "add %s: %s, answered 01",
			      pg_esc(job->name, job->nlen, esc, sizeof(esc)),
			      pg->state != PG_UP ? "database not connected" : "out of memory");
		pg->host->reply_send(job->later, MASS_STATUS_ERROR);
		return;
	}
	op->kind = PG_OP_ADD;
	op->later = job->later;
	memcpy(op->name, job->name, job->nlen + 1);
	op->nlen = job->nlen;
	strcpy(op->hash, job->hash);
	pg_op_queue(pg, op);
	pg_kick(pg);
}

/* A finished VERIFY job: the verdict, and a good login remembered when the
 * user still has the hash it was checked against. */
static void pg_verify_done(struct pg *pg, struct pg_job *job)
{
	long at = pg_copy_find(pg, job->name, job->nlen);

	if (job->ok && at >= 0 && strcmp(pg->users[at].hash, job->hash) == 0) {
		pg->users[at].tag = job->tag;
		pg->users[at].tagged = true;
	}
	pg->host->auth_complete(job->pending, job->ok ? MASS_AUTH_ALLOW : MASS_AUTH_DENY);
}

/* The worker's pipe is readable: every finished job is acted upon here,
 * on the loop. */
static void pg_pipe_ready(void *arg, struct mass_watch *w, int fd, int events)
{
	struct pg *pg = arg;
	struct pg_jobs done = STAILQ_HEAD_INITIALIZER(done);
	struct pg_job *job;
	char buf[64];

	(void)w;
	(void)events;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&pg->lock);
	STAILQ_CONCAT(&done, &pg->done);
	pthread_mutex_unlock(&pg->lock);
	while ((job = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, link);
		pg->njobs--;
		if (job->kind == PG_JOB_VERIFY)
			pg_verify_done(pg, job);
		else
			pg_hash_done(pg, job);
		free(job);
	}
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
static void pg_ops_fail(struct pg *pg)
{
	struct pg_op *op;

	while ((op = TAILQ_FIRST(&pg->ops)) != NULL) {
		TAILQ_REMOVE(&pg->ops, op, link);
		if (op->later != NULL)
			pg->host->reply_send(op->later, MASS_STATUS_ERROR);
		pg_op_free(op);
	}
	pg->inflight = false;
	pg->rows_queued = 0;
}

static void pg_retry_fire(void *arg, struct mass_timer *t);
static void pg_watch_ready(void *arg, struct mass_watch *w, int fd, int events);

/* The connection is gone (or never came): drop it, fail what was queued,
 * and try again after the backoff. what says why, for the log. */
static void pg_lost(struct pg *pg, const char *what)
{
	char msg[256];

	pg_errmsg(pg->conn, msg, sizeof(msg));
	pg->host->log(MASS_LOG_WARN, "%s%s%s; reconnecting in %u ms", what, msg[0] ? ": " : "",
		      msg, pg->backoff_ms);
	pg->host->watch_remove(pg->watch);
	pg->watch = NULL;
	pg->host->timer_cancel(pg->tick);
	pg->tick = NULL;
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	pg->conn = NULL;
	pg->fd = -1;
	pg->state = PG_DOWN;
	pg_ops_fail(pg);
	pg_cache_flush(pg);
	pg->retry = pg->host->timer_add(pg->backoff_ms, 0, pg_retry_fire, pg);
	pg->backoff_ms = pg->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS
								 : pg->backoff_ms * 2;
}

/* What the watch waits for: reading always once connected, writing while
 * libpq still holds output. Returns 0, or -1 when the connection failed
 * (pg_lost done). */
static int pg_flush(struct pg *pg)
{
	int r = PQflush(pg->conn);

	if (r < 0) {
		pg_lost(pg, "database connection lost");
		return -1;
	}
	pg->host->watch_set(pg->watch, MASS_WATCH_READ | (r ? MASS_WATCH_WRITE : 0));
	return 0;
}

/* Sends the head of the queue when nothing is in flight. */
static void pg_kick(struct pg *pg)
{
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
	default:
		ok = PQsendQueryParams(pg->conn, pg->sql_del, 1, NULL, params, NULL, NULL, 0);
		break;
	}
	if (!ok) {
		pg_lost(pg, "database connection lost");
		return;
	}
	pg->inflight = true;
	pg->sent_ms = pg->host->now_ms();
	pg_flush(pg);
}

/* Collects a LOAD or ROW result's valid rows into op->rows. */
static void pg_op_rows(struct pg *pg, struct pg_op *op, PGresult *res)
{
	int n = PQntuples(res), skipped = 0;
	char esc[4 * PG_FIELD_MAX + 1];

	if (PQnfields(res) != 2 || n <= 0)
		return;
	if ((op->rows = calloc((size_t)n, sizeof(*op->rows))) == NULL) {
		op->failed = true;
		snprintf(op->message, sizeof(op->message), "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = PQgetvalue(res, i, 0), *hash = PQgetvalue(res, i, 1);
		size_t nlen = (size_t)PQgetlength(res, i, 0);
		struct pg_user *u = &op->rows[op->nrows];

		if (!pg_valid_field(name, nlen, true) ||
		    !pg_valid_hash(hash, (size_t)PQgetlength(res, i, 1))) {
			if (skipped++ == 0)
				pg->host->log(MASS_LOG_WARN, "table %s: row %s skipped: name or hash "
					      "invalid (a crypt(3) hash is wanted, never a password)",
					      pg->table, pg_esc(name, nlen, esc, sizeof(esc)));
			continue;
		}
		u->name = strdup(name);
		u->nlen = nlen;
		u->hash = strdup(hash);
		op->nrows++;
		if (u->name == NULL || u->hash == NULL) {
			op->failed = true;
			snprintf(op->message, sizeof(op->message), "out of memory");
			return;
		}
	}
	if (skipped > 1)
		pg->host->log(MASS_LOG_WARN, "table %s: %d invalid rows skipped", pg->table, skipped);
}

/* One PGresult of the statement in flight. */
static void pg_op_result(struct pg *pg, struct pg_op *op, PGresult *res)
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
			pg_esc(s, strlen(s), op->message, sizeof(op->message));
		}
		op->failed = true;
		return;
	}
	if (op->kind == PG_OP_LOAD || op->kind == PG_OP_ROW)
		pg_op_rows(pg, op, res);
	else if (op->kind == PG_OP_ADD)
		op->done = true;
	else if (op->kind == PG_OP_DEL)
		op->done = strcmp(PQcmdTuples(res), "1") == 0;
}

/* Replaces the copy by a LOAD's rows (sorted here). */
static void pg_copy_replace(struct pg *pg, struct pg_op *op)
{
	if (op->nrows > 1)
		qsort(op->rows, op->nrows, sizeof(*op->rows), pg_row_cmp);
	pg_users_free(pg->users, pg->nusers);
	pg->users = op->rows;
	pg->nusers = pg->capusers = op->nrows;
	op->rows = NULL;
	op->nrows = 0;
	pg->host->log(MASS_LOG_INFO, "table %s: %zu users loaded", pg->table, pg->nusers);
}

/*
 * The statement in flight has given its last result: apply it to the copy,
 * answer its client. Returns 0, or -1 when the connection was dropped
 * (a failed SETUP: pg_lost done).
 */
static int pg_op_finish(struct pg *pg, struct pg_op *op)
{
	char esc[4 * PG_FIELD_MAX + 1];
	const char *name = pg_esc(op->name, op->nlen, esc, sizeof(esc));
	bool ok = !op->failed;

	if (ok && op->kind != PG_OP_SETUP && op->kind != PG_OP_PING)
		pg_cache_dirty(pg);
	switch (op->kind) {
	case PG_OP_SETUP:
		if (!ok) {
			pg->host->log(MASS_LOG_ERROR, "table %s: setup failed: %s (SQLSTATE %s)",
				      pg->table, op->message, op->sqlstate);
			return -1;
		}
		break;
	case PG_OP_LOAD:
		if (ok)
			pg_copy_replace(pg, op);
		else
			pg->host->log(MASS_LOG_ERROR, "table %s: load failed: %s; the copy is kept",
				      pg->table, op->message);
		break;
	case PG_OP_ROW:
		if (!ok)
			pg->host->log(MASS_LOG_ERROR, "table %s: reloading %s failed: %s",
				      pg->table, name, op->message);
		else if (op->nrows == 1)
			ok = pg_copy_put(pg, op->rows[0].name, op->rows[0].nlen, op->rows[0].hash) == 0;
		else
			pg_copy_del(pg, op->name, op->nlen);
		break;
	case PG_OP_PING:
		break;
	case PG_OP_ADD:
	case PG_OP_DEL:
		if (op->kind == PG_OP_ADD && ok)
			ok = pg_copy_put(pg, op->name, op->nlen, op->hash) == 0;
		else if (ok && op->done)
			pg_copy_del(pg, op->name, op->nlen);
		if (!ok)
			pg->host->log(strcmp(op->sqlstate, "23505") == 0 ? MASS_LOG_INFO : MASS_LOG_WARN,
				      "%s %s: %s, answered 01", op->kind == PG_OP_ADD ? "add" : "delete",
				      name, op->message[0] ? op->message : "out of memory");
		else
			pg->host->log(MASS_LOG_INFO, "%s %s: %s", op->kind == PG_OP_ADD ? "add" : "delete",
				      name, op->done ? "committed" : "no such user, answered 01");
		pg->host->reply_send(op->later, ok && op->done ? MASS_STATUS_OK : MASS_STATUS_ERROR);
		op->later = NULL;
		break;
	}
	return 0;
}

/* A notification: reload the row it names ("" after a TRUNCATE: all). */
static void pg_notified(struct pg *pg, const char *name)
{
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
		pg->host->log(MASS_LOG_ERROR, "table %s: out of memory for a change notification",
			      pg->table);
		return;
	}
	memcpy(op->name, name, nlen + 1);
	op->nlen = nlen;
	pg_op_queue(pg, op);
}

/* The notifications libpq has parsed so far. */
static void pg_notifies(struct pg *pg)
{
	PGnotify *n;

	while ((n = PQnotifies(pg->conn)) != NULL) {
		if (strcmp(n->relname, pg->channel) == 0)
			pg_notified(pg, n->extra);
		PQfreemem(n);
	}
}

/* Input arrived: notifications and results, as long as libpq holds them.
 * libpq parses what follows a result only once that result is taken, so
 * notifications are looked for again after the results. */
static void pg_input(struct pg *pg)
{
	PGresult *res;
	struct pg_op *op;

	if (!PQconsumeInput(pg->conn)) {
		pg_lost(pg, "database connection lost");
		return;
	}
	pg_notifies(pg);
	while (pg->inflight && !PQisBusy(pg->conn)) {
		op = TAILQ_FIRST(&pg->ops);
		if ((res = PQgetResult(pg->conn)) != NULL) {
			pg_op_result(pg, op, res);
			PQclear(res);
			continue;
		}
		TAILQ_REMOVE(&pg->ops, op, link);
		pg->inflight = false;
		if (pg_op_finish(pg, op) < 0) {
			pg_op_free(op);
			pg_lost(pg, "database setup failed");
			return;
		}
		pg_op_free(op);
	}
	if (PQstatus(pg->conn) == CONNECTION_BAD) {
		pg_lost(pg, "database connection lost");
		return;
	}
	pg_notifies(pg);
	pg_cache_flush(pg);
	if (!pg->inflight)
		pg_kick(pg);
	else
		pg_flush(pg);
}

/* ------------------------------------------------------------- connecting */

/*
 * The watchdog, every PG_TICK_MS while connected: a link that died without
 * a FIN or RST (a host gone, a partition) shows only as a statement never
 * answered, so one in flight for PG_STALL_MS drops the connection, and an
 * idle link gets an empty statement every PG_IDLE_MS to find out. Without
 * it a silent loss would also lose the notifications unnoticed.
 */
static void pg_tick(void *arg, struct mass_timer *t)
{
	struct pg *pg = arg;
	uint64_t age = pg->host->now_ms() - pg->sent_ms;
	struct pg_op *op;

	(void)t;
	if (pg->inflight && age >= PG_STALL_MS) {
		pg->host->log(MASS_LOG_WARN, "no answer from the database for %llu ms",
			      (unsigned long long)age);
		pg_lost(pg, "database connection dropped");
	} else if (!pg->inflight && TAILQ_EMPTY(&pg->ops) && age >= PG_IDLE_MS &&
		   (op = pg_op_new(PG_OP_PING)) != NULL) {
		pg_op_queue(pg, op);
		pg_kick(pg);
	}
}

static void pg_connected(struct pg *pg)
{
	struct pg_op *setup = pg_op_new(PG_OP_SETUP), *load = pg_op_new(PG_OP_LOAD);

	if (setup == NULL || load == NULL || PQsetnonblocking(pg->conn, 1) != 0) {
		free(setup);
		free(load);
		pg_lost(pg, "database connection unusable");
		return;
	}
	pg->state = PG_UP;
	pg->backoff_ms = PG_BACKOFF_MIN_MS;
	pg->tick = pg->host->timer_add(PG_TICK_MS, PG_TICK_MS, pg_tick, pg);
	pg->host->log(MASS_LOG_INFO, "connected to database %s on %s port %s; loading table %s",
		      PQdb(pg->conn), PQhost(pg->conn), PQport(pg->conn), pg->table);
	pg_op_queue(pg, setup);
	pg_op_queue(pg, load);
	pg_kick(pg);
}

/* One step of PQconnectPoll; libpq may move to another socket (another
 * address of the host), then the watch follows it. */
static void pg_connect_step(struct pg *pg)
{
	PostgresPollingStatusType r = PQconnectPoll(pg->conn);
	int fd = PQsocket(pg->conn);

	if (r == PGRES_POLLING_FAILED || fd < 0) {
		pg_lost(pg, "cannot connect to the database");
		return;
	}
	if (fd != pg->fd) {
		pg->host->watch_remove(pg->watch);
		pg->fd = fd;
		if ((pg->watch = pg->host->watch_add(fd, MASS_WATCH_WRITE, pg_watch_ready, pg)) == NULL) {
			pg_lost(pg, "cannot watch the database socket");
			return;
		}
	}
	if (r == PGRES_POLLING_OK)
		pg_connected(pg);
	else
		pg->host->watch_set(pg->watch, r == PGRES_POLLING_READING ? MASS_WATCH_READ
									  : MASS_WATCH_WRITE);
}

static void pg_watch_ready(void *arg, struct mass_watch *w, int fd, int events)
{
	struct pg *pg = arg;

	(void)w;
	(void)fd;
	if (pg->state == PG_CONNECTING)
		pg_connect_step(pg);
	else if (pg->state == PG_UP && (events & MASS_WATCH_WRITE) &&
		 !(events & (MASS_WATCH_READ | MASS_WATCH_ERROR)))
		pg_flush(pg);
	else if (pg->state == PG_UP)
		pg_input(pg);
}

/* What the server says outside a result (a warning, "terminating
 * connection due to administrator command"): to the log, not to stderr,
 * which is libpq's default. */
static void pg_notice(void *arg, const char *message)
{
	struct pg *pg = arg;
	char esc[512];

	pg->host->log(MASS_LOG_INFO, "server: %s", pg_oneline(message, esc, sizeof(esc)));
}

static void pg_connect(struct pg *pg)
{
	pg->conn = PQconnectStart(pg->conninfo);
	if (pg->conn == NULL || PQstatus(pg->conn) == CONNECTION_BAD) {
		pg_lost(pg, "cannot connect to the database");
		return;
	}
	PQsetNoticeProcessor(pg->conn, pg_notice, pg);
	pg->state = PG_CONNECTING;
	pg->fd = PQsocket(pg->conn);
	/* libpq's first wait is for writing (the connect in progress) */
	pg->watch = pg->fd < 0 ? NULL : pg->host->watch_add(pg->fd, MASS_WATCH_WRITE,
							       pg_watch_ready, pg);
	if (pg->watch == NULL)
		pg_lost(pg, "cannot watch the database socket");
}

static void pg_retry_fire(void *arg, struct mass_timer *t)
{
	struct pg *pg = arg;

	(void)t;
	pg->retry = NULL;
	pg->host->log(MASS_LOG_DEBUG, "connecting to the database");
	pg_connect(pg);
}

/* ------------------------------------------------------------- logins */

/* The provider: a name the copy does not hold is not ours (DECLINE); one it
 * holds is checked against its hash by the worker (PENDING). */
static int pg_auth(void *arg, const struct mass_auth_query *q, struct mass_auth *pending)
{
	struct pg *pg = arg;
	long at;
	struct pg_job *job;

	if (!pg_valid_field(q->user, q->user_len, true) || (at = pg_copy_find(pg, q->user, q->user_len)) < 0)
		return MASS_AUTH_DECLINE;
	if (!pg_valid_field(q->pass, q->pass_len, false))
		return MASS_AUTH_DENY;
	if (pg->users[at].tagged && pg->users[at].tag == pg_tag(pg->tag_key, q->user, q->user_len,
								 pg->users[at].hash, q->pass, q->pass_len))
		return MASS_AUTH_ALLOW;
	if (pg_jobs_full(pg)) {
		pg->host->log(MASS_LOG_WARN, "%d password checks waiting: login refused", PG_JOBS_MAX);
		return MASS_AUTH_DENY;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return MASS_AUTH_DENY;
	job->kind = PG_JOB_VERIFY;
	job->pending = pending;
	memcpy(job->name, q->user, q->user_len);
	job->nlen = q->user_len;
	memcpy(job->pass, q->pass, q->pass_len);
	job->plen = q->pass_len;
	strcpy(job->hash, pg->users[at].hash);
	pg_job_submit(pg, job);
	return MASS_AUTH_PENDING;
}

/* ------------------------------------------------------------- MASS indexes */

/* 01: the names of the copy, in byte order; the first 255 (COUNT is one octet). */
static int pg_list(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct pg *pg = state;
	size_t n = pg->nusers < PG_LIST_MAX ? pg->nusers : PG_LIST_MAX;
	long mark = pg->host->reply_count_begin(reply);

	(void)req;
	for (size_t i = 0; i < n; i++)
		pg->host->reply_str(reply, pg->users[i].name, pg->users[i].nlen);
	pg->host->reply_count_end(reply, mark, n);
	return MASS_STATUS_OK;
}

/* True when the built-in store holds name: a pgsql user of that name could
 * never log in (the store decides names it holds). */
static bool pg_in_store(const struct pg *pg, const char *name, size_t nlen)
{
	size_t n = pg->host->users_count(), len;

	for (size_t i = 0; i < n; i++) {
		const char *s = pg->host->users_name(i, &len);

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

/* 0A NAME PASS: 01 at once for an invalid or known name or a database not
 * connected; else the worker hashes (a ready crypt(3) string skips that),
 * the INSERT is queued, and the reply waits for its commit. */
static int pg_add(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct pg *pg = state;
	const struct mass_param *name = &req->params[0], *pass = &req->params[1];
	char esc[4 * PG_FIELD_MAX + 1];
	struct pg_job *job;

	if (!pg_valid_field((const char *)name->data, name->len, true) ||
	    !pg_valid_field((const char *)pass->data, pass->len, false))
		return MASS_STATUS_ERROR;
	pg_esc((const char *)name->data, name->len, esc, sizeof(esc));
	if (pg->state != PG_UP) {
		pg->host->log(MASS_LOG_WARN, "add %s: database not connected, answered 01", esc);
		return MASS_STATUS_ERROR;
	}
	if (pg_copy_find(pg, (const char *)name->data, name->len) >= 0 ||
	    pg_in_store(pg, (const char *)name->data, name->len)) {
		pg->host->log(MASS_LOG_INFO, "add %s: the user exists, answered 01", esc);
		return MASS_STATUS_ERROR;
	}
	if (pg_jobs_full(pg)) {
		pg->host->log(MASS_LOG_WARN, "add %s: %d password jobs waiting, answered 01", esc,
			      PG_JOBS_MAX);
		return MASS_STATUS_ERROR;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return MASS_STATUS_ERROR;
	if ((job->later = pg->host->reply_defer(reply)) == NULL) {
		free(job);
		return MASS_STATUS_ERROR;
	}
	job->kind = PG_JOB_HASH;
	memcpy(job->name, name->data, name->len);
	job->nlen = name->len;
	if (pg_is_hash((const char *)pass->data, pass->len)) {
		memcpy(job->hash, pass->data, pass->len);
		job->ok = true;
		pg_hash_done(pg, job);
		free(job);
		return MASS_STATUS_PENDING;
	}
	memcpy(job->pass, pass->data, pass->len);
	job->plen = pass->len;
	pg_job_submit(pg, job);
	return MASS_STATUS_PENDING;
}

/* 0B NAME: the DELETE is queued; the reply waits for its commit. */
static int pg_del(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct pg *pg = state;
	const struct mass_param *name = &req->params[0];
	char esc[4 * PG_FIELD_MAX + 1];
	struct pg_op *op;

	if (!pg_valid_field((const char *)name->data, name->len, true))
		return MASS_STATUS_ERROR;
	if (pg->state != PG_UP) {
		pg->host->log(MASS_LOG_WARN, "delete %s: database not connected, answered 01",
			      pg_esc((const char *)name->data, name->len, esc, sizeof(esc)));
		return MASS_STATUS_ERROR;
	}
	if ((op = pg_op_new(PG_OP_DEL)) == NULL)
		return MASS_STATUS_ERROR;
	if ((op->later = pg->host->reply_defer(reply)) == NULL) {
		free(op);
		return MASS_STATUS_ERROR;
	}
	memcpy(op->name, name->data, name->len);
	op->nlen = name->len;
	pg_op_queue(pg, op);
	pg_kick(pg);
	return MASS_STATUS_PENDING;
}

/* ------------------------------------------------------------- init, fini */

/* mass.ini's password_hash names, as the server's (src/auth/cred.c). */
static const struct { const char *name, *prefix; } pg_methods[] = {
	{ "yescrypt", "$y$" }, { "gost-yescrypt", "$gy$" }, { "scrypt", "$7$" },
	{ "bcrypt", "$2b$" }, { "sha512crypt", "$6$" }, { "sha256crypt", "$5$" },
};

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
 * by pg_valid_table). SETUP creates only what is missing (so an account
 * that may only SELECT, INSERT and DELETE works once a DBA made the
 * objects), under a transaction-scoped advisory lock so that instances
 * starting together do not race; LISTEN comes before the LOAD queued after
 * it, so no change falls between the two.
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
		"   created timestamptz NOT NULL DEFAULT now());"
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
		t, t, t, t, t, c, c, c, c, t, t, t, t, t, t, t, t, t, t, c);
	pg->sql_load = pg_sprintf("SELECT name, hash FROM %s", t);
	pg->sql_row = pg_sprintf("SELECT name, hash FROM %s WHERE name = $1", t);
	pg->sql_add = pg_sprintf("INSERT INTO %s (name, hash) VALUES ($1, $2)", t);
	pg->sql_del = pg_sprintf("DELETE FROM %s WHERE name = $1", t);
	return pg->sql_setup && pg->sql_load && pg->sql_row && pg->sql_add && pg->sql_del ? 0 : -1;
}

static void pg_free(struct pg *pg)
{
	struct pg_job *job;

	if (pg->worker_started) {
		pthread_mutex_lock(&pg->lock);
		pg->stop = true;
		pthread_cond_signal(&pg->cond);
		pthread_mutex_unlock(&pg->lock);
		pthread_join(pg->worker, NULL);
	}
	/* the host frees the pending logins and deferred replies of this load
	 * once fini returns; only our own memory goes here */
	STAILQ_CONCAT(&pg->todo, &pg->done);
	while ((job = STAILQ_FIRST(&pg->todo)) != NULL) {
		STAILQ_REMOVE_HEAD(&pg->todo, link);
		explicit_bzero(job, sizeof(*job));
		free(job);
	}
	while (!TAILQ_EMPTY(&pg->ops)) {
		struct pg_op *op = TAILQ_FIRST(&pg->ops);

		TAILQ_REMOVE(&pg->ops, op, link);
		pg_op_free(op);
	}
	if (pg->host != NULL) {
		pg->host->watch_remove(pg->watch);
		pg->host->watch_remove(pg->pipe_watch);
		pg->host->timer_cancel(pg->retry);
		pg->host->timer_cancel(pg->tick);
		if (pg->cache_dirty)
			pg_cache_write(pg);
	}
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	if (pg->pipe_r >= 0)
		close(pg->pipe_r);
	if (pg->pipe_w >= 0)
		close(pg->pipe_w);
	pg_users_free(pg->users, pg->nusers);
	free(pg->conninfo);
	free(pg->cache_file);
	free(pg->sql_setup);
	free(pg->sql_load);
	free(pg->sql_row);
	free(pg->sql_add);
	free(pg->sql_del);
	pthread_mutex_destroy(&pg->lock);
	pthread_cond_destroy(&pg->cond);
	free(pg);
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

/* Reads [plugin pgsql]. Returns 0, or -1 with the reason in err. */
static int pg_configure(struct pg *pg, const struct mass_config *config, char *err, size_t errlen)
{
	const char *method = "yescrypt";

	for (size_t i = 0; i < config->count; i++) {
		const struct mass_config_item *it = &config->items[i];
		char *end;

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
		} else if (strcmp(it->key, "password_hash") == 0) {
			method = it->value;
		} else if (strcmp(it->key, "password_cost") == 0) {
			errno = 0;
			pg->cost = strtoul(it->value, &end, 10);
			if (errno || end == it->value || *end != '\0' || it->value[0] == '-') {
				snprintf(err, errlen, "%s:%u: password_cost: not a number", config->file,
					 it->line);
				return -1;
			}
		} else if (strcmp(it->key, "cache_file") == 0) {
			free(pg->cache_file);
			pg->cache_file = it->value[0] ? strdup(it->value) : NULL;
			if (it->value[0] && pg->cache_file == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		} else if (strcmp(it->key, "module") != 0) {
			snprintf(err, errlen, "%s:%u: unknown key \"%.64s\" (conninfo, table, cache_file, "
				 "password_hash, password_cost)", config->file, it->line, it->key);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(pg_methods) / sizeof(pg_methods[0]); i++)
		if (strcmp(pg_methods[i].name, method) == 0)
			pg->prefix = pg_methods[i].prefix;
	if (pg->prefix == NULL) {
		snprintf(err, errlen, "password_hash: unknown method \"%.64s\"", method);
		return -1;
	}
	if (pg->conninfo == NULL) {
		snprintf(err, errlen, "conninfo is required (libpq syntax, e.g. "
			 "\"host=127.0.0.1 dbname=mass user=mass\")");
		return -1;
	}
	return pg_check_conninfo(pg->conninfo, err, errlen);
}

/* Everything but the connection: the thread, its pipe, the statements. */
static int pg_start(struct pg *pg, char *err, size_t errlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	int fds[2];

	if (getrandom(pg->tag_key, sizeof(pg->tag_key), 0) != (ssize_t)sizeof(pg->tag_key)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	if (!crypt_gensalt_rn(pg->prefix, pg->cost, NULL, 0, setting, (int)sizeof(setting))) {
		snprintf(err, errlen, "password_hash/password_cost: this libcrypt cannot make "
			 "such hashes (%s)", strerror(errno));
		return -1;
	}
	snprintf(pg->channel, sizeof(pg->channel), "%s_changed", pg->table);
	if (pg_sql_make(pg) < 0 || pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		snprintf(err, errlen, "out of memory or descriptors");
		return -1;
	}
	pg->pipe_r = fds[0];
	pg->pipe_w = fds[1];
	if ((pg->pipe_watch = pg->host->watch_add(pg->pipe_r, MASS_WATCH_READ, pg_pipe_ready, pg)) == NULL ||
	    !pg->host->auth_provider_add(MASS_AUTH_SOCKS, 0, pg_auth, pg)) {
		snprintf(err, errlen, "cannot register with the host: %s", strerror(errno));
		return -1;
	}
	if (pthread_create(&pg->worker, NULL, pg_worker_main, pg) != 0) {
		snprintf(err, errlen, "cannot start the crypt thread");
		return -1;
	}
	pg->worker_started = true;
	return 0;
}

static int pg_init(const struct mass_host *host, const struct mass_config *config,
		   void **state, char *err, size_t errlen)
{
	struct pg *pg;

	if (host->abi_minor < 1 || !MASS_HOST_HAS(host, reply_send) ||
	    !MASS_HOST_HAS(host, auth_complete) || !MASS_HOST_HAS(host, watch_remove)) {
		snprintf(err, errlen, "needs ABI 1.1");
		return -1;
	}
	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&pg->lock, NULL);
	pthread_cond_init(&pg->cond, NULL);
	STAILQ_INIT(&pg->todo);
	STAILQ_INIT(&pg->done);
	TAILQ_INIT(&pg->ops);
	pg->pipe_r = pg->pipe_w = pg->fd = -1;
	pg->backoff_ms = PG_BACKOFF_MIN_MS;
	strcpy(pg->table, "socks_users");
	if (pg_configure(pg, config, err, errlen) < 0) {
		pg_free(pg);
		return -1;
	}
	pg->host = host;
	if (pg_start(pg, err, errlen) < 0) {
		pg_free(pg);
		return -1;
	}
	if (pg->cache_file != NULL)
		pg_cache_read(pg);
	host->log(MASS_LOG_INFO, "connecting to the database; users in table %s", pg->table);
	pg_connect(pg);
	*state = pg;
	return 0;
}

static void pg_fini(void *state)
{
	pg_free(state);
}

static const struct mass_index pg_indexes[] = {
	{ .index = 0x01, .signature = "", .usage = "list the SOCKS users (PostgreSQL)", .handler = pg_list },
	{ .index = 0x0A, .signature = "ss", .usage = "add a SOCKS user to PostgreSQL: NAME PASSWORD", .handler = pg_add },
	{ .index = 0x0B, .signature = "s", .usage = "delete a SOCKS user from PostgreSQL: NAME", .handler = pg_del },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "pgsql",
	.version = "1.0.0",
	.description = "SOCKS users in PostgreSQL, shared by every instance",
	MASS_PLUGIN_INDEXES(pg_indexes),
	.init = pg_init,
	.fini = pg_fini,
};
