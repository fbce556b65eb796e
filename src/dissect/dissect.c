/*
 * dissect: the framework shared by the password dissectors. See dissect.h
 * for the relay's side and dissect_int.h for the protocols' side.
 */
#include "dissect.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "dissect_int.h"

/* The registry: one line per protocol, in no particular order. */
static const struct dissect_proto *const dissect_protos[] = {
	&dissect_pop3, &dissect_http, &dissect_ftp, &dissect_imap,
};

#define DISSECT_NPROTOS (sizeof(dissect_protos) / sizeof(dissect_protos[0]))

/* The line splitter of one direction. */
struct dissect_split {
	char buf[DISSECT_LINE_MAX];
	size_t len;
	bool cut;          /* the current unit outgrew buf; skipping its rest */
	uint64_t raw;      /* bytes still to pass as a raw block */
	bool raw_keep;     /* hand them over (else skip them) */
	size_t seen;       /* bytes fed, against DISSECT_BUDGET */
};

struct dissect_waiting {
	int kind;
	char *cred;        /* user then pass, malloc'd, or NULL */
	size_t user_len, pass_len;
};

struct dissect {
	const struct dissect_proto *proto;
	dissect_report_fn *report;
	void *ctx;
	bool stopped;
	struct dissect_split split[2];
	struct dissect_waiting queue[DISSECT_QUEUE_MAX];
	unsigned head, count;
	alignas(max_align_t) unsigned char state[];
};

static bool dissect_port_watched(const struct dissect_ports *p, uint16_t port)
{
	for (size_t i = 0; i < p->len && i < DISSECT_MAX_PORTS; i++)
		if (p->ports[i] == port)
			return true;
	return false;
}

bool dissect_looks_like_http(const uint8_t *buf, size_t len)
{
	static const char *const methods[] = {
		"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
		"PATCH ", "CONNECT ", "TRACE ",
	};

	if (buf == NULL)
		return false;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i]);

		/* the target must follow: origin, absolute, authority or '*' form */
		if (len > n && memcmp(buf, methods[i], n) == 0 && buf[n] > ' ' && buf[n] < 0x7f)
			return true;
	}
	return false;
}

/* HTTP by its first bytes (when HTTP is watched at all), else by port. */
static const struct dissect_proto *dissect_choose(const struct dissect_ports ports[DISSECT_COUNT],
						  uint16_t port, const uint8_t *first, size_t first_len)
{
	if (ports[dissect_http.index].len > 0 && dissect_looks_like_http(first, first_len))
		return &dissect_http;
	for (size_t i = 0; i < DISSECT_NPROTOS; i++)
		if (dissect_port_watched(&ports[dissect_protos[i]->index], port))
			return dissect_protos[i];
	return NULL;
}

struct dissect *dissect_start(const struct dissect_ports ports[DISSECT_COUNT],
			      uint16_t dest_port, const uint8_t *first_bytes, size_t first_len,
			      dissect_report_fn *report, void *ctx)
{
	const struct dissect_proto *proto = dissect_choose(ports, dest_port, first_bytes, first_len);
	struct dissect *d;

	if (proto == NULL)
		return NULL;
	d = calloc(1, sizeof(*d) + proto->state_size);
	if (d == NULL)
		return NULL;
	d->proto = proto;
	d->report = report;
	d->ctx = ctx;
	if (proto->init != NULL)
		proto->init(d->state);
	return d;
}

static void dissect_report(struct dissect *d, const char *user, size_t user_len,
			   const char *pass, size_t pass_len, const char *result)
{
	struct dissect_credential c = {
		.protocol = d->proto->name,
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
		dissect_report(d, w->cred, w->user_len, w->cred + w->user_len, w->pass_len, result);
		free(w->cred);
		had = true;
	}
	*w = (struct dissect_waiting){ .kind = -1 };
	d->head = (d->head + 1) % DISSECT_QUEUE_MAX;
	d->count--;
	return had;
}

int dissect_sasl_plain(struct dissect *d, const char *b64, size_t len)
{
	uint8_t raw[BASE64_DECODED_MAX(DISSECT_LINE_MAX)];
	size_t n;
	const uint8_t *user, *pass;

	if (base64_decode(b64, len, raw, sizeof(raw), &n) < 0)
		return -1;
	/* authzid NUL authcid NUL passwd: exactly two NULs */
	user = memchr(raw, 0, n);
	if (user == NULL)
		return -1;
	user++;
	pass = memchr(user, 0, n - (size_t)(user - raw));
	if (pass == NULL || memchr(pass + 1, 0, n - (size_t)(pass + 1 - raw)) != NULL)
		return -1;
	pass++;
	return dissect_queue_credential(d, (const char *)user, (size_t)(pass - 1 - user),
					(const char *)pass, n - (size_t)(pass - raw));
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

void dissect_raw(struct dissect *d, enum dissect_dir dir, uint64_t n, bool keep)
{
	struct dissect_split *sp = &d->split[dir];

	sp->raw = n;
	sp->raw_keep = keep && n > 0;
	sp->len = 0;
	sp->cut = false;
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

	if (sp->raw_keep)
		dissect_collect(sp, buf, take);
	sp->raw -= take;
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
	const uint8_t *lf = memchr(buf, '\n', len);

	if (lf == NULL) {
		dissect_collect(sp, buf, len);
		return len;
	}
	dissect_collect(sp, buf, (size_t)(lf - buf));
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
	if (len > DISSECT_BUDGET - sp->seen)
		len = DISSECT_BUDGET - sp->seen;
	sp->seen += len;
	while (len > 0 && v == DISSECT_CONTINUE) {
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
