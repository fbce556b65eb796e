/* quota_store: the persisted quota usage. See quota_store.h. */
#include "quota_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/cred.h"
#include "core/atomic_file.h"
#include "core/log.h"
#include "core/trusted_file.h"
#include "limits/units.h"

static int quota_store_valid_name(const char *name, size_t len)
{
	return len == 0 || cred_valid_name(name, len);
}

/* Parses "START:BYTES,BYTES" (the part after the period) into r and slots. */
static int quota_store_values(char *s, struct quota_record *r, uint64_t *slots,
			      char *why, size_t whylen)
{
	char *colon = strchr(s, ':'), *p;
	uint64_t v;
	unsigned n = 0;

	if (!colon) {
		snprintf(why, whylen, "expected NAME:PERIOD:START:BYTES");
		return -1;
	}
	*colon = '\0';
	if (units_decimal(s, INT64_MAX, &v, why, whylen) != 0 ||
	    period_slot_start(&r->period, (int64_t)v) != (int64_t)v) {
		snprintf(why, whylen, "START \"%s\" is not the start of a %s slot", s,
			 r->period.kind == PERIOD_WEEK ? "week" :
			 r->period.kind == PERIOD_MONTH ? "month" : "day");
		return -1;
	}
	r->slot_start = (int64_t)v;
	for (p = colon + 1;; p++) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (n == period_slots(&r->period)) {
			snprintf(why, whylen, "more counts than the period has slots (%u)", n);
			return -1;
		}
		if (units_decimal(p, QUOTA_STORE_BYTES_MAX, &slots[n++], why, whylen) != 0)
			return -1;
		if (!comma)
			break;
		p = comma;
	}
	r->slots = slots;
	r->nslots = n;
	return 0;
}

/* One record line, NUL-terminated in place. */
static int quota_store_line(char *line, struct quota_record *r, uint64_t *slots,
			    char *why, size_t whylen)
{
	char *colon = strchr(line, ':'), *pcolon;

	if (!colon) {
		snprintf(why, whylen, "expected NAME:PERIOD:START:BYTES");
		return -1;
	}
	r->name = line;
	r->name_len = (size_t)(colon - line);
	if (!quota_store_valid_name(line, r->name_len)) {
		snprintf(why, whylen, "invalid name (1..255 printable ASCII characters, no ':')");
		return -1;
	}
	pcolon = strchr(colon + 1, ':');
	if (!pcolon) {
		snprintf(why, whylen, "expected NAME:PERIOD:START:BYTES");
		return -1;
	}
	*pcolon = '\0';
	if (period_parse(colon + 1, &r->period, why, whylen) != 0)
		return -1;
	return quota_store_values(pcolon + 1, r, slots, why, whylen);
}

int quota_store_parse(const char *buf, size_t len, quota_store_fn *fn, void *arg,
		      char *err, size_t errlen)
{
	uint64_t slots[PERIOD_ROLLING_MAX];
	char line[8192], why[192];
	size_t off = 0, lineno = 0;
	bool header = false;

	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
		struct quota_record r;

		lineno++;
		if (n >= sizeof(line) || memchr(buf + off, '\0', n)) {
			snprintf(err, errlen, "%zu: %s", lineno, n >= sizeof(line) ?
				 "line too long" : "NUL character");
			return -1;
		}
		memcpy(line, buf + off, n);
		line[n] = '\0';
		off += n + (nl ? 1 : 0);
		if (!header) {
			if (strcmp(line, QUOTA_STORE_MAGIC) != 0) {
				snprintf(err, errlen, "%zu: not a quota file (expected \"%s\")",
					 lineno, QUOTA_STORE_MAGIC);
				return -1;
			}
			header = true;
			continue;
		}
		if (n == 0)
			continue;
		if (quota_store_line(line, &r, slots, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%zu: %s", lineno, why);
			return -1;
		}
		if (fn(arg, &r) != 0) {
			snprintf(err, errlen, "%zu: %s", lineno, strerror(ENOMEM));
			return -1;
		}
	}
	return 0;
}

int quota_store_format(const struct quota_record *r, char *buf, size_t len)
{
	char period[32];
	size_t off;
	int n;

	if (!quota_store_valid_name(r->name, r->name_len) || r->nslots == 0 ||
	    r->nslots > period_slots(&r->period) || r->slot_start < 0)
		return -1;
	period_format(&r->period, period, sizeof(period));
	n = snprintf(buf, len, "%.*s:%s:%" PRId64 ":", (int)r->name_len, r->name, period,
		     r->slot_start);
	off = (size_t)n;
	for (unsigned i = 0; i < r->nslots; i++) {
		n = snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0,
			     "%s%" PRIu64, i ? "," : "", r->slots[i]);
		off += (size_t)n;
	}
	n = snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, "\n");
	off += (size_t)n;
	return off > INT32_MAX ? -1 : (int)off;
}

struct quota_store_acc {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void quota_store_append(void *arg, struct usage_entry *e)
{
	struct quota_store_acc *acc = arg;
	unsigned n = e->nslots;
	struct quota_record r;
	int len;

	while (n > 0 && e->slots[n - 1] == 0)
		n--;
	if (acc->failed || n == 0)
		return;
	r = (struct quota_record){ e->name, e->name_len, e->period, e->slot_start,
				   e->slots, n };
	len = quota_store_format(&r, acc->buf + acc->len, acc->cap - acc->len);
	if (len < 0)
		return;   /* a name the file cannot hold: not persisted */
	if ((size_t)len >= acc->cap - acc->len) {
		size_t cap = (acc->cap + (size_t)len) * 2;
		char *buf = realloc(acc->buf, cap);

		if (!buf) {
			acc->failed = true;
			return;
		}
		acc->buf = buf;
		acc->cap = cap;
		quota_store_format(&r, acc->buf + acc->len, acc->cap - acc->len);
	}
	acc->len += (size_t)len;
}

char *quota_store_image(struct usage_table *t, size_t *len)
{
	struct quota_store_acc acc = { .cap = 4096 };

	acc.buf = malloc(acc.cap);
	if (!acc.buf)
		return NULL;
	acc.len = (size_t)snprintf(acc.buf, acc.cap, "%s\n", QUOTA_STORE_MAGIC);
	usage_each(t, quota_store_append, &acc);
	if (acc.failed) {
		free(acc.buf);
		return NULL;
	}
	*len = acc.len;
	return acc.buf;
}

int quota_store_save(struct usage_table *t, const char *path, const struct trusted_policy *pol,
		     char *err, size_t errlen)
{
	size_t len;
	char *image;
	int rc, why;

	/* the rename puts the file in its directory: a shared one is refused first */
	if (trusted_file_check_dir(path, pol, err, errlen) != 0)
		return -1;
	image = quota_store_image(t, &len);
	if (!image) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	rc = atomic_file_replace(path, image, len);
	why = errno;
	free(image);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(why));
		return -1;
	}
	usage_clear_dirty(t);
	/* replaced: these counts stand */
	if (rc > 0)
		log_warn("%s: replaced, but the sync of its directory failed (%s): the counts "
			 "may not survive a power loss", path, strerror(why));
	return 0;
}

struct quota_store_load_ctx {
	struct usage_table *t;
	int64_t now_s;
};

static int quota_store_restore(void *arg, const struct quota_record *r)
{
	struct quota_store_load_ctx *ctx = arg;

	if (usage_restore(ctx->t, r->name, r->name_len, &r->period, r->slot_start, r->slots,
			  r->nslots, ctx->now_s) == 0)
		return 0;
	return errno == EINVAL ? 0 : -1;   /* validated by the parser; only ENOMEM stops */
}

int quota_store_load(struct usage_table *t, const char *path, int64_t now_s,
		     const struct trusted_policy *pol, char *err, size_t errlen)
{
	struct quota_store_load_ctx ctx = { t, now_s };
	char *buf = NULL, why[256];
	struct stat st;
	size_t len = 0, size;
	ssize_t n = 0;
	int fd, rc = -1;

	atomic_file_remove_stale(path);
	fd = trusted_file_open(path, O_RDONLY, 0, pol, err, errlen);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;   /* err names the file and why */
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size > QUOTA_STORE_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than 64 MiB", path);
		goto out;
	}
	/* room for one octet more than fstat said, to see a file that grew */
	size = (size_t)st.st_size + 1;
	if (!(buf = malloc(size))) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		goto out;
	}
	while (len < size && ((n = read(fd, buf + len, size - len)) > 0 ||
			      (n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	if (n < 0 || len == size) {
		snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) :
			 "changed while being read");
		goto out;
	}
	if (quota_store_parse(buf, len, quota_store_restore, &ctx, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s:%s", path, why);
		goto out;
	}
	rc = 1;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}
