"""Password dissectors end to end: real clients (curl) and raw clients talk
POP3, HTTP, FTP and IMAP to small local fake servers through socks5d, and the
access log must hold exactly the credential lines (P) they should:

    ISO-8601Z <tab> socks_user <tab> P <tab> PROTOCOL <tab> dest <tab> port
              <tab> captured_user <tab> captured_pass <tab> ok|fail

Also: sniffing HTTP on a port no dissector watches, pipelined commands
behind the SOCKS request, and no P line with -N, dissectors = off or (when
the management plugins are in the tree) after MASS index 0D turned them off."""

import base64
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, curl, mass, free_port, recv_exact, socks_connect, run,
                     TOP_SRCDIR, TIMEOUT)

USER, PASS = "alice", "s3cret"


# --- fake servers ---------------------------------------------------------

class LineServer:
    """A threaded loopback server on an ephemeral port; serve(conn) is the
    protocol. Every connection is closed when its handler returns."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lines = []  # every client line seen, for diagnostics
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        c.settimeout(TIMEOUT)
        try:
            self.serve(Conn(c, self.lines))
        except (OSError, EOFError):
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


class Conn:
    def __init__(self, sock, log):
        self.sock, self.buf, self.log = sock, b"", log

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.rstrip(b"\r").decode("latin-1")
        self.log.append(line)
        return line

    def exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, text):
        self.sock.sendall(text.encode("latin-1") if isinstance(text, str) else text)


class Pop3(LineServer):
    """USER/PASS only (no SASL in CAPA, no APOP timestamp in the greeting)."""

    def serve(self, c):
        user = None
        c.send("+OK fake POP3 ready\r\n")
        while True:
            cmd, _, arg = c.line().partition(" ")
            cmd = cmd.upper()
            if cmd == "CAPA":
                c.send("+OK\r\nUSER\r\nUIDL\r\n.\r\n")
            elif cmd == "USER":
                user = arg
                c.send("+OK send PASS\r\n")
            elif cmd == "PASS":
                c.send("+OK logged in\r\n" if (user, arg) == (USER, PASS)
                       else "-ERR [AUTH] invalid login\r\n")
            elif cmd in ("LIST", "UIDL"):
                c.send("+OK 0 messages\r\n.\r\n")
            elif cmd == "STAT":
                c.send("+OK 0 0\r\n")
            elif cmd == "QUIT":
                c.send("+OK bye\r\n")
                return
            else:
                c.send("-ERR unknown command\r\n")


class Ftp(LineServer):
    """USER/PASS, then enough (PWD, TYPE, EPSV/PASV, LIST/RETR, SIZE) for
    curl to list the root or fetch a file over a passive data connection,
    which curl also opens through the SOCKS proxy."""

    DATA = b"hello over ftp\r\n"

    def serve(self, c):
        user, data = None, None
        c.send("220-fake FTP\r\n220 ready\r\n")
        while True:
            cmd, _, arg = c.line().partition(" ")
            cmd = cmd.upper()
            if cmd == "USER":
                user = arg
                c.send("331 password please\r\n")
            elif cmd == "PASS":
                c.send("230 logged in\r\n" if (user, arg) == (USER, PASS)
                       else "530 login incorrect\r\n")
            elif cmd == "PWD":
                c.send('257 "/" is the current directory\r\n')
            elif cmd in ("TYPE", "CWD", "MODE", "STRU"):
                c.send("200 ok\r\n")
            elif cmd == "SIZE":
                c.send("213 %d\r\n" % len(self.DATA))
            elif cmd in ("EPSV", "PASV"):
                data = socket.socket()
                data.bind(("127.0.0.1", 0))
                data.listen(1)
                data.settimeout(TIMEOUT)
                p = data.getsockname()[1]
                if cmd == "EPSV":
                    c.send("229 Entering Extended Passive Mode (|||%d|)\r\n" % p)
                else:
                    c.send("227 Entering Passive Mode (127,0,0,1,%d,%d)\r\n" % (p >> 8, p & 255))
            elif cmd in ("LIST", "NLST", "RETR") and data is not None:
                c.send("150 here it comes\r\n")
                d, _ = data.accept()
                d.sendall(self.DATA if cmd == "RETR" else b"file.txt\r\n")
                d.close()
                data.close()
                data = None
                c.send("226 transfer complete\r\n")
            elif cmd == "QUIT":
                c.send("221 bye\r\n")
                return
            else:
                c.send("502 not implemented\r\n")


class Imap(LineServer):
    """LOGIN with atoms, quoted strings or literals ({n} and {n+}); its
    CAPABILITY offers no AUTH= mechanism, which steers curl to LOGIN."""

    def args(self, c, rest):
        """Tokens of a command, reading literals as the client sends them."""
        out = []
        while True:
            i = 0
            while i < len(rest):
                if rest[i] == " ":
                    i += 1
                elif rest[i] == '"':
                    j, s = i + 1, ""
                    while rest[j] != '"':
                        if rest[j] == "\\":
                            j += 1
                        s += rest[j]
                        j += 1
                    out.append(s)
                    i = j + 1
                else:
                    m = re.match(r"\{(\d+)(\+?)\}$", rest[i:])
                    if m:
                        if not m.group(2):
                            c.send("+ go ahead\r\n")
                        out.append(c.exact(int(m.group(1))).decode("latin-1"))
                        rest = c.line()
                        break
                    j = rest.find(" ", i)
                    j = len(rest) if j < 0 else j
                    out.append(rest[i:j])
                    i = j
            else:
                return out

    def serve(self, c):
        c.send("* OK fake IMAP4rev1 ready\r\n")
        while True:
            tag, _, rest = c.line().partition(" ")
            cmd, _, rest = rest.partition(" ")
            cmd = cmd.upper()
            if cmd == "CAPABILITY":
                c.send("* CAPABILITY IMAP4rev1\r\n%s OK done\r\n" % tag)
            elif cmd == "LOGIN":
                a = self.args(c, rest)
                if a == [USER, PASS]:
                    c.send("%s OK LOGIN completed\r\n" % tag)
                else:
                    c.send("%s NO [AUTHENTICATIONFAILED] invalid\r\n" % tag)
            elif cmd in ("LIST", "LSUB"):
                c.send('* LIST (\\HasNoChildren) "/" INBOX\r\n%s OK LIST done\r\n' % tag)
            elif cmd in ("SELECT", "EXAMINE", "NOOP"):
                c.send("%s OK done\r\n" % tag)
            elif cmd == "LOGOUT":
                c.send("* BYE\r\n%s OK LOGOUT done\r\n" % tag)
                return
            else:
                c.send("%s BAD unknown\r\n" % tag)


class Web(LineServer):
    """HTTP/1.1: 200 with the right Basic credentials in Authorization (or,
    when it acts as an HTTP proxy, Proxy-Authorization), else 401 / 407."""

    def serve(self, c):
        while True:
            request = c.line()
            headers = {}
            while True:
                h = c.line()
                if not h:
                    break
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            proxy = request.split(" ")[1].startswith("http://")
            name = "proxy-authorization" if proxy else "authorization"
            good = "Basic " + base64.b64encode(("%s:%s" % (USER, PASS)).encode()).decode()
            if headers.get(name) == good:
                status, body = "200 OK", b"welcome\n"
            elif proxy:
                status, body = "407 Proxy Authentication Required", b"who?\n"
            else:
                status, body = "401 Unauthorized", b"who?\n"
            c.send("HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" %
                   (status, len(body), 'WWW-Authenticate: Basic realm="x"\r\n'
                    if status.startswith("401") else ""))
            c.send(body)


# --- helpers ---------------------------------------------------------------

def ports_ini(pop3=None, http=None, ftp=None, imap=None):
    """A [dissectors] section; an unset protocol watches an unused port."""
    spare = free_port()
    return "[dissectors]\npop3 = %d\nhttp = %d\nftp = %d\nimap = %d\n" % tuple(
        spare if p is None else p for p in (pop3, http, ftp, imap))


def p_lines(p):
    return [l.split("\t") for l in p.log_lines() if l.split("\t")[2:3] == ["P"]]


def expect_p(p, fields, count=1):
    """Waits for the P line whose fields after the stamp are exactly fields,
    checks the stamp and that exactly count such lines exist."""
    want = "\t".join(fields)
    line = p.wait_log(lambda l: l.split("\t", 1)[1:] == [want])
    stamp = line.split("\t", 1)[0]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", stamp), stamp
    time.sleep(0.1)
    got = [l for l in p.log_lines() if l.split("\t", 1)[1:] == [want]]
    assert len(got) == count, "\n".join(p.log_lines())


def expect_no_p(p):
    """No credential line, even counting what socks5d reports as it stops."""
    p.stop()
    assert p_lines(p) == [], "\n".join(p.log_lines())


def socks5h(p, user=None):
    args = ["--socks5-hostname", "127.0.0.1:%d" % p.port]
    if user:
        args += ["--proxy-user", user]
    return args


# --- POP3 --------------------------------------------------------------------

def test_pop3_curl_ok_and_fail():
    srv = Pop3()
    with Proxy(dissectors=True, ini=ports_ini(pop3=srv.port), auth=True,
               users={"bob": "builder"}) as p:
        rc, out, err = curl(socks5h(p, "bob:builder") +
                            ["-u", "%s:%s" % (USER, PASS), "pop3://localhost:%d/" % srv.port])
        assert rc == 0, (rc, out, err, srv.lines)
        expect_p(p, ["bob", "P", "POP3", "localhost", str(srv.port), USER, PASS, "ok"])
        rc, out, err = curl(socks5h(p, "bob:builder") +
                            ["-u", "%s:wrong" % USER, "pop3://localhost:%d/" % srv.port])
        assert rc != 0, (rc, out, err)
        expect_p(p, ["bob", "P", "POP3", "localhost", str(srv.port), USER, "wrong", "fail"])
        assert len(p_lines(p)) == 2, p.log_lines()
    srv.close()


def pop3_pipelined(p, port, password):
    """USER and PASS sent in the same segment as the SOCKS request, before
    the server's greeting: the greeting must not be taken for USER's answer."""
    s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
    s.sendall(b"\x05\x01\x00")
    assert recv_exact(s, 2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big") +
              ("USER %s\r\nPASS %s\r\nQUIT\r\n" % (USER, password)).encode())
    head = recv_exact(s, 10)
    assert head[1] == 0, head
    text = b""
    while b"bye" not in text:
        chunk = s.recv(4096)
        assert chunk, text
        text += chunk
    s.close()
    return text


def test_pop3_pipelined_behind_request():
    srv = Pop3()
    with Proxy(dissectors=True, ini=ports_ini(pop3=srv.port)) as p:
        text = pop3_pipelined(p, srv.port, "wrong")
        assert b"-ERR" in text, text
        expect_p(p, ["-", "P", "POP3", "127.0.0.1", str(srv.port), USER, "wrong", "fail"])
        text = pop3_pipelined(p, srv.port, PASS)
        assert b"logged in" in text, text
        expect_p(p, ["-", "P", "POP3", "127.0.0.1", str(srv.port), USER, PASS, "ok"])
    srv.close()


# --- HTTP --------------------------------------------------------------------

def test_http_basic_curl_ok_and_fail():
    web = Web()
    with Proxy(dissectors=True, ini=ports_ini(http=web.port)) as p:
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "http://localhost:%d/" % web.port])
        assert rc == 0 and out == b"welcome\n", (rc, out, err)
        expect_p(p, ["-", "P", "HTTP", "localhost", str(web.port), USER, PASS, "ok"])
        rc, out, err = curl(socks5h(p) + ["-u", "%s:nope" % USER,
                                          "http://localhost:%d/" % web.port])
        assert rc == 0 and out == b"who?\n", (rc, out, err)
        expect_p(p, ["-", "P", "HTTP", "localhost", str(web.port), USER, "nope", "fail"])
    web.close()


def test_http_proxy_authorization_through_preproxy():
    """curl speaks to an HTTP proxy (the fake server) through socks5d and
    sends Proxy-Authorization."""
    web = Web()
    with Proxy(dissectors=True, ini=ports_ini(http=web.port)) as p:
        rc, out, err = curl(["--preproxy", "socks5h://127.0.0.1:%d" % p.port,
                             "--proxy", "http://127.0.0.1:%d" % web.port,
                             "--proxy-user", "%s:%s" % (USER, PASS),
                             "http://origin.invalid/"])
        assert rc == 0 and out == b"welcome\n", (rc, out, err)
        expect_p(p, ["-", "P", "HTTP", "127.0.0.1", str(web.port), USER, PASS, "ok"])
        rc, out, err = curl(["--preproxy", "socks5h://127.0.0.1:%d" % p.port,
                             "--proxy", "http://127.0.0.1:%d" % web.port,
                             "--proxy-user", "%s:bad" % USER,
                             "http://origin.invalid/"])
        expect_p(p, ["-", "P", "HTTP", "127.0.0.1", str(web.port), USER, "bad", "fail"])
    web.close()


def test_http_sniffed_on_unwatched_port():
    web = Web()
    with Proxy(dissectors=True, ini=ports_ini()) as p:
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "http://127.0.0.1:%d/x" % web.port])
        assert rc == 0 and out == b"welcome\n", (rc, out, err)
        expect_p(p, ["-", "P", "HTTP", "127.0.0.1", str(web.port), USER, PASS, "ok"])
    web.close()


def test_unwatched_non_http_is_left_alone():
    """POP3 on a port no dissector watches: the first client bytes are not
    HTTP, so nothing is reported."""
    srv = Pop3()
    with Proxy(dissectors=True, ini=ports_ini()) as p:
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "pop3://127.0.0.1:%d/" % srv.port])
        assert rc == 0, (rc, out, err)
        p.wait_log(lambda l: "\tA\t" in l)
        expect_no_p(p)
    srv.close()


# --- FTP ---------------------------------------------------------------------

def test_ftp_curl_list_retr_and_fail():
    srv = Ftp()
    with Proxy(dissectors=True, ini=ports_ini(ftp=srv.port)) as p:
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "ftp://localhost:%d/" % srv.port])
        assert rc == 0 and out.strip() == b"file.txt", (rc, out, err, srv.lines)
        expect_p(p, ["-", "P", "FTP", "localhost", str(srv.port), USER, PASS, "ok"])
        rc, out, err = curl(socks5h(p) + ["--ftp-pasv", "--disable-epsv",
                                          "-u", "%s:%s" % (USER, PASS),
                                          "ftp://localhost:%d/file.txt" % srv.port])
        assert rc == 0 and out == Ftp.DATA, (rc, out, err, srv.lines)
        expect_p(p, ["-", "P", "FTP", "localhost", str(srv.port), USER, PASS, "ok"], count=2)
        rc, out, err = curl(socks5h(p) + ["-u", "%s:bad" % USER,
                                          "ftp://localhost:%d/" % srv.port])
        assert rc != 0, (rc, out, err)
        expect_p(p, ["-", "P", "FTP", "localhost", str(srv.port), USER, "bad", "fail"])
        assert len(p_lines(p)) == 3, p.log_lines()  # data connections report nothing
    srv.close()


# --- IMAP --------------------------------------------------------------------

def test_imap_curl_login_ok_and_fail():
    srv = Imap()
    with Proxy(dissectors=True, ini=ports_ini(imap=srv.port)) as p:
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "imap://localhost:%d/" % srv.port])
        assert rc == 0 and b"INBOX" in out, (rc, out, err, srv.lines)
        assert any(" LOGIN " in l for l in srv.lines), srv.lines
        expect_p(p, ["-", "P", "IMAP", "localhost", str(srv.port), USER, PASS, "ok"])
        rc, out, err = curl(socks5h(p) + ["-u", "%s:bad" % USER,
                                          "imap://localhost:%d/" % srv.port])
        assert rc != 0, (rc, out, err)
        expect_p(p, ["-", "P", "IMAP", "localhost", str(srv.port), USER, "bad", "fail"])
    srv.close()


def imap_raw_login(p, port, steps):
    """Sends each step; a step ending in {n}\\r\\n waits for the '+'."""
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", port)
    assert rep == 0, rep
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK"), "greeting"
    for step in steps:
        s.sendall(step)
        if re.search(rb"\{\d+\}\r\n$", step):
            assert f.readline().startswith(b"+"), step
    answer = f.readline()
    s.sendall(b"z LOGOUT\r\n")
    f.close()
    s.close()
    return answer


def test_imap_raw_literal_login():
    srv = Imap()
    with Proxy(dissectors=True, ini=ports_ini(imap=srv.port)) as p:
        a = imap_raw_login(p, srv.port, [b"a1 LOGIN {5}\r\n",
                                         b"alice {6}\r\n", b"s3cret\r\n"])
        assert a.startswith(b"a1 OK"), a
        expect_p(p, ["-", "P", "IMAP", "127.0.0.1", str(srv.port), USER, PASS, "ok"])
        a = imap_raw_login(p, srv.port, [b'b1 login "alice" {4+}\r\nnope\r\n'])
        assert a.startswith(b"b1 NO"), a
        expect_p(p, ["-", "P", "IMAP", "127.0.0.1", str(srv.port), USER, "nope", "fail"])
    srv.close()


# --- switched off -------------------------------------------------------------

def test_minus_N_reports_nothing():
    srv = Pop3()
    with Proxy(dissectors=True, ini=ports_ini(pop3=srv.port), args=["-N"]) as p:
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "pop3://127.0.0.1:%d/" % srv.port])
        assert rc == 0, (rc, out, err)
        assert "dissectors off" in p.stderr(), p.stderr()
        expect_no_p(p)
    srv.close()


def test_dissectors_off_reports_nothing():
    srv, web = Pop3(), Web()
    with Proxy(dissectors=False, ini=ports_ini(pop3=srv.port, http=web.port)) as p:
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "pop3://127.0.0.1:%d/" % srv.port])
        assert rc == 0, (rc, out, err)
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "http://127.0.0.1:%d/" % web.port])
        assert rc == 0 and out == b"welcome\n", (rc, out, err)
        expect_no_p(p)
    srv.close()
    web.close()


def test_mass_0D_switches_dissectors():
    srv = Pop3()
    with Proxy(dissectors=True, ini=ports_ini(pop3=srv.port), admins={"admin": "pw"}) as p:
        assert p.mgmt_port, p.stderr()
        assert mass(p, b"\x0D\x01") == b"\x00"
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "pop3://127.0.0.1:%d/" % srv.port])
        assert rc == 0, (rc, out, err)
        time.sleep(0.2)
        assert p_lines(p) == [], p.log_lines()
        assert mass(p, b"\x0D\x00") == b"\x00"
        rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (USER, PASS),
                                          "pop3://127.0.0.1:%d/" % srv.port])
        assert rc == 0, (rc, out, err)
        expect_p(p, ["-", "P", "POP3", "127.0.0.1", str(srv.port), USER, PASS, "ok"])
    srv.close()


def test_mass_0D_off_stops_inspecting_open_flows():
    """A flow watched when 0D turns dissectors off is not inspected any more,
    even once they are back on: its later login is never reported."""
    srv = Pop3()
    with Proxy(dissectors=True, ini=ports_ini(pop3=srv.port), admins={"admin": "pw"}) as p:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.sendall(b"\x05\x01\x00")
        assert recv_exact(s, 2) == b"\x05\x00"
        s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + srv.port.to_bytes(2, "big"))
        assert recv_exact(s, 10)[1] == 0
        c = Conn(s, [])
        assert c.line().startswith("+OK")
        c.send("USER %s\r\n" % USER)
        assert c.line().startswith("+OK")
        assert mass(p, b"\x0D\x01") == b"\x00"
        c.send("NOOP\r\n")  # the relay sees traffic while dissectors are off
        c.line()
        assert mass(p, b"\x0D\x00") == b"\x00"
        c.send("PASS %s\r\n" % PASS)
        assert c.line().startswith("+OK")
        c.send("QUIT\r\n")
        c.line()
        s.close()
        expect_no_p(p)
    srv.close()


TESTS = [
    test_pop3_curl_ok_and_fail,
    test_pop3_pipelined_behind_request,
    test_http_basic_curl_ok_and_fail,
    test_http_proxy_authorization_through_preproxy,
    test_http_sniffed_on_unwatched_port,
    test_unwatched_non_http_is_left_alone,
    test_ftp_curl_list_retr_and_fail,
    test_imap_curl_login_ok_and_fail,
    test_imap_raw_literal_login,
    test_minus_N_reports_nothing,
    test_dissectors_off_reports_nothing,
    test_mass_0D_switches_dissectors,
    test_mass_0D_off_stops_inspecting_open_flows,
]

if __name__ == "__main__":
    sys.exit(run(TESTS))
