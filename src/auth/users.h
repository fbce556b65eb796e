/*
 * users: a set of name/password credentials, used for the SOCKS users (RFC
 * 1929, MASS 01/0A/0B) and for the management admins.
 *
 * Names and passwords are 1..255 printable ASCII octets (0x20..0x7E); a name
 * holds no ':'. Lookups compare in constant time with respect to the
 * password and do not stop at the first matching name.
 *
 * With a backing file (users_file in mass.ini) the file is the store: every
 * users_add()/users_del() rewrites it atomically (temporary file, fsync,
 * rename, fsync of the directory) before returning USERS_OK, and undoes the
 * in-memory change when that fails. File format: one "name:password" line
 * per user (the name ends at the first ':'), blank lines ignored, mode 0600.
 * There are no comments: the file is machine-written, and a name may start
 * with any printable octet, '#' and ';' included.
 */
#ifndef MASS_USERS_H
#define MASS_USERS_H

#include <stdbool.h>
#include <stddef.h>

#define USERS_FIELD_MAX 255

enum users_result {
	USERS_OK = 0,
	USERS_EXISTS,     /* add: the name is taken */
	USERS_NOT_FOUND,  /* del: no such name */
	USERS_FULL,       /* add: max users reached */
	USERS_INVALID,    /* a name or password outside the rules above */
	USERS_IO,         /* the backing file could not be written; nothing changed */
	USERS_NOMEM
};

struct user {
	char *name;   /* NUL-terminated copies; lengths kept for the wire */
	char *pass;
	unsigned char name_len, pass_len;
};

struct users {
	struct user *list;
	size_t len, cap;
	unsigned max;     /* at most 255 */
	char *file;       /* backing file, or NULL */
};

/* An empty set holding at most max (clamped to 255) users, backed by file (NULL: none). */
int users_init(struct users *u, unsigned max, const char *file);
void users_free(struct users *u);

/*
 * Adds a user. With persist and a backing file, the file is rewritten first
 * (see above). Returns a users_result; err gets a reason for USERS_IO.
 */
enum users_result users_add(struct users *u, const char *name, size_t name_len,
			    const char *pass, size_t pass_len, bool persist,
			    char *err, size_t errlen);

/* Deletes a user, persisting like users_add(). Returns a users_result. */
enum users_result users_del(struct users *u, const char *name, size_t name_len,
			    bool persist, char *err, size_t errlen);

/* True when name/pass match a user. Constant time in the password. */
bool users_check(const struct users *u, const char *name, size_t name_len,
		 const char *pass, size_t pass_len);

/* The index of a name, or -1. */
long users_find(const struct users *u, const char *name, size_t name_len);

/*
 * Loads the backing file into u (which should be empty).
 * Returns 1 when loaded, 0 when the file does not exist, -1 on a read or
 * format error ("FILE:LINE: reason" in err; u is left empty).
 */
int users_load(struct users *u, char *err, size_t errlen);

/* Writes the whole set to the backing file atomically. Returns 0 or -1 (err set). */
int users_save(const struct users *u, char *err, size_t errlen);

/*
 * The pure parser behind users_load(), for tests and fuzzing: parses a whole
 * file image into u. Returns 0, or -1 with "LINE: reason" in err.
 */
int users_parse(struct users *u, const char *buf, size_t len, char *err, size_t errlen);

#endif
