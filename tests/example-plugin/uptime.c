/*
 * uptime: an out-of-tree MASS plugin serving index 0x0E, the seconds since
 * the plugin was loaded, as a u32 in network byte order. Built with nothing
 * but <mass/plugin.h> (see Makefile beside it).
 *
 *	[indexes]
 *	0E = uptime
 *	[plugin uptime]
 *	offset = 100        ; optional: added to the answer
 */
#include <mass/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct uptime {
	const struct mass_host *host;
	struct timespec started;
	unsigned long offset;
};

static int uptime_get(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct uptime *u = state;
	struct timespec now;

	(void)req;
	clock_gettime(CLOCK_MONOTONIC, &now);
	u->host->reply_u32(reply, (uint32_t)(now.tv_sec - u->started.tv_sec + (long)u->offset));
	return MASS_STATUS_OK;
}

static int uptime_init(const struct mass_host *host, const struct mass_config *config,
		       void **state, char *err, size_t errlen)
{
	struct uptime *u = calloc(1, sizeof(*u));
	char *end;
	size_t i;

	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	u->host = host;
	clock_gettime(CLOCK_MONOTONIC, &u->started);
	for (i = 0; i < config->count; i++) {
		if (strcmp(config->items[i].key, "offset") != 0)
			continue;
		u->offset = strtoul(config->items[i].value, &end, 10);
		if (*end != '\0') {
			snprintf(err, errlen, "%s:%u: offset: not a number", config->file,
				 config->items[i].line);
			free(u);
			return -1;
		}
	}
	host->log(MASS_LOG_INFO, "serving uptime on 0E");
	*state = u;
	return 0;
}

static void uptime_fini(void *state)
{
	free(state);
}

static const struct mass_index uptime_indexes[] = {
	{ 0x0E, "", "seconds since the plugin was loaded (u32)", uptime_get },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "uptime",
	.version = "1.0.0",
	.description = "seconds since load, on index 0E",
	MASS_PLUGIN_INDEXES(uptime_indexes),
	.init = uptime_init,
	.fini = uptime_fini,
};
