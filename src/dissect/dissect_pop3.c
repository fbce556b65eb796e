/*
 * dissect_pop3: USER/PASS and AUTH PLAIN / AUTH LOGIN (RFC 1939, RFC 5034).
 * Each client command is queued so that pipelined commands meet their
 * +OK / -ERR in order; a multi-line answer's body is skipped.
 */
#include <string.h>
#include <strings.h>

#include "dissect_int.h"

enum pop3_kind {
	POP3_OTHER,
	POP3_MULTI,       /* +OK starts a dot-terminated body */
	POP3_LOGIN,       /* PASS, or an AUTH exchange: its answer is the result */
	POP3_STLS,        /* +OK: TLS follows, nothing more to read */
};

struct pop3_state {
	struct dissect_sasl sasl; /* an AUTH exchange in progress */
	bool greeted;     /* the server's first line (its greeting) went by */
	bool in_body;
	size_t user_len;  /* USER's argument, for PASS */
	char user[DISSECT_LINE_MAX];
};

/* The argument after "WORD ", or NULL when there is none. */
static const char *pop3_arg(const struct dissect_unit *u, const char *word, size_t *len)
{
	size_t n = strlen(word) + 1;

	if (u->len <= n)
		return NULL;
	*len = u->len - n;
	return u->s + n;
}

/* A command whose +OK answer has a body (RFC 1939, RFC 2449, RFC 5034). */
static bool pop3_multi(const struct dissect_unit *u)
{
	size_t n;

	if (dissect_word(u->s, u->len, "CAPA") || dissect_word(u->s, u->len, "RETR") ||
	    dissect_word(u->s, u->len, "TOP"))
		return true;
	if (dissect_word(u->s, u->len, "LIST") || dissect_word(u->s, u->len, "UIDL") ||
	    dissect_word(u->s, u->len, "AUTH"))
		return pop3_arg(u, "LIST", &n) == NULL;
	return false;
}

static void pop3_save_user(struct pop3_state *st, const char *s, size_t len)
{
	st->user_len = len < sizeof(st->user) ? len : sizeof(st->user);
	memcpy(st->user, s, st->user_len);
}

static enum dissect_verdict pop3_client(struct dissect *d, struct pop3_state *st,
					const struct dissect_unit *u)
{
	const char *arg;
	size_t len;
	int kind = POP3_OTHER;

	if (st->sasl.step != DISSECT_SASL_NONE) {
		dissect_sasl_line(d, &st->sasl, u);
		return DISSECT_CONTINUE;
	}
	if (!u->cut && (arg = pop3_arg(u, "USER", &len)) != NULL && dissect_word(u->s, u->len, "USER"))
		pop3_save_user(st, arg, len);
	else if (!u->cut && dissect_word(u->s, u->len, "PASS"))
		kind = POP3_LOGIN;
	else if (!u->cut && dissect_word(u->s, u->len, "AUTH") && u->len > 5)
		kind = POP3_LOGIN;
	else if (!u->cut && dissect_word(u->s, u->len, "STLS"))
		kind = POP3_STLS;
	else if (!u->cut && pop3_multi(u))
		kind = POP3_MULTI;
	if (dissect_queue_push(d, kind) < 0)
		return DISSECT_STOP;
	if (kind == POP3_LOGIN && dissect_word(u->s, u->len, "PASS")) {
		arg = pop3_arg(u, "PASS", &len);
		dissect_queue_credential(d, st->user, st->user_len, arg ? arg : "", arg ? len : 0);
	} else if (kind == POP3_LOGIN) {
		dissect_sasl_start(d, &st->sasl, u->s + 5, u->len - 5); /* AUTH mech [ir] */
	}
	return DISSECT_CONTINUE;
}

static enum dissect_verdict pop3_server(struct dissect *d, struct pop3_state *st,
					const struct dissect_unit *u)
{
	int kind = dissect_queue_head(d);

	/* a client may pipeline commands before the greeting: it answers none */
	if (!st->greeted) {
		st->greeted = true;
		return DISSECT_CONTINUE;
	}
	if (st->in_body) {
		st->in_body = !(u->len == 1 && u->s[0] == '.' && !u->cut);
		return DISSECT_CONTINUE;
	}
	if (u->len > 0 && u->s[0] == '+' && (u->len == 1 || u->s[1] == ' '))
		return DISSECT_CONTINUE; /* a SASL challenge: the exchange goes on */
	if (dissect_word(u->s, u->len, "-ERR")) {
		dissect_sasl_end(&st->sasl);
		dissect_queue_answer(d, "fail");
		return DISSECT_CONTINUE;
	}
	if (!dissect_word(u->s, u->len, "+OK") || kind < 0)
		return DISSECT_CONTINUE; /* the greeting, or noise */
	st->in_body = kind == POP3_MULTI;
	dissect_sasl_end(&st->sasl);
	if (dissect_queue_answer(d, "ok"))
		return DISSECT_STOP;
	if (kind == POP3_STLS)
		return dissect_tls(d);
	return DISSECT_CONTINUE;
}

static enum dissect_verdict pop3_unit(struct dissect *d, void *state, enum dissect_dir dir,
				      const struct dissect_unit *u)
{
	if (dir == DISSECT_TO_SERVER)
		return pop3_client(d, state, u);
	return pop3_server(d, state, u);
}

/* A server greeting "+OK". */
static enum dissect_sniff pop3_sniff(enum dissect_dir dir, const struct dissect_unit *u,
				     bool first_bytes)
{
	bool ok = dir == DISSECT_TO_CLIENT && !first_bytes && u->len >= 3 &&
		  strncasecmp(u->s, "+OK", 3) == 0;

	return ok ? DISSECT_SNIFF_YES : DISSECT_SNIFF_NO;
}

DISSECT_PROTO(POP3) = {
	.name = "POP3",
	.state_size = sizeof(struct pop3_state),
	.unit = pop3_unit,
	.sniff = pop3_sniff,
};
