#!/usr/bin/env python3
"""SIGHUP as one transaction: the reload matrix.

Every configuration from the smallest valid mass.ini (only the ports: no
listen in [socks] or [management]) through each key absent or at its edge
(port 0, empty lists, empty [indexes], empty [admins], ...) to the shipped
etc/mass.ini adapted to test ports is started and reloaded RELOADS times,
with a tunnel open across the reloads carrying data each time. After each
reload the daemon must still run, the tunnel still relay, and a setting
changed by that reload be in force where it shows: a user added to [users]
logs in (when there is no users_file). Then single tests: an [indexes] line
removed answers 02, a broken file keeps the old configuration, a listen
change is logged as needing a restart.

The harness fails a test on any sanitizer report, so an ASan build runs the
matrix under ASan."""

import os
import re
import signal
import socket
import struct
import tempfile
import time

from harness import (TOP_BUILDDIR, TOP_SRCDIR, EchoServer, Proxy, login_bytes, mass,
                     recv_exact, run, socks_connect, wait_for)

RELOADS = 3
PLUGIN_DIR = os.path.join(TOP_BUILDDIR, "plugins", ".libs")
TESTER = ("tester", "secret")          # from -u: survives every reload
ADMIN = "admin = pw"
ALL_INDEXES = ["01 = users"] + ["%02X = metrics" % i for i in range(2, 10)] + \
    ["0A = users", "0B = users", "0C = auth", "0D = dissectors"]


class RawProxy(Proxy):
    """A socks5d on a mass.ini written verbatim (the harness's defaults left out)."""

    def __init__(self, text, args=()):
        self.text = text
        super().__init__(args=list(args) + ["-u", "%s:%s" % TESTER])

    def write_ini(self, *a, **kw):
        self.write(self.text)

    def write(self, text):
        tmp = self.ini_path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.ini_path)

    def reload(self, text, expect="reloaded"):
        """Writes text, sends SIGHUP, waits for the outcome line; checks the daemon lives."""
        before = self.stderr().count(expect)
        self.write(text)
        self.signal(signal.SIGHUP)
        wait_for(lambda: self.stderr().count(expect) > before or self.proc.poll() is not None,
                 "'%s' after SIGHUP" % expect)
        assert self.proc.poll() is None, "socks5d died on reload:\n" + self.stderr()
        assert self.stderr().count(expect) > before, self.stderr()


def ini(*sections):
    """mass.ini text from (name, [lines]) pairs."""
    out = []
    for name, lines in sections:
        out.append("[%s]" % name)
        out.extend(lines)
        out.append("")
    return "\n".join(out)


def shipped():
    """etc/mass.ini with test ports, the build's plugins, one admin and loopback allowed."""
    with open(os.path.join(TOP_SRCDIR, "etc", "mass.ini")) as f:
        text = f.read()
    text = re.sub(r"(?m)^port = \d+", "port = 0", text)
    text = re.sub(r"(?m)^dir =.*$", "dir = %s" % PLUGIN_DIR, text)
    text = re.sub(r"(?m)^\[admins\].*$", "[admins]\n" + ADMIN, text)
    # the shipped [acl] denies this host: the tunnels here go to loopback
    text = re.sub(r"(?m)^\[acl\].*$", lambda m: m.group(0) + "\nallow = dest 127.0.0.1", text)
    return text


def users_file_config():
    path = os.path.join(tempfile.mkdtemp(prefix="mass-reload-"), "users")
    return ini(("socks", ["port = 0", "users_file = %s" % path]),
               ("management", ["port = 0"]), ("users", ["alice = wonderland"]))


# name -> (mass.ini text, whether [users] is reloaded into the store)
MATRIX = [
    ("only ports", lambda: ini(("socks", ["port = 0"]), ("management", ["port = 0"])), True),
    ("empty sections", lambda: ini(("socks", ["port = 0"]), ("dissectors", []), ("acl", []),
                                   ("users", []), ("management", ["port = 0"]), ("admins", []),
                                   ("plugins", []), ("indexes", [])), True),
    ("edges", lambda: ini(("socks", ["listen = 127.0.0.1", "port = 0", "auth = off",
                                     "dissectors = off", "max_users = 255", "max_clients = 0",
                                     "commands = connect", "access_log = -"]),
                          ("dissectors", ["pop3 = 110", "http = 80"]),
                          ("management", ["listen = 127.0.0.1", "port = 0", "auth = off",
                                          "max_connections = 1"])), True),
    ("acl and dissector ports", lambda: ini(
        ("socks", ["port = 0", "dissectors = on"]),
        ("dissectors", ["pop3 = 1", "http = 2, 3", "ftp = 4", "imap = 5"]),
        ("acl", ["deny = dest 192.0.2.0/24", "allow = all"]),
        ("management", ["port = 0"])), True),
    ("plugins, no admins", lambda: ini(("socks", ["port = 0"]), ("management", ["port = 0"]),
                                       ("plugins", ["dir = %s" % PLUGIN_DIR]),
                                       ("indexes", ALL_INDEXES)), True),
    ("plugins and admins", lambda: ini(("socks", ["port = 0"]), ("management", ["port = 0"]),
                                       ("admins", [ADMIN]),
                                       ("plugins", ["dir = %s" % PLUGIN_DIR]),
                                       ("indexes", ALL_INDEXES),
                                       ("plugin users", ["note = kept"])), True),
    ("users_file", users_file_config, False),
    ("shipped mass.ini", shipped, True),
]


def with_user(text, n):
    """text with user n added to [users] (a [users] section appended when absent)."""
    line = "reload%d = pass%d" % (n, n)
    if re.search(r"(?m)^\[users\]", text):
        return re.sub(r"(?m)^\[users\].*$", lambda m: m.group(0) + "\n" + line, text, count=1)
    return text + "\n[users]\n" + line + "\n"


def login(p, user, password):
    """True when user/password gets through RFC 1929 on p (auth on)."""
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    try:
        s.sendall(b"\x05\x01\x02")
        if recv_exact(s, 2) != b"\x05\x02":
            return False
        s.sendall(login_bytes(user, password))
        return recv_exact(s, 2) == b"\x01\x00"
    finally:
        s.close()


def auth_on(text):
    return not re.search(r"(?m)^auth = off", text.split("[management]")[0])


def open_tunnel(p, echo, text):
    user = TESTER if auth_on(text) else (None, None)
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, user=user[0],
                                    password=user[1])
    assert rep == 0, "CONNECT answered %r:\n%s" % (rep, p.stderr())
    return s


def relays(s, n):
    msg = b"across reload %d " % n * 64
    s.sendall(msg)
    assert recv_exact(s, len(msg)) == msg


def run_cell(name, make, users_reloaded):
    text = make()
    echo = EchoServer()
    p = RawProxy(text).start()
    try:
        tunnel = open_tunnel(p, echo, text)
        relays(tunnel, 0)
        for n in range(1, RELOADS + 1):
            new = with_user(text, n)
            p.reload(new)
            relays(tunnel, n)
            # a new connection works too, under the new snapshot
            fresh = open_tunnel(p, echo, new)
            relays(fresh, n)
            fresh.close()
            if users_reloaded and auth_on(new):
                assert login(p, "reload%d" % n, "pass%d" % n), \
                    "%s: user added by reload %d cannot log in:\n%s" % (name, n, p.stderr())
        tunnel.close()
        assert p.stop() == 0
    finally:
        p.stop()
        echo.close()


def test_reload_matrix():
    cells = 0
    for name, make, users_reloaded in MATRIX:
        run_cell(name, make, users_reloaded)
        cells += 1
    print("reload matrix: %d configs x %d reloads = %d reloads, each with an open tunnel"
          % (cells, RELOADS, cells * RELOADS), flush=True)


def test_removed_index_answers_02():
    text = MATRIX[5][1]()
    p = RawProxy(text).start()
    try:
        assert mass(p, b"\x0C\x01")[0] == 0x00   # auth on: served
        p.reload(text.replace("0C = auth\n", ""))
        assert mass(p, b"\x0C\x01") == b"\x02"
        got = mass(p, b"\x00")
        assert 0x0C not in got[2:], got.hex()
    finally:
        p.stop()


def test_broken_file_keeps_the_old_configuration():
    text = with_user(MATRIX[0][1](), 1)
    echo = EchoServer()
    p = RawProxy(text).start()
    try:
        tunnel = open_tunnel(p, echo, text)
        for broken in ("[socks]\nport = 0\nno_such_key = 1\n",
                       text + "\n[indexes]\n40 = no-such-plugin\n",
                       text.replace("reload1 = pass1", "reload1 =")):
            p.reload(broken, expect="keeping the running configuration")
            relays(tunnel, 1)
            assert login(p, "reload1", "pass1"), p.stderr()
        tunnel.close()
    finally:
        p.stop()
        echo.close()


def test_refused_reload_says_what_keeps_running():
    """A refused reload's lines are about the file refused: an index whose
    new plugin failed is not called "not served" while the running set
    serves it, and the last line says what goes on being served."""
    text = MATRIX[5][1]()
    p = RawProxy(text).start()
    try:
        start = len(p.stderr())
        p.reload(text.replace("0C = auth\n", "0C = ghost\n"),
                 expect="keeping the running configuration")
        wait_for(lambda: "reload refused: still running" in p.stderr()[start:], "the summary")
        err = p.stderr()[start:]
        assert "not served" not in err, err
        assert "[indexes] 0C = ghost: the plugin did not load, so the reload is refused" \
            in err, err
        assert re.search(r"reload refused: still running \S+ as loaded before, MASS indexes "
                         r"00 core, 01 users, 02-09 metrics, 0A-0B users, 0C auth, "
                         r"0D dissectors$", err, re.M), err
        assert mass(p, b"\x0C\x01") == b"\x00"   # still served by auth
        start = len(p.stderr())
        p.reload(text + "\n[socks]\nno_such_key = 1\n",
                 expect="keeping the running configuration")
        wait_for(lambda: "reload refused: still running" in p.stderr()[start:], "the summary")
    finally:
        p.stop()


def test_listen_change_needs_a_restart():
    text = MATRIX[2][1]()
    echo = EchoServer()
    p = RawProxy(text).start()
    try:
        port = p.port
        p.reload(text.replace("listen = 127.0.0.1\nport = 0",
                              "listen = 127.0.0.2\nport = %d" % (port ^ 1), 1))
        assert "listen addresses and ports need a restart" in p.stderr(), p.stderr()
        s = open_tunnel(p, echo, text)     # still on the old socket
        relays(s, 1)
        s.close()
    finally:
        p.stop()
        echo.close()


if __name__ == "__main__":
    raise SystemExit(run([test_reload_matrix, test_removed_index_answers_02,
                          test_broken_file_keeps_the_old_configuration,
                          test_refused_reload_says_what_keeps_running,
                          test_listen_change_needs_a_restart]))
