/* netlink: the host's addresses, live. See netlink.h. */
#include "netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define NETLINK_BUF 8192

struct netlink_entry {
	int ifindex;
	struct net_cidr addr;              /* full length */
};

struct netlink_addrs {
	struct loop *loop;
	int fd;
	bool full_warned;
	size_t len;
	struct netlink_entry e[NETLINK_ADDRS_MAX];
};

static bool netlink_same(const struct net_cidr *a, const struct net_cidr *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static void netlink_log(const char *what, const struct net_cidr *a, int ifindex)
{
	struct sockaddr_storage ss;
	char ip[NET_ADDRSTRLEN];

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)a->family;
	if (a->family == AF_INET)
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, a->addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, a->addr, 16);
	net_ip_str((const struct sockaddr *)&ss, ip, sizeof(ip));
	log_info("netlink: %s %s (interface %d)", ip, what, ifindex);
}

/* Adds or removes (ifindex, a). quiet: the dump, not logged one by one. */
static void netlink_apply(struct netlink_addrs *n, bool add, int ifindex,
			  const struct net_cidr *a, bool quiet)
{
	for (size_t i = 0; i < n->len; i++) {
		if (n->e[i].ifindex != ifindex || !netlink_same(&n->e[i].addr, a))
			continue;
		if (!add) {
			n->e[i] = n->e[--n->len];
			if (!quiet)
				netlink_log("is no longer local", a, ifindex);
		}
		return;
	}
	if (!add)
		return;
	if (n->len == NETLINK_ADDRS_MAX) {
		if (!n->full_warned)
			log_warn("netlink: more than %d local addresses; the rest are not known as "
				 "local by the ACL", NETLINK_ADDRS_MAX);
		n->full_warned = true;
		return;
	}
	n->e[n->len].ifindex = ifindex;
	n->e[n->len].addr = *a;
	n->len++;
	if (!quiet)
		netlink_log("is local now", a, ifindex);
}

/*
 * One RTM_NEWADDR or RTM_DELADDR: its address is IFA_LOCAL when present
 * (IPv4; on a point-to-point link IFA_ADDRESS is the peer), else
 * IFA_ADDRESS, as getifaddrs() reports it. Malformed parts are ignored.
 */
static void netlink_message(struct netlink_addrs *n, const struct nlmsghdr *h, bool quiet)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	const struct rtattr *rta;
	const void *local = NULL, *address = NULL;
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifa));
	size_t alen;
	struct net_cidr a;

	if ((h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) || len < 0)
		return;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return;
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	for (rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (RTA_PAYLOAD(rta) != alen)
			continue;
		if (rta->rta_type == IFA_LOCAL)
			local = RTA_DATA(rta);
		else if (rta->rta_type == IFA_ADDRESS)
			address = RTA_DATA(rta);
	}
	if (local == NULL)
		local = address;
	if (local == NULL)
		return;
	memset(&a, 0, sizeof(a));
	a.family = ifa->ifa_family;
	a.prefix = (uint8_t)(alen * 8);
	memcpy(a.addr, local, alen);
	netlink_apply(n, h->nlmsg_type == RTM_NEWADDR, (int)ifa->ifa_index, &a, quiet);
}

/*
 * The messages of one datagram. Returns 1 at the dump's end (NLMSG_DONE),
 * -1 on an error message, else 0.
 */
static int netlink_datagram(struct netlink_addrs *n, const char *buf, size_t len, bool quiet)
{
	const struct nlmsghdr *h;
	int left = (int)len;

	for (h = (const struct nlmsghdr *)(const void *)buf; NLMSG_OK(h, left);
	     h = NLMSG_NEXT(h, left)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR)
			return -1;
		netlink_message(n, h, quiet);
	}
	return 0;
}

/* Fills t (empty) from a dump on a socket of its own. Returns 0, or -1 with errno set. */
static int netlink_dump_into(struct netlink_addrs *t)
{
	struct { struct nlmsghdr h; struct ifaddrmsg ifa; } req;
	struct timeval tv = { 2, 0 };
	char buf[NETLINK_BUF];
	int fd, rc = 0, e;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = RTM_GETADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	req.ifa.ifa_family = AF_UNSPEC;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    send(fd, &req, sizeof(req), 0) < 0)
		goto fail;
	while (rc == 0) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = EPROTO;
			goto fail;
		}
		rc = netlink_datagram(t, buf, (size_t)got, true);
	}
	if (rc < 0) {
		errno = EPROTO;
		goto fail;
	}
	close(fd);
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/*
 * Rebuilds the table from a dump (blocking, with a 2 s receive timeout: the
 * kernel answers at once), built aside so that a failed dump leaves the
 * table as it was. Returns 0, or -1 with errno set.
 */
static int netlink_dump(struct netlink_addrs *n)
{
	struct netlink_addrs *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	if (netlink_dump_into(t) < 0) {
		int e = errno;

		free(t);
		errno = e;
		return -1;
	}
	memcpy(n->e, t->e, t->len * sizeof(t->e[0]));
	n->len = t->len;
	n->full_warned = n->full_warned || t->full_warned;
	free(t);
	return 0;
}

/* The subscribed socket is readable: at most NETLINK_BURST datagrams. */
static void netlink_readable(struct loop *loop, int fd, void *data, int events)
{
	struct netlink_addrs *n = data;
	char buf[NETLINK_BUF];

	(void)loop;
	(void)events;
	for (int i = 0; i < NETLINK_BURST; i++) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t got = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);

		if (got < 0 && errno == ENOBUFS) {
			/* announcements were dropped: what is true now comes from a dump */
			log_warn("netlink: address announcements lost; listing the host's again");
			if (netlink_dump(n) < 0)
				log_warn("netlink: cannot list the host's addresses: %s",
					 strerror(errno));
			continue;
		}
		if (got <= 0)
			return;
		if (fromlen == sizeof(from) && from.nl_pid == 0)
			(void)netlink_datagram(n, buf, (size_t)got, false);
	}
}

struct netlink_addrs *netlink_addrs_open(struct loop *loop, char *err, size_t errlen)
{
	struct netlink_addrs *n = calloc(1, sizeof(*n));
	struct sockaddr_nl sa;

	if (n == NULL) {
		snprintf(err, errlen, "netlink: %s", strerror(ENOMEM));
		return NULL;
	}
	n->loop = loop;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	/* subscribed first, then the dump: a change in between is read after it */
	if (n->fd < 0 || bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    netlink_dump(n) < 0 || loop_add(loop, n->fd, LOOP_READ, netlink_readable, n) < 0) {
		snprintf(err, errlen, "netlink: %s", strerror(errno));
		if (n->fd >= 0)
			close(n->fd);
		free(n);
		return NULL;
	}
	return n;
}

void netlink_addrs_close(struct netlink_addrs *n)
{
	if (n == NULL)
		return;
	loop_remove(n->loop, n->fd);
	close(n->fd);
	free(n);
}

bool netlink_addrs_has(const struct netlink_addrs *n, const struct net_cidr *host)
{
	for (size_t i = 0; i < n->len; i++)
		if (netlink_same(&n->e[i].addr, host))
			return true;
	return false;
}

size_t netlink_addrs_count(const struct netlink_addrs *n)
{
	return n->len;
}
