/* Unit tests for the MASS request framer and reply encoder (src/mass_proto.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mass/mass_proto.h"

/* A table: 10 "", 11 "b", 12 "s", 13 "ss", 14 "sb", 15 invalid; others unserved. */
static const char *test_lookup(void *ctx, uint8_t index)
{
	(void)ctx;
	switch (index) {
	case 0x10: return "";
	case 0x11: return "b";
	case 0x12: return "s";
	case 0x13: return "ss";
	case 0x14: return "sb";
	case 0x15: return "x";
	case 0x16: return "sssssssss";  /* one too many */
	default: return NULL;
	}
}

/* Feeds msg whole; returns the result and sets *used. */
static enum proto_result test_feed(struct mass_request_parser *p, const uint8_t *msg,
				   size_t len, size_t *used)
{
	mass_request_init(p, test_lookup, NULL);
	return mass_request_parse(p, msg, len, used);
}

/* Feeds msg split at every position, checks each split gives the same params. */
static void test_every_split(const uint8_t *msg, size_t len, uint8_t nparams)
{
	static struct mass_request_parser whole, split;
	size_t cut, used, used2;
	uint8_t i;

	ck_assert_int_eq(test_feed(&whole, msg, len, &used), PROTO_DONE);
	ck_assert_uint_eq(used, len);
	ck_assert_uint_eq(whole.req.nparams, nparams);
	for (cut = 0; cut <= len; cut++) {
		mass_request_init(&split, test_lookup, NULL);
		ck_assert_int_eq(mass_request_parse(&split, msg, cut, &used),
				 cut == len ? PROTO_DONE : PROTO_MORE);
		ck_assert_uint_eq(used, cut);
		if (cut < len) {
			ck_assert_int_eq(mass_request_parse(&split, msg + cut, len - cut, &used2),
					 PROTO_DONE);
			ck_assert_uint_eq(used2, len - cut);
		}
		ck_assert_uint_eq(split.req.index, msg[0]);
		ck_assert_uint_eq(split.req.nparams, nparams);
		for (i = 0; i < nparams; i++) {
			ck_assert_uint_eq(split.req.params[i].len, whole.req.params[i].len);
			ck_assert(memcmp(split.req.params[i].data, whole.req.params[i].data,
					 whole.req.params[i].len) == 0);
			ck_assert_uint_eq(split.req.params[i].data[split.req.params[i].len], 0);
		}
	}
	/* byte by byte */
	mass_request_init(&split, test_lookup, NULL);
	for (cut = 0; cut < len; cut++)
		ck_assert_int_eq(mass_request_parse(&split, msg + cut, 1, &used),
				 cut + 1 == len ? PROTO_DONE : PROTO_MORE);
}

START_TEST(test_no_params)
{
	static struct mass_request_parser p;
	const uint8_t msg[] = { 0x10, 0xAA };
	size_t used;

	ck_assert_int_eq(test_feed(&p, msg, sizeof(msg), &used), PROTO_DONE);
	ck_assert_uint_eq(used, 1);  /* the trailing octet is not ours */
	ck_assert(!p.unsupported);
	ck_assert_uint_eq(p.req.index, 0x10);
	ck_assert_uint_eq(p.req.nparams, 0);
	ck_assert_str_eq(p.signature, "");
}
END_TEST

START_TEST(test_byte)
{
	static struct mass_request_parser p;
	const uint8_t msg[] = { 0x11, 0x00 };
	size_t used;

	ck_assert_int_eq(test_feed(&p, msg, sizeof(msg), &used), PROTO_DONE);
	ck_assert_uint_eq(p.req.params[0].len, 1);
	ck_assert_uint_eq(p.req.params[0].data[0], 0x00);
	ck_assert_uint_eq(mass_param_u8(&p.req, 0), 0);
	test_every_split(msg, sizeof(msg), 1);
}
END_TEST

START_TEST(test_string)
{
	static struct mass_request_parser p;
	const uint8_t msg[] = { 0x12, 0x03, 'b', 'o', 'b' };
	size_t used;

	ck_assert_int_eq(test_feed(&p, msg, sizeof(msg), &used), PROTO_DONE);
	ck_assert_uint_eq(p.req.params[0].len, 3);
	ck_assert_str_eq((const char *)p.req.params[0].data, "bob");
	test_every_split(msg, sizeof(msg), 1);
}
END_TEST

START_TEST(test_two_strings)
{
	static struct mass_request_parser p;
	const uint8_t msg[] = { 0x13, 0x03, 'b', 'o', 'b', 0x06, 's', 'e', 'c', 'r', 'e', 't' };
	size_t used;

	ck_assert_int_eq(test_feed(&p, msg, sizeof(msg), &used), PROTO_DONE);
	ck_assert_uint_eq(used, sizeof(msg));
	ck_assert_str_eq((const char *)p.req.params[0].data, "bob");
	ck_assert_str_eq((const char *)p.req.params[1].data, "secret");
	test_every_split(msg, sizeof(msg), 2);
}
END_TEST

START_TEST(test_string_then_byte)
{
	static struct mass_request_parser p;
	const uint8_t msg[] = { 0x14, 0x02, 'h', 'i', 0x7F };
	size_t used;

	ck_assert_int_eq(test_feed(&p, msg, sizeof(msg), &used), PROTO_DONE);
	ck_assert_str_eq((const char *)p.req.params[0].data, "hi");
	ck_assert_uint_eq(p.req.params[1].len, 1);
	ck_assert_uint_eq(p.req.params[1].data[0], 0x7F);
	test_every_split(msg, sizeof(msg), 2);
}
END_TEST

START_TEST(test_empty_strings)
{
	static struct mass_request_parser p;
	const uint8_t msg[] = { 0x13, 0x00, 0x00 };
	size_t used;

	ck_assert_int_eq(test_feed(&p, msg, sizeof(msg), &used), PROTO_DONE);
	ck_assert_uint_eq(p.req.params[0].len, 0);
	ck_assert_uint_eq(p.req.params[1].len, 0);
	ck_assert_str_eq((const char *)p.req.params[1].data, "");
	test_every_split(msg, sizeof(msg), 2);
}
END_TEST

START_TEST(test_longest_strings)
{
	static struct mass_request_parser p;
	uint8_t msg[1 + 2 * 256];
	size_t used;

	msg[0] = 0x13;
	msg[1] = 255;
	memset(msg + 2, 'a', 255);
	msg[257] = 255;
	memset(msg + 258, 'b', 255);
	ck_assert_int_eq(test_feed(&p, msg, sizeof(msg), &used), PROTO_DONE);
	ck_assert_uint_eq(used, sizeof(msg));
	ck_assert_uint_eq(p.req.params[0].len, 255);
	ck_assert_uint_eq(p.req.params[1].len, 255);
	ck_assert_uint_eq(p.req.params[1].data[254], 'b');
	ck_assert_uint_eq(p.req.params[1].data[255], 0);
	test_every_split(msg, sizeof(msg), 2);
}
END_TEST

START_TEST(test_truncated)
{
	static struct mass_request_parser p;
	const uint8_t msg[] = { 0x13, 0x03, 'b', 'o', 'b', 0x06, 's', 'e' };
	size_t used;
	size_t len;

	for (len = 0; len <= sizeof(msg); len++) {
		ck_assert_int_eq(test_feed(&p, msg, len, &used), PROTO_MORE);
		ck_assert_uint_eq(used, len);
	}
}
END_TEST

START_TEST(test_unknown_index)
{
	static struct mass_request_parser p;
	const uint8_t msg[] = { 0x7F, 0x05, 'x' };
	size_t used;

	ck_assert_int_eq(test_feed(&p, msg, sizeof(msg), &used), PROTO_DONE);
	ck_assert_uint_eq(used, 1);
	ck_assert(p.unsupported);
	ck_assert_uint_eq(p.req.index, 0x7F);
}
END_TEST

START_TEST(test_bad_signature)
{
	static struct mass_request_parser p;
	uint8_t msg[] = { 0x15 };
	size_t used;

	ck_assert_int_eq(test_feed(&p, msg, 1, &used), PROTO_ERROR);
	ck_assert_int_eq(p.error, MASS_REQUEST_BAD_SIGNATURE);
	msg[0] = 0x16;
	ck_assert_int_eq(test_feed(&p, msg, 1, &used), PROTO_ERROR);
	/* a failed parser consumes nothing more and repeats its verdict */
	ck_assert_int_eq(mass_request_parse(&p, msg, 1, &used), PROTO_ERROR);
	ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(test_signature_valid)
{
	ck_assert(mass_signature_valid(""));
	ck_assert(mass_signature_valid("b"));
	ck_assert(mass_signature_valid("ssssssss"));
	ck_assert(!mass_signature_valid("sssssssss"));
	ck_assert(!mass_signature_valid("u"));
	ck_assert(!mass_signature_valid(NULL));
}
END_TEST

START_TEST(test_reply_fields)
{
	uint8_t buf[64];
	struct mass_reply r;
	long mark;

	mass_reply_init(&r, buf, sizeof(buf));
	ck_assert_int_eq(mass_reply_u8(&r, 0xAB), 0);
	ck_assert_int_eq(mass_reply_u32(&r, 258), 0);
	ck_assert_int_eq(mass_reply_str(&r, "bob", 3), 0);
	mark = mass_reply_count_begin(&r);
	ck_assert_int_eq(mark, 10);
	ck_assert_int_eq(mass_reply_bytes(&r, "\x01\x02", 2), 0);
	ck_assert_int_eq(mass_reply_count_end(&r, mark, 2), 0);
	ck_assert_uint_eq(mass_reply_finish(&r, MASS_STATUS_OK), 13);
	ck_assert(memcmp(buf, "\x00\xAB\x00\x00\x01\x02\x03" "bob\x02\x01\x02", 13) == 0);
}
END_TEST

/* reply_u64 (ABI 1.2): eight octets, most significant first; a u64 that
 * does not fit fails the reply like any field. */
START_TEST(test_reply_u64)
{
	uint8_t buf[16];
	struct mass_reply r;

	mass_reply_init(&r, buf, 1 + 8);
	ck_assert_int_eq(mass_reply_u64(&r, 0x0102030405060708ull), 0);
	ck_assert_uint_eq(mass_reply_finish(&r, MASS_STATUS_OK), 9);
	ck_assert(memcmp(buf, "\x00\x01\x02\x03\x04\x05\x06\x07\x08", 9) == 0);
	mass_reply_init(&r, buf, 1 + 7);
	ck_assert_int_eq(mass_reply_u64(&r, UINT64_MAX), -1);
	ck_assert_uint_eq(mass_reply_finish(&r, MASS_STATUS_OK), 1);
	ck_assert_uint_eq(buf[0], MASS_STATUS_ERROR);
}
END_TEST

START_TEST(test_reply_status_alone)
{
	uint8_t buf[16];
	struct mass_reply r;

	mass_reply_init(&r, buf, sizeof(buf));
	mass_reply_u32(&r, 7);
	ck_assert_uint_eq(mass_reply_finish(&r, MASS_STATUS_USER_LIMIT), 1);
	ck_assert_uint_eq(buf[0], 0x03);
	mass_reply_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(mass_reply_finish(&r, 42), 1);  /* out of range: server error */
	ck_assert_uint_eq(buf[0], 0x01);
}
END_TEST

START_TEST(test_reply_overflow)
{
	uint8_t buf[8], big[300];
	struct mass_reply r;

	memset(big, 'x', sizeof(big));
	mass_reply_init(&r, buf, sizeof(buf));
	ck_assert_int_eq(mass_reply_u32(&r, 1), 0);
	ck_assert_int_eq(mass_reply_u32(&r, 2), -1);  /* 1 + 4 + 4 > 8 */
	ck_assert_int_eq(mass_reply_u8(&r, 3), -1);   /* failed stays failed */
	ck_assert_str_eq(r.why, "reply overflowed (more than 7 octets)");
	ck_assert_uint_eq(mass_reply_finish(&r, MASS_STATUS_OK), 1);
	ck_assert_uint_eq(buf[0], 0x01);

	mass_reply_init(&r, buf, sizeof(buf));
	ck_assert_int_eq(mass_reply_str(&r, big, 256), -1);  /* LENGTH is one octet */
	ck_assert_str_eq(r.why, "string field of 256 octets (at most 255)");
	ck_assert_uint_eq(mass_reply_finish(&r, MASS_STATUS_OK), 1);
	ck_assert_uint_eq(buf[0], 0x01);

	mass_reply_init(&r, buf, sizeof(buf));
	ck_assert_int_eq(mass_reply_count_end(&r, mass_reply_count_begin(&r), 256), -1);
	ck_assert_str_eq(r.why, "count 256 (at most 255)");
	ck_assert_uint_eq(mass_reply_finish(&r, MASS_STATUS_OK), 1);
	ck_assert_uint_eq(buf[0], 0x01);
}
END_TEST

/* The loader's message names the character and its position. */
START_TEST(test_signature_explained)
{
	char why[128];

	ck_assert(mass_signature_explain("sbs", why, sizeof(why)));
	ck_assert(!mass_signature_explain("sx", why, sizeof(why)));
	ck_assert_str_eq(why, "invalid signature \"sx\": 'x' at position 2 is neither 'b' nor 's'");
	ck_assert(!mass_signature_explain("s\tb", why, sizeof(why)));
	ck_assert_str_eq(why, "invalid signature: octet 09 at position 2 is neither 'b' nor 's'");
	ck_assert(!mass_signature_explain("bbbbbbbbb", why, sizeof(why)));
	ck_assert_str_eq(why, "invalid signature: more than 8 characters");
	ck_assert(!mass_signature_explain(NULL, why, sizeof(why)));
	ck_assert(!mass_signature_explain("x", NULL, 0));
}
END_TEST

/* A request cut short: index read, parameters incomplete, at every length. */
START_TEST(test_request_cut)
{
	static struct mass_request_parser p;
	const uint8_t msg[] = { 0x13, 0x03, 'b', 'o', 'b', 0x06, 's', 'e' };
	unsigned have = 99;
	size_t used;

	ck_assert_int_eq(test_feed(&p, msg, 0, &used), PROTO_MORE);
	ck_assert(!mass_request_cut(&p, &have));          /* not even the index */
	ck_assert_int_eq(test_feed(&p, msg, 1, &used), PROTO_MORE);
	ck_assert(mass_request_cut(&p, &have) && have == 0);
	ck_assert_int_eq(test_feed(&p, msg, 5, &used), PROTO_MORE);
	ck_assert(mass_request_cut(&p, &have) && have == 1);
	ck_assert_int_eq(test_feed(&p, msg, sizeof(msg), &used), PROTO_MORE);
	ck_assert(mass_request_cut(&p, &have) && have == 1);
}
END_TEST

static Suite *mass_proto_suite(void)
{
	Suite *s = suite_create("mass_proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_no_params);
	tcase_add_test(tc, test_reply_u64);
	tcase_add_test(tc, test_byte);
	tcase_add_test(tc, test_string);
	tcase_add_test(tc, test_two_strings);
	tcase_add_test(tc, test_string_then_byte);
	tcase_add_test(tc, test_empty_strings);
	tcase_add_test(tc, test_longest_strings);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_unknown_index);
	tcase_add_test(tc, test_bad_signature);
	tcase_add_test(tc, test_signature_valid);
	tcase_add_test(tc, test_reply_fields);
	tcase_add_test(tc, test_reply_status_alone);
	tcase_add_test(tc, test_reply_overflow);
	tcase_add_test(tc, test_signature_explained);
	tcase_add_test(tc, test_request_cut);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(mass_proto_suite());
}
