/*
 * host_upstreams: the upstream proxies for plugins (upstream_each;
 * <mass/plugin.h>), over the routes of the policy in force
 * (socks/routes.h). Parents are named without credentials. Loop thread
 * only; without a context it calls nothing.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/loop.h"
#include "host_impl.h"
#include "socks/context.h"
#include "socks/routes.h"

static uint8_t host_upstreams_state(const struct upstream_health *h, uint64_t now_ms)
{
	if (upstream_health_down(h, now_ms))
		return MASS_UPSTREAM_DOWN;
	if (h->down_until_ms != 0)
		return MASS_UPSTREAM_PROBE;
	return h->fails > 0 ? MASS_UPSTREAM_FAILING : MASS_UPSTREAM_UP;
}

static size_t host_upstreams_each(struct mass_ctx *ctx, mass_upstream_fn *fn, void *arg)
{
	struct host *host = host_of(host_caller(ctx));
	struct socks_ctx *rt = host->rt;
	struct routes *r = rt != NULL && rt->policy != NULL ? rt->policy->routes : NULL;
	uint64_t now_ms = rt != NULL ? loop_now_ms(rt->loop) : 0;
	int64_t now_s = (int64_t)time(NULL);
	size_t n = 0;
	char parent[320];

	for (size_t i = 0; fn != NULL && i < routes_upstream_count(r); i++) {
		struct routes_upstream *u = routes_upstream_at(r, i);

		for (size_t p = 0; p < u->up.n; p++) {
			const struct upstream_health *h = &u->health[p];
			struct mass_upstream m = {
				.size = sizeof(m), .name = u->name,
				.parent = upstream_parent_str(&u->up.parent[p], parent, sizeof(parent)),
				.state = host_upstreams_state(h, now_ms), .fails = h->fails,
				.last_error = h->last_error,
			};

			/* the health's times are the loop's clock: back to Unix seconds */
			if (h->down_since_ms != 0)
				m.down_since = now_s - (int64_t)((now_ms - h->down_since_ms) / 1000);
			n++;
			if (fn(ctx, arg, &m) != 0)
				return n;
		}
	}
	return n;
}

void host_upstreams_fill(struct mass_host *t)
{
	t->upstream_each = host_upstreams_each;
}
