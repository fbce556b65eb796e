/*
 * users: a set of name/password credentials, used for the SOCKS users (RFC
 * 1929, MASS 01/0A/0B) and for the management admins.
 *
 * Names and passwords are 1..255 printable ASCII octets (0x20..0x7E); a name
 * holds no ':'. A stored password is plaintext or a crypt(3) hash (the rule
 * is cred_is_hash(), cred.h). Lookups compare in constant time with respect
 * to the password and do not stop at the first matching name.
 *
 * With a backing file (users_file in mass.ini) the file is the store: every
 * users_add()/users_del() rewrites it atomically (temporary file, fsync,
 * rename, fsync of the directory) before returning USERS_OK, and undoes the
 * in-memory change when the file could not be replaced. Acknowledged equals
 * persisted: once the rename replaced the file the change stands, and a
 * failed fsync of the directory after it is a logged durability warning,
 * not an error, so a restart loads exactly what was served. The temporary
 * files a crash leaves (FILE.tmp.XXXXXX) are removed by users_load(). File format: one "name:password" line
 * per user (the name ends at the first ':'), blank lines ignored, mode 0600.
 * A user with a class (mass.ini's [class NAME], the per-user limits) is
 * "name:hash:class": the text after the last ':' is the class when it is
 * a class name ([A-Za-z0-9_-]{1,32}) and what precedes it is a crypt(3)
 * hash (crypt strings hold no ':'); otherwise the whole rest is the
 * password (a plaintext one may hold ':'; a class is written only after
 * the rewrite has hashed it).
 * There are no comments: the file is machine-written, and a name may start
 * with any printable octet, '#' and ';' included.
 * The file is opened as core/trusted_file.h says (u->trust): never through
 * a final symlink, and refused when it or its directory could have been
 * written by anyone but root, the running user or the service user; a
 * rewrite first checks the directory the same way.
 *
 * No clear password at rest: every rewrite of the file first replaces each
 * plaintext entry by its hash (method and cost from users_set_hash(), by
 * default yescrypt at libcrypt's default cost), so an old file with
 * plaintext passwords is migrated by the first 0A/0B after it is loaded.
 * That rehash runs where users_save() is called (about 15 ms per plaintext
 * entry with yescrypt) and happens once per entry in the life of a file.
 * MASS 0A does not leave it to the loop: the host's users_add_async
 * (src/mass/host.c) hashes the new password and every plaintext entry in
 * the verify pool, swaps each hash in with users_set_pass(), and only then
 * adds the user, so the users_save() it ends with finds nothing to hash.
 *
 * Not thread-safe: the loop owns the store. The verify pool copies what a
 * worker needs.
 */
#ifndef MASS_USERS_H
#define MASS_USERS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/trusted_file.h"

#define USERS_FIELD_MAX 255

enum users_result {
	USERS_OK = 0,
	USERS_EXISTS,     /* add: the name is taken */
	USERS_NOT_FOUND,  /* del: no such name */
	USERS_FULL,       /* add: max users reached */
	USERS_INVALID,    /* a name or password outside the rules above */
	USERS_IO,         /* the backing file could not be replaced; nothing changed */
	USERS_NOMEM
};

struct user {
	char *name;   /* NUL-terminated copies; lengths kept for the wire */
	char *pass;   /* the stored password: plaintext or a crypt(3) hash */
	unsigned char name_len, pass_len;
	bool hashed;  /* cred_is_hash(pass) */
	char *cls;    /* the user's class ([A-Za-z0-9_-]{1,32}), NULL: the default class */
	unsigned line; /* its line in the users file, 0 when it came from elsewhere */
};

struct users {
	struct user *list;
	size_t len, cap;
	unsigned max;     /* at most 255 */
	char *file;       /* backing file, or NULL */
	char *hash_method; /* for the rehash on rewrite; NULL: CRED_DEFAULT_METHOD */
	unsigned long hash_cost; /* 0: libcrypt's default */
	struct trusted_policy trust; /* how file is opened (core/trusted_file.h); strict by default */
};

/*
 * An empty set holding at most max (clamped to 255) users, backed by file
 * (NULL: none). Returns 0, or -1 when out of memory.
 */
int users_init(struct users *u, unsigned max, const char *file);

/*
 * Sets the method (a cred_hash_make() name; NULL: the default) and cost
 * plaintext entries are hashed with when the file is rewritten. Returns 0,
 * or -1 when the method is not supported here or memory ran out.
 */
int users_set_hash(struct users *u, const char *method, unsigned long cost);
void users_free(struct users *u);

/*
 * Adds a user; pass is the password to store, plaintext or a crypt(3)
 * hash. With persist and a backing file, the file is rewritten first (see
 * above). Returns a users_result; err gets a reason for USERS_IO.
 */
enum users_result users_add(struct users *u, const char *name, size_t name_len,
			    const char *pass, size_t pass_len, bool persist,
			    char *err, size_t errlen);

/*
 * Replaces the stored password of entry i (in memory only: the next
 * users_save() writes it), e.g. a plaintext entry by its hash made off the
 * loop. Returns USERS_OK, USERS_NOT_FOUND (i out of range), USERS_INVALID
 * or USERS_NOMEM (the entry is then unchanged).
 */
enum users_result users_set_pass(struct users *u, size_t i, const char *pass, size_t pass_len);

/* True when cls is a valid class name ([A-Za-z0-9_-]{1,32}). */
bool users_valid_class(const char *cls);

/*
 * Sets the class of entry i (NULL or "default": the default class, stored
 * as none), persisting like users_add() (the old class is put back when the
 * file could not be replaced). Returns USERS_OK, USERS_NOT_FOUND (i out of
 * range), USERS_INVALID (not a class name), USERS_IO or USERS_NOMEM.
 */
enum users_result users_set_class(struct users *u, size_t i, const char *cls, bool persist,
				  char *err, size_t errlen);

/* Deletes a user, persisting like users_add(). Returns a users_result. */
enum users_result users_del(struct users *u, const char *name, size_t name_len,
			    bool persist, char *err, size_t errlen);

/*
 * True when name/pass match a user. Constant time in the password; an
 * unknown name costs what a known one costs (users_dummy()). Synchronous:
 * for a hashed entry this runs crypt(3) on the calling thread, so the
 * server checks through the verify pool (verify.h) instead.
 */
bool users_check(const struct users *u, const char *name, size_t name_len,
		 const char *pass, size_t pass_len);

/* The index of a name, or -1. */
long users_find(const struct users *u, const char *name, size_t name_len);

/*
 * What an unknown name is checked against so that it costs what a known
 * one does: the first hashed entry's stored hash (the password is then
 * compared with it and the answer thrown away), or "-" when no entry is
 * hashed. Its length in *len.
 */
const char *users_dummy(const struct users *u, size_t *len);

/* The number of plaintext entries. */
size_t users_plain_count(const struct users *u);

/*
 * Loads the backing file into u (which should be empty), and logs one
 * warning naming the file and the first line when it holds plaintext
 * passwords. First removes (and logs) the temporary files FILE.tmp.XXXXXX a
 * crash during users_save() left next to it. Returns 1 when loaded, 0 when the file does not exist, -1 on
 * a read or format error ("FILE:LINE: reason" in err; u is left empty).
 */
int users_load(struct users *u, char *err, size_t errlen);

/*
 * Writes the whole set to the backing file atomically, after replacing every
 * plaintext entry by its hash in memory (see above). Returns 0 once the file
 * is replaced (a failed directory fsync after that is only logged), or -1
 * when it is not (err set; entries already hashed stay hashed: the same
 * credentials).
 */
int users_save(struct users *u, char *err, size_t errlen);

/*
 * The pure parser behind users_load(), for tests and fuzzing: parses a whole
 * file image into u (each entry's line recorded). Returns 0, or -1 with
 * "LINE: reason" in err.
 */
int users_parse(struct users *u, const char *buf, size_t len, char *err, size_t errlen);

#endif
