/*
 * Fuzz target: the PROXY protocol header parser (v1 and v2), fed whole and
 * cut in two. A complete header never ends past its format's bound, a v1
 * header ends with CRLF, a v2 one where its length says, and a header that
 * is not local carries addresses of one family (TCP4 or TCP6); a refused
 * signature agrees with proxy_signature_prefix().
 */
#include <string.h>

#include "fuzz.h"
#include "socks/proxy_proto.h"

static enum proto_result fuzz_proxy_parse(void *p, const uint8_t *buf, size_t len,
					  size_t *used)
{
	return proxy_parse(p, buf, len, used);
}

static void fuzz_proxy_done(const struct proxy_parser *p, const uint8_t *buf, size_t used)
{
	FUZZ_CHECK(p->error == PROXY_OK);
	if (p->version == 1) {
		FUZZ_CHECK(used <= PROXY_V1_MAX && used >= 8);
		FUZZ_CHECK(memcmp(buf, "PROXY ", 6) == 0);
		FUZZ_CHECK(buf[used - 2] == '\r' && buf[used - 1] == '\n');
	} else {
		FUZZ_CHECK(p->version == 2 && used >= 16);
		FUZZ_CHECK(used == 16 + (size_t)(buf[14] << 8 | buf[15]));
		FUZZ_CHECK(used <= 16 + PROXY_V2_MAX_LEN);
	}
	if (!p->local) {
		FUZZ_CHECK(p->src.ss_family == AF_INET || p->src.ss_family == AF_INET6);
		FUZZ_CHECK(p->src.ss_family == p->dst.ss_family);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_parser whole, split;
	size_t used_whole, n;
	const uint8_t *buf = data + 1;
	enum proto_result r;

	if (size == 0)
		return 0;
	n = size - 1;
	proxy_init(&whole);
	proxy_init(&split);
	r = fuzz_whole_split(fuzz_proxy_parse, &whole, &split, sizeof(whole), buf, n,
			     fuzz_cut(data, n), &used_whole);
	if (r == PROTO_ERROR)
		FUZZ_CHECK(whole.error != PROXY_OK);
	/* the signature test agrees with the parser: a refused signature stops
	 * being a prefix at the octet it was refused at, and not before */
	if (r == PROTO_ERROR && whole.error == PROXY_BAD_SIGNATURE) {
		FUZZ_CHECK(!proxy_signature_prefix(buf, used_whole));
		FUZZ_CHECK(used_whole == 1 || proxy_signature_prefix(buf, used_whole - 1));
	}
	if (r == PROTO_DONE)
		fuzz_proxy_done(&whole, buf, used_whole);
	return 0;
}
