#!/usr/bin/env python3
"""[socks] proxy_protocol end to end: raw clients send PROXY v1 and v2
headers (cut at odd octets, the SOCKS bytes behind them), the claimed client
then stands for the peer in the access log, in `src` ACL rules, in the
session events of plugins (ACCEPTED once the header is in) and in UDP
ASSOCIATE's client check; LOCAL keeps the real peer; an unlisted source
sending a header, a listed one without a header, a malformed, oversized or
unfinished header are closed and logged (rate-limited). Then a real HAProxy (send-proxy-v2
and send-proxy) in front of socks5d, curl through it from 127.0.0.2."""

import os
import shutil
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, Web, curl, read_reply, recv_all,
                     recv_exact, request_bytes, run, wait_for, TIMEOUT, TOP_BUILDDIR)
from servers import HAProxy

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
GREETING = b"\x05\x01\x00"


def v1(src, dst, sport, dport):
    fam = "TCP6" if ":" in src else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def v2(src, dst, sport, dport, tlvs=b"", local=False):
    if local:
        return V2_SIG + b"\x20\x00\x00\x00"
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    block = socket.inet_pton(fam, src) + socket.inet_pton(fam, dst) + \
        struct.pack(">HH", sport, dport) + tlvs
    return V2_SIG + bytes([0x21, 0x21 if fam == socket.AF_INET6 else 0x11]) + \
        struct.pack(">H", len(block)) + block


def send_cut(s, data, cuts):
    """Sends data in pieces ending at the offsets cuts, a pause between each,
    so the server reads the header split there."""
    last = 0
    for c in list(cuts) + [len(data)]:
        if c > last:
            s.sendall(data[last:c])
            time.sleep(0.03)
        last = c


def open_raw(p, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(TIMEOUT)
    s.bind((source, 0))
    s.connect(("127.0.0.1", p.port))
    return s


def connect_through(p, header, target_port, cuts=(), host="127.0.0.1"):
    """Header (cut at cuts) with the greeting and request right behind it;
    returns (socket, REP)."""
    s = open_raw(p)
    send_cut(s, header + GREETING + request_bytes(host, target_port), cuts)
    assert recv_exact(s, 2) == b"\x05\x00"
    rep = read_reply(s)[0]
    return s, rep


def request_line(p, port):
    return p.wait_log(lambda l: "\tA\t" in l and l.split("\t")[6] == str(port)).split("\t")


def assert_closed(s, p, message):
    """The server closes without a byte, and says why in its log."""
    assert recv_all(s, 5) == b""
    s.close()
    wait_for(lambda: message in p.stderr(), "'%s' in the log:\n%s" % (message, p.stderr()))


def listed(extra=""):
    return Proxy("[socks]\nproxy_protocol = 10.9.0.0/16, 127.0.0.1\nhandshake_timeout = 2\n"
                 + extra)


def test_v1_split_claims_the_client():
    echo = EchoServer()
    with listed() as p:
        h = v1("203.0.113.9", "127.0.0.1", 40001, p.port)
        s, rep = connect_through(p, h, echo.port, cuts=(1, 3, 6, 11, 27, len(h) - 1))
        assert rep == 0
        s.sendall(b"ping")
        assert recv_exact(s, 4) == b"ping"
        s.close()
        f = request_line(p, echo.port)
        assert f[3:5] == ["203.0.113.9", "40001"], f
    echo.close()


def test_v2_split_with_tlvs_claims_the_client():
    echo = EchoServer()
    with listed() as p:
        h = v2("2001:db8::5", "::1", 40002, p.port, tlvs=b"\x02\x00\x03abc\x04\x00\x00")
        # every odd octet boundary of the signature, the block cut, the last octet alone
        s, rep = connect_through(p, h, echo.port, cuts=(1, 5, 9, 13, 15, 17, 33, len(h) - 1))
        assert rep == 0
        s.close()
        f = request_line(p, echo.port)
        assert f[3:5] == ["2001:db8::5", "40002"], f
        # v2 over IPv4 too, the header and the SOCKS bytes in one segment
        h = v2("198.51.100.20", "127.0.0.1", 40003, p.port)
        s, rep = connect_through(p, h, echo.port)
        assert rep == 0
        s.close()
        p.wait_log(lambda l: "\t198.51.100.20\t40003\t" in l)
    echo.close()


def test_local_and_unknown_keep_the_peer():
    echo = EchoServer()
    with listed() as p:
        for h in (v2(None, None, 0, 0, local=True), b"PROXY UNKNOWN\r\n"):
            s, rep = connect_through(p, h, echo.port, cuts=(7,))
            assert rep == 0
            port = s.getsockname()[1]
            s.close()
            p.wait_log(lambda l: "\t127.0.0.1\t%d\t" % port in l)
    echo.close()


def test_src_rule_applies_to_the_claimed_client():
    echo = EchoServer()
    p = listed()
    with open(p.ini_path, "a") as f:
        f.write("\n[acl]\ndeny = src 203.0.113.0/24\nallow = src 127.0.0.1\n"
                "allow = src 198.51.100.0/24\ndeny = all\n")
    with p:
        s, rep = connect_through(p, v1("203.0.113.9", "127.0.0.1", 1, p.port), echo.port)
        assert rep == 2, rep
        s.close()
        s, rep = connect_through(p, v1("198.51.100.7", "127.0.0.1", 2, p.port), echo.port)
        assert rep == 0, rep
        s.close()
        # the real peer (127.0.0.1) is allowed, but does not count: 192.0.2.1 is not
        s, rep = connect_through(p, v2("192.0.2.1", "127.0.0.1", 3, p.port), echo.port)
        assert rep == 2, rep
        s.close()
        p.wait_log(lambda l: "\t203.0.113.9\t1\t" in l and l.endswith("\t2"))
    echo.close()


def test_session_events_carry_the_claimed_client():
    """ACCEPTED comes once the header is in, with the claimed client; a
    connection refused at its header is no session (no event at all)."""
    so = os.path.join(TOP_BUILDDIR, "tests", "unit", ".libs", "fixture_events.so")
    idx = ["01 = users"] + ["%02X = metrics" % i for i in range(2, 10)] + \
        ["0A = users", "0B = users", "0C = auth", "0D = dissectors", "40 = fixture_events"]
    echo = EchoServer()
    p = Proxy("[socks]\nproxy_protocol = 127.0.0.1\n[plugin fixture_events]\nmodule = %s" % so,
              indexes=idx)
    with p:
        s, rep = connect_through(p, v2("203.0.113.50", "127.0.0.1", 7, p.port), echo.port)
        assert rep == 0
        s.close()
        wait_for(lambda: "event closed" in p.stderr(), "CLOSED")
        assert "event accepted session 1 client 203.0.113.50" in p.stderr(), p.stderr()
        s = open_raw(p)
        s.sendall(b"PROXY TCP4 bad\r\n")
        assert_closed(s, p, "malformed v1 line")
        s, rep = connect_through(p, v1("198.51.100.3", "127.0.0.1", 8, p.port), echo.port)
        s.close()
        wait_for(lambda: p.stderr().count("event closed") == 2, "the second CLOSED")
        assert "event accepted session 3 client 198.51.100.3" in p.stderr(), p.stderr()
        assert p.stderr().count("event accepted") == 2, p.stderr()
    echo.close()


def test_udp_client_check_uses_the_claimed_client():
    """The association takes datagrams from the claimed client's address
    only: 127.0.0.2 claimed, datagrams from 127.0.0.1 are dropped."""
    target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target.bind(("127.0.0.1", 0))
    target.settimeout(1.0)
    with listed() as p:
        s = open_raw(p)
        s.sendall(v1("127.0.0.2", "127.0.0.1", 5000, p.port) + GREETING +
                  request_bytes("0.0.0.0", 0, cmd=3))
        assert recv_exact(s, 2) == b"\x05\x00"
        rep, _, addr, rport = read_reply(s)
        assert rep == 0
        relay = (socket.inet_ntop(socket.AF_INET, addr), rport)
        dgram = b"\x00\x00\x00" + b"\x01" + socket.inet_aton("127.0.0.1") + \
            struct.pack(">H", target.getsockname()[1])
        for source, want in (("127.0.0.1", None), ("127.0.0.2", b"from .2")):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((source, 0))
            u.sendto(dgram + b"from " + source[-2:].encode(), relay)
            try:
                got = target.recvfrom(100)[0]
            except socket.timeout:
                got = None
            u.close()
            assert got == want, (source, got)
        s.close()
        p.wait_log(lambda l: "\tU\t127.0.0.2\t5000\t" in l)
    target.close()


def test_unlisted_source_sending_a_header_is_closed():
    with Proxy("[socks]\nproxy_protocol = 10.9.0.0/16\n") as p:
        s = open_raw(p)
        s.sendall(v1("203.0.113.9", "127.0.0.1", 1, p.port) + GREETING)
        assert_closed(s, p, "connection from 127.0.0.1 closed: a PROXY header from a "
                            "source not in proxy_protocol")
        s = open_raw(p)
        s.sendall(v2("203.0.113.9", "127.0.0.1", 1, p.port))
        assert recv_all(s, 5) == b""
        s.close()
        wait_for(lambda: p.stderr().count("not in proxy_protocol") == 2, "two lines")
        # that source still speaks SOCKS without a header
        s = open_raw(p)
        s.sendall(GREETING)
        assert recv_exact(s, 2) == b"\x05\x00"
        s.close()


def test_reload_changes_the_list():
    """SIGHUP applies a new proxy_protocol to the connections after it."""
    echo = EchoServer()
    with Proxy("[socks]\nproxy_protocol =\n") as p:
        s, rep = connect_through(p, b"", echo.port)   # no header expected yet
        assert rep == 0
        s.close()
        p.write_ini("[socks]\nproxy_protocol = 127.0.0.0/8\n")
        p.signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in p.stderr(), "the reload:\n" + p.stderr())
        s, rep = connect_through(p, v1("203.0.113.77", "127.0.0.1", 9, p.port), echo.port)
        assert rep == 0
        s.close()
        p.wait_log(lambda l: "\t203.0.113.77\t9\t" in l)
        s = open_raw(p)
        s.sendall(GREETING)
        assert_closed(s, p, "closed: no PROXY protocol header")
    echo.close()


def test_refusals_are_logged_rate_limited():
    """10 lines at once, then 1 a second, the held-back ones counted."""
    with listed() as p:
        for _ in range(30):
            s = open_raw(p)
            s.sendall(GREETING)
            assert recv_all(s, 5) == b""
            s.close()
        time.sleep(0.2)
        n = p.stderr().count("closed: no PROXY protocol header")
        assert 10 <= n <= 12, p.stderr()
        time.sleep(1.1)
        s = open_raw(p)
        s.sendall(GREETING)
        assert_closed(s, p, "more refused connections not logged")


def test_listed_source_without_a_header_is_closed():
    with listed() as p:
        s = open_raw(p)
        s.sendall(GREETING)
        assert_closed(s, p, "connection from 127.0.0.1 closed: no PROXY protocol header")
        # nothing at all until handshake_timeout
        s = open_raw(p)
        start = time.time()
        assert_closed(s, p, "closed: no complete PROXY header within handshake_timeout")
        assert time.time() - start < 8   # 2 s, and the deferred accept before it
        # a connect and close without a byte (a health check) is not logged
        before = p.stderr().count("proxy_protocol:")
        s = open_raw(p)
        s.close()
        time.sleep(0.3)
        assert p.stderr().count("proxy_protocol:") == before, p.stderr()


def test_malformed_oversized_unfinished_headers_are_closed():
    with listed() as p:
        cases = [
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "malformed v1 line"),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "malformed v1 line"),
            (b"PROXY UNKNOWN " + b"x" * 100 + b"\r\n", "header too long"),
            (V2_SIG + b"\x21\x11\x08\x00" + b"\x00" * 40, "header too long"),
            (V2_SIG + b"\x21\x31\x00\x0c" + b"\x00" * 12, "unsupported v2 address family"),
            (V2_SIG + b"\x21\x11\x00\x0f" + b"\x00" * 12 + b"\x01\x00\x09",
             "v2 TLV past the header's length"),
            (V2_SIG[:9] + b"X", "no PROXY protocol header"),
        ]
        for data, why in cases:
            s = open_raw(p)
            send_cut(s, data, (3, 9))
            assert_closed(s, p, why)
        s = open_raw(p)
        s.sendall(b"PROXY TCP4 1.2.3")
        s.shutdown(socket.SHUT_WR)
        assert_closed(s, p, "connection closed before the PROXY header ended")
        assert "1.2.3.4" not in p.stderr()   # addresses of peers only, never the text


# --- a real HAProxy ---------------------------------------------------------

def through_haproxy(send_proxy):
    if shutil.which("haproxy") is None:
        print("SKIP %s: haproxy is not installed (tests/install-deps.sh installs it)"
              % send_proxy, flush=True)
        return
    web = Web()
    with Proxy("[socks]\nproxy_protocol = 127.0.0.1\n") as p:
        h = HAProxy(p.port, send_proxy)
        try:
            rc, out, err = curl(["--interface", "127.0.0.2",
                                 "--socks5", "127.0.0.1:%d" % h.port,
                                 "http://127.0.0.1:%d/" % web.port])
            assert rc == 0, (rc, err, h.text(), p.stderr())
            assert out == Web.BODY
            f = request_line(p, web.port)
            assert f[3] == "127.0.0.2", f
            # haproxy's own connections, health checks included, were all taken
            assert "proxy_protocol:" not in p.stderr(), p.stderr()
        finally:
            h.stop()
    web.close()


def test_haproxy_send_proxy_v2():
    through_haproxy("send-proxy-v2")


def test_haproxy_send_proxy_v1():
    through_haproxy("send-proxy")


if __name__ == "__main__":
    sys.exit(run([
        test_v1_split_claims_the_client,
        test_v2_split_with_tlvs_claims_the_client,
        test_local_and_unknown_keep_the_peer,
        test_src_rule_applies_to_the_claimed_client,
        test_session_events_carry_the_claimed_client,
        test_udp_client_check_uses_the_claimed_client,
        test_unlisted_source_sending_a_header_is_closed,
        test_listed_source_without_a_header_is_closed,
        test_refusals_are_logged_rate_limited,
        test_reload_changes_the_list,
        test_malformed_oversized_unfinished_headers_are_closed,
        test_haproxy_send_proxy_v2,
        test_haproxy_send_proxy_v1,
    ]))
