/* Fuzz target: the RFC 1929 username/password parser. */
#include <string.h>

#include "fuzz.h"
#include "socks/socks5_proto.h"

static enum proto_result fuzz_userpass_parse(void *p, const uint8_t *buf, size_t len,
					     size_t *used)
{
	return userpass_parse(p, buf, len, used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct userpass_parser whole, split;
	size_t used_whole, n;
	const uint8_t *buf = data + 1;
	enum proto_result r;

	if (size == 0)
		return 0;
	n = size - 1;
	userpass_init(&whole);
	userpass_init(&split);
	r = fuzz_whole_split(fuzz_userpass_parse, &whole, &split, sizeof(whole), buf, n,
			     fuzz_cut(data, n), &used_whole);
	if (r == PROTO_ERROR)
		FUZZ_CHECK(whole.error == USERPASS_BAD_VERSION && buf[0] != 0x01);
	if (r != PROTO_DONE)
		return 0;
	FUZZ_CHECK(whole.error == USERPASS_OK);
	FUZZ_CHECK(used_whole == 3 + (size_t)whole.ulen + whole.plen);
	FUZZ_CHECK(whole.ulen == buf[1] && whole.plen == buf[2 + whole.ulen]);
	FUZZ_CHECK(memcmp(whole.user, buf + 2, whole.ulen) == 0 && whole.user[whole.ulen] == '\0');
	FUZZ_CHECK(memcmp(whole.pass, buf + 3 + whole.ulen, whole.plen) == 0);
	FUZZ_CHECK(whole.pass[whole.plen] == '\0');
	return 0;
}
