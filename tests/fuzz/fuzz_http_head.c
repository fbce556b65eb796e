/*
 * Fuzz target: the HTTP/1.x head parser, the same input read as a request
 * head and as a response head. A head read whole ends with its LF within
 * HTTP_HEAD_MAX octets; its pieces hold no control octet; the log line is
 * bounded and the same once the credentials are scrubbed; a CONNECT target and Basic
 * credentials that parse are rebuilt by the CONNECT builder and must read
 * back the same.
 */
#include <string.h>

#include "fuzz.h"
#include "route/http_head.h"

static struct http_head whole, split, back, scrubbed;  /* 8 KiB each */

static enum proto_result fuzz_http_parse(void *h, const uint8_t *buf, size_t len, size_t *used)
{
	return http_head_parse(h, buf, len, used);
}

/* The CONNECT builder's output reads back to the same target and credentials. */
static void fuzz_http_rebuild(const struct http_head *h)
{
	static char out[2048];
	char host[HTTP_HOST_MAX + 1], host2[HTTP_HOST_MAX + 1];
	struct http_basic cred, cred2;
	enum http_basic_result b;
	uint16_t port, port2;
	size_t n, used;

	if (http_head_target(h, host, &port) < 0)
		return;
	FUZZ_CHECK(port > 0 && strlen(host) > 0);
	b = http_head_basic(h, &cred);
	n = http_head_connect_request(out, sizeof(out), host, port,
				      b == HTTP_BASIC_OK ? cred.user : NULL, cred.pass);
	if (n == 0)  /* a control octet in a credential, or a ':' in the user */
		return;
	http_head_init(&back, HTTP_HEAD_REQUEST);
	FUZZ_CHECK(http_head_parse(&back, (const uint8_t *)out, n, &used) == PROTO_DONE);
	FUZZ_CHECK(used == n && http_head_is_connect(&back));
	FUZZ_CHECK(http_head_target(&back, host2, &port2) == 0);
	FUZZ_CHECK(strcmp(host, host2) == 0 && port == port2);
	if (b == HTTP_BASIC_OK) {
		FUZZ_CHECK(http_head_basic(&back, &cred2) == HTTP_BASIC_OK);
		FUZZ_CHECK(strcmp(cred.user, cred2.user) == 0 && strcmp(cred.pass, cred2.pass) == 0);
	}
}

static void fuzz_http_done(const struct http_head *h, const uint8_t *buf, size_t used)
{
	static char line[HTTP_HEAD_MAX * 4 + 64], line2[sizeof(line)];
	struct http_basic cred;

	FUZZ_CHECK(used <= HTTP_HEAD_MAX && buf[used - 1] == '\n');
	FUZZ_CHECK(h->nfields <= HTTP_HEAD_MAX_FIELDS);
	for (size_t i = 0; i < h->nfields; i++) {
		const char *v = h->text + h->fields[i].value;

		FUZZ_CHECK(strlen(h->text + h->fields[i].name) > 0);
		for (; *v != '\0'; v++)
			FUZZ_CHECK((unsigned char)*v >= 0x20 || *v == '\t');
	}
	if (h->kind == HTTP_HEAD_RESPONSE)
		FUZZ_CHECK(h->status >= 100 && h->status <= 599);
	http_head_describe(h, line, sizeof(line));
	FUZZ_CHECK(strlen(line) < sizeof(line));
	/* the log line does not depend on the credentials: zeroing them changes nothing */
	scrubbed = *h;
	http_head_scrub(&scrubbed);
	http_head_describe(&scrubbed, line2, sizeof(line2));
	FUZZ_CHECK(strcmp(line, line2) == 0);
	FUZZ_CHECK(http_head_basic(&scrubbed, &cred) != HTTP_BASIC_OK);
	if (h->kind == HTTP_HEAD_REQUEST)
		fuzz_http_rebuild(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_head_kind kinds[] = { HTTP_HEAD_REQUEST, HTTP_HEAD_RESPONSE };
	const uint8_t *buf = data + 1;
	size_t n, used;
	enum proto_result r;

	if (size == 0)
		return 0;
	n = size - 1;
	for (size_t k = 0; k < 2; k++) {
		http_head_init(&whole, kinds[k]);
		http_head_init(&split, kinds[k]);
		r = fuzz_whole_split(fuzz_http_parse, &whole, &split, sizeof(whole), buf, n,
				     fuzz_cut(data, n), &used);
		if (r == PROTO_ERROR)
			FUZZ_CHECK(whole.error != HTTP_HEAD_OK &&
				   strcmp(http_head_error_str(whole.error), "unknown error") != 0);
		if (r == PROTO_DONE)
			fuzz_http_done(&whole, buf, used);
	}
	return 0;
}
