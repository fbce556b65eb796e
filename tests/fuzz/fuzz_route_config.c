/*
 * Fuzz target: the per-value parsers of route's mass.ini keys, upstream
 * lists and egress lists (text an operator edits). The input is one value,
 * NUL-terminated here. A refusal has a reason that never holds a decoded
 * password; an accepted upstream has 1..UPSTREAM_MAX_PARENTS parents with
 * ports, printed without credentials; an accepted egress spec picks inside
 * its entries for each family it has.
 */
#include <string.h>

#include "fuzz.h"
#include "route/egress.h"
#include "route/upstream.h"

static struct upstream up;
static struct egress_spec eg;

static void fuzz_upstream(const char *value)
{
	char err[256] = "", s[300], s2[300];
	struct upstream_parent alt;

	if (upstream_parse(value, &up, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(up.n >= 1 && up.n <= UPSTREAM_MAX_PARENTS);
	FUZZ_CHECK(up.max_fails >= 1 && up.fail_timeout >= 1);
	for (size_t i = 0; i < up.n; i++) {
		const struct upstream_parent *p = &up.parent[i];

		FUZZ_CHECK(p->port > 0 && p->host[0] != '\0');
		FUZZ_CHECK(p->proto == UPSTREAM_SOCKS5 || p->proto == UPSTREAM_HTTP);
		upstream_parent_str(p, s, sizeof(s));
		/* the text never depends on the credentials: the same with
		 * others in their place (a password may still happen to be a
		 * piece of "[host]:port", which is no leak) */
		memcpy(&alt, p, sizeof(alt));
		for (char *c = alt.pass; *c != '\0'; c++)
			*c = *c == 'Q' ? 'R' : 'Q';
		for (char *c = alt.user; *c != '\0'; c++)
			*c = *c == 'Q' ? 'R' : 'Q';
		upstream_parent_str(&alt, s2, sizeof(s2));
		FUZZ_CHECK(strcmp(s, s2) == 0);
	}
}

static void fuzz_egress(const char *value)
{
	static const int families[] = { AF_INET, AF_INET6 };
	char err[256] = "";
	struct sockaddr_storage ss;
	socklen_t len;
	bool fb;

	egress_init(&eg);
	if (egress_parse(&eg, value, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	for (size_t f = 0; f < 2; f++) {
		enum egress_result r = egress_pick(&eg, families[f], value, strlen(value),
						   (uint64_t)strlen(value) * 0x9e3779b97f4a7c15ULL,
						   &ss, &len, &fb);
		bool inside = false;

		if (!egress_has_family(&eg, families[f])) {
			FUZZ_CHECK(r == (eg.n == 0 ? EGRESS_NONE : EGRESS_NO_FAMILY));
			continue;
		}
		FUZZ_CHECK(r == EGRESS_OK && ss.ss_family == families[f] && len > 0);
		for (size_t i = 0; i < eg.n; i++)
			inside = inside || (eg.ent[i].family == families[f] &&
					    net_cidr_match(&eg.ent[i], (struct sockaddr *)&ss));
		FUZZ_CHECK(inside);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char value[4096];

	if (size >= sizeof(value))
		return 0;
	memcpy(value, data, size);
	value[size] = '\0';
	fuzz_upstream(value);
	fuzz_egress(value);
	return 0;
}
