/*
 * info: the daemon's version and uptime and, for every served index, the
 * plugin serving it, its version and its usage line (ABI 1.1: server info
 * and the index table). Index (see README.md):
 *
 *   14 info  ""  VERSION str, START_TIME u64 (Unix seconds), UPTIME u64
 *                (seconds), N u8, then N × (INDEX u8, PLUGIN str,
 *                PLUGIN_VERSION str, USAGE str), ascending
 *
 * u64 is big-endian; strings are LENGTH + DATA, cut at 255 octets.
 */
#include <mass/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reply64.h"

static int info_str(const struct mass_host *h, struct mass_reply *r, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	return h->reply_str(r, s != NULL ? s : "", len > 255 ? 255 : len);
}

static int info_get(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	const struct mass_host *h = state;
	const struct mass_server_info *si = h->server_info();
	struct mass_index_info ix;
	time_t now = time(NULL);
	long mark;
	size_t n = 0;
	unsigned i;

	(void)req;
	info_str(h, reply, si->version);
	reply_u64(h, reply, (uint64_t)si->start_time);
	reply_u64(h, reply, now > si->start_time ? (uint64_t)(now - si->start_time) : 0);
	mark = h->reply_count_begin(reply);
	for (i = 0; i < 256; i++) {
		if (h->index_info((uint8_t)i, &ix) < 0)
			continue;
		h->reply_u8(reply, (uint8_t)i);
		info_str(h, reply, ix.plugin);
		info_str(h, reply, ix.plugin_version);
		info_str(h, reply, ix.usage);
		n++;
	}
	h->reply_count_end(reply, mark, n);
	return MASS_STATUS_OK;
}

/* The state is the host table itself: nothing else is kept. */
static int info_init(const struct mass_host *host, const struct mass_config *config,
		     void **state, char *err, size_t errlen)
{
	(void)config;
	if (host->abi_minor < 1) {
		snprintf(err, errlen, "needs a host of ABI 1.1 or later");
		return -1;
	}
	*state = (void *)host;
	return 0;
}

static const struct mass_index info_indexes[] = {
	{ .index = 0x14, .signature = "", .usage = "daemon version, uptime, and every served index's plugin and usage",
	  .handler = info_get },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "info",
	.version = "1.0.0",
	.description = "daemon version, uptime and the index table",
	MASS_PLUGIN_INDEXES(info_indexes),
	.init = info_init,
};
