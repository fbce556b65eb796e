/*
 * setclass: the test plugin test_limits.py moves users between classes
 * with (the host's user_class_set, as the limits plugin's set-class
 * does): index E0 "ss" NAME CLASS answers the service's status.
 */
#include <mass/plugin.h>

static int setclass(struct mass_ctx *ctx, const struct mass_request *req,
		    struct mass_reply *reply)
{
	(void)reply;
	if (!MASS_HOST_HAS(ctx->host, user_class_set))
		return MASS_STATUS_UNSUPPORTED;
	return ctx->host->user_class_set(ctx, (const char *)req->params[0].data,
					 req->params[0].len, (const char *)req->params[1].data);
}

static const struct mass_index table[] = {
	{ .index = 0xE0, .signature = "ss", .usage = "setclass NAME CLASS", .serve = setclass,
	  .reply_layout = "" },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "setclass",
	.version = "1.0.0",
	.description = "moves a user to a class (tests)",
	MASS_PLUGIN_INDEXES(table),
};
