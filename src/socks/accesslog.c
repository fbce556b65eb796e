/* accesslog: the access log. See accesslog.h. */
#include "accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/escape.h"
#include "core/net.h"

/*
 * A line is built in one stack buffer and written whole (see
 * accesslog_flush), so lines from one process never interleave with other
 * writers of the file (O_APPEND) and stay whole on a pipe, which PIPE_BUF
 * guarantees for writes up to its size: hence the line limit. Each escaped field is capped so that
 * the longest possible line (five capped fields) fits with its newline; a
 * field longer than its cap is cut at an octet boundary, never inside an
 * escape.
 *
 * A log (struct accesslog, accesslog.h) is used from its loop's thread
 * only: its state is not locked.
 */
#define ACCESSLOG_LINE_MAX PIPE_BUF
#define ACCESSLOG_FIELD_MAX 512

static void accesslog_note_kind(struct accesslog *log);

void accesslog_init(struct accesslog *log)
{
	log->fd = STDERR_FILENO;
	log->path[0] = '\0';
	log->cached_sec = (time_t)-1;
	log->batch_len = 0;
	accesslog_note_kind(log);
}

static void accesslog_note_kind(struct accesslog *log)
{
	struct stat st;

	log->fd_is_pipe = fstat(log->fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static int accesslog_open_path(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		snprintf(err, errlen, "access log %s: %s", path, strerror(errno));
	return fd;
}

int accesslog_open(struct accesslog *log, const char *path, char *err, size_t errlen)
{
	int fd = STDERR_FILENO;

	if (path != NULL && strcmp(path, "-") != 0) {
		if (strlen(path) >= sizeof(log->path)) {
			snprintf(err, errlen, "access log path too long");
			return -1;
		}
		fd = accesslog_open_path(path, err, errlen);
		if (fd < 0)
			return -1;
	}
	accesslog_close(log);
	log->fd = fd;
	accesslog_note_kind(log);
	snprintf(log->path, sizeof(log->path), "%s",
		 fd == STDERR_FILENO ? "" : path);
	return 0;
}

int accesslog_reopen(struct accesslog *log, char *err, size_t errlen)
{
	int fd;

	if (log->path[0] == '\0')
		return 0;
	/* Open the new file before closing the old: on failure the log
	 * keeps going to the file it had. */
	fd = accesslog_open_path(log->path, err, errlen);
	if (fd < 0)
		return -1;
	accesslog_flush(log);
	if (log->fd != STDERR_FILENO)
		close(log->fd);
	log->fd = fd;
	accesslog_note_kind(log);
	return 0;
}

void accesslog_close(struct accesslog *log)
{
	accesslog_flush(log);
	if (log->fd != STDERR_FILENO)
		close(log->fd);
	log->fd = STDERR_FILENO;
	log->path[0] = '\0';
}

void accesslog_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	escape_text(dst, dstlen, src, len);
}

/* A line under construction: pos never passes end. */
struct accesslog_line {
	char buf[ACCESSLOG_LINE_MAX];
	size_t pos;
};

static void accesslog_raw(struct accesslog_line *l, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(l->buf) - l->pos)
		n = sizeof(l->buf) - l->pos;
	memcpy(l->buf + l->pos, s, n);
	l->pos += n;
}

/* A tab, then s escaped (or '-' for NULL), capped at ACCESSLOG_FIELD_MAX. */
/* A field of len octets (any octet, NUL included: it is escaped). */
static void accesslog_field_n(struct accesslog_line *l, const char *s, size_t len)
{
	size_t room;

	accesslog_raw(l, "\t");
	if (s == NULL) {
		accesslog_raw(l, "-");
		return;
	}
	room = sizeof(l->buf) - l->pos;
	if (room > ACCESSLOG_FIELD_MAX + 1)
		room = ACCESSLOG_FIELD_MAX + 1;
	if (room == 0)
		return;
	accesslog_escape(l->buf + l->pos, room, s, len);
	l->pos += strlen(l->buf + l->pos);
}

static void accesslog_field(struct accesslog_line *l, const char *s)
{
	accesslog_field_n(l, s, s != NULL ? strlen(s) : 0);
}

static void accesslog_int_field(struct accesslog_line *l, int v)
{
	char num[16];

	snprintf(num, sizeof(num), "\t%d", v);
	accesslog_raw(l, num);
}

static void accesslog_u64_field(struct accesslog_line *l, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "\t%" PRIu64, v);
	accesslog_raw(l, num);
}

/* A tab, the address's IP, a tab, its port; "-\t-" for NULL. */
static void accesslog_addr_fields(struct accesslog_line *l, const struct sockaddr *sa)
{
	char ip[NET_ADDRSTRLEN] = "-";

	if (sa == NULL) {
		accesslog_raw(l, "\t-\t-");
		return;
	}
	net_ip_str(sa, ip, sizeof(ip));
	accesslog_raw(l, "\t");
	accesslog_raw(l, ip);
	accesslog_int_field(l, net_port(sa));
}

/* 2026-11-28T00:15:00.123Z */
static void accesslog_stamp(struct accesslog *log, struct accesslog_line *l)
{
	struct timespec ts;
	struct tm tm;
	unsigned ms;
	char frac[6];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != log->cached_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(log->cached_stamp, sizeof(log->cached_stamp),
			 "%Y-%m-%dT%H:%M:%S", &tm);
		log->cached_sec = ts.tv_sec;
	}
	ms = (unsigned)(ts.tv_nsec / 1000000) % 1000;
	frac[0] = '.';
	frac[1] = (char)('0' + ms / 100);
	frac[2] = (char)('0' + ms / 10 % 10);
	frac[3] = (char)('0' + ms % 10);
	frac[4] = 'Z';
	frac[5] = '\0';
	l->pos = 0;
	accesslog_raw(l, log->cached_stamp);
	accesslog_raw(l, frac);
}

/*
 * Lines are gathered and written once per loop round (accesslog_flush from
 * the loop's before-wait hook), which saves a write(2) per request under
 * load. On a pipe the batch is cut at line ends into writes of at most
 * PIPE_BUF, so lines still never interleave with other writers.
 */
static void accesslog_write_all(int fd, const char *p, size_t left)
{
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;  /* a full disk or a closed stderr loses the lines */
		p += n;
		left -= (size_t)n;
	}
}

void accesslog_flush(struct accesslog *log)
{
	const char *p = log->batch;
	size_t left = log->batch_len;

	while (left > 0) {
		size_t chunk = left;

		if (log->fd_is_pipe && chunk > ACCESSLOG_LINE_MAX) {
			chunk = ACCESSLOG_LINE_MAX;
			while (chunk > 0 && p[chunk - 1] != '\n')
				chunk--;
		}
		accesslog_write_all(log->fd, p, chunk);
		p += chunk;
		left -= chunk;
	}
	log->batch_len = 0;
}

void accesslog_flush_hook(void *log)
{
	accesslog_flush(log);
}

/* The newline always fits: every field leaves room for it by its cap. */
static void accesslog_emit(struct accesslog *log, struct accesslog_line *l)
{
	if (l->pos == sizeof(l->buf))
		l->pos--;
	l->buf[l->pos++] = '\n';
	if (log->batch_len + l->pos > sizeof(log->batch))
		accesslog_flush(log);
	memcpy(log->batch + log->batch_len, l->buf, l->pos);
	log->batch_len += l->pos;
}

void accesslog_request(struct accesslog *log, const char *user, char kind, const struct sockaddr *src,
		       const char *dest, uint16_t dest_port, int status)
{
	struct accesslog_line l;
	char type[3] = { '\t', '?', '\0' };

	accesslog_stamp(log, &l);
	accesslog_field(&l, user);
	if (kind == ACCESSLOG_CONNECT || kind == ACCESSLOG_BIND || kind == ACCESSLOG_UDP)
		type[1] = kind;
	accesslog_raw(&l, type);
	accesslog_addr_fields(&l, src);
	accesslog_field(&l, dest);
	accesslog_int_field(&l, dest_port);
	accesslog_int_field(&l, status);
	accesslog_emit(log, &l);
}

const char *accesslog_end_name(enum accesslog_end end)
{
	static const char *const names[] = {
		[ACCESSLOG_END_ERROR] = "error",
		[ACCESSLOG_END_EOF] = "eof",
		[ACCESSLOG_END_RESET] = "reset",
		[ACCESSLOG_END_IDLE] = "idle",
		[ACCESSLOG_END_FIN_TIMEOUT] = "fin_timeout",
		[ACCESSLOG_END_SHUTDOWN] = "shutdown",
		[ACCESSLOG_END_QUOTA] = "quota",
		[ACCESSLOG_END_ADMIN] = "admin",
	};

	if ((unsigned)end < sizeof(names) / sizeof(*names))
		return names[end];
	return "error";
}

void accesslog_tunnel_close(struct accesslog *log, const char *user, const struct sockaddr *client,
			    const char *dest, uint16_t dest_port,
			    const struct sockaddr *peer, uint64_t bytes_up,
			    uint64_t bytes_down, uint64_t duration_ms,
			    enum accesslog_end end)
{
	accesslog_tunnel_close_src(log, user, client, dest, dest_port, peer, bytes_up,
				   bytes_down, duration_ms, end, NULL);
}

void accesslog_tunnel_close_src(struct accesslog *log, const char *user,
				const struct sockaddr *client,
				const char *dest, uint16_t dest_port,
				const struct sockaddr *peer, uint64_t bytes_up,
				uint64_t bytes_down, uint64_t duration_ms,
				enum accesslog_end end, const struct sockaddr *src)
{
	struct accesslog_line l;
	char ip[NET_ADDRSTRLEN] = "";

	accesslog_stamp(log, &l);
	accesslog_field(&l, user);
	accesslog_raw(&l, "\tC");
	accesslog_addr_fields(&l, client);
	accesslog_field(&l, dest);
	accesslog_int_field(&l, dest_port);
	accesslog_addr_fields(&l, peer);
	accesslog_u64_field(&l, bytes_up);
	accesslog_u64_field(&l, bytes_down);
	accesslog_u64_field(&l, duration_ms);
	accesslog_raw(&l, "\t");
	accesslog_raw(&l, accesslog_end_name(end));
	if (src != NULL && src->sa_family != AF_UNSPEC)
		net_ip_str(src, ip, sizeof(ip));
	accesslog_field(&l, ip[0] != '\0' ? ip : NULL);
	accesslog_emit(log, &l);
}

void accesslog_credential(struct accesslog *log, const char *user, const char *protocol,
			  const char *dest, uint16_t dest_port,
			  const char *cuser, size_t cuser_len,
			  const char *cpass, size_t cpass_len, const char *result)
{
	struct accesslog_line l;

	accesslog_stamp(log, &l);
	accesslog_field(&l, user);
	accesslog_raw(&l, "\tP");
	accesslog_field(&l, protocol);
	accesslog_field(&l, dest);
	accesslog_int_field(&l, dest_port);
	accesslog_field_n(&l, cuser, cuser_len);
	accesslog_field_n(&l, cpass, cpass_len);
	accesslog_field(&l, result);
	accesslog_emit(log, &l);
}
