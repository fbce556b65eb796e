/* host: the MASS plugin services table. See host.h. */
#include "host.h"

#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/log.h"
#include "host_services.h"
#include "mass_proto.h"
#include "core/metrics.h"
#include "runtime.h"
#include "auth/users.h"

static const char *host_caller;
static struct runtime_ctx *host_ctx;   /* see host.h: ABI 1.0 passes no context */

void host_set_context(struct runtime_ctx *ctx)
{
	host_ctx = ctx;
}

void host_set_caller(const char *name)
{
	host_caller = name;
}

static uint64_t host_counter(uint8_t index)
{
	if (index < METRIC_HISTORIC_CONNECTIONS || index > METRIC_AVG_BYTES_PER_WRITE)
		return 0;
	return metrics_get((enum metrics_counter)index);
}

static size_t host_users_count(void)
{
	return host_ctx != NULL ? host_ctx->live.users.len : 0;
}

static const char *host_users_name(size_t i, size_t *len)
{
	if (i >= host_users_count()) {
		*len = 0;
		return NULL;
	}
	*len = host_ctx->live.users.list[i].name_len;
	return host_ctx->live.users.list[i].name;
}

int host_users_status(int users_result)
{
	switch (users_result) {
	case USERS_OK: return MASS_STATUS_OK;
	case USERS_FULL: return MASS_STATUS_USER_LIMIT;
	default: return MASS_STATUS_ERROR;
	}
}

static int host_users_add(const char *name, size_t name_len, const char *pass, size_t pass_len)
{
	char err[256] = "";
	enum users_result r;

	if (host_ctx == NULL)
		return MASS_STATUS_ERROR;
	r = users_add(&host_ctx->live.users, name, name_len, pass, pass_len, true, err, sizeof(err));
	if (r == USERS_IO || r == USERS_NOMEM)
		log_error("management: adding a user: %s", err[0] ? err : "out of memory");
	else if (r == USERS_OK)
		log_info("management: user %.*s added", (int)name_len, name);
	return host_users_status(r);
}

static int host_users_del(const char *name, size_t name_len)
{
	char err[256] = "";
	enum users_result r;

	if (host_ctx == NULL)
		return MASS_STATUS_ERROR;
	r = users_del(&host_ctx->live.users, name, name_len, true, err, sizeof(err));
	if (r == USERS_IO || r == USERS_NOMEM)
		log_error("management: deleting a user: %s", err[0] ? err : "out of memory");
	else if (r == USERS_OK)
		log_info("management: user %.*s deleted", (int)name_len, name);
	return host_users_status(r);
}

static int host_auth_get(void)
{
	return host_ctx != NULL && host_ctx->live.auth;
}

static void host_auth_set(int on)
{
	if (host_ctx == NULL)
		return;
	if (host_ctx->live.auth != (on != 0))
		log_info("management: SOCKS authentication %s", on ? "on" : "off");
	host_ctx->live.auth = on != 0;
}

static int host_dissectors_get(void)
{
	return host_ctx != NULL && host_ctx->live.dissectors;
}

static void host_dissectors_set(int on)
{
	if (host_ctx == NULL)
		return;
	if (host_ctx->live.dissectors != (on != 0))
		log_info("management: password dissectors %s", on ? "on" : "off");
	host_ctx->live.dissectors = on != 0;
}

static void host_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void host_log(int level, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (level < MASS_LOG_ERROR)
		level = MASS_LOG_ERROR;
	if (level > MASS_LOG_DEBUG)
		level = MASS_LOG_DEBUG;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg((enum log_level)level, "plugin %s: %s", host_caller ? host_caller : "?", msg);
}

static struct mass_host host_table = {
	.abi_major = MASS_ABI_MAJOR,
	.abi_minor = MASS_ABI_MINOR,
	.size = sizeof(struct mass_host),
	.counter = host_counter,
	.users_count = host_users_count,
	.users_name = host_users_name,
	.users_add = host_users_add,
	.users_del = host_users_del,
	.auth_get = host_auth_get,
	.auth_set = host_auth_set,
	.dissectors_get = host_dissectors_get,
	.dissectors_set = host_dissectors_set,
	.log = host_log,
	.reply_u8 = mass_reply_u8,
	.reply_u32 = mass_reply_u32,
	.reply_str = mass_reply_str,
	.reply_bytes = mass_reply_bytes,
	.reply_count_begin = mass_reply_count_begin,
	.reply_count_end = mass_reply_count_end,
};

const struct mass_host *host_services(void)
{
	static bool filled;

	if (!filled) {
		host_services_fill(&host_table);   /* the ABI 1.1 part */
		filled = true;
	}
	return &host_table;
}
