/*
 * accesslog: one tab-separated line per SOCKS request and per captured
 * credential, to stderr or a file reopened on SIGHUP (logrotate).
 *
 *   request:    ISO-8601Z  user  KIND  src_ip  src_port  dest  dest_port  status
 *   credential: ISO-8601Z  user  P  PROTOCOL  dest  dest_port  cuser  cpass  result
 *   close:      ISO-8601Z  user  C  src_ip  src_port  dest  dest_port
 *               peer_ip  peer_port  bytes_up  bytes_down  duration_ms  end
 *               src_ip
 *
 * KIND is the command: A for CONNECT, B for BIND, U for UDP ASSOCIATE.
 * user is '-' without authentication; dest is as the client named it;
 * status is the REP code in decimal. A close line ends every tunnel that
 * was established (CONNECT or BIND answered REP 00): peer is the address
 * actually connected (CONNECT) or that connected in (BIND); bytes_up were
 * read from the client, bytes_down from the peer, both in decimal with 64
 * bits; duration_ms runs from the success reply to the close; end is one
 * of the names of enum accesslog_end. A UDP association (UDP ASSOCIATE
 * answered REP 00) ends with a close line too: peer and src_ip '-', the
 * bytes the datagrams' DATA relayed to targets and to the client. A field
 * without a value is '-'. Fields that come from the network are escaped
 * (\t, \n, \\ and \xHH for other non-printable octets) so a line always
 * stays one line with the same columns.
 */
#ifndef MASS_ACCESSLOG_H
#define MASS_ACCESSLOG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/*
 * One access log, owned by whoever runs the loop that writes it (main's
 * runtime context; a test): its descriptor, its path for reopening, the
 * batch of lines not yet written and the cached time stamp. Used from that
 * loop's thread only. The fields are the module's own.
 */
struct accesslog {
	int fd;
	bool fd_is_pipe;             /* cut batches at PIPE_BUF */
	char path[PATH_MAX];         /* empty: stderr */
	time_t cached_sec;           /* the formatted second, redone when it changes */
	char cached_stamp[32];
	size_t batch_len;
	char batch[64 * 1024];       /* lines gathered since the last flush */
};

/* Readies log, writing to stderr. */
void accesslog_init(struct accesslog *log);

/* Opens the log: "-" or NULL is stderr. Returns 0, or -1 with err set. */
int accesslog_open(struct accesslog *log, const char *path, char *err, size_t errlen);

/* Reopens the same path (after logrotate moved it). Returns 0 or -1 (err set). */
int accesslog_reopen(struct accesslog *log, char *err, size_t errlen);

/* Flushes and closes (back to stderr). */
void accesslog_close(struct accesslog *log);

/*
 * Writes the lines gathered since the last flush. Lines are batched: the
 * daemon calls this once per loop round, before waiting for events
 * (accesslog_flush_hook is the loop's before-wait hook, arg the log).
 */
void accesslog_flush(struct accesslog *log);
void accesslog_flush_hook(void *log);

/* The record types of request lines (the third column). */
enum accesslog_kind {
	ACCESSLOG_CONNECT = 'A',
	ACCESSLOG_BIND = 'B',
	ACCESSLOG_UDP = 'U'
};

/* One request line; a kind outside enum accesslog_kind is written as '?'. */
void accesslog_request(struct accesslog *log, const char *user, char kind, const struct sockaddr *src,
		       const char *dest, uint16_t dest_port, int status);

/* How a tunnel ended; accesslog_end_name() gives the word in the log. */
enum accesslog_end {
	ACCESSLOG_END_ERROR = 0,   /* "error": a local failure (e.g. out of memory) */
	ACCESSLOG_END_EOF,         /* "eof": both sides closed */
	ACCESSLOG_END_RESET,       /* "reset": a side reset, or an I/O error */
	ACCESSLOG_END_IDLE,        /* "idle": idle_timeout without traffic */
	ACCESSLOG_END_FIN_TIMEOUT, /* "fin_timeout": half-closed for fin_timeout */
	ACCESSLOG_END_SHUTDOWN,    /* "shutdown": still open at the end of shutdown_timeout */
	ACCESSLOG_END_QUOTA,       /* "quota": the user's quota ran out (quota_action = close) */
	ACCESSLOG_END_ADMIN        /* "admin": closed through MASS (a plugin's session_close:
				    * massctl kill, kick) */
};

/* The log word for end ("error" for a value outside the enum). */
const char *accesslog_end_name(enum accesslog_end end);

/*
 * One close line (see above); client and peer may be NULL ('-'); src_ip
 * is '-' (accesslog_tunnel_close_src names it).
 */
void accesslog_tunnel_close(struct accesslog *log, const char *user,
			    const struct sockaddr *client,
			    const char *dest, uint16_t dest_port,
			    const struct sockaddr *peer, uint64_t bytes_up,
			    uint64_t bytes_down, uint64_t duration_ms,
			    enum accesslog_end end);

/* The same, src (NULL: '-') the proxy's own address of the outbound connection. */
void accesslog_tunnel_close_src(struct accesslog *log, const char *user,
				const struct sockaddr *client,
				const char *dest, uint16_t dest_port,
				const struct sockaddr *peer, uint64_t bytes_up,
				uint64_t bytes_down, uint64_t duration_ms,
				enum accesslog_end end, const struct sockaddr *src);

/* Captured credentials come with their lengths: they may hold any octet. */
void accesslog_credential(struct accesslog *log, const char *user, const char *protocol,
			  const char *dest, uint16_t dest_port,
			  const char *cuser, size_t cuser_len,
			  const char *cpass, size_t cpass_len, const char *result);

/* Escapes src (len octets) for a log field into dst (always NUL-terminated). */
void accesslog_escape(char *dst, size_t dstlen, const char *src, size_t len);

#endif
