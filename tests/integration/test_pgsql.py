#!/usr/bin/env python3
"""The pgsql plugin end to end against a real PostgreSQL started here
(initdb into a temporary directory, postgres on 127.0.0.1 and an ephemeral
port, stopped by PID): two socks5d instances A and B share its table, each
with pgsql on 01/0A/0B and as authentication provider. A user added with
massctl on A logs in through B within 1 s (the time is printed); a delete
on B refuses the user on A; a row written by hand (psql) reaches both; the
table holds crypt(3) hashes only; a changed hash applies at once (the
plugin remembers no password: every login is checked by the host's
password service, and the plugin runs no thread of its own). With
PostgreSQL stopped, tunnels and
logins of known users keep working and 0A/0B answer 01 at once with
nothing written; once it is back (after a change made while the instances
could not connect), 0A works again and the copies have resynced.

Skipped (exit 77, with a message) only when the PostgreSQL server binaries
are not installed (Debian: postgresql) or the plugin was not built (no
libpq: tests/run-suite.sh configures --with-pgsql so that CI fails instead)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, recv_exact, login_bytes, socks_connect, massctl, run,
                     wait_for, isolate, MASS_ADMIN, MASSCTL, TIMEOUT)
from servers import Postgres, pg_bindir, pgsql_skip_reason

# "secret" as sha512crypt, written by hand into the table
SECRET_HASH = "$6$TRTcBavuZA8gjbrO$pqYLR9AJXCzc2i1WRTo/nDLeY1hVwCvHuBiysRQ/o2wGW8qtueG.WRZq/nJcWt8ep/0p77/LgijqbJRti/gDR1"


PG = None
A = B = None
ECHO = None
TUNNEL = None


def instance(pg, cache=None, user="postgres"):
    idx = ["01 = pgsql", "0A = pgsql", "0B = pgsql"] + ["%02X = metrics" % i for i in range(2, 10)] \
        + ["14 = info", "16 = limits", "17 = limits", "18 = pgsql", "19 = limits"]
    conninfo = pg.conninfo().replace("user=postgres", "user=" + user)
    ini = "[class basic]\nmax_sessions = 2\n" \
        "[plugin pgsql]\nconninfo = %s\ntable = socks_users" % conninfo
    if cache:
        ini += "\ncache_file = %s" % cache
    return Proxy(auth=True, admins=dict([MASS_ADMIN]), indexes=idx, ini=ini).start()


def socks_login(p, user, password):
    s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
    try:
        s.sendall(b"\x05\x01\x02")
        assert recv_exact(s, 2) == b"\x05\x02"
        s.sendall(login_bytes(user, password))
        return recv_exact(s, 2) == b"\x01\x00"
    finally:
        s.close()


def echo_through(s, data=b"ping"):
    s.sendall(data)
    return recv_exact(s, len(data)) == data


def loaded_count(p):
    return p.stderr().count("users loaded")


def users_of(p):
    rc, out, err = massctl(p, "users")
    assert rc == 0, err
    return out.split()


def test_instances_connect_and_create_the_table():
    global A, B, ECHO, START
    START = time.monotonic()
    ECHO = EchoServer()
    A = instance(PG, cache=os.path.join(PG.dir, "a.cache"))  # B has none
    B = instance(PG)
    for p in (A, B):
        wait_for(lambda: loaded_count(p) >= 1, "the copy's first load")
    assert PG.psql("SELECT count(*) FROM socks_users") == "0"
    assert PG.psql("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'socks_users_%'") == "2"


def test_an_account_without_create_works_once_the_table_exists():
    PG.psql("CREATE ROLE mass_limited LOGIN")
    PG.psql("GRANT SELECT, INSERT, UPDATE, DELETE ON socks_users, socks_users_usage "
            "TO mass_limited")
    c = instance(PG, user="mass_limited")
    try:
        wait_for(lambda: loaded_count(c) >= 1, "the limited account's load")
        assert "setup failed" not in c.stderr(), c.stderr()
        assert massctl(c, "add-user", "ivy", "limited")[0] == 0, c.stderr()
        wait_for(lambda: socks_login(A, "ivy", "limited"), "ivy on A", timeout=1.0)
        assert massctl(c, "del-user", "ivy")[0] == 0
        wait_for(lambda: not socks_login(A, "ivy", "limited"), "ivy gone from A", timeout=1.0)
    finally:
        assert c.stop() == 0


def test_setup_adds_the_class_column_to_an_older_table():
    # a table as the plugin made it before classes: no class column, no usage table
    PG.psql("CREATE TABLE old_users (name text PRIMARY KEY, hash text NOT NULL, "
            "created timestamptz NOT NULL DEFAULT now())")
    PG.psql("INSERT INTO old_users (name, hash) VALUES ('olga', '%s')" % SECRET_HASH)
    idx = ["01 = pgsql"]
    c = Proxy(auth=True, admins=dict([MASS_ADMIN]), indexes=idx,
              ini="[plugin pgsql]\nconninfo = %s\ntable = old_users" % PG.conninfo()).start()
    try:
        wait_for(lambda: loaded_count(c) >= 1, "the old table's load")
        assert "setup failed" not in c.stderr(), c.stderr()
        assert PG.psql("SELECT data_type FROM information_schema.columns WHERE "
                       "table_name = 'old_users' AND column_name = 'class'") == "text"
        assert PG.psql("SELECT count(*) FROM old_users_usage") == "0"
        assert PG.psql("SELECT class IS NULL FROM old_users WHERE name = 'olga'") == "t"
        assert socks_login(c, "olga", "secret")
        assert users_of(c) == ["olga"]
    finally:
        assert c.stop() == 0
    PG.psql("DROP TABLE old_users, old_users_usage")


def test_usage_rows_of_periods_over_a_year_old_are_deleted():
    """The usage table does not grow for ever: an instance deletes, at its
    first sync, the rows of slots that began over 400 days ago (no period,
    a rolling 366 days included, can count them), and keeps the others.
    A and B, up since the first test, did so at their own first sync."""
    time.sleep(max(0.0, START + 3 - time.monotonic()))   # quota_sync is 2 s
    now = int(time.time())
    for name, start in (("old1", now - 401 * 86400), ("old2", now - 900 * 86400),
                        ("recent", now - 366 * 86400), ("today", now - now % 86400)):
        PG.psql("INSERT INTO socks_users_usage (name, period_start, used) "
                "VALUES ('%s', %d, 1000)" % (name, start))
    c = instance(PG)
    try:
        wait_for(lambda: PG.psql("SELECT count(*) FROM socks_users_usage WHERE name LIKE 'old%'")
                 == "0", "the old rows deleted", timeout=10)
        assert PG.psql("SELECT string_agg(name, ',' ORDER BY name) FROM socks_users_usage "
                       "WHERE name IN ('recent', 'today')") == "recent,today"
        wait_for(lambda: "2 rows of periods over a year old deleted" in c.stderr(), "the log line")
    finally:
        assert c.stop() == 0
    PG.psql("DELETE FROM socks_users_usage WHERE name IN ('recent', 'today')")


def test_add_on_a_logs_in_on_b_within_1s():
    t0 = time.monotonic()
    rc, out, err = massctl(A, "add-user", "alice", "wonder land")
    t_commit = time.monotonic() - t0
    assert rc == 0, (out, err, A.stderr())
    deadline = t0 + 5
    while not socks_login(B, "alice", "wonder land"):
        assert time.monotonic() < deadline, B.stderr()
        time.sleep(0.005)
    t_login = time.monotonic() - t0
    print("     0A on A committed after %.1f ms; first login through B %.1f ms after 0A"
          % (t_commit * 1000, t_login * 1000))
    assert t_login < 1.0, t_login
    assert socks_login(A, "alice", "wonder land")
    assert not socks_login(B, "alice", "wonder lanD")
    # a crypt(3) hash in the table, never the password
    h = PG.psql("SELECT hash FROM socks_users WHERE name = 'alice'")
    assert h.startswith("$y$") and "wonder" not in h, h
    assert users_of(A) == ["alice"] and users_of(B) == ["alice"]
    # a ready crypt(3) string is stored as it is
    assert massctl(A, "add-user", "hal", SECRET_HASH)[0] == 0
    assert PG.psql("SELECT hash FROM socks_users WHERE name = 'hal'") == SECRET_HASH
    wait_for(lambda: socks_login(B, "hal", "secret"), "hal on B", timeout=1.0)
    assert massctl(B, "del-user", "hal")[0] == 0


def test_a_tunnel_through_b_with_a_pgsql_user():
    global TUNNEL
    s, rep, *_ = socks_connect(B.port, "127.0.0.1", ECHO.port, "alice", "wonder land")
    assert rep == 0
    assert echo_through(s)
    TUNNEL = s


def test_duplicate_and_unknown_answer_01():
    rc, out, err = massctl(B, "add-user", "alice", "other")
    assert rc != 0, out
    rc, out, err = massctl(A, "del-user", "nobody")
    assert rc != 0, out
    assert PG.psql("SELECT count(*) FROM socks_users") == "1"
    assert socks_login(A, "alice", "wonder land")
    assert not socks_login(A, "nobody", "x")


def test_delete_on_b_refuses_on_a_and_a_row_by_hand_reaches_both():
    assert massctl(A, "add-user", "bob", "builder")[0] == 0
    wait_for(lambda: socks_login(B, "bob", "builder"), "bob on B")
    rc, out, err = massctl(B, "del-user", "bob")
    assert rc == 0, err
    wait_for(lambda: not socks_login(A, "bob", "builder"), "bob refused on A", timeout=1.0)
    assert PG.psql("SELECT count(*) FROM socks_users WHERE name = 'bob'") == "0"
    PG.psql("INSERT INTO socks_users (name, hash) VALUES ('dave', '%s')" % SECRET_HASH)
    for p in (A, B):
        wait_for(lambda: socks_login(p, "dave", "secret"), "dave by hand", timeout=1.0)
    # a password in clear written by hand is refused, not used
    PG.psql("INSERT INTO socks_users (name, hash) VALUES ('eve', 'plain')")
    wait_for(lambda: "row eve skipped" in A.stderr(), "the clear row refused")
    assert not socks_login(A, "eve", "plain")
    PG.psql("DELETE FROM socks_users WHERE name = 'eve'")


def test_a_changed_hash_applies_at_once():
    # every login is checked against the copy's hash by the host's workers
    for _ in range(3):
        assert socks_login(A, "dave", "secret")
        assert not socks_login(A, "dave", "Secret")
    h = subprocess.run([MASSCTL, "hash", "-m", "sha256crypt"], input=b"another\n",
                       capture_output=True, timeout=20).stdout.decode().strip()
    assert h.startswith("$5$"), h
    PG.psql("UPDATE socks_users SET hash = '%s' WHERE name = 'dave'" % h)
    for p in (A, B):
        wait_for(lambda: socks_login(p, "dave", "another"), "the new hash", timeout=1.0)
        assert not socks_login(p, "dave", "secret")
    PG.psql("UPDATE socks_users SET hash = '%s' WHERE name = 'dave'" % SECRET_HASH)
    for p in (A, B):
        wait_for(lambda: socks_login(p, "dave", "secret"), "the old hash back", timeout=1.0)
        assert not socks_login(p, "dave", "another")


def class_of(p, user):
    rc, out, err = massctl(p, "-j", "user-limits", user)
    assert rc == 0, (out, err, p.stderr())
    return json.loads(out)["class"]


def test_the_class_column_moves_the_user_on_both():
    assert class_of(A, "dave") == class_of(B, "dave") == "default"
    t0 = time.monotonic()
    PG.psql("UPDATE socks_users SET class = 'basic' WHERE name = 'dave'")
    for p in (A, B):
        wait_for(lambda: class_of(p, "dave") == "basic", "dave in basic", timeout=1.0)
    print("     the UPDATE reached both instances' limits in %.0f ms"
          % ((time.monotonic() - t0) * 1000))
    # the class is enforced: basic allows 2 sessions
    held = [socks_connect(A.port, "127.0.0.1", ECHO.port, "dave", "secret")[0] for _ in range(2)]
    s, rep, *_ = socks_connect(A.port, "127.0.0.1", ECHO.port, "dave", "secret")
    s.close()
    assert rep == 2, rep
    for h in held:
        h.close()
    # a name that is no class of the configuration: logged, the user stays
    PG.psql("UPDATE socks_users SET class = 'nosuch' WHERE name = 'dave'")
    for p in (A, B):
        wait_for(lambda: 'user dave: class "nosuch" is not a class of this configuration'
                 in p.stderr(), "the unknown class logged")
        assert class_of(p, "dave") == "basic"
    PG.psql("UPDATE socks_users SET class = NULL WHERE name = 'dave'")
    for p in (A, B):
        wait_for(lambda: class_of(p, "dave") == "default", "dave back in default", timeout=1.0)
    PG.psql("UPDATE socks_users SET class = 'basic' WHERE name = 'dave'")
    for p in (A, B):
        wait_for(lambda: class_of(p, "dave") == "basic", "dave in basic again", timeout=1.0)
    # set-class through pgsql (18 = pgsql) writes the column: both follow
    t0 = time.monotonic()
    rc, out, err = massctl(B, "set-class", "dave", "default")
    assert rc == 0, (out, err, B.stderr())
    assert PG.psql("SELECT class IS NULL FROM socks_users WHERE name = 'dave'") == "t"
    assert class_of(B, "dave") == "default"   # answered after the commit, applied
    wait_for(lambda: class_of(A, "dave") == "default", "dave moved on A", timeout=1.0)
    print("     massctl set-class on B reached A in %.0f ms" % ((time.monotonic() - t0) * 1000))
    rc, out, err = massctl(A, "set-class", "dave", "basic")
    assert rc == 0, (out, err, A.stderr())
    assert PG.psql("SELECT class FROM socks_users WHERE name = 'dave'") == "basic"
    wait_for(lambda: class_of(B, "dave") == "basic", "dave back in basic on B", timeout=1.0)
    for args in (("dave", "nosuch"), ("nobody", "basic")):
        rc, out, err = massctl(A, "set-class", *args)
        assert rc == 1 and "(status 01)" in err, (args, rc, out, err)
    assert PG.psql("SELECT class FROM socks_users WHERE name = 'dave'") == "basic"
    # A's cache keeps the class with the hash
    wait_for(lambda: "dave:%s:basic\n" % SECRET_HASH in open(os.path.join(PG.dir, "a.cache")).read(),
             "the class in the cache")


def test_database_down_keeps_logins_and_fails_0a_cleanly():
    PG.stop()
    for p in (A, B):
        wait_for(lambda: "database connection lost" in p.stderr(), "the loss logged")
    # the tunnel opened before stays up; known users log in; unknown ones do not
    assert echo_through(TUNNEL, b"still there")
    for p in (A, B):
        assert socks_login(p, "alice", "wonder land")
        assert socks_login(p, "dave", "secret")
        assert not socks_login(p, "alice", "wrong")
        assert not socks_login(p, "zed", "x")
    t0 = time.monotonic()
    rc, out, err = massctl(A, "add-user", "frank", "down")
    dt = time.monotonic() - t0
    assert rc != 0 and dt < 1.0, (rc, dt, out, err)
    assert massctl(B, "del-user", "alice")[0] != 0
    assert users_of(A) == ["alice", "dave"]  # 01 from the copy
    assert "add frank: database not connected, answered 01" in A.stderr()
    # a reload starts a new load with an empty copy: A's comes from its
    # cache file (hashes only), so its users still log in
    with open(os.path.join(PG.dir, "a.cache")) as f:
        cache = f.read()
    assert cache.startswith("alice:$y$") and "wonder" not in cache, cache
    A.signal(signal.SIGHUP)
    wait_for(lambda: "cache %s: 2 users until the database answers" % os.path.join(PG.dir, "a.cache")
             in A.stderr(), "the reload with the cache")
    assert socks_login(A, "alice", "wonder land")
    assert socks_login(A, "dave", "secret"), (cache, A.stderr())
    assert users_of(A) == ["alice", "dave"]
    assert class_of(A, "dave") == "basic"   # from the cache
    # reconnect attempts, with their backoff, are logged
    wait_for(lambda: A.stderr().count("cannot connect to the database") >= 2, "retries logged")


def test_database_back_resyncs_and_restores_0a():
    before = [loaded_count(p) for p in (A, B)]
    # a change the instances cannot be told of: made while only the Unix
    # socket listens (they connect over TCP)
    PG.start(tcp=False)
    assert PG.psql("SELECT count(*) FROM socks_users WHERE name = 'frank'") == "0"  # nothing half-written
    PG.psql("DELETE FROM socks_users WHERE name = 'dave'")
    PG.psql("INSERT INTO socks_users (name, hash) VALUES ('carol', '%s')" % SECRET_HASH)
    PG.stop()
    PG.start(tcp=True)
    for i, p in enumerate((A, B)):
        wait_for(lambda: loaded_count(p) > before[i], "the resync", timeout=15)
        assert "connected to database postgres" in p.stderr()
        assert socks_login(p, "carol", "secret")
        assert not socks_login(p, "dave", "secret")
        assert users_of(p) == ["alice", "carol"]
    assert echo_through(TUNNEL, b"and after")
    rc, out, err = massctl(A, "add-user", "frank", "up again")
    assert rc == 0, (out, err, A.stderr())
    wait_for(lambda: socks_login(B, "frank", "up again"), "frank on B", timeout=1.0)


def pg_processes():
    """The postmaster and its children (the backends serving A and B)."""
    pids = [PG.proc.pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == PG.proc.pid:
                        pids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return pids


def test_hung_database_is_dropped_by_the_watchdog():
    before = [loaded_count(p) for p in (A, B)]
    pids = pg_processes()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        rc, out, err = massctl(A, "add-user", "gina", "stalled", timeout=15)
        dt = time.monotonic() - t0
        assert rc != 0 and 4.0 < dt < 8.0, (rc, dt, out, err)
        assert "no answer from the database for" in A.stderr()
        assert socks_login(A, "alice", "wonder land")
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    # A dropped its link and reconnects (B, idle, may never have noticed)
    wait_for(lambda: loaded_count(A) > before[0], "the reconnection", timeout=20)
    # the INSERT was on the wire when the link was dropped: its outcome was
    # unknown to A (01), and the reload shows what the database decided
    table = PG.psql("SELECT string_agg(name, ' ' ORDER BY name) FROM socks_users").split()
    print("     the stalled INSERT %s" % ("committed after all" if "gina" in table else "never ran"))
    wait_for(lambda: users_of(A) == table, "A's copy to match the table")
    assert socks_login(B, "frank", "up again")


def test_bad_configuration_is_refused_with_a_reason():
    cases = [("conninfo = host=127.0.0.1\ntable = Bad-Name",
              "table: \"Bad-Name\" is not a lower-case SQL identifier"),
             ("table = socks_users", "conninfo is required"),
             ("conninfo = host=127.0.0.1\ncolour = blue", "unknown key \"colour\""),
             # a name would be resolved by libpq with a blocking call on the loop
             ("conninfo = host=db.example dbname=mass", "host \"db.example\" is a name"),
             ("conninfo = postgresql://db.example/mass", "host \"db.example\" is a name"),
             ("conninfo = host=127.0.0.1 port=nope x", "conninfo: "),
             ("conninfo = host=127.0.0.1\nquota_sync = 6",
              "quota_sync: \"6\" is not a number of seconds (1..5)")]
    for ini, reason in cases:
        p = Proxy(auth=True, admins=dict([MASS_ADMIN]), indexes=["01 = pgsql"],
                  ini="[plugin pgsql]\n" + ini).start()
        try:
            wait_for(lambda: reason in p.stderr(), "the refusal: " + reason)
            assert "01 = pgsql: not served" in p.stderr()
        finally:
            assert p.stop() == 0


def test_old_hash_keys_are_ignored_with_a_warning():
    # password_hash/password_cost were the plugin's own before it used the
    # host's password service: a mass.ini that still has them loads
    p = Proxy(auth=True, admins=dict([MASS_ADMIN]), indexes=["01 = pgsql"],
              ini="[plugin pgsql]\nconninfo = %s\npassword_hash = md9\npassword_cost = many"
              % PG.conninfo()).start()
    try:
        for key in ("password_hash", "password_cost"):
            wait_for(lambda: "%s is ignored: 0A hashes with [socks] password_hash" % key
                     in p.stderr(), "the warning for " + key)
        wait_for(lambda: "users loaded" in p.stderr(), "the plugin serving")
        assert "not served" not in p.stderr(), p.stderr()
    finally:
        assert p.stop() == 0


def threads(p):
    return len(os.listdir("/proc/%d/task" % p.proc.pid))


def test_no_thread_of_its_own():
    # the host's worker pool checks and hashes: a socks5d with the plugin
    # runs as many threads as one without it
    plain = Proxy(auth=True, admins=dict([MASS_ADMIN])).start()
    try:
        assert threads(A) == threads(plain), (threads(A), threads(plain))
    finally:
        assert plain.stop() == 0


def test_instances_stop_cleanly():
    global A, B
    if TUNNEL is not None:
        TUNNEL.close()
    for p in (A, B):
        assert p.stop() == 0, p.stderr()
    A = B = None


def main():
    global PG, TUNNEL
    why = pgsql_skip_reason()
    if why is not None:
        print("test_pgsql: skipped: " + why)
        return 77
    isolate()  # as root: re-runs this script in a network namespace of its own
    PG = Postgres(pg_bindir())
    try:
        PG.start()
        rc = run([test_instances_connect_and_create_the_table,
                  test_an_account_without_create_works_once_the_table_exists,
                  test_setup_adds_the_class_column_to_an_older_table,
                  test_usage_rows_of_periods_over_a_year_old_are_deleted,
                  test_add_on_a_logs_in_on_b_within_1s,
                  test_a_tunnel_through_b_with_a_pgsql_user,
                  test_duplicate_and_unknown_answer_01,
                  test_delete_on_b_refuses_on_a_and_a_row_by_hand_reaches_both,
                  test_a_changed_hash_applies_at_once,
                  test_the_class_column_moves_the_user_on_both,
                  test_no_thread_of_its_own,
                  test_database_down_keeps_logins_and_fails_0a_cleanly,
                  test_database_back_resyncs_and_restores_0a,
                  test_hung_database_is_dropped_by_the_watchdog,
                  test_bad_configuration_is_refused_with_a_reason,
                  test_old_hash_keys_are_ignored_with_a_warning,
                  test_instances_stop_cleanly])
    finally:
        if TUNNEL is not None:
            TUNNEL.close()
        for p in (A, B):
            if p is not None:
                p.stop()
        if ECHO is not None:
            ECHO.close()
        PG.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
