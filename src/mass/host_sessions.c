/* host_sessions: session control for plugins (sessions_each, session_close),
 * over the SOCKS engine's session table. */
#include "host_impl.h"
#include "socks/session.h"

/* The SOCKS context whose sessions the caller's host sees (NULL: none). */
static struct socks_ctx *host_sessions_ctx(void)
{
	return host_of(owner_current())->rt;
}

static size_t host_sessions_each(mass_session_fn *fn, void *arg)
{
	struct socks_ctx *ctx = host_sessions_ctx();

	return fn != NULL && ctx != NULL ? session_each(ctx, fn, arg) : 0;
}

static int host_session_close(uint64_t id)
{
	struct socks_ctx *ctx = host_sessions_ctx();

	return ctx != NULL && session_close_id(ctx, id) == 0 ? MASS_STATUS_OK : MASS_STATUS_ERROR;
}

void host_sessions_fill(struct mass_host *t)
{
	t->sessions_each = host_sessions_each;
	t->session_close = host_session_close;
}
