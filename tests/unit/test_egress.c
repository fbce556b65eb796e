/*
 * Unit tests for the egress picker: parsing a spec, picking by family,
 * sticky picks stable (and pinned to known values, since a change would
 * move every sticky user), random picks spread over a /64.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "route/egress.h"

static struct egress_spec spec;

static void parse_ok(const char *list, enum egress_mode mode)
{
	char err[128] = "";

	egress_init(&spec);
	spec.mode = (uint8_t)mode;
	ck_assert_msg(egress_parse(&spec, list, err, sizeof(err)) == 0, "%s: %s", list, err);
}

/* The text of a pick for family, checking the result. */
static const char *pick(int family, const char *user, uint64_t rnd, bool want_freebind)
{
	static char buf[INET6_ADDRSTRLEN];
	struct sockaddr_storage ss;
	socklen_t len;
	bool fb;

	ck_assert_int_eq(egress_pick(&spec, family, user, user ? strlen(user) : 0, rnd, &ss,
				     &len, &fb), EGRESS_OK);
	ck_assert_int_eq(ss.ss_family, family);
	ck_assert_uint_eq(len, family == AF_INET ? sizeof(struct sockaddr_in) :
			  sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(net_port((struct sockaddr *)&ss), 0);
	ck_assert(fb == want_freebind);
	net_ip_str((struct sockaddr *)&ss, buf, sizeof(buf));
	return buf;
}

START_TEST(parse_refusals)
{
	static const char *const bad[] = {
		"192.0.2.0/24",          /* an IPv4 block */
		"2001:db8::/129",        /* longer than /128 */
		"2001:db8::1/64",        /* host bits after the prefix */
		"host.example",          /* names are not addresses */
		"192.0.2.1 192.0.2.1",   /* twice */
		"192.0.2.1,,2001:db8::zz",
	};
	char err[128];
	enum egress_mode m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		egress_init(&spec);
		err[0] = '\0';
		ck_assert_msg(egress_parse(&spec, bad[i], err, sizeof(err)) == -1, "%s", bad[i]);
		ck_assert_msg(err[0] != '\0', "%s: no reason", bad[i]);
	}
	egress_init(&spec);
	for (int i = 0; i < EGRESS_MAX; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.0.%d", i + 1);
		ck_assert_int_eq(egress_parse(&spec, a, err, sizeof(err)), 0);
	}
	ck_assert_int_eq(egress_parse(&spec, "10.0.1.1", err, sizeof(err)), -1);
	ck_assert_int_eq(egress_mode_parse("sticky", &m, err, sizeof(err)), 0);
	ck_assert_int_eq(m, EGRESS_STICKY);
	ck_assert_int_eq(egress_mode_parse("random", &m, err, sizeof(err)), 0);
	ck_assert_int_eq(m, EGRESS_RANDOM);
	ck_assert_int_eq(egress_mode_parse("Sticky", &m, err, sizeof(err)), -1);
}
END_TEST

START_TEST(families)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool fb;

	egress_init(&spec);
	ck_assert_int_eq(egress_pick(&spec, AF_INET, "u", 1, 0, &ss, &len, &fb), EGRESS_NONE);
	parse_ok(" 192.0.2.1,\t192.0.2.2 ", EGRESS_RANDOM);
	ck_assert(egress_has_family(&spec, AF_INET));
	ck_assert(!egress_has_family(&spec, AF_INET6));
	ck_assert_int_eq(egress_pick(&spec, AF_INET6, "u", 1, 0, &ss, &len, &fb),
			 EGRESS_NO_FAMILY);
	ck_assert_str_eq(pick(AF_INET, NULL, 0, false), "192.0.2.1");
	ck_assert_str_eq(pick(AF_INET, NULL, 1, false), "192.0.2.2");
	parse_ok("192.0.2.1 2001:db8::7 2001:db8:1::/64", EGRESS_RANDOM);
	ck_assert_str_eq(pick(AF_INET, NULL, 12345, false), "192.0.2.1");
	ck_assert_str_eq(pick(AF_INET6, NULL, 0, false), "2001:db8::7");
	ck_assert_str_eq(pick(AF_INET6, NULL, 0, false), "2001:db8::7");
	ck_assert_uint_eq(strncmp(pick(AF_INET6, NULL, 1, true), "2001:db8:1:0:", 13), 0);
	parse_ok("2001:db8::5/128", EGRESS_RANDOM);
	ck_assert_str_eq(pick(AF_INET6, NULL, 99, false), "2001:db8::5");
}
END_TEST

START_TEST(prefix_bits)
{
	struct net_cidr c;
	char err[64];

	/* every pick stays inside its prefix, whatever the length */
	for (int plen = 0; plen <= 127; plen++) {
		char text[64];

		snprintf(text, sizeof(text), "2001:db8::/%d", plen < 32 ? 32 : plen);
		parse_ok(text, EGRESS_RANDOM);
		ck_assert_int_eq(net_cidr_parse(text, &c, err, sizeof(err)), 0);
		for (uint64_t r = 0; r < 50; r++) {
			struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

			inet_pton(AF_INET6, pick(AF_INET6, NULL, r * 0x1234567, true),
				  &sin6.sin6_addr);
			ck_assert(net_cidr_match(&c, (struct sockaddr *)&sin6));
			/* never the subnet-router anycast address */
			ck_assert(c.prefix >= 127 || memcmp(&sin6.sin6_addr, c.addr, 16) != 0);
		}
	}
}
END_TEST

START_TEST(sticky_stable)
{
	char first[INET6_ADDRSTRLEN];

	parse_ok("2001:db8:a:b::/64 2001:db8::1 192.0.2.1 192.0.2.2 192.0.2.3", EGRESS_STICKY);
	snprintf(first, sizeof(first), "%s", pick(AF_INET6, "alice", 1, false));
	for (uint64_t r = 0; r < 100; r++) {
		ck_assert_str_eq(pick(AF_INET6, "alice", r, false), first);
		ck_assert_str_eq(pick(AF_INET, "alice", r, false), "192.0.2.3");
	}
	/* pinned: the same on every instance and after every upgrade (the
	 * values were checked against a separate Python implementation) */
	ck_assert_uint_eq(egress_hash("alice", 5), 0x95990eba5c570719ULL);
	ck_assert_uint_eq(egress_hash("", 0), 0xc37053ccb7078352ULL);
	ck_assert_str_eq(first, "2001:db8::1");
	ck_assert_str_eq(pick(AF_INET6, "bob", 0, true), "2001:db8:a:b:79a0:2c0c:16fb:ec68");
	/* no user: random even in sticky mode */
	snprintf(first, sizeof(first), "%s", pick(AF_INET6, NULL, 0, true));
	ck_assert_str_ne(pick(AF_INET6, NULL, 2, true), first);
}
END_TEST

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* How many distinct addresses n picks from a /64 give (random or by user). */
static size_t distinct_picks(size_t n, bool sticky)
{
	static uint8_t got[1000][16];
	size_t d = 1;

	ck_assert_uint_le(n, 1000);
	parse_ok("2001:db8:1:2::/64", sticky ? EGRESS_STICKY : EGRESS_RANDOM);
	for (size_t i = 0; i < n; i++) {
		char user[32];
		struct sockaddr_storage ss;
		socklen_t len;
		bool fb;

		snprintf(user, sizeof(user), "user%zu", i);
		ck_assert_int_eq(egress_pick(&spec, AF_INET6, user, strlen(user), egress_random(),
					     &ss, &len, &fb), EGRESS_OK);
		memcpy(got[i], &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		ck_assert_mem_eq(got[i], "\x20\x01\x0d\xb8\x00\x01\x00\x02", 8);
	}
	qsort(got, n, 16, cmp16);
	for (size_t i = 1; i < n; i++)
		d += memcmp(got[i - 1], got[i], 16) != 0;
	return d;
}

START_TEST(random_spreads)
{
	/* the bar: at least 90% of 1,000 picks distinct */
	ck_assert_uint_ge(distinct_picks(1000, false), 900);
	ck_assert_uint_ge(distinct_picks(1000, true), 900);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("egress");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_refusals);
	tcase_add_test(tc, families);
	tcase_add_test(tc, prefix_bits);
	tcase_add_test(tc, sticky_stable);
	tcase_add_test(tc, random_spreads);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
