/*
 * probe: the plugin test_plugin_update.py replaces under a running socks5d.
 * Built once per version with -DPROBE_VERSION=N (a positive integer); its
 * descriptor's version string is "2.0.N", and index 0E answers two u32s:
 * N, the code that is running, and how many requests this load has served,
 * kept in the per-load state (so 1 again after every reload that took).
 */
#include <mass/plugin.h>

#include <stdio.h>
#include <stdlib.h>

#ifndef PROBE_VERSION
#define PROBE_VERSION 1
#endif
#define PROBE_STR2(x) #x
#define PROBE_STR(x) PROBE_STR2(x)

struct probe {
	const struct mass_host *host;
	uint32_t served;
};

static int probe_get(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct probe *p = state;

	(void)req;
	p->served++;
	p->host->reply_u32(reply, PROBE_VERSION);
	p->host->reply_u32(reply, p->served);
	return MASS_STATUS_OK;
}

static int probe_init(const struct mass_host *host, const struct mass_config *config,
		      void **state, char *err, size_t errlen)
{
	struct probe *p = calloc(1, sizeof(*p));

	(void)config;
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->host = host;
	*state = p;
	return 0;
}

static void probe_fini(void *state)
{
	free(state);
}

static const struct mass_index probe_indexes[] = {
	{ .index = 0x0E, .signature = "", .usage = "version of the running code, requests served (u32 u32)", .handler = probe_get },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "probe",
	.version = "2.0." PROBE_STR(PROBE_VERSION),
	.description = "reports which build of it is running",
	MASS_PLUGIN_INDEXES(probe_indexes),
	.init = probe_init,
	.fini = probe_fini,
};
