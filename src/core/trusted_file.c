/* trusted_file: files we load or rewrite, checked like plugins. See trusted_file.h. */
#include "trusted_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/*
 * Why st is not trusted, in buf ("PATH: it is ..." or "PATH: its directory
 * DIR is ..."; dir NULL for the file itself); NULL when it is.
 */
static const char *trusted_file_why(const char *path, const char *dir, const struct stat *st,
				    const struct trusted_policy *pol, char *buf, size_t buflen)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	char what[240];

	snprintf(what, sizeof(what), "%.200s: %s%.200s", path, dir ? "its directory " : "it",
		 dir ? dir : "");
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(buf, buflen, "%s is writable by %s (mode %04o)", what,
			 (st->st_mode & S_IWOTH) ? "others" : "its group", mode);
		return buf;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid() && st->st_uid != pol->service_uid) {
		snprintf(buf, buflen, "%s is owned by uid %u, neither root, the running user nor "
			 "the service user (mode %04o)", what, (unsigned)st->st_uid, mode);
		return buf;
	}
	return NULL;
}

/* Refuses (strict) or warns about a reason. Returns 0 to go on, -1 refused. */
static int trusted_file_verdict(const char *why, const struct trusted_policy *pol, char *err,
				size_t errlen)
{
	if (why == NULL)
		return 0;
	if (!pol->strict) {
		log_warn("%s; used anyway (strict_files = off)", why);
		return 0;
	}
	snprintf(err, errlen, "%s: refused (a file others could have written; see strict_files "
		 "in mass.ini(5))", why);
	errno = EPERM;
	return -1;
}

int trusted_file_check_dir(const char *path, const struct trusted_policy *pol, char *err,
			   size_t errlen)
{
	char dir[PATH_MAX], buf[512];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
	struct stat st;

	if (dlen >= sizeof(dir))
		dlen = sizeof(dir) - 1;
	memcpy(dir, dlen == 0 ? "." : path, dlen == 0 ? 1 : dlen);
	dir[dlen == 0 ? 1 : dlen] = '\0';
	if (stat(dir, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: its directory %.200s: %s", path, dir, strerror(e));
		errno = e;
		return -1;
	}
	return trusted_file_verdict(trusted_file_why(path, dir, &st, pol, buf, sizeof(buf)), pol,
				    err, errlen);
}

int trusted_file_open(const char *path, int flags, mode_t mode, const struct trusted_policy *pol,
		      char *err, size_t errlen)
{
	char buf[512];
	struct stat st;
	int fd, e;

	if (trusted_file_check_dir(path, pol, err, errlen) < 0)
		return -1;
	/* O_NONBLOCK: a FIFO planted by mistake must not hang the loop */
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, mode);
	if (fd < 0 && errno == ELOOP && !pol->strict) {
		log_warn("%s is a symbolic link; followed (strict_files = off)", path);
		fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
	}
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, e == ELOOP ?
			 "a symbolic link: refused (a file others could have pointed "
			 "anywhere; see strict_files in mass.ini(5))" : strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		errno = EPERM;
		return -1;
	}
	if (trusted_file_verdict(trusted_file_why(path, NULL, &st, pol, buf, sizeof(buf)), pol, err,
				 errlen) < 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}
