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

Shared quotas (issue 20, item 6): a user of class `shared` (1 MiB/s down,
6 MiB a day, action close) downloads through two tunnels that HAProxy puts
on A and B: the traffic together stops at the quota plus the documented
slack (each instance may go over by about quota_sync seconds, 1 here, plus
a round trip, of its own traffic: 2 x 1.5 s x 1 MiB/s), where without
sharing it would reach twice the quota; then both refuse the user (REP 02),
and the usage table holds what the client got. massctl reset-usage on A
resets the fleet's count (A deletes the rows): both let the user in again. Bytes moved while PostgreSQL
is down are still counted by the instance and reach the table once it is
back.

Skipped (exit 77, with a message) when haproxy or the PostgreSQL server
binaries are not installed, or the pgsql plugin was not built."""

import json
import os
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, Source, recv_exact, socks_connect, massctl, run,
                     wait_for, isolate, MASS_ADMIN, TIMEOUT)
from servers import HAProxy, Postgres, pg_bindir, pgsql_skip_reason

CLIENT = "127.0.0.2"

PG = None
A = B = None
LB = None
ECHO = None
TUNNEL = None
R_GOT = 0


MiB = 1024 * 1024
QUOTA = 6 * MiB
SYNC_S = 1
SECRET_HASH = "$6$TRTcBavuZA8gjbrO$pqYLR9AJXCzc2i1WRTo/nDLeY1hVwCvHuBiysRQ/o2wGW8qtueG.WRZq/nJcWt8ep/0p77/LgijqbJRti/gDR1"
SRC = None


def instance(pg):
    idx = ["01 = pgsql", "0A = pgsql", "0B = pgsql"] + ["%02X = metrics" % i for i in range(2, 10)] \
        + ["14 = info", "16 = limits", "17 = limits", "18 = limits", "19 = limits"]
    ini = ("[socks]\nproxy_protocol = 127.0.0.1/32\n"
           "[class shared]\ndownload_rate = 1M\nquota = 6M\nquota_action = close\n"
           "[class metered]\nquota = 1G\n"
           "[plugin pgsql]\nconninfo = %s\ntable = socks_users\nquota_sync = %d"
           % (pg.conninfo(), SYNC_S))
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


def user_limits(p, user):
    rc, out, err = massctl(p, "-j", "user-limits", user)
    assert rc == 0, (out, err, p.stderr())
    return json.loads(out)


def download_lb(user, password):
    """A CONNECT to the zero source through HAProxy; the open tunnel, or the REP."""
    s, rep, *_ = socks_connect(LB.port, "127.0.0.1", SRC.port, user, password, source=CLIENT)
    if rep != 0:
        s.close()
        return rep
    return s


def read_until_closed(socks, got, timeout):
    def reader(i, s):
        s.settimeout(timeout)
        try:
            while True:
                d = s.recv(262144)
                if not d:
                    break
                got[i] += len(d)
        except OSError:
            pass
        s.close()
    threads = [threading.Thread(target=reader, args=(i, s)) for i, s in enumerate(socks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)


def table_used(user, where=""):
    return int(PG.psql("SELECT coalesce(sum(used), 0) FROM socks_users_usage WHERE name = '%s'%s"
                       % (user, where)))


def test_shared_quota_stops_traffic_split_between_instances():
    global SRC
    SRC = Source()
    PG.psql("INSERT INTO socks_users (name, hash, class) VALUES ('q', '%s', 'shared'), "
            "('r', '%s', 'metered')" % (SECRET_HASH, SECRET_HASH))
    for p in (A, B):
        wait_for(lambda: massctl(p, "-j", "user-limits", "q")[1].startswith('{"class":"shared"'),
                 "q's class", timeout=2)
    socks = [download_lb("q", "secret") for _ in range(2)]
    assert all(not isinstance(s, int) for s in socks), socks
    # round robin: one tunnel on each instance
    assert [user_limits(p, "q")["sessions"] for p in (A, B)] == [1, 1]
    got = [0, 0]
    t0 = time.monotonic()
    read_until_closed(socks, got, timeout=30)
    dt = time.monotonic() - t0
    total = sum(got)
    slack = 2 * (SYNC_S + 0.5) * MiB
    print("     A and B together moved %.2f MiB in %.1f s (quota %.0f MiB, allowed up to "
          "%.2f MiB; %.2f + %.2f)" % (total / MiB, dt, QUOTA / MiB, (QUOTA + slack) / MiB,
                                     got[0] / MiB, got[1] / MiB))
    assert QUOTA - MiB <= total <= QUOTA + slack, total / MiB
    for _ in range(2):
        rep = download_lb("q", "secret")
        assert rep == 2, rep
    for p in (A, B):
        wait_for(lambda: "(user q, class shared) refused by quota" in p.stderr(), "the refusal")
    day = int(time.time()) // 86400 * 86400
    wait_for(lambda: table_used("q", " AND period_start = %d" % day) >= total,
             "the fleet's usage in the table", timeout=5)
    used = table_used("q")
    assert total <= used <= total + 2 * MiB, (used, total)


def test_reset_on_one_instance_resets_the_fleet():
    rc, out, err = massctl(A, "reset-usage", "q")
    assert rc == 0, (out, err)
    t0 = time.monotonic()
    # A deletes the period's rows at its next sync; B learns the new total at its own
    wait_for(lambda: table_used("q") == 0, "q's rows deleted", timeout=3 * SYNC_S + 2)
    for p in (A, B):
        wait_for(lambda: user_limits(p, "q")["used"] == 0, "q's usage 0", timeout=3 * SYNC_S + 2)
    print("     reset on A: the fleet's usage 0 on A and B after %.1f s"
          % (time.monotonic() - t0))
    assert "q's usage reset for the fleet" in A.stderr()
    socks = [download_lb("q", "secret") for _ in range(2)]
    assert all(not isinstance(s, int) for s in socks), socks
    for s in socks:
        s.close()


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


def test_usage_while_down_is_counted():
    global R_GOT
    s = download_lb("r", "secret")
    assert not isinstance(s, int), s
    s.settimeout(TIMEOUT)
    got = 0
    while got < 3 * MiB:
        got += len(s.recv(262144))
    s.close()
    R_GOT = got
    # the instance that relayed it still counts it (its quota is enforced on
    # the last fleet total plus everything since), syncs or not
    time.sleep(SYNC_S * 2.5)
    used = max(user_limits(p, "r")["used"] for p in (A, B))
    assert used >= got, (used, got)
    R_GOT = used   # what the proxy relayed: the client's socket buffers hold more than it read


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


def test_usage_while_down_reaches_the_table_when_back():
    wait_for(lambda: table_used("r") >= R_GOT,
             "r's usage written once the database is back", timeout=10)
    # counted once: exactly what the instance counted while down
    assert table_used("r") == R_GOT, (table_used("r"), R_GOT)
    # the instance that relayed it enforces on the table's total from now on
    # (an instance learns the totals of the users it counts)
    wait_for(lambda: max(user_limits(p, "r")["used"] for p in (A, B)) >= table_used("r"),
             "the fleet total", timeout=5)


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
                  test_shared_quota_stops_traffic_split_between_instances,
                  test_reset_on_one_instance_resets_the_fleet,
                  test_database_down_keeps_tunnel_and_logins_fails_0a,
                  test_usage_while_down_is_counted,
                  test_database_back_restores_0a,
                  test_usage_while_down_reaches_the_table_when_back,
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
        if SRC is not None:
            SRC.close()
        PG.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
