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


def mstr(s):
    b = s.encode()
    return bytes([len(b)]) + b


INFO_LAYOUT = ("version:str,start_time:u64,uptime:u64,indexes:[index:u8,plugin:str,"
               "plugin_version:str,usage:str,signature:str,layout:str]")


def info_reply(rows, rows12=True):
    """A 14 reply: rows of (index, plugin, signature, layout); rows12 False: 1.1 rows."""
    out = b"\x00" + mstr("1.2.0") + (1000).to_bytes(8, "big") + (60).to_bytes(8, "big")
    out += bytes([len(rows)])
    for ix, plugin, sig, layout in rows:
        out += bytes([ix]) + mstr(plugin) + mstr("1.0.0") + mstr("usage of %s" % plugin)
        if rows12:
            out += mstr(sig) + mstr(layout)
    return out


def third_party_on_14():
    """A third-party plugin on 14 (not info): indexes and info degrade to the 00 list."""
    listed = b"\x00\x04\x00\x01\x0e\x14"
    plain = "00\n01\n0e\n14\n"
    # its reply is no info reply at all
    case("indexes: a third-party plugin on 14 leaves the plain list",
         [conn(b"\x00", listed), conn(b"\x14", b"\x00\x05hello")], ["indexes"],
         stdout=plain, stderr="massctl: indexes: note: index 14 is not the info plugin")
    out = case("indexes -j: a third-party plugin on 14",
               [conn(b"\x00", listed), conn(b"\x14", b"\x00\x05hello")], ["-j", "indexes"])
    check("indexes -j with a third party on 14 is the plain list",
          out and json.loads(out) == {"indexes": ["00", "01", "0e", "14"]}, out)
    out = case("info: a third-party plugin on 14 gives the served indexes",
               [conn(b"\x14", b"\x00\x05hello"), conn(b"\x00", listed)], ["info"],
               stdout=plain, stderr="massctl: info: note: index 14 is not the info plugin")
    # a well-formed info reply whose own row is not "info"
    mine = info_reply([(0x0e, "uptime", "", ""), (0x14, "mine", "s", "")])
    case("indexes: an info-shaped reply whose row 14 is another plugin",
         [conn(b"\x00", listed), conn(b"\x14", mine)], ["indexes"], stdout=plain,
         stderr="does not name plugin info")
    # neither "reply truncated" nor a failure when the reply is cut
    case("indexes: a cut reply on 14 is no failure",
         [conn(b"\x00", listed), conn(b"\x14", info_reply([(0x14, "info", "", "")])[:-3])],
         ["indexes"], stdout=plain, stderr="not the info plugin")
    # the bundled commands: 10 is not sessions' when info says so; nothing sent there
    real = info_reply([(0x00, "core", "", ""), (0x10, "mine", "", ""),
                       (0x14, "info", "", INFO_LAYOUT)])
    case("sessions: 10 served by another plugin (info) is not asked",
         [conn(b"\x14", real)], ["sessions"], rc=2,
         stderr="massctl: sessions: index 10 is served by another plugin than sessions (info)")
    case("sessions: info not served: the documented 10, said with -V",
         [conn(b"\x14", b"\x02"), conn(b"\x10", b"\x00" + bytes(8))], ["-V", "sessions"],
         stdout="ID\tSTATE\tCMD\tUSER\tCLIENT\tDESTINATION\tFROM_CLIENT\tTO_CLIENT\tAGE_S\n",
         stderr="using the documented index 10 of plugin sessions")
    # 1.1 rows still read
    old = info_reply([(0x00, "core", "", ""), (0x14, "info", "", "")], rows12=False)
    case("info: rows of a server before ABI 1.2",
         [conn(b"\x14", old)], ["info"],
         stdout="socks5d 1.2.0\nstarted 1000 (Unix time)\nuptime 60 s\n"
                "00  core 1.0.0  usage of core\n14  info 1.0.0  usage of info\n")


def layout_decoded_replies():
    """raw and -j decode a third-party reply by the layout of its info row."""
    layout = "total:u32,items:[name:str,bytes:u64]"
    rows = [(0x00, "core", "", ""), (0x14, "info", "", INFO_LAYOUT),
            (0x90, "thirdparty", "s", layout)]
    reply = (b"\x00" + (7).to_bytes(4, "big") + b"\x02" + mstr("a\"b") + (2**40).to_bytes(8, "big")
             + mstr("") + (0).to_bytes(8, "big"))
    out = case("raw -j: a third-party reply decoded by its layout",
               [conn(b"\x90\x03abc", reply), conn(b"\x14", info_reply(rows))],
               ["-j", "raw", "90", "abc"])
    js = json.loads(out) if out else {}
    check("raw -j fields by name", js.get("fields") == {
        "total": 7, "items": [{"name": "a\"b", "bytes": 2**40}, {"name": "", "bytes": 0}]}
        and js.get("data") == reply[1:].hex() and js.get("status") == "00", out)
    case("raw: a third-party reply decoded as text",
         [conn(b"\x90\x03abc", reply), conn(b"\x14", info_reply(rows))],
         ["raw", "90", "abc"],
         stdout="status 00\ndata %s\ntotal 7\nitems[0].name a\"b\nitems[0].bytes %d\n"
                "items[1].name \nitems[1].bytes 0\n" % (reply[1:].hex(), 2**40))
    out = case("raw -j: a reply cut short of its layout is an error, said in the object",
               [conn(b"\x90\x03abc", reply[:-2]), conn(b"\x14", info_reply(rows))],
               ["-j", "raw", "90", "abc"], rc=76)
    js = json.loads(out) if out else {}
    check("raw -j layout_error names the field", js.get("layout_error", "").startswith(
        "reply truncated: items[1].bytes (u64)") and "fields" not in js, out)


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

    case("raw: text and x:HEX parameters (info not served: hex only)",
         [conn(b"\x0e\x02hi\xff\x00\x00", b"\x00\x01\x02"), conn(b"\x14", b"\x02")],
         ["raw", "0x0E", "hi", "x:ff00", ""], stdout="status 00\ndata 0102\n")
    case("raw: failure status is printed and sets the exit status",
         [conn(b"\x7f", b"\x02")], ["raw", "7f"], rc=2, stdout="status 02\ndata\n")
    out = case("raw -j", [conn(b"\x10", b"\x00\xab"), conn(b"\x14", b"\x02")],
               ["-j", "raw", "10"])
    check("raw -j is JSON", out and json.loads(out) ==
          {"index": "10", "status": "00", "data": "ab"}, out)
    case("raw: unknown status exits 4", [conn(b"\x20", b"\x09")], ["raw", "20"], rc=4)

    third_party_on_14()
    layout_decoded_replies()

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
