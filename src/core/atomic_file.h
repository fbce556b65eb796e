/*
 * atomic_file: replacing a file socks5d rewrites (the users file, the quota
 * state file) so that a crash leaves either the old file or the new one.
 *
 * atomic_file_replace() writes the new content into a temporary file
 * PATH.tmp.XXXXXX next to PATH (mode 0600), fsyncs it, renames it over PATH
 * and fsyncs the directory. Once the rename is done the new content stands:
 * a failed directory fsync after it is reported apart (1), for the caller to
 * log as a durability warning. atomic_file_remove_stale() removes the
 * temporary files a crash left, for the caller to run before it loads PATH.
 *
 * Errors are errno values; the caller words its own message.
 */
#ifndef MASS_ATOMIC_FILE_H
#define MASS_ATOMIC_FILE_H

#include <stddef.h>

/*
 * Replaces path by buf[0..len). Returns 0 when replaced and synced; 1 when
 * replaced but the fsync of the directory failed (errno set; the new content
 * stands); -1 with errno when path is unchanged (the temporary file removed).
 */
int atomic_file_replace(const char *path, const void *buf, size_t len);

/*
 * Removes the PATH.tmp.XXXXXX files next to path, each logged. Errors are
 * ignored: a stale file is only clutter.
 */
void atomic_file_remove_stale(const char *path);

/* The directory fsync of atomic_file_replace(), fsync(2) unless a test replaces it. */
extern int (*atomic_file_dir_fsync)(int fd);

#endif
