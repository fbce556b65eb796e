"""Plugin update under a running socks5d: the probe plugin (plugin_probe.c,
built here once per version with cc and the in-tree header) serves index 0E
with the version of the code that runs and a per-load request count. Its
file is replaced by rename, by `install -m 0755` and by an in-place `cp`
(same inode: idle, between requests, while requests are being served), each
followed by SIGHUP; every time 0E must answer with the new code, the log
must name the file and the version, and socks5d must stay up. A reload onto
garbage or a truncated file keeps the old code (and its state) serving.
Last, the example plugin of plugins/README.md (which keeps its state per
load, as it tells plugin authors to) is built from the README and served."""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, TOP_SRCDIR, login_bytes, massctl, mass, recv_all,
                     run, wait_for, MASS_ADMIN, TIMEOUT)

SKIP = 77
SOURCE = os.path.join(TOP_SRCDIR, "tests", "integration", "plugin_probe.c")
BUILD = tempfile.mkdtemp(prefix="mass-probe-")


def compile_plugin(source, out, *flags):
    cc = os.environ.get("CC_FOR_TESTS", "cc")
    r = subprocess.run([cc, "-O1", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
                        "-I" + os.path.join(TOP_SRCDIR, "src", "include")] + list(flags) +
                       ["-o", out, source], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")


def build(version):
    """The probe built as version N, in BUILD; returns its path."""
    out = os.path.join(BUILD, "probe-%d.so" % version)
    if not os.path.exists(out):
        compile_plugin(SOURCE, out, "-DPROBE_VERSION=%d" % version)
    return out


class Probe:
    """socks5d with 0E = probe, the probe's file in a directory of its own."""

    def __init__(self, version):
        self.dir = tempfile.mkdtemp(prefix="mass-probe-run-")
        self.path = os.path.join(self.dir, "probe.so")
        shutil.copy(build(version), self.path)
        ini = "[plugin probe]\nmodule = %s" % self.path
        self.p = Proxy(ini=ini, indexes=["0E = probe"], admins=dict([MASS_ADMIN]))

    def __enter__(self):
        self.p.start()
        return self

    def __exit__(self, *exc):
        try:
            rc = self.p.stop()
            assert rc == 0, "socks5d exited with %r:\n%s" % (rc, self.p.stderr())
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def query(self):
        """0E through massctl raw: (version, served)."""
        rc, out, err = massctl(self.p, "raw", "0e")
        lines = out.splitlines()
        assert rc == 0 and lines[0] == "status 00", (rc, out, err, self.p.stderr())
        assert lines[1].startswith("data ") and len(lines[1]) == 5 + 16, lines
        data = bytes.fromhex(lines[1][5:])
        return struct.unpack(">II", data)

    def loaded_line(self, version):
        return "plugin probe (%s): loaded probe version 2.0.%d" % (self.path, version)

    def reload(self, marker):
        """SIGHUP; waits for one more occurrence of marker in the log."""
        before = self.p.stderr().count(marker)
        self.p.signal(signal.SIGHUP)
        wait_for(lambda: self.p.stderr().count(marker) > before, "'%s' after SIGHUP" % marker)
        self.alive()

    def reload_to(self, version):
        """SIGHUP after the file became version N: 0E runs the new code, the
        new load's state is fresh and the log names the file and version."""
        self.reload(self.loaded_line(version))
        # the reload runs to its end in one turn of the loop, before the
        # loop accepts the next connection: no need to wait for more
        assert self.query() == (version, 1), self.p.stderr()

    def alive(self):
        assert self.p.proc.poll() is None, "socks5d died (%r):\n%s" % (
            self.p.proc.returncode, self.p.stderr())

    def ino(self):
        return os.stat(self.path).st_ino


def cp_in_place(src, dst):
    """`cp src dst` onto an existing dst: truncates and rewrites the same inode."""
    subprocess.run(["cp", src, dst], check=True, timeout=30)


def test_start_logs_file_and_version():
    with Probe(1) as t:
        assert t.loaded_line(1) in t.p.stderr(), t.p.stderr()
        assert "/proc/self/fd" not in t.p.stderr(), t.p.stderr()
        assert t.query() == (1, 1)
        assert t.query() == (1, 2)


def test_update_by_rename():
    with Probe(1) as t:
        assert t.query() == (1, 1)
        new = os.path.join(t.dir, ".probe.so.new")
        shutil.copy(build(2), new)
        os.rename(new, t.path)
        t.alive()
        assert t.query() == (1, 2), "the running set changed before SIGHUP"
        t.reload_to(2)
        # and again, back to an older build: still the bytes of the file
        shutil.copy(build(1), new)
        os.rename(new, t.path)
        t.reload_to(1)


def test_update_by_install():
    with Probe(1) as t:
        assert t.query() == (1, 1)
        for v in (2, 3):
            subprocess.run(["install", "-m", "0755", build(v), t.path], check=True, timeout=30)
            t.reload_to(v)


def test_update_in_place_while_idle():
    with Probe(1) as t:
        assert t.query() == (1, 1)
        ino = t.ino()
        cp_in_place(build(2), t.path)
        assert t.ino() == ino, "cp did not keep the inode"
        # the running set does not read the file: no crash, still version 1
        assert t.query() == (1, 2)
        t.reload_to(2)
        cp_in_place(build(3), t.path)
        assert t.ino() == ino
        t.reload_to(3)
        assert t.query() == (3, 2)


def open_before_request(t):
    """A management connection greeted and logged in, its request not sent."""
    s = socket.create_connection(("127.0.0.1", t.p.mgmt_port), timeout=TIMEOUT)
    s.sendall(b"\x01\x01\x02" + login_bytes(*MASS_ADMIN))
    return s


def test_update_in_place_between_requests():
    with Probe(1) as t:
        assert t.query() == (1, 1)
        # a connection opened under the old set sends its request after the
        # file changed and after the reload
        s = open_before_request(t)
        cp_in_place(build(2), t.path)
        t.reload_to(2)
        s.sendall(b"\x0e")
        got = recv_all(s)
        s.close()
        assert got[:4] == b"\x01\x02\x01\x00", got.hex()
        assert got[4:] == b"\x00" + struct.pack(">II", 2, 2), got.hex()
        assert t.query() == (2, 3)


def test_update_in_place_while_serving():
    with Probe(1) as t:
        stop = threading.Event()
        seen, bad, done = set(), [], [0]

        def hammer():
            while not stop.is_set():
                try:
                    r = mass(t.p, b"\x0e")
                except Exception as e:  # the daemon died, or a reply was wrong
                    bad.append(repr(e))
                    return
                if len(r) != 9 or r[0] != 0:
                    bad.append(r.hex())
                    return
                seen.add(struct.unpack(">I", r[1:5])[0])
                done[0] += 1

        def some_requests(n=3):
            start = done[0]
            wait_for(lambda: done[0] >= start + n or bad, "requests served")

        th = threading.Thread(target=hammer, daemon=True)
        th.start()
        try:
            for v in (2, 3, 1, 2):
                # several rewrites of the same inode while requests run
                for w in (3, 1, v):
                    cp_in_place(build(w), t.path)
                    some_requests()
                t.reload(t.loaded_line(v))
                some_requests()
        finally:
            stop.set()
            th.join(timeout=TIMEOUT)
        assert not bad, bad
        assert seen == {1, 2, 3}, seen
        t.alive()
        assert t.query()[0] == 2


def refused(t, content, reason):
    """The file becomes content in place; SIGHUP is refused naming the file
    and reason; the old load keeps serving with its state."""
    version, served = t.query()
    with open(t.path, "r+b") as f:
        f.truncate(0)
        f.write(content)
    t.reload("plugin probe (%s): %s" % (t.path, reason))
    assert t.query() == (version, served + 1), t.p.stderr()


def test_reload_onto_garbage_keeps_old_code():
    with Probe(1) as t:
        assert t.query() == (1, 1)
        refused(t, b"\x7fELF but not really" * 4, "not an ELF object of this machine's word size")
        refused(t, b"\x7fELF" + b"\x02" * 40, "truncated ELF object (no whole header)")
        refused(t, b"#!/bin/sh\necho not a plugin\n", "not an ELF shared object")
        with open(build(2), "rb") as f:
            whole = f.read()
        refused(t, whole[:len(whole) // 2], "truncated ELF object (a segment past the end)")
        refused(t, b"", "not an ELF shared object")
        # a good file again: the update goes through
        cp_in_place(build(2), t.path)
        t.reload_to(2)


def test_readme_example_plugin():
    with open(os.path.join(TOP_SRCDIR, "plugins", "README.md")) as f:
        blocks = re.findall(r"```c\n(.*?)```", f.read(), re.S)
    assert len(blocks) == 1, "one C example expected in plugins/README.md"
    src = os.path.join(BUILD, "readme_uptime.c")
    with open(src, "w") as f:
        f.write(blocks[0])
    so = os.path.join(BUILD, "uptime.so")
    compile_plugin(src, so)
    ini = "[plugin uptime]\nmodule = %s" % so
    p = Proxy(ini=ini, indexes=["0E = uptime"], admins=dict([MASS_ADMIN]))
    with p:
        assert "plugin uptime (%s): loaded uptime version 1.0.0" % so in p.stderr(), p.stderr()
        for _ in range(2):
            r = mass(p, b"\x0e")
            assert len(r) == 5 and r[0] == 0 and struct.unpack(">I", r[1:])[0] < 60, r.hex()
            p.signal(signal.SIGHUP)
        wait_for(lambda: p.stderr().count("loaded uptime version") >= 3, "two reloads")
        assert mass(p, b"\x0e")[0] == 0
    assert p.proc.returncode == 0, p.stderr()


if __name__ == "__main__":
    if shutil.which("cc") is None and "CC_FOR_TESTS" not in os.environ:
        print("SKIP: needs a C compiler (cc)")
        sys.exit(SKIP)
    try:
        rc = run([test_start_logs_file_and_version,
                  test_update_by_rename,
                  test_update_by_install,
                  test_update_in_place_while_idle,
                  test_update_in_place_between_requests,
                  test_update_in_place_while_serving,
                  test_reload_onto_garbage_keeps_old_code,
                  test_readme_example_plugin])
    finally:
        shutil.rmtree(BUILD, ignore_errors=True)
    sys.exit(rc)
