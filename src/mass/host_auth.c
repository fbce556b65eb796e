/*
 * host_auth: authentication providers (auth_provider_add, _ctx, _remove,
 * auth_complete) and the asking side, for the SOCKS engine (core/events.h)
 * and the management server (host_services.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "host_impl.h"
#include "host_services.h"
#include "socks/accesslog.h"

#define HOST_AUTH_TIMEOUT_DEFAULT_MS 5000u
#define HOST_AUTH_TIMEOUT_MAX_MS 30000u

struct mass_provider {
	struct owner_res res;
	TAILQ_ENTRY(mass_provider) all;
	struct host *host;
	unsigned realms;
	unsigned timeout_ms;
	mass_auth_fn *fn;                  /* 1.0/1.1 */
	mass_auth_ctx_fn *ctx_fn;          /* 1.2 */
	void *arg;
};

/*
 * A login handed to the providers. While a provider holds it (PENDING) it
 * is that provider's owner's resource; `done` NULL once the waiting side
 * was answered or left, after which the object only waits for the
 * plugin's auth_complete to be freed.
 */
struct mass_auth {
	struct owner_res res;
	struct host *host;
	struct mass_provider *provider;    /* asked now; NULL: none */
	struct loop_timer timer;           /* the provider's timeout */
	struct mass_auth_query q;
	char user[256], pass[256], client[64];
	host_auth_done_fn *done;
	void *ctx;
};

static void host_provider_free(struct mass_provider *p);
static void host_login_free(struct mass_auth *a);

static void host_provider_release(struct owner_res *r)
{
	host_provider_free((struct mass_provider *)r);
}

static void host_login_release(struct owner_res *r)
{
	host_login_free((struct mass_auth *)r);
}

static struct mass_provider *host_provider_new(struct host_owner *o, unsigned realms,
					       unsigned timeout_ms, void *arg)
{
	struct host *h = host_of(o);
	struct mass_provider *p;

	realms &= MASS_AUTH_SOCKS | MASS_AUTH_ADMIN;
	if (realms == 0 || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (owner_res_add(o, &p->res, host_provider_release) < 0) {
		free(p);
		return NULL;
	}
	p->host = h;
	p->realms = realms;
	p->timeout_ms = timeout_ms == 0 ? HOST_AUTH_TIMEOUT_DEFAULT_MS
		      : timeout_ms > HOST_AUTH_TIMEOUT_MAX_MS ? HOST_AUTH_TIMEOUT_MAX_MS : timeout_ms;
	p->arg = arg;
	TAILQ_INSERT_TAIL(&h->providers, p, all);
	return p;
}

static struct mass_provider *host_auth_provider_add(unsigned realms, unsigned timeout_ms,
						    mass_auth_fn *fn, void *arg)
{
	struct mass_provider *p = fn != NULL ?
		host_provider_new(owner_current(), realms, timeout_ms, arg) : NULL;

	if (p != NULL)
		p->fn = fn;
	return p;
}

static struct mass_provider *host_auth_provider_add_ctx(struct mass_ctx *ctx, unsigned realms,
							unsigned timeout_ms,
							mass_auth_ctx_fn *fn, void *arg)
{
	struct mass_provider *p = fn != NULL && ctx != NULL ?
		host_provider_new(owner_of_ctx(ctx), realms, timeout_ms, arg) : NULL;

	if (p != NULL)
		p->ctx_fn = fn;
	return p;
}

bool host_auth_has(void *ctx, int realm)
{
	struct host *h = ctx;
	struct mass_provider *p;

	TAILQ_FOREACH(p, &h->providers, all)
		if (p->realms & (unsigned)realm)
			return true;
	return false;
}

/* Logs a provider's failure to decide, naming the user (escaped). */
static void host_login_log(const struct mass_auth *a, const char *owner, const char *why)
{
	char user[4 * 255 + 1];

	accesslog_escape(user, sizeof(user), a->q.user, a->q.user_len);
	log_warn("plugin %s: authentication of %s: %s", owner, user, why);
}

/* The waiting side gets its answer; the object stays for auth_complete
 * when a plugin still holds it. */
static void host_login_answer(struct mass_auth *a, int verdict)
{
	host_auth_done_fn *done = a->done;

	a->done = NULL;
	loop_timer_stop(a->host->loop, &a->timer);
	if (done != NULL)
		done(a->ctx, verdict);
}

static void host_login_timeout(struct loop *loop, struct loop_timer *lt)
{
	struct mass_auth *a = LOOP_TIMER_OWNER(lt, struct mass_auth, timer);

	(void)loop;
	host_login_log(a, a->res.owner != NULL ? a->res.owner->name : "?", "no answer in time");
	host_login_answer(a, MASS_AUTH_DENY);
}

/* Asks provider p, as its load. */
static int host_provider_call(struct mass_provider *p, struct mass_auth *a)
{
	struct host_owner *o = p->res.owner, *prev = owner_enter(o);
	int v = p->ctx_fn != NULL ? p->ctx_fn(&o->ctx, p->arg, &a->q, a)
				  : p->fn(p->arg, &a->q, a);

	owner_enter(prev);
	return v;
}

/* A provider's verdict as the waiting side gets it: ALLOW, BUSY (it could
 * not check now), or DENY (DENY itself, or anything not a verdict). */
static int host_login_verdict(struct mass_auth *a, const char *name, int v)
{
	log_debug("plugin %s: login %s", name, v == MASS_AUTH_ALLOW ? "allowed" :
		  v == MASS_AUTH_BUSY ? "not checked (busy)" : "refused");
	if (v == MASS_AUTH_ALLOW || v == MASS_AUTH_BUSY)
		return v;
	if (v != MASS_AUTH_DENY)
		host_login_log(a, name, "not a verdict");
	return MASS_AUTH_DENY;
}

/*
 * Asks the providers after `from` (NULL: the first) in order until one
 * decides or answers PENDING. Returns 1 when pending (a is then the
 * provider's resource), else 0 with *verdict set and a owned by nobody.
 */
static int host_login_next(struct mass_auth *a, struct mass_provider *from, int *verdict)
{
	struct host *h = a->host;
	struct mass_provider *p = from != NULL ? TAILQ_NEXT(from, all) : TAILQ_FIRST(&h->providers);
	int v;

	for (; p != NULL; p = TAILQ_NEXT(p, all)) {
		if (!(p->realms & a->q.realm))
			continue;
		a->provider = p;
		owner_res_move(&a->res, p->res.owner);
		v = host_provider_call(p, a);
		if (v == MASS_AUTH_DECLINE)
			continue;
		if (v == MASS_AUTH_PENDING) {
			loop_timer_start(h->loop, &a->timer, p->timeout_ms, host_login_timeout);
			return 1;
		}
		*verdict = host_login_verdict(a, p->res.owner->name, v);
		owner_res_unlink(&a->res);
		a->provider = NULL;
		return 0;
	}
	owner_res_unlink(&a->res);
	a->provider = NULL;
	*verdict = MASS_AUTH_DENY;
	return 0;
}

void *host_auth_ask_hook(void *ctx, const struct mass_auth_query *q,
			 void (*done)(void *arg, int verdict), void *arg, int *verdict)
{
	struct host *h = ctx;
	struct mass_auth *a;

	*verdict = MASS_AUTH_DENY;
	if (!host_auth_has(h, q->realm) || q->user_len > 255 || q->pass_len > 255)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_error("authentication: out of memory asking the providers");
		return NULL;
	}
	/* owned by whichever provider holds it (owner_res_move) */
	a->res.release = host_login_release;
	a->host = h;
	a->q = *q;
	a->q.size = sizeof(a->q);
	memcpy(a->user, q->user, q->user_len);
	memcpy(a->pass, q->pass, q->pass_len);
	snprintf(a->client, sizeof(a->client), "%s", q->client != NULL ? q->client : "");
	a->q.user = a->user;
	a->q.pass = a->pass;
	a->q.client = a->client;
	a->done = done;
	a->ctx = arg;
	if (host_login_next(a, NULL, verdict) == 1)
		return a;
	a->done = NULL;   /* decided at once: the caller has *verdict, done is not called */
	host_login_free(a);
	return NULL;
}

void host_auth_cancel_hook(void *ctx, void *pending)
{
	struct mass_auth *a = pending;

	(void)ctx;
	if (a == NULL)
		return;
	/* the provider still holds it: freed by its auth_complete or its unload */
	a->done = NULL;
	loop_timer_stop(a->host->loop, &a->timer);
}

bool host_auth_has_providers(int realm)
{
	return host_auth_has(host_get(), realm);
}

void *host_auth_ask(const struct mass_auth_query *q, host_auth_done_fn *done, void *ctx,
		    int *verdict)
{
	return host_auth_ask_hook(host_get(), q, done, ctx, verdict);
}

void host_auth_cancel(void *pending)
{
	host_auth_cancel_hook(host_get(), pending);
}

static void host_auth_complete(struct mass_auth *a, int verdict)
{
	struct mass_provider *p;
	int v;

	if (a == NULL)
		return;
	p = a->provider;
	if (a->done == NULL || p == NULL) {
		/* decided already (timeout, client gone): only free it */
		host_login_free(a);
		return;
	}
	loop_timer_stop(a->host->loop, &a->timer);
	if (verdict == MASS_AUTH_DECLINE) {
		if (host_login_next(a, p, &v) == 1)
			return;
	} else {
		v = host_login_verdict(a, p->res.owner->name, verdict);
	}
	host_login_answer(a, v);
	host_login_free(a);
}

/* Frees a; a waiting side still attached is answered "failed" first
 * (its provider's load ended). */
static void host_login_free(struct mass_auth *a)
{
	if (a->done != NULL) {
		host_login_log(a, a->res.owner != NULL ? a->res.owner->name : "?",
			       "the provider was unloaded");
		host_login_answer(a, MASS_AUTH_DENY);
	}
	loop_timer_stop(a->host->loop, &a->timer);
	owner_res_unlink(&a->res);
	explicit_bzero(a->pass, sizeof(a->pass));
	free(a);
}

static void host_provider_free(struct mass_provider *p)
{
	struct owner_res *r, *next;
	struct mass_auth *a;

	/* logins it holds fail now */
	for (r = TAILQ_FIRST(&p->res.owner->res); r != NULL; r = next) {
		next = TAILQ_NEXT(r, link);
		a = (struct mass_auth *)r;
		if (r->release == host_login_release && a->provider == p && a->done != NULL) {
			host_login_log(a, p->res.owner->name, "the provider was removed");
			host_login_answer(a, MASS_AUTH_DENY);
		}
	}
	TAILQ_REMOVE(&p->host->providers, p, all);
	owner_res_unlink(&p->res);
	free(p);
}

static void host_auth_provider_remove(struct mass_provider *p)
{
	if (p != NULL)
		host_provider_free(p);
}

void host_auth_fill(struct mass_host *t)
{
	t->auth_provider_add = host_auth_provider_add;
	t->auth_provider_remove = host_auth_provider_remove;
	t->auth_complete = host_auth_complete;
	t->auth_provider_add_ctx = host_auth_provider_add_ctx;
}
