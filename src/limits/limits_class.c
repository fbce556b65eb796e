/* limits_class: classes of per-user limits and their table. See limits_class.h. */
#include "limits_class.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits/units.h"

/* The keys, in the order of the header; a bit each in struct limits_class.keys. */
enum limits_key {
	K_UPLOAD_RATE, K_DOWNLOAD_RATE, K_UPLOAD_BURST, K_DOWNLOAD_BURST,
	K_MAX_SESSIONS, K_MAX_PER_ADDRESS, K_QUOTA, K_QUOTA_PERIOD, K_QUOTA_ACTION,
	K_THROTTLE_RATE, K_COUNT
};

static const char *const limits_keys[K_COUNT] = {
	"upload_rate", "download_rate", "upload_burst", "download_burst",
	"max_sessions", "max_sessions_per_address", "quota", "quota_period",
	"quota_action", "quota_throttle_rate",
};

static const char *const limits_actions[] = { "refuse", "close", "throttle" };

bool limits_class_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len >= 1 && len <= LIMITS_CLASS_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-") == len;
}

void limits_class_init(struct limits_class *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->period.kind = PERIOD_DAY;
	c->action = LIMITS_REFUSE;
	c->throttle_rate = LIMITS_THROTTLE_DEFAULT;
}

const char *limits_class_action_name(enum limits_action a)
{
	return (unsigned)a < 3 ? limits_actions[a] : "?";
}

static int limits_class_burst(const char *value, uint64_t *out, char *err, size_t errlen)
{
	if (units_size(value, out, err, errlen) != 0)
		return -1;
	if (*out < LIMITS_BURST_MIN) {
		snprintf(err, errlen, "a burst below 4K would wake a tunnel for scraps "
			 "(at least 4K)");
		return -1;
	}
	return 0;
}

static int limits_class_sessions(const char *value, unsigned *out, char *err, size_t errlen)
{
	uint64_t v;

	if (units_decimal(value, LIMITS_SESSIONS_MAX, &v, err, errlen) != 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int limits_class_action(const char *value, enum limits_action *out, char *err,
			       size_t errlen)
{
	for (size_t i = 0; i < 3; i++)
		if (strcmp(value, limits_actions[i]) == 0) {
			*out = (enum limits_action)i;
			return 0;
		}
	snprintf(err, errlen, "\"%s\" is not an action (refuse, close or throttle)", value);
	return -1;
}

int limits_class_set(struct limits_class *c, const char *key, const char *value,
		     char *err, size_t errlen)
{
	int k, rc = -1;

	for (k = 0; k < K_COUNT; k++)
		if (strcmp(key, limits_keys[k]) == 0)
			break;
	switch (k) {
	case K_UPLOAD_RATE:
	case K_DOWNLOAD_RATE:
		rc = units_rate(value, &c->rate[k - K_UPLOAD_RATE], err, errlen);
		break;
	case K_UPLOAD_BURST:
	case K_DOWNLOAD_BURST:
		rc = limits_class_burst(value, &c->burst[k - K_UPLOAD_BURST], err, errlen);
		break;
	case K_MAX_SESSIONS:
		rc = limits_class_sessions(value, &c->max_sessions, err, errlen);
		break;
	case K_MAX_PER_ADDRESS:
		rc = limits_class_sessions(value, &c->max_sessions_per_address, err, errlen);
		break;
	case K_QUOTA:
		rc = units_size(value, &c->quota, err, errlen);
		break;
	case K_QUOTA_PERIOD:
		rc = period_parse(value, &c->period, err, errlen);
		break;
	case K_QUOTA_ACTION:
		rc = limits_class_action(value, &c->action, err, errlen);
		break;
	case K_THROTTLE_RATE:
		rc = units_rate(value, &c->throttle_rate, err, errlen);
		if (rc == 0 && c->throttle_rate == 0) {
			snprintf(err, errlen, "a throttle rate of 0 would stall every tunnel "
				 "(use quota_action = close)");
			rc = -1;
		}
		break;
	default:
		snprintf(err, errlen, "unknown key");
		return -1;
	}
	if (rc == 0)
		c->keys |= 1u << k;
	return rc;
}

int limits_class_check(const struct limits_class *c, const char **key, char *err,
		       size_t errlen)
{
	for (int d = 0; d < 2; d++)
		if ((c->keys & (1u << (K_UPLOAD_BURST + d))) && c->rate[d] == 0) {
			*key = limits_keys[K_UPLOAD_BURST + d];
			snprintf(err, errlen, "a burst without %s", limits_keys[K_UPLOAD_RATE + d]);
			return -1;
		}
	for (int k = K_QUOTA_PERIOD; k <= K_THROTTLE_RATE; k++)
		if ((c->keys & (1u << k)) && c->quota == 0) {
			*key = limits_keys[k];
			snprintf(err, errlen, "%s without a quota", limits_keys[k]);
			return -1;
		}
	if ((c->keys & (1u << K_THROTTLE_RATE)) && c->action != LIMITS_THROTTLE) {
		*key = limits_keys[K_THROTTLE_RATE];
		snprintf(err, errlen, "quota_throttle_rate without quota_action = throttle");
		return -1;
	}
	return 0;
}

bool limits_class_limited(const struct limits_class *c)
{
	return c->rate[0] || c->rate[1] || c->max_sessions || c->max_sessions_per_address ||
	       c->quota;
}

int limits_class_table_init(struct limits_class_table *t)
{
	memset(t, 0, sizeof(*t));
	t->list = malloc(4 * sizeof(*t->list));
	if (!t->list)
		return -1;
	t->cap = 4;
	t->len = 1;
	limits_class_init(&t->list[0], LIMITS_CLASS_DEFAULT);
	return 0;
}

void limits_class_table_free(struct limits_class_table *t)
{
	free(t->list);
	memset(t, 0, sizeof(*t));
}

const struct limits_class *limits_class_table_find(const struct limits_class_table *t,
						   const char *name)
{
	for (size_t i = 0; i < t->len; i++)
		if (strcmp(t->list[i].name, name) == 0)
			return &t->list[i];
	return NULL;
}

struct limits_class *limits_class_table_get(struct limits_class_table *t, const char *name,
					    char *err, size_t errlen)
{
	struct limits_class *list;

	if (!limits_class_name_valid(name)) {
		snprintf(err, errlen, "invalid class name (letters, digits, '_' and '-', "
			 "at most %d)", LIMITS_CLASS_NAME_MAX);
		return NULL;
	}
	for (size_t i = 0; i < t->len; i++)
		if (strcmp(t->list[i].name, name) == 0)
			return &t->list[i];
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4;

		list = realloc(t->list, cap * sizeof(*list));
		if (!list) {
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			return NULL;
		}
		t->list = list;
		t->cap = cap;
	}
	limits_class_init(&t->list[t->len], name);
	return &t->list[t->len++];
}
