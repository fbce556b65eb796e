/* session: the SOCKS5 connection state machine. See session.h. */
#include "session.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accesslog.h"
#include "acl.h"
#include "bind.h"
#include "context.h"
#include "http_connect.h"
#include "dissect/dissect.h"
#include "core/events.h"
#include "core/escape.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/net.h"
#include "core/ratelimit.h"
#include "proxy_proto.h"
#include "relay.h"
#include "resolve.h"
#include "route/egress.h"
#include "route/http_head.h"
#include "routes.h"
#include "socks5_proto.h"
#include "udp_assoc.h"
#include "upstream_connect.h"
#include "auth/users.h"
#include "auth/verify.h"

enum session_state {
	ST_PROXY,        /* a balancer's PROXY header first ([socks] proxy_protocol) */
	ST_GREETING,
	ST_HTTP,         /* an HTTP CONNECT head instead of a greeting (http_connect.h) */
	ST_AUTH,
	ST_VERIFYING,    /* login parsed: the verify pool (auth/verify.h) or the
			  * authentication providers (core/events.h) have it */
	ST_REQUEST,
	ST_RESOLVING,
	ST_CONNECTING,
	ST_UPSTREAM,     /* CONNECT through a parent proxy (upstream_connect.h) */
	ST_BIND,         /* BIND: waiting for the peer (bind.h) */
	ST_UDP,          /* UDP ASSOCIATE: the control connection (udp_assoc.h) */
	ST_RELAY
};

/* What only the handshake needs; freed when the tunnel is established. */
struct handshake {
	union {
		struct proxy_parser proxy;
		struct greeting_parser greeting;
		struct userpass_parser userpass;
	} p;
	struct request_parser req;
	struct sockaddr_storage peer;
	struct resolve_query *query;
	struct verify_req *verify;       /* ST_VERIFYING: the pending check */
	bool paced;                      /* its check is in flight for pace_admit() */
	bool held;                       /* counted by pace_hold() until past the login */
	struct sockaddr_storage *addrs;  /* candidates for the destination */
	size_t naddrs, next_addr;
	int last_error;                  /* errno of the last failed attempt */
	bool tried;                      /* a connect to some address was started */
	size_t pending_len;              /* client bytes behind the login or the request */
	uint8_t pending[];               /* ... kept here until the relay starts */
};

struct session {
	struct socks_ctx *ctx;           /* loop, resolver, live users and switches */
	const struct socks_policy *policy; /* the one it started with (its snapshot held) */
	struct relay relay;              /* owns both fds (upstream -1 until connecting) */
	struct loop_timer timer;         /* the current stage's deadline */
	struct loop_timer kick;          /* resumes a relay that yielded */
	uint64_t last_active_ms;
	struct handshake *hs;
	struct bind *bind;               /* ST_BIND only */
	struct udp_assoc *udp;           /* ST_UDP only */
	struct upconn *up;               /* ST_UPSTREAM only */
	TAILQ_ENTRY(session) link;       /* in ctx->sessions.list */
	char *user;                      /* authenticated name, NULL without auth */
	char *dest;                      /* destination as named, from the request on */
	uint16_t dest_port;
	struct ratelimit udp_denials;    /* access-log lines for denied datagrams */
	uint8_t state;
	/* for the close record of an established tunnel (accesslog.h) */
	uint8_t end;                     /* enum accesslog_end, set where it ends */
	uint64_t start_ms;
	struct sockaddr_in6 client_addr, peer_addr;  /* room for either family */
	struct sockaddr_in6 src_addr;    /* our side of the outbound connection */
	uint8_t cmd;                     /* the request's command; 0 before */
	uint8_t rep;                     /* the REP octet sent; 0xFF none yet */
	/* for plugins (ABI 1.1 events and session control) */
	uint64_t id;
	uint64_t accepted_ms;
	struct loop_timer closer;        /* session_close_id(): ends it next round */
	void *auth_pending;              /* a provider's login in progress */
	char *bound;                     /* the proxy's side, once established, if wanted */
	uint16_t bound_port;
	struct http_connect *http;       /* an HTTP CONNECT client: its answers translated */
	/* per-user limits (socks_limits.h): NULL is the unlimited path */
	struct socks_limit *lim;
	unsigned lim_gen;                /* the limits' generation looked at */
};

/* Failed SOCKS logins per source (auth/pace.h): the delay before the
 * source's next check, 250 ms doubling up to 8 s; success resets it. */
#define SESSION_PACE_MIN_MS 250u
#define SESSION_PACE_MAX_MS 8000u
/* Connections from one source (IPv4 address, IPv6 /64) not yet past their
 * login; beyond it the oldest still sending its greeting or login gives way
 * to a new one (session_source_room). A balancer listed in proxy_protocol
 * is not capped. */
#define SESSION_UNAUTH_PER_SOURCE 64u

void session_table_init(struct session_table *t)
{
	TAILQ_INIT(&t->list);
	t->total = 0;
	t->next_id = 1;
	/* refused PROXY headers and failed logins in the daemon log: 10 at
	 * once, then 1 a second, over all peers */
	t->proxy_lines = (struct ratelimit)RATELIMIT_INIT(10, 1);
	t->login_lines = (struct ratelimit)RATELIMIT_INIT(10, 1);
	pace_init(&t->login_pace, SESSION_PACE_MIN_MS, SESSION_PACE_MAX_MS);
}

#define SESSION_NAME_MAX 255  /* a SOCKS5 name (ATYP 03) */
#define SESSION_MS(seconds) ((uint64_t)(seconds) * 1000u)

/* What the session moved: a tunnel's relay, or a UDP association's datagrams. */
static void session_bytes(const struct session *s, uint64_t *up, uint64_t *down)
{
	if (s->state == ST_UDP && s->udp != NULL) {
		udp_assoc_bytes(s->udp, up, down);
		return;
	}
	*up = s->relay.dir[RELAY_TO_UPSTREAM].bytes;
	*down = s->relay.dir[RELAY_TO_CLIENT].bytes;
}

/* The close line of an established tunnel or UDP association, while its
 * sockets are open (an association has no one peer: '-'). */
static void session_log_close(struct session *s)
{
	uint64_t up, down;

	session_bytes(s, &up, &down);
	accesslog_tunnel_close_src(s->ctx->accesslog, s->user,
			       (const struct sockaddr *)&s->client_addr, s->dest,
			       s->dest_port, s->peer_addr.sin6_family != AF_UNSPEC
			       ? (const struct sockaddr *)&s->peer_addr : NULL,
			       up, down, loop_now_ms(s->ctx->loop) - s->start_ms,
			       (enum accesslog_end)s->end, (const struct sockaddr *)&s->src_addr);
}

static void session_emit(struct session *s, struct mass_event *ev);
static void session_auth_release(struct session *s);

static void session_free(struct session *s)
{
	struct handshake *hs = s->hs;

	if (s->state == ST_RELAY || s->state == ST_UDP)
		session_log_close(s);
	/* a connection refused before its PROXY header ended never was a session */
	if (s->state != ST_PROXY && events_wanted(MASS_EVENT_CLOSED)) {
		struct mass_event ev = {
			.type = MASS_EVENT_CLOSED,
			.reply = s->rep,
			.duration_ms = loop_now_ms(s->ctx->loop) - s->accepted_ms,
		};

		session_bytes(s, &ev.bytes_from_client, &ev.bytes_to_client);
		session_emit(s, &ev);
	}
	events_auth_cancel(s->auth_pending);
	loop_timer_stop(s->ctx->loop, &s->timer);
	loop_timer_stop(s->ctx->loop, &s->kick);
	loop_timer_stop(s->ctx->loop, &s->closer);
	socks_limits_close(s->ctx, &s->lim);
	/* before the client sees its connection close, its ports are gone */
	bind_free(s->bind);
	udp_assoc_free(s->udp);
	upconn_free(s->up);
	for (int i = 0; i < 2; i++) {
		if (s->relay.fd[i] >= 0) {
			loop_forget(s->ctx->loop, s->relay.fd[i]);
			close(s->relay.fd[i]);
		}
	}
	relay_release(&s->relay);
	if (hs != NULL) {
		if (hs->query != NULL)
			resolve_cancel(hs->query);
		if (hs->verify != NULL)
			verify_cancel(hs->verify);
		session_auth_release(s);
		free(hs->addrs);
		free(hs);
	}
	TAILQ_REMOVE(&s->ctx->sessions.list, s, link);
	s->ctx->sessions.total--;
	if (s->policy != NULL)
		snapshot_release(s->policy->snap);
	free(s->user);
	free(s->dest);
	free(s->bound);
	http_connect_free(s->http);
	metrics_closed(s->ctx->metrics);
	free(s);
}

/* Ends the tunnel with an RST instead of a FIN, to pass a reset on. */
static void session_abort(struct session *s)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	for (int i = 0; i < 2; i++)
		if (s->relay.fd[i] >= 0)
			setsockopt(s->relay.fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	session_free(s);
}

/*
 * Handshake replies are a few bytes written to a socket whose send queue is
 * still empty, so they are written at once; a short write can only come
 * from a client that is already gone.
 */
static bool session_send(struct session *s, const uint8_t *buf, size_t len)
{
	char http[HTTP_RESPONSE_MAX];
	ssize_t n;

	if (s->http != NULL) {
		/* an HTTP CONNECT client gets the HTTP response that stands for it */
		len = http_connect_answer(s->http, buf, len, http, sizeof(http));
		if (len == 0)
			return true;
		buf = (const uint8_t *)http;
	}
	n = send(s->relay.fd[RELAY_CLIENT], buf, len, MSG_NOSIGNAL);

	return n == (ssize_t)len;
}

/*
 * Fills what every event of s carries (see <mass/plugin.h>: each event
 * repeats the fields of the earlier ones) and delivers it. Callers build
 * an event only when events_wanted() said someone listens.
 */
static void session_emit(struct session *s, struct mass_event *ev)
{
	char client[NET_ADDRSTRLEN];

	net_ip_str((const struct sockaddr *)&s->client_addr, client, sizeof(client));
	ev->session = s->id;
	ev->client = client;
	ev->client_port = net_port((const struct sockaddr *)&s->client_addr);
	ev->command = s->cmd;
	if (ev->user == NULL && s->user != NULL) {
		ev->user = s->user;
		ev->user_len = strlen(s->user);
	}
	ev->destination = s->dest;
	ev->destination_port = s->dest_port;
	ev->bound = s->bound;
	ev->bound_port = s->bound_port;
	events_emit(ev);
}

/* REP 00 went out: the ESTABLISHED event, naming the proxy's side bnd. */
static void session_established_event(struct session *s, const struct sockaddr *bnd)
{
	char ip[NET_ADDRSTRLEN];
	struct mass_event ev = { .type = MASS_EVENT_ESTABLISHED };

	s->rep = SOCKS5_REP_SUCCEEDED;
	if (events_active == 0)
		return;
	/* kept for the CLOSED event too, only while somebody listens */
	net_ip_str(bnd, ip, sizeof(ip));
	free(s->bound);
	s->bound = strdup(ip);
	s->bound_port = net_port(bnd);
	if (events_wanted(MASS_EVENT_ESTABLISHED))
		session_emit(s, &ev);
}

static char session_kind(uint8_t cmd);

static void session_log_request(struct session *s, uint8_t rep)
{
	char dest[256];

	request_dest_str(&s->hs->req, dest, sizeof(dest));
	accesslog_request(s->ctx->accesslog, s->user, session_kind(s->hs->req.cmd),
			  (const struct sockaddr *)&s->client_addr, dest, s->hs->req.port, rep);
}

/* Answers the request with a failure and closes. */
static void session_fail(struct session *s, uint8_t rep)
{
	uint8_t reply[SOCKS5_REPLY_MAX];
	size_t len = socks5_reply_build(reply, rep, NULL);

	s->rep = rep;
	session_log_request(s, rep);
	(void)session_send(s, reply, len);
	session_free(s);
}

static char session_kind(uint8_t cmd)
{
	return cmd == SOCKS5_CMD_BIND ? ACCESSLOG_BIND
	     : cmd == SOCKS5_CMD_UDP ? ACCESSLOG_UDP : ACCESSLOG_CONNECT;
}

/*
 * The one decision point of every command: the ACL's verdict (acl_check)
 * for this session's client and what is known of the destination (name as
 * the client gave it, port, address once known; none of them for UDP
 * ASSOCIATE before a datagram and for BIND naming no peer). Returns true
 * when allowed; *line as acl_check() sets it.
 */
/* The name of the session's class (limits: the user's, or default), NULL without classes. */
static const char *session_class_name(const struct session *s)
{
	const struct limits_class *c = socks_limits_class_of(s->ctx, s->user,
							     s->user ? strlen(s->user) : 0);

	return c != NULL ? c->name : NULL;
}

static bool session_verdict(const struct session *s, const char *name, uint16_t port,
			    const struct sockaddr *dst, int *line)
{
	const struct acl_request q = { (const struct sockaddr *)&s->client_addr, name, dst, port };
	const struct acl_who who = { s->user, session_class_name(s) };

	if (s->cmd == SOCKS5_CMD_UDP)
		return acl_check_datagram(s->policy->acl, &q, &who, line) == ACL_ALLOW;
	return acl_check_as(s->policy->acl, &q, &who, line) == ACL_ALLOW;
}

/* A denial in the daemon log: command, client, destination (the name escaped), rule. */
static void session_log_denial(const struct session *s, uint8_t cmd, const char *name,
			       uint16_t port, const struct sockaddr *dst, int line)
{
	static const char *const what[] = { "CONNECT", "BIND", "UDP" };
	char ename[ESCAPE_SIZE(SESSION_NAME_MAX)], ip[NET_ADDRSTRLEN] = "", client[NET_ADDRSTRLEN];
	char rule[48];
	const char *cmdname = what[cmd == SOCKS5_CMD_BIND ? 1 : cmd == SOCKS5_CMD_UDP ? 2 : 0];

	escape_str(ename, sizeof(ename), name);
	if (dst != NULL) {
		net_ip_str(dst, ip, sizeof(ip));
		port = net_port(dst);
	}
	net_ip_str((const struct sockaddr *)&s->client_addr, client, sizeof(client));
	if (line == ACL_LINE_BUILTIN)
		snprintf(rule, sizeof(rule), "(built-in rule: socks5d's own listener)");
	else
		snprintf(rule, sizeof(rule), "by [acl] line %d", line);
	if (name == NULL && dst == NULL)
		log_info("acl: %s from %s denied %s", cmdname, client, rule);
	else
		log_info("acl: %s from %s to %s%s%s port %u denied %s", cmdname, client,
			 name ? ename : "", name && dst ? " at " : "", ip, (unsigned)port, rule);
}

/* session_verdict(), a denial logged. Returns true when allowed. */
static bool session_permit(struct session *s, uint8_t cmd, const char *name, uint16_t port,
			   const struct sockaddr *dst)
{
	int line;

	if (session_verdict(s, name, port, dst, &line))
		return true;
	session_log_denial(s, cmd, name, port, dst, line);
	return false;
}

/*
 * The request's verdict (by name before resolution when addr is NULL, else
 * for that address); a denial is answered with REP 02 (and its access log
 * line). Returns true when the session was closed.
 */
static bool session_denied(struct session *s, const struct sockaddr *addr)
{
	struct request_parser *req = &s->hs->req;
	const char *name = req->atyp == SOCKS5_ATYP_DOMAIN ? (const char *)req->addr : NULL;

	if (session_permit(s, req->cmd, name, req->port, addr))
		return false;
	session_fail(s, SOCKS5_REP_NOT_ALLOWED);
	return true;
}

/* A name that is no host name (net_name_normalise): REP 04, logged escaped. */
static void session_refuse_name(struct session *s)
{
	char ename[ESCAPE_SIZE(SESSION_NAME_MAX)], client[NET_ADDRSTRLEN];

	escape_str(ename, sizeof(ename), s->dest);
	net_ip_str((const struct sockaddr *)&s->client_addr, client, sizeof(client));
	log_info("request from %s to %s refused: not a host name", client, ename);
	session_fail(s, SOCKS5_REP_HOST_UNREACHABLE);
}

/*
 * The request's own verdict before its command starts: by name, by the
 * address given, or, for BIND and UDP ASSOCIATE with the all-zeros
 * address (no peer named, or the client's source not known), by the
 * client alone. Returns true when the session was closed.
 */
static bool session_request_denied(struct session *s)
{
	struct request_parser *req = &s->hs->req;
	struct sockaddr_storage dst;
	socklen_t len;

	if (req->atyp == SOCKS5_ATYP_DOMAIN)
		return session_denied(s, NULL);
	request_sockaddr(req, &dst, &len);
	if (req->cmd == SOCKS5_CMD_UDP ||
	    (req->cmd == SOCKS5_CMD_BIND && net_is_unspecified((struct sockaddr *)&dst))) {
		/* UDP's DST is the client's own source, not a destination */
		if (session_permit(s, req->cmd, NULL, 0, NULL))
			return false;
		session_fail(s, SOCKS5_REP_NOT_ALLOWED);
		return true;
	}
	return session_denied(s, (struct sockaddr *)&dst);
}

/*
 * The stages follow in protocol order: accept, greeting, auth, request,
 * then the command (resolve and connect, BIND, UDP ASSOCIATE), then the
 * relay. Defined further down:
 */
static void session_io(struct loop *loop, int fd, void *data, int events);
static void session_client_readable(struct session *s);
static void session_started(struct session *s);
static ssize_t session_proxy_feed(struct session *s, const uint8_t *buf, size_t len);
static void session_proxy_lost(struct session *s, const char *why, bool quiet);
static ssize_t session_greeting_feed(struct session *s, const uint8_t *buf, size_t len);
static ssize_t session_http_start(struct session *s, const uint8_t *buf, size_t len);
static ssize_t session_http_feed(struct session *s, const uint8_t *buf, size_t len);
static ssize_t session_auth_feed(struct session *s, const uint8_t *buf, size_t len);
static ssize_t session_request_feed(struct session *s, const uint8_t *buf, size_t len);
static void session_resolved(void *data, enum resolve_status status,
			     const struct sockaddr_storage *addrs, size_t count);
static void session_try_next(struct session *s);
static bool session_route(struct session *s);
static bool session_udp_routed(struct session *s);
static int session_egress_source(void *owner, int family, struct sockaddr_storage *src,
				 socklen_t *len, bool *freebind);
static void session_upstream_ready(struct session *s, int events);
static void session_udp_start(struct session *s);
static void session_start_relay(struct session *s);
static void session_relay_run(struct session *s);
static const struct bind_ops session_bind_ops;

/* --- accept: a client connection, read until its handshake is done --- */

static void session_handshake_timeout(struct loop *loop, struct loop_timer *t)
{
	struct session *s = LOOP_TIMER_OWNER(t, struct session, timer);

	(void)loop;
	session_proxy_lost(s, "no complete PROXY header within handshake_timeout", false);
	session_free(s);
}

/*
 * Counts a new connection among its source's connections not past their
 * login (SESSION_UNAUTH_PER_SOURCE at most): beyond the cap, the oldest of
 * them still sending its greeting or login (not one being checked or
 * waiting its turn) gives way, as MASS tricklers do. False when none may.
 */
static bool session_source_room(struct socks_ctx *ctx, const struct sockaddr_storage *peer)
{
	struct pace *pace = &ctx->sessions.login_pace;
	uint64_t now = loop_now_ms(ctx->loop);
	struct session *o;

	if (pace_hold(pace, (const struct sockaddr *)peer, SESSION_UNAUTH_PER_SOURCE, now))
		return true;
	TAILQ_FOREACH(o, &ctx->sessions.list, link) {
		if (o->hs != NULL && o->hs->held &&
		    (o->state == ST_GREETING || o->state == ST_AUTH) &&
		    pace_same_source((const struct sockaddr *)&o->hs->peer,
				     (const struct sockaddr *)peer)) {
			session_free(o);
			return pace_hold(pace, (const struct sockaddr *)peer,
					 SESSION_UNAUTH_PER_SOURCE, now);
		}
	}
	return false;
}

/*
 * A new session for the accepted fd: its handshake state, its hold on the
 * per-source room for sessions not logged in (none for a listed balancer),
 * its first parser, registered with the loop. NULL when refused or out of
 * memory (fd closed, nothing held).
 */
static struct session *session_new(struct socks_ctx *ctx, int fd,
				   const struct sockaddr_storage *peer)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->hs = calloc(1, sizeof(*s->hs))) == NULL) {
		free(s);
		close(fd);
		return NULL;
	}
	s->ctx = ctx;
	relay_init(&s->relay, fd, -1);
	s->relay.metrics = ctx->metrics;
	s->relay.pool = ctx->pool;
	s->hs->peer = *peer;
	if (!net_cidr_any(ctx->policy->proxy_nets, ctx->policy->proxy_len,
			  (const struct sockaddr *)peer)) {
		if (!session_source_room(ctx, peer)) {
			free(s->hs);
			free(s);
			close(fd);
			return NULL;
		}
		s->hs->held = true;
	}
	s->udp_denials = (struct ratelimit)RATELIMIT_INIT(8, 1);
	/* a listed balancer speaks first: its header names the client */
	if (net_cidr_any(ctx->policy->proxy_nets, ctx->policy->proxy_len,
			 (const struct sockaddr *)peer)) {
		proxy_init(&s->hs->p.proxy);
		s->state = ST_PROXY;
	} else {
		greeting_init(&s->hs->p.greeting, SOCKS5_VERSION);
		s->state = ST_GREETING;
	}
	if (loop_add(ctx->loop, fd, LOOP_READ | LOOP_WRITE | LOOP_EDGE, session_io, s) < 0) {
		if (s->hs->held)
			pace_release(&ctx->sessions.login_pace, (const struct sockaddr *)peer);
		free(s->hs);
		free(s);
		close(fd);
		return NULL;
	}
	return s;
}

void session_accept(int fd, const struct sockaddr_storage *peer, socklen_t peerlen,
		    void *context)
{
	struct socks_ctx *ctx = context;
	struct session *s;

	(void)peerlen;
	if (ctx->stopping ||
	    (ctx->policy->max_clients != 0 && ctx->sessions.total >= ctx->policy->max_clients)) {
		close(fd);
		return;
	}
	s = session_new(ctx, fd, peer);
	if (s == NULL)
		return;
	/* TCP_NODELAY came from the listener: accepted sockets inherit it */
	s->policy = ctx->policy;
	snapshot_hold(s->policy->snap);
	s->id = ctx->sessions.next_id++;
	s->accepted_ms = loop_now_ms(ctx->loop);
	memcpy(&s->client_addr, peer, sizeof(s->client_addr));
	s->rep = 0xFF;
	TAILQ_INSERT_TAIL(&ctx->sessions.list, s, link);
	ctx->sessions.total++;
	metrics_accepted(ctx->metrics);
	if (s->state == ST_GREETING)
		session_started(s);
	loop_timer_start(s->ctx->loop, &s->timer, SESSION_MS(s->policy->handshake_timeout),
			 session_handshake_timeout);
	/* deferred accept: the greeting is usually here already */
	s->relay.ready[RELAY_CLIENT] = RELAY_READABLE | RELAY_WRITABLE;
	session_client_readable(s);
}

/*
 * Feeds handshake bytes to the stage the session is in. Returns how many
 * were consumed, or -1 when the session was closed or moved past the
 * handshake.
 */
static ssize_t session_handshake(struct session *s, const uint8_t *buf, size_t len)
{
	switch (s->state) {
	case ST_PROXY:
		return session_proxy_feed(s, buf, len);
	case ST_GREETING:
		/* nothing read yet (G_VER) and not SOCKS5: maybe HTTP CONNECT */
		if (s->policy->http_connect && s->hs->p.greeting.state == 0 && len > 0 &&
		    buf[0] != SOCKS5_VERSION)
			return session_http_start(s, buf, len);
		return session_greeting_feed(s, buf, len);
	case ST_HTTP:
		return session_http_feed(s, buf, len);
	case ST_AUTH:
		return session_auth_feed(s, buf, len);
	case ST_REQUEST:
		return session_request_feed(s, buf, len);
	default:
		return (ssize_t)len;
	}
}

static void session_client_readable(struct session *s)
{
	for (;;) {
		ssize_t n = recv(s->relay.fd[RELAY_CLIENT], s->ctx->sessions.rx,
				 sizeof(s->ctx->sessions.rx), 0);
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->relay.ready[RELAY_CLIENT] &= ~RELAY_READABLE;
				return;
			}
			session_proxy_lost(s, "connection error before the PROXY header ended", true);
			s->end = ACCESSLOG_END_RESET;  /* a UDP association's control connection */
			session_free(s);
			return;
		}
		if (n == 0) {
			session_proxy_lost(s, "connection closed before the PROXY header ended", true);
			s->end = ACCESSLOG_END_EOF;
			session_free(s);
			return;
		}
		/* a short read drained the socket (unless an EOF is still to be read) */
		if ((size_t)n < sizeof(s->ctx->sessions.rx) &&
		    !(s->relay.ready[RELAY_CLIENT] & RELAY_EOF_PENDING))
			s->relay.ready[RELAY_CLIENT] &= ~RELAY_READABLE;
		while (off < (size_t)n) {
			ssize_t used = session_handshake(s, s->ctx->sessions.rx + off, (size_t)n - off);

			if (used < 0)
				return;
			off += (size_t)used;
		}
		if (!(s->relay.ready[RELAY_CLIENT] & RELAY_READABLE))
			return;
	}
}

static void session_io(struct loop *loop, int fd, void *data, int events)
{
	struct session *s = data;
	int side = fd == s->relay.fd[RELAY_CLIENT] ? RELAY_CLIENT : RELAY_UPSTREAM;

	(void)loop;
	if (events & LOOP_READ)
		s->relay.ready[side] |= RELAY_READABLE;
	if (events & LOOP_WRITE)
		s->relay.ready[side] |= RELAY_WRITABLE;
	if (events & LOOP_RDHUP)
		s->relay.ready[side] |= RELAY_EOF_PENDING;
	switch (s->state) {
	case ST_PROXY:
	case ST_GREETING:
	case ST_HTTP:
	case ST_AUTH:
	case ST_REQUEST:
	case ST_UDP:     /* bytes on the control connection are ignored, EOF ends it */
		if (side == RELAY_CLIENT && (events & (LOOP_READ | LOOP_ERROR)))
			session_client_readable(s);
		return;
	case ST_VERIFYING:
		/* what the client sends next stays in the socket until the answer */
		if (side == RELAY_CLIENT && (events & LOOP_ERROR))
			session_free(s);
		return;
	case ST_RESOLVING:
	case ST_CONNECTING:
	case ST_UPSTREAM:
	case ST_BIND:
		/* a client leaving while we work for it: stop at once */
		if (side == RELAY_CLIENT) {
			if (events & LOOP_ERROR)
				session_free(s);
			return;
		}
		session_upstream_ready(s, events);
		return;
	case ST_RELAY:
		/*
		 * A reset side ends the tunnel now, also when the relay would not
		 * touch it: a client gone after its FIN (its kernel resets what we
		 * send), the target still open and quiet, would otherwise hold the
		 * tunnel until fin_timeout. EPOLLHUP alone (both sides shut) is no
		 * error.
		 */
		if ((events & LOOP_ERROR) && net_socket_error(fd) != 0) {
			s->end = ACCESSLOG_END_RESET;
			session_abort(s);
			return;
		}
		session_relay_run(s);
		return;
	}
}

/*
 * --- PROXY header (from the sources of [socks] proxy_protocol only) ---
 *
 * The balancer's header replaces the client's address for everything that
 * uses it (ACL src rules, access log, UDP ASSOCIATE's client check, events);
 * a header without one (LOCAL, UNKNOWN: a health check) keeps the real peer.
 * The session, and its ACCEPTED event, start once the header is in.
 */

/* The session is known for what it is: the ACCEPTED event. */
static void session_started(struct session *s)
{
	if (events_wanted(MASS_EVENT_ACCEPTED)) {
		struct mass_event ev = { .type = MASS_EVENT_ACCEPTED };

		session_emit(s, &ev);
	}
}

/* A refused or broken header in the daemon log: addresses only, rate-limited. */
static void session_proxy_refused(const struct session *s, const char *why)
{
	char peer[NET_ADDRSTRLEN];
	uint64_t held;

	if (!ratelimit_take(&s->ctx->sessions.proxy_lines, loop_now_ms(s->ctx->loop), &held))
		return;
	if (held > 0)
		log_warn("proxy_protocol: %llu more refused connections not logged",
			 (unsigned long long)held);
	net_ip_str((const struct sockaddr *)&s->hs->peer, peer, sizeof(peer));
	log_warn("proxy_protocol: connection from %s closed: %s", peer, why);
}

/*
 * The connection ends while in ST_PROXY (other states: nothing to say).
 * With quiet, a peer that sent nothing at all is not logged: a balancer's
 * TCP health check connects and closes.
 */
static void session_proxy_lost(struct session *s, const char *why, bool quiet)
{
	if (s->state != ST_PROXY || (quiet && s->hs->p.proxy.version == 0))
		return;
	session_proxy_refused(s, why);
}

/* Feeds the header. Returns the octets consumed, or -1 when the session was closed. */
static ssize_t session_proxy_feed(struct session *s, const uint8_t *buf, size_t len)
{
	struct handshake *hs = s->hs;
	size_t used = 0;
	enum proto_result r = proxy_parse(&hs->p.proxy, buf, len, &used);

	if (r == PROTO_ERROR) {
		session_proxy_refused(s, hs->p.proxy.error == PROXY_BAD_SIGNATURE
					 ? "no PROXY protocol header"
					 : proxy_error_str(hs->p.proxy.error));
		session_free(s);
		return -1;
	}
	if (r == PROTO_MORE)
		return (ssize_t)used;
	if (!hs->p.proxy.local) {
		struct sockaddr_storage client = hs->p.proxy.src;

		hs->peer = client;
		memcpy(&s->client_addr, &client, sizeof(s->client_addr));
	}
	greeting_init(&hs->p.greeting, SOCKS5_VERSION);
	s->state = ST_GREETING;
	session_started(s);
	return (ssize_t)used;
}

/* --- greeting: VER NMETHODS METHODS → VER METHOD --- */

static uint8_t session_pick_method(const struct session *s, const struct greeting_parser *g)
{
	if (s->ctx->live.auth)
		return greeting_offers(g, SOCKS5_METHOD_USERPASS) ? SOCKS5_METHOD_USERPASS
								   : SOCKS5_METHOD_REJECT;
	if (greeting_offers(g, SOCKS5_METHOD_NONE))
		return SOCKS5_METHOD_NONE;
	return greeting_offers(g, SOCKS5_METHOD_USERPASS) ? SOCKS5_METHOD_USERPASS
							  : SOCKS5_METHOD_REJECT;
}

/* Feeds the greeting. Returns the octets consumed, or -1 when the session was closed. */
static ssize_t session_greeting_feed(struct session *s, const uint8_t *buf, size_t len)
{
	struct handshake *hs = s->hs;
	uint8_t reply[2] = { SOCKS5_VERSION, 0 };
	size_t used = 0;
	enum proto_result r = greeting_parse(&hs->p.greeting, buf, len, &used);

	if (r == PROTO_ERROR) {
		if (hs->p.greeting.error == GREETING_BAD_VERSION && proxy_signature_prefix(buf, len))
			session_proxy_refused(s, "a PROXY header from a source not in proxy_protocol");
		if (hs->p.greeting.error == GREETING_NO_METHODS) {
			reply[1] = SOCKS5_METHOD_REJECT;
			(void)session_send(s, reply, 2);
		}
		session_free(s);
		return -1;
	}
	if (r == PROTO_MORE)
		return (ssize_t)used;
	reply[1] = session_pick_method(s, &hs->p.greeting);
	if (!session_send(s, reply, 2) || reply[1] == SOCKS5_METHOD_REJECT) {
		session_free(s);
		return -1;
	}
	if (reply[1] == SOCKS5_METHOD_USERPASS) {
		userpass_init(&hs->p.userpass);
		s->state = ST_AUTH;
	} else {
		session_auth_release(s);  /* no login: past it already */
		s->state = ST_REQUEST;
	}
	return (ssize_t)used;
}

/*
 * --- HTTP CONNECT ([socks] http_connect): the head, then the SOCKS5
 * handshake it stands for, fed to the stages below (http_connect.h) ---
 */

static ssize_t session_http_start(struct session *s, const uint8_t *buf, size_t len)
{
	s->http = http_connect_new();
	if (s->http == NULL) {
		session_free(s);
		return -1;
	}
	s->state = ST_HTTP;
	return session_http_feed(s, buf, len);
}

/*
 * Feeds the head. Once complete, the greeting it stands for goes to the
 * greeting stage; then the login (when the method chosen asks for it), the
 * CONNECT request and the octets behind the head go to the stages that
 * follow, as a SOCKS client's would. Returns the octets consumed while the
 * head is incomplete, else -1 (the session moved on, waits, or is gone).
 */
static ssize_t session_http_feed(struct session *s, const uint8_t *buf, size_t len)
{
	uint8_t greeting[4], *socks;
	size_t used = 0, n, off = 0;
	int status = 400;
	enum proto_result r = http_connect_feed(s->http, buf, len, &used, &status);

	if (r == PROTO_MORE)
		return (ssize_t)used;
	if (r == PROTO_ERROR) {
		char resp[HTTP_RESPONSE_MAX];
		size_t rlen = http_head_response(resp, sizeof(resp), status, NULL);

		(void)send(s->relay.fd[RELAY_CLIENT], resp, rlen, MSG_NOSIGNAL);
		session_free(s);
		return -1;
	}
	s->state = ST_GREETING;
	n = http_connect_greeting(s->http, greeting);
	if (session_greeting_feed(s, greeting, n) < 0)
		return -1;
	socks = malloc(HTTP_CONNECT_SOCKS_MAX + len - used);
	if (socks == NULL) {
		session_free(s);
		return -1;
	}
	n = http_connect_socks(s->http, socks, HTTP_CONNECT_SOCKS_MAX);
	memcpy(socks + n, buf + used, len - used);
	n += len - used;
	while (off < n) {
		ssize_t u = session_handshake(s, socks + off, n - off);

		if (u < 0)
			break;
		off += (size_t)u;
	}
	explicit_bzero(socks, HTTP_CONNECT_SOCKS_MAX);
	free(socks);
	return -1;
}

/* --- auth: RFC 1929 username/password → status --- */

/* A failed login in the daemon log: the name tried (escaped) and the client, rate-limited. */
static void session_login_failed(const struct session *s, const struct userpass_parser *up)
{
	char name[ESCAPE_SIZE(sizeof(up->user))], client[NET_ADDRSTRLEN];
	uint64_t held;

	if (!ratelimit_take(&s->ctx->sessions.login_lines, loop_now_ms(s->ctx->loop), &held))
		return;
	if (held > 0)
		log_warn("socks: %llu more failed logins not logged", (unsigned long long)held);
	net_ip_str((const struct sockaddr *)&s->client_addr, client, sizeof(client));
	log_warn("socks: failed login for user '%s' from %s",
		 escape_text(name, sizeof(name), up->user, up->ulen), client);
}

/* Milliseconds left of handshake_timeout (0: none). */
static uint64_t session_auth_deadline(const struct session *s)
{
	uint64_t end = s->accepted_ms + SESSION_MS(s->policy->handshake_timeout);
	uint64_t now = loop_now_ms(s->ctx->loop);

	return end > now ? end - now : 0;
}

static void session_auth_wait(struct loop *loop, struct loop_timer *t);

/*
 * The session is past its login or gone: its check in flight (if any)
 * ends unanswered for pace.h, and its place among its source's connections
 * not logged in is given back.
 */
static void session_auth_release(struct session *s)
{
	struct handshake *hs = s->hs;
	struct pace *pace = &s->ctx->sessions.login_pace;

	if (hs->paced)
		pace_end(pace, (const struct sockaddr *)&s->client_addr, PACE_NONE,
			 loop_now_ms(s->ctx->loop), NULL);
	if (hs->held)
		pace_release(pace, (const struct sockaddr *)&hs->peer);
	hs->paced = hs->held = false;
	/* a login that waited its turn kept its password until now */
	if (s->state == ST_VERIFYING)
		explicit_bzero(hs->p.userpass.pass, sizeof(hs->p.userpass.pass));
}

/*
 * The verify pool's answer: the status reply, then the octets the client
 * sent behind its login (a pipelined request), then the socket again. A
 * failure earns its source a delay before its next check (pace.h).
 */
static void session_auth_done(void *ctx, bool ok)
{
	struct session *s = ctx;
	struct handshake *hs = s->hs;
	uint8_t reply[2] = { 0x01, 0x01 };
	size_t n = hs->pending_len, off = 0;

	hs->verify = NULL;
	s->auth_pending = NULL;
	pace_end(&s->ctx->sessions.login_pace, (const struct sockaddr *)&s->client_addr,
		 ok ? PACE_OK : PACE_FAIL, loop_now_ms(s->ctx->loop), NULL);
	hs->paced = false;
	if (ok)
		s->user = strdup(hs->p.userpass.user);
	else
		session_login_failed(s, &hs->p.userpass);
	reply[1] = ok && s->user != NULL ? 0x00 : 0x01;
	if (events_wanted(MASS_EVENT_AUTHENTICATED)) {
		struct mass_event ev = { .type = MASS_EVENT_AUTHENTICATED, .ok = reply[1] == 0,
					 .user = hs->p.userpass.user,
					 .user_len = hs->p.userpass.ulen };

		session_emit(s, &ev);
	}
	if (!session_send(s, reply, 2) || reply[1] != 0x00) {
		session_free(s);
		return;
	}
	session_auth_release(s);
	s->state = ST_REQUEST;
	hs->pending_len = 0;
	memcpy(s->ctx->sessions.rx, hs->pending, n);
	while (off < n) {
		ssize_t used = session_handshake(s, s->ctx->sessions.rx + off, n - off);

		if (used < 0)
			return;
		off += (size_t)used;
	}
	if (s->relay.ready[RELAY_CLIENT] & RELAY_READABLE)
		session_client_readable(s);
}

/*
 * The providers' answer: ALLOW and DENY as the verify pool's; BUSY (the
 * provider could not check now) as a full verify queue: closed without a
 * status, the source's pacing ended unanswered (no delay earned).
 */
static void session_provider_done(void *ctx, int verdict)
{
	struct session *s = ctx;

	if (verdict == MASS_AUTH_BUSY) {
		s->auth_pending = NULL;
		session_free(s);
		return;
	}
	session_auth_done(s, verdict == MASS_AUTH_ALLOW);
}

/*
 * A login whose turn has come: the providers decide a name the store does
 * not hold (when there are some), the verify pool any other. A full verify
 * queue (busy: verify.h), or a provider answering MASS_AUTH_BUSY, closes
 * the connection without a status, so the client never reads it as a wrong
 * password, and nobody earns a delay.
 */
static void session_auth_check(struct session *s)
{
	struct userpass_parser *up = &s->hs->p.userpass;
	bool decided = false;
	int at_once = MASS_AUTH_DENY;
	int rc;

	if (users_find(&s->ctx->live.users, up->user, up->ulen) < 0
	    && events_auth_has(MASS_AUTH_SOCKS)) {
		/* a name the store does not hold: the providers decide */
		char client[NET_ADDRSTRLEN];
		struct mass_auth_query q = {
			.size = sizeof(q), .realm = MASS_AUTH_SOCKS, .session = s->id,
			.client = client, .client_port = net_port((struct sockaddr *)&s->client_addr),
			.user = up->user, .user_len = up->ulen, .pass = up->pass, .pass_len = up->plen,
		};

		net_ip_str((const struct sockaddr *)&s->client_addr, client, sizeof(client));
		s->auth_pending = events_auth_ask(&q, session_provider_done, s, &at_once);
		decided = s->auth_pending == NULL;
		rc = 0;
	} else {
		const struct verify_from from = { (const struct sockaddr *)&s->client_addr, false };

		rc = verify_start_from(s->ctx->verify, &from, &s->ctx->live.users, up->user,
				       up->ulen, up->pass, up->plen, session_auth_done, s,
				       &s->hs->verify);
	}
	/* the password must not linger in freed memory */
	explicit_bzero(up->pass, sizeof(up->pass));
	if (rc < 0) {
		session_free(s);  /* busy (session_auth_release ends the pacing unanswered) */
		return;
	}
	loop_timer_start(s->ctx->loop, &s->timer, session_auth_deadline(s), session_handshake_timeout);
	if (decided)
		session_provider_done(s, at_once);   /* the providers answered at once */
}

/*
 * Starts the check when the client's source may (pace.h: after a failure,
 * not before its delay and one at a time), else waits on the session's
 * timer, reading nothing, within handshake_timeout.
 */
static void session_auth_try(struct session *s)
{
	uint64_t now = loop_now_ms(s->ctx->loop), left = session_auth_deadline(s);
	uint64_t wait = pace_admit(&s->ctx->sessions.login_pace,
				   (const struct sockaddr *)&s->client_addr, now);

	if (wait == 0) {
		s->hs->paced = true;
		session_auth_check(s);
		return;
	}
	if (left == 0) {
		session_free(s);
		return;
	}
	loop_timer_start(s->ctx->loop, &s->timer, wait < left ? wait : left, session_auth_wait);
}

static void session_auth_wait(struct loop *loop, struct loop_timer *t)
{
	struct session *s = LOOP_TIMER_OWNER(t, struct session, timer);
	uint8_t peek;
	ssize_t n;

	(void)loop;
	/* a client that left while waiting (the guesser's drop) is not checked */
	n = recv(s->relay.fd[RELAY_CLIENT], &peek, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		session_free(s);
		return;
	}
	session_auth_try(s);
}

/*
 * Feeds the sub-negotiation; a complete one goes to session_auth_try(),
 * and the octets behind it wait in hs->pending. Returns the octets
 * consumed, or -1 when the session was closed or waits for its check (stop
 * feeding).
 */
static ssize_t session_auth_feed(struct session *s, const uint8_t *buf, size_t len)
{
	struct userpass_parser *up = &s->hs->p.userpass;
	size_t used = 0;
	enum proto_result r = userpass_parse(up, buf, len, &used);
	struct handshake *grown;

	if (r == PROTO_ERROR) {
		session_free(s);
		return -1;
	}
	if (r == PROTO_MORE)
		return (ssize_t)used;
	metrics_auth_attempt(s->ctx->metrics);
	s->state = ST_VERIFYING;
	if (len - used > 0) {
		grown = realloc(s->hs, sizeof(*grown) + len - used);
		if (grown == NULL) {
			session_free(s);
			return -1;
		}
		s->hs = grown;
		memcpy(grown->pending, buf + used, len - used);
		grown->pending_len = len - used;
	}
	session_auth_try(s);
	return -1;
}

/* --- request: VER CMD RSV ATYP DST.ADDR DST.PORT → the command --- */

static void session_request_done(struct session *s);

/*
 * Feeds the request. Returns the octets consumed while more are needed, or
 * -1 once the request is complete (the session has moved on, or is gone).
 */
static ssize_t session_request_feed(struct session *s, const uint8_t *buf, size_t len)
{
	struct handshake *hs = s->hs;
	size_t used = 0;
	enum proto_result r = request_parse(&hs->req, buf, len, &used);

	if (r == PROTO_ERROR) {
		if (hs->req.error == REQUEST_BAD_ATYP)
			session_fail(s, SOCKS5_REP_ATYP_NOT_SUPPORTED);
		else if (hs->req.error == REQUEST_EMPTY_DOMAIN)
			session_fail(s, SOCKS5_REP_HOST_UNREACHABLE);
		else
			session_free(s);
		return -1;
	}
	if (r == PROTO_MORE)
		return (ssize_t)used;
	/* anything behind the request is payload: keep it for the relay */
	if (len - used > 0) {
		struct handshake *grown = realloc(hs, sizeof(*hs) + len - used);

		if (grown == NULL) {
			session_fail(s, SOCKS5_REP_GENERAL_FAILURE);
			return -1;
		}
		s->hs = hs = grown;
		memcpy(hs->pending, buf + used, len - used);
		hs->pending_len = len - used;
	}
	session_request_done(s);
	return -1;
}

static bool session_command_enabled(const struct session *s, uint8_t cmd)
{
	switch (cmd) {
	case SOCKS5_CMD_CONNECT: return s->policy->commands & SOCKS_ALLOW_CONNECT;
	case SOCKS5_CMD_BIND: return s->policy->commands & SOCKS_ALLOW_BIND;
	case SOCKS5_CMD_UDP: return s->policy->commands & SOCKS_ALLOW_UDP;
	default: return false;
	}
}

/*
 * The per-user limits of the request's user (socks_limits.h): a refusal is
 * REP 02, its access log line, and a daemon log line naming the limit.
 * Returns true when the session was closed.
 */
static bool session_limits_refused(struct session *s)
{
	static const char *const what[] = { "CONNECT", "BIND", "UDP" };
	uint8_t cmd = s->hs->req.cmd;
	enum usage_verdict v = socks_limits_open(s->ctx, &s->lim, s, s->user,
						 (const struct sockaddr *)&s->client_addr,
						 &s->lim_gen);
	char euser[ESCAPE_SIZE(SESSION_NAME_MAX)], client[NET_ADDRSTRLEN];
	const struct limits_class *c;

	if (v == USAGE_OK) {
		if (s->lim != NULL)
			s->relay.limit = &s->lim->relay;
		return false;
	}
	c = socks_limits_class_of(s->ctx, s->user, s->user ? strlen(s->user) : 0);
	escape_str(euser, sizeof(euser), s->user ? s->user : "-");
	net_ip_str((const struct sockaddr *)&s->client_addr, client, sizeof(client));
	log_info("limits: %s from %s (user %s, class %s) refused by %s",
		 what[cmd == SOCKS5_CMD_BIND ? 1 : cmd == SOCKS5_CMD_UDP ? 2 : 0], client, euser,
		 c ? c->name : LIMITS_CLASS_DEFAULT, usage_verdict_name(v));
	session_fail(s, SOCKS5_REP_NOT_ALLOWED);
	return true;
}

/*
 * The request is read: every check a request passes, in the order they
 * apply (command enabled, the name's form, the user's limits, the ACL for
 * BIND and UDP, a route that cannot carry UDP), then the dispatch to UDP,
 * BIND, a parent proxy or a direct connect. Long (about 75 lines) because
 * that order is the policy and reads best in one place, top to bottom.
 */
static void session_request_done(struct session *s)
{
	struct handshake *hs = s->hs;
	struct request_parser *req = &hs->req;
	char dest[256];
	socklen_t len;
	/* one form of the name for the ACL, the resolver and the access log */
	bool bad_name = req->atyp == SOCKS5_ATYP_DOMAIN &&
			net_name_normalise((char *)req->addr) < 0;

	request_dest_str(req, dest, sizeof(dest));
	s->dest = strdup(dest);
	s->dest_port = req->port;
	s->cmd = req->cmd;
	if (s->dest == NULL) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	if (events_wanted(MASS_EVENT_REQUEST)) {
		struct mass_event ev = { .type = MASS_EVENT_REQUEST };

		session_emit(s, &ev);
	}

	if (!session_command_enabled(s, req->cmd)) {
		session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED);
		return;
	}
	if (bad_name) {
		session_refuse_name(s);
		return;
	}
	if (session_limits_refused(s))
		return;
	if (req->cmd != SOCKS5_CMD_CONNECT && session_request_denied(s))
		return;
	if (req->cmd == SOCKS5_CMD_UDP && session_udp_routed(s))
		return;
	if (req->cmd == SOCKS5_CMD_UDP) {
		session_udp_start(s);
		return;
	}
	if (req->cmd == SOCKS5_CMD_BIND) {
		struct bind_env env = { s->ctx->loop, s->ctx->resolver,
					s->policy->connect_timeout, session_egress_source };

		loop_timer_stop(s->ctx->loop, &s->timer);
		s->state = ST_BIND;
		s->bind = bind_start(&env, req, s->relay.fd[RELAY_CLIENT], &session_bind_ops, s);
		if (s->bind == NULL)
			session_fail(s, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	if (session_route(s))   /* a [routes] rule sends it to a parent */
		return;
	if (req->atyp == SOCKS5_ATYP_DOMAIN) {
		if (session_denied(s, NULL))
			return;
		s->state = ST_RESOLVING;
		loop_timer_stop(s->ctx->loop, &s->timer);
		hs->query = resolve_start(s->ctx->resolver, (const char *)req->addr, req->port,
					  session_resolved, s);
		if (hs->query == NULL)
			session_fail(s, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	hs->addrs = malloc(sizeof(*hs->addrs));
	if (hs->addrs == NULL) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	request_sockaddr(req, hs->addrs, &len);
	hs->naddrs = 1;
	session_try_next(s);
}

/* --- CONNECT: resolve, then try each address --- */

/* The upstream socket is connected: reply with bnd and relay. */
static void session_established(struct session *s, const struct sockaddr *bnd)
{
	uint8_t reply[SOCKS5_REPLY_MAX];
	size_t rlen;

	rlen = socks5_reply_build(reply, SOCKS5_REP_SUCCEEDED, bnd);
	session_log_request(s, SOCKS5_REP_SUCCEEDED);
	if (!session_send(s, reply, rlen)) {
		session_free(s);
		return;
	}
	session_established_event(s, bnd);
	metrics_tunnel_established(s->ctx->metrics);
	net_nodelay(s->relay.fd[RELAY_UPSTREAM]);
	session_start_relay(s);
}

static void session_connected(struct session *s)
{
	struct sockaddr_storage bnd;
	socklen_t len = sizeof(bnd);

	if (getsockname(s->relay.fd[RELAY_UPSTREAM], (struct sockaddr *)&bnd, &len) < 0)
		memset(&bnd, 0, sizeof(bnd));
	session_established(s, (struct sockaddr *)&bnd);
}

static void session_drop_upstream(struct session *s)
{
	int fd = s->relay.fd[RELAY_UPSTREAM];

	if (fd >= 0) {
		loop_forget(s->ctx->loop, fd);
		close(fd);
		s->relay.fd[RELAY_UPSTREAM] = -1;
		s->relay.ready[RELAY_UPSTREAM] = 0;
	}
}

static void session_connect_timeout(struct loop *loop, struct loop_timer *t)
{
	struct session *s = LOOP_TIMER_OWNER(t, struct session, timer);

	(void)loop;
	s->hs->last_error = ETIMEDOUT;
	session_drop_upstream(s);
	session_try_next(s);
}

/*
 * A connect leaving from the class's egress (routes.h, route/egress.h:
 * random or sticky per user), else from what the kernel picks. A family
 * the class has no egress for: -1, EAFNOSUPPORT (REP 08 when nothing else).
 */
static int session_connect_out(struct session *s, const struct sockaddr *a, socklen_t alen)
{
	struct sockaddr_storage src;
	socklen_t slen;
	bool freebind = false;

	switch (session_egress_source(s, a->sa_family, &src, &slen, &freebind)) {
	case -1:
		errno = EAFNOSUPPORT;
		return -1;
	case 0:
		return net_connect_start(a, alen);
	default:
		return net_connect_from(a, alen, (const struct sockaddr *)&src, slen, freebind);
	}
}

/* The egress source for a socket of family (bind_env and udp_assoc_env's source). */
static int session_egress_source(void *owner, int family, struct sockaddr_storage *src,
				 socklen_t *len, bool *freebind)
{
	struct session *s = owner;
	const struct routes_class *c = routes_class_find(s->policy->routes, session_class_name(s));

	if (c == NULL || c->egress.n == 0)
		return 0;
	switch (egress_pick(&c->egress, family, s->user, s->user ? strlen(s->user) : 0,
			    egress_random(), src, len, freebind)) {
	case EGRESS_NO_FAMILY: return -1;
	case EGRESS_NONE: return 0;
	default: return 1;
	}
}

static void session_try_next(struct session *s)
{
	struct handshake *hs = s->hs;

	while (hs->next_addr < hs->naddrs) {
		const struct sockaddr_storage *a = &hs->addrs[hs->next_addr++];
		socklen_t alen = net_addr_len((const struct sockaddr *)a);
		int fd;

		if (session_denied(s, (const struct sockaddr *)a))
			return;
		fd = session_connect_out(s, (const struct sockaddr *)a, alen);
		if (fd < 0) {
			/* an address skipped for want of egress hides no real failure */
			if (errno != EAFNOSUPPORT || !hs->tried)
				hs->last_error = errno;
			continue;
		}
		hs->tried = true;
		if (loop_add(s->ctx->loop, fd, LOOP_READ | LOOP_WRITE | LOOP_EDGE, session_io, s) < 0) {
			hs->last_error = errno;
			close(fd);
			continue;
		}
		s->relay.fd[RELAY_UPSTREAM] = fd;
		s->state = ST_CONNECTING;
		loop_timer_start(s->ctx->loop, &s->timer, SESSION_MS(s->policy->connect_timeout),
				 session_connect_timeout);
		return;
	}
	session_fail(s, socks5_rep_for_errno(hs->last_error));
}

static void session_upstream_ready(struct session *s, int events)
{
	int err;

	if (!(events & (LOOP_WRITE | LOOP_ERROR)))
		return;
	/* a failed connect always reports EPOLLERR: without it, no need to ask */
	err = (events & LOOP_ERROR) ? net_socket_error(s->relay.fd[RELAY_UPSTREAM]) : 0;
	if (err == 0) {
		loop_timer_stop(s->ctx->loop, &s->timer);
		s->relay.ready[RELAY_UPSTREAM] = RELAY_WRITABLE |
			((events & LOOP_READ) ? RELAY_READABLE : 0);
		session_connected(s);
		return;
	}
	s->hs->last_error = err;
	session_drop_upstream(s);
	session_try_next(s);
}

static void session_resolved(void *data, enum resolve_status status,
			     const struct sockaddr_storage *addrs, size_t count)
{
	struct session *s = data;
	struct handshake *hs = s->hs;

	hs->query = NULL;
	if (status != RESOLVE_OK || count == 0) {
		session_fail(s, SOCKS5_REP_HOST_UNREACHABLE);
		return;
	}
	hs->addrs = malloc(count * sizeof(*addrs));
	if (hs->addrs == NULL) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	memcpy(hs->addrs, addrs, count * sizeof(*addrs));
	hs->naddrs = count;
	hs->last_error = EHOSTUNREACH;
	session_try_next(s);
}
/* --- CONNECT through a parent proxy: upstream_connect.h works, the session answers --- */

static void session_upconn_connected(void *owner, int fd)
{
	struct session *s = owner;

	upconn_free(s->up);
	s->up = NULL;
	if (loop_add(s->ctx->loop, fd, LOOP_READ | LOOP_WRITE | LOOP_EDGE, session_io, s) < 0) {
		close(fd);
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	s->relay.fd[RELAY_UPSTREAM] = fd;
	/* what the parent sent behind its reply is waiting: the relay looks */
	s->relay.ready[RELAY_UPSTREAM] = RELAY_WRITABLE | RELAY_READABLE;
	session_connected(s);
}

static void session_upconn_failed(void *owner, uint8_t rep, bool unavailable)
{
	struct session *s = owner;

	upconn_free(s->up);
	s->up = NULL;
	if (unavailable && s->http != NULL)
		http_connect_unavailable(s->http);
	session_fail(s, rep);
}

static const struct upconn_ops session_upconn_ops = {
	session_upconn_connected, session_upconn_failed,
};

/*
 * CONNECT's route (routes.h), decided once, before resolution: direct
 * returns false (the caller goes on); an upstream starts the upstream stage
 * once the ACL allowed the request as named. Returns true when the session
 * moved on or was closed.
 */
static bool session_route(struct session *s)
{
	struct request_parser *req = &s->hs->req;
	const char *name = req->atyp == SOCKS5_ATYP_DOMAIN ? (const char *)req->addr : NULL;
	struct sockaddr_storage dst;
	socklen_t len;
	struct acl_request q = { (const struct sockaddr *)&s->client_addr, name, NULL, req->port };
	const struct acl_who who = { s->user, session_class_name(s) };
	struct upconn_env env = { s->ctx->loop, s->ctx->resolver, s->policy->connect_timeout,
				  session_egress_source };
	struct routes_upstream *to;

	if (s->policy->routes == NULL)
		return false;
	if (name == NULL) {
		request_sockaddr(req, &dst, &len);
		q.dst = (const struct sockaddr *)&dst;
	}
	to = routes_pick(s->policy->routes, &q, &who, NULL);
	if (to == NULL)
		return false;
	if (session_request_denied(s))
		return true;
	loop_timer_stop(s->ctx->loop, &s->timer);
	s->state = ST_UPSTREAM;
	s->up = upconn_start(&env, to, name, q.dst, req->port, &session_upconn_ops, s);
	if (s->up == NULL)
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE);
	return true;
}

/*
 * UDP ASSOCIATE of a class routed through an upstream: refused with REP 07
 * (datagrams cannot follow the route). Returns true when refused.
 */
static bool session_udp_routed(struct session *s)
{
	const struct routes_class *c = routes_class_find(s->policy->routes, session_class_name(s));

	if (c == NULL || c->to == NULL)
		return false;
	session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED);
	return true;
}

/* --- BIND and UDP ASSOCIATE: their modules work, the session answers --- */

static void session_bind_listening(void *owner, const struct sockaddr *bnd)
{
	struct session *s = owner;
	uint8_t reply[SOCKS5_REPLY_MAX];
	size_t len = socks5_reply_build(reply, SOCKS5_REP_SUCCEEDED, bnd);

	if (!session_send(s, reply, len))
		session_free(s);
	else
		s->rep = SOCKS5_REP_SUCCEEDED;
}

/* The second reply names the peer, then the relay runs as for CONNECT. */
static void session_bind_connected(void *owner, int fd, const struct sockaddr *peer)
{
	struct session *s = owner;

	bind_free(s->bind);
	s->bind = NULL;
	if (loop_add(s->ctx->loop, fd, LOOP_READ | LOOP_WRITE | LOOP_EDGE, session_io, s) < 0) {
		close(fd);
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	s->relay.fd[RELAY_UPSTREAM] = fd;
	s->relay.ready[RELAY_UPSTREAM] = RELAY_WRITABLE;
	session_established(s, peer);
}

static void session_bind_failed(void *owner, uint8_t rep)
{
	session_fail(owner, rep);
}

/*
 * The peer that connects (or an address DST's name resolved to) is judged
 * as the request's destination would be: at the requested port, since a
 * peer's source port is ephemeral and says nothing.
 */
static bool session_bind_permit(void *owner, const struct sockaddr *peer)
{
	struct session *s = owner;
	struct request_parser *req = &s->hs->req;
	struct sockaddr_storage at;

	memset(&at, 0, sizeof(at));
	memcpy(&at, peer, net_addr_len(peer));
	net_set_port(&at, req->port);
	return session_permit(s, SOCKS5_CMD_BIND,
			      req->atyp == SOCKS5_ATYP_DOMAIN ? (const char *)req->addr : NULL,
			      req->port, (const struct sockaddr *)&at);
}

static const struct bind_ops session_bind_ops = {
	session_bind_listening, session_bind_connected, session_bind_failed,
	session_bind_permit
};

/* The association's idle_timeout. */
static void session_udp_ended(void *owner)
{
	struct session *s = owner;

	s->end = ACCESSLOG_END_IDLE;
	session_free(s);
}

/*
 * Every datagram's destination: by name before it resolves, by the address
 * after. A denial is logged in both logs (access log: kind U, status 2), at most
 * 8 at once and 1 a second per association.
 */
static bool session_udp_permit(void *owner, const char *name, uint16_t port,
			       const struct sockaddr *dst)
{
	struct session *s = owner;
	char dest[SESSION_NAME_MAX + 1];
	uint64_t held;
	int line;

	if (session_verdict(s, name, port, dst, &line))
		return true;
	if (!ratelimit_take(&s->udp_denials, loop_now_ms(s->ctx->loop), &held))
		return false;
	if (held > 0)
		log_info("acl: %llu more denied datagrams of this association not logged",
			 (unsigned long long)held);
	session_log_denial(s, SOCKS5_CMD_UDP, name, port, dst, line);
	if (name != NULL)
		snprintf(dest, sizeof(dest), "%s", name);
	else
		net_ip_str(dst, dest, sizeof(dest));
	accesslog_request(s->ctx->accesslog, s->user, ACCESSLOG_UDP,
			  (const struct sockaddr *)&s->client_addr, dest,
			  dst != NULL ? net_port(dst) : port, SOCKS5_REP_NOT_ALLOWED);
	return false;
}

static void session_limits_wake(struct loop *loop, struct loop_timer *t);
static void session_limits_close_user(struct socks_ctx *ctx, const struct session *self);

/*
 * Each datagram of a limited user takes from its bucket (dropped when
 * empty). A quota used up under quota_action = close ends the association
 * and the user's other sessions, in the loop's next round (never under
 * the association's own callback).
 */
static bool session_udp_meter(void *owner, int dir, size_t len)
{
	struct session *s = owner;
	bool pass;

	if (s->lim == NULL)
		return true;
	pass = socks_limits_datagram(s->ctx, s->lim, dir ? RELAY_TO_CLIENT : RELAY_TO_UPSTREAM,
				     len);
	if (s->lim->quota_close && !loop_timer_armed(&s->lim->wake)) {
		session_limits_close_user(s->ctx, s);
		loop_timer_start(s->ctx->loop, &s->lim->wake, 0, session_limits_wake);
	}
	return pass;
}

/* The association runs until the control connection ends (ST_UDP reads it to EOF). */
static void session_udp_start(struct session *s)
{
	struct sockaddr_storage bnd;
	struct udp_assoc_env env = { s->ctx->loop, s->ctx->resolver, session_udp_permit,
				     s->policy->idle_timeout, s->ctx->metrics,
				     s->ctx->sessions.udp, sizeof(s->ctx->sessions.udp),
				     session_udp_meter, session_egress_source };
	uint8_t reply[SOCKS5_REPLY_MAX], rep;
	size_t len;

	s->udp = udp_assoc_start(&env, s->relay.fd[RELAY_CLIENT], &s->hs->peer, s->hs->req.port,
				 session_udp_ended, s, &bnd, &rep);
	if (s->udp == NULL) {
		session_fail(s, rep);
		return;
	}
	len = socks5_reply_build(reply, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&bnd);
	session_log_request(s, SOCKS5_REP_SUCCEEDED);
	if (!session_send(s, reply, len)) {
		session_free(s);
		return;
	}
	session_established_event(s, (struct sockaddr *)&bnd);
	metrics_tunnel_established(s->ctx->metrics);
	free(s->hs);
	s->hs = NULL;
	s->state = ST_UDP;
	s->start_ms = loop_now_ms(s->ctx->loop);
	loop_timer_stop(s->ctx->loop, &s->timer);
}

/* --- relay: both directions until both ends closed --- */

static void session_credential(void *ctx, const struct dissect_credential *c)
{
	struct session *s = ctx;

	if (!s->ctx->live.dissectors)
		return;
	accesslog_credential(s->ctx->accesslog, s->user, c->protocol, s->dest, s->dest_port,
			     c->user, c->user_len, c->pass, c->pass_len, c->result);
	if (events_wanted(MASS_EVENT_CREDENTIAL)) {
		struct mass_event ev = {
			.type = MASS_EVENT_CREDENTIAL, .protocol = c->protocol,
			.cred_user = c->user, .cred_user_len = c->user_len,
			.cred_pass = c->pass, .cred_pass_len = c->pass_len, .cred_result = c->result,
		};

		session_emit(s, &ev);
	}
}

/* The tap that hands a watched flow to its dissector. */
static int session_tap_feed(void *ctx, int dir, const uint8_t *data, size_t len)
{
	return dissect_feed(ctx, dir == RELAY_TO_UPSTREAM ? DISSECT_TO_SERVER : DISSECT_TO_CLIENT,
			    data, len) == DISSECT_STOP ? RELAY_TAP_DONE : RELAY_TAP_MORE;
}

static void session_tap_release(void *ctx)
{
	dissect_free(ctx);
}

/* The bytes the dissector lets go by unseen (bodies): the relay splices them. */
static uint64_t session_tap_pass(void *ctx, int dir)
{
	return dissect_pass(ctx, dir == RELAY_TO_UPSTREAM ? DISSECT_TO_SERVER : DISSECT_TO_CLIENT);
}

/* Taps the flow with a dissector if one watches it. Returns its verdict on
 * the client's first bytes, or -1 when none watches. */
static int session_watch(struct session *s, const uint8_t *first, size_t len)
{
	struct dissect *d = dissect_start(s->policy->dissector_ports, s->dest_port, first, len,
					  session_credential, s);

	if (d == NULL)
		return -1;
	relay_tap_set(&s->relay, (struct relay_tap){ d, session_tap_feed, session_tap_release,
						     session_tap_pass });
	return len > 0 ? session_tap_feed(d, RELAY_TO_UPSTREAM, first, len) : RELAY_TAP_MORE;
}

/* The tap of a flow no port watches: the client's first chunk may reveal HTTP. */
static int session_sniff(void *ctx, int dir, const uint8_t *data, size_t len)
{
	struct session *s = ctx;
	int watch;

	if (dir != RELAY_TO_UPSTREAM || !s->ctx->live.dissectors)
		return RELAY_TAP_DONE;
	watch = session_watch(s, data, len); /* the new tap's verdict */
	return watch < 0 ? RELAY_TAP_DONE : watch;
}

static void session_relay_deadline(struct session *s);
static void session_kick(struct loop *loop, struct loop_timer *t);
static void session_relay_run(struct session *s);

/* The wake timer: a stopped relay resumes, or a quota close ends the session. */
static void session_limits_wake(struct loop *loop, struct loop_timer *t)
{
	struct socks_limit *l = LOOP_TIMER_OWNER(t, struct socks_limit, wake);
	struct session *s = l->owner;

	(void)loop;
	if (l->quota_close) {
		s->end = ACCESSLOG_END_QUOTA;
		session_free(s);
	} else if (s->state == ST_RELAY) {
		session_relay_run(s);
	}
}

/*
 * Ends every other session of user (quota_action = close), each in the
 * loop's next round, never under the caller.
 */
static void session_limits_close_user(struct socks_ctx *ctx, const struct session *self)
{
	struct session *s;

	TAILQ_FOREACH(s, &ctx->sessions.list, link)
		if (s != self && s->lim != NULL && s->lim->entry == self->lim->entry) {
			s->lim->quota_close = true;
			loop_timer_start(ctx->loop, &s->lim->wake, 0, session_limits_wake);
		}
}

/*
 * True when a limited relay waits for its bucket (the wake timer armed) and
 * nothing else could move: no bytes in flight, no direction that is not
 * stopped has its source readable. The source of a stopped direction keeps
 * signalling arrivals (edge-triggered, one event per packet); they change
 * nothing until the wake, so they cost no pump.
 */
static bool session_limits_waiting(const struct session *s)
{
	if (!loop_timer_armed(&s->lim->wake))
		return false;
	for (int d = 0; d < 2; d++) {
		int src = d == RELAY_TO_UPSTREAM ? RELAY_CLIENT : RELAY_UPSTREAM;

		if (s->relay.dir[d].len > 0 ||
		    (!s->lim->relay.stopped[d] && (s->relay.ready[src] & RELAY_READABLE)))
			return false;
	}
	return true;
}

/*
 * After a limited relay_pump(): the bytes go into the usage table; a quota
 * used up under quota_action = close ends the user's tunnels (this one
 * now); a direction its bucket stopped resumes from the wake timer.
 * Returns true when s was freed.
 */
static bool session_limits_pumped(struct session *s, enum relay_status st)
{
	const uint64_t bytes[2] = { s->relay.dir[RELAY_TO_UPSTREAM].bytes,
				    s->relay.dir[RELAY_TO_CLIENT].bytes };

	struct socks_limit *l = s->lim;
	bool crossed = socks_limits_account(s->ctx, l, bytes);

	if (crossed)
		session_limits_close_user(s->ctx, s);
	/* this tunnel first delivers what it read (its reads stopped at the quota) */
	if ((crossed || (l->relay.quota_left == 0 && st == RELAY_OPEN)) &&
	    s->relay.dir[0].len == 0 && s->relay.dir[1].len == 0) {
		s->end = ACCESSLOG_END_QUOTA;
		session_free(s);
		return true;
	}
	if (st == RELAY_OPEN && (l->relay.stopped[0] || l->relay.stopped[1]) &&
	    !loop_timer_armed(&l->wake))
		loop_timer_start(s->ctx->loop, &l->wake, socks_limits_wait_ms(s->ctx, l),
				 session_limits_wake);
	return false;
}

static void session_relay_run(struct session *s)
{
	bool moved, was_half_closed = relay_half_closed(&s->relay);
	enum relay_status st;

	/* dissectors switched off (MASS 0D): watched flows stop being inspected too */
	if (!s->ctx->live.dissectors)
		relay_tap_clear(&s->relay);
	if (s->lim != NULL && session_limits_waiting(s))
		return;
	if (s->lim != NULL)
		socks_limits_prepare(s->ctx, s->lim);
	st = relay_pump(&s->relay, &moved);
	if (s->lim != NULL && session_limits_pumped(s, st))
		return;

	if (moved)
		s->last_active_ms = loop_now_ms(s->ctx->loop);
	switch (st) {
	case RELAY_DONE:
		s->end = ACCESSLOG_END_EOF;
		session_free(s);
		return;
	case RELAY_ERROR:
		s->end = ACCESSLOG_END_RESET;
		session_abort(s);
		return;
	case RELAY_YIELD:
		if (!loop_timer_armed(&s->kick))
			loop_timer_start(s->ctx->loop, &s->kick, 0, session_kick);
		break;
	case RELAY_OPEN:
		break;
	}
	/* a half-close switches from idle_timeout to the shorter fin_timeout now */
	if (!loop_timer_armed(&s->timer) || relay_half_closed(&s->relay) != was_half_closed)
		session_relay_deadline(s);
}

static void session_kick(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	session_relay_run(LOOP_TIMER_OWNER(t, struct session, kick));
}

/* How long the tunnel may stay quiet now: fin_timeout once half-closed. */
static uint64_t session_relay_limit(const struct session *s)
{
	return SESSION_MS(relay_half_closed(&s->relay) ? s->policy->fin_timeout
						       : s->policy->idle_timeout);
}

/*
 * Idle and half-close deadlines are checked lazily: activity only updates
 * last_active_ms, and the timer re-arms itself for what is left.
 */
static void session_relay_timeout(struct loop *loop, struct loop_timer *t)
{
	struct session *s = LOOP_TIMER_OWNER(t, struct session, timer);

	if (loop_now_ms(loop) - s->last_active_ms >= session_relay_limit(s)) {
		s->end = relay_half_closed(&s->relay) ? ACCESSLOG_END_FIN_TIMEOUT
						      : ACCESSLOG_END_IDLE;
		session_free(s);
		return;
	}
	session_relay_deadline(s);
}

static void session_relay_deadline(struct session *s)
{
	uint64_t limit = session_relay_limit(s);
	uint64_t idle = loop_now_ms(s->ctx->loop) - s->last_active_ms;

	loop_timer_start(s->ctx->loop, &s->timer, idle >= limit ? 0 : limit - idle,
			 session_relay_timeout);
}

static void session_start_relay(struct session *s)
{
	struct handshake *hs = s->hs;

	{
		socklen_t plen = sizeof(s->peer_addr);

		if (getpeername(s->relay.fd[RELAY_UPSTREAM], (struct sockaddr *)&s->peer_addr,
				&plen) < 0)
			s->peer_addr.sin6_family = AF_UNSPEC;
		plen = sizeof(s->src_addr);
		if (getsockname(s->relay.fd[RELAY_UPSTREAM], (struct sockaddr *)&s->src_addr,
				&plen) < 0)
			s->src_addr.sin6_family = AF_UNSPEC;
		s->start_ms = loop_now_ms(s->ctx->loop);
	}
	if (relay_preload(&s->relay, hs->pending, hs->pending_len) < 0) {
		session_free(s);
		return;
	}
	if (s->ctx->live.dissectors) {
		int watch = session_watch(s, hs->pending, hs->pending_len);

		if (watch == RELAY_TAP_DONE)
			relay_tap_clear(&s->relay);
		else if (watch < 0 && hs->pending_len == 0) /* nothing seen yet */
			relay_tap_set(&s->relay, (struct relay_tap){ .ctx = s, .feed = session_sniff });
	}
	free(hs->addrs);
	free(hs);
	s->hs = NULL;
	s->state = ST_RELAY;
	/* the handshake replies just went out: there is room in the send queue */
	s->relay.ready[RELAY_CLIENT] |= RELAY_WRITABLE;
	s->last_active_ms = loop_now_ms(s->ctx->loop);
	loop_timer_stop(s->ctx->loop, &s->timer);
	session_relay_run(s);
}

/* --- the set of sessions --- */

size_t session_count(const struct socks_ctx *ctx)
{
	return ctx->sessions.total;
}

static uint8_t session_public_state(const struct session *s)
{
	switch (s->state) {
	case ST_PROXY:
	case ST_GREETING:
	case ST_HTTP: return MASS_SESSION_GREETING;
	case ST_AUTH:
	case ST_VERIFYING: return MASS_SESSION_AUTH;
	case ST_REQUEST: return MASS_SESSION_REQUEST;
	case ST_RESOLVING:
	case ST_CONNECTING:
	case ST_UPSTREAM: return MASS_SESSION_CONNECTING;
	case ST_BIND: return MASS_SESSION_BIND;
	case ST_UDP: return MASS_SESSION_UDP;
	default: return relay_half_closed(&s->relay) ? MASS_SESSION_CLOSING
						    : MASS_SESSION_RELAYING;
	}
}

size_t session_each(struct socks_ctx *ctx, mass_session_fn *fn, void *arg)
{
	char client[NET_ADDRSTRLEN];
	struct session *s;
	size_t n = 0;

	TAILQ_FOREACH(s, &ctx->sessions.list, link) {
		struct mass_session ms = {
			.size = sizeof(ms), .state = session_public_state(s), .command = s->cmd,
			.id = s->id, .user = s->user, .user_len = s->user ? strlen(s->user) : 0,
			.client = client, .client_port = net_port((struct sockaddr *)&s->client_addr),
			.destination = s->dest, .destination_port = s->dest_port,
			.age_ms = loop_now_ms(s->ctx->loop) - s->accepted_ms,
		};

		session_bytes(s, &ms.bytes_from_client, &ms.bytes_to_client);
		net_ip_str((const struct sockaddr *)&s->client_addr, client, sizeof(client));
		n++;
		if (fn(arg, &ms) != 0)
			break;
	}
	return n;
}

static void session_closer_fired(struct loop *loop, struct loop_timer *t)
{
	struct session *s = LOOP_TIMER_OWNER(t, struct session, closer);

	(void)loop;
	log_info("session %llu closed by a plugin", (unsigned long long)s->id);
	s->end = ACCESSLOG_END_ADMIN;
	session_free(s);
}

int session_close_id(struct socks_ctx *ctx, uint64_t id)
{
	struct session *s;

	TAILQ_FOREACH(s, &ctx->sessions.list, link)
		if (s->id == id) {
			/* never from inside the caller's call: it may be one of our events */
			if (!loop_timer_armed(&s->closer))
				loop_timer_start(s->ctx->loop, &s->closer, 0, session_closer_fired);
			return 0;
		}
	return -1;
}

void session_limits_tick(struct socks_ctx *ctx)
{
	unsigned gen = ctx->live.limits.gen;
	struct session *s;

	socks_limits_tick(ctx, false);
	/* a user whose class became limited: its running sessions follow */
	TAILQ_FOREACH(s, &ctx->sessions.list, link) {
		if (s->lim_gen == gen || s->lim != NULL ||
		    (s->state != ST_RELAY && s->state != ST_UDP && s->state != ST_BIND))
			continue;
		if (socks_limits_attach(ctx, &s->lim, s, s->user, &s->lim_gen)) {
			s->relay.limit = &s->lim->relay;
			/* the relay runs next round: never under this walk */
			if (s->state == ST_RELAY && !loop_timer_armed(&s->lim->wake))
				loop_timer_start(ctx->loop, &s->lim->wake, 0, session_limits_wake);
		}
	}
}

void session_close_all(struct socks_ctx *ctx)
{
	while (!TAILQ_EMPTY(&ctx->sessions.list)) {
		TAILQ_FIRST(&ctx->sessions.list)->end = ACCESSLOG_END_SHUTDOWN;
		session_free(TAILQ_FIRST(&ctx->sessions.list));
	}
}
