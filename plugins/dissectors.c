/* dissectors: MASS index 0D, password dissectors: 00 = on, any other octet = off. */
#include <mass/plugin.h>

static int dissectors_set(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	const struct mass_host *host = state;

	(void)reply;
	host->dissectors_set(mass_param_u8(req, 0) == 0x00);
	return MASS_STATUS_OK;
}

static int dissectors_init(const struct mass_host *host, const struct mass_config *config,
			   void **state, char *err, size_t errlen)
{
	(void)config;
	(void)err;
	(void)errlen;
	*state = (void *)host;
	return 0;
}

static const struct mass_index dissectors_indexes[] = {
	{ .index = 0x0D, .signature = "b", .usage = "password dissectors: 00 on, other off", .handler = dissectors_set },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "dissectors",
	.version = "1.0.0",
	.description = "switch the password dissectors",
	MASS_PLUGIN_INDEXES(dissectors_indexes),
	.init = dissectors_init,
};
