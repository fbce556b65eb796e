"""Management stays reachable under descriptor exhaustion (issue 22 item 5).

One authenticated user opens UDP associations (a control connection, the
relay's UDP socket and one toward targets: three descriptors each, up to
four with IPv6 targets) under an open-file limit lowered on the running
daemon to 300 (prlimit), until the daemon has none left. On the old code
`massctl stats` then timed out and the admin could not kick the user; now
each management listener holds 8 spare descriptors and the SOCKS listeners
stop accepting while fewer than 32 would be left."""

import os
import resource
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, UdpEcho, run, login_bytes, recv_exact, massctl, wait_for,
                     MASS_ADMIN as ADMIN, TIMEOUT)

LIMIT = 300


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def udp_datagram(host, port, data):
    return b"\x00\x00\x00\x01" + socket.inet_aton(host) + port.to_bytes(2, "big") + data


def udp_associate(port, timeout=1.0):
    """A UDP ASSOCIATE as user hog, each step within timeout (an exhausted
    daemon leaves the connection unanswered in its backlog)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    c.sendall(b"\x05\x01\x02" + login_bytes("hog", "pw"))
    if recv_exact(c, 4, timeout) != b"\x05\x02\x01\x00":
        return c, None, None, None
    c.sendall(b"\x05\x03\x00\x01" + bytes(6))
    rep = recv_exact(c, 10, timeout)
    return c, rep[1], socket.inet_ntoa(rep[4:8]), int.from_bytes(rep[8:10], "big")


def test_one_user_cannot_lock_out_management():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    echo = UdpEcho()
    indexes = ["01 = users"] + ["%02X = metrics" % i for i in range(2, 10)] + \
        ["0A = users", "0B = users", "0C = auth", "0D = dissectors", "10 = sessions",
         "11 = sessions", "12 = sessions", "13 = sessions"]
    with Proxy(auth=True, users={"hog": "pw"}, admins={ADMIN[0]: ADMIN[1]}, indexes=indexes,
               ini="[socks]\nhandshake_timeout = 60\nconnect_timeout = 2") as p:
        subprocess.run(["prlimit", "--pid", str(p.proc.pid), "--nofile=%d:%d" % (LIMIT, LIMIT)],
                       check=True)
        held, failures, in_a_row = [], 0, 0
        # far more than fit: the daemon runs out of descriptors
        for i in range(LIMIT):
            try:
                c, rep, addr, port = udp_associate(p.port)
            except (OSError, EOFError, AssertionError):
                c, rep = None, None
            if rep != 0:
                failures += 1
                in_a_row += 1
                if c is not None:
                    c.close()
                if in_a_row >= 3:
                    break
                continue
            in_a_row = 0
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(udp_datagram("127.0.0.1", echo.port, b"x"), ("127.0.0.1", port))
            held.append((c, u))
        # and keeps the last descriptors taken: idle connections (several
        # sources: one source holds at most 64 handshakes), the excess
        # waiting in the backlog for any descriptor that frees up
        idle = []
        for i in range(LIMIT):
            s = socket.socket()
            s.setblocking(False)
            s.bind(("127.0.1.%d" % (1 + i // 50), 0))
            try:
                s.connect(("127.0.0.1", p.port))
            except BlockingIOError:
                pass
            idle.append(s)
        time.sleep(0.5)
        used = fds(p.proc.pid)
        assert failures > 0, "the limit was never reached (%d descriptors)" % used
        assert used >= LIMIT - 40, used   # exhausted, but for the kept descriptors
        # the admin still gets in, sees the counters and kicks the user
        start = time.time()
        rc, out, err = massctl(p, "stats", timeout=5)
        assert rc == 0, (rc, out, err)
        rc, out, err = massctl(p, "kick", "hog", timeout=5)
        assert rc == 0, (rc, out, err)
        assert time.time() - start < 5
        # the kick closed the user's sessions: descriptors come back
        wait_for(lambda: fds(p.proc.pid) < LIMIT // 2, "descriptors freed by the kick")
        rc, out, err = massctl(p, "stats", timeout=5)
        assert rc == 0, (rc, out, err)
        for c, u in held:
            c.close()
            u.close()
        for s in idle:
            s.close()
    echo.sock.close()


if __name__ == "__main__":
    sys.exit(run([
        test_one_user_cannot_lock_out_management,
    ]))
