/*
 * prometheus: serves http://ADDR:PORT/metrics in the Prometheus text
 * exposition format (version 0.0.4), from the loop services (ABI 1.2: the
 * host and the state through the call context, threaded to every helper): a
 * non-blocking listener and connections watched by the host's loop, one
 * request read (at most PROM_REQUEST_MAX octets, within PROM_CONN_MS), one
 * response written, then close. Nothing blocks the loop.
 *
 *	[plugin prometheus]
 *	listen = 127.0.0.1:9108      ; the default; [::1]:9108 for IPv6
 *
 * Metrics: the counters of MASS 02..09 under socks5d_ names (counters end
 * in _total, sizes in _bytes), per-user totals as labelled series
 * (user="NAME", escaped as the format says), socks5d_build_info{version},
 * socks5d_start_time_seconds, socks5d_plugin_loaded{plugin,version}.
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
#include <sys/socket.h>
#include <unistd.h>

#include "user_totals.h"

#define PROM_DEFAULT_LISTEN "127.0.0.1:9108"
#define PROM_REQUEST_MAX 4096      /* request line and headers */
#define PROM_CONN_MS 5000u         /* a connection's whole life */
#define PROM_CONNS_MAX 16
#define PROM_DRAIN_MAX (64 * 1024) /* octets read and dropped after the response */

struct prom;

struct prom_conn {
	struct prom *p;
	int fd;
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
	struct prom_conn *conns;
	struct user_totals totals;
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
		    "Connection: close\r\n\r\n", status,
		    strncmp(status, "200", 3) == 0 ? "text/plain; version=0.0.4; charset=utf-8"
						   : "text/plain; charset=utf-8", len);
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
}

/* A whole request head is in c->in: GET /metrics or an error status. */
static void prom_request(struct mass_ctx *ctx, struct prom_conn *c)
{
	struct prom_buf body = { .data = malloc(4096), .cap = 4096 };
	const char *path;

	if (strncmp(c->in, "GET ", 4) != 0) {
		free(body.data);
		prom_respond(ctx, c, "405 Method Not Allowed", "only GET\n", 9);
		return;
	}
	path = strchr(c->in, ' ') + 1;
	if (strncmp(path, "/metrics ", 9) != 0 && strncmp(path, "/metrics?", 9) != 0) {
		free(body.data);
		prom_respond(ctx, c, "404 Not Found", "see /metrics\n", 13);
		return;
	}
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

static void prom_conn_ready(struct mass_ctx *ctx, void *arg, struct mass_watch *w, int fd,
			    int events)
{
	struct prom_conn *c = arg;
	ssize_t n;

	(void)w;
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

static void prom_accept(struct mass_ctx *ctx, void *arg, struct mass_watch *w, int fd,
			int events)
{
	const struct mass_host *h = ctx->host;
	struct prom *p = arg;
	struct prom_conn *c;
	int cfd;

	(void)w;
	(void)events;
	for (;;) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;   /* EAGAIN, or an error the next readiness retries */
		if (p->nconns >= PROM_CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
			close(cfd);
			continue;
		}
		c->p = p;
		c->fd = cfd;
		c->watch = h->watch_add_ctx(ctx, cfd, MASS_WATCH_READ, prom_conn_ready, c);
		c->timer = h->timer_add_ctx(ctx, PROM_CONN_MS, 0, prom_conn_timeout, c);
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
	p->fd = prom_listen(p, listen_at, err, errlen);
	if (p->fd < 0) {
		free(p);
		return -1;
	}
	ctx->state = p;
	p->watch = host->watch_add_ctx(ctx, p->fd, MASS_WATCH_READ, prom_accept, p);
	if (p->watch == NULL || user_totals_subscribe(ctx, &p->totals) == NULL) {
		snprintf(err, errlen, "cannot watch the listener: %s", strerror(errno));
		close(p->fd);
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
