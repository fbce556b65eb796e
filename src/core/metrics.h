/*
 * metrics: the counters behind MASS indexes 02..09, kept by the SOCKS core.
 * Meanings are those of mass-protocol(7) (section "Counters"); all counters
 * are volatile (reset at start). A struct metrics belongs to the loop that
 * counts into it (main's runtime context holds the one there is), handed
 * to those who count (sessions, relays, UDP associations) as a pointer;
 * one thread updates it, so no atomics. Readers (the management plugins)
 * go through metrics_get() on the host's context.
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

static inline void metrics_accepted(struct metrics *m)
{
	m->connection_attempts++;
	if (++m->concurrent_connections > m->max_concurrent_connections)
		m->max_concurrent_connections = m->concurrent_connections;
}

static inline void metrics_closed(struct metrics *m)
{
	m->concurrent_connections--;
}

static inline void metrics_tunnel_established(struct metrics *m) { m->historic_connections++; }
static inline void metrics_auth_attempt(struct metrics *m) { m->auth_attempts++; }

/* Relay I/O that moved n > 0 bytes. Bytes are counted once, when read. */
static inline void metrics_relay_read(struct metrics *m, uint64_t n)
{
	m->read_bytes += n;
	m->read_calls++;
}

static inline void metrics_relay_write(struct metrics *m, uint64_t n)
{
	m->write_bytes += n;
	m->write_calls++;
}

/* The value MASS reports for index `which` (0x02..0x09): the full 64-bit count. */
uint64_t metrics_get(const struct metrics *m, enum metrics_counter which);

/* Zeroes every counter (start of process; tests). */
void metrics_reset(struct metrics *m);

#endif
