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


def socks_login(p, user, password):
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", 9, user=user, password=password)
    s.close()
    return rep


def test_failed_socks_login_is_logged_escaped_and_rate_limited():
    with Proxy(auth=True, users={"alice": "wonderland"}) as p:
        assert socks_login(p, "bob\nsocks5d[1]: info: forged", "x") is None
        wait_for(lambda: "failed login for user" in p.stderr())
        err = p.stderr()
        assert "socks: failed login for user 'bob\\nsocks5d[1]: info: forged' from 127.0.0.1" \
            in err, err
        for _ in range(40):
            socks_login(p, "mallory", "guess")
        lines = p.stderr().count("failed login for user")
        assert 2 <= lines <= 12, lines  # a burst of 10, then 1 a second
        time.sleep(1.2)
        socks_login(p, "mallory", "guess")
        wait_for(lambda: re.search(r"\d+ more failed logins not logged", p.stderr()))
        # a good login still works and is not logged as a failure
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", 9, user="alice",
                                        password="wonderland")
        s.close()
        assert "user 'alice'" not in p.stderr()


if __name__ == "__main__":
    sys.exit(run([
        test_failed_socks_login_is_logged_escaped_and_rate_limited,
    ]))
