/*
 * Unit tests for the plugin registry (src/mass/plugins.c): the fixture
 * modules of tests/unit/fixture_plugin.c, each bad one next to a good one,
 * checking the exact message and that the good indexes still serve; then
 * the private copy: a loaded set keeps working while its file is
 * overwritten in place, renamed over or deleted, and the next load serves
 * the file's new code.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "config.h"
#include "core/log.h"
#include "mass/mass_proto.h"
#include "mass/plugins.h"
#include "mass/host_services.h"
#include "runtime.h"
#include "core/events.h"
#include "core/loop.h"
#include <stdbool.h>

#define INI "test.ini"

static struct plugins_index_line lines[8];
static size_t nlines;
static struct plugins_section sections[4];
static size_t nsections;
static bool spec_lax;     /* [plugins] strict = off */

static void spec_reset(void)
{
	nlines = 0;
	nsections = 0;
	spec_lax = false;
}

static void spec_index(unsigned index, const char *plugin)
{
	lines[nlines].index = index;
	lines[nlines].plugin = plugin;
	lines[nlines].line = (unsigned)nlines + 1;
	nlines++;
}

static void spec_section(const char *name, const struct mass_config_item *items, size_t n)
{
	sections[nsections].name = name;
	sections[nsections].items = items;
	sections[nsections].count = n;
	nsections++;
}

static struct plugins *spec_load(void)
{
	struct plugins_spec spec = {
		.file = INI, .dir = FIXTURE_DIR, .lax = spec_lax,
		.indexes = lines, .nindexes = nlines,
		.sections = sections, .nsections = nsections,
	};
	char err[128];
	struct plugins *p = plugins_load_spec(&spec, PLUGINS_START, err, sizeof(err));

	ck_assert_msg(p != NULL, "%s", err);
	return p;
}

/* Sends a whole request through the framer and the registry. */
static size_t serve(struct plugins *p, const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
	static struct mass_request_parser rq;
	struct mass_reply *later;
	size_t used;

	mass_request_init(&rq, plugins_signature, p);
	ck_assert_int_eq(mass_request_parse(&rq, msg, len, &used), PROTO_DONE);
	ck_assert_uint_eq(used, len);
	return plugins_serve(p, &rq, out, cap, &later);
}

/* The good plugin's 40 answers pong; 00 lists exactly `served`. */
static void assert_serves(struct plugins *p, const char *served, size_t nserved)
{
	uint8_t out[300], req = 0x40;
	size_t n;

	n = serve(p, &req, 1, out, sizeof(out));
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(out, "\x00\x04pong", 6) == 0);
	req = 0x00;
	n = serve(p, &req, 1, out, sizeof(out));
	ck_assert_uint_eq(n, 2 + nserved);
	ck_assert_uint_eq(out[0], 0x00);
	ck_assert_uint_eq(out[1], nserved);
	ck_assert(memcmp(out + 2, served, nserved) == 0);
}

/* Loads 40 = fixture_good and 41 = bad; expects exactly one problem, msg. */
static void assert_rejected(const char *bad, const char *msg)
{
	struct plugins *p;

	spec_reset();
	spec_index(0x40, "fixture_good");
	spec_index(0x41, bad);
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_str_eq(plugins_error(p, 0), msg);
	ck_assert(!plugins_served(p, 0x41));
	assert_serves(p, "\x00\x40", 2);
	plugins_free(p);
}

START_TEST(test_good)
{
	struct plugins *p;
	uint8_t out[300];
	const uint8_t echo[] = { 0x41, 0x02, 'h', 'i' }, unknown = 0x7F;

	spec_reset();
	spec_index(0x40, "fixture_good");
	spec_index(0x41, "fixture_good");
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 0);
	assert_serves(p, "\x00\x40\x41", 3);
	ck_assert_uint_eq(serve(p, echo, sizeof(echo), out, sizeof(out)), 3);
	ck_assert(memcmp(out, "\x00hi", 3) == 0);
	ck_assert_uint_eq(serve(p, &unknown, 1, out, sizeof(out)), 1);
	ck_assert_uint_eq(out[0], 0x02);
	ck_assert_str_eq(plugins_usage(p, 0x41), "echo a string");
	ck_assert_str_eq(plugins_usage(p, 0x00), "supported indexes");
	plugins_free(p);
}
END_TEST

START_TEST(test_missing_file)
{
	assert_rejected("missing",
			"plugin missing (" FIXTURE_DIR "/missing.so): no such file");
}
END_TEST

START_TEST(test_not_elf)
{
	static const struct mass_config_item item[] = { { "module", "/tmp/x", 1 } };
	char dir[] = "/tmp/mass-test-plugin-XXXXXX", path[64], msg[256];
	struct mass_config_item items[1];
	struct plugins *p;
	int fd;

	/* a directory of our own: /tmp itself is writable by others */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/text.so", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "#!/bin/sh\necho not a plugin\n", 28), 28);
	close(fd);
	items[0] = item[0];
	items[0].value = path;
	spec_reset();
	spec_index(0x40, "fixture_good");
	spec_index(0x41, "text");
	spec_section("text", items, 1);
	p = spec_load();
	snprintf(msg, sizeof(msg), "plugin text (%s): not an ELF shared object", path);
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_str_eq(plugins_error(p, 0), msg);
	assert_serves(p, "\x00\x40", 2);
	plugins_free(p);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_missing_symbol)
{
	assert_rejected("fixture_nosym", "plugin fixture_nosym (" FIXTURE_DIR
			"/fixture_nosym.so): no symbol mass_plugin: not a mass plugin");
}
END_TEST

START_TEST(test_bad_magic)
{
	assert_rejected("fixture_badmagic", "plugin fixture_badmagic (" FIXTURE_DIR
			"/fixture_badmagic.so): bad magic: mass_plugin is not a mass plugin descriptor");
}
END_TEST

START_TEST(test_abi_major)
{
	assert_rejected("fixture_abimajor", "plugin fixture_abimajor (" FIXTURE_DIR
			"/fixture_abimajor.so): fixture_abimajor.so built for ABI 2.2, host has 1.2");
}
END_TEST

START_TEST(test_newer_minor)
{
	assert_rejected("fixture_newminor", "plugin fixture_newminor (" FIXTURE_DIR
			"/fixture_newminor.so): fixture_newminor.so built for ABI 1.5, host has 1.2");
}
END_TEST

START_TEST(test_declared_twice)
{
	assert_rejected("fixture_dupindex", "plugin fixture_dupindex (" FIXTURE_DIR
			"/fixture_dupindex.so): declares index 41 twice");
}
END_TEST

START_TEST(test_claims_core)
{
	assert_rejected("fixture_claims00", "plugin fixture_claims00 (" FIXTURE_DIR
			"/fixture_claims00.so): claims index 00, which is the core's");
}
END_TEST

START_TEST(test_bad_signature_named)
{
	spec_reset();
	spec_index(0x40, "fixture_badsig");
	{
		struct plugins *p = spec_load();

		ck_assert_uint_eq(plugins_error_count(p), 1);
		ck_assert_str_eq(plugins_error(p, 0), "plugin fixture_badsig (" FIXTURE_DIR
				 "/fixture_badsig.so): index 40: invalid signature \"sx\": 'x' at "
				 "position 2 is neither 'b' nor 's'");
		plugins_free(p);
	}
}
END_TEST

static bool later_done;
static uint8_t later_buf[16];
static size_t later_len;

static void later_sent(void *conn, const uint8_t *reply, size_t len)
{
	(void)conn;
	later_done = true;
	later_len = len < sizeof(later_buf) ? len : sizeof(later_buf);
	memcpy(later_buf, reply, later_len);
}

/*
 * ABI 1.1 on a real loop: a deferred reply sent from a plugin's timer, an
 * overflowing reply answered 01, and the timer and subscription its fini
 * forgot released at unload (ASan would see a leak, the loop a dangling
 * timer).
 */
START_TEST(test_v11_deferred_and_release)
{
	char err[128];
	struct loop *loop = loop_create(64, err, sizeof(err));
	static struct mass_request_parser rq;
	struct mass_reply *later = NULL;
	uint8_t out[300], req;
	struct plugins *p;
	size_t used;
	int rounds;

	ck_assert_ptr_nonnull(loop);
	host_services_start(loop);
	spec_reset();
	spec_index(0x43, "fixture_v11");
	spec_index(0x44, "fixture_v11");
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 0);
	ck_assert(events_wanted(MASS_EVENT_CLOSED));
	req = 0x43;
	mass_request_init(&rq, plugins_signature, p);
	ck_assert_int_eq(mass_request_parse(&rq, &req, 1, &used), PROTO_DONE);
	ck_assert_uint_eq(plugins_serve(p, &rq, out, sizeof(out), &later), 0);
	ck_assert_ptr_nonnull(later);
	later_done = false;
	host_defer_attach(later, later_sent, NULL);
	for (rounds = 0; rounds < 100 && !later_done; rounds++)
		loop_run_once(loop, 5);
	ck_assert(later_done);
	ck_assert_uint_eq(later_len, 6);
	ck_assert(memcmp(later_buf, "\x00\x04late", 6) == 0);
	req = 0x44;
	ck_assert_uint_eq(serve(p, &req, 1, out, sizeof(out)), 1);
	ck_assert_uint_eq(out[0], MASS_STATUS_ERROR);
	plugins_free(p);
	ck_assert(!events_wanted(MASS_EVENT_CLOSED));
	loop_run_once(loop, 5);     /* the forgotten timer is gone: nothing fires */
	host_services_start(NULL);
	loop_destroy(loop);
}
END_TEST

START_TEST(test_init_fails)
{
	assert_rejected("fixture_initfail", "plugin fixture_initfail (" FIXTURE_DIR
			"/fixture_initfail.so): cannot start: fixture says no");
}
END_TEST

START_TEST(test_init_reads_section)
{
	static const struct mass_config_item items[] = { { "fail", "no such setting", 7 } };
	struct plugins *p;

	spec_reset();
	spec_index(0x40, "fixture_other");
	spec_index(0x41, "fixture_good");
	spec_section("fixture_good", items, 1);
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_str_eq(plugins_error(p, 0), "plugin fixture_good (" FIXTURE_DIR
			 "/fixture_good.so): no such setting");
	ck_assert(!plugins_served(p, 0x41));
	assert_serves(p, "\x00\x40", 2);
	plugins_free(p);
}
END_TEST

START_TEST(test_index_not_served)
{
	struct plugins *p;

	spec_reset();
	spec_index(0x40, "fixture_good");
	spec_index(0x50, "fixture_good");
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_str_eq(plugins_error(p, 0), "plugin fixture_good (" FIXTURE_DIR
			 "/fixture_good.so): does not serve index 50 (" INI ":2)");
	/* the plugin is refused whole, as the header says: 40 answers 02 too */
	ck_assert(!plugins_served(p, 0x40));
	ck_assert(!plugins_served(p, 0x50));
	ck_assert(plugins_served(p, 0x00));
	plugins_free(p);
}
END_TEST

START_TEST(test_index_given_twice)
{
	struct plugins *p;

	spec_reset();
	spec_index(0x40, "fixture_good");
	spec_index(0x40, "fixture_other");
	spec_index(0x42, "fixture_other");
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_str_eq(plugins_error(p, 0),
			 INI ":2: [indexes] 40: already given to plugin fixture_good (line 1)");
	assert_serves(p, "\x00\x40\x42", 3);
	plugins_free(p);
}
END_TEST

START_TEST(test_core_indexes_in_config)
{
	struct plugins *p;

	spec_reset();
	spec_index(0x00, "fixture_good");
	spec_index(0x40, "fixture_good");
	spec_index(0xFF, "fixture_good");
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 2);
	ck_assert_str_eq(plugins_error(p, 0), INI ":1: [indexes] 00: index 00 is the core's");
	ck_assert_str_eq(plugins_error(p, 1), INI ":3: [indexes] FF: index FF is reserved");
	assert_serves(p, "\x00\x40", 2);
	plugins_free(p);
}
END_TEST

START_TEST(test_nothing_loaded)
{
	uint8_t out[8], req = 0x00;

	/* no set at all (before start, or out of memory): 00 still answers */
	ck_assert_uint_eq(serve(NULL, &req, 1, out, sizeof(out)), 3);
	ck_assert(memcmp(out, "\x00\x01\x00", 3) == 0);
}
END_TEST

START_TEST(test_reload)
{
	struct config cfg;
	struct plugins *first, *fresh;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.path = (char *)INI;
	cfg.plugins_dir = (char *)FIXTURE_DIR;
	cfg.indexes[0x40] = (char *)"fixture_good";
	cfg.index_lines[0x40] = 4;
	first = runtime_plugins_load(&cfg, PLUGINS_START, err, sizeof(err));
	ck_assert_ptr_nonnull(first);
	ck_assert_uint_eq(plugins_error_count(first), 0);

	/* a broken new set is refused */
	cfg.indexes[0x42] = (char *)"fixture_badmagic";
	ck_assert_ptr_null(runtime_plugins_load(&cfg, PLUGINS_RELOAD, err, sizeof(err)));
	ck_assert_str_eq(err, "plugin fixture_badmagic (" FIXTURE_DIR "/fixture_badmagic.so): "
			 "bad magic: mass_plugin is not a mass plugin descriptor");

	/* a good one loads */
	cfg.indexes[0x42] = (char *)"fixture_other";
	fresh = runtime_plugins_load(&cfg, PLUGINS_RELOAD, err, sizeof(err));
	ck_assert_msg(fresh != NULL, "%s", err);
	assert_serves(fresh, "\x00\x40\x42", 3);
	plugins_free(first);
	plugins_free(fresh);
}
END_TEST

/* The lines the fixtures wrote to $MASS_FIXTURE_CALLS that equal what. */
static unsigned fixture_calls(const char *path, const char *what)
{
	char line[32];
	unsigned n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, what, strlen(what)) == 0 && line[strlen(what)] == '\n')
			n++;
	fclose(f);
	return n;
}

/*
 * A reload refused by a static check runs no init (and so no fini) of any
 * candidate, even of the plugins that passed theirs; at start the same set
 * initialises what passed and drops the rest.
 */
START_TEST(test_reload_refused_runs_no_init)
{
	char path[] = "/tmp/mass-fixture-calls-XXXXXX";
	struct config cfg;
	struct plugins *p;
	char err[256];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(setenv("MASS_FIXTURE_CALLS", path, 1), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = (char *)INI;
	cfg.plugins_dir = (char *)FIXTURE_DIR;
	cfg.indexes[0x40] = (char *)"fixture_good";
	cfg.index_lines[0x40] = 4;
	/* fixture_other loads fine but does not serve 0x43: a mapping problem */
	cfg.indexes[0x43] = (char *)"fixture_other";
	cfg.index_lines[0x43] = 5;
	ck_assert_ptr_null(runtime_plugins_load(&cfg, PLUGINS_RELOAD, err, sizeof(err)));
	ck_assert_msg(strstr(err, "does not serve index 43") != NULL, "%s", err);
	ck_assert_uint_eq(fixture_calls(path, "init"), 0);
	ck_assert_uint_eq(fixture_calls(path, "fini"), 0);

	/* a bad descriptor next to a good plugin: still no init at all */
	cfg.indexes[0x43] = NULL;
	cfg.indexes[0x42] = (char *)"fixture_badmagic";
	ck_assert_ptr_null(runtime_plugins_load(&cfg, PLUGINS_RELOAD, err, sizeof(err)));
	ck_assert_uint_eq(fixture_calls(path, "init"), 0);

	/* at start the same set serves what passed: one init, then its fini */
	p = runtime_plugins_load(&cfg, PLUGINS_START, err, sizeof(err));
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_uint_eq(fixture_calls(path, "init"), 1);
	plugins_free(p);
	ck_assert_uint_eq(fixture_calls(path, "fini"), 1);
	unsetenv("MASS_FIXTURE_CALLS");
	unlink(path);
}
END_TEST


/* --- the private copy: the file the ini names may change under a set --- */

static char tmpdir[64];
static char upd_path[128];
static struct mass_config_item upd_item[1];

/* Writes the first `len` octets (all: (size_t)-1) of fixture NAME's file to
 * path: in place (O_TRUNC on the same inode) or, when `rename_it`, into a
 * new file renamed over path. */
static void put_fixture(const char *name, const char *path, size_t len, int rename_it)
{
	char src[256], tmp[160], buf[65536];
	size_t total = 0;
	ssize_t n;
	int in, out;

	snprintf(src, sizeof(src), "%s/%s.so", FIXTURE_DIR, name);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	in = open(src, O_RDONLY);
	ck_assert_int_ge(in, 0);
	out = open(rename_it ? tmp : path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ck_assert_int_ge(out, 0);
	while (total < len && (n = read(in, buf, sizeof(buf))) > 0) {
		if ((size_t)n > len - total)
			n = (ssize_t)(len - total);
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
		total += (size_t)n;
	}
	close(in);
	ck_assert_int_eq(close(out), 0);
	if (rename_it)
		ck_assert_int_eq(rename(tmp, path), 0);
}

/* A temporary directory holding upd.so, a copy of fixture NAME, which the
 * spec loads as plugin "upd" (section module = that path). */
static void upd_setup(const char *name)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mass-test-plugins-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(upd_path, sizeof(upd_path), "%s/upd.so", tmpdir);
	put_fixture(name, upd_path, (size_t)-1, 0);
	upd_item[0].key = "module";
	upd_item[0].value = upd_path;
	upd_item[0].line = 9;
}

static void upd_teardown(void)
{
	unlink(upd_path);
	rmdir(tmpdir);
}

static struct plugins *upd_load(unsigned index)
{
	spec_reset();
	spec_index(index, "upd");
	spec_section("upd", upd_item, 1);
	return spec_load();
}

/* upd.so (fixture_good) with mode file_mode in a directory of mode dir_mode:
 * refused because of the file (who 1) or its directory (who 2), writable by
 * `by`, or loaded (who 0). */
static void assert_strict(mode_t file_mode, mode_t dir_mode, bool lax, int who, const char *by)
{
	struct plugins *p;
	char msg[512];

	upd_setup("fixture_good");
	ck_assert_int_eq(chmod(upd_path, file_mode), 0);
	ck_assert_int_eq(chmod(tmpdir, dir_mode), 0);
	spec_reset();
	spec_index(0x40, "upd");
	spec_section("upd", upd_item, 1);
	spec_lax = lax;
	p = spec_load();
	if (who == 0) {
		ck_assert_uint_eq(plugins_error_count(p), 0);
		assert_serves(p, "\x00\x40", 2);
	} else {
		if (who == 1)
			snprintf(msg, sizeof(msg), "plugin upd (%s): %s is writable by %s (mode %04o)",
				 upd_path, upd_path, by, (unsigned)file_mode);
		else
			snprintf(msg, sizeof(msg), "plugin upd (%s): its directory %s is writable "
				 "by %s (mode %04o)", upd_path, tmpdir, by, (unsigned)dir_mode);
		ck_assert_uint_eq(plugins_error_count(p), 1);
		ck_assert_str_eq(plugins_error(p, 0), msg);
	}
	plugins_free(p);
	chmod(tmpdir, 0700);
	upd_teardown();
}

/* StrictModes: a module others could have written or replaced is refused. */
START_TEST(test_strict_modes)
{
	assert_strict(0755, 0700, false, 0, NULL);
	assert_strict(0775, 0700, false, 1, "its group");
	assert_strict(0757, 0700, false, 1, "others");
	assert_strict(0755, 0777, false, 2, "others");
	assert_strict(0755, 0770, false, 2, "its group");
	/* a sticky world-writable directory (like /tmp) is refused too */
	assert_strict(0755, 01777, false, 2, "others");
	/* [plugins] strict = off: loaded, with a warning */
	assert_strict(0757, 0777, true, 0, NULL);
}
END_TEST

/* Owned by someone else (needs root to give the file away). */
START_TEST(test_strict_owner)
{
	struct plugins *p;
	char msg[512];

	if (geteuid() != 0)
		return;
	upd_setup("fixture_good");
	ck_assert_int_eq(chown(upd_path, 65534, 65534), 0);
	p = upd_load(0x40);
	snprintf(msg, sizeof(msg), "plugin upd (%s): %s is owned by uid 65534, neither root nor "
		 "the running user (mode 0755)", upd_path, upd_path);
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_str_eq(plugins_error(p, 0), msg);
	plugins_free(p);
	upd_teardown();
}
END_TEST

/* 41 echoes: only fixture_good's table has it. */
static void assert_echoes(struct plugins *p)
{
	const uint8_t echo[] = { 0x41, 0x02, 'o', 'k' };
	uint8_t out[16];

	ck_assert_uint_eq(serve(p, echo, sizeof(echo), out, sizeof(out)), 3);
	ck_assert(memcmp(out, "\x00ok", 3) == 0);
}

/* 42 echoes one octet: only fixture_other's table has it. */
static void assert_echoes_octet(struct plugins *p)
{
	const uint8_t echo[] = { 0x42, 0x07 };
	uint8_t out[16];

	ck_assert_uint_eq(serve(p, echo, sizeof(echo), out, sizeof(out)), 2);
	ck_assert(memcmp(out, "\x00\x07", 2) == 0);
}

START_TEST(test_copy_overwritten_in_place)
{
	struct plugins *old, *fresh;
	struct stat before, after;

	upd_setup("fixture_good");
	old = upd_load(0x41);
	ck_assert_uint_eq(plugins_error_count(old), 0);
	assert_echoes(old);
	ck_assert_int_eq(stat(upd_path, &before), 0);
	/* `cp other.so upd.so`: same inode, new bytes, while old runs from it */
	put_fixture("fixture_other", upd_path, (size_t)-1, 0);
	ck_assert_int_eq(stat(upd_path, &after), 0);
	ck_assert_uint_eq(before.st_ino, after.st_ino);
	assert_echoes(old);
	/* the next load gets the new code, not the object already loaded */
	fresh = upd_load(0x42);
	ck_assert_uint_eq(plugins_error_count(fresh), 0);
	assert_echoes_octet(fresh);
	ck_assert(!plugins_served(fresh, 0x41));
	assert_echoes(old);
	plugins_free(old);
	assert_echoes_octet(fresh);
	plugins_free(fresh);
	upd_teardown();
}
END_TEST

START_TEST(test_copy_renamed_over)
{
	struct plugins *old, *fresh, *back;

	upd_setup("fixture_good");
	old = upd_load(0x41);
	ck_assert_uint_eq(plugins_error_count(old), 0);
	/* `install` / `cp new; mv new upd.so`: a new inode at the same path */
	put_fixture("fixture_other", upd_path, (size_t)-1, 1);
	fresh = upd_load(0x42);
	ck_assert_uint_eq(plugins_error_count(fresh), 0);
	assert_echoes_octet(fresh);
	assert_echoes(old);
	/* and back again, while both are loaded */
	put_fixture("fixture_good", upd_path, (size_t)-1, 1);
	back = upd_load(0x41);
	ck_assert_uint_eq(plugins_error_count(back), 0);
	assert_echoes(back);
	plugins_free(old);
	plugins_free(fresh);
	assert_echoes(back);
	plugins_free(back);
	upd_teardown();
}
END_TEST

START_TEST(test_copy_file_deleted)
{
	struct plugins *p;

	upd_setup("fixture_good");
	p = upd_load(0x41);
	ck_assert_uint_eq(plugins_error_count(p), 0);
	ck_assert_int_eq(unlink(upd_path), 0);
	assert_echoes(p);
	plugins_free(p);
	/* gone: the next load says so, naming the file */
	p = upd_load(0x41);
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert(strstr(plugins_error(p, 0), upd_path) != NULL);
	ck_assert(strstr(plugins_error(p, 0), "): no such file") != NULL);
	plugins_free(p);
	upd_teardown();
}
END_TEST

/* A copy of the first len octets of fixture_good is refused with reason. */
static void assert_truncated(size_t len, const char *reason)
{
	char msg[512];
	struct plugins *p;
	struct stat st;

	upd_setup("fixture_good");
	ck_assert_int_eq(stat(upd_path, &st), 0);
	ck_assert_uint_lt(len, (size_t)st.st_size);
	put_fixture("fixture_good", upd_path, len, 0);
	p = upd_load(0x41);
	snprintf(msg, sizeof(msg), "plugin upd (%s): %s", upd_path, reason);
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_str_eq(plugins_error(p, 0), msg);
	ck_assert(!plugins_served(p, 0x41));
	plugins_free(p);
	upd_teardown();
}

START_TEST(test_copy_truncated)
{
	/* a file caught half-written by cp: refused, never mapped short */
	/* past the headers, short of the segments: not half the file, whose
	 * size depends on the debug information (a bigger header's types) */
	assert_truncated(4200, "truncated ELF object (a segment past the end)");
	assert_truncated(40, "truncated ELF object (no whole header)");
	assert_truncated(0, "not an ELF shared object");
}
END_TEST

START_TEST(test_copy_not_regular)
{
	static struct mass_config_item item[1] = { { "module", "/tmp", 3 } };
	struct plugins *p;

	spec_reset();
	spec_index(0x40, "fixture_good");
	spec_index(0x41, "dir");
	spec_section("dir", item, 1);
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_str_eq(plugins_error(p, 0), "plugin dir (/tmp): not a regular file");
	assert_serves(p, "\x00\x40", 2);
	plugins_free(p);
}
END_TEST

START_TEST(test_load_logged)
{
	char path[] = "/tmp/mass-test-log-XXXXXX", text[4096];
	struct plugins *p;
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	log_threshold = LOG_INFO;
	ck_assert_int_ge(dup2(fd, 2), 0);
	spec_reset();
	spec_index(0x40, "fixture_good");
	p = spec_load();
	dup2(saved, 2);
	close(saved);
	log_threshold = LOG_ERROR;
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(path);
	ck_assert_int_gt(n, 0);
	text[n] = '\0';
	/* the file the ini named (not /proc/self/fd/N), the descriptor's name and version */
	ck_assert_msg(strstr(text, "plugin fixture_good (" FIXTURE_DIR "/fixture_good.so): "
			     "loaded fixture version 0.0.1") != NULL, "%s", text);
	ck_assert(strstr(text, "/proc/self/fd") == NULL);
	plugins_free(p);
}
END_TEST

/* ---------------------------------------------------------------- ABI 1.2 */

/* A 1.2 plugin gets its context: serve answers from ctx->state and
 * ctx->host (reply_u64), and index_info reports the layouts. */
START_TEST(test_v12_serves_through_ctx)
{
	uint8_t out[64], req = 0x50;
	struct mass_index_info ix;
	struct plugins *p;

	spec_reset();
	spec_index(0x50, "fixture_v12");
	spec_index(0x51, "fixture_v12");
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 0);
	ck_assert_uint_eq(serve(p, &req, 1, out, sizeof(out)), 6);
	ck_assert(memcmp(out, "\x00\x04pong", 6) == 0);
	req = 0x51;
	ck_assert_uint_eq(serve(p, &req, 1, out, sizeof(out)), 9);
	ck_assert(memcmp(out, "\x00\x01\x02\x03\x04\x05\x06\x07\x08", 9) == 0);
	ck_assert_int_eq(plugins_index_info(p, 0x51, &ix), 0);
	ck_assert_str_eq(ix.reply_layout, "v:u64");
	ck_assert_int_eq(plugins_index_info(p, 0x00, &ix), 0);
	ck_assert_str_eq(ix.reply_layout, "indexes:[index:u8]");
	plugins_free(p);
}
END_TEST

/* The admin's client left while a reply_defer_ctx reply was pending: the
 * cancel notice runs once, in a later round (not inside the detach), and
 * reply_send from it returns -1. */
START_TEST(test_v12_cancel_when_client_gone)
{
	char err[128], path[] = "/tmp/mass-fixture-calls-XXXXXX";
	struct loop *loop = loop_create(64, err, sizeof(err));
	static struct mass_request_parser rq;
	struct mass_reply *later = NULL;
	uint8_t out[16], req = 0x54;
	struct plugins *p;
	size_t used;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	setenv("MASS_FIXTURE_CALLS", path, 1);
	ck_assert_ptr_nonnull(loop);
	host_services_start(loop);
	spec_reset();
	spec_index(0x54, "fixture_v12");
	p = spec_load();
	mass_request_init(&rq, plugins_signature, p);
	ck_assert_int_eq(mass_request_parse(&rq, &req, 1, &used), PROTO_DONE);
	ck_assert_uint_eq(plugins_serve(p, &rq, out, sizeof(out), &later), 0);
	ck_assert_ptr_nonnull(later);
	later_done = false;
	host_defer_attach(later, later_sent, NULL);
	host_defer_detach(later);                     /* the client went */
	ck_assert_uint_eq(fixture_calls(path, "cancel"), 0);
	loop_run_once(loop, 5);
	ck_assert_uint_eq(fixture_calls(path, "cancel"), 1);
	ck_assert_uint_eq(fixture_calls(path, "cancel send -1"), 1);
	ck_assert(!later_done);                       /* nobody was answered */
	loop_run_once(loop, 5);
	ck_assert_uint_eq(fixture_calls(path, "cancel"), 1);   /* once */
	plugins_free(p);
	host_services_start(NULL);
	loop_destroy(loop);
	unsetenv("MASS_FIXTURE_CALLS");
	unlink(path);
}
END_TEST

/* An init that fills err to the end without a NUL: the host cuts it. */
START_TEST(test_init_err_unterminated)
{
	char expect[512];
	struct plugins *p;

	spec_reset();
	spec_index(0x50, "fixture_errfill");
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 1);
	snprintf(expect, sizeof(expect), "plugin fixture_errfill (%s/fixture_errfill.so): %.255s",
		 FIXTURE_DIR, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	ck_assert_str_eq(plugins_error(p, 0), expect);
	ck_assert(!plugins_served(p, 0x50));
	plugins_free(p);
}
END_TEST

/* A malformed reply layout refuses the plugin at load, with the reason. */
START_TEST(test_bad_layout_refused)
{
	struct plugins *p;

	spec_reset();
	spec_index(0x50, "fixture_badlayout");
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 1);
	ck_assert_msg(strstr(plugins_error(p, 0), "): index 50: invalid reply layout: ") != NULL,
		      "%s", plugins_error(p, 0));
	ck_assert(!plugins_served(p, 0x50));
	plugins_free(p);
}
END_TEST

/* A plugin built from the frozen 1.1 header loads and serves unchanged. */
START_TEST(test_abi11_plugin_serves)
{
	static const struct mass_config_item module[] = {
		{ .key = "module", .value = ABI_DIR "/abi11.so", .line = 0 },
	};
	uint8_t out[64], req = 0x44;
	struct plugins *p;

	spec_reset();
	spec_index(0x44, "abi11");
	spec_section("abi11", module, 1);
	p = spec_load();
	ck_assert_uint_eq(plugins_error_count(p), 0);
	ck_assert_uint_eq(serve(p, &req, 1, out, sizeof(out)), 8);
	ck_assert(memcmp(out, "\x00\x06pong11", 8) == 0);
	plugins_free(p);
}
END_TEST

static Suite *plugins_suite(void)
{
	Suite *s = suite_create("plugins");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_reload_refused_runs_no_init);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_not_elf);
	tcase_add_test(tc, test_missing_symbol);
	tcase_add_test(tc, test_bad_magic);
	tcase_add_test(tc, test_abi_major);
	tcase_add_test(tc, test_newer_minor);
	tcase_add_test(tc, test_declared_twice);
	tcase_add_test(tc, test_claims_core);
	tcase_add_test(tc, test_init_fails);
	tcase_add_test(tc, test_init_reads_section);
	tcase_add_test(tc, test_index_not_served);
	tcase_add_test(tc, test_index_given_twice);
	tcase_add_test(tc, test_core_indexes_in_config);
	tcase_add_test(tc, test_nothing_loaded);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_bad_signature_named);
	tcase_add_test(tc, test_v11_deferred_and_release);
	tcase_add_test(tc, test_v12_serves_through_ctx);
	tcase_add_test(tc, test_v12_cancel_when_client_gone);
	tcase_add_test(tc, test_init_err_unterminated);
	tcase_add_test(tc, test_bad_layout_refused);
	tcase_add_test(tc, test_abi11_plugin_serves);
	suite_add_tcase(s, tc);
	tc = tcase_create("private copy");
	tcase_add_test(tc, test_copy_overwritten_in_place);
	tcase_add_test(tc, test_copy_renamed_over);
	tcase_add_test(tc, test_copy_file_deleted);
	tcase_add_test(tc, test_copy_truncated);
	tcase_add_test(tc, test_copy_not_regular);
	tcase_add_test(tc, test_load_logged);
	tcase_add_test(tc, test_strict_modes);
	tcase_add_test(tc, test_strict_owner);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_ERROR;
	return check_main_run(plugins_suite());
}
