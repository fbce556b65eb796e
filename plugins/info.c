/*
 * info: the daemon's version and uptime and, for every served index, the
 * plugin serving it, its version, its usage line, its signature and its
 * reply layout (ABI 1.2: the host through the call context; no state).
 * Index (see mass-protocol(7)):
 *
 *   14 info  ""  VERSION str, START_TIME u64 (Unix seconds), UPTIME u64
 *                (seconds), N u8, then N × (INDEX u8, PLUGIN str,
 *                PLUGIN_VERSION str, USAGE str, SIGNATURE str, LAYOUT str
 *                ("" when the plugin gives none)), ascending
 *
 * u64 is big-endian; strings are LENGTH + DATA, cut at 255 octets.
 */
#include <mass/plugin.h>

#include <string.h>
#include <time.h>

#define INFO_LAYOUT "version:str,start_time:u64,uptime:u64,indexes:[index:u8,plugin:str," \
	"plugin_version:str,usage:str,signature:str,layout:str]"

static int info_str(const struct mass_host *h, struct mass_reply *r, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	return h->reply_str(r, s != NULL ? s : "", len > 255 ? 255 : len);
}

static int info_get(struct mass_ctx *ctx, const struct mass_request *req,
		    struct mass_reply *reply)
{
	const struct mass_host *h = ctx->host;
	const struct mass_server_info *si = h->server_info();
	struct mass_index_info ix;
	time_t now = time(NULL);
	long mark;
	size_t n = 0;
	unsigned i;

	(void)req;
	info_str(h, reply, si->version);
	h->reply_u64(reply, (uint64_t)si->start_time);
	h->reply_u64(reply, now > si->start_time ? (uint64_t)(now - si->start_time) : 0);
	mark = h->reply_count_begin(reply);
	for (i = 0; i < 256; i++) {
		if (h->index_info((uint8_t)i, &ix) < 0)
			continue;
		h->reply_u8(reply, (uint8_t)i);
		info_str(h, reply, ix.plugin);
		info_str(h, reply, ix.plugin_version);
		info_str(h, reply, ix.usage);
		info_str(h, reply, ix.signature);
		info_str(h, reply, ix.size >= offsetof(struct mass_index_info, reply_layout) +
				   sizeof(ix.reply_layout) ? ix.reply_layout : NULL);
		n++;
	}
	h->reply_count_end(reply, mark, n);
	return MASS_STATUS_OK;
}

static const struct mass_index info_indexes[] = {
	{ .index = 0x14, .signature = "",
	  .usage = "daemon version, uptime, and every served index's plugin and usage",
	  .serve = info_get, .reply_layout = INFO_LAYOUT },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "info",
	.version = "1.2.0",
	.description = "daemon version, uptime and the index table",
	MASS_PLUGIN_INDEXES(info_indexes),
};
