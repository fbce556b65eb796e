/*
 * relay: moves the bytes of one established tunnel in both directions.
 *
 * Each direction (client→upstream, upstream→client) carries at most one
 * chunk in flight: it reads only once the previous chunk is fully written,
 * which is the backpressure (a side is not read while the other cannot take
 * more). A direction starts with recv/send through a pooled buffer, where a
 * short read proves the socket drained and saves the read that would only
 * say EAGAIN; once a read fills the buffer the flow is bulk and moves
 * through a pooled pipe with splice(2), never entering user space. Small
 * request/response flows thus cost the fewest system calls and large ones
 * no copies. Flows a tap watches (struct relay_tap: the owner's inspector,
 * e.g. a password dissector) take the buffer path for what the tap reads,
 * and the splice path for what it lets go by unseen (an HTTP body of known
 * length, a chunk's data): the tap says how many bytes, the relay moves
 * exactly that many of that direction without showing them, by splice when
 * they are RELAY_SPLICE_MIN or more, then feeds the tap again from the next
 * byte on. The short line that follows such a run (a chunk size, the next
 * start line) is looked at in place (MSG_PEEK) and fed, then spliced along
 * with the run it announces, so a chunked body fills the pipe chunk after
 * chunk without a copy. Once the tap is done the flow is the tap's no more
 * and bulk moves by splice for good. An EOF on
 * one side is carried across with shutdown(SHUT_WR) once its direction has
 * drained (or simply by close() when it is the last direction open).
 *
 * Descriptors are registered edge-triggered by the owner, who records each
 * readiness report in `ready` before calling relay_pump().
 */
#ifndef MASS_RELAY_H
#define MASS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "limits/bucket.h"

enum { RELAY_CLIENT = 0, RELAY_UPSTREAM = 1 };       /* index of fd[] and ready[] */
enum { RELAY_TO_UPSTREAM = 0, RELAY_TO_CLIENT = 1 }; /* index of dir[] */
/*
 * Bits of ready[]. RELAY_EOF_PENDING: the peer shut its side, so a short
 * read does not prove the socket drained (the EOF is still to be read).
 */
enum { RELAY_READABLE = 1, RELAY_WRITABLE = 2, RELAY_EOF_PENDING = 4 };

/* Bytes one direction may move per relay_pump() before yielding (fairness). */
#define RELAY_YIELD_BYTES (1024 * 1024)

/*
 * A tap sees the bytes of both directions as they are relayed, except those
 * it lets go (pass), until it says it is done. The relay knows nothing of
 * what it does with them.
 */
enum relay_tap_verdict { RELAY_TAP_MORE = 0, RELAY_TAP_DONE = 1 };

struct relay_tap {
	void *ctx;
	/*
	 * The bytes just read in direction dir (RELAY_TO_UPSTREAM or
	 * RELAY_TO_CLIENT), before they are written on. Returns RELAY_TAP_MORE
	 * to see more, RELAY_TAP_DONE to leave the flow alone: the relay then
	 * releases the tap. It may install a successor with relay_tap_set()
	 * (without releasing itself); the verdict is then the successor's.
	 */
	int (*feed)(void *ctx, int dir, const uint8_t *data, size_t len);
	void (*release)(void *ctx);  /* NULL: nothing to free */
	/*
	 * NULL: the tap sees every byte. Else asked before a read of dir once
	 * the bytes it last let go have gone: how many of the bytes of dir that
	 * follow those it was fed it lets go by unseen (0: it must see the next
	 * one). It counts them as gone at once; the relay moves exactly that
	 * many of dir before feeding dir again, while feeds of the other
	 * direction go on.
	 */
	uint64_t (*pass)(void *ctx, int dir);
};

/* A run of unseen bytes this long or longer goes by splice (all of it); a
 * shorter one through the buffer, read with what follows it. */
#define RELAY_SPLICE_MIN POOL_BUF_SIZE
/* A read right after unseen bytes, where the tap expects a line (a chunk
 * size, the next message's start), takes at most this many: the next
 * skip follows it closely, so copying more would only copy body bytes. */
#define RELAY_PEEK_BYTES 2048
/* Before that read, a line this short is looked at in place (MSG_PEEK) and
 * fed, then spliced with the run it announces: no read at all. */
#define RELAY_LINE_PEEK 64

struct relay_dir {
	struct pool_buf *buf;    /* in-flight bytes in user space, or NULL */
	struct pool_pipe *pipe;  /* in-flight bytes in a pipe, or NULL */
	uint32_t off, len;       /* in flight: buf->data[off .. off+len) or len in pipe */
	bool bulk;               /* a read filled a buffer: move by splice from now on */
	bool eof;                /* the source sent EOF */
	bool shut;               /* EOF carried to the destination */
	bool peek;               /* unseen bytes just ended: read at most RELAY_PEEK_BYTES */
	bool splice_unseen;      /* they were RELAY_SPLICE_MIN or more: by splice */
	uint64_t unseen;         /* bytes still to move without feeding the tap */
	uint64_t bytes;          /* octets read from the source (preload included) */
	uint64_t spliced;        /* of those, octets moved by splice (never in user space) */
	uint64_t tapped;         /* of those, octets fed to a tap */
};

/*
 * A per-user limit on a tunnel (socks_limits.h fills it): before each read
 * the direction takes what it may read from its bucket (and from the
 * quota left); with nothing granted it stops reading, keeps its readiness
 * and marks itself stopped, and the owner calls relay_pump() again when
 * the bucket has refilled (a timer). Bytes granted but not read go back.
 * The bytes still move by splice: a limit only shortens the reads. NULL in
 * struct relay (the unlimited path) skips all of it.
 *
 * While a direction runs at its rate, the kernel paces its destination
 * socket at RELAY_PACE_PERCENT of the rate (net_pacing()): each step the
 * bucket grants leaves smoothly, in segments of a millisecond's worth,
 * instead of at once to a receiver that then sleeps until the next step.
 * That costs the proxy less per byte (fewer, larger segments, sent from
 * the kernel's timer rather than to a receiver woken at each step:
 * bench/README.md) and gives the client an even rate. The cap is set when
 * the direction resumes after a refused take (it runs at its rate), once
 * what it sent before has left the socket (a burst a slow client is still
 * taking, or the backlog of a tunnel just moved into a limited class,
 * must not leave paced), and lifted when a take finds the bucket full
 * (the user saved up a whole burst, which leaves at once, as a burst
 * should) or the rate gone; it follows a changed rate at the next take.
 */
struct relay_limit {
	struct bucket *bucket[2];   /* by dir[]: the user's upload and download buckets;
				       NULL: that direction is not rate-limited */
	uint64_t now_ns;            /* the buckets' clock, set before relay_pump() */
	uint64_t quota_left;        /* bytes both directions may still read; UINT64_MAX: no quota */
	bool stopped[2];            /* out: the direction stopped for its bucket or the quota */
	size_t grant;               /* the current read's allowance (relay.c's own) */
	uint64_t paced[2];          /* by dir[]: the pacing cap on its destination,
				       0: none (relay.c's own) */
	bool refused[2];            /* by dir[]: its last take got nothing (relay.c's own) */
};

/* The pacing cap of a direction running at its rate, in percent of the rate:
 * room over it, so the bucket and not the pacer decides the rate. */
#define RELAY_PACE_PERCENT 125

struct metrics;

struct relay {
	int fd[2];
	uint8_t ready[2];
	struct relay_dir dir[2];
	struct relay_tap tap;    /* feed NULL: nothing watches the flow */
	struct metrics *metrics; /* counts the I/O (core/metrics.h); set after relay_init */
	struct pool *pool;       /* the loop's buffers and pipes (core/pool.h); likewise */
	struct relay_limit *limit; /* NULL: unlimited (the owner's, see above) */
};

enum relay_status {
	RELAY_OPEN = 0,   /* waiting for readiness */
	RELAY_YIELD,      /* moved RELAY_YIELD_BYTES; call relay_pump() again soon */
	RELAY_DONE,       /* both directions carried EOF: close the tunnel */
	RELAY_ERROR       /* an I/O error (reset, broken pipe): close the tunnel */
};

/* Sets up an idle relay between two connected sockets. */
void relay_init(struct relay *r, int client_fd, int upstream_fd);

/*
 * Queues bytes to go upstream before anything else (what the client sent
 * right behind its request). Returns 0, -1 when out of memory.
 */
int relay_preload(struct relay *r, const uint8_t *data, size_t len);

/* Installs tap in place of the current one, which is not released. */
void relay_tap_set(struct relay *r, struct relay_tap tap);

/* Releases the tap, if any: the flow is no longer watched. */
void relay_tap_clear(struct relay *r);

/*
 * Moves whatever the recorded readiness allows. *moved is set when bytes
 * moved (so the owner can note activity).
 */
enum relay_status relay_pump(struct relay *r, bool *moved);

/* True when one direction has carried EOF and the other has not. */
bool relay_half_closed(const struct relay *r);

/*
 * Returns buffers and pipes to the pool and releases the tap. Does not close
 * fds. Logs at debug level what each direction moved, by splice and through
 * user space, and what a tap saw ("relay: closed ...": the tests' statistic).
 */
void relay_release(struct relay *r);

#endif
