"""Failed logins and admin actions in the daemon log: a failed SOCKS login
names the user tried (escaped) and the client, rate-limited with a count of
what was held back; MASS under pressure (an absolute deadline from accept
to a complete request, a cap for connections not yet logged in, failed
admin logins slowed per source address and logged); every state-changing
MASS index logged with the admin, the address and the result."""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, recv_exact, socks_connect, run, login_bytes, mass,
                     mass_exchange, lv, wait_for, MASS_ADMIN as ADMIN, TIMEOUT)


def socks_login(p, user, password, source=None):
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", 9, user=user, password=password,
                                    source=source)
    s.close()
    return rep


def test_failed_socks_login_is_logged_escaped_and_rate_limited():
    with Proxy(auth=True, users={"alice": "wonderland"}) as p:
        assert socks_login(p, "bob\nsocks5d[1]: info: forged", "x") is None
        wait_for(lambda: "failed login for user" in p.stderr())
        err = p.stderr()
        assert "socks: failed login for user 'bob\\nsocks5d[1]: info: forged' from 127.0.0.1" \
            in err, err
        # from 40 addresses: one address's failures are paced (test_guessing.py)
        for i in range(40):
            socks_login(p, "mallory", "guess", source="127.0.1.%d" % (i + 1))
        lines = p.stderr().count("failed login for user")
        assert 2 <= lines <= 12, lines  # a burst of 10, then 1 a second
        time.sleep(1.2)
        socks_login(p, "mallory", "guess", source="127.0.2.1")
        wait_for(lambda: re.search(r"\d+ more failed logins not logged", p.stderr()))
        # a good login still works and is not logged as a failure
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", 9, user="alice",
                                        password="wonderland")
        s.close()
        assert "user 'alice'" not in p.stderr()


def admin_proxy(ini=""):
    return Proxy(ini, admins={ADMIN[0]: ADMIN[1]})


def mgmt_login(p, user, password):
    """Greeting and login; returns (socket, status octet or None, seconds taken)."""
    s = socket.create_connection(("127.0.0.1", p.mgmt_port), timeout=TIMEOUT)
    s.sendall(b"\x01\x01\x02")
    assert recv_exact(s, 2) == b"\x01\x02"
    start = time.time()
    s.sendall(login_bytes(user, password))
    try:
        st = recv_exact(s, 2)[1]
    except EOFError:
        st = None
    return s, st, time.time() - start


def test_mgmt_deadline_runs_from_accept():
    with admin_proxy("[management]\ntimeout = 1") as p:
        s = socket.create_connection(("127.0.0.1", p.mgmt_port), timeout=TIMEOUT)
        start = time.time()
        closed = False
        for b in b"\x01\x01\x02" + login_bytes(*ADMIN):
            try:
                s.sendall(bytes([b]))
            except OSError:
                closed = True
                break
            time.sleep(0.2)
            if time.time() - start > 3:
                break
        if not closed:
            s.settimeout(3)
            try:
                while s.recv(100):
                    pass
            except OSError:
                pass
        assert time.time() - start < 3, "a trickling client outlived the 1 s deadline"
        s.close()


def test_trickling_clients_cannot_lock_out_the_admin():
    with admin_proxy("[management]\nmax_connections = 16\nmax_unauthenticated = 4\n"
                     "timeout = 30") as p:
        trick = []
        for _ in range(16):
            s = socket.create_connection(("127.0.0.1", p.mgmt_port), timeout=TIMEOUT)
            s.sendall(b"\x01")
            trick.append(s)
        time.sleep(0.2)
        got = mass(p, b"\x00")
        assert got[0] == 0, got.hex()
        assert "not logged in; dropping the oldest" in p.stderr(), p.stderr()
        for s in trick:
            s.close()


def test_failed_admin_logins_slowed_per_source_and_logged():
    with admin_proxy() as p:
        times = []
        for _ in range(3):
            s, st, took = mgmt_login(p, "ev\nil", "wrong")
            s.close()
            assert st == 1, st
            times.append(took)
        assert times[0] >= 0.2 and times[1] >= 0.45 and times[2] >= 0.95, times
        err = p.stderr()
        assert "management: failed login for admin 'ev\\nil' from 127.0.0.1 (failure 3" in err, err
        # a success resets the count
        s, st, _ = mgmt_login(p, *ADMIN)
        assert st == 0
        s.close()
        s, st, took = mgmt_login(p, "admin", "wrong")
        s.close()
        assert st == 1 and 0.2 <= took < 0.45, took


def test_state_changing_indexes_are_attributed():
    """One line per state-changing request, naming its object (never the
    password), and no second line about the change that another admin's
    could come between."""
    with admin_proxy() as p:
        assert mass(p, b"\x0a" + lv("carol") + lv("secret"))[0] == 0
        assert mass(p, b"\x0a" + lv("carol") + lv("secret"))[0] == 1
        assert mass(p, b"\x0b" + lv("ev\nil"))[0] == 1
        assert mass(p, b"\x0b" + lv("carol"))[0] == 0
        assert mass(p, b"\x0c\x01")[0] == 0
        assert mass(p, b"\x0d\x00")[0] == 0
        assert mass(p, b"\x02")[0] == 0
        wait_for(lambda: "index 0D" in p.stderr())
        err = p.stderr()
        who = "management: admin 'admin' from 127.0.0.1: "
        assert who + "index 0A 'carol' status 00\n" in err, err
        assert who + "index 0A 'carol' status 01\n" in err, err
        assert who + "index 0B 'ev\\nil' status 01\n" in err, err
        assert who + "index 0B 'carol' status 00\n" in err, err
        assert who + "index 0C off status 00\n" in err, err
        assert who + "index 0D on status 00\n" in err, err
        assert "index 02 status" not in err, err
        assert "secret" not in err, err
        assert "added" not in err and "deleted" not in err, err
        assert "SOCKS authentication" not in err, err


if __name__ == "__main__":
    sys.exit(run([
        test_failed_socks_login_is_logged_escaped_and_rate_limited,
        test_mgmt_deadline_runs_from_accept,
        test_trickling_clients_cannot_lock_out_the_admin,
        test_failed_admin_logins_slowed_per_source_and_logged,
        test_state_changing_indexes_are_attributed,
    ]))
