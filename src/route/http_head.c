/* http_head: HTTP/1.x message heads, both directions. See http_head.h. */
#include "http_head.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "core/escape.h"

/*
 * A byte-at-a-time state machine: each octet is checked against the size
 * limit and the line-end rules, then kept in text; a line is read whole
 * when its end arrives (the start line first, then one field per line), so
 * errors are found at the end of the line that holds them and any split of
 * the input gives the same state. Line ends become NULs in text.
 */
enum { S_START, S_FIELDS, S_DONE = 0xFE, S_ERROR = 0xFF };

/* --- parser --- */

void http_head_init(struct http_head *h, enum http_head_kind kind)
{
	memset(h, 0, sizeof(*h));
	h->kind = (uint8_t)kind;
	h->state = S_START;
}

static enum proto_result http_head_fail(struct http_head *h, enum http_head_error e)
{
	h->error = e;
	return PROTO_ERROR;
}

/* RFC 9110 tchar. */
static bool http_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool http_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7F;
}

/* "HTTP/1.0" or "HTTP/1.1" at s (8 octets known to be there); -1 bad, -2 other version. */
static int http_version(const char *s)
{
	if (strncmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
	    s[7] < '0' || s[7] > '9')
		return -1;
	if (s[5] != '1' || s[7] > '1')
		return -2;
	return s[7] - '0';
}

static enum proto_result http_request_line(struct http_head *h, char *s, size_t n)
{
	char *sp1 = memchr(s, ' ', n), *sp2;
	int v;

	if (sp1 == NULL || sp1 == s)
		return http_head_fail(h, HTTP_HEAD_BAD_START);
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
	if (sp2 == NULL || sp2 == sp1 + 1 || (size_t)(s + n - (sp2 + 1)) != 8)
		return http_head_fail(h, HTTP_HEAD_BAD_START);
	for (char *p = s; p < sp1; p++)
		if (!http_tchar((unsigned char)*p))
			return http_head_fail(h, HTTP_HEAD_BAD_START);
	for (char *p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F)
			return http_head_fail(h, HTTP_HEAD_BAD_START);
	v = http_version(sp2 + 1);
	if (v < 0)
		return http_head_fail(h, v == -2 ? HTTP_HEAD_BAD_VERSION : HTTP_HEAD_BAD_START);
	h->minor = (uint8_t)v;
	*sp1 = *sp2 = '\0';
	h->method = (uint16_t)(s - h->text);
	h->target = (uint16_t)(sp1 + 1 - h->text);
	return PROTO_MORE;
}

static enum proto_result http_status_line(struct http_head *h, char *s, size_t n)
{
	int v;

	if (n < 12 || (n > 12 && s[12] != ' ') || s[8] != ' ')
		return http_head_fail(h, n >= 8 && http_version(s) == -2 ?
				      HTTP_HEAD_BAD_VERSION : HTTP_HEAD_BAD_START);
	v = http_version(s);
	if (v < 0)
		return http_head_fail(h, v == -2 ? HTTP_HEAD_BAD_VERSION : HTTP_HEAD_BAD_START);
	if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9')
		return http_head_fail(h, HTTP_HEAD_BAD_START);
	for (size_t i = 13; i < n; i++)
		if (http_ctl((unsigned char)s[i]))
			return http_head_fail(h, HTTP_HEAD_BAD_START);
	h->minor = (uint8_t)v;
	h->status = (uint16_t)((s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0'));
	h->reason = (uint16_t)(s + (n > 12 ? 13 : 12) - h->text);
	return PROTO_MORE;
}

static enum proto_result http_field_line(struct http_head *h, char *s, size_t n)
{
	char *colon = memchr(s, ':', n), *v, *end = s + n;

	if (colon == NULL || colon == s)
		return http_head_fail(h, HTTP_HEAD_BAD_FIELD);
	for (char *p = s; p < colon; p++)
		if (!http_tchar((unsigned char)*p))
			return http_head_fail(h, HTTP_HEAD_BAD_FIELD);
	for (char *p = colon + 1; p < end; p++)
		if (http_ctl((unsigned char)*p))
			return http_head_fail(h, HTTP_HEAD_BAD_FIELD);
	if (h->nfields == HTTP_HEAD_MAX_FIELDS)
		return http_head_fail(h, HTTP_HEAD_TOO_MANY_FIELDS);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*colon = '\0';
	*end = '\0';
	h->fields[h->nfields].name = (uint16_t)(s - h->text);
	h->fields[h->nfields].value = (uint16_t)(v - h->text);
	h->nfields++;
	return PROTO_MORE;
}

/* A line has ended (its terminator not kept): read it. */
static enum proto_result http_head_line(struct http_head *h)
{
	char *s = h->text + h->line;
	size_t n = (size_t)(h->len - h->line);
	enum proto_result r;

	h->text[h->len++] = '\0';
	if (h->state == S_START) {
		if (n == 0)
			return http_head_fail(h, HTTP_HEAD_BAD_START);
		r = h->kind == HTTP_HEAD_REQUEST ? http_request_line(h, s, n) :
						   http_status_line(h, s, n);
		h->started = r != PROTO_ERROR;
		h->state = S_FIELDS;
	} else {
		r = n == 0 ? PROTO_DONE : http_field_line(h, s, n);
	}
	h->line = h->len;
	return r;
}

static enum proto_result http_head_step(struct http_head *h, unsigned char c)
{
	if (h->octets == HTTP_HEAD_MAX)
		return http_head_fail(h, HTTP_HEAD_TOO_LONG);
	h->octets++;
	if (h->cr) {
		h->cr = false;
		if (c != '\n')
			return http_head_fail(h, HTTP_HEAD_BARE_CR);
		return http_head_line(h);
	}
	if (c == '\r') {
		h->cr = true;
		return PROTO_MORE;
	}
	if (c == '\n')
		return http_head_line(h);
	if (h->len == h->line && (c == ' ' || c == '\t'))
		return http_head_fail(h, HTTP_HEAD_OBS_FOLD);
	if (c == '\0')
		return http_head_fail(h, h->state == S_START ? HTTP_HEAD_BAD_START :
				      HTTP_HEAD_BAD_FIELD);
	h->text[h->len++] = (char)c;
	return PROTO_MORE;
}

enum proto_result http_head_parse(struct http_head *h, const uint8_t *buf, size_t len,
				  size_t *used)
{
	*used = 0;
	if (h->state == S_DONE)
		return PROTO_DONE;
	if (h->state == S_ERROR)
		return PROTO_ERROR;
	for (size_t i = 0; i < len; i++) {
		enum proto_result r = http_head_step(h, buf[i]);

		if (r != PROTO_MORE) {
			h->state = r == PROTO_DONE ? S_DONE : S_ERROR;
			*used = i + 1;
			return r;
		}
	}
	*used = len;
	return PROTO_MORE;
}

const char *http_head_error_str(enum http_head_error e)
{
	switch (e) {
	case HTTP_HEAD_OK:
		return "no error";
	case HTTP_HEAD_TOO_LONG:
		return "head too long";
	case HTTP_HEAD_TOO_MANY_FIELDS:
		return "too many header fields";
	case HTTP_HEAD_BARE_CR:
		return "CR not followed by LF";
	case HTTP_HEAD_BAD_START:
		return "malformed start line";
	case HTTP_HEAD_BAD_VERSION:
		return "HTTP version not 1.0 or 1.1";
	case HTTP_HEAD_BAD_FIELD:
		return "malformed header field";
	case HTTP_HEAD_OBS_FOLD:
		return "folded or indented header line";
	}
	return "unknown error";
}

/* --- reading a parsed head --- */

const char *http_head_method(const struct http_head *h)
{
	return h->text + h->method;
}

const char *http_head_target_str(const struct http_head *h)
{
	return h->text + h->target;
}

const char *http_head_reason(const struct http_head *h)
{
	return h->text + h->reason;
}

const char *http_head_field(const struct http_head *h, const char *name)
{
	for (size_t i = 0; i < h->nfields; i++)
		if (strcasecmp(h->text + h->fields[i].name, name) == 0)
			return h->text + h->fields[i].value;
	return NULL;
}

size_t http_head_field_count(const struct http_head *h, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nfields; i++)
		n += strcasecmp(h->text + h->fields[i].name, name) == 0;
	return n;
}

bool http_head_is_connect(const struct http_head *h)
{
	return h->kind == HTTP_HEAD_REQUEST && h->state == S_DONE &&
	       strcmp(http_head_method(h), "CONNECT") == 0;
}

/* "1".."65535", no sign, no leading zero. */
static int http_port(const char *s, uint16_t *port)
{
	size_t n = strlen(s);
	unsigned long v = 0;

	if (n == 0 || n > 5 || s[0] == '0' || strspn(s, "0123456789") != n)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int http_head_target(const struct http_head *h, char host[HTTP_HOST_MAX + 1], uint16_t *port)
{
	const char *t = http_head_target_str(h), *end, *colon;
	struct in6_addr a6;
	size_t n;

	if (h->kind != HTTP_HEAD_REQUEST || h->state != S_DONE)
		return -1;
	if (t[0] == '[') {
		end = strchr(t, ']');
		if (end == NULL || end[1] != ':' || (n = (size_t)(end - t - 1)) > HTTP_HOST_MAX)
			return -1;
		memcpy(host, t + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -1;
		return http_port(end + 2, port);
	}
	colon = strrchr(t, ':');
	if (colon == NULL || colon == t || (n = (size_t)(colon - t)) > HTTP_HOST_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'z') ||
		      (t[i] >= 'A' && t[i] <= 'Z') || t[i] == '-' || t[i] == '.' || t[i] == '_'))
			return -1;
	memcpy(host, t, n);
	host[n] = '\0';
	return http_port(colon + 1, port);
}

enum http_basic_result http_head_basic(const struct http_head *h, struct http_basic *out)
{
	const char *v = http_head_field(h, "Proxy-Authorization"), *b64;
	uint8_t raw[520];
	uint8_t *colon;
	size_t n, ulen;

	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return HTTP_BASIC_NONE;
	if (http_head_field_count(h, "Proxy-Authorization") != 1 || strncasecmp(v, "Basic ", 6) != 0)
		return HTTP_BASIC_BAD;
	for (b64 = v + 6; *b64 == ' '; b64++)
		;
	if (base64_decode(b64, strlen(b64), raw, sizeof(raw), &n) < 0 ||
	    memchr(raw, '\0', n) != NULL || (colon = memchr(raw, ':', n)) == NULL ||
	    (ulen = (size_t)(colon - raw)) > 255 || n - ulen - 1 > 255) {
		memset(raw, 0, sizeof(raw));
		return HTTP_BASIC_BAD;
	}
	memcpy(out->user, raw, ulen);
	memcpy(out->pass, colon + 1, n - ulen - 1);
	memset(raw, 0, sizeof(raw));
	return HTTP_BASIC_OK;
}

static bool http_secret_field(const char *name)
{
	return strcasecmp(name, "Proxy-Authorization") == 0 ||
	       strcasecmp(name, "Authorization") == 0 || strcasecmp(name, "Cookie") == 0;
}

void http_head_scrub(struct http_head *h)
{
	for (size_t i = 0; i < h->nfields; i++)
		if (http_secret_field(h->text + h->fields[i].name)) {
			char *v = h->text + h->fields[i].value;

			memset(v, 0, strlen(v));
		}
}

/* Appends escaped src to out at *at (the escaper always NUL-terminates). */
static void http_describe_add(char *out, size_t outlen, size_t *at, const char *src)
{
	if (*at + 1 >= outlen)
		return;
	escape_str(out + *at, outlen - *at, src);
	*at += strlen(out + *at);
}

char *http_head_describe(const struct http_head *h, char *out, size_t outlen)
{
	char num[16];
	size_t at = 0;

	if (outlen == 0)
		return out;
	out[0] = '\0';
	if (!h->started)
		return out;
	if (h->kind == HTTP_HEAD_REQUEST) {
		http_describe_add(out, outlen, &at, http_head_method(h));
		http_describe_add(out, outlen, &at, " ");
		http_describe_add(out, outlen, &at, http_head_target_str(h));
		snprintf(num, sizeof(num), " HTTP/1.%u", h->minor);
		http_describe_add(out, outlen, &at, num);
	} else {
		snprintf(num, sizeof(num), "%u ", h->status);
		http_describe_add(out, outlen, &at, num);
		http_describe_add(out, outlen, &at, http_head_reason(h));
	}
	for (size_t i = 0; i < h->nfields; i++) {
		const char *name = h->text + h->fields[i].name;

		http_describe_add(out, outlen, &at, "; ");
		http_describe_add(out, outlen, &at, name);
		http_describe_add(out, outlen, &at, ": ");
		http_describe_add(out, outlen, &at, http_secret_field(name) ? "<redacted>" :
				  h->text + h->fields[i].value);
	}
	return out;
}

/* --- builders --- */

/* No control octet (0x00-0x1F, 0x7F); octets over 0x7F pass when utf8. */
static bool http_printable_ex(const char *s, bool utf8)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7F ||
		    (!utf8 && (unsigned char)*s > 0x7F))
			return false;
	return true;
}

static bool http_printable(const char *s)
{
	return http_printable_ex(s, false);
}

size_t http_head_connect_request(char *out, size_t cap, const char *host, uint16_t port,
				 const char *user, const char *pass)
{
	char cred[512], b64[4 * 171 + 1], auth[sizeof(b64) + 40] = "";
	bool v6 = strchr(host, ':') != NULL;
	size_t hl = strlen(host);
	struct in6_addr a6;
	int n;

	if (hl == 0 || hl > HTTP_HOST_MAX ||
	    strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:_-") != hl ||
	    (v6 && inet_pton(AF_INET6, host, &a6) != 1))
		return 0;
	if (user != NULL) {
		size_t ul = strlen(user), pl = pass ? strlen(pass) : 0;

		if (ul > 255 || pl > 255 || strchr(user, ':') != NULL ||
		    !http_printable_ex(user, true) || (pass != NULL && !http_printable_ex(pass, true)))
			return 0;
		memcpy(cred, user, ul);
		cred[ul] = ':';
		if (pl > 0)
			memcpy(cred + ul + 1, pass, pl);
		base64_encode((const uint8_t *)cred, ul + 1 + pl, b64, sizeof(b64));
		snprintf(auth, sizeof(auth), "Proxy-Authorization: Basic %s\r\n", b64);
		memset(cred, 0, sizeof(cred));
		memset(b64, 0, sizeof(b64));
	}
	n = snprintf(out, cap, "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n%s\r\n",
		     v6 ? "[" : "", host, v6 ? "]" : "", port,
		     v6 ? "[" : "", host, v6 ? "]" : "", port, auth);
	memset(auth, 0, sizeof(auth));
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static const char *http_reason_for(int status)
{
	switch (status) {
	case 200: return "Connection established";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return NULL;
	}
}

size_t http_head_response(char *out, size_t cap, int status, const char *realm)
{
	const char *reason = http_reason_for(status);
	char challenge[128] = "";
	int n;

	if (reason == NULL)
		return 0;
	if (realm == NULL)
		realm = "socks5d";
	if (!http_printable(realm) || strpbrk(realm, "\"\\") != NULL || strlen(realm) > 64)
		return 0;
	if (status == 407)
		snprintf(challenge, sizeof(challenge),
			 "Proxy-Authenticate: Basic realm=\"%s\"\r\n", realm);
	if (status == 200)
		n = snprintf(out, cap, "HTTP/1.1 200 %s\r\n\r\n", reason);
	else
		n = snprintf(out, cap, "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\n"
			     "Connection: close\r\n\r\n", status, reason, challenge);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
