/* socks5-bench: SOCKS5 load generator and its loopback target.
 *
 *   socks5-bench serve [--pace BYTES]      echo, sink, source (and paced) targets
 *   socks5-bench ports N                   N free loopback TCP ports
 *   socks5-bench tps  (--proxy H:P | --direct) --target H:P [options]
 *   socks5-bench bulk (--proxy H:P | --direct) --target H:P [options]
 *   socks5-bench idle (--proxy H:P | --direct) --target H:P [options]
 *   socks5-bench burst --proxy H:P --target H:P --users PREFIX:PASS [options]
 *   socks5-bench http (--proxy H:P | --direct) --target H:P --path P [options]
 *
 * One thread, one epoll loop, every socket non-blocking, every wait bounded.
 * Results are one line "MODE key=value ..." on stdout so scripts can parse
 * them; failures are counted per kind and summarised on stderr.
 *
 * Targets (serve): the echo port returns every byte; the rr port (tps) reads
 * a request whose first two bytes are its big-endian length, echoes it and
 * closes first, so TIME_WAIT stays on the target's side and repeated
 * transactions do not use up the ephemeral ports of the client or of the
 * proxy (a proxy that binds its outgoing sockets before connecting would
 * otherwise run out within seconds); the sink port discards
 * and answers 8-byte big-endian running counts (every BENCH_ACK_EVERY bytes
 * and whenever its socket runs dry) so the sender learns what the receiver
 * got without a half-close (some proxies close both directions on the first
 * EOF, and some starve the reverse direction while data flows, which is why
 * the sender stops at the end and waits for the final count); the source
 * port sends without end; with --pace RATE, the paced port sends RATE
 * bytes a second in a quarter of a second's worth at a time (a server that
 * paces itself, the same traffic as a tunnel rate-limited by the proxy with
 * its default burst); the http port answers every GET /cl/SIZE with
 * SIZE bytes after a Content-Length and GET /chunked/SIZE/K with SIZE bytes
 * in chunks of K, kept alive, headers ignored.
 *
 * Small exchanges use edge-triggered epoll; bulk streams use level-triggered
 * epoll with a budget per wakeup so one fast stream cannot starve others. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_BLOB (64 * 1024)
#define BENCH_ACK_EVERY (1024 * 1024)
#define BENCH_MAX_CONNS 100000
#define BENCH_MAX_SAMPLES (20u * 1000u * 1000u)
#define BENCH_SCAN_US 10000u
#define BENCH_CHECK_BYTES 16
#define BENCH_BUDGET 16         /* reads or writes per wakeup on bulk streams */

enum bench_mode { MODE_TPS, MODE_BULK, MODE_IDLE, MODE_BURST, MODE_HTTP };

enum bench_state {
	ST_FREE,      /* slot unused */
	ST_WAIT,      /* backing off before the next attempt */
	ST_CONNECTING,
	ST_METHOD,    /* greeting sent, waiting for the method reply */
	ST_AUTH,      /* RFC 1929 request sent */
	ST_REPLY,     /* CONNECT sent */
	ST_ECHO,      /* payload sent, waiting for it to come back */
	ST_CLOSING,   /* tps: echoed, waiting for the target's close */
	ST_HELD,      /* idle tunnel */
	ST_BULK,
	ST_DONE,      /* idle: round trip verified */
};

enum bench_fail {
	F_CONNECT, F_METHOD, F_AUTH, F_REPLY, F_EOF, F_IO, F_DATA, F_TIMEOUT,
	F_DROPPED, F_NFAIL
};

static const char *const bench_fail_names[F_NFAIL] = {
	"connect", "method", "auth", "reply", "eof", "io", "data", "timeout",
	"dropped",
};

struct bench_conn {
	int fd;
	enum bench_state state;
	uint64_t t_start;      /* transaction start (connect) */
	uint64_t deadline;     /* 0: none */
	const unsigned char *out;
	size_t outlen, outoff;
	unsigned char wbuf[600];
	unsigned char rbuf[512];
	size_t rlen;
	size_t want, got;      /* echo bytes expected / received */
	uint64_t bytes;        /* bulk: bytes counted */
	uint64_t acked;        /* bulk up: last count reported by the sink */
	uint64_t t_ack;
	int done;              /* tps: completed transactions by this slot */
};

struct bench_samples {
	uint32_t *v;
	size_t n, cap;
};

struct bench {
	enum bench_mode mode;
	int direct;
	struct sockaddr_storage proxy, target;
	socklen_t proxylen, targetlen;
	const char *user, *pass;
	int pipeline;
	int http;              /* --http: HTTP CONNECT instead of SOCKS5 (no auth) */
	int clients;
	double duration;
	double timeout;
	size_t size;
	int down;
	double hold;
	int hold_stdin;
	int burst;
	const char *burst_prefix, *burst_pass;  /* burst: users PREFIX0.. with PASS */
	struct sockaddr_storage mgmt;           /* burst: the MASS probe's server */
	socklen_t mgmtlen;
	const char *admin, *admin_pass;
	const char *path, *basic;               /* http: what to GET, with which login */
	int requests;                           /* http: GETs per connection */
	double pace;                            /* serve: the paced target's bytes/s (0: none) */
	int draining;          /* bulk up: stopped writing, waiting for counts */

	int ep;
	uint64_t now;
	struct bench_conn *conns;
	int nconns;
	unsigned char *blob;
	unsigned char scratch[BENCH_BLOB];

	uint64_t fails[F_NFAIL];
	char first_err[F_NFAIL][160];
	uint64_t ok;
	struct bench_samples lat, hs;

	/* idle bookkeeping */
	int started, established, failed, worked, dropped, inflight;
};

static volatile sig_atomic_t bench_stop;

static void bench_on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

static uint64_t bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t bench_secs_us(double s)
{
	return s <= 0 ? 0 : (uint64_t)(s * 1e6);
}

/* Descriptors are the limit for idle tunnels; take all the kernel allows. */
static void bench_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			fprintf(stderr, "socks5-bench: raising fd limit: %s\n", strerror(errno));
	}
}

static void bench_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* "1.2.3.4:80" or "[::1]:80" */
static int bench_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	size_t hl;
	char *end;
	long port;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port <= 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* statistics                                                          */

static void bench_sample_add(struct bench_samples *s, uint64_t us)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		uint32_t *v;

		if (cap > BENCH_MAX_SAMPLES)
			return;
		v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL)
			return;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile, in microseconds; 0 when there is no sample. */
static uint32_t bench_pct(const struct bench_samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	i = (size_t)(p * (double)s->n + 0.999999);
	if (i == 0)
		i = 1;
	if (i > s->n)
		i = s->n;
	return s->v[i - 1];
}

static void bench_sort(struct bench_samples *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), bench_cmp_u32);
}

static void bench_report_fails(const struct bench *b)
{
	for (int i = 0; i < F_NFAIL; i++)
		if (b->fails[i])
			fprintf(stderr, "socks5-bench: %" PRIu64 " %s failure(s), first: %s\n",
				b->fails[i], bench_fail_names[i], b->first_err[i]);
}

static uint64_t bench_fail_total(const struct bench *b)
{
	uint64_t t = 0;

	for (int i = 0; i < F_NFAIL; i++)
		if (i != F_DROPPED)
			t += b->fails[i];
	return t;
}

/* ------------------------------------------------------------------ */
/* client connections                                                  */

static void bench_close(struct bench *b, struct bench_conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(b->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = ST_FREE;
	c->deadline = 0;
	c->out = NULL;
	c->outlen = c->outoff = 0;
	c->rlen = 0;
}

static void bench_count_fail(struct bench *b, enum bench_fail kind, const char *msg)
{
	if (b->fails[kind]++ == 0)
		snprintf(b->first_err[kind], sizeof(b->first_err[kind]), "%s", msg);
}

/* A failed attempt is counted, its socket closed, and the slot backs off
 * briefly so a refusing server does not turn the loop into a spin. */
static void bench_fail(struct bench *b, struct bench_conn *c, enum bench_fail kind,
		       const char *msg)
{
	int was_handshake = c->state >= ST_CONNECTING && c->state <= ST_REPLY;

	bench_count_fail(b, kind, msg);
	bench_close(b, c);
	if (b->mode == MODE_IDLE) {
		if (was_handshake) {
			b->failed++;
			b->inflight--;
		}
		c->state = ST_DONE;
		c->fd = -1;
		return;
	}
	c->state = ST_WAIT;
	c->deadline = b->now + 10000;
}

static void bench_set_deadline(struct bench *b, struct bench_conn *c)
{
	c->deadline = b->now + bench_secs_us(b->timeout);
}

static void bench_start(struct bench *b, struct bench_conn *c)
{
	const struct sockaddr *to = (const struct sockaddr *)(b->direct ? &b->target : &b->proxy);
	socklen_t tolen = b->direct ? b->targetlen : b->proxylen;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	char msg[160];

	c->fd = socket(to->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->state = ST_CONNECTING;
	c->t_start = b->now;
	c->rlen = 0;
	c->got = 0;
	bench_set_deadline(b, c);
	if (b->mode == MODE_IDLE)
		b->inflight++;
	if (c->fd < 0) {
		snprintf(msg, sizeof(msg), "socket: %s", strerror(errno));
		bench_fail(b, c, F_CONNECT, msg);
		return;
	}
	bench_nodelay(c->fd);
	if (connect(c->fd, to, tolen) < 0 && errno != EINPROGRESS) {
		snprintf(msg, sizeof(msg), "connect: %s", strerror(errno));
		bench_fail(b, c, F_CONNECT, msg);
		return;
	}
	ev.data.ptr = c;
	if (epoll_ctl(b->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		snprintf(msg, sizeof(msg), "epoll_ctl: %s", strerror(errno));
		bench_fail(b, c, F_IO, msg);
	}
}

static void bench_queue(struct bench_conn *c, const unsigned char *p, size_t len)
{
	c->out = p;
	c->outlen = len;
	c->outoff = 0;
}

/* Returns 0 when everything queued is written, 1 when the socket is full,
 * -1 after a failure (already counted). */
static int bench_flush(struct bench *b, struct bench_conn *c)
{
	char msg[160];

	while (c->out != NULL && c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			if (errno == EINTR)
				continue;
			snprintf(msg, sizeof(msg), "send: %s", strerror(errno));
			bench_fail(b, c, F_IO, msg);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	c->out = NULL;
	return 0;
}

static size_t bench_put_greeting(const struct bench *b, unsigned char *p)
{
	p[0] = 5;
	p[1] = 1;
	p[2] = b->user ? 2 : 0;
	return 3;
}

static size_t bench_put_auth(const struct bench *b, unsigned char *p)
{
	size_t ul = strlen(b->user), pl = strlen(b->pass);

	p[0] = 1;
	p[1] = (unsigned char)ul;
	memcpy(p + 2, b->user, ul);
	p[2 + ul] = (unsigned char)pl;
	memcpy(p + 3 + ul, b->pass, pl);
	return 3 + ul + pl;
}

static size_t bench_put_request(const struct bench *b, unsigned char *p)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&b->target;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&b->target;

	p[0] = 5;
	p[1] = 1;
	p[2] = 0;
	if (b->target.ss_family == AF_INET) {
		p[3] = 1;
		memcpy(p + 4, &sin->sin_addr, 4);
		memcpy(p + 8, &sin->sin_port, 2);
		return 10;
	}
	p[3] = 4;
	memcpy(p + 4, &sin6->sin6_addr, 16);
	memcpy(p + 20, &sin6->sin6_port, 2);
	return 22;
}

static void bench_ready(struct bench *b, struct bench_conn *c);

static void bench_connected(struct bench *b, struct bench_conn *c)
{
	size_t n;

	if (b->direct) {
		bench_ready(b, c);
		return;
	}
	if (b->http) {
		char host[INET6_ADDRSTRLEN];
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&b->target;
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&b->target;
		int v6 = b->target.ss_family == AF_INET6, w;

		inet_ntop(b->target.ss_family, v6 ? (const void *)&sin6->sin6_addr
				: (const void *)&sin->sin_addr, host, sizeof(host));
		w = snprintf((char *)c->wbuf, sizeof(c->wbuf),
			     "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n\r\n",
			     v6 ? "[" : "", host, v6 ? "]" : "",
			     ntohs(v6 ? sin6->sin6_port : sin->sin_port),
			     v6 ? "[" : "", host, v6 ? "]" : "",
			     ntohs(v6 ? sin6->sin6_port : sin->sin_port));
		bench_queue(c, c->wbuf, (size_t)w);
		c->state = ST_REPLY;
		return;
	}
	n = bench_put_greeting(b, c->wbuf);
	if (b->pipeline) {
		if (b->user)
			n += bench_put_auth(b, c->wbuf + n);
		n += bench_put_request(b, c->wbuf + n);
	}
	bench_queue(c, c->wbuf, n);
	c->state = ST_METHOD;
}

/* Consumes the first len bytes of the read buffer. */
static void bench_consume(struct bench_conn *c, size_t len)
{
	memmove(c->rbuf, c->rbuf + len, c->rlen - len);
	c->rlen -= len;
}

/* One handshake message from rbuf. Returns 1 when a message was consumed,
 * 0 when more bytes are needed, -1 on failure (counted). */
static int bench_hs_step(struct bench *b, struct bench_conn *c)
{
	char msg[160];
	size_t need;

	switch (c->state) {
	case ST_METHOD:
		if (c->rlen < 2)
			return 0;
		if (c->rbuf[0] != 5 || c->rbuf[1] != (b->user ? 2 : 0)) {
			snprintf(msg, sizeof(msg), "method reply %02x %02x", c->rbuf[0], c->rbuf[1]);
			bench_fail(b, c, F_METHOD, msg);
			return -1;
		}
		bench_consume(c, 2);
		if (b->user) {
			c->state = ST_AUTH;
			if (!b->pipeline)
				bench_queue(c, c->wbuf, bench_put_auth(b, c->wbuf));
		} else {
			c->state = ST_REPLY;
			if (!b->pipeline)
				bench_queue(c, c->wbuf, bench_put_request(b, c->wbuf));
		}
		return 1;
	case ST_AUTH:
		if (c->rlen < 2)
			return 0;
		if (c->rbuf[0] != 1 || c->rbuf[1] != 0) {
			snprintf(msg, sizeof(msg), "auth reply %02x %02x", c->rbuf[0], c->rbuf[1]);
			bench_fail(b, c, F_AUTH, msg);
			return -1;
		}
		bench_consume(c, 2);
		c->state = ST_REPLY;
		if (!b->pipeline)
			bench_queue(c, c->wbuf, bench_put_request(b, c->wbuf));
		return 1;
	case ST_REPLY:
		if (b->http) {
			/* "HTTP/1.1 200 ...\r\n\r\n": the head, then the tunnel */
			unsigned char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);

			if (end == NULL)
				return c->rlen == sizeof(c->rbuf) ? (bench_fail(b, c, F_REPLY,
					"HTTP head too long"), -1) : 0;
			if (c->rlen < 12 || memcmp(c->rbuf, "HTTP/1.1 200", 12) != 0) {
				snprintf(msg, sizeof(msg), "HTTP %.12s", (const char *)c->rbuf);
				bench_fail(b, c, F_REPLY, msg);
				return -1;
			}
			bench_consume(c, (size_t)(end + 4 - c->rbuf));
			bench_ready(b, c);
			return 1;
		}
		if (c->rlen < 5)
			return 0;
		if (c->rbuf[0] != 5 || c->rbuf[1] != 0) {
			snprintf(msg, sizeof(msg), "CONNECT reply VER %02x REP %02x",
				 c->rbuf[0], c->rbuf[1]);
			bench_fail(b, c, F_REPLY, msg);
			return -1;
		}
		switch (c->rbuf[3]) {
		case 1: need = 4 + 4 + 2; break;
		case 4: need = 4 + 16 + 2; break;
		case 3: need = 4 + 1 + (size_t)c->rbuf[4] + 2; break;
		default:
			snprintf(msg, sizeof(msg), "CONNECT reply ATYP %02x", c->rbuf[3]);
			bench_fail(b, c, F_REPLY, msg);
			return -1;
		}
		if (c->rlen < need)
			return 0;
		bench_consume(c, need);
		bench_ready(b, c);
		return 1;
	default:
		return 0;
	}
}

static void bench_level(struct bench *b, struct bench_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		bench_count_fail(b, F_IO, "epoll_ctl MOD failed");
}

/* The tunnel is open (or, direct, the TCP connection is). */
static void bench_ready(struct bench *b, struct bench_conn *c)
{
	if (b->mode == MODE_TPS)
		bench_sample_add(&b->hs, b->now - c->t_start);
	switch (b->mode) {
	case MODE_TPS:
		c->state = ST_ECHO;
		c->want = b->size;
		c->got = 0;
		bench_queue(c, b->blob, b->size);
		break;
	case MODE_IDLE:
		c->state = ST_HELD;
		c->deadline = 0;
		b->established++;
		b->inflight--;
		bench_sample_add(&b->hs, b->now - c->t_start);
		break;
	case MODE_BULK:
		c->state = ST_BULK;
		c->bytes = 0;
		c->acked = 0;
		c->t_ack = 0;
		bench_level(b, c, b->down ? EPOLLIN : EPOLLIN | EPOLLOUT);
		break;
	case MODE_BURST:  /* has its own loop (bench_run_burst) */
	case MODE_HTTP:   /* likewise (bench_run_http) */
		break;
	}
}

/* Echoed bytes must be the payload we sent, in order. */
static int bench_echo_in(struct bench *b, struct bench_conn *c, const unsigned char *p, size_t n)
{
	if (n > c->want - c->got || memcmp(p, b->blob + c->got, n) != 0) {
		bench_fail(b, c, F_DATA, "echoed bytes differ from the payload");
		return -1;
	}
	c->got += n;
	if (c->got < c->want)
		return 0;
	if (b->mode == MODE_IDLE) {
		b->worked++;
		c->state = ST_DONE;
		c->deadline = 0;
		return 0;
	}
	b->ok++;
	c->done++;
	bench_sample_add(&b->lat, b->now - c->t_start);
	c->state = ST_CLOSING;
	return 0;
}

/* Sink acknowledgements: 8-byte big-endian running counts. */
static void bench_acks_in(struct bench *b, struct bench_conn *c, const unsigned char *p, size_t n)
{
	while (n > 0) {
		size_t take = 8 - c->rlen;

		if (take > n)
			take = n;
		memcpy(c->rbuf + c->rlen, p, take);
		c->rlen += take;
		p += take;
		n -= take;
		if (c->rlen == 8) {
			uint64_t v = 0;

			for (int i = 0; i < 8; i++)
				v = v << 8 | c->rbuf[i];
			c->acked = v;
			c->t_ack = b->now;
			bench_set_deadline(b, c);
			c->rlen = 0;
		}
	}
}

/* Data after the handshake. Returns -1 when the connection is gone or
 * was replaced, 1 to keep reading, 0 when reading should stop. */
static int bench_data_in(struct bench *b, struct bench_conn *c, const unsigned char *p, size_t n)
{
	switch (c->state) {
	case ST_ECHO:
		return bench_echo_in(b, c, p, n) != 0 ? -1 : 1;
	case ST_CLOSING:
		bench_fail(b, c, F_DATA, "bytes after the echoed payload");
		return -1;
	case ST_BULK:
		if (b->down)
			c->bytes += n;
		else
			bench_acks_in(b, c, p, n);
		return 1;
	default:
		/* nothing is expected on a held tunnel: count it and move on */
		return 1;
	}
}

static void bench_eof(struct bench *b, struct bench_conn *c)
{
	if (c->state == ST_CLOSING) {
		/* the target closed first, as it should: next transaction */
		bench_close(b, c);
		bench_start(b, c);
		return;
	}
	if (c->state == ST_HELD) {
		b->dropped++;
		bench_count_fail(b, F_DROPPED, "proxy closed an idle tunnel");
		bench_close(b, c);
		c->state = ST_DONE;
		return;
	}
	bench_fail(b, c, F_EOF, "connection closed before the transaction finished");
}

static void bench_read(struct bench *b, struct bench_conn *c)
{
	char msg[160];
	int budget = BENCH_BUDGET;

	for (;;) {
		int handshaking = c->state >= ST_METHOD && c->state <= ST_REPLY;
		ssize_t n;

		/* bulk streams are level-triggered: stop and come back later */
		if (c->state == ST_BULK && budget-- == 0)
			return;

		if (handshaking)
			n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
		else
			n = recv(c->fd, b->scratch, sizeof(b->scratch), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			if (c->state == ST_HELD) {
				bench_eof(b, c);
				return;
			}
			snprintf(msg, sizeof(msg), "recv: %s", strerror(errno));
			bench_fail(b, c, F_IO, msg);
			return;
		}
		if (n == 0) {
			bench_eof(b, c);
			return;
		}
		if (handshaking) {
			int r;

			c->rlen += (size_t)n;
			while ((r = bench_hs_step(b, c)) > 0 &&
			       c->state >= ST_METHOD && c->state <= ST_REPLY)
				;
			if (r < 0)
				return;
			if (c->state >= ST_METHOD && c->state <= ST_REPLY) {
				if (c->rlen == sizeof(c->rbuf)) {
					bench_fail(b, c, F_REPLY, "handshake reply too long");
					return;
				}
				if (bench_flush(b, c) < 0)
					return;
				continue;
			}
			/* handshake done: bytes past the reply belong to the tunnel */
			if (bench_flush(b, c) < 0)
				return;
			if (c->rlen > 0) {
				size_t left = c->rlen;

				c->rlen = 0;
				memcpy(b->scratch, c->rbuf, left);
				if (bench_data_in(b, c, b->scratch, left) < 0)
					return;
			}
			continue;
		}
		if (bench_data_in(b, c, b->scratch, (size_t)n) < 0)
			return;
	}
}

/* Bulk upload: a budget of blobs per wakeup; nothing once draining. */
static int bench_push(struct bench *b, struct bench_conn *c)
{
	char msg[160];

	for (int i = 0; i < BENCH_BUDGET && !b->draining; i++) {
		ssize_t n = send(c->fd, b->blob, BENCH_BLOB, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			snprintf(msg, sizeof(msg), "send: %s", strerror(errno));
			bench_fail(b, c, F_IO, msg);
			return -1;
		}
		c->bytes += (uint64_t)n;
		bench_set_deadline(b, c);
	}
	return 0;
}

static void bench_io(struct bench *b, struct bench_conn *c, uint32_t events)
{
	if (c->state == ST_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);
		char msg[160];

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err != 0) {
			snprintf(msg, sizeof(msg), "connect: %s", strerror(err));
			bench_fail(b, c, F_CONNECT, msg);
			return;
		}
		bench_connected(b, c);
	}
	if (c->state == ST_FREE || c->state == ST_WAIT || c->state == ST_DONE)
		return;
	if (c->state == ST_BULK && !b->down) {
		if (bench_push(b, c) < 0)
			return;
	} else if (bench_flush(b, c) < 0) {
		return;
	}
	if (c->state == ST_HELD && !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return;
	bench_read(b, c);
	if (c->state == ST_BULK && b->down)
		bench_set_deadline(b, c);
}

/* ------------------------------------------------------------------ */
/* the run                                                             */

static int bench_setup(struct bench *b, int nconns)
{
	b->ep = epoll_create1(EPOLL_CLOEXEC);
	b->conns = calloc((size_t)nconns, sizeof(*b->conns));
	b->blob = malloc(BENCH_BLOB);
	if (b->ep < 0 || b->conns == NULL || b->blob == NULL) {
		fprintf(stderr, "socks5-bench: setup: %s\n", strerror(errno ? errno : ENOMEM));
		return -1;
	}
	b->nconns = nconns;
	for (int i = 0; i < nconns; i++)
		b->conns[i].fd = -1;
	for (size_t i = 0; i < BENCH_BLOB; i++)
		b->blob[i] = (unsigned char)('a' + i % 26);
	b->now = bench_now_us();
	return 0;
}

static void bench_teardown(struct bench *b)
{
	for (int i = 0; i < b->nconns; i++)
		if (b->conns[i].fd >= 0)
			bench_close(b, &b->conns[i]);
	close(b->ep);
	free(b->conns);
	free(b->blob);
	free(b->lat.v);
	free(b->hs.v);
}

/* Waits for events until `until` (absolute, µs); runs deadlines. */
static void bench_poll(struct bench *b, uint64_t until, uint64_t *next_scan)
{
	struct epoll_event evs[256];
	int timeout_ms = 10;
	int n;

	if (until > b->now && until - b->now < 10000)
		timeout_ms = (int)((until - b->now) / 1000);
	n = epoll_wait(b->ep, evs, 256, timeout_ms);
	b->now = bench_now_us();
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL) {
			/* stdin of an idle hold: end the hold */
			epoll_ctl(b->ep, EPOLL_CTL_DEL, 0, NULL);
			b->hold_stdin = 2;
			continue;
		}
		bench_io(b, evs[i].data.ptr, evs[i].events);
	}
	if (b->now < *next_scan)
		return;
	*next_scan = b->now + BENCH_SCAN_US;
	for (int i = 0; i < b->nconns; i++) {
		struct bench_conn *c = &b->conns[i];

		if (c->deadline == 0 || b->now < c->deadline)
			continue;
		if (c->state == ST_WAIT) {
			c->deadline = 0;
			if (b->mode != MODE_IDLE && !b->draining)
				bench_start(b, c);
			continue;
		}
		bench_fail(b, c, F_TIMEOUT, c->state == ST_CLOSING ?
			   "the target's close was not passed on within --timeout" :
			   "no progress within --timeout");
	}
}

static int bench_run_tps(struct bench *b)
{
	uint64_t t0, end, next_scan = 0;
	double secs;
	int stalled = 0;

	if (bench_setup(b, b->clients) < 0)
		return 1;
	/* the rr target reads the request length from its first two bytes */
	b->blob[0] = (unsigned char)(b->size >> 8);
	b->blob[1] = (unsigned char)b->size;
	t0 = b->now;
	end = t0 + bench_secs_us(b->duration);
	for (int i = 0; i < b->nconns; i++)
		bench_start(b, &b->conns[i]);
	while (!bench_stop && b->now < end)
		bench_poll(b, end, &next_scan);
	secs = (double)(b->now - t0) / 1e6;
	/* transactions older than a second at the end: a server that stalls
	 * (say, drops a pipelined request) shows here, not as failures */
	for (int i = 0; i < b->nconns; i++)
		if (b->conns[i].state >= ST_CONNECTING && b->conns[i].state <= ST_CLOSING &&
		    b->now - b->conns[i].t_start > 1000000u)
			stalled++;
	bench_sort(&b->lat);
	bench_sort(&b->hs);
	printf("tps clients=%d seconds=%.3f ok=%" PRIu64 " failed=%" PRIu64 " stalled=%d"
	       " tps=%.1f p50_us=%u p99_us=%u hs_p50_us=%u hs_p99_us=%u\n",
	       b->clients, secs, b->ok, bench_fail_total(b), stalled, (double)b->ok / secs,
	       bench_pct(&b->lat, 0.50), bench_pct(&b->lat, 0.99),
	       bench_pct(&b->hs, 0.50), bench_pct(&b->hs, 0.99));
	bench_report_fails(b);
	bench_teardown(b);
	return 0;
}

/* Upload end: stop writing, wait (bounded) until the sink has counted
 * every byte each stream wrote. */
static void bench_drain(struct bench *b, uint64_t *next_scan)
{
	uint64_t end = b->now + bench_secs_us(b->timeout);
	int pending = 1;

	b->draining = 1;
	for (int i = 0; i < b->nconns; i++)
		if (b->conns[i].state == ST_BULK)
			bench_level(b, &b->conns[i], EPOLLIN);
	while (!bench_stop && b->now < end && pending) {
		bench_poll(b, end, next_scan);
		pending = 0;
		for (int i = 0; i < b->nconns; i++) {
			struct bench_conn *c = &b->conns[i];

			if (c->state == ST_BULK && c->acked < c->bytes)
				pending = 1;
		}
	}
	if (pending)
		bench_count_fail(b, F_TIMEOUT, "sink did not count every byte within --timeout");
}

static int bench_run_bulk(struct bench *b)
{
	uint64_t t0, end, next_scan = 0, total = 0, last = 0;
	double secs;

	if (bench_setup(b, b->clients) < 0)
		return 1;
	t0 = b->now;
	end = t0 + bench_secs_us(b->duration);
	for (int i = 0; i < b->nconns; i++)
		bench_start(b, &b->conns[i]);
	while (!bench_stop && b->now < end)
		bench_poll(b, end, &next_scan);
	if (!b->down)
		bench_drain(b, &next_scan);
	for (int i = 0; i < b->nconns; i++) {
		struct bench_conn *c = &b->conns[i];

		if (b->down) {
			total += c->bytes;
		} else {
			total += c->acked;
			if (c->t_ack > last)
				last = c->t_ack;
		}
	}
	/* upload: what the sink acknowledged, over the time until its last
	 * acknowledgement; download: what this side read during the run */
	secs = (double)((b->down || last == 0 ? b->now : last) - t0) / 1e6;
	printf("bulk streams=%d dir=%s seconds=%.3f bytes=%" PRIu64 " mib_s=%.1f failed=%" PRIu64 "\n",
	       b->clients, b->down ? "down" : "up", secs, total,
	       secs > 0 ? (double)total / (1024.0 * 1024.0) / secs : 0.0, bench_fail_total(b));
	bench_report_fails(b);
	bench_teardown(b);
	return 0;
}

static void bench_idle_open(struct bench *b, uint64_t *next_scan)
{
	uint64_t end = b->now + bench_secs_us(b->timeout * 2 + b->clients / 200.0);

	while (!bench_stop && b->now < end &&
	       b->established + b->failed < b->clients) {
		while (b->started < b->clients && b->inflight < b->burst)
			bench_start(b, &b->conns[b->started++]);
		bench_poll(b, end, next_scan);
	}
}

static void bench_idle_hold(struct bench *b, uint64_t *next_scan)
{
	uint64_t end = b->now + bench_secs_us(b->hold);
	struct epoll_event ev = { .events = EPOLLIN };

	printf("held tunnels=%d established=%d failed=%d\n", b->clients, b->established, b->failed);
	fflush(stdout);
	if (b->hold_stdin) {
		/* the caller measures while we hold, then writes a line */
		ev.data.ptr = NULL;
		if (epoll_ctl(b->ep, EPOLL_CTL_ADD, 0, &ev) < 0)
			b->hold_stdin = 2;
	}
	while (!bench_stop && b->now < end && b->hold_stdin != 2)
		bench_poll(b, end, next_scan);
}

static void bench_idle_check(struct bench *b, uint64_t *next_scan)
{
	uint64_t end = b->now + bench_secs_us(b->timeout * 2 + b->clients / 1000.0);
	int pending = 0;

	for (int i = 0; i < b->nconns; i++) {
		struct bench_conn *c = &b->conns[i];

		if (c->state != ST_HELD)
			continue;
		c->state = ST_ECHO;
		c->want = BENCH_CHECK_BYTES;
		c->got = 0;
		bench_set_deadline(b, c);
		bench_queue(c, b->blob, BENCH_CHECK_BYTES);
		bench_io(b, c, EPOLLOUT);
		pending++;
	}
	while (!bench_stop && b->now < end && pending > 0) {
		bench_poll(b, end, next_scan);
		pending = 0;
		for (int i = 0; i < b->nconns; i++)
			if (b->conns[i].state == ST_ECHO)
				pending++;
	}
}

static int bench_run_idle(struct bench *b)
{
	uint64_t next_scan = 0;

	if (bench_setup(b, b->clients) < 0)
		return 1;
	bench_idle_open(b, &next_scan);
	bench_idle_hold(b, &next_scan);
	bench_idle_check(b, &next_scan);
	bench_sort(&b->hs);
	printf("idle tunnels=%d established=%d failed=%d dropped=%d worked=%d"
	       " hs_p50_us=%u hs_p99_us=%u\n",
	       b->clients, b->established, b->failed, b->dropped, b->worked,
	       bench_pct(&b->hs, 0.50), bench_pct(&b->hs, 0.99));
	bench_report_fails(b);
	bench_teardown(b);
	return 0;
}

/* ------------------------------------------------------------------ */
/* serve: the targets                                                  */

enum bench_skind { SK_LISTEN, SK_ECHO, SK_RR, SK_SINK, SK_SOURCE, SK_HTTP, SK_PACED };

/* Level-triggered; each wakeup does at most BENCH_BUDGET reads or writes. */
struct bench_sconn {
	int fd;
	enum bench_skind kind, child;  /* child: kind accepted from a listener */
	uint32_t events;               /* registered epoll mask */
	unsigned char *pend;           /* echo: bytes not yet written back */
	size_t pendlen, pendoff;
	uint64_t count, acked;
	unsigned char ack[8];
	size_t ackoff;                 /* 8: no acknowledgement in flight */
	struct bench_http_resp *http;  /* http: the request being read, the response sent */
	uint64_t t0;                   /* paced: when it was accepted (µs); count: bytes sent */
	struct bench_sconn *next;      /* paced: the server's list */
};

/* http: one response in progress (and the request bytes read so far). */
struct bench_http_resp {
	char req[1024];
	size_t reqlen;
	uint64_t body;         /* body bytes not yet framed */
	uint64_t chunk;        /* data bytes of the current chunk (or the whole body) left */
	uint64_t chunk_size;   /* 0: Content-Length framing */
	int sending, started, last;
	char frame[64];        /* framing bytes (headers, chunk lines) to send first */
	size_t framelen, frameoff;
};

struct bench_server {
	int ep;
	double pace;                   /* the paced target's bytes/s */
	struct bench_sconn *paced;     /* its connections */
	unsigned char buf[256 * 1024];
	unsigned char blob[BENCH_BLOB];
};

static void bench_sclose(struct bench_server *sv, struct bench_sconn *s)
{
	for (struct bench_sconn **pp = &sv->paced; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	epoll_ctl(sv->ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	free(s->pend);
	free(s->http);
	free(s);
}

static int bench_swant(struct bench_server *sv, struct bench_sconn *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (s->events == events)
		return 0;
	s->events = events;
	return epoll_ctl(sv->ep, EPOLL_CTL_MOD, s->fd, &ev);
}

static int bench_would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* rr: the request length is its first two bytes (big-endian); kept in
 * `acked`, with the bytes seen so far in `count`. */
static void bench_rr_in(struct bench_sconn *s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && s->count + i < 2; i++)
		s->acked = s->acked << 8 | p[i];
	s->count += n;
}

/* Echo: while bytes wait to be written back, stop reading and wait for
 * room, so a client that does not read cannot make us buffer without end. */
static int bench_serve_echo(struct bench_server *sv, struct bench_sconn *s)
{
	for (int i = 0; i < BENCH_BUDGET; i++) {
		ssize_t n, w;

		while (s->pendoff < s->pendlen) {
			w = send(s->fd, s->pend + s->pendoff, s->pendlen - s->pendoff, MSG_NOSIGNAL);
			if (w < 0)
				return bench_would_block() ? bench_swant(sv, s, EPOLLOUT) : -1;
			s->pendoff += (size_t)w;
		}
		s->pendlen = s->pendoff = 0;
		if (s->kind == SK_RR && s->count >= 2 && s->count >= s->acked)
			return -1;  /* the whole request is echoed: close first */
		if (bench_swant(sv, s, EPOLLIN) < 0)
			return -1;
		n = recv(s->fd, sv->buf, sizeof(sv->buf), 0);
		if (n == 0)
			return -1;
		if (n < 0)
			return bench_would_block() ? 0 : -1;
		if (s->kind == SK_RR)
			bench_rr_in(s, sv->buf, (size_t)n);
		w = send(s->fd, sv->buf, (size_t)n, MSG_NOSIGNAL);
		if (w < 0 && !bench_would_block())
			return -1;
		if (w < n) {
			size_t left = (size_t)(n - (w < 0 ? 0 : w));
			unsigned char *p = realloc(s->pend, left);

			if (p == NULL)
				return -1;
			memcpy(p, sv->buf + (n - (ssize_t)left), left);
			s->pend = p;
			s->pendlen = left;
			s->pendoff = 0;
		}
	}
	return 0;
}

/* Sends (or continues) an acknowledgement of the running count: when
 * `force` (the socket ran dry) or after BENCH_ACK_EVERY more bytes. */
static int bench_sink_ack(struct bench_server *sv, struct bench_sconn *s, int force)
{
	if (s->ackoff == 8) {
		if (s->count == s->acked || (!force && s->count - s->acked < BENCH_ACK_EVERY))
			return 0;
		for (int i = 0; i < 8; i++)
			s->ack[i] = (unsigned char)(s->count >> (56 - 8 * i));
		s->acked = s->count;
		s->ackoff = 0;
	}
	while (s->ackoff < 8) {
		ssize_t n = send(s->fd, s->ack + s->ackoff, 8 - s->ackoff, MSG_NOSIGNAL);

		if (n < 0)
			return bench_would_block() ? bench_swant(sv, s, EPOLLIN | EPOLLOUT) : -1;
		s->ackoff += (size_t)n;
	}
	return bench_swant(sv, s, EPOLLIN);
}

static int bench_serve_sink(struct bench_server *sv, struct bench_sconn *s)
{
	for (int i = 0; i < BENCH_BUDGET; i++) {
		ssize_t n = recv(s->fd, sv->buf, sizeof(sv->buf), 0);

		if (n == 0)
			return -1;
		if (n < 0)
			return bench_would_block() ? bench_sink_ack(sv, s, 1) : -1;
		s->count += (uint64_t)n;
		if (bench_sink_ack(sv, s, 0) < 0)
			return -1;
	}
	/*
	 * The budget ran out without seeing the socket dry: it may have been
	 * the last chunk, and no readiness would come again to force the
	 * final count out, so send it now.
	 */
	return bench_sink_ack(sv, s, 1);
}

static int bench_serve_source(struct bench_server *sv, struct bench_sconn *s)
{
	ssize_t n = recv(s->fd, sv->buf, sizeof(sv->buf), 0);

	if (n == 0 || (n < 0 && !bench_would_block()))
		return -1;
	for (int i = 0; i < BENCH_BUDGET; i++) {
		n = send(s->fd, sv->blob, BENCH_BLOB, MSG_NOSIGNAL);
		if (n < 0)
			return bench_would_block() ? 0 : -1;
	}
	return 0;
}

/* paced: a quarter of a second's worth at a time. */
static uint64_t bench_pace_chunk(const struct bench_server *sv)
{
	return (uint64_t)(sv->pace / 4) > 0 ? (uint64_t)(sv->pace / 4) : 1;
}

/* paced: when the connection may send its next chunk (µs): a chunk is owed
 * up front, then pace bytes a second. */
static uint64_t bench_pace_due(const struct bench_server *sv, const struct bench_sconn *s)
{
	return s->t0 + (uint64_t)((double)s->count * 1e6 / sv->pace);
}

/* paced: sends what is owed by now (a whole chunk once one is due); waits
 * for room when the socket is full. Returns -1 when the connection is gone. */
static int bench_serve_paced(struct bench_server *sv, struct bench_sconn *s, uint64_t now)
{
	uint64_t chunk = bench_pace_chunk(sv);
	uint64_t owed = (uint64_t)((double)(now - s->t0) * sv->pace / 1e6) + chunk;

	while (owed > s->count && owed - s->count >= (s->events & EPOLLOUT ? 1 : chunk)) {
		uint64_t left = owed - s->count;
		ssize_t n = send(s->fd, sv->blob, left < BENCH_BLOB ? (size_t)left : BENCH_BLOB,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return bench_would_block() ? bench_swant(sv, s, EPOLLIN | EPOLLOUT) : -1;
		s->count += (uint64_t)n;
	}
	return bench_swant(sv, s, EPOLLIN);
}

/* paced: what the client sends is read and dropped, its EOF ends the
 * connection; room in a full socket resumes the sending. */
static int bench_serve_paced_event(struct bench_server *sv, struct bench_sconn *s, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = recv(s->fd, sv->buf, sizeof(sv->buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && !bench_would_block()))
			return -1;
	}
	return events & EPOLLOUT ? bench_serve_paced(sv, s, bench_now_us()) : 0;
}

/* Parses the request in h->req (complete: ends with a blank line) and
 * starts its response. Returns -1 on a request it does not serve. */
static int bench_http_start(struct bench_http_resp *h)
{
	unsigned long long size, k = 0;
	char kind[16];

	if (sscanf(h->req, "GET /%15[a-z]/%llu/%llu", kind, &size, &k) < 2)
		return -1;
	h->body = size;
	h->chunk = 0;
	h->chunk_size = strcmp(kind, "chunked") == 0 ? (k ? k : 65536) : 0;
	if (h->chunk_size == 0 && strcmp(kind, "cl") != 0)
		return -1;
	if (h->chunk_size)
		h->framelen = (size_t)snprintf(h->frame, sizeof(h->frame), "HTTP/1.1 200 OK\r\n"
					       "Transfer-Encoding: chunked\r\n\r\n");
	else
		h->framelen = (size_t)snprintf(h->frame, sizeof(h->frame), "HTTP/1.1 200 OK\r\n"
					       "Content-Length: %llu\r\n\r\n", size);
	h->frameoff = 0;
	h->sending = 1;
	h->started = 0;
	h->last = 0;
	return 0;
}

/* The framing after the current chunk's data: the next chunk-size line, or
 * the last chunk; with Content-Length the whole body is one unframed chunk. */
static void bench_http_next(struct bench_http_resp *h)
{
	uint64_t n = h->body < h->chunk_size ? h->body : h->chunk_size;

	h->frameoff = h->framelen = 0;
	if (h->chunk_size == 0) {
		h->chunk = h->body;
		h->body = 0;
		h->last = 1;
		return;
	}
	h->framelen = (size_t)snprintf(h->frame, sizeof(h->frame), "%s%" PRIx64 "\r\n%s",
				       h->started ? "\r\n" : "", n, n ? "" : "\r\n");
	h->started = 1;
	h->chunk = n;
	h->body -= n;
	h->last = n == 0;
}

/* Sends the response: framing, then data from the blob. Returns 1 when it
 * is all sent, 0 on EAGAIN (or the budget spent), -1 on error. */
static int bench_http_send(struct bench_server *sv, struct bench_http_resp *h, int fd)
{
	for (int i = 0; i < BENCH_BUDGET; i++) {
		ssize_t n;

		if (h->frameoff < h->framelen) {
			n = send(fd, h->frame + h->frameoff, h->framelen - h->frameoff,
				 MSG_NOSIGNAL | (h->chunk ? MSG_MORE : 0));
			if (n < 0)
				return bench_would_block() ? 0 : -1;
			h->frameoff += (size_t)n;
		} else if (h->chunk > 0) {
			n = send(fd, sv->blob, h->chunk < BENCH_BLOB ? (size_t)h->chunk : BENCH_BLOB,
				 MSG_NOSIGNAL);
			if (n < 0)
				return bench_would_block() ? 0 : -1;
			h->chunk -= (uint64_t)n;
		} else if (h->last) {
			return 1;
		} else {
			bench_http_next(h);
		}
	}
	return 0;
}

/* http: reads a request (kept alive: one after another), then answers it. */
static int bench_serve_http(struct bench_server *sv, struct bench_sconn *s)
{
	struct bench_http_resp *h = s->http;

	if (h == NULL && (h = s->http = calloc(1, sizeof(*h))) == NULL)
		return -1;
	for (int i = 0; i < BENCH_BUDGET; i++) {
		ssize_t n;
		int r;

		if (h->sending) {
			r = bench_http_send(sv, h, s->fd);
			if (r <= 0)
				return r < 0 ? -1 : bench_swant(sv, s, EPOLLOUT);
			h->sending = 0;
			h->reqlen = 0;
		}
		if (bench_swant(sv, s, EPOLLIN) < 0)
			return -1;
		n = recv(s->fd, h->req + h->reqlen, sizeof(h->req) - 1 - h->reqlen, 0);
		if (n == 0)
			return -1;
		if (n < 0)
			return bench_would_block() ? 0 : -1;
		h->reqlen += (size_t)n;
		h->req[h->reqlen] = '\0';
		if (strstr(h->req, "\r\n\r\n") == NULL) {
			if (h->reqlen == sizeof(h->req) - 1)
				return -1;
			continue;
		}
		if (bench_http_start(h) < 0)
			return -1;
	}
	return 0;
}

static void bench_serve_accept(struct bench_server *sv, struct bench_sconn *l)
{
	static int warned;

	for (int i = 0; i < 64; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct bench_sconn *s;

		if (fd < 0) {
			if (!bench_would_block() && !warned++)
				fprintf(stderr, "socks5-bench serve: accept: %s\n", strerror(errno));
			return;
		}
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			close(fd);
			continue;
		}
		bench_nodelay(fd);
		s->fd = fd;
		s->kind = l->child;
		s->ackoff = 8;
		s->events = s->kind == SK_SOURCE ? EPOLLIN | EPOLLOUT : EPOLLIN;
		if (s->kind == SK_PACED) {
			s->t0 = bench_now_us();
			s->next = sv->paced;
			sv->paced = s;
		}
		ev.events = s->events;
		ev.data.ptr = s;
		if (epoll_ctl(sv->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(s);
		}
	}
}

static int bench_serve_listen(int ep, enum bench_skind child, const char *name)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct epoll_event ev = { .events = EPOLLIN };
	struct bench_sconn *l = calloc(1, sizeof(*l));
	int one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l == NULL)
		return -1;
	l->kind = SK_LISTEN;
	l->child = child;
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0 ||
	    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(l->fd, 4096) < 0 ||
	    getsockname(l->fd, (struct sockaddr *)&sin, &len) < 0) {
		fprintf(stderr, "socks5-bench serve: %s listener: %s\n", name, strerror(errno));
		return -1;
	}
	ev.data.ptr = l;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev) < 0)
		return -1;
	printf("%s %u\n", name, (unsigned)ntohs(sin.sin_port));
	return 0;
}

static int bench_serve(double duration, double pace)
{
	static struct bench_server sv;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint64_t end = bench_now_us() + bench_secs_us(duration);

	if (ep < 0)
		return 1;
	sv.ep = ep;
	sv.pace = pace;
	memset(sv.blob, 'x', BENCH_BLOB);
	if (bench_serve_listen(ep, SK_ECHO, "echo") < 0 ||
	    bench_serve_listen(ep, SK_RR, "rr") < 0 ||
	    bench_serve_listen(ep, SK_SINK, "sink") < 0 ||
	    bench_serve_listen(ep, SK_SOURCE, "source") < 0 ||
	    bench_serve_listen(ep, SK_HTTP, "http") < 0 ||
	    (pace > 0 && bench_serve_listen(ep, SK_PACED, "paced") < 0))
		return 1;
	fflush(stdout);
	while (!bench_stop && bench_now_us() < end) {
		struct epoll_event evs[256];
		uint64_t now = bench_now_us(), wait = 200000;
		int n;

		/* paced: wake for the first chunk due */
		for (struct bench_sconn *s = sv.paced; s != NULL; s = s->next) {
			uint64_t due = bench_pace_due(&sv, s);

			if (!(s->events & EPOLLOUT))
				wait = due <= now ? 0 : due - now < wait ? due - now : wait;
		}
		n = epoll_wait(ep, evs, 256, (int)((wait + 999) / 1000));

		for (int i = 0; i < n; i++) {
			struct bench_sconn *s = evs[i].data.ptr;
			int r = 0;

			switch (s->kind) {
			case SK_LISTEN: bench_serve_accept(&sv, s); continue;
			case SK_ECHO:
			case SK_RR: r = bench_serve_echo(&sv, s); break;
			case SK_SINK: r = bench_serve_sink(&sv, s); break;
			case SK_SOURCE: r = bench_serve_source(&sv, s); break;
			case SK_HTTP: r = bench_serve_http(&sv, s); break;
			case SK_PACED: r = bench_serve_paced_event(&sv, s, evs[i].events); break;
			}
			if (r < 0)
				bench_sclose(&sv, s);
		}
		for (struct bench_sconn *s = sv.paced, *next; s != NULL; s = next) {
			uint64_t t = bench_now_us();

			next = s->next;
			if (!(s->events & EPOLLOUT) && bench_pace_due(&sv, s) <= t &&
			    bench_serve_paced(&sv, s, t) < 0)
				bench_sclose(&sv, s);
		}
	}
	/* the process exits: the kernel closes what is left */
	return 0;
}

static int bench_ports(int n)
{
	int fds[64];

	if (n < 1 || n > 64)
		return 1;
	for (int i = 0; i < n; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t len = sizeof(sin);

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) < 0) {
			fprintf(stderr, "socks5-bench ports: %s\n", strerror(errno));
			return 1;
		}
		printf("%u\n", (unsigned)ntohs(sin.sin_port));
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* burst: first logins by distinct users vs. latency of what is running */

/*
 * One RFC 1929 login on a connection of its own, as user PREFIX<i>; the
 * connection is done when the proxy answers the login (or fails).
 */
struct bench_login {
	int fd;
	int step;         /* 0 connecting, 1 greeting sent, 2 login sent, 3 done */
	unsigned char in[2];
	size_t got;
};

/* A probe: a round trip measured again and again (tunnel echo or MASS request). */
struct bench_probe {
	int fd;
	int busy;
	uint64_t sent_us, last_us;
	size_t got;
	uint64_t max_us;
	struct bench_samples lat;
};

static int bench_block_io(int fd, int out, unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The measured tunnel: a blocking handshake through the proxy to the echo target. */
static int bench_burst_tunnel(struct bench *b)
{
	unsigned char buf[600], reply[10];
	struct timeval tv = { (time_t)b->timeout, 0 };
	size_t n;
	int fd = socket(b->proxy.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	bench_nodelay(fd);
	if (connect(fd, (struct sockaddr *)&b->proxy, b->proxylen) < 0)
		goto fail;
	n = bench_put_greeting(b, buf);
	if (bench_block_io(fd, 1, buf, n) < 0 || bench_block_io(fd, 0, reply, 2) < 0 ||
	    reply[0] != 5 || reply[1] != (b->user ? 2 : 0))
		goto fail;
	if (b->user) {
		n = bench_put_auth(b, buf);
		if (bench_block_io(fd, 1, buf, n) < 0 || bench_block_io(fd, 0, reply, 2) < 0 ||
		    reply[1] != 0)
			goto fail;
	}
	n = bench_put_request(b, buf);
	if (bench_block_io(fd, 1, buf, n) < 0 || bench_block_io(fd, 0, reply, 10) < 0 ||
	    reply[1] != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int bench_nb_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (const struct sockaddr *)ss, len) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Advances login l on readiness. Returns 1 when it is done (ok in *ok). */
static int bench_login_step(struct bench *b, struct bench_login *l, int i, int *ok)
{
	unsigned char buf[600];
	char name[300];
	size_t n;
	ssize_t r;

	*ok = 0;
	if (l->step == 0) {
		buf[0] = 5, buf[1] = 1, buf[2] = 2;
		if (send(l->fd, buf, 3, MSG_NOSIGNAL) != 3)
			return 1;
		l->step = 1;
		return 0;
	}
	r = recv(l->fd, l->in + l->got, 2 - l->got, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0)
		return 1;
	l->got += (size_t)r;
	if (l->got < 2)
		return 0;
	l->got = 0;
	if (l->step == 1) {
		if (l->in[1] != 2)
			return 1;
		snprintf(name, sizeof(name), "%s%d", b->burst_prefix, i);
		n = strlen(name);
		buf[0] = 1;
		buf[1] = (unsigned char)n;
		memcpy(buf + 2, name, n);
		buf[2 + n] = (unsigned char)strlen(b->burst_pass);
		memcpy(buf + 3 + n, b->burst_pass, strlen(b->burst_pass));
		n += 3 + strlen(b->burst_pass);
		if (send(l->fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
			return 1;
		l->step = 2;
		return 0;
	}
	*ok = l->in[1] == 0;
	return 1;
}

static void bench_probe_done(struct bench_probe *p, uint64_t now)
{
	uint64_t us = now - p->sent_us;

	bench_sample_add(&p->lat, us);
	if (us > p->max_us)
		p->max_us = us;
	p->busy = 0;
	p->last_us = now;
}

/* The echo probe: 16 bytes out every 5 ms, latency when all 16 are back. */
static int bench_echo_probe(struct bench_probe *p, short revents, uint64_t now)
{
	unsigned char buf[BENCH_CHECK_BYTES];
	ssize_t r;

	if (p->busy && (revents & (POLLIN | POLLHUP | POLLERR))) {
		r = recv(p->fd, buf, sizeof(buf) - p->got, 0);
		if (r <= 0 && !(r < 0 && errno == EAGAIN))
			return -1;
		if (r > 0 && (p->got += (size_t)r) == sizeof(buf))
			bench_probe_done(p, now);
	}
	if (!p->busy && now - p->last_us >= 5000) {
		memset(buf, 'e', sizeof(buf));
		if (send(p->fd, buf, sizeof(buf), MSG_NOSIGNAL) != (ssize_t)sizeof(buf))
			return -1;
		p->busy = 1;
		p->got = 0;
		p->sent_us = now;
	}
	return 0;
}

/*
 * The MASS probe, every 10 ms: connect, greeting, admin login, index 02 (a
 * counter), until the server's close; latency from connect to close.
 */
static int bench_mass_probe(struct bench *b, struct bench_probe *p, short revents, uint64_t now)
{
	unsigned char buf[600];
	size_t ul, pl;
	ssize_t r;

	if (!p->busy) {
		if (now - p->last_us < 10000)
			return 0;
		p->fd = bench_nb_connect(&b->mgmt, b->mgmtlen);
		if (p->fd < 0)
			return -1;
		p->busy = 1;
		p->got = 0;
		p->sent_us = now;
		return 0;
	}
	if (p->got == 0 && (revents & POLLOUT)) {
		ul = strlen(b->admin);
		pl = strlen(b->admin_pass);
		buf[0] = 1, buf[1] = 1, buf[2] = 2, buf[3] = 1;
		buf[4] = (unsigned char)ul;
		memcpy(buf + 5, b->admin, ul);
		buf[5 + ul] = (unsigned char)pl;
		memcpy(buf + 6 + ul, b->admin_pass, pl);
		buf[6 + ul + pl] = 0x02;
		if (send(p->fd, buf, 7 + ul + pl, MSG_NOSIGNAL) != (ssize_t)(7 + ul + pl))
			return -1;
		p->got = 1;
	}
	if (p->got && (revents & (POLLIN | POLLHUP | POLLERR))) {
		while ((r = recv(p->fd, buf, sizeof(buf), 0)) > 0)
			;
		if (r == 0 || (r < 0 && errno != EAGAIN)) {
			close(p->fd);
			p->fd = -1;
			bench_probe_done(p, now);
		}
	}
	return 0;
}

static void bench_burst_report(struct bench *b, int ok, int failed, uint64_t us,
			       struct bench_probe *echo, struct bench_probe *mass)
{
	bench_sort(&echo->lat);
	bench_sort(&mass->lat);
	printf("burst logins=%d ok=%d failed=%d secs=%.3f echo_samples=%zu echo_p99_ms=%.3f "
	       "echo_max_ms=%.3f mass_samples=%zu mass_p99_ms=%.3f mass_max_ms=%.3f\n",
	       b->clients, ok, failed, (double)us / 1e6, echo->lat.n,
	       bench_pct(&echo->lat, 0.99) / 1e3, (double)echo->max_us / 1e3, mass->lat.n,
	       bench_pct(&mass->lat, 0.99) / 1e3, (double)mass->max_us / 1e3);
	(void)b;
}

/*
 * burst: -c first logins by distinct users (PREFIX0.., all at once) while an
 * established tunnel's echo and (with --admin) a MASS request are timed
 * over and over; reports the worst of each. Long because it is one poll
 * loop over three kinds of connection, each step a few lines.
 */
static int bench_run_burst(struct bench *b)
{
	int n = b->clients, ok = 0, failed = 0, left = n, rc = 0;
	struct bench_login *l = calloc((size_t)n, sizeof(*l));
	struct pollfd *pfd = calloc((size_t)n + 2, sizeof(*pfd));
	struct bench_probe echo = { .fd = -1 }, mass = { .fd = -1 };
	uint64_t start, deadline, now, after = 0;

	if (!l || !pfd)
		return 1;
	echo.fd = bench_burst_tunnel(b);
	if (echo.fd < 0) {
		fprintf(stderr, "socks5-bench burst: no tunnel to the echo target\n");
		return 1;
	}
	fcntl(echo.fd, F_SETFL, O_NONBLOCK);
	start = bench_now_us();
	for (int i = 0; i < n; i++)
		if ((l[i].fd = bench_nb_connect(&b->proxy, b->proxylen)) < 0) {
			l[i].step = 3;
			failed++;
			left--;
		}
	deadline = start + bench_secs_us(b->timeout) + (uint64_t)n * 1000;
	/* keep probing 200 ms after the last login, so its answer's aftermath is seen */
	while (!bench_stop && (now = bench_now_us()) < deadline &&
	       (left > 0 || now - after < 200000)) {
		int k = 0;

		pfd[k++] = (struct pollfd){ echo.fd, POLLIN, 0 };
		pfd[k++] = (struct pollfd){ b->admin && mass.busy ? mass.fd : -1,
					    mass.got ? POLLIN : POLLOUT, 0 };
		for (int i = 0; i < n; i++)
			pfd[k++] = (struct pollfd){ l[i].step < 3 ? l[i].fd : -1,
						    l[i].step ? POLLIN : POLLOUT, 0 };
		if (poll(pfd, (nfds_t)k, 1) < 0 && errno != EINTR)
			break;
		now = bench_now_us();
		if (bench_echo_probe(&echo, pfd[0].revents, now) < 0) {
			fprintf(stderr, "socks5-bench burst: the tunnel broke\n");
			rc = 1;
			break;
		}
		if (b->admin && bench_mass_probe(b, &mass, pfd[1].revents, now) < 0) {
			fprintf(stderr, "socks5-bench burst: MASS probe: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			int good;

			if (l[i].step == 3 || !pfd[2 + i].revents)
				continue;
			if (bench_login_step(b, &l[i], i, &good)) {
				l[i].step = 3;
				close(l[i].fd);
				good ? ok++ : failed++;
				if (--left == 0)
					after = now;
			}
		}
	}
	bench_burst_report(b, ok, failed + left, (after ? after : bench_now_us()) - start,
			   &echo, &mass);
	for (int i = 0; i < n; i++)
		if (l[i].step < 3)
			close(l[i].fd);
	close(echo.fd);
	if (mass.fd >= 0)
		close(mass.fd);
	free(echo.lat.v);
	free(mass.lat.v);
	free(l);
	free(pfd);
	return rc || left > 0 || failed > 0;
}

/* ------------------------------------------------------------------ */
/* http: GET after GET on kept-alive connections, Basic credentials on each */

/* The response body parser of one connection (Content-Length or chunked). */
struct bench_http_in {
	enum { HI_HEAD, HI_DATA, HI_SIZE, HI_CRLF, HI_TRAILER, HI_DONE } st;
	int chunked;
	uint64_t left;         /* HI_DATA: bytes of body or chunk left; HI_CRLF: 2.. */
	char line[1024];       /* the header, chunk-size or trailer line being read */
	size_t linelen;
	uint64_t body;         /* body bytes seen */
};

/* A whole line of the response (CRLF stripped). Returns -1 when it does not parse. */
static int bench_http_line(struct bench_http_in *in)
{
	char *l = in->line;

	if (in->st == HI_HEAD) {
		if (in->linelen == 0) {
			in->st = in->chunked ? HI_SIZE : in->left ? HI_DATA : HI_DONE;
			return 0;
		}
		if (strncasecmp(l, "Content-Length:", 15) == 0)
			in->left = strtoull(l + 15, NULL, 10);
		else if (strncasecmp(l, "Transfer-Encoding:", 18) == 0)
			in->chunked = strstr(l, "chunked") != NULL;
		else if (strncmp(l, "HTTP/1.1 ", 9) == 0 && strncmp(l + 9, "200", 3) != 0)
			return -1;
		return 0;
	}
	if (in->st == HI_SIZE) {
		char *end;

		in->left = strtoull(l, &end, 16);
		if (end == l)
			return -1;
		in->st = in->left ? HI_DATA : HI_TRAILER;
		return 0;
	}
	if (in->st == HI_TRAILER && in->linelen == 0)
		in->st = HI_DONE;
	return 0;
}

/* Feeds received bytes. Returns the bytes used (the response may end
 * before n), or -1 when the response does not parse. */
static ssize_t bench_http_in(struct bench_http_in *in, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && in->st != HI_DONE) {
		if (in->st == HI_DATA || in->st == HI_CRLF) {
			size_t take = in->left < n - i ? (size_t)in->left : n - i;

			if (in->st == HI_DATA)
				in->body += take;
			in->left -= take;
			i += take;
			if (in->left == 0 && in->st == HI_DATA)
				in->st = !in->chunked ? HI_DONE : (in->left = 2, HI_CRLF);
			else if (in->left == 0)
				in->st = HI_SIZE;
			continue;
		}
		if (p[i] == '\n') {
			if (in->linelen > 0 && in->line[in->linelen - 1] == '\r')
				in->linelen--;
			in->line[in->linelen] = '\0';
			if (bench_http_line(in) < 0)
				return -1;
			in->linelen = 0;
		} else if (in->linelen < sizeof(in->line) - 1) {
			in->line[in->linelen++] = (char)p[i];
		}
		i++;
	}
	return (ssize_t)i;
}

static size_t bench_base64(const char *s, size_t len, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)s[i + 2];
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < len ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? t[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* One kept-alive connection: up to b->requests GETs (fewer once until is
 * past); the body bytes go to *bytes. Returns the requests answered in
 * full, -1 when the connection failed or a response broke. */
static int bench_http_conn(struct bench *b, const char *req, size_t reqlen, uint64_t until,
			   uint64_t *bytes)
{
	static unsigned char buf[256 * 1024];
	struct timeval tv = { (time_t)b->timeout, 0 };
	int fd, done = 0;

	if (b->direct) {
		fd = socket(b->target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&b->target, b->targetlen) < 0) {
			close(fd);
			fd = -1;
		}
	} else {
		fd = bench_burst_tunnel(b);
	}
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (; done < b->requests && (done == 0 || bench_now_us() < until) && !bench_stop; done++) {
		struct bench_http_in in = { .st = HI_HEAD };

		if (bench_block_io(fd, 1, (unsigned char *)req, reqlen) < 0) {
			done = -1;
			break;
		}
		while (in.st != HI_DONE) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || bench_http_in(&in, buf, (size_t)n) != n) {
				done = -1;  /* closed, or bytes past the response: broken */
				break;
			}
			*bytes += in.body;
			in.body = 0;
		}
		if (done < 0)
			break;
	}
	close(fd);
	return done;
}

/*
 * http: connections one after another, each asking --requests GETs of
 * --path (kept alive, the Basic credentials of --basic on each), until
 * --duration; MiB/s of body bytes received.
 */
static int bench_run_http(struct bench *b)
{
	char req[1024], cred[600], b64[820];
	uint64_t start = bench_now_us(), until = start + bench_secs_us(b->duration), bytes = 0;
	int n, conns = 0, requests = 0, failed = 0;
	double secs;

	n = snprintf(cred, sizeof(cred), "%s", b->basic ? b->basic : "bench:bench");
	bench_base64(cred, (size_t)n, b64);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\nUser-Agent: socks5-bench\r\n"
		     "Authorization: Basic %s\r\nAccept: */*\r\n\r\n", b->path, b64);
	if (n <= 0 || (size_t)n >= sizeof(req))
		return 2;
	while (!bench_stop && bench_now_us() < until) {
		int r = bench_http_conn(b, req, (size_t)n, until, &bytes);

		conns++;
		if (r < 0) {
			failed++;
			break;
		}
		requests += r;
	}
	secs = (double)(bench_now_us() - start) / 1e6;
	printf("http conns=%d requests=%d bytes=%" PRIu64 " secs=%.3f mib_s=%.1f failed=%d\n",
	       conns, requests, bytes, secs, (double)bytes / 1048576.0 / secs, failed);
	return failed > 0;
}

/* ------------------------------------------------------------------ */
/* command line                                                        */

static void bench_usage(FILE *f)
{
	fputs("usage: socks5-bench serve [-d SECONDS] [--pace BYTES]\n"
	      "       socks5-bench ports N\n"
	      "       socks5-bench tps|bulk|idle (--proxy HOST:PORT | --direct) --target HOST:PORT\n"
	      "                    [-c N] [-d SECONDS] [--auth USER:PASS] [--pipeline] [--http]\n"
	      "                    [--size BYTES] [--timeout SECONDS] [--down]\n"
	      "                    [--hold SECONDS] [--hold-stdin] [--burst N]\n"
	      "                    [--users PREFIX:PASS] [--mgmt HOST:PORT] [--admin USER:PASS]\n"
	      "                    [--path PATH] [--basic USER:PASS] [--requests N]\n"
	      "  tps   N clients (-c, default 64) loop: connect, handshake, CONNECT\n"
	      "        (--http: an HTTP CONNECT head instead of SOCKS5),\n"
	      "        --size bytes (default 64, 2..65535) echoed by an rr target,\n"
	      "        which then closes; close\n"
	      "  bulk  -c streams (default 1) push to a sink target (--down: read from\n"
	      "        a source target); MiB/s at the receiver\n"
	      "  idle  open -c tunnels (default 1000, --burst at a time), hold them\n"
	      "        (--hold seconds, or until a line on stdin with --hold-stdin),\n"
	      "        then check each with a 16-byte round trip\n"
	      "  burst -c first logins at once (default 500) by users PREFIX0..PREFIXn-1\n"
	      "        (--users PREFIX:PASS) while a tunnel to an echo --target (--auth\n"
	      "        for its own login) and, with --mgmt HOST:PORT --admin USER:PASS,\n"
	      "        a MASS request are timed over and over; worst latencies\n"
	      "  http  kept-alive connections one after another, each --requests GETs\n"
	      "        (default 4) of --path (/cl/SIZE or /chunked/SIZE/K on the serve\n"
	      "        http target) with Basic credentials (--basic USER:PASS) on each;\n"
	      "        MiB/s of body received\n", f);
}

static int bench_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

static int bench_parse_auth(struct bench *b, char *arg)
{
	char *colon = strchr(arg, ':');

	if (colon == NULL || colon == arg || colon[1] == '\0' ||
	    colon - arg > 255 || strlen(colon + 1) > 255)
		return -1;
	*colon = '\0';
	b->user = arg;
	b->pass = colon + 1;
	return 0;
}

static int bench_parse_opt(struct bench *b, int opt, char *arg)
{
	const char *u, *p;
	double v;

	switch (opt) {
	case 'U':
	case 'A':
		u = b->user, p = b->pass;
		if (bench_parse_auth(b, arg) < 0)
			return -1;
		if (opt == 'U')
			b->burst_prefix = b->user, b->burst_pass = b->pass;
		else
			b->admin = b->user, b->admin_pass = b->pass;
		b->user = u, b->pass = p;
		return 0;
	case 'M':
		return bench_parse_hostport(arg, &b->mgmt, &b->mgmtlen);
	case 'x':
		return bench_parse_hostport(arg, &b->proxy, &b->proxylen);
	case 't':
		return bench_parse_hostport(arg, &b->target, &b->targetlen);
	case 'D': b->direct = 1; return 0;
	case 'a': return bench_parse_auth(b, arg);
	case 'p': b->pipeline = 1; return 0;
	case 'K': b->http = 1; return 0;
	case 'c':
		if (bench_num(arg, 1, BENCH_MAX_CONNS, &v) < 0)
			return -1;
		b->clients = (int)v;
		return 0;
	case 'd': return bench_num(arg, 0.01, 86400, &b->duration);
	case 's':
		if (bench_num(arg, 2, 65535, &v) < 0)
			return -1;
		b->size = (size_t)v;
		return 0;
	case 'T': return bench_num(arg, 0.01, 3600, &b->timeout);
	case 'w': b->down = 1; return 0;
	case 'H': return bench_num(arg, 0, 3600, &b->hold);
	case 'I': b->hold_stdin = 1; return 0;
	case 'b':
		if (bench_num(arg, 1, BENCH_MAX_CONNS, &v) < 0)
			return -1;
		b->burst = (int)v;
		return 0;
	case 'P': b->path = arg; return 0;
	case 'B': b->basic = arg; return strlen(arg) < 512 ? 0 : -1;
	case 'R':
		if (bench_num(arg, 1, 1000000, &v) < 0)
			return -1;
		b->requests = (int)v;
		return 0;
	case 'Z': return bench_num(arg, 1024, 1e10, &b->pace);
	default:
		return -1;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "proxy", required_argument, NULL, 'x' },
		{ "target", required_argument, NULL, 't' },
		{ "direct", no_argument, NULL, 'D' },
		{ "auth", required_argument, NULL, 'a' },
		{ "pipeline", no_argument, NULL, 'p' },
		{ "http", no_argument, NULL, 'K' },
		{ "clients", required_argument, NULL, 'c' },
		{ "streams", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "down", no_argument, NULL, 'w' },
		{ "hold", required_argument, NULL, 'H' },
		{ "hold-stdin", no_argument, NULL, 'I' },
		{ "burst", required_argument, NULL, 'b' },
		{ "users", required_argument, NULL, 'U' },
		{ "mgmt", required_argument, NULL, 'M' },
		{ "admin", required_argument, NULL, 'A' },
		{ "path", required_argument, NULL, 'P' },
		{ "basic", required_argument, NULL, 'B' },
		{ "requests", required_argument, NULL, 'R' },
		{ "pace", required_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct bench b;
	const char *mode;
	struct sigaction sa = { .sa_handler = bench_on_signal };
	int opt, clients_set = 0;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		bench_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	mode = argv[1];
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	bench_raise_nofile();
	if (strcmp(mode, "ports") == 0)
		return argc == 3 ? bench_ports(atoi(argv[2])) : 2;

	b.duration = strcmp(mode, "serve") == 0 ? 3600 : 5;
	b.timeout = 5;
	b.size = 64;
	b.hold = 1;
	b.burst = 256;
	b.requests = 4;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			bench_usage(stdout);
			return 0;
		}
		if (opt == 'c')
			clients_set = 1;
		if (opt == '?' || bench_parse_opt(&b, opt, optarg) < 0) {
			fprintf(stderr, "socks5-bench: bad option %s%s%s\n",
				argv[optind - 1], optarg ? " " : "", optarg ? optarg : "");
			return 2;
		}
	}
	if (optind != argc) {
		bench_usage(stderr);
		return 2;
	}
	if (strcmp(mode, "serve") == 0)
		return bench_serve(b.duration, b.pace);
	if (strcmp(mode, "tps") == 0)
		b.mode = MODE_TPS;
	else if (strcmp(mode, "bulk") == 0)
		b.mode = MODE_BULK;
	else if (strcmp(mode, "idle") == 0)
		b.mode = MODE_IDLE;
	else if (strcmp(mode, "burst") == 0)
		b.mode = MODE_BURST;
	else if (strcmp(mode, "http") == 0)
		b.mode = MODE_HTTP;
	else {
		fprintf(stderr, "socks5-bench: unknown mode '%s'\n", mode);
		return 2;
	}
	if (!clients_set)
		b.clients = b.mode == MODE_TPS ? 64 : b.mode == MODE_BULK ? 1 :
			    b.mode == MODE_BURST ? 500 : 1000;
	if (b.targetlen == 0 || (!b.direct && b.proxylen == 0)) {
		fprintf(stderr, "socks5-bench: need --target and one of --proxy or --direct\n");
		return 2;
	}
	if (b.direct && b.pipeline)
		b.pipeline = 0;
	if (b.mode == MODE_BURST) {
		if (b.direct || !b.burst_prefix || (b.admin && !b.mgmtlen)) {
			fprintf(stderr, "socks5-bench burst: needs --proxy, --users, and --mgmt "
					"with --admin\n");
			return 2;
		}
		return bench_run_burst(&b);
	}
	if (b.mode == MODE_HTTP) {
		if (b.path == NULL) {
			fprintf(stderr, "socks5-bench http: needs --path\n");
			return 2;
		}
		return bench_run_http(&b);
	}
	if (b.mode == MODE_TPS)
		return bench_run_tps(&b);
	if (b.mode == MODE_BULK)
		return bench_run_bulk(&b);
	return bench_run_idle(&b);
}
