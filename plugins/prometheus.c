/*
 * prometheus: serves http://ADDR:PORT/metrics in the Prometheus text
 * exposition format (version 0.0.4), from the loop services (ABI 1.2: the
 * host and the state through the call context, threaded to every helper): a
 * non-blocking listener and connections watched by the host's loop, one
 * request read (at most PROM_REQUEST_MAX octets, within PROM_HEAD_MS), one
 * response written (within PROM_CONN_MS), then close. Nothing blocks the
 * loop.
 *
 *	[plugin prometheus]
 *	listen = 127.0.0.1:9108      ; the default; [::1]:9108 for IPv6
 *	bearer_token = TOKEN         ; optional: "Authorization: Bearer TOKEN"
 *	basic_user = NAME            ; optional, with basic_password: Basic
 *	basic_password = CRYPT       ;   credentials, the password a crypt(3) hash
 *
 * Idle connections cannot starve scrapes: PROM_CONNS_MAX slots, at most
 * PROM_PER_SOURCE of them per client address, and a request head must be
 * whole within PROM_HEAD_MS; when a source or all slots are taken, the
 * oldest connection that has not sent a whole request yet is closed for
 * the new one (a scraper sends its request at once, an idler never does).
 * The listener is one of socks5d's own (the host notices it is listening
 * when it is watched): no SOCKS client reaches it through the proxy.
 * Credentials, when set, are checked before anything is rendered: a wrong
 * or missing one gets 401; the Basic password through the host's password
 * service (off the loop, its success remembered like a login's).
 *
 * Metrics: the counters of MASS 02..09 under socks5d_ names (counters end
 * in _total, sizes in _bytes), per-user totals as labelled series
 * (user="NAME", escaped as the format says), socks5d_build_info{version},
 * socks5d_start_time_seconds, socks5d_plugin_loaded{plugin,version},
 * the per-user limits (socks5d_user_quota_used_bytes, _quota_bytes,
 * _rate_delayed_bytes_total, _limit_refused_total) from the host's usage
 * table, and socks5d_upstream_up and socks5d_upstream_failures{upstream,parent}
 * per parent proxy (host->upstream_each: URLs without credentials).
 *
 * Index (see mass-protocol(7); no reply layout: the u16 port is beyond the
 * layout grammar):
 *   15 prometheus status  ""  ADDR str, PORT u16, SCRAPES u64, CONNECTIONS u32
 */
#include <mass/plugin.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "user_totals.h"

#define PROM_DEFAULT_LISTEN "127.0.0.1:9108"
#define PROM_REQUEST_MAX 4096      /* request line and headers */
#define PROM_HEAD_MS 2000u         /* to send the whole request head */
#define PROM_CONN_MS 5000u         /* then to take the response */
#define PROM_CONNS_MAX 256
#define PROM_PER_SOURCE 16
#define PROM_SECRET_MAX 255        /* a token or a password */
#define PROM_DRAIN_MAX (64 * 1024) /* octets read and dropped after the response */

struct prom;

struct prom_verify;

struct prom_conn {
	struct prom *p;
	int fd;
	struct sockaddr_storage peer;
	struct prom_verify *verify;  /* a Basic password being checked, or NULL */
	struct mass_watch *watch;
	struct mass_timer *timer;
	char in[PROM_REQUEST_MAX + 1];
	size_t in_len;
	char *out;                   /* the response, once the request is read */
	size_t out_len, out_off;
	size_t drained;              /* after the response: what is read and dropped */
	struct prom_conn *next;
};

struct prom {
	int fd;
	struct mass_watch *watch;
	char addr[64];
	uint16_t port;
	uint64_t scrapes;
	size_t nconns;
	struct prom_conn *conns;     /* newest first */
	struct user_totals totals;
	char *bearer;                /* bearer_token, or NULL */
	char *basic_user, *basic_crypt; /* basic_user, basic_password, or NULL */
};

/* A password check in flight: outlives its connection (conn NULL then). */
struct prom_verify {
	struct prom_conn *conn;
};

/* ---------------------------------------------------------------- the text */

struct prom_buf {
	char *data;
	size_t len, cap;
	int failed;
};

static void prom_printf(struct prom_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void prom_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *grown;

	for (;;) {
		if (b->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		grown = realloc(b->data, b->cap * 2 + (size_t)n);
		if (grown == NULL) {
			b->failed = 1;
			return;
		}
		b->data = grown;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

/* A label value as the format wants it: \\, \" and \n escaped; octets
 * outside printable ASCII (the value must be UTF-8) become '?'. */
static void prom_label(struct prom_buf *b, const char *s, size_t len)
{
	char esc[4 * 256 + 1];
	size_t i, o = 0;

	if (len > 255)
		len = 255;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c == '"') {
			esc[o++] = '\\';
			esc[o++] = (char)c;
		} else if (c == '\n') {
			esc[o++] = '\\';
			esc[o++] = 'n';
		} else {
			esc[o++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
		}
	}
	esc[o] = '\0';
	prom_printf(b, "%s", esc);
}

static void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help)
{
	prom_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The counters of MASS 02..09 with their Prometheus names. */
static const struct {
	uint8_t index;
	const char *name, *type, *help;
} prom_counters[] = {
	{ 0x02, "socks5d_tunnels_established_total", "counter",
	  "SOCKS tunnels established (requests answered with REP 00)." },
	{ 0x03, "socks5d_connections_open", "gauge", "SOCKS client connections open now." },
	{ 0x04, "socks5d_connections_open_max", "gauge",
	  "Most SOCKS client connections open at once since start." },
	{ 0x05, "socks5d_relayed_bytes_total", "counter",
	  "Payload octets relayed, both directions, each counted once." },
	{ 0x06, "socks5d_auth_attempts_total", "counter",
	  "RFC 1929 sub-negotiations on the SOCKS port, passed or failed." },
	{ 0x07, "socks5d_connections_accepted_total", "counter",
	  "SOCKS client connections accepted." },
	{ 0x08, "socks5d_read_size_average_bytes", "gauge",
	  "Relayed octets read per read call that moved octets." },
	{ 0x09, "socks5d_write_size_average_bytes", "gauge",
	  "Relayed octets written per write call that moved octets." },
};

static void prom_user_family(struct prom_buf *b, const struct user_totals *t, const char *name,
			     const char *help, size_t field)
{
	size_t i;

	prom_family(b, name, "counter", help);
	for (i = 0; i < t->len; i++) {
		const uint64_t *v = (const uint64_t *)(const void *)((const char *)&t->list[i] + field);

		prom_printf(b, "%s{user=\"", name);
		prom_label(b, t->list[i].name, t->list[i].name_len);
		prom_printf(b, "\"} %llu\n", (unsigned long long)*v);
	}
}

/* One user's limits, as copied from usage_each (names live past the callback). */
struct prom_limit {
	char name[256];
	size_t name_len;
	int has_quota;
	uint64_t used, quota, delayed, refused;
};

struct prom_limits {
	struct prom_limit *list;
	size_t len, cap;
	int failed;
};

static int prom_limit_one(struct mass_ctx *ctx, void *arg, const struct mass_usage *u)
{
	struct prom_limits *l = arg;
	struct prom_limit *e;

	(void)ctx;
	if (l->len == USER_TOTALS_MAX)
		return 1;           /* the same cap as the per-user totals */
	if (u->user_len == 0 || u->user_len > 255)
		return 0;           /* unauthenticated clients have no user label */
	if (l->len == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct prom_limit *grown = realloc(l->list, cap * sizeof(*grown));

		if (grown == NULL) {
			l->failed = 1;
			return 1;
		}
		l->list = grown;
		l->cap = cap;
	}
	e = &l->list[l->len++];
	memcpy(e->name, u->user, u->user_len);
	e->name_len = u->user_len;
	e->has_quota = u->quota > 0;
	e->used = u->used;
	e->quota = u->quota;
	e->delayed = u->delayed_bytes;
	e->refused = u->refused;
	return 0;
}

/* One family of the per-user limits: the samples of users where want(e). */
static void prom_limit_family(struct prom_buf *b, const struct prom_limits *l, const char *name,
			      const char *type, const char *help, size_t field, int quota_only)
{
	prom_family(b, name, type, help);
	for (size_t i = 0; i < l->len; i++) {
		const struct prom_limit *e = &l->list[i];

		if (quota_only && !e->has_quota)
			continue;
		prom_printf(b, "%s{user=\"", name);
		prom_label(b, e->name, e->name_len);
		prom_printf(b, "\"} %llu\n", (unsigned long long)
			    *(const uint64_t *)(const void *)((const char *)e + field));
	}
}

/*
 * The per-user limits (issue 20) from the host's usage table, when the host
 * has it: quota used and the quota (users of a class with a quota), octets
 * delayed by the rate limit, requests refused by a limit. At most
 * USER_TOTALS_MAX users, as for the per-user totals. One copy per scrape,
 * so the families hold the same users.
 */
static void prom_limits(struct mass_ctx *ctx, struct prom_buf *b)
{
	struct prom_limits l = { 0 };

	if (!MASS_HOST_HAS(ctx->host, usage_each))
		return;
	ctx->host->usage_each(ctx, prom_limit_one, &l);
	if (l.failed) {
		free(l.list);
		b->failed = 1;
		return;
	}
	prom_limit_family(b, &l, "socks5d_user_quota_used_bytes", "gauge",
			  "Octets the user moved in the current quota period, both directions "
			  "(the fleet's when the quota is shared).",
			  offsetof(struct prom_limit, used), 1);
	prom_limit_family(b, &l, "socks5d_user_quota_bytes", "gauge",
			  "The user's quota per period, in octets.",
			  offsetof(struct prom_limit, quota), 1);
	prom_limit_family(b, &l, "socks5d_user_rate_delayed_bytes_total", "counter",
			  "Octets of the user's that waited for the rate limit.",
			  offsetof(struct prom_limit, delayed), 0);
	prom_limit_family(b, &l, "socks5d_user_limit_refused_total", "counter",
			  "Requests of the user's refused by a limit (sessions, quota).",
			  offsetof(struct prom_limit, refused), 0);
	free(l.list);
}

/* One parent of an upstream (host->upstream_each): up, or its failures. */
struct prom_upstream_walk {
	struct prom_buf *b;
	int failures;
};

static int prom_upstream_one(struct mass_ctx *ctx, void *arg, const struct mass_upstream *u)
{
	struct prom_upstream_walk *w = arg;

	(void)ctx;
	prom_printf(w->b, "%s{upstream=\"", w->failures ? "socks5d_upstream_failures"
							 : "socks5d_upstream_up");
	prom_label(w->b, u->name, strlen(u->name));
	prom_printf(w->b, "\",parent=\"");
	prom_label(w->b, u->parent, strlen(u->parent));
	prom_printf(w->b, "\"} %u\n", w->failures ? (unsigned)u->fails
				      : u->state != MASS_UPSTREAM_DOWN ? 1u : 0u);
	return 0;
}

/* The upstream proxies' parents (mass.ini [upstreams]; URLs without credentials). */
static void prom_upstreams(struct mass_ctx *ctx, struct prom_buf *b)
{
	const struct mass_host *h = ctx->host;
	struct prom_upstream_walk w = { b, 0 };

	if (!MASS_HOST_HAS(h, upstream_each))
		return;
	prom_family(b, "socks5d_upstream_up", "gauge",
		    "1 while a parent proxy is used, 0 while it is skipped as down.");
	h->upstream_each(ctx, prom_upstream_one, &w);
	w.failures = 1;
	prom_family(b, "socks5d_upstream_failures", "gauge",
		    "Failures in a row of a parent proxy (0 once it works again).");
	h->upstream_each(ctx, prom_upstream_one, &w);
}

/* The whole exposition into b. */
static void prom_render(struct mass_ctx *ctx, struct prom_buf *b)
{
	const struct mass_host *h = ctx->host;
	struct prom *p = ctx->state;
	const struct mass_server_info *si = h->server_info();
	struct mass_plugin_info pi;
	struct user_totals now;
	size_t i, n;

	for (i = 0; i < sizeof(prom_counters) / sizeof(prom_counters[0]); i++) {
		prom_family(b, prom_counters[i].name, prom_counters[i].type, prom_counters[i].help);
		prom_printf(b, "%s %llu\n", prom_counters[i].name,
			    (unsigned long long)h->counter(prom_counters[i].index));
	}
	if (user_totals_now(h, &p->totals, &now) == 0) {
		prom_user_family(b, &now, "socks5d_user_connections_total",
				 "SOCKS sessions authenticated as the user (since the plugin loaded).",
				 offsetof(struct user_total, connections));
		prom_user_family(b, &now, "socks5d_user_from_client_bytes_total",
				 "Payload octets the user's clients sent (since the plugin loaded).",
				 offsetof(struct user_total, bytes_from_client));
		prom_user_family(b, &now, "socks5d_user_to_client_bytes_total",
				 "Payload octets sent to the user's clients (since the plugin loaded).",
				 offsetof(struct user_total, bytes_to_client));
		user_totals_free(&now);
	}
	prom_limits(ctx, b);
	prom_family(b, "socks5d_build_info", "gauge", "The daemon's version, as a label.");
	prom_printf(b, "socks5d_build_info{version=\"");
	prom_label(b, si->version, strlen(si->version));
	prom_printf(b, "\"} 1\n");
	prom_family(b, "socks5d_start_time_seconds", "gauge",
		    "When the daemon started, in seconds since the Unix epoch.");
	prom_printf(b, "socks5d_start_time_seconds %lld\n", (long long)si->start_time);
	prom_family(b, "socks5d_plugin_loaded", "gauge",
		    "1 for each plugin of the set serving, 0 for one that failed to load.");
	n = h->plugin_count();
	for (i = 0; i < n; i++) {
		if (h->plugin_info(i, &pi) < 0)
			continue;
		prom_printf(b, "socks5d_plugin_loaded{plugin=\"");
		prom_label(b, pi.name, strlen(pi.name));
		prom_printf(b, "\",version=\"");
		prom_label(b, pi.version != NULL ? pi.version : "", pi.version != NULL ? strlen(pi.version) : 0);
		prom_printf(b, "\"} %u\n", pi.loaded ? 1u : 0u);
	}
	prom_upstreams(ctx, b);
}

/* ---------------------------------------------------------------- HTTP */

static void prom_conn_close(struct mass_ctx *ctx, struct prom_conn *c)
{
	struct prom *p = c->p;
	struct prom_conn **at;

	for (at = &p->conns; *at != NULL; at = &(*at)->next)
		if (*at == c) {
			*at = c->next;
			break;
		}
	ctx->host->watch_remove(c->watch);
	ctx->host->timer_cancel(c->timer);
	if (c->verify != NULL)
		c->verify->conn = NULL; /* its completion frees it */
	close(c->fd);
	free(c->out);
	free(c);
	p->nconns--;
}

static void prom_conn_timeout(struct mass_ctx *ctx, void *arg, struct mass_timer *t)
{
	struct prom_conn *c = arg;

	(void)t;
	c->timer = NULL;   /* a one-shot timer is freed after this call */
	prom_conn_close(ctx, c);
}

/* The response: status line, headers, body; then only writing is watched. */
static void prom_respond(struct mass_ctx *ctx, struct prom_conn *c, const char *status,
			 const char *body, size_t len)
{
	struct prom_buf b = { .data = malloc(256 + len), .cap = 256 + len };

	if (b.data == NULL) {
		prom_conn_close(ctx, c);
		return;
	}
	prom_printf(&b, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		    "%sConnection: close\r\n\r\n", status,
		    strncmp(status, "200", 3) == 0 ? "text/plain; version=0.0.4; charset=utf-8"
						   : "text/plain; charset=utf-8", len,
		    strncmp(status, "401", 3) != 0 ? "" : c->p->basic_user != NULL ?
		    "WWW-Authenticate: Basic realm=\"socks5d\"\r\n" :
		    "WWW-Authenticate: Bearer realm=\"socks5d\"\r\n");
	if (!b.failed && b.cap - b.len >= len) {
		memcpy(b.data + b.len, body, len);
		b.len += len;
	}
	if (b.failed) {
		free(b.data);
		prom_conn_close(ctx, c);
		return;
	}
	c->out = b.data;
	c->out_len = b.len;
	ctx->host->watch_set(c->watch, MASS_WATCH_WRITE);
	/* the head came in time: the response gets the longer deadline */
	ctx->host->timer_cancel(c->timer);
	c->timer = ctx->host->timer_add_ctx(ctx, PROM_CONN_MS, 0, prom_conn_timeout, c);
	if (c->timer == NULL)
		prom_conn_close(ctx, c);
}

/* The exposition, answered: the request was allowed. */
static void prom_serve(struct mass_ctx *ctx, struct prom_conn *c)
{
	struct prom_buf body = { .data = malloc(4096), .cap = 4096 };

	if (body.data == NULL) {
		prom_conn_close(ctx, c);
		return;
	}
	prom_render(ctx, &body);
	if (body.failed) {
		free(body.data);
		prom_respond(ctx, c, "500 Internal Server Error", "out of memory\n", 14);
		return;
	}
	c->p->scrapes++;
	prom_respond(ctx, c, "200 OK", body.data, body.len);
	free(body.data);
}

/* ---------------------------------------------------------------- credentials */

/* Equal in time that depends on the lengths only. */
static int prom_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char diff = alen != blen;

	for (size_t i = 0; i < alen && i < blen; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* The value of header name (lower case) in the head, blanks trimmed; NULL when absent. */
static const char *prom_header(const char *head, const char *name, size_t *len)
{
	size_t nlen = strlen(name);
	const char *line = strchr(head, '\n');

	while (line != NULL && line[1] != '\0') {
		const char *v = line + 1, *end;
		size_t i;

		for (i = 0; i < nlen && v[i] != '\0' && (v[i] | 0x20) == name[i]; i++)
			;
		line = strchr(v, '\n');
		if (i < nlen || v[nlen] != ':')
			continue;
		v += nlen + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		end = line != NULL ? line : v + strlen(v);
		while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*len = (size_t)(end - v);
		return v;
	}
	return NULL;
}

/* RFC 4648 base64 (Basic credentials) into out (at most outmax). Returns the length or -1. */
static int prom_base64(const char *in, size_t len, char *out, size_t outmax)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0, bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len && in[i] != '='; i++) {
		const char *at = in[i] != '\0' ? strchr(abc, in[i]) : NULL;

		if (at == NULL)
			return -1;
		acc = (acc << 6) | (unsigned)(at - abc);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outmax)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return (int)o;
}

static void prom_verified(struct mass_ctx *ctx, void *arg, int match)
{
	struct prom_verify *v = arg;
	struct prom_conn *c = v->conn;

	free(v);
	if (c == NULL)
		return;  /* the connection went first */
	c->verify = NULL;
	if (match == 1)
		prom_serve(ctx, c);
	else
		prom_respond(ctx, c, "401 Unauthorized", "unauthorized\n", 13);
}

/*
 * Basic credentials: the user compared here, the password against the
 * configured crypt(3) hash by the host's password service (later, off the
 * loop). Returns 1 when a check is under way, 0 when refused at once.
 */
static int prom_basic(struct mass_ctx *ctx, struct prom_conn *c, const char *v, size_t len)
{
	struct prom *p = c->p;
	char cred[PROM_SECRET_MAX * 2 + 2];
	const char *colon = NULL;
	int n = -1, queued = 0;

	if (len > 6 && strncasecmp(v, "Basic ", 6) == 0)
		n = prom_base64(v + 6, len - 6, cred, sizeof(cred) - 1);
	if (n > 0)
		colon = memchr(cred, ':', (size_t)n);
	if (colon != NULL && colon + 1 < cred + n &&
	    (size_t)(cred + n - colon - 1) <= PROM_SECRET_MAX &&
	    prom_secret_equal(cred, (size_t)(colon - cred), p->basic_user, strlen(p->basic_user)) &&
	    (c->verify = calloc(1, sizeof(*c->verify))) != NULL) {
		c->verify->conn = c;
		queued = ctx->host->password_verify_cached(ctx, p->basic_user,
							   strlen(p->basic_user), p->basic_crypt,
							   colon + 1, (size_t)(cred + n - colon - 1),
							   prom_verified, c->verify) == 0;
		if (!queued) {
			free(c->verify);
			c->verify = NULL;
		}
	}
	explicit_bzero(cred, sizeof(cred));
	return queued;
}

/* A whole request head is in c->in: GET /metrics (credentials first) or an error status. */
static void prom_request(struct mass_ctx *ctx, struct prom_conn *c)
{
	struct prom *p = c->p;
	const char *path, *auth;
	size_t alen = 0;

	if (strncmp(c->in, "GET ", 4) != 0) {
		prom_respond(ctx, c, "405 Method Not Allowed", "only GET\n", 9);
		return;
	}
	path = strchr(c->in, ' ') + 1;
	if (strncmp(path, "/metrics ", 9) != 0 && strncmp(path, "/metrics?", 9) != 0) {
		prom_respond(ctx, c, "404 Not Found", "see /metrics\n", 13);
		return;
	}
	if (p->bearer == NULL && p->basic_user == NULL) {
		prom_serve(ctx, c);
		return;
	}
	auth = prom_header(c->in, "authorization", &alen);
	if (auth != NULL && p->bearer != NULL && alen > 7 && strncasecmp(auth, "Bearer ", 7) == 0 &&
	    prom_secret_equal(auth + 7, alen - 7, p->bearer, strlen(p->bearer))) {
		prom_serve(ctx, c);
		return;
	}
	if (auth != NULL && p->basic_user != NULL && prom_basic(ctx, c, auth, alen)) {
		ctx->host->watch_set(c->watch, 0); /* nothing to read until the answer */
		return;
	}
	prom_respond(ctx, c, "401 Unauthorized", "unauthorized\n", 13);
}

static void prom_conn_ready(struct mass_ctx *ctx, void *arg, struct mass_watch *w, int fd,
			    int events)
{
	struct prom_conn *c = arg;
	ssize_t n;

	(void)w;
	if (c->verify != NULL) {
		/* the request is whole and its password being checked */
		if (events & MASS_WATCH_ERROR)
			prom_conn_close(ctx, c);
		return;
	}
	if (c->out != NULL && c->out_off == c->out_len) {
		/* our FIN is out: read to the client's, so unread input does not
		 * turn the close into a reset that destroys the response */
		char sink[4096];

		n = recv(fd, sink, sizeof(sink), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (c->drained += (size_t)n) > PROM_DRAIN_MAX)
			prom_conn_close(ctx, c);
		return;
	}
	if (c->out != NULL) {
		if (!(events & (MASS_WATCH_WRITE | MASS_WATCH_ERROR)))
			return;
		n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0)
			c->out_off += (size_t)n;
		if (n <= 0 || (c->out_off == c->out_len && shutdown(fd, SHUT_WR) < 0))
			prom_conn_close(ctx, c);
		else if (c->out_off == c->out_len)
			ctx->host->watch_set(c->watch, MASS_WATCH_READ);
		return;
	}
	n = recv(fd, c->in + c->in_len, PROM_REQUEST_MAX - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		prom_conn_close(ctx, c);
		return;
	}
	c->in_len += (size_t)n;
	c->in[c->in_len] = '\0';
	if (memchr(c->in, '\0', c->in_len) != NULL) {
		prom_respond(ctx, c, "400 Bad Request", "bad request\n", 12);
		return;
	}
	if (strstr(c->in, "\r\n\r\n") != NULL || strstr(c->in, "\n\n") != NULL)
		prom_request(ctx, c);
	else if (c->in_len == PROM_REQUEST_MAX)
		prom_respond(ctx, c, "431 Request Header Fields Too Large", "too large\n", 10);
}

/* The host of a peer address (IPv4-mapped IPv6 as IPv4), for the per-source cap. */
static size_t prom_source(const struct sockaddr_storage *ss, uint8_t out[16])
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 4;
	}
	if (ss->ss_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		memcpy(out, in6->sin6_addr.s6_addr + 12, 4);
		return 4;
	}
	memcpy(out, in6->sin6_addr.s6_addr, 16);
	return 16;
}

static int prom_same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	uint8_t ha[16], hb[16];
	size_t la = prom_source(a, ha), lb = prom_source(b, hb);

	return la != 0 && la == lb && memcmp(ha, hb, la) == 0;
}

/*
 * Room for a connection from peer: when its source holds PROM_PER_SOURCE
 * or every slot is taken, the oldest connection (of that source, else of
 * any) that has not sent a whole request is closed. Returns 0 when there
 * is room, -1 when every holder is busy with a real request.
 */
static int prom_make_room(struct mass_ctx *ctx, struct prom *p,
			  const struct sockaddr_storage *peer)
{
	struct prom_conn *c, *oldest_same = NULL, *oldest_any = NULL;
	size_t same = 0;

	for (c = p->conns; c != NULL; c = c->next) {
		int idle = c->out == NULL && c->verify == NULL;
		int mine = prom_same_source(&c->peer, peer);

		same += (size_t)mine;
		if (idle && mine)
			oldest_same = c;  /* the list is newest first: the last one seen */
		if (idle)
			oldest_any = c;
	}
	if (same >= PROM_PER_SOURCE) {
		if (oldest_same == NULL)
			return -1;
		prom_conn_close(ctx, oldest_same);
		return 0;
	}
	if (p->nconns < PROM_CONNS_MAX)
		return 0;
	if (oldest_any == NULL)
		return -1;
	prom_conn_close(ctx, oldest_any);
	return 0;
}

static void prom_accept(struct mass_ctx *ctx, void *arg, struct mass_watch *w, int fd,
			int events)
{
	const struct mass_host *h = ctx->host;
	struct prom *p = arg;
	struct prom_conn *c;
	struct sockaddr_storage peer;
	socklen_t plen;
	int cfd;

	(void)w;
	(void)events;
	for (;;) {
		plen = sizeof(peer);
		memset(&peer, 0, sizeof(peer));
		cfd = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;   /* EAGAIN, or an error the next readiness retries */
		if (prom_make_room(ctx, p, &peer) < 0 || (c = calloc(1, sizeof(*c))) == NULL) {
			close(cfd);
			continue;
		}
		c->p = p;
		c->fd = cfd;
		c->peer = peer;
		c->watch = h->watch_add_ctx(ctx, cfd, MASS_WATCH_READ, prom_conn_ready, c);
		c->timer = h->timer_add_ctx(ctx, PROM_HEAD_MS, 0, prom_conn_timeout, c);
		if (c->watch == NULL || c->timer == NULL) {
			h->watch_remove(c->watch);
			h->timer_cancel(c->timer);
			close(cfd);
			free(c);
			continue;
		}
		c->next = p->conns;
		p->conns = c;
		p->nconns++;
	}
}

/* ---------------------------------------------------------------- setup */

/* "ADDR:PORT" or "[ADDR6]:PORT" into a socket address. Returns 0 or -1. */
static int prom_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len,
			     char *addr, size_t addrlen, uint16_t *port)
{
	const char *colon = strrchr(text, ':');
	char host[64];
	size_t hl;
	char *end;
	unsigned long v;

	if (colon == NULL || colon == text)
		return -1;
	hl = (size_t)(colon - text);
	if (text[0] == '[' && hl >= 2 && text[hl - 1] == ']') {
		text++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, text, hl);
	host[hl] = '\0';
	v = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || v > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)v);
		*len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)v);
		*len = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	snprintf(addr, addrlen, "%s", host);
	*port = (uint16_t)v;
	return 0;
}

/* Opens the listener; the bound port replaces 0. Returns the fd or -1 (err set). */
static int prom_listen(struct prom *p, const char *text, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (prom_parse_listen(text, &ss, &len, p->addr, sizeof(p->addr), &p->port) < 0) {
		snprintf(err, errlen, "listen = %s: not ADDR:PORT (numeric address)", text);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* SO_REUSEPORT: at a reload the new load binds before the old one's
	 * fini closes its socket (both are alive for a moment) */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0
	    || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "listen = %s: %s", text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		p->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						       : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void prom_free_credentials(struct prom *p)
{
	if (p->bearer != NULL)
		explicit_bzero(p->bearer, strlen(p->bearer));
	free(p->bearer);
	free(p->basic_user);
	free(p->basic_crypt);
	p->bearer = p->basic_user = p->basic_crypt = NULL;
}

/*
 * bearer_token, basic_user and basic_password (a crypt(3) string: "$..."),
 * the last two together. Returns 0, or -1 with err "FILE:LINE: [plugin
 * prometheus] KEY: reason".
 */
static int prom_credentials(struct prom *p, const struct mass_config *config, char *err,
			    size_t errlen)
{
	for (size_t i = 0; i < config->count; i++) {
		const char *k = config->items[i].key, *v = config->items[i].value;
		char **to = strcmp(k, "bearer_token") == 0 ? &p->bearer
			  : strcmp(k, "basic_user") == 0 ? &p->basic_user
			  : strcmp(k, "basic_password") == 0 ? &p->basic_crypt : NULL;
		const char *why = NULL;

		if (to == NULL)
			continue;
		if (*v == '\0' || strlen(v) > PROM_SECRET_MAX || strpbrk(v, " \t\r\n") != NULL)
			why = "1 to 255 octets, no blanks";
		else if (to == &p->basic_crypt && v[0] != '$')
			why = "a crypt(3) hash (massctl hash), not a password";
		else if (to == &p->basic_user && strchr(v, ':') != NULL)
			why = "a name without ':'";
		else if (*to != NULL)
			why = "given twice";
		if (why == NULL && (*to = strdup(v)) == NULL)
			why = "out of memory";
		if (why != NULL) {
			snprintf(err, errlen, "%s:%u: [plugin prometheus] %s: %s", config->file,
				 config->items[i].line, k, why);
			return -1;
		}
	}
	if ((p->basic_user == NULL) != (p->basic_crypt == NULL)) {
		snprintf(err, errlen, "%s: [plugin prometheus] basic_user and basic_password go "
			 "together", config->file);
		return -1;
	}
	return 0;
}

static int prom_status(struct mass_ctx *ctx, const struct mass_request *req,
		       struct mass_reply *reply)
{
	const struct mass_host *h = ctx->host;
	struct prom *p = ctx->state;
	uint8_t port[2] = { (uint8_t)(p->port >> 8), (uint8_t)p->port };

	(void)req;
	h->reply_str(reply, p->addr, strlen(p->addr));
	h->reply_bytes(reply, port, 2);
	h->reply_u64(reply, p->scrapes);
	h->reply_u32(reply, (uint32_t)p->nconns);
	return MASS_STATUS_OK;
}

static int prom_init(struct mass_ctx *ctx, const struct mass_config *config, char *err,
		     size_t errlen)
{
	const struct mass_host *host = ctx->host;
	const char *listen_at = PROM_DEFAULT_LISTEN;
	struct prom *p;
	size_t i;

	for (i = 0; i < config->count; i++) {
		if (strcmp(config->items[i].key, "listen") == 0) {
			listen_at = config->items[i].value;
		} else if (strcmp(config->items[i].key, "bearer_token") == 0 ||
			   strcmp(config->items[i].key, "basic_user") == 0 ||
			   strcmp(config->items[i].key, "basic_password") == 0) {
			continue; /* prom_credentials() */
		} else if (strcmp(config->items[i].key, "module") != 0) {
			snprintf(err, errlen, "%s:%u: [plugin prometheus] %s: unknown key",
				 config->file, config->items[i].line, config->items[i].key);
			return -1;
		}
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (prom_credentials(p, config, err, errlen) < 0 ||
	    (p->basic_user != NULL && !MASS_HOST_HAS(host, password_verify_cached) &&
	     snprintf(err, errlen, "basic_user: this socks5d has no password service") > 0) ||
	    (p->fd = prom_listen(p, listen_at, err, errlen)) < 0) {
		prom_free_credentials(p);
		free(p);
		return -1;
	}
	ctx->state = p;
	p->watch = host->watch_add_ctx(ctx, p->fd, MASS_WATCH_READ, prom_accept, p);
	if (p->watch == NULL || user_totals_subscribe(ctx, &p->totals) == NULL) {
		snprintf(err, errlen, "cannot watch the listener: %s", strerror(errno));
		close(p->fd);
		prom_free_credentials(p);
		free(p);   /* what was registered goes with the failed init */
		ctx->state = NULL;
		return -1;
	}
	host->log_ctx(ctx, MASS_LOG_INFO, "serving /metrics on %s port %u", p->addr,
		      (unsigned)p->port);
	return 0;
}

/* Watches and timers go with the load; the descriptors are ours to close. */
static void prom_fini(struct mass_ctx *ctx)
{
	struct prom *p = ctx->state;

	while (p->conns != NULL)
		prom_conn_close(ctx, p->conns);
	ctx->host->watch_remove(p->watch);
	close(p->fd);
	user_totals_free(&p->totals);
	prom_free_credentials(p);
	free(p);
}

static const struct mass_index prom_indexes[] = {
	{ .index = 0x15, .signature = "",
	  .usage = "prometheus exporter: listen address, port, scrapes served",
	  .serve = prom_status },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "prometheus",
	.version = "1.2.0",
	.description = "Prometheus text exposition of the counters on HTTP /metrics",
	MASS_PLUGIN_INDEXES(prom_indexes),
	.init_ctx = prom_init,
	.fini_ctx = prom_fini,
};
