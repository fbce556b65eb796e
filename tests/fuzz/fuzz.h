/*
 * fuzz: helpers shared by the libFuzzer targets of this directory.
 *
 * Every stream parser target feeds its input twice: whole, and cut in two at
 * a position taken from the first input octet, then checks that both runs
 * end in the same state. FUZZ_CHECK aborts, which libFuzzer reports as a
 * crash and saves the input.
 */
#ifndef MASS_FUZZ_H
#define MASS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto.h"

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* libFuzzer's entry point; declared for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef enum proto_result (*fuzz_parse_fn)(void *parser, const uint8_t *buf,
					   size_t len, size_t *used);

/* One parse call, checked against the calling convention of proto.h. */
static inline enum proto_result fuzz_call(fuzz_parse_fn parse, void *parser,
					  const uint8_t *buf, size_t len, size_t *used)
{
	enum proto_result r = parse(parser, buf, len, used);

	FUZZ_CHECK(r == PROTO_MORE || r == PROTO_DONE || r == PROTO_ERROR);
	FUZZ_CHECK(*used <= len);
	if (r == PROTO_MORE)
		FUZZ_CHECK(*used == len);
	return r;
}

/*
 * Feeds buf[0..len) in two calls cut at cut (<= len); *total is what was
 * consumed in all. A finished parser must then consume nothing more and
 * repeat its verdict.
 */
static inline enum proto_result fuzz_feed(fuzz_parse_fn parse, void *parser,
					  const uint8_t *buf, size_t len, size_t cut,
					  size_t *total)
{
	size_t used, again;
	enum proto_result r = fuzz_call(parse, parser, buf, cut, &used);

	*total = used;
	if (r == PROTO_MORE) {
		r = fuzz_call(parse, parser, buf + cut, len - cut, &used);
		*total += used;
	}
	if (r != PROTO_MORE) {
		FUZZ_CHECK(fuzz_call(parse, parser, buf, len, &again) == r);
		FUZZ_CHECK(again == 0);
	}
	return r;
}

/*
 * The check every incremental parser target makes: buf[0..len) fed to whole
 * in one piece and to split cut at cut (both freshly initialised parsers of
 * size octets) must give the same verdict, the same consumption (*used) and
 * the same parser state. Returns the verdict.
 */
static inline enum proto_result fuzz_whole_split(fuzz_parse_fn parse, void *whole,
						 void *split, size_t size,
						 const uint8_t *buf, size_t len,
						 size_t cut, size_t *used)
{
	size_t used_split;
	enum proto_result r = fuzz_feed(parse, whole, buf, len, len, used);

	FUZZ_CHECK(fuzz_feed(parse, split, buf, len, cut, &used_split) == r);
	FUZZ_CHECK(*used == used_split);
	FUZZ_CHECK(memcmp(whole, split, size) == 0);
	return r;
}

/* The cut position for a payload of n octets, from the first input octet. */
static inline size_t fuzz_cut(const uint8_t *data, size_t n)
{
	return data[0] % (n + 1);
}

#endif
