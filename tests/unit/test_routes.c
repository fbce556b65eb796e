/*
 * Unit tests for [upstreams] and [routes] (socks/routes.h): the first rule
 * whose conditions match decides, no match is direct, a rule by address
 * never matches a request by name, errors name the file, line and section
 * (never a password), and a rebuild keeps the failover state of unchanged
 * parents only.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "check_main.h"
#include "socks/routes.h"

static const struct routes_text ups[] = {
	{ "corp", "socks5://u:pw@10.0.0.1:1080 http://10.0.0.2:3128 max_fails=2", 3 },
	{ "web", "http://proxy.example:8080", 4 },
};

static const struct routes_text rules[] = {
	{ "direct", "dest 10.0.0.0/8", 7 },
	{ "corp", "dest-host .corp.example", 8 },
	{ "web", "port 80", 9 },
	{ "corp", "dest 192.0.2.0/24", 10 },
};

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

START_TEST(test_pick)
{
	char err[256];
	struct routes *r = routes_build(ups, 2, rules, 4, "m.ini", NULL, err, sizeof(err));
	struct sockaddr_in a = v4("10.1.2.3", 80), b = v4("192.0.2.9", 443), c = v4("8.8.8.8", 443);
	struct acl_request q = { NULL, NULL, (struct sockaddr *)&a, 0 };
	int line;

	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_uint_eq(routes_upstream_count(r), 2);
	ck_assert_ptr_null(routes_pick(r, &q, NULL, &line));          /* direct, by rule */
	ck_assert_int_eq(line, 7);
	q.dst = (struct sockaddr *)&b;
	ck_assert_ptr_eq(routes_pick(r, &q, NULL, &line), routes_find(r, "corp"));
	ck_assert_int_eq(line, 10);
	q.dst = (struct sockaddr *)&c;
	ck_assert_ptr_null(routes_pick(r, &q, NULL, &line));          /* no rule: direct */
	ck_assert_int_eq(line, 0);
	q = (struct acl_request){ NULL, "git.corp.example", NULL, 22 };
	ck_assert_ptr_eq(routes_pick(r, &q, NULL, NULL), routes_find(r, "corp"));
	q = (struct acl_request){ NULL, "example.org", NULL, 80 };
	ck_assert_ptr_eq(routes_pick(r, &q, NULL, &line), routes_find(r, "web"));
	ck_assert_int_eq(line, 9);
	/* a rule by address never matches a name */
	q = (struct acl_request){ NULL, "example.org", NULL, 443 };
	ck_assert_ptr_null(routes_pick(r, &q, NULL, NULL));
	routes_free(r);
}
END_TEST

START_TEST(test_errors)
{
	static const struct { struct routes_text up, rule; const char *want; } cases[] = {
		{ { "p", "socks5://u:hunter2@h", 2 }, { "p", "all", 5 }, "m.ini:2: [upstreams] p: " },
		{ { "direct", "socks5://h:1", 2 }, { "p", "all", 5 }, "m.ini:2: [upstreams] direct: " },
		{ { "p", "socks5://h:1", 2 }, { "q", "all", 5 }, "m.ini:5: [routes] q: no such upstream" },
		{ { "p", "socks5://h:1", 2 }, { "p", "dest 10.0.0.1/8", 5 }, "m.ini:5: [routes] p: " },
		{ { "p", "socks5://h:1", 2 }, { "p", "", 5 }, "m.ini:5: [routes] p: a rule needs" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_ptr_null(routes_build(&cases[i].up, 1, &cases[i].rule, 1, "m.ini", NULL,
						err, sizeof(err)));
		ck_assert_msg(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0, "%s", err);
		ck_assert_ptr_null(strstr(err, "hunter2"));
	}
	{
		const struct routes_text two[] = { { "p", "socks5://h:1", 2 }, { "p", "http://h:2", 3 } };

		ck_assert_ptr_null(routes_build(two, 2, NULL, 0, "m.ini", NULL, err, sizeof(err)));
		ck_assert_str_eq(err, "m.ini:3: [upstreams] p: duplicate upstream");
	}
}
END_TEST

START_TEST(test_health_carried)
{
	char err[256];
	struct routes *old = routes_build(ups, 2, NULL, 0, NULL, NULL, err, sizeof(err));
	const struct routes_text changed[] = {
		{ "corp", "http://10.0.0.2:3128 socks5://10.0.0.1:1081", 3 },
	};
	struct routes *r;

	ck_assert_ptr_nonnull(old);
	routes_find(old, "corp")->health[0].fails = 5;  /* socks5://10.0.0.1:1080 */
	routes_find(old, "corp")->health[1].fails = 7;  /* http://10.0.0.2:3128 */
	r = routes_build(changed, 1, NULL, 0, NULL, old, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(routes_find(r, "corp")->health[0].fails, 7);  /* same parent */
	ck_assert_uint_eq(routes_find(r, "corp")->health[1].fails, 0);  /* port changed */
	routes_free(old);
	routes_free(r);
}
END_TEST

static Suite *routes_suite(void)
{
	Suite *s = suite_create("routes");
	TCase *tc = tcase_create("routes");

	tcase_add_test(tc, test_pick);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_health_carried);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(routes_suite());
}
