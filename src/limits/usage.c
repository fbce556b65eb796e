/*
 * usage: per-user live counts, buckets and quota slots. See usage.h.
 *
 * Two chained hash tables (<sys/queue.h> lists per bucket, FNV-1a, grown
 * at one entry per bucket): users by name, and client addresses by class
 * name and address. Address entries live only while sessions hold them.
 */
#include "usage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define USAGE_INITIAL_BUCKETS 64
#define USAGE_MAX_BUCKETS (1u << 24)

struct usage_addr {
	LIST_ENTRY(usage_addr) chain;
	char cls[LIMITS_CLASS_NAME_MAX + 1];
	uint8_t addr[16];
	unsigned sessions;
};

LIST_HEAD(usage_list, usage_entry);
LIST_HEAD(usage_addr_list, usage_addr);

struct usage_table {
	struct usage_list *users;
	size_t nusers, users_cap;          /* entries, buckets (a power of 2) */
	struct usage_addr_list *addrs;
	size_t naddrs, addrs_cap;
	uint64_t tick_ns;                  /* the last usage_tick(), 0: none yet */
	bool dirty;
};

static uint64_t usage_hash(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define USAGE_FNV_BASIS 0xcbf29ce484222325ULL

const char *usage_verdict_name(enum usage_verdict v)
{
	switch (v) {
	case USAGE_MAX_SESSIONS:
		return "max_sessions";
	case USAGE_MAX_PER_ADDRESS:
		return "max_sessions_per_address";
	case USAGE_QUOTA:
		return "quota";
	case USAGE_OK:
		break;
	}
	return "";
}

struct usage_table *usage_create(void)
{
	struct usage_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->users = calloc(USAGE_INITIAL_BUCKETS, sizeof(*t->users));
	t->addrs = calloc(USAGE_INITIAL_BUCKETS, sizeof(*t->addrs));
	if (!t->users || !t->addrs) {
		free(t->users);
		free(t->addrs);
		free(t);
		return NULL;
	}
	t->users_cap = t->addrs_cap = USAGE_INITIAL_BUCKETS;
	return t;
}

static void usage_entry_free(struct usage_entry *e)
{
	if (e->slots != &e->slot1)
		free(e->slots);
	free(e->name);
	free(e);
}

void usage_destroy(struct usage_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->users_cap; i++) {
		struct usage_entry *e;

		while ((e = LIST_FIRST(&t->users[i])) != NULL) {
			LIST_REMOVE(e, chain);
			usage_entry_free(e);
		}
	}
	for (size_t i = 0; i < t->addrs_cap; i++) {
		struct usage_addr *a;

		while ((a = LIST_FIRST(&t->addrs[i])) != NULL) {
			LIST_REMOVE(a, chain);
			free(a);
		}
	}
	free(t->users);
	free(t->addrs);
	free(t);
}

static struct usage_list *usage_chain(const struct usage_table *t, const char *name,
				      size_t len)
{
	return &t->users[usage_hash(USAGE_FNV_BASIS, name, len) & (t->users_cap - 1)];
}

struct usage_entry *usage_find(struct usage_table *t, const char *name, size_t len)
{
	struct usage_entry *e;

	LIST_FOREACH(e, usage_chain(t, name, len), chain)
		if (e->name_len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

/* Doubles the user buckets when they hold one entry each; a failure only costs speed. */
static void usage_grow(struct usage_table *t)
{
	size_t cap = t->users_cap * 2;
	struct usage_list *users;

	if (t->nusers < t->users_cap || cap > USAGE_MAX_BUCKETS ||
	    !(users = calloc(cap, sizeof(*users))))
		return;
	for (size_t i = 0; i < t->users_cap; i++) {
		struct usage_entry *e;

		while ((e = LIST_FIRST(&t->users[i])) != NULL) {
			LIST_REMOVE(e, chain);
			LIST_INSERT_HEAD(&users[usage_hash(USAGE_FNV_BASIS, e->name, e->name_len) &
						(cap - 1)], e, chain);
		}
	}
	free(t->users);
	t->users = users;
	t->users_cap = cap;
}

/* Sets e's slots for period p, starting empty at the slot holding now_s. */
static int usage_slots_init(struct usage_entry *e, const struct period *p, int64_t now_s)
{
	unsigned n = period_slots(p);
	uint64_t *slots = n == 1 ? &e->slot1 : calloc(n, sizeof(*slots));

	if (!slots)
		return -1;
	if (e->slots && e->slots != &e->slot1)
		free(e->slots);
	e->slot1 = 0;
	e->slots = slots;
	e->nslots = n;
	e->period = *p;
	e->slot_start = period_slot_start(p, now_s);
	e->used = 0;
	return 0;
}

static struct usage_entry *usage_new(struct usage_table *t, const char *name, size_t len,
				     const struct period *p, int64_t now_s)
{
	struct usage_entry *e = calloc(1, sizeof(*e));

	if (!e || !(e->name = malloc(len + 1)) || usage_slots_init(e, p, now_s) != 0) {
		if (e)
			free(e->name);
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->name_len = len;
	usage_grow(t);
	LIST_INSERT_HEAD(usage_chain(t, name, len), e, chain);
	t->nusers++;
	return e;
}

/* The rate of direction d for e's class and quota state. */
static uint64_t usage_rate(const struct usage_entry *e, int d)
{
	uint64_t rate = e->cls ? e->cls->rate[d] : 0;

	if (e->throttled && (rate == 0 || rate > e->cls->throttle_rate))
		rate = e->cls->throttle_rate;
	return rate;
}

/* Applies class and quota state to the buckets and flags. */
static void usage_apply(struct usage_entry *e, uint64_t now_ns)
{
	const struct limits_class *c = e->cls;

	e->exhausted = c && c->quota && e->used >= c->quota;
	e->throttled = e->exhausted && c->action == LIMITS_THROTTLE;
	for (int d = 0; d < 2; d++) {
		uint64_t rate = usage_rate(e, d);
		/* the class's burst goes with the class's rate, not with the throttle */
		uint64_t burst = c && rate == c->rate[d] ? c->burst[d] : 0;

		if (rate && !burst)
			burst = bucket_default_burst(rate);
		if (rate != e->bucket[d].rate || (rate && burst != e->bucket[d].burst))
			bucket_set(&e->bucket[d], rate, burst, now_ns);
	}
}

/*
 * Moves e's slots forward to the slot holding now_s. Returns true when the
 * period (or a day of a rolling one) rolled.
 */
static bool usage_roll(struct usage_table *t, struct usage_entry *e, int64_t now_s)
{
	int64_t start = period_slot_start(&e->period, now_s);
	uint64_t k;

	if (start <= e->slot_start)
		return false;
	k = period_slots_between(&e->period, e->slot_start, start);
	if (k == 0)
		k = 1;
	if (k >= e->nslots) {
		memset(e->slots, 0, e->nslots * sizeof(*e->slots));
	} else {
		memmove(e->slots + k, e->slots, (e->nslots - k) * sizeof(*e->slots));
		memset(e->slots, 0, k * sizeof(*e->slots));
	}
	e->used = 0;
	for (unsigned i = 0; i < e->nslots; i++)
		e->used += e->slots[i];
	e->slot_start = start;
	t->dirty = true;
	return true;
}

static bool usage_same_period(const struct period *a, const struct period *b)
{
	return a->kind == b->kind && a->days == b->days;
}

int usage_set_class(struct usage_table *t, struct usage_entry *e,
		    const struct limits_class *cls, uint64_t now_ns, int64_t now_s)
{
	if (cls && !limits_class_limited(cls))
		cls = NULL;
	if (cls && !usage_same_period(&cls->period, &e->period)) {
		if (usage_slots_init(e, &cls->period, now_s) != 0)
			return -1;
		t->dirty = true;
	}
	usage_roll(t, e, now_s);
	e->cls = cls;
	usage_apply(e, now_ns);
	return 0;
}

struct usage_entry *usage_get(struct usage_table *t, const char *name, size_t len,
			      const struct limits_class *cls, uint64_t now_ns, int64_t now_s)
{
	struct usage_entry *e = usage_find(t, name, len);
	bool limited = cls && limits_class_limited(cls);

	if (!limited) {
		if (e && e->cls)
			usage_set_class(t, e, NULL, now_ns, now_s);
		return NULL;
	}
	if (!e) {
		e = usage_new(t, name, len, &cls->period, now_s);
		if (!e)
			return NULL;
		for (int d = 0; d < 2; d++)
			bucket_init(&e->bucket[d], 0, 0, now_ns);
	}
	if (e->cls != cls && usage_set_class(t, e, cls, now_ns, now_s) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	usage_roll(t, e, now_s);
	return e;
}

size_t usage_reclass(struct usage_table *t,
		     const struct limits_class *(*lookup)(void *arg, const char *name,
							  size_t len),
		     void *arg, uint64_t now_ns, int64_t now_s)
{
	size_t failed = 0;

	for (size_t i = 0; i < t->users_cap; i++) {
		struct usage_entry *e;

		LIST_FOREACH(e, &t->users[i], chain)
			failed += usage_set_class(t, e, lookup(arg, e->name, e->name_len),
						  now_ns, now_s) != 0;
	}
	return failed;
}

static struct usage_addr_list *usage_addr_chain(const struct usage_table *t,
						const char *cls, const uint8_t addr[16])
{
	uint64_t h = usage_hash(usage_hash(USAGE_FNV_BASIS, cls, strlen(cls)), addr, 16);

	return &t->addrs[h & (t->addrs_cap - 1)];
}

static struct usage_addr *usage_addr_find(const struct usage_table *t, const char *cls,
					  const uint8_t addr[16])
{
	struct usage_addr *a;

	LIST_FOREACH(a, usage_addr_chain(t, cls, addr), chain)
		if (memcmp(a->addr, addr, 16) == 0 && strcmp(a->cls, cls) == 0)
			return a;
	return NULL;
}

unsigned usage_address_sessions(const struct usage_table *t, const char *cls_name,
				const uint8_t addr[16])
{
	const struct usage_addr *a = usage_addr_find(t, cls_name, addr);

	return a ? a->sessions : 0;
}

/* The address entry of a new session, made when absent; NULL on ENOMEM. */
static struct usage_addr *usage_addr_get(struct usage_table *t, const char *cls,
					 const uint8_t addr[16])
{
	struct usage_addr *a = usage_addr_find(t, cls, addr);

	if (a)
		return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	memcpy(a->cls, cls, strlen(cls) + 1);
	memcpy(a->addr, addr, 16);
	LIST_INSERT_HEAD(usage_addr_chain(t, cls, addr), a, chain);
	t->naddrs++;
	return a;
}

enum usage_verdict usage_session_open(struct usage_table *t, struct usage_entry *e,
				      const uint8_t addr[16], int64_t now_s,
				      struct usage_ticket *ticket)
{
	const struct limits_class *c = e->cls;
	struct usage_addr *a = NULL;
	enum usage_verdict v = USAGE_OK;

	*ticket = (struct usage_ticket){ NULL, NULL };
	usage_roll(t, e, now_s);
	if (c && c->quota && e->used >= c->quota && c->action != LIMITS_THROTTLE)
		v = USAGE_QUOTA;
	else if (c && c->max_sessions && e->sessions >= c->max_sessions)
		v = USAGE_MAX_SESSIONS;
	else if (c && c->max_sessions_per_address &&
		 usage_address_sessions(t, c->name, addr) >= c->max_sessions_per_address)
		v = USAGE_MAX_PER_ADDRESS;
	if (v != USAGE_OK) {
		e->refused++;
		return v;
	}
	/* without a per-address limit nothing is counted per address (no allocation) */
	if (c && c->max_sessions_per_address) {
		a = usage_addr_get(t, c->name, addr);
		if (a)
			a->sessions++;
	}
	e->sessions++;
	ticket->entry = e;
	ticket->addr = a;
	return USAGE_OK;
}

void usage_session_close(struct usage_table *t, struct usage_ticket *ticket)
{
	struct usage_addr *a = ticket->addr;

	if (ticket->entry && ticket->entry->sessions > 0)
		ticket->entry->sessions--;
	if (a && --a->sessions == 0) {
		LIST_REMOVE(a, chain);
		t->naddrs--;
		free(a);
	}
	*ticket = (struct usage_ticket){ NULL, NULL };
}

bool usage_add(struct usage_table *t, struct usage_entry *e, int dir, uint64_t bytes,
	       uint64_t now_ns, int64_t now_s)
{
	bool was;

	if (bytes == 0)
		return false;
	if (usage_roll(t, e, now_s) && e->exhausted)
		usage_apply(e, now_ns);
	was = e->exhausted;
	if (e->undrained && e->undrained_start != e->slot_start) {
		/* a roll since the last drain: those bytes keep their slot */
		e->undrained_old += e->undrained;
		e->undrained_old_start = e->undrained_start;
		e->undrained = 0;
	}
	e->undrained += bytes;
	e->undrained_start = e->slot_start;
	e->slots[0] += bytes;
	e->used += bytes;
	e->window_bytes[dir & 1] += bytes;
	t->dirty = true;
	if (!was && e->cls && e->cls->quota && e->used >= e->cls->quota) {
		usage_apply(e, now_ns);
		return true;
	}
	return false;
}

uint64_t usage_quota_left(struct usage_table *t, struct usage_entry *e, int64_t now_s)
{
	const struct limits_class *c = e->cls;

	usage_roll(t, e, now_s);
	if (!c || !c->quota || e->throttled)
		return UINT64_MAX;
	return e->used >= c->quota ? 0 : c->quota - e->used;
}

size_t usage_drain(struct usage_entry *e,
		   void (*fn)(void *arg, const struct usage_entry *e, int64_t slot_start,
			      uint64_t bytes), void *arg)
{
	size_t n = 0;

	if (e->undrained_old) {
		fn(arg, e, e->undrained_old_start, e->undrained_old);
		e->undrained_old = 0;
		n++;
	}
	if (e->undrained) {
		fn(arg, e, e->undrained_start, e->undrained);
		e->undrained = 0;
		n++;
	}
	return n;
}

int usage_fleet_set(struct usage_table *t, struct usage_entry *e, int64_t slot_start,
		    uint64_t fleet_used, uint64_t now_ns, int64_t now_s)
{
	uint64_t want, local;

	usage_roll(t, e, now_s);
	if (slot_start != e->slot_start)
		return -1;
	local = e->undrained_start == e->slot_start ? e->undrained : 0;
	want = fleet_used + local;
	/* the current slot is the fleet's (the whole count for a calendar period) */
	e->slots[0] = want;
	e->used = 0;
	for (unsigned i = 0; i < e->nslots; i++)
		e->used += e->slots[i];
	t->dirty = true;
	usage_apply(e, now_ns);
	return 0;
}

void usage_reset(struct usage_table *t, struct usage_entry *e, uint64_t now_ns, int64_t now_s)
{
	usage_roll(t, e, now_s);
	memset(e->slots, 0, e->nslots * sizeof(*e->slots));
	e->used = 0;
	t->dirty = true;
	usage_apply(e, now_ns);
}

size_t usage_tick(struct usage_table *t, uint64_t now_ns, int64_t now_s)
{
	uint64_t elapsed = t->tick_ns && now_ns > t->tick_ns ? now_ns - t->tick_ns : 0;
	size_t lifted = 0;

	for (size_t i = 0; i < t->users_cap; i++) {
		struct usage_entry *e;

		LIST_FOREACH(e, &t->users[i], chain) {
			for (int d = 0; d < 2; d++) {
				e->live_rate[d] = elapsed ? (uint64_t)((double)e->window_bytes[d] *
								       1e9 / (double)elapsed) : 0;
				e->window_bytes[d] = 0;
			}
			if (usage_roll(t, e, now_s) && e->exhausted) {
				usage_apply(e, now_ns);
				lifted += !e->exhausted;
			}
		}
	}
	t->tick_ns = now_ns;
	return lifted;
}

int usage_restore(struct usage_table *t, const char *name, size_t len,
		  const struct period *period, int64_t slot_start, const uint64_t *slots,
		  unsigned nslots, int64_t now_s)
{
	struct usage_entry *e = usage_find(t, name, len);
	int64_t now_start = period_slot_start(period, now_s);
	uint64_t k;

	if (nslots == 0 || nslots > period_slots(period) ||
	    period_slot_start(period, slot_start) != slot_start) {
		errno = EINVAL;
		return -1;
	}
	if (!e && !(e = usage_new(t, name, len, period, now_s)))
		return -1;
	if (!usage_same_period(&e->period, period))
		return 0;   /* the entry's class counts another period: the record is moot */
	usage_roll(t, e, now_s);
	if (slot_start > now_start)
		return 0;   /* from the future (a clock set back): not trusted */
	k = period_slots_between(period, slot_start, now_start);
	if (slot_start < now_start && k == 0)
		k = 1;
	for (uint64_t i = 0; i + k < e->nslots && i < nslots; i++) {
		e->slots[i + k] += slots[i];
		e->used += slots[i];
	}
	t->dirty = true;
	return 0;
}

void usage_each(struct usage_table *t, void (*fn)(void *arg, struct usage_entry *e),
		void *arg)
{
	for (size_t i = 0; i < t->users_cap; i++) {
		struct usage_entry *e;

		LIST_FOREACH(e, &t->users[i], chain)
			fn(arg, e);
	}
}

size_t usage_prune(struct usage_table *t)
{
	size_t freed = 0;

	for (size_t i = 0; i < t->users_cap; i++) {
		struct usage_entry *e = LIST_FIRST(&t->users[i]), *next;

		for (; e; e = next) {
			next = LIST_NEXT(e, chain);
			if (e->cls || e->sessions || e->used)
				continue;
			LIST_REMOVE(e, chain);
			usage_entry_free(e);
			t->nusers--;
			freed++;
		}
	}
	return freed;
}

size_t usage_count(const struct usage_table *t)
{
	return t->nusers;
}

bool usage_dirty(const struct usage_table *t)
{
	return t->dirty;
}

void usage_clear_dirty(struct usage_table *t)
{
	t->dirty = false;
}
