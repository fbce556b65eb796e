/* cred: the credential rules, crypt(3) hashes included. See cred.h. */
#include "cred.h"

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"

static bool cred_printable(const char *s, size_t len)
{
	if (!s || len < 1 || len > CRED_FIELD_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
			return false;
	return true;
}

bool cred_valid_name(const char *name, size_t len)
{
	return cred_printable(name, len) && !memchr(name, ':', len);
}

bool cred_valid_pass(const char *pass, size_t len)
{
	return cred_printable(pass, len);
}

/* 1 when a < b, without a branch (both are at most a few hundred). */
static size_t cred_ct_lt(size_t a, size_t b)
{
	return (a - b) >> (sizeof(size_t) * CHAR_BIT - 1);
}

/*
 * s (len octets) zero-padded to CRED_FIELD_MAX in out, in time that does
 * not depend on len: every position is written, and one past the end reads
 * s's first octet (or a constant for an empty s) and is masked out.
 */
static void cred_pad(const char *s, size_t len, unsigned char out[CRED_FIELD_MAX])
{
	static const char none[1] = { 0 };

	if (len == 0)
		s = none;
	for (size_t i = 0; i < CRED_FIELD_MAX; i++) {
		size_t in = cred_ct_lt(i, len);

		out[i] = (unsigned char)s[i * in] & (unsigned char)(0u - (unsigned)in);
	}
}

/* Both padded to the same width, so that libsodium's compare sees no length. */
bool cred_ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char pa[CRED_FIELD_MAX], pb[CRED_FIELD_MAX];
	int same;

	if (alen > CRED_FIELD_MAX || blen > CRED_FIELD_MAX)
		return false;
	cred_pad(a, alen, pa);
	cred_pad(b, blen, pb);
	same = sodium_memcmp(pa, pb, sizeof(pa)) == 0;
	sodium_memzero(pa, sizeof(pa));
	sodium_memzero(pb, sizeof(pb));
	return same & (alen == blen);
}

/* The methods a hash can be made with, strongest first; prefix as crypt(5) names it. */
static const struct cred_method {
	const char *name, *prefix;
} cred_method_table[] = {
	{ "yescrypt", "$y$" },
	{ "gost-yescrypt", "$gy$" },
	{ "scrypt", "$7$" },
	{ "bcrypt", "$2b$" },
	{ "sha512crypt", "$6$" },
	{ "sha256crypt", "$5$" },
};
#define CRED_NMETHODS (sizeof(cred_method_table) / sizeof(cred_method_table[0]))

/* s (len octets) as a C string in buf (CRED_HASH_MAX octets), or NULL when too long. */
static const char *cred_cstr(const char *s, size_t len, char *buf)
{
	if (len > CRED_FIELD_MAX)
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

bool cred_is_hash(const char *s, size_t len)
{
	char buf[CRED_HASH_MAX];

	if (!cred_valid_pass(s, len) || s[0] != '$' || !cred_cstr(s, len, buf))
		return false;
#ifdef HAVE_CRYPT_CHECKSALT
	switch (crypt_checksalt(buf)) {
	case CRYPT_SALT_OK:
	case CRYPT_SALT_METHOD_LEGACY:
	case CRYPT_SALT_TOO_CHEAP:
		return true;
	default:
		return false;
	}
#else
	/* no crypt_checksalt: the prefixes every libcrypt with these methods knows */
	static const char *const known[] = { "$y$", "$gy$", "$7$", "$2b$", "$2y$", "$2a$",
					     "$6$", "$5$", "$1$" };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strncmp(buf, known[i], strlen(known[i])) == 0)
			return true;
	return false;
#endif
}

bool cred_check(const char *s, size_t slen, const char *pass, size_t plen)
{
	char sbuf[CRED_HASH_MAX], pbuf[CRED_HASH_MAX];
	struct crypt_data *data;
	const char *out;
	bool same = false;

	if (!cred_valid_pass(pass, plen))
		return false;
	if (!cred_is_hash(s, slen))
		return cred_ct_equal(s, slen, pass, plen);
	data = calloc(1, sizeof(*data));
	if (!data)
		return false;
	out = crypt_rn(cred_cstr(pass, plen, pbuf), cred_cstr(s, slen, sbuf), data,
		       (int)sizeof(*data));
	/* crypt_rn returns NULL or a string starting with '*' on failure */
	if (out && out[0] == '$')
		same = cred_ct_equal(out, strlen(out), s, slen);
	explicit_bzero(pbuf, sizeof(pbuf));
	explicit_bzero(data, sizeof(*data));
	free(data);
	return same;
}

static const struct cred_method *cred_method_find(const char *name)
{
	for (size_t i = 0; i < CRED_NMETHODS; i++)
		if (strcmp(cred_method_table[i].name, name) == 0)
			return &cred_method_table[i];
	return NULL;
}

#ifndef HAVE_CRYPT_GENSALT_RN
/*
 * Without crypt_gensalt_rn (a libcrypt older than libxcrypt), only the
 * SHA-crypt settings can be written by hand: "$6$rounds=N$" and 16 salt
 * characters from libsodium's randombytes_buf().
 */
static char *cred_gensalt(const char *prefix, unsigned long cost, char *out, int cap)
{
	static const char b64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[16];
	int n;

	if (strcmp(prefix, "$6$") != 0 && strcmp(prefix, "$5$") != 0) {
		errno = ENOSYS;
		return NULL;
	}
	if (cost != 0 && (cost < 1000 || cost > 999999999)) {
		errno = EINVAL;
		return NULL;
	}
	if (sodium_init() < 0)
		return NULL;
	randombytes_buf(rnd, sizeof(rnd));
	n = cost ? snprintf(out, (size_t)cap, "%srounds=%lu$", prefix, cost)
		 : snprintf(out, (size_t)cap, "%s", prefix);
	if (n < 0 || n + 17 >= cap) {
		errno = ERANGE;
		return NULL;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		out[n++] = b64[rnd[i] & 63];
	out[n] = '\0';
	return out;
}
#else
static char *cred_gensalt(const char *prefix, unsigned long cost, char *out, int cap)
{
	return crypt_gensalt_rn(prefix, cost, NULL, 0, out, cap);
}
#endif

bool cred_method_supported(const char *method)
{
	const struct cred_method *m = method ? cred_method_find(method) : NULL;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	return m && cred_gensalt(m->prefix, 0, setting, (int)sizeof(setting)) != NULL;
}

char *cred_methods(char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < CRED_NMETHODS; i++) {
		const char *name = cred_method_table[i].name;
		int n;

		if (!cred_method_supported(name))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? " " : "", name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

int cred_hash_make(const char *method, unsigned long cost, const char *pass, size_t plen,
		   char *out, size_t cap, char *err, size_t errlen)
{
	const struct cred_method *m = cred_method_find(method ? method : CRED_DEFAULT_METHOD);
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], pbuf[CRED_HASH_MAX];
	struct crypt_data *data;
	const char *h;
	size_t n;
	int rc = -1;

	if (!m) {
		char known[128];

		snprintf(err, errlen, "unknown hash method '%s' (this system has: %s)", method,
			 cred_methods(known, sizeof(known)));
		return -1;
	}
	if (!cred_valid_pass(pass, plen)) {
		snprintf(err, errlen, "invalid password (1..255 printable ASCII characters)");
		return -1;
	}
	if (!cred_gensalt(m->prefix, cost, setting, (int)sizeof(setting))) {
		if (errno == EINVAL && cost != 0)
			snprintf(err, errlen, "cost %lu is out of range for %s", cost, m->name);
		else
			snprintf(err, errlen, "%s is not supported by this system's libcrypt",
				 m->name);
		return -1;
	}
	data = calloc(1, sizeof(*data));
	if (!data) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -1;
	}
	h = crypt_rn(cred_cstr(pass, plen, pbuf), setting, data, (int)sizeof(*data));
	if (!h || h[0] != '$') {
		snprintf(err, errlen, "crypt failed for %s: %s", m->name, strerror(errno));
	} else if ((n = strlen(h)) > CRED_FIELD_MAX || n >= cap) {
		snprintf(err, errlen, "%s hash longer than %zu octets", m->name,
			 cap <= CRED_FIELD_MAX ? cap - 1 : (size_t)CRED_FIELD_MAX);
	} else {
		memcpy(out, h, n + 1);
		rc = (int)n;
	}
	explicit_bzero(pbuf, sizeof(pbuf));
	explicit_bzero(data, sizeof(*data));
	free(data);
	return rc;
}

void cred_warn_plain(const char *origin, int line, const char *section, const char *name,
		     size_t more)
{
	char extra[48] = "";

	if (more > 0)
		snprintf(extra, sizeof(extra), " (and %zu more)", more);
	log_warn("%s:%d: %s%s%s'%s': plaintext password%s; store a hash instead "
		 "(massctl hash)%s", origin, line, section ? "[" : "", section ? section : "",
		 section ? "] " : "", name, extra,
		 section ? "" : "; the file is hashed the next time it is rewritten");
}
