/*
 * cred: the one rule for credentials on the wire, shared by RFC 1929 (SOCKS
 * users), MASS (admins, 0A/0B) and massctl.
 *
 * A name or password is 1..255 printable ASCII octets (0x20..0x7E); a name
 * holds no ':' (the users file and `-u USER:PASS` split there).
 */
#ifndef MASS_CRED_H
#define MASS_CRED_H

#include <stdbool.h>
#include <stddef.h>

#define CRED_FIELD_MAX 255

/* True when name (len octets, not NUL-terminated) is a valid user name. */
bool cred_valid_name(const char *name, size_t len);

/* True when pass (len octets) is a valid password. */
bool cred_valid_pass(const char *pass, size_t len);

#endif
