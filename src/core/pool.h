/*
 * pool: free lists of relay buffers and splice pipes.
 *
 * A tunnel holds a buffer or a pipe only while bytes are in flight in one of
 * its directions, and gives it back as soon as that direction drains, so an
 * idle tunnel holds neither. Recycling avoids malloc churn and the
 * pipe2()/close() pair per transfer on the hot path.
 *
 * Memory under stalled peers is bounded: a direction whose receiver stopped
 * reading keeps its pipe full (up to POOL_PIPE_SIZE, 1 MiB, of kernel
 * memory) or its buffer full (POOL_BUF_SIZE, 16 KiB). The pipes handed out
 * at once have a global cap (pool_set_pipe_limit(), [socks]
 * max_buffer_memory); beyond it pool_pipe_get() says no and the flow uses
 * a 16 KiB buffer, so the pipes never hold more than the cap and each
 * tunnel beyond it at most 32 KiB (both directions), plus what the kernel
 * queues in its two sockets.
 */
#ifndef MASS_POOL_H
#define MASS_POOL_H

#include <stddef.h>

#define POOL_BUF_SIZE (16 * 1024)   /* user-space relay buffer (dissected flows) */
#define POOL_PIPE_SIZE (1024 * 1024) /* requested pipe capacity (F_SETPIPE_SZ) */

struct pool_buf {
	struct pool_buf *next;     /* free-list link while pooled */
	unsigned char data[POOL_BUF_SIZE];
};

struct pool_pipe {
	struct pool_pipe *next;    /* free-list link while pooled */
	int rfd, wfd;
	size_t capacity;           /* what the kernel granted */
};

/*
 * One pool: the free lists and what is handed out, owned by the loop whose
 * relays use it (main's runtime context holds the one there is; zeroed is
 * empty, without a pipe limit). Used from that loop's thread only.
 */
struct pool {
	struct pool_buf *free_bufs;
	struct pool_pipe *free_pipes;
	unsigned idle_bufs, idle_pipes;
	size_t pipes_out;           /* pipe capacity handed out */
	size_t pipe_limit;          /* its cap; 0: none */
};

/* A buffer, or NULL when memory is exhausted. */
struct pool_buf *pool_buf_get(struct pool *pl);
void pool_buf_put(struct pool *pl, struct pool_buf *buf);

/*
 * An empty pipe, or NULL when none can be made (EMFILE, ENFILE) or the cap
 * would be passed: the caller then falls back to a buffer.
 */
struct pool_pipe *pool_pipe_get(struct pool *pl);

/*
 * The most pipe capacity handed out at once, in bytes (0: no cap); a pipe
 * that would pass it is not handed out (pool_pipe_get() returns NULL).
 */
void pool_set_pipe_limit(struct pool *pl, size_t bytes);

/* The pipe capacity handed out now, in bytes. */
size_t pool_pipe_bytes(const struct pool *pl);

/* Returns an empty pipe to the pool (a pipe with bytes left in it must be closed with pool_pipe_discard). */
void pool_pipe_put(struct pool *pl, struct pool_pipe *pipe);
void pool_pipe_discard(struct pool *pl, struct pool_pipe *pipe);

/* Frees everything pooled (shutdown; tests). */
void pool_drain(struct pool *pl);

/* How many pooled pipes to keep at most; extra ones are closed. */
#define POOL_MAX_IDLE_PIPES 256
#define POOL_MAX_IDLE_BUFS 256

#endif
