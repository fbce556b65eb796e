/*
 * reply64: a u64 reply field (8 octets, big-endian), for the bundled
 * plugins' replies; built from the host's reply_bytes.
 */
#ifndef MASS_REPLY64_H
#define MASS_REPLY64_H

#include <mass/plugin.h>

static inline int reply_u64(const struct mass_host *host, struct mass_reply *r, uint64_t v)
{
	uint8_t be[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		be[i] = (uint8_t)v;
	return host->reply_bytes(r, be, sizeof(be));
}

#endif
