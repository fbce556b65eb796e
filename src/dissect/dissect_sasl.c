/*
 * dissect_sasl: SASL PLAIN and LOGIN responses (RFC 4616, RFC 4422) for the
 * protocols that carry them (POP3, IMAP, SMTP). See dissect_int.h.
 */
#include <string.h>

#include "core/base64.h"
#include "dissect_int.h"

int dissect_sasl_plain(struct dissect *d, const char *b64, size_t len)
{
	uint8_t raw[BASE64_DECODED_MAX(DISSECT_LINE_MAX)];
	size_t n;
	const uint8_t *user, *pass;

	if (base64_decode(b64, len, raw, sizeof(raw), &n) < 0)
		return -1;
	/* authzid NUL authcid NUL passwd: exactly two NULs */
	user = memchr(raw, 0, n);
	if (user == NULL)
		return -1;
	user++;
	pass = memchr(user, 0, n - (size_t)(user - raw));
	if (pass == NULL || memchr(pass + 1, 0, n - (size_t)(pass + 1 - raw)) != NULL)
		return -1;
	pass++;
	return dissect_queue_credential(d, (const char *)user, (size_t)(pass - 1 - user),
					(const char *)pass, n - (size_t)(pass - raw));
}

/* A SASL LOGIN step: base64 of the user or of the password. Returns the
 * next step: the password after a user, else the end of the responses (an
 * invalid user: the exchange is not followed any further). */
static enum dissect_sasl_step dissect_sasl_login(struct dissect *d, struct dissect_sasl *s,
						 const char *b64, size_t len)
{
	uint8_t raw[BASE64_DECODED_MAX(DISSECT_LINE_MAX)];
	size_t n;

	if (base64_decode(b64, len, raw, sizeof(raw), &n) < 0)
		return s->step == DISSECT_SASL_USER ? DISSECT_SASL_OTHER : DISSECT_SASL_NONE;
	if (s->step == DISSECT_SASL_PASS) {
		dissect_queue_credential(d, s->user, s->user_len, (const char *)raw, n);
		return DISSECT_SASL_NONE;
	}
	s->user_len = n < sizeof(s->user) ? n : sizeof(s->user);
	memcpy(s->user, raw, s->user_len);
	return DISSECT_SASL_PASS;
}

void dissect_sasl_start(struct dissect *d, struct dissect_sasl *s, const char *args, size_t len)
{
	const char *sp = memchr(args, ' ', len);

	if (sp == NULL)
		dissect_sasl_begin(d, s, args, len, NULL, 0);
	else
		dissect_sasl_begin(d, s, args, (size_t)(sp - args), sp + 1, len - (size_t)(sp + 1 - args));
}

void dissect_sasl_begin(struct dissect *d, struct dissect_sasl *s,
			const char *mech, size_t mech_len, const char *ir, size_t irlen)
{
	s->user_len = 0;
	if (mech_len == 5 && dissect_word(mech, mech_len, "PLAIN"))
		s->step = DISSECT_SASL_PLAIN;
	else if (mech_len == 5 && dissect_word(mech, mech_len, "LOGIN"))
		s->step = DISSECT_SASL_USER;
	else
		s->step = DISSECT_SASL_OTHER;
	if (ir == NULL || s->step == DISSECT_SASL_OTHER)
		return;
	if (irlen == 1 && ir[0] == '=')
		irlen = 0; /* the empty initial response */
	if (s->step == DISSECT_SASL_PLAIN) {
		dissect_sasl_plain(d, ir, irlen);
		s->step = DISSECT_SASL_NONE; /* nothing more to read */
	} else {
		s->step = dissect_sasl_login(d, s, ir, irlen);
	}
}

void dissect_sasl_line(struct dissect *d, struct dissect_sasl *s, const struct dissect_unit *u)
{
	bool cancel = u->len == 1 && u->s[0] == '*';

	if (u->cut || u->raw || cancel) {
		s->step = cancel ? DISSECT_SASL_NONE : DISSECT_SASL_OTHER;
		return;
	}
	switch (s->step) {
	case DISSECT_SASL_PLAIN:
		dissect_sasl_plain(d, u->s, u->len);
		s->step = DISSECT_SASL_NONE;
		break;
	case DISSECT_SASL_USER:
	case DISSECT_SASL_PASS:
		s->step = dissect_sasl_login(d, s, u->s, u->len);
		break;
	case DISSECT_SASL_NONE:
	case DISSECT_SASL_OTHER:
		break;
	}
}

void dissect_sasl_end(struct dissect_sasl *s)
{
	s->step = DISSECT_SASL_NONE;
}
