/* relay: splice or buffer each direction of a tunnel. See relay.h. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/net.h"

void relay_init(struct relay *r, int client_fd, int upstream_fd)
{
	memset(r, 0, sizeof(*r));
	r->fd[RELAY_CLIENT] = client_fd;
	r->fd[RELAY_UPSTREAM] = upstream_fd;
}

int relay_preload(struct relay *r, const uint8_t *data, size_t len)
{
	struct relay_dir *d = &r->dir[RELAY_TO_UPSTREAM];

	if (len == 0)
		return 0;
	if (len > POOL_BUF_SIZE || d->len != 0)
		return -1;
	d->buf = pool_buf_get(r->pool);
	if (d->buf == NULL)
		return -1;
	memcpy(d->buf->data, data, len);
	d->off = 0;
	d->len = (uint32_t)len;
	d->bytes += len;
	return 0;
}

/* Gives back what an empty direction holds, so idle tunnels hold nothing. */
static void relay_dir_idle(struct pool *pool, struct relay_dir *d)
{
	if (d->buf != NULL) {
		pool_buf_put(pool, d->buf);
		d->buf = NULL;
	}
	if (d->pipe != NULL) {
		pool_pipe_put(pool, d->pipe);
		d->pipe = NULL;
	}
}

/* Writes in-flight bytes. Returns 1 when drained, 0 on EAGAIN, -1 on error. */
static int relay_flush(struct relay *r, struct relay_dir *d, int dst)
{
	while (d->len > 0) {
		ssize_t n;

		if (d->pipe != NULL)
			n = splice(d->pipe->rfd, NULL, r->fd[dst], NULL, d->len,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		else
			n = send(r->fd[dst], d->buf->data + d->off, d->len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				r->ready[dst] &= ~RELAY_WRITABLE;
				return 0;
			}
			return -1;
		}
		metrics_relay_write(r->metrics, (uint64_t)n);
		d->off += (uint32_t)n;
		d->len -= (uint32_t)n;
	}
	return 1;
}

/* The most a limited read may take at once: a burst's worth is typical. */
#define RELAY_LIMIT_CHUNK (1024 * 1024)

/*
 * After a take from b that asked for `asked` bytes and got `got`: caps the
 * pacing of the direction's destination once it runs at its rate, lifts
 * the cap when a take finds the bucket full (a saved-up burst leaves at
 * once) or the rate gone (see struct relay_limit). The cap is set at a
 * resumption (a take that gets bytes after one that got none) and only
 * once what went before has left (at most an eighth of the burst unsent):
 * a burst a slow client has not taken yet, or what a tunnel just moved
 * into a limited class had queued, would leave paced, and so late.
 */
static void relay_limit_pace(struct relay *r, int which, const struct bucket *b,
			     uint64_t asked, uint64_t got)
{
	struct relay_limit *l = r->limit;
	uint64_t cap = l->paced[which];
	int dst = which == RELAY_TO_UPSTREAM ? RELAY_UPSTREAM : RELAY_CLIENT;

	if (b == NULL || !bucket_limited(b) || got + b->tokens >= b->burst)
		cap = 0;
	else if (cap != 0 || (l->refused[which] && got > 0 &&
			      net_unsent(r->fd[dst]) <= b->burst / 8))
		cap = b->rate * RELAY_PACE_PERCENT / 100;   /* rate <= 2^50: no overflow */
	l->refused[which] = asked > 0 && got == 0;
	if (cap != l->paced[which]) {
		net_pacing(r->fd[dst], cap);
		l->paced[which] = cap;
	}
}

/* What the next read of direction which may take. Returns false (stopped) for none. */
static bool relay_limit_take(struct relay *r, int which)
{
	struct relay_limit *l = r->limit;
	struct bucket *b = l->bucket[which];
	uint64_t want = l->quota_left < RELAY_LIMIT_CHUNK ? l->quota_left : RELAY_LIMIT_CHUNK;
	uint64_t asked = want;

	if (want > 0 && b != NULL && bucket_limited(b)) {
		/* never more than a burst: the rest would only count as delayed */
		if (want > b->burst)
			want = asked = b->burst;
		want = bucket_take(b, l->now_ns, want);
	}
	relay_limit_pace(r, which, b, asked, want);
	l->grant = (size_t)want;
	l->stopped[which] = want == 0;
	return want > 0;
}

/* After the read: what was granted and not read goes back. */
static void relay_limit_settle(struct relay *r, int which, ssize_t n)
{
	struct relay_limit *l = r->limit;
	size_t moved = n > 0 ? (size_t)n : 0;

	if (l->bucket[which] != NULL && l->grant > moved)
		bucket_return(l->bucket[which], l->grant - moved);
	if (l->quota_left != UINT64_MAX)
		l->quota_left -= moved < l->quota_left ? moved : l->quota_left;
	l->grant = 0;
}

/* A read's size: cap, or less under a limit. */
static size_t relay_cap(const struct relay *r, size_t cap)
{
	return r->limit != NULL && r->limit->grant < cap ? r->limit->grant : cap;
}

/* Gives the user-space buffer back and takes a pipe; false when none is left. */
static bool relay_to_pipe(struct relay *r, struct relay_dir *d)
{
	/* a buffer left from preloaded or inspected bytes goes back */
	if (d->buf != NULL) {
		pool_buf_put(r->pool, d->buf);
		d->buf = NULL;
	}
	if (d->pipe == NULL)
		d->pipe = pool_pipe_get(r->pool);
	return d->pipe != NULL;
}

static int relay_tap_prepare(struct relay *r, int which, int src);

/*
 * Splices the tap's unseen run into the direction's pipe and, while the
 * pipe has room and the socket has bytes, the runs that follow it, each
 * announced by a line looked at in place (relay_tap_prepare): a chunked
 * body fills the pipe chunk after chunk before it is written on. Returns
 * the bytes spliced, or what splice() said when it spliced none.
 */
static ssize_t relay_splice_unseen(struct relay *r, int which, int src)
{
	struct relay_dir *d = &r->dir[which];
	size_t total = 0;

	for (;;) {
		size_t room = d->pipe->capacity - total;
		size_t cap = d->unseen < room ? (size_t)d->unseen : room;
		ssize_t n;

		/* under a limit the batch is one read: no more than its grant */
		if (r->limit != NULL && r->limit->grant - total < cap)
			cap = r->limit->grant - total;
		if (cap == 0)
			break;
		n = splice(r->fd[src], NULL, d->pipe->wfd, NULL, cap, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n <= 0)
			return total > 0 ? (ssize_t)total : n;
		total += (size_t)n;
		d->spliced += (uint64_t)n;
		d->unseen -= (uint64_t)n;
		if (d->unseen == 0)
			d->peek = true; /* the run is over: a line comes next */
		if (d->unseen > 0 || total == d->pipe->capacity)
			break; /* the socket is dry for now, or the pipe full */
		/* a failed look (EAGAIN) ends the batch; the next read sees it again */
		if (relay_tap_prepare(r, which, src) < 0 || r->tap.feed == NULL ||
		    !d->splice_unseen || d->unseen == 0)
			break;
	}
	return (ssize_t)total;
}

/*
 * Reads one chunk: by splice into the direction's pipe once the flow is
 * bulk and nothing inspects it, or while the tap lets enough bytes go by
 * unseen (then no more than those), else by recv into a pooled buffer.
 * Returns the bytes read, 0 on EOF, -1 with errno set.
 */
static ssize_t relay_fill(struct relay *r, int which, int src, bool inspect)
{
	struct relay_dir *d = &r->dir[which];
	size_t want = POOL_BUF_SIZE;
	ssize_t n;

	if ((inspect ? d->splice_unseen && d->unseen > 0 : d->bulk) && relay_to_pipe(r, d)) {
		if (inspect)
			return relay_splice_unseen(r, which, src);
		n = splice(r->fd[src], NULL, d->pipe->wfd, NULL, relay_cap(r, d->pipe->capacity),
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			d->spliced += (uint64_t)n;
		return n;
	}
	if (d->pipe != NULL) {
		/* switching to user space: the pipe is empty here, keep order simple */
		pool_pipe_put(r->pool, d->pipe);
		d->pipe = NULL;
	}
	if (d->buf == NULL && (d->buf = pool_buf_get(r->pool)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	d->off = 0;
	if (inspect && d->peek && d->unseen == 0)
		want = RELAY_PEEK_BYTES;
	want = relay_cap(r, want);
	n = recv(r->fd[src], d->buf->data, want, 0);
	if (n > 0)
		d->peek = false;
	/* a limited read that got all it asked for proves nothing drained either */
	if (n == POOL_BUF_SIZE || (r->limit != NULL && n > 0 && (size_t)n == r->limit->grant))
		d->bulk = true;
	else if (n > 0 && (size_t)n < want && !(r->ready[src] & RELAY_EOF_PENDING))
		r->ready[src] &= ~RELAY_READABLE;  /* short read: drained */
	return n;
}

void relay_tap_set(struct relay *r, struct relay_tap tap)
{
	r->tap = tap;
}

void relay_tap_clear(struct relay *r)
{
	struct relay_tap tap = r->tap;

	r->tap = (struct relay_tap){ .feed = NULL };
	for (int i = 0; i < 2; i++) {
		r->dir[i].unseen = 0;
		r->dir[i].peek = false;
	}
	if (tap.release != NULL)
		tap.release(tap.ctx);
}

/*
 * Before a read of a tapped direction, once the last unseen bytes have gone:
 * asks the tap how many bytes it lets go next. Right after a spliced run,
 * where a line is expected (a chunk size, the next start line), the line is
 * first looked at in place (MSG_PEEK) and fed, then moved with the run it
 * announces, so neither is copied through the buffer. Returns 0, or -1 with
 * errno set (EAGAIN: nothing to read yet).
 */
static int relay_tap_prepare(struct relay *r, int which, int src)
{
	struct relay_dir *d = &r->dir[which];
	uint8_t line[RELAY_LINE_PEEK];
	const uint8_t *lf = NULL;
	uint64_t seen = 0;
	ssize_t n;

	if (r->tap.feed == NULL || r->tap.pass == NULL || d->unseen > 0)
		return 0;
	if (d->peek) {
		n = recv(r->fd[src], line, sizeof(line), MSG_PEEK);
		if (n < 0)
			return -1;
		lf = memchr(line, '\n', (size_t)n);
	}
	if (lf != NULL) {
		seen = (uint64_t)(lf - line) + 1;
		d->tapped += seen;
		d->peek = false;
		if (r->tap.feed(r->tap.ctx, which, line, (size_t)seen) == RELAY_TAP_DONE) {
			relay_tap_clear(r);
			return 0; /* the line is still to read, untapped */
		}
	}
	/* the line fed is moved with what the tap lets go after it */
	d->unseen = seen + r->tap.pass(r->tap.ctx, which);
	/* decided once per run: its tail, however short, is spliced too */
	d->splice_unseen = d->unseen >= RELAY_SPLICE_MIN;
	return 0;
}

/* Shows the tap the bytes just read into the buffer, except those it let go. */
static void relay_inspect(struct relay *r, int which, const uint8_t *data, size_t len)
{
	struct relay_dir *d = &r->dir[which];
	size_t skip = d->unseen < len ? (size_t)d->unseen : len;

	d->unseen -= skip;
	if (skip == len)
		return;
	d->tapped += len - skip;
	if (r->tap.feed(r->tap.ctx, which, data + skip, len - skip) == RELAY_TAP_DONE)
		relay_tap_clear(r);
}

/* Accounts for n bytes just read in direction which and shows the tap what
 * it is to see of them. */
static void relay_took(struct relay *r, int which, size_t n, bool inspect)
{
	struct relay_dir *d = &r->dir[which];

	metrics_relay_read(r->metrics, (uint64_t)n);
	d->bytes += (uint64_t)n;
	d->len = (uint32_t)n;
	if (d->buf != NULL && inspect)
		relay_inspect(r, which, d->buf->data, n);
}

/* Pumps one direction. Returns a relay_status for this direction alone. */
static enum relay_status relay_pump_dir(struct relay *r, int which, bool *moved)
{
	struct relay_dir *d = &r->dir[which];
	int src = which == RELAY_TO_UPSTREAM ? RELAY_CLIENT : RELAY_UPSTREAM;
	int dst = 1 - src;
	size_t budget = RELAY_YIELD_BYTES;

	for (;;) {
		bool inspect;
		ssize_t n;
		int flushed = relay_flush(r, d, dst);

		if (flushed < 0)
			return RELAY_ERROR;
		if (flushed == 0)
			return RELAY_OPEN;
		if (d->eof) {
			if (!d->shut) {
				d->shut = true;
				relay_dir_idle(r->pool, d);
				/* the last direction to finish needs no FIN: close() sends it */
				if (!r->dir[1 - which].shut &&
				    shutdown(r->fd[dst], SHUT_WR) < 0 && errno != ENOTCONN)
					return RELAY_ERROR;
			}
			return RELAY_OPEN;
		}
		if (!(r->ready[src] & RELAY_READABLE))
			break;
		if (budget == 0)
			return RELAY_YIELD;
		if (r->limit != NULL && !relay_limit_take(r, which))
			break;   /* stopped: readiness kept, the owner's timer resumes */
		n = relay_tap_prepare(r, which, src);
		inspect = r->tap.feed != NULL;
		if (n == 0)
			n = relay_fill(r, which, src, inspect);
		if (r->limit != NULL)
			relay_limit_settle(r, which, n);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				r->ready[src] &= ~RELAY_READABLE;
				break;
			}
			return RELAY_ERROR;
		}
		if (n == 0) {
			d->eof = true;
			continue;
		}
		*moved = true;
		budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
		relay_took(r, which, (size_t)n, inspect);
	}
	relay_dir_idle(r->pool, d);
	return RELAY_OPEN;
}

enum relay_status relay_pump(struct relay *r, bool *moved)
{
	enum relay_status up, down;

	*moved = false;
	up = relay_pump_dir(r, RELAY_TO_UPSTREAM, moved);
	if (up == RELAY_ERROR)
		return RELAY_ERROR;
	down = relay_pump_dir(r, RELAY_TO_CLIENT, moved);
	if (down == RELAY_ERROR)
		return RELAY_ERROR;
	if (r->dir[0].shut && r->dir[1].shut)
		return RELAY_DONE;
	if (up == RELAY_YIELD || down == RELAY_YIELD)
		return RELAY_YIELD;
	return RELAY_OPEN;
}

bool relay_half_closed(const struct relay *r)
{
	return r->dir[0].shut != r->dir[1].shut;
}

void relay_release(struct relay *r)
{
	const struct relay_dir *up = &r->dir[RELAY_TO_UPSTREAM], *down = &r->dir[RELAY_TO_CLIENT];

	if (up->bytes > 0 || down->bytes > 0)
		log_debug("relay: closed: to upstream %" PRIu64 " bytes (%" PRIu64 " spliced, %"
			  PRIu64 " tapped), to client %" PRIu64 " bytes (%" PRIu64 " spliced, %"
			  PRIu64 " tapped)", up->bytes, up->spliced, up->tapped,
			  down->bytes, down->spliced, down->tapped);
	for (int i = 0; i < 2; i++) {
		struct relay_dir *d = &r->dir[i];

		pool_buf_put(r->pool, d->buf);
		d->buf = NULL;
		/* a pipe still holding bytes cannot be reused by another tunnel */
		if (d->len > 0 && d->pipe != NULL)
			pool_pipe_discard(r->pool, d->pipe);
		else
			pool_pipe_put(r->pool, d->pipe);
		d->pipe = NULL;
		d->len = 0;
	}
	relay_tap_clear(r);
}
