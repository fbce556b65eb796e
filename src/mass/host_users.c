/*
 * host_users: the SOCKS users store for plugins (users_count, users_name,
 * users_add, users_del, users_add_async), over the live store of the
 * runtime context, persisted, logged.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/cred.h"
#include "auth/users.h"
#include "auth/verify.h"
#include "core/escape.h"
#include "core/log.h"
#include "core/loop.h"
#include "host.h"
#include "host_impl.h"
#include "socks/context.h"

/* A user name as logged: RFC 1929 names are at most 255 octets. */
#define HOST_NAME_LOG_MAX 255

/* The runtime context the store belongs to (NULL: none; the services then
 * do nothing). */
static struct socks_ctx *host_rt(void)
{
	return host_of(owner_current())->rt;
}

static size_t host_users_count(void)
{
	return host_rt() != NULL ? host_rt()->live.users.len : 0;
}

static const char *host_users_name(size_t i, size_t *len)
{
	if (i >= host_users_count()) {
		*len = 0;
		return NULL;
	}
	*len = host_rt()->live.users.list[i].name_len;
	return host_rt()->live.users.list[i].name;
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

	if (host_rt() == NULL)
		return MASS_STATUS_ERROR;
	r = users_add(&host_rt()->live.users, name, name_len, pass, pass_len, true, err, sizeof(err));
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
 * The job is a registration of the calling load (owner.h): an unload
 * cancels the worker's request and frees the job; done is not called.
 */
struct host_add {
	struct owner_res res;              /* first: a registration of the load */
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

/* The load ended before the add did (owner_release). */
static void host_add_release(struct owner_res *r)
{
	owner_res_unlink(r);
	host_add_free((struct host_add *)(void *)r);
}

/* Frees a, then calls the plugin back with status, as its load. */
static void host_add_answer(struct host_add *a, int status)
{
	struct host_owner *owner = a->res.owner, *prev;
	void (*done)(void *, int) = a->done;
	void *arg = a->arg;

	owner_res_unlink(&a->res);
	host_add_free(a);
	prev = owner_enter(owner);
	done(arg, status);
	owner_enter(prev);
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
	struct users *u = host_rt() != NULL ? &host_rt()->live.users : NULL;
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
	struct users *u = host_rt() != NULL ? &host_rt()->live.users : NULL;
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

	if (host_rt() == NULL || done == NULL)
		return MASS_STATUS_ERROR;
	u = &host_rt()->live.users;
	if ((status = host_add_check(u, name, name_len, pass, pass_len)) != MASS_STATUS_OK)
		return status;
	if (host_rt()->verify == NULL || (a = calloc(1, sizeof(*a))) == NULL)
		return MASS_STATUS_ERROR;
	if (owner_res_add(owner_current(), &a->res, host_add_release) < 0) {
		free(a);
		return MASS_STATUS_ERROR;
	}
	a->pool = host_rt()->verify;
	a->done = done;
	a->arg = arg;
	memcpy(a->name, name, name_len);
	a->name_len = name_len;
	if (cred_is_hash(pass, pass_len)) {
		memcpy(a->hash, pass, pass_len);
		a->hash_len = pass_len;
		a->loop = host_rt()->loop;
		loop_timer_start(a->loop, &a->timer, 0, host_add_given);
		return MASS_STATUS_PENDING;
	}
	if (verify_hash_start(a->pool, u->hash_method, u->hash_cost, pass, pass_len,
			      host_add_hashed, a, &a->req) < 0) {
		char ename[ESCAPE_SIZE(HOST_NAME_LOG_MAX)];

		log_error("management: adding user '%s': no worker free to hash its password",
			  escape_text(ename, sizeof(ename), name, name_len));
		owner_res_unlink(&a->res);
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

	if (host_rt() == NULL)
		return MASS_STATUS_ERROR;
	r = users_del(&host_rt()->live.users, name, name_len, true, err, sizeof(err));
	if (r == USERS_IO || r == USERS_NOMEM)
		log_error("management: deleting a user: %s", err[0] ? err : "out of memory");
	else if (r == USERS_OK)
		log_info("management: user '%s' deleted",
			 escape_text(ename, sizeof(ename), name, name_len));
	return host_users_status(r);
}


void host_users_fill(struct mass_host *t)
{
	t->users_count = host_users_count;
	t->users_name = host_users_name;
	t->users_add = host_users_add;
	t->users_del = host_users_del;
	t->users_add_async = host_users_add_async;
}
