#!/usr/bin/env python3
"""massctl against a scripted fake MASS server on 127.0.0.1.

For every command the fake server asserts the exact bytes massctl sends
(greeting, RFC 1929 login, request, and nothing after it), answers with
scripted bytes, and the test checks massctl's stdout, stderr and exit status.
The built massctl is found through $top_builddir (set by AM_TESTS_ENVIRONMENT).
"""
import json
import os
import socket
import subprocess
import sys
import threading

TIMEOUT = 20  # seconds any single step may take; a bound, not a measurement

BUILDDIR = os.environ.get("top_builddir", os.path.join(os.path.dirname(__file__), "..", ".."))
MASSCTL = os.path.join(BUILDDIR, "src", "massctl", "massctl")

NO_AUTH = (b"\x01\x01\x00", b"\x01\x00")
ADMIN_AUTH = (b"\x01\x01\x02", b"\x01\x02")
ADMIN_LOGIN = (b"\x01\x05admin\x02pw", b"\x01\x00")


def conn(request, reply, greeting=NO_AUTH, login=None):
    """The script of one connection: (expect, send) steps; send None = close."""
    steps = [greeting]
    if login:
        steps.append(login)
    steps.append((request, reply))
    return steps


class FakeServer:
    """Accepts connections one after another, each following its script."""

    def __init__(self, scripts, family=socket.AF_INET, host="127.0.0.1"):
        self.scripts = list(scripts)
        self.errors = []
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.settimeout(TIMEOUT)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def recv_exact(self, c, n):
        data = b""
        while len(data) < n:
            chunk = c.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def serve(self, c, steps):
        for expect, send in steps:
            got = self.recv_exact(c, len(expect))
            if got != expect:
                self.errors.append("expected %s, got %s" % (expect.hex(), got.hex()))
                return
            if send is None:
                return
            if send == "hang":
                # Never answer; massctl's timeout must end the exchange.
                self.recv_exact(c, 1)
                return
            c.sendall(send)
        # The reply is out: close our side; the client must send nothing more.
        c.shutdown(socket.SHUT_WR)
        rest = self.recv_exact(c, 65536)
        if rest:
            self.errors.append("client sent extra octets %s" % rest.hex())

    def run(self):
        for steps in self.scripts:
            try:
                c, _ = self.sock.accept()
            except OSError as e:
                self.errors.append("accept: %s" % e)
                return
            with c:
                c.settimeout(TIMEOUT)
                try:
                    self.serve(c, steps)
                except OSError as e:
                    self.errors.append("connection: %s" % e)

    def finish(self):
        self.thread.join(TIMEOUT)
        self.sock.close()
        if self.thread.is_alive():
            self.errors.append("server still waiting for a connection")
        return self.errors


def massctl(args, port=None, env_admin=None):
    env = {k: v for k, v in os.environ.items() if k != "MASS_ADMIN"}
    if env_admin is not None:
        env["MASS_ADMIN"] = env_admin
    argv = [MASSCTL]
    if port is not None:
        argv += ["-P", str(port)]
    p = subprocess.run(argv + args, env=env, capture_output=True, timeout=TIMEOUT * 3)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


results = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    if cond:
        results["passed"] += 1
        print("PASS: %s" % name)
    else:
        results["failed"] += 1
        print("FAIL: %s %s" % (name, detail))


def case(name, scripts, args, rc=0, stdout=None, stderr=None, env_admin=None, **kw):
    """Runs massctl against a fake server following scripts and checks the outcome."""
    srv = FakeServer(scripts, **kw)
    host = ["-H", kw["host"]] if "host" in kw else []
    code, out, err = massctl(host + args, srv.port, env_admin)
    errors = srv.finish()
    detail = "rc=%d stdout=%r stderr=%r server=%r" % (code, out, err, errors)
    ok = code == rc and not errors
    if stdout is not None:
        ok = ok and out == stdout
    if stderr is not None:
        ok = ok and stderr in err and err.count("\n") == 1
    check(name, ok, detail)
    return out


def u32(v):
    return b"\x00" + v.to_bytes(4, "big")


def u64s(vals):
    """A 0F reply: status 00, COUNT, then COUNT u64 big-endian."""
    return b"\x00" + bytes([len(vals)]) + b"".join(v.to_bytes(8, "big") for v in vals)


def main():
    if not os.access(MASSCTL, os.X_OK):
        print("massctl not built at %s" % MASSCTL)
        return 1

    served = bytes(range(0x0E))
    case("indexes without login offers method 00",
         [conn(b"\x00", b"\x00\x0e" + served)], ["indexes"],
         stdout="".join("%02x\n" % i for i in served))
    case("indexes with -u logs in by RFC 1929",
         [conn(b"\x00", b"\x00\x02\x00\x01", ADMIN_AUTH, ADMIN_LOGIN)],
         ["-u", "admin:pw", "indexes"], stdout="00\n01\n")
    case("MASS_ADMIN supplies the login",
         [conn(b"\x01", b"\x00\x00", ADMIN_AUTH, ADMIN_LOGIN)],
         ["users"], stdout="", env_admin="admin:pw")
    case("-u wins over MASS_ADMIN; password split at the first ':'",
         [conn(b"\x01", b"\x00\x00", ADMIN_AUTH, (b"\x01\x01a\x03b:c", b"\x01\x00"))],
         ["-u", "a:b:c", "users"], stdout="", env_admin="admin:pw")
    out = case("indexes -j", [conn(b"\x00", b"\x00\x03\x00\x01\x0e")], ["-j", "indexes"])
    check("indexes -j is JSON", out and json.loads(out) == {"indexes": ["00", "01", "0e"]}, out)

    users = b"\x00\x02\x05alice\x03bob"
    case("users", [conn(b"\x01", users)], ["users"], stdout="alice\nbob\n")
    out = case("users -j", [conn(b"\x01", users)], ["-j", "users"])
    check("users -j is JSON", out and json.loads(out) == {"users": ["alice", "bob"]}, out)
    case("users: truncated reply is an error",
         [conn(b"\x01", b"\x00\x02\x05alice\x03bo")], ["users"], rc=76, stdout="",
         stderr="massctl: users: reply truncated")
    case("users: octets after the last field are an error",
         [conn(b"\x01", users + b"\x00")], ["users"], rc=76, stdout="")
    case("users: index not served", [conn(b"\x01", b"\x02")], ["users"], rc=2,
         stderr="massctl: users: index not supported by the server (status 02)")
    case("users: failure status with trailing octets is malformed",
         [conn(b"\x01", b"\x01\x00")], ["users"], rc=76)
    case("closed without a reply", [conn(b"\x01", b"")], ["users"], rc=76,
         stderr="connection closed without a reply")

    names = ["historic_connections", "concurrent_connections",
             "max_concurrent_connections", "bytes_transferred", "auth_attempts",
             "connection_attempts", "avg_bytes_per_read", "avg_bytes_per_write"]
    values = [258, 3, 7, 4294967295, 0, 12, 1024, 512]
    # A server without 0F: massctl asks 00, then 02..09 one connection each.
    no_0f = conn(b"\x00", b"\x00\x0e" + served)
    stats = [conn(bytes([2 + i]), u32(v)) for i, v in enumerate(values)]
    case("stats without 0F: 00, then one connection per counter, in index order",
         [no_0f] + stats, ["stats"],
         stdout="".join("%s %d\n" % nv for nv in zip(names, values)))
    out = case("stats -j with login",
               [conn(b"\x00", b"\x00\x0e" + served, ADMIN_AUTH, ADMIN_LOGIN)] +
               [conn(bytes([2 + i]), u32(v), ADMIN_AUTH, ADMIN_LOGIN)
                for i, v in enumerate(values)],
               ["-j", "-u", "admin:pw", "stats"])
    check("stats -j is JSON", out and json.loads(out) == dict(zip(names, values)), out)
    partial = list(stats)
    partial[6] = conn(b"\x08", b"\x02")
    out = case("stats: an unserved counter is skipped, exit 2", [no_0f] + partial, ["stats"],
               rc=2, stdout="".join("%s %d\n" % nv for i, nv in enumerate(zip(names, values))
                                    if i != 6))
    out = case("stats -j: an unserved counter is null, exit 2", [no_0f] + partial,
               ["-j", "stats"], rc=2)
    check("stats -j partial is one JSON object", out and json.loads(out)["avg_bytes_per_read"]
          is None and len(json.loads(out)) == 8, out)
    case("stats: a short counter stops at once",
         [no_0f, stats[0], conn(b"\x03", b"\x00\x00\x01")], ["stats"], rc=76, stdout="")

    # A server with 0F: 00, then the whole snapshot in one reply of u64s.
    with_0f = conn(b"\x00", b"\x00\x0f" + served + b"\x0f")
    big = [2**32 + 5, 3, 7, 2**63 + 1, 0, 12, 2**40, 512]
    case("stats with 0F: one snapshot, values beyond 2^32",
         [with_0f, conn(b"\x0f", u64s(big))], ["stats"],
         stdout="".join("%s %d\n" % nv for nv in zip(names, big)))
    out = case("stats -j with 0F", [with_0f, conn(b"\x0f", u64s(big))], ["-j", "stats"])
    check("stats -j with 0F is JSON", out and json.loads(out) == dict(zip(names, big)), out)
    case("stats with 0F: extra counters of a later server are ignored",
         [with_0f, conn(b"\x0f", u64s(big + [99, 98]))], ["stats"],
         stdout="".join("%s %d\n" % nv for nv in zip(names, big)))
    case("stats with 0F: fewer than 8 counters is malformed",
         [with_0f, conn(b"\x0f", u64s(big[:7]))], ["stats"], rc=76, stdout="",
         stderr="fewer than 8")
    case("stats with 0F: truncated snapshot is malformed",
         [with_0f, conn(b"\x0f", u64s(big)[:-3])], ["stats"], rc=76, stdout="",
         stderr="truncated")
    case("stats: 0F listed but answering 02 falls back to 02..09",
         [with_0f, conn(b"\x0f", b"\x02")] + stats, ["stats"],
         stdout="".join("%s %d\n" % nv for nv in zip(names, values)))
    out = case("stats -j: 0F status 01 is a JSON error",
               [with_0f, conn(b"\x0f", b"\x01")], ["-j", "stats"], rc=1)
    check("stats -j error object", out and json.loads(out) ==
          {"command": "stats", "error": "server error (status 01)", "exit": 1,
           "status": "01"}, out)

    add = b"\x0a\x03bob\x06secret"
    case("add-user", [conn(add, b"\x00")], ["add-user", "bob", "secret"], stdout="")
    out = case("add-user -j", [conn(add, b"\x00")], ["-j", "add-user", "bob", "secret"])
    check("add-user -j is JSON", out and json.loads(out) == {"status": "00"}, out)
    case("add-user: exists", [conn(add, b"\x01")], ["add-user", "bob", "secret"], rc=1,
         stdout="",
         stderr="massctl: add-user bob: user exists or cannot be added (status 01)")
    out = case("add-user -j: exists is a JSON error", [conn(add, b"\x01")],
               ["-j", "add-user", "bob", "secret"], rc=1,
               stderr="massctl: add-user bob: user exists")
    check("add-user -j error object", out and json.loads(out) ==
          {"command": "add-user", "error": "user exists or cannot be added (status 01)",
           "exit": 1, "status": "01"}, out)
    case("add-user: user limit", [conn(add, b"\x03")], ["add-user", "bob", "secret"], rc=3,
         stderr="massctl: add-user bob: user limit reached (status 03)")
    case("del-user", [conn(b"\x0b\x03bob", b"\x00")], ["del-user", "bob"], stdout="")
    case("del-user: missing", [conn(b"\x0b\x03bob", b"\x01")], ["del-user", "bob"], rc=1,
         stderr="massctl: del-user bob: no such user or cannot be deleted (status 01)")
    out = case("del-user -j: missing is a JSON error", [conn(b"\x0b\x03bob", b"\x01")],
               ["-j", "del-user", "bob"], rc=1)
    check("del-user -j error object", out and json.loads(out)["status"] == "01" and
          json.loads(out)["exit"] == 1, out)
    out = case("users -j: truncated reply is a JSON error",
               [conn(b"\x01", b"\x00\x02\x05alice\x03bo")], ["-j", "users"], rc=76)
    check("users -j protocol error object", out and json.loads(out) ==
          {"command": "users", "error": "reply truncated in a name", "exit": 76}, out)
    case("auth off", [conn(b"\x0c\x01", b"\x00")], ["auth", "off"], stdout="")
    case("auth on", [conn(b"\x0c\x00", b"\x00")], ["auth", "on"], stdout="")
    case("dissectors off", [conn(b"\x0d\x01", b"\x00")], ["dissectors", "off"], stdout="")
    case("dissectors on", [conn(b"\x0d\x00", b"\x00")], ["dissectors", "on"], stdout="")
    case("auth: reply with fields is malformed", [conn(b"\x0c\x00", b"\x00\x00")],
         ["auth", "on"], rc=76)

    case("raw: text and x:HEX parameters",
         [conn(b"\x0e\x02hi\xff\x00\x00", b"\x00\x01\x02")],
         ["raw", "0x0E", "hi", "x:ff00", ""], stdout="status 00\ndata 0102\n")
    case("raw: failure status is printed and sets the exit status",
         [conn(b"\x7f", b"\x02")], ["raw", "7f"], rc=2, stdout="status 02\ndata\n")
    out = case("raw -j", [conn(b"\x10", b"\x00\xab")], ["-j", "raw", "10"])
    check("raw -j is JSON", out and json.loads(out) ==
          {"index": "10", "status": "00", "data": "ab"}, out)
    case("raw: unknown status exits 4", [conn(b"\x20", b"\x09")], ["raw", "20"], rc=4)

    case("login method refused", [[(b"\x01\x01\x00", b"\x01\xff")]], ["users"], rc=77,
         stderr="massctl: users: server requires an admin login")
    case("admin login refused",
         [[ADMIN_AUTH, (ADMIN_LOGIN[0], b"\x01\x01")]], ["-u", "admin:pw", "users"], rc=77,
         stderr="admin login refused")
    case("greeting reply with a method not offered",
         [[(b"\x01\x01\x00", b"\x01\x02")]], ["users"], rc=76)
    case("greeting reply cut short", [[(b"\x01\x01\x00", b"\x01")]], ["users"], rc=76)
    case("server never replies: bounded by -t",
         [[(b"\x01\x01\x00", "hang")]], ["-t", "1", "users"], rc=69)

    try:
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM).bind(("::1", 0))
        case("IPv6 host", [conn(b"\x01", b"\x00\x00")], ["users"], stdout="",
             family=socket.AF_INET6, host="::1")
    except OSError:
        print("SKIP: IPv6 host (no ::1)")

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    code, out, err = massctl(["users"], closed)
    check("connection refused exits 69", code == 69 and "connect to" in err, err)
    code, out, err = massctl(["-j", "users"], closed)
    js = json.loads(out) if code == 69 and out else {}
    check("-j: connection refused is a JSON error, exit 69",
          js.get("exit") == 69 and js.get("command") == "users" and "connect to" in
          js.get("error", "") and "status" not in js, out)
    code, out, err = massctl(["add-user", "b:ob", "pw"], closed)
    check("invalid name is a usage error before connecting", code == 64 and "user name" in err,
          err)
    code, out, err = massctl(["frobnicate"])
    check("unknown command exits 64", code == 64 and err.count("\n") == 1, err)
    code, out, err = massctl(["-v"])
    check("-v prints the version", code == 0 and out.startswith("massctl "), out)
    code, out, err = massctl(["-h"])
    check("-h prints usage", code == 0 and "usage: massctl" in out, out)
    code, out2, err = massctl(["--help"])
    check("--help prints the same usage", code == 0 and out2 == out and err == "", out2)
    code, out2, err = massctl(["help"])
    check("help prints the same usage", code == 0 and out2 == out, out2)
    check("the help lists every command", all("\n  %s" % c in out for c in
          ("indexes", "users", "stats", "add-user", "del-user", "auth", "dissectors",
           "raw", "hash", "help")), out)
    code, out, err = massctl(["--version"])
    check("--version prints the version", code == 0 and out.startswith("massctl "), out)
    for args, why in ((["-j", "frobnicate"], "unknown command"),
                      (["-P", "0", "-j", "users"], "not a port"),
                      (["-j", "--bogus", "users"], "unknown option --bogus"),
                      (["-j", "add-user", "bob"], "add-user NAME PASS"),
                      (["-j", "add-user", "b:ob", "pw"], "user name")):
        code, out, err = massctl(args)
        js = json.loads(out) if out.strip() else {}
        check("-j usage error %s is JSON, exit 64" % args, code == 64 and
              js.get("exit") == 64 and why in js.get("error", "") and
              set(js) == {"error", "exit"} and err.count("\n") == 1, (code, out, err))
    # hash: local, no server; the password from stdin when it is not a terminal
    for method, prefix in (([], "$y$"), (["-m", "sha512crypt"], "$6$"), (["-m", "bcrypt"], "$2b$")):
        p = subprocess.run([MASSCTL, "hash"] + method, input=b"s3cret\n", capture_output=True,
                           timeout=TIMEOUT * 3)
        out = p.stdout.decode()
        check("hash %s prints a %s crypt string" % (method, prefix), p.returncode == 0 and
              out.startswith(prefix) and out.count("\n") == 1 and "s3cret" not in out, out)
    p = subprocess.run([MASSCTL, "-j", "hash", "-m", "nope"], input=b"x\n", capture_output=True,
                       timeout=TIMEOUT * 3)
    js = json.loads(p.stdout.decode() or "{}")
    check("hash with an unknown method: exit 64, -j error object", p.returncode == 64 and
          js.get("exit") == 64 and js.get("command") == "hash", p.stdout)
    code, out, err = massctl(["frobnicate"])
    check("usage error without -j prints nothing on stdout", code == 64 and out == "", out)

    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
