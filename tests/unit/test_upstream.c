/*
 * Unit tests for upstream definitions (URLs, parameters, refusals whose
 * reasons never show a credential) and the failover state machine.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "route/upstream.h"

static struct upstream up;

START_TEST(two_parents)
{
	char err[256] = "", s[300];

	ck_assert_msg(upstream_parse("  socks5://user:p%40ss:w@127.0.0.1:1081\t"
				     "http://us%3Aer@[::1]:3128/ max_fails=5 fail_timeout=60",
				     &up, err, sizeof(err)) == -1, "%s", err);
	/* an HTTP user cannot hold ':' (Basic): the reason names no credential */
	ck_assert_ptr_nonnull(strstr(err, "\"http://...@[::1]:3128\""));
	ck_assert_ptr_null(strstr(err, "us%3Aer"));

	ck_assert_msg(upstream_parse("  socks5://user:p%40ss:w@127.0.0.1:1081\t"
				     "http://bob@[::1]:3128/ max_fails=5 fail_timeout=60",
				     &up, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(up.n, 2);
	ck_assert_uint_eq(up.max_fails, 5);
	ck_assert_uint_eq(up.fail_timeout, 60);
	ck_assert_int_eq(up.parent[0].proto, UPSTREAM_SOCKS5);
	ck_assert(up.parent[0].has_cred && up.parent[0].numeric);
	ck_assert_str_eq(up.parent[0].user, "user");
	ck_assert_str_eq(up.parent[0].pass, "p@ss:w");
	ck_assert_uint_eq(up.parent[0].port, 1081);
	ck_assert_int_eq(up.parent[0].addr.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&up.parent[0].addr)->sin_port), 1081);
	ck_assert_int_eq(up.parent[1].proto, UPSTREAM_HTTP);
	ck_assert_str_eq(up.parent[1].host, "::1");
	ck_assert_str_eq(up.parent[1].user, "bob");
	ck_assert_str_eq(up.parent[1].pass, "");
	ck_assert_int_eq(up.parent[1].addr.ss_family, AF_INET6);
	ck_assert_str_eq(upstream_parent_str(&up.parent[0], s, sizeof(s)), "socks5://127.0.0.1:1081");
	ck_assert_str_eq(upstream_parent_str(&up.parent[1], s, sizeof(s)), "http://[::1]:3128");
	upstream_wipe(&up);
	ck_assert_str_eq(up.parent[0].pass, "");
}
END_TEST

START_TEST(names_and_defaults)
{
	char err[256] = "";

	ck_assert_msg(upstream_parse("socks5://parent.example:1080", &up, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(up.n, 1);
	ck_assert(!up.parent[0].numeric && !up.parent[0].has_cred);
	ck_assert_str_eq(up.parent[0].host, "parent.example");
	ck_assert_uint_eq(up.max_fails, UPSTREAM_DEFAULT_MAX_FAILS);
	ck_assert_uint_eq(up.fail_timeout, UPSTREAM_DEFAULT_FAIL_TIMEOUT);
}
END_TEST

/* Each malformed value is refused with a reason holding no password. */
START_TEST(refusals)
{
	static const char *const bad[] = {
		"",
		"max_fails=3",
		"socks4://1.2.3.4:1080",
		"SOCKS5://1.2.3.4:1080",
		"socks5://1.2.3.4",
		"socks5://1.2.3.4:",
		"socks5://1.2.3.4:0",
		"socks5://1.2.3.4:65536",
		"socks5://1.2.3.4:01080",
		"socks5://1.2.3.4:10a",
		"socks5://::1:1080",
		"socks5://[::1]1080",
		"socks5://[::1:1080",
		"socks5://[not:an:addr]:1080",
		"socks5://:1080",
		"socks5://ho st:1080",
		"socks5://h%41:1080",
		"socks5://1.2.3.4:1080/path",
		"socks5://1.2.3.4:1080?q",
		"socks5://:secret@1.2.3.4:1080",
		"socks5://u:secret%4@1.2.3.4:1080",
		"socks5://u:secret%00x@1.2.3.4:1080",
		"socks5://u:secret%0Ax@1.2.3.4:1080",
		"socks5://1.2.3.4:1080 max_fails=0",
		"socks5://1.2.3.4:1080 max_fails=1001",
		"socks5://1.2.3.4:1080 fail_timeout=-1",
		"socks5://1.2.3.4:1080 fail_timeout=86401",
		"socks5://1.2.3.4:1080 fail_timeout=10s",
		"socks5://1.2.3.4:1080 weight=2",
		"socks5://1.2.3.4:1 socks5://1.2.3.4:2 socks5://1.2.3.4:3 socks5://1.2.3.4:4 "
		"socks5://1.2.3.4:5 socks5://1.2.3.4:6 socks5://1.2.3.4:7 socks5://1.2.3.4:8 "
		"socks5://1.2.3.4:9",
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(upstream_parse(bad[i], &up, err, sizeof(err)) == -1, "%s", bad[i]);
		ck_assert_msg(err[0] != '\0', "%s: no reason", bad[i]);
		ck_assert_msg(strstr(err, "secret") == NULL, "%s: %s", bad[i], err);
	}
	/* a user over 255 octets */
	{
		char url[400];

		memset(url, 0, sizeof(url));
		strcpy(url, "socks5://");
		memset(url + 9, 'u', 256);
		strcat(url, ":secret@1.2.3.4:1080");
		ck_assert_int_eq(upstream_parse(url, &up, err, sizeof(err)), -1);
		ck_assert_ptr_null(strstr(err, "secret"));
		url[9 + 255] = '%';  /* 254 octets then %3A: 255, fits */
		memcpy(url + 9 + 254, "%3A:secret@1.2.3.4:1080", 24);
		ck_assert_msg(upstream_parse(url, &up, err, sizeof(err)) == 0, "%s", err);
		ck_assert_uint_eq(strlen(up.parent[0].user), 255);
	}
}
END_TEST

START_TEST(failover)
{
	struct upstream_health h[2];
	char err[128];
	uint64_t t = 1000000;

	memset(h, 0, sizeof(h));
	ck_assert_int_eq(upstream_parse("socks5://10.0.0.1:1080 http://10.0.0.2:3128 "
					"max_fails=2 fail_timeout=30", &up, err, sizeof(err)), 0);
	ck_assert_int_eq(upstream_choose(&up, h, t), 0);
	upstream_health_failed(&h[0], &up, t, "connection refused");
	ck_assert(!upstream_health_down(&h[0], t));
	ck_assert_int_eq(upstream_choose(&up, h, t), 0);      /* one failure: still tried */
	/* ... but not again by the connection that saw it fail */
	ck_assert_int_eq(upstream_choose_except(&up, h, t, 1u << 0), 1);
	ck_assert_int_eq(upstream_choose_except(&up, h, t, 3u), -1);
	upstream_health_failed(&h[0], &up, t + 1, "connection refused");
	ck_assert(upstream_health_down(&h[0], t + 1));
	ck_assert_uint_eq(h[0].down_since_ms, t + 1);
	ck_assert_str_eq(h[0].last_error, "connection refused");
	ck_assert_int_eq(upstream_choose(&up, h, t + 2), 1);  /* moved to the second */

	/* both down: -1 */
	upstream_health_failed(&h[1], &up, t + 3, "timeout");
	upstream_health_failed(&h[1], &up, t + 4, "timeout");
	ck_assert_int_eq(upstream_choose(&up, h, t + 5), -1);

	/* after 30 s the first is probed once; the others keep away meanwhile */
	ck_assert_int_eq(upstream_choose(&up, h, t + 1 + 30000), 0);
	ck_assert_int_eq(upstream_choose(&up, h, t + 1 + 30001), -1);
	/* the probe fails: down again from now, since unchanged */
	upstream_health_failed(&h[0], &up, t + 40000, "reset");
	ck_assert(upstream_health_down(&h[0], t + 40000 + 29999));
	ck_assert_uint_eq(h[0].down_since_ms, t + 1);
	/* the next probe succeeds: back to the first */
	ck_assert_int_eq(upstream_choose(&up, h, t + 70000), 0);
	upstream_health_ok(&h[0]);
	ck_assert_int_eq(upstream_choose(&up, h, t + 70001), 0);
	ck_assert_uint_eq(h[0].fails, 0);
	ck_assert_uint_eq(h[0].down_since_ms, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("upstream");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, two_parents);
	tcase_add_test(tc, names_and_defaults);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, failover);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
