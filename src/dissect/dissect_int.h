/*
 * dissect_int: what the framework offers the protocol dissectors
 * (dissect_*.c) and the registry. Not used outside src/dissect/.
 *
 * Three parts, each naming only what is below it:
 *  - the flow machinery (dissect.c, dissect_sasl.c) owns everything
 *    protocols have in common: the per-direction line splitter, the byte
 *    budget, the queue of client commands awaiting the server's answer (with
 *    the credential each may carry), the reporting and SASL. It names no
 *    protocol: it settles a flow's protocol by asking each candidate row's
 *    sniff hook about the first line.
 *  - a protocol (dissect_<name>.c) is one row, DISSECT_PROTO(ID) = { ... },
 *    seeing one unit at a time (a line, or a block of raw bytes it asked for)
 *    and keeping only its own parsing state.
 *  - the registry (dissect_registry.c) is the table of those rows, made from
 *    dissect.h's DISSECT_PROTOCOLS; it implements dissect_start(), choosing
 *    the candidates a flow may be settled to.
 * Adding a protocol is one file (its row) and one line in DISSECT_PROTOCOLS.
 */
#ifndef MASS_DISSECT_INT_H
#define MASS_DISSECT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissect.h"

#define DISSECT_QUEUE_MAX 8 /* client commands awaiting an answer */

/* One unit handed to a protocol. */
struct dissect_unit {
	const char *s;  /* the line without its CRLF / LF, or the raw block */
	size_t len;
	bool cut;       /* longer than DISSECT_LINE_MAX: s holds only the start
			 * (a raw block: nothing); the rest was skipped */
	bool raw;       /* a block asked for with dissect_raw(.., DISSECT_RAW_KEEP) */
};

/* What a sniff hook says of a flow's first line. */
enum dissect_sniff {
	DISSECT_SNIFF_NO = 0,
	DISSECT_SNIFF_MAYBE,   /* a line several protocols share (FTP's and SMTP's "220") */
	DISSECT_SNIFF_YES,
};

struct dissect_proto {
	const char *name;              /* the credential's protocol */
	size_t state_size;             /* zeroed before init */
	void (*init)(void *state);     /* NULL: zeroed state is the start */
	/* One unit of one direction. Returns DISSECT_STOP when the login phase is over. */
	enum dissect_verdict (*unit)(struct dissect *d, void *state, enum dissect_dir dir,
				     const struct dissect_unit *u);
	/*
	 * Does the flow start like this protocol? Asked of the flow's first
	 * line (dir: who sent it; first_bytes false), and of the client's first
	 * bytes on a port no protocol watches (first_bytes true: u->s may stop
	 * mid-line or hold several lines). NULL: never claims a flow.
	 */
	enum dissect_sniff (*sniff)(enum dissect_dir dir, const struct dissect_unit *u,
				    bool first_bytes);
};

/* A protocol's row: DISSECT_PROTO(POP3) = { .name = "POP3", ... }; */
#define DISSECT_PROTO(id) const struct dissect_proto dissect_proto_##id

#define DISSECT_PROTO_DECL_(id, key, ...) extern DISSECT_PROTO(id);
DISSECT_PROTOCOLS(DISSECT_PROTO_DECL_)
#undef DISSECT_PROTO_DECL_

/*
 * The flow (dissect.c), made by the registry: settled on its first line to
 * the candidate (n of them, table order) whose sniff claims it, by_port
 * first: by_port when it says at least MAYBE, else the first YES, else the
 * first MAYBE, else by_port (which must be one of the candidates). NULL on
 * ENOMEM.
 */
struct dissect *dissect_flow_new(const struct dissect_proto *const *candidates, size_t n,
				 const struct dissect_proto *by_port,
				 dissect_report_fn *report, void *ctx);

/* What dissect_raw() does with the bytes it names. */
enum dissect_raw_mode {
	DISSECT_RAW_SKIP,   /* skipped unseen, but counted here: a later unit of
			     * the other direction may still cancel them (a
			     * synchronising IMAP literal the server refuses) */
	DISSECT_RAW_KEEP,   /* handed over as one raw unit (cut when n > DISSECT_LINE_MAX) */
	DISSECT_RAW_PASS,   /* certain to follow (framed by a length the sender
			     * announced): the owner may move them without
			     * feeding them at all (dissect_pass()) */
};

/*
 * The next n bytes of dir are not lines: they are skipped or kept as mode
 * says. n = 0 cancels a pending request and drops a partly collected line.
 */
void dissect_raw(struct dissect *d, enum dissect_dir dir, uint64_t n, enum dissect_raw_mode mode);

/*
 * Queues a client command of a protocol-defined kind awaiting its answer.
 * Returns 0, or -1 when DISSECT_QUEUE_MAX commands are already waiting (the
 * caller should give up on the flow: answers could no longer be matched).
 */
int dissect_queue_push(struct dissect *d, int kind);

/* The kind of the oldest waiting command, or -1 when none waits. */
int dissect_queue_head(const struct dissect *d);

/* Changes the kind of the oldest waiting command (a multi-step exchange). */
void dissect_queue_set_head(struct dissect *d, int kind);

/*
 * Attaches a credential (copied) to the newest waiting command (the one just
 * queued, or the SASL exchange in progress), replacing any
 * earlier one. Returns 0, -1 when nothing waits or on ENOMEM (then the
 * credential is reported at once with result "?", so it is never lost).
 */
int dissect_queue_credential(struct dissect *d, const char *user, size_t user_len,
			     const char *pass, size_t pass_len);

/*
 * The oldest waiting command got its answer: reports its credential, if
 * any, with result ("ok", "fail" or "?"; NULL: drops it unreported, a
 * repeat) and drops the command. Returns true when it carried a credential.
 * Does nothing (false) when none waits.
 */
bool dissect_queue_answer(struct dissect *d, const char *result);

/*
 * Decodes a SASL PLAIN response (base64 of authzid NUL authcid NUL passwd,
 * RFC 4616) and attaches authcid/passwd to the newest waiting command.
 * Returns 0, or -1 when it is not valid base64 PLAIN.
 */
int dissect_sasl_plain(struct dissect *d, const char *b64, size_t len);

/*
 * SASL (RFC 4422) as POP3, IMAP and SMTP carry it: the PLAIN (RFC 4616) and
 * LOGIN mechanisms, whose responses are base64 lines. A protocol keeps one
 * in its state (zeroed: no exchange) and ends the exchange on the server's
 * final answer with dissect_sasl_end().
 */
enum dissect_sasl_step {
	DISSECT_SASL_NONE,   /* no exchange, or its responses all given: client
			      * lines are commands */
	DISSECT_SASL_PLAIN,  /* PLAIN started, its response is the next line */
	DISSECT_SASL_USER,   /* LOGIN started, the user name is the next line */
	DISSECT_SASL_PASS,   /* LOGIN user given, the password is the next line */
	DISSECT_SASL_OTHER,  /* another mechanism (or a response cut short): its
			      * lines are skipped until the server's answer */
};

struct dissect_sasl {
	enum dissect_sasl_step step;
	size_t user_len;
	char user[DISSECT_LINE_MAX];
};

/*
 * The client starts an exchange: args is what follows AUTH / AUTHENTICATE,
 * "MECH" or "MECH initial-response" ("=" is the empty one, RFC 4954 4).
 * The credential, once complete, is attached to the newest waiting command.
 */
void dissect_sasl_start(struct dissect *d, struct dissect_sasl *s, const char *args, size_t len);

/* The same with the mechanism and the initial response apart (ir NULL: none). */
void dissect_sasl_begin(struct dissect *d, struct dissect_sasl *s,
			const char *mech, size_t mech_len, const char *ir, size_t ir_len);

/* A client line while s->step != DISSECT_SASL_NONE: the next response
 * ("*" cancels; the server's answer ends the exchange). */
void dissect_sasl_line(struct dissect *d, struct dissect_sasl *s, const struct dissect_unit *u);

/* The server's final answer to the exchange. */
void dissect_sasl_end(struct dissect_sasl *s);

/* The line budget of dir starts again (a protocol's message boundary). */
void dissect_budget_reset(struct dissect *d, enum dissect_dir dir);

/* TLS starts (STARTTLS, STLS, AUTH TLS accepted): logs it at debug and
 * returns DISSECT_STOP, since nothing more is readable. */
enum dissect_verdict dissect_tls(struct dissect *d);

/*
 * The reply code at the start of an FTP or SMTP reply line: "ddd" then ' '
 * (the last line of the reply), '-' (more lines follow) or the end, put in
 * *sep (the end as ' '). Returns the code (100..999), or 0 when the line is
 * not a reply line (*sep untouched).
 */
int dissect_reply_code(const struct dissect_unit *u, char *sep);

/* Case-insensitive: does s[0..len) start with word (ASCII), followed by
 * the end or a space? */
bool dissect_word(const char *s, size_t len, const char *word);

#endif
