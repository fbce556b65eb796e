"""The [acl] section end to end: REP 02 by name before resolution, by
address after it (a name cannot smuggle a denied address), by client
source, a bad rule named with file and line, and a reload that swaps the
rules; every address form Linux delivers to loopback (0.0.0.0, ::,
::ffff:0.0.0.0, ::ffff:127.0.0.1, the name "0.0.0.0", 127.x.y.z) denied
for CONNECT, BIND and UDP; BIND and UDP ASSOCIATE judged by source; UDP
dest-host rules by name; UDP replies only from peers sent to; the
built-in rules (MASS on port 0, no chaining through any SOCKS listener);
denials of every kind in both logs."""

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (UdpEcho, Proxy, EchoServer, free_port, recv_all, recv_exact, socks_connect,
                     read_reply, request_bytes, wait_for, run, TOP_SRCDIR, TIMEOUT)

DNS_STUB = os.path.join(TOP_SRCDIR, "tests", "integration", "dns_stub.py")


def acl_proxy(ini="", rules=()):
    """A Proxy whose [acl] holds rules as given: the harness merges repeated
    keys within a section, and rules repeat allow and deny on purpose."""
    p = Proxy(ini)
    write_acl(p, rules)
    return p


def write_acl(p, rules):
    with open(p.ini_path, "a") as f:
        f.write("\n[acl]\n" + "".join(r + "\n" for r in rules))


def expect(p, host, port, want):
    s, rep, _, _, _ = socks_connect(p.port, host, port)
    assert rep == want, "REP %r, wanted %r for %s:%d" % (rep, want, host, port)
    if rep != 0:
        assert recv_all(s, 5) == b""
    else:
        s.sendall(b"through")
        assert recv_exact(s, 7) == b"through"
    s.close()


def test_dest_and_port_rules():
    echo = EchoServer()
    with acl_proxy(rules=["allow = dest 127.0.0.1 port %d" % echo.port,
                          "deny = dest 127.0.0.0/8"]) as p:
        expect(p, "127.0.0.1", echo.port, 0)
        expect(p, "127.0.0.1", echo.port + 1 if echo.port < 65535 else 1, 2)
        expect(p, "::ffff:127.0.0.1", echo.port + 1 if echo.port < 65535 else 1, 2)
        p.wait_log(lambda l: l.endswith("\t2"))
        assert "denied by [acl] line" in p.stderr(), p.stderr()
    echo.close()


def test_name_denied_before_resolution_and_smuggling_blocked():
    echo = EchoServer()
    stub = subprocess.Popen([sys.executable, DNS_STUB, "--port", "0",
                             "--record", "db.internal=127.0.0.1",
                             "--record", "innocent.test=127.0.0.1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        dns = int(stub.stdout.readline())
        with acl_proxy("[socks]\nresolver = 127.0.0.1:%d" % dns,
                       ["deny = dest-host .internal",
                        "deny = dest 127.0.0.1 port %d" % echo.port]) as p:
            expect(p, "db.internal", 9, 2)
            # innocent.test resolves to the denied address
            expect(p, "innocent.test", echo.port, 2)
            expect(p, "innocent.test", 9, 5)
    finally:
        stub.terminate()
        stub.wait(timeout=5)
    echo.close()


def test_source_rule_and_final_deny():
    echo = EchoServer()
    with acl_proxy(rules=["deny = src 127.0.0.0/8 port 1-1023", "allow = src 127.0.0.1",
                          "deny = all"]) as p:
        expect(p, "127.0.0.1", echo.port, 0)
        expect(p, "127.0.0.1", 22, 2)
    with acl_proxy(rules=["allow = src 10.0.0.0/8", "deny = all"]) as p:
        expect(p, "127.0.0.1", echo.port, 2)
    echo.close()


def test_builtin_rule_shields_the_management_port():
    mport = free_port()
    with Proxy("[management]\nport = %d\n[acl]\nallow = all" % mport) as p:
        for host in ("127.0.0.1", "0.0.0.0", "::ffff:127.0.0.1", "::ffff:0.0.0.0"):
            expect(p, host, mport, 2)
        assert "(built-in rule: socks5d's own listener)" in p.stderr(), p.stderr()
        # a listener on 127.0.0.1 is not reachable on 127.0.0.5: refused, not relayed
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.5", mport)
        assert rep != 0, rep
        s.close()


LOOPBACK_FORMS = ("0.0.0.0", "::", "::ffff:0.0.0.0", "::ffff:127.0.0.1", "127.1.2.3")
LOOPBACK_RULES = ["deny = dest 127.0.0.0/8", "deny = dest ::1"]


def denied_line(p, kind, dest):
    return p.wait_log(lambda l: l.split("\t")[2:3] == [kind] and
                      l.split("\t")[5] == dest and l.endswith("\t2"))


def test_loopback_forms_denied_for_connect():
    echo = EchoServer()
    with acl_proxy(rules=LOOPBACK_RULES) as p:
        for host in LOOPBACK_FORMS + ("127.0.0.1",):
            expect(p, host, echo.port, 2)
        # the name "0.0.0.0" (ATYP 03) before resolution, and "::" as a name
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.sendall(b"\x05\x01\x00")
        assert recv_exact(s, 2) == b"\x05\x00"
        name = b"0.0.0.0"
        s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", echo.port))
        assert read_reply(s)[0] == 2
        s.close()
        denied_line(p, "A", "0.0.0.0")
    echo.close()


def raw_request(port, atyp_addr, dport, cmd):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(b"\x05\x01\x00")
    assert recv_exact(s, 2) == b"\x05\x00"
    s.sendall(bytes([5, cmd, 0]) + atyp_addr + struct.pack(">H", dport))
    return s


def name_bytes(name):
    return b"\x03" + bytes([len(name)]) + name.encode()


def test_loopback_forms_denied_for_bind():
    with acl_proxy(rules=LOOPBACK_RULES) as p:
        for host in ("::ffff:0.0.0.0", "::ffff:127.0.0.1", "127.1.2.3", "127.0.0.1", "::1"):
            s, rep, _, _, _ = socks_connect(p.port, host, 0, cmd=2)
            assert rep == 2, (host, rep)
            s.close()
        s = raw_request(p.port, name_bytes("0.0.0.0"), 0, 2)
        assert read_reply(s)[0] == 2
        s.close()
        # 0.0.0.0 and :: as addresses name no peer: the peer that comes is judged
        for host in ("0.0.0.0", "::"):
            s, rep, _, addr, bport = socks_connect(p.port, host, 0, cmd=2)
            assert rep == 0, rep
            peer = socket.create_connection((socket.inet_ntoa(addr), bport), timeout=TIMEOUT)
            assert read_reply(s)[0] == 2
            peer.close()
            s.close()
        denied_line(p, "B", "0.0.0.0")
        # the peer is judged at the requested port (0 here), not its source port
        assert re.search(r"acl: BIND from 127.0.0.1 to 127.0.0.1 port 0 denied", p.stderr())


def udp_header(atyp_addr, port):
    return b"\x00\x00\x00" + atyp_addr + struct.pack(">H", port)


def associate(p):
    s, rep, atyp, addr, bport = socks_connect(p.port, "0.0.0.0", 0, cmd=3)
    assert rep == 0, rep
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    u.settimeout(1)
    return s, u, (socket.inet_ntoa(addr), bport)


def test_loopback_forms_denied_for_udp():
    echo = UdpEcho()
    with acl_proxy(rules=LOOPBACK_RULES) as p:
        s, u, relay = associate(p)
        for host in LOOPBACK_FORMS:
            u.sendto(udp_header(request_bytes(host, 0)[3:-2], echo.port) + b"x", relay)
        u.sendto(udp_header(name_bytes("0.0.0.0"), echo.port) + b"x", relay)
        denied_line(p, "U", "0.0.0.0")
        denied_line(p, "U", "::ffff:127.0.0.1")
        time.sleep(0.3)
        assert echo.got == [], echo.got
        s.close()
        u.close()
    echo.close()


def test_bind_and_udp_judged_by_source():
    with acl_proxy(rules=["deny = src 127.0.0.0/8"]) as p:
        for cmd, kind in ((2, "B"), (3, "U")):
            s, rep, _, _, _ = socks_connect(p.port, "0.0.0.0", 0, cmd=cmd)
            assert rep == 2, (cmd, rep)
            s.close()
            denied_line(p, kind, "0.0.0.0")
        assert "acl: UDP from 127.0.0.1 denied by [acl] line" in p.stderr(), p.stderr()


def test_udp_dest_host_rules_apply_by_name():
    echo = UdpEcho()
    with acl_proxy(rules=["deny = dest-host .blocked.test"]) as p:
        s, u, relay = associate(p)
        # denied before any resolution: no resolver is asked
        u.sendto(udp_header(name_bytes("db.blocked.test"), echo.port) + b"x", relay)
        line = denied_line(p, "U", "db.blocked.test")
        assert line.split("\t")[6] == str(echo.port), line
        # an address is not a name: allowed
        u.sendto(udp_header(request_bytes("127.0.0.1", 0)[3:-2], echo.port) + b"ok", relay)
        assert u.recvfrom(65535)[0].endswith(b"ok")
        s.close()
        u.close()
    echo.close()


def test_udp_replies_only_from_peers_sent_to():
    echo = UdpEcho()
    with acl_proxy() as p:
        s, u, relay = associate(p)
        u.sendto(udp_header(request_bytes("127.0.0.1", 0)[3:-2], echo.port) + b"hello", relay)
        dg = u.recvfrom(65535)[0]
        assert dg.endswith(b"hello"), dg
        upstream = echo.sources[0]  # the relay's socket toward targets
        # a stranger, and the peer's host from another port: both dropped
        for src_port in (0, 0):
            x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            x.bind(("127.0.0.1", src_port))
            x.sendto(b"spoofed", upstream)
            x.close()
        try:
            got = u.recvfrom(65535)[0]
            raise AssertionError("a datagram from a peer never sent to passed: %r" % got)
        except socket.timeout:
            pass
        # the peer itself still answers
        echo.sock.sendto(b"again", upstream)
        assert u.recvfrom(65535)[0].endswith(b"again")
        s.close()
        u.close()
    echo.close()


def socks_ports(p):
    return [(a, int(n)) for a, n in re.findall(r"SOCKS listening on (\S+) port (\d+)", p.stderr())]


def test_no_chaining_through_any_socks_listener():
    echo = EchoServer()
    with Proxy("[socks]\nlisten = 127.0.0.1, ::1\n[acl]\nallow = all") as p:
        ports = socks_ports(p)
        assert len(ports) == 2, p.stderr()
        for addr, port in ports:
            hosts = ("127.0.0.1", "0.0.0.0", "::ffff:127.0.0.1") if addr == "127.0.0.1" \
                else ("::1", "::")
            for host in hosts:
                expect(p, host, port, 2)
            s = raw_request(p.port, name_bytes("0.0.0.0" if addr == "127.0.0.1" else "::1"),
                            port, 1)
            assert read_reply(s)[0] == 2
            s.close()
        # the management port (0 asked: an ephemeral one) too
        expect(p, "127.0.0.1", p.mgmt_port, 2)
        expect(p, "0.0.0.0", p.mgmt_port, 2)
        # anything else still goes through
        expect(p, "127.0.0.1", echo.port, 0)
        assert "built-in rules: no client reaches socks5d's 3 listeners" in p.stderr(), \
            p.stderr()
    echo.close()


def test_builtin_rules_survive_a_reload():
    with Proxy("[acl]\nallow = all") as p:
        expect(p, "127.0.0.1", p.mgmt_port, 2)
        p.write_ini("[acl]\nallow = dest 127.0.0.0/8")
        p.signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in p.stderr())
        # recomputed from the same sockets: still first, still denying
        assert p.stderr().count("built-in rules: no client reaches socks5d's 2 listeners") == 2, \
            p.stderr()
        expect(p, "127.0.0.1", p.mgmt_port, 2)
        expect(p, "0.0.0.0", p.port, 2)


def test_wildcard_listener_is_shielded_on_every_local_address():
    with Proxy("[socks]\nlisten = 0.0.0.0\n[acl]\nallow = all") as p:
        for host in ("127.0.0.1", "127.9.8.7", "0.0.0.0", "::ffff:127.0.0.2"):
            expect(p, host, p.port, 2)


def test_denied_names_are_escaped_in_the_daemon_log():
    with acl_proxy(rules=["deny = all"]) as p:
        name = "a.test\nsocks5d[1]: error: forged\x1b[2J"
        s = raw_request(p.port, name_bytes(name), 80, 1)
        assert read_reply(s)[0] == 4  # no host name: refused before the rules
        s.close()
        err = p.stderr()
        assert "to a.test\\nsocks5d[1]: error: forged\\x1b[2J refused" in err, err
        assert "\nsocks5d[1]: error: forged" not in err and "\x1b" not in err, err


def test_shipped_defaults_deny_this_host_and_link_local():
    """etc/mass.ini as shipped (test ports, loopback listener, no auth): the
    quick start's 127.0.0.1:8000 passes, the rest of the host and link-local
    do not."""
    with open(os.path.join(TOP_SRCDIR, "etc", "mass.ini")) as f:
        text = f.read()
    text = re.sub(r"(?m)^port = \d+", "port = 0", text)
    text = re.sub(r"(?m)^listen = .*$", "listen = 127.0.0.1", text)
    text = re.sub(r"(?m)^auth = on", "auth = off", text)
    text = re.sub(r"(?m)^dir =.*$", "dir = %s" % os.path.join(
        os.environ.get("top_builddir", "."), "plugins", ".libs"), text)
    p = Proxy()
    with open(p.ini_path, "w") as f:
        f.write(text)
    with p:
        web = None
        try:
            web = EchoServer()
            s8000 = socket.socket()
            s8000.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s8000.bind(("127.0.0.1", 8000))
            s8000.listen(1)
        except OSError:
            s8000 = None  # port 8000 taken outside a namespace of our own
        if s8000 is not None:
            s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", 8000)
            assert rep == 0, rep
            s.close()
            s8000.close()
        for host, port in (("127.0.0.1", web.port), ("0.0.0.0", web.port),
                           ("::ffff:127.0.0.1", web.port), ("::1", 80), ("::", 80),
                           ("127.0.0.2", 8000), ("169.254.169.254", 80),
                           ("169.254.1.1", 80), ("fe80::1", 80)):
            s, rep, _, _, _ = socks_connect(p.port, host, port)
            assert rep == 2, (host, port, rep)
            s.close()
        s = raw_request(p.port, name_bytes("0.0.0.0"), web.port, 1)
        assert read_reply(s)[0] == 2
        s.close()
        web.close()


def test_bad_rule_is_reported_with_file_and_line():
    p = acl_proxy(rules=["allow = dest 10.0.0.0/8", "deny = dest 10.0.0.1/8"])
    p.start(expect_fail=True)
    assert p.proc.wait(timeout=TIMEOUT) != 0
    err = p.stderr()
    assert "mass.ini:" in err and "[acl] deny: host bits set" in err, err


def test_reload_swaps_rules_and_a_bad_one_keeps_them():
    echo = EchoServer()
    with Proxy() as p:
        expect(p, "127.0.0.1", echo.port, 0)
        p.write_ini("[acl]\ndeny = port %d" % echo.port)
        p.signal(signal.SIGHUP)
        deadline = time.time() + TIMEOUT
        while "reloaded" not in p.stderr() and time.time() < deadline:
            time.sleep(0.02)
        expect(p, "127.0.0.1", echo.port, 2)
        p.write_ini("[acl]\ndeny = port banana")
        p.signal(signal.SIGHUP)
        while "keeping the running configuration" not in p.stderr() and time.time() < deadline:
            time.sleep(0.02)
        assert "[acl] deny:" in p.stderr(), p.stderr()
        expect(p, "127.0.0.1", echo.port, 2)
    echo.close()


if __name__ == "__main__":
    sys.exit(run([
        test_dest_and_port_rules,
        test_name_denied_before_resolution_and_smuggling_blocked,
        test_source_rule_and_final_deny,
        test_builtin_rule_shields_the_management_port,
        test_loopback_forms_denied_for_connect,
        test_loopback_forms_denied_for_bind,
        test_loopback_forms_denied_for_udp,
        test_bind_and_udp_judged_by_source,
        test_udp_dest_host_rules_apply_by_name,
        test_udp_replies_only_from_peers_sent_to,
        test_no_chaining_through_any_socks_listener,
        test_wildcard_listener_is_shielded_on_every_local_address,
        test_builtin_rules_survive_a_reload,
        test_denied_names_are_escaped_in_the_daemon_log,
        test_shipped_defaults_deny_this_host_and_link_local,
        test_bad_rule_is_reported_with_file_and_line,
        test_reload_swaps_rules_and_a_bad_one_keeps_them,
    ]))
