/*
 * accesslog: one tab-separated line per SOCKS request and per captured
 * credential, to stderr or a file reopened on SIGHUP (logrotate).
 *
 *   request:    ISO-8601Z  user  KIND  src_ip  src_port  dest  dest_port  status
 *   credential: ISO-8601Z  user  P  PROTOCOL  dest  dest_port  cuser  cpass  result
 *
 * KIND is the command: A for CONNECT, B for BIND, U for UDP ASSOCIATE.
 * user is '-' without authentication; dest is as the client named it;
 * status is the REP code in decimal. Fields that come from the network are
 * escaped (\t, \n, \\ and \xHH for other non-printable octets) so a line
 * always stays one line with the same columns.
 */
#ifndef MASS_ACCESSLOG_H
#define MASS_ACCESSLOG_H

#include <stdint.h>
#include <sys/socket.h>

/* Opens the log: "-" or NULL is stderr. Returns 0, or -1 with err set. */
int accesslog_open(const char *path, char *err, size_t errlen);

/* Reopens the same path (after logrotate moved it). Returns 0 or -1 (err set). */
int accesslog_reopen(char *err, size_t errlen);

/* Flushes and closes (back to stderr). */
void accesslog_close(void);

/*
 * Writes the lines gathered since the last flush. Lines are batched: the
 * daemon calls this once per loop round, before waiting for events.
 */
void accesslog_flush(void);

/* The record types of request lines (the third column). */
enum accesslog_kind {
	ACCESSLOG_CONNECT = 'A',
	ACCESSLOG_BIND = 'B',
	ACCESSLOG_UDP = 'U'
};

/* One request line; a kind outside enum accesslog_kind is written as '?'. */
void accesslog_request(const char *user, char kind, const struct sockaddr *src,
		       const char *dest, uint16_t dest_port, int status);

/* Captured credentials come with their lengths: they may hold any octet. */
void accesslog_credential(const char *user, const char *protocol,
			  const char *dest, uint16_t dest_port,
			  const char *cuser, size_t cuser_len,
			  const char *cpass, size_t cpass_len, const char *result);

/* Escapes src (len octets) for a log field into dst (always NUL-terminated). */
void accesslog_escape(char *dst, size_t dstlen, const char *src, size_t len);

#endif
