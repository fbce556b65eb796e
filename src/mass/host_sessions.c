/* host_sessions: session control for plugins (sessions_each, session_close),
 * over the SOCKS engine's session table. */
#include "host_impl.h"
#include "socks/session.h"

static size_t host_sessions_each(mass_session_fn *fn, void *arg)
{
	return fn != NULL ? session_each(fn, arg) : 0;
}

static int host_session_close(uint64_t id)
{
	return session_close_id(id) == 0 ? MASS_STATUS_OK : MASS_STATUS_ERROR;
}

void host_sessions_fill(struct mass_host *t)
{
	t->sessions_each = host_sessions_each;
	t->session_close = host_session_close;
}
