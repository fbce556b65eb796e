/*
 * dissect_http: Authorization / Proxy-Authorization: Basic (RFC 7617) on the
 * requests of a keep-alive connection, the result from the response status.
 * Both directions share one message framer (start line, headers, then a body
 * by Content-Length or chunked, skipped unseen) so pipelined requests meet
 * their responses in order.
 */
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "dissect_int.h"

#define HTTP_MAX_REQUESTS 16   /* then the flow is left alone */

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
	unsigned requests;
};

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
static void http_basic(struct dissect *d, const char *v, size_t len)
{
	uint8_t raw[BASE64_DECODED_MAX(DISSECT_LINE_MAX)];
	const uint8_t *colon;
	size_t n;

	if (len < 6 || strncasecmp(v, "Basic ", 6) != 0)
		return;
	for (v += 6, len -= 6; len > 0 && *v == ' '; v++, len--)
		;
	if (base64_decode(v, len, raw, sizeof(raw), &n) < 0 || (colon = memchr(raw, ':', n)) == NULL)
		return;
	dissect_queue_credential(d, (const char *)raw, (size_t)(colon - raw),
				 (const char *)colon + 1, n - (size_t)(colon + 1 - raw));
}

/* A header line of either direction. Returns false when the framing is lost. */
static bool http_header_line(struct dissect *d, struct http_msg *m, enum dissect_dir dir,
			     const struct dissect_unit *u)
{
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
		http_basic(d, v, len);
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
		dissect_raw(d, dir, m->length, false);
		return true;
	}
	return dir == DISSECT_TO_SERVER; /* a request without either has no body */
}

/* The body framing lines shared by both directions. Returns false when lost. */
static bool http_framing(struct dissect *d, struct http_msg *m, enum dissect_dir dir,
			 const struct dissect_unit *u)
{
	uint64_t size;

	switch (m->phase) {
	case HTTP_HEADERS:
		if (u->len == 0 && !u->cut)
			return http_body(d, m, dir);
		return http_header_line(d, m, dir, u);
	case HTTP_CHUNK_SIZE:
		if (u->cut || !http_number(u->s, u->len, 16, &size) || size > UINT64_MAX - 2)
			return false;
		if (size == 0)
			m->phase = HTTP_TRAILERS;
		else
			dissect_raw(d, dir, size + 2, false); /* the data and its CRLF */
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

static enum dissect_verdict http_request_line(struct dissect *d, struct http_state *st,
					      const struct dissect_unit *u)
{
	int kind = HTTP_PLAIN;

	if (u->len == 0 && !u->cut)
		return DISSECT_CONTINUE; /* a stray CRLF between requests */
	if (++st->requests > HTTP_MAX_REQUESTS)
		return DISSECT_STOP;
	if (dissect_word(u->s, u->len, "HEAD"))
		kind = HTTP_HEAD;
	else if (dissect_word(u->s, u->len, "CONNECT"))
		kind = HTTP_CONNECT;
	http_msg_start(&st->msg[DISSECT_TO_SERVER]);
	return dissect_queue_push(d, kind) < 0 ? DISSECT_STOP : DISSECT_CONTINUE;
}

static const char *http_result(int status)
{
	if (status >= 200 && status < 400)
		return "ok";
	if (status == 401 || status == 407)
		return "fail";
	return "?";
}

static enum dissect_verdict http_status_line(struct dissect *d, struct http_state *st,
					     const struct dissect_unit *u)
{
	struct http_msg *m = &st->msg[DISSECT_TO_CLIENT];
	uint64_t status;
	int kind = dissect_queue_head(d);

	if (u->len == 0 && !u->cut)
		return DISSECT_CONTINUE;
	if (u->len < 12 || memcmp(u->s, "HTTP/1.", 7) != 0 || u->s[8] != ' ' ||
	    !http_number(u->s + 9, 3, 10, &status) || status < 100 || kind < 0)
		return DISSECT_STOP; /* not HTTP/1.x, or not a request's answer */
	http_msg_start(m);
	m->status = (int)status;
	m->kind = kind;
	if (status == 101)
		return DISSECT_STOP; /* another protocol follows */
	if (status < 200)
		return DISSECT_CONTINUE; /* interim: the final response follows */
	if (dissect_queue_answer(d, http_result(m->status)) && status < 400)
		return DISSECT_STOP;
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
		return http_framing(d, m, dir, u) ? DISSECT_CONTINUE : DISSECT_STOP;
	if (dir == DISSECT_TO_SERVER)
		return http_request_line(d, st, u);
	return http_status_line(d, st, u);
}

const struct dissect_proto dissect_http = {
	.name = "HTTP",
	.index = DISSECT_HTTP,
	.state_size = sizeof(struct http_state),
	.unit = http_unit,
};
