"""Packaging: `make install DESTDIR=...` twice with an edit in between keeps
the edited mass.ini (the new one goes beside it as mass.ini.new), installs
it mode 0640, installs no .la plugin files, the unit, the logrotate snippet,
the sysusers.d file and man pages with configured paths substituted;
uninstall keeps the edit; mandoc -Tlint is clean on the three man pages
(when mandoc is installed).

The service account: as root to the real root, `make install` creates the
system user and group (systemd-sysusers, else useradd), once; a DESTDIR
install and --disable-service-account create none. Those run in a private
mount namespace whose /etc is a copy of this machine's, so the account is
made for real by the real tools and vanishes with the namespace."""

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


SERVICE_USER = None


def in_private_etc(script, **env):
    """Runs the shell script as root in a mount namespace of its own whose
    /etc is a copy of this one without the service account; returns
    (returncode, output). None when that cannot be done here."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return None
    etc = tempfile.mkdtemp(prefix="mass-etc-")
    try:
        subprocess.run(["cp", "-a", "/etc/.", etc], check=True, timeout=60)
        for name in ("passwd", "group", "shadow", "gshadow"):
            path = os.path.join(etc, name)
            if os.path.exists(path):
                with open(path) as f:
                    lines = [l for l in f if not l.startswith(SERVICE_USER + ":")]
                with open(path, "w") as f:
                    f.writelines(lines)
        wrapped = "mount --bind '%s' /etc || exit 99\n%s" % (etc, script)
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-ec", wrapped],
                           env=dict(ENV, **env), capture_output=True, text=True, timeout=300)
        if r.returncode == 99:
            return None
        return r.returncode, r.stdout + r.stderr
    finally:
        shutil.rmtree(etc, ignore_errors=True)


def account_script(install_args, times=2):
    """make install (times times) into a fresh prefix, then what the account
    looks like: the getent lines and the group of the installed mass.ini."""
    prefix = tempfile.mkdtemp(prefix="mass-prefix-")
    args = " ".join("'%s'" % a for a in ["prefix=" + prefix,
                                           "sysusersdir=" + prefix + "/lib/sysusers.d",
                                           "systemdsystemunitdir=" + prefix + "/lib/systemd/system",
                                           # as configured by default, also in a build
                                           # configured without it (make distcheck's)
                                           "SERVICE_ACCOUNT=yes"]
                    + install_args)
    make_cmd = "'%s' -s -C '%s' install %s" % (MAKE, TOP_BUILDDIR, args)
    script = "\n".join(["echo == install %d; %s" % (i + 1, make_cmd) for i in range(times)] + [
        "echo == passwd; getent passwd '%s' || true" % SERVICE_USER,
        "echo == group; getent group '%s' || true" % SERVICE_USER,
        "echo == lines; grep -c '^%s:' /etc/passwd /etc/group || true" % SERVICE_USER,
        "echo == ini; stat -c %%G '%s/etc/mass.ini' 2>/dev/null || true" % prefix,
        "echo == end; rm -rf '%s'" % prefix,
    ])
    return script


def sections(out):
    got, cur = {}, None
    for line in out.splitlines():
        if line.startswith("== "):
            cur = line[3:]
            got[cur] = []
        elif cur is not None:
            got[cur].append(line)
    return got


def check_account(out):
    got = sections(out)
    passwd = got["passwd"]
    assert len(passwd) == 1, out
    name, _, uid, gid, _, home, shell = passwd[0].split(":")
    assert name == SERVICE_USER and int(uid) < 1000, passwd  # a system user
    assert home == "/nonexistent" and shell.endswith("nologin"), passwd
    group = got["group"]
    assert len(group) == 1 and group[0].split(":")[2] == gid, (group, passwd)
    # once each, however many installs
    assert got["lines"] == ["/etc/passwd:1", "/etc/group:1"], got["lines"]
    # and mass.ini is the service's to read
    assert got["ini"] == [SERVICE_USER], out
    assert "not group" not in out, out


def test_sysusers_file_installed():
    sysusersdir = variable("sysusersdir")
    path = under(sysusersdir + "/socks5d.conf")
    make("install", "DESTDIR=" + DEST)
    with open(path) as f:
        text = f.read()
    assert re.search(r'^u %s - "[^"]+" /nonexistent /usr/sbin/nologin$' % SERVICE_USER,
                     text, re.M), text
    assert not re.search(r"@\w+@", text), text
    make("uninstall", "DESTDIR=" + DEST)
    assert not os.path.exists(path)
    shutil.rmtree(DEST)


def installs_as_root(**env):
    """Installs twice as root in a private /etc (env for make); checks the
    account and returns (the "created" lines, the output), or None: skipped."""
    r = in_private_etc(account_script([]), **env)
    if r is None:
        print("SKIP: needs root and unshare -m (a private /etc)")
        return None
    rc, out = r
    assert rc == 0, out
    check_account(out)
    return [l for l in out.splitlines() if "created the system user" in l], out


def test_install_as_root_creates_the_account_once():
    """Twice in a row: the account made by the first, left alone by the second."""
    sysusers = shutil.which("systemd-sysusers")
    r = installs_as_root()
    if r is None:
        return
    made, out = r
    assert len(made) == 1, out  # by the first install only
    if sysusers:
        assert "systemd-sysusers" in made[0], made
    else:
        print("     (systemd-sysusers not installed: useradd made it)")


def test_install_as_root_falls_back_to_useradd():
    if shutil.which("useradd") is None:
        print("SKIP: useradd not installed")
        return
    r = installs_as_root(MASS_SYSUSERS="")
    if r is None:
        return
    made, out = r
    assert len(made) == 1 and "useradd --system" in made[0], out


def test_destdir_and_disabled_installs_create_no_account():
    dest = tempfile.mkdtemp(prefix="mass-destdir-")
    r = in_private_etc(account_script(["DESTDIR=" + dest], times=1) + "\n" +
                       account_script(["SERVICE_ACCOUNT=no"], times=1))
    shutil.rmtree(dest, ignore_errors=True)
    if r is None:
        print("SKIP: needs root and unshare -m (a private /etc)")
        return
    rc, out = r
    assert rc == 0, out
    assert "DESTDIR install: the account %s is not created" % SERVICE_USER in out, out
    assert "created the system user" not in out, out
    for part in out.split("== install 1")[1:]:
        got = sections("== install 1" + part)
        assert got["passwd"] == [] and got["group"] == [], out


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
    SERVICE_USER = variable("SERVICE_USER")
    sys.exit(run([
        test_install_twice_keeps_edited_ini,
        test_configured_paths_substituted,
        test_quickstart_stores_hashes_of_generated_passwords,
        test_uninstall_keeps_the_edit,
        test_man_pages_lint,
        test_sysusers_file_installed,
        test_install_as_root_creates_the_account_once,
        test_install_as_root_falls_back_to_useradd,
        test_destdir_and_disabled_installs_create_no_account,
    ]))
