"""Shared pieces of the integration tests: a real socks5d on loopback with an
ephemeral port, local targets (echo, HTTP), a raw SOCKS5 client, a raw MASS
client, massctl and curl wrappers, and a tiny runner that ends with an
'N passed, N failed' line.

Every process started here is stopped by PID; every wait is bounded."""

import hashlib
import http.server
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
TOP_SRCDIR = os.environ.get("top_srcdir", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SOCKS5D = os.path.join(TOP_BUILDDIR, "src", "socks5d")
MASSCTL = os.path.join(TOP_BUILDDIR, "src", "massctl", "massctl")


def sanitized_build():
    """True when socks5d was built with AddressSanitizer: timing bounds,
    which a sanitizer build running beside other tests cannot keep, are
    then reported rather than asserted."""
    try:
        with open(SOCKS5D, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False
TIMEOUT = 10.0

_started = []


def _kill_all():
    for p in _started:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)


class Proxy:
    """A socks5d process on 127.0.0.1, SOCKS and management on ephemeral ports."""

    def __init__(self, ini="", args=(), auth=False, users=None, admins=None,
                 dissectors=False, indexes=True, env=None):
        self.dir = tempfile.mkdtemp(prefix="mass-it-")
        self.ini_path = os.path.join(self.dir, "mass.ini")
        self.access_log = os.path.join(self.dir, "access.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.write_ini(ini, auth, users, admins, dissectors, indexes)
        self.args = list(args)
        self.env = env
        self.proc = None
        self.port = None
        self.mgmt_port = None

    def write_ini(self, ini="", auth=False, users=None, admins=None,
                  dissectors=False, indexes=True):
        sections = {}
        # user text may override or add sections: "[socks]\nkey = v"
        current = None
        for line in ini.strip().splitlines():
            line = line.strip()
            m = re.match(r"^\[(.+)\]$", line)
            if m:
                current = m.group(1)
                sections.setdefault(current, [])
            elif line:
                sections.setdefault(current, []).append(line)
        socks = ["listen = 127.0.0.1", "port = 0", "auth = %s" % ("on" if auth else "off"),
                 "dissectors = %s" % ("on" if dissectors else "off"),
                 "access_log = %s" % self.access_log, "connect_timeout = 3",
                 "handshake_timeout = 5"]
        mgmt = ["listen = 127.0.0.1", "port = 0"]
        plugin_dir = os.path.join(TOP_BUILDDIR, "plugins", ".libs")
        out = []

        def emit(name, defaults):
            keys = {}
            for l in defaults + sections.pop(name, []):
                k = l.split("=", 1)[0].strip()
                keys[k] = l
            out.append("[%s]" % name)
            out.extend(keys.values())
            out.append("")

        emit("socks", socks)
        emit("management", mgmt)
        emit("plugins", ["dir = %s" % plugin_dir])
        if indexes is True:
            idx = ["01 = users"] + ["%02X = metrics" % i for i in range(2, 10)] + \
                  ["0A = users", "0B = users", "0C = auth", "0D = dissectors"]
        else:
            idx = list(indexes or [])
        emit("indexes", idx)
        emit("users", ["%s = %s" % kv for kv in (users or {}).items()])
        emit("admins", ["%s = %s" % kv for kv in (admins or {}).items()])
        for name in list(sections):
            emit(name, [])
        with open(self.ini_path, "w") as f:
            f.write("\n".join(out))

    def start(self, expect_fail=False):
        self._err = open(self.stderr_path, "w+")
        self.proc = subprocess.Popen([SOCKS5D, "-c", self.ini_path] + self.args,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._err, env=self.env)
        _started.append(self.proc)
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            text = self.stderr()
            m = re.search(r"SOCKS listening on \S+ port (\d+)", text)
            mg = re.search(r"management listening on \S+ port (\d+)", text)
            if m and (mg or "ready" in text):
                self.port = int(m.group(1))
                self.mgmt_port = int(mg.group(1)) if mg else None
                if "ready" in text:
                    return self
            if self.proc.poll() is not None:
                if expect_fail:
                    return self
                raise AssertionError("socks5d exited with %d:\n%s" % (self.proc.returncode, text))
            time.sleep(0.02)
        raise AssertionError("socks5d did not start:\n" + self.stderr())

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def log_lines(self):
        try:
            with open(self.access_log) as f:
                return [l.rstrip("\n") for l in f]
        except FileNotFoundError:
            return []

    def wait_log(self, pred, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for l in self.log_lines():
                if pred(l):
                    return l
            time.sleep(0.02)
        raise AssertionError("no matching access-log line in:\n" + "\n".join(self.log_lines()))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise AssertionError("socks5d ignored SIGTERM")
        text = self.stderr()
        # a sanitizer build reports memory errors and leaks on stderr
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if bad in text:
                raise AssertionError("sanitizer report from socks5d:\n" + text)
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class EchoServer:
    """Echoes every byte back; on the client's EOF it shuts down its side."""

    def __init__(self, host="127.0.0.1", family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    c.shutdown(socket.SHUT_WR)
                    break
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        stop_thread_then_close(self, self.thread)


def stop_thread_then_close(server, thread):
    """Stops the thread serving server.sock, then closes it. Closing a socket
    under a thread blocked in accept() or recvfrom() on it left the thread
    holding it (still bound, still listening), or, caught between reading the
    descriptor number and the call, using whatever the next test opened
    under that number: a test's web server answered by an echo thread
    (curl: "HTTP/0.9"), a test's echoed datagram read by a stale UdpEcho.
    shutdown() wakes the blocked call (EINVAL, or an empty read), the thread
    sees stopped and returns, and only then is the number given back."""
    server.stopped = True
    try:
        server.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # an unconnected UDP socket says ENOTCONN, and wakes its reader all the same
    thread.join(timeout=TIMEOUT)
    if thread.is_alive():
        raise AssertionError("the thread serving port %d did not stop" % server.port)
    server.sock.close()


class _Acceptor:
    """A TCP server on 127.0.0.1 (ephemeral port) serving each client with
    self._serve(conn) in a thread of its own."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        raise NotImplementedError

    def close(self):
        self.sock.close()


class Source(_Acceptor):
    """A TCP server that writes zeros to every client until it goes, or
    `limit` bytes then closes."""

    def __init__(self, limit=None):
        self.limit = limit
        super().__init__()

    def _serve(self, c):
        chunk = bytes(65536)
        sent = 0
        try:
            while self.limit is None or sent < self.limit:
                n = len(chunk) if self.limit is None else min(len(chunk), self.limit - sent)
                c.sendall(chunk[:n])
                sent += n
        except OSError:
            pass
        finally:
            c.close()


class Sink(_Acceptor):
    """A TCP server that reads and counts everything its clients send."""

    def __init__(self):
        self.total = 0
        self.lock = threading.Lock()
        super().__init__()

    def _serve(self, c):
        try:
            while True:
                d = c.recv(262144)
                if not d:
                    break
                with self.lock:
                    self.total += len(d)
        except OSError:
            pass
        finally:
            c.close()


def drain(s, timeout=30):
    """Reads until EOF or reset; returns the bytes got."""
    s.settimeout(timeout)
    got = 0
    try:
        while True:
            d = s.recv(262144)
            if not d:
                break
            got += len(d)
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return got


def blackhole():
    """A loopback port whose accept queue is full: SYNs to it are dropped, so
    a connect() hangs until the caller's timeout. Returns (port, keep-alive list)."""
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(0)
    port = l.getsockname()[1]
    keep = [l]
    for _ in range(2):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        keep.append(s)
    time.sleep(0.1)
    return port, keep


class UdpEcho:
    """Echoes every datagram to its sender; got lists the payloads, sources
    who sent them, in order."""

    def __init__(self, host="127.0.0.1", port=0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.got, self.sources = [], []
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped:
            try:
                data, src = self.sock.recvfrom(65535)
            except OSError:
                return
            if self.stopped:
                return
            self.got.append(data)
            self.sources.append(src)
            try:
                self.sock.sendto(data, src)
            except OSError:
                pass

    def close(self):
        stop_thread_then_close(self, self.thread)


class Web:
    """A local HTTP server answering every GET with 200 and body."""

    BODY = b"hello through the proxy\n"

    def __init__(self, host="127.0.0.1", body=BODY):
        self.body = body

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        cls = http.server.ThreadingHTTPServer
        if ":" in host:
            class V6(http.server.ThreadingHTTPServer):
                address_family = socket.AF_INET6
            cls = V6
        self.httpd = cls((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def curl(args):
    """Runs curl with a 10 s limit; returns (returncode, stdout, stderr) as bytes."""
    r = subprocess.run(["curl", "-sS", "--max-time", "10"] + args,
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def wait_for(pred, what="the condition", timeout=TIMEOUT):
    """Polls pred until it is true (returns True) or raises AssertionError
    naming what after timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


# isolate() gives the namespace the ephemeral range EPHEMERAL; free_port()
# hands out ports above it, so a port-0 bind made later (socks5d's own
# listeners, any client's connect) can never take a port handed out before
# its user binds it: socks5d's SOCKS listener once took the port a test had
# picked for the exporter, which then failed to listen.
EPHEMERAL = (16384, 40959)
FREE_PORTS = (41000, 60999)
_handed_out = set()


def free_port():
    """A TCP port nothing on loopback holds now, never handed out before by
    this process, outside the namespace's ephemeral range."""
    import random
    for _ in range(10000):
        p = random.randint(*FREE_PORTS)
        if p in _handed_out:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        _handed_out.add(p)
        return p
    raise OSError("no free port in %d-%d" % FREE_PORTS)


def recv_exact(s, n, timeout=TIMEOUT):
    s.settimeout(timeout)
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_all(s, timeout=TIMEOUT):
    s.settimeout(timeout)
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk


def addr_bytes(host):
    """ATYP and DST.ADDR for an IPv4, IPv6 or domain destination."""
    try:
        return b"\x01" + socket.inet_pton(socket.AF_INET, host)
    except OSError:
        pass
    try:
        return b"\x04" + socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        pass
    name = host.encode()
    return b"\x03" + bytes([len(name)]) + name


def request_bytes(host, port, cmd=1):
    return bytes([5, cmd, 0]) + addr_bytes(host) + struct.pack(">H", port)


def read_reply(s):
    """Reads a SOCKS5 reply; returns (rep, atyp, addr_bytes, port)."""
    head = recv_exact(s, 4)
    assert head[0] == 5, head
    atyp = head[3]
    if atyp == 1:
        addr = recv_exact(s, 4)
    elif atyp == 4:
        addr = recv_exact(s, 16)
    elif atyp == 3:
        addr = recv_exact(s, recv_exact(s, 1)[0])
    else:
        raise AssertionError("bad ATYP in reply %r" % head)
    port = struct.unpack(">H", recv_exact(s, 2))[0]
    return head[1], atyp, addr, port


def login_bytes(user, password):
    """An RFC 1929 sub-negotiation (SOCKS and MASS share it)."""
    u, w = user.encode(), password.encode()
    return b"\x01" + bytes([len(u)]) + u + bytes([len(w)]) + w


def socks_connect(proxy_port, host, port, user=None, password=None, cmd=1,
                  proxy_host="127.0.0.1", source=None):
    """Full handshake, from the address source when given; returns
    (socket, rep, bnd_atyp, bnd_addr, bnd_port), rep None when the login
    was refused."""
    s = socket.create_connection((proxy_host, proxy_port), timeout=TIMEOUT,
                                 source_address=(source, 0) if source else None)
    if user is None:
        s.sendall(b"\x05\x01\x00")
        assert recv_exact(s, 2) == b"\x05\x00"
    else:
        s.sendall(b"\x05\x01\x02")
        assert recv_exact(s, 2) == b"\x05\x02"
        s.sendall(login_bytes(user, password))
        st = recv_exact(s, 2)
        if st != b"\x01\x00":
            return s, None, None, None, None
    s.sendall(request_bytes(host, port, cmd))
    rep, atyp, addr, bport = read_reply(s)
    return s, rep, atyp, addr, bport


# --- a raw MASS client and massctl ---------------------------------------

MASS_ADMIN = ("admin", "pw")


def lv(s):
    """A MASS variable parameter: LENGTH DATA."""
    if isinstance(s, str):
        s = s.encode()
    return bytes([len(s)]) + s


def mass_exchange(p, data, timeout=TIMEOUT):
    """Sends data on a fresh management connection; returns everything up
    to the server's FIN (an RST instead is a failure)."""
    s = socket.create_connection(("127.0.0.1", p.mgmt_port), timeout=TIMEOUT)
    try:
        s.sendall(data)
        return recv_all(s, timeout)
    finally:
        s.close()


def mass(p, request, admin=MASS_ADMIN):
    """One request after the greeting and admin login (each checked);
    returns the reply (status and fields)."""
    got = mass_exchange(p, b"\x01\x01\x02" + login_bytes(*admin) + request)
    assert got[:4] == b"\x01\x02\x01\x00", got.hex()
    return got[4:]


def massctl(p, *args, login="%s:%s" % MASS_ADMIN, timeout=10):
    """Runs massctl against p's management port (MASS_ADMIN from the
    environment ignored); returns (returncode, stdout, stderr) as text."""
    cmd = [MASSCTL, "-H", "127.0.0.1", "-P", str(p.mgmt_port), "-t", str(timeout)]
    if login is not None:
        cmd += ["-u", login]
    r = subprocess.run(cmd + list(args), capture_output=True, timeout=timeout + 20,
                       env=dict(os.environ, MASS_ADMIN=""))
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def isolate():
    """As root, re-runs this test in a network namespace of its own holding only
    loopback: nothing else on the machine (a benchmark filling the ephemeral
    port range, say) can disturb it, and nothing it sends can leave. Its
    ephemeral range is EPHEMERAL, below the ports free_port() hands out."""
    if os.geteuid() != 0 or os.environ.get("MASS_NETNS") or os.environ.get("MASS_NO_NETNS"):
        return
    env = dict(os.environ, MASS_NETNS="1")
    cmd = ("ip link set lo up && echo %d %d > /proc/sys/net/ipv4/ip_local_port_range && "
           "exec \"$0\" \"$@\"" % EPHEMERAL)
    try:
        r = subprocess.run(["unshare", "-n", "sh", "-c", cmd, sys.executable] + sys.argv, env=env)
    except FileNotFoundError:
        return
    sys.exit(r.returncode)


def run(tests):
    """Runs test functions in order; prints one line each and the summary."""
    isolate()
    passed = failed = 0
    only = os.environ.get("ONLY")
    for t in tests:
        if only and only not in t.__name__:
            continue
        start = time.time()
        try:
            t()
            passed += 1
            print("ok   %-50s %.2fs" % (t.__name__, time.time() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc(file=sys.stdout)
    _kill_all()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1
