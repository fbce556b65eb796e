/* proxy_proto: the PROXY protocol header, v1 and v2. See proxy_proto.h. */
#include "proxy_proto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/*
 * A byte-at-a-time state machine, so any split of the input gives the same
 * result and nothing past the header is consumed. A v1 line is gathered
 * whole (107 octets at most) and read once its CRLF is in; v2 keeps only
 * its addresses and the header of the TLV being skipped.
 */
enum {
	PP_START, PP_V1, PP_V2_SIG, PP_V2_VER, PP_V2_FAM, PP_V2_LEN_HI, PP_V2_LEN_LO,
	PP_V2_ADDR, PP_V2_SKIP, PP_V2_TLV_HDR, PP_V2_TLV_VALUE,
	PP_DONE = 0xFE, PP_ERROR = 0xFF
};

static const uint8_t proxy_v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};
static const char proxy_v1_sig[] = "PROXY ";

#define PROXY_V2_TCP4 0x11        /* AF_INET, STREAM */
#define PROXY_V2_TCP6 0x21        /* AF_INET6, STREAM */
#define PROXY_V2_UNSPEC 0x00
#define PROXY_V2_ADDR4 12         /* src, dst, sport, dport */
#define PROXY_V2_ADDR6 36

void proxy_init(struct proxy_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = PP_START;
}

static enum proto_result proxy_fail(struct proxy_parser *p, enum proxy_error e)
{
	p->error = e;
	return PROTO_ERROR;
}

/* --- v1 --- */

/* A decimal port 0..65535, no sign, no leading zero. Returns 0 or -1. */
static int proxy_v1_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int proxy_v1_addr(int family, const char *ip, const char *port,
			 struct sockaddr_storage *ss)
{
	uint16_t v;

	memset(ss, 0, sizeof(*ss));
	if (proxy_v1_port(port, &v) < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(v);
		return inet_pton(AF_INET, ip, &in->sin_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(v);
	return inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1 ? 0 : -1;
}

/* The complete line in p->buf (p->seen octets, CRLF last). */
static enum proto_result proxy_v1_line(struct proxy_parser *p)
{
	char line[PROXY_V1_MAX + 1], *field[5];
	size_t n = p->seen - 2 - (sizeof(proxy_v1_sig) - 1), nfields = 0;
	int family;

	memcpy(line, p->buf + sizeof(proxy_v1_sig) - 1, n);
	line[n] = '\0';
	if (strncmp(line, "UNKNOWN", 7) == 0 && (line[7] == '\0' || line[7] == ' ')) {
		p->local = true;   /* whatever follows is to be ignored */
		return PROTO_DONE;
	}
	/* "TCP4 SRC DST SPORT DPORT", one space each */
	for (char *f = line;; f++) {
		char *sp = strchr(f, ' ');

		if (nfields == 5)
			return proxy_fail(p, PROXY_BAD_LINE);
		field[nfields++] = f;
		if (sp == NULL)
			break;
		*sp = '\0';
		f = sp;
	}
	if (nfields != 5)
		return proxy_fail(p, PROXY_BAD_LINE);
	if (strcmp(field[0], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(field[0], "TCP6") == 0)
		family = AF_INET6;
	else
		return proxy_fail(p, PROXY_BAD_LINE);
	if (proxy_v1_addr(family, field[1], field[3], &p->src) < 0 ||
	    proxy_v1_addr(family, field[2], field[4], &p->dst) < 0)
		return proxy_fail(p, PROXY_BAD_LINE);
	return PROTO_DONE;
}

/* One octet of a v1 line: printable text, then CR LF, in PROXY_V1_MAX octets. */
static enum proto_result proxy_v1_step(struct proxy_parser *p, uint8_t c)
{
	size_t i = p->seen;

	if (i < sizeof(proxy_v1_sig) - 1) {
		if (c != (uint8_t)proxy_v1_sig[i])
			return proxy_fail(p, PROXY_BAD_SIGNATURE);
	} else if (i > 0 && p->buf[i - 1] == '\r') {
		if (c != '\n')
			return proxy_fail(p, PROXY_BAD_LINE);
	} else if (c != '\r' && (c < 0x20 || c > 0x7E)) {
		return proxy_fail(p, PROXY_BAD_LINE);
	}
	if (c != '\n' && i + 1 >= PROXY_V1_MAX)
		return proxy_fail(p, PROXY_TOO_LONG);
	p->buf[p->seen++] = c;
	return c == '\n' ? proxy_v1_line(p) : PROTO_MORE;
}

/* --- v2 --- */

/* The fixed part is in: what the block holds decides what comes next. */
static enum proto_result proxy_v2_block(struct proxy_parser *p)
{
	size_t need = p->fam == PROXY_V2_TCP4 ? PROXY_V2_ADDR4 : PROXY_V2_ADDR6;

	if (p->len > PROXY_V2_MAX_LEN)
		return proxy_fail(p, PROXY_TOO_LONG);
	p->left = p->len;
	p->seen = 0;
	if (p->local || p->fam == PROXY_V2_UNSPEC) {
		p->local = true;
		p->state = PP_V2_SKIP;
		return p->len == 0 ? PROTO_DONE : PROTO_MORE;
	}
	if (p->len < need)
		return proxy_fail(p, PROXY_BAD_LENGTH);
	p->state = PP_V2_ADDR;
	return PROTO_MORE;
}

/* The addresses are in p->buf: src, dst, then the two ports, network order. */
static void proxy_v2_addrs(struct proxy_parser *p)
{
	memset(&p->src, 0, sizeof(p->src));
	memset(&p->dst, 0, sizeof(p->dst));
	if (p->fam == PROXY_V2_TCP4) {
		struct sockaddr_in *s = (struct sockaddr_in *)&p->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&p->dst;

		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, p->buf, 4);
		memcpy(&d->sin_addr, p->buf + 4, 4);
		memcpy(&s->sin_port, p->buf + 8, 2);
		memcpy(&d->sin_port, p->buf + 10, 2);
		return;
	}
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&p->src;
	struct sockaddr_in6 *d = (struct sockaddr_in6 *)&p->dst;

	s->sin6_family = d->sin6_family = AF_INET6;
	memcpy(&s->sin6_addr, p->buf, 16);
	memcpy(&d->sin6_addr, p->buf + 16, 16);
	memcpy(&s->sin6_port, p->buf + 32, 2);
	memcpy(&d->sin6_port, p->buf + 34, 2);
}

/* TLVs: type, 2-octet length, value; each within what the length announced. */
static enum proto_result proxy_v2_tlv(struct proxy_parser *p, uint8_t c)
{
	p->left--;
	if (p->state == PP_V2_TLV_VALUE) {
		if (--p->tlv_left > 0)
			return PROTO_MORE;
	} else {
		p->buf[p->seen++] = c;
		if (p->seen < 3)
			return p->left == 0 ? proxy_fail(p, PROXY_BAD_TLV) : PROTO_MORE;
		p->tlv_left = (uint16_t)(p->buf[1] << 8 | p->buf[2]);
		if (p->tlv_left > p->left)
			return proxy_fail(p, PROXY_BAD_TLV);
		if (p->tlv_left > 0) {
			p->state = PP_V2_TLV_VALUE;
			return PROTO_MORE;
		}
	}
	p->state = PP_V2_TLV_HDR;
	p->seen = 0;
	return p->left == 0 ? PROTO_DONE : PROTO_MORE;
}

/* One octet of v2 after the first: signature, version and command, family, length, block. */
static enum proto_result proxy_v2_step(struct proxy_parser *p, uint8_t c)
{
	size_t need;

	switch (p->state) {
	case PP_V2_SIG:
		if (c != proxy_v2_sig[p->seen])
			return proxy_fail(p, PROXY_BAD_SIGNATURE);
		if (++p->seen == sizeof(proxy_v2_sig))
			p->state = PP_V2_VER;
		return PROTO_MORE;
	case PP_V2_VER:
		if ((c >> 4) != 2)
			return proxy_fail(p, PROXY_BAD_VERSION);
		if ((c & 0x0F) > 1)
			return proxy_fail(p, PROXY_BAD_COMMAND);
		p->local = (c & 0x0F) == 0;
		p->state = PP_V2_FAM;
		return PROTO_MORE;
	case PP_V2_FAM:
		/* LOCAL's family is not looked at: its block is discarded */
		if (!p->local && c != PROXY_V2_TCP4 && c != PROXY_V2_TCP6 && c != PROXY_V2_UNSPEC)
			return proxy_fail(p, PROXY_BAD_FAMILY);
		p->fam = c;
		p->state = PP_V2_LEN_HI;
		return PROTO_MORE;
	case PP_V2_LEN_HI:
		p->len = (uint16_t)(c << 8);
		p->state = PP_V2_LEN_LO;
		return PROTO_MORE;
	case PP_V2_LEN_LO:
		p->len |= c;
		return proxy_v2_block(p);
	case PP_V2_SKIP:
		return --p->left == 0 ? PROTO_DONE : PROTO_MORE;
	case PP_V2_ADDR:
		need = p->fam == PROXY_V2_TCP4 ? PROXY_V2_ADDR4 : PROXY_V2_ADDR6;
		p->buf[p->seen++] = c;
		p->left--;
		if (p->seen < need)
			return PROTO_MORE;
		proxy_v2_addrs(p);
		p->seen = 0;
		p->state = PP_V2_TLV_HDR;
		return p->left == 0 ? PROTO_DONE : PROTO_MORE;
	default:
		return proxy_v2_tlv(p, c);
	}
}

static enum proto_result proxy_step(struct proxy_parser *p, uint8_t c)
{
	if (p->state == PP_START) {
		p->seen = 0;
		if (c == (uint8_t)proxy_v1_sig[0]) {
			p->version = 1;
			p->state = PP_V1;
			return proxy_v1_step(p, c);
		}
		if (c != proxy_v2_sig[0])
			return proxy_fail(p, PROXY_BAD_SIGNATURE);
		p->version = 2;
		p->state = PP_V2_SIG;
		p->seen = 1;
		return PROTO_MORE;
	}
	return p->state == PP_V1 ? proxy_v1_step(p, c) : proxy_v2_step(p, c);
}

enum proto_result proxy_parse(struct proxy_parser *p, const uint8_t *buf, size_t len,
			      size_t *used)
{
	/* a finished parser consumes nothing more and keeps its verdict */
	*used = 0;
	if (p->state == PP_DONE)
		return PROTO_DONE;
	if (p->state == PP_ERROR)
		return PROTO_ERROR;
	for (size_t i = 0; i < len; i++) {
		enum proto_result r = proxy_step(p, buf[i]);

		if (r != PROTO_MORE) {
			p->state = r == PROTO_DONE ? PP_DONE : PP_ERROR;
			*used = i + 1;
			return r;
		}
	}
	*used = len;
	return PROTO_MORE;
}

bool proxy_signature_prefix(const uint8_t *buf, size_t len)
{
	size_t n1 = len < sizeof(proxy_v1_sig) - 1 ? len : sizeof(proxy_v1_sig) - 1;
	size_t n2 = len < sizeof(proxy_v2_sig) ? len : sizeof(proxy_v2_sig);

	return len > 0 && (memcmp(buf, proxy_v1_sig, n1) == 0 || memcmp(buf, proxy_v2_sig, n2) == 0);
}

const char *proxy_error_str(enum proxy_error e)
{
	switch (e) {
	case PROXY_OK: return "no error";
	case PROXY_BAD_SIGNATURE: return "no PROXY protocol signature";
	case PROXY_TOO_LONG: return "header too long";
	case PROXY_BAD_LINE: return "malformed v1 line";
	case PROXY_BAD_VERSION: return "unknown v2 version";
	case PROXY_BAD_COMMAND: return "unknown v2 command";
	case PROXY_BAD_FAMILY: return "unsupported v2 address family or protocol";
	case PROXY_BAD_LENGTH: return "v2 length too short for its addresses";
	case PROXY_BAD_TLV: return "v2 TLV past the header's length";
	}
	return "unknown error";
}
