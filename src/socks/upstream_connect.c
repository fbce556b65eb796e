/* upstream_connect: CONNECT through a parent proxy. See upstream_connect.h. */
#include "upstream_connect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"
#include "resolve.h"
#include "route/http_head.h"
#include "route/socks5_client.h"
#include "socks5_proto.h"

/* Where the attempt with the current parent is. */
enum { UC_START, UC_RESOLVING, UC_CONNECTING, UC_METHOD, UC_AUTH, UC_REPLY, UC_HTTP };

struct upconn {
	struct upconn_env env;
	struct routes_upstream *up;
	const struct upconn_ops *ops;
	void *owner;
	char name[256];                  /* the destination's name, "" when by address */
	struct sockaddr_storage dst;     /* by address: it, port set */
	uint16_t port;
	int fd;                          /* to the current parent, -1 none */
	int parent;                      /* its index in up->up.parent */
	uint32_t tried;                  /* parents tried for this request (bits) */
	uint8_t step;
	struct resolve_query *query;
	struct loop_timer timer;         /* the parent's deadline (0 ms: the first step) */
	struct socks5_client_parser sp;
	struct http_head *hh;            /* an HTTP parent's response */
};

static void upconn_next(struct upconn *uc);

static void upconn_close_fd(struct upconn *uc)
{
	if (uc->query != NULL) {
		resolve_cancel(uc->query);
		uc->query = NULL;
	}
	if (uc->fd >= 0) {
		loop_forget(uc->env.loop, uc->fd);
		close(uc->fd);
		uc->fd = -1;
	}
}

void upconn_free(struct upconn *uc)
{
	if (uc == NULL)
		return;
	loop_timer_stop(uc->env.loop, &uc->timer);
	upconn_close_fd(uc);
	free(uc->hh);
	free(uc);
}

static const struct upstream_parent *upconn_parent(const struct upconn *uc)
{
	return &uc->up->up.parent[uc->parent];
}

/* The current parent failed: its health, a log line when it goes down, the next one. */
static void upconn_parent_failed(struct upconn *uc, const char *why)
{
	struct upstream_health *h = &uc->up->health[uc->parent];
	uint64_t now = loop_now_ms(uc->env.loop);
	bool was_down = h->down_since_ms != 0;
	char p[320];

	upstream_health_failed(h, &uc->up->up, now, why);
	if (!was_down && h->down_since_ms != 0)
		log_warn("upstream %s: parent %s down for %u s after %u failures: %s",
			 uc->up->name, upstream_parent_str(upconn_parent(uc), p, sizeof(p)),
			 (unsigned)uc->up->up.fail_timeout, (unsigned)h->fails, why);
	upconn_close_fd(uc);
	upconn_next(uc);
}

/* The current parent answered as a parent should: it is up. */
static void upconn_parent_ok(struct upconn *uc)
{
	struct upstream_health *h = &uc->up->health[uc->parent];
	char p[320];

	if (h->down_since_ms != 0)
		log_info("upstream %s: parent %s is up again", uc->up->name,
			 upstream_parent_str(upconn_parent(uc), p, sizeof(p)));
	upstream_health_ok(h);
}

/* Last action of a failed attempt: the owner may free uc in the callback. */
static void upconn_report(struct upconn *uc, uint8_t rep, bool unavailable)
{
	loop_timer_stop(uc->env.loop, &uc->timer);
	upconn_close_fd(uc);
	uc->ops->failed(uc->owner, rep, unavailable);
}

/* Last action of a successful attempt: the socket goes to the owner. */
static void upconn_handover(struct upconn *uc)
{
	int fd = uc->fd;

	loop_timer_stop(uc->env.loop, &uc->timer);
	loop_remove(uc->env.loop, fd);
	uc->fd = -1;
	uc->ops->connected(uc->owner, fd);
}

static bool upconn_send(struct upconn *uc, const void *buf, size_t len)
{
	return len > 0 && send(uc->fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* The CONNECT request to a SOCKS5 parent, then its reply is awaited. */
static bool upconn_socks_request(struct upconn *uc)
{
	uint8_t req[SOCKS5_CLIENT_REQUEST_MAX];
	size_t n = uc->name[0] != '\0'
		 ? socks5_client_request_name(req, SOCKS5_CMD_CONNECT, uc->name,
					      strlen(uc->name), uc->port)
		 : socks5_client_request_addr(req, SOCKS5_CMD_CONNECT,
					      (const struct sockaddr *)&uc->dst);

	socks5_client_init(&uc->sp, SOCKS5_CLIENT_REPLY, 0);
	uc->step = UC_REPLY;
	return upconn_send(uc, req, n);
}

/* Connected to the parent: its protocol's first message. */
static bool upconn_greet(struct upconn *uc)
{
	const struct upstream_parent *p = upconn_parent(uc);

	if (p->proto == UPSTREAM_SOCKS5) {
		uint8_t g[SOCKS5_CLIENT_GREETING_MAX];
		uint8_t offer = SOCKS5_CLIENT_OFFER_NONE |
				(p->has_cred ? SOCKS5_CLIENT_OFFER_USERPASS : 0);

		socks5_client_init(&uc->sp, SOCKS5_CLIENT_METHOD, offer);
		uc->step = UC_METHOD;
		return upconn_send(uc, g, socks5_client_greeting(g, offer));
	} else {
		char head[1024], host[NET_ADDRSTRLEN];
		bool ok;

		if (uc->hh == NULL && (uc->hh = malloc(sizeof(*uc->hh))) == NULL)
			return false;
		http_head_init(uc->hh, HTTP_HEAD_RESPONSE);
		if (uc->name[0] == '\0')
			net_ip_str((const struct sockaddr *)&uc->dst, host, sizeof(host));
		ok = upconn_send(uc, head, http_head_connect_request(head, sizeof(head),
			uc->name[0] != '\0' ? uc->name : host, uc->port,
			p->has_cred ? p->user : NULL, p->has_cred ? p->pass : NULL));
		explicit_bzero(head, sizeof(head));
		uc->step = UC_HTTP;
		return ok;
	}
}

/* A SOCKS5 parent's message is complete. Returns false when uc is gone. */
static bool upconn_socks_done(struct upconn *uc)
{
	const struct upstream_parent *p = upconn_parent(uc);
	uint8_t login[SOCKS5_CLIENT_USERPASS_MAX];
	bool ok;

	switch (uc->step) {
	case UC_METHOD:
		if (uc->sp.method == SOCKS5_METHOD_REJECT) {
			upconn_parent_failed(uc, "no acceptable method");
			return false;
		}
		if (uc->sp.method == SOCKS5_METHOD_NONE)
			ok = upconn_socks_request(uc);
		else {
			ok = upconn_send(uc, login, socks5_client_userpass(login, p->user,
				strlen(p->user), p->pass, strlen(p->pass)));
			explicit_bzero(login, sizeof(login));
			socks5_client_init(&uc->sp, SOCKS5_CLIENT_AUTH, 0);
			uc->step = UC_AUTH;
		}
		break;
	case UC_AUTH:
		if (uc->sp.status != 0) {
			upconn_parent_failed(uc, "login refused");
			return false;
		}
		ok = upconn_socks_request(uc);
		break;
	default:
		upconn_parent_ok(uc);
		if (uc->sp.rep == SOCKS5_REP_SUCCEEDED)
			upconn_handover(uc);
		else
			upconn_report(uc, uc->sp.rep, false);
		return false;
	}
	if (!ok)
		upconn_parent_failed(uc, "cannot send");
	return ok;
}

/* An HTTP parent's response is complete. uc is gone after. */
static void upconn_http_done(struct upconn *uc)
{
	unsigned st = uc->hh->status;
	char why[48];

	if (st >= 200 && st < 300) {
		upconn_parent_ok(uc);
		upconn_handover(uc);
		return;
	}
	if (st == 403 || st == 404 || (st >= 502 && st <= 504)) {
		/* the parent works; the destination does not */
		upconn_parent_ok(uc);
		upconn_report(uc, st == 403 ? SOCKS5_REP_NOT_ALLOWED
				: st == 503 ? SOCKS5_REP_REFUSED
				: st == 504 ? SOCKS5_REP_TTL_EXPIRED : SOCKS5_REP_HOST_UNREACHABLE,
			      false);
		return;
	}
	snprintf(why, sizeof(why), st == 407 ? "login refused (HTTP 407)" : "HTTP status %u", st);
	upconn_parent_failed(uc, why);
}

/*
 * The parent's answer: peeked, fed to the parser, and only the octets the
 * parser used taken from the socket, so nothing past the reply is read.
 */
static void upconn_read(struct upconn *uc)
{
	uint8_t buf[4096];
	size_t used = 0;
	enum proto_result r;
	ssize_t n = recv(uc->fd, buf, sizeof(buf), MSG_PEEK);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		upconn_parent_failed(uc, n == 0 ? "closed during the handshake" : strerror(errno));
		return;
	}
	if (uc->step == UC_HTTP)
		r = http_head_parse(uc->hh, buf, (size_t)n, &used);
	else
		r = socks5_client_parse(&uc->sp, buf, (size_t)n, &used);
	if (used > 0 && recv(uc->fd, buf, used, 0) != (ssize_t)used) {
		upconn_parent_failed(uc, "read failed");
		return;
	}
	if (r == PROTO_ERROR)
		upconn_parent_failed(uc, uc->step == UC_HTTP ? http_head_error_str(uc->hh->error)
					 : socks5_client_error_str(uc->sp.error));
	else if (r == PROTO_DONE && uc->step == UC_HTTP)
		upconn_http_done(uc);
	else if (r == PROTO_DONE)
		(void)upconn_socks_done(uc);
}

static void upconn_io(struct loop *loop, int fd, void *data, int events)
{
	struct upconn *uc = data;
	int err;

	(void)loop;
	(void)fd;
	if (uc->step != UC_CONNECTING) {
		if (events & (LOOP_READ | LOOP_ERROR))
			upconn_read(uc);
		return;
	}
	if (!(events & (LOOP_WRITE | LOOP_ERROR)))
		return;
	err = net_socket_error(uc->fd);
	if (err != 0) {
		upconn_parent_failed(uc, strerror(err));
		return;
	}
	if (loop_set(uc->env.loop, uc->fd, LOOP_READ) < 0 || !upconn_greet(uc))
		upconn_parent_failed(uc, "cannot send");
}

static void upconn_connect(struct upconn *uc, const struct sockaddr *addr)
{
	struct sockaddr_storage src;
	socklen_t slen = 0;
	bool freebind = false;
	int r = uc->env.source ? uc->env.source(uc->owner, addr->sa_family, &src, &slen, &freebind)
			       : 0;

	if (r < 0) {
		upconn_parent_failed(uc, "no egress address of its family");
		return;
	}
	uc->fd = net_connect_from(addr, net_addr_len(addr), r > 0 ? (struct sockaddr *)&src : NULL,
				  slen, freebind);
	if (uc->fd < 0) {
		upconn_parent_failed(uc, strerror(errno));
		return;
	}
	if (loop_add(uc->env.loop, uc->fd, LOOP_WRITE, upconn_io, uc) < 0) {
		upconn_parent_failed(uc, strerror(errno));
		return;
	}
	uc->step = UC_CONNECTING;
}

static void upconn_resolved(void *data, enum resolve_status status,
			    const struct sockaddr_storage *addrs, size_t count)
{
	struct upconn *uc = data;

	uc->query = NULL;
	if (status != RESOLVE_OK || count == 0) {
		upconn_parent_failed(uc, "its name does not resolve");
		return;
	}
	upconn_connect(uc, (const struct sockaddr *)&addrs[0]);
}

static void upconn_timeout(struct loop *loop, struct loop_timer *t)
{
	struct upconn *uc = LOOP_TIMER_OWNER(t, struct upconn, timer);

	(void)loop;
	if (uc->step == UC_START) {
		upconn_next(uc);
		return;
	}
	upconn_parent_failed(uc, "timed out");
}

/* The next parent not down nor tried yet; with none left, REP 03. */
static void upconn_next(struct upconn *uc)
{
	const struct upstream_parent *p;
	int i = upstream_choose_except(&uc->up->up, uc->up->health, loop_now_ms(uc->env.loop),
				       uc->tried);

	if (i < 0) {
		upconn_report(uc, SOCKS5_REP_NET_UNREACHABLE, true);
		return;
	}
	uc->parent = i;
	uc->tried |= 1u << i;
	p = upconn_parent(uc);
	loop_timer_start(uc->env.loop, &uc->timer, (uint64_t)uc->env.connect_timeout * 1000,
			 upconn_timeout);
	if (p->numeric) {
		upconn_connect(uc, (const struct sockaddr *)&p->addr);
		return;
	}
	uc->step = UC_RESOLVING;
	uc->query = resolve_start(uc->env.resolver, p->host, p->port, upconn_resolved, uc);
	if (uc->query == NULL)
		upconn_parent_failed(uc, "out of memory");
}

struct upconn *upconn_start(const struct upconn_env *env, struct routes_upstream *up,
			    const char *name, const struct sockaddr *dst, uint16_t port,
			    const struct upconn_ops *ops, void *owner)
{
	struct upconn *uc = calloc(1, sizeof(*uc));

	if (uc == NULL)
		return NULL;
	uc->env = *env;
	uc->up = up;
	uc->ops = ops;
	uc->owner = owner;
	uc->fd = -1;
	uc->port = port;
	if (name != NULL)
		snprintf(uc->name, sizeof(uc->name), "%s", name);
	else {
		memcpy(&uc->dst, dst, net_addr_len(dst));
		net_set_port(&uc->dst, port);
	}
	/* the first step runs from the loop, so no callback comes from in here */
	uc->step = UC_START;
	loop_timer_start(env->loop, &uc->timer, 0, upconn_timeout);
	return uc;
}
