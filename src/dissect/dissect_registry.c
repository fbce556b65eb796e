/*
 * dissect_registry: the table of protocol rows (one per line of dissect.h's
 * DISSECT_PROTOCOLS) and the choice of the dissector a flow gets. The only
 * file that knows every protocol; their rules are in their own rows.
 */
#include "dissect.h"

#include <string.h>

#include "dissect_int.h"

#define DISSECT_ROW_(id, key, ...) [DISSECT_##id] = &dissect_proto_##id,
static const struct dissect_proto *const dissect_protos[DISSECT_COUNT] = {
	DISSECT_PROTOCOLS(DISSECT_ROW_)
};
#undef DISSECT_ROW_

static bool dissect_port_watched(const struct dissect_ports *p, uint16_t port)
{
	for (size_t i = 0; i < p->len && i < DISSECT_MAX_PORTS; i++)
		if (p->ports[i] == port)
			return true;
	return false;
}

/* Does a protocol's sniff hook claim the client's first bytes? */
static bool dissect_claims_start(const struct dissect_proto *p, const uint8_t *buf, size_t len)
{
	struct dissect_unit u = { .s = (const char *)buf, .len = len };

	return buf != NULL && p->sniff != NULL &&
	       p->sniff(DISSECT_TO_SERVER, &u, true) != DISSECT_SNIFF_NO;
}

bool dissect_looks_like_http(const uint8_t *buf, size_t len)
{
	return dissect_claims_start(dissect_protos[DISSECT_HTTP], buf, len);
}

struct dissect *dissect_start(const struct dissect_ports ports[DISSECT_COUNT],
			      uint16_t dest_port, const uint8_t *first_bytes, size_t first_len,
			      dissect_report_fn *report, void *ctx)
{
	const struct dissect_proto *candidates[DISSECT_COUNT], *by_port = NULL, *sniffed = NULL;
	size_t n = 0;

	for (size_t i = 0; i < DISSECT_COUNT; i++) {
		if (ports[i].len == 0)
			continue;
		candidates[n++] = dissect_protos[i];
		if (by_port == NULL && dissect_port_watched(&ports[i], dest_port))
			by_port = dissect_protos[i];
		if (sniffed == NULL && dissect_claims_start(dissect_protos[i], first_bytes, first_len))
			sniffed = dissect_protos[i];
	}
	/* a port none watches: the first bytes may still tell the protocol */
	if (by_port == NULL)
		by_port = sniffed;
	if (by_port == NULL)
		return NULL;
	return dissect_flow_new(candidates, n, by_port, report, ctx);
}
