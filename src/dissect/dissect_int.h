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
 * any, with result ("ok", "fail" or "?") and drops it. Returns true when
 * it carried a credential. Does nothing (false) when none waits.
 */
bool dissect_queue_answer(struct dissect *d, const char *result);

/*
 * Decodes a SASL PLAIN response (base64 of authzid NUL authcid NUL passwd,
 * RFC 4616) and attaches authcid/passwd to the newest waiting command.
 * Returns 0, or -1 when it is not valid base64 PLAIN.
 */
int dissect_sasl_plain(struct dissect *d, const char *b64, size_t len);

/* Case-insensitive: does s[0..len) start with word (ASCII), followed by
 * the end or a space? */
bool dissect_word(const char *s, size_t len, const char *word);

#endif
