/*
 * cred: the one rule for credentials, shared by RFC 1929 (SOCKS users), MASS
 * (admins, 0A/0B) and massctl: what a name and a password may be on the wire,
 * what a stored password is (plaintext or a crypt(3) hash), how one is
 * checked and how a hash is made.
 *
 * A name or password is 1..255 printable ASCII octets (0x20..0x7E); a name
 * holds no ':' (the users file and `-u USER:PASS` split there).
 *
 * A stored password is a crypt(3) hash when it starts with '$' and the
 * system's libcrypt knows its method ($y$ yescrypt, $gy$, $7$ scrypt, $2b$
 * bcrypt, $6$ SHA-512, $5$ SHA-256, and the legacy ones it still verifies);
 * anything else is a plaintext password. A crypt string never holds ':' (its
 * alphabet is "./0-9A-Za-z" plus '$', ',' and '='), so it fits the users
 * file's name:password lines, and it is at most 255 octets like a password.
 *
 * Hashing and checking a hash are slow on purpose (yescrypt at the default
 * cost takes about 15 ms): on the server they run in the verify pool
 * (verify.h), never on the loop. Everything here is thread-safe.
 */
#ifndef MASS_CRED_H
#define MASS_CRED_H

#include <stdbool.h>
#include <stddef.h>

#define CRED_FIELD_MAX 255

/* Room for any hash cred_hash_make() writes, its NUL included. */
#define CRED_HASH_MAX (CRED_FIELD_MAX + 1)

/* The method MASS 0A and `massctl hash` use when none is configured. */
#define CRED_DEFAULT_METHOD "yescrypt"

/* True when name (len octets, not NUL-terminated) is a valid user name. */
bool cred_valid_name(const char *name, size_t len);

/* True when pass (len octets) is a valid password. */
bool cred_valid_pass(const char *pass, size_t len);

/* True when the stored password s (len octets) is a crypt(3) hash (see above). */
bool cred_is_hash(const char *s, size_t len);

/*
 * Compares two strings of 0..255 octets in time that depends on neither
 * length nor content (both zero-padded to 255 octets, then libsodium's
 * sodium_memcmp). A length above 255 compares unequal at once (lengths
 * are not secret; contents are).
 */
bool cred_ct_equal(const char *a, size_t alen, const char *b, size_t blen);

/*
 * True when pass (plen octets) matches the stored password s (slen octets):
 * crypt(3) of pass with s as the setting equals s for a hash, a plain
 * constant-time comparison otherwise. An invalid password never matches.
 * Slow for a hash: not for the loop.
 */
bool cred_check(const char *s, size_t slen, const char *pass, size_t plen);

/*
 * True when method (a name as in mass.ini's password_hash: "yescrypt",
 * "gost-yescrypt", "scrypt", "bcrypt", "sha512crypt", "sha256crypt") is
 * known and this system's libcrypt can make such hashes.
 */
bool cred_method_supported(const char *method);

/* Writes the supported method names, space-separated, into buf (len octets); returns buf. */
char *cred_methods(char *buf, size_t len);

/*
 * Hashes pass (plen octets, a valid password) with method (NULL: the
 * default) at cost (0: libcrypt's default for the method; else its
 * log2/rounds parameter as crypt_gensalt(3) takes it) and a fresh random
 * salt. Writes the NUL-terminated crypt string into out (cap octets; cap >=
 * CRED_HASH_MAX always suffices). Returns its length, or -1 with the reason
 * in err (unknown or unsupported method, cost out of range, invalid
 * password, libcrypt failure). Slow: not for the loop.
 */
int cred_hash_make(const char *method, unsigned long cost, const char *pass, size_t plen,
		   char *out, size_t cap, char *err, size_t errlen);

/*
 * Logs the one warning for a plaintext password in a configuration:
 * "ORIGIN:LINE: [SECTION] NAME: plaintext password; ...". section may be
 * NULL (a users file); more > 0 adds "(and N more)".
 */
void cred_warn_plain(const char *origin, int line, const char *section, const char *name,
		     size_t more);

#endif
