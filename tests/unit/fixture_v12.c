/*
 * fixture_v12: a plugin written against ABI 1.2 only: every call gets the
 * load's context, the state lives in ctx->state, no static, no stored host
 * pointer. Variants (-DFIXTURE_*): the default; ERRFILL, whose init_ctx
 * fills err to the last octet without a NUL and fails (the host must
 * terminate it); BADLAYOUT, an index whose reply layout is malformed (the
 * plugin is refused at load).
 *
 *   50 ""    "pong" (layout answer:str)
 *   51 ""    the u64 0x0102030405060708 (reply_u64)
 *   52 "ss"  CRYPT PASS: password_verify, deferred; MATCH u8 = match + 1
 *            (0 could not check, 1 no, 2 yes)
 *   53 "s"   PASS: password_hash, deferred; HASH str (01 on failure)
 *   54 ""    never answered: its cancel notice logs "cancel 54: reply_send
 *            N" (N what reply_send returned from inside cancel)
 *   55 ""    answered 300 ms later from a timer; logs "sent 55: N" (N what
 *            reply_send returned); its cancel logs "cancel 55"
 *
 * When MASS_FIXTURE_CALLS names a file, init, fini and each cancel append a
 * line to it ("init", "fini", "cancel"; 54 adds "cancel send -1" or
 * "cancel send 0").
 */
#include <mass/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct v12 {
	unsigned served;
};

static void v12_count(const char *what)
{
	const char *path = getenv("MASS_FIXTURE_CALLS");
	FILE *f = path != NULL ? fopen(path, "a") : NULL;

	if (f != NULL) {
		fprintf(f, "%s\n", what);
		fclose(f);
	}
}

static int v12_ping(struct mass_ctx *ctx, const struct mass_request *req,
		    struct mass_reply *reply)
{
	struct v12 *st = ctx->state;

	(void)req;
	st->served++;
	ctx->host->reply_str(reply, "pong", 4);
	return MASS_STATUS_OK;
}

static int v12_u64(struct mass_ctx *ctx, const struct mass_request *req,
		   struct mass_reply *reply)
{
	(void)req;
	ctx->host->reply_u64(reply, 0x0102030405060708ull);
	return MASS_STATUS_OK;
}

static void v12_cancelled(struct mass_ctx *ctx, void *arg, struct mass_reply *later)
{
	(void)arg;
	(void)later;
	v12_count("cancel");
	ctx->host->log_ctx(ctx, MASS_LOG_INFO, "cancel: the client left");
}

static void v12_verified(struct mass_ctx *ctx, void *arg, int match)
{
	ctx->host->reply_u8(arg, (uint8_t)(match + 1));
	ctx->host->reply_send(arg, MASS_STATUS_OK);
}

static int v12_verify(struct mass_ctx *ctx, const struct mass_request *req,
		      struct mass_reply *reply)
{
	struct mass_reply *later = ctx->host->reply_defer_ctx(ctx, reply, v12_cancelled, NULL);

	if (later == NULL)
		return MASS_STATUS_ERROR;
	if (ctx->host->password_verify(ctx, (const char *)req->params[0].data,
				       (const char *)req->params[1].data, req->params[1].len,
				       v12_verified, later) < 0) {
		ctx->host->reply_send(later, MASS_STATUS_ERROR);   /* only frees it */
		return MASS_STATUS_ERROR;
	}
	return MASS_STATUS_PENDING;
}

static void v12_hashed(struct mass_ctx *ctx, void *arg, const char *hash, const char *err)
{
	if (hash == NULL) {
		ctx->host->log_ctx(ctx, MASS_LOG_WARN, "hash failed: %s", err);
		ctx->host->reply_send(arg, MASS_STATUS_ERROR);
		return;
	}
	ctx->host->reply_str(arg, hash, strlen(hash));
	ctx->host->reply_send(arg, MASS_STATUS_OK);
}

static int v12_hash(struct mass_ctx *ctx, const struct mass_request *req,
		    struct mass_reply *reply)
{
	struct mass_reply *later = ctx->host->reply_defer_ctx(ctx, reply, v12_cancelled, NULL);

	if (later == NULL)
		return MASS_STATUS_ERROR;
	if (ctx->host->password_hash(ctx, (const char *)req->params[0].data, req->params[0].len,
				     v12_hashed, later) < 0) {
		ctx->host->reply_send(later, MASS_STATUS_ERROR);
		return MASS_STATUS_ERROR;
	}
	return MASS_STATUS_PENDING;
}

static void v12_cancel_send(struct mass_ctx *ctx, void *arg, struct mass_reply *later)
{
	int r;

	(void)arg;
	v12_count("cancel");
	r = ctx->host->reply_send(later, MASS_STATUS_OK);
	v12_count(r < 0 ? "cancel send -1" : "cancel send 0");
	ctx->host->log_ctx(ctx, MASS_LOG_INFO, "cancel 54: reply_send %d", r);
}

static int v12_never(struct mass_ctx *ctx, const struct mass_request *req,
		     struct mass_reply *reply)
{
	(void)req;
	return ctx->host->reply_defer_ctx(ctx, reply, v12_cancel_send, NULL) != NULL ?
	       MASS_STATUS_PENDING : MASS_STATUS_ERROR;
}

/* 55: the pending reply and whether its client left, in one per-request job. */
struct v12_job {
	struct mass_reply *later;
	int cancelled;
};

static void v12_late_cancel(struct mass_ctx *ctx, void *arg, struct mass_reply *later)
{
	struct v12_job *job = arg;

	(void)later;
	v12_count("cancel");
	job->cancelled = 1;
	ctx->host->log_ctx(ctx, MASS_LOG_INFO, "cancel 55");
}

static void v12_late(struct mass_ctx *ctx, void *arg, struct mass_timer *t)
{
	struct v12_job *job = arg;
	int r;

	(void)t;
	ctx->host->reply_str(job->later, "late", 4);
	r = ctx->host->reply_send(job->later, MASS_STATUS_OK);
	ctx->host->log_ctx(ctx, MASS_LOG_INFO, "sent 55: %d (cancelled %d)", r, job->cancelled);
	free(job);
}

static int v12_slow(struct mass_ctx *ctx, const struct mass_request *req,
		    struct mass_reply *reply)
{
	struct v12_job *job = calloc(1, sizeof(*job));

	(void)req;
	if (job == NULL ||
	    (job->later = ctx->host->reply_defer_ctx(ctx, reply, v12_late_cancel, job)) == NULL ||
	    ctx->host->timer_add_ctx(ctx, 300, 0, v12_late, job) == NULL) {
		if (job != NULL && job->later != NULL)
			ctx->host->reply_send(job->later, MASS_STATUS_ERROR);
		free(job);
		return MASS_STATUS_ERROR;
	}
	return MASS_STATUS_PENDING;
}

static int v12_init(struct mass_ctx *ctx, const struct mass_config *config, char *err,
		    size_t errlen)
{
	(void)config;
	v12_count("init");
#ifdef FIXTURE_ERRFILL
	(void)ctx;
	memset(err, 'x', errlen);   /* no NUL anywhere: the host must cut it */
	return -1;
#else
	(void)err;
	(void)errlen;
	if (ctx->size < sizeof(*ctx) || ctx->host->abi_minor < 2)
		return -1;
	ctx->state = calloc(1, sizeof(struct v12));
	return ctx->state != NULL ? 0 : -1;
#endif
}

static void v12_fini(struct mass_ctx *ctx)
{
	v12_count("fini");
	free(ctx->state);
}

static const struct mass_index v12_indexes[] = {
	{ .index = 0x50, .signature = "", .usage = "ping", .serve = v12_ping,
#ifdef FIXTURE_BADLAYOUT
	  .reply_layout = "answer:string" },
#else
	  .reply_layout = "answer:str" },
#endif
	{ .index = 0x51, .signature = "", .usage = "a u64", .serve = v12_u64,
	  .reply_layout = "v:u64" },
	{ .index = 0x52, .signature = "ss", .usage = "verify: CRYPT PASS", .serve = v12_verify,
	  .reply_layout = "match:u8" },
	{ .index = 0x53, .signature = "s", .usage = "hash: PASS", .serve = v12_hash,
	  .reply_layout = "hash:str" },
	{ .index = 0x54, .signature = "", .usage = "never answered", .serve = v12_never },
	{ .index = 0x55, .signature = "", .usage = "answered in 300 ms", .serve = v12_slow,
	  .reply_layout = "answer:str" },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "fixture_v12",
	.version = "1.2.0",
	.description = "ABI 1.2 test fixture",
	MASS_PLUGIN_INDEXES(v12_indexes),
	.init_ctx = v12_init,
	.fini_ctx = v12_fini,
};
