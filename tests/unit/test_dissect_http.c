/* Unit tests for the HTTP Basic dissector. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "dissect_harness.h"

/* curl -u 'alice:s3 cr:et' http://HOST:8080/ after a 401 without credentials */
START_TEST(test_curl_basic)
{
	static const struct harness_step t[] = {
		C("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
		S("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 12\r\n\r\nHTTP/1.1 200"),
		C("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Basic YWxpY2U6czMgY3I6ZXQ=\r\n"
		  "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
	};

	harness_check(t, NSTEPS(t), 8080, "HTTP alice s3 cr:et ok\n", true);
}
END_TEST

/* Keep-alive: a POST with a body, a failed login, a chunked response, then a proxy login. */
START_TEST(test_keepalive_bodies)
{
	static const struct harness_step t[] = {
		C("POST /f HTTP/1.1\r\nauthorization:   basic Ym9iOndyb25n\r\ncontent-length: 30\r\n\r\n"
		  "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		S("HTTP/1.1 401 No\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5\r\nHTTP/\r\n0\r\nX-Trailer: 1\r\n\r\n"),
		C("HEAD / HTTP/1.1\r\nPROXY-AUTHORIZATION: Basic Ym9iOnJpZ2h0\r\n\r\n"),
		S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nContent-Length: 100\r\n\r\n"),
	};

	harness_check(t, NSTEPS(t), 80, "HTTP bob wrong fail\nHTTP bob right ok\n", true);
}
END_TEST

/* Sniffed on a port nobody watches; pipelined; result "?" on a 500 and on close. */
START_TEST(test_sniffed_pipelined)
{
	static const struct harness_step t[] = {
		C("GET /a HTTP/1.1\r\nAuthorization: Basic YTpiOmM=\r\n\r\n"
		  "GET /b HTTP/1.1\r\nAuthorization: Basic dTpw\r\n\r\n"),
		S("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"),
	};

	harness_check(t, NSTEPS(t), 3128, "HTTP a b:c ?\nHTTP u p ?\n", false);
}
END_TEST

START_TEST(test_request_limit)
{
	static char req[20 * 64];
	struct harness_step t[1];
	size_t n = 0;

	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "GET /%d HTTP/1.1\r\n\r\n", i);
	t[0] = (struct harness_step){ DISSECT_TO_SERVER, req, n };
	harness_check(t, 1, 80, "", true);
}
END_TEST

START_TEST(test_oversized_header_and_garbage)
{
	static struct harness_step t[3];
	static char big[4000];
	static const char head[] = "GET / HTTP/1.1\r\nCookie: ";

	memset(big, 'c', sizeof(big));
	memcpy(big, head, sizeof(head) - 1);
	memcpy(big + sizeof(big) - 2, "\r\n", 2);
	t[0] = (struct harness_step){ DISSECT_TO_SERVER, big, sizeof(big) };
	t[1] = (struct harness_step)C("Authorization: Basic !!!!\r\nAuthorization: Basic \xff\xfe:\r\n"
				      "Authorization: Digest x\r\nAuthorization: Basic dTpw\r\n\r\n");
	t[2] = (struct harness_step)S("SSH-2.0-OpenSSH\r\n");
	harness_check(t, 3, 80, "HTTP u p ?\n", true);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("dissect_http");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_curl_basic);
	tcase_add_test(tc, test_keepalive_bodies);
	tcase_add_test(tc, test_sniffed_pipelined);
	tcase_add_test(tc, test_request_limit);
	tcase_add_test(tc, test_oversized_header_and_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(http_suite());
}
