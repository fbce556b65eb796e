/*
 * massctl_hash: `massctl hash [-m METHOD] [-c COST]`, which prints the
 * crypt(3) string of a password to paste into mass.ini ([users], [admins])
 * or a users file.
 *
 * The password is read from the terminal without echo (asked twice) when
 * standard input is a terminal, else as the first line of standard input
 * (for scripts; a trailing "\n" or "\r\n" is not part of it).
 */
#ifndef MASS_MASSCTL_HASH_H
#define MASS_MASSCTL_HASH_H

#include <stdbool.h>
#include <stdio.h>

/*
 * argv[0] is "hash". Returns the exit status: 0 with the hash and "\n" on
 * stdout; 1 when the password cannot be read, is invalid, the two entries
 * differ or hashing failed; 2 on a usage error (messages on stderr).
 */
int massctl_hash_main(int argc, char **argv);

/*
 * The same for massctl -j: the hash on out as a line, or with json as
 * {"hash":"..."}; on failure (same return values) the reason is written into
 * err (errlen octets), not to stderr, for the caller to report (massctl -j
 * puts it in its JSON error object).
 */
int massctl_hash_run(int argc, char **argv, bool json, FILE *out, char *err, size_t errlen);

#endif
