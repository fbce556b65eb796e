"""Upstream proxies ([upstreams], [routes]) end to end, with real parents:
a second socks5d requiring RFC 1929 credentials, dante (danted, method
none, and method username with a test account in a private /etc/passwd and
/etc/shadow bind-mounted in a mount namespace of dante's own), tinyproxy with Basic credentials; curl gets the page each time.
Failover: the first parent stopped, traffic moves to the second within
max_fails and back after the probe once fail_timeout has passed; all
parents down answers REP 03 (HTTP CONNECT clients 503); a parent that
answers garbage or stalls mid-handshake gives the client an error within
connect_timeout and leaves no descriptor behind; credentials appear in no
log; rules route by destination (the rest goes direct); SIGHUP changes the
routes of new connections while a live tunnel keeps its own; bad
configurations are refused with file and line."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (EchoServer, Proxy, Web, blackhole, curl, free_port, massctl, recv_all,
                     recv_exact, socks_connect, wait_for, run, MASS_ADMIN, TIMEOUT)

PARENT_USERS = {"alice": "s3cret-parent"}
SECRET = "s3cret-parent"


def child(upstreams, routes, extra=""):
    """A socks5d whose [upstreams] and [routes] are as given (lists of lines)."""
    p = Proxy(extra)
    with open(p.ini_path, "a") as f:
        f.write("\n[upstreams]\n" + "".join(l + "\n" for l in upstreams))
        f.write("\n[routes]\n" + "".join(l + "\n" for l in routes))
    return p


def get(p, web, hostname=False):
    return curl(["--socks5%s" % ("-hostname" if hostname else ""), "127.0.0.1:%d" % p.port,
                 "http://127.0.0.1:%d/" % web.port])


def parent_requests(parent):
    """The CONNECT lines (A) of a parent socks5d's access log."""
    return [l for l in parent.log_lines() if l.split("\t")[2:3] == ["A"]]


def fds(p):
    return len(os.listdir("/proc/%d/fd" % p.proc.pid))


def no_secret(p):
    for text in (p.stderr(), "\n".join(p.log_lines())):
        assert SECRET not in text, text


def test_socks5d_parent_with_credentials():
    web = Web()
    with Proxy(auth=True, users=PARENT_USERS) as parent:
        with child(["p = socks5://alice:%s@127.0.0.1:%d" % (SECRET, parent.port)],
                   ["p = all"]) as c:
            rc, out, err = get(c, web)
            assert rc == 0 and out == Web.BODY, (rc, out, err)
            line = parent.wait_log(lambda l: l.split("\t")[1:3] == ["alice", "A"])
            assert line.endswith("\t0"), line
            # by name: the parent resolves it (remote DNS); "localhost" here
            rc, out, err = curl(["--socks5-hostname", "127.0.0.1:%d" % c.port,
                                 "http://localhost:%d/" % web.port])
            assert rc == 0 and out == Web.BODY, (rc, out, err)
            parent.wait_log(lambda l: "\tlocalhost\t" in l)
            no_secret(c)
    web.close()


def test_wrong_parent_credentials_fail_with_rep_03():
    echo = EchoServer()
    with Proxy(auth=True, users=PARENT_USERS) as parent:
        with child(["p = socks5://alice:wrong@127.0.0.1:%d max_fails=1" % parent.port],
                   ["p = all"]) as c:
            s, rep, _, _, _ = socks_connect(c.port, "127.0.0.1", echo.port)
            assert rep == 3, rep
            s.close()
            c.wait_log(lambda l: l.endswith("\t3"))
            wait_for(lambda: "login refused" in c.stderr(), "the parent marked down")
            assert "wrong" not in c.stderr()
    echo.close()


def danted(port):
    d = tempfile.mkdtemp(prefix="mass-dante-")
    conf = os.path.join(d, "sockd.conf")
    with open(conf, "w") as f:
        f.write("logoutput: stderr\ninternal: 127.0.0.1 port = %d\nexternal: 127.0.0.1\n"
                "clientmethod: none\nsocksmethod: none\nuser.privileged: root\n"
                "user.unprivileged: nobody\n"
                "client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }\n"
                "socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }\n" % port)
    log = open(os.path.join(d, "log"), "w+")
    proc = subprocess.Popen(["danted", "-f", conf, "-p", os.path.join(d, "pid")],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    wait_for(lambda: can_connect(port), "danted listening")
    return proc, d


def can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def test_dante_parent():
    if shutil.which("danted") is None or os.geteuid() != 0:
        print("SKIP: danted missing or not root")
        return
    web = Web()
    port = free_port()
    proc, d = danted(port)
    try:
        with child(["dante = socks5://127.0.0.1:%d" % port], ["dante = all"]) as c:
            for hostname in (False, True):
                rc, out, err = get(c, web, hostname)
                assert rc == 0 and out == Web.BODY, (rc, out, err)
    finally:
        stop(proc)
        shutil.rmtree(d)
        web.close()


DANTE_USER = "mdante"
DANTE_PASS = "d4nte-pass-77"


def crypt_hash(password):
    """A SHA-512 crypt(3) hash of the password (openssl, else python's crypt)."""
    if shutil.which("openssl"):
        r = subprocess.run(["openssl", "passwd", "-6", password], capture_output=True,
                           text=True, timeout=TIMEOUT)
        if r.returncode == 0 and r.stdout.startswith("$6$"):
            return r.stdout.strip()
    try:
        import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    except ImportError:
        return None


def danted_with_user(port):
    """danted with socksmethod username, in a mount namespace of its own
    whose /etc/passwd and /etc/shadow are copies of this machine's holding
    one more account, DANTE_USER with DANTE_PASS (dante checks the password
    with getpwnam and crypt(3) against the shadow entry). The real /etc is
    untouched; the unshare execs sh, which execs danted: one PID to stop.
    None when it cannot be done here."""
    if shutil.which("unshare") is None:
        return None
    h = crypt_hash(DANTE_PASS)
    if h is None:
        return None
    d = tempfile.mkdtemp(prefix="mass-dante-user-")
    passwd, shadow = os.path.join(d, "passwd"), os.path.join(d, "shadow")
    with open("/etc/passwd") as f:
        text = f.read()
    with open(passwd, "w") as f:
        f.write(text + ("" if text.endswith("\n") else "\n") +
                "%s:x:64999:65534::/nonexistent:/usr/sbin/nologin\n" % DANTE_USER)
    text = open("/etc/shadow").read() if os.path.exists("/etc/shadow") else ""
    with open(shadow, "w") as f:
        f.write(text + ("" if text.endswith("\n") or not text else "\n") +
                "%s:%s:20000:0:99999:7:::\n" % (DANTE_USER, h))
    os.chmod(shadow, 0o640)
    conf = os.path.join(d, "sockd.conf")
    with open(conf, "w") as f:
        f.write("logoutput: stderr\ninternal: 127.0.0.1 port = %d\nexternal: 127.0.0.1\n"
                "clientmethod: none\nsocksmethod: username\nuser.privileged: root\n"
                "user.unprivileged: nobody\n"
                "client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }\n"
                "socks pass {\n from: 0.0.0.0/0 to: 0.0.0.0/0\n socksmethod: username\n"
                " log: connect error\n}\n" % port)
    script = ("mount --bind '%s' /etc/passwd && mount --bind '%s' /etc/shadow || exit 99\n"
              "exec danted -f '%s' -p '%s'" % (passwd, shadow, conf, os.path.join(d, "pid")))
    log = open(os.path.join(d, "log"), "w+")
    proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.time() + TIMEOUT
    while not can_connect(port):
        if proc.poll() is not None or time.time() > deadline:
            stop(proc)
            log.seek(0)
            out = log.read()
            shutil.rmtree(d)
            if proc.returncode == 99:
                return None
            raise AssertionError("danted (username) did not listen: %s" % out)
        time.sleep(0.05)
    return proc, d


def dante_log(d):
    with open(os.path.join(d, "log")) as f:
        return f.read()


def test_dante_parent_with_credentials():
    """A real dante asking RFC 1929 credentials it checks against a system
    account (getpwnam/crypt of a private /etc/passwd and /etc/shadow):
    socks5d's parent with the right password gets the page (by address and
    by name), dante logs the user; a wrong password is refused by dante and
    the client gets REP 03 (the only parent failed: mass.ini(5) [upstreams])."""
    if shutil.which("danted") is None or os.geteuid() != 0:
        print("SKIP: danted missing or not root")
        return
    web = Web()
    echo = EchoServer()
    port = free_port()
    started = danted_with_user(port)
    if started is None:
        print("SKIP: no private mount namespace or no crypt(3) hash here")
        web.close()
        echo.close()
        return
    proc, d = started
    try:
        # dante itself refuses a wrong password and takes the right one
        rc, out, err = curl(["--socks5", "%s:wrong@127.0.0.1:%d" % (DANTE_USER, port),
                             "http://127.0.0.1:%d/" % web.port])
        assert rc != 0 and out != Web.BODY, (rc, err)
        with child(["dante = socks5://%s:%s@127.0.0.1:%d" % (DANTE_USER, DANTE_PASS, port)],
                   ["dante = all"]) as c:
            for hostname in (False, True):
                rc, out, err = get(c, web, hostname)
                assert rc == 0 and out == Web.BODY, (hostname, rc, out, err, dante_log(d))
            wait_for(lambda: dante_log(d).count("username%%%s@" % DANTE_USER) >= 2,
                     "dante logging two connects by %s" % DANTE_USER)
            for text in (c.stderr(), "\n".join(c.log_lines())):
                assert DANTE_PASS not in text, text
        with child(["dante = socks5://%s:wrong@127.0.0.1:%d max_fails=1" % (DANTE_USER, port)],
                   ["dante = all"]) as c:
            s, rep, _, _, _ = socks_connect(c.port, "127.0.0.1", echo.port)
            assert rep == 3, rep
            s.close()
            c.wait_log(lambda l: l.endswith("\t3"))
            wait_for(lambda: "login refused" in c.stderr(), "the parent marked down")
            assert "wrong" not in c.stderr()
        assert DANTE_PASS not in dante_log(d)
    finally:
        stop(proc)
        shutil.rmtree(d)
        web.close()
        echo.close()


def tinyproxy(port):
    d = tempfile.mkdtemp(prefix="mass-tiny-")
    conf = os.path.join(d, "tinyproxy.conf")
    with open(conf, "w") as f:
        f.write("User nobody\nGroup nogroup\nPort %d\nListen 127.0.0.1\nTimeout 30\n"
                "Allow 127.0.0.1\nBasicAuth bob %s\n" % (port, SECRET))
    log = open(os.path.join(d, "log"), "w+")
    proc = subprocess.Popen(["tinyproxy", "-d", "-c", conf], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    wait_for(lambda: can_connect(port), "tinyproxy listening")
    return proc, d


def test_tinyproxy_parent_and_http_connect_client():
    if shutil.which("tinyproxy") is None or os.geteuid() != 0:
        print("SKIP: tinyproxy missing or not root")
        return
    web = Web()
    port = free_port()
    proc, d = tinyproxy(port)
    try:
        with child(["tiny = http://bob:%s@127.0.0.1:%d" % (SECRET, port)], ["tiny = all"],
                   "[socks]\nhttp_connect = on") as c:
            rc, out, err = get(c, web)
            assert rc == 0 and out == Web.BODY, (rc, out, err)
            # an HTTP CONNECT client, through an HTTP parent
            rc, out, err = curl(["-p", "--proxy", "http://127.0.0.1:%d" % c.port,
                                 "http://127.0.0.1:%d/" % web.port])
            assert rc == 0 and out == Web.BODY, (rc, out, err)
            no_secret(c)
        # tinyproxy answers a wrong password with 401: a parent failure
        with child(["tiny = http://bob:nope@127.0.0.1:%d" % port], ["tiny = all"]) as c:
            rc, out, err = get(c, web)
            assert rc != 0, (rc, out, err)
            wait_for(lambda: "HTTP status 401" in c.stderr() or "down" in c.stderr() or
                     c.log_lines() and c.log_lines()[-1].endswith("\t3"), "REP 03")
    finally:
        stop(proc)
        shutil.rmtree(d)
        web.close()


def test_failover_and_probe():
    web = Web()
    port_a = free_port()
    a = Proxy("[socks]\nport = %d" % port_a).start()
    b = Proxy().start()
    try:
        with child(["pair = socks5://127.0.0.1:%d socks5://127.0.0.1:%d max_fails=2 "
                    "fail_timeout=2" % (port_a, b.port)], ["pair = all"]) as c:
            assert get(c, web)[0] == 0
            wait_for(lambda: len(parent_requests(a)) == 1, "the first parent used")
            a.stop()
            # every request still succeeds: the failed parent is passed over at once
            for i in range(4):
                rc, out, err = get(c, web)
                assert rc == 0 and out == Web.BODY, (i, rc, err)
            wait_for(lambda: len(parent_requests(b)) == 4, "the second parent used")
            # down after max_fails=2, then skipped without a try
            wait_for(lambda: "parent socks5://127.0.0.1:%d down for 2 s after 2 failures"
                     % port_a in c.stderr(), "the down line")
            # back: after fail_timeout one request probes it and it takes over again
            a2 = Proxy("[socks]\nport = %d" % port_a).start()
            time.sleep(2.2)
            for _ in range(3):
                assert get(c, web)[0] == 0
            wait_for(lambda: len(parent_requests(a2)) == 3, "the first parent back")
            assert len(parent_requests(b)) == 4
            assert "is up again" in c.stderr()
            a2.stop()
    finally:
        b.stop()
        web.close()


def test_all_down_rep_03_and_503():
    dead1, dead2 = free_port(), free_port()
    with child(["gone = socks5://127.0.0.1:%d http://127.0.0.1:%d max_fails=1 "
                "fail_timeout=60" % (dead1, dead2)], ["gone = all"],
               "[socks]\nhttp_connect = on") as c:
        for _ in range(2):   # tried and failed, then both skipped
            s, rep, _, _, _ = socks_connect(c.port, "127.0.0.1", 80)
            assert rep == 3, rep
            s.close()
        s = socket.create_connection(("127.0.0.1", c.port), timeout=TIMEOUT)
        s.sendall(b"CONNECT 127.0.0.1:80 HTTP/1.1\r\n\r\n")
        head = recv_all(s, 5)
        assert head.startswith(b"HTTP/1.1 503 "), head
        s.close()


def bad_parent(behaviour):
    """A listener that accepts and then sends garbage or nothing at all."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    held = []

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            held.append(c)
            if behaviour == "garbage":
                try:
                    c.recv(64)
                    c.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
                except OSError:
                    pass
    threading.Thread(target=serve, daemon=True).start()
    return ls, held


def test_garbage_or_stalling_parent():
    for behaviour in ("garbage", "stall"):
        ls, held = bad_parent(behaviour)
        scheme = "socks5" if behaviour == "garbage" else "http"
        with child(["bad = %s://127.0.0.1:%d max_fails=100" % (scheme, ls.getsockname()[1])],
                   ["bad = all"]) as c:
            before = fds(c)
            for _ in range(3):
                start = time.time()
                s, rep, _, _, _ = socks_connect(c.port, "127.0.0.1", 80)
                took = time.time() - start
                assert rep == 3, (behaviour, rep)
                # connect_timeout is 3 s in the harness; a garbage answer fails at once
                assert took < (1.0 if behaviour == "garbage" else 4.5), (behaviour, took)
                s.close()
            wait_for(lambda: fds(c) == before, "descriptors back to %d" % before)
        ls.close()
        for h in held:
            h.close()


def test_rules_route_some_and_reload():
    web = Web()
    echo = EchoServer()
    with Proxy() as parent:
        with child(["p = socks5://127.0.0.1:%d" % parent.port],
                   ["direct = port %d" % echo.port, "p = dest 127.0.0.0/8"]) as c:
            # the echo port goes direct, the web port through the parent
            s, rep, _, _, _ = socks_connect(c.port, "127.0.0.1", echo.port)
            assert rep == 0
            s.sendall(b"live")
            assert recv_exact(s, 4) == b"live"
            assert get(c, web)[0] == 0
            wait_for(lambda: len(parent_requests(parent)) == 1, "one routed request")
            assert str(echo.port) not in "".join(parent_requests(parent))
            # a tunnel through the parent stays while the routes change
            t, rep, _, _, _ = socks_connect(c.port, "127.0.0.1", web.port)
            assert rep == 0
            wait_for(lambda: len(parent_requests(parent)) == 2, "the live tunnel routed")
            c.write_ini("")
            with open(c.ini_path, "a") as f:
                f.write("\n[upstreams]\np = socks5://127.0.0.1:%d\n[routes]\n" % parent.port)
            c.signal(signal.SIGHUP)
            wait_for(lambda: "reloaded " in c.stderr(), "the reload")
            time.sleep(0.3)
            assert get(c, web)[0] == 0       # now direct
            time.sleep(0.3)
            assert len(parent_requests(parent)) == 2
            t.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert Web.BODY in recv_all(t, 5)
            t.close()
            s.close()
    echo.close()
    web.close()


def test_state_through_mass_1a_and_reload():
    import json
    web = Web()
    dead = free_port()
    with Proxy() as b:
        ups = "pair = socks5://alice:%s@127.0.0.1:%d socks5://127.0.0.1:%d max_fails=2 " \
              "fail_timeout=60" % (SECRET, dead, b.port)
        prom = free_port()
        ini = "[indexes]\n1A = upstreams\n15 = prometheus\n[plugin prometheus]\n" \
              "listen = 127.0.0.1:%d" % prom
        c = Proxy(ini, admins=dict([MASS_ADMIN]))
        with open(c.ini_path, "a") as f:
            f.write("\n[upstreams]\n%s\n[routes]\npair = all\n" % ups)
        with c:
            rc, out, err = massctl(c, "-j", "upstreams")
            assert rc == 0, (out, err)
            got = json.loads(out)["upstreams"]
            assert [(u["name"], u["parent"], u["state"], u["fails"]) for u in got] == [
                ("pair", "socks5://127.0.0.1:%d" % dead, 0, 0),
                ("pair", "socks5://127.0.0.1:%d" % b.port, 0, 0)], got
            for _ in range(2):
                assert get(c, web)[0] == 0
            t0 = time.time()
            rc, out, err = massctl(c, "-j", "upstreams")
            got = json.loads(out)["upstreams"]
            assert got[0]["state"] == 2 and got[0]["fails"] == 2, got
            assert abs(got[0]["down_since"] - t0) < 5, got
            assert "refused" in got[0]["last_error"].lower(), got
            assert got[1]["state"] == 0, got
            assert SECRET not in out
            rc, out, err = massctl(c, "upstreams")
            assert rc == 0 and "upstreams[0].state 2" in out, out
            # the same through Prometheus, without credentials
            import urllib.request
            text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % prom,
                                          timeout=TIMEOUT).read().decode()
            assert 'socks5d_upstream_up{upstream="pair",parent="socks5://127.0.0.1:%d"} 0' \
                % dead in text, text
            assert 'socks5d_upstream_up{upstream="pair",parent="socks5://127.0.0.1:%d"} 1' \
                % b.port in text, text
            assert 'socks5d_upstream_failures{upstream="pair",parent="socks5://127.0.0.1:%d"} 2' \
                % dead in text, text
            assert SECRET not in text
            # SIGHUP: the unchanged parent keeps its state
            c.signal(signal.SIGHUP)
            wait_for(lambda: "reloaded " in c.stderr(), "the reload")
            got = json.loads(massctl(c, "-j", "upstreams")[1])["upstreams"]
            assert got[0]["state"] == 2 and got[0]["fails"] == 2, got
            no_secret(c)
    web.close()


def test_bad_configuration():
    cases = [
        (["p = socks5://user:hunter2@127.0.0.1"], ["p = all"], "[upstreams] p"),   # no port
        (["p = ftp://127.0.0.1:21"], ["p = all"], "[upstreams] p"),
        (["p = socks5://127.0.0.1:1080 max_fails=0"], [], "[upstreams] p"),
        (["p = socks5://127.0.0.1:1080", "p = socks5://127.0.0.1:1081"], [], "duplicate"),
        (["p = socks5://127.0.0.1:1080"], ["q = all"], "[routes] q: no such upstream"),
        (["p = socks5://127.0.0.1:1080"], ["p = dest 10.0.0.1/8"], "[routes] p"),
        (["p = socks5://127.0.0.1:1080"], ["p = colour blue"], "[routes] p"),
    ]
    for ups, routes, want in cases:
        p = child(ups, routes)
        p.start(expect_fail=True)
        p.proc.wait(timeout=TIMEOUT)
        assert p.proc.returncode != 0, (ups, routes)
        err = p.stderr()
        assert want in err and "mass.ini:" in err, (want, err)
        assert "hunter2" not in err, err


if __name__ == "__main__":
    sys.exit(run([test_socks5d_parent_with_credentials,
                  test_wrong_parent_credentials_fail_with_rep_03, test_dante_parent,
                  test_dante_parent_with_credentials,
                  test_tinyproxy_parent_and_http_connect_client, test_failover_and_probe,
                  test_all_down_rep_03_and_503, test_garbage_or_stalling_parent,
                  test_rules_route_some_and_reload, test_state_through_mass_1a_and_reload,
                  test_bad_configuration]))
