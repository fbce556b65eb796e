/*
 * metrics: MASS indexes 02..09, the SOCKS counters, each sent as a u32 in
 * network byte order (the 64-bit count modulo 2^32, like SNMP Counter32).
 */
#include <mass/plugin.h>

static const struct mass_host *metrics_host;

static int metrics_counter(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	(void)state;
	metrics_host->reply_u32(reply, (uint32_t)metrics_host->counter(req->index));
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
	{ 0x02, "", "historic connections (tunnels established)", metrics_counter },
	{ 0x03, "", "concurrent connections", metrics_counter },
	{ 0x04, "", "max concurrent connections", metrics_counter },
	{ 0x05, "", "historic bytes transferred", metrics_counter },
	{ 0x06, "", "historic authentication attempts", metrics_counter },
	{ 0x07, "", "historic connection attempts", metrics_counter },
	{ 0x08, "", "average bytes per read", metrics_counter },
	{ 0x09, "", "average bytes per write", metrics_counter },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "metrics",
	.version = "1.0.0",
	.description = "SOCKS counters 02..09 as u32 big-endian",
	MASS_PLUGIN_INDEXES(metrics_indexes),
	.init = metrics_init,
};
