/* Unit tests for cred: hash detection, constant-time comparison, checking and making hashes. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "auth/cred.h"

/* Hashes of "secret" made by libxcrypt, one per kind. */
static const struct kind {
	const char *method, *hash;
} kinds[] = {
	{ "yescrypt", "$y$j9T$DZws5d1i/6XhuqooG5gIF/$cGuhvWs3HTCuIOZ1a1z8zAFDy5a9XMJiLtRy03sdQB0" },
	{ "gost-yescrypt", "$gy$j9T$t/o1qUGRkIOrFaRHewtlK0$qV1QZaj33epUS9xaoVWeRN3Xoigpa/DvQZlBipDVmN4" },
	{ "scrypt", "$7$CU..../....0.9isDeL7dGl0oBsyHgk80$K2Z/EGdoRW3.1FBMz5uS4yfAgox7kPoWKQ1ZNBIv/L1" },
	{ "bcrypt", "$2b$05$9eN7Se6WzgboXazzwhV3c.6iUv6EOJXgrjyZmE7t5LbfZhj6JjGxK" },
	{ "sha512crypt", "$6$TRTcBavuZA8gjbrO$pqYLR9AJXCzc2i1WRTo/nDLeY1hVwCvHuBiysRQ/o2wGW8qtueG.WRZq/nJcWt8ep/0p77/LgijqbJRti/gDR1" },
	{ "sha256crypt", "$5$.L.Clw0UUK3n/y7k$e4vdcp5rsnHylOpcH9ceBD42p1sxyHmcql3wnufyru6" },
};
#define NKINDS (int)(sizeof(kinds) / sizeof(kinds[0]))

#define S(x) x, strlen(x)

START_TEST(is_hash)
{
	for (int i = 0; i < NKINDS; i++)
		ck_assert_msg(cred_is_hash(S(kinds[i].hash)), "%s", kinds[i].method);
	ck_assert(cred_is_hash(S("$6$salt")));  /* a bare setting is a hash that matches nothing */
	ck_assert(!cred_is_hash(S("secret")));
	ck_assert(!cred_is_hash(S("$")));
	ck_assert(!cred_is_hash(S("$x$abc")));  /* no such method: a plaintext password */
	ck_assert(!cred_is_hash(S("$$$")));
	ck_assert(!cred_is_hash(S("ab01FAX.bQRSU")));  /* DES has no '$': plaintext */
	ck_assert(!cred_is_hash("", 0));
	ck_assert(!cred_is_hash(S("$6$a\tb")));  /* not printable */
	/* no ':' in a crypt string: it fits a name:password line */
	for (int i = 0; i < NKINDS; i++)
		ck_assert_ptr_null(strchr(kinds[i].hash, ':'));
}
END_TEST

START_TEST(ct_equal)
{
	char big[300];

	memset(big, 'a', sizeof(big));
	ck_assert(cred_ct_equal(S("abc"), S("abc")));
	ck_assert(!cred_ct_equal(S("abc"), S("abd")));
	ck_assert(!cred_ct_equal(S("abc"), S("ab")));
	ck_assert(!cred_ct_equal(S("ab"), S("abc")));
	ck_assert(cred_ct_equal("", 0, "", 0));
	ck_assert(!cred_ct_equal("", 0, S("a")));
	/* zero padding hides no difference: the lengths still count */
	ck_assert(!cred_ct_equal("ab\0", 3, S("ab")));
	ck_assert(!cred_ct_equal("", 0, "\0", 1));
	ck_assert(cred_ct_equal(big, 255, big, 255));
	ck_assert(!cred_ct_equal(big, 256, big, 256));
}
END_TEST

/* Each kind: the right password matches, a wrong one, a prefix and an extension do not. */
START_TEST(check_each_kind)
{
	const struct kind *k = &kinds[_i];

	ck_assert_msg(cred_check(S(k->hash), S("secret")), "%s", k->method);
	ck_assert(!cred_check(S(k->hash), S("Secret")));
	ck_assert(!cred_check(S(k->hash), S("secre")));
	ck_assert(!cred_check(S(k->hash), S("secret!")));
	ck_assert(!cred_check(S(k->hash), S(k->hash)));  /* the hash is not the password */
	ck_assert(!cred_check(S(k->hash), "", 0));
}
END_TEST

START_TEST(check_plain)
{
	ck_assert(cred_check(S("secret"), S("secret")));
	ck_assert(!cred_check(S("secret"), S("secreT")));
	ck_assert(!cred_check(S("secret"), S("secret ")));
	ck_assert(!cred_check(S("a\x01"), S("a\x01")));  /* an invalid password never matches */
	ck_assert(!cred_check(S("$6$salt"), S("salt")));
}
END_TEST

START_TEST(make_each_kind)
{
	const struct kind *k = &kinds[_i];
	char out[CRED_HASH_MAX], err[256];
	int n;

	ck_assert(cred_method_supported(k->method));
	n = cred_hash_make(k->method, 0, S("pa:ss word"), out, sizeof(out), err, sizeof(err));
	ck_assert_msg(n > 0, "%s: %s", k->method, err);
	ck_assert_int_eq((int)strlen(out), n);
	ck_assert(cred_is_hash(out, (size_t)n));
	ck_assert_int_eq(strncmp(out, k->hash, strcspn(k->hash + 1, "$") + 2), 0);
	ck_assert(cred_check(out, (size_t)n, S("pa:ss word")));
	ck_assert(!cred_check(out, (size_t)n, S("pa:ss wore")));
}
END_TEST

START_TEST(make_errors)
{
	char out[CRED_HASH_MAX], small[20], err[256], methods[128];

	ck_assert_int_gt(cred_hash_make(NULL, 0, S("x"), out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_int_eq(strncmp(out, "$y$", 3), 0);  /* the default is yescrypt */
	ck_assert_int_eq(cred_hash_make("md5", 0, S("x"), out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "unknown hash method 'md5'") != NULL, "%s", err);
	ck_assert(!cred_method_supported("md5"));
	ck_assert(!cred_method_supported(NULL));
	ck_assert_int_eq(cred_hash_make("bcrypt", 99, S("x"), out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "cost 99 is out of range for bcrypt") != NULL, "%s", err);
	ck_assert_int_gt(cred_hash_make("bcrypt", 4, S("x"), out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_int_eq(strncmp(out, "$2b$04$", 7), 0);
	ck_assert_int_eq(cred_hash_make(NULL, 0, "", 0, out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_int_eq(cred_hash_make(NULL, 0, S("a\nb"), out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_int_eq(cred_hash_make(NULL, 0, S("x"), small, sizeof(small), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "longer than 19") != NULL, "%s", err);
	cred_methods(methods, sizeof(methods));
	ck_assert_msg(strncmp(methods, "yescrypt ", 9) == 0, "%s", methods);
	ck_assert_ptr_nonnull(strstr(methods, "sha512crypt"));
}
END_TEST

static Suite *cred_suite(void)
{
	Suite *s = suite_create("cred");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, is_hash);
	tcase_add_test(tc, ct_equal);
	tcase_add_loop_test(tc, check_each_kind, 0, NKINDS);
	tcase_add_test(tc, check_plain);
	tcase_add_loop_test(tc, make_each_kind, 0, NKINDS);
	tcase_add_test(tc, make_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(cred_suite());
}
