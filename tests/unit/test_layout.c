/* Unit tests for reply layouts (core/layout): the grammar and the hostile-reply walk. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core/layout.h"

static const char info_layout[] =
	"version:str,start_time:u64,uptime:u64,"
	"indexes:[index:u8,plugin:str,plugin_version:str,usage:str,signature:str,layout:str]";

START_TEST(valid_layouts)
{
	static const char *const ok[] = {
		"", "n:u8", "a:u8,b:u32,c:u64,d:str", info_layout,
		"total:u32,sessions:[id:u64,user:str,client:str,port:u32]",
		"a:[b:[c:[d:[e:u8]]]]",            /* four levels: the limit */
		"x:[a:u8],y:[a:u8]",               /* the same name in different lists */
		"a:[a:u8]",                        /* a list's field may reuse its name */
		"abcdefghijklmnopqrstuvwxyz012345:u8",   /* 32 characters */
	};
	char err[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(layout_check(ok[i], err, sizeof(err)) == 0, "%s: %s", ok[i], err);
}
END_TEST

START_TEST(invalid_layouts)
{
	static const struct { const char *layout, *why; } bad[] = {
		{ "n", "expected ':' after the name at offset 1" },
		{ "n:", "expected a type" },
		{ "n:u16", "expected a type" },
		{ "n:u8x", "expected a type" },
		{ "N:u8", "expected a name" },
		{ ":u8", "expected a name" },
		{ "a:u8,", "expected a name ([a-z0-9_]) at offset 5" },
		{ "a:u8,,b:u8", "expected a name" },
		{ "a:u8 ", "expected ',' or the end" },
		{ " a:u8", "([a-z0-9_]) at offset 0" },
		{ "a:u8,a:str", "duplicate name at offset 5" },
		{ "l:[]", "expected a name" },
		{ "l:[a:u8", "expected ']'" },
		{ "a:u8]", "unmatched ']'" },
		{ "a:[b:[c:[d:[e:[f:u8]]]]]", "nested more than 4 deep" },
		{ "abcdefghijklmnopqrstuvwxyz0123456:u8", "longer than 32" },
	};
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(layout_check(bad[i].layout, err, sizeof(err)) == -1, "%s passed",
			      bad[i].layout);
		ck_assert_msg(strstr(err, bad[i].why) != NULL, "%s: '%s' lacks '%s'",
			      bad[i].layout, err, bad[i].why);
	}
	ck_assert_int_eq(layout_check(NULL, err, sizeof(err)), -1);
}
END_TEST

START_TEST(limits)
{
	char big[LAYOUT_MAX_LEN + 64], err[128];
	size_t n = 0;

	/* 65 fields */
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%sf%d:u8", i ? "," : "", i);
	ck_assert_int_eq(layout_check(big, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than 64 fields"));
	big[n - strlen(",f64:u8")] = '\0';
	ck_assert_int_eq(layout_check(big, err, sizeof(err)), 0);
	/* too long a text, checked before it is read */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(layout_check(big, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than 1024"));
	/* the reason fits any buffer, even a tiny one */
	ck_assert_int_eq(layout_check("x", err, 4), -1);
	ck_assert_uint_eq(strlen(err), 3);
}
END_TEST

/* Records every item as one line of text. */
struct trace {
	char buf[2048];
	size_t n;
	int stop_at, seen;
};

static int trace_fn(void *arg, const struct layout_item *it)
{
	static const char *const ev[] = { "field", "begin", "rec", "/rec", "end" };
	struct trace *t = arg;
	int w;

	w = snprintf(t->buf + t->n, sizeof(t->buf) - t->n, "%u %s %.*s", it->depth, ev[it->event],
		     (int)it->name_len, it->name);
	t->n += (size_t)w;
	if (it->event == LAYOUT_FIELD && it->type == LAYOUT_STR)
		w = snprintf(t->buf + t->n, sizeof(t->buf) - t->n, "=\"%.*s\"", (int)it->len,
			     (const char *)it->data);
	else
		w = snprintf(t->buf + t->n, sizeof(t->buf) - t->n, "=%llu",
			     (unsigned long long)it->value);
	t->n += (size_t)w;
	t->buf[t->n++] = ';';
	t->buf[t->n] = '\0';
	return ++t->seen == t->stop_at ? 7 : 0;
}

START_TEST(decode_fields_and_lists)
{
	static const uint8_t rep[] = {
		0x00, 0x00, 0x01, 0x02,                           /* total 258 */
		0x02,                                             /* 2 sessions */
		0, 0, 0, 0, 0, 0, 0, 7,  3, 'b', 'o', 'b',  0xff, 0xff, 0xff, 0xff,
		0x80, 0, 0, 0, 0, 0, 0, 1,  0,  0, 0, 0, 80,
		0x2a,
	};
	struct trace t = { .stop_at = -1 };
	char err[128];

	ck_assert_int_eq(layout_decode("total:u32,s:[id:u64,user:str,port:u32],last:u8",
				       rep, sizeof(rep), trace_fn, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(t.buf,
		"0 field total=258;0 begin s=2;"
		"0 rec s=0;1 field id=7;1 field user=\"bob\";1 field port=4294967295;0 /rec s=0;"
		"0 rec s=1;1 field id=9223372036854775809;1 field user=\"\";1 field port=80;"
		"0 /rec s=1;0 end s=2;0 field last=42;");
	/* a check only */
	ck_assert_int_eq(layout_decode("total:u32,s:[id:u64,user:str,port:u32],last:u8",
				       rep, sizeof(rep), NULL, NULL, err, sizeof(err)), 0);
	/* the empty layout: an empty reply */
	ck_assert_int_eq(layout_decode("", rep, 0, NULL, NULL, err, sizeof(err)), 0);
	/* a callback's non-zero return stops the walk and is returned */
	t = (struct trace){ .stop_at = 3 };
	ck_assert_int_eq(layout_decode("total:u32,s:[id:u64,user:str,port:u32],last:u8",
				       rep, sizeof(rep), trace_fn, &t, err, sizeof(err)), 7);
	ck_assert_int_eq(t.seen, 3);
}
END_TEST

/* Every proper prefix of a good reply is refused, and names what it cut. */
START_TEST(truncated_everywhere)
{
	static const char lay[] = "total:u32,s:[id:u64,user:str,port:u32],last:u8";
	static const uint8_t rep[] = {
		0, 0, 0, 1,  1,  0, 0, 0, 0, 0, 0, 0, 7,  3, 'b', 'o', 'b',  0, 0, 0, 80,  9,
	};
	char err[128];

	for (size_t n = 0; n < sizeof(rep); n++) {
		ck_assert_int_eq(layout_decode(lay, rep, n, NULL, NULL, err, sizeof(err)), -1);
		ck_assert_msg(strncmp(err, "reply truncated: ", 17) == 0, "%zu: %s", n, err);
	}
	layout_decode(lay, rep, 15, NULL, NULL, err, sizeof(err));
	ck_assert_str_eq(err, "reply truncated: s[0].user (str) needs 4 octets, 2 left");
	layout_decode(lay, rep, 2, NULL, NULL, err, sizeof(err));
	ck_assert_str_eq(err, "reply truncated: total (u32) needs 4 octets, 2 left");
	layout_decode(lay, rep, 4, NULL, NULL, err, sizeof(err));
	ck_assert_str_eq(err, "reply truncated: s (list) needs 1 octet, 0 left");
	layout_decode(lay, rep, 21, NULL, NULL, err, sizeof(err));
	ck_assert_str_eq(err, "reply truncated: last (u8) needs 1 octet, 0 left");
	/* one octet too many */
	ck_assert_int_eq(layout_decode("a:u8", rep, 2, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "reply has 1 octet after its last field");
	/* a bad layout is refused before any octet is read */
	ck_assert_int_eq(layout_decode("a:u9", rep, 1, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "expected a type"));
}
END_TEST

/* Nested lists name the whole path of the record that was cut. */
START_TEST(nested_path)
{
	static const uint8_t rep[] = { 2,  1, 5,  1 };  /* a[0].b[0].c=5, a[1].b: 1 record, cut */
	struct trace t = { .stop_at = -1 };
	char err[160];

	ck_assert_int_eq(layout_decode("a:[b:[c:u8]]", rep, sizeof(rep), trace_fn, &t,
				       err, sizeof(err)), -1);
	ck_assert_str_eq(err, "reply truncated: a[1].b[0].c (u8) needs 1 octet, 0 left");
	ck_assert_int_eq(layout_decode("a:[b:[c:u8]]", rep, 3, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "reply truncated: a[1].b (list) needs 1 octet, 0 left");
}
END_TEST

/* The info reply as h2's plugin builds it: one row, every field. */
START_TEST(info_reply)
{
	uint8_t rep[256];
	size_t n = 0;
	struct trace t = { .stop_at = -1 };
	char err[128];
	static const char *const strs[] = { "x", "1.0", "use", "s", "v:u8" };

	rep[n++] = 3; memcpy(rep + n, "1.2", 3); n += 3;
	memset(rep + n, 0, 16); rep[n + 7] = 5; rep[n + 15] = 6; n += 16;
	rep[n++] = 1;
	rep[n++] = 0x80;
	for (size_t i = 0; i < 5; i++) {
		rep[n++] = (uint8_t)strlen(strs[i]);
		memcpy(rep + n, strs[i], strlen(strs[i]));
		n += strlen(strs[i]);
	}
	ck_assert_int_eq(layout_decode(info_layout, rep, n, trace_fn, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(t.buf, "0 field version=\"1.2\";0 field start_time=5;0 field uptime=6;"
			 "0 begin indexes=1;0 rec indexes=0;1 field index=128;1 field plugin=\"x\";"
			 "1 field plugin_version=\"1.0\";1 field usage=\"use\";1 field signature=\"s\";"
			 "1 field layout=\"v:u8\";0 /rec indexes=0;0 end indexes=1;");
	/* the old row (no signature, no layout) under the new layout: truncated, said so */
	ck_assert_int_eq(layout_decode(info_layout, rep, n - 7, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "reply truncated: indexes[0].signature (str) needs 1 octet, 0 left");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("layout");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, valid_layouts);
	tcase_add_test(tc, invalid_layouts);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, decode_fields_and_lists);
	tcase_add_test(tc, truncated_everywhere);
	tcase_add_test(tc, nested_path);
	tcase_add_test(tc, info_reply);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
