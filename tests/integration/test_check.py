#!/usr/bin/env python3
"""socks5d -t: the configuration and every plugin checked, nothing bound.

The shipped etc/mass.ini (with the build's plugin dir) checks out: exit 0,
what it would serve on stdout, although its SOCKS port is held by someone
else (nothing is bound) and its users_file is not created (nothing is
written). A file naming a broken plugin exits 1 naming the module file and
the reason; a file with a bad key exits 1 with FILE:LINE: [section] key:
reason."""

import os
import re
import socket
import subprocess
import sys
import tempfile

from harness import SOCKS5D, TOP_BUILDDIR, TOP_SRCDIR, Proxy, run

PLUGIN_DIR = os.path.join(TOP_BUILDDIR, "plugins", ".libs")


def check(path, *args):
    """socks5d -t -c path: (exit status, stdout, stderr)."""
    r = subprocess.run([SOCKS5D, "-t", "-c", path] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def shipped(port, users_file):
    """etc/mass.ini with the build's plugins, SOCKS on port, a users_file."""
    with open(os.path.join(TOP_SRCDIR, "etc", "mass.ini")) as f:
        text = f.read()
    text = re.sub(r"(?m)^dir =.*$", "dir = %s" % PLUGIN_DIR, text)
    text = re.sub(r"(?m)^port = 1080", "port = %d" % port, text)
    text = re.sub(r"(?m)^users_file =.*$", "users_file = %s" % users_file, text)
    return text


def test_shipped_file_checks_ok_without_binding():
    d = tempfile.mkdtemp(prefix="mass-check-")
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen(1)
    port = held.getsockname()[1]
    users_file = os.path.join(d, "users")
    path = os.path.join(d, "mass.ini")
    with open(path, "w") as f:
        f.write(shipped(port, users_file))
    try:
        rc, out, err = check(path)
    finally:
        held.close()
    assert rc == 0, (out, err)
    assert "socks listener: 0.0.0.0 port %d" % port in out, out
    assert "management listener: 127.0.0.1 port 8080" in out, out
    assert re.search(r"(?m)^index 01: users\b", out), out
    assert re.search(r"(?m)^index 14: info\b", out), out
    assert re.search(r"(?m)^users: 0 ", out), out
    assert re.search(r"(?m)^acl: \d+ rules from \[acl\], \d+ built-in$", out), out
    assert "test is successful" in out, out
    assert not os.path.exists(users_file), "socks5d -t wrote the users file"


def test_broken_plugin_exits_1_naming_file_and_reason():
    p = Proxy(indexes=["0E = broken"])
    module = os.path.join(p.dir, "broken.so")
    with open(module, "w") as f:
        f.write("not a shared object\n")
    with open(p.ini_path, "a") as f:
        f.write("\n[plugin broken]\nmodule = %s\n" % module)
    rc, out, err = check(p.ini_path)
    assert rc == 1, (out, err)
    assert re.search(r"plugin broken \(%s\): \S" % re.escape(module), err), err
    assert "test failed" in out, out


def test_bad_key_exits_1_with_file_line_section_key():
    p = Proxy("[socks]\nno_such_key = 1")
    rc, out, err = check(p.ini_path)
    assert rc == 1, (out, err)
    assert re.search(r"%s:\d+: \[socks\] no_such_key: \S" % re.escape(p.ini_path), err), err
    assert "test failed" in out, out


if __name__ == "__main__":
    sys.exit(run([test_shipped_file_checks_ok_without_binding,
                  test_broken_plugin_exits_1_naming_file_and_reason,
                  test_bad_key_exits_1_with_file_line_section_key]))
