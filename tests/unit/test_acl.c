/*
 * Unit tests for the ACL: rule syntax and its errors, matching, where the
 * kernel delivers an address (unspecified, mapped, numeric names), the
 * built-in rules from bound listeners, "dest local", and the stage with no
 * destination known (UDP ASSOCIATE, BIND naming no peer).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "socks/acl.h"
static struct acl_rule_text rule_items[64];
static struct acl_rules cfg = { rule_items, 0, NULL };
static char err[256];

/* A rule list with the given rules (action, conditions, ...; lines from 10). */
static void setup_rules(const char *const *rules)
{
	cfg.len = 0;
	cfg.path = NULL;
	for (int i = 0; rules[i] != NULL; i += 2) {
		ck_assert_uint_lt(cfg.len, sizeof(rule_items) / sizeof(rule_items[0]));
		rule_items[cfg.len++] = (struct acl_rule_text){ rules[i], rules[i + 1], 10 + i / 2 };
	}
}

/* Compiles rules without built-in rules. */
static struct acl *compile(const char *const *rules)
{
	setup_rules(rules);
	return acl_compile(&cfg, NULL, err, sizeof(err));
}

static struct sockaddr_storage addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	}
	return ss;
}

static enum acl_verdict check(const struct acl *a, const char *src, const char *dst,
			      uint16_t port, const char *name)
{
	struct sockaddr_storage s = addr(src, 40000), d = addr(dst, port);
	struct acl_request q = { (struct sockaddr *)&s, name, (struct sockaddr *)&d, 0 };

	return acl_check(a, &q, NULL);
}

static enum acl_verdict check_addr(const struct acl *a, const struct sockaddr_storage *s,
				   const struct sockaddr_storage *d, int *line)
{
	struct acl_request q = { (const struct sockaddr *)s, NULL, (const struct sockaddr *)d, 0 };

	return acl_check(a, &q, line);
}

static enum acl_verdict check_name(const struct acl *a, const char *name, uint16_t port)
{
	struct sockaddr_storage s = addr("192.0.2.1", 40000);
	struct acl_request q = { (struct sockaddr *)&s, name, NULL, port };

	return acl_check(a, &q, NULL);
}

/* The stage with no destination known: the client alone. */
static enum acl_verdict check_client(const struct acl *a, const char *src)
{
	struct sockaddr_storage s = addr(src, 40000);
	struct acl_request q = { (struct sockaddr *)&s, NULL, NULL, 0 };

	return acl_check(a, &q, NULL);
}

START_TEST(empty_acl_allows)
{
	static const char *const none[] = { NULL };
	struct acl *a = compile(none);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_uint_eq(acl_rule_count(a), 0);
	ck_assert_int_eq(check(a, "127.0.0.1", "10.1.2.3", 80, NULL), ACL_ALLOW);
	ck_assert_int_eq(check_name(a, "example.com", 80), ACL_ALLOW);
	ck_assert_int_eq(check(NULL, "127.0.0.1", "10.1.2.3", 80, NULL), ACL_ALLOW);
	acl_free(a);
}
END_TEST

START_TEST(first_match_wins_with_final_deny)
{
	static const char *const rules[] = {
		"allow", "dest 10.0.0.0/8 port 1-1024",
		"deny", "dest 10.0.0.0/8",
		"allow", "dest fd00::/8",
		"deny", "all",
		NULL
	};
	struct acl *a = compile(rules);
	int line;
	struct sockaddr_storage s = addr("127.0.0.1", 1), d = addr("10.9.9.9", 2000);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check(a, "127.0.0.1", "10.9.9.9", 80, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "127.0.0.1", "10.9.9.9", 1024, NULL), ACL_ALLOW);
	ck_assert_int_eq(check_addr(a, &s, &d, &line), ACL_DENY);
	ck_assert_int_eq(line, 11);
	ck_assert_int_eq(check(a, "127.0.0.1", "fd12::1", 443, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "127.0.0.1", "fe80::1", 443, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "11.0.0.1", 80, NULL), ACL_DENY);
	/* the name cannot be decided: a dest rule comes first */
	ck_assert_int_eq(check_name(a, "anything.test", 80), ACL_ALLOW);
	acl_free(a);
}
END_TEST

START_TEST(host_suffixes)
{
	static const char *const rules[] = {
		"deny", "dest-host .internal",
		"deny", "dest-host Example.COM.",
		NULL
	};
	struct acl *a = compile(rules);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check_name(a, "db.internal", 5432), ACL_DENY);
	ck_assert_int_eq(check_name(a, "a.b.INTERNAL.", 5432), ACL_DENY);
	ck_assert_int_eq(check_name(a, "internal", 5432), ACL_ALLOW);
	ck_assert_int_eq(check_name(a, "notinternal", 5432), ACL_ALLOW);
	ck_assert_int_eq(check_name(a, "example.com", 80), ACL_DENY);
	ck_assert_int_eq(check_name(a, "www.example.com", 80), ACL_DENY);
	ck_assert_int_eq(check_name(a, "badexample.com", 80), ACL_ALLOW);
	/* a request by address never matches a host rule */
	ck_assert_int_eq(check(a, "127.0.0.1", "10.0.0.1", 80, NULL), ACL_ALLOW);
	/* the address stage repeats what the name stage decided */
	ck_assert_int_eq(check(a, "127.0.0.1", "10.0.0.1", 80, "x.internal"), ACL_DENY);
	acl_free(a);
}
END_TEST

START_TEST(source_rules)
{
	static const char *const rules[] = {
		"deny", "src 192.0.2.0/24",
		"allow", "src 2001:db8::/32 port 22",
		"deny", "port 22",
		NULL
	};
	struct acl *a = compile(rules);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check(a, "192.0.2.7", "8.8.8.8", 53, NULL), ACL_DENY);
	ck_assert_int_eq(check_name(a, "example.com", 80), ACL_DENY);
	ck_assert_int_eq(check(a, "198.51.100.1", "8.8.8.8", 53, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "2001:db8::5", "8.8.8.8", 22, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "2001:db9::5", "8.8.8.8", 22, NULL), ACL_DENY);
	/* without a source, src rules do not match */
	{
		struct sockaddr_storage d = addr("8.8.8.8", 53);

		ck_assert_int_eq(check_addr(a, NULL, &d, NULL), ACL_ALLOW);
	}
	acl_free(a);
}
END_TEST

START_TEST(mapped_ipv4_is_matched_as_ipv4)
{
	static const char *const rules[] = { "deny", "dest 127.0.0.0/8", NULL };
	struct acl *a = compile(rules);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check(a, "127.0.0.1", "::ffff:127.0.0.1", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "::ffff:10.0.0.1", "127.0.0.2", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "::1", 80, NULL), ACL_ALLOW);
	acl_free(a);
}
END_TEST

START_TEST(prefix_edges)
{
	static const char *const rules[] = {
		"deny", "dest 10.128.0.0/9",
		"deny", "dest 0.0.0.0/0 port 25",
		"deny", "dest 2001:db8:8000::/33",
		NULL
	};
	struct acl *a = compile(rules);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check(a, "127.0.0.1", "10.128.0.0", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "10.255.255.255", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "10.127.255.255", 80, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "127.0.0.1", "1.2.3.4", 25, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "::1", 25, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "127.0.0.1", "2001:db8:8000::1", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "2001:db8:7fff::1", 80, NULL), ACL_ALLOW);
	acl_free(a);
}
END_TEST

/* Compiles rules behind the built-in rules of listeners (address, port) and local addresses. */
static struct acl *compile_self(const char *const *rules, const char *const *listeners,
				const uint16_t *ports, const char *const *local)
{
	struct sockaddr_storage l[8], loc[8];
	struct acl_self self = { l, 0, loc, 0, NULL };
	struct acl *a;

	for (; listeners[self.nlisteners] != NULL; self.nlisteners++)
		l[self.nlisteners] = addr(listeners[self.nlisteners], ports[self.nlisteners]);
	for (; local[self.nlocal] != NULL; self.nlocal++)
		loc[self.nlocal] = addr(local[self.nlocal], 0);
	setup_rules(rules);
	a = acl_compile(&cfg, &self, err, sizeof(err));
	return a;
}

START_TEST(builtin_protects_listeners)
{
	static const char *const rules[] = { "allow", "all", NULL };
	static const char *const listeners[] = { "127.0.0.1", "::1", NULL };
	static const uint16_t ports[] = { 41000, 41001 };
	static const char *const none[] = { NULL };
	struct acl *a = compile_self(rules, listeners, ports, none);
	struct sockaddr_storage s = addr("127.0.0.1", 1), d = addr("127.0.0.1", 41000);
	int line;

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_uint_eq(acl_builtin_count(a), 2);
	ck_assert_int_eq(check_addr(a, &s, &d, &line), ACL_DENY);
	ck_assert_int_eq(line, ACL_LINE_BUILTIN);
	/* the port as bound, whatever was asked for (0 included) */
	ck_assert_int_eq(check(a, "127.0.0.1", "127.0.0.1", 41002, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "127.0.0.1", "0.0.0.0", 41000, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "::ffff:127.0.0.1", 41000, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "::ffff:0.0.0.0", 41000, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "::1", 41001, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "127.0.0.1", "::", 41001, NULL), ACL_DENY);
	/* a listener on 127.0.0.1 is not on 127.0.0.2 */
	ck_assert_int_eq(check(a, "127.0.0.1", "127.0.0.2", 41000, NULL), ACL_ALLOW);
	ck_assert_int_eq(check_name(a, "0.0.0.0", 41000), ACL_DENY);
	/* a name cannot be denied before it resolves */
	ck_assert_int_eq(check_name(a, "localhost", 41000), ACL_ALLOW);
	acl_free(a);
}
END_TEST

/* socks5d listens on TCP: a UDP datagram to the same port number is let through */
START_TEST(builtin_rules_spare_datagrams)
{
	static const char *const rules[] = { "deny", "dest 127.0.0.9", NULL };
	static const char *const listeners[] = { "127.0.0.1", NULL };
	static const uint16_t ports[] = { 41000 };
	static const char *const none[] = { NULL };
	struct acl *a = compile_self(rules, listeners, ports, none);
	struct sockaddr_storage s = addr("127.0.0.1", 1), d = addr("127.0.0.1", 41000);
	struct sockaddr_storage d9 = addr("127.0.0.9", 41000);
	struct acl_request q = { (struct sockaddr *)&s, NULL, (struct sockaddr *)&d, 0 };
	int line;

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(acl_check(a, &q, NULL), ACL_DENY);
	ck_assert_int_eq(acl_check_datagram(a, &q, NULL, &line), ACL_ALLOW);
	ck_assert_int_eq(line, ACL_LINE_DEFAULT);
	/* the rules of mass.ini still apply to datagrams */
	q.dst = (struct sockaddr *)&d9;
	ck_assert_int_eq(acl_check_datagram(a, &q, NULL, &line), ACL_DENY);
	ck_assert_int_ne(line, ACL_LINE_BUILTIN);
	acl_free(a);
}
END_TEST

START_TEST(builtin_wildcard_covers_local_addresses)
{
	static const char *const rules[] = { "allow", "all", NULL };
	static const char *const listeners[] = { "0.0.0.0", "::", "127.0.0.1", NULL };
	static const uint16_t ports[] = { 1080, 1080, 0 };
	static const char *const local[] = { "192.0.2.10", "2001:db8::10", NULL };
	struct acl *a = compile_self(rules, listeners, ports, local);

	ck_assert_msg(a != NULL, "%s", err);
	/* a listener not bound (port 0) protects nothing */
	ck_assert_uint_eq(acl_builtin_count(a), 2);
	ck_assert_uint_eq(acl_rule_count(a), 3);
	ck_assert_int_eq(check(a, "10.0.0.1", "192.0.2.10", 1080, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "::ffff:192.0.2.10", 1080, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "2001:db8::10", 1080, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "127.8.9.10", 1080, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "0.0.0.0", 1080, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "0.1.2.3", 1080, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "::", 1080, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "::1", 1080, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "192.0.2.11", 1080, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "10.0.0.1", "192.0.2.10", 1081, NULL), ACL_ALLOW);
	acl_free(a);
}
END_TEST

/* Listeners that appear after compiling (a plugin's) join the built-in rules live. */
START_TEST(live_listeners)
{
	static const char *const rules[] = { "allow", "all", NULL };
	static const char *const none[] = { NULL };
	static const char *const local[] = { "192.0.2.10", NULL };
	static struct acl_live live;
	struct sockaddr_storage l[1], loc[1], wild = addr("0.0.0.0", 9100);
	struct sockaddr_storage one = addr("127.0.0.1", 9200);
	struct acl_self self = { l, 0, loc, 1, &live };
	struct acl *a;
	int line;

	(void)none;
	loc[0] = addr(local[0], 0);
	setup_rules(rules);
	a = acl_compile(&cfg, &self, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check(a, "10.0.0.1", "192.0.2.10", 9100, NULL), ACL_ALLOW);
	ck_assert_int_eq(acl_live_listener_add(&live, (struct sockaddr *)&wild), 0);
	ck_assert_int_eq(acl_live_listener_add(&live, (struct sockaddr *)&one), 0);
	{
		struct sockaddr_storage s = addr("10.0.0.1", 1), d = addr("192.0.2.10", 9100);

		ck_assert_int_eq(check_addr(a, &s, &d, &line), ACL_DENY);
		ck_assert_int_eq(line, ACL_LINE_BUILTIN);
	}
	ck_assert_int_eq(check(a, "10.0.0.1", "127.0.0.1", 9100, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "::ffff:127.0.0.1", 9200, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "0.0.0.0", 9200, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "10.0.0.1", "127.0.0.2", 9200, NULL), ACL_ALLOW);
	ck_assert_int_eq(check_name(a, "0.0.0.0", 9100), ACL_DENY);
	acl_live_listener_del(&live, (struct sockaddr *)&wild);
	ck_assert_int_eq(check(a, "10.0.0.1", "192.0.2.10", 9100, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "10.0.0.1", "127.0.0.1", 9200, NULL), ACL_DENY);
	acl_live_listener_del(&live, (struct sockaddr *)&one);
	ck_assert_uint_eq(live.nlisteners, 0);
	acl_free(a);
}
END_TEST

START_TEST(unspecified_counts_as_loopback)
{
	static const char *const rules[] = {
		"deny", "dest 127.0.0.0/8",
		"deny", "dest ::1",
		NULL
	};
	static const char *const forms[] = {
		"0.0.0.0", "0.1.2.3", "::", "::ffff:0.0.0.0", "::ffff:127.0.0.1", "127.1.2.3", "::1",
	};
	struct acl *a = compile(rules);

	ck_assert_msg(a != NULL, "%s", err);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		ck_assert_msg(check(a, "192.0.2.1", forms[i], 80, NULL) == ACL_DENY, "%s", forms[i]);
		/* the name "0.0.0.0" and the like: before resolution and after */
		ck_assert_msg(check_name(a, forms[i], 80) == ACL_DENY, "name %s", forms[i]);
		ck_assert_msg(check(a, "192.0.2.1", forms[i], 80, forms[i]) == ACL_DENY, "%s", forms[i]);
	}
	ck_assert_int_eq(check(a, "192.0.2.1", "1.0.0.0", 80, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "192.0.2.1", "::2", 80, NULL), ACL_ALLOW);
	acl_free(a);
}
END_TEST

START_TEST(numeric_names_judged_before_resolution)
{
	static const char *const rules[] = {
		"deny", "dest 10.0.0.0/8",
		"allow", "dest-host 10.1.2.3",
		NULL
	};
	struct acl *a = compile(rules);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check_name(a, "10.1.2.3", 80), ACL_DENY);
	ck_assert_int_eq(check_name(a, "::ffff:10.1.2.3", 80), ACL_DENY);
	ck_assert_int_eq(check_name(a, "11.1.2.3", 80), ACL_ALLOW);
	/* not a strict numeric form (nor with a final dot): judged after resolution */
	ck_assert_int_eq(check_name(a, "10.1", 80), ACL_ALLOW);
	ck_assert_int_eq(check_name(a, "10.1.2.3.", 80), ACL_ALLOW);
	ck_assert_int_eq(check(a, "192.0.2.1", "10.1.2.3", 80, "10.1.2.3."), ACL_DENY);
	ck_assert_int_eq(check(a, "192.0.2.1", "10.0.0.1", 80, "10.1"), ACL_DENY);
	acl_free(a);
}
END_TEST

START_TEST(dest_local)
{
	static const char *const rules[] = {
		"allow", "dest 127.0.0.1 port 8000",
		"deny", "dest local",
		NULL
	};
	static const char *const none[] = { NULL };
	static const uint16_t ports[] = { 0 };
	static const char *const local[] = { "192.0.2.10", "fe80::1", NULL };
	struct acl *a = compile_self(rules, none, ports, local);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check(a, "192.0.2.1", "127.0.0.1", 8000, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "192.0.2.1", "0.0.0.0", 8000, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "192.0.2.1", "127.0.0.1", 8001, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "192.0.2.1", "127.9.9.9", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "192.0.2.1", "192.0.2.10", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "192.0.2.1", "::ffff:192.0.2.10", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "192.0.2.1", "fe80::1", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "192.0.2.1", "::", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "192.0.2.1", "192.0.2.11", 80, NULL), ACL_ALLOW);
	ck_assert_int_eq(check_name(a, "example.com", 80), ACL_ALLOW);
	acl_free(a);
	/* without the host's list, loopback and unspecified are still local */
	a = compile(rules);
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check(a, "192.0.2.1", "::1", 80, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "192.0.2.1", "192.0.2.10", 80, NULL), ACL_ALLOW);
	acl_free(a);
}
END_TEST

START_TEST(client_alone_stage)
{
	static const char *const rules[] = {
		"deny", "src 192.0.2.0/24",
		"deny", "src 198.51.100.0/24 port 53",
		"allow", "dest-host .example.com",
		"deny", "all",
		NULL
	};
	struct acl *a = compile(rules);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check_client(a, "192.0.2.9"), ACL_DENY);
	/* undecided: the port and the name are not known yet */
	ck_assert_int_eq(check_client(a, "198.51.100.9"), ACL_ALLOW);
	ck_assert_int_eq(check_client(a, "203.0.113.9"), ACL_ALLOW);
	ck_assert_int_eq(check(a, "198.51.100.9", "10.0.0.1", 53, NULL), ACL_DENY);
	ck_assert_int_eq(check(a, "203.0.113.9", "10.0.0.1", 80, "www.example.com"), ACL_ALLOW);
	ck_assert_int_eq(check(a, "203.0.113.9", "10.0.0.1", 80, NULL), ACL_DENY);
	acl_free(a);
}
END_TEST

/* Built-in deny rules, undecidable before the address is known, hide no later deny. */
START_TEST(builtin_rules_hide_no_src_deny)
{
	static const char *const rules[] = { "deny", "src 192.0.2.0/24", NULL };
	static const char *const allow_first[] = {
		"allow", "dest 10.0.0.0/8", "deny", "src 192.0.2.0/24", NULL
	};
	static const char *const listeners[] = { "0.0.0.0", NULL };
	static const uint16_t ports[] = { 1080 };
	static const char *const none[] = { NULL };
	struct acl *a = compile_self(rules, listeners, ports, none);

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check_client(a, "192.0.2.9"), ACL_DENY);
	ck_assert_int_eq(check_name(a, "example.com", 80), ACL_DENY);
	ck_assert_int_eq(check_client(a, "198.51.100.9"), ACL_ALLOW);
	acl_free(a);
	/* an allow that may match later keeps the answer open */
	a = compile_self(allow_first, listeners, ports, none);
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(check_client(a, "192.0.2.9"), ACL_ALLOW);
	ck_assert_int_eq(check(a, "192.0.2.9", "10.0.0.1", 80, NULL), ACL_ALLOW);
	ck_assert_int_eq(check(a, "192.0.2.9", "11.0.0.1", 80, NULL), ACL_DENY);
	acl_free(a);
}
END_TEST

START_TEST(bad_rules_name_file_and_line)
{
	static const char *const bad[][2] = {
		{ "permit", "all" },
		{ "allow", "" },
		{ "allow", "dest" },
		{ "allow", "dest 10.0.0.1/8" },
		{ "allow", "dest 10.0.0.0/33" },
		{ "allow", "dest ::/129" },
		{ "allow", "dest 10.0.0.0/" },
		{ "allow", "dest 10.0.0.0/x" },
		{ "allow", "dest example.com" },
		{ "allow", "port 0" },
		{ "allow", "port 65536" },
		{ "allow", "port 20-10" },
		{ "allow", "port 1-" },
		{ "allow", "port -5" },
		{ "allow", "dest-host a..b" },
		{ "allow", "dest-host ." },
		{ "allow", "dest-host a/b" },
		{ "allow", "all port 80" },
		{ "allow", "port 80 port 81" },
		{ "allow", "when 80" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *rules[] = { bad[i][0], bad[i][1], NULL };
		struct acl *a;

		setup_rules(rules);
		cfg.path = "/etc/mass.ini";
		a = acl_compile(&cfg, NULL, err, sizeof(err));
		ck_assert_msg(a == NULL, "accepted %s = %s", bad[i][0], bad[i][1]);
		ck_assert_msg(strncmp(err, "/etc/mass.ini:10: [acl] ", 24) == 0, "%s", err);
	}
}
END_TEST

START_TEST(user_and_class_conditions)
{
	static const char *rules[] = {
		"deny", "user mallory", "allow", "class gold port 22", "deny", "port 22",
		"deny", "class default dest 10.0.0.0/8", "allow", "user bob class silver", "deny", "all",
		"allow", "user", NULL,
	};
	static const char *const long_class[] = {
		"allow", "class 0123456789012345678901234567890123", NULL };
	static const char *const unknown[] = { "allow", "colour red", NULL };
	struct sockaddr_storage s = addr("192.0.2.1", 40000), d = addr("10.1.2.3", 22);
	struct acl_request q = { (struct sockaddr *)&s, NULL, (struct sockaddr *)&d, 0 };
	struct acl_who mallory = { "mallory", "gold" }, alice = { "alice", "gold" },
		       bob = { "bob", "silver" }, carol = { "carol", "silver" }, anon = { NULL, NULL };
	struct acl *a;
	int line;

	ck_assert_ptr_null(compile(rules));       /* "user" without its value */
	ck_assert_ptr_nonnull(strstr(err, "without its value"));
	ck_assert_ptr_null(compile(long_class));
	ck_assert_ptr_nonnull(strstr(err, "a class name is 1..32"));
	ck_assert_ptr_null(compile(unknown));
	ck_assert_ptr_nonnull(strstr(err, "user, class"));

	rules[12] = NULL;                         /* without the bad last rule */
	a = compile(rules);
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(acl_check_as(a, &q, &mallory, &line), ACL_DENY);
	ck_assert_int_eq(line, 10);
	ck_assert_int_eq(acl_check_as(a, &q, &alice, &line), ACL_ALLOW);
	ck_assert_int_eq(line, 11);
	ck_assert_int_eq(acl_check_as(a, &q, &carol, &line), ACL_DENY);   /* port 22 */
	ck_assert_int_eq(line, 12);
	d = addr("10.1.2.3", 80);
	ck_assert_int_eq(acl_check_as(a, &q, &anon, &line), ACL_DENY);    /* default class */
	ck_assert_int_eq(line, 13);
	ck_assert_int_eq(acl_check(a, &q, &line), ACL_DENY);               /* the same: no who */
	ck_assert_int_eq(line, 13);
	ck_assert_int_eq(acl_check_as(a, &q, &bob, &line), ACL_ALLOW);
	ck_assert_int_eq(line, 14);
	ck_assert_int_eq(acl_check_as(a, &q, &carol, &line), ACL_DENY);
	ck_assert_int_eq(line, 15);
	/* before any destination is known, a user rule decides what it can */
	q.dst = NULL;
	ck_assert_int_eq(acl_check_as(a, &q, &mallory, &line), ACL_DENY);
	acl_free(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acl");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, empty_acl_allows);
	tcase_add_test(tc, first_match_wins_with_final_deny);
	tcase_add_test(tc, host_suffixes);
	tcase_add_test(tc, source_rules);
	tcase_add_test(tc, mapped_ipv4_is_matched_as_ipv4);
	tcase_add_test(tc, prefix_edges);
	tcase_add_test(tc, builtin_protects_listeners);
	tcase_add_test(tc, builtin_rules_spare_datagrams);
	tcase_add_test(tc, builtin_wildcard_covers_local_addresses);
	tcase_add_test(tc, unspecified_counts_as_loopback);
	tcase_add_test(tc, numeric_names_judged_before_resolution);
	tcase_add_test(tc, dest_local);
	tcase_add_test(tc, client_alone_stage);
	tcase_add_test(tc, builtin_rules_hide_no_src_deny);
	tcase_add_test(tc, bad_rules_name_file_and_line);
	tcase_add_test(tc, live_listeners);
	tcase_add_test(tc, user_and_class_conditions);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
