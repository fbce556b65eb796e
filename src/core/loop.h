/*
 * loop: the one event loop of the process. A thin layer over epoll plus a
 * min-heap of one-shot timers, in the spirit of redis' ae.
 *
 * Readiness is reported per file descriptor to a callback registered with
 * loop_add(). Descriptors registered with LOOP_EDGE are edge-triggered: the
 * callback must consume until EAGAIN (or remember that it stopped early),
 * because epoll will not report the same readiness twice.
 *
 * Timers are intrusive: the caller embeds a struct loop_timer in its own
 * object, so arming and cancelling never allocate.
 *
 * Everything here runs on one thread; nothing is thread-safe.
 */
#ifndef MASS_LOOP_H
#define MASS_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct loop;

/* Event mask bits, both for loop_add() and for what a callback receives. */
enum {
	LOOP_READ = 1,   /* readable, or the peer closed (EOF/RDHUP) */
	LOOP_WRITE = 2,  /* writable */
	LOOP_ERROR = 4,  /* EPOLLERR or EPOLLHUP: the next I/O call tells why */
	LOOP_EDGE = 8,   /* only for loop_add(): edge-triggered registration */
	LOOP_RDHUP = 16  /* reported with LOOP_READ: the peer has shut its side */
};

/* Called with the mask of what happened (LOOP_READ | LOOP_WRITE | LOOP_ERROR). */
typedef void loop_io_fn(struct loop *loop, int fd, void *data, int events);

struct loop_timer;
typedef void loop_timer_fn(struct loop *loop, struct loop_timer *timer);

/* Embed in the owning object; zero-initialise (or loop_timer_init) before use. */
struct loop_timer {
	uint64_t when_ms;      /* absolute deadline on the loop's clock */
	uint32_t heap_index;   /* 0: not armed; else position + 1 in the heap */
	uint32_t round;        /* the round it was armed in, while timers fire */
	loop_timer_fn *fn;
	struct loop_timer *spill_next;  /* on the spill list (see loop_timer_start) */
};

/*
 * Creates a loop able to watch descriptors 0 .. max_fds-1.
 * Returns NULL and writes the reason into err (errlen bytes) on failure.
 */
struct loop *loop_create(int max_fds, char *err, size_t errlen);

/* Frees the loop. Registered descriptors are not closed. */
void loop_destroy(struct loop *loop);

/*
 * Watches fd for `events` (LOOP_READ, LOOP_WRITE, optionally LOOP_EDGE),
 * replacing any previous registration of fd.
 * Returns 0, or -1 with errno set (EBADF/ERANGE for an fd outside the table,
 * or what epoll_ctl said).
 */
int loop_add(struct loop *loop, int fd, int events, loop_io_fn *fn, void *data);

/*
 * Changes the level-triggered interest of an fd already added.
 * Returns 0, or -1 with errno set. A no-op when the mask is unchanged.
 */
int loop_set(struct loop *loop, int fd, int events);

/*
 * Stops watching fd. Safe to call from any callback, also for the fd being
 * handled: events already fetched for it in this round are dropped. Call it
 * before close(fd).
 */
void loop_remove(struct loop *loop, int fd);

/*
 * Forgets fd without telling epoll, for an fd about to be closed: close()
 * removes it from epoll anyway, so this saves a system call per descriptor.
 * Only for descriptors never duplicated (dup, fork).
 */
void loop_forget(struct loop *loop, int fd);

/* Sets a function run once per round just before the loop waits (batched flushes). */
void loop_set_before_wait(struct loop *loop, void (*fn)(void *arg), void *arg);

/*
 * Arms (or re-arms) timer to fire `ms` milliseconds from now. A timer armed
 * by a timer callback fires in a later round even when already due, so a
 * callback that re-arms itself with 0 ms (a yielding relay) lets the loop
 * poll its descriptors in between instead of spinning.
 *
 * Never calls fn from inside loop_timer_start(), even when the heap cannot
 * grow (out of memory): the timer then waits on an intrusive spill list,
 * which needs no allocation, and still fires at its deadline, only found
 * by a linear walk.
 */
void loop_timer_start(struct loop *loop, struct loop_timer *timer,
		      uint64_t ms, loop_timer_fn *fn);

/* Disarms the timer; a no-op when it is not armed. */
void loop_timer_stop(struct loop *loop, struct loop_timer *timer);

/* The object of type `type` whose member `member` is the timer t. */
#define LOOP_TIMER_OWNER(t, type, member) \
	((type *)(void *)((char *)(t) - offsetof(type, member)))

static inline int loop_timer_armed(const struct loop_timer *timer)
{
	return timer->heap_index != 0;
}

/* The loop's cached monotonic clock in milliseconds, updated once per round. */
uint64_t loop_now_ms(const struct loop *loop);

/*
 * Runs rounds until loop_stop() is called. Returns 0 on a requested stop,
 * -1 with errno set if epoll_wait failed for a reason other than EINTR.
 */
int loop_run(struct loop *loop);

/* Runs a single round, waiting at most timeout_ms (-1: until an event). */
int loop_run_once(struct loop *loop, int timeout_ms);

/* Makes loop_run() return after the current round. */
void loop_stop(struct loop *loop);

/* Number of descriptors the loop can hold (the max_fds given at creation). */
int loop_capacity(const struct loop *loop);

#endif
