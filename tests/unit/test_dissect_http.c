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

	harness_check(t, NSTEPS(t), 8080, "HTTP alice s3 cr:et ok\n", false);
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

	harness_check(t, NSTEPS(t), 80, "HTTP bob wrong fail\nHTTP bob right ok\n", false);
}
END_TEST

/* Sniffed on a port nobody watches; pipelined; a 500 is no refusal ("ok"),
 * an unanswered request "?" on close. */
START_TEST(test_sniffed_pipelined)
{
	static const struct harness_step t[] = {
		C("GET /a HTTP/1.1\r\nAuthorization: Basic YTpiOmM=\r\n\r\n"
		  "GET /b HTTP/1.1\r\nAuthorization: Basic dTpw\r\n\r\n"),
		S("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"),
	};

	harness_check(t, NSTEPS(t), 3128, "HTTP a b:c ok\nHTTP u p ?\n", false);
}
END_TEST

/* More than DISSECT_QUEUE_MAX requests unanswered: answers could no longer
 * be matched, the flow is left alone. */
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

/* curl --next: two requests on one connection, two logins, each with the
 * result of its own response; the same credential again, once it worked, is
 * not reported again, but is once it fails. */
START_TEST(test_keepalive_next)
{
	static const struct harness_step t[] = {
		C("GET /a HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YW5uOndyb25n\r\n\r\n"),
		S("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nno\r\n"),
		C("GET /b HTTP/1.1\r\nHost: h\r\nAuthorization: Basic Ym9iOnJpZ2h0\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"),
		C("GET /c HTTP/1.1\r\nAuthorization: Basic Ym9iOnJpZ2h0\r\n\r\n"),
		S("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"),
		C("GET /d HTTP/1.1\r\nAuthorization: Basic Ym9iOnJpZ2h0\r\n\r\n"),
		S("HTTP/1.1 401 Expired\r\nContent-Length: 0\r\n\r\n"),
	};

	harness_check(t, NSTEPS(t), 80, "HTTP ann wrong fail\nHTTP bob right ok\nHTTP bob right fail\n",
		      false);
}
END_TEST

/* Bodies of every framing, both ways, with lines inside that look like
 * requests and headers: none of them is read. */
START_TEST(test_body_framing)
{
	static const struct harness_step t[] = {
		C("POST /up HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n"
		  "1b;ext=1\r\nGET / HTTP/1.1\r\nAuth: x\r\n\r\n\r\n0\r\nTrailer: t\r\n\r\n"
		  "HEAD /h HTTP/1.0\r\nAuthorization: Basic aDox\r\n\r\n"
		  "PUT /p HTTP/1.1\r\nContent-Length: 40\r\n\r\n"
		  "Authorization: Basic aTpq\r\n\r\nGET / HTTP/"
		  "GET /n HTTP/1.1\r\nProxy-Authorization: Basic bjpt\r\n\r\n"),
		S("HTTP/1.1 100 Continue\r\nX: y\r\n\r\n"
		  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "4\r\nHTTP\r\nA\r\n/1.1 401 x\r\n0\r\n\r\n"
		  "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"  /* HEAD: no body */
		  "HTTP/1.1 204 No Content\r\n\r\n"
		  "HTTP/1.1 407 Proxy\r\nContent-Length: 5\r\n\r\n12345"),
	};

	harness_check(t, NSTEPS(t), 8080, "HTTP h 1 ok\nHTTP n m fail\n", false);
}
END_TEST

/* The flow is left alone once it is no more HTTP/1.x. */
START_TEST(test_leaves_http)
{
	static const struct harness_step connect[] = {
		C("CONNECT x:443 HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\n\r\n"),
		S("HTTP/1.1 200 Established\r\n\r\n"), C("\x16\x03\x01 GET / HTTP/1.1\r\n"),
	};
	static const struct harness_step upgrade[] = {
		C("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"),
		S("HTTP/1.1 101 Switching\r\n\r\n"),
		C("GET / HTTP/1.1\r\nAuthorization: Basic dTpw\r\n\r\n"),
	};
	static const struct harness_step to_close[] = {
		C("GET / HTTP/1.0\r\n\r\n"), S("HTTP/1.0 200 OK\r\n\r\nbody"),
	};
	static const struct harness_step not_http[] = {
		C("SSH-2.0-OpenSSH_9\r\nAuthorization: Basic dTpw\r\n\r\n"),
	};
	static const struct harness_step bad_chunk[] = {
		C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
	};

	harness_check(connect, NSTEPS(connect), 80, "HTTP u p ok\n", true);
	harness_check(upgrade, NSTEPS(upgrade), 80, "", true);
	harness_check(to_close, NSTEPS(to_close), 80, "", true);
	harness_check(not_http, NSTEPS(not_http), 80, "", true);
	harness_check(bad_chunk, NSTEPS(bad_chunk), 80, "", true);
}
END_TEST

/* HTTP on a port watched for another protocol, told by its request line. */
START_TEST(test_other_port)
{
	static const struct harness_step t[] = {
		C("PROPFIND /dav HTTP/1.1\r\nAuthorization: Basic dTpw\r\n\r\n"),
		S("HTTP/1.1 207 Multi\r\nContent-Length: 0\r\n\r\n"),
	};

	harness_check(t, NSTEPS(t), 110, "HTTP u p ok\n", false);
	harness_check(t, NSTEPS(t), 587, "HTTP u p ok\n", false);
}
END_TEST

/*
 * A long kept-alive connection: far more than DISSECT_BUDGET bytes of
 * bodies and of headers in all, each message well under it; the last
 * request's login is still seen. Fed whole, byte by byte and in odd chunks
 * (every two-way split would take too long at this size).
 */
START_TEST(test_long_keepalive)
{
	static char buf[2][300000];
	static struct harness_step t[2 * 201];
	static const size_t chunks[] = { 0, 1, 7, 4096 };
	struct harness_out out;
	size_t n[2] = { 0, 0 }, total = 0;

	for (int i = 0; i <= 200; i++) {
		char *u = buf[0] + n[0], *d = buf[1] + n[1];
		size_t lu, ld;

		if (i < 200) {
			lu = (size_t)snprintf(u, sizeof(buf[0]) - n[0],
					      "POST /%d HTTP/1.1\r\nCookie: %0400d\r\n"
					      "Content-Length: 1024\r\n\r\n", i, i);
			memset(u + lu, 'b', 1024);
			lu += 1024;
			ld = (size_t)snprintf(d, sizeof(buf[1]) - n[1],
					      "HTTP/1.1 200 OK\r\nContent-Length: 256\r\n\r\n%0256d", i);
		} else {
			lu = (size_t)snprintf(u, sizeof(buf[0]) - n[0], "GET /last HTTP/1.1\r\n"
					      "Authorization: Basic bGF0ZTpsb2dpbg==\r\n\r\n");
			ld = (size_t)snprintf(d, sizeof(buf[1]) - n[1],
					      "HTTP/1.1 403 No\r\nContent-Length: 0\r\n\r\n");
		}
		t[2 * i] = (struct harness_step){ DISSECT_TO_SERVER, u, lu };
		t[2 * i + 1] = (struct harness_step){ DISSECT_TO_CLIENT, d, ld };
		n[0] += lu;
		n[1] += ld;
		total += lu;
	}
	ck_assert_uint_gt(total, 4 * DISSECT_BUDGET);
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		harness_run(t, NSTEPS(t), 80, chunks[c], NSTEPS(t), 0, &out);
		ck_assert_str_eq(out.text, "HTTP late login ok\n");
		ck_assert(!out.stopped);
		harness_run_pass(t, NSTEPS(t), 80, chunks[c], NSTEPS(t), 0, &out);
		ck_assert_str_eq(out.text, "HTTP late login ok\n");
		ck_assert(!out.stopped);
		/* fed byte by byte, every body goes by unseen and nothing else does
		 * (fed in bigger pieces, what a piece holds of a body is skipped) */
		if (chunks[c] == 1) {
			ck_assert_uint_eq(out.passed[DISSECT_TO_SERVER], 200 * 1024);
			ck_assert_uint_eq(out.passed[DISSECT_TO_CLIENT], 200 * 256);
		}
	}
}
END_TEST

/*
 * A chunked body of many small chunks: its chunk-size lines add up to far
 * more than DISSECT_BUDGET, yet each chunk is progress, so the login of the
 * request behind it is still seen.
 */
START_TEST(test_many_chunks)
{
	static char down[40000 * 6 + 256];
	static struct harness_step t[4];
	static const size_t chunks[] = { 0, 1, 4096 };
	struct harness_out out;
	size_t n;

	n = (size_t)snprintf(down, sizeof(down), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 40000; i++)
		n += (size_t)snprintf(down + n, sizeof(down) - n, "1\r\nx\r\n");
	n += (size_t)snprintf(down + n, sizeof(down) - n, "0\r\n\r\n");
	ck_assert_uint_gt(40000 * 3, 1 * DISSECT_BUDGET);
	t[0] = (struct harness_step)C("GET /a HTTP/1.1\r\nAuthorization: Basic YTox\r\n\r\n");
	t[1] = (struct harness_step){ DISSECT_TO_CLIENT, down, n };
	t[2] = (struct harness_step)C("GET /b HTTP/1.1\r\nAuthorization: Basic Yjoy\r\n\r\n");
	t[3] = (struct harness_step)S("HTTP/1.1 401 No\r\nContent-Length: 0\r\n\r\n");
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		harness_run(t, 4, 80, chunks[c], 4, 0, &out);
		ck_assert_str_eq(out.text, "HTTP a 1 ok\nHTTP b 2 fail\n");
		harness_run_pass(t, 4, 80, chunks[c], 4, 0, &out);
		ck_assert_str_eq(out.text, "HTTP a 1 ok\nHTTP b 2 fail\n");
		ck_assert(!out.stopped);
	}
}
END_TEST

/*
 * What the relay splices: a Content-Length body and a chunked one (each
 * chunk's data and CRLF), both ways, with the next request pipelined right
 * behind a body in the same read, so the skip ends inside a read. Every
 * login is reported with its own result at every split, and exactly the
 * body bytes are let go.
 */
START_TEST(test_pass_bodies)
{
	static char body[3000], up[4000], down[8000];
	static struct harness_step t[4];
	struct harness_out out;
	size_t nu, nd;

	memset(body, 'B', sizeof(body));
	nu = (size_t)snprintf(up, sizeof(up), "POST /a HTTP/1.1\r\nAuthorization: Basic YTox\r\n"
			      "Content-Length: 3000\r\n\r\n%.3000s"
			      "GET /b HTTP/1.1\r\nAuthorization: Basic Yjoy\r\n\r\n", body);
	nd = (size_t)snprintf(down, sizeof(down), "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n"
			      "%.3000sHTTP/1.1 401 No\r\nTransfer-Encoding: chunked\r\n\r\n"
			      "7d0;x=y\r\n%.2000s\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n", body, body);
	t[0] = (struct harness_step){ DISSECT_TO_SERVER, up, nu };
	t[1] = (struct harness_step){ DISSECT_TO_CLIENT, down, nd };
	t[2] = (struct harness_step)C("GET /c HTTP/1.1\r\nAuthorization: Basic Yzoz\r\n\r\n");
	t[3] = (struct harness_step)S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	harness_check(t, 4, 80, "HTTP a 1 ok\nHTTP b 2 fail\nHTTP c 3 ok\n", false);
	harness_run_pass(t, 4, 80, 1, 4, 0, &out); /* byte by byte: all of every body */
	ck_assert_uint_eq(out.passed[DISSECT_TO_SERVER], 3000);
	ck_assert_uint_eq(out.passed[DISSECT_TO_CLIENT], 3000 + 2002 + 5);
	harness_run_pass(t, 4, 80, 4, 0, 100, &out); /* cut inside the first body */
	ck_assert_uint_eq(out.passed[DISSECT_TO_SERVER],
			  3000 - (100 - (size_t)(strstr(up, "\r\n\r\n") + 4 - up)));
}
END_TEST

/*
 * Lengths that lie: a body longer than announced (its tail read as the next
 * start line), a chunk size that overflows, a negative length: the
 * dissector gives up on the flow, what it reported stands. (Shorter than
 * announced only ends the flow: nothing more comes to read.)
 */
START_TEST(test_lying_lengths)
{
	static const struct harness_step longer[] = {
		C("GET / HTTP/1.1\r\nAuthorization: Basic YTox\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello\r\n"),
		C("GET / HTTP/1.1\r\nAuthorization: Basic Yjoy\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
	};
	static const struct harness_step overflow[] = {
		C("GET / HTTP/1.1\r\nAuthorization: Basic YTox\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "10000000000000000\r\nxx\r\n"),
	};
	static const struct harness_step max[] = {
		C("GET / HTTP/1.1\r\nAuthorization: Basic YTox\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nxx\r\n"),
	};
	static const struct harness_step negative[] = {
		C("POST / HTTP/1.1\r\nContent-Length: -1\r\nAuthorization: Basic YTox\r\n\r\n"),
	};
	static const struct harness_step shorter[] = {
		C("GET / HTTP/1.1\r\nAuthorization: Basic YTox\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nshort"),
	};
	struct harness_out out;

	harness_check(longer, NSTEPS(longer), 80, "HTTP a 1 ok\n", true);
	harness_check(overflow, NSTEPS(overflow), 80, "HTTP a 1 ok\n", true);
	harness_check(max, NSTEPS(max), 80, "HTTP a 1 ok\n", true);
	harness_check(negative, NSTEPS(negative), 80, "", true);
	harness_check(shorter, NSTEPS(shorter), 80, "HTTP a 1 ok\n", false);
	harness_run_pass(shorter, NSTEPS(shorter), 80, 0, NSTEPS(shorter), 0, &out);
	ck_assert_uint_eq(out.passed[DISSECT_TO_CLIENT], 100000 - 5); /* "short" was fed */
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
	tcase_add_test(tc, test_keepalive_next);
	tcase_add_test(tc, test_body_framing);
	tcase_add_test(tc, test_leaves_http);
	tcase_add_test(tc, test_other_port);
	tcase_add_test(tc, test_long_keepalive);
	tcase_add_test(tc, test_many_chunks);
	tcase_add_test(tc, test_pass_bodies);
	tcase_add_test(tc, test_lying_lengths);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(http_suite());
}
