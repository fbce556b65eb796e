/*
 * Unit tests for massctl's pure parts: command-line parsing, hex and x:HEX
 * parameters, the bytes of every request, reply decoding (every truncation
 * and oversize of each reply shape) and JSON escaping.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "massctl/massctl_cli.h"
#include "massctl/massctl_wire.h"

static char err[256];

/* Parses a NULL-terminated argument list (argv[0] is supplied). */
static int parse(struct massctl_opts *o, const char *env, const char *const *args)
{
	static char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"massctl";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	err[0] = '\0';
	return massctl_cli_parse(o, argc, argv, env, err, sizeof(err));
}

#define PARSE(o, env, ...) parse((o), (env), (const char *const[]){ __VA_ARGS__, NULL })

/* Builds the request of the parsed command and compares it with want. */
static void expect_request(const struct massctl_opts *o, const char *want_hex)
{
	uint8_t buf[MASSCTL_REQ_MAX], want[512];
	size_t used = 0;
	long n = massctl_hex_decode(want_hex, want, sizeof(want), err, sizeof(err));

	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(massctl_cli_request(o, buf, sizeof(buf), &used, err, sizeof(err)), 0);
	ck_assert_uint_eq(used, (size_t)n);
	ck_assert_mem_eq(buf, want, used);
}

START_TEST(index_parsing)
{
	uint8_t ix = 0;

	ck_assert_int_eq(massctl_parse_index("0e", &ix, err, sizeof(err)), 0);
	ck_assert_uint_eq(ix, 0x0e);
	ck_assert_int_eq(massctl_parse_index("0x0E", &ix, err, sizeof(err)), 0);
	ck_assert_uint_eq(ix, 0x0e);
	ck_assert_int_eq(massctl_parse_index("0XfF", &ix, err, sizeof(err)), 0);
	ck_assert_uint_eq(ix, 0xff);
	ck_assert_int_eq(massctl_parse_index("7", &ix, err, sizeof(err)), 0);
	ck_assert_uint_eq(ix, 7);
	ck_assert_int_eq(massctl_parse_index("0", &ix, err, sizeof(err)), 0);
	ck_assert_uint_eq(ix, 0);
	ck_assert_int_eq(massctl_parse_index("", &ix, err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_parse_index("0x", &ix, err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_parse_index("100", &ix, err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_parse_index("0x100", &ix, err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_parse_index("g", &ix, err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_parse_index("-1", &ix, err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_parse_index(" 1", &ix, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not an index"));
}
END_TEST

START_TEST(hex_decoding_and_encoding)
{
	uint8_t out[4];
	char text[9];

	ck_assert_int_eq(massctl_hex_decode("00fFa1", out, sizeof(out), err, sizeof(err)), 3);
	ck_assert_mem_eq(out, "\x00\xff\xa1", 3);
	ck_assert_int_eq(massctl_hex_decode("", out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_int_eq(massctl_hex_decode("abc", out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "odd"));
	ck_assert_int_eq(massctl_hex_decode("0g", out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "position 2"));
	ck_assert_int_eq(massctl_hex_decode("0102030405", out, sizeof(out), err, sizeof(err)), -1);

	ck_assert_int_eq(massctl_hex_encode((const uint8_t *)"\x00\xab\x7f\xff", 4, text, sizeof(text)), 0);
	ck_assert_str_eq(text, "00ab7fff");
	ck_assert_int_eq(massctl_hex_encode((const uint8_t *)"\x00\xab\x7f\xff", 4, text, 8), -1);
	ck_assert_str_eq(text, "");
	ck_assert_int_eq(massctl_hex_encode(NULL, 0, text, 1), 0);
	ck_assert_str_eq(text, "");
}
END_TEST

START_TEST(params_as_string_or_raw)
{
	uint8_t buf[600];
	char big[300];
	size_t used = 0;

	ck_assert_int_eq(massctl_put_param(buf, sizeof(buf), &used, "bob", err, sizeof(err)), 0);
	ck_assert_int_eq(massctl_put_param(buf, sizeof(buf), &used, "x:0A0b", err, sizeof(err)), 0);
	ck_assert_int_eq(massctl_put_param(buf, sizeof(buf), &used, "x:", err, sizeof(err)), 0);
	ck_assert_int_eq(massctl_put_param(buf, sizeof(buf), &used, "", err, sizeof(err)), 0);
	ck_assert_int_eq(massctl_put_param(buf, sizeof(buf), &used, "X:1", err, sizeof(err)), 0);
	ck_assert_uint_eq(used, 4 + 2 + 0 + 1 + 4);
	ck_assert_mem_eq(buf, "\x03" "bob" "\x0a\x0b" "\x00" "\x03X:1", used);
	ck_assert_int_eq(massctl_put_param(buf, sizeof(buf), &used, "x:zz", err, sizeof(err)), -1);

	memset(big, 'a', 255);
	big[255] = '\0';
	used = 0;
	ck_assert_int_eq(massctl_put_param(buf, sizeof(buf), &used, big, err, sizeof(err)), 0);
	ck_assert_uint_eq(used, 256);
	ck_assert_uint_eq(buf[0], 255);
	big[255] = 'a';
	big[256] = '\0';
	ck_assert_int_eq(massctl_put_param(buf, sizeof(buf), &used, big, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "at most 255"));

	/* No room: the buffer is never overrun. */
	used = 0;
	ck_assert_int_eq(massctl_put_param(buf, 3, &used, "bob", err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_put_param(buf, 1, &used, "x:0102", err, sizeof(err)), -1);
	used = 5;
	ck_assert_int_eq(massctl_put_param(buf, 4, &used, "x:", err, sizeof(err)), -1);
}
END_TEST

START_TEST(options_and_defaults)
{
	struct massctl_opts o;

	ck_assert_int_eq(PARSE(&o, NULL, "users"), 0);
	ck_assert_str_eq(o.host, "127.0.0.1");
	ck_assert_str_eq(o.port, "8080");
	ck_assert_uint_eq(o.timeout, 10);
	ck_assert(!o.json && !o.login);
	ck_assert_str_eq(o.cmd_name, "users");
	ck_assert_ptr_eq(o.cmd, massctl_cmd_lookup(massctl_cmds, massctl_ncmds, "users"));
	ck_assert_int_eq(o.nargs, 0);

	ck_assert_int_eq(PARSE(&o, NULL, "-H", "::1", "-P", "9090", "-j", "-t", "3",
			       "-u", "root:pa:ss", "stats"), 0);
	ck_assert_str_eq(o.host, "::1");
	ck_assert_str_eq(o.port, "9090");
	ck_assert_uint_eq(o.timeout, 3);
	ck_assert(o.json && o.login);
	ck_assert_uint_eq(o.admin_len, 4);
	ck_assert_mem_eq(o.admin, "root", 4);
	ck_assert_str_eq(o.pass, "pa:ss");
	ck_assert_uint_eq(o.pass_len, 5);
	ck_assert_str_eq(o.cmd_name, "stats");

	/* MASS_ADMIN applies unless -u is given. */
	ck_assert_int_eq(PARSE(&o, "env:pw", "users"), 0);
	ck_assert(o.login);
	ck_assert_mem_eq(o.admin, "env", 3);
	ck_assert_int_eq(PARSE(&o, "env:pw", "-u", "cli:x", "users"), 0);
	ck_assert_mem_eq(o.admin, "cli", 3);
	ck_assert_int_eq(PARSE(&o, "", "users"), 0);
	ck_assert(!o.login);

	ck_assert_int_eq(PARSE(&o, NULL, "-h"), 0);
	ck_assert(o.help);
	ck_assert_int_eq(PARSE(&o, NULL, "-v"), 0);
	ck_assert(o.version);
	ck_assert_int_eq(PARSE(&o, NULL, "--help"), 0);
	ck_assert(o.help);
	ck_assert_int_eq(PARSE(&o, NULL, "--version"), 0);
	ck_assert(o.version);
	ck_assert_int_eq(PARSE(&o, NULL, "help"), 0);
	ck_assert_str_eq(o.cmd_name, "help");

	/* -j is seen even after a bad option, so the usage error is JSON too. */
	ck_assert_int_eq(PARSE(&o, NULL, "-P", "0", "-j", "users"), -1);
	ck_assert(o.json);
	ck_assert_ptr_nonnull(strstr(err, "not a port"));
	ck_assert_int_eq(PARSE(&o, NULL, "--bogus", "-j", "-x", "users"), -1);
	ck_assert(o.json);
	ck_assert_str_eq(err, "unknown option --bogus");
	ck_assert_int_eq(PARSE(&o, NULL, "-j", "frobnicate"), -1);
	ck_assert(o.json);
}
END_TEST

START_TEST(usage_errors)
{
	struct massctl_opts o;
	static const struct {
		const char *const args[6];
		const char *env;
		const char *why;
	} bad[] = {
		{ { NULL }, NULL, "no command" },
		{ { "frobnicate" }, NULL, "unknown command" },
		{ { "-x", "users" }, NULL, "unknown option -x" },
		{ { "users", "-P" }, NULL, "usage: massctl [OPTION...] users" },
		{ { "-P" }, NULL, "-P needs an argument" },
		{ { "-P", "0", "users" }, NULL, "not a port" },
		{ { "-P", "65536", "users" }, NULL, "not a port" },
		{ { "-P", "80x", "users" }, NULL, "not a port" },
		{ { "-P", "-1", "users" }, NULL, "not a port" },
		{ { "-t", "0", "users" }, NULL, "seconds" },
		{ { "-t", "ten", "users" }, NULL, "seconds" },
		{ { "-H", "", "users" }, NULL, "empty host" },
		{ { "-u", "nocolon", "users" }, NULL, "ADMIN:PASS" },
		{ { "-u", ":pw", "users" }, NULL, "admin name" },
		{ { "-u", "admin:", "users" }, NULL, "admin name" },
		{ { "users" }, "bad", "MASS_ADMIN" },
		{ { "users" }, "a\tb:pw", "MASS_ADMIN" },
		{ { "add-user", "bob" }, NULL, "add-user NAME PASS" },
		{ { "add-user", "b:ob", "pw" }, NULL, "user name" },
		{ { "add-user", "", "pw" }, NULL, "user name" },
		{ { "add-user", "bob", "" }, NULL, "password" },
		{ { "add-user", "bob", "p\x01w" }, NULL, "password" },
		{ { "del-user" }, NULL, "del-user NAME" },
		{ { "del-user", "a\x7f" }, NULL, "user name" },
		{ { "auth", "yes" }, NULL, "on or off" },
		{ { "dissectors", "ON" }, NULL, "on or off" },
		{ { "auth", "on", "off" }, NULL, "auth on|off" },
		{ { "raw" }, NULL, "raw INDEX" },
		{ { "raw", "0x123" }, NULL, "not an index" },
		{ { "raw", "0e", "x:abc" }, NULL, "PARAM 1" },
		{ { "stats", "now" }, NULL, "stats" },
		{ { "help", "me" }, NULL, "usage: massctl [OPTION...] help" },
		{ { "--help=x" }, NULL, "--help=x: takes no argument" },
		{ { "--help", "-jx", "users" }, NULL, "unknown option -x" },
		{ { "--help", "-xj", "users" }, NULL, "unknown option -x" },
		{ { "-j", "--bogus", "users" }, NULL, "unknown option --bogus" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(&o, bad[i].env, bad[i].args) == -1, "case %zu accepted", i);
		ck_assert_msg(strstr(err, bad[i].why) != NULL, "case %zu: '%s' lacks '%s'",
			      i, err, bad[i].why);
	}
}
END_TEST

START_TEST(request_bytes)
{
	struct massctl_opts o;

	ck_assert_int_eq(PARSE(&o, NULL, "sessions"), 0);
	expect_request(&o, "10");
	ck_assert_int_eq(PARSE(&o, NULL, "kill", "42"), 0);
	expect_request(&o, "11023432");
	ck_assert_int_eq(PARSE(&o, NULL, "kick", "bob"), 0);
	expect_request(&o, "1203626f62");
	ck_assert_int_eq(PARSE(&o, NULL, "user-stats"), 0);
	expect_request(&o, "13");
	ck_assert_int_eq(PARSE(&o, NULL, "info"), 0);
	expect_request(&o, "14");
	ck_assert_int_eq(PARSE(&o, NULL, "users"), 0);
	expect_request(&o, "01");
	ck_assert_int_eq(PARSE(&o, NULL, "add-user", "bob", "secret"), 0);
	expect_request(&o, "0a03626f6206736563726574");
	ck_assert_int_eq(PARSE(&o, NULL, "del-user", "bob"), 0);
	expect_request(&o, "0b03626f62");
	ck_assert_int_eq(PARSE(&o, NULL, "auth", "off"), 0);
	expect_request(&o, "0c01");
	ck_assert_int_eq(PARSE(&o, NULL, "auth", "on"), 0);
	expect_request(&o, "0c00");
	ck_assert_int_eq(PARSE(&o, NULL, "dissectors", "off"), 0);
	expect_request(&o, "0d01");
	ck_assert_int_eq(PARSE(&o, NULL, "dissectors", "on"), 0);
	expect_request(&o, "0d00");
	ck_assert_int_eq(PARSE(&o, NULL, "raw", "0x7F"), 0);
	expect_request(&o, "7f");
	ck_assert_int_eq(PARSE(&o, NULL, "raw", "0e", "hi", "x:ff00", ""), 0);
	expect_request(&o, "0e026869ff0000");

	ck_assert_int_eq(PARSE(&o, NULL, "stats"), 0);
	{
		uint8_t buf[8];
		size_t used;

		ck_assert_int_eq(massctl_cli_request(&o, buf, sizeof(buf), &used, err,
						     sizeof(err)), -1);
	}
}
END_TEST

START_TEST(greeting_and_login)
{
	uint8_t buf[600];
	size_t used = 0;
	char big[257];

	ck_assert_int_eq(massctl_greeting(true, buf, sizeof(buf)), 3);
	ck_assert_mem_eq(buf, "\x01\x01\x02", 3);
	ck_assert_int_eq(massctl_greeting(false, buf, sizeof(buf)), 3);
	ck_assert_mem_eq(buf, "\x01\x01\x00", 3);
	ck_assert_int_eq(massctl_greeting(false, buf, 2), -1);

	ck_assert_int_eq(massctl_greeting_reply(true, (const uint8_t *)"\x01\x02", err, sizeof(err)), 2);
	ck_assert_int_eq(massctl_greeting_reply(false, (const uint8_t *)"\x01\x00", err, sizeof(err)), 0);
	ck_assert_int_eq(massctl_greeting_reply(false, (const uint8_t *)"\x01\xff", err, sizeof(err)), -2);
	ck_assert_ptr_nonnull(strstr(err, "MASS_ADMIN"));
	ck_assert_int_eq(massctl_greeting_reply(true, (const uint8_t *)"\x01\xff", err, sizeof(err)), -2);
	ck_assert_int_eq(massctl_greeting_reply(true, (const uint8_t *)"\x01\x00", err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_greeting_reply(false, (const uint8_t *)"\x01\x02", err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_greeting_reply(true, (const uint8_t *)"\x05\x02", err, sizeof(err)), -1);

	ck_assert_int_eq(massctl_login("admin", 5, "pw", 2, buf, sizeof(buf), &used, err, sizeof(err)), 0);
	ck_assert_uint_eq(used, 10);
	ck_assert_mem_eq(buf, "\x01\x05" "admin" "\x02" "pw", 10);
	ck_assert_int_eq(massctl_login("", 0, "pw", 2, buf, sizeof(buf), &used, err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_login("a", 1, "", 0, buf, sizeof(buf), &used, err, sizeof(err)), -1);
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(massctl_login(big, 256, "pw", 2, buf, sizeof(buf), &used, err, sizeof(err)), -1);
	ck_assert_int_eq(massctl_login("admin", 5, "pw", 2, buf, 8, &used, err, sizeof(err)), -1);

	ck_assert_int_eq(massctl_login_reply((const uint8_t *)"\x01\x00", err, sizeof(err)), 0);
	ck_assert_int_eq(massctl_login_reply((const uint8_t *)"\x01\x01", err, sizeof(err)), -2);
	ck_assert_int_eq(massctl_login_reply((const uint8_t *)"\x05\x00", err, sizeof(err)), -1);
}
END_TEST

typedef int (*decode_fn)(const struct massctl_reply *r, char *e, size_t elen);

static uint8_t dec_ix[256];
static struct massctl_name dec_names[256];
static size_t dec_n;
static uint32_t dec_value;

static int dec_indexes(const struct massctl_reply *r, char *e, size_t elen)
{
	return massctl_decode_indexes(r, dec_ix, &dec_n, e, elen);
}

static int dec_users(const struct massctl_reply *r, char *e, size_t elen)
{
	return massctl_decode_users(r, dec_names, &dec_n, e, elen);
}

static int dec_u32(const struct massctl_reply *r, char *e, size_t elen)
{
	return massctl_decode_u32(r, &dec_value, e, elen);
}

/*
 * Decodes exactly len octets copied to the heap, so ASan sees any over-read.
 * The copy lives until the next call: decoded names point into it.
 */
static int decode_hex(decode_fn fn, const char *hex, size_t cut)
{
	static uint8_t *buf;
	uint8_t tmp[4096];
	long n = massctl_hex_decode(hex, tmp, sizeof(tmp), err, sizeof(err));
	size_t len = cut < (size_t)n ? cut : (size_t)n;
	struct massctl_reply r;

	ck_assert_int_ge(n, 0);
	free(buf);
	buf = malloc(len ? len : 1);
	memcpy(buf, tmp, len);
	if (massctl_reply_split(buf, len, &r, err, sizeof(err)) < 0)
		return -1;
	return fn(&r, err, sizeof(err));
}

/* A well-formed reply decodes; every proper prefix and an extra octet do not. */
static void check_framing(decode_fn fn, const char *hex)
{
	size_t len = strlen(hex) / 2;
	char *longer = malloc(strlen(hex) + 3);

	ck_assert_int_eq(decode_hex(fn, hex, len), 0);
	for (size_t cut = 0; cut < len; cut++)
		ck_assert_msg(decode_hex(fn, hex, cut) == -1, "%s cut at %zu accepted", hex, cut);
	strcpy(longer, hex);
	strcat(longer, "00");
	ck_assert_int_eq(decode_hex(fn, longer, len + 1), -1);
	ck_assert_ptr_nonnull(strstr(err, "after its last field"));
	free(longer);
}

static struct massctl_session dec_sessions_out[MASSCTL_SESSIONS_MAX];
static struct massctl_user_stat dec_stats_out[MASSCTL_USER_STATS_MAX];
static struct massctl_info dec_info_out;
static uint32_t dec_total;

static int dec_sessions(const struct massctl_reply *r, char *e, size_t elen)
{
	return massctl_decode_sessions(r, dec_sessions_out, &dec_n, &dec_total, e, elen);
}

static int dec_user_stats(const struct massctl_reply *r, char *e, size_t elen)
{
	return massctl_decode_user_stats(r, dec_stats_out, &dec_n, e, elen);
}

static int dec_info(const struct massctl_reply *r, char *e, size_t elen)
{
	return massctl_decode_info(r, &dec_info_out, e, elen);
}

/* 10, 13, 14 of the bundled ABI 1.1 plugins: exact framing, and the fields. */
START_TEST(decode_plugin_replies)
{
	const char *sess = "00" "00000001" "00000001" "0000000000000007" "04" "01"
			   "05616c696365" "093132372e302e302e31" "9c40"
			   "0b6578616d706c652e6f7267" "01bb" "0000000000000205"
			   "0000000000001000" "00000000000005f0";
	const char *stats = "00" "00000001" "05616c696365" "0000000000000003"
			    "0000000000000205" "0000000000001000";
	const char *info = "00" "05302e312e30" "000000006b0ead9d" "000000000000003c" "01"
			   "14" "04696e666f" "05312e302e30" "0475736167";

	check_framing(dec_sessions, sess);
	ck_assert_int_eq(decode_hex(dec_sessions, sess, 999), 0);
	ck_assert_uint_eq(dec_n, 1);
	ck_assert_uint_eq(dec_total, 1);
	ck_assert_uint_eq(dec_sessions_out[0].id, 7);
	ck_assert_uint_eq(dec_sessions_out[0].dest_port, 443);
	ck_assert_uint_eq(dec_sessions_out[0].age_ms, 1520);
	ck_assert_int_eq(decode_hex(dec_sessions, "00" "00000000" "00000001", 999), -1);
	check_framing(dec_sessions, "00" "00000000" "00000000");
	check_framing(dec_user_stats, stats);
	ck_assert_int_eq(decode_hex(dec_user_stats, stats, 999), 0);
	ck_assert_uint_eq(dec_stats_out[0].connections, 3);
	ck_assert_uint_eq(dec_stats_out[0].to_client, 4096);
	check_framing(dec_info, info);
	ck_assert_int_eq(decode_hex(dec_info, info, 999), 0);
	ck_assert_uint_eq(dec_info_out.uptime, 60);
	ck_assert_uint_eq(dec_info_out.n, 1);
	ck_assert_uint_eq(dec_info_out.ix[0].index, 0x14);
	ck_assert_uint_eq(dec_info_out.ix[0].usage.len, 4);
	ck_assert_int_eq(decode_hex(dec_info, "02", 99), 0);   /* a status alone */
}
END_TEST

START_TEST(decode_indexes_reply)
{
	check_framing(dec_indexes, "000e000102030405060708090a0b0c0d");
	ck_assert_int_eq(decode_hex(dec_indexes, "000e000102030405060708090a0b0c0d", 99), 0);
	ck_assert_uint_eq(dec_n, 14);
	ck_assert_uint_eq(dec_ix[13], 0x0d);
	check_framing(dec_indexes, "0000");
	ck_assert_int_eq(decode_hex(dec_indexes, "00020100", 99), -1);
	ck_assert_ptr_nonnull(strstr(err, "ascending"));
	ck_assert_int_eq(decode_hex(dec_indexes, "00020101", 99), -1);
	/* A failure status stands alone. */
	ck_assert_int_eq(decode_hex(dec_indexes, "02", 99), 0);
	ck_assert_int_eq(decode_hex(dec_indexes, "0200", 99), -1);
	ck_assert_ptr_nonnull(strstr(err, "status 02"));
	ck_assert_int_eq(decode_hex(dec_indexes, "", 99), -1);
	ck_assert_ptr_nonnull(strstr(err, "without a reply"));
}
END_TEST

START_TEST(decode_users_reply)
{
	char hex[2 + 2 + 255 * 2 * 256 + 1];
	size_t pos;

	check_framing(dec_users, "000205616c69636503626f62");
	ck_assert_int_eq(decode_hex(dec_users, "000205616c69636503626f62", 99), 0);
	ck_assert_uint_eq(dec_n, 2);
	ck_assert_uint_eq(dec_names[0].len, 5);
	ck_assert_mem_eq(dec_names[0].name, "alice", 5);
	ck_assert_mem_eq(dec_names[1].name, "bob", 3);
	check_framing(dec_users, "0000");
	ck_assert_uint_eq(dec_n, 0);
	/* Names that break the rules are refused rather than printed. */
	ck_assert_int_eq(decode_hex(dec_users, "000100", 99), -1);
	ck_assert_int_eq(decode_hex(dec_users, "0001021b5b", 99), -1);
	ck_assert_int_eq(decode_hex(dec_users, "000103613a62", 99), -1);
	ck_assert_int_eq(decode_hex(dec_users, "01", 99), 0);
	ck_assert_int_eq(decode_hex(dec_users, "0300", 99), -1);

	/* The largest reply: 255 users of 255 octets. */
	strcpy(hex, "00ff");
	pos = 4;
	for (int i = 0; i < 255; i++) {
		memcpy(hex + pos, "ff", 2);
		pos += 2;
		for (int j = 0; j < 255; j++, pos += 2)
			memcpy(hex + pos, "7a", 2);
	}
	hex[pos] = '\0';
	{
		size_t len = pos / 2;
		uint8_t *buf = malloc(len);
		struct massctl_reply r;

		ck_assert_int_eq(massctl_hex_decode(hex, buf, len, err, sizeof(err)), (long)len);
		ck_assert_int_eq(massctl_reply_split(buf, len, &r, err, sizeof(err)), 0);
		ck_assert_int_eq(dec_users(&r, err, sizeof(err)), 0);
		ck_assert_uint_eq(dec_n, 255);
		r.len--;
		ck_assert_int_eq(dec_users(&r, err, sizeof(err)), -1);
		free(buf);
	}
}
END_TEST

START_TEST(decode_counter_reply)
{
	check_framing(dec_u32, "0000000102");
	ck_assert_int_eq(decode_hex(dec_u32, "0000000102", 99), 0);
	ck_assert_uint_eq(dec_value, 258);
	ck_assert_int_eq(decode_hex(dec_u32, "00ffffffff", 99), 0);
	ck_assert_uint_eq(dec_value, 4294967295u);
	ck_assert_int_eq(decode_hex(dec_u32, "02", 99), 0);
	ck_assert_int_eq(decode_hex(dec_u32, "0100000000", 99), -1);
}
END_TEST

START_TEST(decode_empty_reply)
{
	check_framing(massctl_decode_empty, "00");
	ck_assert_int_eq(decode_hex(massctl_decode_empty, "01", 99), 0);
	ck_assert_int_eq(decode_hex(massctl_decode_empty, "03", 99), 0);
	ck_assert_int_eq(decode_hex(massctl_decode_empty, "0301", 99), -1);
}
END_TEST

START_TEST(json_escaping)
{
	char out[64];

	ck_assert_uint_eq(massctl_json_string("bob", 3, out, sizeof(out)), 5);
	ck_assert_str_eq(out, "\"bob\"");
	massctl_json_string("a\"b\\c", 5, out, sizeof(out));
	ck_assert_str_eq(out, "\"a\\\"b\\\\c\"");
	massctl_json_string("\n\x01\x7f\xff/", 5, out, sizeof(out));
	ck_assert_str_eq(out, "\"\\u000a\\u0001\\u007f\\u00ff/\"");
	ck_assert_uint_eq(massctl_json_string("a\0b", 3, out, sizeof(out)), 10);
	ck_assert_str_eq(out, "\"a\\u0000b\"");
	ck_assert_uint_eq(massctl_json_string("", 0, out, sizeof(out)), 2);
	ck_assert_str_eq(out, "\"\"");
	/* Truncation reports the full length and still terminates. */
	ck_assert_uint_eq(massctl_json_string("abcdef", 6, out, 4), 8);
	ck_assert_str_eq(out, "\"ab");
	ck_assert_uint_eq(massctl_json_string("abc", 3, NULL, 0), 5);
}
END_TEST

START_TEST(status_exit_codes_and_names)
{
	ck_assert_int_eq(massctl_exit_for_status(0x00), 0);
	ck_assert_int_eq(massctl_exit_for_status(0x01), 1);
	ck_assert_int_eq(massctl_exit_for_status(0x02), 2);
	ck_assert_int_eq(massctl_exit_for_status(0x03), 3);
	ck_assert_int_eq(massctl_exit_for_status(0x04), 4);
	ck_assert_int_eq(massctl_exit_for_status(0xff), 4);
	ck_assert_str_eq(massctl_counter_name(0x02), "historic_connections");
	ck_assert_str_eq(massctl_counter_name(0x09), "avg_bytes_per_write");
	ck_assert_ptr_null(massctl_counter_name(0x01));
	ck_assert_ptr_null(massctl_counter_name(0x0a));
}
END_TEST

static uint64_t dec_vals[MASSCTL_NCOUNTERS];

static int dec_u64(const struct massctl_reply *r, char *e, size_t elen)
{
	return massctl_decode_counters64(r, dec_vals, e, elen);
}

/* "00 COUNT" then count u64 values: i-th is base + i. */
static char *counters64_hex(unsigned count, uint64_t base)
{
	char *hex = malloc(4 + 16 * count + 1);

	sprintf(hex, "00%02x", count);
	for (unsigned i = 0; i < count; i++)
		sprintf(hex + 4 + 16 * i, "%016llx", (unsigned long long)(base + i));
	return hex;
}

START_TEST(decode_counters64_reply)
{
	char *hex = counters64_hex(8, 0xfffffffeull);

	/* Values above 2^32 come through whole; every truncation is refused. */
	check_framing(dec_u64, hex);
	ck_assert_int_eq(decode_hex(dec_u64, hex, 999), 0);
	ck_assert_uint_eq(dec_vals[0], 0xfffffffeull);
	ck_assert_uint_eq(dec_vals[2], 0x100000000ull);
	ck_assert_uint_eq(dec_vals[7], 0x100000005ull);
	free(hex);
	hex = counters64_hex(8, 0xfffffffffffffff0ull);
	ck_assert_int_eq(decode_hex(dec_u64, hex, 999), 0);
	ck_assert_uint_eq(dec_vals[7], 0xfffffffffffffff7ull);
	free(hex);

	/* A later server's extra counters are ignored, but must be whole. */
	hex = counters64_hex(11, 1);
	check_framing(dec_u64, hex);
	ck_assert_int_eq(decode_hex(dec_u64, hex, 999), 0);
	ck_assert_uint_eq(dec_vals[0], 1);
	ck_assert_uint_eq(dec_vals[7], 8);
	free(hex);
	hex = counters64_hex(255, 0);
	check_framing(dec_u64, hex);
	free(hex);

	/* Fewer than eight is malformed, even when well framed. */
	for (unsigned count = 0; count < MASSCTL_NCOUNTERS; count++) {
		hex = counters64_hex(count, 5);
		ck_assert_int_eq(decode_hex(dec_u64, hex, 999), -1);
		ck_assert_ptr_nonnull(strstr(err, "fewer than 8"));
		free(hex);
	}
	ck_assert_int_eq(decode_hex(dec_u64, "0008", 999), -1);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	ck_assert_int_eq(decode_hex(dec_u64, "00", 999), -1);
	ck_assert_int_eq(decode_hex(dec_u64, "02", 999), 0);
	ck_assert_int_eq(decode_hex(dec_u64, "0208", 999), -1);
}
END_TEST

/* Every row is complete and consistent: what a new row must satisfy. */
START_TEST(command_table_rows)
{
	for (size_t i = 0; i < massctl_ncmds; i++) {
		const struct massctl_cmd *c = &massctl_cmds[i];

		ck_assert_ptr_nonnull(c->names[0]);
		ck_assert_ptr_nonnull(c->args);
		ck_assert_ptr_nonnull(c->help);
		ck_assert_msg(c->build || c->run || c->index != MASSCTL_NO_INDEX,
			      "%s: no request and no run", c->names[0]);
		ck_assert_msg(c->index >= MASSCTL_NO_INDEX && c->index <= 0xff, "%s", c->names[0]);
		if (!c->build && !c->run) {
			ck_assert_ptr_nonnull(c->params);
			ck_assert_int_eq(c->min_args, (int)strlen(c->params));
			ck_assert_int_eq(c->max_args, (int)strlen(c->params));
			ck_assert_uint_eq(strspn(c->params, "npos"), strlen(c->params));
		}
		for (int j = 0; j < MASSCTL_CMD_NAMES && c->names[j]; j++)
			ck_assert_ptr_eq(massctl_cmd_lookup(massctl_cmds, massctl_ncmds,
							    c->names[j]), c);
	}
	ck_assert_ptr_null(massctl_cmd_lookup(massctl_cmds, massctl_ncmds, "frobnicate"));
	ck_assert_ptr_null(massctl_cmd_lookup(massctl_cmds, massctl_ncmds, ""));
}
END_TEST

START_TEST(aliases_are_looked_up)
{
	static const struct massctl_cmd table[] = {
		{ .names = { "one", "1" }, .args = "", .help = "x", .index = 1, .params = "" },
		{ .names = { "two", "2", "deux" }, .args = "", .help = "x", .index = 2,
		  .params = "" },
	};

	ck_assert_ptr_eq(massctl_cmd_lookup(table, 2, "1"), &table[0]);
	ck_assert_ptr_eq(massctl_cmd_lookup(table, 2, "deux"), &table[1]);
	ck_assert_ptr_eq(massctl_cmd_lookup(table, 2, "two"), &table[1]);
	ck_assert_ptr_null(massctl_cmd_lookup(table, 2, "three"));
}
END_TEST

/* Output written to a memory stream; the text stays valid until the next call. */
static char *mem_text;
static size_t mem_len;

static FILE *mem_open(void)
{
	free(mem_text);
	mem_text = NULL;
	return open_memstream(&mem_text, &mem_len);
}

START_TEST(help_is_generated_from_the_rows)
{
	FILE *out = mem_open();

	massctl_cli_usage(out);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(mem_text, "usage: massctl"));
	ck_assert_ptr_nonnull(strstr(mem_text, "\n  add-user NAME PASS      add a SOCKS user (0A)\n"));
	ck_assert_ptr_nonnull(strstr(mem_text, "\n  raw INDEX [PARAM...]    send any index; "));
	ck_assert_ptr_nonnull(strstr(mem_text, "\n                          or x:HEX"));
	ck_assert_ptr_nonnull(strstr(mem_text, "--help"));
	for (size_t i = 0; i < massctl_ncmds; i++) {
		char line[64];

		snprintf(line, sizeof(line), "\n  %s", massctl_cmds[i].names[0]);
		ck_assert_msg(strstr(mem_text, line) != NULL, "%s missing from the help",
			      massctl_cmds[i].names[0]);
	}
}
END_TEST

START_TEST(json_error_object)
{
	struct massctl_fail f = { .code = 64 };
	FILE *out;

	snprintf(f.msg, sizeof(f.msg), "no \"command\" given\n");
	out = mem_open();
	massctl_json_fail(out, NULL, &f);
	fclose(out);
	ck_assert_str_eq(mem_text, "{\"error\":\"no \\\"command\\\" given\\u000a\",\"exit\":64}\n");

	out = mem_open();
	f.code = 1;
	f.has_status = true;
	f.status = 1;
	snprintf(f.msg, sizeof(f.msg), "user exists");
	massctl_json_fail(out, "add-user", &f);
	fclose(out);
	ck_assert_str_eq(mem_text, "{\"command\":\"add-user\",\"error\":\"user exists\","
			 "\"exit\":1,\"status\":\"01\"}\n");
}
END_TEST

/*
 * A scripted exchange for running commands without a network: each step
 * expects one request (hex) and answers with a reply (hex), or fails the
 * exchange with exit 69 when the reply is NULL.
 */
struct fake_step {
	const char *req, *rep;
};

/* What a command wrote on io->note (notes) in the last run_fake. */
static char *note_text;
static size_t note_len;

struct fake_io {
	const struct fake_step *steps;
	size_t n, at;
};

static long fake_exchange(void *ctx, const uint8_t *req, size_t len, uint8_t *rep, size_t cap,
			  struct massctl_fail *f)
{
	struct fake_io *fi = ctx;
	uint8_t want[64];
	long n;

	ck_assert_msg(fi->at < fi->n, "unexpected request %02x", req[0]);
	n = massctl_hex_decode(fi->steps[fi->at].req, want, sizeof(want), err, sizeof(err));
	ck_assert_uint_eq(len, (size_t)n);
	ck_assert_mem_eq(req, want, len);
	if (!fi->steps[fi->at].rep) {
		fi->at++;
		return massctl_fail_set(f, MASSCTL_EXIT_UNAVAILABLE, "connect: refused");
	}
	n = massctl_hex_decode(fi->steps[fi->at++].rep, rep, cap, err, sizeof(err));
	ck_assert_int_ge(n, 0);
	return n;
}

/* Runs args against steps; returns the exit status, output in mem_text. */
static int run_fake(const struct fake_step *steps, size_t n, const char *const *args,
		    struct massctl_fail *f)
{
	struct fake_io fi = { steps, n, 0 };
	struct massctl_opts o;
	struct massctl_io io = { .exchange = fake_exchange, .ctx = &fi };
	int r;

	ck_assert_int_eq(parse(&o, NULL, args), 0);
	io.out = mem_open();
	free(note_text);
	note_text = NULL;
	io.note = open_memstream(&note_text, &note_len);
	memset(f, 0, sizeof(*f));
	r = massctl_cmd_run(&o, &io, f);
	fclose(io.out);
	fclose(io.note);
	ck_assert_uint_eq(fi.at, fi.n);
	return r < 0 ? f->code : 0;
}

#define RUN(steps, f, ...) run_fake((steps), sizeof(steps) / sizeof((steps)[0]), \
				    (const char *const[]){ __VA_ARGS__, NULL }, (f))

#define IX_NO_0F "000e000102030405060708090a0b0c0d"
#define IX_0F "000f000102030405060708090a0b0c0d0f"
#define C32(v) "00" v

START_TEST(stats_uses_0f_when_served)
{
	struct massctl_fail f;
	char *snap = counters64_hex(9, 0x1fffffffeull);
	const struct fake_step steps[] = { { "00", IX_0F }, { "0f", snap } };
	const struct fake_step json_steps[] = { { "00", IX_0F }, { "0f", snap } };

	ck_assert_int_eq(RUN(steps, &f, "stats"), 0);
	ck_assert_str_eq(mem_text,
			 "historic_connections 8589934590\n"
			 "concurrent_connections 8589934591\n"
			 "max_concurrent_connections 8589934592\n"
			 "bytes_transferred 8589934593\n"
			 "auth_attempts 8589934594\n"
			 "connection_attempts 8589934595\n"
			 "avg_bytes_per_read 8589934596\n"
			 "avg_bytes_per_write 8589934597\n");
	ck_assert_int_eq(RUN(json_steps, &f, "-j", "stats"), 0);
	ck_assert_ptr_nonnull(strstr(mem_text, "{\"historic_connections\":8589934590,"));
	ck_assert_ptr_nonnull(strstr(mem_text, ",\"avg_bytes_per_write\":8589934597}\n"));
	free(snap);
}
END_TEST

START_TEST(stats_falls_back_to_02_09)
{
	struct massctl_fail f;
	const struct fake_step steps[] = {
		{ "00", IX_NO_0F }, { "02", C32("00000102") }, { "03", C32("00000003") },
		{ "04", C32("00000007") }, { "05", C32("ffffffff") }, { "06", C32("00000000") },
		{ "07", C32("0000000c") }, { "08", "02" }, { "09", C32("00000200") },
	};
	/* 0F listed but answering 02 (disabled meanwhile): the same fallback. */
	const struct fake_step gone[] = {
		{ "00", IX_0F }, { "0f", "02" }, { "02", C32("00000001") },
		{ "03", C32("00000002") }, { "04", C32("00000003") }, { "05", C32("00000004") },
		{ "06", C32("00000005") }, { "07", C32("00000006") }, { "08", C32("00000007") },
		{ "09", C32("00000008") },
	};

	ck_assert_int_eq(RUN(steps, &f, "stats"), 2);
	ck_assert(f.shown);
	ck_assert_str_eq(mem_text,
			 "historic_connections 258\nconcurrent_connections 3\n"
			 "max_concurrent_connections 7\nbytes_transferred 4294967295\n"
			 "auth_attempts 0\nconnection_attempts 12\navg_bytes_per_write 512\n");
	ck_assert_int_eq(RUN(steps, &f, "-j", "stats"), 2);
	ck_assert_ptr_nonnull(strstr(mem_text, "\"avg_bytes_per_read\":null,"));
	ck_assert_int_eq(RUN(gone, &f, "stats"), 0);
	ck_assert_ptr_nonnull(strstr(mem_text, "avg_bytes_per_write 8\n"));
}
END_TEST

START_TEST(stats_failures_print_nothing)
{
	struct massctl_fail f;
	const struct fake_step few[] = { { "00", IX_0F }, { "0f", "0007" } };
	const struct fake_step err01[] = { { "00", IX_0F }, { "0f", "01" } };
	const struct fake_step bad00[] = { { "00", "000201" } };
	const struct fake_step down[] = { { "00", IX_0F }, { "0f", NULL } };
	const struct fake_step short32[] = { { "00", IX_NO_0F }, { "02", "000001" } };

	ck_assert_int_eq(RUN(few, &f, "stats"), MASSCTL_EXIT_PROTOCOL);
	ck_assert_str_eq(mem_text, "");
	ck_assert_ptr_nonnull(strstr(f.msg, "fewer than 8"));
	ck_assert_int_eq(RUN(err01, &f, "-j", "stats"), MASSCTL_EXIT_SERVER_ERROR);
	ck_assert_str_eq(mem_text, "");
	ck_assert(f.has_status && f.status == 1 && !f.shown);
	ck_assert_int_eq(RUN(bad00, &f, "stats"), MASSCTL_EXIT_PROTOCOL);
	ck_assert_int_eq(RUN(down, &f, "stats"), MASSCTL_EXIT_UNAVAILABLE);
	ck_assert_str_eq(mem_text, "");
	ck_assert_int_eq(RUN(short32, &f, "stats"), MASSCTL_EXIT_PROTOCOL);
}
END_TEST

START_TEST(single_request_commands_run_through_io)
{
	struct massctl_fail f;
	const struct fake_step add[] = { { "0a03626f620170", "01" } };
	const struct fake_step users[] = { { "01", "000205616c69636503626f62" } };
	const struct fake_step raw[] = { { "7f", "02" } };

	ck_assert_int_eq(RUN(add, &f, "add-user", "bob", "p"), 1);
	ck_assert_str_eq(f.msg, "user exists or cannot be added (status 01)");
	ck_assert(f.has_status && !f.shown);
	ck_assert_str_eq(mem_text, "");
	ck_assert_int_eq(RUN(users, &f, "-j", "users"), 0);
	ck_assert_str_eq(mem_text, "{\"users\":[\"alice\",\"bob\"]}\n");
	ck_assert_int_eq(RUN(raw, &f, "-j", "raw", "7f"), 2);
	ck_assert(f.shown);
	ck_assert_str_eq(mem_text, "{\"index\":\"7f\",\"status\":\"02\",\"data\":\"\"}\n");
	{
		const struct fake_step none[] = { { "00", "00" } };

		/* help touches no server: zero steps expected. */
		ck_assert_int_eq(run_fake(none, 0, (const char *const[]){ "help", NULL }, &f), 0);
		ck_assert_ptr_nonnull(strstr(mem_text, "usage: massctl"));
	}
}
END_TEST


/* One row of a constructed info reply. */
struct irow {
	uint8_t ix;
	const char *plugin, *sig, *layout;
};

/*
 * A 14 reply (hex, status 00) with rows; rows12 false: the four-field rows
 * of servers before ABI 1.2. Returns a static buffer.
 */
static const char *info_hex(const struct irow *rows, size_t n, bool rows12)
{
	static char hex[2 * 8192 + 1];
	uint8_t b[8192];
	size_t at = 0;

#define PUT_STR(s) do { b[at++] = (uint8_t)strlen(s); memcpy(b + at, (s), strlen(s)); \
			at += strlen(s); } while (0)
	b[at++] = 0x00;
	PUT_STR("1.2.0");
	memset(b + at, 0, 16);
	b[at + 7] = 100;    /* start time */
	b[at + 15] = 60;    /* uptime */
	at += 16;
	b[at++] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		b[at++] = rows[i].ix;
		PUT_STR(rows[i].plugin);
		PUT_STR("1.0.0");
		PUT_STR("use");
		if (rows12) {
			PUT_STR(rows[i].sig);
			PUT_STR(rows[i].layout);
		}
	}
#undef PUT_STR
	ck_assert_int_eq(massctl_hex_encode(b, at, hex, sizeof(hex)), 0);
	return hex;
}

static const struct irow bundled_rows[] = {
	{ 0x00, "core", "", "indexes:[index:u8]" },
	{ 0x0e, "uptime", "", "seconds:u64,name:str" },
	{ 0x10, "sessions", "", "" },
	{ 0x14, "info", "", MASSCTL_INFO_LAYOUT },
};

/* The 1.2 info row (signature, layout) and the 1.1 one both decode. */
START_TEST(decode_info_both_row_forms)
{
	struct massctl_info *in = &dec_info_out;
	const struct massctl_index_usage *u;
	char hex12[2 * 8192 + 1];

	strcpy(hex12, info_hex(bundled_rows, 4, true));
	check_framing(dec_info, hex12);
	ck_assert_int_eq(decode_hex(dec_info, hex12, 9999), 0);
	ck_assert(in->rows12);
	ck_assert_uint_eq(in->n, 4);
	ck_assert_uint_eq(in->start_time, 100);
	u = massctl_info_row(in, 0x0e);
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq((int)u->layout.len, (int)strlen("seconds:u64,name:str"));
	ck_assert(massctl_info_serves(in, 0x14, "info"));
	ck_assert(!massctl_info_serves(in, 0x14, "inf"));
	ck_assert(!massctl_info_serves(in, 0x15, "info"));
	check_framing(dec_info, info_hex(bundled_rows, 4, false));
	ck_assert_int_eq(decode_hex(dec_info, info_hex(bundled_rows, 4, false), 9999), 0);
	ck_assert(!in->rows12);
	ck_assert_uint_eq(massctl_info_row(in, 0x10)->signature.len, 0);
	/* neither: both reasons, one line */
	ck_assert_int_eq(decode_hex(dec_info, "0002ff", 99), -1);
	ck_assert_ptr_nonnull(strstr(err, "reply truncated: version (str) needs 3 octets, 2 left"));
	ck_assert_ptr_nonnull(strstr(err, "before ABI 1.2"));
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

/* A third-party plugin on 14 (any reply that is no info reply): the plain list, a note. */
START_TEST(third_party_on_14_degrades)
{
	struct massctl_fail f;
	char other[2 * 8192 + 1];
	const struct irow not_info[] = { { 0x14, "mine", "", "" } };
	const struct fake_step idx[] = { { "00", "0003000114" }, { "14", "00deadbeef" } };
	const struct fake_step info[] = { { "14", "00ab" }, { "00", "0003000114" } };
	const struct fake_step gone[] = { { "00", "0003000114" }, { "14", "02" } };
	const struct fake_step notserved[] = { { "14", "02" } };

	ck_assert_int_eq(RUN(idx, &f, "indexes"), 0);
	ck_assert_str_eq(mem_text, "00\n01\n14\n");
	ck_assert_ptr_nonnull(strstr(note_text, "massctl: indexes: note: index 14 is not the "
				     "info plugin"));
	ck_assert_ptr_null(strstr(f.msg, "truncated"));
	ck_assert_int_eq(RUN(idx, &f, "-j", "indexes"), 0);
	ck_assert_str_eq(mem_text, "{\"indexes\":[\"00\",\"01\",\"14\"]}\n");
	ck_assert_int_eq(RUN(info, &f, "info"), 0);
	ck_assert_str_eq(mem_text, "00\n01\n14\n");
	ck_assert_ptr_nonnull(strstr(note_text, "massctl: info: note: index 14 is not the info "
				     "plugin"));
	/* a well-formed info reply whose own row names another plugin */
	strcpy(other, info_hex(not_info, 1, true));
	{
		const struct fake_step named[] = { { "00", "0003000114" }, { "14", other } };

		ck_assert_int_eq(RUN(named, &f, "indexes"), 0);
		ck_assert_str_eq(mem_text, "00\n01\n14\n");
		ck_assert_ptr_nonnull(strstr(note_text, "does not name plugin info"));
	}
	ck_assert_int_eq(RUN(gone, &f, "indexes"), 0);
	ck_assert_str_eq(mem_text, "00\n01\n14\n");
	ck_assert_str_eq(note_text, "");
	ck_assert_int_eq(RUN(notserved, &f, "info"), MASSCTL_EXIT_UNSUPPORTED);
}
END_TEST

/* The real info plugin on 14: each index with its row; -j with signature and layout. */
START_TEST(indexes_and_info_by_info)
{
	struct massctl_fail f;
	char hex12[2 * 8192 + 1];

	strcpy(hex12, info_hex(bundled_rows, 4, true));
	{
		const struct fake_step idx[] = { { "00", "000400" "0e" "10" "14" }, { "14", hex12 } };
		const struct fake_step info[] = { { "14", hex12 } };

		ck_assert_int_eq(RUN(idx, &f, "indexes"), 0);
		ck_assert_str_eq(mem_text, "00  core 1.0.0  use\n0e  uptime 1.0.0  use\n"
				 "10  sessions 1.0.0  use\n14  info 1.0.0  use\n");
		ck_assert_int_eq(RUN(info, &f, "-j", "info"), 0);
		ck_assert_ptr_nonnull(strstr(mem_text, "{\"version\":\"1.2.0\",\"start_time\":100,"
					     "\"uptime\":60,\"indexes\":{\"00\":{\"plugin\":\"core\","));
		ck_assert_ptr_nonnull(strstr(mem_text, "\"0e\":{\"plugin\":\"uptime\",\"version\":"
					     "\"1.0.0\",\"usage\":\"use\",\"signature\":\"\","
					     "\"layout\":\"seconds:u64,name:str\"}"));
	}
}
END_TEST

/* sessions, kill, kick, user-stats go where info says plugin sessions is. */
START_TEST(bundled_commands_found_by_info)
{
	struct massctl_fail f;
	char hex12[2 * 8192 + 1], moved[2 * 8192 + 1];
	const struct irow other10[] = { { 0x10, "mine", "", "" }, { 0x14, "info", "", "" } };

	strcpy(hex12, info_hex(bundled_rows, 4, true));
	strcpy(moved, info_hex(other10, 2, true));
	{
		const struct fake_step ok[] = { { "14", hex12 }, { "10", "00" "00000000" "00000000" } };
		const struct fake_step noinfo[] = { { "14", "02" },
						    { "10", "00" "00000000" "00000000" } };
		const struct fake_step notinfo[] = { { "14", "00ff" },
						     { "10", "00" "00000000" "00000000" } };
		const struct fake_step taken[] = { { "14", moved } };
		const struct fake_step absent[] = { { "14", hex12 } };

		ck_assert_int_eq(RUN(ok, &f, "-V", "sessions"), 0);
		ck_assert_ptr_nonnull(strstr(note_text, "index 10 found by info: plugin sessions"));
		ck_assert_int_eq(RUN(ok, &f, "sessions"), 0);
		ck_assert_str_eq(note_text, "");
		/* without info: the documented number, said with -j or -V only */
		ck_assert_int_eq(RUN(noinfo, &f, "sessions"), 0);
		ck_assert_str_eq(note_text, "");
		ck_assert_int_eq(RUN(noinfo, &f, "-j", "sessions"), 0);
		ck_assert_str_eq(mem_text, "{\"total\":0,\"sessions\":[]}\n");
		ck_assert_ptr_nonnull(strstr(note_text, "info (14) not served (status 02): using "
					     "the documented index 10 of plugin sessions"));
		ck_assert_int_eq(RUN(notinfo, &f, "-V", "sessions"), 0);
		ck_assert_ptr_nonnull(strstr(note_text, "index 14 is not the info plugin"));
		/* info says 10 is another plugin's: nothing is sent to it */
		ck_assert_int_eq(RUN(taken, &f, "sessions"), MASSCTL_EXIT_UNSUPPORTED);
		ck_assert_str_eq(f.msg, "index 10 is served by another plugin than sessions (info)");
		ck_assert_int_eq(RUN(absent, &f, "kill", "7"), MASSCTL_EXIT_UNSUPPORTED);
		ck_assert_str_eq(f.msg, "index 11 of plugin sessions is not served (info)");
		ck_assert_int_eq(RUN(absent, &f, "-j", "user-stats"), MASSCTL_EXIT_UNSUPPORTED);
	}
}
END_TEST

/* classes, user-limits, set-class, reset-usage go where info says plugin
 * limits is; their replies print by the limits plugin's layouts. */
START_TEST(limits_commands_by_info)
{
	struct massctl_fail f;
	char hex12[2 * 8192 + 1], moved[2 * 8192 + 1];
	const struct irow rows[] = {
		{ 0x14, "info", "", "" }, { 0x16, "limits", "", "" }, { 0x17, "limits", "s", "" },
		{ 0x18, "limits", "ss", "" }, { 0x19, "limits", "s", "" },
	};
	const struct irow other[] = { { 0x14, "info", "", "" }, { 0x17, "mine", "s", "" } };
	const struct irow pg18[] = { { 0x14, "info", "", "" }, { 0x18, "pgsql", "ss", "" } };
	char hexpg[2 * 8192 + 1];
	/* two classes: default "unlimited", basic "max_sessions=3" */
	const char *classes = "00" "02" "0764656661756c74" "09756e6c696d69746564"
			      "056261736963" "0e6d61785f73657373696f6e733d33";
	/* basic, period 86400, used 1024, quota 4096, up 1, down 2, 3 sessions,
	 * delayed 5, refused 6 */
	const char *limits = "00" "056261736963" "0000000000015180" "0000000000000400"
			     "0000000000001000" "0000000000000001" "0000000000000002" "00000003"
			     "0000000000000005" "0000000000000006";

	strcpy(hex12, info_hex(rows, 5, true));
	strcpy(moved, info_hex(other, 2, true));
	strcpy(hexpg, info_hex(pg18, 2, true));
	{
		const struct fake_step cl[] = { { "14", hex12 }, { "16", classes } };
		const struct fake_step ul[] = { { "14", hex12 }, { "1703626f62", limits } };
		const struct fake_step ul01[] = { { "14", hex12 }, { "1703626f62", "01" } };
		const struct fake_step ulcut[] = { { "14", hex12 }, { "1703626f62", "0005" } };
		const struct fake_step sc[] = { { "14", hex12 }, { "1803626f6205626173696b", "00" } };
		const struct fake_step sc01[] = { { "14", hex12 }, { "1803626f6202786b", "01" } };
		const struct fake_step rs[] = { { "14", hex12 }, { "1903626f62", "00" } };
		const struct fake_step taken[] = { { "14", moved } };
		/* 18 given to pgsql (its users' class kept in the table) */
		const struct fake_step scpg[] = { { "14", hexpg }, { "1803626f6205626173696b", "00" } };

		ck_assert_int_eq(RUN(scpg, &f, "set-class", "bob", "basik"), 0);
		ck_assert_int_eq(RUN(cl, &f, "classes"), 0);
		ck_assert_str_eq(mem_text, "CLASS\tLIMITS\ndefault\tunlimited\nbasic\tmax_sessions=3\n");
		ck_assert_int_eq(RUN(cl, &f, "-j", "classes"), 0);
		ck_assert_str_eq(mem_text, "{\"classes\":[{\"name\":\"default\",\"limits\":"
				 "\"unlimited\"},{\"name\":\"basic\",\"limits\":\"max_sessions=3\"}]}\n");
		ck_assert_int_eq(RUN(ul, &f, "user-limits", "bob"), 0);
		ck_assert_str_eq(mem_text, "class basic\nperiod_start 86400\nused 1024\nquota 4096\n"
				 "rate_up 1\nrate_down 2\nsessions 3\ndelayed 5\nrefused 6\n");
		ck_assert_int_eq(RUN(ul, &f, "-j", "user-limits", "bob"), 0);
		ck_assert_str_eq(mem_text, "{\"class\":\"basic\",\"period_start\":86400,\"used\":1024,"
				 "\"quota\":4096,\"rate_up\":1,\"rate_down\":2,\"sessions\":3,"
				 "\"delayed\":5,\"refused\":6}\n");
		ck_assert_int_eq(RUN(ul01, &f, "user-limits", "bob"), MASSCTL_EXIT_SERVER_ERROR);
		ck_assert_str_eq(f.msg, "no such user (status 01)");
		ck_assert_int_eq(RUN(ulcut, &f, "user-limits", "bob"), MASSCTL_EXIT_PROTOCOL);
		ck_assert_str_eq(mem_text, "");
		ck_assert_int_eq(RUN(sc, &f, "set-class", "bob", "basik"), 0);
		ck_assert_str_eq(mem_text, "");
		ck_assert_int_eq(RUN(sc, &f, "-j", "set-class", "bob", "basik"), 0);
		ck_assert_str_eq(mem_text, "{\"status\":\"00\"}\n");
		ck_assert_int_eq(RUN(sc01, &f, "set-class", "bob", "xk"), MASSCTL_EXIT_SERVER_ERROR);
		ck_assert_str_eq(f.msg, "no such user or class, or the class cannot be stored "
				 "(status 01)");
		ck_assert_int_eq(RUN(rs, &f, "reset-usage", "bob"), 0);
		ck_assert_int_eq(RUN(taken, &f, "user-limits", "bob"), MASSCTL_EXIT_UNSUPPORTED);
		ck_assert_str_eq(f.msg, "index 17 is served by another plugin than limits (info)");
	}
}
END_TEST

/* raw decodes a reply by the layout its info row declares. */
START_TEST(raw_decodes_by_layout)
{
	struct massctl_fail f;
	char hex12[2 * 8192 + 1];
	/* 0e: seconds u64 = 258, name "up" */
	const char *rep = "00" "0000000000000102" "027570";

	strcpy(hex12, info_hex(bundled_rows, 4, true));
	{
		const struct fake_step ok[] = { { "0e", rep }, { "14", hex12 } };
		const struct fake_step cut[] = { { "0e", "00000000" }, { "14", hex12 } };
		const struct fake_step none[] = { { "10", "00ab" }, { "14", hex12 } };
		const struct fake_step noinfo[] = { { "0e", rep }, { "14", "02" } };
		const struct fake_step fail[] = { { "0e", "01" } };

		ck_assert_int_eq(RUN(ok, &f, "raw", "0e"), 0);
		ck_assert_str_eq(mem_text, "status 00\ndata 0000000000000102027570\n"
				 "seconds 258\nname up\n");
		ck_assert_int_eq(RUN(ok, &f, "-j", "raw", "0e"), 0);
		ck_assert_str_eq(mem_text, "{\"index\":\"0e\",\"status\":\"00\",\"data\":"
				 "\"0000000000000102027570\",\"fields\":{\"seconds\":258,"
				 "\"name\":\"up\"}}\n");
		ck_assert_int_eq(RUN(cut, &f, "-j", "raw", "0e"), MASSCTL_EXIT_PROTOCOL);
		ck_assert(f.shown);
		ck_assert_str_eq(mem_text, "{\"index\":\"0e\",\"status\":\"00\",\"data\":\"000000\","
				 "\"layout_error\":\"reply truncated: seconds (u64) needs 8 octets, "
				 "3 left\"}\n");
		ck_assert_int_eq(RUN(cut, &f, "raw", "0e"), MASSCTL_EXIT_PROTOCOL);
		ck_assert(!f.shown);
		ck_assert_str_eq(mem_text, "status 00\ndata 000000\n");
		ck_assert_int_eq(RUN(none, &f, "-V", "raw", "10"), 0);
		ck_assert_str_eq(mem_text, "status 00\ndata ab\n");
		ck_assert_ptr_nonnull(strstr(note_text, "index 10 declares no reply layout"));
		ck_assert_int_eq(RUN(noinfo, &f, "-j", "raw", "0e"), 0);
		ck_assert_str_eq(mem_text, "{\"index\":\"0e\",\"status\":\"00\",\"data\":"
				 "\"0000000000000102027570\"}\n");
		ck_assert_int_eq(RUN(fail, &f, "raw", "0e"), MASSCTL_EXIT_SERVER_ERROR);
	}
}
END_TEST

/* stats asks info, when listed, whether 0F is the metrics plugin's. */
START_TEST(stats_checks_0f_by_info)
{
	struct massctl_fail f;
	char hex12[2 * 8192 + 1];
	const struct irow rows[] = { { 0x0f, "mine", "", "" }, { 0x14, "info", "", "" } };
	char *snap = counters64_hex(8, 1);

	strcpy(hex12, info_hex(rows, 2, true));
	{
		const struct fake_step steps[] = {
			{ "00", "0003000f14" }, { "14", hex12 }, { "02", C32("00000001") },
			{ "03", C32("00000002") }, { "04", C32("00000003") },
			{ "05", C32("00000004") }, { "06", C32("00000005") },
			{ "07", C32("00000006") }, { "08", C32("00000007") },
			{ "09", C32("00000008") },
		};
		const struct fake_step notinfo[] = {
			{ "00", "0003000f14" }, { "14", "00" }, { "0f", snap },
		};

		ck_assert_int_eq(RUN(steps, &f, "-V", "stats"), 0);
		ck_assert_ptr_nonnull(strstr(mem_text, "avg_bytes_per_write 8\n"));
		ck_assert_ptr_nonnull(strstr(note_text, "index 0f is not the metrics plugin's"));
		ck_assert_int_eq(RUN(notinfo, &f, "stats"), 0);
		ck_assert_ptr_nonnull(strstr(mem_text, "historic_connections 1\n"));
	}
	free(snap);
}
END_TEST

static Suite *massctl_suite(void)
{
	Suite *s = suite_create("massctl");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, index_parsing);
	tcase_add_test(tc, hex_decoding_and_encoding);
	tcase_add_test(tc, params_as_string_or_raw);
	tcase_add_test(tc, options_and_defaults);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, request_bytes);
	tcase_add_test(tc, greeting_and_login);
	tcase_add_test(tc, decode_indexes_reply);
	tcase_add_test(tc, decode_plugin_replies);
	tcase_add_test(tc, decode_users_reply);
	tcase_add_test(tc, decode_counter_reply);
	tcase_add_test(tc, decode_empty_reply);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, status_exit_codes_and_names);
	tcase_add_test(tc, decode_counters64_reply);
	tcase_add_test(tc, command_table_rows);
	tcase_add_test(tc, aliases_are_looked_up);
	tcase_add_test(tc, help_is_generated_from_the_rows);
	tcase_add_test(tc, json_error_object);
	tcase_add_test(tc, stats_uses_0f_when_served);
	tcase_add_test(tc, stats_falls_back_to_02_09);
	tcase_add_test(tc, stats_failures_print_nothing);
	tcase_add_test(tc, single_request_commands_run_through_io);
	tcase_add_test(tc, decode_info_both_row_forms);
	tcase_add_test(tc, third_party_on_14_degrades);
	tcase_add_test(tc, indexes_and_info_by_info);
	tcase_add_test(tc, bundled_commands_found_by_info);
	tcase_add_test(tc, raw_decodes_by_layout);
	tcase_add_test(tc, limits_commands_by_info);
	tcase_add_test(tc, stats_checks_0f_by_info);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(massctl_suite());
}
