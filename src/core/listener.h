/*
 * listener: accepting TCP sockets on the loop, shared by the SOCKS and the
 * management servers.
 *
 * Accepts in batches (LISTENER_BATCH per readiness report, level-triggered so
 * the rest are reported again after other descriptors had their turn). When
 * the process runs out of descriptors (EMFILE/ENFILE) or memory, accepting
 * pauses for LISTENER_PAUSE_MS and resumes, instead of spinning on a
 * readiness that cannot be served.
 *
 * A listener may hold spare descriptors (listener_reserve(): the MASS
 * listeners), so that when a client has exhausted the process's (each
 * SOCKS session opens more after accept: a connect, UDP sockets) the
 * listener gives one up to accept a connection instead of pausing. The
 * others never touch the spares: SOCKS accepting stops (pauses on EMFILE)
 * before the reserve is used.
 */
#ifndef MASS_LISTENER_H
#define MASS_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define LISTENER_BATCH 64
#define LISTENER_PAUSE_MS 100
#define LISTENER_SPARE_MAX 32

struct loop;
struct listener;

/* Called for each accepted (non-blocking, close-on-exec) socket; it now owns fd. */
typedef void listener_accept_fn(int fd, const struct sockaddr_storage *peer,
				socklen_t peerlen, void *data);

/*
 * Listens on the numeric address addr and port (0: an ephemeral port).
 * Returns the listener, or NULL with err set.
 */
struct listener *listener_open(struct loop *loop, const char *addr, uint16_t port,
			       listener_accept_fn *fn, void *data,
			       char *err, size_t errlen);

/* The bound port (useful after asking for port 0). */
uint16_t listener_port(const struct listener *l);

/* The bound address as text, e.g. "127.0.0.1" or "::1". */
const char *listener_addr(const struct listener *l);

/*
 * Holds n (at most LISTENER_SPARE_MAX) spare descriptors for this
 * listener's connections: when accept fails for want of descriptors, a
 * spare is closed and accept tried again. Returns how many are held.
 */
unsigned listener_reserve(struct listener *l, unsigned n);

/* Opens spares again up to the number asked for (call when descriptors may be free). */
void listener_reserve_refill(struct listener *l);

/* Stops accepting and frees. NULL is ignored. */
void listener_close(struct listener *l);

#endif
