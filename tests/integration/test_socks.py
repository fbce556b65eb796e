"""socks5d end to end: real clients (curl, ncat) and a raw client for every
reply code, pipelining, half-close, 16 MiB both ways, resolution order and
500 concurrent tunnels."""

import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, Web, curl, blackhole, recv_exact, recv_all, read_reply,
                     request_bytes, socks_connect, sha, run, TOP_SRCDIR, TIMEOUT)

CURL = "curl"


def test_curl_socks5_no_auth():
    web = Web()
    with Proxy() as p:
        rc, out, err = curl(["--socks5", "127.0.0.1:%d" % p.port,
                             "http://127.0.0.1:%d/" % web.port])
        assert rc == 0 and out == Web.BODY, (rc, out, err)
        line = p.wait_log(lambda l: "\tA\t" in l)
        f = line.split("\t")
        assert len(f) == 8 and f[1] == "-" and f[2] == "A" and f[3] == "127.0.0.1", f
        assert f[5] == "127.0.0.1" and f[6] == str(web.port) and f[7] == "0", f
        assert f[0].endswith("Z") and "T" in f[0], f
    web.close()


def test_curl_socks5_hostname_with_auth():
    web = Web()
    with Proxy(auth=True, users={"alice": "wonderland"}) as p:
        rc, out, err = curl(["--socks5-hostname", "127.0.0.1:%d" % p.port,
                             "-U", "alice:wonderland", "http://localhost:%d/" % web.port])
        assert rc == 0 and out == Web.BODY, (rc, out, err)
        line = p.wait_log(lambda l: "\tlocalhost\t" in l)
        f = line.split("\t")
        assert f[1] == "alice" and f[5] == "localhost" and f[7] == "0", f
        rc, out, err = curl(["--socks5-hostname", "127.0.0.1:%d" % p.port,
                             "-U", "alice:wrong", "http://localhost:%d/" % web.port])
        assert rc != 0, (rc, out)
        rc, out, err = curl(["--socks5", "127.0.0.1:%d" % p.port,
                             "http://127.0.0.1:%d/" % web.port])
        assert rc != 0, "auth is on: a client without credentials must be refused"
    web.close()


def test_curl_ipv6_destination():
    try:
        web = Web("::1")
    except OSError:
        return  # no IPv6 loopback on this machine
    with Proxy() as p:
        rc, out, err = curl(["--socks5", "127.0.0.1:%d" % p.port,
                             "http://[::1]:%d/" % web.port])
        assert rc == 0 and out == Web.BODY, (rc, out, err)
        p.wait_log(lambda l: "\t::1\t%d\t0" % web.port in l)
    web.close()


def test_ncat_through_proxy_with_auth():
    echo = EchoServer()
    with Proxy(auth=True, users={"bob": "builder"}) as p:
        r = subprocess.run(["ncat", "--proxy", "127.0.0.1:%d" % p.port,
                            "--proxy-type", "socks5", "--proxy-auth", "bob:builder",
                            "127.0.0.1", str(echo.port)],
                           input=b"ping over ncat\n", capture_output=True, timeout=20)
        assert r.stdout == b"ping over ncat\n", (r.returncode, r.stdout, r.stderr)
    echo.close()


def test_rep_00_bnd_is_the_outbound_local_address():
    echo = EchoServer()
    with Proxy() as p:
        s, rep, atyp, addr, bport = socks_connect(p.port, "127.0.0.1", echo.port)
        assert rep == 0 and atyp == 1 and addr == socket.inet_aton("127.0.0.1"), (rep, addr)
        assert bport != 0 and bport != p.port
        # the echo server saw a connection from exactly that port
        time.sleep(0.1)
        peers = [c.getpeername()[1] for c in echo.conns]
        assert bport in peers, (bport, peers)
        s.sendall(b"x")
        assert recv_exact(s, 1) == b"x"
        s.close()
    echo.close()


def expect_rep(port, host, dport, want, cmd=1):
    s, rep, _, _, _ = socks_connect(port, host, dport, cmd=cmd)
    assert rep == want, "REP %r, wanted %r for %s:%d" % (rep, want, host, dport)
    # the server closes after a failure reply
    assert recv_all(s, 5) == b""
    s.close()


def test_rep_05_refused():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with Proxy() as p:
        expect_rep(p.port, "127.0.0.1", port, 5)
        p.wait_log(lambda l: l.endswith("\t%d\t5" % port))


def test_rep_06_connect_timeout():
    port, keep = blackhole()
    with Proxy("[socks]\nconnect_timeout = 1") as p:
        t = time.time()
        expect_rep(p.port, "127.0.0.1", port, 6)
        assert 0.8 < time.time() - t < 5
    for k in keep:
        k.close()


def test_rep_07_command_not_supported():
    with Proxy() as p:
        expect_rep(p.port, "127.0.0.1", 9, 7, cmd=0x09)


def test_rep_08_address_type_not_supported():
    with Proxy() as p:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.sendall(b"\x05\x01\x00")
        assert recv_exact(s, 2) == b"\x05\x00"
        s.sendall(b"\x05\x01\x00\x05\x01\x02\x03\x04\x00\x50")
        rep, _, _, _ = read_reply(s)
        assert rep == 8, rep
        s.close()


def test_rep_04_name_not_found():
    stub = subprocess.Popen([sys.executable, os.path.join(TOP_SRCDIR, "tests", "integration", "dns_stub.py"),
                             "--port", "0", "--record", "known.test=127.0.0.1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        dns_port = int(stub.stdout.readline())
        with Proxy("[socks]\nresolver = 127.0.0.1:%d" % dns_port) as p:
            expect_rep(p.port, "missing.test", 80, 4)
            p.wait_log(lambda l: "\tmissing.test\t80\t4" in l)
    finally:
        stub.terminate()
        stub.wait(timeout=5)


def test_every_resolved_address_is_tried():
    echo = EchoServer()
    stub = subprocess.Popen([sys.executable, os.path.join(TOP_SRCDIR, "tests", "integration", "dns_stub.py"),
                             "--port", "0", "--record", "twice.test=127.0.0.2,127.0.0.1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        dns_port = int(stub.stdout.readline())
        # 127.0.0.2 has no listener on that port: refused first, then 127.0.0.1 works
        with Proxy("[socks]\nresolver = 127.0.0.1:%d" % dns_port) as p:
            s, rep, _, _, _ = socks_connect(p.port, "twice.test", echo.port)
            assert rep == 0, rep
            s.sendall(b"second address")
            assert recv_exact(s, 14) == b"second address"
            s.close()
    finally:
        stub.terminate()
        stub.wait(timeout=5)
    echo.close()


def test_unreachable_codes_in_private_netns():
    """03, 04, 02 and 01 from real routing decisions, in a network namespace of
    our own where only loopback exists (no packet can leave it)."""
    if os.geteuid() != 0:
        print("     (skipped: needs root for a private network namespace)")
        return
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "netns_codes.py")
    env = dict(os.environ)
    r = subprocess.run(["unshare", "-n", "sh", "-c",
                        "ip link set lo up && ip route add unreachable 192.0.2.0/24 && "
                        "ip route add prohibit 203.0.113.0/24 && "
                        "ip route add blackhole 198.18.0.0/15 && exec %s %s" % (sys.executable, script)],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def test_method_negotiation():
    with Proxy(auth=True, users={"alice": "wonderland"}) as p:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.sendall(b"\x05\x01\x00")  # only no-auth offered while auth is on
        assert recv_exact(s, 2) == b"\x05\xff"
        assert recv_all(s, 5) == b""
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.sendall(b"\x05\x00")  # NMETHODS 0
        assert recv_exact(s, 2) == b"\x05\xff"
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.sendall(b"\x04\x01\x00")  # SOCKS4: closed without a reply
        assert recv_all(s, 5) == b""
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", 9, "alice", "nope")
        assert rep is None
    with Proxy() as p:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.sendall(b"\x05\x01\x02")  # auth off, only user/pass offered: 02 is chosen
        assert recv_exact(s, 2) == b"\x05\x02"
        s.close()


def test_pipelined_greeting_request_and_payload():
    echo = EchoServer()
    with Proxy(auth=True, users={"alice": "wonderland"}) as p:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        payload = b"sent before any reply" * 10
        s.sendall(b"\x05\x01\x02" + b"\x01\x05alice\x0awonderland" +
                  request_bytes("127.0.0.1", echo.port) + payload)
        assert recv_exact(s, 2) == b"\x05\x02"
        assert recv_exact(s, 2) == b"\x01\x00"
        rep, _, _, _ = read_reply(s)
        assert rep == 0
        assert recv_exact(s, len(payload)) == payload
        s.close()
    echo.close()


def test_handshake_split_at_every_byte():
    echo = EchoServer()
    with Proxy() as p:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        msg = b"\x05\x01\x00"
        for b in msg:
            s.sendall(bytes([b]))
            time.sleep(0.01)
        assert recv_exact(s, 2) == b"\x05\x00"
        for b in request_bytes("localhost", echo.port):
            s.sendall(bytes([b]))
            time.sleep(0.01)
        rep, _, _, _ = read_reply(s)
        assert rep == 0
        s.close()
    echo.close()


def test_half_close_is_carried_across():
    """The client shuts its side; the echo target sees EOF, answers, and the
    client still reads everything before its EOF."""
    echo = EchoServer()
    with Proxy() as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        assert rep == 0
        s.sendall(b"last words")
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == b"last words"
        s.close()
    echo.close()


def test_16_mib_both_ways_intact():
    echo = EchoServer()
    data = os.urandom(16 * 1024 * 1024)
    with Proxy() as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        assert rep == 0
        got = []

        def reader():
            got.append(recv_all(s, 30))

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        t.join(60)
        assert sha(got[0]) == sha(data), "%d bytes back of %d" % (len(got[0]), len(data))
        s.close()
    echo.close()


def test_500_concurrent_tunnels():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    echo = EchoServer()
    with Proxy() as p:
        socks = []
        for i in range(500):
            s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
            assert rep == 0, (i, rep)
            socks.append(s)
        for i, s in enumerate(socks):
            s.sendall(b"tunnel %05d" % i)
        for i, s in enumerate(socks):
            assert recv_exact(s, 12) == b"tunnel %05d" % i
        for s in socks:
            s.close()
    echo.close()


def test_handshake_timeout_drops_silent_clients():
    with Proxy("[socks]\nhandshake_timeout = 1") as p:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        t = time.time()
        assert recv_all(s, 5) == b""
        assert 0.8 < time.time() - t < 4
        s.close()


def test_idle_timeout_closes_quiet_tunnels():
    echo = EchoServer()
    with Proxy("[socks]\nidle_timeout = 1") as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        assert rep == 0
        t = time.time()
        assert recv_all(s, 6) == b""
        assert 0.8 < time.time() - t < 4
    echo.close()


def test_sigterm_exits_zero_and_reload_keeps_tunnels():
    echo = EchoServer()
    p = Proxy(auth=True, users={"alice": "wonderland"}).start()
    try:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "alice", "wonderland")
        assert rep == 0
        p.write_ini(auth=True, users={"carol": "secret"})
        p.signal(signal.SIGHUP)
        deadline = time.time() + TIMEOUT
        while "reloaded" not in p.stderr() and time.time() < deadline:
            time.sleep(0.02)
        assert "reloaded" in p.stderr(), p.stderr()
        s.sendall(b"still here")
        assert recv_exact(s, 10) == b"still here"
        s2, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "carol", "secret")
        assert rep == 0
        s3, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "alice", "wonderland")
        assert rep is None, "alice was removed by the reload"
        s.close()
        s2.close()
        assert p.stop() == 0
    finally:
        p.stop()
    echo.close()


def test_bad_config_is_reported_with_file_and_line():
    p = Proxy("[socks]\nno_such_key = 1")
    p.start(expect_fail=True)
    assert p.proc.wait(timeout=TIMEOUT) != 0
    assert "mass.ini:" in p.stderr() and "no_such_key" in p.stderr(), p.stderr()


def test_broken_reload_keeps_running_configuration():
    echo = EchoServer()
    with Proxy() as p:
        with open(p.ini_path, "a") as f:
            f.write("\n[socks]\nport = banana\n")
        p.signal(signal.SIGHUP)
        deadline = time.time() + TIMEOUT
        while "keeping the running configuration" not in p.stderr() and time.time() < deadline:
            time.sleep(0.02)
        assert "keeping the running configuration" in p.stderr(), p.stderr()
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        assert rep == 0
        s.close()
    echo.close()


if __name__ == "__main__":
    sys.exit(run([
        test_curl_socks5_no_auth,
        test_curl_socks5_hostname_with_auth,
        test_curl_ipv6_destination,
        test_ncat_through_proxy_with_auth,
        test_rep_00_bnd_is_the_outbound_local_address,
        test_rep_05_refused,
        test_rep_06_connect_timeout,
        test_rep_07_command_not_supported,
        test_rep_08_address_type_not_supported,
        test_rep_04_name_not_found,
        test_every_resolved_address_is_tried,
        test_unreachable_codes_in_private_netns,
        test_method_negotiation,
        test_pipelined_greeting_request_and_payload,
        test_handshake_split_at_every_byte,
        test_half_close_is_carried_across,
        test_16_mib_both_ways_intact,
        test_500_concurrent_tunnels,
        test_handshake_timeout_drops_silent_clients,
        test_idle_timeout_closes_quiet_tunnels,
        test_sigterm_exits_zero_and_reload_keeps_tunnels,
        test_bad_config_is_reported_with_file_and_line,
        test_broken_reload_keeps_running_configuration,
    ]))
