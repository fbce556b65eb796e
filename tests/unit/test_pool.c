/* Unit tests for the pool: the global cap on pipes held by tunnels. */
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "core/pool.h"

/* Beyond the cap no pipe is handed out (the relay then uses a 16 KiB buffer). */
START_TEST(pipes_stop_at_the_cap)
{
	struct pool pl = { 0 };  /* one loop's pool */
	struct pool_pipe *p[8];
	size_t n = 0, cap;

	pool_set_pipe_limit(&pl, 0);
	p[0] = pool_pipe_get(&pl);
	ck_assert_ptr_nonnull(p[0]);
	cap = p[0]->capacity;
	ck_assert_uint_eq(pool_pipe_bytes(&pl), cap);
	pool_pipe_put(&pl, p[0]);
	ck_assert_uint_eq(pool_pipe_bytes(&pl), 0);
	/* room for three pipes of the size the kernel grants */
	pool_set_pipe_limit(&pl, 3 * cap);
	while (n < 8 && (p[n] = pool_pipe_get(&pl)) != NULL)
		n++;
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(pool_pipe_bytes(&pl), 3 * cap);
	/* a buffer is still there for the flow that got no pipe */
	{
		struct pool_buf *b = pool_buf_get(&pl);

		ck_assert_ptr_nonnull(b);
		pool_buf_put(&pl, b);
	}
	/* one back (a full one discarded), then one more fits again */
	pool_pipe_discard(&pl, p[--n]);
	ck_assert_uint_eq(pool_pipe_bytes(&pl), 2 * cap);
	ck_assert_ptr_nonnull(p[n] = pool_pipe_get(&pl));
	n++;
	ck_assert_ptr_null(pool_pipe_get(&pl));
	while (n > 0)
		pool_pipe_put(&pl, p[--n]);
	ck_assert_uint_eq(pool_pipe_bytes(&pl), 0);
	/* a cap below one pipe: none, and nothing is counted */
	pool_set_pipe_limit(&pl, 1);
	ck_assert_ptr_null(pool_pipe_get(&pl));
	ck_assert_uint_eq(pool_pipe_bytes(&pl), 0);
	pool_set_pipe_limit(&pl, 0);
	pool_drain(&pl);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, pipes_stop_at_the_cap);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
