/* listener: batched accept with a pause on descriptor exhaustion. See listener.h. */
#include "listener.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "net.h"

struct listener {
	struct loop *loop;
	int fd;
	uint16_t port;
	char addr[NET_ADDRSTRLEN];
	listener_accept_fn *fn;
	void *data;
	struct loop_timer resume;
	int spare[LISTENER_SPARE_MAX]; /* held for when descriptors run out */
	unsigned nspare, want_spare;
};

static void listener_on_ready(struct loop *loop, int fd, void *data, int events);

static void listener_resume(struct loop *loop, struct loop_timer *t)
{
	struct listener *l = LOOP_TIMER_OWNER(t, struct listener, resume);

	(void)loop;
	loop_set(l->loop, l->fd, LOOP_READ);
}

static void listener_pause(struct listener *l, int err)
{
	log_warn("accept on %s port %u: %s; pausing accepts for %d ms",
		 l->addr, (unsigned)l->port, strerror(err), LISTENER_PAUSE_MS);
	loop_set(l->loop, l->fd, 0);
	loop_timer_start(l->loop, &l->resume, LISTENER_PAUSE_MS, listener_resume);
}

static void listener_on_ready(struct loop *loop, int fd, void *data, int events)
{
	struct listener *l = data;

	(void)loop;
	(void)events;
	for (int i = 0; i < LISTENER_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t len;
		int cfd = net_accept(fd, &peer, &len);

		if (cfd >= 0) {
			l->fn(cfd, &peer, len, l->data);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
			if (l->nspare > 0) {
				/* a spare gives way: this connection is what it was kept for */
				close(l->spare[--l->nspare]);
				continue;
			}
			/* fall through */
		case ENOBUFS:
		case ENOMEM:
			listener_pause(l, errno);
			return;
		default: /* EAGAIN: drained */
			listener_reserve_refill(l);
			return;
		}
	}
}

void listener_reserve_refill(struct listener *l)
{
	while (l->nspare < l->want_spare) {
		/* an eventfd: a descriptor that needs no path (sandboxes) and no port */
		int fd = eventfd(0, EFD_CLOEXEC);

		if (fd < 0)
			return;
		l->spare[l->nspare++] = fd;
	}
}

unsigned listener_reserve(struct listener *l, unsigned n)
{
	l->want_spare = n < LISTENER_SPARE_MAX ? n : LISTENER_SPARE_MAX;
	listener_reserve_refill(l);
	return l->nspare;
}

struct listener *listener_open(struct loop *loop, const char *addr, uint16_t port,
			       listener_accept_fn *fn, void *data,
			       char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct listener *l;

	if (net_parse_addr(addr, port, &ss, &len, err, errlen) < 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->fd = net_listen((struct sockaddr *)&ss, len, 1024, err, errlen);
	if (l->fd < 0) {
		free(l);
		return NULL;
	}
	len = sizeof(ss);
	getsockname(l->fd, (struct sockaddr *)&ss, &len);
	l->port = net_port((struct sockaddr *)&ss);
	net_ip_str((struct sockaddr *)&ss, l->addr, sizeof(l->addr));
	l->loop = loop;
	l->fn = fn;
	l->data = data;
	if (loop_add(loop, l->fd, LOOP_READ, listener_on_ready, l) < 0) {
		snprintf(err, errlen, "listen on %s port %u: %s", l->addr,
			 (unsigned)l->port, strerror(errno));
		close(l->fd);
		free(l);
		return NULL;
	}
	return l;
}

uint16_t listener_port(const struct listener *l)
{
	return l->port;
}

const char *listener_addr(const struct listener *l)
{
	return l->addr;
}

void listener_close(struct listener *l)
{
	if (l == NULL)
		return;
	loop_timer_stop(l->loop, &l->resume);
	loop_remove(l->loop, l->fd);
	close(l->fd);
	while (l->nspare > 0)
		close(l->spare[--l->nspare]);
	free(l);
}
