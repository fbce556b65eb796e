#!/usr/bin/env python3
"""Two socks5d instances behind one HAProxy, sharing one PostgreSQL (issue
16, item 3), all real servers started here and stopped by PID: PostgreSQL
on 127.0.0.1; instances A and B, each with the pgsql plugin as
authentication provider and on 01/0A/0B, and `proxy_protocol =
127.0.0.1/32`; one HAProxy frontend (mode tcp, balance roundrobin, both
servers with send-proxy-v2). Clients connect to HAProxy from 127.0.0.2.

A user added with massctl on A logs in through HAProxy on both instances
within 1 s of the 0A reply (the time is printed), and both access logs show
127.0.0.2 as the client. With PostgreSQL stopped, a tunnel opened through
HAProxy keeps relaying, known users still log in on both, and 0A answers
01 at once with nothing written; once PostgreSQL is back, 0A works again.

Skipped (exit 77, with a message) when haproxy or the PostgreSQL server
binaries are not installed, or the pgsql plugin was not built."""

import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, recv_exact, socks_connect, massctl, run, wait_for,
                     isolate, MASS_ADMIN)
from servers import HAProxy, Postgres, pg_bindir, pgsql_skip_reason

CLIENT = "127.0.0.2"

PG = None
A = B = None
LB = None
ECHO = None
TUNNEL = None


def instance(pg):
    idx = ["01 = pgsql", "0A = pgsql", "0B = pgsql"] + ["%02X = metrics" % i for i in range(2, 10)]
    ini = ("[socks]\nproxy_protocol = 127.0.0.1/32\n"
           "[plugin pgsql]\nconninfo = %s\ntable = socks_users" % pg.conninfo())
    return Proxy(auth=True, admins=dict([MASS_ADMIN]), indexes=idx, ini=ini).start()


def user_lines(p, user):
    """p's CONNECT lines for user: the fields of each."""
    return [l.split("\t") for l in p.log_lines() if l.split("\t")[1:3] == [user, "A"]]


def through_lb(user, password):
    """A CONNECT to the echo target through HAProxy from CLIENT; returns the
    open tunnel (echo checked), or None when the login was refused."""
    s, rep, *_ = socks_connect(LB.port, "127.0.0.1", ECHO.port, user, password, source=CLIENT)
    if rep is None:
        s.close()
        return None
    assert rep == 0, rep
    s.sendall(b"ping")
    assert recv_exact(s, 4) == b"ping"
    return s


def logins_on_both(user, password, timeout):
    """Logs in as user through HAProxy, one connection after another (round
    robin alternates A and B), until both access logs hold a new line for
    user; returns the seconds taken. Every line names CLIENT."""
    before = [len(user_lines(p, user)) for p in (A, B)]
    t0 = time.monotonic()
    while True:
        s = through_lb(user, password)
        if s is not None:
            s.close()
        now = [len(user_lines(p, user)) for p in (A, B)]
        if all(n > b for n, b in zip(now, before)):
            break
        assert time.monotonic() - t0 < timeout, (now, before, A.stderr(), B.stderr())
        time.sleep(0.005)
    dt = time.monotonic() - t0
    for p in (A, B):
        for f in user_lines(p, user):
            assert f[3] == CLIENT and f[-1] == "0", f
    return dt


def loaded_count(p):
    return p.stderr().count("users loaded")


def test_start_two_instances_behind_haproxy():
    global A, B, LB, ECHO
    ECHO = EchoServer()
    A = instance(PG)
    B = instance(PG)
    for p in (A, B):
        wait_for(lambda: loaded_count(p) >= 1, "the copy's first load")
    LB = HAProxy([A.port, B.port], "send-proxy-v2")


def test_user_added_on_a_logs_in_on_both_within_1s():
    rc, out, err = massctl(A, "add-user", "alice", "wonder land")
    assert rc == 0, (out, err, A.stderr())
    dt = logins_on_both("alice", "wonder land", timeout=5)
    print("     after 0A on A: logins through HAProxy on A and B within %.1f ms" % (dt * 1000))
    assert dt < 1.0, dt
    assert through_lb("alice", "wonder lanD") is None
    assert "proxy_protocol:" not in A.stderr() + B.stderr()


def test_access_logs_show_the_real_client():
    for p in (A, B):
        lines = [l for l in p.log_lines() if "\tA\t" in l]
        assert lines and all(l.split("\t")[3] == CLIENT for l in lines), lines


def test_database_down_keeps_tunnel_and_logins_fails_0a():
    global TUNNEL
    TUNNEL = through_lb("alice", "wonder land")
    assert TUNNEL is not None
    PG.stop()
    for p in (A, B):
        wait_for(lambda: "database connection lost" in p.stderr(), "the loss logged")
    TUNNEL.sendall(b"still there")
    assert recv_exact(TUNNEL, 11) == b"still there"
    logins_on_both("alice", "wonder land", timeout=5)
    assert through_lb("alice", "wrong") is None
    t0 = time.monotonic()
    rc, out, err = massctl(A, "add-user", "bob", "down")
    dt = time.monotonic() - t0
    assert rc != 0 and dt < 1.0, (rc, dt, out, err)
    assert "add bob: database not connected, answered 01" in A.stderr(), A.stderr()
    assert through_lb("bob", "down") is None


def test_database_back_restores_0a():
    before = [loaded_count(p) for p in (A, B)]
    PG.start()
    assert PG.psql("SELECT count(*) FROM socks_users WHERE name = 'bob'") == "0"
    for i, p in enumerate((A, B)):
        wait_for(lambda: loaded_count(p) > before[i], "the resync", timeout=15)
    TUNNEL.sendall(b"and after")
    assert recv_exact(TUNNEL, 9) == b"and after"
    rc, out, err = massctl(A, "add-user", "bob", "up again")
    assert rc == 0, (out, err, A.stderr())
    dt = logins_on_both("bob", "up again", timeout=5)
    assert dt < 1.0, dt


def test_everything_stops_cleanly():
    global A, B, LB, TUNNEL
    TUNNEL.close()
    TUNNEL = None
    LB.stop()
    LB = None
    for p in (A, B):
        assert p.stop() == 0, p.stderr()
    A = B = None


def main():
    global PG
    why = pgsql_skip_reason()
    if why is None and shutil.which("haproxy") is None:
        why = "haproxy is not installed (Debian package haproxy; tests/install-deps.sh)"
    if why is not None:
        print("test_cluster: skipped: " + why)
        return 77
    isolate()  # as root: re-runs this script in a network namespace of its own
    PG = Postgres(pg_bindir())
    try:
        PG.start()
        rc = run([test_start_two_instances_behind_haproxy,
                  test_user_added_on_a_logs_in_on_both_within_1s,
                  test_access_logs_show_the_real_client,
                  test_database_down_keeps_tunnel_and_logins_fails_0a,
                  test_database_back_restores_0a,
                  test_everything_stops_cleanly])
    finally:
        if TUNNEL is not None:
            TUNNEL.close()
        if LB is not None:
            LB.stop()
        for p in (A, B):
            if p is not None:
                p.stop()
        if ECHO is not None:
            ECHO.close()
        PG.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
