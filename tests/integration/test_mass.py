"""MASS end to end: a running socks5d answered by a raw MASS client (byte-exact
against the examples of mass-protocol(7)) and by massctl (stdout, -j, exit
status); counters checked against traffic driven through the proxy; runtime
switches, the users store, SIGHUP reloads and plugins that fail to load."""

import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, Web, curl, recv_exact, recv_all, socks_connect, run,
                     MASSCTL, login_bytes, lv, mass, mass_exchange as exchange, massctl as ctl,
                     wait_for, MASS_ADMIN as ADMIN, TIMEOUT)

ALL = bytes(range(0x0E))


# ---- a raw MASS client ------------------------------------------------------

def mgmt_conn(p):
    return socket.create_connection(("127.0.0.1", p.mgmt_port), timeout=TIMEOUT)


def read_to_eof(s, timeout=TIMEOUT):
    """Everything until the server's FIN; an RST instead is a failure."""
    return recv_all(s, timeout)


def counter(p, index):
    r = mass(p, bytes([index]))
    assert len(r) == 5 and r[0] == 0, r.hex()
    return struct.unpack(">I", r[1:])[0]


def counters(p):
    return {i: counter(p, i) for i in range(2, 10)}


def admin_proxy(**kw):
    kw.setdefault("admins", {"admin": "pw"})
    return Proxy(**kw)


# ---- massctl ----------------------------------------------------------------

def ctl_json(p, *args):
    rc, out, err = ctl(p, "-j", *args)
    return rc, (json.loads(out) if out.strip() else None), err


# ---- indexes and status codes -----------------------------------------------

def test_index_00_lists_00_to_0d():
    with admin_proxy() as p:
        assert mass(p, b"\x00") == b"\x00\x0e" + ALL
        rc, out, err = ctl(p, "indexes")
        assert rc == 0 and out.split() == ["%02x" % i for i in range(14)], (rc, out, err)
        rc, js, err = ctl_json(p, "indexes")
        assert rc == 0 and js == {"indexes": ["%02x" % i for i in range(14)]}, (rc, js, err)


def test_unknown_index_answers_02():
    with admin_proxy() as p:
        for idx in (0x7F, 0x0E, 0xFE, 0xFF):
            assert mass(p, bytes([idx])) == b"\x02", idx
        rc, out, err = ctl(p, "raw", "7f")
        assert rc == 2 and out.splitlines()[0] == "status 02", (rc, out, err)
        rc, js, err = ctl_json(p, "raw", "0x7F")
        assert rc == 2 and js == {"index": "7f", "status": "02", "data": ""}, (rc, js, err)


def test_index_01_lists_users():
    with admin_proxy(users={"alice": "wonderland", "bob": "builder"}) as p:
        assert mass(p, b"\x01") == bytes.fromhex("0002 05 616c696365 03 626f62")
        rc, out, err = ctl(p, "users")
        assert rc == 0 and out == "alice\nbob\n", (rc, out, err)
        rc, js, err = ctl_json(p, "users")
        assert rc == 0 and js == {"users": ["alice", "bob"]}, (rc, js, err)
    with admin_proxy() as p:
        assert mass(p, b"\x01") == b"\x00\x00"
        rc, out, err = ctl(p, "users")
        assert rc == 0 and out == "", (rc, out, err)


def test_0a_0b_add_and_delete_status_codes():
    with admin_proxy(users={"alice": "wonderland"}) as p:
        add_bob = bytes.fromhex("0A 03 626f62 06 736563726574")
        assert mass(p, add_bob) == b"\x00"
        assert mass(p, add_bob) == b"\x01"            # bob exists
        assert mass(p, b"\x01") == bytes.fromhex("0002 05 616c696365 03 626f62")
        assert mass(p, bytes.fromhex("0B 03 626f62")) == b"\x00"
        assert mass(p, bytes.fromhex("0B 03 626f62")) == b"\x01"   # no bob
        # names and passwords: 1..255 printable, no ':' in a name
        for name, pw in ((b"", b"pw"), (b"a:b", b"pw"), (b"a\x01b", b"pw"),
                         (b"tab\t", b"pw"), (b"\x7f", b"pw"), (b"carol", b""),
                         (b"carol", b"p\x00w")):
            assert mass(p, b"\x0a" + lv(name) + lv(pw)) == b"\x01", (name, pw)
        assert mass(p, b"\x0b" + lv(b"")) == b"\x01"
        assert mass(p, b"\x01") == bytes.fromhex("0001 05 616c696365")
        # massctl: 0, 1 for an existing or missing user, 64 for a bad name
        rc, out, err = ctl(p, "add-user", "bob", "hunter 2")
        assert rc == 0 and out == "", (rc, out, err)
        rc, out, err = ctl(p, "add-user", "bob", "x")
        assert rc == 1 and out == "" and "01" in err, (rc, out, err)
        rc, js, err = ctl_json(p, "del-user", "bob")
        assert rc == 0 and js == {"status": "00"}, (rc, js, err)
        rc, out, err = ctl(p, "del-user", "bob")
        assert rc == 1 and out == "", (rc, out, err)
        rc, out, err = ctl(p, "add-user", "a:b", "x")
        assert rc == 64, (rc, out, err)


def test_0a_at_max_users_answers_03():
    with admin_proxy(users={"alice": "a", "bob": "b"}, ini="[socks]\nmax_users = 2") as p:
        assert mass(p, b"\x0a" + lv("carol") + lv("c")) == b"\x03"
        assert mass(p, b"\x0a" + lv("alice") + lv("c")) in (b"\x01", b"\x03")
        rc, out, err = ctl(p, "add-user", "carol", "c")
        assert rc == 3 and out == "", (rc, out, err)
        assert mass(p, b"\x0b" + lv("bob")) == b"\x00"
        assert mass(p, b"\x0a" + lv("carol") + lv("c")) == b"\x00"
        assert mass(p, b"\x01") == b"\x00\x02" + lv("alice") + lv("carol")


def test_massctl_login_failures_exit_77():
    with admin_proxy() as p:
        rc, out, err = ctl(p, "indexes", login="admin:wrong")
        assert rc == 77 and out == "", (rc, out, err)
        rc, out, err = ctl(p, "indexes", login=None)
        assert rc == 77 and out == "", (rc, out, err)


# ---- greeting and login -----------------------------------------------------

def test_greeting_decisions_auth_on():
    with admin_proxy() as p:
        assert exchange(p, b"\x05\x01\x02") == b""           # VER != 01: no reply
        assert exchange(p, b"\x01\x00") == b"\x01\xff"       # NMETHODS 0
        assert exchange(p, b"\x01\x01\x00") == b"\x01\xff"   # 02 not offered
        assert exchange(p, b"\x01\x02\x00\x02" + login_bytes(*ADMIN) + b"\x00") \
            == b"\x01\x02\x01\x00\x00\x0e" + ALL
        # bad password: 01 01 and close, the request is not answered
        assert exchange(p, b"\x01\x01\x02" + login_bytes("admin", "nope") + b"\x00") \
            == b"\x01\x02\x01\x01"
        assert exchange(p, b"\x01\x01\x02" + login_bytes("root", "pw") + b"\x00") \
            == b"\x01\x02\x01\x01"
        # sub-negotiation VER != 01: close without its reply
        assert exchange(p, b"\x01\x01\x02\x05\x05admin\x02pw\x00") == b"\x01\x02"


def test_greeting_decisions_auth_off():
    with admin_proxy(ini="[management]\nauth = off") as p:
        assert exchange(p, b"\x01\x01\x00\x00") == b"\x01\x00\x00\x0e" + ALL
        assert exchange(p, b"\x01\x02\x02\x00\x00") == b"\x01\x00\x00\x0e" + ALL
        # only 02 offered: 02 chosen and the credentials still checked
        assert exchange(p, b"\x01\x01\x02" + login_bytes(*ADMIN) + b"\x00") \
            == b"\x01\x02\x01\x00\x00\x0e" + ALL
        assert exchange(p, b"\x01\x01\x02" + login_bytes("admin", "bad") + b"\x00") \
            == b"\x01\x02\x01\x01"
        s = mgmt_conn(p)                                       # then waits for a login
        s.sendall(b"\x01\x01\x05")
        assert recv_exact(s, 2) == b"\x01\x02"
        s.close()
        rc, out, err = ctl(p, "indexes", login=None)
        assert rc == 0 and len(out.split()) == 14, (rc, out, err)


def test_bytes_after_the_request_do_not_destroy_the_reply():
    """Octets beyond the request must not turn the close into a reset."""
    with admin_proxy() as p:
        for extra in (b"\x00", b"\x00" * 5000, b"\x07" * 30000):
            s = mgmt_conn(p)
            try:
                s.sendall(b"\x01\x01\x02" + login_bytes(*ADMIN))
                assert recv_exact(s, 4) == b"\x01\x02\x01\x00"
                s.sendall(b"\x00" + extra)
                got = read_to_eof(s)     # ECONNRESET here is the bug
            finally:
                s.close()
            assert got == b"\x00\x0e" + ALL, got.hex()


def test_stalled_request_dropped_without_reply():
    with admin_proxy(ini="[management]\ntimeout = 1") as p:
        login = b"\x01\x01\x02" + login_bytes(*ADMIN)
        for partial, want in ((b"\x01", b""), (b"\x01\x02\x02", b""),
                              (b"\x01\x01\x02\x01\x05adm", b"\x01\x02"),
                              (login, b"\x01\x02\x01\x00"),
                              (login + b"\x0a\x03bo", b"\x01\x02\x01\x00"),
                              (login + b"\x0a\x03bob\x06sec", b"\x01\x02\x01\x00")):
            s = mgmt_conn(p)
            s.sendall(partial)
            got = read_to_eof(s)
            s.close()
            assert got == want, (partial, got)


def test_max_connections_cap():
    """Connections not logged in give way to new ones (the oldest is dropped);
    logged-in ones never do: with every slot logged in, a new one is refused."""
    with admin_proxy(ini="[management]\nmax_connections = 2") as p:
        held = []
        for _ in range(2):
            s = mgmt_conn(p)
            s.sendall(b"\x01\x01\x02" + login_bytes(*ADMIN))
            assert recv_exact(s, 4) == b"\x01\x02\x01\x00"  # logged in, request pending
            held.append(s)
        s = mgmt_conn(p)
        try:
            s.sendall(b"\x01\x01\x02")
        except OSError:
            pass
        try:
            assert recv_all(s) == b""
        except ConnectionResetError:
            pass
        s.close()
        assert "refusing another" in p.stderr()
        for s in held:
            s.close()

        def served():
            try:
                return exchange(p, b"\x01\x01\x02" + login_bytes(*ADMIN) + b"\x00") \
                    == b"\x01\x02\x01\x00\x00\x0e" + ALL
            except OSError:
                return False
        wait_for(served, "a free management slot")


# ---- counters against real traffic ------------------------------------------

def relay(sock, data):
    sock.sendall(data)
    assert recv_exact(sock, len(data)) == data


def test_counters_follow_traffic():
    echo = EchoServer()
    with admin_proxy() as p:
        assert counters(p) == {i: 0 for i in range(2, 10)}
        # one byte each way: every relay read and write moves exactly 1 octet
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        assert rep == 0
        relay(s, b"x")
        c = counters(p)
        assert c[2] == 1 and c[3] == 1 and c[4] == 1 and c[7] == 1, c
        assert c[5] == 2 and c[8] == 1 and c[9] == 1 and c[6] == 0, c
        # three tunnels held open; 300 octets each way on each
        held = [s]
        for _ in range(2):
            t, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
            assert rep == 0
            held.append(t)
        for t in held:
            relay(t, bytes(range(100)) * 3)
        c = counters(p)
        assert c[2] == 3 and c[3] == 3 and c[4] == 3 and c[7] == 3, c
        assert c[5] == 2 + 3 * 600, c
        # a refused CONNECT: an attempt, not a tunnel
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        f, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", port)
        assert rep == 5
        f.close()
        for t in held:
            t.close()
        wait_for(lambda: counter(p, 3) == 0, "tunnels to close")
        c = counters(p)
        # 03 counts client connections in any state: the refused one made 4
        assert c[2] == 3 and c[4] == 4 and c[7] == 4 and c[6] == 0, c
        assert c[5] == 1802, c
        # averages are per read (write) call that moved bytes: within 1..05
        assert 1 <= c[8] <= c[5] and 1 <= c[9] <= c[5], c
        # the raw u32 (big-endian) and massctl agree
        raw = mass(p, b"\x05")
        assert raw == b"\x00" + struct.pack(">I", 1802) == bytes.fromhex("00 0000070a"), raw.hex()
        rc, out, err = ctl(p, "stats")
        names = ["historic_connections", "concurrent_connections",
                 "max_concurrent_connections", "bytes_transferred", "auth_attempts",
                 "connection_attempts", "avg_bytes_per_read", "avg_bytes_per_write"]
        assert rc == 0 and out.splitlines() == ["%s %d" % (n, c[i + 2]) for i, n in
                                                enumerate(names)], (rc, out, err)
        rc, js, err = ctl_json(p, "stats")
        assert rc == 0 and js == {n: c[i + 2] for i, n in enumerate(names)}, (rc, js, err)
    echo.close()


def test_auth_attempts_counted():
    echo = EchoServer()
    with admin_proxy(auth=True, users={"alice": "wonderland"}) as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "alice", "wonderland")
        assert rep == 0
        s.close()
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "alice", "wrong")
        assert rep is None
        s.close()
        c = counters(p)
        assert c[6] == 2 and c[7] == 2 and c[2] == 1, c
    echo.close()


# ---- runtime switches -------------------------------------------------------

def socks_greeting(p, methods):
    s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
    s.sendall(b"\x05" + bytes([len(methods)]) + bytes(methods))
    got = recv_exact(s, 2)
    s.close()
    return got


def test_0c_sets_socks_auth():
    with admin_proxy(auth=True, users={"alice": "wonderland"}) as p:
        assert socks_greeting(p, [0]) == b"\x05\xff"
        assert mass(p, b"\x0c\x01") == b"\x00"
        assert socks_greeting(p, [0]) == b"\x05\x00"
        assert mass(p, b"\x0c\x7f") == b"\x00"            # any non-00 is off
        assert socks_greeting(p, [0]) == b"\x05\x00"
        assert mass(p, b"\x0c\x00") == b"\x00"
        assert socks_greeting(p, [0]) == b"\x05\xff"
        assert mass(p, b"\x0c\x00") == b"\x00"            # set, not toggle
        assert socks_greeting(p, [0, 2]) == b"\x05\x02"
        rc, out, err = ctl(p, "auth", "off")
        assert rc == 0 and out == "", (rc, out, err)
        rc, out, err = ctl(p, "auth", "off")
        assert rc == 0 and socks_greeting(p, [0]) == b"\x05\x00"
        rc, js, err = ctl_json(p, "auth", "on")
        assert rc == 0 and js == {"status": "00"}, (rc, js, err)
        assert socks_greeting(p, [0]) == b"\x05\xff"


def curl_basic(p, web, cred):
    rc, out, err = curl(["--socks5", "127.0.0.1:%d" % p.port, "-u", cred,
                         "http://127.0.0.1:%d/" % web.port])
    assert rc == 0 and out == b"ok\n", (rc, out, err)


def p_lines(p, user):
    return [l for l in p.log_lines() if "\tP\t" in l and ("\t%s\t" % user) in l]


def test_0d_sets_password_dissectors():
    web = Web(body=b"ok\n")
    with admin_proxy(dissectors=True, ini="[dissectors]\nhttp = %d" % web.port) as p:
        curl_basic(p, web, "first:one")
        p.wait_log(lambda l: "\tP\t" in l and "\tfirst\t" in l)
        assert mass(p, b"\x0d\x01") == b"\x00"
        curl_basic(p, web, "second:two")
        assert mass(p, b"\x0d\x00") == b"\x00"
        assert mass(p, b"\x0d\x00") == b"\x00"            # set, not toggle
        curl_basic(p, web, "third:three")
        p.wait_log(lambda l: "\tP\t" in l and "\tthird\t" in l)
        assert p_lines(p, "second") == [], p.log_lines()
        rc, out, err = ctl(p, "dissectors", "off")
        assert rc == 0 and out == "", (rc, out, err)
        curl_basic(p, web, "fourth:four")
        rc, out, err = ctl(p, "dissectors", "on")
        assert rc == 0
        curl_basic(p, web, "fifth:five")
        p.wait_log(lambda l: "\tP\t" in l and "\tfifth\t" in l)
        assert p_lines(p, "fourth") == [], p.log_lines()
    web.close()


# ---- the users store --------------------------------------------------------

def socks_login(p, user, password):
    s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
    try:
        s.sendall(b"\x05\x01\x02")
        assert recv_exact(s, 2) == b"\x05\x02"
        s.sendall(login_bytes(user, password))
        return recv_exact(s, 2) == b"\x01\x00"
    finally:
        s.close()


def test_users_added_and_deleted_take_effect_at_once():
    with admin_proxy(auth=True, users={"alice": "wonderland"}) as p:
        assert not socks_login(p, "bob", "secret")
        assert mass(p, b"\x0a" + lv("bob") + lv("secret")) == b"\x00"
        assert socks_login(p, "bob", "secret")
        assert not socks_login(p, "bob", "other")
        assert mass(p, b"\x0b" + lv("bob")) == b"\x00"
        assert not socks_login(p, "bob", "secret")
        assert socks_login(p, "alice", "wonderland")


def test_users_file_persists_across_restart():
    tmp = __import__("tempfile").mkdtemp(prefix="mass-users-")
    path = os.path.join(tmp, "users")
    ini = "[socks]\nusers_file = %s" % path
    p = admin_proxy(auth=True, users={"alice": "wonderland"}, ini=ini)
    with p:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert mass(p, b"\x0a" + lv("carol") + lv("c pass")) == b"\x00"
        assert mass(p, b"\x0a" + lv("dave") + lv("d")) == b"\x00"
        assert mass(p, b"\x0b" + lv("dave")) == b"\x00"
        # the users file has no comment syntax: any printable first octet
        assert mass(p, b"\x0a" + lv("#x") + lv("hash")) == b"\x00"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # the same ini, now with another [users] entry that must be ignored
    p.write_ini(ini, auth=True, users={"alice": "wonderland", "erin": "e"},
                admins={"admin": "pw"})
    q = admin_proxy()
    q.ini_path = p.ini_path
    with q:
        assert "is ignored" in q.stderr(), q.stderr()
        assert mass(q, b"\x01") == b"\x00\x03" + lv("alice") + lv("carol") + lv("#x")
        assert socks_login(q, "carol", "c pass")
        assert socks_login(q, "#x", "hash")
        assert not socks_login(q, "erin", "e")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    shutil.rmtree(tmp)


def test_unwritable_users_file_answers_01():
    tmp = __import__("tempfile").mkdtemp(prefix="mass-users-")
    sub = os.path.join(tmp, "store")
    os.mkdir(sub)
    path = os.path.join(sub, "users")
    with admin_proxy(auth=True, users={"alice": "wonderland"},
                     ini="[socks]\nusers_file = %s" % path) as p:
        assert os.path.exists(path)
        # root writes through permissions: take the directory away instead
        shutil.rmtree(sub)
        assert mass(p, b"\x0a" + lv("bob") + lv("secret")) == b"\x01"
        assert mass(p, b"\x01") == b"\x00\x01" + lv("alice")
        assert not socks_login(p, "bob", "secret")
        assert mass(p, b"\x0b" + lv("alice")) == b"\x01"
        assert socks_login(p, "alice", "wonderland")
        rc, out, err = ctl(p, "add-user", "bob", "secret")
        assert rc == 1, (rc, out, err)
    shutil.rmtree(tmp)


def test_reload_restores_switches_and_users_from_the_file():
    with admin_proxy(auth=True, users={"alice": "wonderland"}) as p:
        assert mass(p, b"\x0c\x01") == b"\x00"
        assert mass(p, b"\x0a" + lv("bob") + lv("b")) == b"\x00"
        assert socks_greeting(p, [0]) == b"\x05\x00"
        before = p.stderr().count("reloaded")
        p.write_ini(auth=True, users={"alice": "wonderland", "carol": "c"},
                    admins={"admin": "pw"})
        p.signal(signal.SIGHUP)
        wait_for(lambda: p.stderr().count("reloaded") > before, "the reload")
        # without a users_file, [users] is the set again; 0C returns to the file's
        assert socks_greeting(p, [0]) == b"\x05\xff"
        assert mass(p, b"\x01") == b"\x00\x02" + lv("alice") + lv("carol")
        assert socks_login(p, "carol", "c") and not socks_login(p, "bob", "b")


def test_massctl_unreachable_server_exits_69():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    r = subprocess.run([MASSCTL, "-P", str(port), "-u", "admin:pw", "indexes"],
                       capture_output=True, timeout=30)
    assert r.returncode == 69 and r.stdout == b"" and r.stderr, r


# ---- reload and plugins -----------------------------------------------------

def test_massctl_decodes_by_the_layouts_info_reports():
    """The real info plugin: its rows carry each index's layout, and massctl
    raw -j names the fields of a reply by it (what a third-party plugin gets)."""
    idx = indexes_without() + ["0F = metrics", "14 = info"]
    with admin_proxy(indexes=idx, users={"alice": "pw"}) as p:
        rc, js, err = ctl_json(p, "indexes")
        assert rc == 0 and js["usage"]["0f"]["layout"] == "counters:[value:u64]", (rc, js, err)
        assert js["usage"]["0a"]["signature"] == "ss" and js["usage"]["14"]["plugin"] == "info", js
        rc, js, err = ctl_json(p, "raw", "0f")
        assert rc == 0 and len(js["fields"]["counters"]) == 8, (rc, js, err)
        assert all(set(c) == {"value"} for c in js["fields"]["counters"]), js
        rc, js, err = ctl_json(p, "raw", "01")
        assert rc == 0 and js["fields"] == {"users": [{"name": "alice"}]}, (rc, js, err)
        rc, out, err = ctl(p, "raw", "01")
        assert rc == 0 and out.endswith("users[0].name alice\n"), (rc, out, err)
        rc, out, err = ctl(p, "-V", "stats")
        assert rc == 0 and "historic_connections" in out, (rc, out, err)


def indexes_without(*drop):
    idx = ["01 = users"] + ["%02X = metrics" % i for i in range(2, 10)] + \
          ["0A = users", "0B = users", "0C = auth", "0D = dissectors"]
    return [l for l in idx if int(l.split()[0], 16) not in drop]


def reload(p, indexes, marker):
    """Rewrites [indexes], HUPs and waits for the given log line to appear once more."""
    before = p.stderr().count(marker)
    p.write_ini(admins={"admin": "pw"}, indexes=indexes)
    p.signal(signal.SIGHUP)
    wait_for(lambda: p.stderr().count(marker) > before, "'%s' after SIGHUP" % marker)


def test_sighup_enables_and_disables_indexes():
    with admin_proxy() as p:
        reload(p, indexes_without(0x0D, 0x05), "reloaded")
        assert mass(p, b"\x00") == b"\x00\x0c" + bytes(i for i in range(14) if i not in (5, 13))
        assert mass(p, b"\x0d\x00") == b"\x02"
        assert mass(p, b"\x05") == b"\x02"
        rc, out, err = ctl(p, "dissectors", "on")
        assert rc == 2, (rc, out, err)
        rc, out, err = ctl(p, "stats")
        assert rc == 2 and "bytes_transferred" not in out and len(out.splitlines()) == 7, \
            (rc, out, err)
        rc, js, err = ctl_json(p, "stats")
        assert rc == 2 and js["bytes_transferred"] is None, (rc, js, err)
        reload(p, indexes_without(), "reloaded")
        assert mass(p, b"\x00") == b"\x00\x0e" + ALL
        assert mass(p, b"\x0d\x00") == b"\x00"
        # broken lines: a missing plugin, an index its plugin does not serve
        for broken in (["0E = nosuch"], ["0E = metrics"]):
            reload(p, indexes_without(0x0D) + broken, "keeping the running configuration")
            assert mass(p, b"\x00") == b"\x00\x0e" + ALL
            assert mass(p, b"\x0d\x00") == b"\x00"
        assert "nosuch" in p.stderr()


def test_missing_module_at_start_is_reported_and_skipped():
    with admin_proxy(indexes=indexes_without(0x0C) + ["0C = ghost"]) as p:
        err = p.stderr()
        line = [l for l in err.splitlines() if "ghost.so" in l]
        assert line and "ghost" in line[0], err
        assert any("0C" in l and "ghost" in l for l in err.splitlines()), err
        assert mass(p, b"\x00") == b"\x00\x0d" + bytes(i for i in range(14) if i != 12)
        assert mass(p, b"\x0c\x00") == b"\x02"
        rc, out, err = ctl(p, "auth", "off")
        assert rc == 2 and out == "", (rc, out, err)
        # the rest is served
        assert mass(p, b"\x0d\x01") == b"\x00"


if __name__ == "__main__":
    sys.exit(run([
        test_index_00_lists_00_to_0d,
        test_unknown_index_answers_02,
        test_index_01_lists_users,
        test_0a_0b_add_and_delete_status_codes,
        test_0a_at_max_users_answers_03,
        test_massctl_login_failures_exit_77,
        test_greeting_decisions_auth_on,
        test_greeting_decisions_auth_off,
        test_bytes_after_the_request_do_not_destroy_the_reply,
        test_stalled_request_dropped_without_reply,
        test_max_connections_cap,
        test_counters_follow_traffic,
        test_auth_attempts_counted,
        test_0c_sets_socks_auth,
        test_0d_sets_password_dissectors,
        test_users_added_and_deleted_take_effect_at_once,
        test_users_file_persists_across_restart,
        test_unwritable_users_file_answers_01,
        test_sighup_enables_and_disables_indexes,
        test_reload_restores_switches_and_users_from_the_file,
        test_massctl_unreachable_server_exits_69,
        test_missing_module_at_start_is_reported_and_skipped,
        test_massctl_decodes_by_the_layouts_info_reports,
    ]))
