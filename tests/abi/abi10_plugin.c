/*
 * abi10: a plugin built against the frozen ABI 1.0 header (plugin-1.0.h,
 * today's <mass/plugin.h> as 1.0 shipped it), to prove that a 1.1 host
 * loads and serves it unchanged: index 40 answers "pong", 41 the historic
 * connections counter as a u32 (through the 1.0 services table), 42 echoes
 * a string.
 */
#include "plugin-1.0.h"

#include <stdlib.h>

struct abi10 {
	const struct mass_host *host;
};

static int abi10_ping(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct abi10 *a = state;

	(void)req;
	a->host->reply_str(reply, "pong", 4);
	return MASS_STATUS_OK;
}

static int abi10_counter(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct abi10 *a = state;

	(void)req;
	a->host->reply_u32(reply, (uint32_t)a->host->counter(0x07));
	return MASS_STATUS_OK;
}

static int abi10_echo(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct abi10 *a = state;

	a->host->reply_str(reply, req->params[0].data, req->params[0].len);
	return MASS_STATUS_OK;
}

static int abi10_init(const struct mass_host *host, const struct mass_config *config,
		      void **state, char *err, size_t errlen)
{
	struct abi10 *a = calloc(1, sizeof(*a));

	(void)config;
	(void)err;
	(void)errlen;
	if (a == NULL)
		return -1;
	a->host = host;
	host->log(MASS_LOG_INFO, "abi10 loaded on a host of ABI %u.%u", host->abi_major,
		  host->abi_minor);
	*state = a;
	return 0;
}

static void abi10_fini(void *state)
{
	free(state);
}

static const struct mass_index abi10_indexes[] = {
	{ 0x40, "", "ping", abi10_ping },
	{ 0x41, "", "connection attempts (u32)", abi10_counter },
	{ 0x42, "s", "echo a string", abi10_echo },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "abi10",
	.version = "1.0.0",
	.description = "built from the frozen ABI 1.0 header",
	MASS_PLUGIN_INDEXES(abi10_indexes),
	.init = abi10_init,
	.fini = abi10_fini,
};
