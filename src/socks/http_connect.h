/*
 * http_connect: HTTP/1.1 CONNECT on the SOCKS listener ([socks]
 * http_connect = on; off by default). A client whose first octet is not 05
 * is read as an HTTP request head (route/http_head.h, the same parser the
 * upstream client uses for a parent's response); this module translates in
 * both directions, so the session runs it as the SOCKS5 client it stands
 * for and nothing downstream of the handshake knows the difference (the
 * same login path, ACL, limits, routes, events, access log and counters):
 *
 *   request head              → SOCKS5 greeting, RFC 1929 login (from
 *                               Proxy-Authorization: Basic), CONNECT request
 *   method choice, login status, reply → one HTTP response
 *
 * The greeting offers method 00 and, when the head carries well-formed
 * Basic credentials, 02 too: a server that requires a login rejects a
 * client without them (407 with Proxy-Authenticate); a server that does
 * not ignores them. A failed login is 407. The reply's REP becomes a
 * status: 00 → 200, 02 → 403, 07 → 405, 06 (timed out) → 504, 03 when
 * every parent of the route is down → 503 (see http_connect_unavailable),
 * anything else → 502. A head that is not a CONNECT is 405, a malformed
 * one 400 (431 is not among http_head's answers: too long is 400 too).
 *
 * Credentials are copied only into the RFC 1929 bytes handed to the
 * session, and wiped with the module's state (http_connect_free) and in the
 * parser once read (http_head_scrub).
 */
#ifndef MASS_HTTP_CONNECT_H
#define MASS_HTTP_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

struct http_connect;

/* A fresh request reader (the parser is about 9 KB), or NULL without memory. */
struct http_connect *http_connect_new(void);

/* Wipes and frees hc (NULL is fine). */
void http_connect_free(struct http_connect *hc);

/*
 * Feeds request octets (core/proto.h). PROTO_DONE: the head is complete
 * and *used ends its empty line (what follows is the tunnel's first
 * payload). PROTO_ERROR: *status is the HTTP status to answer (400, 405).
 */
enum proto_result http_connect_feed(struct http_connect *hc, const uint8_t *buf, size_t len,
				    size_t *used, int *status);

/* The SOCKS5 greeting the head stands for (at most 4 octets). Done only. */
size_t http_connect_greeting(const struct http_connect *hc, uint8_t out[4]);

/*
 * What follows the server's method choice: the RFC 1929 login when the
 * method chosen (seen by http_connect_answer) is 02, then the CONNECT
 * request naming the head's target. At most HTTP_CONNECT_SOCKS_MAX octets;
 * wipe out after use (it may hold the password).
 */
#define HTTP_CONNECT_SOCKS_MAX (3 + 2 * 255 + 4 + 1 + 255 + 2)
size_t http_connect_socks(const struct http_connect *hc, uint8_t *out, size_t cap);

/*
 * Translates one SOCKS5 answer of the session (method choice, login
 * status, reply, in that order) into the HTTP response to send instead.
 * Returns its length in out (HTTP_RESPONSE_MAX from route/http_head.h is
 * enough), or 0 when nothing is to be sent (a method or login accepted).
 */
size_t http_connect_answer(struct http_connect *hc, const uint8_t *socks, size_t len,
			   char *out, size_t cap);

/* The next failure reply means "every parent of the route is down": 503. */
void http_connect_unavailable(struct http_connect *hc);

/* The status a SOCKS5 REP becomes (see above). */
int http_connect_status(uint8_t rep);

#endif
