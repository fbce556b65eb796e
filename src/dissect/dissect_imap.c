/*
 * dissect_imap: "tag LOGIN user pass" and "tag AUTHENTICATE PLAIN|LOGIN"
 * with an initial response (RFC 4959 SASL-IR) or continuations (RFC 9051),
 * the result from the tagged OK / NO / BAD for that tag. Arguments are
 * atoms, quoted strings with their \" and \\ escapes (RFC 3501 quoted-
 * specials) or literals ({n} after the server's "+", or the
 * non-synchronising {n+} of RFC 7888); a command with literals spans
 * several units, so its arguments are gathered token by token across them.
 */
#include <string.h>
#include <strings.h>

#include "dissect_int.h"

#define IMAP_TAG_MAX 64

enum imap_kind { IMAP_LOGIN, IMAP_STARTTLS };

/* The tokens of the command being read: tag, name, then up to two arguments. */
struct imap_cmd {
	unsigned argc;         /* tokens seen */
	bool bad;              /* unparsable: ignored to its end */
	size_t len[4];
	char tag[IMAP_TAG_MAX];
	char name[16];
	char arg[2][DISSECT_LINE_MAX];
};

struct imap_state {
	struct imap_cmd cmd;
	bool more;             /* the command goes on after a literal */
	bool in_literal;       /* the command waits for a literal's bytes */
	struct dissect_sasl sasl; /* client lines are AUTHENTICATE responses */
	size_t pending_len;    /* the tag whose tagged reply is the result */
	char pending[IMAP_TAG_MAX];
};

/* Keeps token number argc (truncated names or tags make it unrecognised). */
static void imap_token(struct imap_cmd *c, const char *s, size_t len)
{
	static const size_t caps[4] = { IMAP_TAG_MAX, 16, DISSECT_LINE_MAX, DISSECT_LINE_MAX };
	char *dst[4] = { c->tag, c->name, c->arg[0], c->arg[1] };

	if (c->argc < 4) {
		if (len > caps[c->argc])
			c->bad = true;
		else
			memcpy(dst[c->argc], s, len);
		c->len[c->argc] = len;
	}
	c->argc++;
}

/* A quoted string starting at s[*i] == '"', unescaped into out. Returns its length or -1. */
static long imap_quoted(const char *s, size_t len, size_t *i, char *out)
{
	size_t n = 0;

	for ((*i)++; *i < len; (*i)++) {
		char c = s[*i];

		if (c == '"') {
			(*i)++;
			return (long)n;
		}
		if (c == '\\') {
			if (++(*i) == len || (s[*i] != '"' && s[*i] != '\\'))
				return -1;
			c = s[*i];
		}
		out[n++] = c;
	}
	return -1;
}

/* "{n}" or "{n+}" closing the line: the literal's size, or -1. */
static long long imap_literal(const char *s, size_t len)
{
	long long n = 0;
	size_t i = 1;

	if (len < 3 || s[0] != '{' || s[len - 1] != '}')
		return -1;
	if (s[len - 2] == '+')
		len--;
	for (; i + 1 < len; i++) {
		if (s[i] < '0' || s[i] > '9' || n > 1000000000LL)
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return i > 1 ? n : -1;
}

/* Tokenizes a line (or a continuation line after a literal). Returns the size
 * of the literal that ends it, or -1 when the command is complete. */
static long long imap_line(struct imap_cmd *c, const char *s, size_t len)
{
	char buf[DISSECT_LINE_MAX];
	size_t i = 0;

	while (i < len && !c->bad) {
		size_t start;
		long q;

		if (s[i] == ' ') {
			i++;
		} else if (s[i] == '"') {
			q = imap_quoted(s, len, &i, buf);
			if (q < 0)
				c->bad = true;
			else
				imap_token(c, buf, (size_t)q);
		} else if (s[i] == '{' && imap_literal(s + i, len - i) >= 0) {
			return imap_literal(s + i, len - i);
		} else {
			for (start = i; i < len && s[i] != ' '; i++)
				;
			imap_token(c, s + start, i - start);
		}
	}
	return -1;
}

static bool imap_is(const struct imap_cmd *c, unsigned n, const char *word)
{
	const char *s = n == 1 ? c->name : c->arg[0];

	return c->argc > n && c->len[n] == strlen(word) && dissect_word(s, c->len[n], word);
}

/* A complete command: queue it when its answer matters. */
static enum dissect_verdict imap_command(struct dissect *d, struct imap_state *st)
{
	struct imap_cmd *c = &st->cmd;
	bool login = imap_is(c, 1, "LOGIN") && c->argc == 4;
	bool sasl = imap_is(c, 1, "AUTHENTICATE") && c->argc >= 3 && c->argc <= 4;
	bool tls = imap_is(c, 1, "STARTTLS");

	if (c->bad || c->argc == 0 || !(login || sasl || tls))
		return DISSECT_CONTINUE;
	/* one command watched at a time: an unanswered one is reported unknown */
	dissect_queue_answer(d, "?");
	if (dissect_queue_push(d, tls ? IMAP_STARTTLS : IMAP_LOGIN) < 0)
		return DISSECT_STOP;
	memcpy(st->pending, c->tag, c->len[0]);
	st->pending_len = c->len[0];
	if (login)
		dissect_queue_credential(d, c->arg[0], c->len[2], c->arg[1], c->len[3]);
	else if (sasl)
		dissect_sasl_begin(d, &st->sasl, c->arg[0], c->len[2], c->argc == 4 ? c->arg[1] : NULL,
				   c->argc == 4 ? c->len[3] : 0);
	return DISSECT_CONTINUE;
}

static enum dissect_verdict imap_client(struct dissect *d, struct imap_state *st,
					const struct dissect_unit *u)
{
	long long lit;

	if (st->sasl.step != DISSECT_SASL_NONE && !u->raw) {
		dissect_sasl_line(d, &st->sasl, u);
		return DISSECT_CONTINUE;
	}
	if (!st->more) {
		st->cmd.argc = 0;
		st->cmd.bad = false;
		st->cmd.len[0] = 0;
	}
	if (u->raw) {
		st->in_literal = false;
		if (u->cut)
			st->cmd.bad = true;
		else
			imap_token(&st->cmd, u->s, u->len);
		return DISSECT_CONTINUE; /* the command goes on in the next line */
	}
	if (u->cut)
		st->cmd.bad = true;
	lit = imap_line(&st->cmd, u->s, u->len);
	if (lit >= 0) {
		/* keep only what may be LOGIN's arguments */
		dissect_raw(d, DISSECT_TO_SERVER, (uint64_t)lit,
			    st->cmd.argc >= 2 && st->cmd.argc < 4 ? DISSECT_RAW_KEEP : DISSECT_RAW_SKIP);
		st->in_literal = true;
		st->more = true;
		return DISSECT_CONTINUE;
	}
	st->more = false;
	return imap_command(d, st);
}

/* Is this line tagged with tag? Then *rest is what follows "tag ". */
static bool imap_tagged(const struct dissect_unit *u, const char *tag, size_t tag_len,
			const char **rest, size_t *rest_len)
{
	if (tag_len == 0 || u->len <= tag_len || u->s[tag_len] != ' ' ||
	    memcmp(u->s, tag, tag_len) != 0)
		return false;
	*rest = u->s + tag_len + 1;
	*rest_len = u->len - tag_len - 1;
	return true;
}

static enum dissect_verdict imap_server(struct dissect *d, struct imap_state *st,
					const struct dissect_unit *u)
{
	const char *rest;
	size_t len;
	long long lit;
	int kind = dissect_queue_head(d);

	if (u->raw)
		return DISSECT_CONTINUE;
	if (st->in_literal && imap_tagged(u, st->cmd.tag, st->cmd.len[0], &rest, &len)) {
		/* refused before the literal was sent: the client moves on */
		dissect_raw(d, DISSECT_TO_SERVER, 0, DISSECT_RAW_SKIP);
		st->in_literal = false;
		st->more = false;
	}
	if (kind >= 0 && imap_tagged(u, st->pending, st->pending_len, &rest, &len)) {
		bool ok = dissect_word(rest, len, "OK");

		dissect_sasl_end(&st->sasl);
		st->pending_len = 0;
		if (dissect_queue_answer(d, ok ? "ok" : "fail") && ok)
			return DISSECT_STOP;
		if (kind == IMAP_STARTTLS && ok)
			return dissect_tls(d);
		return DISSECT_CONTINUE;
	}
	for (len = u->len; len > 0 && u->s[len - 1] != '{'; len--)
		;
	lit = len > 0 && !u->cut ? imap_literal(u->s + len - 1, u->len - len + 1) : -1;
	if (lit > 0)
		dissect_raw(d, DISSECT_TO_CLIENT, (uint64_t)lit, DISSECT_RAW_PASS); /* a server literal */
	return DISSECT_CONTINUE;
}

static enum dissect_verdict imap_unit(struct dissect *d, void *state, enum dissect_dir dir,
				      const struct dissect_unit *u)
{
	if (dir == DISSECT_TO_SERVER)
		return imap_client(d, state, u);
	return imap_server(d, state, u);
}

/* A server greeting "* OK", "* PREAUTH" or "* BYE". */
static enum dissect_sniff imap_sniff(enum dissect_dir dir, const struct dissect_unit *u,
				     bool first_bytes)
{
	static const char *const greetings[] = { "* OK", "* PREAUTH", "* BYE" };

	if (dir != DISSECT_TO_CLIENT || first_bytes)
		return DISSECT_SNIFF_NO;
	for (size_t i = 0; i < sizeof(greetings) / sizeof(greetings[0]); i++) {
		size_t n = strlen(greetings[i]);

		if (u->len >= n && strncasecmp(u->s, greetings[i], n) == 0)
			return DISSECT_SNIFF_YES;
	}
	return DISSECT_SNIFF_NO;
}

DISSECT_PROTO(IMAP) = {
	.name = "IMAP",
	.state_size = sizeof(struct imap_state),
	.unit = imap_unit,
	.sniff = imap_sniff,
};
