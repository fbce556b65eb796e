"""The plugin SDK as a third party uses it: `make install DESTDIR=` into a
temporary root, pkg-config pointed into it, the out-of-tree example plugin
as installed with the SDK ($(docdir)/examples/uptime: a Makefile that knows
only pkg-config, and uptime.c, an ABI 1.2 plugin using the call context,
server info, session events, a timer, a deferred reply with cancel and the
host's password service) copied to a temporary directory and built there
with the .pc's -fvisibility=hidden and -Wl,--no-undefined, then loaded by
socks5d beside the installed bundled plugins and queried over MASS (0E at
once, 1E deferred to the plugin's timer, 2E/3E through the password
service) with massctl.

Paths come from the environment (top_builddir, top_srcdir), nothing is
written under the source tree, so this also runs under `make distcheck`."""

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, MASSCTL, TOP_BUILDDIR, run, socks_connect, wait_for, login_bytes,
                     recv_exact, TIMEOUT)

SKIP = 77


def clean_env(**extra):
    """The environment of a nested make: not the parent's jobserver or flags."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR")}
    env.update(extra)
    return env


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, timeout=300, **kw)
    assert r.returncode == 0, "%s failed (%d):\n%s\n%s" % (
        " ".join(cmd), r.returncode, r.stdout.decode(errors="replace"),
        r.stderr.decode(errors="replace"))
    return r.stdout.decode()


def mass_open(p, request):
    """A management connection that logged in and sent request (unanswered yet)."""
    s = socket.create_connection(("127.0.0.1", p.mgmt_port), timeout=TIMEOUT)
    s.sendall(b"\x01\x01\x02" + login_bytes("admin", "pw") + request)
    assert recv_exact(s, 4) == b"\x01\x02\x01\x00"
    return s


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files:
            return os.path.join(d, name)
    raise AssertionError("%s not installed under %s" % (name, root))


def test_example_plugin_built_against_installed_sdk():
    root = tempfile.mkdtemp(prefix="mass-sdk-")
    dest = os.path.join(root, "destdir")
    work = os.path.join(root, "uptime")
    try:
        sh(["make", "-C", TOP_BUILDDIR, "install", "DESTDIR=" + dest], env=clean_env())
        pc = find(dest, "mass-plugin.pc")
        header = find(dest, "plugin.h")
        assert os.path.basename(os.path.dirname(header)) == "mass", header
        installed_plugins = os.path.dirname(find(dest, "users.so"))
        env = clean_env(PKG_CONFIG_PATH=os.path.dirname(pc), PKG_CONFIG_LIBDIR="",
                        PKG_CONFIG_SYSROOT_DIR=dest)
        cflags = sh(["pkg-config", "--cflags", "mass-plugin"], env=env).split()
        assert cflags == ["-I" + os.path.dirname(os.path.dirname(header)),
                          "-fvisibility=hidden"], (cflags, header)
        libs = sh(["pkg-config", "--libs", "mass-plugin"], env=env).split()
        assert libs == ["-Wl,--no-undefined"], libs
        plugindir = sh(["pkg-config", "--variable=plugindir", "mass-plugin"], env=env).strip()
        if not plugindir.startswith(dest):
            plugindir = dest + plugindir
        assert os.path.realpath(plugindir) == os.path.realpath(installed_plugins), \
            (plugindir, installed_plugins)

        # a third party's tree: the two installed files, copied out of DESTDIR
        example = os.path.dirname(find(dest, "uptime.c"))
        assert example.endswith(os.path.join("examples", "uptime")), example
        os.mkdir(work)
        for f in ("Makefile", "uptime.c"):
            shutil.copy(os.path.join(example, f), work)
        sh(["make", "-C", work, "CFLAGS=-O2 -Wall -Wextra -Werror"], env=env)
        so = os.path.join(work, "uptime.so")
        assert os.path.isfile(so)
        # hidden visibility: the descriptor is the one symbol exported
        dyn = sh(["nm", "-D", "--defined-only", so]).split()
        assert "mass_plugin" in dyn and "uptime_get" not in dyn, dyn
        # --no-undefined: a plugin calling a function nobody defines fails to link
        with open(os.path.join(work, "broken.c"), "w") as f:
            f.write("#include <mass/plugin.h>\nvoid nowhere(void);\n"
                    "void f(void) { nowhere(); }\n")
        r = subprocess.run(["sh", "-c", "cc -fPIC -shared $(pkg-config --cflags --libs "
                            "mass-plugin) -o broken.so broken.c"], cwd=work, env=env,
                           capture_output=True, timeout=120)
        assert r.returncode != 0 and b"nowhere" in r.stderr, r

        idx = ["01 = users"] + ["%02X = metrics" % i for i in range(2, 10)] + \
              ["0A = users", "0B = users", "0C = auth", "0D = dissectors", "0E = uptime",
               "1E = uptime", "2E = uptime", "3E = uptime"]
        ini = "[plugins]\ndir = %s\n[plugin uptime]\nmodule = %s\noffset = 1000" % (
            installed_plugins, so)
        with Proxy(ini=ini, indexes=idx, admins={"admin": "pw"}) as p:
            assert "plugin uptime: serving uptime on 0E" in p.stderr(), p.stderr()
            base = [MASSCTL, "-P", str(p.mgmt_port), "-u", "admin:pw"]
            r = subprocess.run(base + ["indexes"], capture_output=True, timeout=30)
            assert r.returncode == 0 and r.stdout.decode().split() == \
                ["%02x" % i for i in range(15)] + ["1e", "2e", "3e"], r
            # two sessions close, then 1E (deferred to the tick) counts them
            for _ in range(2):
                s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", 9)
                s.close()
            wait_for(lambda: subprocess.run(base + ["raw", "1e"], capture_output=True,
                                            timeout=30).stdout.decode().splitlines()
                     == ["status 00", "data 00000002"], "1E to count two closed sessions")
            r = subprocess.run(base + ["raw", "0e"], capture_output=True, timeout=30)
            lines = r.stdout.decode().splitlines()
            assert r.returncode == 0 and lines[0] == "status 00", r
            assert lines[1].startswith("data ") and len(lines[1]) == 13, lines
            assert 1000 <= int(lines[1][5:], 16) < 1000 + 300, lines
            r = subprocess.run(base + ["-j", "raw", "0x0E"], capture_output=True, timeout=30)
            js = json.loads(r.stdout)
            assert r.returncode == 0 and js["index"] == "0e" and js["status"] == "00", r
            assert 1000 <= int(js["data"], 16) < 1300, js
            # the password service: a hash made by the host, then checked
            r = subprocess.run(base + ["raw", "2e", "s3cret"], capture_output=True, timeout=30)
            lines = r.stdout.decode().splitlines()
            assert r.returncode == 0 and lines[0] == "status 00", r
            crypt = bytes.fromhex(lines[1][5:])[1:].decode()
            assert crypt.startswith("$"), crypt
            for pw, want in (("s3cret", "01"), ("nope", "00")):
                r = subprocess.run(base + ["raw", "3e", crypt, pw], capture_output=True,
                                   timeout=30)
                assert r.stdout.decode().splitlines() == ["status 00", "data " + want], r
            # a deferred 1E whose client resets before the tick: the cancel
            # notice drops it, the plugin keeps serving
            sock = mass_open(p, b"\x1e")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            r = subprocess.run(base + ["raw", "1e"], capture_output=True, timeout=30)
            assert r.stdout.decode().splitlines()[0] == "status 00", r
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if shutil.which("pkg-config") is None or shutil.which("make") is None:
        print("SKIP: needs pkg-config and make")
        sys.exit(SKIP)
    sys.exit(run([test_example_plugin_built_against_installed_sdk]))
