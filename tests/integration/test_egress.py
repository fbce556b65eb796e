"""Egress per class, rules per user and class, a class's route. In a network
namespace of its own (root): two IPv4 addresses and a target address on
lo, an IPv6 target and a /64 routed to the host (ip -6 route add local).
The target sees the configured sources: a class with two IPv4 addresses
uses both; one with the /64 in random mode spreads 1,000 connections over
at least 900 distinct addresses; sticky users always leave from the same
one; a destination of a family the class has no egress for gets REP 08;
BIND's listener and UDP ASSOCIATE's datagrams leave from the egress too;
the access log's close record names the source. [acl] user and class
rules allow and deny CONNECT, BIND and UDP as written; a class routed
through an upstream sends CONNECT through it and gets REP 07 for UDP."""

import ipaddress
import os
import socket
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, UdpEcho, login_bytes, recv_exact, request_bytes, read_reply,
                     socks_connect, wait_for, run, TIMEOUT)

V4 = ["10.77.0.1", "10.77.0.2"]
TARGET4 = "10.77.0.9"
TARGET6 = "fd77::9"
PREFIX = "fd77:1::/64"
PW = "pw"


def netns_ready():
    if os.geteuid() != 0 or not os.environ.get("MASS_NETNS"):
        return False
    cmds = [["ip", "addr", "add", a + "/32", "dev", "lo"] for a in V4 + [TARGET4]]
    cmds += [["ip", "-6", "addr", "add", TARGET6 + "/128", "dev", "lo"],
             ["ip", "-6", "route", "add", "local", PREFIX, "dev", "lo"]]
    for c in cmds:
        r = subprocess.run(c, capture_output=True)
        if r.returncode != 0 and b"File exists" not in r.stderr:
            print("SKIP: %s: %s" % (" ".join(c), r.stderr.decode().strip()))
            return False
    return True


class Target:
    """A TCP server that records each connection's source address."""

    def __init__(self, host):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.sources = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, peer = self.sock.accept()
            except OSError:
                return
            self.sources.append(peer[0])
            c.close()

    def close(self):
        self.sock.close()


CLASSES = """
[class two4]
egress = %s, %s
[class v6rand]
egress = %s
[class v6sticky]
egress = %s
egress_mode = sticky
""" % (V4[0], V4[1], PREFIX, PREFIX)

USERS = {"a": PW + " class=two4", "r": PW + " class=v6rand", "s1": PW + " class=v6sticky",
         "s2": PW + " class=v6sticky", "plain": PW}


def through(p, user, host, port, n):
    """n CONNECTs as user; returns the REP codes."""
    reps = []
    for _ in range(n):
        s, rep, _, _, _ = socks_connect(p.port, host, port, user, PW)
        reps.append(rep)
        s.close()
    return reps


def test_ipv4_pair_and_no_family():
    t = Target(TARGET4)
    with Proxy(CLASSES, auth=True, users=USERS) as p:
        assert through(p, "a", TARGET4, t.port, 40) == [0] * 40
        wait_for(lambda: len(t.sources) == 40, "40 connections at the target")
        assert set(t.sources) == set(V4), set(t.sources)
        # the class has no IPv6 egress: an IPv6 destination is refused
        assert through(p, "a", TARGET6, t.port, 1) == [8]
        # the close record names the source
        line = p.wait_log(lambda l: l.split("\t")[1:3] == ["a", "C"])
        assert line.split("\t")[13] in V4, line
        # a user of a class without egress: the kernel's choice
        through(p, "plain", TARGET4, t.port, 1)
        wait_for(lambda: len(t.sources) == 41, "one more")
        assert t.sources[-1] not in V4
    t.close()


def test_ipv6_prefix_random_spread_and_sticky():
    t = Target(TARGET6)
    net = ipaddress.ip_network(PREFIX)
    with Proxy(CLASSES, auth=True, users=USERS) as p:
        assert through(p, "r", TARGET6, t.port, 1000) == [0] * 1000
        wait_for(lambda: len(t.sources) == 1000, "1000 connections at the target")
        assert all(ipaddress.ip_address(a) in net for a in t.sources)
        distinct = len(set(t.sources))
        assert distinct >= 900, distinct
        print("     random: %d distinct sources in 1000 connections" % distinct)
        del t.sources[:]
        through(p, "s1", TARGET6, t.port, 10)
        through(p, "s2", TARGET6, t.port, 10)
        wait_for(lambda: len(t.sources) == 20, "20 connections")
        s1, s2 = set(t.sources[:10]), set(t.sources[10:])
        assert len(s1) == 1 and len(s2) == 1 and s1 != s2, (s1, s2)
        assert ipaddress.ip_address(s1.pop()) in net
        # an IPv4 destination: no IPv4 egress in the class
        assert through(p, "s1", TARGET4, t.port, 1) == [8]
    t.close()


def login(p, user):
    s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
    s.sendall(b"\x05\x01\x02")
    assert recv_exact(s, 2) == b"\x05\x02"
    s.sendall(login_bytes(user, PW))
    assert recv_exact(s, 2) == b"\x01\x00"
    return s


def bind_reply(p, user):
    s = login(p, user)
    s.sendall(request_bytes(TARGET4, 0, cmd=2))
    rep, atyp, addr, port = read_reply(s)
    return s, rep, (socket.inet_ntop(socket.AF_INET, addr) if atyp == 1 else addr)


def udp_send(p, user, echo):
    """An association as user, one datagram to echo; returns (rep, control socket)."""
    s = login(p, user)
    s.sendall(request_bytes("0.0.0.0", 0, cmd=3))
    rep, atyp, addr, port = read_reply(s)
    if rep != 0:
        return rep, s
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bnd = socket.inet_ntop(socket.AF_INET, addr) if atyp == 1 else "127.0.0.1"
    u.sendto(b"\x00\x00\x00\x01" + socket.inet_aton(TARGET4) + struct.pack(">H", echo.port) +
             b"dgram", (bnd, port))
    u.settimeout(TIMEOUT)
    data, _ = u.recvfrom(65535)
    assert data.endswith(b"dgram"), data
    u.close()
    return rep, s


def test_bind_and_udp_leave_from_egress():
    echo = UdpEcho(TARGET4)
    with Proxy(CLASSES, auth=True, users=USERS) as p:
        s, rep, bnd = bind_reply(p, "a")
        assert rep == 0 and bnd in V4, (rep, bnd)
        s.close()
        rep, s = udp_send(p, "a", echo)
        assert rep == 0
        assert echo.sources[-1][0] in V4, echo.sources
        s.close()
    echo.close()


def test_user_and_class_rules_all_commands():
    t = Target(TARGET4)
    echo = UdpEcho(TARGET4)
    rules = ("[acl]\ndeny = user s1\ndeny = class two4 port %d\nallow = user plain port %d\n"
             "deny = user plain\n" % (t.port, t.port))
    users = {"a": PW + " class=two4", "s1": PW, "s2": PW, "plain": PW}
    p = Proxy("[class two4]\nmax_sessions = 100\n", auth=True, users=users)
    with open(p.ini_path, "a") as f:     # the harness merges repeated keys: append
        f.write("\n" + rules)
    with p:
        # CONNECT
        assert through(p, "a", TARGET4, t.port, 1) == [2]
        assert through(p, "s2", TARGET4, t.port, 1) == [0]
        assert through(p, "s1", TARGET4, t.port, 1) == [2]
        assert through(p, "plain", TARGET4, t.port, 1) == [0]
        assert through(p, "plain", TARGET4, t.port + 1 if t.port < 65535 else 1, 1) == [2]
        # BIND
        s, rep, _ = bind_reply(p, "s1")
        assert rep == 2
        s.close()
        s, rep, _ = bind_reply(p, "a")
        assert rep == 0
        s.close()
        # UDP
        rep, s = udp_send(p, "s1", echo)
        assert rep == 2
        s.close()
        rep, s = udp_send(p, "s2", echo)
        assert rep == 0
        s.close()
        assert "denied by [acl] line" in p.stderr()
    t.close()
    echo.close()


def test_class_route_through_upstream():
    t = Target(TARGET4)
    echo = UdpEcho(TARGET4)
    with Proxy() as parent:
        ini = ("[class chained]\nroute = up\n[upstreams]\nup = socks5://127.0.0.1:%d\n"
               % parent.port)
        with Proxy(ini, auth=True, users={"c": PW + " class=chained", "d": PW}) as p:
            assert through(p, "c", TARGET4, t.port, 1) == [0]
            wait_for(lambda: any(l.split("\t")[2:3] == ["A"] for l in parent.log_lines()),
                     "the parent used")
            assert through(p, "d", TARGET4, t.port, 1) == [0]   # default class: direct
            assert len([l for l in parent.log_lines() if l.split("\t")[2:3] == ["A"]]) == 1
            rep, s = udp_send(p, "c", echo)
            assert rep == 7, rep
            s.close()
            rep, s = udp_send(p, "d", echo)
            assert rep == 0, rep
            s.close()
        bad = Proxy("[class x]\nroute = nowhere\n", auth=True, users={"c": PW + " class=x"})
        bad.start(expect_fail=True)
        bad.proc.wait(timeout=TIMEOUT)
        assert "[class x] route: no such upstream" in bad.stderr(), bad.stderr()
        bad = Proxy("[class x]\negress = fd00::/129\n")
        bad.start(expect_fail=True)
        bad.proc.wait(timeout=TIMEOUT)
        assert bad.proc.returncode != 0 and "[class x] egress" in bad.stderr(), bad.stderr()
    t.close()
    echo.close()


def main():
    tests = [test_ipv4_pair_and_no_family, test_ipv6_prefix_random_spread_and_sticky,
             test_bind_and_udp_leave_from_egress, test_user_and_class_rules_all_commands,
             test_class_route_through_upstream]
    from harness import isolate
    isolate()
    if not netns_ready():
        print("SKIP: needs root in a network namespace of its own")
        print("0 passed, 0 failed")
        return 77
    return run(tests)


if __name__ == "__main__":
    sys.exit(main())
