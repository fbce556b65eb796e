/* log: diagnostics to stderr. See log.h. */
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_INFO;

static bool log_journal;  /* stderr is journald's stream: "<N>" prefixes */

static const char *const log_names[] = { "error", "warning", "info", "debug" };
static const char *const log_keys[] = { "error", "warn", "info", "debug" };
static const char log_priorities[] = { '3', '4', '6', '7' };  /* syslog(3) */

bool log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char tail;

	log_journal = false;
	if (js != NULL && sscanf(js, "%ju:%ju%c", &dev, &ino, &tail) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino)
		log_journal = true;
	return log_journal;
}

int log_level_parse(const char *name, enum log_level *level)
{
	for (int i = LOG_ERROR; i <= LOG_DEBUG; i++) {
		if (strcmp(name, log_keys[i]) == 0 || strcmp(name, log_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return level <= LOG_DEBUG ? log_keys[level] : "?";
}

/*
 * "2024-05-01T12:34:56.789Z " (RFC 3339, UTC, milliseconds) into buf, for
 * the plain form: the journal stamps its lines itself. Reentrant (the hash
 * workers log too).
 */
static const char *log_stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ts.tv_nsec / 1000000) % 1000);
	return buf;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024], stamp[64];
	va_list ap;
	int n, saved = errno;
	size_t len;

	if (level > log_threshold)
		return;
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%c>%s: ", log_priorities[level],
			     log_names[level]);
	else
		n = snprintf(line, sizeof(line), "%ssocks5d[%d]: %s: ",
			     log_stamp(stamp, sizeof(stamp)), (int)getpid(), log_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - 1 - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write per line so concurrent writers do not interleave */
	len = strlen(line);
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* nowhere left to say it */
	}
	errno = saved;
}
