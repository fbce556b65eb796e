/*
 * host: the plugin host object and the one services table, assembled from
 * the service families (host_events.c, host_auth.c, host_loop.c,
 * host_reply.c, host_sessions.c, host_users.c, host_password.c); here the
 * few services that belong to no family: counters, switches, log, server
 * info, clock, index and plugin tables. See host.h.
 */
#include "host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "host_impl.h"
#include "host_services.h"
#include "plugins.h"
#include "socks/context.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "?"
#endif

/*
 * The loop's host. Plugin-facing paths never read this pointer (they reach
 * their host from the load: owner->host); it is how the daemon's own entry
 * points reach the host of the one loop, because they hold no handle to it
 * yet: main.c (host_services_start, host_info_set_listeners), runtime.c
 * (host_set_context), mgmt.c (host_auth_*, host_defer_*) and plugins.c's
 * core index. When those get the loop's objects passed, it moves into the
 * loop; it is process-wide state only in that sense (see owner.c for the
 * one pointer that must stay).
 */
static struct host *host_loop_host;

static void host_table_fill(struct mass_host *t);

struct host *host_get(void)
{
	struct host *h = host_loop_host;

	if (h != NULL)
		return h;
	/* made once, at the first use (main, or a test), for the process's life */
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_error("plugin host: out of memory");
		abort();
	}
	TAILQ_INIT(&h->subs);
	TAILQ_INIT(&h->providers);
	h->start_time = time(NULL);
	host_table_fill(&h->table);
	host_loop_host = h;
	return h;
}

void host_services_start(struct loop *loop)
{
	struct host *h = host_get();

	h->loop = loop;
	host_events_start(h);
}

void host_set_context(struct socks_ctx *ctx)
{
	host_get()->rt = ctx;
}

const struct mass_host *host_services(void)
{
	return &host_get()->table;
}

struct host_owner *host_owner_new(const char *name, const struct plugins *set,
				  const char *config_file, const char *plugin_dir)
{
	struct host *h = host_get();

	return owner_new(name, set, h, &h->table, config_file, plugin_dir);
}

void host_owner_release(struct host_owner *o)
{
	const char *name = o != NULL ? o->name : NULL;
	char copy[64];
	size_t n;

	snprintf(copy, sizeof(copy), "%s", name != NULL ? name : "?");
	n = owner_release(o);
	if (n > 0)
		log_debug("plugin %s: %zu registration%s released at unload", copy, n,
			  n == 1 ? "" : "s");
}

/* ---------------------------------------------------------------- server info */

void host_info_set_listeners(int kind, const struct mass_listen_addr *addrs, size_t n)
{
	struct host *h = host_get();
	struct mass_listen_addr *copy = n > 0 ? calloc(n, sizeof(*copy)) : NULL;
	size_t i;

	if (kind != 0 && kind != 1) {
		free(copy);
		return;
	}
	for (i = 0; i < h->nlisten[kind]; i++)
		free((char *)h->listen[kind][i].addr);
	free(h->listen[kind]);
	h->listen[kind] = NULL;
	h->nlisten[kind] = 0;
	if (copy == NULL)
		return;
	for (i = 0; i < n; i++) {
		copy[i].addr = strdup(addrs[i].addr != NULL ? addrs[i].addr : "");
		copy[i].port = addrs[i].port;
	}
	h->listen[kind] = copy;
	h->nlisten[kind] = n;
}

static const struct mass_server_info *host_server_info(void)
{
	static const struct mass_server_info none = { .size = sizeof(none), .version = "" };
	struct host_owner *o = owner_current();
	struct host *h = host_of(o);

	if (o == NULL)
		return &none;
	/* rebuilt at each call from what is in force: listeners are set at start */
	o->info.size = sizeof(o->info);
	o->info.version = PACKAGE_VERSION;
	o->info.start_time = (int64_t)h->start_time;
	o->info.config_file = o->config_file;
	o->info.plugin_dir = o->plugin_dir;
	o->info.nsocks = h->nlisten[0];
	o->info.socks = h->listen[0];
	o->info.nmgmt = h->nlisten[1];
	o->info.mgmt = h->listen[1];
	return &o->info;
}

static uint64_t host_now_ms(void)
{
	struct host *h = host_of(owner_current());

	return h->loop != NULL ? loop_now_ms(h->loop) : 0;
}

/* ---------------------------------------------------------------- counters, switches */

static struct socks_ctx *host_rt(void)
{
	return host_of(owner_current())->rt;
}

static uint64_t host_counter(uint8_t index)
{
	if (index < METRIC_HISTORIC_CONNECTIONS || index > METRIC_AVG_BYTES_PER_WRITE)
		return 0;
	return host_rt() != NULL ? metrics_get(host_rt()->metrics, (enum metrics_counter)index)
				 : 0;
}

static int host_auth_get(void)
{
	return host_rt() != NULL && host_rt()->live.auth;
}

static void host_auth_set(int on)
{
	struct socks_ctx *rt = host_rt();

	if (rt == NULL)
		return;
	if (rt->live.auth != (on != 0))
		log_debug("management: SOCKS authentication %s", on ? "on" : "off");
	rt->live.auth = on != 0;
}

static int host_dissectors_get(void)
{
	return host_rt() != NULL && host_rt()->live.dissectors;
}

static void host_dissectors_set(int on)
{
	struct socks_ctx *rt = host_rt();

	if (rt == NULL)
		return;
	if (rt->live.dissectors != (on != 0))
		log_debug("management: password dissectors %s", on ? "on" : "off");
	rt->live.dissectors = on != 0;
}

/* ---------------------------------------------------------------- log */

static void host_vlog(const struct host_owner *o, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void host_vlog(const struct host_owner *o, int level, const char *fmt, va_list ap)
{
	char msg[768], safe[ESCAPE_SIZE(768)];

	if (level < MASS_LOG_ERROR)
		level = MASS_LOG_ERROR;
	if (level > MASS_LOG_DEBUG)
		level = MASS_LOG_DEBUG;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* a plugin may pass on network text: one line, escaped */
	log_msg((enum log_level)level, "plugin %s: %s", o != NULL ? o->name : "?",
		escape_str(safe, sizeof(safe), msg));
}

static void host_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void host_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_vlog(owner_current(), level, fmt, ap);
	va_end(ap);
}

static void host_log_ctx(struct mass_ctx *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void host_log_ctx(struct mass_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_vlog(host_caller(ctx), level, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- index and plugin tables */

static const struct plugins *host_set(void)
{
	const struct host_owner *o = owner_current();

	return o != NULL ? o->set : NULL;
}

static int host_index_info(uint8_t index, struct mass_index_info *out)
{
	return plugins_index_info(host_set(), index, out);
}

static size_t host_plugin_count(void)
{
	return plugins_module_count(host_set());
}

static int host_plugin_info(size_t i, struct mass_plugin_info *out)
{
	return plugins_module_info(host_set(), i, out);
}

/* The one table: identity, this file's services, then each family's. */
static void host_table_fill(struct mass_host *t)
{
	t->abi_major = MASS_ABI_MAJOR;
	t->abi_minor = MASS_ABI_MINOR;
	t->size = sizeof(*t);
	t->counter = host_counter;
	t->auth_get = host_auth_get;
	t->auth_set = host_auth_set;
	t->dissectors_get = host_dissectors_get;
	t->dissectors_set = host_dissectors_set;
	t->log = host_log;
	t->server_info = host_server_info;
	t->now_ms = host_now_ms;
	t->index_info = host_index_info;
	t->plugin_count = host_plugin_count;
	t->plugin_info = host_plugin_info;
	t->log_ctx = host_log_ctx;
	host_users_fill(t);
	host_reply_fill(t);
	host_events_fill(t);
	host_auth_fill(t);
	host_loop_fill(t);
	host_sessions_fill(t);
	host_password_fill(t);
	host_limits_fill(t);
	host_upstreams_fill(t);
}
