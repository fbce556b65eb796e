/*
 * events: what the SOCKS engine tells, and asks, the plugin host above it
 * without linking against it (src/socks stays below src/mass): session
 * events (<mass/plugin.h>, "Session events") and the authentication
 * providers ("Authentication providers"). The host installs its side with
 * events_set_host(), with the host object every hook gets back as ctx;
 * until then nothing is delivered and no provider exists.
 *
 * Process-wide, and why: the SOCKS engine (socks/session.c) emits and asks
 * without a handle to the loop's host, so the installed side and the
 * active mask live here, one per process, in one struct (events_loop).
 * When sessions get their loop's objects passed, this struct moves into
 * the loop and events_wanted() takes it.
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

/* Called once with the decision of a login handed to the providers:
 * MASS_AUTH_ALLOW, MASS_AUTH_DENY, or MASS_AUTH_BUSY (a provider could
 * not check it now: answered as a full verify queue is, never as a
 * wrong password). */
typedef void events_auth_done_fn(void *ctx, int verdict);

/* The host's side; ctx is what events_set_host() was given. */
struct events_host {
	/* delivers ev to its subscribers (ev->type set) */
	void (*emit)(void *ctx, struct mass_event *ev);
	/* true when a provider serves realm */
	bool (*auth_has)(void *ctx, int realm);
	/* asks the providers: NULL with *verdict set when decided at once,
	 * else a pending handle and done(arg, verdict) exactly once later */
	void *(*auth_ask)(void *ctx, const struct mass_auth_query *q, events_auth_done_fn *done,
			  void *arg, int *verdict);
	/* the waiting side left: done will not be called */
	void (*auth_cancel)(void *ctx, void *pending);
};

/* Bit t set: someone subscribed to event type t. Set by the host through
 * events_set_active(); read only through events_wanted(). */
extern uint32_t events_active;

static inline bool events_wanted(enum mass_event_type t)
{
	return (events_active & MASS_EVENT_BIT(t)) != 0;
}

/* Installs the host's side (static storage; NULL: none) and its ctx. */
void events_set_host(const struct events_host *h, void *ctx);
void events_set_active(uint32_t mask);

/* Delivers ev (type set) when a host is installed. */
void events_emit(struct mass_event *ev);

/* The providers, through the host (false / NULL with *verdict
 * MASS_AUTH_DENY without one). */
bool events_auth_has(int realm);
void *events_auth_ask(const struct mass_auth_query *q, events_auth_done_fn *done, void *ctx,
		      int *verdict);
void events_auth_cancel(void *pending);

#endif
