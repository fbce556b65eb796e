/*
 * host_password: the off-loop password service of ABI 1.2 (password_verify,
 * password_hash) on the host's worker pool (auth/verify.h), completing on
 * the loop as the calling load. Each job is a registration of that load:
 * an unload cancels the worker's request and frees the job, and done is
 * never called.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/users.h"
#include "auth/verify.h"
#include "core/log.h"
#include "core/loop.h"
#include "host_impl.h"
#include "socks/context.h"

struct host_pw {
	struct owner_res res;              /* first: a registration of the load */
	struct verify_req *req;            /* the worker's request, or NULL */
	struct loop *loop;
	struct loop_timer t;               /* a malformed crypt string: -1 next round */
	bool timer_armed;
	mass_verify_done_fn *verify_done;
	mass_hash_done_fn *hash_done;
	void *arg;
};

static void host_pw_free(struct host_pw *j)
{
	if (j->req != NULL)
		verify_cancel(j->req);
	if (j->timer_armed)
		loop_timer_stop(j->loop, &j->t);
	owner_res_unlink(&j->res);
	free(j);
}

static void host_pw_release(struct owner_res *r)
{
	host_pw_free((struct host_pw *)(void *)r);
}

/* A job for the load of ctx, or NULL (no pool, no memory, bad arguments). */
static struct host_pw *host_pw_new(struct mass_ctx *ctx, size_t pass_len, void *arg,
				   struct verify_pool **pool, struct users **users)
{
	struct host_owner *o = owner_of_ctx(ctx);
	struct host *h = host_of(o);
	struct host_pw *j;

	if (o == NULL || h->rt == NULL || h->rt->verify == NULL || h->loop == NULL ||
	    pass_len == 0 || pass_len > 255 || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	if (owner_res_add(o, &j->res, host_pw_release) < 0) {
		free(j);
		return NULL;
	}
	j->loop = h->loop;
	j->arg = arg;
	*pool = h->rt->verify;
	*users = &h->rt->live.users;
	return j;
}

/* Calls the plugin back with match, as its load, after freeing the job. */
static void host_pw_verified(struct host_pw *j, int match)
{
	struct host_owner *o = j->res.owner, *prev;
	mass_verify_done_fn *done = j->verify_done;
	void *arg = j->arg;

	j->req = NULL;
	host_pw_free(j);
	prev = owner_enter(o);
	done(&o->ctx, arg, match);
	owner_enter(prev);
}

static void host_pw_checked(void *arg, bool ok)
{
	host_pw_verified(arg, ok ? 1 : 0);
}

static void host_pw_malformed(struct loop *loop, struct loop_timer *t)
{
	struct host_pw *j = LOOP_TIMER_OWNER(t, struct host_pw, t);

	(void)loop;
	j->timer_armed = false;
	host_pw_verified(j, -1);
}

/* password_verify, and password_verify_cached when name is not NULL. */
static int host_password_check(struct mass_ctx *ctx, const char *name, size_t name_len,
			       const char *crypt, const char *pass, size_t pass_len,
			       mass_verify_done_fn *done, void *arg)
{
	struct verify_pool *pool;
	struct users *users;
	struct host_pw *j;
	int rc;

	if (crypt == NULL || pass == NULL || done == NULL ||
	    (j = host_pw_new(ctx, pass_len, arg, &pool, &users)) == NULL)
		return -1;
	j->verify_done = done;
	rc = name == NULL ?
	     verify_crypt_start(pool, crypt, pass, pass_len, host_pw_checked, j, &j->req) :
	     verify_crypt_start_cached(pool, name, name_len, crypt, pass, pass_len,
				       host_pw_checked, j, &j->req);
	if (rc == 0)
		return 0;
	j->req = NULL;
	if (errno == EINVAL) {
		/* not a crypt string: "could not check", later as promised */
		j->timer_armed = true;
		loop_timer_start(j->loop, &j->t, 0, host_pw_malformed);
		return 0;
	}
	host_pw_free(j);
	return -1;
}

static int host_password_verify(struct mass_ctx *ctx, const char *crypt, const char *pass,
				size_t pass_len, mass_verify_done_fn *done, void *arg)
{
	return host_password_check(ctx, NULL, 0, crypt, pass, pass_len, done, arg);
}

static int host_password_verify_cached(struct mass_ctx *ctx, const char *name, size_t name_len,
				       const char *crypt, const char *pass, size_t pass_len,
				       mass_verify_done_fn *done, void *arg)
{
	if (name == NULL)
		return -1;
	return host_password_check(ctx, name, name_len, crypt, pass, pass_len, done, arg);
}

static void host_pw_hashed(void *arg, const char *hash, size_t len, const char *err)
{
	struct host_pw *j = arg;
	struct host_owner *o = j->res.owner, *prev;
	mass_hash_done_fn *done = j->hash_done;
	void *parg = j->arg;

	(void)len;
	j->req = NULL;
	host_pw_free(j);
	prev = owner_enter(o);
	done(&o->ctx, parg, hash, hash != NULL ? NULL : (err != NULL ? err : "hashing failed"));
	owner_enter(prev);
}

static int host_password_hash(struct mass_ctx *ctx, const char *pass, size_t pass_len,
			      mass_hash_done_fn *done, void *arg)
{
	struct verify_pool *pool;
	struct users *users;
	struct host_pw *j;

	if (pass == NULL || done == NULL ||
	    (j = host_pw_new(ctx, pass_len, arg, &pool, &users)) == NULL)
		return -1;
	j->hash_done = done;
	if (verify_hash_start(pool, users->hash_method, users->hash_cost, pass, pass_len,
			      host_pw_hashed, j, &j->req) == 0)
		return 0;
	j->req = NULL;
	host_pw_free(j);
	return -1;
}

void host_password_fill(struct mass_host *t)
{
	t->password_verify = host_password_verify;
	t->password_hash = host_password_hash;
	t->password_verify_cached = host_password_verify_cached;
}
