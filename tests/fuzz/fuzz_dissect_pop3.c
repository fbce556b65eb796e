/*
 * libFuzzer target for the POP3 dissector: the input is a script of chunks,
 * each a header byte (low bit: direction, the rest: length up to 127) then
 * that many bytes, fed as the relay would, both directions interleaved and
 * split anywhere.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dissect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	struct config_dissector_ports ports[DISSECT_COUNT];
	volatile size_t sum = 0;
	struct dissect *d;

	memset(ports, 0, sizeof(ports));
	ports[DISSECT_POP3].ports[0] = 110;
	ports[DISSECT_POP3].len = 1;
	d = dissect_start(ports, 110, NULL, 0, fuzz_report, (void *)&sum);
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
