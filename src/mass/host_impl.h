/*
 * host_impl: the plugin host's own object, shared by the files of the host
 * (host.c and one host_*.c per service family) and by nothing else.
 *
 * struct host holds every piece of mutable state the services need: the
 * loop, the runtime context, the services table, the listeners of the
 * server info, the subscriptions, the providers, the handler call that may
 * defer. One host serves one loop. Plugin-facing code reaches it from the
 * load (owner->host, or the context of a 1.2 call); the daemon's entry
 * points (mgmt.c, main.c, runtime.c, which hold no handle to it yet) reach
 * the loop's host through host_get() (see host.c).
 *
 * Each family fills its part of the table (host_*_fill) and releases its
 * own registrations (their owner_res release functions): no switch on a
 * kind anywhere.
 */
#ifndef MASS_HOST_IMPL_H
#define MASS_HOST_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "mass/plugin.h"
#include "owner.h"

struct loop;
struct socks_ctx;
struct host_deferred;

struct host {
	struct loop *loop;                 /* NULL until host_services_start */
	struct socks_ctx *rt;              /* the SOCKS context (host_set_context); NULL: none */
	struct acl_live *self_live;        /* host_services_set_self (host_loop.c); NULL: none */
	struct mass_host table;            /* the one services table */
	time_t start_time;
	struct mass_listen_addr *listen[2];/* SOCKS (0) and MASS (1) listeners */
	size_t nlisten[2];
	/* host_events.c */
	TAILQ_HEAD(, mass_subscription) subs;
	unsigned nsubs[MASS_EVENT_TYPES];
	unsigned delivering;               /* emission depth */
	bool sub_dead;                     /* some subscription awaits its free */
	/* host_auth.c */
	TAILQ_HEAD(, mass_provider) providers;
	/* host_reply.c: the handler call reply_defer may defer */
	bool defer_armed;
	char defer_plugin[64];
	uint8_t defer_index;
	struct host_deferred *deferred;
};

/* The loop's host (made at first use). */
struct host *host_get(void);

/* The load calling a service: ctx's when given (1.2), else the running one. */
static inline struct host_owner *host_caller(struct mass_ctx *ctx)
{
	return ctx != NULL ? owner_of_ctx(ctx) : owner_current();
}

/* The host serving o (the loop's host when o is NULL: the core). */
static inline struct host *host_of(const struct host_owner *o)
{
	return o != NULL && o->host != NULL ? (struct host *)o->host : host_get();
}

/* Each family's part of the services table. */
void host_events_fill(struct mass_host *t);
void host_auth_fill(struct mass_host *t);
void host_loop_fill(struct mass_host *t);
void host_reply_fill(struct mass_host *t);
void host_sessions_fill(struct mass_host *t);
void host_users_fill(struct mass_host *t);
void host_password_fill(struct mass_host *t);
void host_limits_fill(struct mass_host *t);
void host_upstreams_fill(struct mass_host *t);

/* host_auth.c: the providers as the SOCKS engine asks them (core/events.h's
 * events_host; ctx is the struct host). */
bool host_auth_has(void *ctx, int realm);
void *host_auth_ask_hook(void *ctx, const struct mass_auth_query *q,
			 void (*done)(void *arg, int verdict), void *arg, int *verdict);
void host_auth_cancel_hook(void *ctx, void *pending);

/* host_events.c: installs the host as the SOCKS engine's events side. */
void host_events_start(struct host *h);

#endif
