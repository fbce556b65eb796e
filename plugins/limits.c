/*
 * limits: the per-user limits of issue 20 managed live (ABI 1.2: the host
 * and nothing else through the call context; no state of its own). The
 * classes are mass.ini's [class NAME] sections, a user's class is kept with
 * the user (users file, [users], the pgsql table); the host enforces them
 * and this plugin only reads and changes them through the host's limits
 * services. Indexes (see mass-protocol(7)):
 *
 *   16 classes      ""    N u8, then N × (NAME str, LIMITS str): every class
 *                         of the configuration in force, `default` first;
 *                         LIMITS is one line, e.g. "upload_rate=10M
 *                         download_rate=10M max_sessions=20 quota=50G/month
 *                         action=refuse" ("unlimited" when it sets none)
 *   17 user-limits  "s"   NAME: CLASS str, PERIOD_START u64 (Unix seconds,
 *                         UTC; 0: no quota), USED u64 (octets both ways in
 *                         the period; the fleet's total when shared), QUOTA
 *                         u64 (0: none), RATE_UP u64, RATE_DOWN u64 (octets/s
 *                         over the last second), SESSIONS u32, DELAYED u64
 *                         (octets that waited for the rate limit), REFUSED
 *                         u64 (requests refused by a limit); 01: no such user
 *   18 set-class    "ss"  NAME CLASS: moves the user to CLASS (stored where
 *                         the user is kept; live tunnels follow within 1 s);
 *                         01: no such user (one the server does not know:
 *                         not in its store, never told by a provider such
 *                         as pgsql, never counted), no such class, or it
 *                         could not be stored
 *   19 reset-usage  "s"   NAME: the user's usage in the current period
 *                         starts again from 0; 01: no such user
 *
 * u32 and u64 are big-endian; strings are LENGTH + DATA, cut at 255 octets.
 */
#include <mass/plugin.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define LIMITS_LIST_MAX 255     /* 16's COUNT is one octet */

#define LIMITS_USER_LAYOUT "class:str,period_start:u64,used:u64,quota:u64,rate_up:u64," \
	"rate_down:u64,sessions:u32,delayed:u64,refused:u64"

/* A user or class name as MASS carries it: 1..255 printable ASCII octets
 * (a 0 octet inside would cut it short as C text: refused). */
static bool limits_valid(const struct mass_param *p)
{
	if (p->len < 1 || p->len > 255)
		return false;
	for (size_t i = 0; i < p->len; i++)
		if (p->data[i] < 0x20 || p->data[i] > 0x7E)
			return false;
	return true;
}

static int limits_str(const struct mass_host *h, struct mass_reply *r, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	return h->reply_str(r, s != NULL ? s : "", len > 255 ? 255 : len);
}

struct limits_walk {
	struct mass_reply *reply;
	size_t n;
};

static int limits_class_one(struct mass_ctx *ctx, void *arg, const char *name,
			    const char *describe)
{
	struct limits_walk *w = arg;

	if (w->n == LIMITS_LIST_MAX)
		return 1;
	limits_str(ctx->host, w->reply, name);
	limits_str(ctx->host, w->reply, describe);
	w->n++;
	return 0;
}

/* 16: the classes in force (the first 255: COUNT is one octet). */
static int limits_classes(struct mass_ctx *ctx, const struct mass_request *req,
			  struct mass_reply *reply)
{
	struct limits_walk w = { .reply = reply };
	long mark = ctx->host->reply_count_begin(reply);

	(void)req;
	ctx->host->class_each(ctx, limits_class_one, &w);
	ctx->host->reply_count_end(reply, mark, w.n);
	return MASS_STATUS_OK;
}

/* 17 NAME: the user's class, usage, live rate and sessions. */
static int limits_user(struct mass_ctx *ctx, const struct mass_request *req,
		       struct mass_reply *reply)
{
	const struct mass_host *h = ctx->host;
	const struct mass_param *name = &req->params[0];
	struct mass_usage u = { .size = sizeof(u) };

	if (!limits_valid(name) ||
	    h->usage_get(ctx, (const char *)name->data, name->len, &u) < 0)
		return MASS_STATUS_ERROR;
	limits_str(h, reply, u.class_name);
	h->reply_u64(reply, u.period_start > 0 ? (uint64_t)u.period_start : 0);
	h->reply_u64(reply, u.used);
	h->reply_u64(reply, u.quota);
	h->reply_u64(reply, u.rate_up);
	h->reply_u64(reply, u.rate_down);
	h->reply_u32(reply, u.sessions);
	h->reply_u64(reply, u.delayed_bytes);
	h->reply_u64(reply, u.refused);
	return MASS_STATUS_OK;
}

/* 18 NAME CLASS. The host checks both and stores the class. */
static int limits_set_class(struct mass_ctx *ctx, const struct mass_request *req,
			    struct mass_reply *reply)
{
	const struct mass_param *name = &req->params[0], *cls = &req->params[1];
	struct mass_usage u = { .size = sizeof(u) };
	int st;

	(void)reply;
	if (!limits_valid(name) || !limits_valid(cls))
		return MASS_STATUS_ERROR;
	/* a name the server never heard of is a typo, not a provider's user
	 * to remember a class for (pgsql tells the host of all of its own) */
	if (ctx->host->usage_get(ctx, (const char *)name->data, name->len, &u) < 0) {
		ctx->host->log_ctx(ctx, MASS_LOG_INFO, "set-class %.*s %s: no such user, answered 01",
				   (int)name->len, (const char *)name->data, (const char *)cls->data);
		return MASS_STATUS_ERROR;
	}
	st = ctx->host->user_class_set(ctx, (const char *)name->data, name->len,
				       (const char *)cls->data);
	ctx->host->log_ctx(ctx, MASS_LOG_INFO, "set-class %.*s %s: %s", (int)name->len,
			   (const char *)name->data, (const char *)cls->data,
			   st == MASS_STATUS_OK ? "done" : "refused (no such class or user, "
			   "or it could not be stored), answered 01");
	return st == MASS_STATUS_OK ? MASS_STATUS_OK : MASS_STATUS_ERROR;
}

/* 19 NAME. */
static int limits_reset(struct mass_ctx *ctx, const struct mass_request *req,
			struct mass_reply *reply)
{
	const struct mass_param *name = &req->params[0];
	int st;

	(void)reply;
	if (!limits_valid(name))
		return MASS_STATUS_ERROR;
	st = ctx->host->usage_reset(ctx, (const char *)name->data, name->len);
	ctx->host->log_ctx(ctx, MASS_LOG_INFO, "reset-usage %.*s: %s", (int)name->len,
			   (const char *)name->data, st == 0 ? "done" : "no such user, answered 01");
	return st == 0 ? MASS_STATUS_OK : MASS_STATUS_ERROR;
}

/* Needs the host's limits services (appended after ABI 1.2's password service). */
static int limits_init(struct mass_ctx *ctx, const struct mass_config *config, char *err,
		       size_t errlen)
{
	const struct mass_host *h = ctx->host;

	(void)config;
	if (!MASS_HOST_HAS(h, class_each) || !MASS_HOST_HAS(h, usage_get) ||
	    !MASS_HOST_HAS(h, user_class_set) || !MASS_HOST_HAS(h, usage_reset)) {
		snprintf(err, errlen, "needs a host with the limits services (class_each, usage_get, user_class_set, usage_reset)");
		return -1;
	}
	return 0;
}

static const struct mass_index limits_indexes[] = {
	{ .index = 0x16, .signature = "", .usage = "the classes of per-user limits in force",
	  .serve = limits_classes, .reply_layout = "classes:[name:str,limits:str]" },
	{ .index = 0x17, .signature = "s",
	  .usage = "a user's class, quota usage, live rate and sessions: NAME",
	  .serve = limits_user, .reply_layout = LIMITS_USER_LAYOUT },
	{ .index = 0x18, .signature = "ss", .usage = "move a user to a class: NAME CLASS",
	  .serve = limits_set_class, .reply_layout = "" },
	{ .index = 0x19, .signature = "s", .usage = "reset a user's quota usage: NAME",
	  .serve = limits_reset, .reply_layout = "" },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "limits",
	.version = "1.2.0",
	.description = "per-user limits: classes, usage, moving users, resetting quotas",
	MASS_PLUGIN_INDEXES(limits_indexes),
	.init_ctx = limits_init,
};
