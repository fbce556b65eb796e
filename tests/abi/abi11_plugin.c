/*
 * abi11: a plugin built against the frozen ABI 1.1 header (plugin-1.1.h,
 * <mass/plugin.h> as 1.1 shipped it), to prove that a 1.2 host loads and
 * serves it unchanged, 1.1 services included: 44 answers "pong11", 45 the
 * server info's version (a 1.1 service) as a string, 46 answers "later"
 * 20 ms after the request, deferred with reply_defer and a timer_add
 * (1.1 services that take no context: the host attributes them to the
 * running load).
 */
#include "plugin-1.1.h"

#include <stdlib.h>
#include <string.h>

struct abi11 {
	const struct mass_host *host;
};

static int abi11_ping(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct abi11 *a = state;

	(void)req;
	a->host->reply_str(reply, "pong11", 6);
	return MASS_STATUS_OK;
}

static int abi11_version(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct abi11 *a = state;
	const char *v = a->host->server_info()->version;

	(void)req;
	a->host->reply_str(reply, v, strlen(v));
	return MASS_STATUS_OK;
}

struct abi11_job {
	struct abi11 *a;
	struct mass_reply *later;
};

static void abi11_fire(void *arg, struct mass_timer *t)
{
	struct abi11_job *job = arg;

	(void)t;
	job->a->host->reply_str(job->later, "later", 5);
	job->a->host->reply_send(job->later, MASS_STATUS_OK);
	free(job);
}

static int abi11_defer(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct abi11_job *job = malloc(sizeof(*job));
	struct abi11 *a = state;

	(void)req;
	if (job == NULL)
		return MASS_STATUS_ERROR;
	job->a = a;
	job->later = a->host->reply_defer(reply);
	if (job->later == NULL || a->host->timer_add(20, 0, abi11_fire, job) == NULL) {
		free(job);
		return MASS_STATUS_ERROR;
	}
	return MASS_STATUS_PENDING;
}

static int abi11_init(const struct mass_host *host, const struct mass_config *config,
		      void **state, char *err, size_t errlen)
{
	struct abi11 *a = malloc(sizeof(*a));

	(void)config;
	(void)err;
	(void)errlen;
	if (a == NULL || host->abi_minor < 1) {
		free(a);
		return -1;
	}
	a->host = host;
	*state = a;
	host->log(MASS_LOG_INFO, "abi11 loaded on a host of ABI %u.%u", host->abi_major,
		  host->abi_minor);
	return 0;
}

static void abi11_fini(void *state)
{
	free(state);
}

static const struct mass_index abi11_indexes[] = {
	{ 0x44, "", "ping (ABI 1.1)", abi11_ping },
	{ 0x45, "", "the daemon's version (server_info)", abi11_version },
	{ 0x46, "", "answered 20 ms later (reply_defer)", abi11_defer },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "abi11",
	.version = "1.1.0",
	.description = "built from the frozen ABI 1.1 header",
	MASS_PLUGIN_INDEXES(abi11_indexes),
	.init = abi11_init,
	.fini = abi11_fini,
};
