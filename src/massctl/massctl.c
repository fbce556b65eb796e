/*
 * massctl: the command-line MASS client. One request per connection (the
 * protocol's rule), each connection bounded by -t seconds from connect to
 * the end of the reply. See massctl(1).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "massctl_cli.h"
#include "massctl_wire.h"
#include "core/net.h"

/* One connection: its socket and when it must be over. */
struct massctl_conn {
	int fd;
	int64_t deadline_ms;
};

/* A failure: its exit status and a one-line reason. */
struct massctl_fail {
	int code;
	char msg[256];
};

static int64_t massctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int massctl_fail(struct massctl_fail *f, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int massctl_fail(struct massctl_fail *f, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	f->code = code;
	return -1;
}

/* A malformed reply: the decoder already wrote the reason into f->msg. */
static int massctl_protocol(struct massctl_fail *f)
{
	f->code = MASSCTL_EXIT_PROTOCOL;
	return -1;
}

/* Waits for events on fd until the deadline. Returns 0, or -1 on timeout or error. */
static int massctl_wait(const struct massctl_conn *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };

	for (;;) {
		int64_t left = c->deadline_ms - massctl_now_ms();
		int r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int massctl_try_connect(struct massctl_conn *c, const struct addrinfo *ai)
{
	c->fd = net_connect_start(ai->ai_addr, ai->ai_addrlen);
	if (c->fd < 0)
		return -1;
	if (massctl_wait(c, POLLOUT) == 0) {
		int e = net_socket_error(c->fd);

		if (e == 0)
			return 0;
		errno = e;
	}
	int saved = errno;

	close(c->fd);
	c->fd = -1;
	errno = saved;
	return -1;
}

/* Resolves host and connects to the first address that answers. */
static int massctl_connect(const struct massctl_opts *o, struct massctl_conn *c,
			   struct massctl_fail *f)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int r, e = 0;

	c->deadline_ms = massctl_now_ms() + (int64_t)o->timeout * 1000;
	c->fd = -1;
	r = getaddrinfo(o->host, o->port, &hints, &res);
	if (r != 0)
		return massctl_fail(f, MASSCTL_EXIT_UNAVAILABLE, "%s: %s", o->host,
				    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		if (massctl_try_connect(c, ai) == 0)
			break;
		e = errno;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return massctl_fail(f, MASSCTL_EXIT_UNAVAILABLE, "connect to %s port %s: %s",
				    o->host, o->port, strerror(e ? e : ECONNREFUSED));
	return 0;
}

static int massctl_send(const struct massctl_conn *c, const uint8_t *buf, size_t len,
			struct massctl_fail *f)
{
	while (len > 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return massctl_fail(f, MASSCTL_EXIT_UNAVAILABLE, "send: %s", strerror(errno));
		} else if (massctl_wait(c, POLLOUT) < 0) {
			return massctl_fail(f, MASSCTL_EXIT_UNAVAILABLE, "send: %s", strerror(errno));
		}
	}
	return 0;
}

/*
 * Reads until want octets or EOF (want 0: until EOF), at most cap octets.
 * Returns the number read, or -1.
 */
static long massctl_recv(const struct massctl_conn *c, uint8_t *buf, size_t cap,
			 size_t want, struct massctl_fail *f)
{
	size_t got = 0;

	while (want == 0 || got < want) {
		ssize_t n;

		if (got == cap) {
			char probe;

			/* Full: only EOF may follow. */
			n = recv(c->fd, &probe, 1, 0);
			if (n == 0)
				break;
			if (n > 0)
				return massctl_fail(f, MASSCTL_EXIT_PROTOCOL,
						    "reply longer than %zu octets", cap);
		} else {
			n = recv(c->fd, buf + got, cap - got, 0);
			if (n == 0)
				break;
			if (n > 0) {
				got += (size_t)n;
				continue;
			}
		}
		if (errno == ECONNRESET && want == 0)
			break;   /* a close right after the reply may arrive as a reset */
		if ((errno != EAGAIN && errno != EINTR) || massctl_wait(c, POLLIN) < 0)
			return massctl_fail(f, MASSCTL_EXIT_UNAVAILABLE, "receive: %s",
					    strerror(errno));
	}
	return (long)got;
}

/* Greeting and, with a login, the RFC 1929 sub-negotiation. */
static int massctl_handshake(const struct massctl_opts *o, struct massctl_conn *c,
			     struct massctl_fail *f)
{
	uint8_t buf[3 + 2 * 256], rep[2];
	size_t used;
	long n;
	int r;

	used = (size_t)massctl_greeting(o->login, buf, sizeof(buf));
	if (massctl_send(c, buf, used, f) < 0 || (n = massctl_recv(c, rep, 2, 2, f)) < 0)
		return -1;
	if (n < 2)
		return massctl_fail(f, MASSCTL_EXIT_PROTOCOL,
				    "connection closed during the greeting");
	r = massctl_greeting_reply(o->login, rep, f->msg, sizeof(f->msg));
	if (r < 0) {
		f->code = r == -2 ? MASSCTL_EXIT_NOPERM : MASSCTL_EXIT_PROTOCOL;
		return -1;
	}
	if (r != MASSCTL_METHOD_LOGIN)
		return 0;
	if (massctl_login(o->admin, o->admin_len, o->pass, o->pass_len, buf, sizeof(buf),
			  &used, f->msg, sizeof(f->msg)) < 0) {
		f->code = MASSCTL_EXIT_USAGE;
		return -1;
	}
	if (massctl_send(c, buf, used, f) < 0 || (n = massctl_recv(c, rep, 2, 2, f)) < 0)
		return -1;
	if (n < 2)
		return massctl_fail(f, MASSCTL_EXIT_NOPERM,
				    "connection closed during the admin login");
	r = massctl_login_reply(rep, f->msg, sizeof(f->msg));
	if (r < 0) {
		f->code = r == -2 ? MASSCTL_EXIT_NOPERM : MASSCTL_EXIT_PROTOCOL;
		return -1;
	}
	return 0;
}

/* One whole exchange: connect, log in, send req, read the reply to EOF into rep. */
static long massctl_exchange(const struct massctl_opts *o, const uint8_t *req, size_t len,
			     uint8_t *rep, size_t cap, struct massctl_fail *f)
{
	struct massctl_conn c;
	long n = -1;

	if (massctl_connect(o, &c, f) < 0)
		return -1;
	if (massctl_handshake(o, &c, f) == 0 && massctl_send(&c, req, len, f) == 0)
		n = massctl_recv(&c, rep, cap, 0, f);
	close(c.fd);
	return n;
}

/* Prints a name as a JSON string: at most 255 octets, so 6 * 255 + 3 always fits. */
static void massctl_json_print(const char *s, size_t len)
{
	char buf[6 * 255 + 3];

	massctl_json_string(s, len, buf, sizeof(buf));
	fputs(buf, stdout);
}

static void massctl_print_indexes(const struct massctl_opts *o, const uint8_t *ix, size_t n)
{
	if (o->json)
		fputs("{\"indexes\":[", stdout);
	for (size_t i = 0; i < n; i++)
		printf(o->json ? "%s\"%02x\"" : "%s%02x\n", o->json && i ? "," : "", ix[i]);
	if (o->json)
		fputs("]}\n", stdout);
}

static void massctl_print_users(const struct massctl_opts *o,
				const struct massctl_name *names, size_t n)
{
	if (o->json)
		fputs("{\"users\":[", stdout);
	for (size_t i = 0; i < n; i++) {
		if (o->json) {
			if (i)
				putchar(',');
			massctl_json_print(names[i].name, names[i].len);
		} else {
			printf("%.*s\n", (int)names[i].len, names[i].name);
		}
	}
	if (o->json)
		fputs("]}\n", stdout);
}

/* Why a status failed, in the words of the command that got it. */
static void massctl_status_reason(const struct massctl_opts *o, uint8_t status,
				  struct massctl_fail *f)
{
	const char *why;

	switch (status) {
	case MASS_STATUS_ERROR:
		why = o->cmd == MASSCTL_CMD_ADD_USER ? "user exists or cannot be added"
		    : o->cmd == MASSCTL_CMD_DEL_USER ? "no such user or cannot be deleted"
		    : "server error";
		break;
	case MASS_STATUS_UNSUPPORTED:
		why = "index not supported by the server";
		break;
	case MASS_STATUS_USER_LIMIT:
		why = "user limit reached";
		break;
	default:
		why = "request failed";
		break;
	}
	snprintf(f->msg, sizeof(f->msg), "%s (status %02x)", why, status);
	f->code = massctl_exit_for_status(status);
}

/*
 * Decodes a reply for cmd. Returns 0 and prints it when the status is 00;
 * otherwise -1 with f set.
 */
static int massctl_show(const struct massctl_opts *o, const uint8_t *buf, size_t len,
			struct massctl_fail *f)
{
	static uint8_t ix[256];
	static struct massctl_name names[256];
	struct massctl_reply r;
	size_t n = 0;
	int ok;

	if (massctl_reply_split(buf, len, &r, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (o->cmd == MASSCTL_CMD_INDEXES)
		ok = massctl_decode_indexes(&r, ix, &n, f->msg, sizeof(f->msg));
	else if (o->cmd == MASSCTL_CMD_USERS)
		ok = massctl_decode_users(&r, names, &n, f->msg, sizeof(f->msg));
	else
		ok = massctl_decode_empty(&r, f->msg, sizeof(f->msg));
	if (ok < 0)
		return massctl_protocol(f);
	if (r.status != MASS_STATUS_OK) {
		massctl_status_reason(o, r.status, f);
		return -1;
	}
	if (o->cmd == MASSCTL_CMD_INDEXES)
		massctl_print_indexes(o, ix, n);
	else if (o->cmd == MASSCTL_CMD_USERS)
		massctl_print_users(o, names, n);
	else if (o->json)
		fputs("{\"status\":\"00\"}\n", stdout);
	return 0;
}

/* stats: one connection per counter; an unserved counter is skipped (exit 2). */
static int massctl_stats(const struct massctl_opts *o, struct massctl_fail *f)
{
	uint32_t vals[MASSCTL_NCOUNTERS];
	bool have[MASSCTL_NCOUNTERS];
	int missing = 0;
	uint8_t rep[16];

	for (unsigned i = 0; i < MASSCTL_NCOUNTERS; i++) {
		uint8_t req = (uint8_t)(MASSCTL_IX_FIRST_COUNTER + i);
		struct massctl_reply r;
		long n = massctl_exchange(o, &req, 1, rep, sizeof(rep), f);

		if (n < 0)
			return -1;
		if (massctl_reply_split(rep, (size_t)n, &r, f->msg, sizeof(f->msg)) < 0 ||
		    massctl_decode_u32(&r, &vals[i], f->msg, sizeof(f->msg)) < 0)
			return massctl_protocol(f);
		have[i] = r.status == MASS_STATUS_OK;
		if (r.status == MASS_STATUS_UNSUPPORTED) {
			fprintf(stderr, "massctl: stats: %s (index %02x) not served, skipped\n",
				massctl_counter_name(req), req);
			missing++;
		} else if (r.status != MASS_STATUS_OK) {
			massctl_status_reason(o, r.status, f);
			return -1;
		}
	}
	if (o->json)
		putchar('{');
	for (unsigned i = 0; i < MASSCTL_NCOUNTERS; i++) {
		const char *name = massctl_counter_name(MASSCTL_IX_FIRST_COUNTER + i);

		if (o->json && have[i])
			printf("%s\"%s\":%lu", i ? "," : "", name, (unsigned long)vals[i]);
		else if (o->json)
			printf("%s\"%s\":null", i ? "," : "", name);
		else if (have[i])
			printf("%s %lu\n", name, (unsigned long)vals[i]);
	}
	if (o->json)
		fputs("}\n", stdout);
	if (missing)
		return massctl_fail(f, MASSCTL_EXIT_UNSUPPORTED,
				    "%d counter(s) not served by the server", missing);
	return 0;
}

/* raw: prints status and fields in hex whatever the status. */
static int massctl_raw(const struct massctl_opts *o, const uint8_t *req,
		       const uint8_t *buf, size_t len, struct massctl_fail *f)
{
	struct massctl_reply r;
	char *hex;

	if (massctl_reply_split(buf, len, &r, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	hex = malloc(2 * r.len + 1);
	if (!hex)
		return massctl_fail(f, MASSCTL_EXIT_SOFTWARE, "out of memory");
	massctl_hex_encode(r.data, r.len, hex, 2 * r.len + 1);
	if (o->json)
		printf("{\"index\":\"%02x\",\"status\":\"%02x\",\"data\":\"%s\"}\n",
		       req[0], r.status, hex);
	else
		printf("status %02x\ndata%s%s\n", r.status, r.len ? " " : "", hex);
	free(hex);
	if (r.status != MASS_STATUS_OK) {
		massctl_status_reason(o, r.status, f);
		return -1;
	}
	return 0;
}

static int massctl_run(const struct massctl_opts *o, struct massctl_fail *f)
{
	static uint8_t req[MASSCTL_REQ_MAX];
	uint8_t *rep;
	size_t used;
	long n;
	int r;

	if (o->cmd == MASSCTL_CMD_STATS)
		return massctl_stats(o, f);
	if (massctl_cli_request(o, req, sizeof(req), &used, f->msg, sizeof(f->msg)) < 0) {
		f->code = MASSCTL_EXIT_USAGE;
		return -1;
	}
	rep = malloc(MASSCTL_REPLY_MAX);
	if (!rep)
		return massctl_fail(f, MASSCTL_EXIT_SOFTWARE, "out of memory");
	n = massctl_exchange(o, req, used, rep, MASSCTL_REPLY_MAX, f);
	if (n < 0)
		r = -1;
	else if (o->cmd == MASSCTL_CMD_RAW)
		r = massctl_raw(o, req, rep, (size_t)n, f);
	else
		r = massctl_show(o, rep, (size_t)n, f);
	free(rep);
	return r;
}

int main(int argc, char **argv)
{
	struct massctl_opts o;
	struct massctl_fail f = { .code = 0 };
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (massctl_cli_parse(&o, argc, argv, getenv("MASS_ADMIN"), f.msg, sizeof(f.msg)) < 0) {
		fprintf(stderr, "massctl: %s\n", f.msg);
		return MASSCTL_EXIT_USAGE;
	}
	if (o.help) {
		fputs(massctl_usage, stdout);
		return 0;
	}
	if (o.version) {
		puts("massctl " PACKAGE_VERSION);
		return 0;
	}
	r = massctl_run(&o, &f);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "massctl: writing output: %s\n", strerror(errno));
		return MASSCTL_EXIT_IOERR;
	}
	if (r < 0) {
		/* "massctl: add-user bob: ..." names the user the failure is about. */
		bool named = o.cmd == MASSCTL_CMD_ADD_USER || o.cmd == MASSCTL_CMD_DEL_USER;

		fprintf(stderr, "massctl: %s%s%s: %s\n", o.cmd_name, named ? " " : "",
			named ? o.args[0] : "", f.msg);
		return f.code;
	}
	return 0;
}
