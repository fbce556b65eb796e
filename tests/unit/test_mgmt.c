/*
 * Unit tests for the management server (src/mgmt.c) with the bundled
 * plugins: the server runs on a loop in this process on 127.0.0.1, an
 * ephemeral port, and a client thread talks to it over real TCP.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "auth/verify.h"
#include "check_main.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "mass/mgmt.h"
#include "mass/plugins.h"
#include "mass/host.h"
#include "mass/host_services.h"
#include "mass/owner.h"
#include "runtime.h"

#define MAX_CONNS 4
#define LOGIN "\x01\x01\x02" "\x01\x05" "admin" "\x02" "pw"
#define LOGIN_LEN 13
#define LOGIN_OK "\x01\x02\x01\x00"

static struct loop *loop;
/* the snapshot and context mgmt and host serve from; the test fills them by hand */
static struct runtime rt;
static struct runtime_ctx ctx;
static struct mgmt_server *srv;
static uint16_t port;

struct exchange {
	const uint8_t *out;
	size_t out_len;
	bool bytewise;          /* send one octet per segment */
	uint8_t in[1024];
	size_t in_len;
	bool eof;               /* the server closed */
};

static int client_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 20 };  /* a hang fails the test, never a pass */
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Reads until EOF (or the safety timeout), appending to x->in. */
static void client_read_all(int fd, struct exchange *x)
{
	ssize_t n;

	for (;;) {
		n = recv(fd, x->in + x->in_len, sizeof(x->in) - x->in_len, 0);
		if (n <= 0) {
			x->eof = n == 0;
			return;
		}
		x->in_len += (size_t)n;
	}
}

/* Reads exactly len octets. */
static void client_read_n(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(fd, buf + got, len - got, 0);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
}

static void *client_exchange(void *arg)
{
	struct exchange *x = arg;
	int fd = client_connect();
	size_t i;

	if (x->bytewise) {
		for (i = 0; i < x->out_len; i++)
			ck_assert_int_eq(send(fd, x->out + i, 1, MSG_NOSIGNAL), 1);
	} else if (x->out_len > 0) {
		ck_assert_int_eq(send(fd, x->out, x->out_len, MSG_NOSIGNAL), (ssize_t)x->out_len);
	}
	client_read_all(fd, x);
	close(fd);
	return NULL;
}

static atomic_int client_done;
static void *(*client_fn)(void *);

static void *client_main(void *arg)
{
	client_fn(arg);
	atomic_store(&client_done, 1);
	return NULL;
}

/* Runs fn(arg) on a client thread while the loop serves. */
static void run_client(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	client_fn = fn;
	atomic_store(&client_done, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, client_main, arg), 0);
	while (!atomic_load(&client_done))
		loop_run_once(loop, 20);
	pthread_join(t, NULL);
	/* let the server finish closing its side */
	loop_run_once(loop, 0);
}

/* One connection: send `out`, collect everything until the server closes. */
static struct exchange *talk(const void *out, size_t len)
{
	static struct exchange x;

	memset(&x, 0, sizeof(x));
	x.out = out;
	x.out_len = len;
	run_client(client_exchange, &x);
	return &x;
}

static void assert_reply(const struct exchange *x, const void *want, size_t len)
{
	ck_assert_msg(x->eof, "the server did not close");
	ck_assert_uint_eq(x->in_len, len);
	ck_assert_msg(memcmp(x->in, want, len) == 0, "got %02x %02x %02x %02x", x->in[0],
		      len > 1 ? x->in[1] : 0, len > 2 ? x->in[2] : 0, len > 3 ? x->in[3] : 0);
}

/* Logs in as admin, sends one request, expects `want` after the login replies. */
static void assert_request(const void *req, size_t req_len, const void *want, size_t want_len)
{
	uint8_t msg[600], expect[600];
	struct exchange *x;

	memcpy(msg, LOGIN, LOGIN_LEN);
	memcpy(msg + LOGIN_LEN, req, req_len);
	memcpy(expect, LOGIN_OK, 4);
	memcpy(expect + 4, want, want_len);
	x = talk(msg, LOGIN_LEN + req_len);
	assert_reply(x, expect, 4 + want_len);
}

static void setup(void)
{
	static const char *const names[] = { NULL, "users", "metrics", "metrics", "metrics",
		"metrics", "metrics", "metrics", "metrics", "metrics", "users", "users",
		"auth", "dissectors" };
	struct plugins_index_line lines[14];
	struct plugins_spec spec = { .file = "test.ini", .dir = PLUGIN_BUILD_DIR,
				     .indexes = lines };
	char err[256];
	unsigned i;

	log_threshold = LOG_ERROR;
	memset(&rt, 0, sizeof(rt));
	memset(&ctx, 0, sizeof(ctx));
	ctx.rt = &rt;
	host_set_context(&ctx.socks);
	metrics_reset(&ctx.metrics);
	ctx.socks.metrics = &ctx.metrics;
	loop = loop_create(1024, err, sizeof(err));
	ck_assert_ptr_nonnull(loop);
	ctx.socks.loop = loop;
	ctx.socks.verify = verify_pool_create(loop, 1, 64, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(ctx.socks.verify);
	rt.mgmt.auth = true;
	rt.mgmt.timeout = 1;
	rt.mgmt.max_connections = MAX_CONNS;
	rt.mgmt.admins = &rt.admins;
	ctx.socks.live.auth = true;
	ctx.socks.live.dissectors = true;
	ck_assert_int_eq(users_init(&rt.admins, 255, NULL), 0);
	ck_assert_int_eq(users_add(&rt.admins, "admin", 5, "pw", 2, false, err, sizeof(err)),
			 USERS_OK);
	ck_assert_int_eq(users_init(&ctx.socks.live.users, 3, NULL), 0);
	ck_assert_int_eq(users_add(&ctx.socks.live.users, "alice", 5, "wonderland", 10, false, err,
				   sizeof(err)), USERS_OK);
	ck_assert_int_eq(users_add(&ctx.socks.live.users, "bob", 3, "builder", 7, false, err,
				   sizeof(err)), USERS_OK);
	for (i = 1; i <= 0x0D; i++) {
		lines[i - 1].index = i;
		lines[i - 1].plugin = names[i];
		lines[i - 1].line = i;
	}
	spec.nindexes = 13;
	rt.plugins = plugins_load_spec(&spec, PLUGINS_START, err, sizeof(err));
	ck_assert_ptr_nonnull(rt.plugins);
	ck_assert_msg(plugins_error_count(rt.plugins) == 0, "%s",
		      plugins_error(rt.plugins, 0));
	rt.mgmt.plugins = rt.plugins;
	ctx.mgmt = (struct mgmt_env){ loop, ctx.socks.verify, &rt.mgmt };
	srv = mgmt_start(&ctx.mgmt, (char *const[]){ (char *)"127.0.0.1" }, 1, 0, err, sizeof(err));
	ck_assert_msg(srv != NULL, "%s", err);
	ck_assert_uint_eq(mgmt_listener_count(srv), 1);
	port = mgmt_port(srv, 0);
	ck_assert_uint_ne(port, 0);
}

static void teardown(void)
{
	mgmt_stop(srv);
	ck_assert_uint_eq(mgmt_connection_count(srv), 0);
	mgmt_free(srv);
	srv = NULL;
	plugins_free(rt.plugins);
	rt.plugins = NULL;
	users_free(&ctx.socks.live.users);
	users_free(&rt.admins);
	verify_pool_destroy(ctx.socks.verify);
	loop_destroy(loop);
}

START_TEST(test_indexes)
{
	assert_request("\x00", 1, "\x00\x0E\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\x0B\x0C\x0D",
		       16);
}
END_TEST

START_TEST(test_users_list)
{
	assert_request("\x01", 1, "\x00\x02\x05" "alice" "\x03" "bob", 12);
}
END_TEST

START_TEST(test_counters)
{
	ctx.metrics.historic_connections = 258;
	ctx.metrics.concurrent_connections = 3;
	ctx.metrics.max_concurrent_connections = (1ull << 32) + 5;  /* wraps like Counter32 */
	ctx.metrics.read_bytes = 1000;
	ctx.metrics.read_calls = 3;
	ctx.metrics.auth_attempts = 7;
	ctx.metrics.connection_attempts = 0x01020304;
	ctx.metrics.write_bytes = 10;
	ctx.metrics.write_calls = 4;
	assert_request("\x02", 1, "\x00\x00\x00\x01\x02", 5);
	assert_request("\x03", 1, "\x00\x00\x00\x00\x03", 5);
	assert_request("\x04", 1, "\x00\x00\x00\x00\x05", 5);
	assert_request("\x05", 1, "\x00\x00\x00\x03\xE8", 5);
	assert_request("\x06", 1, "\x00\x00\x00\x00\x07", 5);
	assert_request("\x07", 1, "\x00\x01\x02\x03\x04", 5);
	assert_request("\x08", 1, "\x00\x00\x00\x01\x4D", 5);  /* 1000 / 3 */
	assert_request("\x09", 1, "\x00\x00\x00\x00\x02", 5);
}
END_TEST

/*
 * 0A hashes the password on a worker at nice 10: under a parallel make
 * check one yescrypt took over the 1 s deadline of setup(), and 0A was
 * answered 01. The tests that hash take a deadline no load reaches; the
 * others keep 1 s, which test_stalled_dropped and test_max_connections
 * wait out.
 */
#define HASHING_TIMEOUT 60

START_TEST(test_add_delete_user)
{
	rt.cfg.mgmt_timeout = HASHING_TIMEOUT;
	assert_request("\x0A\x05" "carol" "\x06" "secret", 14, "\x00", 1);
	ck_assert_int_ge(users_find(&ctx.socks.live.users, "carol", 5), 0);
	assert_request("\x0A\x05" "carol" "\x01" "x", 9, "\x01", 1);        /* exists */
	assert_request("\x0A\x04" "dave" "\x01" "x", 8, "\x03", 1);         /* max_users 3 */
	assert_request("\x0B\x05" "carol", 7, "\x00", 1);
	ck_assert_int_lt(users_find(&ctx.socks.live.users, "carol", 5), 0);
	assert_request("\x0B\x05" "carol", 7, "\x01", 1);                   /* no such user */
	assert_request("\x0A\x03" "a:b" "\x01" "x", 7, "\x01", 1);          /* ':' in a name */
	assert_request("\x0A\x00" "\x01" "x", 4, "\x01", 1);                /* empty name */
	ck_assert_uint_eq(ctx.socks.live.users.len, 2);
}
END_TEST

START_TEST(test_switches)
{
	assert_request("\x0C\x01", 2, "\x00", 1);
	ck_assert(!ctx.socks.live.auth);
	assert_request("\x0C\x00", 2, "\x00", 1);
	ck_assert(ctx.socks.live.auth);
	assert_request("\x0D\xFF", 2, "\x00", 1);
	ck_assert(!ctx.socks.live.dissectors);
	assert_request("\x0D\x00", 2, "\x00", 1);
	ck_assert(ctx.socks.live.dissectors);
}
END_TEST

START_TEST(test_unsupported)
{
	/* answered at once: the parameters of an unknown index are unknowable */
	assert_request("\x7F", 1, "\x02", 1);
	assert_request("\x0E", 1, "\x02", 1);
	assert_request("\xFF", 1, "\x02", 1);
}
END_TEST

START_TEST(test_bytewise)
{
	static const uint8_t msg[] = LOGIN "\x0A\x03" "eve" "\x02" "pw";
	static struct exchange x;

	rt.cfg.mgmt_timeout = HASHING_TIMEOUT;
	memset(&x, 0, sizeof(x));
	x.out = msg;
	x.out_len = sizeof(msg) - 1;
	x.bytewise = true;
	run_client(client_exchange, &x);
	assert_reply(&x, LOGIN_OK "\x00", 5);
	ck_assert_int_ge(users_find(&ctx.socks.live.users, "eve", 3), 0);
}
END_TEST

START_TEST(test_greeting_bad_version)
{
	assert_reply(talk("\x05\x01\x02", 3), "", 0);
}
END_TEST

START_TEST(test_greeting_no_methods)
{
	assert_reply(talk("\x01\x00", 2), "\x01\xFF", 2);
}
END_TEST

START_TEST(test_auth_on_without_userpass)
{
	assert_reply(talk("\x01\x01\x00", 3), "\x01\xFF", 2);
}
END_TEST

START_TEST(test_auth_off)
{
	rt.mgmt.auth = false;
	/* 00 offered: picked, straight to the request */
	assert_reply(talk("\x01\x02\x02\x00" "\x02", 5), "\x01\x00" "\x00\x00\x00\x00\x00", 7);
	/* 00 not offered: 02, and the credentials still count */
	assert_reply(talk("\x01\x01\x02" "\x01\x05" "admin" "\x01" "x" "\x00", 13),
		     "\x01\x02\x01\x01", 4);
	assert_reply(talk(LOGIN "\x03", LOGIN_LEN + 1), LOGIN_OK "\x00\x00\x00\x00\x00", 9);
}
END_TEST

START_TEST(test_bad_password)
{
	assert_reply(talk("\x01\x01\x02" "\x01\x05" "admin" "\x02" "px" "\x00", 14),
		     "\x01\x02\x01\x01", 4);
	assert_reply(talk("\x01\x01\x02" "\x01\x04" "root" "\x02" "pw" "\x00", 13),
		     "\x01\x02\x01\x01", 4);
}
END_TEST

START_TEST(test_no_admins)
{
	users_free(&rt.admins);
	ck_assert_int_eq(users_init(&rt.admins, 255, NULL), 0);
	assert_reply(talk(LOGIN "\x00", LOGIN_LEN + 1), "\x01\x02\x01\x01", 4);
}
END_TEST

START_TEST(test_auth_bad_version)
{
	assert_reply(talk("\x01\x01\x02" "\x05\x05" "admin" "\x02" "pw", 13), "\x01\x02", 2);
}
END_TEST

START_TEST(test_stalled_dropped)
{
	/* half a request: dropped after mgmt_timeout with no reply to it */
	assert_reply(talk(LOGIN "\x0A\x05" "car", LOGIN_LEN + 5), LOGIN_OK, 4);
	ck_assert_int_lt(users_find(&ctx.socks.live.users, "car", 3), 0);
	/* nothing at all */
	assert_reply(talk("", 0), "", 0);
}
END_TEST

static void *client_flood(void *arg)
{
	int fds[MAX_CONNS], fd, i;
	uint8_t reply[2];
	struct exchange *x = arg;

	for (i = 0; i < MAX_CONNS; i++) {
		/* each is accepted and greeted before the next */
		fds[i] = client_connect();
		ck_assert_int_eq(send(fds[i], "\x01\x01\x02", 3, MSG_NOSIGNAL), 3);
		client_read_n(fds[i], reply, 2);
		ck_assert(memcmp(reply, "\x01\x02", 2) == 0);
	}
	/* one more: closed at once (sending nothing, so the close is a FIN, not a reset) */
	fd = client_connect();
	client_read_all(fd, x);
	close(fd);
	for (i = 0; i < MAX_CONNS; i++)
		close(fds[i]);
	return NULL;
}

START_TEST(test_max_connections)
{
	static struct exchange x;

	memset(&x, 0, sizeof(x));
	run_client(client_flood, &x);
	ck_assert(x.eof);
	ck_assert_uint_eq(x.in_len, 0);
	/* the held connections go away and the server serves again */
	while (mgmt_connection_count(srv) > 0)
		loop_run_once(loop, 20);
	assert_request("\x06", 1, "\x00\x00\x00\x00\x00", 5);
}
END_TEST

/* "secret" under scrypt: a worker's ~150 ms, long enough to keep it busy */
static const char slow_hash[] =
	"$7$CU..../....0.9isDeL7dGl0oBsyHgk80$K2Z/EGdoRW3.1FBMz5uS4yfAgox7kPoWKQ1ZNBIv/L1";
#define SLOW_LOGIN "\x01\x01\x02" "\x01\x04" "slow" "\x06" "secret"

/* Three logins at once against a queue of one: the third is told busy at once. */
static void *client_busy(void *arg)
{
	uint8_t *got = arg, rep[4];
	int fd[3];

	for (int i = 0; i < 3; i++) {
		fd[i] = client_connect();
		ck_assert_int_eq(send(fd[i], SLOW_LOGIN, 16, MSG_NOSIGNAL), 16);
		usleep(30000);  /* the first is with the worker, the second queued */
	}
	client_read_n(fd[2], rep, 4);
	memcpy(got, rep, 4);
	for (int i = 0; i < 2; i++) {
		client_read_n(fd[i], rep, 4);
		ck_assert(memcmp(rep, LOGIN_OK, 4) == 0);
	}
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	return NULL;
}

/*
 * A full verify queue is "busy" (login status 02), not a wrong password
 * (01): answered at once, and no failure is counted against the source.
 */
START_TEST(test_busy_is_not_a_wrong_password)
{
	char err[256];
	struct verify_pool *big = ctx.socks.verify;
	uint8_t got[4];
	struct timeval t0, t1;
	struct exchange *x;

	ctx.socks.verify = verify_pool_create(loop, 1, 1, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(ctx.socks.verify);
	ctx.mgmt.verify = ctx.socks.verify;
	ck_assert_int_eq(users_add(&rt.admins, "slow", 4, slow_hash, strlen(slow_hash), false, err,
				   sizeof(err)), USERS_OK);
	rt.mgmt.timeout = 5;
	run_client(client_busy, got);
	ck_assert(memcmp(got, "\x01\x02\x01\x02", 4) == 0);
	while (mgmt_connection_count(srv) > 0)
		loop_run_once(loop, 20);
	/* no penalty earned: a wrong password now is the source's first failure (250 ms) */
	gettimeofday(&t0, NULL);
	x = talk("\x01\x01\x02" "\x01\x05" "admin" "\x02" "px", 13);
	gettimeofday(&t1, NULL);
	assert_reply(x, "\x01\x02\x01\x01", 4);
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000, 490);
	verify_pool_destroy(ctx.socks.verify);
	ctx.socks.verify = ctx.mgmt.verify = big;
}
END_TEST

/* A provider that cannot check now (ABI 1.2 MASS_AUTH_BUSY): "busy" at
 * once, "later" from a timer, as pgsql does when the password queue is full. */
static struct loop_timer busy_timer;
static struct mass_auth *busy_pending;

static void busy_later(struct loop *l, struct loop_timer *t)
{
	(void)l;
	(void)t;
	host_services()->auth_complete(busy_pending, MASS_AUTH_BUSY);
}

static int busy_provider(void *arg, const struct mass_auth_query *q, struct mass_auth *pending)
{
	(void)arg;
	if (q->user_len == 4 && memcmp(q->user, "busy", 4) == 0)
		return MASS_AUTH_BUSY;
	if (q->user_len == 5 && memcmp(q->user, "later", 5) == 0)
	{
		busy_pending = pending;
		loop_timer_start(loop, &busy_timer, 20, busy_later);
		return MASS_AUTH_PENDING;
	}
	return MASS_AUTH_DECLINE;
}

/*
 * A provider's BUSY is answered as the built-in full queue: login status
 * 02, at once or later, and no failure counted against the source.
 */
START_TEST(test_provider_busy_is_not_a_wrong_password)
{
	struct host_owner *o = host_owner_new("busyp", NULL, NULL, NULL);
	struct timeval t0, t1;
	struct exchange *x;

	ck_assert_ptr_nonnull(o);
	host_services_start(loop);   /* the provider's PENDING timeout runs on it */
	owner_enter(o);
	ck_assert_ptr_nonnull(host_services()->auth_provider_add(MASS_AUTH_ADMIN, 0,
								 busy_provider, NULL));
	owner_enter(NULL);
	for (int i = 0; i < 3; i++) {
		x = talk("\x01\x01\x02" "\x01\x04" "busy" "\x02" "pw", 12);
		assert_reply(x, "\x01\x02\x01\x02", 4);
		x = talk("\x01\x01\x02" "\x01\x05" "later" "\x02" "pw", 13);
		assert_reply(x, "\x01\x02\x01\x02", 4);
	}
	/* no penalty earned: a wrong password now is the source's first failure (250 ms) */
	gettimeofday(&t0, NULL);
	x = talk("\x01\x01\x02" "\x01\x05" "admin" "\x02" "px", 13);
	gettimeofday(&t1, NULL);
	assert_reply(x, "\x01\x02\x01\x01", 4);
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000, 490);
	host_owner_release(o);
}
END_TEST

START_TEST(test_without_plugins)
{
	plugins_free(rt.plugins);
	rt.plugins = NULL;
	rt.mgmt.plugins = NULL;
	assert_request("\x00", 1, "\x00\x01\x00", 3);
	assert_request("\x02", 1, "\x02", 1);
}
END_TEST

static Suite *mgmt_suite(void)
{
	Suite *s = suite_create("mgmt");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_indexes);
	tcase_add_test(tc, test_users_list);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_add_delete_user);
	tcase_add_test(tc, test_switches);
	tcase_add_test(tc, test_unsupported);
	tcase_add_test(tc, test_bytewise);
	tcase_add_test(tc, test_greeting_bad_version);
	tcase_add_test(tc, test_greeting_no_methods);
	tcase_add_test(tc, test_auth_on_without_userpass);
	tcase_add_test(tc, test_auth_off);
	tcase_add_test(tc, test_bad_password);
	tcase_add_test(tc, test_no_admins);
	tcase_add_test(tc, test_auth_bad_version);
	tcase_add_test(tc, test_stalled_dropped);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_without_plugins);
	tcase_add_test(tc, test_provider_busy_is_not_a_wrong_password);
	tcase_add_test(tc, test_busy_is_not_a_wrong_password);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(mgmt_suite());
}
