/*
 * dissect_int: what the framework (dissect.c) offers the protocol dissectors
 * (dissect_*.c). Not used outside src/dissect*.c.
 *
 * The framework owns everything protocols have in common: the per-direction
 * line splitter, the byte budget, the queue of client commands awaiting the
 * server's answer (with the credential each may carry) and the reporting. A
 * protocol sees one unit at a time (a line, or a block of raw bytes it asked
 * for) and keeps only its own parsing state.
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
	bool raw;       /* a block asked for with dissect_raw(.., keep = true) */
};

struct dissect_proto {
	const char *name;              /* the credential's protocol */
	enum dissect_protocol index;   /* whose ports watch it */
	size_t state_size;             /* zeroed before init */
	void (*init)(void *state);     /* NULL: zeroed state is the start */
	/* One unit of one direction. Returns DISSECT_STOP when the login phase is over. */
	enum dissect_verdict (*unit)(struct dissect *d, void *state, enum dissect_dir dir,
				     const struct dissect_unit *u);
};

extern const struct dissect_proto dissect_pop3;
extern const struct dissect_proto dissect_http;
extern const struct dissect_proto dissect_ftp;
extern const struct dissect_proto dissect_imap;
extern const struct dissect_proto dissect_smtp;

/*
 * The next n bytes of dir are not lines: with keep they are handed over as
 * one raw unit (cut when n > DISSECT_LINE_MAX), else skipped unseen (bodies).
 * n = 0 cancels a pending request and drops a partly collected line.
 */
void dissect_raw(struct dissect *d, enum dissect_dir dir, uint64_t n, bool keep);

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

/* Is this line (cut: only its start) "METHOD target HTTP/1.x"? Any token is
 * a method (dissect_http.c). */
bool dissect_http_request_line(const char *s, size_t len, bool cut);

/* Case-insensitive: does s[0..len) start with word (ASCII), followed by
 * the end or a space? */
bool dissect_word(const char *s, size_t len, const char *word);

#endif
