/*
 * user_totals: per-user totals kept from session events (ABI 1.2), shared
 * by the bundled sessions and prometheus plugins (a header of static
 * functions: each plugin is one object of its own, with its own copy).
 *
 * A user's totals: connections (sessions that authenticated as the user),
 * octets from and to the client (counted when each session closes, plus
 * the live sessions' so far with user_totals_now), since the plugin's load (a reload starts again from zero: state is per
 * load). Anonymous sessions (no RFC 1929) count under no user; at most
 * USER_TOTALS_MAX users are kept.
 *
 * Subscribe with user_totals_subscribe(); the table lives in the plugin's
 * state and is freed with user_totals_free().
 */
#ifndef MASS_USER_TOTALS_H
#define MASS_USER_TOTALS_H

#include <mass/plugin.h>

#include <stdlib.h>
#include <string.h>

/* Most users kept: names beyond it (providers may bring any) are not counted. */
#define USER_TOTALS_MAX 4096

struct user_total {
	char name[256];
	size_t name_len;
	uint64_t connections, bytes_from_client, bytes_to_client;
};

struct user_totals {
	struct user_total *list;
	size_t len, cap;
};

/* The entry of name, added when absent; NULL when out of memory or too long. */
static inline struct user_total *user_totals_get(struct user_totals *t, const char *name,
						  size_t len)
{
	struct user_total *grown;
	size_t i;

	for (i = 0; i < t->len; i++)
		if (t->list[i].name_len == len && memcmp(t->list[i].name, name, len) == 0)
			return &t->list[i];
	if (len > 255 || t->len == USER_TOTALS_MAX)
		return NULL;
	if (t->len == t->cap) {
		grown = realloc(t->list, (t->cap ? t->cap * 2 : 8) * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		t->list = grown;
		t->cap = t->cap ? t->cap * 2 : 8;
	}
	memset(&t->list[t->len], 0, sizeof(t->list[t->len]));
	memcpy(t->list[t->len].name, name, len);
	t->list[t->len].name_len = len;
	return &t->list[t->len++];
}

/* Connections count at AUTHENTICATED (accepted), octets at CLOSED. */
static inline void user_totals_event(struct mass_ctx *ctx, void *arg,
				     const struct mass_event *ev)
{
	struct user_totals *t = arg;
	struct user_total *u;

	(void)ctx;
	if (ev->user == NULL || (ev->type == MASS_EVENT_AUTHENTICATED && !ev->ok))
		return;
	if (ev->type != MASS_EVENT_AUTHENTICATED && ev->type != MASS_EVENT_CLOSED)
		return;
	if ((u = user_totals_get(t, ev->user, ev->user_len)) == NULL)
		return;
	if (ev->type == MASS_EVENT_AUTHENTICATED) {
		u->connections++;
		return;
	}
	u->bytes_from_client += ev->bytes_from_client;
	u->bytes_to_client += ev->bytes_to_client;
}

static inline struct mass_subscription *user_totals_subscribe(struct mass_ctx *ctx,
							      struct user_totals *t)
{
	return ctx->host->subscribe_ctx(ctx, MASS_EVENT_BIT(MASS_EVENT_AUTHENTICATED) |
					MASS_EVENT_BIT(MASS_EVENT_CLOSED), user_totals_event, t);
}

static inline void user_totals_free(struct user_totals *t)
{
	free(t->list);
	t->list = NULL;
	t->len = t->cap = 0;
}

static inline int user_totals_add_live(void *arg, const struct mass_session *s)
{
	struct user_total *u;

	if (s->user == NULL || (u = user_totals_get(arg, s->user, s->user_len)) == NULL)
		return 0;
	u->bytes_from_client += s->bytes_from_client;
	u->bytes_to_client += s->bytes_to_client;
	return 0;
}

/*
 * Into *out (freed with user_totals_free): t plus what the live sessions
 * moved so far. Returns 0, or -1 when out of memory.
 */
static inline int user_totals_now(const struct mass_host *host, const struct user_totals *t,
				  struct user_totals *out)
{
	memset(out, 0, sizeof(*out));
	if (t->len > 0) {
		out->list = malloc(t->len * sizeof(*out->list));
		if (out->list == NULL)
			return -1;
		memcpy(out->list, t->list, t->len * sizeof(*out->list));
		out->len = out->cap = t->len;
	}
	host->sessions_each(user_totals_add_live, out);
	return 0;
}

#endif
