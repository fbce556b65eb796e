/*
 * Unit tests for the access log: field escaping, the exact columns of the
 * line formats (request, credential, close) written to a temporary file,
 * and reopening after a rename.
 */
#include <arpa/inet.h>
#include <check.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "socks/accesslog.h"

static struct accesslog alog;  /* the log under test, as a loop would own it */
static char dir[64];
static char path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mass-accesslog-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	accesslog_init(&alog);
	snprintf(path, sizeof(path), "%s/access.log", dir);
}

static void teardown(void)
{
	char rotated[160];

	accesslog_close(&alog);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	unlink(rotated);
	unlink(path);
	rmdir(dir);
}

/* Reads a whole small file into buf (NUL-terminated); returns its length. */
static size_t slurp(const char *file, char *buf, size_t len)
{
	FILE *f;
	size_t n;

	/* lines are batched until the loop's flush; the tests flush by hand */
	accesslog_flush(&alog);
	f = fopen(file, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

/* Splits one line (without its newline) on tabs into cols; returns the count. */
static int columns(char *line, char **cols, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *tab = strchr(p, '\t');

		ck_assert_int_lt(n, max);
		cols[n++] = p;
		if (tab == NULL)
			return n;
		*tab = '\0';
		p = tab + 1;
	}
}

static void assert_stamp(const char *s)
{
	/* 2026-11-28T00:15:00.123Z */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	ck_assert_uint_eq(strlen(s), strlen(shape));
	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd')
			ck_assert_msg(s[i] >= '0' && s[i] <= '9', "stamp %s", s);
		else
			ck_assert_int_eq(s[i], shape[i]);
	}
}

static void sockaddr_v4(struct sockaddr_in *sin, const char *ip, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

START_TEST(escape_hostile_octets)
{
	static const char src[] = "a\tb\nc\\d\re\x7f" "f\x80\xff g";
	char out[128];

	accesslog_escape(out, sizeof(out), src, sizeof(src) - 1);
	ck_assert_str_eq(out, "a\\tb\\nc\\\\d\\x0de\\x7ff\\x80\\xff g");
}
END_TEST

START_TEST(escape_keeps_embedded_nul_visible)
{
	char out[32];

	accesslog_escape(out, sizeof(out), "ab\0cd", 5);
	ck_assert_str_eq(out, "ab\\x00cd");
}
END_TEST

START_TEST(escape_truncates_between_escapes)
{
	char out[8];

	/* "ab" then \x01 needs 4 more: 2 + 4 = 6 fits in 7, the next does not. */
	accesslog_escape(out, sizeof(out), "ab\x01\x02", 4);
	ck_assert_str_eq(out, "ab\\x01");
	accesslog_escape(out, 4, "\t\t", 2);
	ck_assert_str_eq(out, "\\t");
	accesslog_escape(out, 1, "abc", 3);
	ck_assert_str_eq(out, "");
}
END_TEST

/* One write per loop round: nothing reaches the file before the flush. */
START_TEST(lines_wait_for_the_flush)
{
	struct sockaddr_in src;
	char err[256];
	struct stat st;

	sockaddr_v4(&src, "192.0.2.9", 40000);
	ck_assert_int_eq(accesslog_open(&alog, path, err, sizeof(err)), 0);
	accesslog_request(&alog, "alice", ACCESSLOG_CONNECT, (struct sockaddr *)&src, "example.com", 443, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	accesslog_flush(&alog);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
}
END_TEST

/* Through a pipe, a batch larger than PIPE_BUF arrives as whole, intact lines. */
START_TEST(pipe_batch_arrives_in_whole_lines)
{
	struct sockaddr_in src;
	static char buf[1 << 20];
	char err[256], *line, *save;
	int p[2], saved = dup(STDERR_FILENO), lines = 0;
	size_t got = 0;
	ssize_t n;

	sockaddr_v4(&src, "192.0.2.9", 40000);
	ck_assert_int_eq(pipe(p), 0);
	fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
	dup2(p[1], STDERR_FILENO);
	ck_assert_int_eq(accesslog_open(&alog, "-", err, sizeof(err)), 0);
	for (int i = 0; i < 200; i++)
		accesslog_request(&alog, "alice", ACCESSLOG_CONNECT, (struct sockaddr *)&src,
				  "example.com", 443, 0);
	accesslog_flush(&alog);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	buf[got] = '\0';
	ck_assert_int_gt(got, PIPE_BUF);
	ck_assert_int_eq(buf[got - 1], '\n');
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ck_assert_ptr_nonnull(strstr(line, "\talice\tA\t192.0.2.9\t40000\texample.com\t443\t0"));
		lines++;
	}
	ck_assert_int_eq(lines, 200);
}
END_TEST

START_TEST(request_line_columns)
{
	struct sockaddr_in src;
	char err[256], buf[1024], *cols[16], *second, *end;

	sockaddr_v4(&src, "192.0.2.9", 40000);
	ck_assert_int_eq(accesslog_open(&alog, path, err, sizeof(err)), 0);
	accesslog_request(&alog, "alice", ACCESSLOG_CONNECT, (struct sockaddr *)&src, "example.com", 443, 0);
	accesslog_request(&alog, NULL, ACCESSLOG_UDP, (struct sockaddr *)&src, "ev\til\n.com", 80, 5);
	slurp(path, buf, sizeof(buf));
	second = strchr(buf, '\n');
	ck_assert_ptr_nonnull(second);
	*second++ = '\0';
	ck_assert_int_eq(columns(buf, cols, 16), 8);
	assert_stamp(cols[0]);
	ck_assert_str_eq(cols[1], "alice");
	ck_assert_str_eq(cols[2], "A");
	ck_assert_str_eq(cols[3], "192.0.2.9");
	ck_assert_str_eq(cols[4], "40000");
	ck_assert_str_eq(cols[5], "example.com");
	ck_assert_str_eq(cols[6], "443");
	ck_assert_str_eq(cols[7], "0");
	end = strchr(second, '\n');
	ck_assert_ptr_nonnull(end);
	ck_assert_str_eq(end, "\n");
	*end = '\0';
	ck_assert_int_eq(columns(second, cols, 16), 8);
	ck_assert_str_eq(cols[1], "-");
	ck_assert_str_eq(cols[2], "U");
	ck_assert_str_eq(cols[5], "ev\\til\\n.com");
	ck_assert_str_eq(cols[7], "5");
}
END_TEST

START_TEST(credential_line_columns)
{
	char err[256], buf[1024], *cols[16];
	size_t n;

	ck_assert_int_eq(accesslog_open(&alog, path, err, sizeof(err)), 0);
	accesslog_credential(&alog, "bob", "POP3", "mail.example", 110, "jo\\e", 4, "s3\tcr\xe9t\0x", 9, "ok");
	n = slurp(path, buf, sizeof(buf));
	ck_assert_int_eq(buf[n - 1], '\n');
	buf[n - 1] = '\0';
	ck_assert_ptr_null(strchr(buf, '\n'));
	ck_assert_int_eq(columns(buf, cols, 16), 9);
	assert_stamp(cols[0]);
	ck_assert_str_eq(cols[1], "bob");
	ck_assert_str_eq(cols[2], "P");
	ck_assert_str_eq(cols[3], "POP3");
	ck_assert_str_eq(cols[4], "mail.example");
	ck_assert_str_eq(cols[5], "110");
	ck_assert_str_eq(cols[6], "jo\\\\e");
	ck_assert_str_eq(cols[7], "s3\\tcr\\xe9t\\x00x");
	ck_assert_str_eq(cols[8], "ok");
}
END_TEST

START_TEST(longest_line_stays_one_line)
{
	char hostile[256], err[256], *buf, *cols[16];
	size_t n;

	memset(hostile, '\n', sizeof(hostile) - 1);
	hostile[sizeof(hostile) - 1] = '\0';
	buf = malloc(65536);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(accesslog_open(&alog, path, err, sizeof(err)), 0);
	accesslog_credential(&alog, hostile, hostile, hostile, 65535, hostile, strlen(hostile),
			     hostile, strlen(hostile), hostile);
	n = slurp(path, buf, 65536);
	ck_assert_uint_le(n, PIPE_BUF);
	ck_assert_int_eq(buf[n - 1], '\n');
	buf[n - 1] = '\0';
	ck_assert_ptr_null(strchr(buf, '\n'));
	ck_assert_int_eq(columns(buf, cols, 16), 9);
	ck_assert_str_eq(cols[5], "65535");
	free(buf);
}
END_TEST

START_TEST(reopen_after_rename)
{
	char err[256], buf[1024], rotated[160];

	snprintf(rotated, sizeof(rotated), "%s.1", path);
	ck_assert_int_eq(accesslog_open(&alog, path, err, sizeof(err)), 0);
	accesslog_request(&alog, "before", ACCESSLOG_BIND, NULL, "a.example", 1, 0);
	ck_assert_int_eq(rename(path, rotated), 0);
	accesslog_request(&alog, "moved", ACCESSLOG_BIND, NULL, "a.example", 1, 0);
	ck_assert_int_eq(accesslog_reopen(&alog, err, sizeof(err)), 0);
	accesslog_request(&alog, "after", ACCESSLOG_BIND, NULL, "a.example", 1, 0);
	accesslog_request(&alog, "odd", 'Z', NULL, "a.example", 1, 0);

	slurp(rotated, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\tbefore\t"));
	ck_assert_ptr_nonnull(strstr(buf, "\tmoved\t"));
	ck_assert_ptr_null(strstr(buf, "\tafter\t"));
	slurp(path, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\tafter\tB\t-\t-\ta.example\t1\t0\n"));
	/* an unknown kind cannot forge a column */
	ck_assert_ptr_nonnull(strstr(buf, "\todd\t?\t-\t-\ta.example\t1\t0\n"));
	ck_assert_ptr_null(strstr(buf, "before"));
}
END_TEST

START_TEST(close_line_columns)
{
	struct sockaddr_in src;
	struct sockaddr_in6 peer = { .sin6_family = AF_INET6, .sin6_port = htons(8443) };
	char err[256], buf[1024], *cols[16], *second, *end;

	sockaddr_v4(&src, "192.0.2.9", 40000);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::7", &peer.sin6_addr), 1);
	ck_assert_int_eq(accesslog_open(&alog, path, err, sizeof(err)), 0);
	accesslog_tunnel_close(&alog, "bob", (struct sockaddr *)&src, "ev\til.example", 8443,
			       (struct sockaddr *)&peer, 12345, (1ull << 32) + 7, 1500,
			       ACCESSLOG_END_FIN_TIMEOUT);
	accesslog_tunnel_close(&alog, NULL, NULL, NULL, 0, NULL, 0, 0, 0, (enum accesslog_end)99);
	slurp(path, buf, sizeof(buf));
	second = strchr(buf, '\n');
	ck_assert_ptr_nonnull(second);
	*second++ = '\0';
	ck_assert_int_eq(columns(buf, cols, 16), 14);
	assert_stamp(cols[0]);
	ck_assert_str_eq(cols[1], "bob");
	ck_assert_str_eq(cols[2], "C");
	ck_assert_str_eq(cols[3], "192.0.2.9");
	ck_assert_str_eq(cols[4], "40000");
	ck_assert_str_eq(cols[5], "ev\\til.example");  /* escaped, still one column */
	ck_assert_str_eq(cols[6], "8443");
	ck_assert_str_eq(cols[7], "2001:db8::7");
	ck_assert_str_eq(cols[8], "8443");
	ck_assert_str_eq(cols[9], "12345");
	ck_assert_str_eq(cols[10], "4294967303");  /* 64 bits, not wrapped */
	ck_assert_str_eq(cols[11], "1500");
	ck_assert_str_eq(cols[12], "fin_timeout");
	ck_assert_str_eq(cols[13], "-");              /* src_ip: not given */
	end = strchr(second, '\n');
	ck_assert_ptr_nonnull(end);
	*end = '\0';
	ck_assert_int_eq(columns(second, cols, 16), 14);
	ck_assert_str_eq(cols[1], "-");
	ck_assert_str_eq(cols[3], "-");
	ck_assert_str_eq(cols[4], "-");
	ck_assert_str_eq(cols[7], "-");
	ck_assert_str_eq(cols[12], "error");
}
END_TEST

START_TEST(end_names)
{
	ck_assert_str_eq(accesslog_end_name(ACCESSLOG_END_EOF), "eof");
	ck_assert_str_eq(accesslog_end_name(ACCESSLOG_END_RESET), "reset");
	ck_assert_str_eq(accesslog_end_name(ACCESSLOG_END_IDLE), "idle");
	ck_assert_str_eq(accesslog_end_name(ACCESSLOG_END_FIN_TIMEOUT), "fin_timeout");
	ck_assert_str_eq(accesslog_end_name(ACCESSLOG_END_SHUTDOWN), "shutdown");
	ck_assert_str_eq(accesslog_end_name(ACCESSLOG_END_ERROR), "error");
}
END_TEST

START_TEST(open_failure_reports)
{
	char err[256] = "";
	char bad[200];

	snprintf(bad, sizeof(bad), "%s/no/such/dir/log", dir);
	ck_assert_int_eq(accesslog_open(&alog, bad, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, bad));
	/* stderr needs no file; reopen is then a no-op. */
	ck_assert_int_eq(accesslog_open(&alog, "-", err, sizeof(err)), 0);
	ck_assert_int_eq(accesslog_reopen(&alog, err, sizeof(err)), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("accesslog");
	TCase *e = tcase_create("escape");
	TCase *f = tcase_create("file");

	tcase_add_test(e, escape_hostile_octets);
	tcase_add_test(e, escape_keeps_embedded_nul_visible);
	tcase_add_test(e, escape_truncates_between_escapes);
	tcase_add_checked_fixture(f, setup, teardown);
	tcase_add_test(f, lines_wait_for_the_flush);
	tcase_add_test(f, pipe_batch_arrives_in_whole_lines);
	tcase_add_test(f, request_line_columns);
	tcase_add_test(f, credential_line_columns);
	tcase_add_test(f, close_line_columns);
	tcase_add_test(e, end_names);
	tcase_add_test(f, longest_line_stays_one_line);
	tcase_add_test(f, reopen_after_rename);
	tcase_add_test(f, open_failure_reports);
	suite_add_tcase(s, e);
	suite_add_tcase(s, f);
	return check_main_run(s);
}
