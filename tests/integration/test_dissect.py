"""Password dissectors end to end: real clients (curl) and raw clients talk
POP3, HTTP, FTP, IMAP and SMTP to small local fake servers through socks5d
(offering USER/PASS or LOGIN, or SASL PLAIN and LOGIN), and the
access log must hold exactly the credential lines (P) they should:

    ISO-8601Z <tab> socks_user <tab> P <tab> PROTOCOL <tab> dest <tab> port
              <tab> captured_user <tab> captured_pass <tab> ok|fail

Also: two logins on one kept-alive HTTP connection (curl --next), an IMAP
password with a space, a quote and a backslash, SMTP STARTTLS ending the
inspection, sniffing HTTP on a port no dissector watches, pipelined commands
behind the SOCKS request, and no P line with -N, dissectors = off or (when
the management plugins are in the tree) after MASS index 0D turned them off."""

import base64
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, curl, mass, free_port, recv_exact, socks_connect, run,
                     wait_for, TOP_SRCDIR, TIMEOUT)

USER, PASS = "alice", "s3cret"
ODD = 'pa ss"w\\rd'   # a space, a quote and a backslash: IMAP quotes and escapes it
CREDS = {USER: PASS, "bob": "builder", "odd": ODD, "carol": "c4r0l"}


def b64(s):
    return base64.b64encode(s.encode("latin-1")).decode()


def unb64(s):
    return base64.b64decode(s).decode("latin-1")


def sasl(c, mech, ir, prompt):
    """Runs the server side of SASL PLAIN or LOGIN (ir: the initial response
    or None; prompt(text) sends a challenge). Returns (user, password), or
    None when the client cancels or the mechanism is unknown."""
    mech = mech.upper()
    if mech == "PLAIN":
        if ir is None:
            prompt("")
            ir = c.line()
        if ir == "*":
            return None
        _, user, pw = unb64(ir).split("\0")
        return user, pw
    if mech == "LOGIN":
        if ir is None:
            prompt(b64("Username:"))
            ir = c.line()
        if ir == "*":
            return None
        prompt(b64("Password:"))
        pw = c.line()
        return (None if pw == "*" else (unb64(ir), unb64(pw)))
    return None


def good(cred):
    return cred is not None and CREDS.get(cred[0]) == cred[1]


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
        self.closing = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.closing:
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
        """Stops the accept thread before the descriptor is closed. Closed
        under a thread about to call accept(), the number could be reused at
        once by the next test's listener, whose connections that stale
        accept() would then take: seen once, the USER/PASS-only POP3 server
        of an earlier test answered the SASL test's curl (CAPA without SASL,
        so curl gave up, and the new server saw no line)."""
        self.closing = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept()
        except OSError:
            pass
        self.thread.join(TIMEOUT)
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
    """USER/PASS only (no SASL in CAPA, no APOP timestamp in the greeting),
    or with sasl=True SASL PLAIN and LOGIN too, which curl then prefers."""

    def __init__(self, sasl=False):
        self.sasl = sasl
        super().__init__()

    def serve(self, c):
        user = None
        c.send("+OK fake POP3 ready\r\n")
        while True:
            cmd, _, arg = c.line().partition(" ")
            cmd = cmd.upper()
            if cmd == "CAPA":
                c.send("+OK\r\nUSER\r\n%sUIDL\r\n.\r\n" %
                       ("SASL PLAIN LOGIN\r\n" if self.sasl else ""))
            elif cmd == "AUTH" and self.sasl:
                mech, _, ir = arg.partition(" ")
                cred = sasl(c, mech, ir or None, lambda t: c.send("+ %s\r\n" % t))
                c.send("+OK logged in\r\n" if good(cred) else "-ERR [AUTH] invalid\r\n")
            elif cmd == "USER":
                user = arg
                c.send("+OK send PASS\r\n")
            elif cmd == "PASS":
                c.send("+OK logged in\r\n" if good((user, arg))
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
    CAPABILITY offers no AUTH= mechanism, which steers curl to LOGIN; with
    sasl=True it offers AUTH=PLAIN AUTH=LOGIN SASL-IR and AUTHENTICATE."""

    def __init__(self, sasl=False):
        self.sasl = sasl
        super().__init__()

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
                c.send("* CAPABILITY IMAP4rev1%s\r\n%s OK done\r\n" %
                       (" AUTH=PLAIN AUTH=LOGIN SASL-IR" if self.sasl else "", tag))
            elif cmd == "AUTHENTICATE" and self.sasl:
                mech, _, ir = rest.partition(" ")
                cred = sasl(c, mech, ir or None, lambda t: c.send("+ %s\r\n" % t))
                c.send("%s OK done\r\n" % tag if good(cred)
                       else "%s NO [AUTHENTICATIONFAILED] invalid\r\n" % tag)
            elif cmd == "LOGIN":
                a = self.args(c, rest)
                if len(a) == 2 and good(tuple(a)):
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
            auth = headers.get(name, "")
            cred = unb64(auth[6:]).split(":", 1) if auth.startswith("Basic ") else None
            if cred and good(tuple(cred)):
                status, body = "200 OK", b"welcome\n"
            elif proxy:
                status, body = "407 Proxy Authentication Required", b"who?\n"
            else:
                status, body = "401 Unauthorized", b"who?\n"
            c.send("HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" %
                   (status, len(body), 'WWW-Authenticate: Basic realm="x"\r\n'
                    if status.startswith("401") else ""))
            c.send(body)


class Smtp(LineServer):
    """ESMTP submission offering AUTH PLAIN LOGIN (and STARTTLS, answered
    220 and then spoken to as if TLS followed: the connection just ends)."""

    def serve(self, c):
        c.send("220 fake.test ESMTP ready\r\n")
        while True:
            line = c.line()
            cmd, _, arg = line.partition(" ")
            cmd = cmd.upper()
            if cmd in ("EHLO", "HELO"):
                c.send("250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n"
                       "250 8BITMIME\r\n")
            elif cmd == "AUTH":
                mech, _, ir = arg.partition(" ")
                cred = sasl(c, mech, ir or None, lambda t: c.send("334 %s\r\n" % t))
                c.send("235 2.7.0 Authentication successful\r\n" if good(cred)
                       else "535 5.7.8 Authentication credentials invalid\r\n")
            elif cmd == "STARTTLS":
                c.send("220 2.0.0 Ready to start TLS\r\n")
                c.line()  # a real client sends a ClientHello here; a test, plain text
                return
            elif cmd in ("MAIL", "RCPT", "RSET", "NOOP"):
                c.send("250 ok\r\n")
            elif cmd == "DATA":
                c.send("354 go ahead\r\n")
                while c.line() != ".":
                    pass
                c.send("250 queued\r\n")
            elif cmd == "QUIT":
                c.send("221 bye\r\n")
                return
            else:
                c.send("502 unknown\r\n")


# --- helpers ---------------------------------------------------------------

def ports_ini(pop3=None, http=None, ftp=None, imap=None, smtp=None):
    """A [dissectors] section; an unset protocol watches an unused port."""
    spare = free_port()
    return "[dissectors]\npop3 = %d\nhttp = %d\nftp = %d\nimap = %d\nsmtp = %d\n" % tuple(
        spare if p is None else p for p in (pop3, http, ftp, imap, smtp))


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


def test_http_keepalive_next():
    """curl --next: two requests on one kept-alive connection, two different
    Basic credentials, one refused (401) and one accepted (200): two P lines,
    each with its own result."""
    web = Web()
    url = "http://localhost:%d/" % web.port
    with Proxy(dissectors=True, ini=ports_ini(http=web.port)) as p:
        rc, out, err = curl(socks5h(p) + ["-u", "bob:wrong", url, "--next"] +
                            socks5h(p) + ["-u", "%s:%s" % (USER, PASS), url])
        assert rc == 0 and out == b"who?\nwelcome\n", (rc, out, err)
        expect_p(p, ["-", "P", "HTTP", "localhost", str(web.port), "bob", "wrong", "fail"])
        expect_p(p, ["-", "P", "HTTP", "localhost", str(web.port), USER, PASS, "ok"])
        assert len(p_lines(p)) == 2, p.log_lines()
        tunnels = [l for l in p.log_lines() if l.split("\t")[2:3] == ["A"]]
        assert len(tunnels) == 1, p.log_lines()  # one connection carried both
    web.close()


def test_imap_password_with_quote_space_backslash():
    srv = Imap()
    with Proxy(dissectors=True, ini=ports_ini(imap=srv.port)) as p:
        rc, out, err = curl(socks5h(p) + ["-u", "odd:" + ODD,
                                          "imap://localhost:%d/" % srv.port])
        assert rc == 0 and b"INBOX" in out, (rc, out, err, srv.lines)
        assert any(' LOGIN odd "pa ss\\"w\\\\rd"' in l for l in srv.lines), srv.lines
        expect_p(p, ["-", "P", "IMAP", "localhost", str(srv.port), "odd",
                     ODD.replace("\\", "\\\\"), "ok"])  # the log escapes a backslash
    srv.close()


def check_sasl(proto, srv, url, extra=()):
    """curl with --login-options AUTH=PLAIN and AUTH=LOGIN, each with and
    without --sasl-ir, right and wrong: every login reported with its result."""
    port = str(srv.port)
    ini = ports_ini(**{proto.lower(): srv.port})
    with Proxy(dissectors=True, ini=ini) as p:
        n = 0
        for mech in ("PLAIN", "LOGIN"):
            for ir in ([], ["--sasl-ir"]):
                for user, pw in ((USER, PASS), ("bob", "wrong")):
                    before = len(srv.lines)
                    rc, out, err = curl(socks5h(p) + ["-u", "%s:%s" % (user, pw),
                                                      "--login-options", "AUTH=" + mech] +
                                        ir + list(extra) + [url])
                    seen = srv.lines[before:]
                    assert any(mech in l.upper() for l in seen), (mech, seen)
                    assert (rc == 0) == (pw == PASS), (rc, out, err, seen)
                    n += 1
                    result = "ok" if pw == PASS else "fail"
                    expect_p(p, ["-", "P", proto, "localhost", port, user, pw, result],
                             count=(n + 1) // 2 if pw == PASS else n // 2)
        assert len(p_lines(p)) == n, p.log_lines()
    srv.close()


def test_pop3_sasl_plain_and_login():
    srv = Pop3(sasl=True)
    check_sasl("POP3", srv, "pop3://localhost:%d/" % srv.port)


def test_imap_sasl_plain_and_login():
    srv = Imap(sasl=True)
    check_sasl("IMAP", srv, "imap://localhost:%d/" % srv.port)


def test_smtp_sasl_plain_and_login():
    srv = Smtp()
    mail = os.path.join(os.environ.get("TMPDIR", "/tmp"), "mass-dissect-mail-%d" % os.getpid())
    with open(mail, "w") as f:
        f.write("Subject: test\r\n\r\nhello\r\n")
    try:
        check_sasl("SMTP", srv, "smtp://localhost:%d/" % srv.port,
                   ["--mail-from", "a@example.test", "--mail-rcpt", "b@example.test",
                    "-T", mail])
    finally:
        os.unlink(mail)


def test_smtp_starttls_stops_inspection():
    """After a STARTTLS answered 220 nothing more is read: an AUTH PLAIN sent
    in the clear afterwards (as if it were inside TLS) is not reported."""
    srv = Smtp()
    with Proxy(dissectors=True, ini=ports_ini(smtp=srv.port)) as p:
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", srv.port)
        assert rep == 0, rep
        c = Conn(s, [])
        assert c.line().startswith("220")
        c.send("EHLO c\r\n")
        while not c.line().startswith("250 "):
            pass
        c.send("STARTTLS\r\n")
        assert c.line().startswith("220")
        c.send("AUTH PLAIN %s\r\n" % b64("\0%s\0%s" % (USER, PASS)))
        s.close()
        expect_no_p(p)  # (the debug line it logs is not shown: socks5d logs info and up)
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


# --- bodies on the splice path (issue 24) -----------------------------------

DEBUG_INI = "[socks]\nlog_level = debug\n"
MIB = 1024 * 1024
RELAY_RE = re.compile(r"relay: closed: to upstream (\d+) bytes \((\d+) spliced, (\d+) tapped\), "
                      r"to client (\d+) bytes \((\d+) spliced, (\d+) tapped\)")


def relay_stats(p, count=1):
    """The relay's own statistic for each closed tunnel (socks5d at debug
    level): dicts of up/down bytes, spliced and tapped (fed to a dissector)."""
    def found():
        return [dict(zip(("up", "up_spliced", "up_tapped", "down", "down_spliced", "down_tapped"),
                         map(int, m.groups()))) for m in RELAY_RE.finditer(p.stderr())]
    wait_for(lambda: len(found()) >= count, "%d relay statistic line(s)" % count)
    return found()


def pattern(n, seed=0):
    """n deterministic bytes (fast to make, not compressible by accident)."""
    block = bytes((i * 131 + seed * 7 + (i >> 8)) & 0xff for i in range(65536))
    return (block * (n // len(block) + 1))[:n]


def read_until_eof(sock, timeout=TIMEOUT):
    sock.settimeout(timeout)
    out = bytearray()
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return bytes(out)
        out += chunk


def read_n(sock, n, timeout=TIMEOUT):
    sock.settimeout(timeout)
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(min(1 << 20, n - len(out)))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return bytes(out)


def skip_body(c, n):
    """Reads and drops n bytes from Conn c (its buffer first)."""
    take = min(n, len(c.buf))
    c.buf, n = c.buf[take:], n - take
    while n > 0:
        chunk = c.sock.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError
        n -= len(chunk)


class BigWeb(LineServer):
    """HTTP/1.1 kept alive: GET /cl/N answers N bytes with Content-Length,
    GET /chunked/N/K the same in chunks of K; a request body (Content-Length)
    is read and dropped. 200 for good Basic credentials, else a small 401."""

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
            if "content-length" in headers:
                skip_body(c, int(headers["content-length"]))
            auth = headers.get("authorization", "")
            cred = unb64(auth[6:]).split(":", 1) if auth.startswith("Basic ") else None
            if not (cred and good(tuple(cred))):
                c.send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nwho?")
                continue
            parts = request.split(" ")[1].split("/")
            body = pattern(int(parts[2]))
            if parts[1] == "cl":
                c.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
                c.sock.sendall(body)
                continue
            size = int(parts[3])
            c.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for o in range(0, len(body), size):
                piece = body[o:o + size]
                c.sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            c.send(b"0\r\n\r\n")


def test_http_keepalive_after_big_bodies():
    """One kept-alive connection: a 100 MiB Content-Length body, a refused
    login, a 100 MiB chunked body (64 KiB chunks), another login, a 20 MiB
    body in 20,480 chunks of 1 KiB (more chunk-size lines than the line
    budget), and a last login: five P lines, each once with its own result.
    The big bodies took the splice path (the relay's statistic); only
    headers, chunk-size lines and the small chunks were fed to the
    dissector."""
    web = BigWeb()
    base = "http://localhost:%d" % web.port
    size = 100 * MIB
    with Proxy(dissectors=True, ini=DEBUG_INI + ports_ini(http=web.port)) as p:
        args = []
        for cred, path in (("%s:%s" % (USER, PASS), "/cl/%d" % size),
                           ("bob:wrong", "/cl/1"),
                           ("bob:builder", "/chunked/%d/%d" % (size, 64 * 1024)),
                           ("odd:" + ODD, "/chunked/%d/1024" % (20 * MIB)),
                           ("carol:c4r0l", "/cl/1000")):
            args += socks5h(p) + ["-u", cred, "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n",
                                  base + path, "--next"]
        r = subprocess.run(["curl", "-sS"] + args[:-1], capture_output=True, timeout=120)
        assert r.returncode == 0, r
        assert r.stdout.decode().split("\n") == [
            "200 %d" % size, "401 4", "200 %d" % size, "200 %d" % (20 * MIB), "200 1000", ""], r.stdout
        expect_p(p, ["-", "P", "HTTP", "localhost", str(web.port), USER, PASS, "ok"])
        expect_p(p, ["-", "P", "HTTP", "localhost", str(web.port), "bob", "wrong", "fail"])
        expect_p(p, ["-", "P", "HTTP", "localhost", str(web.port), "bob", "builder", "ok"])
        expect_p(p, ["-", "P", "HTTP", "localhost", str(web.port), "odd", ODD.replace("\\", "\\\\"), "ok"])
        expect_p(p, ["-", "P", "HTTP", "localhost", str(web.port), "carol", "c4r0l", "ok"])
        assert len(p_lines(p)) == 5, p.log_lines()
        tunnels = [l for l in p.log_lines() if l.split("\t")[2:3] == ["A"]]
        assert len(tunnels) == 1, p.log_lines()
        st = relay_stats(p)[0]
        assert st["down"] >= 2 * size + 20 * MIB, st
        assert st["down_spliced"] >= 2 * size - MIB, st
        # headers, chunk-size lines, the 1 KiB chunks, a little of each body
        assert st["down_tapped"] < 22 * MIB, st
        assert st["up_tapped"] == st["up"], st  # requests: all headers
    web.close()


def test_http_upload_and_pipelined_behind_body():
    """A 20 MiB POST body then the next request right behind it on the same
    connection, written in one go: the body is spliced upstream and the
    second request's login is still reported."""
    web = BigWeb()
    with Proxy(dissectors=True, ini=DEBUG_INI + ports_ini(http=web.port)) as p:
        s = socks_connect(p.port, "127.0.0.1", web.port)[0]
        body = pattern(20 * MIB, 3)
        req = (b"POST /cl/10 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"
               b"Content-Length: %d\r\n\r\n" % (b64("bob:builder").encode(), len(body)))
        nxt = b"GET /cl/20 HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n" % b64("bob:bad").encode()
        t = threading.Thread(target=s.sendall, args=(req + body + nxt,))
        t.start()
        first = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + pattern(10)
        second = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nwho?"
        assert read_n(s, len(first) + len(second), 60) == first + second
        t.join()
        s.close()
        expect_p(p, ["-", "P", "HTTP", "127.0.0.1", str(web.port), "bob", "builder", "ok"])
        expect_p(p, ["-", "P", "HTTP", "127.0.0.1", str(web.port), "bob", "bad", "fail"])
        st = relay_stats(p)[0]
        assert st["up_spliced"] >= len(body) - 64 * 1024, st
    web.close()


class Liar(LineServer):
    """Reads one request, answers self.reply (bytes) and closes."""

    reply = b""

    def serve(self, c):
        while c.line():
            pass
        c.sock.sendall(self.reply)


def test_http_lying_lengths_byte_exact():
    """Bodies shorter or longer than announced, a chunk longer than its
    size, a chunk size that overflows: the client receives exactly what the
    server sent, the login seen before is reported, and the relay keeps
    going (on the splice path once the dissector has given up)."""
    junk = pattern(3 * MIB, 5)
    head = b"HTTP/1.1 200 OK\r\n"
    cases = {
        "shorter": head + b"Content-Length: %d\r\n\r\n" % (4 * MIB) + junk[:2 * MIB],
        "longer": head + b"Content-Length: %d\r\n\r\n" % MIB + junk +
                  b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "long chunk": head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % MIB + junk,
        "overflow": head + b"Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n" + junk,
        "negative": head + b"Content-Length: -5\r\n\r\n" + junk,
    }
    srv = Liar()
    with Proxy(dissectors=True, ini=DEBUG_INI + ports_ini(http=srv.port)) as p:
        for n, (name, reply) in enumerate(cases.items()):
            srv.reply = reply
            s = socks_connect(p.port, "127.0.0.1", srv.port)[0]
            s.sendall(b"GET / HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n" %
                      b64("liar%d:pw" % n).encode())
            got = read_until_eof(s, 60)
            s.close()
            assert got == reply, (name, len(got), len(reply))
            expect_p(p, ["-", "P", "HTTP", "127.0.0.1", str(srv.port), "liar%d" % n, "pw", "ok"])
            st = relay_stats(p, n + 1)[n]
            assert st["down"] == len(reply), (name, st)
            assert st["down_spliced"] >= MIB, (name, st)
    srv.close()


def mail_login(proto, c):
    """The client side of a password login through socket c (a Conn)."""
    if proto == "pop3":
        c.line()
        c.send("USER %s\r\n" % USER)
        c.line()
        c.send("PASS %s\r\n" % PASS)
    elif proto == "imap":
        c.line()
        c.send("a1 LOGIN %s %s\r\n" % (USER, PASS))
    elif proto == "smtp":
        c.line()
        c.send("EHLO me\r\n")
        c.line()
        c.send("AUTH PLAIN %s\r\n" % b64("\0%s\0%s" % (USER, PASS)))
    else:
        c.line()
        c.send("USER %s\r\n" % USER)
        c.line()
        c.send("PASS %s\r\n" % PASS)
    return c.line()


class LoginThenBulk(LineServer):
    """The server side of a login (POP3, IMAP, SMTP or FTP, checked against
    USER/PASS), then N bytes each way at once: it sends pattern(N, 1) and
    checks that it reads pattern(N, 2)."""

    N = 4 * MIB

    def __init__(self, proto):
        self.proto, self.ok = proto, []
        super().__init__()

    def login(self, c):
        if self.proto == "pop3":
            c.send("+OK ready\r\n")
            user = c.line().split(" ", 1)[1]
            c.send("+OK\r\n")
            pw = c.line().split(" ", 1)[1]
            c.send("+OK logged in\r\n" if (user, pw) == (USER, PASS) else "-ERR no\r\n")
        elif self.proto == "imap":
            c.send("* OK IMAP4rev1 ready\r\n")
            _, _, user, pw = c.line().split(" ")
            c.send("a1 OK done\r\n" if (user, pw) == (USER, PASS) else "a1 NO\r\n")
        elif self.proto == "smtp":
            c.send("220 mx ESMTP ready\r\n")
            c.line()
            c.send("250 AUTH PLAIN\r\n")
            _, user, pw = unb64(c.line().split(" ")[2]).split("\0")
            c.send("235 ok\r\n" if (user, pw) == (USER, PASS) else "535 no\r\n")
        else:
            c.send("220 ftp ready\r\n")
            user = c.line().split(" ", 1)[1]
            c.send("331 password\r\n")
            pw = c.line().split(" ", 1)[1]
            c.send("230 in\r\n" if (user, pw) == (USER, PASS) else "530 no\r\n")

    def serve(self, c):
        self.login(c)
        t = threading.Thread(target=c.sock.sendall, args=(pattern(self.N, 1),))
        t.start()
        got = c.buf + read_n(c.sock, self.N - len(c.buf), 60)
        t.join()
        self.ok.append(got == pattern(self.N, 2))


def test_mail_and_ftp_after_login_spliced():
    """POP3, IMAP, SMTP and FTP: after the login the tap detaches; 4 MiB
    each way are byte-exact and go by splice (the relay's statistic)."""
    for n, proto in enumerate(("pop3", "imap", "smtp", "ftp")):
        srv = LoginThenBulk(proto)
        with Proxy(dissectors=True, ini=DEBUG_INI + ports_ini(**{proto: srv.port})) as p:
            s = socks_connect(p.port, "127.0.0.1", srv.port)[0]
            s.settimeout(TIMEOUT)
            c = Conn(s, [])
            reply = mail_login(proto, c)
            assert reply[:1] in ("+", "a", "2"), (proto, reply)
            t = threading.Thread(target=s.sendall, args=(pattern(srv.N, 2),))
            t.start()
            got = c.buf + read_n(s, srv.N - len(c.buf), 60)
            t.join()
            s.close()
            assert got == pattern(srv.N, 1), proto
            wait_for(lambda: srv.ok == [True], "%s server got the client's bytes" % proto)
            expect_p(p, ["-", "P", proto.upper(), "127.0.0.1", str(srv.port), USER, PASS, "ok"])
            st = relay_stats(p)[0]
            for d in ("up", "down"):
                assert st[d] >= srv.N, (proto, st)
                assert st[d + "_spliced"] >= srv.N - 256 * 1024, (proto, st)
                assert st[d + "_tapped"] < 64 * 1024, (proto, st)
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
    test_http_keepalive_next,
    test_imap_password_with_quote_space_backslash,
    test_pop3_sasl_plain_and_login,
    test_imap_sasl_plain_and_login,
    test_smtp_sasl_plain_and_login,
    test_smtp_starttls_stops_inspection,
    test_minus_N_reports_nothing,
    test_dissectors_off_reports_nothing,
    test_mass_0D_switches_dissectors,
    test_mass_0D_off_stops_inspecting_open_flows,
    test_http_keepalive_after_big_bodies,
    test_http_upload_and_pipelined_behind_body,
    test_http_lying_lengths_byte_exact,
    test_mail_and_ftp_after_login_spliced,
]

if __name__ == "__main__":
    sys.exit(run(TESTS))
