/*
 * host_reply: deferred replies (reply_defer, reply_defer_ctx with its
 * cancel notice, reply_send) and the one place reply diagnostics live
 * (host_reply_seal).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "host_impl.h"
#include "host_services.h"
#include "mass_proto.h"

/* A deferred reply: the handle plugins see is &d->reply. */
struct host_deferred {
	struct owner_res res;
	struct host *host;
	struct mass_reply reply;           /* cast target: keep it here */
	char plugin[64];
	uint8_t index;
	host_reply_fn *fn;                 /* NULL: nobody waits */
	void *conn;
	mass_reply_cancel_fn *cancel;      /* 1.2: NULL when none, or once notified */
	void *cancel_arg;
	struct loop_timer notice;          /* runs cancel outside the detaching call */
	bool notice_armed;
	uint8_t buf[1 + MASS_REPLY_MAX];
};

size_t host_reply_seal(const char *plugin, uint8_t index, struct mass_reply *r, int status)
{
	if (r->failed)
		log_error("plugin %s: index %02X: %s", plugin, index,
			  r->why[0] ? r->why : "reply failed");
	else if (status == MASS_STATUS_PENDING)
		log_error("plugin %s: index %02X: pending without a deferred reply", plugin, index);
	else if (status < MASS_STATUS_OK || status > MASS_STATUS_USER_LIMIT)
		log_error("plugin %s: index %02X: status %d is not a reply status", plugin, index,
			  status);
	return mass_reply_finish(r, status);
}

void host_defer_arm(const char *plugin, uint8_t index)
{
	struct host *h = host_get();

	h->defer_armed = true;
	snprintf(h->defer_plugin, sizeof(h->defer_plugin), "%s", plugin != NULL ? plugin : "core");
	h->defer_index = index;
	h->deferred = NULL;
}

struct mass_reply *host_defer_take(void)
{
	struct host *h = host_get();
	struct host_deferred *d = h->deferred;

	h->defer_armed = false;
	h->deferred = NULL;
	return d != NULL ? &d->reply : NULL;
}

static struct host_deferred *host_deferred_of(struct mass_reply *r)
{
	return (struct host_deferred *)(void *)((char *)r - offsetof(struct host_deferred, reply));
}

/* Frees d; with answer, a connection still waiting is told there is no reply. */
static void host_deferred_free(struct host_deferred *d, bool answer)
{
	host_reply_fn *fn = d->fn;

	d->fn = NULL;
	if (d->notice_armed)
		loop_timer_stop(d->host->loop, &d->notice);
	owner_res_unlink(&d->res);
	if (d->host->deferred == d)
		d->host->deferred = NULL;
	if (answer && fn != NULL) {
		log_error("plugin %s: index %02X: unloaded before its deferred reply", d->plugin,
			  d->index);
		fn(d->conn, NULL, 0);
	}
	free(d);
}

/* The load ended first: the client gets 01, no cancel notice (fini is it). */
static void host_deferred_release(struct owner_res *r)
{
	host_deferred_free((struct host_deferred *)(void *)r, true);
}

static struct mass_reply *host_defer_new(struct host_owner *o, struct mass_reply *r)
{
	struct host *h = host_of(o);
	struct host_deferred *d;

	if (r == NULL || !h->defer_armed || h->deferred != NULL)
		return NULL;
	if ((d = malloc(sizeof(*d))) == NULL)
		return NULL;
	memset(d, 0, offsetof(struct host_deferred, buf));
	if (owner_res_add(o, &d->res, host_deferred_release) < 0) {
		free(d);
		return NULL;
	}
	d->host = h;
	mass_reply_init(&d->reply, d->buf, sizeof(d->buf));
	if (r->len <= sizeof(d->buf)) {
		memcpy(d->buf, r->buf, r->len);
		d->reply.len = r->len;
	}
	d->reply.failed = r->failed;
	memcpy(d->reply.why, r->why, sizeof(d->reply.why));
	memcpy(d->plugin, h->defer_plugin, sizeof(d->plugin));
	d->index = h->defer_index;
	h->deferred = d;
	return &d->reply;
}

static struct mass_reply *host_reply_defer(struct mass_reply *r)
{
	return host_defer_new(owner_current(), r);
}

static struct mass_reply *host_reply_defer_ctx(struct mass_ctx *ctx, struct mass_reply *r,
					       mass_reply_cancel_fn *cancel, void *arg)
{
	struct mass_reply *later = ctx != NULL ? host_defer_new(owner_of_ctx(ctx), r) : NULL;
	struct host_deferred *d;

	if (later != NULL) {
		d = host_deferred_of(later);
		d->cancel = cancel;
		d->cancel_arg = arg;
	}
	return later;
}

void host_defer_attach(struct mass_reply *r, host_reply_fn *fn, void *conn)
{
	struct host_deferred *d = host_deferred_of(r);

	d->fn = fn;
	d->conn = conn;
}

/* The cancel notice, in a round of its own: the plugin learns its client
 * left, as the load that deferred. */
static void host_deferred_notice(struct loop *loop, struct loop_timer *t)
{
	struct host_deferred *d = LOOP_TIMER_OWNER(t, struct host_deferred, notice);
	mass_reply_cancel_fn *cancel = d->cancel;
	struct host_owner *o = d->res.owner, *prev;

	(void)loop;
	d->notice_armed = false;
	d->cancel = NULL;   /* once */
	if (cancel == NULL || o == NULL)
		return;
	prev = owner_enter(o);
	cancel(&o->ctx, d->cancel_arg, &d->reply);   /* may reply_send: d gone */
	owner_enter(prev);
}

void host_defer_detach(struct mass_reply *r)
{
	struct host_deferred *d;
	bool waited;

	if (r == NULL)
		return;
	d = host_deferred_of(r);
	waited = d->fn != NULL;
	d->fn = NULL;
	d->conn = NULL;
	/* a client that waited and is gone (closed, reset, timed out): tell the
	 * plugin, never from inside the call that detached */
	if (waited && d->cancel != NULL && !d->notice_armed && d->host->loop != NULL) {
		d->notice_armed = true;
		loop_timer_start(d->host->loop, &d->notice, 0, host_deferred_notice);
	}
}

static int host_reply_send(struct mass_reply *r, int status)
{
	struct host_deferred *d;
	host_reply_fn *fn;
	size_t n;

	if (r == NULL)
		return -1;
	d = host_deferred_of(r);
	if (d->host->deferred == d) {
		/* sent from inside the handler that deferred it: the handler's
		 * return answers, this only frees d */
		d->host->deferred = NULL;
		host_deferred_free(d, false);
		return -1;
	}
	fn = d->fn;
	n = host_reply_seal(d->plugin, d->index, &d->reply, status);
	d->fn = NULL;
	if (fn != NULL)
		fn(d->conn, d->buf, n);
	else
		log_debug("plugin %s: index %02X: deferred reply for a client gone", d->plugin,
			  d->index);
	host_deferred_free(d, false);
	return fn != NULL ? 0 : -1;
}

void host_reply_fill(struct mass_host *t)
{
	t->reply_u8 = mass_reply_u8;
	t->reply_u32 = mass_reply_u32;
	t->reply_str = mass_reply_str;
	t->reply_bytes = mass_reply_bytes;
	t->reply_count_begin = mass_reply_count_begin;
	t->reply_count_end = mass_reply_count_end;
	t->reply_defer = host_reply_defer;
	t->reply_send = host_reply_send;
	t->reply_u64 = mass_reply_u64;
	t->reply_defer_ctx = host_reply_defer_ctx;
}
