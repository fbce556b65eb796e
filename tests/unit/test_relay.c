/*
 * Unit tests for the relay's tap: what the tap lets go (pass) moves without
 * being fed, by splice when the run is long, exactly that many bytes, and
 * the tap is fed again from the next byte; the bytes arrive unchanged
 * whatever the tap says. Over two socketpairs, the test playing client and
 * server, the owner's readiness faked as "everything ready" each round.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "core/metrics.h"
#include "core/pool.h"
#include "socks/relay.h"

/*
 * A toy protocol the fake tap reads from the server: a line "N\n" then N
 * bytes it lets go (a body); "N!\n" announces N bytes it wants to see.
 * Client bytes are all seen.
 */
struct toy {
	char line[32];
	size_t linelen;
	uint64_t body;       /* body bytes still to come, seen by no one */
	uint64_t show;       /* announced bytes it wants to see */
	uint64_t fed[2];     /* bytes fed per direction */
	uint64_t lines;      /* lines read */
	bool lied;           /* a line that does not parse: done */
};

static int toy_feed(void *ctx, int dir, const uint8_t *p, size_t len)
{
	struct toy *t = ctx;

	t->fed[dir] += len;
	for (size_t i = 0; dir == RELAY_TO_CLIENT && i < len; i++) {
		char *end;
		unsigned long long n;

		if (t->body > 0) {  /* a body byte the relay showed anyway (a short run) */
			t->body--;
			continue;
		}
		if (t->show > 0) {
			t->show--;
			continue;
		}
		if (p[i] != '\n') {
			if (t->linelen < sizeof(t->line) - 1)
				t->line[t->linelen++] = (char)p[i];
			continue;
		}
		t->line[t->linelen] = '\0';
		t->linelen = 0;
		n = strtoull(t->line, &end, 10);
		if (end == t->line || (*end != '\0' && strcmp(end, "!") != 0)) {
			t->lied = true;
			return RELAY_TAP_DONE;
		}
		t->lines++;
		if (*end == '!')
			t->show = n;
		else
			t->body = n;
	}
	return RELAY_TAP_MORE;
}

static uint64_t toy_pass(void *ctx, int dir)
{
	struct toy *t = ctx;
	uint64_t n = dir == RELAY_TO_CLIENT ? t->body : 0;

	if (dir == RELAY_TO_CLIENT)
		t->body = 0;
	return n;
}

struct rig {
	int client, server;  /* the test's ends */
	struct relay r;
	struct pool pool;
	struct metrics metrics;
	struct toy toy;
};

static void rig_open(struct rig *g)
{
	int c[2], u[2];

	memset(g, 0, sizeof(*g));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, u), 0);
	g->client = c[0];
	g->server = u[1];
	relay_init(&g->r, c[1], u[0]);
	g->r.pool = &g->pool;
	g->r.metrics = &g->metrics;
	relay_tap_set(&g->r, (struct relay_tap){ .ctx = &g->toy, .feed = toy_feed,
						  .pass = toy_pass });
}

static void rig_close(struct rig *g)
{
	relay_release(&g->r);
	close(g->r.fd[0]);
	close(g->r.fd[1]);
	close(g->client);
	if (g->server >= 0)
		close(g->server);
	pool_drain(&g->pool);
}

/*
 * Sends out (len bytes) from the server, closing its end after them when
 * close_after, while pumping the relay and reading the client's end, until
 * want bytes arrived; returns them (malloc'd).
 */
static uint8_t *rig_run(struct rig *g, const uint8_t *out, size_t len, bool close_after,
			size_t want)
{
	uint8_t *got = malloc(want + 1);
	size_t sent = 0, have = 0;

	ck_assert_ptr_nonnull(got);
	for (int round = 0; round < 1000000 && have < want; round++) {
		bool moved;
		ssize_t n;

		if (sent < len) {
			n = send(g->server, out + sent, len - sent, MSG_NOSIGNAL);
			ck_assert(n > 0 || errno == EAGAIN);
			sent += n > 0 ? (size_t)n : 0;
		} else if (close_after && g->server >= 0) {
			close(g->server);
			g->server = -1;
		}
		g->r.ready[RELAY_CLIENT] = RELAY_READABLE | RELAY_WRITABLE;
		g->r.ready[RELAY_UPSTREAM] = RELAY_READABLE | RELAY_WRITABLE;
		ck_assert_int_ne(relay_pump(&g->r, &moved), RELAY_ERROR);
		n = recv(g->client, got + have, want + 1 - have, 0);
		ck_assert(n > 0 || (n < 0 && errno == EAGAIN) || (n == 0 && have == want));
		have += n > 0 ? (size_t)n : 0;
	}
	ck_assert_uint_eq(have, want);
	return got;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 9));
	return p;
}

/* Appends "N\n" then N body bytes (or "N!\n" and N bytes to see). */
static size_t put(uint8_t *buf, size_t at, size_t n, bool show, const uint8_t *body)
{
	int k = snprintf((char *)buf + at, 32, "%zu%s\n", n, show ? "!" : "");

	memcpy(buf + at + (size_t)k, body, n);
	return at + (size_t)k + n;
}

/* Long runs are spliced, exactly, short ones read with what follows them;
 * the tap sees the lines and the bytes it asked to see, and every byte
 * arrives. */
START_TEST(test_pass_runs)
{
	static const size_t sizes[] = { 300000, 5, 70000, 0, 20000, 16383, 1048576 + 3, 7 };
	size_t cap = 4 << 20, len = 0, bodies = 0;
	uint8_t *out = malloc(cap), *body = pattern(2 << 20), *got;
	struct rig g;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		len = put(out, len, sizes[i], false, body);
		bodies += sizes[i];
		len = put(out, len, 100, true, body + 1000); /* 100 bytes it wants to see */
	}
	rig_open(&g);
	got = rig_run(&g, out, len, false, len);
	ck_assert(memcmp(got, out, len) == 0);
	ck_assert(!g.toy.lied);
	ck_assert_uint_eq(g.toy.lines, 2 * sizeof(sizes) / sizeof(sizes[0]));
	/* the long runs (300000, 70000, 20000, 1 MiB + 3) went by splice, but for
	 * what a read of the line before each brought along (at most a buffer) */
	ck_assert_uint_ge(g.r.dir[RELAY_TO_CLIENT].spliced,
			  300000 + 70000 + 20000 + 1048576 + 3 - 4 * POOL_BUF_SIZE);
	ck_assert_uint_le(g.r.dir[RELAY_TO_CLIENT].spliced, bodies);
	ck_assert_uint_le(g.toy.fed[RELAY_TO_CLIENT], len - g.r.dir[RELAY_TO_CLIENT].spliced);
	ck_assert_uint_eq(g.r.dir[RELAY_TO_CLIENT].bytes, len);
	ck_assert_uint_eq(g.r.dir[RELAY_TO_CLIENT].tapped, g.toy.fed[RELAY_TO_CLIENT]);
	rig_close(&g);
	free(got);
	free(out);
	free(body);
}
END_TEST

/* A run announced longer than what comes (the server closes): the bytes
 * that came arrive, then the end of file. */
START_TEST(test_pass_shorter_than_announced)
{
	uint8_t *body = pattern(200000), out[64], *all, *got;
	size_t len = (size_t)snprintf((char *)out, sizeof(out), "%d\n", 500000);
	struct rig g;

	all = malloc(len + 200000);
	memcpy(all, out, len);
	memcpy(all + len, body, 200000);
	rig_open(&g);
	got = rig_run(&g, all, len + 200000, true, len + 200000);
	ck_assert(memcmp(got, all, len + 200000) == 0);
	ck_assert_uint_ge(g.r.dir[RELAY_TO_CLIENT].spliced, 200000 - POOL_BUF_SIZE);
	rig_close(&g);
	free(got);
	free(all);
	free(body);
}
END_TEST

/* After a run, bytes that do not parse end the tap; the relay goes on
 * byte-exact without it. */
START_TEST(test_tap_done_after_run)
{
	size_t len = 0;
	uint8_t *out = malloc(1 << 20), *body = pattern(400000), *got;
	struct rig g;

	len = put(out, len, 100000, false, body);
	memcpy(out + len, "garbage\n", 8);
	len += 8;
	memcpy(out + len, body, 300000);
	len += 300000;
	rig_open(&g);
	got = rig_run(&g, out, len, false, len);
	ck_assert(memcmp(got, out, len) == 0);
	ck_assert(g.toy.lied);
	ck_assert_ptr_null(g.r.tap.feed);
	/* the first line and the body bytes read with it, then the bad line */
	ck_assert_uint_le(g.toy.fed[RELAY_TO_CLIENT], POOL_BUF_SIZE + 8);
	rig_close(&g);
	free(got);
	free(out);
	free(body);
}
END_TEST

/* Under a limit (here a quota), a spliced run reads no more than granted:
 * the tunnel stops at the quota's byte, inside the run. */
START_TEST(test_pass_run_within_limit)
{
	size_t len = 0, quota = 150000;
	uint8_t *out = malloc(1 << 20), *body = pattern(400000), *got;
	struct relay_limit lim = { .quota_left = 150000 };
	struct rig g;

	len = put(out, len, 300000, false, body);
	rig_open(&g);
	g.r.limit = &lim;
	got = rig_run(&g, out, len, false, quota);
	ck_assert(memcmp(got, out, quota) == 0);
	ck_assert_uint_eq(g.r.dir[RELAY_TO_CLIENT].bytes, quota);
	ck_assert_uint_eq(lim.quota_left, 0);
	ck_assert(lim.stopped[RELAY_TO_CLIENT]);
	ck_assert_uint_gt(g.r.dir[RELAY_TO_CLIENT].spliced, 0);
	g.r.limit = NULL;
	rig_close(&g);
	free(got);
	free(out);
	free(body);
}
END_TEST

static Suite *relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("tap");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pass_runs);
	tcase_add_test(tc, test_pass_shorter_than_announced);
	tcase_add_test(tc, test_tap_done_after_run);
	tcase_add_test(tc, test_pass_run_within_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(relay_suite());
}
