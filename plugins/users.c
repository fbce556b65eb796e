/*
 * users: MASS indexes 01 (list the SOCKS users), 0A (add one) and 0B
 * (delete one), over the host's users store. Adding and deleting persist
 * through the host when the server has a users_file. ABI 1.2: the host and
 * the state are reached through the call context.
 *
 * 0A stores a crypt(3) hash, which takes milliseconds of CPU: the hash is
 * made by the host's workers (users_add_async) and the reply deferred
 * until the user is stored, so the loop never waits for it; when the reply
 * cannot be deferred 0A calls the synchronous users_add.
 */
#include <mass/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/queue.h>

/* One 0A waiting for users_add_async, whose callback (a 1.1 service) gets
 * no context: the job carries it. Kept on the state's list so that fini
 * frees the jobs whose answer never comes (the load ended first). */
struct users_job {
	TAILQ_ENTRY(users_job) link;
	struct mass_ctx *ctx;
	struct mass_reply *later;
};

struct users_state {
	TAILQ_HEAD(, users_job) jobs;
};

static int users_list(struct mass_ctx *ctx, const struct mass_request *req,
		      struct mass_reply *reply)
{
	const struct mass_host *host = ctx->host;
	size_t i, n = host->users_count(), len;
	long mark = host->reply_count_begin(reply);
	const char *name;

	(void)req;
	for (i = 0; i < n; i++) {
		name = host->users_name(i, &len);
		host->reply_str(reply, name, len);
	}
	host->reply_count_end(reply, mark, n);
	return MASS_STATUS_OK;
}

/* users_add_async's answer: the deferred 0A reply goes out. */
static void users_added(void *arg, int status)
{
	struct users_job *job = arg;
	struct users_state *st = job->ctx->state;

	TAILQ_REMOVE(&st->jobs, job, link);
	job->ctx->host->reply_send(job->later, status);
	free(job);
}

static int users_add(struct mass_ctx *ctx, const struct mass_request *req,
		     struct mass_reply *reply)
{
	const struct mass_host *host = ctx->host;
	struct users_state *st = ctx->state;
	const char *name = (const char *)req->params[0].data;
	const char *pass = (const char *)req->params[1].data;
	struct users_job *job = malloc(sizeof(*job));
	int status;

	if (job != NULL && (job->later = host->reply_defer_ctx(ctx, reply, NULL, NULL)) != NULL) {
		job->ctx = ctx;
		TAILQ_INSERT_TAIL(&st->jobs, job, link);
		status = host->users_add_async(name, req->params[0].len, pass,
					       req->params[1].len, users_added, job);
		if (status != MASS_STATUS_PENDING) {
			TAILQ_REMOVE(&st->jobs, job, link);
			host->reply_send(job->later, status);   /* inside the handler: only frees it */
			free(job);
		}
		return status;
	}
	free(job);
	return host->users_add(name, req->params[0].len, pass, req->params[1].len);
}

static int users_del(struct mass_ctx *ctx, const struct mass_request *req,
		     struct mass_reply *reply)
{
	(void)reply;
	return ctx->host->users_del((const char *)req->params[0].data, req->params[0].len);
}

static int users_init(struct mass_ctx *ctx, const struct mass_config *config, char *err,
		      size_t errlen)
{
	struct users_state *st = malloc(sizeof(*st));

	(void)config;
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	TAILQ_INIT(&st->jobs);
	ctx->state = st;
	return 0;
}

/* Jobs still here will never be answered (the host dropped them with the
 * load); their deferred replies are the host's to free. */
static void users_fini(struct mass_ctx *ctx)
{
	struct users_state *st = ctx->state;
	struct users_job *job;

	while ((job = TAILQ_FIRST(&st->jobs)) != NULL) {
		TAILQ_REMOVE(&st->jobs, job, link);
		free(job);
	}
	free(st);
}

static const struct mass_index users_indexes[] = {
	{ .index = 0x01, .signature = "", .usage = "list the SOCKS users",
	  .serve = users_list, .reply_layout = "users:[name:str]" },
	{ .index = 0x0A, .signature = "ss", .usage = "add a SOCKS user: NAME PASSWORD",
	  .serve = users_add, .reply_layout = "" },
	{ .index = 0x0B, .signature = "s", .usage = "delete a SOCKS user: NAME",
	  .serve = users_del, .reply_layout = "" },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "users",
	.version = "1.2.0",
	.description = "SOCKS users: list, add, delete",
	MASS_PLUGIN_INDEXES(users_indexes),
	.init_ctx = users_init,
	.fini_ctx = users_fini,
};
