"""Plugin ABI 1.1 and 1.2 end to end: the bundled sessions, info and prometheus
plugins over MASS (raw and through massctl), a plugin built from the frozen
ABI 1.0 header served unchanged, the loader's diagnostics (a request cut
short answered 01 at once), /metrics through promtool and a real Prometheus
server scraping it."""

import json
import signal
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, TOP_BUILDDIR, socks_connect, run, lv, mass,
                     mass_exchange, login_bytes, massctl as ctl, wait_for, free_port,
                     recv_all, recv_exact, TIMEOUT)

ADMINS = {"admin": "pw"}
USERS = {"alice": "wonderland", "bob": "builder"}
BASE = ["01 = users"] + ["%02X = metrics" % i for i in range(2, 10)] + \
       ["0A = users", "0B = users", "0C = auth", "0D = dissectors"]
ABI = ["10 = sessions", "11 = sessions", "12 = sessions", "13 = sessions", "14 = info",
       "15 = prometheus"]


def proxy(port=None, extra_ini="", indexes=None, **kw):
    ini = "[plugin prometheus]\nlisten = 127.0.0.1:%d\n%s" % (port or free_port(), extra_ini)
    return Proxy(ini=ini, indexes=indexes or BASE + ABI, admins=ADMINS, users=USERS,
                 auth=True, **kw)


# ---- wire decoding -------------------------------------------------------------

class Reader:
    def __init__(self, data):
        self.d, self.o = data, 0

    def take(self, n):
        assert self.o + n <= len(self.d), "short reply %s" % self.d.hex()
        v = self.d[self.o:self.o + n]
        self.o += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def s(self):
        return self.take(self.u8()).decode()

    def end(self):
        assert self.o == len(self.d), "trailing octets %s" % self.d[self.o:].hex()


def sessions(p):
    r = mass(p, b"\x10")
    assert r[0] == 0, r.hex()
    rd = Reader(r[1:])
    total, n = rd.u32(), rd.u32()
    out = []
    for _ in range(n):
        out.append(dict(id=rd.u64(), state=rd.u8(), cmd=rd.u8(), user=rd.s(), client=rd.s(),
                        client_port=rd.u16(), dest=rd.s(), dest_port=rd.u16(),
                        from_client=rd.u64(), to_client=rd.u64(), age_ms=rd.u64()))
    rd.end()
    assert total == n
    return out


def user_stats(p):
    r = mass(p, b"\x13")
    assert r[0] == 0, r.hex()
    rd = Reader(r[1:])
    out = {}
    for _ in range(rd.u32()):
        name = rd.s()
        out[name] = (rd.u64(), rd.u64(), rd.u64())
    rd.end()
    return out


def tunnel(p, echo, user):
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, user, USERS[user])
    assert rep == 0
    s.sendall(b"x" * 100)
    got = b""
    while len(got) < 100:
        got += s.recv(100 - len(got))
    return s


def closed(s):
    """True once the proxy closed the tunnel (EOF or reset)."""
    s.settimeout(TIMEOUT)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


# ---- sessions ---------------------------------------------------------------

def test_sessions_list_kill_kick_and_totals():
    echo = EchoServer()
    with proxy() as p:
        a = tunnel(p, echo, "alice")
        b1, b2 = tunnel(p, echo, "bob"), tunnel(p, echo, "bob")
        live = sessions(p)
        assert [x["user"] for x in live] == ["alice", "bob", "bob"], live
        x = live[0]
        assert x["state"] == 4 and x["cmd"] == 1, x
        assert x["client"] == "127.0.0.1" and x["dest"] == "127.0.0.1", x
        assert x["dest_port"] == echo.port and x["from_client"] == 100, x
        assert x["to_client"] == 100 and x["age_ms"] < 60000, x
        # kill one by id
        assert mass(p, b"\x11" + lv(str(x["id"]))) == b"\x00"
        assert closed(a)
        assert mass(p, b"\x11" + lv(str(x["id"]))) == b"\x01"      # gone now
        assert mass(p, b"\x11" + lv("12x")) == b"\x01"             # not a number
        # kick every session of bob
        r = mass(p, b"\x12" + lv("bob"))
        assert r == b"\x00" + struct.pack(">I", 2), r.hex()
        assert closed(b1) and closed(b2)
        wait_for(lambda: sessions(p) == [], "every session closed")
        st = user_stats(p)
        assert st == {"alice": (1, 100, 100), "bob": (2, 200, 200)}, st
        assert "closed by request" in p.stderr()
        # the access log says why they ended (not "error"), the daemon log who asked
        closes = [l.split("\t") for l in p.log_lines() if l.split("\t")[2:3] == ["C"]]
        assert [(c[1], c[12]) for c in closes] == [("alice", "admin"), ("bob", "admin"),
                                                   ("bob", "admin")], closes
        err = p.stderr()
        assert "management: admin 'admin' from 127.0.0.1: index 11 '%d' status 00" % x["id"] \
            in err, err
        assert "management: admin 'admin' from 127.0.0.1: index 11 '12x' status 01" in err, err
        assert "management: admin 'admin' from 127.0.0.1: index 12 'bob' status 00" in err, err
        # massctl
        c = tunnel(p, echo, "alice")
        rc, out, err = ctl(p, "sessions")
        assert rc == 0 and "alice" in out and "127.0.0.1:%d" % echo.port in out, (rc, out, err)
        rc, out, err = ctl(p, "-j", "sessions")
        js = json.loads(out)
        assert rc == 0 and js["sessions"][0]["user"] == "alice", out
        sid = js["sessions"][0]["id"]
        rc, out, err = ctl(p, "kill", str(sid))
        assert rc == 0, (rc, out, err)
        assert closed(c)
        rc, out, err = ctl(p, "kill", str(sid))
        assert rc != 0 and "no such session" in err, (rc, out, err)
        c = tunnel(p, echo, "bob")
        rc, out, err = ctl(p, "-j", "kick", "bob")
        assert rc == 0 and json.loads(out)["closed"] == 1, (rc, out, err)
        assert closed(c)
        rc, out, err = ctl(p, "-j", "user-stats")
        js = json.loads(out)
        assert rc == 0 and js["users"]["alice"]["connections"] == 2, out
        assert js["users"]["bob"]["from_client_bytes"] == 300, out
        rc, out, err = ctl(p, "user-stats")
        assert rc == 0 and out.split("\n")[0].split()[0] == "USER", out
    echo.close()


# ---- info -------------------------------------------------------------------

def test_info_and_indexes_with_usage():
    with proxy() as p:
        r = mass(p, b"\x14")
        assert r[0] == 0, r.hex()
        rd = Reader(r[1:])
        version, start, uptime = rd.s(), rd.u64(), rd.u64()
        assert version and abs(start + uptime - time.time()) < 5, (version, start, uptime)
        served = {}
        for _ in range(rd.u8()):
            ix = rd.u8()
            # PLUGIN, PLUGIN_VERSION, USAGE, SIGNATURE, LAYOUT (ABI 1.2 row)
            served[ix] = (rd.s(), rd.s(), rd.s(), rd.s(), rd.s())
        rd.end()
        assert served[0x00][0] == "core" and served[0x00][2] == "supported indexes", served
        assert served[0x00][4] == "indexes:[index:u8]", served
        assert served[0x14][0] == "info" and served[0x14][1] == "1.2.0", served
        assert served[0x14][4].startswith("version:str,start_time:u64,uptime:u64,indexes:["), served
        assert served[0x0A][2].startswith("add") and served[0x0A][3] == "ss", served
        assert served[0x01][4] == "users:[name:str]" and served[0x02][4] == "value:u32"
        assert served[0x10][4] == "", served     # beyond the layout grammar: undescribed
        assert sorted(served) == list(range(0x0E)) + list(range(0x10, 0x16)), served


def test_massctl_info_and_indexes():
    """massctl reads the 1.2 info row (h5's massctl decodes it by its layout)."""
    with proxy() as p:
        rc, out, err = ctl(p, "info")
        assert rc == 0 and "uptime" in out, (out, err)
        assert "14  info 1.2.0" in out, out
        rc, out, err = ctl(p, "-j", "info")
        js = json.loads(out)
        assert js["indexes"]["14"]["plugin"] == "info", out
        rc, out, err = ctl(p, "indexes")
        lines = out.splitlines()
        assert rc == 0 and any(l.startswith("14 ") and "info" in l for l in lines), out
        rc, out, err = ctl(p, "-j", "indexes")
        assert rc == 0, err


def test_indexes_without_info_unchanged():
    with proxy(indexes=BASE) as p:
        rc, out, err = ctl(p, "indexes")
        assert rc == 0 and out.split() == ["%02x" % i for i in range(14)], out


# ---- the frozen 1.0 ABI and the diagnostics ----------------------------------------

def test_abi_10_plugin_loads_and_serves():
    so = os.path.join(TOP_BUILDDIR, "tests", "abi", ".libs", "abi10.so")
    ini = "[plugin abi10]\nmodule = %s" % so
    with proxy(extra_ini=ini, indexes=BASE + ["40 = abi10", "41 = abi10", "42 = abi10"]) as p:
        assert "abi10 loaded on a host of ABI 1.2" in p.stderr(), p.stderr()
        assert mass(p, b"\x40") == b"\x00\x04pong"
        r = mass(p, b"\x41")
        assert r[0] == 0 and struct.unpack(">I", r[1:])[0] >= 0, r.hex()
        assert mass(p, b"\x42" + lv("hello")) == b"\x00\x05hello"


def test_request_cut_short_answered_01_at_once():
    with proxy() as p:
        s = socket.create_connection(("127.0.0.1", p.mgmt_port), timeout=TIMEOUT)
        s.sendall(b"\x01\x01\x02" + login_bytes("admin", "pw") + b"\x0a" + lv("carol"))
        s.shutdown(socket.SHUT_WR)
        t0 = time.time()
        got = recv_all(s)
        s.close()
        assert got == b"\x01\x02\x01\x00\x01", got.hex()
        assert time.time() - t0 < 2
        wait_for(lambda: "index 0A: request cut short: 1 of 2 parameters (signature \"ss\")"
                 in p.stderr(), "the log line")


# ---- session events -------------------------------------------------------------

def events_of(p, sid):
    out = []
    for line in p.stderr().splitlines():
        m = line.split("plugin fixture_events: event ", 1)
        if len(m) == 2 and (" session %d " % sid in m[1] or m[1].endswith(" session %d" % sid)):
            out.append(m[1])
    return out


def test_session_events_in_order():
    from harness import Web, curl
    so = os.path.join(TOP_BUILDDIR, "tests", "unit", ".libs", "fixture_events.so")
    web = Web()
    ini = "[plugin fixture_events]\nmodule = %s\n[dissectors]\nhttp = %d" % (so, web.port)
    echo = EchoServer()
    with proxy(extra_ini=ini, indexes=BASE + ["40 = fixture_events"] + ABI,
               dissectors=True) as p:
        info = mass(p, b"\x14")
        want = "server info: version %s, 1 socks listener(s), first 127.0.0.1 port %d, " \
               "1 mgmt, config %s, plugins %s" % (
                   info[2:2 + info[1]].decode(), p.port, p.ini_path,
                   os.path.join(TOP_BUILDDIR, "plugins", ".libs"))
        assert want in p.stderr(), (want, p.stderr())
        s = tunnel(p, echo, "alice")
        sid = sessions(p)[0]["id"]
        s.close()
        wait_for(lambda: any(e.startswith("closed") for e in events_of(p, sid)), "CLOSED")
        ev = events_of(p, sid)
        assert [e.split()[0] for e in ev] == ["accepted", "authenticated", "request",
                                             "established", "closed"], ev
        assert ev[1].endswith("user alice ok 1"), ev
        assert ev[2].endswith("command 1 dest 127.0.0.1:%d" % echo.port), ev
        assert ev[3].startswith("established session %d bound 127.0.0.1" % sid), ev
        assert ev[4].endswith("from 100 to 100 rep 0 user alice"), ev
        # a credential a dissector captures, between ESTABLISHED and CLOSED
        rc, out, err = curl(["--socks5-hostname", "127.0.0.1:%d" % p.port,
                             "--proxy-user", "alice:wonderland", "-u", "bob:hunter2",
                             "http://127.0.0.1:%d/" % web.port])
        assert rc == 0, err
        wait_for(lambda: "credential session" in p.stderr() and
                 "HTTP bob:hunter2" in p.stderr(), "the CREDENTIAL event")
        # a refused login: AUTHENTICATED ok 0, then CLOSED without a reply code
        assert socks_login(p, "alice", "wrong") == 1
        wait_for(lambda: "user alice ok 0" in p.stderr(), "the failed AUTHENTICATED")
        wait_for(lambda: "rep 255 user -" in p.stderr(), "its CLOSED")
    echo.close()
    web.close()


# ---- authentication providers ---------------------------------------------------

def socks_login(p, user, password):
    """The RFC 1929 status octet, or None when the proxy closed without one."""
    s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
    try:
        s.sendall(b"\x05\x01\x02")
        assert recv_all_n(s, 2) == b"\x05\x02"
        s.sendall(login_bytes(user, password))
        st = recv_all_n(s, 2)
        return st[1] if len(st) == 2 else None
    finally:
        s.close()


def recv_all_n(s, n):
    got = b""
    while len(got) < n:
        c = s.recv(n - len(got))
        if not c:
            break
        got += c
    return got


def test_auth_providers_socks_and_admin():
    so = os.path.join(TOP_BUILDDIR, "tests", "unit", ".libs", "fixture_auth.so")
    ini = "[plugin fixture_auth]\nmodule = %s" % so
    with proxy(extra_ini=ini, indexes=BASE + ["40 = fixture_auth"]) as p:
        assert socks_login(p, "alice", "wonderland") == 0        # the store first
        # BUSY (could not check now): closed without a status, and no delay
        # earned (three failures in a row would make the third wait)
        for _ in range(3):
            t0 = time.time()
            assert socks_login(p, "busy", "x") is None
            assert time.time() - t0 < 0.2, time.time() - t0
        assert socks_login(p, "alice", "wrong") == 1            # the store decides alone
        assert socks_login(p, "ext", "ok") == 0                 # a provider, at once
        assert socks_login(p, "ext", "bad") == 1
        assert socks_login(p, "slow", "x") == 0                 # a provider, later
        t0 = time.time()
        assert socks_login(p, "never", "x") == 1                # its timeout
        assert 0.25 < time.time() - t0 < 3
        assert socks_login(p, "nobody", "x") == 1               # declined by all
        wait_for(lambda: "authentication of never: no answer in time" in p.stderr(),
                 "the timeout's log line")
        # a tunnel with a provider's user, the request pipelined behind the login
        echo = EchoServer()
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "slow", "x")
        assert rep == 0
        s.close()
        echo.close()
        # MASS admin logins: [admins] first, then the providers
        assert mass(p, b"\x00", admin=("ext", "ok"))[0] == 0
        assert mass(p, b"\x00", admin=("slow", "x"))[0] == 0
        got = mass_exchange(p, b"\x01\x01\x02" + login_bytes("never", "x") + b"\x00")
        assert got == b"\x01\x02\x01\x01", got.hex()
        got = mass_exchange(p, b"\x01\x01\x02" + login_bytes("busy", "x") + b"\x00")
        assert got == b"\x01\x02\x01\x02", got.hex()


# ---- the frozen 1.1 ABI, and ABI 1.2 -------------------------------------------

V12 = os.path.join(TOP_BUILDDIR, "tests", "unit", ".libs", "fixture_v12.so")
V12_INDEXES = ["%02X = %%s" % i for i in range(0x50, 0x56)]


def v12_proxy(name="fixture_v12", extra="", indexes=None):
    ini = "[plugin %s]\nmodule = %s\n[management]\ntimeout = 1\n%s" % (name, V12, extra)
    idx = indexes if indexes is not None else [l % name for l in V12_INDEXES]
    return proxy(extra_ini=ini, indexes=BASE + idx)


def mass_open(p, request):
    """A management connection that sent the login and request and read the
    login's answer; the caller reads (or abandons) the reply."""
    s = socket.create_connection(("127.0.0.1", p.mgmt_port), timeout=TIMEOUT)
    s.sendall(b"\x01\x01\x02" + login_bytes("admin", "pw") + request)
    assert recv_exact(s, 4) == b"\x01\x02\x01\x00"
    return s


def test_abi_11_plugin_loads_and_serves():
    so = os.path.join(TOP_BUILDDIR, "tests", "abi", ".libs", "abi11.so")
    ini = "[plugin abi11]\nmodule = %s" % so
    with proxy(extra_ini=ini, indexes=BASE + ["44 = abi11", "45 = abi11", "46 = abi11"]) as p:
        assert "abi11 loaded on a host of ABI 1.2" in p.stderr(), p.stderr()
        assert mass(p, b"\x44") == b"\x00\x06pong11"
        r = mass(p, b"\x45")
        assert r[0] == 0 and r[1] == len(r) - 2 and r[2:3].isdigit(), r.hex()
        assert mass(p, b"\x46") == b"\x00\x05later"


def test_abi_12_context_u64_and_password_service():
    with v12_proxy() as p:
        assert mass(p, b"\x50") == b"\x00\x04pong"
        assert mass(p, b"\x51") == b"\x00" + bytes(range(1, 9))
        r = mass(p, b"\x53" + lv("s3cret"))
        assert r[0] == 0 and r[1] == len(r) - 2 and r[2:3] == b"$", r
        crypt = r[2:]
        assert mass(p, b"\x52" + lv(crypt) + lv("s3cret")) == b"\x00\x02"
        assert mass(p, b"\x52" + lv(crypt) + lv("wrong")) == b"\x00\x01"
        assert mass(p, b"\x52" + lv("plaintext") + lv("x")) == b"\x00\x00"
        assert "descriptor names itself" not in p.stderr()


def test_abi_12_cancel_on_reset_and_timeout_not_on_fin():
    with v12_proxy() as p:
        # the admin's connection is reset while 55 is pending: cancel runs,
        # and the reply_send 300 ms later returns -1
        s = mass_open(p, b"\x55")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        wait_for(lambda: "sent 55: -1 (cancelled 1)" in p.stderr(), "sent 55: -1 (cancelled 1)")
        assert p.stderr().count("cancel 55") == 1
        # the management timeout answers 54 first (01): cancel runs once,
        # and reply_send from inside it returns -1
        assert mass(p, b"\x54") == b"\x01"
        wait_for(lambda: "cancel 54: reply_send -1" in p.stderr(), "cancel 54: reply_send -1")
        # a FIN after the request (massctl's half-close) is no cancel: the
        # reply is delivered and reply_send returns 0
        s = mass_open(p, b"\x55")
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == b"\x00\x04late"
        s.close()
        wait_for(lambda: "sent 55: 0 (cancelled 0)" in p.stderr(), "sent 55: 0 (cancelled 0)")
        assert p.stderr().count("cancel 55") == 1


def test_descriptor_name_mismatch_warned():
    with v12_proxy(name="v12") as p:
        assert "plugin v12 (%s): descriptor names itself fixture_v12" % V12 in p.stderr(), \
            p.stderr()
        assert mass(p, b"\x50") == b"\x00\x04pong"


def test_index_not_served_refuses_the_plugin():
    # at start: the plugin is dropped, every index given to it answers 02
    with v12_proxy(indexes=["50 = fixture_v12", "60 = fixture_v12"]) as p:
        assert "does not serve index 60" in p.stderr(), p.stderr()
        assert mass(p, b"\x50") == b"\x02"
    # at reload: the reload is refused, the running set keeps serving
    with v12_proxy(indexes=["50 = fixture_v12"]) as p:
        assert mass(p, b"\x50") == b"\x00\x04pong"
        ini = "[plugin prometheus]\nlisten = 127.0.0.1:%d\n[plugin fixture_v12]\n" \
              "module = %s\n[management]\ntimeout = 1\n" % (free_port(), V12)
        p.write_ini(ini, auth=True, users=USERS, admins=ADMINS,
                    indexes=BASE + ABI + ["50 = fixture_v12", "60 = fixture_v12"])
        p.signal(signal.SIGHUP)
        wait_for(lambda: "keeping the running configuration" in p.stderr(), "keeping the running configuration")
        assert "does not serve index 60" in p.stderr()
        assert mass(p, b"\x50") == b"\x00\x04pong"


# ---- prometheus -------------------------------------------------------------

def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=TIMEOUT) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("%s not in\n%s" % (name, text))


def test_prometheus_metrics_and_promtool():
    echo = EchoServer()
    port = free_port()
    with proxy(port) as p:
        s = tunnel(p, echo, "alice")
        s.close()
        wait_for(lambda: user_stats(p).get("alice", (0, 0, 0))[1] == 100, "alice's totals")
        st, ctype, text = scrape(port)
        assert st == 200 and ctype.startswith("text/plain; version=0.0.4"), (st, ctype)
        assert metric(text, "socks5d_connections_accepted_total") == 1, text
        assert metric(text, "socks5d_tunnels_established_total") == 1, text
        assert "# TYPE socks5d_relayed_bytes_total counter" in text, text
        assert 'socks5d_user_from_client_bytes_total{user="alice"} 100' in text, text
        assert 'socks5d_plugin_loaded{plugin="prometheus",version="1.2.0"} 1' in text, text
        assert "socks5d_build_info{version=" in text and "socks5d_start_time_seconds " in text
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                               capture_output=True, timeout=30)
            assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
        try:
            scrape(port, "/nothing")
            raise AssertionError("no 404")
        except urllib.error.HTTPError as e:
            assert e.code == 404
        # an oversized request is refused, the loop keeps serving
        c = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        c.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 5000)
        assert b" 431 " in recv_all(c).split(b"\r\n")[0]
        c.close()
        r = mass(p, b"\x15")
        rd = Reader(r[1:])
        assert r[0] == 0 and rd.s() == "127.0.0.1" and rd.u16() == port and rd.u64() == 1, r.hex()
        rc, out, err = ctl(p, "raw", "15")
        assert rc == 0, err
    echo.close()


def test_real_prometheus_scrapes_the_plugin():
    if shutil.which("prometheus") is None:
        print("  (prometheus not installed: skipped)")
        return
    port, prom_port = free_port(), free_port()
    work = tempfile.mkdtemp(prefix="mass-prom-")
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: socks5d\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % port)
    echo = EchoServer()
    prom = None
    try:
        with proxy(port) as p:
            for _ in range(3):
                tunnel(p, echo, "bob").close()
            prom = subprocess.Popen(
                ["prometheus", "--config.file=" + os.path.join(work, "prometheus.yml"),
                 "--storage.tsdb.path=" + os.path.join(work, "data"),
                 "--web.listen-address=127.0.0.1:%d" % prom_port],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = ("http://127.0.0.1:%d/api/v1/query?query=socks5d_connections_accepted_total"
                   % prom_port)

            def answered():
                try:
                    with urllib.request.urlopen(url, timeout=2) as r:
                        js = json.loads(r.read())
                except OSError:
                    return False
                res = js.get("data", {}).get("result", [])
                return bool(res) and res[0]["value"][1] == "3"
            wait_for(answered, "Prometheus to answer with the scraped counter", timeout=60)
    finally:
        if prom is not None:
            prom.terminate()
            try:
                prom.wait(timeout=10)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait(timeout=5)
        shutil.rmtree(work, ignore_errors=True)
        echo.close()


if __name__ == "__main__":
    sys.exit(run([test_sessions_list_kill_kick_and_totals, test_info_and_indexes_with_usage,
                  test_massctl_info_and_indexes,
                  test_indexes_without_info_unchanged, test_abi_10_plugin_loads_and_serves,
                  test_abi_11_plugin_loads_and_serves,
                  test_abi_12_context_u64_and_password_service,
                  test_abi_12_cancel_on_reset_and_timeout_not_on_fin,
                  test_descriptor_name_mismatch_warned, test_index_not_served_refuses_the_plugin,
                  test_request_cut_short_answered_01_at_once,
                  test_session_events_in_order, test_auth_providers_socks_and_admin,
                  test_prometheus_metrics_and_promtool, test_real_prometheus_scrapes_the_plugin]))
