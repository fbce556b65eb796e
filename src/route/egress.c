/* egress: source address picking. See egress.h. */
#include "egress.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char egress_key[] = "mass-egress-1";

void egress_init(struct egress_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = EGRESS_RANDOM;
}

static int egress_add(struct egress_spec *s, const char *text, char *err, size_t errlen)
{
	struct net_cidr c;

	if (net_cidr_parse(text, &c, err, errlen) < 0)
		return -1;
	if (c.family == AF_INET && c.prefix != 32) {
		snprintf(err, errlen, "\"%s\": an IPv4 block; list its addresses (only IPv6 "
			 "prefixes are picked from)", text);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(&s->ent[i], &c, sizeof(c)) == 0) {
			snprintf(err, errlen, "\"%s\": listed twice", text);
			return -1;
		}
	if (s->n == EGRESS_MAX) {
		snprintf(err, errlen, "more than %d egress entries", EGRESS_MAX);
		return -1;
	}
	s->ent[s->n++] = c;
	return 0;
}

int egress_parse(struct egress_spec *s, const char *list, char *err, size_t errlen)
{
	char word[64];
	const char *p = list;

	for (;;) {
		size_t n;

		p += strspn(p, ", \t");
		if (*p == '\0')
			return 0;
		n = strcspn(p, ", \t");
		if (n >= sizeof(word)) {
			snprintf(err, errlen, "\"%.*s...\": not an address", 20, p);
			return -1;
		}
		memcpy(word, p, n);
		word[n] = '\0';
		if (egress_add(s, word, err, errlen) < 0)
			return -1;
		p += n;
	}
}

int egress_mode_parse(const char *text, enum egress_mode *mode, char *err, size_t errlen)
{
	if (strcmp(text, "random") == 0)
		*mode = EGRESS_RANDOM;
	else if (strcmp(text, "sticky") == 0)
		*mode = EGRESS_STICKY;
	else {
		snprintf(err, errlen, "\"%s\": not random or sticky", text);
		return -1;
	}
	return 0;
}

bool egress_has_family(const struct egress_spec *s, int family)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ent[i].family == family)
			return true;
	return false;
}

/* MurmurHash3's 64-bit finaliser: every output bit depends on every input bit. */
static uint64_t egress_fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static uint64_t egress_fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t egress_hash(const char *user, size_t ulen)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = egress_fnv1a(h, (const uint8_t *)egress_key, sizeof(egress_key) - 1);
	h = egress_fnv1a(h, (const uint8_t *)user, ulen);
	return egress_fmix64(h);
}

uint64_t egress_random(void)
{
	uint64_t v = 0;

	/* getrandom(2) of 8 bytes does not block once the pool is ready, and is
	 * not interrupted; should it fail, a zero value still picks an address */
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = 0;
	return v;
}

/* Fills the host bits of a prefix from seed (a splitmix64 stream). */
static void egress_fill_host(uint8_t addr[16], unsigned prefix, uint64_t seed)
{
	uint8_t bits[16];
	bool zero = true;

	for (size_t i = 0; i < 16; i += 8) {
		uint64_t v = egress_fmix64(seed += 0x9e3779b97f4a7c15ULL);

		for (size_t j = 0; j < 8; j++)
			bits[i + j] = (uint8_t)(v >> (8 * j));
	}
	for (unsigned b = prefix; b < 128; b++) {
		uint8_t m = (uint8_t)(0x80u >> (b % 8));

		addr[b / 8] = (uint8_t)((addr[b / 8] & ~m) | (bits[b / 8] & m));
		zero = zero && !(addr[b / 8] & m);
	}
	if (zero && prefix < 127)
		addr[15] |= 1;
}

enum egress_result egress_pick(const struct egress_spec *s, int family, const char *user,
			       size_t ulen, uint64_t rnd, struct sockaddr_storage *out,
			       socklen_t *outlen, bool *freebind)
{
	uint64_t seed = s->mode == EGRESS_STICKY && user != NULL && ulen > 0 ?
			egress_hash(user, ulen) : rnd;
	size_t count = 0, want;
	const struct net_cidr *c = NULL;

	memset(out, 0, sizeof(*out));
	*outlen = 0;
	*freebind = false;
	if (s->n == 0)
		return EGRESS_NONE;
	for (size_t i = 0; i < s->n; i++)
		count += s->ent[i].family == family;
	if (count == 0)
		return EGRESS_NO_FAMILY;
	want = (size_t)(seed % count);
	for (size_t i = 0; c == NULL; i++)
		if (s->ent[i].family == family && want-- == 0)
			c = &s->ent[i];
	if (family == AF_INET) {
		out->ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)out)->sin_addr, c->addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
		uint8_t addr[16];

		memcpy(addr, c->addr, 16);
		if (c->prefix < 128) {
			egress_fill_host(addr, c->prefix, seed);
			*freebind = true;
		}
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
	}
	*outlen = net_addr_len((const struct sockaddr *)out);
	return EGRESS_OK;
}
