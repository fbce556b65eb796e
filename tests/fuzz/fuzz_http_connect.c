/*
 * Fuzz target: HTTP CONNECT on the SOCKS listener (socks/http_connect.h).
 * The input is fed as a request head, whole and cut in two; both runs agree.
 * A head that is done turns into SOCKS5 octets the server's own parsers read
 * back: the RFC 1929 login (when the method chosen is 02) carries the Basic
 * credentials, the request names the head's target and port; every answer
 * of the session becomes one HTTP/1.1 response, 200 only for REP 00.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "route/http_head.h"
#include "socks/http_connect.h"
#include "socks/socks5_proto.h"

/* Feeds buf[0..len) in two pieces cut at cut. */
static enum proto_result fuzz_hc_feed(struct http_connect *hc, const uint8_t *buf, size_t len,
				      size_t cut, size_t *used, int *status)
{
	size_t u1 = 0, u2 = 0;
	enum proto_result r = http_connect_feed(hc, buf, cut, &u1, status);

	FUZZ_CHECK(u1 <= cut);
	if (r != PROTO_MORE || cut == len) {
		*used = u1;
		return r;
	}
	FUZZ_CHECK(u1 == cut);
	r = http_connect_feed(hc, buf + cut, len - cut, &u2, status);
	*used = u1 + u2;
	return r;
}

/* The SOCKS5 octets of a done head, read back by the server's parsers. */
static void fuzz_hc_socks(struct http_connect *hc, uint8_t rep)
{
	static uint8_t out[HTTP_CONNECT_SOCKS_MAX];
	uint8_t g[4], method;
	char resp[HTTP_RESPONSE_MAX], dest[300];
	struct userpass_parser up;
	struct request_parser req;
	uint8_t reply[10] = { 5, rep, 0, 1, 127, 0, 0, 1, 0, 80 };
	size_t n, used, off = 0, rl;

	n = http_connect_greeting(hc, g);
	FUZZ_CHECK((n == 3 || n == 4) && g[0] == 5 && g[1] == n - 2);
	method = n == 4 ? 2 : 0;
	FUZZ_CHECK(http_connect_answer(hc, (const uint8_t[]){ 5, method }, 2, resp,
				       sizeof(resp)) == 0);
	n = http_connect_socks(hc, out, sizeof(out));
	FUZZ_CHECK(n > 0 && n <= sizeof(out));
	if (method == 2) {
		userpass_init(&up);
		FUZZ_CHECK(userpass_parse(&up, out, n, &used) == PROTO_DONE);
		off = used;
		FUZZ_CHECK(http_connect_answer(hc, (const uint8_t[]){ 1, 0 }, 2, resp,
					       sizeof(resp)) == 0);
	}
	request_init(&req);
	FUZZ_CHECK(request_parse(&req, out + off, n - off, &used) == PROTO_DONE);
	FUZZ_CHECK(off + used == n && req.cmd == 1 && req.port > 0);
	request_dest_str(&req, dest, sizeof(dest));
	FUZZ_CHECK(strlen(dest) > 0);
	rl = http_connect_answer(hc, reply, sizeof(reply), resp, sizeof(resp));
	FUZZ_CHECK(rl > 12 && memcmp(resp, "HTTP/1.1 ", 9) == 0);
	FUZZ_CHECK((memcmp(resp + 9, "200", 3) == 0) == (rep == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_connect *a, *b;
	size_t ua = 0, ub = 0, cut;
	int sa = 0, sb = 0;
	enum proto_result ra, rb;

	if (size < 2)
		return 0;
	cut = (size_t)data[0] % size;
	a = http_connect_new();
	b = http_connect_new();
	FUZZ_CHECK(a != NULL && b != NULL);
	ra = fuzz_hc_feed(a, data + 2, size - 2, size - 2, &ua, &sa);
	rb = fuzz_hc_feed(b, data + 2, size - 2, cut > size - 2 ? size - 2 : cut, &ub, &sb);
	FUZZ_CHECK(ra == rb && ua == ub);
	if (ra == PROTO_ERROR)
		FUZZ_CHECK(sa == sb && (sa == 400 || sa == 405));
	if (ra == PROTO_DONE)
		fuzz_hc_socks(a, data[1] % 10);
	http_connect_free(a);
	http_connect_free(b);
	return 0;
}
