"""Packaging: `make install DESTDIR=...` twice with an edit in between keeps
the edited mass.ini (the new one goes beside it as mass.ini.new), installs
it mode 0640, installs no .la plugin files, the unit, the logrotate snippet
and man pages with configured paths substituted; uninstall keeps the edit;
mandoc -Tlint is clean on the three man pages (when mandoc is installed)."""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run, TOP_BUILDDIR, TOP_SRCDIR

MAKE = os.environ.get("MAKE", "make")
# a make of our own: not the jobserver of the make running the tests
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
DEST = tempfile.mkdtemp(prefix="mass-install-")


def make(*args):
    r = subprocess.run([MAKE, "-s", "-C", TOP_BUILDDIR] + list(args), env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout + r.stderr


def variable(name):
    """A variable of the build's Makefile, as make expands it."""
    r = subprocess.run([MAKE, "-s", "-C", TOP_BUILDDIR, "-f", "Makefile", "-f", "-",
                        "print-var"], input="print-var:\n\t@echo $(%s)\n" % name,
                       env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def under(path):
    return DEST + path


def installed(*names):
    out = []
    for root, _, files in os.walk(DEST):
        out += [os.path.join(root, f) for f in files if f in names or not names]
    return out


def test_install_twice_keeps_edited_ini():
    sysconfdir, pkglibdir = variable("sysconfdir"), variable("pkglibdir")
    ini = under(sysconfdir + "/mass.ini")
    make("install", "DESTDIR=" + DEST)
    assert os.path.isfile(ini), installed()
    assert stat.S_IMODE(os.stat(ini).st_mode) == 0o640, oct(os.stat(ini).st_mode)
    with open(os.path.join(TOP_SRCDIR, "etc", "mass.ini")) as f:
        shipped = f.read()
    with open(ini) as f:
        assert f.read() == shipped
    assert "wonderland" not in shipped
    with open(ini, "a") as f:
        f.write("; edited by the admin\n")
    out = make("install", "DESTDIR=" + DEST)
    assert "exists and is kept" in out and "mass.ini.new" in out, out
    with open(ini) as f:
        assert f.read().endswith("; edited by the admin\n")
    new = ini + ".new"
    with open(new) as f:
        assert f.read() == shipped
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o640
    # the plugins, and no libtool archives among them
    libs = os.listdir(under(pkglibdir))
    assert "metrics.so" in libs and "users.so" in libs, libs
    assert not [l for l in libs if l.endswith(".la")], libs


def test_configured_paths_substituted():
    sysconfdir, sbindir = variable("sysconfdir"), variable("sbindir")
    unitdir = variable("systemdsystemunitdir")
    unit = under(unitdir + "/socks5d.service")
    with open(unit) as f:
        text = f.read()
    assert "ExecStart=%s/socks5d -c %s/mass.ini" % (sbindir, sysconfdir) in text, text
    assert "Type=notify" in text and "User=" in text and not re.search(r"@\w+@", text), text
    rot = under(sysconfdir + "/logrotate.d/socks5d")
    with open(rot) as f:
        text = f.read()
    assert "postrotate" in text and "systemctl reload socks5d.service" in text, text
    assert not re.search(r"@\w+@", text), text
    pages = installed("mass.ini.5", "socks5d.8")
    assert len(pages) == 2, pages
    for page in pages:
        with open(page) as f:
            text = f.read()
        assert sysconfdir + "/mass.ini" in text, page
        assert "sysconfdir" not in text and not re.search(r"@\w+@", text), page


def test_quickstart_stores_hashes_of_generated_passwords():
    """make quickstart: a random password for a SOCKS user and a MASS admin,
    printed; the file, left 0600, holds only their crypt(3) hashes."""
    import signal
    ini = under(variable("sysconfdir") + "/mass.ini")
    p = subprocess.Popen([MAKE, "-s", "-C", TOP_BUILDDIR, "quickstart", "DESTDIR=" + DEST],
                         env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    lines = []
    try:
        for line in p.stdout:
            lines.append(line)
            if "SOCKS on port 1080" in line:
                break
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=30)
    made = dict(re.findall(r"entry '(\w+)' with password (\w+)", "".join(lines)))
    assert set(made) == {"admin", "user"}, lines
    text = open(ini).read()
    for name, pw in made.items():
        assert re.search(r"^%s = \$y\$\S+$" % name, text, re.M), (name, text)
        assert pw not in text, "clear password in " + ini
    assert stat.S_IMODE(os.stat(ini).st_mode) == 0o600


def test_uninstall_keeps_the_edit():
    sysconfdir, pkglibdir = variable("sysconfdir"), variable("pkglibdir")
    ini = under(sysconfdir + "/mass.ini")
    out = make("uninstall", "DESTDIR=" + DEST)
    assert "was edited and is kept" in out, out
    assert os.path.isfile(ini) and not os.path.exists(ini + ".new")
    assert installed() == [ini], installed()
    shutil.rmtree(DEST)


def test_man_pages_lint():
    if shutil.which("mandoc") is None:
        print("mandoc not installed: skipped")
        return
    pages = [os.path.join(TOP_BUILDDIR, "etc", "mass.ini.5"),
             os.path.join(TOP_BUILDDIR, "src", "socks5d.8"),
             os.path.join(TOP_SRCDIR, "src", "massctl", "massctl.1")]
    for page in pages:
        r = subprocess.run(["mandoc", "-Tlint", "-Wwarning", page], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and r.stdout + r.stderr == "", (page, r.stdout, r.stderr)


if __name__ == "__main__":
    sys.exit(run([
        test_install_twice_keeps_edited_ini,
        test_configured_paths_substituted,
        test_quickstart_stores_hashes_of_generated_passwords,
        test_uninstall_keeps_the_edit,
        test_man_pages_lint,
    ]))
