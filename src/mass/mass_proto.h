/*
 * mass_proto: the MASS request framer and reply encoder, pure and
 * incremental (see proto.h for the calling convention). The greeting and
 * the admin sub-negotiation are those of socks5_proto.h (VER 01).
 *
 * A request is INDEX PARAMETERS. The framer reads INDEX, asks a lookup
 * function for the signature of that index (see <mass/plugin.h>), and frames
 * the parameters from it: 'b' one raw octet, 's' LENGTH + DATA. An index the
 * lookup does not know completes the request at once with `unsupported` set
 * (the server answers 02 without waiting for parameters it cannot frame).
 */
#ifndef MASS_MASS_PROTO_H
#define MASS_MASS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mass/plugin.h"
#include "core/proto.h"

#define MASS_VERSION 0x01

/* Largest framed request: every parameter a 255-octet string plus its NUL. */
#define MASS_REQUEST_DATA_MAX (MASS_PARAMS_MAX * 256)

/* The signature of an index, or NULL when it is not served. Pure. */
typedef const char *mass_lookup_fn(void *ctx, uint8_t index);

enum mass_request_error {
	MASS_REQUEST_OK = 0,
	MASS_REQUEST_BAD_SIGNATURE  /* the lookup gave an invalid signature: answer 01 */
};

struct mass_request_parser {
	mass_lookup_fn *lookup;
	void *ctx;
	uint8_t state;
	bool unsupported;          /* DONE: the index is not served (answer 02) */
	char signature[MASS_PARAMS_MAX + 1];  /* copied: the table may change meanwhile */
	uint8_t pos;               /* parameter being framed */
	uint16_t need, seen;       /* octets of the current parameter */
	size_t used;               /* octets of data[] in use */
	uint8_t data[MASS_REQUEST_DATA_MAX];
	struct mass_request req;   /* index and params (pointing into data) once DONE */
	enum mass_request_error error;
};

/* True when sig has at most MASS_PARAMS_MAX characters, each 'b' or 's'. */
bool mass_signature_valid(const char *sig);

/* The same check, writing into why (whylen octets; why may be NULL) what
 * is wrong, naming the offending character and its position (1-based):
 * "invalid signature \"sx\": 'x' at position 2 is neither 'b' nor 's'". */
bool mass_signature_explain(const char *sig, char *why, size_t whylen);

void mass_request_init(struct mass_request_parser *p, mass_lookup_fn *lookup, void *ctx);

/*
 * Feeds request bytes. Returns PROTO_MORE, PROTO_DONE (p->req is complete, or
 * p->unsupported is set), or PROTO_ERROR (p->error says why).
 */
enum proto_result mass_request_parse(struct mass_request_parser *p, const uint8_t *buf,
				     size_t len, size_t *used);

/* True when the index was framed and its parameters are incomplete (the
 * request was cut short if no more comes); *have: parameters complete. */
bool mass_request_cut(const struct mass_request_parser *p, unsigned *have);

/*
 * The reply encoder behind the host's reply builder. Byte 0 of buf is the
 * status octet; fields follow. Bounded by cap: anything that does not fit
 * (or breaks a rule, as a string above 255 octets) sets `failed`, after which
 * every call is a no-op returning -1, and the reply goes out as 01.
 */
struct mass_reply {
	uint8_t *buf;
	size_t cap, len;
	bool failed;
	char why[64];              /* once failed: the first reason, for the log */
};

/* Starts an empty reply in buf (cap >= 1: room for the status octet). */
void mass_reply_init(struct mass_reply *r, uint8_t *buf, size_t cap);
int mass_reply_u8(struct mass_reply *r, uint8_t v);
int mass_reply_u32(struct mass_reply *r, uint32_t v);
int mass_reply_u64(struct mass_reply *r, uint64_t v);   /* big-endian, 8 octets */
int mass_reply_str(struct mass_reply *r, const void *data, size_t len);
int mass_reply_bytes(struct mass_reply *r, const void *data, size_t len);
long mass_reply_count_begin(struct mass_reply *r);
int mass_reply_count_end(struct mass_reply *r, long mark, size_t n);

/*
 * Seals the reply with status and returns the number of octets to send:
 * just the status octet when status is not 00, 01 alone when the reply
 * failed or the status is outside 00..03.
 */
size_t mass_reply_finish(struct mass_reply *r, int status);

#endif
