"""The policy boundary, second round (issue 22 items 3, 4, 6, 7, 8, 9), each
test reproducing an attack that worked against the first round and showing
it refused: BIND by a name that resolves to a denied address, BIND's port
condition judged at the requested port, names judged as they are resolved
(escapes, search domains), multicast leaving the host, the users file from a
shared directory, addresses the host gains after start, and a plugin's
listener (the Prometheus exporter) reached through the proxy. Run as root,
each test runs in a network namespace of its own (harness.isolate)."""

import os
import re
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, UdpEcho, recv_all, recv_exact, socks_connect,
                     read_reply, request_bytes, run, free_port, TOP_SRCDIR, TIMEOUT)

DNS_STUB = os.path.join(TOP_SRCDIR, "tests", "integration", "dns_stub.py")


def acl_proxy(ini="", rules=(), **kw):
    p = Proxy(ini, **kw)
    with open(p.ini_path, "a") as f:
        f.write("\n[acl]\n" + "".join(r + "\n" for r in rules))
    return p


class DnsStub:
    """dns_stub.py with records "name=ip"; .port once started."""

    def __init__(self, *records):
        args = [sys.executable, DNS_STUB, "--port", "0"]
        for r in records:
            args += ["--record", r]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


def raw_request(port, atyp_addr, dport, cmd):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(b"\x05\x01\x00")
    assert recv_exact(s, 2) == b"\x05\x00"
    s.sendall(bytes([5, cmd, 0]) + atyp_addr + struct.pack(">H", dport))
    return s


def name_bytes(name):
    return b"\x03" + bytes([len(name)]) + name.encode("latin-1")


def udp_header(atyp_addr, port):
    return b"\x00\x00\x00" + atyp_addr + struct.pack(">H", port)


# --- item 9: BIND judged on what it listens on and whom it lets in -------

def test_bind_by_name_judges_every_address_before_listening():
    """Attack: BIND to a name resolving to a denied address got REP 00 and
    a listener (BIND to the address itself was refused)."""
    dns = DnsStub("denied.test=127.0.0.1,127.0.0.3", "fine.test=127.0.0.1")
    try:
        with acl_proxy("[socks]\nresolver = 127.0.0.1:%d" % dns.port,
                       ["deny = dest 127.0.0.3"]) as p:
            s, rep, _, _, _ = socks_connect(p.port, "127.0.0.3", 0, cmd=2)
            assert rep == 2, rep
            s.close()
            s = raw_request(p.port, name_bytes("denied.test"), 0, 2)
            rep = read_reply(s)[0]
            assert rep == 2, "BIND by name to a denied address: REP %r" % rep
            assert recv_all(s, 5) == b""
            s.close()
            assert re.search(r"acl: BIND from 127.0.0.1 to denied.test at 127.0.0.3 port 0 "
                             r"denied by \[acl\] line", p.stderr()), p.stderr()
            # a name whose every address is allowed still listens
            s = raw_request(p.port, name_bytes("fine.test"), 0, 2)
            assert read_reply(s)[0] == 0
            s.close()
    finally:
        dns.close()


def test_bind_port_condition_is_the_requested_port():
    """Attack: "allow = dest 127.0.0.0/8 port 28000-29999" granted the BIND
    and then refused its peer (which connects from an ephemeral port)."""
    with acl_proxy(rules=["allow = dest 127.0.0.0/8 port 28000-29999", "deny = all"]) as p:
        s, rep, _, addr, bport = socks_connect(p.port, "127.0.0.1", 28500, cmd=2)
        assert rep == 0, rep
        peer = socket.create_connection((socket.inet_ntoa(addr), bport), timeout=TIMEOUT)
        rep2 = read_reply(s)[0]
        assert rep2 == 0, "the peer was judged at its source port: REP %r" % rep2
        peer.sendall(b"ping")
        assert recv_exact(s, 4) == b"ping"
        peer.close()
        s.close()
        # outside the range: the request itself is refused
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", 27999, cmd=2)
        assert rep == 2, rep
        s.close()


# --- item 8: multicast and broadcast denied unless allowed ----------------

def shipped_proxy(extra_acl=()):
    """etc/mass.ini as shipped, on test ports, loopback, no auth."""
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
    return p


def multicast_receiver(group, port):
    """A socket joined to group on loopback (made multicast-capable: the
    test runs in a namespace of its own), as an SSDP listener would be."""
    subprocess.run("ip link set lo multicast on && ip route replace 224.0.0.0/4 dev lo",
                   shell=True, check=True)
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    r.bind(("0.0.0.0", port))
    r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(group) + socket.inet_aton("127.0.0.1"))
    r.settimeout(1)
    return r


def test_multicast_and_broadcast_denied_by_the_shipped_acl():
    """Attack: a UDP datagram to 239.255.255.250:1900 (SSDP) left the
    proxy under the shipped [acl]."""
    if not os.environ.get("MASS_NETNS"):
        print("SKIP: needs a network namespace of its own (run as root)")
        return
    r = multicast_receiver("239.255.255.250", 1900)
    # the receiver works: a datagram sent directly arrives
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d.sendto(b"direct", ("239.255.255.250", 1900))
    assert r.recvfrom(100)[0] == b"direct"
    d.close()
    with shipped_proxy() as p:
        s, rep, _, addr, bport = socks_connect(p.port, "0.0.0.0", 0, cmd=3)
        assert rep == 0, rep
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        relay = (socket.inet_ntoa(addr), bport)
        for host in ("239.255.255.250", "::ffff:239.255.255.250", "255.255.255.255",
                     "ff02::c"):
            u.sendto(udp_header(request_bytes(host, 0)[3:-2], 1900) + b"M-SEARCH", relay)
        try:
            got = r.recvfrom(100)
            raise AssertionError("a multicast datagram left through the proxy: %r" % (got,))
        except socket.timeout:
            pass
        assert re.search(r"acl: UDP from 127.0.0.1 to 239.255.255.250 port 1900 denied by "
                         r"\[acl\] line", p.stderr()), p.stderr()
        assert "to 255.255.255.255 port 1900 denied" in p.stderr(), p.stderr()
        assert "to ff02::c port 1900 denied" in p.stderr(), p.stderr()
        s.close()
        u.close()
        for host in ("239.255.255.250", "224.0.0.251", "255.255.255.255", "ff02::1"):
            for cmd in (1, 2):
                s, rep, _, _, _ = socks_connect(p.port, host, 1900, cmd=cmd)
                assert rep == 2, (host, cmd, rep)
                s.close()
    r.close()


# --- item 6: names judged as they will be resolved ------------------------

def test_names_are_judged_as_resolved():
    """Attack: with "deny = dest-host lo.test" and "search test" in the
    resolver's configuration, "l\\o.test" (c-ares strips the escape) and
    "lo" (completed from the search list) both reached lo.test. LOCALDOMAIN
    is resolv.conf's search line for c-ares, in the daemon's environment
    only."""
    echo = EchoServer()
    dns = DnsStub("lo.test=127.0.0.1", "other.test=127.0.0.1")
    env = dict(os.environ, LOCALDOMAIN="test")
    try:
        with acl_proxy("[socks]\nresolver = 127.0.0.1:%d" % dns.port,
                       ["deny = dest-host lo.test"], env=env) as p:
            # the search list is in force for c-ares: "other" would be other.test
            for name, want in (("lo.test", 2), ("LO.Test.", 2), ("l\\o.test", 4),
                               ("lo", 4), ("lo\\.test", 4), ("lo..test", 4),
                               ("other.test", 0)):
                s = raw_request(p.port, name_bytes(name), echo.port, 1)
                rep = read_reply(s)[0]
                assert rep == want, "%r: REP %r, wanted %r" % (name, rep, want)
                if rep == 0:
                    s.sendall(b"hi")
                    assert recv_exact(s, 2) == b"hi"
                s.close()
            # the access log records the name judged and asked
            p.wait_log(lambda l: l.split("\t")[5:7] == ["lo.test", str(echo.port)] and
                       l.endswith("\t2") and "LO" not in l)
            assert "LO.Test" not in "\n".join(p.log_lines())
            # UDP: the same names dropped
            s, rep, _, addr, bport = socks_connect(p.port, "0.0.0.0", 0, cmd=3)
            assert rep == 0, rep
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 0))
            u.settimeout(1)
            udp = UdpEcho()
            for name in ("l\\o.test", "lo"):
                u.sendto(udp_header(name_bytes(name), udp.port) + b"x",
                         (socket.inet_ntoa(addr), bport))
            time.sleep(0.5)
            assert udp.got == [], udp.got
            udp.close()
            u.close()
            s.close()
    finally:
        dns.close()
        echo.close()


# --- item 7: files from shared places checked like plugins ----------------

def test_users_file_from_a_shared_directory_is_refused():
    """Attack: in a shared directory another user's symlink to /etc/shadow
    made root's socks5d load its entries as SOCKS users. Here the shadow is
    a file of ours holding "root:<field>", the symlink in a 1777 directory."""
    import tempfile
    shared = tempfile.mkdtemp(prefix="mass-shared-")
    os.chmod(shared, 0o1777)
    secret = tempfile.mkdtemp(prefix="mass-secret-")
    shadow = os.path.join(secret, "shadow")
    with open(shadow, "w") as f:
        f.write("root:hunter2\n")
    link = os.path.join(shared, "users")
    os.symlink(shadow, link)
    try:
        p = Proxy("[socks]\nusers_file = %s" % link, auth=True)
        p.start(expect_fail=True)
        if p.proc.poll() is None:
            s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", 9, user="root",
                                            password="hunter2")
            p.stop()
            raise AssertionError("socks5d started with a symlinked users file (login %s)"
                                 % ("accepted" if rep is not None else "refused"))
        err = p.stderr()
        assert re.search(r"error: %s: its directory %s is writable by others \(mode 1777\): "
                         r"refused" % (re.escape(link), re.escape(shared)), err), err
        # the same symlink in a private directory: a final symlink is refused too
        private = os.path.join(secret, "users")
        os.symlink(shadow, private)
        p = Proxy("[socks]\nusers_file = %s" % private, auth=True)
        p.start(expect_fail=True)
        os.unlink(private)
        assert p.proc.poll() is not None, "started with a symlinked users file"
        assert "%s: a symbolic link: refused" % private in p.stderr(), p.stderr()
        # a plain file in the shared directory: its directory is writable by others
        os.unlink(link)
        with open(link, "w") as f:
            f.write("alice:$6$salt$x\n")
        p = Proxy("[socks]\nusers_file = %s" % link, auth=True)
        p.start(expect_fail=True)
        assert p.proc.poll() is not None, "started with a users file in a 1777 directory"
        err = p.stderr()
        assert re.search(r"%s: its directory %s is writable by others \(mode 1777\)" %
                         (re.escape(link), re.escape(shared)), err), err
        # strict_files = off: warned, loaded
        with Proxy("[socks]\nusers_file = %s\nstrict_files = off" % link, auth=True) as p:
            assert "used anyway (strict_files = off)" in p.stderr(), p.stderr()
    finally:
        for path in (link, shadow):
            if os.path.lexists(path):
                os.unlink(path)
        os.rmdir(shared)
        os.rmdir(secret)


# --- item 3: "local" follows the host live --------------------------------

def listening_socket(family=socket.AF_INET, addr="0.0.0.0"):
    """A service bound to the wildcard address: a connect() to it succeeds."""
    l = socket.socket(family, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, 0))
    l.listen(64)
    return l


def rep_for(p, host, port):
    s, rep, _, _, _ = socks_connect(p.port, host, port)
    s.close()
    return rep


def refused_within(p, host, port, seconds=1.0):
    """Polls until CONNECT host:port is refused with REP 02; returns the
    time it took, or raises with the last REP after seconds."""
    start = time.time()
    while True:
        rep = rep_for(p, host, port)
        if rep == 2:
            return time.time() - start
        if time.time() - start > seconds:
            raise AssertionError("%s port %d: REP %r %.1f s after the address was added"
                                 % (host, port, rep, time.time() - start))
        time.sleep(0.05)


def test_addresses_gained_after_start_are_local_at_once():
    """Attack: after `ip addr add 198.51.100.9/32 dev lo` a client reached
    socks5d's own SOCKS port (chaining through itself), its MASS port and a
    service on 0.0.0.0 through 198.51.100.9, until the next SIGHUP."""
    if not os.environ.get("MASS_NETNS"):
        print("SKIP: needs a network namespace of its own (run as root)")
        return
    svc = listening_socket()
    svc6 = listening_socket(socket.AF_INET6, "::")
    sport = svc.getsockname()[1]
    sport6 = svc6.getsockname()[1]
    with acl_proxy("[socks]\nlisten = 0.0.0.0, ::\n[management]\nlisten = 0.0.0.0",
                   ["deny = dest local port %d" % sport, "deny = dest local port %d" % sport6,
                    "allow = all"]) as p:
        socks = [int(n) for n in re.findall(r"SOCKS listening on \S+ port (\d+)", p.stderr())]
        assert rep_for(p, "198.51.100.9", sport) == 3  # not there yet: no route
        subprocess.run(["ip", "addr", "add", "198.51.100.9/32", "dev", "lo"], check=True)
        subprocess.run(["ip", "-6", "addr", "add", "2001:db8::9/128", "dev", "lo"], check=True)
        try:
            took = refused_within(p, "198.51.100.9", socks[0])
            assert refused_within(p, "198.51.100.9", p.mgmt_port) < 1.0
            assert refused_within(p, "198.51.100.9", sport) < 1.0
            assert refused_within(p, "::ffff:198.51.100.9", sport) < 1.0
            assert refused_within(p, "2001:db8::9", socks[-1]) < 1.0
            assert refused_within(p, "2001:db8::9", sport6) < 1.0
            assert "built-in rule" in p.stderr()
            assert "netlink: 198.51.100.9 is local now" in p.stderr(), p.stderr()
            print("     new address covered after %.2f s" % took)
        finally:
            subprocess.run(["ip", "addr", "del", "198.51.100.9/32", "dev", "lo"], check=True)
            subprocess.run(["ip", "-6", "addr", "del", "2001:db8::9/128", "dev", "lo"],
                           check=True)
        # removed: no longer this host's, so "dest local" no longer matches (no route: 03)
        deadline = time.time() + 1.0
        while rep_for(p, "198.51.100.9", sport) != 3:
            assert time.time() < deadline, "198.51.100.9 still judged local after removal"
            time.sleep(0.05)
        assert "netlink: 198.51.100.9 is no longer local" in p.stderr(), p.stderr()
    svc.close()
    svc6.close()


# --- item 4: every listener of the process is its own ---------------------

MASSCTL = os.path.join(os.environ.get("top_builddir", "."), "src", "massctl", "massctl")
PROM_INDEXES = ["01 = users"] + ["%02X = metrics" % i for i in range(2, 10)] + \
               ["15 = prometheus"]


def prom_proxy(port, extra="", rules=("allow = all",), **kw):
    p = Proxy("[plugin prometheus]\nlisten = %s\n%s" % (port, extra), indexes=PROM_INDEXES,
              **kw)
    with open(p.ini_path, "a") as f:
        f.write("\n[acl]\n" + "".join(r + "\n" for r in rules))
    return p


def http_get(port, headers=(), host="127.0.0.1", timeout=TIMEOUT):
    """GET /metrics; returns (status, body) or raises OSError."""
    c = socket.create_connection((host, port), timeout=timeout)
    c.sendall(("GET /metrics HTTP/1.1\r\nHost: x\r\n" + "".join(h + "\r\n" for h in headers)
               + "\r\n").encode())
    data = recv_all(c, timeout)
    c.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        raise OSError("no response")
    return int(head.split(b" ")[1]), body.decode(errors="replace")


def test_plugin_listener_is_shielded_like_socks5d_own():
    """Attack: with an [acl] that allows loopback ports, a SOCKS client
    read /metrics (user names, per-user bytes) from the exporter through
    the proxy, on 127.0.0.1, 0.0.0.0, ::ffff:127.0.0.1 and by name."""
    port = free_port()
    with prom_proxy("0.0.0.0:%d" % port) as p:
        assert http_get(port)[0] == 200  # it serves
        for host in ("127.0.0.1", "0.0.0.0", "::ffff:127.0.0.1", "127.0.0.9"):
            s, rep, _, _, _ = socks_connect(p.port, host, port)
            if rep == 0:
                s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                got = recv_all(s)
                s.close()
                raise AssertionError("%s: /metrics through the proxy: %r" % (host, got[:60]))
            assert rep == 2, (host, rep)
            s.close()
        s = raw_request(p.port, name_bytes("localhost"), port, 1)
        assert read_reply(s)[0] == 2
        s.close()
        assert "a plugin's listener on 0.0.0.0 port %d joins the built-in rules" % port \
            in p.stderr(), p.stderr()
        assert "(built-in rule: socks5d's own listener)" in p.stderr()


def test_exporter_keeps_scraping_under_idle_connections():
    """Attack: the exporter served at most 16 connections for 5 s each:
    20 idle connections made every scrape fail."""
    port = free_port()
    with prom_proxy("127.0.0.1:%d" % port) as p:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                for _ in range(40)]
        for c in idle[:20]:
            c.sendall(b"GET /metr")  # a request begun, never finished
        for i in range(5):
            start = time.time()
            st, body = http_get(port, timeout=3)
            assert st == 200 and "socks5d_connections_accepted_total" in body, (i, st)
            assert time.time() - start < 2.0, "scrape %d took %.1f s" % (i, time.time() - start)
        # the idlers were closed for the scrapes, or by the 2 s head deadline
        time.sleep(2.5)
        closed = 0
        for c in idle:
            c.settimeout(0.2)
            try:
                closed += c.recv(1) == b""
            except OSError:
                closed += 1
            c.close()
        assert closed == 40, "%d of 40 idle connections still open" % closed


def hash_of(password):
    r = subprocess.run([MASSCTL, "hash", "-m", "sha512crypt"], input=password + "\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_exporter_credentials_bearer_and_basic():
    """/metrics may require a bearer token or Basic credentials, as
    Prometheus' scrape config sends them; a real Prometheus scrapes with
    Basic credentials when installed."""
    import base64
    port = free_port()
    with prom_proxy("127.0.0.1:%d" % port, "bearer_token = s3cret-token") as p:
        assert http_get(port)[0] == 401
        assert http_get(port, ["Authorization: Bearer wrong"])[0] == 401
        assert http_get(port, ["Authorization: Bearer s3cret-token2"])[0] == 401
        st, body = http_get(port, ["authorization:  Bearer s3cret-token"])
        assert st == 200 and "socks5d_build_info" in body, st
    crypt = hash_of("scrape pw")
    port = free_port()
    with prom_proxy("127.0.0.1:%d" % port,
                    "basic_user = prom\nbasic_password = %s" % crypt) as p:
        def basic(u, w):
            return ["Authorization: Basic " + base64.b64encode(("%s:%s" % (u, w)).encode())
                    .decode()]
        assert http_get(port)[0] == 401
        assert http_get(port, basic("prom", "wrong"))[0] == 401
        assert http_get(port, basic("other", "scrape pw"))[0] == 401
        assert http_get(port, basic("prom", "scrape pw"))[0] == 200
        assert http_get(port, basic("prom", "scrape pw"))[0] == 200  # remembered
        if subprocess.run(["which", "prometheus"], capture_output=True).returncode != 0:
            print("     (prometheus not installed: the real scrape skipped)")
            return
        real_prometheus_scrapes(port, "    basic_auth:\n      username: prom\n"
                                      "      password: scrape pw\n")


def real_prometheus_scrapes(port, auth_yaml):
    import json
    import shutil
    import tempfile
    import urllib.request
    prom_port = free_port()
    work = tempfile.mkdtemp(prefix="mass-prom-")
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: socks5d\n"
                + auth_yaml + "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % port)
    prom = subprocess.Popen(
        ["prometheus", "--config.file=" + os.path.join(work, "prometheus.yml"),
         "--storage.tsdb.path=" + os.path.join(work, "data"),
         "--web.listen-address=127.0.0.1:%d" % prom_port],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d/api/v1/query?query=socks5d_build_info" % prom_port
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if json.loads(r.read()).get("data", {}).get("result"):
                        return
            except OSError:
                pass
            assert time.time() < deadline, "Prometheus never stored a scrape"
            time.sleep(0.5)
    finally:
        prom.terminate()
        try:
            prom.wait(timeout=10)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait(timeout=5)
        shutil.rmtree(work, ignore_errors=True)


TESTS = [
    test_bind_by_name_judges_every_address_before_listening,
    test_bind_port_condition_is_the_requested_port,
    test_multicast_and_broadcast_denied_by_the_shipped_acl,
    test_names_are_judged_as_resolved,
    test_users_file_from_a_shared_directory_is_refused,
    test_addresses_gained_after_start_are_local_at_once,
    test_plugin_listener_is_shielded_like_socks5d_own,
    test_exporter_keeps_scraping_under_idle_connections,
    test_exporter_credentials_bearer_and_basic,
]

if __name__ == "__main__":
    sys.exit(run(TESTS))
