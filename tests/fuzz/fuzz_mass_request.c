/*
 * Fuzz target: the MASS request framer, for every kind of parameter
 * signature, and the reply encoder behind the plugins' reply builder.
 *
 * Input: octet 0 picks the cut for the split feed, octet 1 the signature
 * table, the rest is the request. The framed request must be identical
 * whole and split (the parsers hold pointers into themselves, so fields are
 * compared, not bytes). Then the same octets drive the reply encoder as a
 * list of operations, which must never write past its capacity.
 */
#include <string.h>

#include "fuzz.h"
#include "mass/mass_proto.h"

/* Every signature shape, one invalid, and holes (NULL: not served). */
static const char *const fuzz_signatures[] = {
	"", "b", "s", "ss", "sb", "bs", "ssssssss", "bbbbbbbb", "sbsbsbsb", "x", NULL
};

#define FUZZ_NSIG (sizeof(fuzz_signatures) / sizeof(fuzz_signatures[0]))

static const char *fuzz_lookup(void *ctx, uint8_t index)
{
	uint8_t shift = *(const uint8_t *)ctx;

	return fuzz_signatures[(uint8_t)(index + shift) % FUZZ_NSIG];
}

static enum proto_result fuzz_parse(void *p, const uint8_t *buf, size_t len, size_t *used)
{
	return mass_request_parse(p, buf, len, used);
}

static void fuzz_same_request(const struct mass_request_parser *a,
			      const struct mass_request_parser *b)
{
	FUZZ_CHECK(a->unsupported == b->unsupported && a->error == b->error);
	FUZZ_CHECK(a->req.index == b->req.index && a->req.nparams == b->req.nparams);
	FUZZ_CHECK(a->req.nparams <= MASS_PARAMS_MAX);
	for (unsigned i = 0; i < a->req.nparams; i++) {
		const struct mass_param *pa = &a->req.params[i], *pb = &b->req.params[i];

		FUZZ_CHECK(pa->len == pb->len && pa->len <= 255);
		FUZZ_CHECK(pa->data[pa->len] == 0);
		FUZZ_CHECK(memcmp(pa->data, pb->data, pa->len) == 0);
		if (a->signature[i] == 'b')
			FUZZ_CHECK(pa->len == 1);
	}
}

static void fuzz_reply(const uint8_t *ops, size_t n)
{
	uint8_t buf[64];
	struct mass_reply r;
	long mark = -1;
	size_t out;

	mass_reply_init(&r, buf, 1 + (n > 0 ? ops[0] % (sizeof(buf) - 1) : 0));
	for (size_t i = 0; i + 1 < n; i += 2) {
		switch (ops[i] % 6) {
		case 0: mass_reply_u8(&r, ops[i + 1]); break;
		case 1: mass_reply_u32(&r, ops[i + 1] * 0x01010101u); break;
		case 2: mass_reply_str(&r, ops, (size_t)ops[i + 1] % (n + 1)); break;
		case 3: mass_reply_bytes(&r, ops, (size_t)ops[i + 1] % (n + 1)); break;
		case 4: mark = mass_reply_count_begin(&r); break;
		default: mass_reply_count_end(&r, mark, ops[i + 1]); break;
		}
		FUZZ_CHECK(r.len <= r.cap);
	}
	out = mass_reply_finish(&r, n > 1 ? ops[1] % 5 : 0);
	FUZZ_CHECK(out >= 1 && out <= r.cap);
	if (buf[0] != 0x00)
		FUZZ_CHECK(out == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mass_request_parser whole, split;
	uint8_t shift;
	size_t used_whole, used_split, cut;
	enum proto_result r;

	if (size < 2)
		return 0;
	shift = data[1];
	cut = fuzz_cut(data, size - 2);
	mass_request_init(&whole, fuzz_lookup, &shift);
	mass_request_init(&split, fuzz_lookup, &shift);
	r = fuzz_feed(fuzz_parse, &whole, data + 2, size - 2, size - 2, &used_whole);
	FUZZ_CHECK(fuzz_feed(fuzz_parse, &split, data + 2, size - 2, cut, &used_split) == r);
	FUZZ_CHECK(used_whole == used_split);
	if (r == PROTO_DONE || r == PROTO_ERROR)
		fuzz_same_request(&whole, &split);
	fuzz_reply(data + 2, size - 2);
	return 0;
}
