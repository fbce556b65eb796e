"""socks5d as a service: the sd_notify protocol on a test $NOTIFY_SOCKET
(path and abstract), journald priority prefixes with a faked
$JOURNAL_STREAM, log levels (-d, [socks] log_level), the access log's
close record (bytes each way equal what was sent, how it ended), the MASS
0F snapshot, and the command line's --help/--version/usage exit codes.

The unit's sandbox, where systemd cannot run the unit itself: socks5d under
each risky restriction of etc/socks5d.service.in, applied by
sandbox_exec.c (libseccomp) exactly as the unit states it — the syscall
filter (@system-service without @privileged and @resources, EPERM, as
the unit's lines say), the @resources calls alone and with prlimit64 too,
MemoryDenyWriteExecute= as
systemd up to 256 enforces it (seccomp) and as the kernel does since 6.3
(PR_SET_MDWE) — starts, loads its plugins (each from a sealed memfd),
checks a yescrypt login on its hash workers, serves a SOCKS CONNECT and
MASS requests, and reloads. A restriction this machine cannot apply says
SKIP. Where systemd-nspawn is at hand, the installed unit itself runs under
systemd in a container booted from this machine's /usr."""

import datetime
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, recv_exact, recv_all, socks_connect, mass, wait_for,
                     run, SOCKS5D, TIMEOUT, MASS_ADMIN, TOP_SRCDIR, TOP_BUILDDIR)

ADMINS = {MASS_ADMIN[0]: MASS_ADMIN[1]}


class NotifySocket:
    """A Unix datagram socket standing in for systemd's notify socket."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "mass-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
            self.sock.bind("\0" + name)
            self.addr = "@" + name
        else:
            import tempfile
            self.dir = tempfile.mkdtemp(prefix="mass-notify-")
            self.addr = os.path.join(self.dir, "notify")
            self.sock.bind(self.addr)
        self.sock.settimeout(TIMEOUT)

    def expect(self, var):
        """Returns the next message, which must assign var (e.g. READY=1)."""
        msg = self.sock.recv(4096).decode()
        assert var in msg.split("\n"), (var, msg)
        return msg

    def close(self):
        self.sock.close()
        if not self.addr.startswith("@"):
            os.unlink(self.addr)
            os.rmdir(self.dir)


def notify_cycle(abstract):
    n = NotifySocket(abstract)
    env = dict(os.environ, NOTIFY_SOCKET=n.addr)
    p = Proxy(env=env).start()
    try:
        n.expect("READY=1")
        p.signal(signal.SIGHUP)
        msg = n.expect("RELOADING=1")
        usec = [l for l in msg.split("\n") if l.startswith("MONOTONIC_USEC=")]
        assert usec and int(usec[0].split("=")[1]) > 0, msg
        n.expect("READY=1")
        p.signal(signal.SIGTERM)
        n.expect("STOPPING=1")
        assert p.proc.wait(timeout=TIMEOUT) == 0
    finally:
        p.stop()
        n.close()


def test_notify_path_socket():
    notify_cycle(False)


def test_notify_abstract_socket():
    notify_cycle(True)


def test_no_notify_socket_is_fine():
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    with Proxy(env=env) as p:
        p.signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in p.stderr(), "the reload")


def test_journal_prefixes():
    p = Proxy(args=["-d"], admins=ADMINS)
    # stderr is the file the harness opens at start: name that very file
    open(p.stderr_path, "w").close()
    st = os.stat(p.stderr_path)
    p.env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    with p:
        mass(p, b"\x00")
        wait_for(lambda: "<7>debug: management:" in p.stderr(), "a debug line")
        lines = p.stderr().splitlines()
        assert any(l.startswith("<6>info: SOCKS listening on") for l in lines), lines
        assert all(l[:1] == "<" and l[2:3] == ">" for l in lines), lines
        assert not any("socks5d[" in l for l in lines), lines


PLAIN_LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z socks5d\[\d+\]: "
                        r"(error|warning|info|debug): ")


def test_journal_stream_elsewhere_keeps_plain_lines():
    """Not the journal: every line starts with its time, RFC 3339 in UTC
    with milliseconds (the journal stamps its own lines)."""
    before = time.time()
    p = Proxy(env=dict(os.environ, JOURNAL_STREAM="1:2"))
    with p:
        lines = p.stderr().splitlines()
        assert lines and all(PLAIN_LINE.match(l) for l in lines), lines
        after = time.time()
        for l in lines:
            t = datetime.datetime.strptime(PLAIN_LINE.match(l).group(1) + "+0000",
                                           "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
            assert before - 0.002 <= t <= after + 0.002, (before, l, after)


def test_log_level_from_file_and_reload():
    with Proxy(admins=ADMINS) as p:
        p.write_ini("[socks]\nlog_level = error", admins=ADMINS)
        p.signal(signal.SIGHUP)
        wait_for(lambda: "reloading" in p.stderr(), "the first reload")
        mass(p, b"\x00")
        p.write_ini("[socks]\nlog_level = info", admins=ADMINS)
        p.signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in p.stderr(), "the second reload")
        err = p.stderr()
        # at error level, the first reload's end and the second's start are not said
        assert err.count("reloading") == 1 and err.count("reloaded") == 1, err
        assert "debug:" not in err, err
    # warn: warnings (no admin configured) but none of the start-up info lines
    p = Proxy(ini="[socks]\nlog_level = warn")
    with open(p.stderr_path, "w") as err:
        proc = subprocess.Popen([SOCKS5D, "-c", p.ini_path], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for(lambda: "warning: management: no admin" in p.stderr(), "the warning")
        time.sleep(0.2)
        assert "info:" not in p.stderr(), p.stderr()
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)


def test_log_level_debug_flag():
    with Proxy(ini="[socks]\nlog_level = error", args=["-d"], admins=ADMINS) as p:
        mass(p, b"\x00")
        wait_for(lambda: "debug: management:" in p.stderr(), "a debug line")


def test_bad_log_level_refused():
    p = Proxy(ini="[socks]\nlog_level = loud").start(expect_fail=True)
    assert p.proc.wait(timeout=TIMEOUT) != 0
    assert "log_level" in p.stderr() and "not a log level" in p.stderr(), p.stderr()


class SinkServer:
    """Reads until the client's EOF, then answers `reply` octets and closes."""

    def __init__(self, reply):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.received = None
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        c, _ = self.sock.accept()
        self.received = len(recv_all(c))
        c.sendall(b"d" * self.reply)
        c.close()

    def close(self):
        self.sock.close()


def close_record(p, pred=lambda f: True):
    line = p.wait_log(lambda l: "\tC\t" in l and pred(l.split("\t")))
    return line.split("\t")


def test_close_record_counts_bytes_each_way():
    up, down = 123457, 54321
    srv = SinkServer(down)
    with Proxy(auth=True, users={"carol": "pw"}) as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", srv.port, "carol", "pw")
        assert rep == 0
        t0 = time.time()
        s.sendall(b"u" * up)
        s.shutdown(socket.SHUT_WR)
        got = recv_all(s)
        s.close()
        assert len(got) == down
        f = close_record(p)
        assert len(f) == 14, f
        assert f[1] == "carol" and f[2] == "C" and f[3] == "127.0.0.1", f
        assert f[4] == str(s_port_of(p, f)), f
        assert f[5] == "127.0.0.1" and f[6] == str(srv.port), f
        assert f[7] == "127.0.0.1" and f[8] == str(srv.port), f
        assert f[9] == str(up) and f[10] == str(down), f
        assert 0 <= int(f[11]) <= (time.time() - t0) * 1000 + 1000, f
        assert f[12] == "eof" and f[13] == "127.0.0.1", f
        assert srv.received == up
    srv.close()


def s_port_of(p, close_fields):
    """The client port of the request line that opened this tunnel."""
    line = p.wait_log(lambda l: "\tA\t" in l)
    return int(line.split("\t")[4])


def test_close_record_names_and_resolved_address():
    echo = EchoServer()
    with Proxy() as p:
        s, rep, _, _, _ = socks_connect(p.port, "localhost", echo.port)
        assert rep == 0
        s.sendall(b"hello")
        assert recv_exact(s, 5) == b"hello"
        s.close()
        f = close_record(p)
        assert f[5] == "localhost" and f[7] in ("127.0.0.1", "::1"), f
        assert f[9] == "5" and f[10] == "5" and f[12] == "eof", f
    echo.close()


def test_close_record_reset_idle_shutdown():
    echo = EchoServer()
    with Proxy(ini="[socks]\nidle_timeout = 1") as p:
        # reset: the client aborts
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        s.sendall(b"abc")
        assert recv_exact(s, 3) == b"abc"
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        f = close_record(p)
        assert f[12] == "reset" and f[9] == "3", f
        # idle: nothing moves for idle_timeout
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        f = close_record(p, lambda f: f[12] == "idle")
        assert f[9] == "0" and f[10] == "0" and int(f[11]) >= 900, f
        s.close()
    with Proxy(ini="[socks]\nshutdown_timeout = 1") as p:
        # shutdown: still open when the grace period ends
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        s.sendall(b"x")
        assert recv_exact(s, 1) == b"x"
        p.signal(signal.SIGTERM)
        assert p.proc.wait(timeout=TIMEOUT) == 0
        f = close_record(p, lambda f: f[12] == "shutdown")
        assert f[9] == "1" and f[10] == "1", f
        s.close()
    echo.close()


def test_snapshot_index_0f():
    echo = EchoServer()
    with Proxy(indexes=["%02X = metrics" % i for i in range(2, 10)] + ["0F = metrics"],
               admins=ADMINS) as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        s.sendall(b"z" * 1000)
        recv_exact(s, 1000)
        s.close()
        close_record(p)
        r = mass(p, b"\x0f")
        assert r[0] == 0 and r[1] == 8 and len(r) == 2 + 8 * 8, r
        v = struct.unpack(">8Q", r[2:])
        assert v[0] == 1 and v[3] == 2000 and v[5] == 1, v   # 02, 05, 07
    echo.close()


# --- the unit's sandbox -------------------------------------------------------

SANDBOX_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_exec.c")
_sandbox = {}
# "secret" as yescrypt (libxcrypt): the login runs on the hash workers,
# which renice themselves (setpriority, in @resources)
YESCRYPT_SECRET = "$y$j9T$DZws5d1i/6XhuqooG5gIF/$cGuhvWs3HTCuIOZ1a1z8zAFDy5a9XMJiLtRy03sdQB0"
# systemd 252's @resources, for a machine without systemd-analyze
RESOURCES = ("ioprio_set mbind migrate_pages move_pages nice sched_setaffinity sched_setattr "
             "sched_setparam sched_setscheduler set_mempolicy set_mempolicy_home_node "
             "setpriority setrlimit").split()


def sandbox_launcher():
    """sandbox_exec built once; None (the reason printed) when it cannot be."""
    if "path" not in _sandbox:
        import tempfile
        out = os.path.join(tempfile.mkdtemp(prefix="mass-sandbox-"), "sandbox_exec")
        r = subprocess.run([os.environ.get("CC_FOR_TESTS", "cc"), "-std=c11", "-D_GNU_SOURCE",
                            "-Wall", "-Wextra", "-Werror", "-o", out, SANDBOX_SRC, "-lseccomp"],
                           capture_output=True, text=True, timeout=120)
        _sandbox["path"] = out if r.returncode == 0 else None
        _sandbox["why"] = r.stderr.strip().splitlines()[-1:] if r.returncode else ""
    if _sandbox["path"] is None:
        print("SKIP: sandbox_exec does not build (libseccomp-dev?): %s" % _sandbox["why"])
    return _sandbox["path"]


def syscall_groups():
    """{"@group": [names and @groups]} from systemd-analyze, or None."""
    try:
        r = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True,
                           text=True, timeout=30)
    except FileNotFoundError:
        return None
    if r.returncode != 0:
        return None
    groups, cur = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("@"):
            cur = groups.setdefault(line.strip(), [])
        elif cur is not None and line.strip() and not line.strip().startswith("#"):
            cur.append(line.strip())
    return groups


def expand(groups, names):
    out, todo = set(), list(names)
    while todo:
        n = todo.pop()
        if n.startswith("@"):
            todo += [m for m in groups.get(n, []) if m not in out]
        out.add(n)
    return {n for n in out if not n.startswith("@")}


def thread_nices(pid):
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            out.append(int(f.read().rsplit(")", 1)[1].split()[16]))
    return out


def serves_sandboxed(*opts, renice=False):
    """socks5d under sandbox_exec opts: starts, loads plugins, logs in with
    a yescrypt password, relays, answers MASS, reloads, stops cleanly.
    Returns False (SKIP printed) when the restriction cannot be applied."""
    import harness
    import tempfile
    launcher = sandbox_launcher()
    if launcher is None:
        return False
    probe = subprocess.run([launcher] + list(opts) + ["--", "true"], capture_output=True,
                           text=True, timeout=TIMEOUT)
    if probe.returncode == 77:
        print("SKIP: %s" % probe.stderr.strip())
        return False
    assert probe.returncode == 0, probe.stderr
    wrapper = os.path.join(tempfile.mkdtemp(prefix="mass-sandbox-"), "socks5d")
    # socks5d at nice 0 (a niced make check would hide the workers' renice)
    base = os.nice(0)
    prefix = "nice -n %d " % -base if base > 0 and os.geteuid() == 0 else ""
    if base >= 10 and not prefix:
        renice = None
    # LeakSanitizer's exit scan needs ptrace, which the unit's filter denies:
    # a sanitizer build runs sandboxed without it (leaks are checked by
    # every other test)
    lsan = ("export ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\"\n"
            if harness.sanitized_build() else "")
    with open(wrapper, "w") as f:
        # a soft descriptor limit below the hard one: socks5d raises it (setrlimit)
        f.write("#!/bin/sh\nulimit -Sn 512 2>/dev/null\n%sexec %s'%s' %s -- '%s' \"$@\"\n" % (
            lsan, prefix, launcher, " ".join("'%s'" % o for o in opts), harness.SOCKS5D))
    os.chmod(wrapper, 0o755)
    echo = EchoServer()
    real, harness.SOCKS5D = harness.SOCKS5D, wrapper
    try:
        p = Proxy(auth=True, users={"alice": YESCRYPT_SECRET}, admins=ADMINS).start()
    finally:
        harness.SOCKS5D = real
    try:
        # the plugins came from memfds: mapped executable under the restriction
        with open("/proc/%d/maps" % p.proc.pid) as f:
            maps = f.read()
        assert "memfd:" in maps and "metrics" in maps, maps
        # the restriction is in force: no new privileges, the filters loaded
        with open("/proc/%d/status" % p.proc.pid) as f:
            status = f.read()
        assert "\nNoNewPrivs:\t1" in status, status
        if "-m" not in opts:
            assert "\nSeccomp:\t2" in status, status
        assert mass(p, b"\x00")[:1] == b"\x00"
        for i in (2, 3):
            r = mass(p, bytes([i]))
            assert r[0] == 0 and len(r) == 5, r
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "alice", "secret")
        assert rep == 0, rep
        # the hash workers renice themselves to 10 unless setpriority is denied
        niced = thread_nices(p.proc.pid).count(10)
        if renice is None:
            print("     (running at nice %d: the workers' renice not checked)" % base)
        elif renice:
            assert niced > 0, thread_nices(p.proc.pid)
        else:
            assert niced == 0, thread_nices(p.proc.pid)
        s.sendall(b"through the sandbox")
        assert recv_exact(s, 19) == b"through the sandbox"
        s.close()
        p.signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in p.stderr(), "the reload")
        assert mass(p, b"\x02")[0] == 0
        p.signal(signal.SIGTERM)
        assert p.proc.wait(timeout=TIMEOUT) == 0, p.stderr()
        text = p.stderr()
        assert "error" not in text.lower(), text
    finally:
        p.stop()
        echo.close()
    print("     under %s: %s" % (" ".join(opts)[:60], " | ".join(
        l.split(": ", 1)[-1] for l in text.splitlines() if "open-file limit" in l) or
        "the open-file limit stayed"))
    return True


def unit_allowed_syscalls(groups):
    """The allow-list the unit's SystemCallFilter= lines make, in systemd's
    order: the first sets it, each ~ line takes away, each other adds."""
    allowed = None
    with open(os.path.join(TOP_SRCDIR, "etc", "socks5d.service.in")) as f:
        for line in f:
            if not line.startswith("SystemCallFilter="):
                continue
            value = line.split("=", 1)[1].strip()
            names = expand(groups, value.lstrip("~").split())
            if value.startswith("~"):
                allowed -= names
            elif allowed is None:
                allowed = names
            else:
                allowed |= names
    return allowed


def test_sandbox_unit_syscall_filter():
    """The unit's SystemCallFilter= lines (@system-service, ~@privileged
    @resources, setpriority) with SystemCallErrorNumber=EPERM: the hash
    workers still renice themselves."""
    groups = syscall_groups()
    if groups is None:
        print("SKIP: systemd-analyze (to expand the unit's groups) not installed")
        return
    allowed = unit_allowed_syscalls(groups)
    assert "setrlimit" not in allowed and "sched_setattr" not in allowed, sorted(allowed)
    serves_sandboxed("-a", ",".join(sorted(allowed)), renice=True)


def test_sandbox_resources_denied():
    """The @resources calls alone (setrlimit, setpriority, sched_setattr, ...)."""
    groups = syscall_groups()
    names = sorted(expand(groups, ["@resources"])) if groups else RESOURCES
    serves_sandboxed("-d", ",".join(names))


def test_sandbox_resources_and_prlimit_denied():
    """Stricter than the unit (which keeps prlimit64, in @default): the
    descriptor limit cannot be raised at all, and socks5d still serves."""
    import harness
    if harness.sanitized_build():
        print("SKIP: AddressSanitizer's own start-up reads the limits with prlimit64")
        return
    serves_sandboxed("-d", ",".join(RESOURCES + ["prlimit64"]))


def test_sandbox_memory_deny_write_execute_seccomp():
    """MemoryDenyWriteExecute=yes as systemd 252 (Debian 12) enforces it."""
    serves_sandboxed("-w", renice=True)


def test_sandbox_memory_deny_write_execute_prctl():
    """MemoryDenyWriteExecute=yes as the kernel enforces it (Linux >= 6.3)."""
    serves_sandboxed("-m", renice=True)


# --- the unit itself, under systemd in a container --------------------------

REPORTER = """[Unit]
Description=reports socks5d.service to the test
After=socks5d.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'o=/var/mass-test; \\
  for i in $(seq 100); do systemctl is-active -q socks5d && break; sleep 0.2; done; \\
  pid=$(systemctl show -p MainPID --value socks5d); \\
  systemctl status --no-pager socks5d > $o/status 2>&1; cat /proc/$pid/status > $o/proc; \\
  id socks5d > $o/id 2>&1; touch $o/ready; \\
  for i in $(seq 300); do [ -e $o/reload ] && break; sleep 0.1; done; \\
  for t in /proc/$pid/task/*; do cut -d" " -f19 $t/stat; done > $o/nices; \\
  systemctl reload socks5d; sleep 0.5; systemctl is-active socks5d > $o/active 2>&1; \\
  journalctl -u socks5d --no-pager > $o/journal 2>&1; touch $o/reloaded'
"""


def make_var(name):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run([os.environ.get("MAKE", "make"), "-s", "-C", TOP_BUILDDIR, "-f", "Makefile",
                        "-f", "-", "print-var"], input="print-var:\n\t@echo $(%s)\n" % name,
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def wait_file(path, proc, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(path):
            return True
        time.sleep(0.2)
    return os.path.exists(path)


def test_unit_under_systemd_nspawn():
    """etc/socks5d.service as installed, run by systemd (booted with
    systemd-nspawn --volatile=yes on this machine's /usr): the account comes
    from the installed sysusers.d file at boot, the unit starts socks5d as
    that user with its whole sandbox (no capabilities, the syscall filter,
    MemoryDenyWriteExecute with plugins from memfds), socks5d tells systemd
    it is ready, serves a yescrypt login and CONNECT and MASS requests, its
    hash workers run at nice 10, `systemctl reload` reloads it, and nothing
    it logs is an error or a degraded ACL. $SYSTEMD_NSPAWN names the binary
    when it is not in PATH."""
    import shutil
    import tempfile
    nspawn = os.environ.get("SYSTEMD_NSPAWN") or shutil.which("systemd-nspawn")
    if nspawn is None or os.geteuid() != 0 or not os.environ.get("MASS_NETNS"):
        print("SKIP: needs systemd-nspawn (or $SYSTEMD_NSPAWN), root and a network namespace")
        return
    prefix = make_var("prefix")
    if prefix in ("/", "/usr") or not prefix.startswith("/"):
        print("SKIP: prefix %s cannot be bound into the container on its own" % prefix)
        return
    top = tempfile.mkdtemp(prefix="mass-nspawn-")
    stage, out = os.path.join(top, "stage"), os.path.join(top, "out")
    os.makedirs(out)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run([os.environ.get("MAKE", "make"), "-s", "-C", TOP_BUILDDIR, "install",
                        "DESTDIR=" + stage], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    unit = stage + make_var("systemdsystemunitdir") + "/socks5d.service"
    sysusers = stage + make_var("sysusersdir") + "/socks5d.conf"
    ini = stage + make_var("sysconfdir") + "/mass.ini"
    with open(ini) as f:
        text = f.read()
    # the shipped file, with a user (yescrypt: the hash workers), an admin,
    # loopback only and the log where the unit's LogsDirectory= is
    text = text.replace("listen = 0.0.0.0, ::", "listen = 127.0.0.1")
    text = text.replace("[users] ", "[users]\nalice = %s\n;" % YESCRYPT_SECRET, 1)
    text = text.replace("[admins]", "[admins]\nadmin = pw", 1)
    lines = ["access_log = /var/log/mass/access.log" if l.startswith("access_log =") else l
             for l in text.splitlines()]
    with open(ini, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(ini, 0o644)  # its group would be socks5d, made only at boot
    with open(os.path.join(top, "reporter.service"), "w") as f:
        f.write(REPORTER)
    # the shipped mass.ini allows the README's web server on 127.0.0.1:8000
    target = socket.socket()
    target.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    target.bind(("127.0.0.1", 8000))
    target.listen(8)
    echo = EchoServer.__new__(EchoServer)
    echo.sock, echo.stopped, echo.conns = target, False, []
    threading.Thread(target=echo._accept, daemon=True).start()
    cmd = [nspawn, "-D", "/", "--volatile=yes", "--register=no", "--keep-unit",
           "--machine=mass-test-%d" % os.getpid(), "--console=pipe",
           "--bind-ro=%s%s:%s" % (stage, prefix, prefix),
           "--bind-ro=%s:/etc/systemd/system/socks5d.service" % unit,
           "--bind-ro=%s:/etc/sysusers.d/socks5d.conf" % sysusers,
           "--bind-ro=%s/reporter.service:/etc/systemd/system/mass-reporter.service" % top,
           "--bind=%s:/var/mass-test" % out,
           "-b", "systemd.firstboot=off", "systemd.wants=socks5d.service",
           "systemd.wants=mass-reporter.service"]
    boot = open(os.path.join(top, "boot.log"), "w+")
    c = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=boot, stderr=subprocess.STDOUT)
    try:
        if not wait_file(os.path.join(out, "ready"), c, 90):
            boot.seek(0)
            print("SKIP: the container did not boot here:\n" + boot.read()[-1500:])
            return
        status = open(os.path.join(out, "status")).read()
        assert "active (running)" in status and 'Status: "serving"' in status, status
        uid = int(open(os.path.join(out, "id")).read().split("uid=")[1].split("(")[0])
        assert 0 < uid < 1000, uid  # a system user, made by systemd-sysusers
        proc = open(os.path.join(out, "proc")).read()
        for want in ("\nUid:\t%d\t" % uid, "\nCapEff:\t0000000000000000", "\nNoNewPrivs:\t1",
                     "\nSeccomp:\t2"):
            assert want in proc, (want, proc)
        s, rep, _, _, _ = socks_connect(1080, "127.0.0.1", 8000, "alice", "secret")
        assert rep == 0, rep
        s.sendall(b"through the unit")
        assert recv_exact(s, 16) == b"through the unit"
        s.close()
        m = socket.create_connection(("127.0.0.1", 8080), timeout=TIMEOUT)
        m.sendall(b"\x01\x01\x02\x01\x05admin\x02pw\x02")
        got = recv_all(m)
        m.close()
        assert got[:5] == b"\x01\x02\x01\x00\x00" and len(got) == 9, got
        open(os.path.join(out, "reload"), "w").close()
        assert wait_file(os.path.join(out, "reloaded"), c, 30)
        nices = open(os.path.join(out, "nices")).read().split()
        assert "0" in nices and "10" in nices, nices  # the loop, and its hash workers
        assert open(os.path.join(out, "active")).read().strip() == "active"
        journal = open(os.path.join(out, "journal")).read()
        assert "reloaded " in journal, journal
        bad = [l for l in journal.splitlines() if ": error:" in l or
               ("warning:" in l and "plaintext password" not in l)]
        assert not bad, "\n".join(bad)
    finally:
        c.send_signal(signal.SIGTERM)  # an orderly halt of the container
        try:
            c.wait(timeout=60)
        except subprocess.TimeoutExpired:
            c.kill()
            c.wait(timeout=10)
        target.close()
        shutil.rmtree(top, ignore_errors=True)


def cli(*args):
    r = subprocess.run([SOCKS5D] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=TIMEOUT)
    return r.returncode, r.stdout, r.stderr


def test_help_version_usage():
    rc, out, err = cli("--help")
    assert rc == 0 and "usage: socks5d" in out and "--version" in out and err == "", (rc, out, err)
    rc, out, err = cli("-h")
    assert rc == 0 and "usage: socks5d" in out, (rc, out)
    rc, out, err = cli("--version")
    assert rc == 0 and out.startswith("socks5d (mass) "), (rc, out)
    rc, out, err = cli("-v")
    assert rc == 0 and out.startswith("socks5d (mass) "), (rc, out)
    for bad in (["--nope"], ["-x"], ["extra"], ["-p", "70000"], ["-c"]):
        rc, out, err = cli(*bad)
        assert rc == 64 and "usage" in err + out or rc == 64, (bad, rc, out, err)


if __name__ == "__main__":
    sys.exit(run([
        test_notify_path_socket,
        test_notify_abstract_socket,
        test_no_notify_socket_is_fine,
        test_journal_prefixes,
        test_journal_stream_elsewhere_keeps_plain_lines,
        test_log_level_from_file_and_reload,
        test_log_level_debug_flag,
        test_bad_log_level_refused,
        test_close_record_counts_bytes_each_way,
        test_close_record_names_and_resolved_address,
        test_close_record_reset_idle_shutdown,
        test_snapshot_index_0f,
        test_help_version_usage,
        test_sandbox_unit_syscall_filter,
        test_sandbox_resources_denied,
        test_sandbox_resources_and_prlimit_denied,
        test_sandbox_memory_deny_write_execute_seccomp,
        test_sandbox_memory_deny_write_execute_prctl,
        test_unit_under_systemd_nspawn,
    ]))
