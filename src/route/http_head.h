/*
 * http_head: one pure, incremental parser of an HTTP/1.x message head
 * (RFC 9112), used both ways round:
 *   - a request head: what a client sends on the SOCKS listener when its
 *     first octet is not 05 (`CONNECT host:port HTTP/1.1` with
 *     `Proxy-Authorization: Basic ...`);
 *   - a response head: what a parent HTTP proxy answers to our CONNECT.
 * Plus the builders for the other direction: our CONNECT request to a
 * parent, and the proxy's own responses (200, 400, 403, 405, 407, 502, 503,
 * 504). No sockets: see core/proto.h for the calling convention. The
 * parser consumes the head up to and including its empty line and never an
 * octet past it: what follows is the tunnel.
 *
 * Decisions (each refusal is PROTO_ERROR with `error` saying why):
 *   - Size: at most HTTP_HEAD_MAX octets in all (start line, fields, line
 *     ends, the empty line) and HTTP_HEAD_MAX_FIELDS field lines.
 *   - Line ends: CR LF, or a bare LF (RFC 9112 section 2.2 allows a
 *     recipient to take LF alone; hand-typed and some embedded clients
 *     send it). A CR not followed by LF is refused (HTTP_HEAD_BARE_CR):
 *     it is how request smuggling starts.
 *   - obs-fold (a field line starting with SP or HTAB) is refused, as is
 *     whitespace before a field's colon (RFC 9112 sections 5.1, 5.2).
 *   - Start line: exactly `METHOD SP TARGET SP HTTP/1.x` (request) or
 *     `HTTP/1.x SP DDD [SP REASON]` (response, status 100..599); single
 *     spaces, no leading empty lines, version HTTP/1.0 or HTTP/1.1 only.
 *   - Names are tokens; values lose leading and trailing SP/HTAB and may
 *     hold any octet but controls (HTAB excepted); NUL is never accepted,
 *     so every piece in `text` is a C string.
 *
 * Credentials: http_head_basic() decodes `Proxy-Authorization: Basic`
 * into a caller's struct http_basic (wipe it after use);
 * http_head_describe() is the one way to log a head, and writes the value
 * of Proxy-Authorization, Authorization and Cookie as "<redacted>";
 * http_head_scrub() zeroes those values inside the parser once read.
 */
#ifndef MASS_HTTP_HEAD_H
#define MASS_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

#define HTTP_HEAD_MAX 8192        /* octets of a whole head, empty line included */
#define HTTP_HEAD_MAX_FIELDS 64
#define HTTP_HOST_MAX 255          /* a CONNECT target's host, without brackets */

enum http_head_kind { HTTP_HEAD_REQUEST = 1, HTTP_HEAD_RESPONSE };

enum http_head_error {
	HTTP_HEAD_OK = 0,
	HTTP_HEAD_TOO_LONG,        /* over HTTP_HEAD_MAX octets: answer 431 or close */
	HTTP_HEAD_TOO_MANY_FIELDS, /* over HTTP_HEAD_MAX_FIELDS field lines */
	HTTP_HEAD_BARE_CR,         /* CR not followed by LF */
	HTTP_HEAD_BAD_START,       /* malformed request line or status line */
	HTTP_HEAD_BAD_VERSION,     /* HTTP/x.y other than 1.0 and 1.1 */
	HTTP_HEAD_BAD_FIELD,       /* no colon, bad name, space before colon, control octet */
	HTTP_HEAD_OBS_FOLD         /* a field line (or the first) starting with SP/HTAB */
};

/* Offsets into text of a field's NUL-terminated name and value. */
struct http_head_field {
	uint16_t name;
	uint16_t value;
};

struct http_head {
	uint8_t kind;              /* enum http_head_kind */
	uint8_t state;
	uint8_t minor;             /* done: HTTP/1.minor */
	bool cr;                   /* the last octet was a CR */
	bool started;              /* the start line has been read */
	uint16_t status;           /* response done: 100..599 */
	uint16_t octets;           /* octets consumed so far */
	uint16_t len;              /* octets used in text */
	uint16_t line;             /* where the current line starts in text */
	uint16_t method, target;   /* request: offsets of NUL-terminated strings */
	uint16_t reason;           /* response: offset of the reason phrase ("" if none) */
	uint16_t nfields;
	struct http_head_field fields[HTTP_HEAD_MAX_FIELDS];
	enum http_head_error error;
	char text[HTTP_HEAD_MAX + 1];  /* the head's pieces, each NUL-terminated */
};

void http_head_init(struct http_head *h, enum http_head_kind kind);

/* core/proto.h: PROTO_MORE, PROTO_DONE (*used ends the empty line), PROTO_ERROR. */
enum proto_result http_head_parse(struct http_head *h, const uint8_t *buf, size_t len,
				  size_t *used);

/* A short English reason for an error, for the log. */
const char *http_head_error_str(enum http_head_error e);

/* Done: the request's method, target, or reason phrase (never NULL once done). */
const char *http_head_method(const struct http_head *h);
const char *http_head_target_str(const struct http_head *h);
const char *http_head_reason(const struct http_head *h);

/* The value of the first field named name (case-insensitive), or NULL. */
const char *http_head_field(const struct http_head *h, const char *name);

/* How many fields are named name (case-insensitive). */
size_t http_head_field_count(const struct http_head *h, const char *name);

/* True for a request whose method is CONNECT (methods are case-sensitive). */
bool http_head_is_connect(const struct http_head *h);

/*
 * Parses a CONNECT target in authority form: `name:port`, `a.b.c.d:port`
 * or `[v6]:port` (no zone). host gets the name or address without brackets
 * (NUL-terminated, HTTP_HOST_MAX + 1 bytes); port 1..65535, decimal without
 * sign or leading zero. Names are letters, digits, '-', '.', '_'.
 * Returns 0, or -1 (answer 400).
 */
int http_head_target(const struct http_head *h, char host[HTTP_HOST_MAX + 1], uint16_t *port);

/* Credentials decoded from Basic; NUL-terminated; wipe after use. */
struct http_basic {
	char user[256];
	char pass[256];
};

enum http_basic_result {
	HTTP_BASIC_NONE = 0,       /* no Proxy-Authorization: answer 407 */
	HTTP_BASIC_OK,             /* *out filled */
	HTTP_BASIC_BAD             /* not one Basic field of canonical base64 "user:pass"
				      (user or pass over 255, NUL, no colon, twice): 407 too */
};

enum http_basic_result http_head_basic(const struct http_head *h, struct http_basic *out);

/* Zeroes the values of Proxy-Authorization and Authorization in h->text. */
void http_head_scrub(struct http_head *h);

/*
 * One log line for a parsed (or partly parsed) head: the start line then
 * `; Name: value` per field, credentials as "<redacted>", network text
 * escaped (core/escape.h). Always NUL-terminates when outlen > 0; cut
 * short when out is. Returns out.
 */
char *http_head_describe(const struct http_head *h, char *out, size_t outlen);

/* --- builders: each returns the length written (no NUL), or 0 when it cannot --- */

/*
 * `CONNECT host:port HTTP/1.1`, `Host:`, and when user is not NULL
 * `Proxy-Authorization: Basic base64(user:pass)`, then the empty line.
 * host is a name or an address (IPv6 gets brackets). 0 when it does not
 * fit in cap, when host is empty or holds anything but [A-Za-z0-9.:_-],
 * an address with a colon that is not IPv6, or when user holds a colon or
 * either holds a control octet (UTF-8 is sent as is, RFC 7617).
 */
size_t http_head_connect_request(char *out, size_t cap, const char *host, uint16_t port,
				 const char *user, const char *pass);

/*
 * The proxy's answer: `HTTP/1.1 200 Connection established` and nothing
 * else for 200; for 400, 403, 405, 407, 502, 503, 504 the standard reason,
 * `Content-Length: 0`, `Connection: close`, and for 407
 * `Proxy-Authenticate: Basic realm="REALM"` (realm printable ASCII without
 * '"' or '\\'; NULL gives "socks5d"). 0 for another status or a bad realm.
 */
#define HTTP_RESPONSE_MAX 256
size_t http_head_response(char *out, size_t cap, int status, const char *realm);

#endif
