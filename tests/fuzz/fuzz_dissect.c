/*
 * libFuzzer target for one password dissector, compiled once per protocol
 * with -DFUZZ_DISSECT=DISSECT_xxx -DFUZZ_PORT=n (see Makefile.am). The input
 * is a script of chunks, each a header byte (low bit: direction, the rest:
 * length up to 127) then that many bytes, fed as the relay would, both
 * directions interleaved and split anywhere.
 *
 * The script runs twice: feeding every byte, and doing as the relay does
 * with dissect_pass() (the bytes it lets go are never fed, so a skip ends
 * anywhere: inside a chunk, with pipelined messages behind it). Both runs
 * must report the same credentials and stop alike.
 */
#include <string.h>

#include "dissect/dissect.h"
#include "fuzz.h"

#if !defined(FUZZ_DISSECT) || !defined(FUZZ_PORT)
#error "compile with -DFUZZ_DISSECT=DISSECT_xxx -DFUZZ_PORT=n"
#endif

struct fuzz_run {
	size_t sum;        /* of every reported byte, lengths and results */
	size_t reports;
	bool stopped;
};

static void fuzz_report(void *ctx, const struct dissect_credential *c)
{
	struct fuzz_run *run = ctx;

	/* touch every byte so the sanitizers check the reported spans */
	for (size_t i = 0; i < c->user_len; i++)
		run->sum = run->sum * 31 + (uint8_t)c->user[i];
	run->sum = run->sum * 31 + c->user_len;
	for (size_t i = 0; i < c->pass_len; i++)
		run->sum = run->sum * 31 + (uint8_t)c->pass[i];
	run->sum = run->sum * 31 + c->pass_len;
	run->sum += strlen(c->protocol) + strlen(c->result) * 7;
	run->reports++;
}

static void fuzz_script(const uint8_t *data, size_t size, bool pass, struct fuzz_run *run)
{
	struct dissect_ports ports[DISSECT_COUNT];
	uint64_t unseen[2] = { 0, 0 };
	struct dissect *d;

	memset(ports, 0, sizeof(ports));
	ports[FUZZ_DISSECT].ports[0] = FUZZ_PORT;
	ports[FUZZ_DISSECT].len = 1;
	d = dissect_start(ports, FUZZ_PORT, NULL, 0, fuzz_report, run);
	if (d == NULL)
		return;
	while (size > 0 && !run->stopped) {
		enum dissect_dir dir = (data[0] & 1) ? DISSECT_TO_CLIENT : DISSECT_TO_SERVER;
		size_t len = data[0] >> 1, skip;

		data++;
		size--;
		if (len > size)
			len = size;
		skip = unseen[dir] < len ? (size_t)unseen[dir] : len;
		unseen[dir] -= skip;
		if (dissect_feed(d, dir, data + skip, len - skip) == DISSECT_STOP)
			run->stopped = true;
		for (int i = 0; pass && !run->stopped && i < 2; i++)
			if (unseen[i] == 0)
				unseen[i] = dissect_pass(d, (enum dissect_dir)i);
		data += len;
		size -= len;
	}
	dissect_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run fed = { 0 }, passed = { 0 };

	fuzz_script(data, size, false, &fed);
	fuzz_script(data, size, true, &passed);
	FUZZ_CHECK(fed.sum == passed.sum && fed.reports == passed.reports);
	FUZZ_CHECK(fed.stopped == passed.stopped);
	return 0;
}
