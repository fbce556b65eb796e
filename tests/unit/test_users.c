/* Unit tests for the users store: rules at the edges, the set, the file format, persistence. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "auth/users.h"
#include "auth/cred.h"
#include "core/atomic_file.h"

static char dir[] = "/tmp/mass-test-users-XXXXXX";
static char file[sizeof(dir) + 16];

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/users", dir);
}

static void teardown(void)
{
	chmod(dir, 0700);
	unlink(file);
	rmdir(dir);
	strcpy(dir, "/tmp/mass-test-users-XXXXXX");
}

/* Entries in the test directory, to see that no temporary file stays. */
static int dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static size_t read_file(char *buf, size_t cap)
{
	FILE *f = fopen(file, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static void write_file(const char *text)
{
	FILE *f = fopen(file, "wb");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

#define ADD(u, n, p, persist) \
	users_add(u, n, strlen(n), p, strlen(p), persist, err, sizeof(err))

START_TEST(validation_edges)
{
	char s[257];

	memset(s, 'a', sizeof(s));
	ck_assert(!cred_valid_name(s, 0));
	ck_assert(!cred_valid_pass(s, 0));
	ck_assert(!cred_valid_name(NULL, 0));
	ck_assert(cred_valid_name(s, 1));
	ck_assert(cred_valid_pass(s, 1));
	ck_assert(cred_valid_name(s, 255));
	ck_assert(cred_valid_pass(s, 255));
	ck_assert(!cred_valid_name(s, 256));
	ck_assert(!cred_valid_pass(s, 256));
	ck_assert(cred_valid_name(" ~", 2));
	ck_assert(cred_valid_pass(" ~", 2));
	ck_assert(!cred_valid_name("a\x1f", 2));
	ck_assert(!cred_valid_pass("a\x1f", 2));
	ck_assert(!cred_valid_name("a\x7f", 2));
	ck_assert(!cred_valid_pass("a\x7f", 2));
	ck_assert(!cred_valid_name("a\x80", 2));
	ck_assert(!cred_valid_pass("a\0b", 3));
	ck_assert(!cred_valid_name("a:b", 3));
	ck_assert(cred_valid_pass("a:b", 3));
	ck_assert(!cred_valid_name(":", 1));
}
END_TEST

START_TEST(set_operations)
{
	struct users u;
	char err[256], big[256];

	ck_assert_int_eq(users_init(&u, 2, NULL), 0);
	ck_assert_int_eq(ADD(&u, "alice", "wonderland", true), USERS_OK);
	ck_assert_int_eq(ADD(&u, "alice", "other", false), USERS_EXISTS);
	ck_assert_int_eq(ADD(&u, "a:b", "x", false), USERS_INVALID);
	ck_assert_int_eq(ADD(&u, "bob", "", false), USERS_INVALID);
	ck_assert_int_eq(ADD(&u, "", "x", false), USERS_INVALID);
	/* A name may start with '#'; the users file has no comments. */
	ck_assert_int_eq(ADD(&u, "#bob", "x", false), USERS_OK);
	ck_assert_int_eq(ADD(&u, "carol", "x", false), USERS_FULL);
	ck_assert_uint_eq(u.len, 2);
	ck_assert_int_eq(users_find(&u, "alice", 5), 0);
	ck_assert_int_eq(users_find(&u, "#bob", 4), 1);
	ck_assert_int_eq(users_find(&u, "alic", 4), -1);
	ck_assert_int_eq(users_find(&u, "alicea", 6), -1);
	ck_assert_int_eq(users_del(&u, "nobody", 6, false, err, sizeof(err)), USERS_NOT_FOUND);
	ck_assert_int_eq(users_del(&u, "alice", 5, true, err, sizeof(err)), USERS_OK);
	ck_assert_int_eq(users_find(&u, "alice", 5), -1);
	ck_assert_int_eq(users_find(&u, "#bob", 4), 0);
	ck_assert_int_eq(users_del(&u, "alice", 5, false, err, sizeof(err)), USERS_NOT_FOUND);
	ck_assert_int_eq(ADD(&u, "carol", "x", false), USERS_OK);
	users_free(&u);

	/* max is clamped to 255; 255-octet fields are kept whole. */
	ck_assert_int_eq(users_init(&u, 1000, NULL), 0);
	ck_assert_uint_eq(u.max, 255);
	memset(big, 'z', 255);
	big[255] = '\0';
	ck_assert_int_eq(ADD(&u, big, big, false), USERS_OK);
	ck_assert_uint_eq(u.list[0].name_len, 255);
	ck_assert_uint_eq(u.list[0].pass_len, 255);
	ck_assert(users_check(&u, big, 255, big, 255));
	ck_assert(!users_check(&u, big, 255, big, 254));
	users_free(&u);

	ck_assert_int_eq(users_init(&u, 0, NULL), 0);
	ck_assert_int_eq(ADD(&u, "a", "b", false), USERS_FULL);
	users_free(&u);
}
END_TEST

START_TEST(check)
{
	struct users u;
	char err[64];

	ck_assert_int_eq(users_init(&u, 8, NULL), 0);
	ck_assert_int_eq(ADD(&u, "alice", "wonderland", false), USERS_OK);
	ck_assert_int_eq(ADD(&u, "bob", "b", false), USERS_OK);
	ck_assert(users_check(&u, "alice", 5, "wonderland", 10));
	ck_assert(!users_check(&u, "alice", 5, "wonderlan", 9));
	ck_assert(!users_check(&u, "alice", 5, "wonderlandx", 11));
	ck_assert(!users_check(&u, "alice", 5, "Wonderland", 10));
	ck_assert(!users_check(&u, "alice", 5, "b", 1));
	ck_assert(!users_check(&u, "alice", 5, "", 0));
	ck_assert(!users_check(&u, "bob", 3, "wonderland", 10));
	ck_assert(users_check(&u, "bob", 3, "b", 1));
	ck_assert(!users_check(&u, "Bob", 3, "b", 1));
	ck_assert(!users_check(&u, "carol", 5, "-", 1));
	ck_assert(!users_check(&u, "", 0, "b", 1));
	users_free(&u);
}
END_TEST

START_TEST(parse)
{
	static const char good[] =
		"\n"
		"   \t\n"
		"alice:wonder:land\r\n"
		" bob : x \n"
		"#carol:not a comment\n"
		"dave:last";
	struct users u;
	char err[256];

	ck_assert_int_eq(users_init(&u, 8, NULL), 0);
	ck_assert_int_eq(users_parse(&u, good, strlen(good), err, sizeof(err)), 0);
	ck_assert_uint_eq(u.len, 4);
	ck_assert(users_check(&u, "alice", 5, "wonder:land", 11));
	ck_assert(users_check(&u, " bob ", 5, " x ", 3));
	ck_assert(users_check(&u, "#carol", 6, "not a comment", 13));
	ck_assert(users_check(&u, "dave", 4, "last", 4));
	users_free(&u);

	ck_assert_int_eq(users_init(&u, 8, NULL), 0);
	ck_assert_int_eq(users_parse(&u, "", 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(u.len, 0);
	ck_assert_int_eq(users_parse(&u, "a:1\nnocolon\n", 12, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "2: expected name:password");
	ck_assert_int_eq(users_parse(&u, "# no comments\n", 14, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "1: expected name:password");
	ck_assert_uint_eq(u.len, 0);
	ck_assert_int_eq(users_parse(&u, "a:1\n\n:x\n", 8, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "3: invalid name (1..255 printable ASCII characters, no ':')");
	ck_assert_int_eq(users_parse(&u, "a:\n", 3, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "1: invalid password (1..255 printable ASCII characters)");
	ck_assert_int_eq(users_parse(&u, "a:b\tc\n", 6, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "1: invalid password (1..255 printable ASCII characters)");
	ck_assert_int_eq(users_parse(&u, "a:1\0b:2\n", 8, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "1: invalid password (1..255 printable ASCII characters)");
	ck_assert_int_eq(users_parse(&u, "a:1\na:2\n", 8, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "2: duplicate name");
	ck_assert_uint_eq(u.len, 0);
	users_free(&u);

	ck_assert_int_eq(users_init(&u, 1, NULL), 0);
	ck_assert_int_eq(users_parse(&u, "a:1\nb:2\n", 8, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "2: more users than max_users");
	ck_assert_uint_eq(u.len, 0);
	users_free(&u);
}
END_TEST

START_TEST(persistence_round_trip)
{
	struct users u, v;
	struct stat st;
	char err[256], buf[1024];

	ck_assert_int_eq(users_init(&u, 8, file), 0);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), 0);  /* no file yet */
	ck_assert_int_eq(ADD(&u, "alice", "wonder:land", true), USERS_OK);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(ADD(&u, "bob", "pw", true), USERS_OK);
	ck_assert_int_eq(ADD(&u, "#x", "pw", true), USERS_OK);
	ck_assert_int_eq(ADD(&u, "mem", "only", false), USERS_OK);  /* not persisted */
	read_file(buf, sizeof(buf));
	/* no clear password at rest: each line is name:yescrypt-hash */
	ck_assert_int_eq(strncmp(buf, "alice:$y$", 9), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\nbob:$y$"));
	ck_assert_ptr_nonnull(strstr(buf, "\n#x:$y$"));
	ck_assert_ptr_null(strstr(buf, "wonder"));
	ck_assert_ptr_null(strstr(buf, ":pw"));
	ck_assert_ptr_null(strstr(buf, "mem"));
	ck_assert(users_check(&u, "alice", 5, "wonder:land", 11));
	ck_assert(u.list[3].hashed == false);  /* mem: rehashed by the next save */
	ck_assert_int_eq(users_del(&u, "alice", 5, true, err, sizeof(err)), USERS_OK);
	ck_assert_int_eq(dir_entries(), 1);

	ck_assert_int_eq(users_init(&v, 8, file), 0);
	ck_assert_int_eq(users_load(&v, err, sizeof(err)), 1);
	ck_assert_uint_eq(v.len, 3);
	ck_assert(users_check(&v, "bob", 3, "pw", 2));
	ck_assert(users_check(&v, "#x", 2, "pw", 2));
	ck_assert(users_check(&v, "mem", 3, "only", 4));  /* the last save held the whole set */
	ck_assert(!users_check(&v, "mem", 3, "onlY", 4));
	ck_assert_int_eq(users_find(&v, "alice", 5), -1);
	ck_assert_uint_eq(users_plain_count(&v), 0);
	users_free(&v);

	ck_assert_int_eq(users_save(&u, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(dir_entries(), 1);
	users_free(&u);
}
END_TEST

/*
 * The users file is opened as a plugin is: a final symlink refused (here to
 * a file holding a valid entry, as /etc/shadow would), and so is a file
 * others or the group may write, or one in a directory they may write; the
 * message names the file and the mode. strict off: warned and loaded.
 */
START_TEST(untrusted_file)
{
	struct users u;
	char err[512], target[sizeof(dir) + 16];

	snprintf(target, sizeof(target), "%s/shadow", dir);
	write_file("root:x\n");
	ck_assert_int_eq(rename(file, target), 0);
	ck_assert_int_eq(symlink(target, file), 0);
	ck_assert_int_eq(users_init(&u, 8, file), 0);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "a symbolic link: refused") && strstr(err, file), "%s", err);
	ck_assert_uint_eq(u.len, 0);
	u.trust.strict = false;
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), 1);
	ck_assert_uint_eq(u.len, 1);
	users_free(&u);
	unlink(file);
	ck_assert_int_eq(rename(target, file), 0);

	ck_assert_int_eq(chmod(file, 0620), 0);
	ck_assert_int_eq(users_init(&u, 8, file), 0);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "it is writable by its group (mode 0620)"), "%s", err);
	ck_assert_int_eq(chmod(file, 0600), 0);
	ck_assert_int_eq(chmod(dir, 01777), 0);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "its directory") && strstr(err, "writable by others (mode 1777)"),
		      "%s", err);
	/* nor is a new file written there */
	ck_assert_int_eq(users_add(&u, "bob", 3, "pw", 2, true, err, sizeof(err)), USERS_IO);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), 1);
	users_free(&u);
}
END_TEST

/* A class rides with the user: NAME:HASH:CLASS, only after a hash. */
START_TEST(classes)
{
	static const char hash[] = "$y$j9T$DZws5d1i/6XhuqooG5gIF/$cGuhvWs3HTCuIOZ1a1z8zAFDy5a9XMJiLtRy03sdQB0";
	struct users u, v;
	char err[256], buf[2048], text[1024];
	long i;

	ck_assert(users_valid_class("basic") && users_valid_class("a-b_9"));
	ck_assert(!users_valid_class("") && !users_valid_class("a b") &&
		  !users_valid_class("123456789012345678901234567890123"));
	/* after a hash the last field is a class; after plaintext it is password */
	snprintf(text, sizeof(text), "ann:%s:basic\nbob:pass:word\ncid:%s\ndee:%s:not a class\n",
		 hash, hash, hash);
	ck_assert_int_eq(users_init(&u, 8, NULL), 0);
	ck_assert_int_eq(users_parse(&u, text, strlen(text), err, sizeof(err)), 0);
	ck_assert_str_eq(u.list[0].cls, "basic");
	ck_assert_str_eq(u.list[0].pass, hash);
	ck_assert_ptr_null(u.list[1].cls);
	ck_assert_str_eq(u.list[1].pass, "pass:word");
	ck_assert_ptr_null(u.list[2].cls);
	ck_assert_ptr_null(u.list[3].cls);
	ck_assert_uint_eq(u.list[3].pass_len, strlen(hash) + 12);
	users_free(&u);

	/* set, persisted; "default" is stored as none; a failed save keeps the old one */
	ck_assert_int_eq(users_init(&u, 8, file), 0);
	ck_assert_int_eq(users_add(&u, "ann", 3, hash, strlen(hash), true, err, sizeof(err)),
			 USERS_OK);
	ck_assert_int_eq(users_set_class(&u, 0, "gold", true, err, sizeof(err)), USERS_OK);
	ck_assert_int_eq(users_set_class(&u, 0, "no way", true, err, sizeof(err)), USERS_INVALID);
	ck_assert_int_eq(users_set_class(&u, 5, "gold", true, err, sizeof(err)), USERS_NOT_FOUND);
	read_file(buf, sizeof(buf));
	snprintf(text, sizeof(text), "ann:%s:gold\n", hash);
	ck_assert_str_eq(buf, text);
	ck_assert_int_eq(users_init(&v, 8, file), 0);
	ck_assert_int_eq(users_load(&v, err, sizeof(err)), 1);
	i = users_find(&v, "ann", 3);
	ck_assert_int_eq(i, 0);
	ck_assert_str_eq(v.list[0].cls, "gold");
	ck_assert(v.list[0].line == 1);
	users_free(&v);
	ck_assert_int_eq(users_set_class(&u, 0, "default", true, err, sizeof(err)), USERS_OK);
	ck_assert_ptr_null(u.list[0].cls);
	read_file(buf, sizeof(buf));
	snprintf(text, sizeof(text), "ann:%s\n", hash);
	ck_assert_str_eq(buf, text);
	users_free(&u);
}
END_TEST

START_TEST(load_errors)
{
	struct users u;
	char err[256], want[512];

	write_file("a:1\nbroken\n");
	ck_assert_int_eq(users_init(&u, 8, file), 0);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: expected name:password", file);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(u.len, 0);
	users_free(&u);

	ck_assert_int_eq(users_init(&u, 8, dir), 0);
	u.trust.strict = false; /* dir is in /tmp, which anyone may write */
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	ck_assert_str_eq(err, want);
	users_free(&u);

	ck_assert_int_eq(users_init(&u, 8, NULL), 0);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), -1);
	ck_assert_int_eq(users_save(&u, err, sizeof(err)), -1);
	users_free(&u);
}
END_TEST

START_TEST(unwritable_directory)
{
	struct users u;
	char err[256], before[1024], after[1024];

	ck_assert_int_eq(users_init(&u, 8, file), 0);
	ck_assert_int_eq(ADD(&u, "alice", "a", true), USERS_OK);
	ck_assert_int_eq(ADD(&u, "bob", "b", true), USERS_OK);
	ck_assert_int_eq(ADD(&u, "carol", "c", true), USERS_OK);
	read_file(before, sizeof(before));
	ck_assert_int_eq(chmod(dir, 0500), 0);
	if (access(dir, W_OK) == 0) {
		/* root writes anyway; failed_write_changes_nothing covers it. */
		users_free(&u);
		return;
	}
	err[0] = '\0';
	ck_assert_int_eq(ADD(&u, "dave", "d", true), USERS_IO);
	ck_assert_msg(strncmp(err, file, strlen(file)) == 0, "%s", err);
	ck_assert_uint_eq(u.len, 3);
	ck_assert_int_eq(users_find(&u, "dave", 4), -1);
	ck_assert_int_eq(users_del(&u, "bob", 3, true, err, sizeof(err)), USERS_IO);
	ck_assert_uint_eq(u.len, 3);
	ck_assert_int_eq(users_find(&u, "alice", 5), 0);
	ck_assert_int_eq(users_find(&u, "bob", 3), 1);
	ck_assert_int_eq(users_find(&u, "carol", 5), 2);
	ck_assert(users_check(&u, "bob", 3, "b", 1));
	ck_assert_int_eq(users_save(&u, err, sizeof(err)), -1);
	read_file(after, sizeof(after));
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(dir_entries(), 1);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(users_del(&u, "bob", 3, true, err, sizeof(err)), USERS_OK);
	ck_assert_int_eq(dir_entries(), 1);
	users_free(&u);
}
END_TEST

/*
 * Failures that root meets too: the rename fails (the store path is a
 * non-empty directory) after the temporary file was written, and the
 * temporary file cannot be created (no such directory).
 */
START_TEST(failed_write_changes_nothing)
{
	struct users u;
	char err[256], sub[sizeof(file) + 8], inner[sizeof(sub) + 8];

	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(inner, sizeof(inner), "%s/f", sub);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	write_file("");
	ck_assert_int_eq(rename(file, inner), 0);
	ck_assert_int_eq(users_init(&u, 8, sub), 0);
	ck_assert_int_eq(ADD(&u, "alice", "a", false), USERS_OK);
	err[0] = '\0';
	ck_assert_int_eq(ADD(&u, "bob", "b", true), USERS_IO);
	ck_assert_msg(strncmp(err, sub, strlen(sub)) == 0, "%s", err);
	ck_assert_uint_eq(u.len, 1);
	ck_assert_int_eq(users_find(&u, "bob", 3), -1);
	ck_assert_int_eq(users_del(&u, "alice", 5, true, err, sizeof(err)), USERS_IO);
	ck_assert_uint_eq(u.len, 1);
	ck_assert(users_check(&u, "alice", 5, "a", 1));
	ck_assert_int_eq(dir_entries(), 1);  /* sub only: no temporary file */
	users_free(&u);
	ck_assert_int_eq(unlink(inner), 0);
	ck_assert_int_eq(rmdir(sub), 0);

	ck_assert_int_eq(users_init(&u, 8, inner), 0);
	ck_assert_int_eq(ADD(&u, "bob", "b", true), USERS_IO);
	ck_assert_uint_eq(u.len, 0);
	ck_assert_int_eq(dir_entries(), 0);
	users_free(&u);
}
END_TEST

static int fail_fsync(int fd)
{
	(void)fd;
	errno = EIO;
	return -1;
}

/* Acknowledged equals persisted: a failed directory fsync after the rename
 * keeps the change, in memory and in the file, and reports success. */
START_TEST(dir_fsync_failure_keeps_the_change)
{
	struct users u, again;
	char err[256];

	ck_assert_int_eq(users_init(&u, 8, file), 0);
	atomic_file_dir_fsync = fail_fsync;
	ck_assert_int_eq(ADD(&u, "bob", "builder", true), USERS_OK);
	ck_assert_int_eq(ADD(&u, "carol", "c", true), USERS_OK);
	ck_assert_int_eq(users_del(&u, "carol", 5, true, err, sizeof(err)), USERS_OK);
	atomic_file_dir_fsync = fsync;
	ck_assert_uint_eq(u.len, 1);
	/* what a restart loads is what was served */
	ck_assert_int_eq(users_init(&again, 8, file), 0);
	ck_assert_int_eq(users_load(&again, err, sizeof(err)), 1);
	ck_assert_uint_eq(again.len, 1);
	ck_assert(users_check(&again, "bob", 3, "builder", 7));
	ck_assert_int_eq(users_find(&again, "carol", 5), -1);
	ck_assert_int_eq(dir_entries(), 1);
	users_free(&again);
	users_free(&u);
}
END_TEST

/* Temporary files a crash left next to the file are removed at load; others stay. */
START_TEST(stale_temporary_files_removed_at_load)
{
	struct users u;
	char err[256], stale[sizeof(file) + 16], other[sizeof(file) + 16];
	FILE *f;

	write_file("alice:a\n");
	snprintf(stale, sizeof(stale), "%s.tmp.AbC123", file);
	snprintf(other, sizeof(other), "%s.tmp.toolong1", file);
	ck_assert_ptr_nonnull(f = fopen(stale, "w"));
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(other, "w"));
	fclose(f);
	ck_assert_int_eq(users_init(&u, 8, file), 0);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), 1);
	ck_assert_int_eq(access(stale, F_OK), -1);
	ck_assert_int_eq(access(other, F_OK), 0);
	ck_assert_int_eq(unlink(other), 0);
	ck_assert_uint_eq(u.len, 1);
	users_free(&u);
}
END_TEST

/* Hashes of "secret", one per kind (made by libxcrypt). */
static const char *const kind_hash[] = {
	"$y$j9T$DZws5d1i/6XhuqooG5gIF/$cGuhvWs3HTCuIOZ1a1z8zAFDy5a9XMJiLtRy03sdQB0",
	"$gy$j9T$t/o1qUGRkIOrFaRHewtlK0$qV1QZaj33epUS9xaoVWeRN3Xoigpa/DvQZlBipDVmN4",
	"$7$CU..../....0.9isDeL7dGl0oBsyHgk80$K2Z/EGdoRW3.1FBMz5uS4yfAgox7kPoWKQ1ZNBIv/L1",
	"$2b$05$9eN7Se6WzgboXazzwhV3c.6iUv6EOJXgrjyZmE7t5LbfZhj6JjGxK",
	"$6$TRTcBavuZA8gjbrO$pqYLR9AJXCzc2i1WRTo/nDLeY1hVwCvHuBiysRQ/o2wGW8qtueG.WRZq/nJcWt8ep/0p77/LgijqbJRti/gDR1",
	"$5$.L.Clw0UUK3n/y7k$e4vdcp5rsnHylOpcH9ceBD42p1sxyHmcql3wnufyru6",
	"secret",  /* and a plaintext entry */
};

/* Each kind in the store (added, and parsed from a users file line): right and wrong passwords. */
START_TEST(each_kind)
{
	const char *h = kind_hash[_i];
	struct users u;
	char err[256], line[512];

	ck_assert_int_eq(users_init(&u, 8, NULL), 0);
	ck_assert_int_eq(ADD(&u, "alice", h, false), USERS_OK);
	ck_assert(u.list[0].hashed == (h[0] == '$'));
	ck_assert(users_check(&u, "alice", 5, "secret", 6));
	ck_assert(!users_check(&u, "alice", 5, "secreT", 6));
	ck_assert(!users_check(&u, "alice", 5, h, strlen(h)) || h[0] != '$');
	ck_assert(!users_check(&u, "bob", 3, "secret", 6));
	users_free(&u);

	ck_assert_int_eq(users_init(&u, 8, NULL), 0);
	snprintf(line, sizeof(line), "\nbob:x\nalice:%s\n", h);
	ck_assert_int_eq(users_parse(&u, line, strlen(line), err, sizeof(err)), 0);
	ck_assert_uint_eq(u.list[1].line, 3);
	ck_assert(users_check(&u, "alice", 5, "secret", 6));
	ck_assert(!users_check(&u, "alice", 5, "x", 1));
	ck_assert_uint_eq(users_plain_count(&u), h[0] == '$' ? 1 : 2);
	users_free(&u);
}
END_TEST

START_TEST(dummy)
{
	struct users u;
	char err[256];
	size_t len;

	ck_assert_int_eq(users_init(&u, 8, NULL), 0);
	ck_assert_str_eq(users_dummy(&u, &len), "-");
	ck_assert_int_eq(ADD(&u, "a", "plain", false), USERS_OK);
	ck_assert_str_eq(users_dummy(&u, &len), "-");
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(ADD(&u, "b", kind_hash[3], false), USERS_OK);
	ck_assert_str_eq(users_dummy(&u, &len), kind_hash[3]);
	ck_assert_uint_eq(len, strlen(kind_hash[3]));
	/* the dummy's password does not log in an unknown name */
	ck_assert(!users_check(&u, "nobody", 6, "secret", 6));
	users_free(&u);
}
END_TEST

/* users_set_pass: an entry's stored password replaced in place, order kept. */
START_TEST(set_pass)
{
	struct users u;
	char err[256];

	ck_assert_int_eq(users_init(&u, 8, NULL), 0);
	ck_assert_int_eq(ADD(&u, "a", "plain", false), USERS_OK);
	ck_assert_int_eq(ADD(&u, "b", "other", false), USERS_OK);
	ck_assert_uint_eq(users_plain_count(&u), 2);
	ck_assert_int_eq(users_set_pass(&u, 0, kind_hash[3], strlen(kind_hash[3])), USERS_OK);
	ck_assert(u.list[0].hashed);
	ck_assert_str_eq(u.list[0].name, "a");
	ck_assert_str_eq(u.list[0].pass, kind_hash[3]);
	ck_assert_uint_eq(users_plain_count(&u), 1);
	ck_assert(users_check(&u, "a", 1, "secret", 6));
	ck_assert_int_eq(users_set_pass(&u, 1, "", 0), USERS_INVALID);
	ck_assert_int_eq(users_set_pass(&u, 1, "x\x01", 2), USERS_INVALID);
	ck_assert_int_eq(users_set_pass(&u, 2, "x", 1), USERS_NOT_FOUND);
	ck_assert_str_eq(u.list[1].pass, "other");   /* unchanged by the refusals */
	ck_assert_int_eq(users_set_pass(&u, 1, "new", 3), USERS_OK);
	ck_assert(!u.list[1].hashed);
	ck_assert(users_check(&u, "b", 1, "new", 3));
	users_free(&u);
}
END_TEST

/* An old file with plaintext passwords: loaded as is, hashed by the next rewrite. */
START_TEST(migration)
{
	struct users u;
	char err[256], buf[2048];

	write_file("alice:wonderland\nbob:$2b$05$9eN7Se6WzgboXazzwhV3c.6iUv6EOJXgrjyZmE7t5LbfZhj6JjGxK\n");
	ck_assert_int_eq(users_init(&u, 8, file), 0);
	ck_assert_int_eq(users_set_hash(&u, "sha512crypt", 6000), 0);
	ck_assert_int_eq(users_set_hash(&u, "md5", 0), -1);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), 1);
	ck_assert_uint_eq(users_plain_count(&u), 1);
	ck_assert(users_check(&u, "alice", 5, "wonderland", 10));
	ck_assert_int_eq(ADD(&u, "carol", "c", true), USERS_OK);
	ck_assert_uint_eq(users_plain_count(&u), 0);
	read_file(buf, sizeof(buf));
	ck_assert_int_eq(strncmp(buf, "alice:$6$rounds=6000$", 21), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\nbob:$2b$05$9eN7Se6WzgboXazzwhV3c."));
	ck_assert_ptr_nonnull(strstr(buf, "\ncarol:$6$rounds=6000$"));
	ck_assert_ptr_null(strstr(buf, "wonderland"));
	users_free(&u);

	ck_assert_int_eq(users_init(&u, 8, file), 0);
	ck_assert_int_eq(users_load(&u, err, sizeof(err)), 1);
	ck_assert(users_check(&u, "alice", 5, "wonderland", 10));
	ck_assert(users_check(&u, "bob", 3, "secret", 6));
	ck_assert(users_check(&u, "carol", 5, "c", 1));
	ck_assert(!users_check(&u, "carol", 5, "d", 1));
	users_free(&u);
}
END_TEST

static Suite *users_suite(void)
{
	Suite *s = suite_create("users");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, validation_edges);
	tcase_add_test(tc, set_operations);
	tcase_add_test(tc, check);
	tcase_add_test(tc, parse);
	tcase_add_test(tc, persistence_round_trip);
	tcase_add_test(tc, classes);
	tcase_add_test(tc, load_errors);
	tcase_add_test(tc, unwritable_directory);
	tcase_add_test(tc, failed_write_changes_nothing);
	tcase_add_test(tc, dir_fsync_failure_keeps_the_change);
	tcase_add_test(tc, stale_temporary_files_removed_at_load);
	tcase_add_loop_test(tc, each_kind, 0, (int)(sizeof(kind_hash) / sizeof(kind_hash[0])));
	tcase_add_test(tc, dummy);
	tcase_add_test(tc, set_pass);
	tcase_add_test(tc, migration);
	tcase_add_test(tc, untrusted_file);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(users_suite());
}
