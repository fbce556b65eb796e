/* net: socket helpers. See net.h. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sockios.h>

int net_parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
		   socklen_t *len, char *err, size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	if (ss->ss_family != AF_UNSPEC) {
		net_set_port(ss, port);
		*len = net_addr_len((const struct sockaddr *)ss);
		return 0;
	}
	snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", host);
	errno = EINVAL;
	return -1;
}

int net_listen(const struct sockaddr *addr, socklen_t len, int backlog,
	       char *err, size_t errlen)
{
	char ip[NET_ADDRSTRLEN];
	int one = 1;
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	net_ip_str(addr, ip, sizeof(ip));
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (addr->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	/* accepted sockets inherit it, which saves a setsockopt per connection */
	net_nodelay(fd);
	/*
	 * Both protocols served here speak first from the client: have the
	 * kernel hand over a connection once its first bytes arrived, so they
	 * are read at accept time instead of one loop round later.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	if (bind(fd, addr, len) < 0 || listen(fd, backlog) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen on %s port %u: %s", ip,
		 (unsigned)net_port(addr), strerror(errno));
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

int net_accept(int lfd, struct sockaddr_storage *peer, socklen_t *peerlen)
{
	*peerlen = sizeof(*peer);
	return accept4(lfd, (struct sockaddr *)peer, peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int net_connect_start(const struct sockaddr *addr, socklen_t len)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, addr, len) < 0 && errno != EINPROGRESS) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

/* IP_FREEBIND at the level of fd's family. */
static int net_freebind(int fd, int family)
{
	int one = 1;

	return family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one))
				  : setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
}

int net_bind_from(const struct sockaddr *src, socklen_t srclen, int type, bool freebind)
{
	int fd = socket(src->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int saved;

	if (fd < 0)
		return -1;
	if ((freebind && net_freebind(fd, src->sa_family) < 0) || bind(fd, src, srclen) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int net_connect_from(const struct sockaddr *addr, socklen_t len, const struct sockaddr *src,
		     socklen_t srclen, bool freebind)
{
	int one = 1, fd, saved;

	if (src == NULL)
		return net_connect_start(addr, len);
	if (src->sa_family != addr->sa_family) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 ||
	    (freebind && net_freebind(fd, src->sa_family) < 0) || bind(fd, src, srclen) < 0 ||
	    (connect(fd, addr, len) < 0 && errno != EINPROGRESS)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int net_socket_error(int fd)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return errno;
	return soerr;
}

void net_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void net_pacing(int fd, uint64_t bytes_per_s)
{
	unsigned long rate = bytes_per_s == 0 || bytes_per_s >= ULONG_MAX ? ULONG_MAX :
			     (unsigned long)bytes_per_s;

	(void)setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof(rate));
}

size_t net_unsent(int fd)
{
	int n = 0;

	return ioctl(fd, SIOCOUTQNSD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

void net_ip_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *src = NULL;

	if (sa->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (src == NULL || inet_ntop(sa->sa_family, src, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

uint16_t net_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void net_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

socklen_t net_addr_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

size_t net_host(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, a->s6_addr + 12, 4);
			return 4;
		}
		memcpy(out, a->s6_addr, 16);
		return 16;
	}
	return 0;
}

bool net_is_unspecified(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

bool net_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	uint8_t ha[16], hb[16];
	size_t la = net_host(a, ha), lb = net_host(b, hb);

	return la != 0 && la == lb && memcmp(ha, hb, la) == 0;
}

bool net_same(const struct sockaddr *a, const struct sockaddr *b)
{
	return net_same_ip(a, b) && net_port(a) == net_port(b);
}

/* Whether the first prefix bits of a and b (n octets each) agree. */
static bool net_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xFFu << (8 - rest))) == 0;
}

int net_cidr_parse(const char *text, struct net_cidr *out, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max, v;

	memset(out, 0, sizeof(*out));
	if (len >= sizeof(buf) - 8)
		goto bad;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		goto bad;
	}
	v = max;
	if (slash != NULL) {
		const char *p = slash + 1;

		if (*p == '\0' || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
			goto bad;
		v = (unsigned)strtoul(p, NULL, 10);
		if (v > max) {
			snprintf(err, errlen, "\"%s\": prefix length over %u", text, max);
			return -1;
		}
	}
	out->prefix = (uint8_t)v;
	/* the host part must be zero: 10.0.0.1/8 is a typo, not a block */
	for (unsigned bit = v; bit < max; bit++)
		if (out->addr[bit / 8] & (0x80u >> (bit % 8))) {
			snprintf(err, errlen, "\"%s\": host bits set after the prefix length", text);
			return -1;
		}
	return 0;
bad:
	snprintf(err, errlen, "\"%.80s\" is not an address or CIDR block", text);
	return -1;
}

bool net_cidr_match(const struct net_cidr *c, const struct sockaddr *sa)
{
	uint8_t host[16];
	size_t n = net_host(sa, host);

	if (n != (c->family == AF_INET ? 4u : 16u) || n == 0)
		return false;
	return net_prefix_equal(host, c->addr, c->prefix);
}

bool net_cidr_any(const struct net_cidr *nets, size_t n, const struct sockaddr *sa)
{
	for (size_t i = 0; i < n; i++)
		if (net_cidr_match(&nets[i], sa))
			return true;
	return false;
}

int net_local_addrs(struct sockaddr_storage *out, size_t max)
{
	struct ifaddrs *list, *i;
	size_t n = 0;

	if (getifaddrs(&list) < 0)
		return -1;
	for (i = list; i != NULL && n < max; i = i->ifa_next) {
		socklen_t len = i->ifa_addr != NULL ? net_addr_len(i->ifa_addr) : 0;

		if (len == 0)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n], i->ifa_addr, len);
		net_set_port(&out[n], 0);
		n++;
	}
	freeifaddrs(list);
	return (int)n;
}

int net_name_normalise(char *name)
{
	size_t len = strlen(name);

	if (len > 1 && name[len - 1] == '.')
		len--;
	if (len == 0 || name[0] == '.')
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' ||
			  (c == '.' && name[i + 1] != '.');

		if (!ok)
			return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (char)(name[i] - 'A' + 'a');
	name[len] = '\0';
	return 0;
}
