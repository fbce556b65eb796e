/* events: the plugin host's hooks for the SOCKS engine. See events.h. */
#include "events.h"

#include <stddef.h>

/* Read on every emission point through events_wanted(); see events.h for
 * why it is process-wide. */
uint32_t events_active;

/* The installed side (see events.h: one per process until sessions get
 * their loop passed). */
static struct {
	const struct events_host *host;
	void *ctx;
} events_loop;

void events_set_host(const struct events_host *h, void *ctx)
{
	events_loop.host = h;
	events_loop.ctx = ctx;
	if (h == NULL)
		events_active = 0;
}

void events_set_active(uint32_t mask)
{
	events_active = events_loop.host != NULL ? mask : 0;
}

void events_emit(struct mass_event *ev)
{
	if (events_loop.host != NULL)
		events_loop.host->emit(events_loop.ctx, ev);
}

bool events_auth_has(int realm)
{
	return events_loop.host != NULL && events_loop.host->auth_has(events_loop.ctx, realm);
}

void *events_auth_ask(const struct mass_auth_query *q, events_auth_done_fn *done, void *arg,
		      int *verdict)
{
	*verdict = MASS_AUTH_DENY;
	return events_loop.host != NULL ?
	       events_loop.host->auth_ask(events_loop.ctx, q, done, arg, verdict) : NULL;
}

void events_auth_cancel(void *pending)
{
	if (events_loop.host != NULL && pending != NULL)
		events_loop.host->auth_cancel(events_loop.ctx, pending);
}
