/*
 * dissect_http: Authorization / Proxy-Authorization: Basic (RFC 7617) on
 * every request of a connection, kept alive or pipelined, each with the
 * result from its own response (401 or 407 fail, any other final status
 * ok). Both directions share one message framer (RFC 9112: start line,
 * headers, then a body by chunked or Content-Length framing, skipped unseen
 * and unbuffered; none for the answers to HEAD, 1xx, 204 and 304) so
 * pipelined requests meet their responses in order. The line budget starts
 * again at every message. A credential repeated on later requests (as
 * browsers and curl do once it worked) is reported once, while it keeps
 * working. The flow is left alone when it stops being HTTP/1.x: a CONNECT
 * tunnel or an upgrade (101), a response body running to the close, a
 * start line or framing that does not parse, or more than DISSECT_QUEUE_MAX
 * requests waiting.
 */
#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "dissect_int.h"

enum http_kind {
	HTTP_PLAIN = 0,
	HTTP_HEAD = 1,         /* its response has no body */
	HTTP_CONNECT = 2,      /* a 2xx makes the flow a tunnel */
};

enum http_phase { HTTP_START, HTTP_HEADERS, HTTP_CHUNK_SIZE, HTTP_TRAILERS };

/* One direction's message framing. */
struct http_msg {
	enum http_phase phase;
	bool chunked;
	bool has_length;
	uint64_t length;
	int status;            /* responses: the status of this one */
	int kind;              /* responses: the request it answers */
};

struct http_state {
	struct http_msg msg[2];
	unsigned requests, answered;   /* start lines seen each way (final responses) */
	uint64_t cred[DISSECT_QUEUE_MAX]; /* per waiting request: its credential's hash, or 0 */
	uint64_t last_ok;              /* the hash of the credential that last worked, or 0 */
};

/* FNV-1a of a credential: enough to tell a repeated one. Never 0. */
static uint64_t http_hash(const uint8_t *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

/* Case-insensitive "Name:"; on a match *value is the value without leading blanks. */
static bool http_header(const struct dissect_unit *u, const char *name, const char **value, size_t *len)
{
	size_t n = strlen(name), i;

	if (u->len <= n || u->s[n] != ':' || strncasecmp(u->s, name, n) != 0)
		return false;
	for (i = n + 1; i < u->len && (u->s[i] == ' ' || u->s[i] == '\t'); i++)
		;
	*value = u->s + i;
	*len = u->len - i;
	while (*len > 0 && ((*value)[*len - 1] == ' ' || (*value)[*len - 1] == '\t'))
		(*len)--;
	return true;
}

/* Digits (base 10 or 16) up to the end or a ';'; false on anything else or overflow. */
static bool http_number(const char *s, size_t len, unsigned base, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len && s[i] != ';' && s[i] != ' ' && s[i] != '\t'; i++) {
		int digit = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
			  : base == 16 && s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
			  : base == 16 && s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10 : -1;

		if (digit < 0 || v > (UINT64_MAX - (unsigned)digit) / base)
			return false;
		v = v * base + (unsigned)digit;
	}
	*out = v;
	return i > 0;
}

/* "Basic TOKEN" as user:pass, attached to the request being read. */
static void http_basic(struct dissect *d, struct http_state *st, const char *v, size_t len)
{
	uint64_t *slot = &st->cred[(st->requests - 1) % DISSECT_QUEUE_MAX];
	uint8_t raw[BASE64_DECODED_MAX(DISSECT_LINE_MAX)];
	const uint8_t *colon;
	size_t n;

	if (len < 6 || strncasecmp(v, "Basic ", 6) != 0)
		return;
	for (v += 6, len -= 6; len > 0 && *v == ' '; v++, len--)
		;
	if (base64_decode(v, len, raw, sizeof(raw), &n) < 0 || (colon = memchr(raw, ':', n)) == NULL)
		return;
	*slot = http_hash(raw, n);
	dissect_queue_credential(d, (const char *)raw, (size_t)(colon - raw),
				 (const char *)colon + 1, n - (size_t)(colon + 1 - raw));
}

/* A header line of either direction. Returns false when the framing is lost. */
static bool http_header_line(struct dissect *d, struct http_state *st, enum dissect_dir dir,
			     const struct dissect_unit *u)
{
	struct http_msg *m = &st->msg[dir];
	const char *v;
	size_t len;

	if (u->cut)
		return true;
	if (http_header(u, "Content-Length", &v, &len)) {
		m->has_length = true;
		return http_number(v, len, 10, &m->length);
	}
	if (http_header(u, "Transfer-Encoding", &v, &len)) {
		/* chunked is last when present (RFC 9112 6.1) */
		m->chunked = len >= 7 && strncasecmp(v + len - 7, "chunked", 7) == 0;
		return true;
	}
	if (dir == DISSECT_TO_SERVER && (http_header(u, "Authorization", &v, &len) ||
					 http_header(u, "Proxy-Authorization", &v, &len)))
		http_basic(d, st, v, len);
	return true;
}

/* The blank line after the headers: where the body is, if any. Returns false
 * when the body runs to the end of the connection. */
static bool http_body(struct dissect *d, struct http_msg *m, enum dissect_dir dir)
{
	bool none = dir == DISSECT_TO_CLIENT &&
		    ((m->kind & HTTP_HEAD) || m->status == 204 || m->status == 304 ||
		     (m->status >= 100 && m->status < 200));

	m->phase = HTTP_START;
	if (none)
		return true;
	if (m->chunked) {
		m->phase = HTTP_CHUNK_SIZE;
		return true;
	}
	if (m->has_length) {
		dissect_raw(d, dir, m->length, DISSECT_RAW_PASS);
		return true;
	}
	return dir == DISSECT_TO_SERVER; /* a request without either has no body */
}

/* The body framing lines shared by both directions. Returns false when lost. */
static bool http_framing(struct dissect *d, struct http_state *st, enum dissect_dir dir,
			 const struct dissect_unit *u)
{
	struct http_msg *m = &st->msg[dir];
	uint64_t size;

	switch (m->phase) {
	case HTTP_HEADERS:
		if (u->len == 0 && !u->cut)
			return http_body(d, m, dir);
		return http_header_line(d, st, dir, u);
	case HTTP_CHUNK_SIZE:
		if (u->cut || !http_number(u->s, u->len, 16, &size) || size > UINT64_MAX - 2)
			return false;
		if (size == 0)
			m->phase = HTTP_TRAILERS;
		else
			dissect_raw(d, dir, size + 2, DISSECT_RAW_PASS); /* the data and its CRLF */
		/* a chunk is progress, like a message: a long body of small chunks
		 * must not use up the line budget of the messages behind it */
		dissect_budget_reset(d, dir);
		return true;
	case HTTP_TRAILERS:
		if (u->len == 0 && !u->cut)
			m->phase = HTTP_START;
		return true;
	case HTTP_START:
		break;
	}
	return false;
}

static void http_msg_start(struct http_msg *m)
{
	*m = (struct http_msg){ .phase = HTTP_HEADERS, .kind = m->kind };
}

static bool http_request_ok(const char *s, size_t len, bool cut)
{
	size_t i;

	for (i = 0; i < len && s[i] > ' ' && s[i] < 0x7f; i++)
		;
	if (i == 0 || i + 1 >= len || s[i] != ' ' || s[i + 1] == ' ')
		return false;
	return cut || (len >= i + 11 && memcmp(s + len - 9, " HTTP/1.", 8) == 0);
}

static enum dissect_verdict http_request_line(struct dissect *d, struct http_state *st,
					      const struct dissect_unit *u)
{
	int kind = HTTP_PLAIN;

	if (u->len == 0 && !u->cut)
		return DISSECT_CONTINUE; /* a stray CRLF between requests */
	if (!http_request_ok(u->s, u->len, u->cut))
		return DISSECT_STOP;
	dissect_budget_reset(d, DISSECT_TO_SERVER);
	st->cred[st->requests++ % DISSECT_QUEUE_MAX] = 0;
	if (dissect_word(u->s, u->len, "HEAD"))
		kind = HTTP_HEAD;
	else if (dissect_word(u->s, u->len, "CONNECT"))
		kind = HTTP_CONNECT;
	http_msg_start(&st->msg[DISSECT_TO_SERVER]);
	return dissect_queue_push(d, kind) < 0 ? DISSECT_STOP : DISSECT_CONTINUE;
}

static enum dissect_verdict http_status_line(struct dissect *d, struct http_state *st,
					     const struct dissect_unit *u)
{
	struct http_msg *m = &st->msg[DISSECT_TO_CLIENT];
	uint64_t status, *slot;
	int kind = dissect_queue_head(d);
	bool fail;

	if (u->len == 0 && !u->cut)
		return DISSECT_CONTINUE;
	if (u->len < 12 || memcmp(u->s, "HTTP/1.", 7) != 0 || u->s[8] != ' ' ||
	    !http_number(u->s + 9, 3, 10, &status) || status < 100 || kind < 0)
		return DISSECT_STOP; /* not HTTP/1.x, or not a request's answer */
	dissect_budget_reset(d, DISSECT_TO_CLIENT);
	http_msg_start(m);
	m->status = (int)status;
	m->kind = kind;
	if (status == 101)
		return DISSECT_STOP; /* another protocol follows */
	if (status < 200)
		return DISSECT_CONTINUE; /* interim: the final response follows */
	/* the credential that worked last time, working again, was reported */
	slot = &st->cred[st->answered++ % DISSECT_QUEUE_MAX];
	fail = status == 401 || status == 407;
	dissect_queue_answer(d, *slot != 0 && *slot == st->last_ok && !fail ? NULL
				: fail ? "fail" : "ok");
	if (*slot != 0)
		st->last_ok = fail ? 0 : *slot;
	if ((kind & HTTP_CONNECT) && status < 300)
		return DISSECT_STOP;
	return DISSECT_CONTINUE;
}

static enum dissect_verdict http_unit(struct dissect *d, void *state, enum dissect_dir dir,
				      const struct dissect_unit *u)
{
	struct http_state *st = state;
	struct http_msg *m = &st->msg[dir];

	if (m->phase != HTTP_START)
		return http_framing(d, st, dir, u) ? DISSECT_CONTINUE : DISSECT_STOP;
	if (dir == DISSECT_TO_SERVER)
		return http_request_line(d, st, u);
	return http_status_line(d, st, u);
}

/*
 * A first line that is "METHOD target HTTP/1.x" (any token a method), or
 * first bytes that hold such a line or start with a common method and the
 * first byte of a target (origin, absolute, authority or '*' form).
 */
static enum dissect_sniff http_sniff(enum dissect_dir dir, const struct dissect_unit *u,
				     bool first_bytes)
{
	static const char *const methods[] = {
		"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
		"PATCH ", "CONNECT ", "TRACE ",
	};
	const char *lf;

	if (dir != DISSECT_TO_SERVER)
		return DISSECT_SNIFF_NO;
	if (!first_bytes)
		return http_request_ok(u->s, u->len, false) ? DISSECT_SNIFF_YES : DISSECT_SNIFF_NO;
	lf = memchr(u->s, '\n', u->len);
	if (lf != NULL && http_request_ok(u->s, (size_t)(lf - u->s) - (lf > u->s && lf[-1] == '\r'),
					  false))
		return DISSECT_SNIFF_YES;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i]);

		if (u->len > n && memcmp(u->s, methods[i], n) == 0 && u->s[n] > ' ' && u->s[n] < 0x7f)
			return DISSECT_SNIFF_YES;
	}
	return DISSECT_SNIFF_NO;
}

DISSECT_PROTO(HTTP) = {
	.name = "HTTP",
	.state_size = sizeof(struct http_state),
	.unit = http_unit,
	.sniff = http_sniff,
};
