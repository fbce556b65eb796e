/* owner: what one plugin load owns, and the running load. See owner.h. */
#include "owner.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/*
 * The load running now: the only process-wide state of the plugin host.
 * Why it must stay: the services of ABI 1.0 and 1.1 (log, subscribe,
 * timer_add, watch_add, auth_provider_add, reply_defer, users_add_async,
 * index_info, server_info, ...) take no context argument, and those ABIs
 * are frozen, so the only way for the host to know which load calls it is
 * to have named that load before calling into the plugin. 1.2 plugins pass
 * their context instead; the pointer is still set around their calls so
 * that the context-free services they may call (index_info, plugin_info,
 * users_*) behave the same. With several event loops later, it becomes
 * thread-local: each loop calls only the plugins it owns.
 */
static struct host_owner *owner_running;

static char *owner_strdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

struct host_owner *owner_new(const char *name, const void *set, void *host,
			     const struct mass_host *table, const char *config_file,
			     const char *plugin_dir)
{
	struct host_owner *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->name = owner_strdup(name);
	o->config_file = owner_strdup(config_file);
	o->plugin_dir = owner_strdup(plugin_dir);
	if (o->name == NULL || o->config_file == NULL || o->plugin_dir == NULL) {
		free(o->name);
		free(o->config_file);
		free(o->plugin_dir);
		free(o);
		return NULL;
	}
	o->ctx.size = sizeof(o->ctx);
	o->ctx.host = table;
	o->set = set;
	o->host = host;
	TAILQ_INIT(&o->res);
	return o;
}

size_t owner_release(struct host_owner *o)
{
	struct owner_res *r;
	size_t n = 0;

	if (o == NULL)
		return 0;
	while ((r = TAILQ_FIRST(&o->res)) != NULL) {
		n++;
		r->release(r);
		if (TAILQ_FIRST(&o->res) == r)
			owner_res_unlink(r);   /* a release that forgot: never loop */
	}
	if (owner_running == o)
		owner_running = NULL;
	free(o->name);
	free(o->config_file);
	free(o->plugin_dir);
	free(o);
	return n;
}

int owner_res_add(struct host_owner *o, struct owner_res *r, owner_release_fn *release)
{
	if (o == NULL)
		return -1;
	r->owner = o;
	r->release = release;
	TAILQ_INSERT_TAIL(&o->res, r, link);
	return 0;
}

void owner_res_unlink(struct owner_res *r)
{
	if (r->owner != NULL)
		TAILQ_REMOVE(&r->owner->res, r, link);
	r->owner = NULL;
}

void owner_res_move(struct owner_res *r, struct host_owner *to)
{
	owner_res_unlink(r);
	r->owner = to;
	TAILQ_INSERT_TAIL(&to->res, r, link);
}

struct host_owner *owner_of_ctx(struct mass_ctx *ctx)
{
	if (ctx == NULL)
		return NULL;
	return (struct host_owner *)(void *)((char *)ctx - offsetof(struct host_owner, ctx));
}

struct host_owner *owner_enter(struct host_owner *o)
{
	struct host_owner *prev = owner_running;

	owner_running = o;
	return prev;
}

struct host_owner *owner_current(void)
{
	return owner_running;
}
