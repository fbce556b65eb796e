/*
 * log: the daemon's diagnostic log on stderr (not the access log).
 *
 * One line per call, written with one write(2):
 *   "TIME socks5d[pid]: LEVEL: message"     stderr is a terminal, file or pipe
 *   "<N>LEVEL: message"                     stderr is the journal
 * TIME is RFC 3339 in UTC with milliseconds, "2024-05-01T12:34:56.789Z";
 * the journal keeps its own time stamps.
 * The second form is journald's stream protocol (sd-daemon(3)): N is the
 * syslog priority (3 error, 4 warning, 6 info, 7 debug), and journald adds
 * the identifier and pid itself. log_init() picks it when $JOURNAL_STREAM
 * ("DEV:INODE", set by systemd for StandardError=journal) names the very
 * file stderr is, so a stderr redirected elsewhere keeps the plain form.
 */
#ifndef MASS_LOG_H
#define MASS_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped. Default LOG_INFO. */
extern enum log_level log_threshold;

/*
 * Looks at $JOURNAL_STREAM and stderr once (call at start, before the first
 * message; again after stderr changed). Returns true when the journal form
 * is used from now on.
 */
bool log_init(void);

/*
 * Parses a level name: "error", "warn" (or "warning"), "info", "debug".
 * Returns 0 and sets *level, or -1 for anything else (*level untouched).
 */
int log_level_parse(const char *name, enum log_level *level);

/* The name log_level_parse() takes for level ("warn" for LOG_WARN). */
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
