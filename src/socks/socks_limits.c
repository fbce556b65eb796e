/* socks_limits: per-user limits applied by the SOCKS engine. See socks_limits.h. */
#include "socks_limits.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/loop.h"
#include "limits/quota_store.h"
#include "socks/context.h"

uint64_t socks_limits_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t socks_limits_now_s(const struct socks_ctx *ctx)
{
	return limits_clock_now(&ctx->live.limits.clock);
}

/* The usage table, made on first use. NULL when out of memory (then unlimited). */
static struct usage_table *socks_limits_table(struct socks_ctx *ctx)
{
	struct socks_limits_live *lv = &ctx->live.limits;

	if (lv->usage == NULL && (lv->usage = usage_create()) == NULL)
		log_warn("limits: out of memory for the usage table; serving unlimited");
	return lv->usage;
}

const char *socks_limits_override(const struct socks_ctx *ctx, const char *user, size_t len)
{
	const struct socks_limits_live *lv = &ctx->live.limits;

	for (size_t i = 0; i < lv->nover; i++)
		if (strlen(lv->over[i].name) == len && memcmp(lv->over[i].name, user, len) == 0)
			return lv->over[i].cls;
	return NULL;
}

int socks_limits_set_override(struct socks_ctx *ctx, const char *user, size_t len,
			      const char *cls)
{
	struct socks_limits_live *lv = &ctx->live.limits;
	struct socks_limits_override *o;

	for (size_t i = 0; i < lv->nover; i++)
		if (strlen(lv->over[i].name) == len && memcmp(lv->over[i].name, user, len) == 0) {
			snprintf(lv->over[i].cls, sizeof(lv->over[i].cls), "%s", cls);
			return 0;
		}
	if (lv->nover == lv->capover) {
		size_t cap = lv->capover ? lv->capover * 2 : 8;

		if (!(o = realloc(lv->over, cap * sizeof(*o))))
			return -1;
		lv->over = o;
		lv->capover = cap;
	}
	o = &lv->over[lv->nover];
	if (!(o->name = strndup(user, len)))
		return -1;
	snprintf(o->cls, sizeof(o->cls), "%s", cls);
	lv->nover++;
	return 0;
}

const struct limits_class *socks_limits_class_of(const struct socks_ctx *ctx,
						 const char *user, size_t len)
{
	return socks_limits_class_in(ctx, ctx->live.limits.classes, user, len);
}

const struct limits_class *socks_limits_class_in(const struct socks_ctx *ctx,
						 const struct limits_class_table *t,
						 const char *user, size_t len)
{
	const struct limits_class *c = NULL;
	const char *name = NULL;
	long i;

	if (t == NULL || t->len == 0)
		return NULL;
	if (t->len == 1)
		return &t->list[0];   /* only default: no user can be in another */
	if (user != NULL) {
		i = users_find(&ctx->live.users, user, len);
		name = i >= 0 ? ctx->live.users.list[i].cls : socks_limits_override(ctx, user, len);
	}
	if (name != NULL)
		c = limits_class_table_find(t, name);
	return c != NULL ? c : &t->list[0];
}

/* lookup for usage_reclass(): the class of an entry's user ("" is unauthenticated). */
static const struct limits_class *socks_limits_lookup(void *arg, const char *name, size_t len)
{
	return socks_limits_class_of(arg, len ? name : NULL, len);
}

void socks_limits_reclass(struct socks_ctx *ctx, const struct limits_class_table *t)
{
	struct socks_limits_live *lv = &ctx->live.limits;

	lv->classes = t;
	lv->gen++;
	if (lv->usage != NULL &&
	    usage_reclass(lv->usage, socks_limits_lookup, ctx, socks_limits_now_ns(),
			  socks_limits_now_s(ctx)) != 0)
		log_warn("limits: out of memory while applying the classes; some users keep "
			 "their old quota period");
}

void socks_limits_user_changed(struct socks_ctx *ctx, const char *user, size_t len)
{
	struct socks_limits_live *lv = &ctx->live.limits;
	struct usage_entry *e = lv->usage ? usage_find(lv->usage, user, len) : NULL;

	lv->gen++;
	if (e != NULL)
		usage_set_class(lv->usage, e, socks_limits_class_of(ctx, user, len),
				socks_limits_now_ns(), socks_limits_now_s(ctx));
}

/* The client's address as usage counts it: 16 octets, IPv4 v4-mapped. */
static void socks_limits_addr(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

/* A hold on entry e for owner; NULL when out of memory. */
static struct socks_limit *socks_limits_new(struct usage_entry *e, void *owner)
{
	struct socks_limit *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->entry = e;
	l->owner = owner;
	l->relay.bucket[RELAY_TO_UPSTREAM] = &e->bucket[LIMITS_UP];
	l->relay.bucket[RELAY_TO_CLIENT] = &e->bucket[LIMITS_DOWN];
	l->relay.quota_left = UINT64_MAX;
	return l;
}

/* The entry of user under its class now; NULL: unlimited. */
static struct usage_entry *socks_limits_entry(struct socks_ctx *ctx, const char *user)
{
	size_t len = user ? strlen(user) : 0;
	const struct limits_class *c = socks_limits_class_of(ctx, user, len);
	struct usage_table *t;

	if (c == NULL || !limits_class_limited(c) || (t = socks_limits_table(ctx)) == NULL)
		return NULL;
	return usage_get(t, user ? user : "", len, c, socks_limits_now_ns(),
			 socks_limits_now_s(ctx));
}

enum usage_verdict socks_limits_open(struct socks_ctx *ctx, struct socks_limit **l,
				     void *owner, const char *user,
				     const struct sockaddr *client, unsigned *gen)
{
	struct usage_entry *e = socks_limits_entry(ctx, user);
	struct usage_ticket ticket;
	enum usage_verdict v;
	uint8_t addr[16];

	*l = NULL;
	*gen = ctx->live.limits.gen;
	if (e == NULL)
		return USAGE_OK;
	socks_limits_addr(client, addr);
	v = usage_session_open(ctx->live.limits.usage, e, addr, socks_limits_now_s(ctx),
			       &ticket);
	if (v != USAGE_OK)
		return v;
	if ((*l = socks_limits_new(e, owner)) == NULL) {
		usage_session_close(ctx->live.limits.usage, &ticket);
		log_warn("limits: out of memory; a session of class %s served unlimited",
			 e->cls ? e->cls->name : LIMITS_CLASS_DEFAULT);
		return USAGE_OK;
	}
	(*l)->ticket = ticket;
	return USAGE_OK;
}

bool socks_limits_attach(struct socks_ctx *ctx, struct socks_limit **l, void *owner,
			 const char *user, unsigned *gen)
{
	struct usage_entry *e;

	*gen = ctx->live.limits.gen;
	if (*l != NULL || (e = socks_limits_entry(ctx, user)) == NULL ||
	    (*l = socks_limits_new(e, owner)) == NULL)
		return false;
	/* already running: counted whatever the limits say (they apply from now) */
	e->sessions++;
	(*l)->ticket.entry = e;
	return true;
}

void socks_limits_prepare(struct socks_ctx *ctx, struct socks_limit *l)
{
	const struct limits_class *c = l->entry->cls;

	l->relay.now_ns = socks_limits_now_ns();
	l->relay.stopped[0] = l->relay.stopped[1] = false;
	/* only quota_action = close stops a live tunnel at the quota */
	l->relay.quota_left = c && c->quota && c->action == LIMITS_CLOSE ?
		usage_quota_left(ctx->live.limits.usage, l->entry, socks_limits_now_s(ctx)) :
		UINT64_MAX;
}

bool socks_limits_account(struct socks_ctx *ctx, struct socks_limit *l,
			  const uint64_t bytes[2])
{
	bool crossed = false;
	const struct limits_class *c;

	for (int d = 0; d < 2; d++) {
		uint64_t n = bytes[d] - l->counted[d];

		if (n == 0)
			continue;
		l->counted[d] = bytes[d];
		crossed |= usage_add(ctx->live.limits.usage, l->entry,
				     d == RELAY_TO_UPSTREAM ? LIMITS_UP : LIMITS_DOWN, n,
				     l->relay.now_ns, socks_limits_now_s(ctx));
	}
	c = l->entry->cls;
	return crossed && c != NULL && c->action == LIMITS_CLOSE;
}

/*
 * Nanoseconds until b holds three quarters of its burst: a stopped tunnel
 * wakes for a chunk that large, so a limited flow costs few system calls
 * per byte, and the quarter left is room for a timer that fires late
 * (the loop counts milliseconds) before the cap at burst loses anything.
 */
static uint64_t socks_limits_wait_bucket(struct bucket *b, uint64_t now)
{
	__extension__ typedef unsigned __int128 u128;
	uint64_t target = b->burst - b->burst / 4;

	(void)bucket_wait_ns(b, now, 1);   /* refills the bucket to now */
	if (b->tokens >= target)
		return 0;
	/* as bucket_wait_ns: bytes missing less the fraction earned, in 128 bits */
	return (uint64_t)(((u128)(target - b->tokens) * BUCKET_NS - b->carry + b->rate - 1) /
			  b->rate);
}

/*
 * The slack of b in milliseconds: how late a wake may come before the cap
 * at burst loses tokens (the quarter of the burst left at the target).
 */
static uint64_t socks_limits_slack_ms(const struct bucket *b)
{
	return (b->burst / 4) / (b->rate / 1000 + 1);
}

uint64_t socks_limits_wait_ms(struct socks_ctx *ctx, struct socks_limit *l)
{
	uint64_t now = socks_limits_now_ns(), wait = 0, grid = SOCKS_LIMITS_GRID_MS;

	for (int d = 0; d < 2; d++) {
		struct bucket *b = l->relay.bucket[d];

		if (l->relay.stopped[d] && b != NULL && bucket_limited(b)) {
			uint64_t w = socks_limits_wait_bucket(b, now);
			uint64_t half_slack = socks_limits_slack_ms(b) / 2;

			if (wait == 0 || (w > 0 && w < wait))
				wait = w;
			if (half_slack < grid)
				grid = half_slack;
		}
	}
	wait = (wait + 999999) / 1000000;
	/*
	 * On the loop's clock, the wake is rounded up to the grid, so that the
	 * tunnels of many users stopped at about the same time resume in one
	 * loop round rather than one wakeup each; never by more than half the
	 * slack, so the rate loses nothing.
	 */
	if (grid > 1 && ctx->loop != NULL) {
		uint64_t at = loop_now_ms(ctx->loop) + wait;

		wait += (grid - at % grid) % grid;
	}
	return wait ? wait : 1;
}

bool socks_limits_datagram(struct socks_ctx *ctx, struct socks_limit *l, int dir,
			   size_t len)
{
	struct bucket *b = l->relay.bucket[dir];
	uint64_t now = socks_limits_now_ns();
	bool crossed;

	socks_limits_prepare(ctx, l);
	if (l->relay.quota_left < len) {
		/* quota_left is finite only under quota_action = close */
		l->quota_close = true;
		return false;
	}
	if (b != NULL && bucket_limited(b)) {
		uint64_t got = bucket_take(b, now, len);

		if (got < len) {
			/* a datagram goes whole or not at all: a partial grant goes back */
			bucket_return(b, got);
			return false;
		}
	}
	l->counted[dir] += len;
	crossed = usage_add(ctx->live.limits.usage, l->entry,
			    dir == RELAY_TO_UPSTREAM ? LIMITS_UP : LIMITS_DOWN, len, now,
			    socks_limits_now_s(ctx));
	if (crossed && l->entry->cls != NULL && l->entry->cls->action == LIMITS_CLOSE)
		l->quota_close = true;   /* this one goes; the association ends */
	return true;
}

void socks_limits_close(struct socks_ctx *ctx, struct socks_limit **l)
{
	if (*l == NULL)
		return;
	loop_timer_stop(ctx->loop, &(*l)->wake);
	if (ctx->live.limits.usage != NULL)
		usage_session_close(ctx->live.limits.usage, &(*l)->ticket);
	free(*l);
	*l = NULL;
}

int socks_limits_start(struct socks_ctx *ctx, const char *quota_file, unsigned flush_s,
		       const struct trusted_policy *trust, char *err, size_t errlen)
{
	struct socks_limits_live *lv = &ctx->live.limits;
	int rc = limits_clock_from_env(&lv->clock, err, errlen);

	if (rc < 0)
		return -1;
	if (rc > 0)
		log_warn("limits: %s=%lld moves the quota clock (a test-only hook; "
			 "not for production)", LIMITS_CLOCK_ENV, (long long)lv->clock.offset);
	lv->flush_s = flush_s ? flush_s : 5;
	lv->trust = *trust;
	/* the first flush one interval after start, not at the first tick */
	lv->flushed_ms = ctx->loop != NULL ? loop_now_ms(ctx->loop) : 0;
	if (quota_file == NULL)
		return 0;
	if (!(lv->quota_file = strdup(quota_file)) || !socks_limits_table(ctx)) {
		snprintf(err, errlen, "%s: %s", quota_file, strerror(ENOMEM));
		return -1;
	}
	rc = quota_store_load(lv->usage, quota_file, socks_limits_now_s(ctx), &lv->trust,
			      err, errlen);
	if (rc < 0)
		return -1;
	if (rc > 0)
		log_info("limits: quota usage of %zu users loaded from %s", usage_count(lv->usage),
			 quota_file);
	usage_clear_dirty(lv->usage);
	return 0;
}

void socks_limits_tick(struct socks_ctx *ctx, bool force)
{
	struct socks_limits_live *lv = &ctx->live.limits;
	uint64_t now_ms = force || ctx->loop == NULL ? 0 : loop_now_ms(ctx->loop);
	char err[512];

	if (lv->usage == NULL)
		return;
	usage_tick(lv->usage, socks_limits_now_ns(), socks_limits_now_s(ctx));
	if (lv->quota_file != NULL && usage_dirty(lv->usage) &&
	    (force || now_ms - lv->flushed_ms >= (uint64_t)lv->flush_s * 1000u)) {
		lv->flushed_ms = now_ms;
		if (quota_store_save(lv->usage, lv->quota_file, &lv->trust, err, sizeof(err)) != 0)
			log_warn("limits: quota usage not saved: %s", err);
	}
	/* entries without sessions, class or usage: after the save, which skipped them */
	usage_prune(lv->usage);
}

void socks_limits_free(struct socks_limits_live *lv)
{
	usage_destroy(lv->usage);
	for (size_t i = 0; i < lv->nover; i++)
		free(lv->over[i].name);
	free(lv->over);
	free(lv->quota_file);
	memset(lv, 0, sizeof(*lv));
}
