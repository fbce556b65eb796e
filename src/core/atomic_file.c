/* atomic_file: temporary file, fsync, rename, directory fsync. See atomic_file.h. */
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define ATOMIC_FILE_SUFFIX ".tmp.XXXXXX"

int (*atomic_file_dir_fsync)(int fd) = fsync;

/* The directory holding path, malloc'ed ("." for a bare name, "/" at the root). */
static char *atomic_file_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* Makes the rename durable: fsync of the directory holding path. */
static int atomic_file_sync_dir(const char *path)
{
	char *dir = atomic_file_dir(path);
	int fd, rc = -1;

	if (!dir)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = atomic_file_dir_fsync(fd);
		close(fd);
	}
	free(dir);
	return rc;
}

/* Writes all of buf, syncs and closes fd. Returns 0 or -1 (errno). */
static int atomic_file_write_tmp(int fd, const char *buf, size_t len)
{
	int rc = fchmod(fd, 0600);

	while (rc == 0 && len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	if (rc == 0)
		rc = fsync(fd);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

int atomic_file_replace(const char *path, const void *buf, size_t len)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + sizeof(ATOMIC_FILE_SUFFIX));
	int fd, saved;

	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ATOMIC_FILE_SUFFIX, sizeof(ATOMIC_FILE_SUFFIX));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || atomic_file_write_tmp(fd, buf, len) != 0 || rename(tmp, path) != 0) {
		saved = errno;
		if (fd >= 0)
			unlink(tmp);
		free(tmp);
		errno = saved;
		return -1;
	}
	free(tmp);
	return atomic_file_sync_dir(path) == 0 ? 0 : 1;
}

void atomic_file_remove_stale(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	char *dir = atomic_file_dir(path);
	size_t blen = strlen(base), slen = strlen(ATOMIC_FILE_SUFFIX);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strlen(e->d_name) != blen + slen || strncmp(e->d_name, base, blen) != 0 ||
		    strncmp(e->d_name + blen, ".tmp.", 5) != 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			log_info("%s/%s: removed a temporary file left by an earlier run", dir,
				 e->d_name);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
}
