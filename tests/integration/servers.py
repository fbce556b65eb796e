"""Real third-party servers the integration tests start themselves, each
stopped by PID with bounded waits: a throw-away PostgreSQL cluster
(Postgres, pg_bindir, pgsql_skip_reason) and HAProxy in TCP mode in front
of one or more socks5d (HAProxy). Used by test_pgsql.py,
test_proxy_protocol.py and test_cluster.py."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile

from harness import free_port, wait_for, TIMEOUT, TOP_BUILDDIR


def pg_bindir():
    """The newest /usr/lib/postgresql/*/bin holding postgres and initdb, or None."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(d, "postgres"), os.X_OK) and \
           os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    return None


def pgsql_skip_reason():
    """Why a test of the pgsql plugin cannot run here (no PostgreSQL server
    binaries, or the plugin not built), or None when it can."""
    if pg_bindir() is None:
        return ("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                "(Debian package postgresql)")
    if not os.path.exists(os.path.join(TOP_BUILDDIR, "plugins", ".libs", "pgsql.so")):
        return ("the pgsql plugin was not built (configure found no libpq; Debian "
                "package libpq-dev; --with-pgsql makes that an error)")
    return None


class Postgres:
    """A throw-away cluster: initdb once, then postgres started and stopped
    by PID as often as wanted. As root it runs as the postgres account
    (setpriv, the directory chowned to it)."""

    def __init__(self, bindir):
        self.bin = bindir
        self.dir = tempfile.mkdtemp(prefix="mass-pg-")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.logf = os.path.join(self.dir, "postgres.log")
        os.mkdir(self.sock)
        self.port = free_port()
        self.proc = None
        self.prefix = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for root, dirs, files in os.walk(self.dir):
                os.chown(root, pw.pw_uid, pw.pw_gid)
                for f in files:
                    os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)
            self.prefix = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
                           "--clear-groups", "--"]
        r = subprocess.run(self.prefix + [os.path.join(self.bin, "initdb"), "-D", self.data,
                                          "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
                           capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr.decode()

    def conninfo(self):
        return "host=127.0.0.1 port=%d dbname=postgres user=postgres connect_timeout=2" % self.port

    def start(self, tcp=True):
        log = open(self.logf, "a")
        self.proc = subprocess.Popen(
            self.prefix + [os.path.join(self.bin, "postgres"), "-D", self.data, "-k", self.sock,
                           "-c", "listen_addresses=%s" % ("127.0.0.1" if tcp else ""),
                           "-p", str(self.port), "-c", "fsync=off"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        wait_for(lambda: self.psql("SELECT 1", check=False) == "1", "PostgreSQL to accept")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown: clients cut at once
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def psql(self, sql, check=True):
        """One statement through the Unix socket; its output (-At), stripped."""
        r = subprocess.run(self.prefix + ["psql", "-X", "-h", self.sock, "-p", str(self.port),
                                          "-U", "postgres", "-d", "postgres", "-Atqc", sql],
                           capture_output=True, timeout=20)
        if check:
            assert r.returncode == 0, r.stderr.decode()
        return r.stdout.decode().strip() if r.returncode == 0 else None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class HAProxy:
    """haproxy -db with one tcp frontend on 127.0.0.1 balancing (round
    robin, no health checks: each new connection goes to the next server)
    over servers on 127.0.0.1 at server_ports (one port or a list), each
    with the option send_proxy ("send-proxy-v2", "send-proxy" or "")."""

    def __init__(self, server_ports, send_proxy):
        if isinstance(server_ports, int):
            server_ports = [server_ports]
        self.dir = tempfile.mkdtemp(prefix="mass-haproxy-")
        self.port = free_port()
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        servers = "".join("    server s%d 127.0.0.1:%d %s\n" % (i + 1, port, send_proxy)
                          for i, port in enumerate(server_ports))
        with open(self.cfg, "w") as f:
            f.write("global\n    maxconn 256\n\n"
                    "defaults\n    mode tcp\n    timeout connect 5s\n"
                    "    timeout client 30s\n    timeout server 30s\n\n"
                    "frontend socks\n    bind 127.0.0.1:%d\n    default_backend mass\n\n"
                    "backend mass\n    balance roundrobin\n%s" % (self.port, servers))
        self.log = open(os.path.join(self.dir, "haproxy.log"), "w+")
        self.proc = subprocess.Popen(["haproxy", "-f", self.cfg, "-db"],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)

        def up():
            assert self.proc.poll() is None, self.text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        try:
            wait_for(up, "haproxy listening")
        except Exception:
            self.stop()
            raise

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if not self.log.closed:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
