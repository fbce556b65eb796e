/*
 * trusted_file: opening a file socks5d loads or rewrites (the users file, a
 * quota state file) the way plugins are opened: never through a final
 * symbolic link, and only when nobody but root, the running user or the
 * service user could have written it or replaced it.
 *
 * A file in a shared place is the attack: in a world-writable directory
 * another user plants a symlink to /etc/shadow (which root's socks5d would
 * read as SOCKS users), or a file of their own. So, like sshd's StrictModes
 * and the plugin loader (mass/plugins.c), the file and its directory must
 * each be owned by root, the running user or the service user (the `user`
 * socks5d drops to after start, which owns the files it rewrites), and
 * neither may be writable by its group or by others (a sticky directory
 * such as /tmp included: anyone may still plant a file there first).
 *
 * With the policy not strict (mass.ini [socks] strict_files = off), what
 * would be refused is logged as a warning and the file used anyway, a final
 * symlink followed.
 *
 * Errors are written into the caller's buffer as "PATH: reason", naming the
 * file or directory and its mode.
 */
#ifndef MASS_TRUSTED_FILE_H
#define MASS_TRUSTED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct trusted_policy {
	bool strict;           /* false: warn instead of refusing */
	uid_t service_uid;     /* the user socks5d runs as after start; (uid_t)-1: none */
};

/* strict, no service user */
#define TRUSTED_POLICY_DEFAULT ((struct trusted_policy){ true, (uid_t)-1 })

/*
 * Opens path with flags (O_RDONLY, O_RDWR, ...; O_CLOEXEC, O_NOCTTY and
 * O_NOFOLLOW are added; O_CREAT is allowed, mode as for open(2)) after its
 * directory passed the check, then checks the file itself (fstat: a regular
 * file, owner and mode). Returns the descriptor, or -1 with err set and
 * errno: ENOENT when the file does not exist (its directory was fine: the
 * caller may create it), ELOOP for a final symlink, EPERM when refused by
 * owner or mode, else open(2)'s.
 */
int trusted_file_open(const char *path, int flags, mode_t mode, const struct trusted_policy *pol,
		      char *err, size_t errlen);

/*
 * The check of the directory that holds path alone (before creating or
 * renaming a file into it). Returns 0, or -1 with err set and errno EPERM
 * (or stat(2)'s).
 */
int trusted_file_check_dir(const char *path, const struct trusted_policy *pol, char *err,
			   size_t errlen);

#endif
