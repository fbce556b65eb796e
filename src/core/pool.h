/*
 * pool: free lists of relay buffers and splice pipes.
 *
 * A tunnel holds a buffer or a pipe only while bytes are in flight in one of
 * its directions, and gives it back as soon as that direction drains, so an
 * idle tunnel holds neither. Recycling avoids malloc churn and the
 * pipe2()/close() pair per transfer on the hot path.
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

/* A buffer, or NULL when memory is exhausted. */
struct pool_buf *pool_buf_get(void);
void pool_buf_put(struct pool_buf *buf);

/*
 * An empty pipe, or NULL when none can be made (EMFILE, ENFILE): the caller
 * then falls back to a buffer.
 */
struct pool_pipe *pool_pipe_get(void);

/* Returns an empty pipe to the pool (a pipe with bytes left in it must be closed with pool_pipe_discard). */
void pool_pipe_put(struct pool_pipe *pipe);
void pool_pipe_discard(struct pool_pipe *pipe);

/* Frees everything pooled (shutdown; tests). */
void pool_drain(void);

/* How many pooled pipes to keep at most; extra ones are closed. */
#define POOL_MAX_IDLE_PIPES 256
#define POOL_MAX_IDLE_BUFS 256

#endif
