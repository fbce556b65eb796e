/* pool: free lists of relay buffers and splice pipes. See pool.h. */
#include "pool.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>


void pool_set_pipe_limit(struct pool *pl, size_t bytes)
{
	pl->pipe_limit = bytes;
}

size_t pool_pipe_bytes(const struct pool *pl)
{
	return pl->pipes_out;
}

/* Whether a pipe of capacity cap may be handed out now. */
static bool pool_pipe_fits(const struct pool *pl, size_t cap)
{
	return pl->pipe_limit == 0 ||
	       (pl->pipes_out <= pl->pipe_limit && cap <= pl->pipe_limit - pl->pipes_out);
}

struct pool_buf *pool_buf_get(struct pool *pl)
{
	struct pool_buf *buf = pl->free_bufs;

	if (buf == NULL)
		return malloc(sizeof(*buf));
	pl->free_bufs = buf->next;
	pl->idle_bufs--;
	return buf;
}

void pool_buf_put(struct pool *pl, struct pool_buf *buf)
{
	if (buf == NULL)
		return;
	if (pl->idle_bufs >= POOL_MAX_IDLE_BUFS) {
		free(buf);
		return;
	}
	buf->next = pl->free_bufs;
	pl->free_bufs = buf;
	pl->idle_bufs++;
}

struct pool_pipe *pool_pipe_get(struct pool *pl)
{
	struct pool_pipe *p = pl->free_pipes;
	int fds[2];
	int size;

	if (p != NULL) {
		if (!pool_pipe_fits(pl, p->capacity))
			return NULL;
		pl->free_pipes = p->next;
		pl->idle_pipes--;
		pl->pipes_out += p->capacity;
		return p;
	}
	if (!pool_pipe_fits(pl, POOL_PIPE_SIZE))
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
	pl->pipes_out += p->capacity;
	return p;
}

static void pool_pipe_close(struct pool_pipe *p)
{
	close(p->rfd);
	close(p->wfd);
	free(p);
}

void pool_pipe_discard(struct pool *pl, struct pool_pipe *p)
{
	if (p == NULL)
		return;
	pl->pipes_out -= p->capacity;
	pool_pipe_close(p);
}

void pool_pipe_put(struct pool *pl, struct pool_pipe *p)
{
	if (p == NULL)
		return;
	pl->pipes_out -= p->capacity;
	if (pl->idle_pipes >= POOL_MAX_IDLE_PIPES) {
		pool_pipe_close(p);
		return;
	}
	p->next = pl->free_pipes;
	pl->free_pipes = p;
	pl->idle_pipes++;
}

void pool_drain(struct pool *pl)
{
	while (pl->free_bufs != NULL) {
		struct pool_buf *b = pl->free_bufs;

		pl->free_bufs = b->next;
		free(b);
	}
	while (pl->free_pipes != NULL) {
		struct pool_pipe *p = pl->free_pipes;

		pl->free_pipes = p->next;
		pool_pipe_close(p);
	}
	pl->idle_bufs = pl->idle_pipes = 0;
}
