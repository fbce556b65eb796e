/*
 * Unit tests for quota_store: the format both ways (parse and format, every
 * refusal with its line), the image of a usage table, and the file: save
 * and load round trip, stale temporary files, and failures (an unwritable
 * directory: the error is reported and the old file kept).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "limits/quota_store.h"
#include "core/atomic_file.h"

#define MIB (1024ULL * 1024)
#define DAY 86400
#define T0 1796515200LL   /* 2026-12-06 00:00 UTC */
#define M0 1796083200LL   /* 2026-12-01 00:00 UTC */

static char dir[] = "/tmp/mass-test-quota-XXXXXX";
static char file[sizeof(dir) + 16];
static struct limits_class_table classes;
static struct usage_table *t;
static const struct trusted_policy strict = TRUSTED_POLICY_DEFAULT;

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/quota", dir);
	ck_assert_int_eq(limits_class_table_init(&classes), 0);
	t = usage_create();
	ck_assert_ptr_nonnull(t);
}

static void teardown(void)
{
	DIR *d;
	struct dirent *e;

	usage_destroy(t);
	limits_class_table_free(&classes);
	chmod(dir, 0700);
	d = opendir(dir);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
	strcpy(dir, "/tmp/mass-test-quota-XXXXXX");
}

static int dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Records parsed, as text lines, for comparing. */
static char seen[4096];

static int collect(void *arg, const struct quota_record *r)
{
	size_t off = strlen(seen);

	(void)arg;
	ck_assert_int_gt(quota_store_format(r, seen + off, sizeof(seen) - off), 0);
	return 0;
}

static const char *parse_bad(const char *text)
{
	static char err[256];

	seen[0] = '\0';
	err[0] = '\0';
	ck_assert_msg(quota_store_parse(text, strlen(text), collect, NULL, err, sizeof(err)) == -1,
		      "accepted: %s", text);
	return err;
}

START_TEST(test_parse_round_trip)
{
	static const char text[] =
		"mass-quota 1\n"
		"alice:month:1796083200:10485760\n"
		"\n"
		"b o#b;:day:1796515200:1\n"
		":week:1795996800:42\n"
		"carol:rolling 30:1796515200:5,0,7\n";
	char err[128];

	seen[0] = '\0';
	ck_assert_int_eq(quota_store_parse(text, strlen(text), collect, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(seen, "alice:month:1796083200:10485760\n"
			 "b o#b;:day:1796515200:1\n"
			 ":week:1795996800:42\n"
			 "carol:rolling 30:1796515200:5,0,7\n");
	/* no final newline */
	seen[0] = '\0';
	ck_assert_int_eq(quota_store_parse("mass-quota 1\nx:day:0:3", 22, collect, NULL, err,
					   sizeof(err)), 0);
	ck_assert_str_eq(seen, "x:day:0:3\n");
	/* an empty file (an admin's touch), and one with only its header */
	ck_assert_int_eq(quota_store_parse("", 0, collect, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(quota_store_parse("mass-quota 1\n", 13, collect, NULL, err,
					   sizeof(err)), 0);
}
END_TEST

START_TEST(test_parse_refusals_each)
{
	ck_assert_ptr_nonnull(strstr(parse_bad("alice:day:0:1\n"), "1: not a quota file"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 2\n"), "not a quota file"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice\n"), "2: expected"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:day\n"), "expected"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:day:0\n"), "expected"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:year:0:1\n"),
				     "not a period"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:day:5:1\n"),
				     "not the start of a day"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:month:1796515200:1\n"),
				     "start of a month"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:day:-86400:1\n"),
				     "START"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:day:0:-1\n"),
				     "whole number"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:day:0:1,2\n"),
				     "more counts"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:rolling 2:0:1,2,3\n"),
				     "more counts"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:day:0:\n"), "whole number"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:rolling 3:0:1,\n"),
				     "whole number"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nalice:day:0:5000000000000000000\n"),
				     "more than"));
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nal\x01ice:day:0:1\n"),
				     "invalid name"));
	/* records before the bad line were handed over */
	ck_assert_ptr_nonnull(strstr(parse_bad("mass-quota 1\nok:day:0:1\nbad\n"), "3: "));
	ck_assert_str_eq(seen, "ok:day:0:1\n");
}
END_TEST

START_TEST(test_format_refusals)
{
	uint64_t slots[2] = { 1, 2 };
	struct quota_record r = { "a:b", 3, { PERIOD_DAY, 0 }, 0, slots, 1 };
	char buf[64];

	ck_assert_int_eq(quota_store_format(&r, buf, sizeof(buf)), -1);
	r.name = "ab";
	r.name_len = 2;
	r.nslots = 2;          /* a day has one slot */
	ck_assert_int_eq(quota_store_format(&r, buf, sizeof(buf)), -1);
	r.nslots = 1;
	ck_assert_int_eq(quota_store_format(&r, buf, 4), (int)strlen("ab:day:0:1\n"));
	ck_assert_int_eq(quota_store_format(&r, buf, sizeof(buf)), (int)strlen("ab:day:0:1\n"));
	ck_assert_str_eq(buf, "ab:day:0:1\n");
}
END_TEST

static const struct limits_class *monthly(void)
{
	char err[128];
	struct limits_class *c = limits_class_table_get(&classes, "monthly", err, sizeof(err));

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(limits_class_set(c, "quota", "50G", err, sizeof(err)), 0);
	ck_assert_int_eq(limits_class_set(c, "quota_period", "month", err, sizeof(err)), 0);
	return c;
}

START_TEST(test_save_load)
{
	const struct limits_class *c = monthly();
	struct usage_entry *e;
	char err[256];

	e = usage_get(t, "alice", 5, c, 0, T0);
	usage_add(t, e, LIMITS_DOWN, 7 * MIB, 0, T0);
	usage_get(t, "idle", 4, c, 0, T0);                 /* nothing used: not written */
	ck_assert(usage_dirty(t));
	ck_assert_int_eq(quota_store_save(t, file, &strict, err, sizeof(err)), 0);
	ck_assert(!usage_dirty(t));
	ck_assert_str_eq(read_file(file), "mass-quota 1\nalice:month:1796083200:7340032\n");
	ck_assert_int_eq(dir_entries(), 1);
	{
		struct stat st;

		ck_assert_int_eq(stat(file, &st), 0);
		ck_assert_int_eq(st.st_mode & 0777, 0600);
	}
	/* a restart: a new table, the same counts */
	usage_destroy(t);
	t = usage_create();
	ck_assert_int_eq(quota_store_load(t, file, T0 + 3600, &strict, err, sizeof(err)), 1);
	e = usage_get(t, "alice", 5, c, 0, T0 + 3600);
	ck_assert_uint_eq(e->used, 7 * MIB);
	/* a restart in the next month: the count is of a past period */
	usage_destroy(t);
	t = usage_create();
	ck_assert_int_eq(quota_store_load(t, file, M0 + 31 * DAY, &strict, err, sizeof(err)), 1);
	ck_assert_uint_eq(usage_get(t, "alice", 5, c, 0, M0 + 31 * DAY)->used, 0);
	/* no file yet: 0, nothing restored */
	unlink(file);
	ck_assert_int_eq(quota_store_load(t, file, T0, &strict, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_load_errors_and_stale)
{
	char err[256], stale[sizeof(file) + 16];

	snprintf(stale, sizeof(stale), "%s.tmp.AbC123", file);
	write_file(stale, "partial");
	write_file(file, "mass-quota 1\nalice:month:1796083200:1\nbroken\n");
	ck_assert_int_eq(quota_store_load(t, file, T0, &strict, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/quota:3: expected"));
	ck_assert_int_eq(access(stale, F_OK), -1);           /* the crash's leftover is gone */
	write_file(file, "mass-quota 1\n");
	ck_assert_int_eq(quota_store_load(t, file, T0, &strict, err, sizeof(err)), 1);
}
END_TEST

static int failing_fsync(int fd)
{
	(void)fd;
	errno = EIO;
	return -1;
}

START_TEST(test_save_failures_keep_old_file)
{
	const struct limits_class *c = monthly();
	struct usage_entry *e = usage_get(t, "bob", 3, c, 0, T0);
	char err[256];

	usage_add(t, e, LIMITS_UP, 100, 0, T0);
	ck_assert_int_eq(quota_store_save(t, file, &strict, err, sizeof(err)), 0);
	usage_add(t, e, LIMITS_UP, 100, 0, T0);
	/*
	 * An unwritable directory: reported, the old file kept, still dirty.
	 * As root (which writes anywhere) the effective uid becomes nobody's
	 * for the attempt; Check runs each test in its own process.
	 */
	chmod(dir, 0500);
	if (geteuid() == 0)
		ck_assert_int_eq(seteuid(65534), 0);
	ck_assert_int_eq(quota_store_save(t, file, &strict, err, sizeof(err)), -1);
	if (getuid() == 0)
		ck_assert_int_eq(seteuid(0), 0);
	ck_assert_ptr_nonnull(strstr(err, "Permission denied"));
	ck_assert_ptr_nonnull(strstr(err, file));
	ck_assert(usage_dirty(t));
	chmod(dir, 0700);
	ck_assert_str_eq(read_file(file), "mass-quota 1\nbob:month:1796083200:100\n");
	ck_assert_int_eq(dir_entries(), 1);
	/* the rename fails (the target is a directory), also as root: reported, nothing left */
	{
		char sub[sizeof(dir) + 8];

		snprintf(sub, sizeof(sub), "%s/sub", dir);
		ck_assert_int_eq(mkdir(sub, 0700), 0);
		ck_assert_int_eq(quota_store_save(t, sub, &strict, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "Is a directory"));
		ck_assert_int_eq(dir_entries(), 2);
		rmdir(sub);
	}
	/* a directory that does not exist */
	ck_assert_int_eq(quota_store_save(t, "/nonexistent-mass-dir/quota", &strict, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-mass-dir/quota: "));
	/* the directory fsync failing after the rename: a warning, the file replaced */
	atomic_file_dir_fsync = failing_fsync;
	ck_assert_int_eq(quota_store_save(t, file, &strict, err, sizeof(err)), 0);
	atomic_file_dir_fsync = fsync;
	ck_assert_str_eq(read_file(file), "mass-quota 1\nbob:month:1796083200:200\n");
	ck_assert(!usage_dirty(t));
}
END_TEST

/*
 * The quota file is opened like the users file (core/trusted_file.h): in a
 * shared place another user's symlink or file would set anyone's usage.
 */
START_TEST(test_untrusted_file_refused)
{
	const struct trusted_policy lax = { false, (uid_t)-1 };
	char err[256], target[sizeof(dir) + 16];

	snprintf(target, sizeof(target), "%s/real", dir);
	write_file(target, "mass-quota 1\nalice:month:1796083200:5\n");
	chmod(target, 0600);
	/* a final symlink: refused, named, nothing restored */
	ck_assert_int_eq(symlink(target, file), 0);
	ck_assert_int_eq(quota_store_load(t, file, T0, &strict, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, file));
	ck_assert_uint_eq(usage_count(t), 0);
	/* not strict: a warning, and loaded through the link */
	ck_assert_int_eq(quota_store_load(t, file, T0, &lax, err, sizeof(err)), 1);
	ck_assert_uint_eq(usage_count(t), 1);
	unlink(file);
	usage_destroy(t);
	t = usage_create();
	/* a group-writable file: refused, the message names the file and its mode */
	write_file(file, "mass-quota 1\nalice:month:1796083200:5\n");
	ck_assert_int_eq(chmod(file, 0620), 0);
	ck_assert_int_eq(quota_store_load(t, file, T0, &strict, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, file));
	ck_assert_ptr_nonnull(strstr(err, "0620"));
	ck_assert_uint_eq(usage_count(t), 0);
	ck_assert_int_eq(quota_store_load(t, file, T0, &lax, err, sizeof(err)), 1);
	ck_assert_uint_eq(usage_count(t), 1);
	/* a directory others may write: the load and the rewrite are both refused */
	ck_assert_int_eq(chmod(file, 0600), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(quota_store_load(t, file, T0, &strict, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, dir));
	usage_add(t, usage_get(t, "alice", 5, monthly(), 0, T0), LIMITS_UP, 1, 0, T0);
	ck_assert_int_eq(quota_store_save(t, file, &strict, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, dir));
	ck_assert_ptr_nonnull(strstr(err, "0777"));
	ck_assert(usage_dirty(t));
	ck_assert_str_eq(read_file(file), "mass-quota 1\nalice:month:1796083200:5\n");
	ck_assert_int_eq(quota_store_save(t, file, &lax, err, sizeof(err)), 0);
	chmod(dir, 0700);
}
END_TEST

/* Many users and a rolling class: the image reads back to the same counts. */
START_TEST(test_image_many)
{
	char err[256], name[32];
	struct limits_class *c = limits_class_table_get(&classes, "r", err, sizeof(err));

	ck_assert_int_eq(limits_class_set(c, "quota", "1G", err, sizeof(err)), 0);
	ck_assert_int_eq(limits_class_set(c, "quota_period", "rolling 30", err, sizeof(err)), 0);
	for (int i = 0; i < 2000; i++) {
		struct usage_entry *e;

		snprintf(name, sizeof(name), "user %d", i);
		e = usage_get(t, name, strlen(name), c, 0, T0);
		usage_add(t, e, LIMITS_DOWN, (uint64_t)i + 1, 0, T0);
		usage_add(t, e, LIMITS_DOWN, 1000, 0, T0 + 2 * DAY);
	}
	ck_assert_int_eq(quota_store_save(t, file, &strict, err, sizeof(err)), 0);
	usage_destroy(t);
	t = usage_create();
	ck_assert_int_eq(quota_store_load(t, file, T0 + 2 * DAY, &strict, err, sizeof(err)), 1);
	ck_assert_uint_eq(usage_count(t), 2000);
	for (int i = 0; i < 2000; i += 37) {
		struct usage_entry *e;

		snprintf(name, sizeof(name), "user %d", i);
		e = usage_get(t, name, strlen(name), c, 0, T0 + 2 * DAY);
		ck_assert_uint_eq(e->used, (uint64_t)i + 1 + 1000);
		ck_assert_uint_eq(e->slots[2], (uint64_t)i + 1);
	}
	ck_assert_str_eq(strstr(read_file(file), "user 0:") ? "found" : "", "found");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("limits_quota_store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_parse_round_trip);
	tcase_add_test(tc, test_parse_refusals_each);
	tcase_add_test(tc, test_format_refusals);
	tcase_add_test(tc, test_save_load);
	tcase_add_test(tc, test_load_errors_and_stale);
	tcase_add_test(tc, test_save_failures_keep_old_file);
	tcase_add_test(tc, test_image_many);
	tcase_add_test(tc, test_untrusted_file_refused);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
