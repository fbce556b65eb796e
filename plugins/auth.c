/* auth: MASS index 0C, SOCKS authentication: 00 = on, any other octet = off. */
#include <mass/plugin.h>

static int auth_set(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	const struct mass_host *host = state;

	(void)reply;
	host->auth_set(mass_param_u8(req, 0) == 0x00);
	return MASS_STATUS_OK;
}

static int auth_init(const struct mass_host *host, const struct mass_config *config,
		     void **state, char *err, size_t errlen)
{
	(void)config;
	(void)err;
	(void)errlen;
	*state = (void *)host;
	return 0;
}

static const struct mass_index auth_indexes[] = {
	{ .index = 0x0C, .signature = "b", .usage = "SOCKS authentication: 00 on, other off", .handler = auth_set },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "auth",
	.version = "1.0.0",
	.description = "switch SOCKS username/password authentication",
	MASS_PLUGIN_INDEXES(auth_indexes),
	.init = auth_init,
};
