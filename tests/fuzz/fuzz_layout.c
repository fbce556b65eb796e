/*
 * Fuzz target: reply layouts (core/layout), the grammar and the walk.
 *
 * Input: the layout text up to the first NUL octet (all of it when there is
 * none), then the reply octets after it. Invariants: a layout that
 * layout_check() refuses is refused by layout_decode() too; every str an
 * accepted reply yields lies inside the reply; depths stay within the
 * limit and lists open and close in pairs; a decode without a callback
 * agrees with one with it.
 */
#include <string.h>

#include "fuzz.h"
#include "core/layout.h"

struct fuzz_walk {
	const uint8_t *data;
	size_t len;
	int open;
	size_t items;
};

static int fuzz_item(void *arg, const struct layout_item *it)
{
	struct fuzz_walk *w = arg;

	FUZZ_CHECK(it->depth <= LAYOUT_MAX_DEPTH);
	FUZZ_CHECK(it->name_len >= 1 && it->name_len <= LAYOUT_NAME_MAX);
	if (it->event == LAYOUT_FIELD && it->type == LAYOUT_STR)
		FUZZ_CHECK(it->data >= w->data && it->data + it->len <= w->data + w->len);
	if (it->event == LAYOUT_LIST_BEGIN || it->event == LAYOUT_RECORD_BEGIN)
		w->open++;
	if (it->event == LAYOUT_LIST_END || it->event == LAYOUT_RECORD_END)
		w->open--;
	FUZZ_CHECK(w->open >= 0);
	w->items++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t llen = nul ? (size_t)(nul - data) : size;
	char *layout = malloc(llen + 1), err[160];
	const uint8_t *reply = nul ? nul + 1 : data + size;
	size_t rlen = (size_t)(data + size - reply);
	struct fuzz_walk w = { reply, rlen, 0, 0 };
	int ok, checked, walked;

	if (!layout)
		return 0;
	memcpy(layout, data, llen);
	layout[llen] = '\0';
	ok = layout_check(layout, err, sizeof(err));
	FUZZ_CHECK(strlen(err) < sizeof(err));
	checked = layout_decode(layout, reply, rlen, NULL, NULL, err, sizeof(err));
	walked = layout_decode(layout, reply, rlen, fuzz_item, &w, err, sizeof(err));
	FUZZ_CHECK(checked == walked);
	if (ok != 0)
		FUZZ_CHECK(checked == -1);
	if (walked == 0) {
		FUZZ_CHECK(w.open == 0);
		FUZZ_CHECK(w.items <= 4 * rlen + LAYOUT_MAX_FIELDS);
	}
	free(layout);
	return 0;
}
