/*
 * Unit tests for the resolver, against a real DNS responder on a loopback
 * UDP port driven by the same event loop: A and AAAA answers, NXDOMAIN, a
 * name never answered, cancellation, destruction and the hosts file.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "core/loop.h"
#include "socks/resolve.h"

/* Upper bound on any wait here: a hang guard, not a timing check. */
#define TEST_GUARD_MS 20000
#define TEST_TYPE_A 1
#define TEST_TYPE_AAAA 28

/* --- a tiny authoritative DNS responder --- */

struct stub_rr {
	const char *name;
	int type;
	const char *addr;
};

static const struct stub_rr stub_table[] = {
	{ "two.test", TEST_TYPE_A, "192.0.2.1" },
	{ "two.test", TEST_TYPE_A, "192.0.2.2" },
	{ "six.test", TEST_TYPE_AAAA, "2001:db8::6" },
};

/* Never answered: lookups of it can only time out. */
static const char stub_silent[] = "silent.test";

struct stub {
	int fd;
	uint16_t port;
	int queries;          /* datagrams received */
	int silent_queries;   /* of which for stub_silent */
};

/* Reads the question name at buf[12]; returns the offset after QCLASS or -1. */
static int stub_question(const unsigned char *buf, size_t len, char *name,
			 size_t namelen, int *qtype)
{
	size_t pos = 12, out = 0;

	for (;;) {
		size_t lab;

		if (pos >= len)
			return -1;
		lab = buf[pos++];
		if (lab == 0)
			break;
		if (lab > 63 || pos + lab > len || out + lab + 2 > namelen)
			return -1;
		if (out > 0)
			name[out++] = '.';
		for (size_t i = 0; i < lab; i++)
			name[out++] = (char)tolower(buf[pos + i]);
		pos += lab;
	}
	name[out] = '\0';
	if (pos + 4 > len)
		return -1;
	*qtype = buf[pos] << 8 | buf[pos + 1];
	return (int)(pos + 4);
}

static size_t stub_put16(unsigned char *p, size_t at, unsigned v)
{
	p[at] = (unsigned char)(v >> 8);
	p[at + 1] = (unsigned char)v;
	return at + 2;
}

/* Appends the answers for name/qtype; returns the new length. */
static size_t stub_answers(unsigned char *out, size_t at, const char *name,
			   int qtype, int *count, int *known)
{
	for (size_t i = 0; i < sizeof(stub_table) / sizeof(stub_table[0]); i++) {
		const struct stub_rr *rr = &stub_table[i];
		unsigned char addr[16];
		size_t alen = rr->type == TEST_TYPE_A ? 4 : 16;

		if (strcmp(rr->name, name) != 0)
			continue;
		*known = 1;
		if (rr->type != qtype)
			continue;
		ck_assert_int_eq(inet_pton(rr->type == TEST_TYPE_A ? AF_INET : AF_INET6,
					   rr->addr, addr), 1);
		at = stub_put16(out, at, 0xc00c);   /* name: the question's */
		at = stub_put16(out, at, (unsigned)qtype);
		at = stub_put16(out, at, 1);
		at = stub_put16(out, at, 0);
		at = stub_put16(out, at, 60);
		at = stub_put16(out, at, (unsigned)alen);
		memcpy(out + at, addr, alen);
		at += alen;
		(*count)++;
	}
	return at;
}

static void stub_on_read(struct loop *loop, int fd, void *data, int events)
{
	struct stub *s = data;
	unsigned char in[512], out[1024];
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char name[256];
	int qtype, qend, count = 0, known = 0;
	ssize_t n;
	size_t len;

	(void)loop;
	(void)events;
	n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&peer, &plen);
	if (n < 12)
		return;
	s->queries++;
	qend = stub_question(in, (size_t)n, name, sizeof(name), &qtype);
	if (qend < 0)
		return;
	if (strcmp(name, stub_silent) == 0) {
		s->silent_queries++;
		return;
	}
	memcpy(out, in, (size_t)qend);
	len = stub_answers(out, (size_t)qend, name, qtype, &count, &known);
	out[2] = 0x80 | (in[2] & 0x01);            /* QR, RD copied */
	out[3] = 0x80 | (known ? 0 : 3);           /* RA, NOERROR or NXDOMAIN */
	stub_put16(out, 4, 1);
	stub_put16(out, 6, (unsigned)count);
	stub_put16(out, 8, 0);
	stub_put16(out, 10, 0);
	sendto(fd, out, len, 0, (struct sockaddr *)&peer, plen);
}

static void stub_open(struct loop *loop, struct stub *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
	ck_assert_int_eq(loop_add(loop, s->fd, LOOP_READ, stub_on_read, s), 0);
}

static void stub_close(struct loop *loop, struct stub *s)
{
	loop_remove(loop, s->fd);
	close(s->fd);
}

/* --- fixture: a loop, the responder and a resolver asking only it --- */

struct env {
	struct loop *loop;
	struct stub stub;
	struct resolver *r;
};

static void env_open(struct env *e)
{
	char err[256], servers[64];

	e->loop = loop_create(1024, err, sizeof(err));
	ck_assert_msg(e->loop != NULL, "%s", err);
	stub_open(e->loop, &e->stub);
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", (unsigned)e->stub.port);
	e->r = resolver_create(e->loop, servers, err, sizeof(err));
	ck_assert_msg(e->r != NULL, "%s", err);
}

static void env_close(struct env *e)
{
	resolver_destroy(e->r);
	stub_close(e->loop, &e->stub);
	loop_destroy(e->loop);
}

/* What one callback saw. */
struct result {
	int calls;
	enum resolve_status status;
	size_t count;
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	struct resolver *destroy;   /* destroyed from the callback when set */
};

static void on_result(void *data, enum resolve_status status,
		      const struct sockaddr_storage *addrs, size_t count)
{
	struct result *res = data;

	res->calls++;
	res->status = status;
	res->count = count;
	ck_assert_uint_le(count, RESOLVE_MAX_ADDRS);
	memcpy(res->addrs, addrs, count * sizeof(*addrs));
	if (res->destroy != NULL)
		resolver_destroy(res->destroy);
}

static void run_until(struct loop *loop, const int *flag)
{
	uint64_t start = loop_now_ms(loop);

	while (!*flag) {
		ck_assert_int_ge(loop_run_once(loop, 50), 0);
		ck_assert_msg(loop_now_ms(loop) - start < TEST_GUARD_MS, "hang");
	}
}

static void run_rounds(struct loop *loop, int n)
{
	for (int i = 0; i < n; i++)
		loop_run_once(loop, 10);
}

static void assert_addr(const struct sockaddr_storage *ss, const char *ip,
			uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		ck_assert_uint_eq(ntohs(sin->sin_port), port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		ck_assert_int_eq(ss->ss_family, AF_INET6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		ck_assert_uint_eq(ntohs(sin6->sin6_port), port);
	}
	ck_assert_str_eq(buf, ip);
}

START_TEST(two_a_records_in_order_with_port)
{
	struct env e;
	struct result res = { 0 };

	env_open(&e);
	ck_assert_ptr_nonnull(resolve_start(e.r, "two.test", 8080, on_result, &res));
	ck_assert_int_eq(res.calls, 0);
	run_until(e.loop, &res.calls);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_eq(res.count, 2);
	assert_addr(&res.addrs[0], "192.0.2.1", 8080);
	assert_addr(&res.addrs[1], "192.0.2.2", 8080);
	run_rounds(e.loop, 3);
	ck_assert_int_eq(res.calls, 1);
	env_close(&e);
}
END_TEST

START_TEST(aaaa_only_name)
{
	struct env e;
	struct result res = { 0 };

	env_open(&e);
	ck_assert_ptr_nonnull(resolve_start(e.r, "six.test", 443, on_result, &res));
	run_until(e.loop, &res.calls);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_eq(res.count, 1);
	assert_addr(&res.addrs[0], "2001:db8::6", 443);
	env_close(&e);
}
END_TEST

START_TEST(nxdomain_is_not_found)
{
	struct env e;
	struct result res = { 0 };

	env_open(&e);
	ck_assert_ptr_nonnull(resolve_start(e.r, "nothing.test", 80, on_result, &res));
	run_until(e.loop, &res.calls);
	ck_assert_int_eq(res.status, RESOLVE_NOT_FOUND);
	ck_assert_uint_eq(res.count, 0);
	ck_assert_int_gt(e.stub.queries, 0);
	env_close(&e);
}
END_TEST

START_TEST(no_answer_fails_after_retries)
{
	struct env e;
	struct result res = { 0 };

	env_open(&e);
	ck_assert_ptr_nonnull(resolve_start(e.r, stub_silent, 80, on_result, &res));
	run_until(e.loop, &res.calls);
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	ck_assert_uint_eq(res.count, 0);
	/* A and AAAA, each sent again after the first timeout */
	ck_assert_int_ge(e.stub.silent_queries, 4);
	env_close(&e);
}
END_TEST

START_TEST(cancelled_query_never_calls_back)
{
	struct env e;
	struct result cancelled = { 0 }, other = { 0 };
	struct resolve_query *q;

	env_open(&e);
	q = resolve_start(e.r, "two.test", 80, on_result, &cancelled);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_nonnull(resolve_start(e.r, "two.test", 80, on_result, &other));
	resolve_cancel(q);
	/* both questions are answered in order: the first is done before this */
	run_until(e.loop, &other.calls);
	run_rounds(e.loop, 5);
	ck_assert_int_eq(cancelled.calls, 0);
	ck_assert_int_eq(other.status, RESOLVE_OK);
	env_close(&e);
}
END_TEST

START_TEST(destroy_with_pending_queries_never_calls_back)
{
	struct env e;
	struct result res[3] = { { 0 } };

	env_open(&e);
	ck_assert_ptr_nonnull(resolve_start(e.r, stub_silent, 80, on_result, &res[0]));
	ck_assert_ptr_nonnull(resolve_start(e.r, "nothing.test", 80, on_result, &res[1]));
	/* completed at once from the hosts file, not yet delivered */
	ck_assert_ptr_nonnull(resolve_start(e.r, "localhost", 80, on_result, &res[2]));
	resolver_destroy(e.r);
	e.r = NULL;
	run_rounds(e.loop, 10);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(res[i].calls, 0);
	env_close(&e);
}
END_TEST

START_TEST(destroy_from_a_callback_silences_the_rest)
{
	struct env e;
	struct result first = { 0 }, pending = { 0 };

	env_open(&e);
	first.destroy = e.r;
	ck_assert_ptr_nonnull(resolve_start(e.r, stub_silent, 80, on_result, &pending));
	ck_assert_ptr_nonnull(resolve_start(e.r, "two.test", 80, on_result, &first));
	run_until(e.loop, &first.calls);
	e.r = NULL;
	run_rounds(e.loop, 10);
	ck_assert_int_eq(first.status, RESOLVE_OK);
	ck_assert_int_eq(pending.calls, 0);
	env_close(&e);
}
END_TEST

START_TEST(localhost_comes_from_the_hosts_file)
{
	struct env e;
	struct result res = { 0 };

	env_open(&e);
	ck_assert_ptr_nonnull(resolve_start(e.r, "localhost", 1080, on_result, &res));
	ck_assert_int_eq(res.calls, 0);   /* never from inside resolve_start */
	run_until(e.loop, &res.calls);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_ge(res.count, 1);
	for (size_t i = 0; i < res.count; i++) {
		const struct sockaddr_storage *ss = &res.addrs[i];

		if (ss->ss_family == AF_INET)
			assert_addr(ss, "127.0.0.1", 1080);
		else
			assert_addr(ss, "::1", 1080);
	}
	ck_assert_int_eq(e.stub.queries, 0);
	env_close(&e);
}
END_TEST

START_TEST(cancel_before_a_synchronous_result_is_delivered)
{
	struct env e;
	struct result res = { 0 };
	struct resolve_query *q;

	env_open(&e);
	q = resolve_start(e.r, "192.0.2.9", 25, on_result, &res);
	ck_assert_ptr_nonnull(q);
	resolve_cancel(q);
	run_rounds(e.loop, 5);
	ck_assert_int_eq(res.calls, 0);
	ck_assert_ptr_nonnull(resolve_start(e.r, "192.0.2.9", 25, on_result, &res));
	run_until(e.loop, &res.calls);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_eq(res.count, 1);
	assert_addr(&res.addrs[0], "192.0.2.9", 25);
	env_close(&e);
}
END_TEST

START_TEST(bad_server_list_is_refused)
{
	char err[256] = "";
	struct loop *loop = loop_create(64, err, sizeof(err));

	ck_assert_ptr_nonnull(loop);
	ck_assert_ptr_null(resolver_create(loop, "not a server list", err, sizeof(err)));
	ck_assert_msg(strstr(err, "not a server list") != NULL, "%s", err);
	loop_destroy(loop);
}
END_TEST

START_TEST(system_configuration_resolves_localhost)
{
	char err[256] = "";
	struct loop *loop = loop_create(64, err, sizeof(err));
	struct resolver *r;
	struct result res = { 0 };

	ck_assert_ptr_nonnull(loop);
	r = resolver_create(loop, NULL, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_ptr_nonnull(resolve_start(r, "localhost", 7, on_result, &res));
	run_until(loop, &res.calls);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_ge(res.count, 1);
	resolver_destroy(r);
	loop_destroy(loop);
}
END_TEST

/* --- the loop keeps turning while a lookup waits on a dead server --- */

struct ticker {
	struct loop_timer timer;
	const struct result *res;
	int ticks_while_pending;
};

static void ticker_fire(struct loop *loop, struct loop_timer *t)
{
	struct ticker *tk = (struct ticker *)t;

	if (tk->res->calls == 0) {
		tk->ticks_while_pending++;
		loop_timer_start(loop, t, 20, ticker_fire);
	}
}

START_TEST(loop_timers_run_while_a_lookup_waits)
{
	struct env e;
	struct result res = { 0 };
	struct ticker tk = { .res = &res };

	env_open(&e);
	loop_timer_start(e.loop, &tk.timer, 20, ticker_fire);
	ck_assert_ptr_nonnull(resolve_start(e.r, stub_silent, 80, on_result, &res));
	run_until(e.loop, &res.calls);
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	/*
	 * The lookup spans seconds of retransmissions; a blocking one would let
	 * the 20 ms timer fire at most once before the result.
	 */
	ck_assert_int_ge(tk.ticks_while_pending, 10);
	loop_timer_stop(e.loop, &tk.timer);
	env_close(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("stub");

	/* lookups of the silent name take a few seconds by design */
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, two_a_records_in_order_with_port);
	tcase_add_test(tc, aaaa_only_name);
	tcase_add_test(tc, nxdomain_is_not_found);
	tcase_add_test(tc, no_answer_fails_after_retries);
	tcase_add_test(tc, cancelled_query_never_calls_back);
	tcase_add_test(tc, destroy_with_pending_queries_never_calls_back);
	tcase_add_test(tc, destroy_from_a_callback_silences_the_rest);
	tcase_add_test(tc, localhost_comes_from_the_hosts_file);
	tcase_add_test(tc, cancel_before_a_synchronous_result_is_delivered);
	tcase_add_test(tc, bad_server_list_is_refused);
	tcase_add_test(tc, system_configuration_resolves_localhost);
	tcase_add_test(tc, loop_timers_run_while_a_lookup_waits);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
