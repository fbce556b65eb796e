/* http_connect: HTTP CONNECT translated to and from SOCKS5. See http_connect.h. */
#include "http_connect.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "route/http_head.h"
#include "socks5_proto.h"

/* Which SOCKS5 answer of the session comes next. */
enum { HC_METHOD, HC_STATUS, HC_REPLY, HC_DONE };

struct http_connect {
	struct http_head head;
	uint8_t phase;
	uint8_t method;              /* the method the session chose */
	bool basic;                  /* well-formed Basic credentials came */
	bool unavailable;            /* http_connect_unavailable() */
	uint16_t port;
	char host[HTTP_HOST_MAX + 1];
	struct http_basic cred;
};

struct http_connect *http_connect_new(void)
{
	struct http_connect *hc = calloc(1, sizeof(*hc));

	if (hc != NULL)
		http_head_init(&hc->head, HTTP_HEAD_REQUEST);
	return hc;
}

void http_connect_free(struct http_connect *hc)
{
	if (hc == NULL)
		return;
	explicit_bzero(hc, sizeof(*hc));
	free(hc);
}

enum proto_result http_connect_feed(struct http_connect *hc, const uint8_t *buf, size_t len,
				    size_t *used, int *status)
{
	enum proto_result r = http_head_parse(&hc->head, buf, len, used);

	if (r == PROTO_ERROR) {
		*status = 400;
		return r;
	}
	if (r == PROTO_MORE)
		return r;
	if (!http_head_is_connect(&hc->head)) {
		*status = 405;
		http_head_scrub(&hc->head);
		return PROTO_ERROR;
	}
	hc->basic = http_head_basic(&hc->head, &hc->cred) == HTTP_BASIC_OK;
	http_head_scrub(&hc->head);
	if (http_head_target(&hc->head, hc->host, &hc->port) < 0) {
		*status = 400;
		return PROTO_ERROR;
	}
	return PROTO_DONE;
}

size_t http_connect_greeting(const struct http_connect *hc, uint8_t out[4])
{
	out[0] = SOCKS5_VERSION;
	out[1] = hc->basic ? 2 : 1;
	out[2] = SOCKS5_METHOD_NONE;
	out[3] = SOCKS5_METHOD_USERPASS;
	return hc->basic ? 4 : 3;
}

/* The CONNECT request for host:port into out (at least 4 + 1 + 255 + 2). */
static size_t http_connect_request(const struct http_connect *hc, uint8_t *out)
{
	size_t n = 0, hl = strlen(hc->host);
	uint8_t a[16];

	out[n++] = SOCKS5_VERSION;
	out[n++] = SOCKS5_CMD_CONNECT;
	out[n++] = 0;
	if (inet_pton(AF_INET, hc->host, a) == 1) {
		out[n++] = SOCKS5_ATYP_IPV4;
		memcpy(out + n, a, 4);
		n += 4;
	} else if (inet_pton(AF_INET6, hc->host, a) == 1) {
		out[n++] = SOCKS5_ATYP_IPV6;
		memcpy(out + n, a, 16);
		n += 16;
	} else {
		out[n++] = SOCKS5_ATYP_DOMAIN;
		out[n++] = (uint8_t)hl;
		memcpy(out + n, hc->host, hl);
		n += hl;
	}
	out[n++] = (uint8_t)(hc->port >> 8);
	out[n++] = (uint8_t)hc->port;
	return n;
}

size_t http_connect_socks(const struct http_connect *hc, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (cap < HTTP_CONNECT_SOCKS_MAX)
		return 0;
	if (hc->method == SOCKS5_METHOD_USERPASS) {
		size_t ul = strlen(hc->cred.user), pl = strlen(hc->cred.pass);

		out[n++] = 0x01;
		out[n++] = (uint8_t)ul;
		memcpy(out + n, hc->cred.user, ul);
		n += ul;
		out[n++] = (uint8_t)pl;
		memcpy(out + n, hc->cred.pass, pl);
		n += pl;
	}
	return n + http_connect_request(hc, out + n);
}

int http_connect_status(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_SUCCEEDED: return 200;
	case SOCKS5_REP_NOT_ALLOWED: return 403;
	case SOCKS5_REP_CMD_NOT_SUPPORTED: return 405;
	case SOCKS5_REP_TTL_EXPIRED: return 504;
	default: return 502;
	}
}

void http_connect_unavailable(struct http_connect *hc)
{
	hc->unavailable = true;
}

size_t http_connect_answer(struct http_connect *hc, const uint8_t *socks, size_t len,
			   char *out, size_t cap)
{
	int status;

	if (len < 2)
		return 0;
	switch (hc->phase) {
	case HC_METHOD:
		hc->method = socks[1];
		hc->phase = socks[1] == SOCKS5_METHOD_USERPASS ? HC_STATUS : HC_REPLY;
		if (socks[1] != SOCKS5_METHOD_USERPASS)
			explicit_bzero(&hc->cred, sizeof(hc->cred));
		if (socks[1] != SOCKS5_METHOD_REJECT)
			return 0;
		status = 407;
		break;
	case HC_STATUS:
		hc->phase = HC_REPLY;
		explicit_bzero(&hc->cred, sizeof(hc->cred));
		if (socks[1] == 0x00)
			return 0;
		status = 407;
		break;
	case HC_REPLY:
		hc->phase = HC_DONE;
		status = hc->unavailable && socks[1] != SOCKS5_REP_SUCCEEDED
			 ? 503 : http_connect_status(socks[1]);
		break;
	default:
		return 0;
	}
	return http_head_response(out, cap, status, NULL);
}
