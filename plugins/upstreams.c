/*
 * upstreams: the state of the upstream proxies (mass.ini's [upstreams]),
 * one entry per parent, through the host's upstream_each service (ABI 1.2;
 * no state of its own). Index (see mass-protocol(7)):
 *
 *   1A upstreams  ""  N u8, then N × (NAME str, PARENT str, STATE u8,
 *                     DOWN_SINCE u64, FAILS u32, LAST_ERROR str)
 *
 * PARENT is the URL without credentials ("socks5://10.0.0.5:1080");
 * STATE 0 up, 1 failing (fewer failures in a row than max_fails), 2 down
 * (skipped until fail_timeout has passed), 3 probe (the next request tries
 * it); DOWN_SINCE Unix seconds it went down, 0 when not down. At most 255
 * parents are listed. Integers are big-endian; strings LENGTH + DATA, cut
 * at 255 octets.
 */
#include <mass/plugin.h>

#include <string.h>

#define UPSTREAMS_LAYOUT "upstreams:[name:str,parent:str,state:u8,down_since:u64," \
	"fails:u32,last_error:str]"

struct upstreams_walk {
	struct mass_reply *reply;
	size_t n;
};

static int upstreams_str(const struct mass_host *h, struct mass_reply *r, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	return h->reply_str(r, s != NULL ? s : "", len > 255 ? 255 : len);
}

static int upstreams_one(struct mass_ctx *ctx, void *arg, const struct mass_upstream *u)
{
	const struct mass_host *h = ctx->host;
	struct upstreams_walk *w = arg;

	if (w->n == 255)
		return 1;
	upstreams_str(h, w->reply, u->name);
	upstreams_str(h, w->reply, u->parent);
	h->reply_u8(w->reply, u->state);
	h->reply_u64(w->reply, u->down_since > 0 ? (uint64_t)u->down_since : 0);
	h->reply_u32(w->reply, u->fails);
	upstreams_str(h, w->reply, u->last_error);
	w->n++;
	return 0;
}

static int upstreams_get(struct mass_ctx *ctx, const struct mass_request *req,
			 struct mass_reply *reply)
{
	const struct mass_host *h = ctx->host;
	struct upstreams_walk w = { reply, 0 };
	long mark;

	(void)req;
	if (!MASS_HOST_HAS(h, upstream_each))
		return MASS_STATUS_ERROR;
	mark = h->reply_count_begin(reply);
	h->upstream_each(ctx, upstreams_one, &w);
	h->reply_count_end(reply, mark, w.n);
	return MASS_STATUS_OK;
}

static const struct mass_index upstreams_indexes[] = {
	{ .index = 0x1A, .signature = "",
	  .usage = "the upstream proxies' parents: state, down since, failures, last error",
	  .serve = upstreams_get, .reply_layout = UPSTREAMS_LAYOUT },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "upstreams",
	.version = "1.2.0",
	.description = "upstream proxy state (index 1A)",
	MASS_PLUGIN_INDEXES(upstreams_indexes),
};
