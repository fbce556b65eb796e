/* metrics: counters for MASS 02..09. See metrics.h. */
#include "metrics.h"

#include <string.h>

struct metrics metrics;

uint64_t metrics_get(enum metrics_counter which)
{
	switch (which) {
	case METRIC_HISTORIC_CONNECTIONS: return metrics.historic_connections;
	case METRIC_CONCURRENT_CONNECTIONS: return metrics.concurrent_connections;
	case METRIC_MAX_CONCURRENT_CONNECTIONS: return metrics.max_concurrent_connections;
	case METRIC_BYTES_TRANSFERRED: return metrics.read_bytes;
	case METRIC_AUTH_ATTEMPTS: return metrics.auth_attempts;
	case METRIC_CONNECTION_ATTEMPTS: return metrics.connection_attempts;
	case METRIC_AVG_BYTES_PER_READ:
		return metrics.read_calls ? metrics.read_bytes / metrics.read_calls : 0;
	case METRIC_AVG_BYTES_PER_WRITE:
		return metrics.write_calls ? metrics.write_bytes / metrics.write_calls : 0;
	}
	return 0;
}

void metrics_reset(void)
{
	memset(&metrics, 0, sizeof(metrics));
}
