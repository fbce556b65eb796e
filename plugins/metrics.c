/*
 * metrics: the SOCKS counters.
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

static const struct mass_host *metrics_host;

static int metrics_counter(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	(void)state;
	metrics_host->reply_u32(reply, (uint32_t)metrics_host->counter(req->index));
	return MASS_STATUS_OK;
}

/* All of them at once: the loop runs nothing else meanwhile, so one snapshot. */
static int metrics_all(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	long mark = metrics_host->reply_count_begin(reply);
	size_t n = 0;

	(void)state;
	(void)req;
	for (unsigned i = METRICS_FIRST; i <= METRICS_LAST; i++, n++) {
		uint64_t v = metrics_host->counter((uint8_t)i);
		uint8_t be[8];

		for (int b = 0; b < 8; b++)
			be[b] = (uint8_t)(v >> (56 - 8 * b));
		metrics_host->reply_bytes(reply, be, sizeof(be));
	}
	metrics_host->reply_count_end(reply, mark, n);
	return MASS_STATUS_OK;
}

static int metrics_init(const struct mass_host *host, const struct mass_config *config,
			void **state, char *err, size_t errlen)
{
	(void)config;
	(void)err;
	(void)errlen;
	metrics_host = host;
	*state = NULL;
	return 0;
}

static const struct mass_index metrics_indexes[] = {
	{ .index = 0x02, .signature = "", .usage = "historic connections (tunnels established)", .handler = metrics_counter },
	{ .index = 0x03, .signature = "", .usage = "concurrent connections", .handler = metrics_counter },
	{ .index = 0x04, .signature = "", .usage = "max concurrent connections", .handler = metrics_counter },
	{ .index = 0x05, .signature = "", .usage = "historic bytes transferred", .handler = metrics_counter },
	{ .index = 0x06, .signature = "", .usage = "historic authentication attempts", .handler = metrics_counter },
	{ .index = 0x07, .signature = "", .usage = "historic connection attempts", .handler = metrics_counter },
	{ .index = 0x08, .signature = "", .usage = "average bytes per read", .handler = metrics_counter },
	{ .index = 0x09, .signature = "", .usage = "average bytes per write", .handler = metrics_counter },
	{ .index = 0x0F, .signature = "", .usage = "every counter 02..09 as u64, one snapshot", .handler = metrics_all },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "metrics",
	.version = "1.1.0",
	.description = "SOCKS counters: 02..09 as u32, 0F all as u64",
	MASS_PLUGIN_INDEXES(metrics_indexes),
	.init = metrics_init,
};
