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

static int64_t massctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
		return massctl_fail_set(f, MASSCTL_EXIT_UNAVAILABLE, "%s: %s", o->host,
				    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		if (massctl_try_connect(c, ai) == 0)
			break;
		e = errno;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return massctl_fail_set(f, MASSCTL_EXIT_UNAVAILABLE, "connect to %s port %s: %s",
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
			return massctl_fail_set(f, MASSCTL_EXIT_UNAVAILABLE, "send: %s", strerror(errno));
		} else if (massctl_wait(c, POLLOUT) < 0) {
			return massctl_fail_set(f, MASSCTL_EXIT_UNAVAILABLE, "send: %s", strerror(errno));
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
				return massctl_fail_set(f, MASSCTL_EXIT_PROTOCOL,
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
			return massctl_fail_set(f, MASSCTL_EXIT_UNAVAILABLE, "receive: %s",
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
		return massctl_fail_set(f, MASSCTL_EXIT_PROTOCOL,
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
		return massctl_fail_set(f, MASSCTL_EXIT_NOPERM,
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
	if (massctl_handshake(o, &c, f) == 0 && massctl_send(&c, req, len, f) == 0) {
		/* our FIN says the request is whole: one the server frames as
		 * short of parameters is answered 01 at once, not at its timeout */
		(void)shutdown(c.fd, SHUT_WR);
		n = massctl_recv(&c, rep, cap, 0, f);
	}
	close(c.fd);
	return n;
}

/* massctl_io's exchange, with the options as its context. */
static long massctl_exchange_cb(void *ctx, const uint8_t *req, size_t len, uint8_t *rep,
				size_t cap, struct massctl_fail *f)
{
	return massctl_exchange(ctx, req, len, rep, cap, f);
}

/* The failure on standard error, and with -j as a JSON object on standard output. */
static void massctl_report(const struct massctl_opts *o, const char *command,
			   const struct massctl_fail *f)
{
	/* "massctl: add-user bob: ..." names the user the failure is about. */
	bool named = command && o->cmd->arg_in_msg && o->nargs > 0;

	if (command)
		fprintf(stderr, "massctl: %s%s%s: %s\n", command, named ? " " : "",
			named ? o->args[0] : "", f->msg);
	else
		fprintf(stderr, "massctl: %s\n", f->msg);
	if (o->json && !f->shown) {
		massctl_json_fail(stdout, command, f);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	struct massctl_opts o;
	struct massctl_fail f = { .code = 0 };
	struct massctl_io io = { .exchange = massctl_exchange_cb, .ctx = &o,
				 .out = stdout, .note = stderr };
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (massctl_cli_parse(&o, argc, argv, getenv("MASS_ADMIN"), f.msg, sizeof(f.msg)) < 0) {
		f.code = MASSCTL_EXIT_USAGE;
		massctl_report(&o, NULL, &f);
		return MASSCTL_EXIT_USAGE;
	}
	if (o.help) {
		massctl_cli_usage(stdout);
		return 0;
	}
	if (o.version) {
		puts("massctl " PACKAGE_VERSION);
		return 0;
	}
	r = massctl_cmd_run(&o, &io, &f);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "massctl: writing output: %s\n", strerror(errno));
		return MASSCTL_EXIT_IOERR;
	}
	if (r < 0) {
		massctl_report(&o, o.cmd_name, &f);
		return f.code;
	}
	return 0;
}
