/* Unit tests for base64 decoding and encoding. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "core/base64.h"

static int decode(const char *in, char *out, size_t cap, size_t *n)
{
	return base64_decode(in, strlen(in), (uint8_t *)out, cap, n);
}

START_TEST(test_rfc4648_vectors)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" }, { "Zm9vYmE=", "fooba" }, { "Zm9vYmFy", "foobar" },
	};
	char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		ck_assert_int_eq(decode(vec[i][0], out, sizeof(out), &n), 0);
		ck_assert_uint_eq(n, strlen(vec[i][1]));
		ck_assert(memcmp(out, vec[i][1], n) == 0);
	}
}
END_TEST

START_TEST(test_binary)
{
	char out[8];
	size_t n;

	ck_assert_int_eq(decode("AP/+Lw==", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(out, "\x00\xff\xfe\x2f", 4) == 0);
	ck_assert_int_eq(decode("YWxpY2U6czNjcmV0", out, sizeof(out), &n), -1); /* 12 > 8 */
}
END_TEST

START_TEST(test_garbage_rejected)
{
	static const char *const bad[] = {
		"Zg", "Zg=", "Z===", "====", "Zg==Zg==", "Z=g=", "Zm9*", "Zm9v\n",
		" Zm9v", "Zm9v ", "Zm\x80v", "Zm-v", "Zm_v", "=Zm9",
	};
	char out[16];
	size_t n = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(decode(bad[i], out, sizeof(out), &n) == -1, "accepted %s", bad[i]);
	ck_assert_uint_eq(n, 99);
}
END_TEST

START_TEST(test_bounded_output)
{
	char out[3];
	size_t n;

	ck_assert_int_eq(decode("Zm9v", out, 3, &n), 0);
	ck_assert_int_eq(decode("Zm9vYg==", out, 3, &n), -1);
	ck_assert_int_eq(decode("Zm8=", out, 2, &n), 0);
	ck_assert_int_eq(decode("Zm9v", out, 2, &n), -1);
}
END_TEST

START_TEST(test_encode)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char out[16], back[16];
	size_t n;

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t len = strlen(vec[i][0]);

		ck_assert_int_eq(base64_encode((const uint8_t *)vec[i][0], len, out, sizeof(out)),
				 (long)strlen(vec[i][1]));
		ck_assert_str_eq(out, vec[i][1]);
		ck_assert_int_eq(decode(out, back, sizeof(back), &n), 0);
		ck_assert_uint_eq(n, len);
	}
	/* the NUL needs its byte: "foo" takes 5 */
	ck_assert_int_eq(base64_encode((const uint8_t *)"foo", 3, out, 4), -1);
	ck_assert_int_eq(base64_encode((const uint8_t *)"foo", 3, out, 5), 4);
	ck_assert_int_eq(base64_encode((const uint8_t *)"\x00\xff\xfe\x2f", 4, out, sizeof(out)), 8);
	ck_assert_str_eq(out, "AP/+Lw==");
}
END_TEST

static Suite *base64_suite(void)
{
	Suite *s = suite_create("base64");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, test_rfc4648_vectors);
	tcase_add_test(tc, test_binary);
	tcase_add_test(tc, test_garbage_rejected);
	tcase_add_test(tc, test_bounded_output);
	tcase_add_test(tc, test_encode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(base64_suite());
}
