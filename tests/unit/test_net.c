/* Unit tests for the address comparisons, the BIND peer check and the pacing cap. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "core/net.h"
#include "socks/bind.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((struct sockaddr *)&(ss))

START_TEST(lengths)
{
	struct sockaddr_storage a = v4("192.0.2.1", 1), b = v6("2001:db8::1", 1);
	struct sockaddr un = { .sa_family = AF_UNIX };

	ck_assert_uint_eq(net_addr_len(SA(a)), sizeof(struct sockaddr_in));
	ck_assert_uint_eq(net_addr_len(SA(b)), sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(net_addr_len(&un), 0);
}
END_TEST

START_TEST(unspecified)
{
	struct sockaddr_storage z4 = v4("0.0.0.0", 80), z6 = v6("::", 0);
	struct sockaddr_storage a4 = v4("0.0.0.1", 0), a6 = v6("::1", 0);
	struct sockaddr un = { .sa_family = AF_UNIX };

	ck_assert(net_is_unspecified(SA(z4)));
	ck_assert(net_is_unspecified(SA(z6)));
	ck_assert(!net_is_unspecified(SA(a4)));
	ck_assert(!net_is_unspecified(SA(a6)));
	ck_assert(!net_is_unspecified(&un));
}
END_TEST

START_TEST(same_ip_and_port)
{
	struct sockaddr_storage a = v4("192.0.2.1", 1000), b = v4("192.0.2.1", 2000);
	struct sockaddr_storage c = v4("192.0.2.2", 1000);
	struct sockaddr_storage m = v6("::ffff:192.0.2.1", 1000);
	struct sockaddr_storage x = v6("2001:db8::1", 1000), y = v6("2001:db8::1", 1000);
	struct sockaddr un = { .sa_family = AF_UNIX };

	ck_assert(net_same_ip(SA(a), SA(b)));
	ck_assert(!net_same(SA(a), SA(b)));
	ck_assert(!net_same_ip(SA(a), SA(c)));
	/* an IPv4-mapped address is the same host */
	ck_assert(net_same_ip(SA(a), SA(m)));
	ck_assert(net_same(SA(m), SA(a)));
	ck_assert(net_same(SA(x), SA(y)));
	ck_assert(!net_same_ip(SA(x), SA(a)));
	ck_assert(!net_same_ip(&un, &un));
}
END_TEST

START_TEST(ports_and_hosts)
{
	struct sockaddr_storage a = v4("192.0.2.1", 1), b = v6("2001:db8::1", 2);
	struct sockaddr_storage m = v6("::ffff:192.0.2.1", 3), un;
	uint8_t h[16];

	net_set_port(&a, 8080);
	net_set_port(&b, 0);
	ck_assert_uint_eq(net_port(SA(a)), 8080);
	ck_assert_uint_eq(net_port(SA(b)), 0);
	memset(&un, 0, sizeof(un));
	net_set_port(&un, 9);   /* no family: nothing to set */
	ck_assert_uint_eq(net_port(SA(un)), 0);
	ck_assert_uint_eq(net_host(SA(a), h), 4);
	ck_assert(memcmp(h, "\xc0\x00\x02\x01", 4) == 0);
	ck_assert_uint_eq(net_host(SA(m), h), 4);   /* mapped: unmapped */
	ck_assert(memcmp(h, "\xc0\x00\x02\x01", 4) == 0);
	ck_assert_uint_eq(net_host(SA(b), h), 16);
	ck_assert_uint_eq(net_host(SA(un), h), 0);
}
END_TEST

START_TEST(bind_peer_check)
{
	struct sockaddr_storage allowed[2] = { v6("2001:db8::7", 21), v4("198.51.100.7", 21) };
	struct sockaddr_storage good6 = v6("2001:db8::7", 40000), good4 = v4("198.51.100.7", 20);
	struct sockaddr_storage bad = v4("198.51.100.8", 21);

	/* no address: any peer (DST.ADDR all zeros) */
	ck_assert(bind_peer_allowed(SA(bad), NULL, 0));
	ck_assert(bind_peer_allowed(SA(good6), allowed, 2));
	ck_assert(bind_peer_allowed(SA(good4), allowed, 2));
	ck_assert(!bind_peer_allowed(SA(good4), allowed, 1));
	ck_assert(!bind_peer_allowed(SA(bad), allowed, 2));
}
END_TEST

START_TEST(cidr_blocks)
{
	struct sockaddr_storage a = v4("10.1.2.3", 1), b = v4("11.0.0.1", 1);
	struct sockaddr_storage m = v6("::ffff:10.9.9.9", 1), c = v6("2001:db8::7", 1);
	struct net_cidr n;
	char err[128];

	ck_assert_int_eq(net_cidr_parse("10.0.0.0/8", &n, err, sizeof(err)), 0);
	ck_assert(net_cidr_match(&n, SA(a)));
	ck_assert(net_cidr_match(&n, SA(m)));       /* mapped: the IPv4 address */
	ck_assert(!net_cidr_match(&n, SA(b)));
	ck_assert(!net_cidr_match(&n, SA(c)));
	ck_assert_int_eq(net_cidr_parse("2001:db8::/33", &n, err, sizeof(err)), 0);
	ck_assert(net_cidr_match(&n, SA(c)));
	ck_assert(!net_cidr_match(&n, SA(a)));
	ck_assert_int_eq(net_cidr_parse("10.1.2.3", &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n.prefix, 32);
	ck_assert(net_cidr_match(&n, SA(a)));
	ck_assert_int_eq(net_cidr_parse("0.0.0.0/0", &n, err, sizeof(err)), 0);
	ck_assert(net_cidr_match(&n, SA(b)));
	ck_assert_int_eq(net_cidr_parse("10.0.0.1/8", &n, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"10.0.0.1/8\": host bits set after the prefix length");
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/33", &n, err, sizeof(err)), -1);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/", &n, err, sizeof(err)), -1);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/+8", &n, err, sizeof(err)), -1);
	ck_assert_int_eq(net_cidr_parse("host/8", &n, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"host/8\" is not an address or CIDR block");
	ck_assert_int_eq(net_cidr_parse("::/129", &n, err, sizeof(err)), -1);
	{
		struct net_cidr two[2];

		ck_assert_int_eq(net_cidr_parse("11.0.0.0/8", &two[0], err, sizeof(err)), 0);
		ck_assert_int_eq(net_cidr_parse("2001:db8::/32", &two[1], err, sizeof(err)), 0);
		ck_assert(net_cidr_any(two, 2, SA(b)));
		ck_assert(net_cidr_any(two, 2, SA(c)));
		ck_assert(!net_cidr_any(two, 2, SA(a)));
		ck_assert(!net_cidr_any(two, 0, SA(b)));
	}
}
END_TEST

/* One form for the ACL, the resolver and the log; escapes and empty labels refused. */
START_TEST(name_normalise)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "Example.COM", "example.com" }, { "lo.test.", "lo.test" }, { "a", "a" },
		{ "_srv-1.x", "_srv-1.x" }, { "::1", "::1" }, { "0.0.0.0.", "0.0.0.0" },
	};
	static const char *const bad[] = {
		"", ".", "..", ".a", "a..b", "a..", "l\\o.test", "lo\\.test", "a b", "a\nb",
		"a%eth0", "caf\xc3\xa9.test", "a/b",
	};
	char buf[300];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", ok[i].in);
		ck_assert_int_eq(net_name_normalise(buf), 0);
		ck_assert_str_eq(buf, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", bad[i]);
		ck_assert_msg(net_name_normalise(buf) < 0, "accepted: %s", bad[i]);
		ck_assert_str_eq(buf, bad[i]);
	}
}
END_TEST

/* net_connect_from: the source is bound (127.0.0.2 on loopback), the port
 * picked at connect; a source of the other family is refused at once. */
START_TEST(connect_from_source)
{
	struct sockaddr_storage lo = v4("127.0.0.1", 0), src = v4("127.0.0.2", 0), got;
	struct sockaddr_storage six = v6("::1", 0);
	socklen_t len = sizeof(lo);
	char err[128], ip[NET_ADDRSTRLEN];
	int l = net_listen(SA(lo), sizeof(struct sockaddr_in), 4, err, sizeof(err)), c, a;

	ck_assert_msg(l >= 0, "%s", err);
	ck_assert_int_eq(getsockname(l, SA(lo), &len), 0);
	c = net_connect_from(SA(lo), len, SA(src), sizeof(struct sockaddr_in), false);
	ck_assert_int_ge(c, 0);
	/* net_listen defers accept until the first byte (TCP_DEFER_ACCEPT):
	 * without one, accept waits for the kernel to give up waiting, a
	 * second or more, which raced the loop below */
	ck_assert_int_eq(poll(&(struct pollfd){ .fd = c, .events = POLLOUT }, 1, 5000), 1);
	ck_assert_int_eq(write(c, "x", 1), 1);
	for (int i = 0; i < 400 && (a = accept(l, SA(got), &(socklen_t){ sizeof(got) })) < 0; i++)
		usleep(5000);
	ck_assert_int_ge(a, 0);
	net_ip_str(SA(got), ip, sizeof(ip));
	ck_assert_str_eq(ip, "127.0.0.2");
	ck_assert_uint_ne(net_port(SA(got)), 0);
	close(a);
	close(c);
	errno = 0;
	ck_assert_int_eq(net_connect_from(SA(lo), len, SA(six), sizeof(struct sockaddr_in6), true), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	/* no source: as net_connect_start */
	c = net_connect_from(SA(lo), len, NULL, 0, false);
	ck_assert_int_ge(c, 0);
	close(c);
	close(l);
}
END_TEST

/* The pacing cap is the kernel's, as set; 0 lifts it. */
START_TEST(pacing_cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned long got = 0;
	socklen_t len = sizeof(got);

	ck_assert_int_ge(fd, 0);
	net_pacing(fd, 1310720);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &got, &len), 0);
	ck_assert_uint_eq(got, 1310720);
	net_pacing(fd, 0);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &got, &len), 0);
	ck_assert_uint_eq(got, ULONG_MAX);
	/* nothing queued, and not connected: 0, never an error */
	ck_assert_uint_eq(net_unsent(fd), 0);
	ck_assert_uint_eq(net_unsent(-1), 0);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("compare");

	tcase_add_test(tc, lengths);
	tcase_add_test(tc, unspecified);
	tcase_add_test(tc, same_ip_and_port);
	tcase_add_test(tc, ports_and_hosts);
	tcase_add_test(tc, bind_peer_check);
	tcase_add_test(tc, cidr_blocks);
	tcase_add_test(tc, name_normalise);
	tcase_add_test(tc, connect_from_source);
	tcase_add_test(tc, pacing_cap);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
