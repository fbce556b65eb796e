/* metrics: counters for MASS 02..09. See metrics.h. */
#include "metrics.h"

#include <string.h>


uint64_t metrics_get(const struct metrics *m, enum metrics_counter which)
{
	switch (which) {
	case METRIC_HISTORIC_CONNECTIONS: return m->historic_connections;
	case METRIC_CONCURRENT_CONNECTIONS: return m->concurrent_connections;
	case METRIC_MAX_CONCURRENT_CONNECTIONS: return m->max_concurrent_connections;
	case METRIC_BYTES_TRANSFERRED: return m->read_bytes;
	case METRIC_AUTH_ATTEMPTS: return m->auth_attempts;
	case METRIC_CONNECTION_ATTEMPTS: return m->connection_attempts;
	case METRIC_AVG_BYTES_PER_READ:
		return m->read_calls ? m->read_bytes / m->read_calls : 0;
	case METRIC_AVG_BYTES_PER_WRITE:
		return m->write_calls ? m->write_bytes / m->write_calls : 0;
	}
	return 0;
}

void metrics_reset(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
}
