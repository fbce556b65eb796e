/* log: diagnostics to stderr. See log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

enum log_level log_threshold = LOG_INFO;

static const char *const log_names[] = { "error", "warning", "info", "debug" };

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > log_threshold)
		return;
	n = snprintf(line, sizeof(line), "socks5d[%d]: %s: ", (int)getpid(), log_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write per line so concurrent writers do not interleave */
	fprintf(stderr, "%s\n", line);
}
