/* auth: MASS index 0C, SOCKS authentication: 00 = on, any other octet = off
 * (ABI 1.2: the host through the call context; no state). */
#include <mass/plugin.h>

static int auth_set(struct mass_ctx *ctx, const struct mass_request *req,
		    struct mass_reply *reply)
{
	(void)reply;
	ctx->host->auth_set(mass_param_u8(req, 0) == 0x00);
	return MASS_STATUS_OK;
}

static const struct mass_index auth_indexes[] = {
	{ .index = 0x0C, .signature = "b", .usage = "SOCKS authentication: 00 on, other off",
	  .serve = auth_set, .reply_layout = "" },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "auth",
	.version = "1.2.0",
	.description = "switch SOCKS username/password authentication",
	MASS_PLUGIN_INDEXES(auth_indexes),
};
