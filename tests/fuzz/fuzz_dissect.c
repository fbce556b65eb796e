/*
 * libFuzzer target for one password dissector, compiled once per protocol
 * with -DFUZZ_DISSECT=DISSECT_xxx -DFUZZ_PORT=n (see Makefile.am). The input
 * is a script of chunks, each a header byte (low bit: direction, the rest:
 * length up to 127) then that many bytes, fed as the relay would, both
 * directions interleaved and split anywhere.
 */
#include <string.h>

#include "dissect/dissect.h"
#include "fuzz.h"

#if !defined(FUZZ_DISSECT) || !defined(FUZZ_PORT)
#error "compile with -DFUZZ_DISSECT=DISSECT_xxx -DFUZZ_PORT=n"
#endif

static void fuzz_report(void *ctx, const struct dissect_credential *c)
{
	volatile size_t *sum = ctx;

	/* touch every byte so the sanitizers check the reported spans */
	for (size_t i = 0; i < c->user_len; i++)
		*sum += (uint8_t)c->user[i];
	for (size_t i = 0; i < c->pass_len; i++)
		*sum += (uint8_t)c->pass[i];
	*sum += strlen(c->protocol) + strlen(c->result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dissect_ports ports[DISSECT_COUNT];
	volatile size_t sum = 0;
	struct dissect *d;

	memset(ports, 0, sizeof(ports));
	ports[FUZZ_DISSECT].ports[0] = FUZZ_PORT;
	ports[FUZZ_DISSECT].len = 1;
	d = dissect_start(ports, FUZZ_PORT, NULL, 0, fuzz_report, (void *)&sum);
	if (d == NULL)
		return 0;
	while (size > 0) {
		enum dissect_dir dir = (data[0] & 1) ? DISSECT_TO_CLIENT : DISSECT_TO_SERVER;
		size_t len = data[0] >> 1;

		data++;
		size--;
		if (len > size)
			len = size;
		if (dissect_feed(d, dir, data, len) == DISSECT_STOP)
			break;
		data += len;
		size -= len;
	}
	dissect_free(d);
	return 0;
}
