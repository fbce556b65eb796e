/* host_services: ABI 1.1 services, owners and release. See host_services.h. */
#include "host_services.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "core/events.h"
#include "core/log.h"
#include "core/loop.h"
#include "host.h"
#include "mass_proto.h"
#include "plugins.h"
#include "socks/accesslog.h"
#include "socks/session.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "?"
#endif

#define HOST_AUTH_TIMEOUT_DEFAULT_MS 5000u
#define HOST_AUTH_TIMEOUT_MAX_MS 30000u

enum host_res_kind { RES_SUB, RES_TIMER, RES_WATCH, RES_PROVIDER, RES_AUTH, RES_DEFERRED,
		     RES_HOLD };

/* What every registered object starts with: its owner's list link. */
struct host_res {
	TAILQ_ENTRY(host_res) link;
	struct host_owner *owner;
	enum host_res_kind kind;
};
TAILQ_HEAD(host_res_list, host_res);

struct host_owner {
	char *name;
	const struct plugins *set;
	char *config_file, *plugin_dir;
	struct mass_server_info info;
	struct host_res_list res;
};

struct mass_subscription {
	struct host_res res;               /* first: the handle is the resource */
	TAILQ_ENTRY(mass_subscription) all;
	uint32_t mask;
	bool dead;                         /* unsubscribed while events were delivered */
	mass_event_fn *fn;
	void *arg;
};

struct mass_timer {
	struct host_res res;
	struct loop_timer t;
	uint64_t repeat_ms;
	bool firing, cancelled;            /* a cancel from its own callback */
	mass_timer_fn *fn;
	void *arg;
};

struct mass_watch {
	struct host_res res;
	int fd;
	mass_watch_fn *fn;
	void *arg;
};

struct mass_provider {
	struct host_res res;
	TAILQ_ENTRY(mass_provider) all;
	unsigned realms;
	unsigned timeout_ms;
	mass_auth_fn *fn;
	void *arg;
};

/*
 * A login handed to the providers. While a provider holds it (PENDING) it
 * is that provider's owner's resource; `done` NULL once the waiting side
 * was answered or left, after which the object only waits for the
 * plugin's auth_complete to be freed.
 */
struct mass_auth {
	struct host_res res;
	struct mass_provider *provider;    /* asked now; NULL: none */
	struct loop_timer timer;           /* the provider's timeout */
	struct mass_auth_query q;
	char user[256], pass[256], client[64];
	host_auth_done_fn *done;
	void *ctx;
};

/* Work of another host module for a load (host_hold_add). */
struct host_hold {
	struct host_res res;
	host_release_fn *release;
	void *obj;
};

/* A deferred reply: the handle plugins see is &d->reply. */
struct host_deferred {
	struct host_res res;
	struct mass_reply reply;           /* cast target: keep it here */
	char plugin[64];
	uint8_t index;
	host_reply_fn *fn;                 /* NULL: nobody waits */
	void *conn;
	uint8_t buf[1 + MASS_REPLY_MAX];
};

static struct {
	struct loop *loop;
	time_t start_time;
	struct host_owner *current;
	TAILQ_HEAD(, mass_subscription) subs;
	unsigned nsubs[MASS_EVENT_TYPES];
	unsigned delivering;               /* events_emit depth */
	bool sub_dead;                     /* some subscription awaits its free */
	TAILQ_HEAD(, mass_provider) providers;
	struct mass_listen_addr *listen[2];
	size_t nlisten[2];
	/* the handler call reply_defer may defer (host_defer_arm) */
	bool defer_armed;
	char defer_plugin[64];
	uint8_t defer_index;
	struct host_deferred *deferred;
} hs = {
	.subs = TAILQ_HEAD_INITIALIZER(hs.subs),
	.providers = TAILQ_HEAD_INITIALIZER(hs.providers),
};

/* ---------------------------------------------------------------- owners */

static void host_emit(struct mass_event *ev);
static void host_events_recount(void);

/* What the SOCKS engine reaches through core/events.h. */
static const struct events_host host_events = {
	.emit = host_emit,
	.auth_has = host_auth_has_providers,
	.auth_ask = host_auth_ask,
	.auth_cancel = host_auth_cancel,
};

void host_services_start(struct loop *loop)
{
	hs.loop = loop;
	events_set_host(&host_events);
	host_events_recount();
	if (hs.start_time == 0)
		hs.start_time = time(NULL);
}

static char *host_strdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

struct host_owner *host_owner_new(const char *name, const struct plugins *set,
				  const char *config_file, const char *plugin_dir)
{
	struct host_owner *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->name = host_strdup(name);
	o->config_file = host_strdup(config_file);
	o->plugin_dir = host_strdup(plugin_dir);
	if (o->name == NULL || o->config_file == NULL || o->plugin_dir == NULL) {
		free(o->name);
		free(o->config_file);
		free(o->plugin_dir);
		free(o);
		return NULL;
	}
	o->set = set;
	TAILQ_INIT(&o->res);
	return o;
}

struct host_owner *host_owner_enter(struct host_owner *o)
{
	struct host_owner *prev = hs.current;

	hs.current = o;
	host_set_caller(o != NULL ? o->name : NULL);
	return prev;
}

struct host_owner *host_owner_current(void)
{
	return hs.current;
}

/* Puts r on the running owner's list. Returns -1 when no plugin runs. */
static int host_res_add(struct host_res *r, enum host_res_kind kind)
{
	if (hs.current == NULL)
		return -1;
	r->owner = hs.current;
	r->kind = kind;
	TAILQ_INSERT_TAIL(&hs.current->res, r, link);
	return 0;
}

static void host_res_unlink(struct host_res *r)
{
	if (r->owner != NULL)
		TAILQ_REMOVE(&r->owner->res, r, link);
	r->owner = NULL;
}

/* Moves r to another owner's list (a login passed on to another provider). */
static void host_res_move(struct host_res *r, struct host_owner *to)
{
	host_res_unlink(r);
	r->owner = to;
	TAILQ_INSERT_TAIL(&to->res, r, link);
}

static void host_events_recount(void);
static void host_sub_free(struct mass_subscription *s);
static void host_timer_free(struct mass_timer *t);
static void host_watch_free(struct mass_watch *w);
static void host_provider_free(struct mass_provider *p);
static void host_auth_free(struct mass_auth *a);
static void host_deferred_free(struct host_deferred *d, bool answer);

void host_owner_release(struct host_owner *o)
{
	struct host_res *r;
	size_t n = 0;

	if (o == NULL)
		return;
	while ((r = TAILQ_FIRST(&o->res)) != NULL) {
		n++;
		switch (r->kind) {
		case RES_SUB: host_sub_free((struct mass_subscription *)r); break;
		case RES_TIMER: host_timer_free((struct mass_timer *)r); break;
		case RES_WATCH: host_watch_free((struct mass_watch *)r); break;
		case RES_PROVIDER: host_provider_free((struct mass_provider *)r); break;
		case RES_AUTH: host_auth_free((struct mass_auth *)r); break;
		case RES_DEFERRED: host_deferred_free((struct host_deferred *)r, true); break;
		case RES_HOLD: {
			struct host_hold *h = (struct host_hold *)r;

			host_res_unlink(r);
			h->release(h->obj);
			free(h);
			break;
		}
		}
	}
	if (n > 0)
		log_debug("plugin %s: %zu registration%s released at unload", o->name, n,
			  n == 1 ? "" : "s");
	if (hs.current == o)
		host_owner_enter(NULL);
	free(o->name);
	free(o->config_file);
	free(o->plugin_dir);
	free(o);
}

struct host_hold *host_hold_add(host_release_fn *release, void *obj)
{
	struct host_hold *h;

	if (release == NULL || (h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if (host_res_add(&h->res, RES_HOLD) < 0) {
		free(h);
		return NULL;
	}
	h->release = release;
	h->obj = obj;
	return h;
}

struct host_owner *host_hold_owner(const struct host_hold *h)
{
	return h->res.owner;
}

void host_hold_drop(struct host_hold *h)
{
	if (h == NULL)
		return;
	host_res_unlink(&h->res);
	free(h);
}

/* ---------------------------------------------------------------- server info */

void host_info_set_listeners(int kind, const struct mass_listen_addr *addrs, size_t n)
{
	struct mass_listen_addr *copy = n > 0 ? calloc(n, sizeof(*copy)) : NULL;
	size_t i;

	if (kind != 0 && kind != 1)
		return;
	for (i = 0; i < hs.nlisten[kind]; i++)
		free((char *)hs.listen[kind][i].addr);
	free(hs.listen[kind]);
	hs.listen[kind] = NULL;
	hs.nlisten[kind] = 0;
	if (copy == NULL)
		return;
	for (i = 0; i < n; i++) {
		copy[i].addr = host_strdup(addrs[i].addr);
		copy[i].port = addrs[i].port;
	}
	hs.listen[kind] = copy;
	hs.nlisten[kind] = n;
}

static const struct mass_server_info *host_server_info(void)
{
	static const struct mass_server_info none = { .size = sizeof(none), .version = "" };
	struct host_owner *o = hs.current;

	if (o == NULL)
		return &none;
	/* rebuilt at each call from what is in force: listeners are set at start */
	o->info.size = sizeof(o->info);
	o->info.version = PACKAGE_VERSION;
	o->info.start_time = (int64_t)hs.start_time;
	o->info.config_file = o->config_file;
	o->info.plugin_dir = o->plugin_dir;
	o->info.nsocks = hs.nlisten[0];
	o->info.socks = hs.listen[0];
	o->info.nmgmt = hs.nlisten[1];
	o->info.mgmt = hs.listen[1];
	return &o->info;
}

static uint64_t host_now_ms(void)
{
	return hs.loop != NULL ? loop_now_ms(hs.loop) : 0;
}

/* ---------------------------------------------------------------- events */

static void host_events_recount(void)
{
	uint32_t active = 0;
	unsigned t;

	for (t = 0; t < MASS_EVENT_TYPES; t++)
		if (hs.nsubs[t] > 0)
			active |= MASS_EVENT_BIT(t);
	events_set_active(active);
}

static struct mass_subscription *host_subscribe(uint32_t mask, mass_event_fn *fn, void *arg)
{
	struct mass_subscription *s;
	unsigned t;

	mask &= MASS_EVENT_ALL;
	if (mask == 0 || fn == NULL || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (host_res_add(&s->res, RES_SUB) < 0) {
		free(s);
		return NULL;
	}
	s->mask = mask;
	s->fn = fn;
	s->arg = arg;
	TAILQ_INSERT_TAIL(&hs.subs, s, all);
	for (t = 0; t < MASS_EVENT_TYPES; t++)
		if (mask & MASS_EVENT_BIT(t))
			hs.nsubs[t]++;
	host_events_recount();
	return s;
}

/* Takes s out of the counts at once; frees it now, or after the delivery
 * running (which walks the list) ends. */
static void host_sub_free(struct mass_subscription *s)
{
	unsigned t;

	host_res_unlink(&s->res);
	if (!s->dead) {
		for (t = 0; t < MASS_EVENT_TYPES; t++)
			if (s->mask & MASS_EVENT_BIT(t))
				hs.nsubs[t]--;
		host_events_recount();
		s->dead = true;
	}
	if (hs.delivering > 0) {
		hs.sub_dead = true;
		return;
	}
	TAILQ_REMOVE(&hs.subs, s, all);
	free(s);
}

static void host_unsubscribe(struct mass_subscription *s)
{
	if (s != NULL && !s->dead)
		host_sub_free(s);
}

static void host_emit(struct mass_event *ev)
{
	struct mass_subscription *s, *next;
	struct host_owner *prev;
	uint32_t bit;

	if (ev->type >= MASS_EVENT_TYPES)
		return;
	bit = MASS_EVENT_BIT(ev->type);
	ev->size = sizeof(*ev);
	hs.delivering++;
	TAILQ_FOREACH(s, &hs.subs, all) {
		if (s->dead || !(s->mask & bit))
			continue;
		prev = host_owner_enter(s->res.owner);
		s->fn(s->arg, ev);
		host_owner_enter(prev);
	}
	if (--hs.delivering == 0 && hs.sub_dead) {
		hs.sub_dead = false;
		for (s = TAILQ_FIRST(&hs.subs); s != NULL; s = next) {
			next = TAILQ_NEXT(s, all);
			if (s->dead) {
				TAILQ_REMOVE(&hs.subs, s, all);
				free(s);
			}
		}
	}
}

/* ---------------------------------------------------------------- timers */

static void host_timer_fired(struct loop *loop, struct loop_timer *lt)
{
	struct mass_timer *t = LOOP_TIMER_OWNER(lt, struct mass_timer, t);
	struct host_owner *prev;

	if (t->repeat_ms > 0)
		loop_timer_start(loop, &t->t, t->repeat_ms, host_timer_fired);
	t->firing = true;
	prev = host_owner_enter(t->res.owner);
	t->fn(t->arg, t);
	host_owner_enter(prev);
	t->firing = false;
	if (t->cancelled || t->repeat_ms == 0)
		host_timer_free(t);
}

static struct mass_timer *host_timer_add(uint64_t ms, uint64_t repeat_ms, mass_timer_fn *fn,
					 void *arg)
{
	struct mass_timer *t;

	if (fn == NULL || hs.loop == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (host_res_add(&t->res, RES_TIMER) < 0) {
		free(t);
		return NULL;
	}
	t->repeat_ms = repeat_ms;
	t->fn = fn;
	t->arg = arg;
	loop_timer_start(hs.loop, &t->t, ms, host_timer_fired);
	return t;
}

static void host_timer_free(struct mass_timer *t)
{
	loop_timer_stop(hs.loop, &t->t);
	if (t->firing) {
		/* its callback is running: host_timer_fired frees it after */
		t->cancelled = true;
		return;
	}
	host_res_unlink(&t->res);
	free(t);
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
	struct host_owner *prev;
	int what = (events & LOOP_READ ? MASS_WATCH_READ : 0)
		 | (events & LOOP_WRITE ? MASS_WATCH_WRITE : 0)
		 | (events & LOOP_ERROR ? MASS_WATCH_ERROR : 0);

	(void)loop;
	prev = host_owner_enter(w->res.owner);
	w->fn(w->arg, w, fd, what);   /* may free w: not touched after */
	host_owner_enter(prev);
}

/* The watch of fd, if a plugin has one (so a second is refused, not silently
 * replacing the first's registration in the loop). */
static struct mass_watch *host_watch_find(int fd)
{
	struct host_owner *o = hs.current;
	struct host_res *r;

	if (o == NULL)
		return NULL;
	TAILQ_FOREACH(r, &o->res, link)
		if (r->kind == RES_WATCH && ((struct mass_watch *)r)->fd == fd)
			return (struct mass_watch *)r;
	return NULL;
}

static struct mass_watch *host_watch_add(int fd, int events, mass_watch_fn *fn, void *arg)
{
	struct mass_watch *w;

	if (fn == NULL || hs.loop == NULL || fd < 0) {
		errno = EBADF;
		return NULL;
	}
	if (host_watch_find(fd) != NULL) {
		errno = EEXIST;
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	if (loop_add(hs.loop, fd, host_watch_mask(events), host_watch_event, w) < 0) {
		free(w);
		return NULL;
	}
	if (host_res_add(&w->res, RES_WATCH) < 0) {
		loop_remove(hs.loop, fd);
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	return w;
}

static int host_watch_set(struct mass_watch *w, int events)
{
	if (w == NULL) {
		errno = EINVAL;
		return -1;
	}
	return loop_set(hs.loop, w->fd, host_watch_mask(events));
}

static void host_watch_free(struct mass_watch *w)
{
	loop_remove(hs.loop, w->fd);
	host_res_unlink(&w->res);
	free(w);
}

static void host_watch_remove(struct mass_watch *w)
{
	if (w != NULL)
		host_watch_free(w);
}

/* ---------------------------------------------------------------- authentication */

static struct mass_provider *host_auth_provider_add(unsigned realms, unsigned timeout_ms,
						    mass_auth_fn *fn, void *arg)
{
	struct mass_provider *p;

	realms &= MASS_AUTH_SOCKS | MASS_AUTH_ADMIN;
	if (realms == 0 || fn == NULL || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (host_res_add(&p->res, RES_PROVIDER) < 0) {
		free(p);
		return NULL;
	}
	p->realms = realms;
	p->timeout_ms = timeout_ms == 0 ? HOST_AUTH_TIMEOUT_DEFAULT_MS
		      : timeout_ms > HOST_AUTH_TIMEOUT_MAX_MS ? HOST_AUTH_TIMEOUT_MAX_MS : timeout_ms;
	p->fn = fn;
	p->arg = arg;
	TAILQ_INSERT_TAIL(&hs.providers, p, all);
	return p;
}

bool host_auth_has_providers(int realm)
{
	struct mass_provider *p;

	TAILQ_FOREACH(p, &hs.providers, all)
		if (p->realms & (unsigned)realm)
			return true;
	return false;
}

/* Logs a provider's failure to decide, naming the user (escaped). */
static void host_auth_log(const struct mass_auth *a, const char *owner, const char *why)
{
	char user[4 * 255 + 1];

	accesslog_escape(user, sizeof(user), a->q.user, a->q.user_len);
	log_warn("plugin %s: authentication of %s: %s", owner, user, why);
}

/* The waiting side gets its answer; the object stays for auth_complete
 * when a plugin still holds it. */
static void host_auth_answer(struct mass_auth *a, bool ok)
{
	host_auth_done_fn *done = a->done;

	a->done = NULL;
	loop_timer_stop(hs.loop, &a->timer);
	if (done != NULL)
		done(a->ctx, ok);
}

static void host_auth_timeout(struct loop *loop, struct loop_timer *lt)
{
	struct mass_auth *a = LOOP_TIMER_OWNER(lt, struct mass_auth, timer);

	(void)loop;
	host_auth_log(a, a->res.owner != NULL ? a->res.owner->name : "?", "no answer in time");
	host_auth_answer(a, false);
}

/*
 * Asks the providers after `from` (NULL: the first) in order until one
 * decides or answers PENDING. Returns 1 when pending (a is then the
 * provider's resource), else 0 with *ok set and a owned by nobody.
 */
static int host_auth_next(struct mass_auth *a, struct mass_provider *from, bool *ok)
{
	struct mass_provider *p = from != NULL ? TAILQ_NEXT(from, all) : TAILQ_FIRST(&hs.providers);
	struct host_owner *prev;
	int v;

	for (; p != NULL; p = TAILQ_NEXT(p, all)) {
		if (!(p->realms & a->q.realm))
			continue;
		a->provider = p;
		host_res_move(&a->res, p->res.owner);
		prev = host_owner_enter(p->res.owner);
		v = p->fn(p->arg, &a->q, a);
		host_owner_enter(prev);
		if (v == MASS_AUTH_DECLINE)
			continue;
		if (v == MASS_AUTH_PENDING) {
			loop_timer_start(hs.loop, &a->timer, p->timeout_ms, host_auth_timeout);
			return 1;
		}
		log_debug("plugin %s: login %s", p->res.owner->name,
			  v == MASS_AUTH_ALLOW ? "allowed" : "refused");
		if (v != MASS_AUTH_ALLOW && v != MASS_AUTH_DENY)
			host_auth_log(a, p->res.owner->name, "not a verdict");
		host_res_unlink(&a->res);
		a->provider = NULL;
		*ok = v == MASS_AUTH_ALLOW;
		return 0;
	}
	host_res_unlink(&a->res);
	a->provider = NULL;
	*ok = false;
	return 0;
}

void *host_auth_ask(const struct mass_auth_query *q, host_auth_done_fn *done, void *ctx,
		    bool *ok)
{
	struct mass_auth *a;

	*ok = false;
	if (!host_auth_has_providers(q->realm) || q->user_len > 255 || q->pass_len > 255)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_error("authentication: out of memory asking the providers");
		return NULL;
	}
	a->res.kind = RES_AUTH;   /* owned by whichever provider holds it (host_res_move) */
	a->q = *q;
	a->q.size = sizeof(a->q);
	memcpy(a->user, q->user, q->user_len);
	memcpy(a->pass, q->pass, q->pass_len);
	snprintf(a->client, sizeof(a->client), "%s", q->client != NULL ? q->client : "");
	a->q.user = a->user;
	a->q.pass = a->pass;
	a->q.client = a->client;
	a->done = done;
	a->ctx = ctx;
	if (host_auth_next(a, NULL, ok) == 1)
		return a;
	a->done = NULL;   /* decided at once: the caller has *ok, done is not called */
	host_auth_free(a);
	return NULL;
}

void host_auth_cancel(void *pending)
{
	struct mass_auth *a = pending;

	if (a == NULL)
		return;
	/* the provider still holds it: freed by its auth_complete or its unload */
	a->done = NULL;
	loop_timer_stop(hs.loop, &a->timer);
}

static void host_auth_complete(struct mass_auth *a, int verdict)
{
	struct mass_provider *p;
	bool ok;

	if (a == NULL)
		return;
	p = a->provider;
	if (a->done == NULL || p == NULL) {
		/* decided already (timeout, client gone): only free it */
		host_auth_free(a);
		return;
	}
	loop_timer_stop(hs.loop, &a->timer);
	if (verdict == MASS_AUTH_DECLINE) {
		if (host_auth_next(a, p, &ok) == 1)
			return;
	} else {
		if (verdict != MASS_AUTH_ALLOW && verdict != MASS_AUTH_DENY)
			host_auth_log(a, p->res.owner->name, "not a verdict");
		log_debug("plugin %s: login %s", p->res.owner->name,
			  verdict == MASS_AUTH_ALLOW ? "allowed" : "refused");
		ok = verdict == MASS_AUTH_ALLOW;
	}
	host_auth_answer(a, ok);
	host_auth_free(a);
}

/* Frees a; a waiting side still attached is answered "failed" first
 * (its provider's load ended). */
static void host_auth_free(struct mass_auth *a)
{
	if (a->done != NULL) {
		host_auth_log(a, a->res.owner != NULL ? a->res.owner->name : "?",
			      "the provider was unloaded");
		host_auth_answer(a, false);
	}
	loop_timer_stop(hs.loop, &a->timer);
	host_res_unlink(&a->res);
	explicit_bzero(a->pass, sizeof(a->pass));
	free(a);
}

static void host_provider_free(struct mass_provider *p)
{
	struct mass_auth *a;
	struct host_res *r, *next;

	/* logins it holds fail now */
	for (r = TAILQ_FIRST(&p->res.owner->res); r != NULL; r = next) {
		next = TAILQ_NEXT(r, link);
		a = (struct mass_auth *)r;
		if (r->kind == RES_AUTH && a->provider == p && a->done != NULL) {
			host_auth_log(a, p->res.owner->name, "the provider was removed");
			host_auth_answer(a, false);
		}
	}
	TAILQ_REMOVE(&hs.providers, p, all);
	host_res_unlink(&p->res);
	free(p);
}

static void host_auth_provider_remove(struct mass_provider *p)
{
	if (p != NULL)
		host_provider_free(p);
}

/* ---------------------------------------------------------------- deferred replies */

size_t host_reply_seal(const char *plugin, uint8_t index, struct mass_reply *r, int status)
{
	if (r->failed)
		log_error("plugin %s: index %02X: %s", plugin, index,
			  r->why[0] ? r->why : "reply failed");
	else if (status == MASS_STATUS_PENDING)
		log_error("plugin %s: index %02X: pending without a deferred reply", plugin, index);
	else if (status < MASS_STATUS_OK || status > MASS_STATUS_USER_LIMIT)
		log_error("plugin %s: index %02X: status %d is not a reply status", plugin, index,
			  status);
	return mass_reply_finish(r, status);
}

void host_defer_arm(const char *plugin, uint8_t index)
{
	hs.defer_armed = true;
	snprintf(hs.defer_plugin, sizeof(hs.defer_plugin), "%s", plugin != NULL ? plugin : "core");
	hs.defer_index = index;
	hs.deferred = NULL;
}

struct mass_reply *host_defer_take(void)
{
	struct host_deferred *d = hs.deferred;

	hs.defer_armed = false;
	hs.deferred = NULL;
	return d != NULL ? &d->reply : NULL;
}

static struct host_deferred *host_deferred_of(struct mass_reply *r)
{
	return (struct host_deferred *)(void *)((char *)r - offsetof(struct host_deferred, reply));
}

static struct mass_reply *host_reply_defer(struct mass_reply *r)
{
	struct host_deferred *d;

	if (r == NULL || !hs.defer_armed || hs.deferred != NULL)
		return NULL;
	if ((d = malloc(sizeof(*d))) == NULL)
		return NULL;
	memset(d, 0, offsetof(struct host_deferred, buf));
	if (host_res_add(&d->res, RES_DEFERRED) < 0) {
		free(d);
		return NULL;
	}
	mass_reply_init(&d->reply, d->buf, sizeof(d->buf));
	if (r->len <= sizeof(d->buf)) {
		memcpy(d->buf, r->buf, r->len);
		d->reply.len = r->len;
	}
	d->reply.failed = r->failed;
	memcpy(d->reply.why, r->why, sizeof(d->reply.why));
	memcpy(d->plugin, hs.defer_plugin, sizeof(d->plugin));
	d->index = hs.defer_index;
	hs.deferred = d;
	return &d->reply;
}

void host_defer_attach(struct mass_reply *r, host_reply_fn *fn, void *conn)
{
	struct host_deferred *d = host_deferred_of(r);

	d->fn = fn;
	d->conn = conn;
}

void host_defer_detach(struct mass_reply *r)
{
	struct host_deferred *d;

	if (r == NULL)
		return;
	d = host_deferred_of(r);
	d->fn = NULL;
	d->conn = NULL;
}

/* Frees d; with answer, a connection still waiting is told there is no reply. */
static void host_deferred_free(struct host_deferred *d, bool answer)
{
	host_reply_fn *fn = d->fn;

	d->fn = NULL;
	host_res_unlink(&d->res);
	if (hs.deferred == d)
		hs.deferred = NULL;
	if (answer && fn != NULL) {
		log_error("plugin %s: index %02X: unloaded before its deferred reply", d->plugin,
			  d->index);
		fn(d->conn, NULL, 0);
	}
	free(d);
}

static int host_reply_send(struct mass_reply *r, int status)
{
	struct host_deferred *d;
	host_reply_fn *fn;
	size_t n;

	if (r == NULL)
		return -1;
	d = host_deferred_of(r);
	if (hs.deferred == d) {
		/* sent from inside the handler that deferred it: the handler's
		 * return answers, this only frees d */
		hs.deferred = NULL;
		host_deferred_free(d, false);
		return -1;
	}
	fn = d->fn;
	n = host_reply_seal(d->plugin, d->index, &d->reply, status);
	d->fn = NULL;
	if (fn != NULL)
		fn(d->conn, d->buf, n);
	else
		log_debug("plugin %s: index %02X: deferred reply for a client gone", d->plugin,
			  d->index);
	host_deferred_free(d, false);
	return fn != NULL ? 0 : -1;
}

/* ---------------------------------------------------------------- the table's 1.1 part */

static size_t host_sessions_each(mass_session_fn *fn, void *arg)
{
	return fn != NULL && host_context() != NULL ? session_each(host_context(), fn, arg) : 0;
}

static int host_session_close(uint64_t id)
{
	return host_context() != NULL && session_close_id(host_context(), id) == 0
	       ? MASS_STATUS_OK : MASS_STATUS_ERROR;
}

static int host_index_info(uint8_t index, struct mass_index_info *out)
{
	const struct host_owner *o = hs.current;

	return plugins_index_info(o != NULL ? o->set : NULL, index, out);
}

static size_t host_plugin_count(void)
{
	const struct host_owner *o = hs.current;

	return plugins_module_count(o != NULL ? o->set : NULL);
}

static int host_plugin_info(size_t i, struct mass_plugin_info *out)
{
	const struct host_owner *o = hs.current;

	return plugins_module_info(o != NULL ? o->set : NULL, i, out);
}

void host_services_fill(struct mass_host *h)
{
	h->server_info = host_server_info;
	h->now_ms = host_now_ms;
	h->subscribe = host_subscribe;
	h->unsubscribe = host_unsubscribe;
	h->auth_provider_add = host_auth_provider_add;
	h->auth_provider_remove = host_auth_provider_remove;
	h->auth_complete = host_auth_complete;
	h->timer_add = host_timer_add;
	h->timer_cancel = host_timer_cancel;
	h->watch_add = host_watch_add;
	h->watch_set = host_watch_set;
	h->watch_remove = host_watch_remove;
	h->reply_defer = host_reply_defer;
	h->reply_send = host_reply_send;
	h->sessions_each = host_sessions_each;
	h->session_close = host_session_close;
	h->index_info = host_index_info;
	h->plugin_count = host_plugin_count;
	h->plugin_info = host_plugin_info;
}
