"""The [acl] section end to end: REP 02 by name before resolution, by
address after it (a name cannot smuggle a denied address), by client
source, the built-in rule for the management port, a bad rule named with
file and line, and a reload that swaps the rules."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, EchoServer, free_port, recv_all, recv_exact, socks_connect,
                     run, TOP_SRCDIR, TIMEOUT)

DNS_STUB = os.path.join(TOP_SRCDIR, "tests", "integration", "dns_stub.py")


def acl_proxy(ini="", rules=()):
    """A Proxy whose [acl] holds rules as given: the harness merges repeated
    keys within a section, and rules repeat allow and deny on purpose."""
    p = Proxy(ini)
    write_acl(p, rules)
    return p


def write_acl(p, rules):
    with open(p.ini_path, "a") as f:
        f.write("\n[acl]\n" + "".join(r + "\n" for r in rules))


def expect(p, host, port, want):
    s, rep, _, _, _ = socks_connect(p.port, host, port)
    assert rep == want, "REP %r, wanted %r for %s:%d" % (rep, want, host, port)
    if rep != 0:
        assert recv_all(s, 5) == b""
    else:
        s.sendall(b"through")
        assert recv_exact(s, 7) == b"through"
    s.close()


def test_dest_and_port_rules():
    echo = EchoServer()
    with acl_proxy(rules=["allow = dest 127.0.0.1 port %d" % echo.port,
                          "deny = dest 127.0.0.0/8"]) as p:
        expect(p, "127.0.0.1", echo.port, 0)
        expect(p, "127.0.0.1", echo.port + 1 if echo.port < 65535 else 1, 2)
        expect(p, "::ffff:127.0.0.1", echo.port + 1 if echo.port < 65535 else 1, 2)
        p.wait_log(lambda l: l.endswith("\t2"))
        assert "denied by [acl] line" in p.stderr(), p.stderr()
    echo.close()


def test_name_denied_before_resolution_and_smuggling_blocked():
    echo = EchoServer()
    stub = subprocess.Popen([sys.executable, DNS_STUB, "--port", "0",
                             "--record", "db.internal=127.0.0.1",
                             "--record", "innocent.test=127.0.0.1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        dns = int(stub.stdout.readline())
        with acl_proxy("[socks]\nresolver = 127.0.0.1:%d" % dns,
                       ["deny = dest-host .internal",
                        "deny = dest 127.0.0.1 port %d" % echo.port]) as p:
            expect(p, "db.internal", 9, 2)
            # innocent.test resolves to the denied address
            expect(p, "innocent.test", echo.port, 2)
            expect(p, "innocent.test", 9, 5)
    finally:
        stub.terminate()
        stub.wait(timeout=5)
    echo.close()


def test_source_rule_and_final_deny():
    echo = EchoServer()
    with acl_proxy(rules=["deny = src 127.0.0.0/8 port 1-1023", "allow = src 127.0.0.1",
                          "deny = all"]) as p:
        expect(p, "127.0.0.1", echo.port, 0)
        expect(p, "127.0.0.1", 22, 2)
    with acl_proxy(rules=["allow = src 10.0.0.0/8", "deny = all"]) as p:
        expect(p, "127.0.0.1", echo.port, 2)
    echo.close()


def test_builtin_rule_shields_the_management_port():
    mport = free_port()
    with Proxy("[management]\nport = %d\n[acl]\nallow = all" % mport) as p:
        for host in ("127.0.0.1", "::1", "0.0.0.0", "127.0.0.5", "::ffff:127.0.0.1"):
            expect(p, host, mport, 2)
        assert "built-in management rule" in p.stderr(), p.stderr()


def test_bad_rule_is_reported_with_file_and_line():
    p = acl_proxy(rules=["allow = dest 10.0.0.0/8", "deny = dest 10.0.0.1/8"])
    p.start(expect_fail=True)
    assert p.proc.wait(timeout=TIMEOUT) != 0
    err = p.stderr()
    assert "mass.ini:" in err and "[acl] deny: host bits set" in err, err


def test_reload_swaps_rules_and_a_bad_one_keeps_them():
    echo = EchoServer()
    with Proxy() as p:
        expect(p, "127.0.0.1", echo.port, 0)
        p.write_ini("[acl]\ndeny = port %d" % echo.port)
        p.signal(signal.SIGHUP)
        deadline = time.time() + TIMEOUT
        while "reloaded" not in p.stderr() and time.time() < deadline:
            time.sleep(0.02)
        expect(p, "127.0.0.1", echo.port, 2)
        p.write_ini("[acl]\ndeny = port banana")
        p.signal(signal.SIGHUP)
        while "keeping the running configuration" not in p.stderr() and time.time() < deadline:
            time.sleep(0.02)
        assert "[acl] deny:" in p.stderr(), p.stderr()
        expect(p, "127.0.0.1", echo.port, 2)
    echo.close()


if __name__ == "__main__":
    sys.exit(run([
        test_dest_and_port_rules,
        test_name_denied_before_resolution_and_smuggling_blocked,
        test_source_rule_and_final_deny,
        test_builtin_rule_shields_the_management_port,
        test_bad_rule_is_reported_with_file_and_line,
        test_reload_swaps_rules_and_a_bad_one_keeps_them,
    ]))
