/* host: the MASS plugin services table. See host.h. */
#include "host.h"

#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"
#include "core/log.h"
#include "host_services.h"
#include "mass_proto.h"
#include "core/metrics.h"
#include "socks/context.h"
#include "auth/cred.h"
#include "auth/users.h"
#include "auth/verify.h"
#include "core/loop.h"

/* A user name as logged: RFC 1929 names are at most 255 octets. */
#define HOST_NAME_LOG_MAX 255

static const char *host_caller;
static struct socks_ctx *host_ctx;   /* see host.h: ABI 1.0 passes no context */

void host_set_context(struct socks_ctx *ctx)
{
	host_ctx = ctx;
}

struct socks_ctx *host_context(void)
{
	return host_ctx;
}

void host_set_caller(const char *name)
{
	host_caller = name;
}

static uint64_t host_counter(uint8_t index)
{
	if (index < METRIC_HISTORIC_CONNECTIONS || index > METRIC_AVG_BYTES_PER_WRITE)
		return 0;
	return host_ctx != NULL ? metrics_get(host_ctx->metrics, (enum metrics_counter)index) : 0;
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

/* users_add() on the live store, persisted, logged; a MASS status. */
static int host_users_add(const char *name, size_t name_len, const char *pass, size_t pass_len)
{
	char err[256] = "", ename[ESCAPE_SIZE(HOST_NAME_LOG_MAX)];
	enum users_result r;

	if (host_ctx == NULL)
		return MASS_STATUS_ERROR;
	r = users_add(&host_ctx->live.users, name, name_len, pass, pass_len, true, err, sizeof(err));
	if (r == USERS_IO || r == USERS_NOMEM)
		log_error("management: adding a user: %s", err[0] ? err : "out of memory");
	else if (r == USERS_OK)
		log_info("management: user '%s' added",
			 escape_text(ename, sizeof(ename), name, name_len));
	return host_users_status(r);
}

/*
 * users_add_async: one add in flight. The steps, each on the loop and
 * each but the last waiting for a worker:
 *   1. the new password is hashed (skipped, through a 0 ms timer, when it
 *      is a crypt string already);
 *   2. while the store has a file and holds a plaintext entry (an old
 *      users file), that entry is hashed, and the hash swapped in if the
 *      entry is still the one copied (at most max_users rounds, so entries
 *      changing meanwhile cannot loop);
 *   3. the user is added with the hash and the file rewritten; users_save()
 *      then has nothing left to hash, so the loop never runs crypt(3).
 * The job is a hold of the calling load (host_services.h): an unload
 * cancels the worker's request and frees the job; done is not called.
 */
struct host_add {
	struct host_hold *hold;
	struct verify_pool *pool;
	struct verify_req *req;           /* the worker's request, or NULL */
	struct loop *loop;
	struct loop_timer timer;          /* step 1 skipped: the next round */
	void (*done)(void *arg, int status);
	void *arg;
	unsigned rounds;                  /* step 2's */
	char name[USERS_FIELD_MAX + 1];
	char hash[CRED_HASH_MAX];         /* the new entry's stored password */
	char old[USERS_FIELD_MAX + 1];    /* step 2: the entry being hashed... */
	char old_pass[USERS_FIELD_MAX + 1]; /* ...and its plaintext, to recheck */
	size_t name_len, hash_len, old_len, old_pass_len;
};

static void host_add_free(struct host_add *a)
{
	if (a->req != NULL)
		verify_cancel(a->req);
	if (a->loop != NULL)
		loop_timer_stop(a->loop, &a->timer);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/* The load ended before the add did (host_owner_release). */
static void host_add_release(void *obj)
{
	host_add_free(obj);
}

/* Frees a, then calls the plugin back with status, as its load. */
static void host_add_answer(struct host_add *a, int status)
{
	struct host_owner *owner = host_hold_owner(a->hold), *prev;
	void (*done)(void *, int) = a->done;
	void *arg = a->arg;

	host_hold_drop(a->hold);
	a->hold = NULL;
	host_add_free(a);
	prev = host_owner_enter(owner);
	done(arg, status);
	host_owner_enter(prev);
}

/* Step 3. */
static void host_add_finish(struct host_add *a)
{
	host_add_answer(a, host_users_add(a->name, a->name_len, a->hash, a->hash_len));
}

static void host_add_next(struct host_add *a);

/* Step 2's worker answered: swap the hash in if the entry did not change. */
static void host_add_old_hashed(void *ctx, const char *hash, size_t len, const char *why)
{
	struct host_add *a = ctx;
	struct users *u = host_ctx != NULL ? &host_ctx->live.users : NULL;
	char ename[ESCAPE_SIZE(HOST_NAME_LOG_MAX)];
	long i;

	a->req = NULL;
	escape_text(ename, sizeof(ename), a->old, a->old_len);
	if (u == NULL || hash == NULL) {
		log_error("management: hashing the plaintext password of '%s': %s", ename,
			  hash == NULL ? why : "no users store");
		host_add_finish(a);   /* users_save() will say whether it can do it */
		return;
	}
	i = users_find(u, a->old, a->old_len);
	if (i >= 0 && !u->list[i].hashed && u->list[i].pass_len == a->old_pass_len &&
	    memcmp(u->list[i].pass, a->old_pass, a->old_pass_len) == 0 &&
	    users_set_pass(u, (size_t)i, hash, len) == USERS_OK)
		log_debug("management: plaintext password of '%s' hashed", ename);
	explicit_bzero(a->old_pass, sizeof(a->old_pass));
	host_add_next(a);
}

/* Step 2: hash the first plaintext entry left, or go to step 3. */
static void host_add_next(struct host_add *a)
{
	struct users *u = host_ctx != NULL ? &host_ctx->live.users : NULL;
	const struct user *plain = NULL;

	/* without a file nothing is at rest: plaintext entries stay as given */
	for (size_t i = 0; u != NULL && u->file != NULL && i < u->len && plain == NULL; i++)
		if (!u->list[i].hashed)
			plain = &u->list[i];
	if (plain == NULL || a->rounds++ > u->max) {
		host_add_finish(a);
		return;
	}
	memcpy(a->old, plain->name, plain->name_len + 1u);
	a->old_len = plain->name_len;
	memcpy(a->old_pass, plain->pass, plain->pass_len);
	a->old_pass_len = plain->pass_len;
	if (verify_hash_start(a->pool, u->hash_method, u->hash_cost, plain->pass,
			      plain->pass_len, host_add_old_hashed, a, &a->req) < 0) {
		a->req = NULL;
		host_add_finish(a);   /* the queue is full: users_save() hashes the rest */
	}
}

/* Step 1's worker answered. */
static void host_add_hashed(void *ctx, const char *hash, size_t len, const char *why)
{
	struct host_add *a = ctx;
	char ename[ESCAPE_SIZE(HOST_NAME_LOG_MAX)];

	a->req = NULL;
	if (hash == NULL) {
		log_error("management: hashing the password of '%s': %s",
			  escape_text(ename, sizeof(ename), a->name, a->name_len), why);
		host_add_answer(a, MASS_STATUS_ERROR);
		return;
	}
	memcpy(a->hash, hash, len);
	a->hash_len = len;
	host_add_next(a);
}

static void host_add_given(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	host_add_next(LOOP_TIMER_OWNER(t, struct host_add, timer));
}

/* The synchronous checks of users_add(), as a MASS status (OK: go on). */
static int host_add_check(const struct users *u, const char *name, size_t name_len,
			  const char *pass, size_t pass_len)
{
	if (!cred_valid_name(name, name_len) || !cred_valid_pass(pass, pass_len) ||
	    users_find(u, name, name_len) >= 0)
		return MASS_STATUS_ERROR;
	if (u->len >= u->max)
		return MASS_STATUS_USER_LIMIT;
	return MASS_STATUS_OK;
}

static int host_users_add_async(const char *name, size_t name_len, const char *pass,
				size_t pass_len, void (*done)(void *arg, int status), void *arg)
{
	struct users *u;
	struct host_add *a;
	int status;

	if (host_ctx == NULL || done == NULL)
		return MASS_STATUS_ERROR;
	u = &host_ctx->live.users;
	if ((status = host_add_check(u, name, name_len, pass, pass_len)) != MASS_STATUS_OK)
		return status;
	if (host_ctx->verify == NULL || (a = calloc(1, sizeof(*a))) == NULL)
		return MASS_STATUS_ERROR;
	if ((a->hold = host_hold_add(host_add_release, a)) == NULL) {
		free(a);
		return MASS_STATUS_ERROR;
	}
	a->pool = host_ctx->verify;
	a->done = done;
	a->arg = arg;
	memcpy(a->name, name, name_len);
	a->name_len = name_len;
	if (cred_is_hash(pass, pass_len)) {
		memcpy(a->hash, pass, pass_len);
		a->hash_len = pass_len;
		a->loop = host_ctx->loop;
		loop_timer_start(a->loop, &a->timer, 0, host_add_given);
		return MASS_STATUS_PENDING;
	}
	if (verify_hash_start(a->pool, u->hash_method, u->hash_cost, pass, pass_len,
			      host_add_hashed, a, &a->req) < 0) {
		char ename[ESCAPE_SIZE(HOST_NAME_LOG_MAX)];

		log_error("management: adding user '%s': no worker free to hash its password",
			  escape_text(ename, sizeof(ename), name, name_len));
		host_hold_drop(a->hold);
		a->req = NULL;
		host_add_free(a);
		return MASS_STATUS_ERROR;
	}
	return MASS_STATUS_PENDING;
}

static int host_users_del(const char *name, size_t name_len)
{
	char err[256] = "", ename[ESCAPE_SIZE(HOST_NAME_LOG_MAX)];
	enum users_result r;

	if (host_ctx == NULL)
		return MASS_STATUS_ERROR;
	r = users_del(&host_ctx->live.users, name, name_len, true, err, sizeof(err));
	if (r == USERS_IO || r == USERS_NOMEM)
		log_error("management: deleting a user: %s", err[0] ? err : "out of memory");
	else if (r == USERS_OK)
		log_info("management: user '%s' deleted",
			 escape_text(ename, sizeof(ename), name, name_len));
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
	char msg[768], safe[ESCAPE_SIZE(768)];
	va_list ap;

	if (level < MASS_LOG_ERROR)
		level = MASS_LOG_ERROR;
	if (level > MASS_LOG_DEBUG)
		level = MASS_LOG_DEBUG;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a plugin may pass on network text: one line, escaped */
	log_msg((enum log_level)level, "plugin %s: %s", host_caller ? host_caller : "?",
		escape_str(safe, sizeof(safe), msg));
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
	.users_add_async = host_users_add_async,
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
