/* Fuzz target: the SOCKS5/MASS greeting parser, for VER 05 and VER 01. */
#include <string.h>

#include "fuzz.h"
#include "socks/socks5_proto.h"

static enum proto_result fuzz_greeting_parse(void *p, const uint8_t *buf, size_t len,
					     size_t *used)
{
	return greeting_parse(p, buf, len, used);
}

static void fuzz_greeting_version(uint8_t version, const uint8_t *buf, size_t n, size_t cut)
{
	struct greeting_parser whole, split;
	size_t used_whole, i;
	enum proto_result r;

	greeting_init(&whole, version);
	greeting_init(&split, version);
	r = fuzz_whole_split(fuzz_greeting_parse, &whole, &split, sizeof(whole), buf, n, cut,
			     &used_whole);
	if (r == PROTO_ERROR)
		FUZZ_CHECK(whole.error != GREETING_OK);
	if (r != PROTO_DONE)
		return;
	FUZZ_CHECK(whole.error == GREETING_OK);
	FUZZ_CHECK(buf[0] == version && buf[1] != 0);
	FUZZ_CHECK(used_whole == 2 + (size_t)buf[1]);
	for (i = 2; i < used_whole; i++)
		FUZZ_CHECK(greeting_offers(&whole, buf[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	fuzz_greeting_version(SOCKS5_VERSION, data + 1, size - 1, fuzz_cut(data, size - 1));
	fuzz_greeting_version(0x01, data + 1, size - 1, fuzz_cut(data, size - 1));
	return 0;
}
