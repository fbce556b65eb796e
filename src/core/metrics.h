/*
 * metrics: the counters behind MASS indexes 02..09, kept by the SOCKS core.
 * Meanings are those of mass-protocol(7) (section "Counters"); all counters
 * are volatile (reset at start). One thread updates them, so no atomics.
 * Readers (the management plugins) go through metrics_get().
 */
#ifndef MASS_METRICS_H
#define MASS_METRICS_H

#include <stdint.h>

enum metrics_counter {
	METRIC_HISTORIC_CONNECTIONS = 0x02, /* tunnels answered with REP 00 */
	METRIC_CONCURRENT_CONNECTIONS,      /* SOCKS client connections open now */
	METRIC_MAX_CONCURRENT_CONNECTIONS,  /* the peak of the above */
	METRIC_BYTES_TRANSFERRED,           /* payload relayed, both ways, once */
	METRIC_AUTH_ATTEMPTS,               /* RFC 1929 sub-negotiations */
	METRIC_CONNECTION_ATTEMPTS,         /* SOCKS client connections accepted */
	METRIC_AVG_BYTES_PER_READ,          /* relayed bytes read / reads that moved bytes */
	METRIC_AVG_BYTES_PER_WRITE          /* relayed bytes written / writes that moved bytes */
};

struct metrics {
	uint64_t historic_connections;
	uint64_t concurrent_connections;
	uint64_t max_concurrent_connections;
	uint64_t auth_attempts;
	uint64_t connection_attempts;
	uint64_t read_bytes, read_calls;
	uint64_t write_bytes, write_calls;
};

extern struct metrics metrics;

static inline void metrics_accepted(void)
{
	metrics.connection_attempts++;
	if (++metrics.concurrent_connections > metrics.max_concurrent_connections)
		metrics.max_concurrent_connections = metrics.concurrent_connections;
}

static inline void metrics_closed(void)
{
	metrics.concurrent_connections--;
}

static inline void metrics_tunnel_established(void) { metrics.historic_connections++; }
static inline void metrics_auth_attempt(void) { metrics.auth_attempts++; }

/* Relay I/O that moved n > 0 bytes. Bytes are counted once, when read. */
static inline void metrics_relay_read(uint64_t n)
{
	metrics.read_bytes += n;
	metrics.read_calls++;
}

static inline void metrics_relay_write(uint64_t n)
{
	metrics.write_bytes += n;
	metrics.write_calls++;
}

/* The value MASS reports for index `which` (0x02..0x09): the full 64-bit count. */
uint64_t metrics_get(enum metrics_counter which);

/* Zeroes every counter (start of process; tests). */
void metrics_reset(void);

#endif
