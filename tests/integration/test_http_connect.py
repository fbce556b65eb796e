"""HTTP CONNECT on the SOCKS listener ([socks] http_connect = on): curl
tunnels through it with Proxy-Authorization Basic (plain HTTP with -p, and
HTTPS), a wrong or missing password gets 407 with Proxy-Authenticate, a
denied destination 403, a refused one 502, a head that is not CONNECT 405,
a malformed one 400; bytes behind the head reach the target; the access
log records the tunnel under the user, with its bytes; the user's class
limits apply (max_sessions: 403); off by default (an
HTTP client is closed without an answer) and SOCKS5 is unchanged beside it."""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (EchoServer, Proxy, Web, curl, free_port, recv_all, recv_exact,
                     socks_connect, run, TIMEOUT)

USERS = {"alice": "wonderland"}
ON = "[socks]\nhttp_connect = on"


def head(p, text, extra=b""):
    """Sends a request head (plus extra) and returns (status, head text, socket)."""
    s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
    s.sendall(text.encode() + extra)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    text, _, rest = data.partition(b"\r\n\r\n")
    status = int(text.split(b" ")[1]) if text.startswith(b"HTTP/1.1 ") else None
    return status, text.decode("latin-1"), s, rest


def basic(user, pw):
    import base64
    return "Proxy-Authorization: Basic %s\r\n" % base64.b64encode(
        ("%s:%s" % (user, pw)).encode()).decode()


def connect_head(host, port, auth=""):
    return "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n" % (host, port, host, port, auth)


def test_curl_tunnel_plain():
    web = Web()
    with Proxy(ON, auth=True, users=USERS) as p:
        rc, out, err = curl(["-p", "--proxy", "http://alice:wonderland@127.0.0.1:%d" % p.port,
                             "http://127.0.0.1:%d/" % web.port])
        assert rc == 0 and out == Web.BODY, (rc, out, err)
        # the same access log as SOCKS: the request (A, REP 0), then the
        # close record with its bytes, under the user
        f = p.wait_log(lambda l: l.split("\t")[1:3] == ["alice", "A"]).split("\t")
        assert f[5:8] == ["127.0.0.1", str(web.port), "0"], f
        f = p.wait_log(lambda l: l.split("\t")[1:3] == ["alice", "C"]).split("\t")
        assert f[5:7] == ["127.0.0.1", str(web.port)], f
        assert int(f[9]) > 0 and int(f[10]) >= len(Web.BODY), f
    web.close()


def tls_server(certdir):
    """A TLS server answering one fixed HTTP response per connection."""
    cert, key = os.path.join(certdir, "c.pem"), os.path.join(certdir, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            try:
                t = ctx.wrap_socket(c, server_side=True)
                t.recv(4096)
                t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret")
                t.close()
            except (OSError, ssl.SSLError):
                c.close()
    threading.Thread(target=serve, daemon=True).start()
    return ls


def test_curl_tunnel_https():
    if shutil.which("openssl") is None:
        print("SKIP: no openssl")
        return
    d = tempfile.mkdtemp(prefix="mass-tls-")
    ls = tls_server(d)
    with Proxy(ON, auth=True, users=USERS) as p:
        rc, out, err = curl(["-k", "--proxy", "http://alice:wonderland@127.0.0.1:%d" % p.port,
                             "https://127.0.0.1:%d/" % ls.getsockname()[1]])
        assert rc == 0 and out == b"secret", (rc, out, err)
    ls.close()
    shutil.rmtree(d)


def test_wrong_or_missing_password_407():
    echo = EchoServer()
    with Proxy(ON, auth=True, users=USERS) as p:
        for auth in (basic("alice", "nope"), basic("mallory", "x"), "",
                     "Proxy-Authorization: Basic !!!\r\n"):
            status, text, s, _ = head(p, connect_head("127.0.0.1", echo.port, auth))
            assert status == 407, text
            assert 'Proxy-Authenticate: Basic realm="socks5d"' in text, text
            assert recv_all(s, 5) == b""
            s.close()
        rc, out, err = curl(["-p", "--proxy", "http://alice:bad@127.0.0.1:%d" % p.port,
                             "http://127.0.0.1:%d/" % echo.port])
        assert rc != 0 and b"407" in err, (rc, err)
        assert "failed login for user 'alice'" in p.stderr(), p.stderr()
    echo.close()


def test_denied_403_refused_502():
    echo = EchoServer()
    closed = free_port()
    with Proxy(ON + "\n[acl]\ndeny = dest 127.0.0.1 port %d\nallow = dest 0.0.0.0/0" % echo.port,
               auth=True, users=USERS) as p:
        status, text, s, _ = head(p, connect_head("127.0.0.1", echo.port,
                                                  basic("alice", "wonderland")))
        assert status == 403, text
        s.close()
        status, text, s, _ = head(p, connect_head("127.0.0.1", closed,
                                                  basic("alice", "wonderland")))
        assert status == 502, text
        s.close()
        p.wait_log(lambda l: l.endswith("\t2"))
        p.wait_log(lambda l: l.endswith("\t5"))
        assert "denied by [acl] line" in p.stderr()
    echo.close()


def test_not_connect_405_malformed_400():
    with Proxy(ON) as p:
        status, text, s, _ = head(p, "GET http://127.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 405, text
        s.close()
        for bad in ("CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n",          # no port
                    "CONNECT  127.0.0.1:80 HTTP/1.1\r\n\r\n",      # two spaces
                    "CONNECT 127.0.0.1:80 HTTP/2.0\r\n\r\n",
                    "CONNECT 127.0.0.1:80 HTTP/1.1\r\nX\rY: 1\r\n\r\n"):
            status, text, s, _ = head(p, bad)
            assert status == 400, (bad, text)
            s.close()


def test_pipelined_bytes_and_no_auth():
    echo = EchoServer()
    with Proxy(ON) as p:
        # auth off: credentials, if any, are ignored; bytes behind the head go through
        status, text, s, rest = head(p, connect_head("127.0.0.1", echo.port,
                                                     basic("x", "y")), b"early")
        assert status == 200 and text == "HTTP/1.1 200 Connection established", text
        got = rest + recv_exact(s, 5 - len(rest)) if len(rest) < 5 else rest
        assert got == b"early", got
        s.sendall(b"later")
        assert recv_exact(s, 5) == b"later"
        s.close()
        # SOCKS5 beside it unchanged
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", echo.port)
        assert rep == 0
        s.close()
    echo.close()


def test_limits_apply():
    echo = EchoServer()
    ini = ON + "\n[class one]\nmax_sessions = 1"
    with Proxy(ini, auth=True, users={"alice": "wonderland class=one"}) as p:
        auth = basic("alice", "wonderland")
        status, text, s, _ = head(p, connect_head("127.0.0.1", echo.port, auth))
        assert status == 200, text
        # the class allows one session: the second is refused as SOCKS would be (REP 02)
        status, text, t, _ = head(p, connect_head("127.0.0.1", echo.port, auth))
        assert status == 403, text
        t.close()
        assert "refused by max_sessions" in p.stderr(), p.stderr()
        s.close()
    echo.close()


def test_off_by_default():
    echo = EchoServer()
    with Proxy() as p:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.sendall(connect_head("127.0.0.1", echo.port).encode())
        assert recv_all(s, 5) == b""
        s.close()
    echo.close()


if __name__ == "__main__":
    sys.exit(run([test_curl_tunnel_plain, test_curl_tunnel_https,
                  test_wrong_or_missing_password_407, test_denied_403_refused_502,
                  test_not_connect_405_malformed_400, test_pipelined_bytes_and_no_auth,
                  test_limits_apply, test_off_by_default]))
