/*
 * quota_store: the file that keeps quota usage across restarts and
 * crashes (mass.ini's quota_file; the owner flushes it every few seconds
 * when usage_dirty() and at shutdown, and loads it at start).
 *
 * Same discipline as the users file (core/atomic_file.h): quota_store_save()
 * writes a temporary file FILE.tmp.XXXXXX next to FILE (mode 0600),
 * fsyncs it, renames it over FILE and fsyncs the directory. Once the
 * rename is done the new counts stand (a failed directory fsync is only a
 * logged warning); when any step before fails, err says why and FILE is
 * left as it was. A crash therefore loses at most what was counted since
 * the last flush. quota_store_load() first removes the temporary files a
 * crash left.
 *
 * Format (text, machine-written, no comments):
 *     mass-quota 1
 *     NAME:PERIOD:START:BYTES[,BYTES...]
 * The first line names the format and its version; it holds no ':' so it
 * can never be a record. Then one line per user with usage in its period:
 * NAME is the user name (1..255 printable ASCII without ':', the users
 * file's rule; empty for unauthenticated clients) and ends at the first
 * ':'; PERIOD is as in mass.ini (day, week, month, rolling N); START the
 * Unix time (UTC) of the newest slot's start; BYTES the slots' counts,
 * newest first (one for a calendar period, up to N for rolling N; trailing
 * zero slots left out). Blank lines are ignored; a final line without '\n'
 * is accepted; an empty file (0 octets) holds no records. Anything else
 * refuses the whole file with "LINE: reason".
 */
#ifndef MASS_QUOTA_STORE_H
#define MASS_QUOTA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/trusted_file.h"
#include "limits/period.h"
#include "limits/usage.h"

#define QUOTA_STORE_MAGIC "mass-quota 1"
#define QUOTA_STORE_FILE_MAX (64 * 1024 * 1024)
#define QUOTA_STORE_BYTES_MAX (UINT64_C(1) << 62)   /* one slot's count */

struct quota_record {
	const char *name;          /* not NUL-terminated when parsed: use name_len */
	size_t name_len;
	struct period period;
	int64_t slot_start;
	const uint64_t *slots;     /* newest first */
	unsigned nslots;           /* 1 .. period_slots(&period) */
};

/* Called per record; a non-zero return stops the parse (reported as out of memory). */
typedef int quota_store_fn(void *arg, const struct quota_record *r);

/*
 * Parses a whole file image, calling fn for each record in file order.
 * Returns 0, or -1 with "LINE: reason" in err (fn may have been called
 * for the lines before).
 */
int quota_store_parse(const char *buf, size_t len, quota_store_fn *fn, void *arg,
		      char *err, size_t errlen);

/*
 * Writes one record line (with its '\n') into buf. Returns its length, or
 * the length needed (as snprintf) when it does not fit; -1 when the record
 * is not valid (name, slots).
 */
int quota_store_format(const struct quota_record *r, char *buf, size_t len);

/*
 * The file image of every entry of t with usage in its period (header
 * first). Returns a malloc'ed buffer and its length, or NULL on ENOMEM.
 */
char *quota_store_image(struct usage_table *t, size_t *len);

/*
 * Replaces path with the image of t atomically (above) and clears t's
 * dirty flag. Its directory is checked first as core/trusted_file.h says
 * (pol): one another user could write is refused. Returns 0, or -1 with
 * "PATH: reason" in err (the old file is kept and the flag stays set, so
 * the next flush tries again).
 */
int quota_store_save(struct usage_table *t, const char *path, const struct trusted_policy *pol,
		     char *err, size_t errlen);

/*
 * Loads path into t (usage_restore per record, now_s the quota clock's
 * now). The file is opened as core/trusted_file.h says (pol): a final
 * symlink, or a file or directory another user could write, is refused
 * (with pol not strict: a warning, and loaded). Returns 1 when loaded, 0
 * when the file does not exist, -1 when refused or on a read or format
 * error ("PATH:LINE: reason" or "PATH: reason" in err; records before the
 * bad line may have been restored).
 */
int quota_store_load(struct usage_table *t, const char *path, int64_t now_s,
		     const struct trusted_policy *pol, char *err, size_t errlen);

#endif
