/* pool: free lists of relay buffers and splice pipes. See pool.h. */
#include "pool.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

static struct pool_buf *pool_free_bufs;
static struct pool_pipe *pool_free_pipes;
static unsigned pool_idle_bufs, pool_idle_pipes;
static size_t pool_pipes_out, pool_pipe_limit;  /* capacity handed out; its cap */

void pool_set_pipe_limit(size_t bytes)
{
	pool_pipe_limit = bytes;
}

size_t pool_pipe_bytes(void)
{
	return pool_pipes_out;
}

/* Whether a pipe of capacity cap may be handed out now. */
static bool pool_pipe_fits(size_t cap)
{
	return pool_pipe_limit == 0 ||
	       (pool_pipes_out <= pool_pipe_limit && cap <= pool_pipe_limit - pool_pipes_out);
}

struct pool_buf *pool_buf_get(void)
{
	struct pool_buf *buf = pool_free_bufs;

	if (buf == NULL)
		return malloc(sizeof(*buf));
	pool_free_bufs = buf->next;
	pool_idle_bufs--;
	return buf;
}

void pool_buf_put(struct pool_buf *buf)
{
	if (buf == NULL)
		return;
	if (pool_idle_bufs >= POOL_MAX_IDLE_BUFS) {
		free(buf);
		return;
	}
	buf->next = pool_free_bufs;
	pool_free_bufs = buf;
	pool_idle_bufs++;
}

struct pool_pipe *pool_pipe_get(void)
{
	struct pool_pipe *p = pool_free_pipes;
	int fds[2];
	int size;

	if (p != NULL) {
		if (!pool_pipe_fits(p->capacity))
			return NULL;
		pool_free_pipes = p->next;
		pool_idle_pipes--;
		pool_pipes_out += p->capacity;
		return p;
	}
	if (!pool_pipe_fits(POOL_PIPE_SIZE))
		return NULL;
	p = malloc(sizeof(*p));
	if (p == NULL)
		return NULL;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		free(p);
		return NULL;
	}
	p->rfd = fds[0];
	p->wfd = fds[1];
	/* a larger pipe means fewer splice calls per megabyte; the kernel may refuse */
	size = fcntl(p->wfd, F_SETPIPE_SZ, POOL_PIPE_SIZE);
	if (size < 0)
		size = fcntl(p->wfd, F_GETPIPE_SZ);
	p->capacity = size > 0 ? (size_t)size : 65536;
	pool_pipes_out += p->capacity;
	return p;
}

static void pool_pipe_close(struct pool_pipe *p)
{
	close(p->rfd);
	close(p->wfd);
	free(p);
}

void pool_pipe_discard(struct pool_pipe *p)
{
	if (p == NULL)
		return;
	pool_pipes_out -= p->capacity;
	pool_pipe_close(p);
}

void pool_pipe_put(struct pool_pipe *p)
{
	if (p == NULL)
		return;
	pool_pipes_out -= p->capacity;
	if (pool_idle_pipes >= POOL_MAX_IDLE_PIPES) {
		pool_pipe_close(p);
		return;
	}
	p->next = pool_free_pipes;
	pool_free_pipes = p;
	pool_idle_pipes++;
}

void pool_drain(void)
{
	while (pool_free_bufs != NULL) {
		struct pool_buf *b = pool_free_bufs;

		pool_free_bufs = b->next;
		free(b);
	}
	while (pool_free_pipes != NULL) {
		struct pool_pipe *p = pool_free_pipes;

		pool_free_pipes = p->next;
		pool_pipe_close(p);
	}
	pool_idle_bufs = pool_idle_pipes = 0;
}
