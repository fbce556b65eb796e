/*
 * Unit tests for the event loop: timers in order, cancellation, fd
 * readiness, and a timer heap that cannot grow. The program is linked with
 * -Wl,--wrap=realloc (Makefile.am), so realloc_fails makes every realloc
 * of the program's own objects, the loop's heap included, return NULL.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "check_main.h"
#include "core/loop.h"

static int fired[8];
static int nfired;

static bool realloc_fails;

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_realloc(void *p, size_t n)
{
	return realloc_fails ? NULL : __real_realloc(p, n);
}

struct tagged_timer {
	struct loop_timer timer;
	int tag;
};

static void record(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	fired[nfired++] = ((struct tagged_timer *)t)->tag;
}

START_TEST(timers_fire_in_deadline_order)
{
	char err[128];
	struct loop *loop = loop_create(64, err, sizeof(err));
	struct tagged_timer t[4] = { { .tag = 0 }, { .tag = 1 }, { .tag = 2 }, { .tag = 3 } };

	ck_assert_ptr_nonnull(loop);
	nfired = 0;
	loop_timer_start(loop, &t[0].timer, 30, record);
	loop_timer_start(loop, &t[1].timer, 10, record);
	loop_timer_start(loop, &t[2].timer, 20, record);
	loop_timer_start(loop, &t[3].timer, 15, record);
	loop_timer_stop(loop, &t[3].timer);
	ck_assert(!loop_timer_armed(&t[3].timer));
	while (nfired < 3)
		loop_run_once(loop, 100);
	ck_assert_int_eq(fired[0], 1);
	ck_assert_int_eq(fired[1], 2);
	ck_assert_int_eq(fired[2], 0);
	loop_destroy(loop);
}
END_TEST

static int reads_seen;

static void on_read(struct loop *loop, int fd, void *data, int events)
{
	char buf[16];

	(void)data;
	if (events & LOOP_READ) {
		reads_seen++;
		ck_assert_int_gt(read(fd, buf, sizeof(buf)), 0);
		loop_remove(loop, fd);
	}
}

START_TEST(pipe_readiness_is_reported_once_removed)
{
	char err[128];
	int p[2];
	struct loop *loop = loop_create(1024, err, sizeof(err));

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(loop_add(loop, p[0], LOOP_READ, on_read, NULL), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	reads_seen = 0;
	loop_run_once(loop, 100);
	ck_assert_int_eq(write(p[1], "y", 1), 1);
	loop_run_once(loop, 10);
	ck_assert_int_eq(reads_seen, 1);
	close(p[0]);
	close(p[1]);
	loop_destroy(loop);
}
END_TEST

static int rearms;

static void rearm_at_once(struct loop *loop, struct loop_timer *t)
{
	rearms++;
	loop_timer_start(loop, t, 0, rearm_at_once);
}

/* A timer re-armed with 0 ms from its own callback waits for the next round. */
START_TEST(zero_delay_rearm_yields_to_the_next_round)
{
	char err[128];
	struct loop *loop = loop_create(64, err, sizeof(err));
	struct loop_timer t = { 0 };

	rearms = 0;
	loop_timer_start(loop, &t, 0, rearm_at_once);
	loop_run_once(loop, 0);
	ck_assert_int_eq(rearms, 1);
	loop_run_once(loop, 0);
	ck_assert_int_eq(rearms, 2);
	loop_timer_stop(loop, &t);
	loop_destroy(loop);
}
END_TEST

/*
 * Out of memory for the timer heap: loop_timer_start() never calls back
 * synchronously; the timer still fires at its deadline, in a later round,
 * and can be stopped in between.
 */
START_TEST(timer_start_without_memory_never_calls_back_at_once)
{
	char err[128];
	struct loop *loop = loop_create(64, err, sizeof(err));
	struct tagged_timer soon = { .tag = 1 }, later = { .tag = 2 }, stopped = { .tag = 3 };

	ck_assert_ptr_nonnull(loop);
	nfired = 0;
	realloc_fails = true;
	loop_timer_start(loop, &soon.timer, 0, record);
	loop_timer_start(loop, &later.timer, 40, record);
	loop_timer_start(loop, &stopped.timer, 0, record);
	realloc_fails = false;
	ck_assert_int_eq(nfired, 0);
	ck_assert(loop_timer_armed(&soon.timer));
	ck_assert(loop_timer_armed(&later.timer));
	loop_timer_stop(loop, &stopped.timer);
	ck_assert(!loop_timer_armed(&stopped.timer));
	loop_run_once(loop, 0);
	ck_assert_int_eq(nfired, 1);
	ck_assert_int_eq(fired[0], 1);
	/* the 40 ms one waits for its deadline: the wait is bounded by it */
	ck_assert(loop_timer_armed(&later.timer));
	while (nfired < 2)
		loop_run_once(loop, -1);
	ck_assert_int_eq(fired[1], 2);
	ck_assert(!loop_timer_armed(&later.timer));
	loop_destroy(loop);
}
END_TEST

START_TEST(fd_outside_table_is_refused)
{
	char err[128];
	struct loop *loop = loop_create(4, err, sizeof(err));

	ck_assert_int_eq(loop_add(loop, 10, LOOP_READ, on_read, NULL), -1);
	loop_destroy(loop);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, timers_fire_in_deadline_order);
	tcase_add_test(tc, pipe_readiness_is_reported_once_removed);
	tcase_add_test(tc, zero_delay_rearm_yields_to_the_next_round);
	tcase_add_test(tc, timer_start_without_memory_never_calls_back_at_once);
	tcase_add_test(tc, fd_outside_table_is_refused);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
