/*
 * sessions: the live SOCKS sessions and per-user totals, and closing them
 * (session control and session events; ABI 1.2: the host and the state
 * through the call context). Indexes (see mass-protocol(7)):
 *
 *   10 sessions    ""   TOTAL u32, N u32, then N records, oldest first:
 *                       ID u64, STATE u8, CMD u8, USER str, CLIENT str,
 *                       CLIENT_PORT u16, DEST str, DEST_PORT u16,
 *                       FROM_CLIENT u64, TO_CLIENT u64, AGE_MS u64
 *                       (N < TOTAL when the records did not fit one reply)
 *   11 kill ID     "s"  ID in decimal: closes that session; 01 when none
 *   12 kick USER   "s"  closes every session of USER: CLOSED u32
 *   13 user stats  ""   N u32, then N × (USER str, CONNECTIONS u64,
 *                       FROM_CLIENT u64, TO_CLIENT u64): since the plugin
 *                       loaded, live sessions' octets so far included
 *
 * u16, u32 and u64 are big-endian. Counts since load: a reload starts the
 * totals again (state is per load).
 */
#include <mass/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user_totals.h"

/* Room a record may take at most: fixed fields and three 255-octet strings. */
#define SESSIONS_RECORD_MAX (8 + 2 + 3 * 256 + 2 + 2 + 3 * 8)

struct sessions {
	struct user_totals totals;
};

struct sessions_walk {
	const struct mass_host *h;
	struct mass_reply *reply;
	size_t listed, total, room;
	const char *user;            /* kick: whose */
	size_t user_len;
};

static int sessions_text(const struct mass_host *h, struct mass_reply *r, const char *s,
			 size_t len)
{
	return h->reply_str(r, s != NULL ? s : "", s != NULL ? (len > 255 ? 255 : len) : 0);
}

static int sessions_u16(const struct mass_host *h, struct mass_reply *r, uint16_t v)
{
	uint8_t be[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return h->reply_bytes(r, be, 2);
}

static int sessions_list_one(void *arg, const struct mass_session *s)
{
	struct sessions_walk *w = arg;
	const struct mass_host *h = w->h;

	w->total++;
	if (w->room < SESSIONS_RECORD_MAX)
		return 0;          /* keep counting, list no more */
	w->room -= SESSIONS_RECORD_MAX;
	w->listed++;
	h->reply_u64(w->reply, s->id);
	h->reply_u8(w->reply, s->state);
	h->reply_u8(w->reply, s->command);
	sessions_text(h, w->reply, s->user, s->user_len);
	sessions_text(h, w->reply, s->client, s->client ? strlen(s->client) : 0);
	sessions_u16(h, w->reply, s->client_port);
	sessions_text(h, w->reply, s->destination, s->destination ? strlen(s->destination) : 0);
	sessions_u16(h, w->reply, s->destination_port);
	h->reply_u64(w->reply, s->bytes_from_client);
	h->reply_u64(w->reply, s->bytes_to_client);
	h->reply_u64(w->reply, s->age_ms);
	return 0;
}

static int sessions_count_one(void *arg, const struct mass_session *s)
{
	(void)s;
	((struct sessions_walk *)arg)->total++;
	return 0;
}

/* 10: the counts go first, so the sessions are walked twice (both on this
 * loop round: nothing changes in between). */
static int sessions_list(struct mass_ctx *ctx, const struct mass_request *req,
			 struct mass_reply *reply)
{
	const struct mass_host *h = ctx->host;
	struct sessions_walk w = { .h = h, .reply = reply, .room = MASS_REPLY_MAX - 8 };
	struct sessions_walk count = { .h = h };
	size_t listed;

	(void)req;
	h->sessions_each(sessions_count_one, &count);
	listed = count.total < (MASS_REPLY_MAX - 8) / SESSIONS_RECORD_MAX
	       ? count.total : (MASS_REPLY_MAX - 8) / SESSIONS_RECORD_MAX;
	h->reply_u32(reply, (uint32_t)count.total);
	h->reply_u32(reply, (uint32_t)listed);
	h->sessions_each(sessions_list_one, &w);
	return MASS_STATUS_OK;
}

/* 11: ID in decimal. */
static int sessions_kill(struct mass_ctx *ctx, const struct mass_request *req,
			 struct mass_reply *reply)
{
	const struct mass_param *p = &req->params[0];
	unsigned long long id;
	char *end;

	(void)reply;
	if (p->len == 0 || p->len > 20 || p->data[0] < '0' || p->data[0] > '9')
		return MASS_STATUS_ERROR;
	errno = 0;
	id = strtoull((const char *)p->data, &end, 10);
	if (errno != 0 || end != (const char *)p->data + p->len)
		return MASS_STATUS_ERROR;
	if (ctx->host->session_close(id) != MASS_STATUS_OK)
		return MASS_STATUS_ERROR;
	ctx->host->log_ctx(ctx, MASS_LOG_INFO, "session %llu closed by request", id);
	return MASS_STATUS_OK;
}

static int sessions_kick_one(void *arg, const struct mass_session *s)
{
	struct sessions_walk *w = arg;

	if (s->user != NULL && s->user_len == w->user_len
	    && memcmp(s->user, w->user, w->user_len) == 0
	    && w->h->session_close(s->id) == MASS_STATUS_OK)
		w->listed++;
	return 0;
}

/* 12: every session of USER. */
static int sessions_kick(struct mass_ctx *ctx, const struct mass_request *req,
			 struct mass_reply *reply)
{
	struct sessions_walk w = { .h = ctx->host, .user = (const char *)req->params[0].data,
				   .user_len = req->params[0].len };

	if (w.user_len == 0)
		return MASS_STATUS_ERROR;
	ctx->host->sessions_each(sessions_kick_one, &w);
	if (w.listed > 0)
		ctx->host->log_ctx(ctx, MASS_LOG_INFO, "%zu session%s of %.*s closed by request",
				   w.listed, w.listed == 1 ? "" : "s", (int)w.user_len, w.user);
	ctx->host->reply_u32(reply, (uint32_t)w.listed);
	return MASS_STATUS_OK;
}

/* 13: the closed sessions' totals plus what the live ones moved so far. */
static int sessions_user_stats(struct mass_ctx *ctx, const struct mass_request *req,
			       struct mass_reply *reply)
{
	const struct mass_host *h = ctx->host;
	struct sessions *st = ctx->state;
	struct user_totals now;
	size_t i;

	(void)req;
	if (user_totals_now(h, &st->totals, &now) < 0)
		return MASS_STATUS_ERROR;
	h->reply_u32(reply, (uint32_t)now.len);
	for (i = 0; i < now.len; i++) {
		h->reply_str(reply, now.list[i].name, now.list[i].name_len);
		h->reply_u64(reply, now.list[i].connections);
		h->reply_u64(reply, now.list[i].bytes_from_client);
		h->reply_u64(reply, now.list[i].bytes_to_client);
	}
	user_totals_free(&now);
	return MASS_STATUS_OK;
}

static int sessions_init(struct mass_ctx *ctx, const struct mass_config *config,
			 char *err, size_t errlen)
{
	struct sessions *st;

	(void)config;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (user_totals_subscribe(ctx, &st->totals) == NULL) {
		free(st);
		snprintf(err, errlen, "cannot subscribe to session events");
		return -1;
	}
	ctx->state = st;
	return 0;
}

/* The subscription goes with the load (the host releases it). */
static void sessions_fini(struct mass_ctx *ctx)
{
	struct sessions *st = ctx->state;

	user_totals_free(&st->totals);
	free(st);
}

static const struct mass_index sessions_indexes[] = {
	/* 10 and 13 have no layout: their u16 ports and u32-counted lists are
	 * beyond the layout grammar (u8, u32, u64, str, u8-counted lists) */
	{ .index = 0x10, .signature = "",
	  .usage = "live sessions: id, state, user, client, destination, bytes, age",
	  .serve = sessions_list },
	{ .index = 0x11, .signature = "s", .usage = "close a session: ID",
	  .serve = sessions_kill, .reply_layout = "" },
	{ .index = 0x12, .signature = "s", .usage = "close every session of a user: USER",
	  .serve = sessions_kick, .reply_layout = "closed:u32" },
	{ .index = 0x13, .signature = "",
	  .usage = "per-user totals: connections, bytes from/to client",
	  .serve = sessions_user_stats },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "sessions",
	.version = "1.2.0",
	.description = "live SOCKS sessions, per-user totals, closing sessions",
	MASS_PLUGIN_INDEXES(sessions_indexes),
	.init_ctx = sessions_init,
	.fini_ctx = sessions_fini,
};
