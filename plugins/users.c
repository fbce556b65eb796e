/*
 * users: MASS indexes 01 (list the SOCKS users), 0A (add one) and 0B
 * (delete one), over the host's users store. Adding and deleting persist
 * through the host when the server has a users_file.
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

static int users_add(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	const struct mass_host *host = ((struct users_state *)state)->host;

	(void)reply;
	return host->users_add((const char *)req->params[0].data, req->params[0].len,
			       (const char *)req->params[1].data, req->params[1].len);
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
	{ 0x01, "", "list the SOCKS users", users_list },
	{ 0x0A, "ss", "add a SOCKS user: NAME PASSWORD", users_add },
	{ 0x0B, "s", "delete a SOCKS user: NAME", users_del },
};

const struct mass_plugin mass_plugin = {
	MASS_PLUGIN_IDENTITY,
	.name = "users",
	.version = "1.0.0",
	.description = "SOCKS users: list, add, delete",
	MASS_PLUGIN_INDEXES(users_indexes),
	.init = users_init,
};
