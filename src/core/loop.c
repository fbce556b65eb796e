/* loop: epoll readiness plus a min-heap of timers. See loop.h. */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH 256

struct loop_fd {
	loop_io_fn *fn;    /* NULL: not registered */
	void *data;
	int events;        /* registered LOOP_* mask */
};

struct loop {
	int epfd;
	int max_fds;
	int stopping;
	uint32_t round;          /* counts loop rounds */
	bool firing;             /* inside loop_fire_timers() */
	uint64_t now_ms;
	struct loop_fd *fds;
	void (*before_wait)(void *arg);
	void *before_wait_arg;
	struct loop_timer **heap;
	uint32_t heap_len, heap_cap;
	struct loop_timer *spill;  /* armed timers the heap had no room for */
	struct epoll_event fired[LOOP_BATCH];
};

static uint64_t loop_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_create(int max_fds, char *err, size_t errlen)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (loop == NULL || max_fds <= 0)
		goto fail;
	loop->max_fds = max_fds;
	/* calloc'd pages are only touched for descriptors in use */
	loop->fds = calloc((size_t)max_fds, sizeof(*loop->fds));
	if (loop->fds == NULL)
		goto fail;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		goto fail;
	loop->now_ms = loop_clock_ms();
	return loop;
fail:
	snprintf(err, errlen, "event loop: %s", strerror(errno ? errno : EINVAL));
	if (loop != NULL)
		free(loop->fds);
	free(loop);
	return NULL;
}

void loop_destroy(struct loop *loop)
{
	if (loop == NULL)
		return;
	close(loop->epfd);
	free(loop->fds);
	free(loop->heap);
	free(loop);
}

static uint32_t loop_epoll_mask(int events)
{
	uint32_t mask = 0;

	if (events & LOOP_READ)
		mask |= EPOLLIN | EPOLLRDHUP;
	if (events & LOOP_WRITE)
		mask |= EPOLLOUT;
	if (events & LOOP_EDGE)
		mask |= EPOLLET;
	return mask;
}

static int loop_ctl(struct loop *loop, int op, int fd, int events)
{
	struct epoll_event ev = { .events = loop_epoll_mask(events), .data.fd = fd };

	return epoll_ctl(loop->epfd, op, fd, &ev);
}

int loop_add(struct loop *loop, int fd, int events, loop_io_fn *fn, void *data)
{
	struct loop_fd *slot;
	int op;

	if (fd < 0 || fd >= loop->max_fds) {
		errno = ERANGE;
		return -1;
	}
	slot = &loop->fds[fd];
	op = slot->fn != NULL ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (loop_ctl(loop, op, fd, events) < 0)
		return -1;
	slot->fn = fn;
	slot->data = data;
	slot->events = events;
	return 0;
}

int loop_set(struct loop *loop, int fd, int events)
{
	struct loop_fd *slot;

	if (fd < 0 || fd >= loop->max_fds || loop->fds[fd].fn == NULL) {
		errno = EBADF;
		return -1;
	}
	slot = &loop->fds[fd];
	if (slot->events == events)
		return 0;
	if (loop_ctl(loop, EPOLL_CTL_MOD, fd, events) < 0)
		return -1;
	slot->events = events;
	return 0;
}

void loop_remove(struct loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->max_fds || loop->fds[fd].fn == NULL)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->fds[fd].fn = NULL;
	loop->fds[fd].data = NULL;
	loop->fds[fd].events = 0;
}

void loop_forget(struct loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->max_fds)
		return;
	loop->fds[fd].fn = NULL;
	loop->fds[fd].data = NULL;
	loop->fds[fd].events = 0;
}

void loop_set_before_wait(struct loop *loop, void (*fn)(void *arg), void *arg)
{
	loop->before_wait = fn;
	loop->before_wait_arg = arg;
}

/* --- timers: binary min-heap keyed on when_ms, heap_index is 1-based --- */

/* heap_index of a timer on the spill list (armed, not in the heap) */
#define LOOP_SPILLED UINT32_MAX

static int loop_timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->when_ms < b->when_ms;
}

static void loop_heap_place(struct loop *loop, uint32_t pos, struct loop_timer *t)
{
	loop->heap[pos] = t;
	t->heap_index = pos + 1;
}

static void loop_heap_up(struct loop *loop, uint32_t pos)
{
	struct loop_timer *t = loop->heap[pos];

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;

		if (!loop_timer_before(t, loop->heap[parent]))
			break;
		loop_heap_place(loop, pos, loop->heap[parent]);
		pos = parent;
	}
	loop_heap_place(loop, pos, t);
}

static void loop_heap_down(struct loop *loop, uint32_t pos)
{
	struct loop_timer *t = loop->heap[pos];

	for (;;) {
		uint32_t child = 2 * pos + 1;

		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    loop_timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!loop_timer_before(loop->heap[child], t))
			break;
		loop_heap_place(loop, pos, loop->heap[child]);
		pos = child;
	}
	loop_heap_place(loop, pos, t);
}

void loop_timer_stop(struct loop *loop, struct loop_timer *timer)
{
	uint32_t pos;
	struct loop_timer *last;

	if (timer->heap_index == 0)
		return;
	if (timer->heap_index == LOOP_SPILLED) {
		struct loop_timer **pp = &loop->spill;

		while (*pp != timer)
			pp = &(*pp)->spill_next;
		*pp = timer->spill_next;
		timer->heap_index = 0;
		return;
	}
	pos = timer->heap_index - 1;
	timer->heap_index = 0;
	last = loop->heap[--loop->heap_len];
	if (last == timer)
		return;
	loop_heap_place(loop, pos, last);
	loop_heap_up(loop, pos);
	loop_heap_down(loop, last->heap_index - 1);
}

void loop_timer_start(struct loop *loop, struct loop_timer *timer,
		      uint64_t ms, loop_timer_fn *fn)
{
	loop_timer_stop(loop, timer);
	timer->fn = fn;
	timer->when_ms = loop->now_ms + ms;
	timer->round = loop->firing ? loop->round : 0;
	if (loop->heap_len == loop->heap_cap) {
		uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct loop_timer **heap = realloc(loop->heap, cap * sizeof(*heap));

		if (heap == NULL) {
			/* out of memory: wait on the spill list, never call back from here */
			timer->heap_index = LOOP_SPILLED;
			timer->spill_next = loop->spill;
			loop->spill = timer;
			return;
		}
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	loop->heap[loop->heap_len] = timer;
	loop_heap_up(loop, loop->heap_len++);
}

uint64_t loop_now_ms(const struct loop *loop)
{
	return loop->now_ms;
}

int loop_capacity(const struct loop *loop)
{
	return loop->max_fds;
}

static int loop_next_timeout(const struct loop *loop, int cap_ms)
{
	uint64_t when = UINT64_MAX;

	if (loop->heap_len > 0)
		when = loop->heap[0]->when_ms;
	for (const struct loop_timer *t = loop->spill; t != NULL; t = t->spill_next)
		if (t->when_ms < when)
			when = t->when_ms;
	if (when == UINT64_MAX)
		return cap_ms;
	if (when <= loop->now_ms)
		return 0;
	if (cap_ms >= 0 && when - loop->now_ms > (uint64_t)cap_ms)
		return cap_ms;
	return when - loop->now_ms > 86400000u ? 86400000 : (int)(when - loop->now_ms);
}

/* Fires the due timers of the spill list, those armed in this pass excepted. */
static void loop_fire_spilled(struct loop *loop)
{
	struct loop_timer **pp = &loop->spill;

	while (*pp != NULL) {
		struct loop_timer *t = *pp;

		if (t->when_ms > loop->now_ms || t->round == loop->round) {
			pp = &t->spill_next;
			continue;
		}
		*pp = t->spill_next;
		t->heap_index = 0;
		t->fn(loop, t);
		/* the callback may have changed the list: walk it again */
		pp = &loop->spill;
	}
}

static void loop_fire_timers(struct loop *loop)
{
	loop->round++;
	loop->firing = true;
	loop_fire_spilled(loop);
	while (loop->heap_len > 0 && loop->heap[0]->when_ms <= loop->now_ms) {
		struct loop_timer *t = loop->heap[0];

		/* armed by a callback of this pass: next round (see loop.h) */
		if (t->round == loop->round)
			break;
		loop_timer_stop(loop, t);
		t->fn(loop, t);
	}
	loop->firing = false;
}

static int loop_events_of(uint32_t mask)
{
	int events = 0;

	if (mask & (EPOLLIN | EPOLLRDHUP))
		events |= LOOP_READ;
	if (mask & EPOLLRDHUP)
		events |= LOOP_RDHUP;
	if (mask & EPOLLOUT)
		events |= LOOP_WRITE;
	if (mask & (EPOLLERR | EPOLLHUP))
		events |= LOOP_ERROR | LOOP_READ | LOOP_WRITE;
	return events;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
	int n;

	if (loop->before_wait != NULL)
		loop->before_wait(loop->before_wait_arg);
	n = epoll_wait(loop->epfd, loop->fired, LOOP_BATCH,
			   loop_next_timeout(loop, timeout_ms));

	loop->now_ms = loop_clock_ms();
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		int fd = loop->fired[i].data.fd;
		struct loop_fd *slot = &loop->fds[fd];

		/* NULL when an earlier callback of this round removed it */
		if (slot->fn != NULL)
			slot->fn(loop, fd, slot->data, loop_events_of(loop->fired[i].events));
	}
	loop_fire_timers(loop);
	return n;
}

int loop_run(struct loop *loop)
{
	loop->stopping = 0;
	while (!loop->stopping)
		if (loop_run_once(loop, -1) < 0)
			return -1;
	return 0;
}

void loop_stop(struct loop *loop)
{
	loop->stopping = 1;
}
