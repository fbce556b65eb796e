/*
 * dissect: the framework shared by the password dissectors. See dissect.h
 * for the relay's side and dissect_int.h for the protocols' side.
 */
#include "dissect.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "core/log.h"
#include "dissect_int.h"

/* The registry: the parser of each protocol of dissect.h's table. */
static const struct dissect_proto *const dissect_protos[DISSECT_COUNT] = {
	[DISSECT_POP3] = &dissect_pop3, [DISSECT_HTTP] = &dissect_http,
	[DISSECT_FTP] = &dissect_ftp, [DISSECT_IMAP] = &dissect_imap,
	[DISSECT_SMTP] = &dissect_smtp,
};

/* The line splitter of one direction. */
struct dissect_split {
	char buf[DISSECT_LINE_MAX];
	size_t len;
	bool cut;          /* the current unit outgrew buf; skipping its rest */
	uint64_t raw;      /* bytes still to pass as a raw block */
	bool raw_keep;     /* hand them over (else skip them) */
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
	bool enabled[DISSECT_COUNT];        /* protocols with ports configured */
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

	const uint8_t *lf;

	if (buf == NULL)
		return false;
	lf = memchr(buf, '\n', len);
	if (lf != NULL && dissect_http_request_line((const char *)buf,
						    (size_t)(lf - buf) - (lf > buf && lf[-1] == '\r'),
						    false))
		return true; /* a whole request line, any method */
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i]);

		/* the target must follow: origin, absolute, authority or '*' form */
		if (len > n && memcmp(buf, methods[i], n) == 0 && buf[n] > ' ' && buf[n] < 0x7f)
			return true;
	}
	return false;
}

/* The protocol watching port (the first in table order), or NULL. */
static const struct dissect_proto *dissect_by_port(const struct dissect_ports ports[DISSECT_COUNT],
						   uint16_t port)
{
	for (size_t i = 0; i < DISSECT_COUNT; i++)
		if (dissect_port_watched(&ports[i], port))
			return dissect_protos[i];
	return NULL;
}

/* The largest protocol state: a flow's protocol may be settled after start. */
static size_t dissect_state_max(void)
{
	size_t max = 0;

	for (size_t i = 0; i < DISSECT_COUNT; i++)
		if (dissect_protos[i]->state_size > max)
			max = dissect_protos[i]->state_size;
	return max;
}

struct dissect *dissect_start(const struct dissect_ports ports[DISSECT_COUNT],
			      uint16_t dest_port, const uint8_t *first_bytes, size_t first_len,
			      dissect_report_fn *report, void *ctx)
{
	const struct dissect_proto *by_port = dissect_by_port(ports, dest_port);
	struct dissect *d;

	if (by_port == NULL && (ports[DISSECT_HTTP].len == 0 ||
				!dissect_looks_like_http(first_bytes, first_len)))
		return NULL;
	d = calloc(1, sizeof(*d) + dissect_state_max());
	if (d == NULL)
		return NULL;
	d->by_port = by_port != NULL ? by_port : &dissect_http;
	for (size_t i = 0; i < DISSECT_COUNT; i++)
		d->enabled[i] = ports[i].len > 0;
	d->report = report;
	d->ctx = ctx;
	return d;
}

/* Does the line start with prefix (case-insensitive)? */
static bool dissect_prefix(const struct dissect_unit *u, const char *prefix)
{
	size_t n = strlen(prefix);

	return u->len >= n && strncasecmp(u->s, prefix, n) == 0;
}

/* Does the line hold word anywhere (case-insensitive)? */
static bool dissect_contains(const struct dissect_unit *u, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i + n <= u->len; i++)
		if (strncasecmp(u->s + i, word, n) == 0)
			return true;
	return false;
}

/* The protocol a server greeting belongs to, or the port's. */
static enum dissect_protocol dissect_greeting(const struct dissect *d, const struct dissect_unit *u)
{
	if (dissect_prefix(u, "+OK"))
		return DISSECT_POP3;
	if (dissect_prefix(u, "* OK") || dissect_prefix(u, "* PREAUTH") || dissect_prefix(u, "* BYE"))
		return DISSECT_IMAP;
	if (dissect_prefix(u, "220") && d->by_port->index != DISSECT_FTP &&
	    d->by_port->index != DISSECT_SMTP)
		return dissect_contains(u, "SMTP") ? DISSECT_SMTP : DISSECT_FTP;
	return d->by_port->index;
}

/* The first line of the flow settles the protocol (see dissect_start). */
static void dissect_settle(struct dissect *d, enum dissect_dir dir, const struct dissect_unit *u)
{
	enum dissect_protocol id = d->by_port->index;

	if (dir == DISSECT_TO_SERVER && dissect_http_request_line(u->s, u->len, false))
		id = DISSECT_HTTP;
	else if (dir == DISSECT_TO_CLIENT)
		id = dissect_greeting(d, u);
	d->proto = d->enabled[id] ? dissect_protos[id] : d->by_port;
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

/* A SASL LOGIN step: base64 of the user or of the password. Returns the
 * next step: the password after a user, else the end of the responses (an
 * invalid user: the exchange is not followed any further). */
static enum dissect_sasl_step dissect_sasl_login(struct dissect *d, struct dissect_sasl *s,
						 const char *b64, size_t len)
{
	uint8_t raw[BASE64_DECODED_MAX(DISSECT_LINE_MAX)];
	size_t n;

	if (base64_decode(b64, len, raw, sizeof(raw), &n) < 0)
		return s->step == DISSECT_SASL_USER ? DISSECT_SASL_OTHER : DISSECT_SASL_NONE;
	if (s->step == DISSECT_SASL_PASS) {
		dissect_queue_credential(d, s->user, s->user_len, (const char *)raw, n);
		return DISSECT_SASL_NONE;
	}
	s->user_len = n < sizeof(s->user) ? n : sizeof(s->user);
	memcpy(s->user, raw, s->user_len);
	return DISSECT_SASL_PASS;
}

void dissect_sasl_start(struct dissect *d, struct dissect_sasl *s, const char *args, size_t len)
{
	const char *sp = memchr(args, ' ', len);

	if (sp == NULL)
		dissect_sasl_begin(d, s, args, len, NULL, 0);
	else
		dissect_sasl_begin(d, s, args, (size_t)(sp - args), sp + 1, len - (size_t)(sp + 1 - args));
}

void dissect_sasl_begin(struct dissect *d, struct dissect_sasl *s,
			const char *mech, size_t mech_len, const char *ir, size_t irlen)
{
	s->user_len = 0;
	if (mech_len == 5 && dissect_word(mech, mech_len, "PLAIN"))
		s->step = DISSECT_SASL_PLAIN;
	else if (mech_len == 5 && dissect_word(mech, mech_len, "LOGIN"))
		s->step = DISSECT_SASL_USER;
	else
		s->step = DISSECT_SASL_OTHER;
	if (ir == NULL || s->step == DISSECT_SASL_OTHER)
		return;
	if (irlen == 1 && ir[0] == '=')
		irlen = 0; /* the empty initial response */
	if (s->step == DISSECT_SASL_PLAIN) {
		dissect_sasl_plain(d, ir, irlen);
		s->step = DISSECT_SASL_NONE; /* nothing more to read */
	} else {
		s->step = dissect_sasl_login(d, s, ir, irlen);
	}
}

void dissect_sasl_line(struct dissect *d, struct dissect_sasl *s, const struct dissect_unit *u)
{
	bool cancel = u->len == 1 && u->s[0] == '*';

	if (u->cut || u->raw || cancel) {
		s->step = cancel ? DISSECT_SASL_NONE : DISSECT_SASL_OTHER;
		return;
	}
	switch (s->step) {
	case DISSECT_SASL_PLAIN:
		dissect_sasl_plain(d, u->s, u->len);
		s->step = DISSECT_SASL_NONE;
		break;
	case DISSECT_SASL_USER:
	case DISSECT_SASL_PASS:
		s->step = dissect_sasl_login(d, s, u->s, u->len);
		break;
	case DISSECT_SASL_NONE:
	case DISSECT_SASL_OTHER:
		break;
	}
}

void dissect_sasl_end(struct dissect_sasl *s)
{
	s->step = DISSECT_SASL_NONE;
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
