/* events: the plugin host's hooks for the SOCKS engine. See events.h. */
#include "events.h"

#include <stddef.h>

uint32_t events_active;

static const struct events_host *events_host;

void events_set_host(const struct events_host *h)
{
	events_host = h;
	if (h == NULL)
		events_active = 0;
}

void events_set_active(uint32_t mask)
{
	events_active = events_host != NULL ? mask : 0;
}

void events_emit(struct mass_event *ev)
{
	if (events_host != NULL)
		events_host->emit(ev);
}

bool events_auth_has(int realm)
{
	return events_host != NULL && events_host->auth_has(realm);
}

void *events_auth_ask(const struct mass_auth_query *q, events_auth_done_fn *done, void *ctx,
		      bool *ok)
{
	*ok = false;
	return events_host != NULL ? events_host->auth_ask(q, done, ctx, ok) : NULL;
}

void events_auth_cancel(void *pending)
{
	if (events_host != NULL && pending != NULL)
		events_host->auth_cancel(pending);
}
