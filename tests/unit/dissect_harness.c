/* dissect_harness: see dissect_harness.h. */
#include "dissect_harness.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

void harness_ports(struct dissect_ports ports[DISSECT_COUNT])
{
	dissect_default_ports(ports);
}

static void harness_append(struct harness_out *out, const char *s, size_t len)
{
	size_t used = strlen(out->text);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			snprintf(tmp, sizeof(tmp), "%c", c);
		else
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		ck_assert_uint_lt(used + strlen(tmp), sizeof(out->text));
		memcpy(out->text + used, tmp, strlen(tmp) + 1);
		used += strlen(tmp);
	}
}

static void harness_report(void *ctx, const struct dissect_credential *c)
{
	struct harness_out *out = ctx;

	harness_append(out, c->protocol, strlen(c->protocol));
	harness_append(out, " ", 1);
	harness_append(out, c->user, c->user_len);
	harness_append(out, " ", 1);
	harness_append(out, c->pass, c->pass_len);
	harness_append(out, " ", 1);
	harness_append(out, c->result, strlen(c->result));
	strcat(out->text, "\n");
}

/* Asks the dissector, as the relay does, what it lets go of each direction. */
static void harness_pass(struct dissect *d, struct harness_out *out)
{
	for (int dir = 0; dir < 2; dir++) {
		if (out->unseen[dir] > 0)
			continue;
		out->unseen[dir] = dissect_pass(d, (enum dissect_dir)dir);
		out->passed[dir] += out->unseen[dir];
		ck_assert_uint_eq(dissect_pass(d, (enum dissect_dir)dir), 0); /* counted once */
	}
}

/* Feeds one piece (less what was let go); false once the dissector said stop. */
static bool harness_feed(struct dissect *d, struct harness_out *out, enum dissect_dir dir,
			 const char *p, size_t len)
{
	size_t skip = out->unseen[dir] < len ? (size_t)out->unseen[dir] : len;

	if (out->stopped)
		return false;
	out->unseen[dir] -= skip;
	if (dissect_feed(d, dir, (const uint8_t *)p + skip, len - skip) == DISSECT_STOP)
		out->stopped = true;
	else if (out->pass)
		harness_pass(d, out);
	return !out->stopped;
}

static void harness_run_mode(const struct harness_step *steps, size_t n, uint16_t port,
			     size_t chunk, size_t split_step, size_t split_at, bool pass,
			     struct harness_out *out)
{
	struct dissect_ports ports[DISSECT_COUNT];
	const struct harness_step *first = NULL;
	struct dissect *d;

	memset(out, 0, sizeof(*out));
	out->pass = pass;
	harness_ports(ports);
	for (size_t i = 0; i < n && first == NULL; i++)
		if (steps[i].dir == DISSECT_TO_SERVER)
			first = &steps[i];
	d = dissect_start(ports, port, first ? (const uint8_t *)first->data : NULL,
			  first ? first->len : 0, harness_report, out);
	out->watched = d != NULL;
	if (d == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct harness_step *s = &steps[i];

		if (i == split_step) {
			harness_feed(d, out, s->dir, s->data, split_at);
			harness_feed(d, out, s->dir, s->data + split_at, s->len - split_at);
		} else if (chunk == 0) {
			harness_feed(d, out, s->dir, s->data, s->len);
		} else {
			for (size_t o = 0; o < s->len; o += chunk)
				harness_feed(d, out, s->dir, s->data + o, s->len - o < chunk ? s->len - o : chunk);
		}
	}
	dissect_free(d);
}

void harness_run(const struct harness_step *steps, size_t n, uint16_t port, size_t chunk,
		 size_t split_step, size_t split_at, struct harness_out *out)
{
	harness_run_mode(steps, n, port, chunk, split_step, split_at, false, out);
}

void harness_run_pass(const struct harness_step *steps, size_t n, uint16_t port, size_t chunk,
		      size_t split_step, size_t split_at, struct harness_out *out)
{
	harness_run_mode(steps, n, port, chunk, split_step, split_at, true, out);
}

void harness_check(const struct harness_step *steps, size_t n, uint16_t port,
		   const char *expected, bool stop)
{
	static struct harness_out out;

	for (int pass = 0; pass < 2; pass++) {
		harness_run_mode(steps, n, port, 0, n, 0, pass, &out);
		ck_assert_str_eq(out.text, expected);
		ck_assert_int_eq(out.stopped, stop);
		harness_run_mode(steps, n, port, 1, n, 0, pass, &out);
		ck_assert_str_eq(out.text, expected);
		ck_assert_int_eq(out.stopped, stop);
		for (size_t i = 0; i < n; i++)
			for (size_t at = 0; at <= steps[i].len; at++) {
				harness_run_mode(steps, n, port, 0, i, at, pass, &out);
				ck_assert_msg(strcmp(out.text, expected) == 0 && out.stopped == stop,
					      "%s: step %zu split at %zu: got \"%s\"",
					      pass ? "passing" : "feeding", i, at, out.text);
			}
	}
}
