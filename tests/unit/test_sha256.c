/* Unit tests for SHA-256 (FIPS 180-2 examples) and HMAC-SHA-256 (RFC 4231). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "auth/sha256.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void unhex(const char *s, unsigned char *out, size_t *n)
{
	size_t len = strlen(s) / 2;

	for (size_t i = 0; i < len; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
	*n = len;
}

/* The digest of msg fed whole and split at every offset. */
static void check_sha(const char *msg, size_t len, const char *want)
{
	unsigned char d[SHA256_LEN];
	char got[2 * SHA256_LEN + 1];
	struct sha256 c;

	for (size_t cut = 0; cut <= len; cut++) {
		sha256_init(&c);
		sha256_update(&c, msg, cut);
		sha256_update(&c, msg + cut, len - cut);
		sha256_final(&c, d);
		hex(d, sizeof(d), got);
		ck_assert_str_eq(got, want);
	}
}

START_TEST(sha256_vectors)
{
	static const char two_blocks[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct sha256 c;
	unsigned char d[SHA256_LEN], a[1000];
	char got[2 * SHA256_LEN + 1];

	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha(two_blocks, strlen(two_blocks),
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* one million 'a' */
	memset(a, 'a', sizeof(a));
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, a, sizeof(a));
	sha256_final(&c, d);
	hex(d, sizeof(d), got);
	ck_assert_str_eq(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

struct rfc4231 {
	const char *key, *data, *mac;
};

/* RFC 4231 test cases 1-4, 6 and 7 (5 is a truncated output). */
static const struct rfc4231 rfc4231[] = {
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	  "dddddddddddddddddddddddddddddddddddd",
	  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
	{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
	  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
	  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaa",
	  "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
	  "65204b6579202d2048617368204b6579204669727374",
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaa",
	  "5468697320697320612074657374207573696e672061206c6172676572207468"
	  "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
	  "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
	  "647320746f20626520686173686564206265666f7265206265696e6720757365"
	  "642062792074686520484d414320616c676f726974686d2e",
	  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
};

START_TEST(hmac_rfc4231)
{
	const struct rfc4231 *t = &rfc4231[_i];
	unsigned char key[256], data[256], mac[SHA256_LEN];
	char got[2 * SHA256_LEN + 1];
	struct hmac_sha256 h;
	size_t klen, dlen;

	unhex(t->key, key, &klen);
	unhex(t->data, data, &dlen);
	hmac_sha256(key, klen, data, dlen, mac);
	hex(mac, sizeof(mac), got);
	ck_assert_str_eq(got, t->mac);
	/* streamed one octet at a time */
	hmac_sha256_init(&h, key, klen);
	for (size_t i = 0; i < dlen; i++)
		hmac_sha256_update(&h, data + i, 1);
	hmac_sha256_final(&h, mac);
	hex(mac, sizeof(mac), got);
	ck_assert_str_eq(got, t->mac);
}
END_TEST

static Suite *sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, sha256_vectors);
	tcase_add_loop_test(tc, hmac_rfc4231, 0, (int)(sizeof(rfc4231) / sizeof(rfc4231[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(sha256_suite());
}
