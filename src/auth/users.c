/* users: the credential set and its backing file. See users.h. */
#include "users.h"

#include "cred.h"
#include "core/atomic_file.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A users file holds at most 255 lines of 511 octets plus blank lines. */
#define USERS_FILE_MAX (1024 * 1024)

int users_init(struct users *u, unsigned max, const char *file)
{
	memset(u, 0, sizeof(*u));
	u->max = max > 255 ? 255 : max;
	u->trust = TRUSTED_POLICY_DEFAULT;
	if (file) {
		u->file = strdup(file);
		if (!u->file)
			return -1;
	}
	return 0;
}

static void users_free_one(struct user *user)
{
	if (user->pass)
		explicit_bzero(user->pass, user->pass_len);
	free(user->name);
	free(user->pass);
	free(user->cls);
	memset(user, 0, sizeof(*user));
}

void users_free(struct users *u)
{
	for (size_t i = 0; i < u->len; i++)
		users_free_one(&u->list[i]);
	free(u->list);
	free(u->file);
	free(u->hash_method);
	memset(u, 0, sizeof(*u));
}

int users_set_hash(struct users *u, const char *method, unsigned long cost)
{
	char *copy = NULL;

	if (method && (!cred_method_supported(method) || !(copy = strdup(method))))
		return -1;
	free(u->hash_method);
	u->hash_method = copy;
	u->hash_cost = cost;
	return 0;
}

long users_find(const struct users *u, const char *name, size_t name_len)
{
	long found = -1;

	/* Every entry is visited so the position of a match does not show. */
	for (size_t i = 0; i < u->len; i++) {
		const struct user *user = &u->list[i];

		if (user->name_len == name_len && memcmp(user->name, name, name_len) == 0)
			found = (long)i;
	}
	return found;
}

const char *users_dummy(const struct users *u, size_t *len)
{
	for (size_t i = 0; i < u->len; i++)
		if (u->list[i].hashed) {
			*len = u->list[i].pass_len;
			return u->list[i].pass;
		}
	*len = 1;
	return "-";
}

size_t users_plain_count(const struct users *u)
{
	size_t n = 0;

	for (size_t i = 0; i < u->len; i++)
		n += !u->list[i].hashed;
	return n;
}

bool users_check(const struct users *u, const char *name, size_t name_len,
		 const char *pass, size_t pass_len)
{
	const char *stored;
	size_t stored_len;
	long i;
	bool same;

	if (!cred_valid_pass(pass, pass_len) || name_len > USERS_FIELD_MAX)
		return false;
	i = users_find(u, name, name_len);
	if (i >= 0) {
		stored = u->list[i].pass;
		stored_len = u->list[i].pass_len;
	} else {
		stored = users_dummy(u, &stored_len);
	}
	same = cred_check(stored, stored_len, pass, pass_len);
	return i >= 0 && same;
}

static char *users_dup(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

__attribute__((format(printf, 3, 4)))
static void users_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * The file image: "name:password\n" per user and nothing else. There is no
 * header or comment syntax, since a name may start with any printable octet.
 */
static char *users_image(const struct users *u, size_t *len)
{
	size_t cap = 1, off = 0;
	char *buf;

	for (size_t i = 0; i < u->len; i++)
		cap += (size_t)u->list[i].name_len + u->list[i].pass_len + 2 +
		       (u->list[i].cls ? strlen(u->list[i].cls) + 1 : 0);
	buf = malloc(cap);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < u->len; i++) {
		const struct user *user = &u->list[i];

		memcpy(buf + off, user->name, user->name_len);
		off += user->name_len;
		buf[off++] = ':';
		memcpy(buf + off, user->pass, user->pass_len);
		off += user->pass_len;
		if (user->cls) {
			buf[off++] = ':';
			memcpy(buf + off, user->cls, strlen(user->cls));
			off += strlen(user->cls);
		}
		buf[off++] = '\n';
	}
	*len = off;
	return buf;
}

/*
 * Replaces each plaintext entry by its hash, so the file holds no clear
 * password. Returns 0, or -1 with err set (the entries done so far stay
 * hashed).
 */
static int users_rehash(struct users *u, char *err, size_t errlen)
{
	char hash[CRED_HASH_MAX], why[160];

	for (size_t i = 0; i < u->len; i++) {
		struct user *user = &u->list[i];
		char *copy;
		int n;

		if (user->hashed)
			continue;
		n = cred_hash_make(u->hash_method, u->hash_cost, user->pass, user->pass_len,
				   hash, sizeof(hash), why, sizeof(why));
		if (n < 0 || !(copy = users_dup(hash, (size_t)n))) {
			users_set_err(err, errlen, "%s: user '%s': %s", u->file, user->name,
				      n < 0 ? why : strerror(ENOMEM));
			return -1;
		}
		explicit_bzero(user->pass, user->pass_len);
		free(user->pass);
		user->pass = copy;
		user->pass_len = (unsigned char)n;
		user->hashed = true;
	}
	return 0;
}

int users_save(struct users *u, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int rc, why;

	if (!u->file) {
		users_set_err(err, errlen, "no users file");
		return -1;
	}
	if (users_rehash(u, err, errlen) != 0 ||
	    trusted_file_check_dir(u->file, &u->trust, err, errlen) != 0)
		return -1;
	buf = users_image(u, &len);
	if (!buf) {
		users_set_err(err, errlen, "%s: %s", u->file, strerror(ENOMEM));
		return -1;
	}
	rc = atomic_file_replace(u->file, buf, len);
	why = errno;
	explicit_bzero(buf, len);
	free(buf);
	if (rc < 0) {
		users_set_err(err, errlen, "%s: %s", u->file, strerror(why));
		return -1;
	}
	/* the file is replaced: what it holds is what is served from now on */
	if (rc > 0)
		log_warn("%s: replaced, but the sync of its directory failed (%s): the change "
			 "stands and is served; it may not survive a power loss", u->file,
			 strerror(why));
	return 0;
}

static enum users_result users_append(struct users *u, const char *name, size_t name_len,
				      const char *pass, size_t pass_len)
{
	struct user user;

	if (!cred_valid_name(name, name_len) || !cred_valid_pass(pass, pass_len))
		return USERS_INVALID;
	if (users_find(u, name, name_len) >= 0)
		return USERS_EXISTS;
	if (u->len >= u->max)
		return USERS_FULL;
	if (u->len == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 8;
		struct user *list = realloc(u->list, cap * sizeof(*list));

		if (!list)
			return USERS_NOMEM;
		u->list = list;
		u->cap = cap;
	}
	user.name = users_dup(name, name_len);
	user.pass = users_dup(pass, pass_len);
	user.name_len = (unsigned char)name_len;
	user.pass_len = (unsigned char)pass_len;
	user.hashed = cred_is_hash(pass, pass_len);
	user.line = 0;
	user.cls = NULL;
	if (!user.name || !user.pass) {
		users_free_one(&user);
		return USERS_NOMEM;
	}
	u->list[u->len++] = user;
	return USERS_OK;
}

enum users_result users_add(struct users *u, const char *name, size_t name_len,
			    const char *pass, size_t pass_len, bool persist,
			    char *err, size_t errlen)
{
	enum users_result r = users_append(u, name, name_len, pass, pass_len);

	if (r != USERS_OK || !persist || !u->file)
		return r;
	if (users_save(u, err, errlen) != 0) {
		users_free_one(&u->list[--u->len]);
		return USERS_IO;
	}
	return USERS_OK;
}

enum users_result users_set_pass(struct users *u, size_t i, const char *pass, size_t pass_len)
{
	struct user *user;
	char *copy;

	if (i >= u->len)
		return USERS_NOT_FOUND;
	if (!cred_valid_pass(pass, pass_len))
		return USERS_INVALID;
	if (!(copy = users_dup(pass, pass_len)))
		return USERS_NOMEM;
	user = &u->list[i];
	explicit_bzero(user->pass, user->pass_len);
	free(user->pass);
	user->pass = copy;
	user->pass_len = (unsigned char)pass_len;
	user->hashed = cred_is_hash(pass, pass_len);
	return USERS_OK;
}

bool users_valid_class(const char *cls)
{
	size_t len = cls ? strlen(cls) : 0;

	return len >= 1 && len <= 32 &&
	       strspn(cls, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-") == len;
}

enum users_result users_set_class(struct users *u, size_t i, const char *cls, bool persist,
				  char *err, size_t errlen)
{
	char *copy = NULL, *old;

	if (i >= u->len)
		return USERS_NOT_FOUND;
	if (cls != NULL && strcmp(cls, "default") != 0) {
		if (!users_valid_class(cls))
			return USERS_INVALID;
		if (!(copy = strdup(cls)))
			return USERS_NOMEM;
	}
	old = u->list[i].cls;
	u->list[i].cls = copy;
	if (persist && u->file && users_save(u, err, errlen) != 0) {
		u->list[i].cls = old;
		free(copy);
		return USERS_IO;
	}
	free(old);
	return USERS_OK;
}

enum users_result users_del(struct users *u, const char *name, size_t name_len,
			    bool persist, char *err, size_t errlen)
{
	long i = users_find(u, name, name_len);
	struct user gone;
	size_t at, tail;

	if (i < 0)
		return USERS_NOT_FOUND;
	at = (size_t)i;
	tail = u->len - at - 1;
	gone = u->list[at];
	memmove(&u->list[at], &u->list[at + 1], tail * sizeof(*u->list));
	u->len--;
	if (persist && u->file && users_save(u, err, errlen) != 0) {
		/* Put the user back where it was: the set is unchanged. */
		memmove(&u->list[at + 1], &u->list[at], tail * sizeof(*u->list));
		u->list[at] = gone;
		u->len++;
		return USERS_IO;
	}
	users_free_one(&gone);
	return USERS_OK;
}

static void users_truncate(struct users *u, size_t len)
{
	while (u->len > len)
		users_free_one(&u->list[--u->len]);
}

static const char *users_reason(enum users_result r, const char *name, size_t name_len)
{
	switch (r) {
	case USERS_EXISTS:
		return "duplicate name";
	case USERS_FULL:
		return "more users than max_users";
	case USERS_NOMEM:
		return strerror(ENOMEM);
	default:
		if (!cred_valid_name(name, name_len))
			return "invalid name (1..255 printable ASCII characters, no ':')";
		return "invalid password (1..255 printable ASCII characters)";
	}
}

/* "name:" then "password" or "hash:class" (users.h), appended. */
static enum users_result users_parse_entry(struct users *u, const char *name, size_t name_len,
					   const char *rest, size_t len)
{
	const char *colon = len ? memrchr(rest, ':', len) : NULL;
	char cls[33];
	size_t clen = colon ? len - (size_t)(colon - rest) - 1 : 0;
	enum users_result r;

	if (colon == NULL || clen == 0 || clen >= sizeof(cls) ||
	    !cred_is_hash(rest, (size_t)(colon - rest)))
		return users_append(u, name, name_len, rest, len);
	memcpy(cls, colon + 1, clen);
	cls[clen] = '\0';
	if (!users_valid_class(cls))
		return users_append(u, name, name_len, rest, len);
	r = users_append(u, name, name_len, rest, (size_t)(colon - rest));
	if (r == USERS_OK && !(u->list[u->len - 1].cls = strdup(cls))) {
		users_free_one(&u->list[--u->len]);
		return USERS_NOMEM;
	}
	return r;
}

/* Parses one line (without its '\n'). Returns USERS_OK or the reason's result. */
static int users_parse_line(struct users *u, const char *line, size_t len, size_t lineno,
			    char *err, size_t errlen)
{
	const char *colon;
	size_t blank = 0;
	enum users_result r;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	while (blank < len && (line[blank] == ' ' || line[blank] == '\t'))
		blank++;
	if (blank == len)
		return 0;
	colon = memchr(line, ':', len);
	if (!colon) {
		snprintf(err, errlen, "%zu: expected name:password", lineno);
		return -1;
	}
	r = users_parse_entry(u, line, (size_t)(colon - line), colon + 1,
			      len - (size_t)(colon - line) - 1);
	if (r == USERS_OK) {
		u->list[u->len - 1].line = (unsigned)lineno;
		return 0;
	}
	snprintf(err, errlen, "%zu: %s", lineno,
		 users_reason(r, line, (size_t)(colon - line)));
	return -1;
}

int users_parse(struct users *u, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t before = u->len, lineno = 0, off = 0;
	char dummy[1];

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;

		lineno++;
		if (users_parse_line(u, buf + off, n, lineno, err, errlen) != 0) {
			users_truncate(u, before);
			return -1;
		}
		off += n + (nl ? 1 : 0);
	}
	return 0;
}

/* The one warning for a file with plaintext entries: its first such line and how many more. */
static void users_warn_plain(const struct users *u)
{
	size_t plain = users_plain_count(u);

	for (size_t i = 0; i < u->len && plain > 0; i++)
		if (!u->list[i].hashed) {
			cred_warn_plain(u->file, (int)u->list[i].line, NULL, u->list[i].name,
					plain - 1);
			return;
		}
}

int users_load(struct users *u, char *err, size_t errlen)
{
	char *buf, reason[128];
	size_t len = 0;
	ssize_t n;
	int fd;

	if (!u->file) {
		users_set_err(err, errlen, "no users file");
		return -1;
	}
	fd = trusted_file_open(u->file, O_RDONLY, 0, &u->trust, err, errlen);
	if (fd < 0 && errno != ENOENT)
		return -1;
	atomic_file_remove_stale(u->file);
	if (fd < 0)
		return 0;
	buf = malloc(USERS_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		users_set_err(err, errlen, "%s: %s", u->file, strerror(ENOMEM));
		return -1;
	}
	while ((n = read(fd, buf + len, USERS_FILE_MAX + 1 - len)) > 0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0)
			len += (size_t)n;
	if (n < 0 || len > USERS_FILE_MAX) {
		users_set_err(err, errlen, "%s: %s", u->file,
			      n < 0 ? strerror(errno) : "larger than 1 MiB");
		goto fail;
	}
	if (users_parse(u, buf, len, reason, sizeof(reason)) != 0) {
		users_set_err(err, errlen, "%s:%s", u->file, reason);
		goto fail;
	}
	users_warn_plain(u);
	explicit_bzero(buf, len);
	free(buf);
	close(fd);
	return 1;
fail:
	explicit_bzero(buf, len);
	free(buf);
	close(fd);
	return -1;
}
