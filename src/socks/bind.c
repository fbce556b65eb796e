/* bind: the BIND command. See bind.h. */
#include "bind.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"
#include "resolve.h"

struct bind {
	struct bind_env env;
	const struct bind_ops *ops;
	void *owner;
	int control_fd;
	int lfd;                           /* the listener, -1 until open */
	struct loop_timer timer;           /* the start, then connect_timeout */
	struct resolve_query *query;
	struct sockaddr_storage *allowed;  /* DST's addresses; none: any peer */
	size_t nallowed;
};

#define BIND_MS(seconds) ((uint64_t)(seconds) * 1000u)

bool bind_peer_allowed(const struct sockaddr *peer, const struct sockaddr_storage *allowed,
		       size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (net_same_ip(peer, (const struct sockaddr *)&allowed[i]))
			return true;
	return false;
}

/*
 * The local address the routing table picks toward dst: connect() on a UDP
 * socket only selects a route and a source address. Returns 0 or -1 (errno).
 */
static int bind_route_source(const struct sockaddr_storage *dst, struct sockaddr_storage *out)
{
	struct sockaddr_storage to = *dst;
	socklen_t len = sizeof(*out);
	int fd, rc;

	/* the route does not depend on the port, but port 0 cannot be connected */
	if (net_port((const struct sockaddr *)&to) == 0)
		net_set_port(&to, 9);
	fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)&to, net_addr_len((const struct sockaddr *)&to));
	if (rc == 0)
		rc = getsockname(fd, (struct sockaddr *)out, &len);
	if (rc < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

static void bind_timeout(struct loop *loop, struct loop_timer *t)
{
	struct bind *b = LOOP_TIMER_OWNER(t, struct bind, timer);

	(void)loop;
	b->ops->failed(b->owner, SOCKS5_REP_TTL_EXPIRED);
}

static void bind_accept(struct loop *loop, int fd, void *data, int events)
{
	struct bind *b = data;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int cfd;

	(void)loop;
	(void)fd;
	(void)events;
	cfd = net_accept(b->lfd, &peer, &len);
	if (cfd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		b->ops->failed(b->owner, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	loop_timer_stop(b->env.loop, &b->timer);
	/* the one place a BIND peer is judged: the wrong peer, or one the ACL denies */
	if (!bind_peer_allowed((const struct sockaddr *)&peer, b->allowed, b->nallowed) ||
	    !b->ops->permit(b->owner, (const struct sockaddr *)&peer)) {
		close(cfd);
		b->ops->failed(b->owner, SOCKS5_REP_NOT_ALLOWED);
		return;
	}
	b->ops->connected(b->owner, cfd, (const struct sockaddr *)&peer);
}

/*
 * The listener on the egress address of local's family (bind_env.source),
 * into b->lfd. Returns 0 (b->lfd -1: no egress, listen as usual), or -1
 * when the command failed (reported).
 */
static int bind_listen_egress(struct bind *b, struct sockaddr_storage *local)
{
	struct sockaddr_storage src;
	socklen_t len;
	bool freebind = false;
	int r = b->env.source(b->owner, local->ss_family, &src, &len, &freebind);

	if (r == 0)
		return 0;
	if (r < 0) {
		b->ops->failed(b->owner, SOCKS5_REP_ATYP_NOT_SUPPORTED);
		return -1;
	}
	*local = src;
	b->lfd = net_bind_from((const struct sockaddr *)&src, len, SOCK_STREAM, freebind);
	if (b->lfd >= 0 && listen(b->lfd, 1) < 0) {
		close(b->lfd);
		b->lfd = -1;
	}
	if (b->lfd < 0) {
		log_warn("BIND: cannot listen on the egress address: %s", strerror(errno));
		b->ops->failed(b->owner, SOCKS5_REP_GENERAL_FAILURE);
		return -1;
	}
	return 0;
}

/* Opens the listener and announces it. */
static void bind_open(struct bind *b)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	char err[128];
	int rc;

	if (b->nallowed == 0)
		rc = getsockname(b->control_fd, (struct sockaddr *)&local, &len);
	else
		rc = bind_route_source(&b->allowed[0], &local);
	if (rc < 0) {
		b->ops->failed(b->owner, socks5_rep_for_errno(errno));
		return;
	}
	net_set_port(&local, 0);
	if (b->env.source != NULL && bind_listen_egress(b, &local) != 0)
		return;
	if (b->lfd < 0)
		b->lfd = net_listen((const struct sockaddr *)&local,
				    net_addr_len((struct sockaddr *)&local), 1, err, sizeof(err));
	/*
	 * The peer need not speak first (an FTP server taking an upload waits
	 * for the data): net_listen()'s deferred accept would hold its
	 * connection, and the second reply, until the kernel gives up waiting
	 * (a second or more).
	 */
	if (b->lfd >= 0)
		(void)setsockopt(b->lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &(int){ 0 }, sizeof(int));
	len = sizeof(local);
	if (b->lfd < 0 || getsockname(b->lfd, (struct sockaddr *)&local, &len) < 0 ||
	    loop_add(b->env.loop, b->lfd, LOOP_READ, bind_accept, b) < 0) {
		log_warn("BIND: cannot listen: %s", b->lfd < 0 ? err : strerror(errno));
		b->ops->failed(b->owner, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	loop_timer_start(b->env.loop, &b->timer, BIND_MS(b->env.connect_timeout), bind_timeout);
	b->ops->listening(b->owner, (const struct sockaddr *)&local);
}

static void bind_begin(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	bind_open(LOOP_TIMER_OWNER(t, struct bind, timer));
}

static void bind_resolved(void *data, enum resolve_status status,
			  const struct sockaddr_storage *addrs, size_t count)
{
	struct bind *b = data;

	b->query = NULL;
	if (status != RESOLVE_OK || count == 0) {
		b->ops->failed(b->owner, SOCKS5_REP_HOST_UNREACHABLE);
		return;
	}
	/* every address judged before listening, as the address itself would be */
	for (size_t i = 0; i < count; i++)
		if (!b->ops->permit(b->owner, (const struct sockaddr *)&addrs[i])) {
			b->ops->failed(b->owner, SOCKS5_REP_NOT_ALLOWED);
			return;
		}
	b->allowed = malloc(count * sizeof(*addrs));
	if (b->allowed == NULL) {
		b->ops->failed(b->owner, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	memcpy(b->allowed, addrs, count * sizeof(*addrs));
	b->nallowed = count;
	bind_open(b);
}

struct bind *bind_start(const struct bind_env *env, const struct request_parser *req,
			int control_fd, const struct bind_ops *ops, void *owner)
{
	struct bind *b = calloc(1, sizeof(*b));
	socklen_t len;

	if (b == NULL)
		return NULL;
	b->env = *env;
	b->ops = ops;
	b->owner = owner;
	b->control_fd = control_fd;
	b->lfd = -1;
	if (req->atyp == SOCKS5_ATYP_DOMAIN) {
		b->query = resolve_start(b->env.resolver, (const char *)req->addr, req->port,
					 bind_resolved, b);
		if (b->query == NULL) {
			free(b);
			return NULL;
		}
		return b;
	}
	b->allowed = malloc(sizeof(*b->allowed));
	if (b->allowed == NULL) {
		free(b);
		return NULL;
	}
	request_sockaddr(req, b->allowed, &len);
	b->nallowed = net_is_unspecified((struct sockaddr *)b->allowed) ? 0 : 1;
	/* callbacks never run inside bind_start(): the caller has no handle yet */
	loop_timer_start(b->env.loop, &b->timer, 0, bind_begin);
	return b;
}

void bind_free(struct bind *b)
{
	if (b == NULL)
		return;
	loop_timer_stop(b->env.loop, &b->timer);
	if (b->query != NULL)
		resolve_cancel(b->query);
	if (b->lfd >= 0) {
		loop_remove(b->env.loop, b->lfd);
		close(b->lfd);
	}
	free(b->allowed);
	free(b);
}
