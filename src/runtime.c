/* server: the process-wide state and how a configuration is put in force. See server.h. */
#include "server.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* Adds "name = password" entries; a bad entry was already refused by the config loader. */
static int server_add_list(struct users *u, const struct config_list *list, bool persist,
			   char *err, size_t errlen)
{
	for (size_t i = 0; i < list->len; i++) {
		const struct config_kv *kv = &list->items[i];
		enum users_result r = users_add(u, kv->key, strlen(kv->key), kv->value,
						strlen(kv->value), persist, err, errlen);

		if (r == USERS_EXISTS) {
			log_info("user '%s' already known; keeping the stored password", kv->key);
			continue;
		}
		if (r == USERS_FULL) {
			snprintf(err, errlen, "user '%s': more users than max_users (%u)",
				 kv->key, u->max);
			return -1;
		}
		if (r != USERS_OK) {
			if (r != USERS_IO)
				snprintf(err, errlen, "user '%s': cannot be added", kv->key);
			return -1;
		}
	}
	return 0;
}

int server_build_users(struct users *u, const struct config *cfg,
		       const struct config_list *cli_users, char *err, size_t errlen)
{
	int loaded;

	if (users_init(u, cfg->max_users, cfg->users_file) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cfg->users_file == NULL) {
		if (server_add_list(u, &cfg->users, false, err, errlen) < 0 ||
		    server_add_list(u, cli_users, false, err, errlen) < 0)
			goto fail;
		return 0;
	}
	loaded = users_load(u, err, errlen);
	if (loaded < 0)
		goto fail;
	if (loaded) {
		if (cfg->users.len > 0)
			log_info("users come from %s; [users] in %s is ignored",
				 cfg->users_file, cfg->path ? cfg->path : "mass.ini");
	} else {
		if (server_add_list(u, &cfg->users, false, err, errlen) < 0)
			goto fail;
		if (users_save(u, err, errlen) < 0)
			goto fail;
		log_info("created users file %s with %zu users", cfg->users_file, u->len);
	}
	if (server_add_list(u, cli_users, true, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	users_free(u);
	return -1;
}

int server_build_admins(struct users *u, const struct config *cfg, char *err, size_t errlen)
{
	if (users_init(u, CONFIG_MAX_USERS_LIMIT, NULL) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (server_add_list(u, &cfg->admins, false, err, errlen) < 0) {
		users_free(u);
		return -1;
	}
	return 0;
}
