/*
 * users: MASS indexes 01 (list the SOCKS users), 0A (add one) and 0B
 * (delete one), over the host's users store. Adding and deleting persist
 * through the host when the server has a users_file.
 *
 * 0A stores a crypt(3) hash, which takes milliseconds of CPU: on a host
 * with users_add_async the hash is made by the host's workers and the
 * reply deferred until the user is stored, so the loop never waits for it;
 * on an older host (or when the reply cannot be deferred) 0A calls the
 * synchronous users_add.
 */
#include <mass/plugin.h>

struct users_state {
	const struct mass_host *host;
};

static struct users_state users_state;

static int users_list(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	const struct mass_host *host = ((struct users_state *)state)->host;
	size_t i, n = host->users_count(), len;
	long mark = host->reply_count_begin(reply);
	const char *name;

	(void)req;
	for (i = 0; i < n; i++) {
		name = host->users_name(i, &len);
		host->reply_str(reply, name, len);
	}
	host->reply_count_end(reply, mark, n);
	return MASS_STATUS_OK;
}

/* users_add_async's answer: the deferred 0A reply goes out. */
static void users_added(void *arg, int status)
{
	users_state.host->reply_send(arg, status);
}

static int users_add(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	const struct mass_host *host = ((struct users_state *)state)->host;
	const char *name = (const char *)req->params[0].data;
	const char *pass = (const char *)req->params[1].data;
	struct mass_reply *later;
	int status;

	if (MASS_HOST_HAS(host, users_add_async) && (later = host->reply_defer(reply)) != NULL) {
		status = host->users_add_async(name, req->params[0].len, pass,
					       req->params[1].len, users_added, later);
		if (status != MASS_STATUS_PENDING)
			host->reply_send(later, status);   /* inside the handler: only frees it */
		return status;
	}
	return host->users_add(name, req->params[0].len, pass, req->params[1].len);
}

static int users_del(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	const struct mass_host *host = ((struct users_state *)state)->host;

	(void)reply;
	return host->users_del((const char *)req->params[0].data, req->params[0].len);
}

static int users_init(const struct mass_host *host, const struct mass_config *config,
		      void **state, char *err, size_t errlen)
{
	(void)config;
	(void)err;
	(void)errlen;
	users_state.host = host;
	*state = &users_state;
	return 0;
}

static const struct mass_index users_indexes[] = {
	{ .index = 0x01, .signature = "", .usage = "list the SOCKS users", .handler = users_list },
	{ .index = 0x0A, .signature = "ss", .usage = "add a SOCKS user: NAME PASSWORD", .handler = users_add },
	{ .index = 0x0B, .signature = "s", .usage = "delete a SOCKS user: NAME", .handler = users_del },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "users",
	.version = "1.0.0",
	.description = "SOCKS users: list, add, delete",
	MASS_PLUGIN_INDEXES(users_indexes),
	.init = users_init,
};
