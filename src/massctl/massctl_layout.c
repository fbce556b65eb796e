/* massctl_layout: a reply printed by its layout. See massctl_layout.h. */
#include "massctl_layout.h"

#include <inttypes.h>
#include <string.h>

#include "massctl_wire.h"
#include "core/layout.h"

/* Where the walk is: per open brace or bracket, whether a member was written. */
struct massctl_lp {
	FILE *out;
	bool json;
	unsigned level;
	bool first[2 * LAYOUT_MAX_DEPTH + 2];
	char path[(LAYOUT_NAME_MAX + 6) * LAYOUT_MAX_DEPTH + 1];
	size_t plen[LAYOUT_MAX_DEPTH + 1];   /* path length at each depth */
};

void massctl_text_put(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7F && c != '\\')
			fputc(c, out);
		else
			fprintf(out, "\\x%02x", c);
	}
}

static void massctl_lp_json_str(FILE *out, const char *s, size_t len)
{
	char buf[6 * 255 + 3];   /* a str is at most 255 octets */

	massctl_json_string(s, len, buf, sizeof(buf));
	fputs(buf, out);
}

/* A JSON member's separator and, in an object, its name. */
static void massctl_lp_member(struct massctl_lp *lp, const struct layout_item *it, bool named)
{
	if (!lp->first[lp->level])
		fputc(',', lp->out);
	lp->first[lp->level] = false;
	if (named) {
		massctl_lp_json_str(lp->out, it->name, it->name_len);
		fputc(':', lp->out);
	}
}

static void massctl_lp_open(struct massctl_lp *lp, char c)
{
	fputc(c, lp->out);
	lp->first[++lp->level] = true;
}

static int massctl_lp_json(struct massctl_lp *lp, const struct layout_item *it)
{
	switch (it->event) {
	case LAYOUT_FIELD:
		massctl_lp_member(lp, it, true);
		if (it->type == LAYOUT_STR)
			massctl_lp_json_str(lp->out, (const char *)it->data, it->len);
		else
			fprintf(lp->out, "%" PRIu64, it->value);
		break;
	case LAYOUT_LIST_BEGIN:
		massctl_lp_member(lp, it, true);
		massctl_lp_open(lp, '[');
		break;
	case LAYOUT_RECORD_BEGIN:
		massctl_lp_member(lp, it, false);
		massctl_lp_open(lp, '{');
		break;
	case LAYOUT_RECORD_END:
	case LAYOUT_LIST_END:
		fputc(it->event == LAYOUT_LIST_END ? ']' : '}', lp->out);
		lp->level--;
		break;
	}
	return 0;
}

static int massctl_lp_text(struct massctl_lp *lp, const struct layout_item *it)
{
	size_t at = lp->plen[it->depth];

	switch (it->event) {
	case LAYOUT_FIELD:
		fprintf(lp->out, "%s%.*s ", lp->path, (int)it->name_len, it->name);
		if (it->type == LAYOUT_STR)
			massctl_text_put(lp->out, (const char *)it->data, it->len);
		else
			fprintf(lp->out, "%" PRIu64, it->value);
		fputc('\n', lp->out);
		break;
	case LAYOUT_RECORD_BEGIN:
		/* the record's fields are one deeper: LIST[N]. after this depth's path */
		snprintf(lp->path + at, sizeof(lp->path) - at, "%.*s[%" PRIu64 "].",
			 (int)it->name_len, it->name, it->value);
		lp->plen[it->depth + 1] = strlen(lp->path);
		break;
	case LAYOUT_LIST_BEGIN:
		if (it->value == 0)   /* an empty list still shows */
			fprintf(lp->out, "%s%.*s (none)\n", lp->path, (int)it->name_len, it->name);
		break;
	case LAYOUT_RECORD_END:
	case LAYOUT_LIST_END:
		lp->path[at] = '\0';
		break;
	}
	return 0;
}

static int massctl_lp_item(void *arg, const struct layout_item *it)
{
	struct massctl_lp *lp = arg;

	return lp->json ? massctl_lp_json(lp, it) : massctl_lp_text(lp, it);
}

int massctl_layout_print(FILE *out, const char *layout, const uint8_t *data, size_t len,
			 bool json, char *err, size_t errlen)
{
	struct massctl_lp lp = { .out = out, .json = json };

	if (layout_decode(layout, data, len, NULL, NULL, err, errlen) != 0)
		return -1;
	if (json)
		massctl_lp_open(&lp, '{');
	layout_decode(layout, data, len, massctl_lp_item, &lp, err, errlen);
	if (json)
		fputc('}', out);
	return 0;
}
