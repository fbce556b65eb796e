"""BIND and UDP ASSOCIATE end to end: PySocks as a real UDP client (IPv4,
IPv6 and a domain target), raw clients for the drop rules (foreign source,
FRAG != 0), the association's lifetime, and BIND with a peer connecting
back (both replies, the wrong peer, the peer that never comes), plus the
[socks] commands switch."""

import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (UdpEcho, Proxy, recv_exact, recv_all, read_reply, request_bytes,
                     socks_connect, run, massctl, wait_for, TOP_SRCDIR, TIMEOUT)

# PySocks is a Debian package (python3-socks) for the system interpreter,
# which need not be the one running this file.
PYSOCKS_PYTHON = "/usr/bin/python3"

PYSOCKS_CLIENT = r"""
import json, socket, sys, socks
port, host, dport, rdns, user, password, payload = sys.argv[1:8]
s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
s.set_proxy(socks.SOCKS5, "127.0.0.1", int(port), rdns=rdns == "1",
            username=user or None, password=password or None)
s.settimeout(10)
s.sendto(payload.encode(), (host, int(dport)))
data, src = s.recvfrom(65535)
print(json.dumps({"data": data.decode(), "src": list(src)}))
"""


def pysocks_udp(proxy_port, host, dport, payload, rdns=False, user="", password=""):
    r = subprocess.run([PYSOCKS_PYTHON, "-c", PYSOCKS_CLIENT, str(proxy_port), host,
                        str(dport), "1" if rdns else "0", user, password, payload],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def have_pysocks():
    try:
        return subprocess.run([PYSOCKS_PYTHON, "-c", "import socks"],
                               capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def dns_stub(*records):
    args = [sys.executable, os.path.join(TOP_SRCDIR, "tests", "integration", "dns_stub.py"),
            "--port", "0"]
    for r in records:
        args += ["--record", r]
    stub = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    return stub, int(stub.stdout.readline())


def stop(proc):
    proc.terminate()
    proc.wait(timeout=5)


def udp_header(host, port, frag=0):
    return b"\x00\x00" + bytes([frag]) + request_bytes(host, port)[3:]


def parse_udp(dg):
    """Returns (frag, atyp, addr bytes, port, data) of a relayed datagram."""
    atyp = dg[3]
    if atyp == 1:
        addr, off = dg[4:8], 8
    elif atyp == 4:
        addr, off = dg[4:20], 20
    else:
        raise AssertionError("unexpected ATYP %d" % atyp)
    return dg[2], atyp, addr, struct.unpack(">H", dg[off:off + 2])[0], dg[off + 2:]


def associate(proxy_port, client_port=0, proxy_host="127.0.0.1"):
    """UDP ASSOCIATE with a raw client; returns (control socket, relay (host, port))."""
    s, rep, atyp, addr, bport = socks_connect(proxy_port, "0.0.0.0", client_port, cmd=3,
                                              proxy_host=proxy_host)
    assert rep == 0, rep
    fam = socket.AF_INET if atyp == 1 else socket.AF_INET6
    return s, (socket.inet_ntop(fam, addr), bport)


def udp_socket(host):
    u = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((host, 0))
    u.settimeout(TIMEOUT)
    return u


# --- UDP ASSOCIATE ---

def test_udp_pysocks_ipv4_with_auth():
    if not have_pysocks():
        print("     (skipped: python3-socks is not installed)")
        return
    echo = UdpEcho()
    with Proxy(auth=True, users={"alice": "wonderland"}) as p:
        r = pysocks_udp(p.port, "127.0.0.1", echo.port, "over udp", user="alice",
                        password="wonderland")
        assert r == {"data": "over udp", "src": ["127.0.0.1", echo.port]}, r
        line = p.wait_log(lambda l: "\tU\t" in l)
        f = line.split("\t")
        assert len(f) == 8 and f[1] == "alice" and f[2] == "U" and f[7] == "0", f
    echo.close()


def test_udp_pysocks_ipv6_target():
    if not have_pysocks():
        print("     (skipped: python3-socks is not installed)")
        return
    try:
        echo = UdpEcho("::1")
    except OSError:
        print("     (skipped: no IPv6 loopback)")
        return
    with Proxy() as p:
        r = pysocks_udp(p.port, "::1", echo.port, "over udp6")
        assert r["data"] == "over udp6" and r["src"][1] == echo.port, r
        assert socket.inet_pton(socket.AF_INET6, r["src"][0]) == \
            socket.inet_pton(socket.AF_INET6, "::1"), r
    echo.close()


def test_udp_pysocks_domain_target():
    if not have_pysocks():
        print("     (skipped: python3-socks is not installed)")
        return
    echo = UdpEcho()
    stub, dns_port = dns_stub("echo.test=127.0.0.1")
    try:
        with Proxy("[socks]\nresolver = 127.0.0.1:%d" % dns_port) as p:
            r = pysocks_udp(p.port, "echo.test", echo.port, "by name", rdns=True)
            assert r == {"data": "by name", "src": ["127.0.0.1", echo.port]}, r
    finally:
        stop(stub)
    echo.close()


def test_udp_raw_over_ipv6_port_learnt_from_first_datagram():
    try:
        echo = UdpEcho("::1")
        udp_socket("::1").close()
    except OSError:
        print("     (skipped: no IPv6 loopback)")
        return
    with Proxy("[socks]\nlisten = ::1") as p:
        s, relay = associate(p.port, 0, proxy_host="::1")
        assert relay[0] == "::1" and relay[1] != 0, relay
        u = udp_socket("::1")
        u.sendto(udp_header("::1", echo.port) + b"six", relay)
        dg, src = u.recvfrom(65535)
        assert src[1] == relay[1]
        frag, atyp, addr, port, data = parse_udp(dg)
        assert (frag, atyp, port, data) == (0, 4, echo.port, b"six"), (frag, atyp, port, data)
        assert addr == socket.inet_pton(socket.AF_INET6, "::1")
        s.close()
    echo.close()


def test_udp_foreign_sources_and_fragments_are_dropped():
    echo = UdpEcho()
    with Proxy() as p:
        s, relay = associate(p.port, 0)
        u = udp_socket("127.0.0.1")
        u.sendto(udp_header("127.0.0.1", echo.port) + b"first", relay)
        assert parse_udp(u.recvfrom(65535)[0])[4] == b"first"
        # the client's port is now known: same IP, other port is foreign
        other_port = udp_socket("127.0.0.1")
        other_port.sendto(udp_header("127.0.0.1", echo.port) + b"other port", relay)
        # another IP altogether (all of 127/8 is loopback on Linux)
        try:
            other_ip = udp_socket("127.0.0.2")
            other_ip.sendto(udp_header("127.0.0.1", echo.port) + b"other ip", relay)
        except OSError:
            pass
        # a fragment, a truncated header and a bad ATYP from the client itself
        u.sendto(udp_header("127.0.0.1", echo.port, frag=1) + b"fragment", relay)
        u.sendto(b"\x00\x00\x00\x01\x7f\x00", relay)
        u.sendto(b"\x00\x00\x00\x02" + b"x" * 10, relay)
        u.sendto(udp_header("127.0.0.1", echo.port) + b"last", relay)
        assert parse_udp(u.recvfrom(65535)[0])[4] == b"last"
        assert echo.got == [b"first", b"last"], echo.got
        s.close()
    echo.close()


def stats(p):
    rc, out, err = massctl(p, "stats", login="root:pw")
    assert rc == 0, out + err
    return dict((k, int(v)) for k, v in (l.split() for l in out.splitlines()))


def test_udp_counts_tunnel_and_payload_bytes():
    echo = UdpEcho()
    with Proxy(admins={"root": "pw"}) as p:
        if p.mgmt_port is None:
            print("     (skipped: this socks5d serves no management port)")
            return
        before = stats(p)
        s, relay = associate(p.port, 0)
        u = udp_socket("127.0.0.1")
        u.sendto(udp_header("127.0.0.1", echo.port) + b"x" * 100, relay)
        assert parse_udp(u.recvfrom(65535)[0])[4] == b"x" * 100
        after = stats(p)
        assert after["historic_connections"] == before["historic_connections"] + 1, after
        # 100 octets each way, headers excluded
        assert after["bytes_transferred"] == before["bytes_transferred"] + 200, (before, after)
        s.close()
    echo.close()


def test_udp_target_on_a_listener_port_number():
    """A UDP target whose port number is that of socks5d's SOCKS or MASS
    (TCP) listener is another service: the built-in rules that keep
    clients off socks5d's own listeners do not drop its datagrams. (Both
    come from the same ephemeral range in the tests: when the kernel gave
    UdpEcho such a port, an echo never came back.)"""
    with Proxy(admins={"root": "pw"}) as p:
        for port in (p.port, p.mgmt_port):
            echo = UdpEcho(port=port)
            s, relay = associate(p.port, 0)
            u = udp_socket("127.0.0.1")
            u.sendto(udp_header("127.0.0.1", port) + b"same number", relay)
            assert parse_udp(u.recvfrom(65535)[0])[4] == b"same number"
            s.close()
            u.close()
            echo.close()
        # TCP still may not reach the listeners
        c, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", p.mgmt_port)
        assert rep == 2, rep
        c.close()


def test_udp_request_port_restricts_the_source():
    echo = UdpEcho()
    with Proxy() as p:
        u = udp_socket("127.0.0.1")
        s, relay = associate(p.port, u.getsockname()[1])
        stranger = udp_socket("127.0.0.1")
        stranger.sendto(udp_header("127.0.0.1", echo.port) + b"stranger", relay)
        u.sendto(udp_header("127.0.0.1", echo.port) + b"announced", relay)
        assert parse_udp(u.recvfrom(65535)[0])[4] == b"announced"
        assert echo.got == [b"announced"], echo.got
        s.close()
    echo.close()


def test_udp_association_ends_with_its_tcp_connection():
    echo = UdpEcho()
    with Proxy() as p:
        s, relay = associate(p.port, 0)
        u = udp_socket("127.0.0.1")
        u.connect(relay)
        u.send(udp_header("127.0.0.1", echo.port) + b"alive")
        assert parse_udp(u.recv(65535))[4] == b"alive"
        s.close()
        # once the association is gone its port answers with ICMP port
        # unreachable, which a connected UDP socket reports as ECONNREFUSED
        u.settimeout(0.2)

        def closed():
            try:
                u.send(udp_header("127.0.0.1", echo.port) + b"dead?")
                u.recv(65535)
            except ConnectionRefusedError:
                return True
            except socket.timeout:
                pass
            return False
        wait_for(closed, "the relay port to stop answering")
        n = len(echo.got)
        time.sleep(0.2)
        assert len(echo.got) == n
    echo.close()


def udp_close_line(p):
    """The access log's close line of the one UDP association (the request
    line is U; its close line names no peer)."""
    return p.wait_log(lambda l: l.split("\t")[2:3] == ["C"]).split("\t")


def test_udp_association_close_line_counts_relayed_data():
    """A UDP association ends with a close line like a tunnel's: no peer,
    the DATA relayed each way (headers excluded; a datagram the ACL drops
    is not counted), its duration and eof when the control connection
    closes."""
    echo = UdpEcho()
    p = Proxy()
    with open(p.ini_path, "a") as f:
        f.write("\n[acl]\ndeny = dest 127.0.0.9\n")
    with p:
        t0 = time.monotonic()
        s, relay = associate(p.port, 0)
        t1 = time.monotonic()
        u = udp_socket("127.0.0.1")
        u.sendto(udp_header("127.0.0.1", echo.port) + b"x" * 100, relay)
        assert parse_udp(u.recvfrom(65535)[0])[4] == b"x" * 100
        u.sendto(udp_header("127.0.0.1", echo.port) + b"y" * 30, relay)
        assert parse_udp(u.recvfrom(65535)[0])[4] == b"y" * 30
        u.sendto(udp_header("127.0.0.9", echo.port) + b"z" * 50, relay)
        p.wait_log(lambda l: "\tU\t" in l and "\t127.0.0.9\t" in l and l.endswith("\t2"))
        src_port = s.getsockname()[1]
        t2 = time.monotonic()
        s.close()
        f = udp_close_line(p)
        t3 = time.monotonic()
        # ts user C src_ip src_port dest dest_port peer_ip peer_port up down ms end src_ip
        assert f[1] == "-", f
        assert f[3] == "127.0.0.1" and f[4] == str(src_port), f
        assert f[5] == "0.0.0.0" and f[6] == "0", f
        assert f[7:9] == ["-", "-"], f
        assert f[9:11] == ["130", "130"], f
        # from the success reply to the close, on the loop's millisecond clock
        assert (t2 - t1) * 1000 - 2 <= int(f[11]) <= (t3 - t0) * 1000 + 2, (t0, t1, t2, t3, f)
        assert f[12] == "eof" and f[13] == "-", f
        u.close()
    echo.close()


def test_udp_idle_timeout_ends_the_association():
    with Proxy("[socks]\nidle_timeout = 1") as p:
        s, relay = associate(p.port, 0)
        assert recv_all(s, TIMEOUT) == b""
        s.close()
        f = udp_close_line(p)
        assert f[9:11] == ["0", "0"] and f[12] == "idle", f


# --- BIND ---

def bind_request(proxy_port, host, port=0, **kw):
    s, rep, atyp, addr, bport = socks_connect(proxy_port, host, port, cmd=2, **kw)
    assert rep == 0, rep
    fam = socket.AF_INET if atyp == 1 else socket.AF_INET6
    return s, (socket.inet_ntop(fam, addr), bport)


def peer_connect(bnd, source=None):
    fam = socket.AF_INET6 if ":" in bnd[0] else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_STREAM)
    if source:
        c.bind((source, 0))
    c.settimeout(TIMEOUT)
    c.connect(bnd)
    return c


def test_bind_peer_connects_back_with_auth():
    with Proxy(auth=True, users={"alice": "wonderland"}) as p:
        s, bnd = bind_request(p.port, "127.0.0.1", 0, user="alice", password="wonderland")
        assert bnd[0] == "127.0.0.1" and bnd[1] not in (0, p.port), bnd
        s.sendall(b"early")  # sent before the peer came: relayed once it does
        peer = peer_connect(bnd)
        rep, atyp, addr, port = read_reply(s)
        assert (rep, atyp, addr) == (0, 1, socket.inet_aton("127.0.0.1")), (rep, addr)
        assert port == peer.getsockname()[1]
        assert recv_exact(peer, 5) == b"early"
        peer.sendall(b"from the peer")
        assert recv_exact(s, 13) == b"from the peer"
        s.sendall(b"to the peer")
        assert recv_exact(peer, 11) == b"to the peer"
        peer.close()
        assert recv_all(s) == b""
        s.close()
        line = p.wait_log(lambda l: "\tB\t" in l)
        f = line.split("\t")
        assert len(f) == 8 and f[1] == "alice" and f[5] == "127.0.0.1" and f[7] == "0", f


def test_bind_peer_that_waits_for_the_client():
    """A peer that connects and waits for the client to speak first (an FTP
    server taking an upload): the second reply comes at once, not after a
    deferred accept gives up."""
    with Proxy() as p:
        s, bnd = bind_request(p.port, "127.0.0.1", 0)
        peer = peer_connect(bnd)
        t = time.time()
        s.settimeout(TIMEOUT)
        rep, _, _, port = read_reply(s)
        waited = time.time() - t
        assert rep == 0 and port == peer.getsockname()[1], rep
        assert waited < 0.5, "second reply after %.2f s" % waited
        s.sendall(b"upload")
        assert recv_exact(peer, 6) == b"upload"
        peer.close()
        s.close()


def test_bind_all_zeros_accepts_any_peer():
    with Proxy() as p:
        s, bnd = bind_request(p.port, "0.0.0.0", 0)
        assert bnd[0] == "127.0.0.1", bnd  # the address the client reached us on
        peer = peer_connect(bnd, source="127.0.0.3")
        rep, _, addr, _ = read_reply(s)
        assert rep == 0 and addr == socket.inet_aton("127.0.0.3"), (rep, addr)
        s.close()
        peer.close()


def test_bind_wrong_peer_gets_rep_02():
    with Proxy() as p:
        s, bnd = bind_request(p.port, "127.0.0.2", 21)
        peer = peer_connect(bnd, source="127.0.0.1")
        rep, _, _, _ = read_reply(s)
        assert rep == 2, rep
        assert recv_all(s) == b""
        assert recv_all(peer) == b""
        s.close()
        p.wait_log(lambda l: "\tB\t" in l and l.endswith("\t127.0.0.2\t21\t2"))
        # the announced address is let in
        s, bnd = bind_request(p.port, "127.0.0.2", 21)
        peer = peer_connect(bnd, source="127.0.0.2")
        rep, _, addr, _ = read_reply(s)
        assert rep == 0 and addr == socket.inet_aton("127.0.0.2"), (rep, addr)
        s.close()
        peer.close()


def test_bind_domain_peer_and_ipv6():
    stub, dns_port = dns_stub("peer.test=127.0.0.4")
    try:
        with Proxy("[socks]\nresolver = 127.0.0.1:%d" % dns_port) as p:
            s, bnd = bind_request(p.port, "peer.test", 0)
            peer = peer_connect(bnd, source="127.0.0.4")
            rep, _, addr, _ = read_reply(s)
            assert rep == 0 and addr == socket.inet_aton("127.0.0.4"), (rep, addr)
            s.close()
            peer.close()
            try:
                udp_socket("::1").close()
            except OSError:
                return
            s, bnd = bind_request(p.port, "::1", 0)
            assert bnd[0] == "::1", bnd
            peer = peer_connect(bnd)
            rep, atyp, _, _ = read_reply(s)
            assert (rep, atyp) == (0, 4), (rep, atyp)
            peer.sendall(b"v6")
            assert recv_exact(s, 2) == b"v6"
            s.close()
            peer.close()
    finally:
        stop(stub)


def test_bind_peer_never_comes_rep_06():
    with Proxy("[socks]\nconnect_timeout = 1") as p:
        s, bnd = bind_request(p.port, "127.0.0.1", 0)
        rep, _, _, _ = read_reply(s)
        assert rep == 6, rep
        assert recv_all(s) == b""
        s.close()
        # the listener is gone with it
        c = socket.socket()
        try:
            c.connect(bnd)
            raise AssertionError("the BIND port still listens")
        except ConnectionRefusedError:
            pass
        finally:
            c.close()


# --- the switch ---

def expect_07(port, cmd):
    s, rep, _, _, _ = socks_connect(port, "127.0.0.1", 0, cmd=cmd)
    assert rep == 7, (cmd, rep)
    assert recv_all(s) == b""
    s.close()


def test_disabled_commands_answer_rep_07():
    with Proxy("[socks]\ncommands = connect") as p:
        expect_07(p.port, 2)
        expect_07(p.port, 3)
        p.wait_log(lambda l: "\tU\t" in l and l.endswith("\t7"))
        p.wait_log(lambda l: "\tB\t" in l and l.endswith("\t7"))
    with Proxy("[socks]\ncommands = bind, udp") as p:
        expect_07(p.port, 1)
        s, relay = associate(p.port, 0)
        s.close()


if __name__ == "__main__":
    sys.exit(run([
        test_udp_pysocks_ipv4_with_auth,
        test_udp_pysocks_ipv6_target,
        test_udp_pysocks_domain_target,
        test_udp_raw_over_ipv6_port_learnt_from_first_datagram,
        test_udp_foreign_sources_and_fragments_are_dropped,
        test_udp_request_port_restricts_the_source,
        test_udp_counts_tunnel_and_payload_bytes,
        test_udp_target_on_a_listener_port_number,
        test_udp_association_ends_with_its_tcp_connection,
        test_udp_association_close_line_counts_relayed_data,
        test_udp_idle_timeout_ends_the_association,
        test_bind_peer_connects_back_with_auth,
        test_bind_peer_that_waits_for_the_client,
        test_bind_all_zeros_accepts_any_peer,
        test_bind_wrong_peer_gets_rep_02,
        test_bind_domain_peer_and_ipv6,
        test_bind_peer_never_comes_rep_06,
        test_disabled_commands_answer_rep_07,
    ]))
