/* upstream: parent proxies and their failover state. See upstream.h. */
#include "upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "core/net.h"

/*
 * The URL as an error names it: scheme://HOST:PORT part only, never the
 * userinfo (everything up to the last '@' of the authority is dropped).
 */
static void upstream_safe_url(const char *url, char *out, size_t len)
{
	const char *auth = strstr(url, "://"), *end, *at = NULL;

	if (auth == NULL) {
		snprintf(out, len, "%.64s", strchr(url, '@') ? "(a URL)" : url);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	snprintf(out, len, "%.*s%s%.*s", (int)(auth - url), url, at ? "...@" : "",
		 (int)(end - (at ? at + 1 : auth)), at ? at + 1 : auth);
}

static int upstream_fail(const char *url, char *err, size_t errlen, const char *why)
{
	char safe[320];

	upstream_safe_url(url, safe, sizeof(safe));
	snprintf(err, errlen, "\"%s\": %s", safe, why);
	return -1;
}

/* Percent-decodes in[0..n) into out (256 bytes): -1 on a bad escape, NUL or over 255. */
static int upstream_pct_decode(const char *in, size_t n, char out[256])
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi = i + 2 < n ? hex_digit(in[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(in[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7F || o == 255)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* USER[:PASS] from the userinfo in[0..n). */
static int upstream_userinfo(const char *url, const char *in, size_t n,
			     struct upstream_parent *out, char *err, size_t errlen)
{
	const char *colon = memchr(in, ':', n);
	size_t ulen = colon ? (size_t)(colon - in) : n;

	if (ulen == 0)
		return upstream_fail(url, err, errlen, "empty user name before '@'");
	if (upstream_pct_decode(in, ulen, out->user) < 0 ||
	    (colon && upstream_pct_decode(colon + 1, n - ulen - 1, out->pass) < 0))
		return upstream_fail(url, err, errlen, "bad user or password (a bad %-escape, "
				     "a control octet, or over 255 octets)");
	if (out->proto == UPSTREAM_HTTP && strchr(out->user, ':') != NULL)
		return upstream_fail(url, err, errlen, "an HTTP user name cannot hold ':'");
	out->has_cred = true;
	return 0;
}

/* HOST:PORT from in[0..n). */
static int upstream_hostport(const char *url, const char *in, size_t n,
			     struct upstream_parent *out, char *err, size_t errlen)
{
	const char *colon, *h = in;
	char port[8], nerr[64];
	size_t hl;
	unsigned long v;

	if (n > 0 && in[0] == '[') {
		const char *close = memchr(in, ']', n);

		if (close == NULL || close + 1 == in + n || close[1] != ':')
			return upstream_fail(url, err, errlen, "IPv6 address without \"]:PORT\"");
		h = in + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = memrchr(in, ':', n);
		if (colon == NULL)
			return upstream_fail(url, err, errlen, "no port");
		hl = (size_t)(colon - in);
		if (memchr(in, ':', hl) != NULL)
			return upstream_fail(url, err, errlen, "an IPv6 address needs brackets");
	}
	if (hl == 0 || hl > 253)
		return upstream_fail(url, err, errlen, "empty or too long host");
	memcpy(out->host, h, hl);
	out->host[hl] = '\0';
	n -= (size_t)(colon + 1 - in);
	if (n == 0 || n > 5 || colon[1] == '0' || strspn(colon + 1, "0123456789") < n)
		return upstream_fail(url, err, errlen, "port not 1..65535");
	memcpy(port, colon + 1, n);
	port[n] = '\0';
	v = strtoul(port, NULL, 10);
	if (v > 65535)
		return upstream_fail(url, err, errlen, "port not 1..65535");
	out->port = (uint16_t)v;
	if (net_parse_addr(out->host, out->port, &out->addr, &out->addrlen, nerr,
			   sizeof(nerr)) == 0)
		out->numeric = true;
	else if (h != in || strspn(out->host, "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != hl)
		return upstream_fail(url, err, errlen, "host is neither an address nor a name");
	return 0;
}

int upstream_parent_parse(const char *url, struct upstream_parent *out, char *err,
			  size_t errlen)
{
	const char *auth, *end, *at = NULL;

	memset(out, 0, sizeof(*out));
	if (strncmp(url, "socks5://", 9) == 0)
		out->proto = UPSTREAM_SOCKS5;
	else if (strncmp(url, "http://", 7) == 0)
		out->proto = UPSTREAM_HTTP;
	else
		return upstream_fail(url, err, errlen, "not socks5:// or http://");
	auth = strstr(url, "://") + 3;
	end = auth + strcspn(auth, "/?#");
	if (*end != '\0' && strcmp(end, "/") != 0)
		return upstream_fail(url, err, errlen, "a path, query or fragment");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL && upstream_userinfo(url, auth, (size_t)(at - auth), out, err, errlen) < 0)
		return -1;
	return upstream_hostport(url, at ? at + 1 : auth, (size_t)(end - (at ? at + 1 : auth)),
				 out, err, errlen);
}

/* "max_fails=N" or "fail_timeout=N": 1 if it was one, 0 if not, -1 bad. */
static int upstream_param(struct upstream *u, const char *w, char *err, size_t errlen)
{
	const char *eq = strchr(w, '=');
	unsigned long max, v;
	char *end;

	if (eq == NULL || strstr(w, "://") != NULL)
		return 0;
	if (strncmp(w, "max_fails=", 10) == 0)
		max = 1000;
	else if (strncmp(w, "fail_timeout=", 13) == 0)
		max = 86400;
	else {
		snprintf(err, errlen, "\"%.40s\": unknown parameter (max_fails=, fail_timeout=)", w);
		return -1;
	}
	v = strtoul(eq + 1, &end, 10);
	if (eq[1] < '1' || eq[1] > '9' || *end != '\0' || v > max) {
		snprintf(err, errlen, "\"%.40s\": not 1..%lu", w, max);
		return -1;
	}
	if (w[0] == 'm')
		u->max_fails = (uint16_t)v;
	else
		u->fail_timeout = (uint32_t)v;
	return 1;
}

int upstream_parse(const char *value, struct upstream *u, char *err, size_t errlen)
{
	char w[1024];
	const char *p = value;
	int r;

	memset(u, 0, sizeof(*u));
	u->max_fails = UPSTREAM_DEFAULT_MAX_FAILS;
	u->fail_timeout = UPSTREAM_DEFAULT_FAIL_TIMEOUT;
	for (;;) {
		size_t n;

		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		n = strcspn(p, " \t");
		if (n >= sizeof(w)) {
			snprintf(err, errlen, "a word over %zu octets", sizeof(w) - 1);
			return -1;
		}
		memcpy(w, p, n);
		w[n] = '\0';
		p += n;
		if ((r = upstream_param(u, w, err, errlen)) < 0)
			goto bad;
		if (r == 1)
			continue;
		if (u->n == UPSTREAM_MAX_PARENTS) {
			snprintf(err, errlen, "more than %d parents", UPSTREAM_MAX_PARENTS);
			goto bad;
		}
		if (upstream_parent_parse(w, &u->parent[u->n], err, errlen) < 0)
			goto bad;
		u->n++;
	}
	if (u->n > 0)
		return 0;
	snprintf(err, errlen, "no parent URL");
bad:
	memset(w, 0, sizeof(w));
	upstream_wipe(u);
	return -1;
}

char *upstream_parent_str(const struct upstream_parent *p, char *buf, size_t len)
{
	bool v6 = strchr(p->host, ':') != NULL;

	snprintf(buf, len, "%s://%s%s%s:%u", p->proto == UPSTREAM_HTTP ? "http" : "socks5",
		 v6 ? "[" : "", p->host, v6 ? "]" : "", p->port);
	return buf;
}

void upstream_wipe(struct upstream *u)
{
	for (size_t i = 0; i < UPSTREAM_MAX_PARENTS; i++) {
		memset(u->parent[i].user, 0, sizeof(u->parent[i].user));
		memset(u->parent[i].pass, 0, sizeof(u->parent[i].pass));
	}
}

/* --- failover --- */

void upstream_health_failed(struct upstream_health *h, const struct upstream *u,
			    uint64_t now_ms, const char *why)
{
	if (h->fails < UINT32_MAX)
		h->fails++;
	snprintf(h->last_error, sizeof(h->last_error), "%s", why ? why : "");
	if (h->fails >= u->max_fails) {
		if (h->down_until_ms == 0)  /* newly down, not a failed probe */
			h->down_since_ms = now_ms;
		h->down_until_ms = now_ms + (uint64_t)u->fail_timeout * 1000;
	}
}

void upstream_health_ok(struct upstream_health *h)
{
	h->fails = 0;
	h->down_since_ms = 0;
	h->down_until_ms = 0;
}

bool upstream_health_down(const struct upstream_health *h, uint64_t now_ms)
{
	return h->down_until_ms != 0 && now_ms < h->down_until_ms;
}

int upstream_choose(const struct upstream *u, struct upstream_health *health,
		    uint64_t now_ms)
{
	return upstream_choose_except(u, health, now_ms, 0);
}

int upstream_choose_except(const struct upstream *u, struct upstream_health *health,
			   uint64_t now_ms, uint32_t tried)
{
	for (size_t i = 0; i < u->n; i++) {
		struct upstream_health *h = &health[i];

		if ((tried & (1u << i)) || upstream_health_down(h, now_ms))
			continue;
		if (h->down_until_ms != 0)  /* its timeout ran out: this is the probe */
			h->down_until_ms = now_ms + (uint64_t)u->fail_timeout * 1000;
		return (int)i;
	}
	return -1;
}
