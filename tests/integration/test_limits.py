"""Per-user limits (issue 20) against a real socks5d, measured by what real
clients get: bytes over wall-clock seconds at 1 MiB/s (a rate a loaded
machine keeps: the proxy is idle most of the time), sessions refused with
REP 02, quotas that stop a transfer, survive kill -9 and roll at the period
boundary (moved with the MASS_TEST_CLOCK_OFFSET hook), and bad input at
start and at SIGHUP.

Tolerances: a rate test passes when the bytes a client got in 20 s are
within 5% of 20 MiB. The bucket starts full (the default burst, a quarter
second: 1.25% of 20 MiB), so the only other error is the last chunk in
flight."""

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, UdpEcho, Source, Sink, drain, recv_exact, read_reply,
                     request_bytes, socks_connect, wait_for, run, lv, mass, MASS_ADMIN,
                     TOP_SRCDIR, TIMEOUT)

MiB = 1024 * 1024
USERS = {"slow": "pw-slow class=slow", "fast": "pw-fast"}
SLOW = """
[class slow]
download_rate = 1M
upload_rate = 1M
"""


def tunnel(p, port, user, password):
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", port, user, password)
    assert rep == 0, rep
    return s


class Reader:
    """Reads a socket in a thread until closed; got is the running total,
    at[n] the monotonic time the total first reached n bytes (for n in marks)."""

    def __init__(self, s, marks=()):
        self.s, self.got, self.done = s, 0, False
        self.marks, self.at, self.start = sorted(marks), {}, time.monotonic()
        self.t = threading.Thread(target=self._run)
        self.t.start()

    def _run(self):
        self.s.settimeout(0.2)
        while not self.done:
            try:
                d = self.s.recv(262144)
            except socket.timeout:
                continue
            except OSError:
                break
            if not d:
                break
            self.got += len(d)
            for m in self.marks:
                if self.got >= m and m not in self.at:
                    self.at[m] = time.monotonic() - self.start

    def close(self):
        self.done = True
        self.t.join(TIMEOUT)
        self.s.close()


def download(p, port, user, password, seconds, ntunnels=1, marks=None):
    """Reads through ntunnels for `seconds`; returns the bytes got. marks, a
    list of seconds, gets the running total at each."""
    readers = [Reader(tunnel(p, port, user, password)) for _ in range(ntunnels)]
    start = time.monotonic()
    for k, m in enumerate(marks or []):
        time.sleep(max(0, start + m - time.monotonic()))
        marks[k] = (m, sum(r.got for r in readers))
    time.sleep(max(0, start + seconds - time.monotonic()))
    got = sum(r.got for r in readers)   # at the deadline, not after the closes
    for r in readers:
        r.close()
    return got


def within(got, want, tol):
    return abs(got - want) <= want * tol


def test_download_one_and_eight_tunnels():
    src = Source()
    with Proxy(SLOW, auth=True, users=USERS) as p:
        for n in (1, 8):
            got = download(p, src.port, "slow", "pw-slow", 20, ntunnels=n)
            print("   %d tunnel(s): %.2f MiB in 20 s" % (n, got / MiB))
            assert within(got, 20 * MiB, 0.05), (n, got / MiB)
    src.close()


def test_upload_one_and_eight_tunnels():
    sink = Sink()
    with Proxy(SLOW, auth=True, users=USERS) as p:
        for n in (1, 8):
            socks = [tunnel(p, sink.port, "slow", "pw-slow") for _ in range(n)]
            base = sink.total
            stop = time.monotonic() + 20

            def writer(s):
                s.settimeout(0.2)
                buf = bytes(65536)
                while time.monotonic() < stop:
                    try:
                        s.send(buf)
                    except socket.timeout:
                        continue
                    except OSError:
                        return

            threads = [threading.Thread(target=writer, args=(s,)) for s in socks]
            for t in threads:
                t.start()
            time.sleep(max(0, stop - time.monotonic()))
            got = sink.total - base
            for t in threads:
                t.join(TIMEOUT)
            for s in socks:
                s.close()
            print("   %d tunnel(s): %.2f MiB up in 20 s" % (n, got / MiB))
            assert within(got, 20 * MiB, 0.05), (n, got / MiB)
            time.sleep(0.5)
    sink.close()


def test_unlimited_user_at_full_speed_meanwhile():
    """Full speed here: more than 20 times the limited user's rate (20 MiB/s)
    on a shared, loaded machine; an idle one does several GiB/s on loopback."""
    src = Source()
    with Proxy(SLOW, auth=True, users=USERS) as p:
        result = {}
        t = threading.Thread(target=lambda: result.update(
            slow=download(p, src.port, "slow", "pw-slow", 20)))
        t.start()
        time.sleep(2)
        fast = download(p, src.port, "fast", "pw-fast", 5)
        t.join(30)
        print("   unlimited: %.1f MiB/s; limited: %.2f MiB in 20 s"
              % (fast / 5 / MiB, result["slow"] / MiB))
        assert fast / 5 > 20 * MiB, fast / 5 / MiB
        assert within(result["slow"], 20 * MiB, 0.05), result["slow"] / MiB
    src.close()


def test_rate_changed_by_sighup_within_one_second():
    src = Source()
    with Proxy(SLOW, auth=True, users=USERS) as p:
        marks = [1, 6, 7, 12]
        result = {}
        t = threading.Thread(target=lambda: result.update(
            got=download(p, src.port, "slow", "pw-slow", 12, marks=marks)))
        t.start()
        time.sleep(6)
        p.write_ini(SLOW.replace("download_rate = 1M", "download_rate = 2M"), auth=True,
                    users=USERS)
        p.signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in p.stderr(), "the reload")
        t.join(30)
        (_, a), (_, b), (_, c), (_, d) = marks
        before, after = (b - a) / 5, (d - c) / 5
        print("   before %.2f MiB/s, from 1 s after the SIGHUP %.2f MiB/s"
              % (before / MiB, after / MiB))
        assert within(before, MiB, 0.05), before / MiB
        assert within(after, 2 * MiB, 0.05), after / MiB
    src.close()


def build_setclass():
    """The test plugin (plugin_setclass.c) that calls user_class_set; its path."""
    out = os.path.join(tempfile.mkdtemp(prefix="mass-setclass-"), "setclass.so")
    r = subprocess.run([os.environ.get("CC_FOR_TESTS", "cc"), "-O1", "-Wall", "-Wextra",
                        "-Werror", "-fPIC", "-shared",
                        "-I" + os.path.join(TOP_SRCDIR, "src", "include"), "-o", out,
                        os.path.join(TOP_SRCDIR, "tests", "integration", "plugin_setclass.c")],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return out


def test_user_moved_between_classes_within_one_second():
    """A user downloading at full speed (default class) is moved to a 1 MiB/s
    class, then to a 2 MiB/s one, over MASS (user_class_set): each applies
    to the running tunnel within 1 s."""
    src = Source()
    plugin = build_setclass()
    ini = SLOW + "[class fast2]\ndownload_rate = 2M\n[plugin setclass]\nmodule = %s\n" % plugin
    with Proxy(ini, auth=True, users={"mover": "pw"}, admins=dict([MASS_ADMIN]),
               indexes=["E0 = setclass"]) as p:
        marks = [1.5, 2.5, 6.5, 7.5, 11.5]
        result = {}
        t = threading.Thread(target=lambda: result.update(
            got=download(p, src.port, "mover", "pw", 11.5, marks=marks)))
        t.start()
        time.sleep(1.5)
        assert mass(p, b"\xe0" + lv("mover") + lv("slow")) == b"\x00"
        time.sleep(5)
        assert mass(p, b"\xe0" + lv("mover") + lv("fast2")) == b"\x00"
        assert mass(p, b"\xe0" + lv("mover") + lv("nosuch")) == b"\x01"
        t.join(30)
        (_, a), (_, b), (_, c), (_, d), (_, e) = marks
        slow, fast = (c - b) / 4, (e - d) / 4
        print("   %.0f MiB/s unlimited, then %.2f MiB/s, then %.2f MiB/s"
              % ((b - a) / MiB, slow / MiB, fast / MiB))
        assert b - a > 20 * MiB, (b - a) / MiB   # full speed before the move
        # the move is applied at the next 1 s tick, with a full bucket: the
        # window from 1 s after may hold that one burst (a quarter second)
        assert 0.95 * MiB <= slow <= 1.05 * MiB + MiB // 4 / 4, slow / MiB
        assert within(fast, 2 * MiB, 0.05), fast / MiB
        wait_for(lambda: "limits: user mover now in class fast2" in p.stderr(), "the log line")
    src.close()


def kernel_pacing(p, client):
    """The pacing cap (SO_MAX_PACING_RATE) socks5d set on its socket to the
    client socket `client`, in bytes/s as ss shows it; None: no cap."""
    r = subprocess.run(["ss", "-tinH", "sport = :%d and dport = :%d"
                        % (p.port, client.getsockname()[1])],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and "ESTAB" in r.stdout, (r.returncode, r.stdout, r.stderr)
    # ss shows a capped socket's "pacing_rate RATE/CAP"
    m = re.search(r"pacing_rate [0-9.]+[KMGT]?bps/([0-9.]+)([KMGT]?)bps", r.stdout)
    if m is None:
        return None
    return float(m.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m.group(2)] / 8


def near(cap, rate):
    return cap is not None and abs(cap / (1.25 * rate) - 1) <= 0.02


def test_limited_direction_paced_by_the_kernel():
    """A tunnel running at its rate has the kernel pace its socket to the
    client at 125% of the rate (ss shows max_pacing_rate); the cap follows
    a rate changed by SIGHUP and goes with the rate. An unlimited user's
    socket has no cap, and a burst saved up leaves at once, unpaced."""
    src = Source()
    users = {"slow": "pw-slow class=slow", "fast": "pw-fast", "saver": "pw class=saver"}
    saver = "[class saver]\ndownload_rate = 1M\ndownload_burst = 8M\n"
    with Proxy(SLOW + saver, auth=True, users=users) as p:
        slow = Reader(tunnel(p, src.port, "slow", "pw-slow"))
        fast = Reader(tunnel(p, src.port, "fast", "pw-fast"))
        wait_for(lambda: near(kernel_pacing(p, slow.s), MiB), "the cap at 1.25 MiB/s")
        assert kernel_pacing(p, fast.s) is None
        fast.close()
        # a new bucket is full: its 8 MiB burst leaves at once, then the cap;
        # at once even to a client slower than the proxy (it waits 0.5 s
        # before reading), so what the bucket granted is still queued in
        # the kernel when the bucket runs dry: that must not leave paced
        s = tunnel(p, src.port, "saver", "pw")
        time.sleep(0.5)
        saving = Reader(s, marks=[6 * MiB])
        wait_for(lambda: 6 * MiB in saving.at, "the first 6 MiB")
        print("   a burst of 6 MiB in %.3f s once read; paced at 1.25 MiB/s it takes 4.8 s"
              % saving.at[6 * MiB])
        assert saving.at[6 * MiB] < 0.25, saving.at
        wait_for(lambda: near(kernel_pacing(p, saving.s), MiB), "the saver's cap")
        saving.close()
        # the rate doubled by SIGHUP: the cap follows within a second
        p.write_ini(SLOW.replace("download_rate = 1M", "download_rate = 2M") + saver,
                    auth=True, users=users)
        p.signal(signal.SIGHUP)
        wait_for(lambda: p.stderr().count("reloaded") == 1, "the reload")
        t0 = time.monotonic()
        wait_for(lambda: near(kernel_pacing(p, slow.s), 2 * MiB), "the cap at 2.5 MiB/s")
        assert time.monotonic() - t0 < 1.0
        # and the rate removed: the cap goes
        p.write_ini(SLOW.replace("download_rate = 1M\n", "") + saver, auth=True, users=users)
        p.signal(signal.SIGHUP)
        wait_for(lambda: p.stderr().count("reloaded") == 2, "the second reload")
        t0 = time.monotonic()
        wait_for(lambda: kernel_pacing(p, slow.s) is None, "the cap lifted")
        assert time.monotonic() - t0 < 1.0
        slow.close()
    src.close()


SESSIONS = """
[class three]
max_sessions = 3
"""


def refused_log(p, what):
    return wait_for(lambda: "limits: %s from 127.0.0.1 (user trio, class three) refused by "
                    "max_sessions" % what in p.stderr(), "the refusal line")


def test_three_sessions_then_rep_02():
    echo = EchoServer()
    users = {"trio": "pw class=three"}
    with Proxy(SESSIONS, auth=True, users=users) as p:
        held = [tunnel(p, echo.port, "trio", "pw") for _ in range(3)]
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "trio", "pw")
        assert rep == 2, rep
        s.close()
        refused_log(p, "CONNECT")
        s, rep, _, _, _ = socks_connect(p.port, "0.0.0.0", 0, "trio", "pw", cmd=2)
        assert rep == 2, rep
        s.close()
        refused_log(p, "BIND")
        s, rep, _, _, _ = socks_connect(p.port, "0.0.0.0", 0, "trio", "pw", cmd=3)
        assert rep == 2, rep
        s.close()
        refused_log(p, "UDP")
        p.wait_log(lambda l: l.startswith(tuple("0123456789")) and "\ttrio\tU\t" in l
                   and l.endswith("\t2"))
        held.pop().close()
        deadline = time.time() + TIMEOUT
        while True:
            s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "trio", "pw")
            if rep == 0 or time.time() > deadline:
                break
            s.close()
            time.sleep(0.05)
        assert rep == 0, rep
        s.sendall(b"ping")
        assert recv_exact(s, 4) == b"ping"
        s.close()
        for h in held:
            h.close()
    echo.close()


def test_sessions_per_address():
    echo = EchoServer()
    ini = "[class pa]\nmax_sessions_per_address = 2\n"
    users = {"a1": "pw class=pa", "a2": "pw class=pa"}
    with Proxy(ini, auth=True, users=users) as p:
        held = [tunnel(p, echo.port, "a1", "pw"), tunnel(p, echo.port, "a2", "pw")]
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "a1", "pw")
        s.close()
        assert rep == 2, rep
        wait_for(lambda: "(user a1, class pa) refused by max_sessions_per_address"
                 in p.stderr(), "the refusal line")
        # another client address of the same class still gets in
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port, "a2", "pw",
                                        source="127.0.0.2")
        assert rep == 0, rep
        s.close()
        for h in held:
            h.close()
    echo.close()


def test_udp_datagrams_take_from_the_bucket():
    """64 KiB/s upload: 1 KiB datagrams offered at about 1 MiB/s for 3 s;
    the target gets the bucket's burst (16 KiB) plus 64 KiB a second, the
    rest dropped by the proxy."""
    target = UdpEcho()
    with Proxy("[class dg]\nupload_rate = 64K\n", auth=True,
               users={"dg": "pw class=dg"}) as p:
        ctl, rep, atyp, addr, bport = socks_connect(p.port, "0.0.0.0", 0, "dg", "pw", cmd=3)
        assert rep == 0, rep
        relay = (socket.inet_ntop(socket.AF_INET, addr), bport)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        head = b"\x00\x00\x00" + request_bytes("127.0.0.1", target.port)[3:]
        payload = bytes(1024)
        start = time.monotonic()
        while time.monotonic() - start < 3:
            u.sendto(head + payload, relay)
            time.sleep(0.001)
        secs = time.monotonic() - start
        time.sleep(0.3)
        got = len(target.got) * 1024
        most = 16 * 1024 + 64 * 1024 * secs + 1024
        print("   %d bytes reached the target in %.2f s (at most %d)" % (got, secs, most))
        assert 0.9 * 64 * 1024 * secs <= got <= most, (got, most)
        u.close()
        ctl.close()
    target.close()


def test_udp_quota_close_ends_association():
    """quota_action = close on UDP: the datagram that uses up a 32 KiB quota
    ends the association (its control connection is closed by the proxy);
    the next UDP ASSOCIATE gets REP 02."""
    target = UdpEcho()
    ini = "[class dq]\nquota = 32K\nquota_action = close\n"
    with Proxy(ini, auth=True, users={"dq": "pw class=dq"}) as p:
        ctl, rep, atyp, addr, bport = socks_connect(p.port, "0.0.0.0", 0, "dq", "pw", cmd=3)
        assert rep == 0, rep
        relay = (socket.inet_ntop(socket.AF_INET, addr), bport)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        u.settimeout(0.5)
        head = b"\x00\x00\x00" + request_bytes("127.0.0.1", target.port)[3:]
        echoed = 0
        ctl.settimeout(0.05)
        closed = False
        for _ in range(64):             # 64 KiB offered, each echoed: 4x the quota
            u.sendto(head + bytes(1024), relay)
            try:
                echoed += len(u.recv(2048)) - len(head)
            except socket.timeout:
                pass
            try:
                closed = ctl.recv(1) == b""
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
            if closed:
                break
        print("   %d bytes echoed before the association ended" % echoed)
        ctl.settimeout(TIMEOUT)
        if not closed:
            assert ctl.recv(1) == b"", "the control connection is still open"
        # one direction's datagrams count towards 32 KiB with the other's
        assert echoed <= 32 * 1024, echoed
        # its close line: ended by the quota, the data relayed each way
        f = p.wait_log(lambda l: l.split("\t")[1:3] == ["dq", "C"]).split("\t")
        assert f[12] == "quota", f
        # (an echo sent as the client gave up waiting is relayed, not read)
        assert int(f[9]) + int(f[10]) <= 32 * 1024 + 1024, f
        assert echoed <= int(f[10]) <= echoed + 1024, (echoed, f)
        s, rep, _, _, _ = socks_connect(p.port, "0.0.0.0", 0, "dq", "pw", cmd=3)
        assert rep == 2, rep
        s.close()
        u.close()
        ctl.close()
    target.close()


def test_quota_throttle():
    """quota_action = throttle: past the quota the user goes on at
    quota_throttle_rate (64 KiB/s) instead of being cut off."""
    src = Source()
    ini = ("[class thr]\nquota = 1M\nquota_action = throttle\n"
           "quota_throttle_rate = 64K\n")
    with Proxy(ini, auth=True, users={"th": "pw class=thr"}) as p:
        s = tunnel(p, src.port, "th", "pw")
        s.settimeout(TIMEOUT)
        total = 0
        while total < MiB:
            total += len(s.recv(262144))
        # what the proxy read before the throttle drains first; then 64 KiB/s
        time.sleep(1.5)
        s.settimeout(0.2)
        marks = []
        stop = time.monotonic() + 5
        got = 0
        while time.monotonic() < stop:
            try:
                got += len(s.recv(262144))
            except socket.timeout:
                pass
            marks.append((time.monotonic(), got))
        # the last 4 s of the 5: after the kernel's buffers are surely drained
        base = [g for t, g in marks if t <= stop - 4][-1]
        rate = (got - base) / 4
        print("   throttled at %.1f KiB/s" % (rate / 1024))
        assert within(rate, 64 * 1024, 0.15), rate / 1024
        s.close()
        # a new tunnel is let in (throttle does not refuse)
        s2 = tunnel(p, src.port, "th", "pw")
        s2.close()
    src.close()


QUOTA = """
[class capped]
quota = 10M
quota_action = close
"""


def test_quota_stops_transfer_then_rep_02():
    src = Source()
    with Proxy(QUOTA, auth=True, users={"cap": "pw class=capped"}) as p:
        got = drain(tunnel(p, src.port, "cap", "pw"))
        print("   stopped at %d bytes (quota %d)" % (got, 10 * MiB))
        # the reads stop at the quota and what was read is delivered: exactly
        # the quota (less the request's bytes, counted too), within a chunk
        assert 10 * MiB - MiB <= got <= 10 * MiB, got
        p.wait_log(lambda l: "\tcap\tC\t" in l and l.split("\t")[12:13] == ["quota"])
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", src.port, "cap", "pw")
        assert rep == 2, rep
        s.close()
        wait_for(lambda: "(user cap, class capped) refused by quota" in p.stderr(), "refusal")
    src.close()


def test_quota_survives_kill_9():
    src = Source(limit=4 * MiB)
    p = Proxy(QUOTA, auth=True, users={"cap": "pw class=capped"})
    quota_file = os.path.join(p.dir, "quota")
    p.write_ini(QUOTA + "\n[socks]\nquota_file = %s\nquota_flush = 2\n" % quota_file,
                auth=True, users={"cap": "pw class=capped"})
    p.start()
    got = drain(tunnel(p, src.port, "cap", "pw"))
    assert got == 4 * MiB, got
    time.sleep(3.5)   # more than one flush interval (2 s) and a tick
    p.proc.kill()
    p.proc.wait(5)
    with open(quota_file) as f:
        text = f.read()
    assert text.startswith("mass-quota 1\n") and "\ncap:day:" in text, text
    p.start()
    src.limit = None
    got = drain(tunnel(p, src.port, "cap", "pw"))
    print("   after kill -9: %d more bytes (quota left 6 MiB)" % got)
    assert 6 * MiB - MiB <= got <= 6 * MiB, got
    p.stop()
    src.close()


def test_quota_flushed_at_shutdown():
    """quota_flush = 3600: only the final flush at SIGTERM can keep it."""
    src = Source(limit=3 * MiB)
    p = Proxy(QUOTA, auth=True, users={"cap": "pw class=capped"})
    quota_file = os.path.join(p.dir, "quota")
    p.write_ini(QUOTA + "\n[socks]\nquota_file = %s\nquota_flush = 3600\n" % quota_file,
                auth=True, users={"cap": "pw class=capped"})
    p.start()
    assert drain(tunnel(p, src.port, "cap", "pw")) == 3 * MiB
    time.sleep(1.5)   # a tick or two: no flush before the interval
    assert not os.path.exists(quota_file)
    assert p.stop() == 0
    with open(quota_file) as f:
        assert "\ncap:day:" in f.read()
    p.start()
    src.limit = None
    got = drain(tunnel(p, src.port, "cap", "pw"))
    assert 7 * MiB - MiB <= got <= 7 * MiB, got
    p.stop()
    src.close()


def test_period_boundary_resets_usage():
    """The quota clock moved by the test-only hook to 6 s before a UTC
    midnight: a day's quota used up then is free again after it."""
    now = int(time.time())
    offset = (86400 - now % 86400) - 6 + 86400 * 3
    src = Source()
    p = Proxy(QUOTA.replace("10M", "1M"), auth=True, users={"cap": "pw class=capped"},
              env=dict(os.environ, MASS_TEST_CLOCK_OFFSET=str(offset)))
    p.start()
    assert "MASS_TEST_CLOCK_OFFSET" in p.stderr()
    got = drain(tunnel(p, src.port, "cap", "pw"))
    assert got <= MiB, got
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", src.port, "cap", "pw")
    s.close()
    assert rep == 2, rep
    deadline = time.time() + 15
    while True:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", src.port, "cap", "pw")
        if rep == 0 or time.time() > deadline:
            break
        s.close()
        time.sleep(0.25)
    assert rep == 0, rep
    got = drain(s)
    assert MiB - MiB // 2 <= got <= MiB, got
    p.stop()
    src.close()


BAD = [
    ("[users]\nbob = pw class=nosuch\n", "[users] bob: unknown class \"nosuch\""),
    ("[class basic]\nupload_rate = -1\n", "[class basic] upload_rate: "),
    ("[class basic]\ndownload_rate = 99999T\n", "[class basic] download_rate: "),
    ("[class basic]\nquota = 10 furlongs\n", "[class basic] quota: "),
    ("[class basic]\nquota_period = fortnight\nquota = 1G\n", "[class basic] quota_period: "),
    ("[class basic]\nupload_burst = 64K\n", "[class basic] upload_burst: a burst without"),
]


def test_bad_input_at_start():
    for ini, want in BAD:
        p = Proxy(ini)
        p.start(expect_fail=True)
        assert p.proc.wait(10) != 0
        err = p.stderr()
        assert want in err and "mass.ini:" in err, (want, err)


def test_bad_input_at_sighup_refused():
    echo = EchoServer()
    users_file = None
    with Proxy(SLOW, auth=True, users=USERS) as p:
        for ini, want in BAD:
            p.write_ini(SLOW + ini, auth=True, users=USERS)
            before = p.stderr().count("keeping the running configuration")
            p.signal(signal.SIGHUP)
            wait_for(lambda: p.stderr().count("keeping the running configuration") > before,
                     "the refused reload")
            assert want in p.stderr(), (want, p.stderr())
        # still serving the old classes
        s = tunnel(p, echo.port, "slow", "pw-slow")
        s.sendall(b"x")
        assert recv_exact(s, 1) == b"x"
        s.close()
    # a class removed while a user of the users file holds it
    p = Proxy(SLOW, auth=True, users=USERS)
    users_file = os.path.join(p.dir, "users")
    p.write_ini(SLOW + "[socks]\nusers_file = %s\n" % users_file, auth=True, users=USERS)
    p.start()
    with open(users_file) as f:
        assert ":slow\n" in f.read()
    # [users] is ignored once the users file exists: the file's class counts
    p.write_ini("[socks]\nusers_file = %s\n" % users_file, auth=True,
                users={"slow": "pw-slow", "fast": "pw-fast"})
    p.signal(signal.SIGHUP)
    wait_for(lambda: "keeping the running configuration" in p.stderr(), "the refused reload")
    assert "user slow holds class slow, which %s does not define" % p.ini_path \
        in p.stderr(), p.stderr()
    p.stop()
    # and at start, with the line of the users file
    p.start(expect_fail=True)
    assert p.proc.wait(10) != 0
    assert "%s:1: user slow: class slow is not defined" % users_file in p.stderr(), p.stderr()
    echo.close()


if __name__ == "__main__":
    sys.exit(run([
        test_bad_input_at_start,
        test_bad_input_at_sighup_refused,
        test_three_sessions_then_rep_02,
        test_sessions_per_address,
        test_udp_datagrams_take_from_the_bucket,
        test_udp_quota_close_ends_association,
        test_quota_throttle,
        test_quota_stops_transfer_then_rep_02,
        test_quota_survives_kill_9,
        test_quota_flushed_at_shutdown,
        test_period_boundary_resets_usage,
        test_download_one_and_eight_tunnels,
        test_upload_one_and_eight_tunnels,
        test_unlimited_user_at_full_speed_meanwhile,
        test_rate_changed_by_sighup_within_one_second,
        test_user_moved_between_classes_within_one_second,
        test_limited_direction_paced_by_the_kernel,
    ]))
