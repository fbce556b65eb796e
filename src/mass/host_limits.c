/*
 * host_limits: the per-user limits for plugins (usage_each, usage_get,
 * user_class_set, usage_reset, usage_drain, usage_fleet_set, class_each;
 * <mass/plugin.h>), over the usage table and classes of the runtime
 * context (socks/socks_limits.h). Every service works on the loop thread
 * and does nothing (returns 0, -1 or MASS_STATUS_ERROR) without a context.
 */
#include <stdio.h>
#include <string.h>

#include "auth/users.h"
#include "core/escape.h"
#include "core/log.h"
#include "host_impl.h"
#include "limits/units.h"
#include "socks/context.h"
#include "socks/socks_limits.h"

static struct socks_ctx *host_limits_rt(struct mass_ctx *ctx)
{
	return host_of(host_caller(ctx))->rt;
}

static int64_t host_limits_now_s(const struct socks_ctx *rt)
{
	return limits_clock_now(&rt->live.limits.clock);
}

/* The start of e's quota period (0: no quota): the oldest slot of a rolling one. */
static int64_t host_limits_period_start(const struct usage_entry *e)
{
	const struct limits_class *c = e->cls;

	if (c == NULL || c->quota == 0)
		return 0;
	if (c->period.kind == PERIOD_ROLLING)
		return e->slot_start - (int64_t)(e->nslots - 1) * PERIOD_DAY_SECONDS;
	return e->slot_start;
}

/* A user with no entry: zeros under its class. */
static void host_limits_blank(struct mass_usage *u, const char *user, size_t len,
			      const struct limits_class *c)
{
	memset(u, 0, sizeof(*u));
	u->size = sizeof(*u);
	u->user = user;
	u->user_len = len;
	u->class_name = c ? c->name : LIMITS_CLASS_DEFAULT;
	u->quota = c ? c->quota : 0;
}

static void host_limits_usage_fill(struct socks_ctx *rt, const struct usage_entry *e,
				   struct mass_usage *u)
{
	host_limits_blank(u, e->name, e->name_len,
			  e->cls ? e->cls : socks_limits_class_of(rt, e->name_len ? e->name : NULL,
								   e->name_len));
	u->period_start = host_limits_period_start(e);
	u->used = e->used;
	u->rate_up = e->live_rate[LIMITS_UP];
	u->rate_down = e->live_rate[LIMITS_DOWN];
	u->sessions = e->sessions;
	u->delayed_bytes = e->bucket[0].delayed + e->bucket[1].delayed;
	u->refused = e->refused;
}

struct host_limits_walk {
	struct mass_ctx *ctx;
	struct socks_ctx *rt;
	mass_usage_fn *fn;
	mass_usage_drain_fn *drain;
	void *arg;
	size_t calls;
	bool stop;
};

static void host_limits_each_one(void *arg, struct usage_entry *e)
{
	struct host_limits_walk *w = arg;
	struct mass_usage u;

	if (w->stop)
		return;
	host_limits_usage_fill(w->rt, e, &u);
	w->calls++;
	w->stop = w->fn(w->ctx, w->arg, &u) != 0;
}

static size_t host_limits_usage_each(struct mass_ctx *ctx, mass_usage_fn *fn, void *arg)
{
	struct host_limits_walk w = { ctx, host_limits_rt(ctx), fn, NULL, arg, 0, false };

	if (w.rt == NULL || w.rt->live.limits.usage == NULL || fn == NULL)
		return 0;
	usage_each(w.rt->live.limits.usage, host_limits_each_one, &w);
	return w.calls;
}

static struct usage_entry *host_limits_find(struct socks_ctx *rt, const char *user, size_t len)
{
	return rt->live.limits.usage ? usage_find(rt->live.limits.usage, user, len) : NULL;
}

static int host_limits_usage_get(struct mass_ctx *ctx, const char *user, size_t len,
				 struct mass_usage *out)
{
	struct socks_ctx *rt = host_limits_rt(ctx);
	struct usage_entry *e;

	if (rt == NULL || user == NULL || out == NULL)
		return -1;
	if ((e = host_limits_find(rt, user, len)) != NULL) {
		host_limits_usage_fill(rt, e, out);
		return 0;
	}
	if (users_find(&rt->live.users, user, len) < 0 && !socks_limits_override(rt, user, len))
		return -1;
	host_limits_blank(out, user, len, socks_limits_class_of(rt, user, len));
	return 0;
}

static int host_limits_user_class_set(struct mass_ctx *ctx, const char *user, size_t len,
				      const char *class_name)
{
	struct socks_ctx *rt = host_limits_rt(ctx);
	char err[256] = "", ename[ESCAPE_SIZE(255)], name[256];
	long i;

	if (rt == NULL || user == NULL || class_name == NULL || len == 0 || len > 255 ||
	    rt->live.limits.classes == NULL ||
	    !limits_class_table_find(rt->live.limits.classes, class_name))
		return MASS_STATUS_ERROR;
	memcpy(name, user, len);
	name[len] = '\0';
	escape_str(ename, sizeof(ename), name);
	i = users_find(&rt->live.users, user, len);
	if (i >= 0) {
		enum users_result r = users_set_class(&rt->live.users, (size_t)i, class_name,
						      true, err, sizeof(err));

		if (r != USERS_OK) {
			log_warn("limits: class of user %s not changed: %s", ename,
				 r == USERS_IO ? err : "invalid");
			return MASS_STATUS_ERROR;
		}
	} else if (memchr(user, ':', len) != NULL || memchr(user, '\0', len) != NULL ||
		   socks_limits_set_override(rt, user, len, class_name) != 0) {
		return MASS_STATUS_ERROR;
	}
	socks_limits_user_changed(rt, user, len);
	log_info("limits: user %s now in class %s", ename, class_name);
	return MASS_STATUS_OK;
}

static int host_limits_usage_reset(struct mass_ctx *ctx, const char *user, size_t len)
{
	struct socks_ctx *rt = host_limits_rt(ctx);
	struct usage_entry *e = rt ? host_limits_find(rt, user, len) : NULL;

	if (e == NULL)
		return MASS_STATUS_ERROR;
	usage_reset(rt->live.limits.usage, e, socks_limits_now_ns(), host_limits_now_s(rt));
	return MASS_STATUS_OK;
}

static void host_limits_drain_one_cb(void *arg, const struct usage_entry *e,
				     int64_t slot_start, uint64_t bytes)
{
	struct host_limits_walk *w = arg;

	w->calls++;
	w->drain(w->ctx, w->arg, e->name, e->name_len, slot_start, bytes);
}

static void host_limits_drain_one(void *arg, struct usage_entry *e)
{
	usage_drain(e, host_limits_drain_one_cb, arg);
}

static size_t host_limits_usage_drain(struct mass_ctx *ctx, mass_usage_drain_fn *fn, void *arg)
{
	struct host_limits_walk w = { ctx, host_limits_rt(ctx), NULL, fn, arg, 0, false };

	if (w.rt == NULL || w.rt->live.limits.usage == NULL || fn == NULL)
		return 0;
	usage_each(w.rt->live.limits.usage, host_limits_drain_one, &w);
	return w.calls;
}

static int host_limits_usage_fleet_set(struct mass_ctx *ctx, const char *user, size_t len,
				       int64_t period_start, uint64_t fleet_used)
{
	struct socks_ctx *rt = host_limits_rt(ctx);
	const struct limits_class *c;
	struct usage_entry *e;

	if (rt == NULL || user == NULL || rt->live.limits.usage == NULL)
		return MASS_STATUS_ERROR;
	c = socks_limits_class_of(rt, len ? user : NULL, len);
	if (c == NULL || c->quota == 0)
		return MASS_STATUS_ERROR;
	/* a user of this instance not seen yet still learns the fleet's count */
	e = usage_get(rt->live.limits.usage, user, len, c, socks_limits_now_ns(),
		      host_limits_now_s(rt));
	if (e == NULL)
		return MASS_STATUS_ERROR;
	(void)usage_fleet_set(rt->live.limits.usage, e, period_start, fleet_used,
			      socks_limits_now_ns(), host_limits_now_s(rt));
	return MASS_STATUS_OK;
}

/* "upload_rate=10M ... action=refuse", or "unlimited". */
static void host_limits_describe(const struct limits_class *c, char *buf, size_t len)
{
	static const char *const rates[] = { "upload_rate", "download_rate" };
	size_t off = 0;
	char v[32];

	buf[0] = '\0';
#define HOST_LIMITS_ADD(...) \
	do { if (off < len) off += (size_t)snprintf(buf + off, len - off, __VA_ARGS__); } while (0)
	for (int d = 0; d < 2; d++)
		if (c->rate[d]) {
			units_format(c->rate[d], v, sizeof(v));
			HOST_LIMITS_ADD("%s%s=%s", off ? " " : "", rates[d], v);
		}
	if (c->max_sessions)
		HOST_LIMITS_ADD("%smax_sessions=%u", off ? " " : "", c->max_sessions);
	if (c->max_sessions_per_address)
		HOST_LIMITS_ADD("%smax_sessions_per_address=%u", off ? " " : "",
				c->max_sessions_per_address);
	if (c->quota) {
		char p[32];

		units_format(c->quota, v, sizeof(v));
		period_format(&c->period, p, sizeof(p));
		HOST_LIMITS_ADD("%squota=%s/%s action=%s", off ? " " : "", v, p,
				limits_class_action_name(c->action));
	}
#undef HOST_LIMITS_ADD
	if (off == 0)
		snprintf(buf, len, "unlimited");
}

static size_t host_limits_class_each(struct mass_ctx *ctx, mass_class_fn *fn, void *arg)
{
	struct socks_ctx *rt = host_limits_rt(ctx);
	const struct limits_class_table *t = rt ? rt->live.limits.classes : NULL;
	size_t n = 0;
	char describe[256];

	for (size_t i = 0; t != NULL && fn != NULL && i < t->len; i++) {
		host_limits_describe(&t->list[i], describe, sizeof(describe));
		n++;
		if (fn(ctx, arg, t->list[i].name, describe) != 0)
			break;
	}
	return n;
}

void host_limits_fill(struct mass_host *t)
{
	t->usage_each = host_limits_usage_each;
	t->usage_get = host_limits_usage_get;
	t->user_class_set = host_limits_user_class_set;
	t->usage_reset = host_limits_usage_reset;
	t->usage_drain = host_limits_usage_drain;
	t->usage_fleet_set = host_limits_usage_fleet_set;
	t->class_each = host_limits_class_each;
}
