/* routes: [upstreams] and [routes]. See routes.h. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One [routes] rule: its conditions as a one-rule ACL that denies on a match. */
struct routes_rule {
	struct acl *match;
	struct routes_upstream *to;      /* NULL: direct */
	int line;
};

struct routes {
	struct routes_upstream *ups;
	size_t nups;
	struct routes_rule *rules;
	size_t nrules;
	struct routes_class *classes;
	size_t nclasses;
};

static bool routes_valid_name(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= ROUTES_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n &&
	       strcmp(name, "direct") != 0;
}

int routes_check_upstream(const char *name, const char *value, char *err, size_t errlen)
{
	struct upstream u;
	int rc;

	if (!routes_valid_name(name)) {
		snprintf(err, errlen, "invalid upstream name (letters, digits, '-' and '_', at "
			 "most %d; not \"direct\")", ROUTES_NAME_MAX);
		return -1;
	}
	rc = upstream_parse(value, &u, err, errlen);
	upstream_wipe(&u);
	return rc;
}

void routes_free(struct routes *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nups; i++)
		upstream_wipe(&r->ups[i].up);
	for (size_t i = 0; i < r->nrules; i++)
		acl_free(r->rules[i].match);
	free(r->ups);
	free(r->rules);
	free(r->classes);
	free(r);
}

/* Takes over the health of the parents of u that old has unchanged. */
static void routes_carry(struct routes_upstream *u, const struct routes *old)
{
	char a[320], b[320];

	for (size_t i = 0; old != NULL && i < old->nups; i++) {
		const struct routes_upstream *o = &old->ups[i];

		if (strcmp(o->name, u->name) != 0)
			continue;
		for (size_t p = 0; p < u->up.n; p++)
			for (size_t q = 0; q < o->up.n; q++)
				if (strcmp(upstream_parent_str(&u->up.parent[p], a, sizeof(a)),
					   upstream_parent_str(&o->up.parent[q], b, sizeof(b))) == 0)
					u->health[p] = o->health[q];
	}
}

static int routes_add_upstreams(struct routes *r, const struct routes_text *t, size_t n,
				const char *path, const struct routes *old, char *err,
				size_t errlen)
{
	char why[256];

	if (n > 0 && (r->ups = calloc(n, sizeof(*r->ups))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct routes_upstream *u = &r->ups[i];

		if (routes_check_upstream(t[i].key, t[i].value, why, sizeof(why)) < 0 ||
		    upstream_parse(t[i].value, &u->up, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: [upstreams] %s: %s", path, t[i].line,
				 t[i].key, why);
			return -1;
		}
		r->nups++;
		if (routes_find(r, t[i].key) != NULL) {
			snprintf(err, errlen, "%s:%d: [upstreams] %s: duplicate upstream", path,
				 t[i].line, t[i].key);
			return -1;
		}
		snprintf(u->name, sizeof(u->name), "%s", t[i].key);
		routes_carry(u, old);
	}
	return 0;
}

/* The reason of an acl_compile() error ("PATH:LINE: [acl] deny: REASON"). */
static const char *routes_acl_reason(const char *err)
{
	const char *p = strstr(err, "[acl] deny: ");

	return p != NULL ? p + strlen("[acl] deny: ") : err;
}

static int routes_add_rules(struct routes *r, const struct routes_text *t, size_t n,
			    const char *path, char *err, size_t errlen)
{
	char why[320];

	if (n > 0 && (r->rules = calloc(n, sizeof(*r->rules))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct routes_rule *rule = &r->rules[i];
		const struct acl_rule_text text = { "deny", t[i].value, t[i].line };
		const struct acl_rules one = { &text, 1, path };

		rule->line = t[i].line;
		if (strcmp(t[i].key, "direct") != 0 &&
		    (rule->to = routes_find(r, t[i].key)) == NULL) {
			snprintf(err, errlen, "%s:%d: [routes] %s: no such upstream (in [upstreams]) "
				 "and not \"direct\"", path, t[i].line, t[i].key);
			return -1;
		}
		rule->match = acl_compile(&one, NULL, why, sizeof(why));
		if (rule->match == NULL) {
			snprintf(err, errlen, "%s:%d: [routes] %s: %s", path, t[i].line, t[i].key,
				 routes_acl_reason(why));
			return -1;
		}
		r->nrules++;
	}
	return 0;
}

struct routes *routes_build(const struct routes_text *upstreams, size_t nupstreams,
			    const struct routes_text *rules, size_t nrules, const char *path,
			    const struct routes *old, char *err, size_t errlen)
{
	struct routes *r = calloc(1, sizeof(*r));

	if (path == NULL)
		path = "(defaults)";
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (routes_add_upstreams(r, upstreams, nupstreams, path, old, err, errlen) < 0 ||
	    routes_add_rules(r, rules, nrules, path, err, errlen) < 0) {
		routes_free(r);
		return NULL;
	}
	return r;
}

struct routes_upstream *routes_pick(struct routes *r, const struct acl_request *req,
				    const struct acl_who *who, int *line)
{
	for (size_t i = 0; r != NULL && i < r->nrules; i++) {
		int at;

		/* the one rule denies exactly when its conditions all match */
		if (acl_check_as(r->rules[i].match, req, who, &at) == ACL_DENY &&
		    at == r->rules[i].line) {
			if (line != NULL)
				*line = at;
			return r->rules[i].to;
		}
	}
	if (line != NULL)
		*line = 0;
	{
		const struct routes_class *c = routes_class_find(r, who ? who->cls : NULL);

		return c != NULL && c->has_route ? c->to : NULL;
	}
}

int routes_set_classes(struct routes *r, const struct routes_class_text *cls, size_t n,
		       const char *path, char *err, size_t errlen)
{
	char why[256];

	if (path == NULL)
		path = "(defaults)";
	if (n > 0 && (r->classes = calloc(n, sizeof(*r->classes))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct routes_class *c = &r->classes[i];
		enum egress_mode mode = EGRESS_RANDOM;

		snprintf(c->name, sizeof(c->name), "%s", cls[i].cls);
		egress_init(&c->egress);
		if ((cls[i].egress && egress_parse(&c->egress, cls[i].egress, why, sizeof(why)) < 0) ||
		    (cls[i].mode && egress_mode_parse(cls[i].mode, &mode, why, sizeof(why)) < 0)) {
			snprintf(err, errlen, "%s:%d: [class %s] egress: %s", path, cls[i].line,
				 cls[i].cls, why);
			return -1;
		}
		c->egress.mode = (uint8_t)mode;
		c->has_route = cls[i].route != NULL;
		if (c->has_route && strcmp(cls[i].route, "direct") != 0 &&
		    (c->to = routes_find(r, cls[i].route)) == NULL) {
			snprintf(err, errlen, "%s:%d: [class %s] route: no such upstream (in "
				 "[upstreams]) and not \"direct\"", path, cls[i].line, cls[i].cls);
			return -1;
		}
		r->nclasses++;
	}
	return 0;
}

const struct routes_class *routes_class_find(const struct routes *r, const char *cls)
{
	if (cls == NULL)
		cls = "default";
	for (size_t i = 0; r != NULL && i < r->nclasses; i++)
		if (strcmp(r->classes[i].name, cls) == 0)
			return &r->classes[i];
	return NULL;
}

size_t routes_upstream_count(const struct routes *r)
{
	return r != NULL ? r->nups : 0;
}

struct routes_upstream *routes_upstream_at(struct routes *r, size_t i)
{
	return r != NULL && i < r->nups ? &r->ups[i] : NULL;
}

struct routes_upstream *routes_find(struct routes *r, const char *name)
{
	for (size_t i = 0; r != NULL && i < r->nups; i++)
		if (strcmp(r->ups[i].name, name) == 0)
			return &r->ups[i];
	return NULL;
}
