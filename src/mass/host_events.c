/*
 * host_events: session events for plugins (subscribe, subscribe_ctx,
 * unsubscribe), delivered from the SOCKS engine through core/events.h.
 */
#include <stdlib.h>

#include "core/events.h"
#include "host_impl.h"

struct mass_subscription {
	struct owner_res res;              /* first: the handle is the resource */
	TAILQ_ENTRY(mass_subscription) all;
	struct host *host;
	uint32_t mask;
	bool dead;                         /* unsubscribed while events were delivered */
	mass_event_fn *fn;                 /* 1.0/1.1 */
	mass_event_ctx_fn *ctx_fn;         /* 1.2 */
	void *arg;
};

static void host_events_recount(struct host *h)
{
	uint32_t active = 0;
	unsigned t;

	for (t = 0; t < MASS_EVENT_TYPES; t++)
		if (h->nsubs[t] > 0)
			active |= MASS_EVENT_BIT(t);
	events_set_active(active);
}

/* Takes s out of the counts at once; frees it now, or after the delivery
 * running (which walks the list) ends. */
static void host_sub_free(struct mass_subscription *s)
{
	struct host *h = s->host;
	unsigned t;

	owner_res_unlink(&s->res);
	if (!s->dead) {
		for (t = 0; t < MASS_EVENT_TYPES; t++)
			if (s->mask & MASS_EVENT_BIT(t))
				h->nsubs[t]--;
		host_events_recount(h);
		s->dead = true;
	}
	if (h->delivering > 0) {
		h->sub_dead = true;
		return;
	}
	TAILQ_REMOVE(&h->subs, s, all);
	free(s);
}

static void host_sub_release(struct owner_res *r)
{
	host_sub_free((struct mass_subscription *)r);
}

static struct mass_subscription *host_sub_new(struct host_owner *o, uint32_t mask, void *arg)
{
	struct host *h = host_of(o);
	struct mass_subscription *s;
	unsigned t;

	mask &= MASS_EVENT_ALL;
	if (mask == 0 || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (owner_res_add(o, &s->res, host_sub_release) < 0) {
		free(s);
		return NULL;
	}
	s->host = h;
	s->mask = mask;
	s->arg = arg;
	TAILQ_INSERT_TAIL(&h->subs, s, all);
	for (t = 0; t < MASS_EVENT_TYPES; t++)
		if (mask & MASS_EVENT_BIT(t))
			h->nsubs[t]++;
	host_events_recount(h);
	return s;
}

static struct mass_subscription *host_subscribe(uint32_t mask, mass_event_fn *fn, void *arg)
{
	struct mass_subscription *s = fn != NULL ? host_sub_new(owner_current(), mask, arg) : NULL;

	if (s != NULL)
		s->fn = fn;
	return s;
}

static struct mass_subscription *host_subscribe_ctx(struct mass_ctx *ctx, uint32_t mask,
						    mass_event_ctx_fn *fn, void *arg)
{
	struct mass_subscription *s = fn != NULL && ctx != NULL ?
				      host_sub_new(owner_of_ctx(ctx), mask, arg) : NULL;

	if (s != NULL)
		s->ctx_fn = fn;
	return s;
}

static void host_unsubscribe(struct mass_subscription *s)
{
	if (s != NULL && !s->dead)
		host_sub_free(s);
}

/* events_host.emit: delivers ev to every live subscription that wants it. */
static void host_emit(void *ctx, struct mass_event *ev)
{
	struct host *h = ctx;
	struct mass_subscription *s, *next;
	struct host_owner *prev, *o;
	uint32_t bit;

	if (ev->type >= MASS_EVENT_TYPES)
		return;
	bit = MASS_EVENT_BIT(ev->type);
	ev->size = sizeof(*ev);
	h->delivering++;
	TAILQ_FOREACH(s, &h->subs, all) {
		if (s->dead || !(s->mask & bit))
			continue;
		o = s->res.owner;
		prev = owner_enter(o);
		if (s->ctx_fn != NULL)
			s->ctx_fn(&o->ctx, s->arg, ev);
		else
			s->fn(s->arg, ev);
		owner_enter(prev);
	}
	if (--h->delivering == 0 && h->sub_dead) {
		h->sub_dead = false;
		for (s = TAILQ_FIRST(&h->subs); s != NULL; s = next) {
			next = TAILQ_NEXT(s, all);
			if (s->dead) {
				TAILQ_REMOVE(&h->subs, s, all);
				free(s);
			}
		}
	}
}

/* What the SOCKS engine reaches through core/events.h. */
static const struct events_host host_events_side = {
	.emit = host_emit,
	.auth_has = host_auth_has,
	.auth_ask = host_auth_ask_hook,
	.auth_cancel = host_auth_cancel_hook,
};

void host_events_start(struct host *h)
{
	events_set_host(&host_events_side, h);
	host_events_recount(h);
}

void host_events_fill(struct mass_host *t)
{
	t->subscribe = host_subscribe;
	t->unsubscribe = host_unsubscribe;
	t->subscribe_ctx = host_subscribe_ctx;
}
