/*
 * metrics: the SOCKS counters (ABI 1.2: the host through the call context;
 * no state).
 *
 *   02..09  one counter each, as a u32 in network byte order: the 64-bit
 *           count modulo 2^32, like SNMP Counter32 (bytes_transferred wraps
 *           after 4 GiB).
 *   0F      every counter in one reply, one snapshot, none wrapped:
 *           request `0F` (no parameters); reply `00 COUNT` then COUNT u64
 *           in network byte order, counters in index order 02..09 (COUNT
 *           is 8 today; a client reads COUNT values and ignores any beyond
 *           the ones it knows).
 */
#include <mass/plugin.h>

#define METRICS_FIRST 0x02
#define METRICS_LAST 0x09

static int metrics_counter(struct mass_ctx *ctx, const struct mass_request *req,
			   struct mass_reply *reply)
{
	ctx->host->reply_u32(reply, (uint32_t)ctx->host->counter(req->index));
	return MASS_STATUS_OK;
}

/* All of them at once: the loop runs nothing else meanwhile, so one snapshot. */
static int metrics_all(struct mass_ctx *ctx, const struct mass_request *req,
		       struct mass_reply *reply)
{
	const struct mass_host *host = ctx->host;
	long mark = host->reply_count_begin(reply);
	size_t n = 0;

	(void)req;
	for (unsigned i = METRICS_FIRST; i <= METRICS_LAST; i++, n++)
		host->reply_u64(reply, host->counter((uint8_t)i));
	host->reply_count_end(reply, mark, n);
	return MASS_STATUS_OK;
}

#define METRICS_ROW(i, text) \
	{ .index = (i), .signature = "", .usage = (text), .serve = metrics_counter, \
	  .reply_layout = "value:u32" }

static const struct mass_index metrics_indexes[] = {
	METRICS_ROW(0x02, "historic connections (tunnels established)"),
	METRICS_ROW(0x03, "concurrent connections"),
	METRICS_ROW(0x04, "max concurrent connections"),
	METRICS_ROW(0x05, "historic bytes transferred"),
	METRICS_ROW(0x06, "historic authentication attempts"),
	METRICS_ROW(0x07, "historic connection attempts"),
	METRICS_ROW(0x08, "average bytes per read"),
	METRICS_ROW(0x09, "average bytes per write"),
	{ .index = 0x0F, .signature = "", .usage = "every counter 02..09 as u64, one snapshot",
	  .serve = metrics_all, .reply_layout = "counters:[value:u64]" },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "metrics",
	.version = "1.2.0",
	.description = "SOCKS counters: 02..09 as u32, 0F all as u64",
	MASS_PLUGIN_INDEXES(metrics_indexes),
};
