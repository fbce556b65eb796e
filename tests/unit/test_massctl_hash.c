/*
 * Unit tests for `massctl hash` (massctl_hash_main): the password from a
 * pipe (scripts) and from a terminal (a pty: prompts, no echo, asked twice),
 * options and errors. Each run is a child process.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "auth/cred.h"
#include "massctl/massctl_hash.h"

struct run {
	int status;
	char out[1024];
};

/*
 * Runs massctl_hash_main(argv) with input on a pipe as stdin; stdout
 * captured. A child that refuses its options exits without reading, maybe
 * before the input is written: that write then fails with EPIPE, which is
 * no error here (SIGPIPE is ignored around it, as it would kill the test).
 */
static void run_pipe(char **argv, const char *input, struct run *r)
{
	int in[2], out[2], argc = 0;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	void (*was)(int);

	while (argv[argc])
		argc++;
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		_exit(massctl_hash_main(argc, argv));
	}
	close(in[0]);
	close(out[1]);
	was = signal(SIGPIPE, SIG_IGN);
	n = write(in[1], input, strlen(input));
	ck_assert_msg(n == (ssize_t)strlen(input) || (n < 0 && errno == EPIPE),
		      "write: %zd (%s)", n, strerror(errno));
	signal(SIGPIPE, was);
	close(in[1]);
	while ((n = read(out[0], r->out + len, sizeof(r->out) - 1 - len)) > 0)
		len += (size_t)n;
	r->out[len] = '\0';
	close(out[0]);
	ck_assert_int_eq(waitpid(pid, &r->status, 0), pid);
	ck_assert(WIFEXITED(r->status));
	r->status = WEXITSTATUS(r->status);
}

/* The hash printed on the first line of out, checked against pass. */
static void check_printed(const char *out, const char *pass, const char *prefix)
{
	const char *h = strstr(out, prefix);
	size_t len;

	ck_assert_msg(h != NULL, "%s", out);
	len = strcspn(h, "\r\n");
	ck_assert_msg(cred_check(h, len, pass, strlen(pass)), "%s", out);
}

START_TEST(from_stdin)
{
	char *argv[] = { "hash", NULL }, *bcrypt[] = { "hash", "-m", "bcrypt", "-c", "4", NULL };
	struct run r;

	run_pipe(argv, "pass word\n", &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(strncmp(r.out, "$y$", 3), 0);
	ck_assert_ptr_nonnull(strchr(r.out, '\n'));
	check_printed(r.out, "pass word", "$y$");
	run_pipe(bcrypt, "x\r\nignored\n", &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(strncmp(r.out, "$2b$04$", 7), 0);
	check_printed(r.out, "x", "$2b$");
	run_pipe(argv, "no newline", &r);
	ck_assert_int_eq(r.status, 0);
	check_printed(r.out, "no newline", "$y$");
}
END_TEST

START_TEST(errors)
{
	char *argv[] = { "hash", NULL }, *bad[] = { "hash", "-x", NULL },
	     *md5[] = { "hash", "-m", "md5", NULL }, *cost[] = { "hash", "-c", "-1", NULL },
	     *big[] = { "hash", "-m", "bcrypt", "-c", "99", NULL };
	char longline[300];
	struct run r;

	run_pipe(argv, "", &r);
	ck_assert_int_eq(r.status, 1);
	run_pipe(argv, "\n", &r);
	ck_assert_int_eq(r.status, 1);
	run_pipe(argv, "tab\there\n", &r);
	ck_assert_int_eq(r.status, 1);
	memset(longline, 'a', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	run_pipe(argv, longline, &r);
	ck_assert_int_eq(r.status, 1);
	run_pipe(bad, "x\n", &r);
	ck_assert_int_eq(r.status, 2);
	run_pipe(md5, "x\n", &r);
	ck_assert_int_eq(r.status, 2);
	run_pipe(cost, "x\n", &r);
	ck_assert_int_eq(r.status, 2);
	run_pipe(big, "x\n", &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
}
END_TEST

/* massctl -j hash: the hash as JSON, and every refusal's reason kept for the caller. */
START_TEST(run_json_and_reasons)
{
	char *argv[] = { "hash", "-m", "sha256crypt", NULL },
	     *nosuch[] = { "hash", "-m", "nosuch", NULL }, *bad[] = { "hash", "-x", NULL };
	char err[256] = "", buf[512] = "";
	FILE *out;
	int in[2];

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(write(in[1], "pw\n", 3), 3);
	close(in[1]);
	ck_assert_int_ne(dup2(in[0], 0), -1);
	close(in[0]);
	out = fmemopen(buf, sizeof(buf), "w");
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(massctl_hash_run(3, argv, true, out, err, sizeof(err)), 0);
	fclose(out);
	ck_assert_msg(strncmp(buf, "{\"hash\":\"$5$", 12) == 0, "%s", buf);
	ck_assert_msg(strcmp(buf + strlen(buf) - 3, "\"}\n") == 0, "%s", buf);
	buf[strlen(buf) - 3] = '\0';
	ck_assert(cred_check(buf + 9, strlen(buf + 9), "pw", 2));
	/* no password left on stdin */
	out = fmemopen(buf, sizeof(buf), "w");
	ck_assert_int_eq(massctl_hash_run(3, argv, true, out, err, sizeof(err)), 1);
	fclose(out);
	ck_assert_str_eq(err, "no password read (one line of 1..255 characters)");
	ck_assert_int_eq(massctl_hash_run(3, nosuch, true, stdout, err, sizeof(err)), 2);
	ck_assert_msg(strncmp(err, "unknown or unsupported method 'nosuch' (this system has: ",
			      57) == 0, "%s", err);
	ck_assert_int_eq(massctl_hash_run(2, bad, true, stdout, err, sizeof(err)), 2);
	ck_assert_msg(strncmp(err, "usage: massctl hash", 19) == 0, "%s", err);
}
END_TEST

/* Reads from the pty master until want appears (or EOF); all of it lands in buf. */
static void pty_read_until(int fd, char *buf, size_t cap, size_t *len, const char *want)
{
	while (!want || !strstr(buf, want)) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		n = read(fd, buf + *len, cap - 1 - *len);
		if (n <= 0)
			break;  /* EIO: the child has gone */
		*len += (size_t)n;
		buf[*len] = '\0';
	}
	if (want)
		ck_assert_msg(strstr(buf, want) != NULL, "%s", buf);
}

static int run_pty(const char *first, const char *second, char *buf, size_t cap)
{
	char *argv[] = { "hash", NULL };
	size_t len = 0;
	int fd, status;
	pid_t pid = forkpty(&fd, NULL, NULL, NULL);

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(massctl_hash_main(1, argv));
	buf[0] = '\0';
	pty_read_until(fd, buf, cap, &len, "Password: ");
	ck_assert_int_eq(write(fd, first, strlen(first)), (ssize_t)strlen(first));
	pty_read_until(fd, buf, cap, &len, "Again: ");
	ck_assert_int_eq(write(fd, second, strlen(second)), (ssize_t)strlen(second));
	pty_read_until(fd, buf, cap, &len, NULL);
	close(fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(from_terminal)
{
	char buf[2048];

	ck_assert_int_eq(run_pty("s3cr3t pw\n", "s3cr3t pw\n", buf, sizeof(buf)), 0);
	/* the terminal never showed the password */
	ck_assert_msg(strstr(buf, "s3cr3t") == NULL, "%s", buf);
	check_printed(buf, "s3cr3t pw", "$y$");
	ck_assert_int_eq(run_pty("one\n", "two\n", buf, sizeof(buf)), 1);
	ck_assert_msg(strstr(buf, "differ") != NULL, "%s", buf);
	ck_assert_ptr_null(strstr(buf, "$y$"));
}
END_TEST

static Suite *massctl_hash_suite(void)
{
	Suite *s = suite_create("massctl_hash");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, from_stdin);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, from_terminal);
	tcase_add_test(tc, run_json_and_reasons);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(massctl_hash_suite());
}
