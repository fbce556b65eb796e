/*
 * dissect: the flow machinery shared by the password dissectors: feeding,
 * the line splitter and budget, the queue of commands awaiting answers, the
 * reporting. It names no protocol (dissect_registry.c holds the table). See
 * dissect.h for the relay's side and dissect_int.h for the protocols' side.
 */
#include "dissect.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "dissect_int.h"

/* The line splitter of one direction. */
struct dissect_split {
	char buf[DISSECT_LINE_MAX];
	size_t len;
	bool cut;          /* the current unit outgrew buf; skipping its rest */
	uint64_t raw;      /* bytes still to pass as a raw block */
	bool raw_keep;     /* hand them over (else skip them) */
	bool raw_pass;     /* the owner may take them unseen (dissect_pass) */
	size_t seen;       /* line bytes since the last reset, against DISSECT_BUDGET */
};

struct dissect_waiting {
	int kind;
	char *cred;        /* user then pass, malloc'd, or NULL */
	size_t user_len, pass_len;
};

struct dissect {
	const struct dissect_proto *proto;  /* NULL until the first line settles it */
	const struct dissect_proto *by_port;
	const struct dissect_proto *candidates[DISSECT_COUNT]; /* protocols with ports */
	size_t ncandidates;
	dissect_report_fn *report;
	void *ctx;
	bool stopped;
	struct dissect_split split[2];
	struct dissect_waiting queue[DISSECT_QUEUE_MAX];
	unsigned head, count;
	alignas(max_align_t) unsigned char state[];
};

/* The largest state of the candidates: the flow is settled after start. */
static size_t dissect_state_max(const struct dissect_proto *const *candidates, size_t n)
{
	size_t max = 0;

	for (size_t i = 0; i < n; i++)
		if (candidates[i]->state_size > max)
			max = candidates[i]->state_size;
	return max;
}

struct dissect *dissect_flow_new(const struct dissect_proto *const *candidates, size_t n,
				 const struct dissect_proto *by_port,
				 dissect_report_fn *report, void *ctx)
{
	struct dissect *d;

	if (n > DISSECT_COUNT)
		n = DISSECT_COUNT;
	d = calloc(1, sizeof(*d) + dissect_state_max(candidates, n));
	if (d == NULL)
		return NULL;
	memcpy(d->candidates, candidates, n * sizeof(candidates[0]));
	d->ncandidates = n;
	d->by_port = by_port;
	d->report = report;
	d->ctx = ctx;
	return d;
}

/* What the candidate says of the first line (NO when it has no hook). */
static enum dissect_sniff dissect_sniff_one(const struct dissect_proto *p, enum dissect_dir dir,
					    const struct dissect_unit *u)
{
	return p->sniff != NULL ? p->sniff(dir, u, false) : DISSECT_SNIFF_NO;
}

/* The first line of the flow settles the protocol (see dissect_flow_new). */
static void dissect_settle(struct dissect *d, enum dissect_dir dir, const struct dissect_unit *u)
{
	const struct dissect_proto *yes = NULL, *maybe = NULL;

	if (dissect_sniff_one(d->by_port, dir, u) != DISSECT_SNIFF_NO) {
		yes = d->by_port;
	} else {
		for (size_t i = 0; i < d->ncandidates && yes == NULL; i++) {
			enum dissect_sniff v = dissect_sniff_one(d->candidates[i], dir, u);

			if (v == DISSECT_SNIFF_YES)
				yes = d->candidates[i];
			else if (v == DISSECT_SNIFF_MAYBE && maybe == NULL)
				maybe = d->candidates[i];
		}
	}
	d->proto = yes != NULL ? yes : maybe != NULL ? maybe : d->by_port;
	if (d->proto->init != NULL)
		d->proto->init(d->state);
}

static void dissect_report(struct dissect *d, const char *user, size_t user_len,
			   const char *pass, size_t pass_len, const char *result)
{
	struct dissect_credential c = {
		.protocol = d->proto != NULL ? d->proto->name : d->by_port->name,
		.user = user, .user_len = user_len,
		.pass = pass, .pass_len = pass_len,
		.result = result,
	};

	if (d->report != NULL)
		d->report(d->ctx, &c);
}

int dissect_queue_push(struct dissect *d, int kind)
{
	struct dissect_waiting *w;

	if (d->count == DISSECT_QUEUE_MAX)
		return -1;
	w = &d->queue[(d->head + d->count++) % DISSECT_QUEUE_MAX];
	*w = (struct dissect_waiting){ .kind = kind };
	return 0;
}

int dissect_queue_head(const struct dissect *d)
{
	return d->count > 0 ? d->queue[d->head].kind : -1;
}

void dissect_queue_set_head(struct dissect *d, int kind)
{
	if (d->count > 0)
		d->queue[d->head].kind = kind;
}

int dissect_queue_credential(struct dissect *d, const char *user, size_t user_len,
			     const char *pass, size_t pass_len)
{
	struct dissect_waiting *w = &d->queue[(d->head + d->count + DISSECT_QUEUE_MAX - 1) % DISSECT_QUEUE_MAX];
	char *cred;

	if (d->count == 0 || (cred = malloc(user_len + pass_len + 1)) == NULL) {
		dissect_report(d, user, user_len, pass, pass_len, "?");
		return -1;
	}
	memcpy(cred, user, user_len);
	memcpy(cred + user_len, pass, pass_len);
	free(w->cred);
	w->cred = cred;
	w->user_len = user_len;
	w->pass_len = pass_len;
	return 0;
}

bool dissect_queue_answer(struct dissect *d, const char *result)
{
	struct dissect_waiting *w = &d->queue[d->head];
	bool had = false;

	if (d->count == 0)
		return false;
	if (w->cred != NULL) {
		if (result != NULL)
			dissect_report(d, w->cred, w->user_len, w->cred + w->user_len, w->pass_len,
				       result);
		free(w->cred);
		had = true;
	}
	*w = (struct dissect_waiting){ .kind = -1 };
	d->head = (d->head + 1) % DISSECT_QUEUE_MAX;
	d->count--;
	return had;
}

void dissect_budget_reset(struct dissect *d, enum dissect_dir dir)
{
	d->split[dir].seen = 0;
}

enum dissect_verdict dissect_tls(struct dissect *d)
{
	log_debug("dissect: %s switches to TLS, the rest of the flow is not inspected",
		  d->proto->name);
	return DISSECT_STOP;
}

int dissect_reply_code(const struct dissect_unit *u, char *sep)
{
	int code = 0;

	if (u->len < 3)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		if (u->s[i] < '0' || u->s[i] > '9')
			return 0;
		code = code * 10 + (u->s[i] - '0');
	}
	*sep = u->len > 3 ? u->s[3] : ' ';
	return (*sep == ' ' || *sep == '-') && code >= 100 ? code : 0;
}

bool dissect_word(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	if (len < n || (len > n && s[n] != ' '))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != word[i])
			return false;
	}
	return true;
}

void dissect_raw(struct dissect *d, enum dissect_dir dir, uint64_t n, enum dissect_raw_mode mode)
{
	struct dissect_split *sp = &d->split[dir];

	sp->raw = n;
	sp->raw_keep = mode == DISSECT_RAW_KEEP && n > 0;
	sp->raw_pass = mode == DISSECT_RAW_PASS && n > 0;
	sp->len = 0;
	sp->cut = false;
}

uint64_t dissect_pass(struct dissect *d, enum dissect_dir dir)
{
	struct dissect_split *sp;
	uint64_t n;

	if (d == NULL || d->stopped || (dir != DISSECT_TO_SERVER && dir != DISSECT_TO_CLIENT))
		return 0;
	sp = &d->split[dir];
	if (!sp->raw_pass)
		return 0;
	n = sp->raw;
	sp->raw = 0;
	sp->raw_pass = false;
	return n;
}

/* Hands the collected unit to the protocol and resets the splitter. */
static enum dissect_verdict dissect_deliver(struct dissect *d, enum dissect_dir dir, bool raw)
{
	struct dissect_split *sp = &d->split[dir];
	struct dissect_unit u = { .s = sp->buf, .len = sp->len, .cut = sp->cut, .raw = raw };

	if (!raw && !u.cut && u.len > 0 && u.s[u.len - 1] == '\r')
		u.len--;
	if (raw && u.cut)
		u.len = 0;
	sp->len = 0;
	sp->cut = false;
	if (d->proto == NULL)
		dissect_settle(d, dir, &u);
	return d->proto->unit(d, d->state, dir, &u);
}

/* Appends to the current unit up to the cap; beyond it the unit is cut. */
static void dissect_collect(struct dissect_split *sp, const uint8_t *buf, size_t n)
{
	size_t room = sizeof(sp->buf) - sp->len;

	if (n > room) {
		n = room;
		sp->cut = true;
	}
	memcpy(sp->buf + sp->len, buf, n);
	sp->len += n;
}

/* Consumes the start of buf as raw bytes; returns how many. */
static size_t dissect_feed_raw(struct dissect *d, enum dissect_dir dir, const uint8_t *buf,
			       size_t len, enum dissect_verdict *v)
{
	struct dissect_split *sp = &d->split[dir];
	size_t take = sp->raw < len ? (size_t)sp->raw : len;

	if (sp->raw_keep) {
		dissect_collect(sp, buf, take);
		sp->seen += take;
	}
	sp->raw -= take;
	if (sp->raw == 0)
		sp->raw_pass = false;
	if (sp->raw == 0 && sp->raw_keep) {
		sp->raw_keep = false;
		*v = dissect_deliver(d, dir, true);
	}
	return take;
}

/* Consumes the start of buf as line bytes; returns how many. */
static size_t dissect_feed_line(struct dissect *d, enum dissect_dir dir, const uint8_t *buf,
				size_t len, enum dissect_verdict *v)
{
	struct dissect_split *sp = &d->split[dir];
	const uint8_t *lf;

	if (len > DISSECT_BUDGET - sp->seen)
		len = DISSECT_BUDGET - sp->seen;
	lf = memchr(buf, '\n', len);
	if (lf == NULL) {
		dissect_collect(sp, buf, len);
		sp->seen += len;
		return len;
	}
	dissect_collect(sp, buf, (size_t)(lf - buf));
	sp->seen += (size_t)(lf - buf) + 1;
	*v = dissect_deliver(d, dir, false);
	return (size_t)(lf - buf) + 1;
}

enum dissect_verdict dissect_feed(struct dissect *d, enum dissect_dir dir,
				  const uint8_t *buf, size_t len)
{
	struct dissect_split *sp;
	enum dissect_verdict v = DISSECT_CONTINUE;

	if (d == NULL || d->stopped || (dir != DISSECT_TO_SERVER && dir != DISSECT_TO_CLIENT))
		return DISSECT_STOP;
	sp = &d->split[dir];
	while (len > 0 && v == DISSECT_CONTINUE && sp->seen < DISSECT_BUDGET) {
		size_t used = sp->raw > 0 ? dissect_feed_raw(d, dir, buf, len, &v)
					  : dissect_feed_line(d, dir, buf, len, &v);

		buf += used;
		len -= used;
	}
	if (v == DISSECT_STOP || sp->seen >= DISSECT_BUDGET)
		d->stopped = true;
	return d->stopped ? DISSECT_STOP : DISSECT_CONTINUE;
}

void dissect_free(struct dissect *d)
{
	if (d == NULL)
		return;
	while (d->count > 0)
		dissect_queue_answer(d, "?");
	free(d);
}
