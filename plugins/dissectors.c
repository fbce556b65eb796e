/* dissectors: MASS index 0D, password dissectors: 00 = on, any other octet
 * = off (ABI 1.2: the host through the call context; no state). */
#include <mass/plugin.h>

static int dissectors_set(struct mass_ctx *ctx, const struct mass_request *req,
			  struct mass_reply *reply)
{
	(void)reply;
	ctx->host->dissectors_set(mass_param_u8(req, 0) == 0x00);
	return MASS_STATUS_OK;
}

static const struct mass_index dissectors_indexes[] = {
	{ .index = 0x0D, .signature = "b", .usage = "password dissectors: 00 on, other off",
	  .serve = dissectors_set, .reply_layout = "" },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "dissectors",
	.version = "1.2.0",
	.description = "switch the password dissectors",
	MASS_PLUGIN_INDEXES(dissectors_indexes),
};
