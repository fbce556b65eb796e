/* udp_assoc: the UDP ASSOCIATE relay. See udp_assoc.h. */
#include "udp_assoc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/metrics.h"
#include "core/net.h"
#include "resolve.h"
#include "socks5_udp.h"

enum { UDP_ASSOC_V4 = 0, UDP_ASSOC_V6 = 1 };

/* A datagram waiting for its destination's name to resolve. */
struct udp_pending {
	struct udp_assoc *a;
	struct resolve_query *query;
	size_t slot;           /* index in a->pending */
	char name[256];        /* as the client named it, for the address's verdict */
	size_t len;
	uint8_t data[];
};

struct udp_assoc {
	struct udp_assoc_env env;
	udp_assoc_end_fn *end;
	void *owner;
	int fd;                          /* the client side, bound to BND */
	int up[2];                       /* toward targets per family, -1 until used */
	struct sockaddr_storage client;  /* who may send; the port once known */
	bool client_port_known;
	struct loop_timer timer;         /* idle_timeout, re-armed lazily */
	uint64_t last_active_ms;
	struct udp_pending *pending[UDP_ASSOC_PENDING_MAX];
	size_t pending_bytes;
	struct sockaddr_storage peers[UDP_ASSOC_PEERS_MAX]; /* targets sent to, allowed */
	size_t npeers, next_peer;        /* next_peer: the slot replaced when full */
	uint64_t bytes[2];               /* DATA relayed: [0] to targets, [1] to the client */
};


#define UDP_ASSOC_MS(seconds) ((uint64_t)(seconds) * 1000u)

static void udp_assoc_close_fd(struct udp_assoc *a, int fd)
{
	if (fd >= 0) {
		loop_remove(a->env.loop, fd);
		close(fd);
	}
}

static void udp_assoc_pending_free(struct udp_pending *p)
{
	p->a->pending[p->slot] = NULL;
	p->a->pending_bytes -= p->len;
	free(p);
}

/* len octets of DATA sent on in direction dir (0: to a target, 1: to the client). */
static void udp_assoc_relayed(struct udp_assoc *a, int dir, size_t len)
{
	metrics_relay_write(a->env.metrics, (uint64_t)len);
	a->bytes[dir] += (uint64_t)len;
}

void udp_assoc_bytes(const struct udp_assoc *a, uint64_t *up, uint64_t *down)
{
	*up = a->bytes[0];
	*down = a->bytes[1];
}

void udp_assoc_free(struct udp_assoc *a)
{
	if (a == NULL)
		return;
	loop_timer_stop(a->env.loop, &a->timer);
	for (size_t i = 0; i < UDP_ASSOC_PENDING_MAX; i++) {
		if (a->pending[i] != NULL) {
			resolve_cancel(a->pending[i]->query);
			udp_assoc_pending_free(a->pending[i]);
		}
	}
	udp_assoc_close_fd(a, a->fd);
	udp_assoc_close_fd(a, a->up[UDP_ASSOC_V4]);
	udp_assoc_close_fd(a, a->up[UDP_ASSOC_V6]);
	free(a);
}

/* --- targets → client --- */

static bool udp_assoc_is_peer(const struct udp_assoc *a, const struct sockaddr_storage *from)
{
	for (size_t i = 0; i < a->npeers; i++)
		if (net_same((const struct sockaddr *)from, (const struct sockaddr *)&a->peers[i]))
			return true;
	return false;
}

/* A target the ACL allowed and we sent to: replies from it may pass (oldest replaced). */
static void udp_assoc_add_peer(struct udp_assoc *a, const struct sockaddr_storage *dst)
{
	if (udp_assoc_is_peer(a, dst))
		return;
	if (a->npeers < UDP_ASSOC_PEERS_MAX) {
		a->peers[a->npeers++] = *dst;
		return;
	}
	a->peers[a->next_peer] = *dst;
	a->next_peer = (a->next_peer + 1) % UDP_ASSOC_PEERS_MAX;
}

static void udp_assoc_from_target(struct loop *loop, int fd, void *data, int events)
{
	struct udp_assoc *a = data;

	(void)loop;
	(void)events;
	for (int i = 0; i < UDP_ASSOC_BURST; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		uint8_t hdr[SOCKS5_UDP_BUILD_MAX];
		struct iovec iov[2];
		struct msghdr msg;
		ssize_t n = recvfrom(fd, a->env.buf, a->env.buflen, 0,
				     (struct sockaddr *)&from, &fromlen);

		if (n < 0)
			return;  /* EAGAIN, or an ICMP error of an earlier send: nothing to pass on */
		if (!udp_assoc_is_peer(a, &from))
			continue; /* never sent to: not a reply */
		iov[0].iov_base = hdr;
		iov[0].iov_len = socks5_udp_build(hdr, sizeof(hdr), (struct sockaddr *)&from);
		if (iov[0].iov_len == 0)
			continue;
		iov[1].iov_base = a->env.buf;
		iov[1].iov_len = (size_t)n;
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &a->client;
		msg.msg_namelen = net_addr_len((struct sockaddr *)&a->client);
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		metrics_relay_read(a->env.metrics, (uint64_t)n);
		if (a->env.meter != NULL && !a->env.meter(a->owner, 1, (size_t)n))
			continue;   /* over the user's rate or quota: dropped */
		/* a datagram the client side cannot take now is lost, as on any UDP hop */
		if (sendmsg(a->fd, &msg, MSG_NOSIGNAL) >= 0 && n > 0)
			udp_assoc_relayed(a, 1, (size_t)n);
		a->last_active_ms = loop_now_ms(a->env.loop);
	}
}

/* --- client → targets --- */

/* The socket toward targets of family, made on first use. Returns -1 if none can be had. */
static int udp_assoc_upstream(struct udp_assoc *a, int family)
{
	int i = family == AF_INET ? UDP_ASSOC_V4 : UDP_ASSOC_V6;
	int fd, on = 1;

	if (a->up[i] >= 0)
		return a->up[i];
	if (a->env.source != NULL) {
		/* from the class's egress address (routes.h) when it has one */
		struct sockaddr_storage src;
		socklen_t slen;
		bool freebind = false;
		int r = a->env.source(a->owner, family, &src, &slen, &freebind);

		if (r < 0)
			return -1;
		if (r > 0) {
			fd = net_bind_from((const struct sockaddr *)&src, slen, SOCK_DGRAM, freebind);
			if (fd < 0 || loop_add(a->env.loop, fd, LOOP_READ, udp_assoc_from_target, a) < 0) {
				if (fd >= 0)
					close(fd);
				return -1;
			}
			a->up[i] = fd;
			return fd;
		}
	}
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if ((family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    loop_add(a->env.loop, fd, LOOP_READ, udp_assoc_from_target, a) < 0) {
		close(fd);
		return -1;
	}
	a->up[i] = fd;
	return fd;
}

/* name: the destination as the client named it, or NULL. */
static void udp_assoc_send(struct udp_assoc *a, const char *name,
			   const struct sockaddr_storage *dst, const uint8_t *data, size_t len)
{
	int fd;

	/* the one place a UDP destination address is judged: a denied datagram is dropped */
	if (dst->ss_family != AF_INET && dst->ss_family != AF_INET6)
		return;
	if (!a->env.permit(a->owner, name, net_port((const struct sockaddr *)dst),
			   (const struct sockaddr *)dst))
		return;
	if (a->env.meter != NULL && !a->env.meter(a->owner, 0, len))
		return;   /* over the user's rate or quota: dropped */
	fd = udp_assoc_upstream(a, dst->ss_family);
	if (fd < 0)
		return;
	udp_assoc_add_peer(a, dst);
	if (sendto(fd, data, len, 0, (const struct sockaddr *)dst,
		   net_addr_len((const struct sockaddr *)dst)) >= 0 && len > 0)
		udp_assoc_relayed(a, 0, len);
}

static void udp_assoc_resolved(void *data, enum resolve_status status,
			       const struct sockaddr_storage *addrs, size_t count)
{
	struct udp_pending *p = data;

	if (status == RESOLVE_OK && count > 0)
		udp_assoc_send(p->a, p->name, &addrs[0], p->data, p->len);
	udp_assoc_pending_free(p);
}

/* Parks a datagram for a domain destination while the name resolves. */
static void udp_assoc_defer(struct udp_assoc *a, const char *name, uint16_t port,
			    const uint8_t *data, size_t len)
{
	struct udp_pending *p;
	size_t slot;

	if (len > UDP_ASSOC_PENDING_BYTES - a->pending_bytes)
		return;
	for (slot = 0; slot < UDP_ASSOC_PENDING_MAX; slot++)
		if (a->pending[slot] == NULL)
			break;
	if (slot == UDP_ASSOC_PENDING_MAX)
		return;
	p = malloc(sizeof(*p) + len);
	if (p == NULL)
		return;
	p->a = a;
	p->slot = slot;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->len = len;
	memcpy(p->data, data, len);
	p->query = resolve_start(a->env.resolver, name, port, udp_assoc_resolved, p);
	if (p->query == NULL) {
		free(p);
		return;
	}
	a->pending[slot] = p;
	a->pending_bytes += len;
}

/* True when from may be the client: its IP, and its port once known. */
static bool udp_assoc_is_client(const struct udp_assoc *a, const struct sockaddr_storage *from)
{
	const struct sockaddr *c = (const struct sockaddr *)&a->client;

	return a->client_port_known ? net_same((const struct sockaddr *)from, c)
				    : net_same_ip((const struct sockaddr *)from, c);
}

static void udp_assoc_from_client(struct loop *loop, int fd, void *data, int events)
{
	struct udp_assoc *a = data;

	(void)loop;
	(void)events;
	for (int i = 0; i < UDP_ASSOC_BURST; i++) {
		struct sockaddr_storage from, dst;
		socklen_t fromlen = sizeof(from), dstlen;
		struct socks5_udp_header h;
		ssize_t n = recvfrom(fd, a->env.buf, a->env.buflen, 0,
				     (struct sockaddr *)&from, &fromlen);
		size_t len;

		if (n < 0)
			return;
		if (!udp_assoc_is_client(a, &from) ||
		    socks5_udp_parse(&h, a->env.buf, (size_t)n) != SOCKS5_UDP_OK ||
		    h.frag != 0)
			continue;
		/* only a well-formed datagram may fix the client's port */
		if (!a->client_port_known) {
			net_set_port(&a->client, net_port((const struct sockaddr *)&from));
			a->client_port_known = true;
		}
		len = (size_t)n - h.data_offset;
		if (len > 0)
			metrics_relay_read(a->env.metrics, len);
		a->last_active_ms = loop_now_ms(a->env.loop);
		if (h.dst.atyp == SOCKS5_ATYP_DOMAIN) {
			/* by name first: dest-host rules apply to UDP too; a name
			 * that is no host name (net_name_normalise) is dropped */
			if (net_name_normalise((char *)h.dst.addr) < 0 ||
			    !a->env.permit(a->owner, (const char *)h.dst.addr, h.dst.port, NULL))
				continue;
			udp_assoc_defer(a, (const char *)h.dst.addr, h.dst.port,
					a->env.buf + h.data_offset, len);
			continue;
		}
		request_sockaddr(&h.dst, &dst, &dstlen);
		udp_assoc_send(a, NULL, &dst, a->env.buf + h.data_offset, len);
	}
}

/* --- lifetime --- */

static void udp_assoc_idle(struct loop *loop, struct loop_timer *t)
{
	struct udp_assoc *a = LOOP_TIMER_OWNER(t, struct udp_assoc, timer);
	uint64_t limit = UDP_ASSOC_MS(a->env.idle_timeout);
	uint64_t idle = loop_now_ms(loop) - a->last_active_ms;

	if (idle >= limit) {
		a->end(a->owner);
		return;
	}
	loop_timer_start(loop, &a->timer, limit - idle, udp_assoc_idle);
}

/* The relay socket: an ephemeral port on the control connection's local address. */
static int udp_assoc_open(int control_fd, struct sockaddr_storage *bnd)
{
	socklen_t len = sizeof(*bnd);
	int fd, on = 1;

	if (getsockname(control_fd, (struct sockaddr *)bnd, &len) < 0)
		return -1;
	net_set_port(bnd, 0);
	fd = socket(bnd->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	len = sizeof(*bnd);
	if ((bnd->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, (struct sockaddr *)bnd, net_addr_len((struct sockaddr *)bnd)) < 0 ||
	    getsockname(fd, (struct sockaddr *)bnd, &len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct udp_assoc *udp_assoc_start(const struct udp_assoc_env *env, int control_fd,
				  const struct sockaddr_storage *client, uint16_t port,
				  udp_assoc_end_fn *end, void *owner,
				  struct sockaddr_storage *bnd, uint8_t *rep)
{
	struct udp_assoc *a = calloc(1, sizeof(*a));

	*rep = SOCKS5_REP_GENERAL_FAILURE;
	if (a == NULL)
		return NULL;
	a->env = *env;
	a->end = end;
	a->owner = owner;
	a->up[UDP_ASSOC_V4] = a->up[UDP_ASSOC_V6] = -1;
	a->client = *client;
	a->client_port_known = port != 0;
	net_set_port(&a->client, port);
	a->fd = udp_assoc_open(control_fd, bnd);
	if (a->fd < 0) {
		free(a);
		return NULL;
	}
	if (loop_add(a->env.loop, a->fd, LOOP_READ, udp_assoc_from_client, a) < 0) {
		close(a->fd);
		free(a);
		return NULL;
	}
	a->last_active_ms = loop_now_ms(a->env.loop);
	loop_timer_start(a->env.loop, &a->timer, UDP_ASSOC_MS(a->env.idle_timeout),
			 udp_assoc_idle);
	return a;
}
