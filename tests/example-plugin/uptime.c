/*
 * uptime: an out-of-tree MASS plugin, built with nothing but <mass/plugin.h>
 * (see Makefile beside it; installed with the SDK under
 * $(docdir)/examples/uptime). It shows the ABI 1.1 services a third party
 * uses most: server info, a session event subscription, a repeating timer
 * and a deferred reply. Everything it keeps is in its per-load state.
 *
 *   0E  ""  the seconds since the daemon started (server info), plus
 *           `offset`, as a u32 in network byte order; answered at once
 *   1E  ""  the SOCKS sessions closed since this load (session events), as
 *           a u32; answered later, at the plugin's next timer tick (a
 *           deferred reply), so a burst of requests is served in one go
 *
 *	[indexes]
 *	0E = uptime
 *	1E = uptime
 *	[plugin uptime]
 *	offset = 100        ; optional: added to 0E's answer
 *	tick_ms = 200       ; optional: how often deferred replies go out
 */
#include <mass/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UPTIME_WAITING_MAX 32

struct uptime {
	const struct mass_host *host;
	unsigned long offset;
	unsigned long closed;                       /* sessions closed since load */
	struct mass_reply *waiting[UPTIME_WAITING_MAX];  /* deferred 1E replies */
	size_t nwaiting;
};

static int uptime_get(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct uptime *u = state;
	const struct mass_server_info *info = u->host->server_info();
	time_t now = time(NULL);

	(void)req;
	u->host->reply_u32(reply, (uint32_t)(now - info->start_time + (long)u->offset));
	return MASS_STATUS_OK;
}

/* 1E: queued; the timer sends it. */
static int uptime_closed(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct uptime *u = state;
	struct mass_reply *later;

	(void)req;
	if (u->nwaiting == UPTIME_WAITING_MAX || (later = u->host->reply_defer(reply)) == NULL)
		return MASS_STATUS_ERROR;
	u->waiting[u->nwaiting++] = later;
	return MASS_STATUS_PENDING;
}

static void uptime_tick(void *arg, struct mass_timer *t)
{
	struct uptime *u = arg;
	size_t i;

	(void)t;
	for (i = 0; i < u->nwaiting; i++) {
		u->host->reply_u32(u->waiting[i], (uint32_t)u->closed);
		u->host->reply_send(u->waiting[i], MASS_STATUS_OK);
	}
	u->nwaiting = 0;
}

static void uptime_event(void *arg, const struct mass_event *ev)
{
	struct uptime *u = arg;

	if (ev->type == MASS_EVENT_CLOSED)
		u->closed++;
}

/* A decimal setting; -1 with err set when it is not one. */
static int uptime_number(const struct mass_config *config, size_t i, unsigned long *v,
			 char *err, size_t errlen)
{
	char *end;

	*v = strtoul(config->items[i].value, &end, 10);
	if (config->items[i].value[0] == '\0' || *end != '\0') {
		snprintf(err, errlen, "%s:%u: %s: not a number", config->file,
			 config->items[i].line, config->items[i].key);
		return -1;
	}
	return 0;
}

static int uptime_init(const struct mass_host *host, const struct mass_config *config,
		       void **state, char *err, size_t errlen)
{
	struct uptime *u;
	unsigned long tick_ms = 200;
	size_t i;

	if (host->abi_minor < 1) {
		snprintf(err, errlen, "needs a host of ABI 1.1 or later");
		return -1;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	u->host = host;
	for (i = 0; i < config->count; i++) {
		int bad = 0;

		if (strcmp(config->items[i].key, "offset") == 0)
			bad = uptime_number(config, i, &u->offset, err, errlen);
		else if (strcmp(config->items[i].key, "tick_ms") == 0)
			bad = uptime_number(config, i, &tick_ms, err, errlen);
		if (bad < 0) {
			free(u);
			return -1;
		}
	}
	/* what init registers is released by the host if init fails after it */
	if (host->subscribe(MASS_EVENT_BIT(MASS_EVENT_CLOSED), uptime_event, u) == NULL
	    || host->timer_add(tick_ms, tick_ms ? tick_ms : 1, uptime_tick, u) == NULL) {
		snprintf(err, errlen, "cannot subscribe or start the timer");
		free(u);
		return -1;
	}
	host->log(MASS_LOG_INFO, "serving uptime on 0E, sessions closed on 1E");
	*state = u;
	return 0;
}

/* The subscription, the timer and replies still deferred go with the load:
 * the host releases them (its clients get 01). Only our memory is ours. */
static void uptime_fini(void *state)
{
	free(state);
}

static const struct mass_index uptime_indexes[] = {
	{ .index = 0x0E, .signature = "", .usage = "seconds since the daemon started (u32)", .handler = uptime_get },
	{ .index = 0x1E, .signature = "", .usage = "sessions closed since load (u32), at the next tick", .handler = uptime_closed },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "uptime",
	.version = "1.1.0",
	.description = "daemon uptime on 0E, sessions closed on 1E",
	MASS_PLUGIN_INDEXES(uptime_indexes),
	.init = uptime_init,
	.fini = uptime_fini,
};
