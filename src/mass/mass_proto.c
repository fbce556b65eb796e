/* mass_proto: MASS request framer and reply encoder. See mass_proto.h. */
#include "mass_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* S_ERROR: a finished parser consumes nothing more and repeats its verdict */
enum { S_INDEX, S_PARAM, S_LENGTH, S_DATA, S_DONE, S_ERROR };

bool mass_signature_valid(const char *sig)
{
	return mass_signature_explain(sig, NULL, 0);
}

bool mass_signature_explain(const char *sig, char *why, size_t whylen)
{
	size_t i;

	if (sig == NULL) {
		if (why != NULL)
			snprintf(why, whylen, "no signature (NULL)");
		return false;
	}
	for (i = 0; sig[i] != '\0'; i++) {
		if (i >= MASS_PARAMS_MAX) {
			if (why != NULL)
				snprintf(why, whylen, "invalid signature: more than %d characters",
					 MASS_PARAMS_MAX);
			return false;
		}
		if (sig[i] != 'b' && sig[i] != 's') {
			if (why == NULL)
				return false;
			if (sig[i] > 0x20 && sig[i] < 0x7F)
				snprintf(why, whylen, "invalid signature \"%.*s\": '%c' at position %zu "
					 "is neither 'b' nor 's'", MASS_PARAMS_MAX, sig, sig[i], i + 1);
			else
				snprintf(why, whylen, "invalid signature: octet %02X at position %zu "
					 "is neither 'b' nor 's'", (unsigned)(unsigned char)sig[i], i + 1);
			return false;
		}
	}
	return true;
}

void mass_request_init(struct mass_request_parser *p, mass_lookup_fn *lookup, void *ctx)
{
	p->lookup = lookup;
	p->ctx = ctx;
	p->state = S_INDEX;
	p->unsupported = false;
	p->signature[0] = '\0';
	p->pos = 0;
	p->need = p->seen = 0;
	p->used = 0;
	memset(&p->req, 0, sizeof(p->req));
	p->error = MASS_REQUEST_OK;
}

/* Opens parameter pos at data[used]: the request then points at it. */
static void mass_request_open(struct mass_request_parser *p, uint16_t need)
{
	p->req.params[p->pos].data = p->data + p->used;
	p->req.params[p->pos].len = need;
	p->need = need;
	p->seen = 0;
	p->state = S_DATA;
}

/* Closes the current parameter (NUL after it) and moves to the next one. */
static void mass_request_close(struct mass_request_parser *p)
{
	p->data[p->used++] = 0;
	p->pos++;
	p->state = p->signature[p->pos] == '\0' ? S_DONE : S_PARAM;
}

/* Looks INDEX up; copies the signature so the table may change meanwhile. */
static enum proto_result mass_request_index(struct mass_request_parser *p, uint8_t index)
{
	const char *sig = p->lookup(p->ctx, index);

	p->req.index = index;
	if (sig == NULL) {
		p->unsupported = true;
		p->state = S_DONE;
		return PROTO_DONE;
	}
	if (!mass_signature_valid(sig)) {
		p->error = MASS_REQUEST_BAD_SIGNATURE;
		p->state = S_ERROR;
		return PROTO_ERROR;
	}
	strcpy(p->signature, sig);
	p->req.nparams = (uint8_t)strlen(sig);
	p->state = sig[0] == '\0' ? S_DONE : S_PARAM;
	return p->state == S_DONE ? PROTO_DONE : PROTO_MORE;
}

enum proto_result mass_request_parse(struct mass_request_parser *p, const uint8_t *buf,
				     size_t len, size_t *used)
{
	size_t i = 0, n;
	enum proto_result r;

	if (p->state == S_ERROR) {
		*used = 0;
		return PROTO_ERROR;
	}
	while (p->state != S_DONE) {
		if (p->state == S_PARAM) {
			/* no input needed to open a parameter */
			if (p->signature[p->pos] == 'b')
				mass_request_open(p, 1);
			else
				p->state = S_LENGTH;
			continue;
		}
		if (p->state == S_DATA && p->seen == p->need) {
			mass_request_close(p);
			continue;
		}
		if (i == len) {
			*used = i;
			return PROTO_MORE;
		}
		switch (p->state) {
		case S_INDEX:
			r = mass_request_index(p, buf[i++]);
			if (r != PROTO_MORE) {
				*used = i;
				return r;
			}
			break;
		case S_LENGTH:
			mass_request_open(p, buf[i++]);
			break;
		case S_DATA:
			n = len - i;
			if (n > (size_t)(p->need - p->seen))
				n = (size_t)(p->need - p->seen);
			memcpy(p->data + p->used, buf + i, n);
			p->used += n;
			p->seen = (uint16_t)(p->seen + n);
			i += n;
			break;
		}
	}
	*used = i;
	return PROTO_DONE;
}

void mass_reply_init(struct mass_reply *r, uint8_t *buf, size_t cap)
{
	r->buf = buf;
	r->cap = cap;
	r->len = 1;
	r->failed = cap < 1;
	r->why[0] = '\0';
	if (!r->failed)
		buf[0] = MASS_STATUS_OK;
}

/* Marks the reply failed, keeping the first reason. Returns -1. */
static int mass_reply_fail(struct mass_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int mass_reply_fail(struct mass_reply *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->failed) {
		va_start(ap, fmt);
		vsnprintf(r->why, sizeof(r->why), fmt, ap);
		va_end(ap);
	}
	r->failed = true;
	return -1;
}

int mass_reply_bytes(struct mass_reply *r, const void *data, size_t len)
{
	if (r->failed)
		return -1;
	if (len > r->cap - r->len)
		return mass_reply_fail(r, "reply overflowed (more than %zu octets)", r->cap - 1);
	if (len > 0)
		memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

int mass_reply_u8(struct mass_reply *r, uint8_t v)
{
	return mass_reply_bytes(r, &v, 1);
}

int mass_reply_u32(struct mass_reply *r, uint32_t v)
{
	uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return mass_reply_bytes(r, be, sizeof(be));
}

int mass_reply_u64(struct mass_reply *r, uint64_t v)
{
	uint8_t be[8];
	int i;

	for (i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	return mass_reply_bytes(r, be, sizeof(be));
}

int mass_reply_str(struct mass_reply *r, const void *data, size_t len)
{
	if (r->failed)
		return -1;
	if (len > 255)
		return mass_reply_fail(r, "string field of %zu octets (at most 255)", len);
	if (len + 1 > r->cap - r->len)
		return mass_reply_fail(r, "reply overflowed (more than %zu octets)", r->cap - 1);
	mass_reply_u8(r, (uint8_t)len);
	return mass_reply_bytes(r, data, len);
}

long mass_reply_count_begin(struct mass_reply *r)
{
	long mark = (long)r->len;

	if (mass_reply_u8(r, 0) < 0)
		return -1;
	return mark;
}

int mass_reply_count_end(struct mass_reply *r, long mark, size_t n)
{
	if (r->failed)
		return -1;
	if (n > 255)
		return mass_reply_fail(r, "count %zu (at most 255)", n);
	if (mark < 1 || (size_t)mark >= r->len)
		return mass_reply_fail(r, "count end without its begin (mark %zu)", (size_t)mark);
	r->buf[mark] = (uint8_t)n;
	return 0;
}

size_t mass_reply_finish(struct mass_reply *r, int status)
{
	if (r->cap < 1)
		return 0;
	if (r->failed || status < MASS_STATUS_OK || status > MASS_STATUS_USER_LIMIT)
		status = MASS_STATUS_ERROR;
	r->buf[0] = (uint8_t)status;
	if (status != MASS_STATUS_OK)
		r->len = 1;
	return r->len;
}

bool mass_request_cut(const struct mass_request_parser *p, unsigned *have)
{
	*have = p->pos;
	return p->state == S_PARAM || p->state == S_LENGTH || p->state == S_DATA;
}
