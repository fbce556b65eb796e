/*
 * dissect_ftp: USER/PASS (RFC 959). Each client command is queued so that
 * pipelined commands meet their final reply in order; preliminary (1xx)
 * replies and the lines inside a multi-line reply ("230-" ... "230 ") are
 * not answers.
 */
#include <string.h>

#include "dissect_int.h"

enum ftp_kind {
	FTP_OTHER,
	FTP_PASS,         /* its reply is the result */
	FTP_TLS,          /* AUTH: a 2xx means TLS follows */
};

struct ftp_state {
	bool greeted;     /* the server's greeting (a 2xx or 4xx after any 120) went by */
	int multi;        /* the code of the multi-line reply in progress, or 0 */
	size_t user_len;
	char user[DISSECT_LINE_MAX];
};

static enum dissect_verdict ftp_client(struct dissect *d, struct ftp_state *st,
				       const struct dissect_unit *u)
{
	int kind = FTP_OTHER;

	if (!u->cut && dissect_word(u->s, u->len, "USER")) {
		st->user_len = u->len > 5 ? u->len - 5 : 0;
		memcpy(st->user, u->s + 5, st->user_len);
	} else if (!u->cut && dissect_word(u->s, u->len, "PASS")) {
		kind = FTP_PASS;
	} else if (!u->cut && dissect_word(u->s, u->len, "AUTH")) {
		kind = FTP_TLS;
	}
	if (dissect_queue_push(d, kind) < 0)
		return DISSECT_STOP;
	if (kind == FTP_PASS)
		dissect_queue_credential(d, st->user, st->user_len, u->s + 5, u->len > 5 ? u->len - 5 : 0);
	return DISSECT_CONTINUE;
}

static const char *ftp_result(int code)
{
	if (code >= 200 && code < 300)
		return "ok";
	if (code >= 400)
		return "fail";
	return "?";
}

static enum dissect_verdict ftp_server(struct dissect *d, struct ftp_state *st,
				       const struct dissect_unit *u)
{
	char sep = 0;
	int code = dissect_reply_code(u, &sep), kind = dissect_queue_head(d);
	bool logged_in;

	if (st->multi != 0) {
		if (code == st->multi && sep == ' ')
			st->multi = 0; /* its last line: the reply is complete */
		else
			return DISSECT_CONTINUE;
	} else if (code != 0 && sep == '-') {
		st->multi = code;
		return DISSECT_CONTINUE;
	}
	/* a client may pipeline commands before the greeting: it answers none */
	if (!st->greeted) {
		st->greeted = code >= 200;
		return DISSECT_CONTINUE;
	}
	if (code < 200 || kind < 0)
		return DISSECT_CONTINUE; /* preliminary, or noise */
	logged_in = dissect_queue_answer(d, ftp_result(code)) && code < 300;
	if (logged_in)
		return DISSECT_STOP;
	if (kind == FTP_TLS && code < 300)
		return dissect_tls(d);
	return DISSECT_CONTINUE;
}

static enum dissect_verdict ftp_unit(struct dissect *d, void *state, enum dissect_dir dir,
				     const struct dissect_unit *u)
{
	if (dir == DISSECT_TO_SERVER)
		return ftp_client(d, state, u);
	return ftp_server(d, state, u);
}

/* A server greeting "220": FTP's, unless another protocol claims it. */
static enum dissect_sniff ftp_sniff(enum dissect_dir dir, const struct dissect_unit *u,
				    bool first_bytes)
{
	bool greeting = dir == DISSECT_TO_CLIENT && !first_bytes && u->len >= 3 &&
			memcmp(u->s, "220", 3) == 0;

	return greeting ? DISSECT_SNIFF_MAYBE : DISSECT_SNIFF_NO;
}

DISSECT_PROTO(FTP) = {
	.name = "FTP",
	.state_size = sizeof(struct ftp_state),
	.unit = ftp_unit,
	.sniff = ftp_sniff,
};
