"""The plugin SDK as a third party uses it: `make install DESTDIR=` into a
temporary root, pkg-config pointed into it, the out-of-tree example plugin
as installed with the SDK ($(docdir)/examples/uptime: a Makefile that knows
only pkg-config, and uptime.c, which uses ABI 1.1's server info, session
events, a timer and a deferred reply) copied to a temporary directory and
built there, then loaded by socks5d beside the installed bundled plugins and
queried over MASS (0E at once, 1E deferred to the plugin's timer) with
massctl.

Paths come from the environment (top_builddir, top_srcdir), nothing is
written under the source tree, so this also runs under `make distcheck`."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Proxy, MASSCTL, TOP_BUILDDIR, run, socks_connect, wait_for

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
        cflags = sh(["pkg-config", "--cflags", "mass-plugin"], env=env).strip()
        assert cflags == "-I" + os.path.dirname(os.path.dirname(header)), (cflags, header)
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

        idx = ["01 = users"] + ["%02X = metrics" % i for i in range(2, 10)] + \
              ["0A = users", "0B = users", "0C = auth", "0D = dissectors", "0E = uptime",
               "1E = uptime"]
        ini = "[plugins]\ndir = %s\n[plugin uptime]\nmodule = %s\noffset = 1000" % (
            installed_plugins, so)
        with Proxy(ini=ini, indexes=idx, admins={"admin": "pw"}) as p:
            assert "plugin uptime: serving uptime on 0E" in p.stderr(), p.stderr()
            base = [MASSCTL, "-P", str(p.mgmt_port), "-u", "admin:pw"]
            r = subprocess.run(base + ["indexes"], capture_output=True, timeout=30)
            assert r.returncode == 0 and r.stdout.decode().split() == \
                ["%02x" % i for i in range(15)] + ["1e"], r
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
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if shutil.which("pkg-config") is None or shutil.which("make") is None:
        print("SKIP: needs pkg-config and make")
        sys.exit(SKIP)
    sys.exit(run([test_example_plugin_built_against_installed_sdk]))
