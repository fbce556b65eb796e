/* pace: login pacing per source address. See pace.h. */
#include "pace.h"

#include <string.h>

#include "core/net.h"

void pace_init(struct pace *p, uint64_t min_ms, uint64_t max_ms)
{
	memset(p, 0, sizeof(*p));
	p->min_ms = min_ms;
	p->max_ms = max_ms < min_ms ? min_ms : max_ms;
}

/* The source of sa: 4 octets for IPv4, the /64 for IPv6; 0 for other families. */
static size_t pace_key(const struct sockaddr *sa, uint8_t key[16])
{
	size_t len = net_host(sa, key);

	return len == 16 ? 8 : len;
}

/*
 * The slot of sa's source; made when make is set, in a free slot or that of
 * the least recently used source with nothing in flight and nothing held.
 * NULL when there is none (or sa has no address).
 */
static struct pace_source *pace_find(struct pace *p, const struct sockaddr *sa, bool make,
				     uint64_t now_ms)
{
	uint8_t key[16];
	size_t len = pace_key(sa, key);
	struct pace_source *victim = NULL;

	if (len == 0)
		return NULL;
	for (size_t i = 0; i < PACE_SOURCES; i++) {
		struct pace_source *s = &p->src[i];

		if (s->keylen == len && memcmp(s->key, key, len) == 0) {
			if (make)
				s->last_ms = now_ms;
			return s;
		}
		if (victim != NULL && victim->keylen == 0)
			continue;  /* a free slot found: it is the one */
		if (s->keylen == 0 || (s->inflight == 0 && s->unauth == 0 &&
				       (victim == NULL || s->last_ms < victim->last_ms)))
			victim = s;
	}
	if (!make || victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, len);
	victim->keylen = (uint8_t)len;
	victim->last_ms = now_ms;
	return victim;
}

uint64_t pace_delay(const struct pace *p, unsigned n)
{
	uint64_t ms = p->min_ms;

	while (n-- > 1 && ms < p->max_ms)
		ms *= 2;
	return ms < p->max_ms ? ms : p->max_ms;
}

uint64_t pace_admit(struct pace *p, const struct sockaddr *sa, uint64_t now_ms)
{
	struct pace_source *s = pace_find(p, sa, true, now_ms);

	if (s == NULL)
		return 0;  /* a full table of busy sources: not held back (see pace.h) */
	if (s->fails > 0) {
		if (now_ms < s->next_ms)
			return s->next_ms - now_ms;
		if (s->inflight > 0)
			return PACE_POLL_MS;
	}
	s->inflight++;
	return 0;
}

uint64_t pace_end(struct pace *p, const struct sockaddr *sa, enum pace_result result,
		  uint64_t now_ms, unsigned *fails)
{
	struct pace_source *s = pace_find(p, sa, result == PACE_FAIL, now_ms);
	uint64_t delay = 0;

	if (s == NULL) {
		if (fails)
			*fails = result == PACE_FAIL;
		return result == PACE_FAIL ? pace_delay(p, 1) : 0;
	}
	if (s->inflight > 0)
		s->inflight--;
	if (result == PACE_OK) {
		s->fails = 0;
		s->next_ms = 0;
	} else if (result == PACE_FAIL) {
		s->fails++;
		delay = pace_delay(p, s->fails);
		s->next_ms = now_ms + delay;
	}
	if (fails)
		*fails = s->fails;
	return delay;
}

bool pace_hold(struct pace *p, const struct sockaddr *sa, unsigned cap, uint64_t now_ms)
{
	struct pace_source *s = pace_find(p, sa, true, now_ms);

	if (s == NULL)
		return true;  /* untracked: let in, and pace_release finds nothing */
	if (s->unauth >= cap)
		return false;
	s->unauth++;
	return true;
}

void pace_release(struct pace *p, const struct sockaddr *sa)
{
	struct pace_source *s = pace_find(p, sa, false, 0);

	if (s != NULL && s->unauth > 0)
		s->unauth--;
}

bool pace_same_source(const struct sockaddr *a, const struct sockaddr *b)
{
	uint8_t ka[16], kb[16];
	size_t la = pace_key(a, ka);

	return la > 0 && la == pace_key(b, kb) && memcmp(ka, kb, la) == 0;
}
