/* mgmt: the MASS management server. See mgmt.h. */
#include "mgmt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/listener.h"
#include "core/escape.h"
#include "core/log.h"
#include "host_services.h"
#include "core/loop.h"
#include "mass_proto.h"
#include "core/net.h"
#include "plugins.h"
#include "socks/socks5_proto.h"
#include "auth/pace.h"
#include "auth/users.h"
#include "auth/verify.h"

#define MGMT_READ_CHUNK 4096
/* After the reply: octets of the client's we read and discard, and for how
 * long, waiting for its FIN. Closing with unread input would send an RST,
 * which can destroy the reply still in flight. */
#define MGMT_DRAIN_MAX (64 * 1024)
#define MGMT_DRAIN_MS 1000u

/* Failed admin logins per source address (auth/pace.h): the delay doubles
 * with each, from MGMT_DELAY_MIN_MS up to MGMT_DELAY_MAX_MS; it runs before
 * the source's next check may start, and before the failure reply. */
#define MGMT_DELAY_MIN_MS 250u
#define MGMT_DELAY_MAX_MS 8000u

/* A connection not logged in that has held its slot this long without
 * sending its whole login (a trickler) gives way to a new connection. A
 * client that logs in promptly needs a round trip or two. */
#define MGMT_TRICKLE_MS 2000u

/* The login status for "busy, nothing checked" (the verify queue is full):
 * RFC 1929 says any non-zero status is a failure; 01 stays "wrong name or
 * password". No failure is counted. */
#define MGMT_LOGIN_BUSY 0x02

/* Descriptors each management listener holds in reserve (core/listener.h):
 * when a client has exhausted the process's, this many admins can still
 * connect at once (a stats and a kick need one each). */
#define MGMT_FD_RESERVE 8

/* The indexes known to change nothing: the core's 00 and the counters and
 * list of 01..09. Every other request (0A..0D and any third-party index,
 * which may change state) is logged with the admin, the address and the
 * status. */
#define MGMT_READ_ONLY_LAST 0x09

/*
 * MGMT_WAITING: the login is complete but its source must wait for its turn
 * (pace.h); MGMT_VERIFYING: the login is with the verify pool or, for a
 * name [admins] does not hold, with the authentication providers (ABI 1.1); MGMT_PENALTY:
 * a failed login waits for its delayed answer; MGMT_PENDING: the handler
 * deferred its reply (ABI 1.1). Nothing is read in any of them.
 */
enum mgmt_state { MGMT_GREETING, MGMT_AUTH, MGMT_VERIFYING, MGMT_PENALTY, MGMT_REQUEST,
		  MGMT_PENDING, MGMT_CLOSING, MGMT_DRAINING, MGMT_WAITING };

struct mgmt_conn {
	struct mgmt_server *srv;     /* the server it came in on */
	int fd;
	enum mgmt_state state;
	bool logged_in;              /* past the login (or greeted with auth off) */
	bool paced;                  /* its check is in flight for pace_admit() */
	uint64_t accepted_ms;
	struct loop_timer timer;     /* the deadline from accept, then the penalty or drain */
	TAILQ_ENTRY(mgmt_conn) link; /* in srv->conns, newest first */
	struct sockaddr_storage addr;
	char peer[NET_ADDRSTRLEN];
	char admin[ESCAPE_SIZE(255)]; /* the admin logged in, escaped; "-" with auth off */
	uint8_t *out;                /* replies not yet written */
	size_t out_len, out_off;
	size_t drained;              /* octets discarded after the reply */
	struct verify_req *verify;   /* MGMT_VERIFYING: the pending check */
	void *auth_pending;          /* MGMT_VERIFYING: the providers' login instead */
	struct mass_reply *later;    /* MGMT_PENDING: the deferred reply */
	uint8_t *pending;            /* MGMT_VERIFYING: octets read behind the login */
	size_t pending_len;
	union {
		struct greeting_parser greeting;
		struct userpass_parser userpass;
		struct mass_request_parser request;
	} p;
};

struct mgmt_server {
	struct loop *loop;
	const struct mgmt_env *env;     /* its settings in force are read at each event */
	struct listener *listeners[MGMT_LISTEN_MAX];
	size_t nlisteners;
	TAILQ_HEAD(, mgmt_conn) conns;
	size_t nconns;
	size_t nunauth;                 /* of them, not logged in yet */
	bool told_no_admins;
	struct pace pace;               /* failed logins per source */
	uint8_t reply_buf[1 + MASS_REPLY_MAX]; /* status octet plus the largest field set */
};

/* The settings in force: management settings, admins, plugins. */
static const struct mgmt_settings *mgmt_set(struct mgmt_server *srv)
{
	return srv->env->settings;
}

/*
 * The request framer's lookup: the plugin set in force when each octet is
 * framed, not the one of the greeting (a reload may come in between).
 */
static const char *mgmt_signature(void *server, uint8_t index)
{
	struct mgmt_server *srv = server;

	return plugins_signature(mgmt_set(srv)->plugins, index);
}


static void mgmt_conn_close(struct mgmt_conn *c)
{
	struct mgmt_server *srv = c->srv;
	loop_timer_stop(srv->loop, &c->timer);
	loop_remove(srv->loop, c->fd);
	close(c->fd);
	TAILQ_REMOVE(&srv->conns, c, link);
	srv->nconns--;
	if (!c->logged_in)
		srv->nunauth--;
	if (c->verify != NULL)
		verify_cancel(c->verify);
	if (c->paced)  /* a check dropped unanswered: nothing learnt, nothing earned */
		pace_end(&srv->pace, (const struct sockaddr *)&c->addr, PACE_NONE,
			 loop_now_ms(srv->loop), NULL);
	explicit_bzero(&c->p, sizeof(c->p));
	/* a provider or a plugin answering later finds nobody */
	host_auth_cancel(c->auth_pending);
	host_defer_detach(c->later);
	free(c->pending);
	free(c->out);
	free(c);
	/* the descriptor just closed may refill the reserve */
	for (size_t i = 0; i < srv->nlisteners; i++)
		listener_reserve_refill(srv->listeners[i]);
}

static uint64_t mgmt_timeout_ms(struct mgmt_server *srv)
{
	return (uint64_t)mgmt_set(srv)->timeout * 1000u;
}

/* False while the connection waits on the server's side (nothing is read). */
static bool mgmt_reading(const struct mgmt_conn *c)
{
	return c->state != MGMT_VERIFYING && c->state != MGMT_PENDING &&
	       c->state != MGMT_PENALTY && c->state != MGMT_WAITING;
}

static void mgmt_answer(struct mgmt_conn *c, const uint8_t *reply, size_t len);
static void mgmt_request_cut_log(const struct mgmt_conn *c, const char *how);
static void mgmt_penalty_over(struct mgmt_conn *c);
static int mgmt_login_try(struct mgmt_conn *c);
static int mgmt_flush(struct mgmt_conn *c);

static void mgmt_timer_fired(struct loop *loop, struct loop_timer *timer)
{
	struct mgmt_conn *c = LOOP_TIMER_OWNER(timer, struct mgmt_conn, timer);
	struct mgmt_server *srv = c->srv;
	static const uint8_t error = MASS_STATUS_ERROR;
	struct mass_index_info info;

	(void)loop;
	if (c->state == MGMT_PENDING) {
		/* the plugin's deferred reply is late: 01 now, its reply_send later frees it */
		if (plugins_index_info(mgmt_set(srv)->plugins, c->p.request.req.index, &info) < 0)
			info.plugin = "?";
		log_error("plugin %s: index %02X: no reply within %u s", info.plugin,
			  c->p.request.req.index, (unsigned)mgmt_set(srv)->timeout);
		host_defer_detach(c->later);
		c->later = NULL;
		mgmt_answer(c, &error, 1);
		return;
	}
	if (c->state == MGMT_PENALTY) {
		mgmt_penalty_over(c);
		return;
	}
	if (c->state == MGMT_WAITING && loop_now_ms(srv->loop) < c->accepted_ms +
							  mgmt_timeout_ms(srv)) {
		uint8_t peek;
		ssize_t n = recv(c->fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT);

		/* a client that left while waiting (the guesser's drop) is not checked */
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			mgmt_conn_close(c);
			return;
		}
		if (mgmt_login_try(c) < 0) {
			c->state = MGMT_CLOSING;
			if (c->out_len == 0) {
				mgmt_conn_close(c);
				return;
			}
		}
		/* an answer given at once (busy; allowed by a provider) goes out now */
		if (c->out_len > 0)
			mgmt_flush(c);
		return;
	}
	if (c->state == MGMT_REQUEST)
		mgmt_request_cut_log(c, "no more within the timeout, dropped");
	else if (c->state != MGMT_DRAINING)
		log_debug("management: %s stalled, dropped", c->peer);
	mgmt_conn_close(c);
}

/* The reply is out: send our FIN, then read until the peer's (see MGMT_DRAIN_MAX). */
static void mgmt_drain_start(struct mgmt_conn *c)
{
	struct mgmt_server *srv = c->srv;
	uint64_t ms = mgmt_timeout_ms(srv);

	if (shutdown(c->fd, SHUT_WR) < 0) {
		mgmt_conn_close(c);
		return;
	}
	c->state = MGMT_DRAINING;
	loop_set(srv->loop, c->fd, LOOP_READ);
	loop_timer_start(srv->loop, &c->timer, ms < MGMT_DRAIN_MS ? ms : MGMT_DRAIN_MS,
			 mgmt_timer_fired);
}

/* Discards what the peer sends after the reply; closes on its EOF or beyond the bound. */
static void mgmt_drain(struct mgmt_conn *c)
{
	uint8_t buf[MGMT_READ_CHUNK];
	ssize_t n;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0)
		c->drained += (size_t)n;
	if (n <= 0 || c->drained > MGMT_DRAIN_MAX)
		mgmt_conn_close(c);
}

/* Writes what is queued. Returns 0, or -1 when the connection is done with
 * (closed, or draining after its last reply). */
static int mgmt_flush(struct mgmt_conn *c)
{
	struct mgmt_server *srv = c->srv;
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			mgmt_conn_close(c);
			return -1;
		}
		c->out_off += (size_t)n;
		/* a reply in progress: the deadline is then "nothing sent for timeout" */
		if (c->state == MGMT_CLOSING)
			loop_timer_start(srv->loop, &c->timer, mgmt_timeout_ms(srv), mgmt_timer_fired);
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->state == MGMT_CLOSING) {
			mgmt_drain_start(c);
			return -1;
		}
		loop_set(srv->loop, c->fd, mgmt_reading(c) ? LOOP_READ : 0);
		return 0;
	}
	/* the rest waits for writability; stop reading once the reply is final */
	loop_set(srv->loop, c->fd, c->state == MGMT_CLOSING || !mgmt_reading(c) ?
				   LOOP_WRITE : LOOP_READ | LOOP_WRITE);
	return 0;
}

/* Queues octets for the peer. Returns 0, or -1 when out of memory (the caller closes). */
static int mgmt_queue(struct mgmt_conn *c, const uint8_t *buf, size_t len)
{
	uint8_t *grown = realloc(c->out, c->out_len + len);

	if (grown == NULL)
		return -1;
	c->out = grown;
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

static int mgmt_reply2(struct mgmt_conn *c, uint8_t a, uint8_t b)
{
	uint8_t reply[2] = { a, b };

	return mgmt_queue(c, reply, sizeof(reply));
}

static void mgmt_admins_hint(struct mgmt_server *srv)
{
	if (mgmt_set(srv)->admins->len > 0 || srv->told_no_admins)
		return;
	srv->told_no_admins = true;
	log_warn("management: no admin configured, every login fails; add one as "
		 "\"NAME = PASSWORD\" under [admins] in mass.ini and reload (SIGHUP)");
}

/* c is past the login: it no longer counts against max_unauthenticated. */
static void mgmt_logged_in(struct mgmt_conn *c)
{
	struct mgmt_server *srv = c->srv;
	if (!c->logged_in) {
		c->logged_in = true;
		srv->nunauth--;
	}
}

/* The greeting is complete: choose the method. Returns -1 to drop at once. */
static int mgmt_greeted(struct mgmt_conn *c)
{
	struct mgmt_server *srv = c->srv;
	struct greeting_parser *g = &c->p.greeting;
	uint8_t method = SOCKS5_METHOD_REJECT;

	if (mgmt_set(srv)->auth) {
		if (greeting_offers(g, SOCKS5_METHOD_USERPASS))
			method = SOCKS5_METHOD_USERPASS;
	} else {
		method = greeting_offers(g, SOCKS5_METHOD_NONE) ? SOCKS5_METHOD_NONE
								: SOCKS5_METHOD_USERPASS;
	}
	if (mgmt_reply2(c, MASS_VERSION, method) < 0)
		return -1;
	if (method == SOCKS5_METHOD_REJECT) {
		c->state = MGMT_CLOSING;
	} else if (method == SOCKS5_METHOD_USERPASS) {
		mgmt_admins_hint(srv);
		c->state = MGMT_AUTH;
		userpass_init(&c->p.userpass);
	} else {
		mgmt_logged_in(c);  /* auth off: the greeting is the login */
		c->state = MGMT_REQUEST;
		mass_request_init(&c->p.request, mgmt_signature, c->srv);
	}
	return 0;
}

static int mgmt_feed(struct mgmt_conn *c, const uint8_t *buf, size_t len);

/* The penalty is served: the failure reply goes out, then the close. */
static void mgmt_penalty_over(struct mgmt_conn *c)
{
	struct mgmt_server *srv = c->srv;
	c->state = MGMT_CLOSING;
	if (mgmt_reply2(c, 0x01, 0x01) < 0) {
		mgmt_conn_close(c);
		return;
	}
	loop_timer_start(srv->loop, &c->timer, mgmt_timeout_ms(srv), mgmt_timer_fired);
	mgmt_flush(c);
}

/*
 * A wrong admin name or password: logged with the name tried (escaped) and
 * the address, and answered only after a delay growing with the failures
 * from that address (nothing more is read meanwhile).
 */
static void mgmt_login_failed(struct mgmt_conn *c)
{
	struct mgmt_server *srv = c->srv;
	const struct userpass_parser *u = &c->p.userpass;
	unsigned n;
	uint64_t delay;
	char name[ESCAPE_SIZE(sizeof(u->user))];

	/* paced or not (a refusal before any check), the failure is earned */
	delay = pace_end(&srv->pace, (const struct sockaddr *)&c->addr, PACE_FAIL,
			 loop_now_ms(srv->loop), &n);
	c->paced = false;
	log_warn("management: failed login for admin '%s' from %s (failure %u from this "
		 "address; answered in %llu ms)", escape_text(name, sizeof(name), u->user, u->ulen),
		 c->peer, n, (unsigned long long)delay);
	c->state = MGMT_PENALTY;
	loop_set(srv->loop, c->fd, 0);
	loop_timer_start(srv->loop, &c->timer, delay, mgmt_timer_fired);
}

/* A successful login: the admin is known, its address's failures are forgotten. */
static void mgmt_login_ok(struct mgmt_conn *c)
{
	pace_end(&c->srv->pace, (const struct sockaddr *)&c->addr, PACE_OK,
		 loop_now_ms(c->srv->loop), NULL);
	c->paced = false;
	escape_text(c->admin, sizeof(c->admin), c->p.userpass.user, c->p.userpass.ulen);
	mgmt_logged_in(c);
	c->state = MGMT_REQUEST;
	mass_request_init(&c->p.request, mgmt_signature, c->srv);
}

static void mgmt_auth_done(void *ctx, bool ok)
{
	struct mgmt_conn *c = ctx;
	struct mgmt_server *srv = c->srv;
	uint8_t *pending = c->pending;
	size_t n = c->pending_len;
	c->verify = NULL;
	c->auth_pending = NULL;
	c->pending = NULL;
	c->pending_len = 0;
	if (!ok) {
		free(pending);
		mgmt_login_failed(c);
		return;
	}
	if (mgmt_reply2(c, 0x01, 0x00) < 0) {
		free(pending);
		mgmt_conn_close(c);
		return;
	}
	mgmt_login_ok(c);
	loop_set(srv->loop, c->fd, LOOP_READ);
	if (n > 0 && mgmt_feed(c, pending, n) < 0)
		c->state = MGMT_CLOSING;
	free(pending);
	mgmt_flush(c);
}

static int mgmt_login_busy(struct mgmt_conn *c);

/* The providers' answer: BUSY (could not check now) as a full verify queue. */
static void mgmt_provider_done(void *ctx, int verdict)
{
	struct mgmt_conn *c = ctx;

	if (verdict == MASS_AUTH_BUSY) {
		c->auth_pending = NULL;
		free(c->pending);
		c->pending = NULL;
		c->pending_len = 0;
		if (mgmt_login_busy(c) < 0)
			mgmt_conn_close(c);
		else
			mgmt_flush(c);
		return;
	}
	mgmt_auth_done(c, verdict == MASS_AUTH_ALLOW);
}

/*
 * A name the providers decide (ABI 1.1: one [admins] does not hold, when
 * there are MASS_AUTH_ADMIN providers). Returns 1 while they decide, 0
 * with *verdict set when they did at once.
 */
static int mgmt_ask_providers(struct mgmt_conn *c, int *verdict)
{
	struct userpass_parser *u = &c->p.userpass;
	struct mass_auth_query q = {
		.size = sizeof(q), .realm = MASS_AUTH_ADMIN, .client = c->peer,
		.user = u->user, .user_len = u->ulen, .pass = u->pass, .pass_len = u->plen,
	};

	c->auth_pending = host_auth_ask(&q, mgmt_provider_done, c, verdict);
	return c->auth_pending != NULL;
}

/*
 * The verify queue had no room (verify.h: busy): answered at once with
 * MGMT_LOGIN_BUSY, not as a wrong password, and counted against nobody.
 */
static int mgmt_login_busy(struct mgmt_conn *c)
{
	log_warn("management: login from %s not checked: the password checks are busy",
		 c->peer);
	if (c->paced)
		pace_end(&c->srv->pace, (const struct sockaddr *)&c->addr, PACE_NONE,
			 loop_now_ms(c->srv->loop), NULL);
	c->paced = false;
	c->state = MGMT_CLOSING;
	return mgmt_reply2(c, 0x01, MGMT_LOGIN_BUSY);
}

/*
 * A login whose turn has come (mgmt_login_try): [admins] decides a name it
 * holds (through the verify pool); any other goes to the providers when
 * there are some (the order of <mass/plugin.h>). A refusal is a failed
 * login; no room in the verify queue, or a provider's MASS_AUTH_BUSY, is
 * "busy".
 */
static int mgmt_check_start(struct mgmt_conn *c)
{
	struct mgmt_server *srv = c->srv;
	struct userpass_parser *u = &c->p.userpass;
	const struct verify_from from = { (const struct sockaddr *)&c->addr, true };
	uint64_t now = loop_now_ms(srv->loop), deadline = c->accepted_ms + mgmt_timeout_ms(srv);
	int verdict = MASS_AUTH_DENY;
	int rc;

	if (users_find(mgmt_set(srv)->admins, u->user, u->ulen) < 0
	    && host_auth_has_providers(MASS_AUTH_ADMIN)) {
		rc = mgmt_ask_providers(c, &verdict) == 1 ? 0 : -1;
		explicit_bzero(u->pass, sizeof(u->pass));
		if (rc < 0 && verdict == MASS_AUTH_BUSY)
			return mgmt_login_busy(c);   /* the provider could not check now */
		if (rc < 0 && verdict == MASS_AUTH_ALLOW) {
			/* allowed at once: on to the request, as after [admins] */
			uint8_t *pending = c->pending;
			size_t n = c->pending_len;

			if (mgmt_reply2(c, 0x01, 0x00) < 0)
				return -1;
			mgmt_login_ok(c);
			loop_set(srv->loop, c->fd, LOOP_READ);
			/* after a wait, what was sent behind the login (none otherwise) */
			c->pending = NULL;
			c->pending_len = 0;
			rc = n > 0 ? mgmt_feed(c, pending, n) : 0;
			free(pending);
			return rc;
		}
	} else {
		rc = verify_start_from(srv->env->verify, &from, mgmt_set(srv)->admins, u->user,
				       u->ulen, u->pass, u->plen, mgmt_auth_done, c, &c->verify);
		explicit_bzero(u->pass, sizeof(u->pass));
		if (rc < 0)
			return mgmt_login_busy(c);
	}
	if (rc == 0) {
		c->state = MGMT_VERIFYING;
		loop_set(srv->loop, c->fd, 0);
		/* the deadline from accept again (a wait for the turn used the timer) */
		loop_timer_start(srv->loop, &c->timer, deadline > now ? deadline - now : 0,
				 mgmt_timer_fired);
		return 0;
	}
	mgmt_login_failed(c);
	return 0;
}

/*
 * A complete login, or one whose wait is over: it starts its check when its
 * source may (pace.h: after a failure, not before the earned delay and one
 * at a time), else waits, reading nothing, within the deadline from accept.
 */
static int mgmt_login_try(struct mgmt_conn *c)
{
	struct mgmt_server *srv = c->srv;
	uint64_t now = loop_now_ms(srv->loop), deadline = c->accepted_ms + mgmt_timeout_ms(srv);
	uint64_t wait = pace_admit(&srv->pace, (const struct sockaddr *)&c->addr, now);

	if (wait == 0) {
		c->paced = true;
		return mgmt_check_start(c);
	}
	c->state = MGMT_WAITING;
	loop_set(srv->loop, c->fd, 0);
	if (now + wait > deadline)
		wait = deadline > now ? deadline - now : 0;
	loop_timer_start(srv->loop, &c->timer, wait, mgmt_timer_fired);
	return 0;
}

/* Logs a request short of parameters, naming what was expected. */
static void mgmt_request_cut_log(const struct mgmt_conn *c, const char *how)
{
	const struct mass_request_parser *rq = &c->p.request;
	unsigned have;

	if (!mass_request_cut(rq, &have))
		return;
	log_warn("management: %s index %02X: request cut short: %u of %zu parameters "
		 "(signature \"%s\"), %s", c->peer, rq->req.index, have, strlen(rq->signature),
		 rq->signature, how);
}

/* A deferred reply arrived (host_services), or never will (len 0). */
static void mgmt_deferred_done(void *conn, const uint8_t *reply, size_t len)
{
	static const uint8_t error = MASS_STATUS_ERROR;
	struct mgmt_conn *c = conn;

	c->later = NULL;
	if (len == 0)
		mgmt_answer(c, &error, 1);
	else
		mgmt_answer(c, reply, len);
}

/*
 * What a request acts on, for its audit line: its first parameter (a
 * plugin puts its object first, and never a secret there: 0A's PASSWORD is
 * second and never logged), a string quoted and escaped, an octet in hex,
 * or for the core switches 0C and 0D the state asked for, "on" or "off".
 * Empty without parameters.
 */
static const char *mgmt_log_object(const struct mgmt_conn *c, char *buf, size_t len)
{
	const struct mass_request *req = &c->p.request.req;
	const struct mass_param *p = &req->params[0];
	char esc[ESCAPE_SIZE(255)];

	if (req->nparams == 0 || p->data == NULL)
		snprintf(buf, len, "%s", "");
	else if (c->p.request.signature[0] == 's')
		snprintf(buf, len, " '%s'", escape_text(esc, sizeof(esc), (const char *)p->data,
							 p->len));
	else if (req->index == 0x0C || req->index == 0x0D)
		snprintf(buf, len, " %s", p->data[0] == 0 ? "on" : "off");
	else
		snprintf(buf, len, " %02X", p->data[0]);
	return buf;
}

/*
 * The one place admin actions are attributed: every index but the reads,
 * one line with the admin, the address, the index, its object and the
 * status, whether answered at once or deferred (the host services the
 * plugins call log the change itself at debug level only, so no other
 * admin's line can come between a change and its author).
 */
static void mgmt_log_result(const struct mgmt_conn *c, uint8_t status)
{
	char object[ESCAPE_SIZE(255) + 4];

	if (c->p.request.req.index > MGMT_READ_ONLY_LAST)
		log_info("management: admin '%s' from %s: index %02X%s status %02X", c->admin,
			 c->peer, c->p.request.req.index,
			 mgmt_log_object(c, object, sizeof(object)), status);
	else
		log_debug("management: %s index %02X status %02X", c->peer,
			  c->p.request.req.index, status);
}

/* Queues the final reply and starts writing it. */
static void mgmt_answer(struct mgmt_conn *c, const uint8_t *reply, size_t len)
{
	struct mgmt_server *srv = c->srv;
	mgmt_log_result(c, reply[0]);
	c->state = MGMT_CLOSING;
	if (mgmt_queue(c, reply, len) < 0) {
		mgmt_conn_close(c);
		return;
	}
	loop_timer_start(srv->loop, &c->timer, mgmt_timeout_ms(srv), mgmt_timer_fired);
	mgmt_flush(c);
}

static int mgmt_requested(struct mgmt_conn *c, enum proto_result r)
{
	struct mgmt_server *srv = c->srv;
	size_t n;

	if (r == PROTO_ERROR) {
		srv->reply_buf[0] = MASS_STATUS_ERROR;
		n = 1;
	} else {
		n = plugins_serve(mgmt_set(srv)->plugins, &c->p.request, srv->reply_buf,
				  sizeof(srv->reply_buf), &c->later);
		if (c->later != NULL) {
			/* answered by mgmt_deferred_done, or 01 at the timeout */
			c->state = MGMT_PENDING;
			loop_set(srv->loop, c->fd, 0);
			host_defer_attach(c->later, mgmt_deferred_done, c);
			loop_timer_start(srv->loop, &c->timer, mgmt_timeout_ms(srv), mgmt_timer_fired);
			return 0;
		}
	}
	mgmt_log_result(c, srv->reply_buf[0]);
	c->state = MGMT_CLOSING;
	return mgmt_queue(c, srv->reply_buf, n);
}

/*
 * Feeds received octets to the parser of the current state, moving on as
 * each message completes. Returns -1 when the connection is to be dropped
 * without (further) reply.
 */
static int mgmt_feed(struct mgmt_conn *c, const uint8_t *buf, size_t len)
{
	enum proto_result r;
	size_t used;

	while (len > 0 && c->state != MGMT_CLOSING && c->state != MGMT_PENALTY &&
	       c->state != MGMT_WAITING) {
		used = 0;
		switch (c->state) {
		case MGMT_GREETING:
			r = greeting_parse(&c->p.greeting, buf, len, &used);
			if (r == PROTO_ERROR && c->p.greeting.error == GREETING_NO_METHODS) {
				c->state = MGMT_CLOSING;
				return mgmt_reply2(c, MASS_VERSION, SOCKS5_METHOD_REJECT);
			}
			if (r == PROTO_ERROR)
				return -1;
			if (r == PROTO_DONE && mgmt_greeted(c) < 0)
				return -1;
			break;
		case MGMT_AUTH:
			r = userpass_parse(&c->p.userpass, buf, len, &used);
			if (r == PROTO_ERROR)
				return -1;
			if (r == PROTO_DONE && mgmt_login_try(c) < 0)
				return -1;
			break;
		case MGMT_REQUEST:
			r = mass_request_parse(&c->p.request, buf, len, &used);
			if (r != PROTO_MORE && mgmt_requested(c, r) < 0)
				return -1;
			break;
		default:
			return 0;
		}
		if (used > len)
			return -1;
		buf += used;
		len -= used;
		if ((c->state == MGMT_VERIFYING || c->state == MGMT_WAITING) && len > 0) {
			/* a request sent with the login: kept for after the answer */
			c->pending = malloc(len);
			if (c->pending == NULL)
				return -1;
			memcpy(c->pending, buf, len);
			c->pending_len = len;
			return 0;
		}
	}
	return 0;
}

static void mgmt_conn_event(struct loop *loop, int fd, void *data, int events)
{
	struct mgmt_conn *c = data;
	uint8_t buf[MGMT_READ_CHUNK];
	ssize_t n;

	(void)loop;
	(void)fd;
	if (c->state == MGMT_DRAINING) {
		mgmt_drain(c);
		return;
	}
	if (c->state == MGMT_PENALTY) {
		/* nothing is read meanwhile; a peer that is gone ends it (the failure counts) */
		if (events & LOOP_ERROR)
			mgmt_conn_close(c);
		return;
	}
	if (events & LOOP_WRITE) {
		if (mgmt_flush(c) < 0)
			return;
	}
	if (!(events & (LOOP_READ | LOOP_ERROR)) || c->state == MGMT_CLOSING ||
	    (!mgmt_reading(c) && !(events & LOOP_ERROR)))
		return;
	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n == 0 && c->state == MGMT_REQUEST && mass_request_cut(&c->p.request, &(unsigned){0})) {
		/* the client's FIN in the middle of the parameters: too few were sent */
		static const uint8_t error = MASS_STATUS_ERROR;

		mgmt_request_cut_log(c, "answered 01");
		mgmt_answer(c, &error, 1);
		return;
	}
	if (n <= 0) {
		/* EOF or error before the reply: nobody to answer */
		mgmt_conn_close(c);
		return;
	}
	/* no re-arming here: the deadline runs from accept to a complete request */
	if (mgmt_feed(c, buf, (size_t)n) < 0) {
		/* replies already earned (a greeting's) still go out first */
		c->state = MGMT_CLOSING;
		if (c->out_len == 0) {
			mgmt_conn_close(c);
			return;
		}
	}
	if (c->out_len > 0)
		mgmt_flush(c);
}

/*
 * The connection to give way for a new one (the list is newest first):
 * the oldest not logged in that is still sending its login (a greeting or
 * login not complete: nothing of ours to wait for) and, unless any will
 * do, has held its slot for MGMT_TRICKLE_MS already; else the oldest
 * waiting for its source's turn or for its failure reply (a source that
 * has failed: pace.h), which learns nothing it would not have. A login
 * being checked and a logged-in connection are never dropped: in a burst,
 * those are the clients that log in promptly. NULL when there is none.
 */
static struct mgmt_conn *mgmt_trickler(struct mgmt_server *srv, bool any_age)
{
	uint64_t now = loop_now_ms(srv->loop);
	struct mgmt_conn *c, *found = NULL, *failed = NULL;

	TAILQ_FOREACH(c, &srv->conns, link) {
		if (c->logged_in)
			continue;
		if ((c->state == MGMT_GREETING || c->state == MGMT_AUTH) &&
		    (any_age || now - c->accepted_ms >= MGMT_TRICKLE_MS))
			found = c;
		else if (c->state == MGMT_WAITING || c->state == MGMT_PENALTY)
			failed = c;
	}
	return found != NULL ? found : failed;
}

/*
 * Room for one more connection, which starts not logged in. Beyond
 * max_unauthenticated of those, a trickler (held its slot MGMT_TRICKLE_MS
 * without completing its login) or a login of a failed source that waits
 * (mgmt_trickler) is dropped for it, and without one the new
 * connection is taken anyway while there are fewer than max_connections:
 * a burst of clients that log in promptly is served whole. At
 * max_connections, the oldest connection still sending its login is
 * dropped, whatever its age, so connections that never log in cannot keep
 * an admin out; logged-in ones are never dropped. Returns false when no
 * connection may give way and the limit is reached.
 */
static bool mgmt_make_room(struct mgmt_server *srv)
{
	const struct mgmt_settings *set = mgmt_set(srv);

	while (srv->nunauth >= (size_t)set->max_unauthenticated ||
	       srv->nconns >= (size_t)set->max_connections) {
		bool full = srv->nconns >= (size_t)set->max_connections;
		struct mgmt_conn *victim = mgmt_trickler(srv, full);

		if (victim == NULL)
			return !full;
		log_info("management: %zu connections not logged in; dropping the oldest that "
			 "may give way, from %s", srv->nunauth, victim->peer);
		mgmt_conn_close(victim);
	}
	return true;
}

static void mgmt_conn_new(int fd, const struct sockaddr_storage *peer, socklen_t peerlen,
			  void *server)
{
	struct mgmt_server *srv = server;
	struct mgmt_conn *c;

	(void)peerlen;
	if (!mgmt_make_room(srv)) {
		log_warn("management: %zu connections open, none may give way; refusing another",
			 srv->nconns);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || loop_add(srv->loop, fd, LOOP_READ, mgmt_conn_event, c) < 0) {
		log_error("management: cannot take a connection: %s", strerror(errno));
		free(c);
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->state = MGMT_GREETING;
	c->accepted_ms = loop_now_ms(srv->loop);
	c->addr = *peer;
	snprintf(c->admin, sizeof(c->admin), "-");
	srv->nunauth++;
	net_ip_str((const struct sockaddr *)peer, c->peer, sizeof(c->peer));
	greeting_init(&c->p.greeting, MASS_VERSION);
	TAILQ_INSERT_HEAD(&srv->conns, c, link);
	srv->nconns++;
	loop_timer_start(srv->loop, &c->timer, mgmt_timeout_ms(srv), mgmt_timer_fired);
}

/* Opens one listener on host:port. Returns 0 or -1 (err set). */
static int mgmt_listen_one(struct mgmt_server *srv, const char *host, uint16_t port,
			   char *err, size_t errlen)
{
	struct listener *l;

	if (srv->nlisteners == MGMT_LISTEN_MAX) {
		snprintf(err, errlen, "management: more than %d listen addresses", MGMT_LISTEN_MAX);
		return -1;
	}
	l = listener_open(srv->loop, host, port, mgmt_conn_new, srv, err, errlen);
	if (l == NULL)
		return -1;
	srv->listeners[srv->nlisteners++] = l;
	listener_reserve(l, MGMT_FD_RESERVE);
	log_info("management listening on %s port %u", listener_addr(l),
		 (unsigned)listener_port(l));
	return 0;
}

struct mgmt_server *mgmt_start(const struct mgmt_env *env, char *const *listen, size_t nlisten,
			       uint16_t port, char *err, size_t errlen)
{
	struct mgmt_server *srv = calloc(1, sizeof(*srv));
	size_t i;

	if (srv == NULL) {
		snprintf(err, errlen, "management: out of memory");
		return NULL;
	}
	TAILQ_INIT(&srv->conns);
	pace_init(&srv->pace, MGMT_DELAY_MIN_MS, MGMT_DELAY_MAX_MS);
	srv->loop = env->loop;
	srv->env = env;
	for (i = 0; i < nlisten; i++) {
		if (mgmt_listen_one(srv, listen[i], port, err, errlen) < 0) {
			mgmt_free(srv);
			return NULL;
		}
	}
	return srv;
}

void mgmt_free(struct mgmt_server *srv)
{
	if (srv == NULL)
		return;
	mgmt_stop(srv);
	free(srv);
}

void mgmt_ready(struct mgmt_server *srv)
{
	if (mgmt_set(srv)->auth)
		mgmt_admins_hint(srv);
}

void mgmt_stop(struct mgmt_server *srv)
{
	size_t i;

	for (i = 0; i < srv->nlisteners; i++)
		listener_close(srv->listeners[i]);
	srv->nlisteners = 0;
	while (!TAILQ_EMPTY(&srv->conns))
		mgmt_conn_close(TAILQ_FIRST(&srv->conns));
}

size_t mgmt_listener_count(const struct mgmt_server *srv)
{
	return srv->nlisteners;
}

const char *mgmt_addr(const struct mgmt_server *srv, size_t i)
{
	return i < srv->nlisteners ? listener_addr(srv->listeners[i]) : NULL;
}

uint16_t mgmt_port(const struct mgmt_server *srv, size_t i)
{
	return i < srv->nlisteners ? listener_port(srv->listeners[i]) : 0;
}

size_t mgmt_connection_count(const struct mgmt_server *srv)
{
	return srv->nconns;
}
