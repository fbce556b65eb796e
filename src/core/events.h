/*
 * events: what the SOCKS engine tells, and asks, the plugin host above it
 * without linking against it (src/socks stays below src/mass): session
 * events (<mass/plugin.h>, "Session events") and the authentication
 * providers ("Authentication providers"). The host installs its side with
 * events_set_host(); until then nothing is delivered and no provider
 * exists.
 *
 * The cost when nobody subscribed is one branch per emission point:
 *
 *	if (events_wanted(MASS_EVENT_CLOSED)) {
 *		struct mass_event ev = { .type = MASS_EVENT_CLOSED, ... };
 *		events_emit(&ev);
 *	}
 *
 * Everything runs on the loop thread.
 */
#ifndef MASS_EVENTS_H
#define MASS_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "mass/plugin.h"

/* Called once with the decision of a login handed to the providers. */
typedef void events_auth_done_fn(void *ctx, bool ok);

struct events_host {
	/* delivers ev to its subscribers (ev->type set) */
	void (*emit)(struct mass_event *ev);
	/* true when a provider serves realm */
	bool (*auth_has)(int realm);
	/* asks the providers: NULL with *ok set when decided at once, else a
	 * pending handle and done(ctx, ok) exactly once later */
	void *(*auth_ask)(const struct mass_auth_query *q, events_auth_done_fn *done,
			  void *ctx, bool *ok);
	/* the waiting side left: done will not be called */
	void (*auth_cancel)(void *pending);
};

/* Bit t set: someone subscribed to event type t. Set by the host through
 * events_set_active(); read only through events_wanted(). */
extern uint32_t events_active;

static inline bool events_wanted(enum mass_event_type t)
{
	return (events_active & MASS_EVENT_BIT(t)) != 0;
}

/* Installs the host's side (static storage; NULL: none). */
void events_set_host(const struct events_host *h);
void events_set_active(uint32_t mask);

/* Delivers ev (type set) when a host is installed. */
void events_emit(struct mass_event *ev);

/* The providers, through the host (false / NULL with *ok false without one). */
bool events_auth_has(int realm);
void *events_auth_ask(const struct mass_auth_query *q, events_auth_done_fn *done, void *ctx,
		      bool *ok);
void events_auth_cancel(void *pending);

#endif
