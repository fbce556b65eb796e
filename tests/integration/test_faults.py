"""socks5d under faults: descriptor exhaustion, slowloris, floods, targets
that blackhole or reset, DNS failure, clients vanishing in every state,
max_clients and every timeout, and the users store under failure. Each case
ends by checking that the server still serves a new client and, where the
case allocates, that its descriptors come back."""

import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, massctl, blackhole, free_port, recv_exact,
                     recv_all, read_reply, request_bytes, socks_connect, run,
                     TOP_SRCDIR, TOP_BUILDDIR, TIMEOUT)

DNS_STUB = os.path.join(TOP_SRCDIR, "tests", "integration", "dns_stub.py")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def fd_count(pid):
    """Open descriptors but the pooled splice pipes, which are kept for reuse."""
    n = 0
    for f in os.listdir("/proc/%d/fd" % pid):
        try:
            if not os.readlink("/proc/%d/fd/%s" % (pid, f)).startswith("pipe:"):
                n += 1
        except FileNotFoundError:
            pass
    return n


def wait_fds(pid, at_most, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = fd_count(pid)
        if n <= at_most:
            return n
        time.sleep(0.05)
    raise AssertionError("socks5d still holds %d descriptors (wanted <= %d)"
                         % (fd_count(pid), at_most))


def still_serves(p, echo):
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
    assert rep == 0, rep
    s.sendall(b"still serving")
    assert recv_exact(s, 13) == b"still serving"
    s.close()


def serves_again(p, echo, pause):
    """still_serves, retried every pause seconds for up to TIMEOUT while the
    server recovers from an exhaustion."""
    deadline = time.time() + TIMEOUT
    while True:
        try:
            still_serves(p, echo)
            return
        except (AssertionError, OSError, EOFError):
            if time.time() > deadline:
                raise
            time.sleep(pause)


class DnsStub:
    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, DNS_STUB, "--port", "0"] + list(args),
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


def test_fd_exhaustion_pauses_accepts_without_spinning():
    """RLIMIT_NOFILE 48 (soft and hard, so socks5d cannot raise it): 120
    clients exhaust it; accept pauses, the process stays nearly idle, and
    once clients leave, accepts resume."""
    raise_nofile(1024)
    echo = EchoServer()
    limit = 48

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    p = Proxy("[socks]\nhandshake_timeout = 60")
    orig = subprocess.Popen

    def popen_low(*a, **kw):
        kw["preexec_fn"] = low_limit
        return orig(*a, **kw)

    subprocess.Popen = popen_low
    try:
        p.start()
    finally:
        subprocess.Popen = orig
    try:
        held = []
        for _ in range(120):
            # a first byte: listeners defer accept until a client has spoken
            s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
            s.sendall(b"\x05")
            held.append(s)
        time.sleep(0.5)
        assert fd_count(p.proc.pid) >= limit - 2, fd_count(p.proc.pid)
        before = cpu_seconds(p.proc.pid)
        time.sleep(2.0)
        used = cpu_seconds(p.proc.pid) - before
        # a spinning accept loop would burn the whole 2 s
        assert used < 1.0, "%.2f s of CPU in 2 s of exhaustion: accept spins" % used
        assert "pausing accepts" in p.stderr(), p.stderr()
        for s in held:
            s.close()
        serves_again(p, echo, 0.2)
    finally:
        p.stop()
    echo.close()


def test_slowloris_1000_clients_while_one_is_served():
    raise_nofile(4096)
    echo = EchoServer()
    with Proxy("[socks]\nhandshake_timeout = 2") as p:
        base = fd_count(p.proc.pid)
        slow = []
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
            s.sendall(b"\x05")
            slow.append(s)
        still_serves(p, echo)
        # every slow client is dropped at its deadline
        for s in slow:
            assert recv_all(s, 10) == b""
            s.close()
        wait_fds(p.proc.pid, base)
        still_serves(p, echo)
    echo.close()


def test_connection_flood():
    raise_nofile(4096)
    echo = EchoServer()
    with Proxy() as p:
        base = fd_count(p.proc.pid)
        errors = []

        def flood():
            try:
                for i in range(500):
                    s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
                    if i % 2:
                        s.sendall(b"\x05\x01\x00")
                    s.close()
            except OSError as e:
                errors.append(e)

        threads = [threading.Thread(target=flood) for _ in range(4)]
        for t in threads:
            t.start()
        still_serves(p, echo)
        for t in threads:
            t.join(60)
        assert not errors, errors
        wait_fds(p.proc.pid, base)
        still_serves(p, echo)
    echo.close()


def test_max_clients_refuses_only_the_excess():
    echo = EchoServer()
    with Proxy("[socks]\nmax_clients = 5\nhandshake_timeout = 30") as p:
        tunnels = []
        for _ in range(5):
            s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
            assert rep == 0
            tunnels.append(s)
        extra = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        try:
            # closed unanswered, long before handshake_timeout (30 s)
            extra.sendall(b"\x05\x01\x00")
            assert recv_all(extra, 4) == b""
        except ConnectionResetError:
            pass
        for i, s in enumerate(tunnels):
            s.sendall(b"tunnel %d" % i)
            assert recv_exact(s, 8) == b"tunnel %d" % i
        tunnels.pop().close()
        serves_again(p, echo, 0.1)
        for s in tunnels:
            s.close()
    echo.close()


def test_blackhole_target_gets_rep_06_and_others_are_served():
    echo = EchoServer()
    port, keep = blackhole()
    with Proxy("[socks]\nconnect_timeout = 1") as p:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.sendall(b"\x05\x01\x00" + request_bytes("127.0.0.1", port))
        assert recv_exact(s, 2) == b"\x05\x00"
        t = time.time()
        still_serves(p, echo)
        rep, _, _, _ = read_reply(s)
        assert rep == 6, rep
        assert 0.8 < time.time() - t < 5
        s.close()
        still_serves(p, echo)
    for k in keep:
        k.close()
    echo.close()


def test_target_reset_mid_transfer_ends_the_tunnel():
    echo = EchoServer()
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(1)

    def target():
        c, _ = l.accept()
        c.recv(100)
        c.sendall(b"partial answer")
        time.sleep(0.2)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

    th = threading.Thread(target=target)
    th.start()
    with Proxy() as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", l.getsockname()[1])
        assert rep == 0
        s.sendall(b"request")
        got = b""
        try:
            got = recv_all(s, 5)
        except ConnectionResetError:
            pass
        assert got in (b"", b"partial answer"), got
        s.close()
        still_serves(p, echo)
    th.join(5)
    l.close()
    echo.close()


def test_dns_failure_is_rep_04():
    echo = EchoServer()
    stub = DnsStub("--silent", "silent.test")
    try:
        # an unreachable resolver (nothing on that UDP port) and a silent one
        for resolver, name in (("127.0.0.1:%d" % free_port(), "any.test"),
                               ("127.0.0.1:%d" % stub.port, "silent.test")):
            with Proxy("[socks]\nresolver = %s" % resolver) as p:
                s, rep, _, _, _ = socks_connect(p.port, name, 80)
                assert rep == 4, (resolver, rep)
                s.close()
                still_serves(p, echo)
    finally:
        stub.close()
    echo.close()


def vanish(s, rst):
    if rst:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_clients_vanishing_in_every_state():
    echo = EchoServer()
    port, keep = blackhole()
    stub = DnsStub("--silent", "silent.test")
    greeting = b"\x05\x01\x02"
    auth = b"\x01\x05alice\x0awonderland"
    states = [
        ("after connect", b"", None),
        ("mid-greeting", greeting[:2], None),
        ("mid-auth", greeting + auth[:4], None),
        ("mid-request", greeting + auth + request_bytes("127.0.0.1", echo.port)[:5], None),
        ("while resolving", greeting + auth + request_bytes("silent.test", 80), None),
        ("while connecting", greeting + auth + request_bytes("127.0.0.1", port), None),
        ("mid-relay", greeting + auth + request_bytes("127.0.0.1", echo.port), b"x" * 65536),
    ]
    try:
        with Proxy("[socks]\nconnect_timeout = 1\nresolver = 127.0.0.1:%d" % stub.port,
                   auth=True, users={"alice": "wonderland"}) as p:
            still_serves_auth = lambda: _serve_auth(p, echo)
            still_serves_auth()
            # the base once that tunnel is closed: sampled while its two
            # sockets were still open, it let two sessions outlive the test
            p.wait_log(lambda l: "\tC\t" in l)
            base = fd_count(p.proc.pid)
            for rst in (False, True):
                for name, head, payload in states:
                    s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
                    if head:
                        s.sendall(head)
                    if payload is not None:
                        assert recv_exact(s, 4) == b"\x05\x02\x01\x00"
                        assert read_reply(s)[0] == 0
                        s.sendall(payload)
                    else:
                        time.sleep(0.2)
                    vanish(s, rst)
                    still_serves_auth()
                # every session ends: at once, or at its resolve/connect deadline
                wait_fds(p.proc.pid, base, timeout=8)
    finally:
        stub.close()
        for k in keep:
            k.close()
    echo.close()


def _serve_auth(p, echo):
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "alice", "wonderland")
    assert rep == 0, rep
    s.sendall(b"ok")
    assert recv_exact(s, 2) == b"ok"
    s.close()


def test_client_reset_after_its_fin_ends_the_tunnel_at_once():
    """The client half-closes, then resets (as a client that close()d does
    once data reaches it); the target stays open and quiet. Nothing flows
    toward the client, yet the tunnel ends at once, not at fin_timeout."""
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(8)
    held = []
    with Proxy(admins={"admin": "pw"}) as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", target.getsockname()[1])
        assert rep == 0, rep
        held.append(target.accept()[0])
        s.sendall(b"x" * 1000)
        s.shutdown(socket.SHUT_WR)
        assert recv_exact(held[0], 1000) == b"x" * 1000
        assert held[0].recv(1) == b""  # the client's FIN passed on
        base = fd_count(p.proc.pid)
        vanish(s, True)
        t = time.time()
        wait_fds(p.proc.pid, base - 2, timeout=3)
        line = p.wait_log(lambda l: "\tC\t" in l)
        assert line.split("\t")[12] == "reset", line
        print("     closed %.2f s after the reset" % (time.time() - t))
    for c in held + [target]:
        c.close()


def test_fin_timeout_ends_half_closed_tunnels():
    """The client half-closes, the target neither answers nor closes: after
    fin_timeout the tunnel is torn down."""
    echo = EchoServer()
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(l.accept()[0]), daemon=True).start()
    with Proxy("[socks]\nfin_timeout = 1\nidle_timeout = 60") as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", l.getsockname()[1])
        assert rep == 0
        s.shutdown(socket.SHUT_WR)
        t = time.time()
        assert recv_all(s, 8) == b""
        assert 0.8 < time.time() - t < 5, time.time() - t
        s.close()
        still_serves(p, echo)
    for c in held:
        c.close()
    l.close()
    echo.close()


def test_shutdown_with_sessions_in_every_state():
    """SIGTERM while sessions greet, resolve, connect and relay: the grace
    period ends them all, the exit status is 0 and (in a sanitizer build)
    nothing leaks."""
    echo = EchoServer()
    port, keep = blackhole()
    stub = DnsStub("--silent", "silent.test")
    try:
        p = Proxy("[socks]\nshutdown_timeout = 1\nconnect_timeout = 30\n"
                  "resolver = 127.0.0.1:%d" % stub.port).start()
        socks = []
        for req in (None, b"\x05", request_bytes("silent.test", 80),
                    request_bytes("127.0.0.1", port)):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
            if req is not None:
                s.sendall(req if req == b"\x05" else b"\x05\x01\x00" + req)
            socks.append(s)
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        assert rep == 0
        s.sendall(b"y" * 100000)
        socks.append(s)
        time.sleep(0.3)
        assert p.stop() == 0
        for s in socks:
            s.close()
    finally:
        stub.close()
        for k in keep:
            k.close()
    echo.close()


def test_drop_privileges_after_binding():
    """[socks] user: root binds, then runs as that user with no extra groups;
    an unknown user stops the start."""
    p = Proxy("[socks]\nuser = no-such-user-here")
    p.start(expect_fail=True)
    assert p.proc.wait(timeout=TIMEOUT) != 0
    assert "no-such-user-here" in p.stderr(), p.stderr()
    if os.geteuid() != 0:
        print("     (skipped the drop itself: needs root)")
        return
    echo = EchoServer()
    with Proxy("[socks]\nuser = nobody") as p:
        with open("/proc/%d/status" % p.proc.pid) as f:
            status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        nobody = __import__("pwd").getpwnam("nobody")
        assert status["Uid"].split() == [str(nobody.pw_uid)] * 4, status["Uid"]
        assert status["Gid"].split() == [str(nobody.pw_gid)] * 4, status["Gid"]
        assert status["Groups"].split() == [], status["Groups"]
        assert "dropped privileges to nobody" in p.stderr(), p.stderr()
        still_serves(p, echo)
    echo.close()


def _mgmt_ready():
    """MASS 0A needs the management server and its plugins."""
    if not os.path.isdir(os.path.join(TOP_SRCDIR, "plugins")) or \
       not os.path.isdir(os.path.join(TOP_BUILDDIR, "plugins", ".libs")):
        print("     (skipped: needs MASS 0A, which comes with the management server and plugins/)")
        return False
    return True


def _massctl(p, *args):
    return massctl(p, *args, login="root:toor", timeout=5)


def test_unwritable_users_file_refuses_additions():
    if not _mgmt_ready():
        return
    echo = EchoServer()
    d = tempfile.mkdtemp(prefix="mass-store-")
    users_file = os.path.join(d, "users")
    with Proxy("[socks]\nusers_file = %s" % users_file, auth=True,
               users={"alice": "wonderland"}, admins={"root": "toor"}) as p:
        assert os.path.exists(users_file)
        before = open(users_file).read()
        os.chmod(d, 0o500)
        os.chmod(users_file, 0o400)
        try:
            rc, out, err = _massctl(p, "add-user", "bob", "builder")
            if os.geteuid() != 0:
                assert rc != 0, (out, err)
                assert open(users_file).read() == before
                s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "bob", "builder")
                assert rep is None, "bob was added in memory though the file was not written"
        finally:
            os.chmod(d, 0o700)
            os.chmod(users_file, 0o600)
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "alice", "wonderland")
        assert rep == 0
        s.close()
    echo.close()


def test_kill_9_during_user_additions_never_tears_the_file():
    if not _mgmt_ready():
        return
    d = tempfile.mkdtemp(prefix="mass-store-")
    users_file = os.path.join(d, "users")
    for round_ in range(5):
        p = Proxy("[socks]\nusers_file = %s\nmax_users = 255" % users_file, auth=True,
                  users={"alice": "wonderland"}, admins={"root": "toor"}).start()
        stop = threading.Event()

        def adder():
            i = 0
            while not stop.is_set():
                _massctl(p, "add-user", "u%d_%d" % (round_, i), "p%d" % i)
                i += 1

        th = threading.Thread(target=adder)
        th.start()
        time.sleep(0.3 + 0.1 * round_)
        p.proc.send_signal(signal.SIGKILL)
        p.proc.wait(timeout=5)
        stop.set()
        th.join(30)
        with open(users_file) as f:
            text = f.read()
        assert text == "" or text.endswith("\n"), "torn users file: %r" % text[-80:]
        for line in text.splitlines():
            if line:
                name, sep, pw = line.partition(":")
                assert sep and name and pw, "torn line %r" % line
        leftovers = [f for f in os.listdir(d) if f != "users"]
        assert not leftovers or all(f.startswith(".") or "tmp" in f for f in leftovers)


def pipe_fds(pid):
    n = 0
    for f in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, f)).startswith("pipe:")
        except FileNotFoundError:
            pass
    return n


def test_stalled_tunnels_hold_pipes_only_up_to_the_cap():
    """Targets that do not read (a small receive window, set before accept):
    with max_buffer_memory = 1 (MiB) one tunnel holds a splice pipe and the
    others a 16 KiB buffer (without the cap each held its own pipe); every
    one of them relays all its bytes once its target reads."""
    echo = EchoServer()
    sink = socket.socket()
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sink.bind(("127.0.0.1", 0))
    sink.listen(16)
    with Proxy("[socks]\nmax_buffer_memory = 1") as p:
        tunnels = []
        for _ in range(6):
            c, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", sink.getsockname()[1])
            assert rep == 0
            peer, _ = sink.accept()
            c.setblocking(False)
            sent = 0
            for _ in range(128):
                try:
                    sent += c.send(b"x" * 65536)
                except BlockingIOError:
                    break
            tunnels.append((c, sent, peer))
        time.sleep(0.2)
        pipes = pipe_fds(p.proc.pid)
        assert pipes <= 2 * 2, "%d pipe descriptors for 6 stalled tunnels, cap 1 MiB" % pipes
        for c, sent, peer in tunnels:
            peer.settimeout(TIMEOUT)
            got = 0
            while got < sent:
                got += len(peer.recv(1 << 20))
            c.close()
            peer.close()
        still_serves(p, echo)
    sink.close()
    echo.close()


FSYNC_DIR_FAILS = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
/* fsync of a directory fails with EIO; files sync as usual */
int fsync(int fd)
{
	static int (*real)(int);
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}
"""


def fsync_dir_fails_library(d):
    src, lib = os.path.join(d, "fsyncdir.c"), os.path.join(d, "fsyncdir.so")
    with open(src, "w") as f:
        f.write(FSYNC_DIR_FAILS)
    cc = os.environ.get("CC", "cc")
    try:
        r = subprocess.run([cc, "-shared", "-fPIC", "-o", lib, src, "-ldl"],
                           capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return lib if r.returncode == 0 else None


def test_acknowledged_user_changes_survive_an_unsyncable_directory():
    """The directory cannot be fsync'ed: 0A and 0B still answer 00 once the
    rename replaced the file, log a durability warning, and a restart loads
    exactly what was served. A temporary file a crash left is removed at
    start."""
    if not _mgmt_ready():
        return
    echo = EchoServer()
    d = tempfile.mkdtemp(prefix="mass-store-")
    lib = fsync_dir_fails_library(tempfile.mkdtemp(prefix="mass-shim-"))
    if lib is None:
        print("     (skipped: no C compiler for the fsync shim)")
        return
    users_file = os.path.join(d, "users")
    stale = users_file + ".tmp.Xy12Z9"
    open(stale, "w").close()
    ini = "[socks]\nusers_file = %s\n[acl]\nallow = all" % users_file
    # a sanitizer build: its runtime need not come first for this shim
    env = dict(os.environ, LD_PRELOAD=lib,
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    with Proxy(ini, auth=True, users={"alice": "wonderland"}, admins={"root": "toor"},
               env=env) as p:
        assert not os.path.exists(stale), "the stale temporary file is still there"
        assert "removed a temporary file left by an earlier run" in p.stderr(), p.stderr()
        rc, out, err = _massctl(p, "add-user", "bob", "builder")
        assert rc == 0, (out, err)
        rc, out, err = _massctl(p, "del-user", "alice")
        assert rc == 0, (out, err)
        assert "the change stands and is served" in p.stderr(), p.stderr()
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "bob", "builder")
        assert rep == 0
        s.close()
    with Proxy(ini, auth=True, users={"alice": "wonderland"}, admins={"root": "toor"}) as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "bob", "builder")
        assert rep == 0, "bob was acknowledged but not loaded after a restart"
        s.close()
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "alice", "wonderland")
        assert rep is None, "alice was deleted (acknowledged) but came back"
        s.close()
    echo.close()


if __name__ == "__main__":
    sys.exit(run([
        test_fd_exhaustion_pauses_accepts_without_spinning,
        test_slowloris_1000_clients_while_one_is_served,
        test_connection_flood,
        test_max_clients_refuses_only_the_excess,
        test_blackhole_target_gets_rep_06_and_others_are_served,
        test_target_reset_mid_transfer_ends_the_tunnel,
        test_dns_failure_is_rep_04,
        test_clients_vanishing_in_every_state,
        test_client_reset_after_its_fin_ends_the_tunnel_at_once,
        test_fin_timeout_ends_half_closed_tunnels,
        test_shutdown_with_sessions_in_every_state,
        test_drop_privileges_after_binding,
        test_unwritable_users_file_refuses_additions,
        test_kill_9_during_user_additions_never_tears_the_file,
        test_acknowledged_user_changes_survive_an_unsyncable_directory,
        test_stalled_tunnels_hold_pipes_only_up_to_the_cap,
    ]))
