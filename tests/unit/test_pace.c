/* test_pace: login pacing per source (auth/pace.h). */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/pace.h"
#include "check_main.h"

static struct pace p;

static const struct sockaddr *v4(const char *ip)
{
	static struct sockaddr_in sin[4];
	static int next;
	struct sockaddr_in *a = &sin[next++ % 4];

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &a->sin_addr);
	return (const struct sockaddr *)a;
}

static const struct sockaddr *v6(const char *ip)
{
	static struct sockaddr_in6 sin6[4];
	static int next;
	struct sockaddr_in6 *a = &sin6[next++ % 4];

	memset(a, 0, sizeof(*a));
	a->sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &a->sin6_addr);
	return (const struct sockaddr *)a;
}

/* A source that never failed is not serialised: many checks at once. */
START_TEST(clean_source_not_serialised)
{
	pace_init(&p, 250, 8000);
	for (int i = 0; i < 50; i++)
		ck_assert_uint_eq(pace_admit(&p, v4("127.0.0.1"), 1000), 0);
	for (int i = 0; i < 50; i++)
		ck_assert_uint_eq(pace_end(&p, v4("127.0.0.1"), PACE_OK, 1001, NULL), 0);
}
END_TEST

/* After a failure: no start before the delay, one in flight, delay doubling, success resets. */
START_TEST(failed_source_waits_and_is_serialised)
{
	unsigned fails;

	pace_init(&p, 250, 8000);
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1000), 0);
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1000), 0);  /* not failed yet */
	ck_assert_uint_eq(pace_end(&p, v4("10.0.0.1"), PACE_FAIL, 1010, &fails), 250);
	ck_assert_uint_eq(fails, 1);
	/* the delay runs before the next START, whatever the other connection does */
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1100), 160);
	/* the second check still in flight: serialised even after the delay */
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1300), PACE_POLL_MS);
	ck_assert_uint_eq(pace_end(&p, v4("10.0.0.1"), PACE_FAIL, 1300, &fails), 500);
	ck_assert_uint_eq(fails, 2);
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1799), 1);
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1800), 0);
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1800), PACE_POLL_MS);
	/* another source is not affected */
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.2"), 1800), 0);
	/* a dropped check (busy, cancelled) frees the slot but earns nothing */
	ck_assert_uint_eq(pace_end(&p, v4("10.0.0.1"), PACE_NONE, 1900, &fails), 0);
	ck_assert_uint_eq(fails, 2);
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1900), 0);
	ck_assert_uint_eq(pace_end(&p, v4("10.0.0.1"), PACE_OK, 1950, &fails), 0);
	ck_assert_uint_eq(fails, 0);
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1950), 0);
	ck_assert_uint_eq(pace_admit(&p, v4("10.0.0.1"), 1950), 0);
}
END_TEST

/* The guess rate: simulated attacker retrying as soon as allowed for 60 s. */
START_TEST(guess_rate_bounded)
{
	uint64_t now = 0;
	unsigned guesses = 0;

	pace_init(&p, 250, 8000);
	while (now < 60000) {
		uint64_t wait = pace_admit(&p, v4("192.0.2.7"), now);

		if (wait) {
			now += wait;
			continue;
		}
		guesses++;
		now += 15;  /* the check's time */
		pace_end(&p, v4("192.0.2.7"), PACE_FAIL, now, NULL);
	}
	/* 250+500+1000+2000+4000 ms, then one per 8 s: 5 + 52.25/8 + 1 */
	ck_assert_uint_le(guesses, 13);
	ck_assert_uint_ge(guesses, 10);
}
END_TEST

START_TEST(ipv6_by_64_and_mapped_v4)
{
	pace_init(&p, 250, 8000);
	ck_assert_uint_eq(pace_admit(&p, v6("2001:db8:1:2::1"), 0), 0);
	pace_end(&p, v6("2001:db8:1:2::1"), PACE_FAIL, 0, NULL);
	ck_assert_uint_eq(pace_admit(&p, v6("2001:db8:1:2:ffff::9"), 10), 240);
	ck_assert_uint_eq(pace_admit(&p, v6("2001:db8:1:3::1"), 10), 0);
	ck_assert_uint_eq(pace_admit(&p, v4("192.0.2.1"), 0), 0);
	pace_end(&p, v4("192.0.2.1"), PACE_FAIL, 0, NULL);
	ck_assert_uint_eq(pace_admit(&p, v6("::ffff:192.0.2.1"), 100), 150);
}
END_TEST

START_TEST(hold_caps_per_source)
{
	pace_init(&p, 250, 8000);
	for (int i = 0; i < 3; i++)
		ck_assert(pace_hold(&p, v4("10.1.1.1"), 3, 0));
	ck_assert(!pace_hold(&p, v4("10.1.1.1"), 3, 0));
	ck_assert(pace_hold(&p, v4("10.1.1.2"), 3, 0));
	pace_release(&p, v4("10.1.1.1"));
	ck_assert(pace_hold(&p, v4("10.1.1.1"), 3, 0));
}
END_TEST

/* A full table replaces the least recently used idle source, never a busy one. */
START_TEST(table_replacement)
{
	char ip[32];

	pace_init(&p, 250, 8000);
	ck_assert_uint_eq(pace_admit(&p, v4("10.9.9.9"), 0), 0);  /* in flight */
	pace_end(&p, v4("10.9.9.9"), PACE_FAIL, 0, NULL);
	ck_assert_uint_eq(pace_admit(&p, v4("10.9.9.9"), 300), 0);  /* in flight again */
	for (int i = 0; i < PACE_SOURCES * 2; i++) {
		snprintf(ip, sizeof(ip), "10.2.%d.%d", i / 250, i % 250);
		pace_admit(&p, v4(ip), 400 + (uint64_t)i);
		pace_end(&p, v4(ip), PACE_FAIL, 400 + (uint64_t)i, NULL);
	}
	/* still remembered, failure count and all */
	ck_assert_uint_eq(pace_admit(&p, v4("10.9.9.9"), 100000), PACE_POLL_MS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pace");
	TCase *tc = tcase_create("pace");

	tcase_add_test(tc, clean_source_not_serialised);
	tcase_add_test(tc, failed_source_waits_and_is_serialised);
	tcase_add_test(tc, guess_rate_bounded);
	tcase_add_test(tc, ipv6_by_64_and_mapped_v4);
	tcase_add_test(tc, hold_caps_per_source);
	tcase_add_test(tc, table_replacement);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
