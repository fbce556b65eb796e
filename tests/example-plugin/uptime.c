/*
 * uptime: an out-of-tree MASS plugin, built with nothing but <mass/plugin.h>
 * (see Makefile beside it; installed with the SDK under
 * $(docdir)/examples/uptime). Written against ABI 1.2: every call gets the
 * load's context (ctx->host, the services; ctx->state, what init stored),
 * so it keeps no global and no host pointer. It shows what a third party
 * uses most: server info, a session event subscription, a repeating timer,
 * a deferred reply with a cancel notice, and the host's off-loop password
 * service.
 *
 *   0E  ""  the seconds since the daemon started (server info), plus
 *           `offset`, as a u32 in network byte order; answered at once
 *   1E  ""  the SOCKS sessions closed since this load (session events), as
 *           a u32; answered later, at the plugin's next timer tick (a
 *           deferred reply), so a burst of requests is served in one go; a
 *           client that leaves first is dropped from the queue (cancel)
 *   2E  "s" PASS: hashed by the host's workers with the server's method;
 *           HASH str, answered when the hash is made
 *   3E  "ss" CRYPT PASS: checked by the host's workers; MATCH u8 (1 yes,
 *           0 no; 01 when CRYPT is no crypt(3) string)
 *
 *	[indexes]
 *	0E = uptime
 *	1E = uptime
 *	2E = uptime
 *	3E = uptime
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
	unsigned long offset;
	unsigned long closed;                       /* sessions closed since load */
	struct mass_reply *waiting[UPTIME_WAITING_MAX];  /* deferred 1E replies */
	size_t nwaiting;
};

static int uptime_get(struct mass_ctx *ctx, const struct mass_request *req,
		      struct mass_reply *reply)
{
	const struct uptime *u = ctx->state;
	const struct mass_server_info *info = ctx->host->server_info();
	time_t now = time(NULL);

	(void)req;
	ctx->host->reply_u32(reply, (uint32_t)(now - info->start_time + (long)u->offset));
	return MASS_STATUS_OK;
}

/* 1E's client left before the tick: forget its reply (and free it). */
static void uptime_gone(struct mass_ctx *ctx, void *arg, struct mass_reply *later)
{
	struct uptime *u = ctx->state;
	size_t i;

	(void)arg;
	for (i = 0; i < u->nwaiting; i++)
		if (u->waiting[i] == later) {
			u->waiting[i] = u->waiting[--u->nwaiting];
			ctx->host->reply_send(later, MASS_STATUS_ERROR);   /* -1: only frees it */
			ctx->host->log_ctx(ctx, MASS_LOG_DEBUG, "1E: client left, reply dropped");
			return;
		}
}

/* 1E: queued; the timer sends it. */
static int uptime_closed(struct mass_ctx *ctx, const struct mass_request *req,
			 struct mass_reply *reply)
{
	struct uptime *u = ctx->state;
	struct mass_reply *later;

	(void)req;
	if (u->nwaiting == UPTIME_WAITING_MAX ||
	    (later = ctx->host->reply_defer_ctx(ctx, reply, uptime_gone, NULL)) == NULL)
		return MASS_STATUS_ERROR;
	u->waiting[u->nwaiting++] = later;
	return MASS_STATUS_PENDING;
}

static void uptime_tick(struct mass_ctx *ctx, void *arg, struct mass_timer *t)
{
	struct uptime *u = ctx->state;
	size_t i;

	(void)arg;
	(void)t;
	for (i = 0; i < u->nwaiting; i++) {
		ctx->host->reply_u32(u->waiting[i], (uint32_t)u->closed);
		ctx->host->reply_send(u->waiting[i], MASS_STATUS_OK);
	}
	u->nwaiting = 0;
}

static void uptime_event(struct mass_ctx *ctx, void *arg, const struct mass_event *ev)
{
	struct uptime *u = ctx->state;

	(void)arg;
	if (ev->type == MASS_EVENT_CLOSED)
		u->closed++;
}

/* 2E's hash is made: answer it. No cancel needed: a reply whose client
 * left is only freed by reply_send. */
static void uptime_hashed(struct mass_ctx *ctx, void *arg, const char *hash, const char *err)
{
	if (hash == NULL) {
		ctx->host->log_ctx(ctx, MASS_LOG_WARN, "hashing failed: %s", err);
		ctx->host->reply_send(arg, MASS_STATUS_ERROR);
		return;
	}
	ctx->host->reply_str(arg, hash, strlen(hash));
	ctx->host->reply_send(arg, MASS_STATUS_OK);
}

static int uptime_hash(struct mass_ctx *ctx, const struct mass_request *req,
		       struct mass_reply *reply)
{
	struct mass_reply *later = ctx->host->reply_defer_ctx(ctx, reply, NULL, NULL);

	if (later == NULL)
		return MASS_STATUS_ERROR;
	if (ctx->host->password_hash(ctx, (const char *)req->params[0].data, req->params[0].len,
				     uptime_hashed, later) < 0) {
		ctx->host->reply_send(later, MASS_STATUS_ERROR);   /* in the handler: only frees */
		return MASS_STATUS_ERROR;
	}
	return MASS_STATUS_PENDING;
}

static void uptime_checked(struct mass_ctx *ctx, void *arg, int match)
{
	if (match < 0) {
		ctx->host->reply_send(arg, MASS_STATUS_ERROR);
		return;
	}
	ctx->host->reply_u8(arg, (uint8_t)match);
	ctx->host->reply_send(arg, MASS_STATUS_OK);
}

static int uptime_verify(struct mass_ctx *ctx, const struct mass_request *req,
			 struct mass_reply *reply)
{
	struct mass_reply *later = ctx->host->reply_defer_ctx(ctx, reply, NULL, NULL);

	if (later == NULL)
		return MASS_STATUS_ERROR;
	/* params are NUL-terminated for the call: CRYPT can be used as C text */
	if (ctx->host->password_verify(ctx, (const char *)req->params[0].data,
				       (const char *)req->params[1].data, req->params[1].len,
				       uptime_checked, later) < 0) {
		ctx->host->reply_send(later, MASS_STATUS_ERROR);
		return MASS_STATUS_ERROR;
	}
	return MASS_STATUS_PENDING;
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

static int uptime_init(struct mass_ctx *ctx, const struct mass_config *config, char *err,
		       size_t errlen)
{
	const struct mass_host *host = ctx->host;
	unsigned long tick_ms = 200;
	struct uptime *u;
	size_t i;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ctx->state = u;
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
	if (host->subscribe_ctx(ctx, MASS_EVENT_BIT(MASS_EVENT_CLOSED), uptime_event, NULL) == NULL
	    || host->timer_add_ctx(ctx, tick_ms, tick_ms ? tick_ms : 1, uptime_tick, NULL) == NULL) {
		snprintf(err, errlen, "cannot subscribe or start the timer");
		free(u);
		return -1;
	}
	host->log_ctx(ctx, MASS_LOG_INFO, "serving uptime on 0E, sessions closed on 1E");
	return 0;
}

/* The subscription, the timer and replies still deferred go with the load:
 * the host releases them (its clients get 01). Only our memory is ours. */
static void uptime_fini(struct mass_ctx *ctx)
{
	free(ctx->state);
}

static const struct mass_index uptime_indexes[] = {
	{ .index = 0x0E, .signature = "", .usage = "seconds since the daemon started (u32)",
	  .serve = uptime_get, .reply_layout = "seconds:u32" },
	{ .index = 0x1E, .signature = "",
	  .usage = "sessions closed since load (u32), at the next tick",
	  .serve = uptime_closed, .reply_layout = "closed:u32" },
	{ .index = 0x2E, .signature = "s", .usage = "hash a password: PASS",
	  .serve = uptime_hash, .reply_layout = "hash:str" },
	{ .index = 0x3E, .signature = "ss", .usage = "check a password: CRYPT PASS",
	  .serve = uptime_verify, .reply_layout = "match:u8" },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "uptime",
	.version = "1.2.0",
	.description = "daemon uptime on 0E, sessions closed on 1E, passwords on 2E/3E",
	MASS_PLUGIN_INDEXES(uptime_indexes),
	.init_ctx = uptime_init,
	.fini_ctx = uptime_fini,
};
