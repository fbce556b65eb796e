/* runtime: the snapshot in force and reload as one transaction. See runtime.h. */
#include "runtime.h"

#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/cred.h"
#include "auth/verify.h"
#include "core/log.h"
#include "core/net.h"
#include "core/pool.h"
#include "mass/host.h"
#include "mass/plugins.h"
#include "socks/acl.h"
#include "socks/routes.h"
#include "socks/session.h"
#include "socks/socks_limits.h"

/* A snapshot being built, with the users store that goes live with it. */
struct runtime_candidate {
	struct runtime *rt;
	struct users users;
	bool new_users;         /* users replaces the live store */
};

/*
 * Adds "name = password" entries; a bad entry was already refused by the
 * config loader. A plaintext one from mass.ini (section set) is warned about.
 */
static int runtime_add_list(struct users *u, const struct config_list *list, bool persist,
			    const struct config *cfg, const char *section, char *err,
			    size_t errlen)
{
	for (size_t i = 0; i < list->len; i++) {
		const struct config_kv *kv = &list->items[i];
		enum users_result r = users_add(u, kv->key, strlen(kv->key), kv->value,
						strlen(kv->value), persist, err, errlen);

		if (section && r == USERS_OK && !cred_is_hash(kv->value, strlen(kv->value)))
			cred_warn_plain(cfg->path ? cfg->path : "mass.ini", kv->line, section,
					kv->key, 0);
		/* [users] NAME = PASSWORD class=CLASS (config.h) */
		if (list == &cfg->users && r == USERS_OK && config_user_class(cfg, kv->key) &&
		    users_set_class(u, u->len - 1, config_user_class(cfg, kv->key), false,
				    err, errlen) != USERS_OK) {
			snprintf(err, errlen, "user '%s': out of memory", kv->key);
			return -1;
		}
		if (r == USERS_EXISTS) {
			log_info("user '%s' already known; keeping the stored password", kv->key);
			continue;
		}
		if (r == USERS_FULL) {
			snprintf(err, errlen, "user '%s': more users than max_users (%u)",
				 kv->key, u->max);
			return -1;
		}
		if (r != USERS_OK) {
			if (r != USERS_IO)
				snprintf(err, errlen, "user '%s': cannot be added", kv->key);
			return -1;
		}
	}
	return 0;
}

/* How files socks5d loads or rewrites are opened (core/trusted_file.h). */
struct trusted_policy runtime_trust(const struct config *cfg)
{
	struct trusted_policy pol = { cfg->strict_files, (uid_t)-1 };
	const struct passwd *pw = cfg->user != NULL ? getpwnam(cfg->user) : NULL;

	if (pw != NULL)
		pol.service_uid = pw->pw_uid;
	return pol;
}

/*
 * The SOCKS users store for cfg: from users_file when it exists (then
 * [users] is ignored, with a log line), else from [users], creating
 * users_file when it is set; -u users are added last and persisted.
 * With check (socks5d -t) no file is written. Returns 0, or -1 with err
 * set and u freed.
 */
static int runtime_build_users(struct users *u, const struct config *cfg,
			       const struct config_list *cli_users, bool check, char *err,
			       size_t errlen)
{
	int loaded;

	if (users_init(u, cfg->max_users, cfg->users_file) < 0 ||
	    users_set_hash(u, cfg->password_hash, cfg->password_cost) < 0) {
		users_free(u);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	u->trust = runtime_trust(cfg);
	if (cfg->users_file == NULL) {
		if (runtime_add_list(u, &cfg->users, false, cfg, "users", err, errlen) < 0 ||
		    runtime_add_list(u, cli_users, false, cfg, NULL, err, errlen) < 0)
			goto fail;
		return 0;
	}
	loaded = users_load(u, err, errlen);
	if (loaded < 0)
		goto fail;
	if (loaded) {
		if (cfg->users.len > 0)
			log_info("users come from %s; [users] in %s is ignored",
				 cfg->users_file, cfg->path ? cfg->path : "mass.ini");
	} else {
		if (runtime_add_list(u, &cfg->users, false, cfg, "users", err, errlen) < 0 ||
		    (!check && users_save(u, err, errlen) < 0))
			goto fail;
		log_info("%s users file %s with %zu users", check ? "would create" : "created",
			 cfg->users_file, u->len);
	}
	if (runtime_add_list(u, cli_users, !check, cfg, NULL, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	users_free(u);
	return -1;
}

/* The management credentials from [admins]. Returns 0, or -1 with err set. */
static int runtime_build_admins(struct users *u, const struct config *cfg, char *err,
				size_t errlen)
{
	if (users_init(u, CONFIG_MAX_USERS_LIMIT, NULL) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (runtime_add_list(u, &cfg->admins, false, cfg, "admins", err, errlen) < 0) {
		users_free(u);
		return -1;
	}
	return 0;
}

static bool runtime_same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The users part of a candidate (rules in runtime.h). Returns 0 or -1 (err set). */
static int runtime_build_users_part(const struct runtime_ctx *ctx, struct runtime_candidate *c,
				    char *err, size_t errlen)
{
	const struct config *cfg = &c->rt->cfg;
	const struct runtime *old = ctx->rt;

	if (old == NULL || (cfg->users_file == NULL && old->cfg.users_file == NULL)) {
		if (runtime_build_users(&c->users, cfg, &ctx->opts.cli_users, ctx->opts.check,
					err, errlen) < 0)
			return -1;
		c->new_users = true;
		return 0;
	}
	if (!runtime_same_string(cfg->users_file, old->cfg.users_file))
		log_warn("reload: a change of users_file needs a restart");
	return 0;
}

/*
 * The ACL of cfg behind the built-in rules: socks5d's listeners as bound,
 * and the host's addresses as they are now (a wildcard listener is
 * reachable on each). Returns the ACL, or NULL with err set.
 */
static struct acl *runtime_build_acl(const struct runtime_ctx *ctx, const struct config *cfg,
				     char *err, size_t errlen)
{
	/* 32 KiB: on the heap, only while the ACL is compiled */
	struct sockaddr_storage *local = calloc(ACL_LOCAL_MAX, sizeof(*local));
	struct acl_self self = { ctx->self, ctx->nself, local, 0, ctx->socks.self_live };
	struct acl_rules rules;
	struct acl *acl;
	int n;

	if (local == NULL || config_acl_rules(cfg, &rules) < 0) {
		free(local);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = net_local_addrs(local, ACL_LOCAL_MAX);
	if (n < 0)
		log_warn("acl: the host's addresses cannot be listed (%s); the built-in rules "
			 "cover loopback and the listen addresses only", strerror(errno));
	self.nlocal = n > 0 ? (size_t)n : 0;
	acl = acl_compile(&rules, &self, err, errlen);
	free((void *)rules.items);
	free(local);
	if (acl != NULL)
		log_info("acl: %zu built-in rules: no client reaches socks5d's %zu listeners on "
			 "any of the host's %zu local addresses; %zu rules from [acl]",
			 acl_builtin_count(acl), ctx->nself, self.nlocal,
			 acl_rule_count(acl) - acl_builtin_count(acl));
	return acl;
}

static void runtime_free(struct runtime *rt)
{
	plugins_free(rt->plugins);
	acl_free(rt->acl);
	routes_free(rt->routes);
	users_free(&rt->admins);
	config_free(&rt->cfg);
	free(rt);
}

/* The egress, egress_mode and route keys of the classes, into r. Returns 0 or -1. */
static int runtime_route_classes(const struct config *cfg, struct routes *r, char *err,
				 size_t errlen)
{
	const struct config_list *lists[3] = { &cfg->class_egress, &cfg->class_egress_mode,
						&cfg->class_route };
	size_t max = lists[0]->len + lists[1]->len + lists[2]->len, n = 0;
	struct routes_class_text *t = max ? calloc(max, sizeof(*t)) : NULL;
	int rc;

	if (max > 0 && t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < lists[k]->len; i++) {
			const struct config_kv *kv = &lists[k]->items[i];
			size_t j = 0;

			while (j < n && strcmp(t[j].cls, kv->key) != 0)
				j++;
			if (j == n)
				t[n++].cls = kv->key;
			if (k == 0)
				t[j].egress = kv->value;
			else if (k == 1)
				t[j].mode = kv->value;
			else
				t[j].route = kv->value;
			t[j].line = kv->line;
		}
	}
	rc = routes_set_classes(r, t, n, cfg->path, err, errlen);
	free(t);
	return rc;
}

/*
 * [upstreams] and [routes], taking over the failover state of the parents
 * old has unchanged. Returns the routes, or NULL with err set.
 */
static struct routes *runtime_build_routes(const struct config *cfg, const struct runtime *old,
					   char *err, size_t errlen)
{
	const struct config_list *lists[2] = { &cfg->upstreams, &cfg->routes };
	struct routes_text *t[2] = { NULL, NULL };
	struct routes *r = NULL;

	for (int k = 0; k < 2; k++) {
		if (lists[k]->len > 0 && (t[k] = calloc(lists[k]->len, sizeof(*t[k]))) == NULL)
			goto oom;
		for (size_t i = 0; i < lists[k]->len; i++)
			t[k][i] = (struct routes_text){ lists[k]->items[i].key,
							lists[k]->items[i].value,
							lists[k]->items[i].line };
	}
	r = routes_build(t[0], cfg->upstreams.len, t[1], cfg->routes.len, cfg->path,
			 old != NULL ? old->routes : NULL, err, errlen);
	free(t[0]);
	free(t[1]);
	if (r != NULL && runtime_route_classes(cfg, r, err, errlen) < 0) {
		routes_free(r);
		return NULL;
	}
	return r;
oom:
	free(t[0]);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/* The snapshot's destroy (core/snapshot.h): its last holder is gone. */
static void runtime_destroy(struct snapshot *snap)
{
	runtime_free((struct runtime *)((char *)snap - offsetof(struct runtime, snap)));
}

/* The views the lower layers read, pointing into rt's own parts. */
static void runtime_fill_views(struct runtime *rt)
{
	const struct config *cfg = &rt->cfg;

	rt->socks = (struct socks_policy){
		.snap = &rt->snap,
		.acl = rt->acl,
		.connect_timeout = cfg->connect_timeout,
		.idle_timeout = cfg->idle_timeout,
		.handshake_timeout = cfg->handshake_timeout,
		.fin_timeout = cfg->fin_timeout,
		.max_clients = cfg->max_clients,
		.commands = cfg->commands,
		.proxy_nets = cfg->proxy_protocol.nets,
		.proxy_len = cfg->proxy_protocol.len,
		.dissector_ports = cfg->dissector_ports,
		.http_connect = cfg->http_connect,
		.routes = rt->routes,
		.classes = &cfg->classes,
	};
	rt->mgmt = (struct mgmt_settings){
		.auth = cfg->mgmt_auth,
		.timeout = cfg->mgmt_timeout,
		.max_connections = cfg->mgmt_max_connections,
		.max_unauthenticated = cfg->mgmt_max_unauthenticated,
		.admins = &rt->admins,
		.plugins = rt->plugins,
	};
}

static int runtime_check_classes(const struct runtime_ctx *ctx,
				 const struct runtime_candidate *c, char *err, size_t errlen);

/*
 * Builds every part of a candidate from cfg (taken over) against the
 * context's snapshot in force (NULL at start). Returns 0, or -1 with err set
 * and nothing left allocated.
 */
static int runtime_build(const struct runtime_ctx *ctx, struct config *cfg,
			 struct runtime_candidate *c, char *err, size_t errlen)
{
	const struct runtime *old = ctx->rt;
	struct runtime *rt = calloc(1, sizeof(*rt));

	memset(c, 0, sizeof(*c));
	if (rt == NULL) {
		config_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	atomic_init(&rt->snap.refs, 1);
	rt->snap.destroy = runtime_destroy;
	rt->cfg = *cfg;
	config_defaults(cfg);
	c->rt = rt;
	/* the sockets stay bound where they are: the ACL's built-in rule too */
	if (old != NULL && !config_same_listen(&rt->cfg, &old->cfg)) {
		log_warn("reload: listen addresses and ports need a restart; keeping the old ones");
		if (config_copy_listen(&rt->cfg, &old->cfg) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	rt->auth = rt->cfg.auth;
	rt->dissectors = rt->cfg.dissectors && !ctx->opts.no_dissectors;
	if ((rt->acl = runtime_build_acl(ctx, &rt->cfg, err, errlen)) == NULL ||
	    (rt->routes = runtime_build_routes(&rt->cfg, old, err, errlen)) == NULL ||
	    runtime_build_admins(&rt->admins, &rt->cfg, err, errlen) < 0)
		goto fail;
	if (runtime_build_users_part(ctx, c, err, errlen) < 0 ||
	    runtime_check_classes(ctx, c, err, errlen) < 0)
		goto fail;
	/* plugins last: their init is the one step with effects outside */
	rt->plugins = runtime_plugins_load(&rt->cfg, old == NULL ? PLUGINS_START : PLUGINS_RELOAD,
				   err, errlen);
	if (rt->plugins == NULL)
		goto fail;
	runtime_fill_views(rt);
	return 0;
fail:
	if (c->new_users)
		users_free(&c->users);
	runtime_free(rt);
	memset(c, 0, sizeof(*c));
	return -1;
}

/*
 * Every user the store that will serve holds, and every class set for a
 * provider's user, must name a class of cfg: a class removed while users
 * hold it refuses the configuration. Returns 0, or -1 with err set.
 */
static int runtime_check_classes(const struct runtime_ctx *ctx,
				 const struct runtime_candidate *c, char *err, size_t errlen)
{
	const struct config *cfg = &c->rt->cfg;
	const struct users *u = c->new_users ? &c->users : &ctx->socks.live.users;
	const struct socks_limits_live *lv = &ctx->socks.live.limits;

	for (size_t i = 0; i < u->len; i++) {
		const struct user *user = &u->list[i];

		if (user->cls == NULL || limits_class_table_find(&cfg->classes, user->cls))
			continue;
		if (user->line > 0 && u->file != NULL)
			snprintf(err, errlen, "%s:%u: user %s: class %s is not defined in %s "
				 "(no [class %s] section)", u->file, user->line, user->name,
				 user->cls, cfg->path ? cfg->path : "mass.ini", user->cls);
		else
			snprintf(err, errlen, "user %s holds class %s, which %s does not define "
				 "(no [class %s] section)", user->name, user->cls,
				 cfg->path ? cfg->path : "mass.ini", user->cls);
		return -1;
	}
	for (size_t i = 0; i < lv->nover; i++)
		if (!limits_class_table_find(&cfg->classes, lv->over[i].cls)) {
			snprintf(err, errlen, "user %s holds class %s (set over MASS), which %s "
				 "does not define", lv->over[i].name, lv->over[i].cls,
				 cfg->path ? cfg->path : "mass.ini");
			return -1;
		}
	return 0;
}

/* The 1 s tick of the per-user limits (socks_limits.h). */
static void runtime_limits_tick(struct loop *loop, struct loop_timer *t)
{
	struct runtime_ctx *ctx = LOOP_TIMER_OWNER(t, struct runtime_ctx, limits_tick);

	session_limits_tick(&ctx->socks);
	loop_timer_start(loop, t, 1000, runtime_limits_tick);
}

/* Puts a complete candidate in force; cannot fail. */
static void runtime_swap(struct runtime_ctx *ctx, struct runtime_candidate *c)
{
	struct runtime *old = (struct runtime *)ctx->rt;

	ctx->rt = c->rt;
	ctx->socks.policy = &c->rt->socks;
	ctx->mgmt.settings = &c->rt->mgmt;
	if (c->new_users) {
		users_free(&ctx->socks.live.users);
		ctx->socks.live.users = c->users;
	} else {
		ctx->socks.live.users.max = c->rt->cfg.max_users;
	}
	/* the cap on what stalled tunnels may hold in pipes ([socks] max_buffer_memory, MiB) */
	if (ctx->socks.pool != NULL)
		pool_set_pipe_limit(ctx->socks.pool, (size_t)c->rt->cfg.max_buffer_memory << 20);
	ctx->socks.live.auth = c->rt->auth;
	ctx->socks.live.dissectors = c->rt->dissectors;
	/* remembered logins were checked against the old stores */
	if (ctx->socks.verify)
		verify_cache_clear(ctx->socks.verify);
	host_set_context(&ctx->socks);
	/* the users' classes in the new table, live tunnels included, now */
	socks_limits_reclass(&ctx->socks, &c->rt->cfg.classes);
	ctx->socks.live.limits.flush_s = c->rt->cfg.quota_flush;
	if (old != NULL && !runtime_same_string(old->cfg.quota_file, c->rt->cfg.quota_file))
		log_warn("reload: a change of quota_file needs a restart");
	if (ctx->socks.loop != NULL && !ctx->opts.check && !loop_timer_armed(&ctx->limits_tick))
		loop_timer_start(ctx->socks.loop, &ctx->limits_tick, 1000, runtime_limits_tick);
	if (old != NULL) {
		/* the new set is initialised; the old one ends now, not with its last holder */
		plugins_free(old->plugins);
		old->plugins = NULL;
		runtime_release(old);
	}
}

int runtime_apply(struct runtime_ctx *ctx, struct config *cfg, char *err, size_t errlen)
{
	struct runtime_candidate c;

	/* quota usage from quota_file, once, before the first snapshot */
	if (ctx->rt == NULL) {
		struct trusted_policy trust = runtime_trust(cfg);

		if (socks_limits_start(&ctx->socks, ctx->opts.check ? NULL : cfg->quota_file,
				       cfg->quota_flush, &trust, err, errlen) < 0) {
			config_free(cfg);
			return -1;
		}
	}
	if (runtime_build(ctx, cfg, &c, err, errlen) < 0)
		return -1;
	runtime_swap(ctx, &c);
	return 0;
}

void runtime_ctx_free(struct runtime_ctx *ctx)
{
	if (ctx->socks.loop != NULL)
		loop_timer_stop(ctx->socks.loop, &ctx->limits_tick);
	/* the final flush of quota_file, sessions already closed (and counted) */
	socks_limits_tick(&ctx->socks, true);
	host_set_context(NULL);
	runtime_release(ctx->rt);
	ctx->rt = NULL;
	ctx->socks.policy = NULL;
	ctx->mgmt.settings = NULL;
	users_free(&ctx->socks.live.users);
	socks_limits_free(&ctx->socks.live.limits);
	config_list_clear(&ctx->opts.cli_users);
	verify_pool_destroy(ctx->socks.verify);
	ctx->socks.verify = NULL;
}

/* Builds the spec from cfg: [indexes] ascending, [plugin NAME] sections copied
 * into the ABI's item layout. Frees with runtime_plugins_spec_free(). */
static int runtime_plugins_spec(const struct config *cfg, struct plugins_spec *spec,
			     struct plugins_index_line *lines, struct plugins_section **sections)
{
	struct mass_config_item *items;
	struct plugins_section *s;
	size_t i, j, n = 0;

	for (i = 0; i < 256; i++)
		if (cfg->indexes[i] != NULL) {
			lines[n].index = (unsigned)i;
			lines[n].plugin = cfg->indexes[i];
			lines[n].line = cfg->index_lines[i] > 0 ? (unsigned)cfg->index_lines[i] : 0;
			n++;
		}
	*sections = s = calloc(cfg->plugins_len + 1, sizeof(*s));
	if (s == NULL)
		return -1;
	for (i = 0; i < cfg->plugins_len; i++) {
		const struct config_list *keys = &cfg->plugins[i].keys;

		s[i].name = cfg->plugins[i].name;
		s[i].count = keys->len;
		s[i].items = items = calloc(keys->len + 1, sizeof(*items));
		if (items == NULL)
			return -1;
		for (j = 0; j < keys->len; j++) {
			items[j].key = keys->items[j].key;
			items[j].value = keys->items[j].value;
			items[j].line = keys->items[j].line > 0 ? (unsigned)keys->items[j].line : 0;
		}
	}
	spec->file = cfg->path != NULL ? cfg->path : "mass.ini";
	spec->dir = cfg->plugins_dir;
	spec->indexes = lines;
	spec->nindexes = n;
	spec->sections = s;
	spec->nsections = cfg->plugins_len;
	spec->lax = !cfg->plugins_strict;
	return 0;
}

static void runtime_plugins_spec_free(struct plugins_section *sections, size_t n)
{
	size_t i;

	for (i = 0; sections != NULL && i < n; i++)
		free((void *)sections[i].items);
	free(sections);
}

struct plugins *runtime_plugins_load(const struct config *cfg, enum plugins_mode mode,
				     char *err, size_t errlen)
{
	struct plugins_index_line lines[256];
	struct plugins_section *sections = NULL;
	struct plugins_spec spec;
	struct plugins *p = NULL;

	memset(&spec, 0, sizeof(spec));
	if (runtime_plugins_spec(cfg, &spec, lines, &sections) < 0)
		snprintf(err, errlen, "plugins: out of memory");
	else
		p = plugins_load_spec(&spec, mode, err, errlen);
	runtime_plugins_spec_free(sections, cfg->plugins_len);
	return p;
}
