/*
 * host_loop: the loop services for plugins: timers (timer_add, _ctx,
 * timer_cancel) and descriptor watches (watch_add, _ctx, watch_set,
 * watch_remove), each a registration of the calling load. A watched
 * socket that is listening joins socks5d's own listeners (the ACL's
 * built-in rules) for as long as the watch lives.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"
#include "host_impl.h"
#include "mass/host_services.h"
#include "socks/acl.h"

struct mass_timer {
	struct owner_res res;
	struct loop *loop;
	struct loop_timer t;
	uint64_t repeat_ms;
	bool firing, cancelled;            /* a cancel from its own callback */
	mass_timer_fn *fn;                 /* 1.0/1.1 */
	mass_timer_ctx_fn *ctx_fn;         /* 1.2 */
	void *arg;
};

struct mass_watch {
	struct owner_res res;
	struct loop *loop;
	int fd;
	mass_watch_fn *fn;
	mass_watch_ctx_fn *ctx_fn;
	void *arg;
	struct acl_live *self;             /* where listening_on was added, or NULL */
	struct sockaddr_storage listening_on;
};

/* ---------------------------------------------------------------- timers */

static void host_timer_free(struct mass_timer *t)
{
	loop_timer_stop(t->loop, &t->t);
	if (t->firing) {
		/* its callback is running: host_timer_fired frees it after */
		t->cancelled = true;
		owner_res_unlink(&t->res);
		return;
	}
	owner_res_unlink(&t->res);
	free(t);
}

static void host_timer_release(struct owner_res *r)
{
	host_timer_free((struct mass_timer *)r);
}

static void host_timer_fired(struct loop *loop, struct loop_timer *lt)
{
	struct mass_timer *t = LOOP_TIMER_OWNER(lt, struct mass_timer, t);
	struct host_owner *o = t->res.owner, *prev;

	if (t->repeat_ms > 0)
		loop_timer_start(loop, &t->t, t->repeat_ms, host_timer_fired);
	t->firing = true;
	prev = owner_enter(o);
	if (t->ctx_fn != NULL)
		t->ctx_fn(&o->ctx, t->arg, t);
	else
		t->fn(t->arg, t);
	owner_enter(prev);
	t->firing = false;
	if (t->cancelled || t->repeat_ms == 0) {
		t->cancelled = false;
		host_timer_free(t);
	}
}

static struct mass_timer *host_timer_new(struct host_owner *o, uint64_t ms, uint64_t repeat_ms,
					 void *arg)
{
	struct host *h = host_of(o);
	struct mass_timer *t;

	if (h->loop == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (owner_res_add(o, &t->res, host_timer_release) < 0) {
		free(t);
		return NULL;
	}
	t->loop = h->loop;
	t->repeat_ms = repeat_ms;
	t->arg = arg;
	loop_timer_start(t->loop, &t->t, ms, host_timer_fired);
	return t;
}

static struct mass_timer *host_timer_add(uint64_t ms, uint64_t repeat_ms, mass_timer_fn *fn,
					 void *arg)
{
	struct mass_timer *t = fn != NULL ? host_timer_new(owner_current(), ms, repeat_ms, arg)
					  : NULL;

	if (t != NULL)
		t->fn = fn;
	return t;
}

static struct mass_timer *host_timer_add_ctx(struct mass_ctx *ctx, uint64_t ms,
					     uint64_t repeat_ms, mass_timer_ctx_fn *fn, void *arg)
{
	struct mass_timer *t = fn != NULL && ctx != NULL ?
		host_timer_new(owner_of_ctx(ctx), ms, repeat_ms, arg) : NULL;

	if (t != NULL)
		t->ctx_fn = fn;
	return t;
}

static void host_timer_cancel(struct mass_timer *t)
{
	if (t != NULL && !t->cancelled)
		host_timer_free(t);
}

/* ---------------------------------------------------------------- watches */

static int host_watch_mask(int events)
{
	return (events & MASS_WATCH_READ ? LOOP_READ : 0) | (events & MASS_WATCH_WRITE ? LOOP_WRITE : 0);
}

static void host_watch_event(struct loop *loop, int fd, void *data, int events)
{
	struct mass_watch *w = data;
	struct host_owner *o = w->res.owner, *prev;
	int what = (events & LOOP_READ ? MASS_WATCH_READ : 0)
		 | (events & LOOP_WRITE ? MASS_WATCH_WRITE : 0)
		 | (events & LOOP_ERROR ? MASS_WATCH_ERROR : 0);

	(void)loop;
	prev = owner_enter(o);
	/* may free w: not touched after */
	if (w->ctx_fn != NULL)
		w->ctx_fn(&o->ctx, w->arg, w, fd, what);
	else
		w->fn(w->arg, w, fd, what);
	owner_enter(prev);
}

/*
 * A plugin's listening socket is one of socks5d's own: no SOCKS client
 * reaches it through the proxy (the Prometheus exporter's /metrics names
 * users). Noticed here, when the plugin watches it (SO_ACCEPTCONN), so no
 * plugin has to ask; it leaves the rules with the watch.
 */
static void host_watch_note_listener(struct host *h, struct mass_watch *w)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	char ip[NET_ADDRSTRLEN];

	if (h->self_live == NULL ||
	    getsockopt(w->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
		return;
	len = sizeof(w->listening_on);
	if (getsockname(w->fd, (struct sockaddr *)&w->listening_on, &len) < 0 ||
	    (w->listening_on.ss_family != AF_INET && w->listening_on.ss_family != AF_INET6))
		return;
	net_ip_str((const struct sockaddr *)&w->listening_on, ip, sizeof(ip));
	if (acl_live_listener_add(h->self_live, (const struct sockaddr *)&w->listening_on) < 0) {
		log_warn("acl: a plugin's listener on %s port %u cannot join the built-in rules "
			 "(more than %d): SOCKS clients may reach it", ip,
			 (unsigned)net_port((const struct sockaddr *)&w->listening_on),
			 ACL_LIVE_LISTENERS);
		return;
	}
	w->self = h->self_live;
	log_info("acl: a plugin's listener on %s port %u joins the built-in rules", ip,
		 (unsigned)net_port((const struct sockaddr *)&w->listening_on));
}

static void host_watch_free(struct mass_watch *w)
{
	if (w->self != NULL)
		acl_live_listener_del(w->self, (const struct sockaddr *)&w->listening_on);
	loop_remove(w->loop, w->fd);
	owner_res_unlink(&w->res);
	free(w);
}

static void host_watch_release(struct owner_res *r)
{
	host_watch_free((struct mass_watch *)r);
}

/* The watch of fd, if the load has one (so a second is refused, not
 * silently replacing the first's registration in the loop). */
static struct mass_watch *host_watch_find(struct host_owner *o, int fd)
{
	struct owner_res *r;

	if (o == NULL)
		return NULL;
	TAILQ_FOREACH(r, &o->res, link)
		if (r->release == host_watch_release && ((struct mass_watch *)r)->fd == fd)
			return (struct mass_watch *)r;
	return NULL;
}

static struct mass_watch *host_watch_new(struct host_owner *o, int fd, int events, void *arg)
{
	struct host *h = host_of(o);
	struct mass_watch *w;

	if (h->loop == NULL || fd < 0) {
		errno = EBADF;
		return NULL;
	}
	if (host_watch_find(o, fd) != NULL) {
		errno = EEXIST;
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	w->loop = h->loop;
	w->fd = fd;
	w->arg = arg;
	if (loop_add(w->loop, fd, host_watch_mask(events), host_watch_event, w) < 0) {
		free(w);
		return NULL;
	}
	if (owner_res_add(o, &w->res, host_watch_release) < 0) {
		loop_remove(w->loop, fd);
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	host_watch_note_listener(h, w);
	return w;
}

static struct mass_watch *host_watch_add(int fd, int events, mass_watch_fn *fn, void *arg)
{
	struct mass_watch *w;

	if (fn == NULL) {
		errno = EBADF;
		return NULL;
	}
	if ((w = host_watch_new(owner_current(), fd, events, arg)) != NULL)
		w->fn = fn;
	return w;
}

static struct mass_watch *host_watch_add_ctx(struct mass_ctx *ctx, int fd, int events,
					     mass_watch_ctx_fn *fn, void *arg)
{
	struct mass_watch *w;

	if (fn == NULL || ctx == NULL) {
		errno = EBADF;
		return NULL;
	}
	if ((w = host_watch_new(owner_of_ctx(ctx), fd, events, arg)) != NULL)
		w->ctx_fn = fn;
	return w;
}

static int host_watch_set(struct mass_watch *w, int events)
{
	if (w == NULL) {
		errno = EINVAL;
		return -1;
	}
	return loop_set(w->loop, w->fd, host_watch_mask(events));
}

static void host_watch_remove(struct mass_watch *w)
{
	if (w != NULL)
		host_watch_free(w);
}

void host_services_set_self(struct acl_live *live)
{
	host_get()->self_live = live;
}

void host_loop_fill(struct mass_host *t)
{
	t->timer_add = host_timer_add;
	t->timer_cancel = host_timer_cancel;
	t->watch_add = host_watch_add;
	t->watch_set = host_watch_set;
	t->watch_remove = host_watch_remove;
	t->timer_add_ctx = host_timer_add_ctx;
	t->watch_add_ctx = host_watch_add_ctx;
}
