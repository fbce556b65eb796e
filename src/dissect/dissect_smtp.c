/*
 * dissect_smtp: AUTH PLAIN and AUTH LOGIN (RFC 4954), with an initial
 * response or by 334 continuations, the result from the final reply: 2xx
 * (235) ok, 4xx/5xx (535) fail. Each client command is queued so that
 * pipelined commands (RFC 2920) meet their replies in order; the lines of a
 * multi-line reply ("250-" ... "250 ") are one reply; the first reply is
 * the greeting. STARTTLS answered 220 means TLS follows: nothing more is
 * readable. A message (DATA answered 354) ends the inspection too, since a
 * client that has not logged in before its first message does not; BDAT
 * chunks are skipped by their size.
 */
#include <string.h>
#include <strings.h>

#include "dissect_int.h"

enum smtp_kind {
	SMTP_OTHER,
	SMTP_AUTH,        /* its final reply is the result; 334 continues it */
	SMTP_STARTTLS,    /* 220: TLS follows */
	SMTP_DATA,        /* 354: the message follows */
};

struct smtp_state {
	struct dissect_sasl sasl; /* the AUTH exchange in progress */
	bool greeted;             /* the server's greeting went by */
};

/* The size of "BDAT size [LAST]", false when malformed. */
static bool smtp_bdat_size(const struct dissect_unit *u, uint64_t *size)
{
	size_t i = 5;

	*size = 0;
	for (; i < u->len && u->s[i] >= '0' && u->s[i] <= '9'; i++) {
		if (*size > UINT64_MAX / 10 - 10)
			return false;
		*size = *size * 10 + (uint64_t)(u->s[i] - '0');
	}
	return i > 5 && (i == u->len || u->s[i] == ' ');
}

static enum dissect_verdict smtp_client(struct dissect *d, struct smtp_state *st,
					const struct dissect_unit *u)
{
	int kind = SMTP_OTHER;
	uint64_t size;

	if (st->sasl.step != DISSECT_SASL_NONE) {
		dissect_sasl_line(d, &st->sasl, u);
		return DISSECT_CONTINUE;
	}
	if (!u->cut && dissect_word(u->s, u->len, "AUTH") && u->len > 5)
		kind = SMTP_AUTH;
	else if (!u->cut && dissect_word(u->s, u->len, "STARTTLS"))
		kind = SMTP_STARTTLS;
	else if (!u->cut && dissect_word(u->s, u->len, "DATA"))
		kind = SMTP_DATA;
	else if (!u->cut && dissect_word(u->s, u->len, "BDAT") && smtp_bdat_size(u, &size))
		dissect_raw(d, DISSECT_TO_SERVER, size, DISSECT_RAW_PASS);
	if (dissect_queue_push(d, kind) < 0)
		return DISSECT_STOP;
	if (kind == SMTP_AUTH)
		dissect_sasl_start(d, &st->sasl, u->s + 5, u->len - 5); /* AUTH mech [ir] */
	return DISSECT_CONTINUE;
}

static enum dissect_verdict smtp_server(struct dissect *d, struct smtp_state *st,
					const struct dissect_unit *u)
{
	char sep = 0;
	int code = dissect_reply_code(u, &sep), kind = dissect_queue_head(d);

	if (code == 0 || sep == '-')
		return DISSECT_CONTINUE; /* noise, or not the reply's last line */
	/* a client may pipeline commands before the greeting: it answers none */
	if (!st->greeted) {
		st->greeted = true;
		return DISSECT_CONTINUE;
	}
	if (kind < 0 || (kind == SMTP_AUTH && code == 334))
		return DISSECT_CONTINUE; /* noise, or a challenge: the exchange goes on */
	if (kind == SMTP_AUTH) {
		dissect_sasl_end(&st->sasl);
		dissect_queue_answer(d, code < 400 ? "ok" : "fail");
		return code < 400 ? DISSECT_STOP : DISSECT_CONTINUE; /* logged in: done */
	}
	dissect_queue_answer(d, "?");
	if (kind == SMTP_STARTTLS && code == 220)
		return dissect_tls(d);
	if (kind == SMTP_DATA && code == 354)
		return DISSECT_STOP;
	return DISSECT_CONTINUE;
}

static enum dissect_verdict smtp_unit(struct dissect *d, void *state, enum dissect_dir dir,
				      const struct dissect_unit *u)
{
	if (dir == DISSECT_TO_SERVER)
		return smtp_client(d, state, u);
	return smtp_server(d, state, u);
}

/* A server greeting "220": SMTP's when it says so (FTP's too otherwise). */
static enum dissect_sniff smtp_sniff(enum dissect_dir dir, const struct dissect_unit *u,
				     bool first_bytes)
{
	if (dir != DISSECT_TO_CLIENT || first_bytes || u->len < 3 || memcmp(u->s, "220", 3) != 0)
		return DISSECT_SNIFF_NO;
	for (size_t i = 3; i + 4 <= u->len; i++)
		if (strncasecmp(u->s + i, "SMTP", 4) == 0)
			return DISSECT_SNIFF_YES;
	return DISSECT_SNIFF_MAYBE;
}

DISSECT_PROTO(SMTP) = {
	.name = "SMTP",
	.state_size = sizeof(struct smtp_state),
	.unit = smtp_unit,
	.sniff = smtp_sniff,
};
