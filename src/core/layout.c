/*
 * layout: reply layouts, checked and walked. See layout.h.
 *
 * A layout is first compiled into a flat array of nodes in the order the
 * fields appear (a list's fields follow it, up to its `end`), then the
 * reply is walked over that array, recursing once per list level.
 */
#include "layout.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct layout_node {
	const char *name;
	size_t name_len;
	enum layout_type type;
	unsigned end;   /* LAYOUT_LIST: one past its last descendant */
};

struct layout_prog {
	struct layout_node node[LAYOUT_MAX_FIELDS];
	unsigned n;
};

/* The compiler's position in the layout text. */
struct layout_parse {
	const char *s, *p;
	struct layout_prog *prog;
	char *err;
	size_t errlen;
};

static const struct {
	const char *word;
	enum layout_type type;
} layout_types[] = {
	{ "u8", LAYOUT_U8 }, { "u32", LAYOUT_U32 }, { "u64", LAYOUT_U64 }, { "str", LAYOUT_STR },
};

const char *layout_type_name(enum layout_type t)
{
	for (size_t i = 0; i < sizeof(layout_types) / sizeof(layout_types[0]); i++)
		if (layout_types[i].type == t)
			return layout_types[i].word;
	return "list";
}

static int layout_perr(struct layout_parse *ps, const char *why)
{
	snprintf(ps->err, ps->errlen, "layout: %s at offset %zu", why, (size_t)(ps->p - ps->s));
	return -1;
}

static bool layout_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* A name among the siblings first..n-1 (one level: descendants skipped). */
static bool layout_sibling_has(const struct layout_prog *prog, unsigned first,
			       const char *name, size_t len)
{
	for (unsigned i = first; i < prog->n; ) {
		const struct layout_node *nd = &prog->node[i];

		if (nd->name_len == len && memcmp(nd->name, name, len) == 0)
			return true;
		i = nd->type == LAYOUT_LIST ? nd->end : i + 1;
	}
	return false;
}

static int layout_fields(struct layout_parse *ps, unsigned depth);

/* One field: NAME ":" TYPE or NAME ":[" fields "]"; first: its first sibling. */
static int layout_field(struct layout_parse *ps, unsigned depth, unsigned first)
{
	struct layout_prog *prog = ps->prog;
	const char *name = ps->p;
	struct layout_node *nd;
	size_t len = 0;

	while (layout_name_char(ps->p[len]))
		len++;
	if (len == 0)
		return layout_perr(ps, "expected a name ([a-z0-9_])");
	if (len > LAYOUT_NAME_MAX)
		return layout_perr(ps, "name longer than 32 characters");
	if (layout_sibling_has(prog, first, name, len))
		return layout_perr(ps, "duplicate name");
	if (prog->n >= LAYOUT_MAX_FIELDS)
		return layout_perr(ps, "more than 64 fields");
	ps->p += len;
	if (*ps->p != ':')
		return layout_perr(ps, "expected ':' after the name");
	ps->p++;
	nd = &prog->node[prog->n++];
	nd->name = name;
	nd->name_len = len;
	if (*ps->p == '[') {
		if (depth + 1 > LAYOUT_MAX_DEPTH)
			return layout_perr(ps, "lists nested more than 4 deep");
		ps->p++;
		nd->type = LAYOUT_LIST;
		if (layout_fields(ps, depth + 1) < 0)
			return -1;
		if (*ps->p != ']')
			return layout_perr(ps, "expected ']'");
		ps->p++;
		nd->end = prog->n;
		return 0;
	}
	for (size_t i = 0; i < sizeof(layout_types) / sizeof(layout_types[0]); i++) {
		size_t wl = strlen(layout_types[i].word);

		if (strncmp(ps->p, layout_types[i].word, wl) == 0 && !layout_name_char(ps->p[wl])) {
			nd->type = layout_types[i].type;
			nd->end = prog->n;
			ps->p += wl;
			return 0;
		}
	}
	return layout_perr(ps, "expected a type (u8, u32, u64, str or [...])");
}

/* field ("," field)*: one or more, at nesting depth. */
static int layout_fields(struct layout_parse *ps, unsigned depth)
{
	unsigned first = ps->prog->n;

	for (;;) {
		if (layout_field(ps, depth, first) < 0)
			return -1;
		if (*ps->p != ',')
			return 0;
		ps->p++;
	}
}

static int layout_compile(const char *layout, struct layout_prog *prog, char *err, size_t errlen)
{
	struct layout_parse ps = { layout, layout, prog, err, errlen };

	prog->n = 0;
	if (layout == NULL) {
		snprintf(err, errlen, "layout: none given");
		return -1;
	}
	if (strnlen(layout, LAYOUT_MAX_LEN + 1) > LAYOUT_MAX_LEN) {
		snprintf(err, errlen, "layout: longer than %d characters", LAYOUT_MAX_LEN);
		return -1;
	}
	if (layout[0] == '\0')
		return 0;
	if (layout_fields(&ps, 0) < 0)
		return -1;
	if (*ps.p != '\0')
		return layout_perr(&ps, *ps.p == ']' ? "unmatched ']'" : "expected ',' or the end");
	return 0;
}

int layout_check(const char *layout, char *err, size_t errlen)
{
	struct layout_prog prog;

	return layout_compile(layout, &prog, err, errlen);
}

/* The walk: the reply, where it is, and the path to the field being read. */
struct layout_walk {
	const struct layout_prog *prog;
	const uint8_t *data;
	size_t len, at;
	layout_fn *fn;
	void *arg;
	char path[(LAYOUT_NAME_MAX + 6) * (LAYOUT_MAX_DEPTH + 1) + 1];
	char *err;
	size_t errlen;
};

static int layout_short(struct layout_walk *w, const struct layout_node *nd, size_t need)
{
	snprintf(w->err, w->errlen, "reply truncated: %s%.*s (%s) needs %zu octet%s, %zu left",
		 w->path, (int)nd->name_len, nd->name, layout_type_name(nd->type), need,
		 need == 1 ? "" : "s", w->len - w->at);
	return -1;
}

static int layout_emit(struct layout_walk *w, struct layout_item *it)
{
	return w->fn ? w->fn(w->arg, it) : 0;
}

/* One scalar field into it (event FIELD). */
static int layout_scalar(struct layout_walk *w, const struct layout_node *nd,
			 struct layout_item *it)
{
	size_t need = nd->type == LAYOUT_U8 || nd->type == LAYOUT_STR ? 1
		: nd->type == LAYOUT_U32 ? 4 : 8;
	const uint8_t *p = w->data + w->at;

	if (w->len - w->at < need)
		return layout_short(w, nd, need);
	it->value = 0;
	if (nd->type == LAYOUT_STR) {
		need = 1 + (size_t)p[0];
		if (w->len - w->at < need)
			return layout_short(w, nd, need);
		it->data = p + 1;
		it->len = p[0];
	} else {
		for (size_t i = 0; i < need; i++)
			it->value = it->value << 8 | p[i];
	}
	w->at += need;
	return layout_emit(w, it);
}

static int layout_seq(struct layout_walk *w, unsigned from, unsigned to, unsigned depth);

/* A list: COUNT, then COUNT records of the fields after it. */
static int layout_list(struct layout_walk *w, unsigned i, unsigned depth, struct layout_item *it)
{
	const struct layout_node *nd = &w->prog->node[i];
	size_t plen = strlen(w->path);
	unsigned count;
	int r;

	if (w->len - w->at < 1)
		return layout_short(w, nd, 1);
	count = w->data[w->at++];
	it->event = LAYOUT_LIST_BEGIN;
	it->value = count;
	if ((r = layout_emit(w, it)) != 0)
		return r;
	for (unsigned k = 0; k < count; k++) {
		snprintf(w->path + plen, sizeof(w->path) - plen, "%.*s[%u].",
			 (int)nd->name_len, nd->name, k);
		it->event = LAYOUT_RECORD_BEGIN;
		it->value = k;
		if ((r = layout_emit(w, it)) != 0 || (r = layout_seq(w, i + 1, nd->end, depth + 1)) != 0)
			return r;
		it->event = LAYOUT_RECORD_END;
		if ((r = layout_emit(w, it)) != 0)
			return r;
	}
	w->path[plen] = '\0';
	it->event = LAYOUT_LIST_END;
	it->value = count;
	return layout_emit(w, it);
}

/* The sibling fields from..to-1 (their descendants skipped) at depth. */
static int layout_seq(struct layout_walk *w, unsigned from, unsigned to, unsigned depth)
{
	for (unsigned i = from; i < to; ) {
		const struct layout_node *nd = &w->prog->node[i];
		struct layout_item it = {
			.event = LAYOUT_FIELD, .name = nd->name, .name_len = nd->name_len,
			.type = nd->type, .depth = depth,
		};
		int r = nd->type == LAYOUT_LIST ? layout_list(w, i, depth, &it)
			: layout_scalar(w, nd, &it);

		if (r != 0)
			return r;
		i = nd->type == LAYOUT_LIST ? nd->end : i + 1;
	}
	return 0;
}

int layout_decode(const char *layout, const uint8_t *data, size_t len,
		  layout_fn *fn, void *arg, char *err, size_t errlen)
{
	struct layout_prog prog;
	struct layout_walk w = { .prog = &prog, .data = data, .len = len, .fn = fn, .arg = arg,
				 .err = err, .errlen = errlen };
	int r;

	if (layout_compile(layout, &prog, err, errlen) < 0)
		return -1;
	if ((r = layout_seq(&w, 0, prog.n, 0)) != 0)
		return r;
	if (w.at != len) {
		snprintf(err, errlen, "reply has %zu octet%s after its last field", len - w.at,
			 len - w.at == 1 ? "" : "s");
		return -1;
	}
	return 0;
}
