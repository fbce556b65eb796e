"""Run by test_socks.py inside a private network namespace (loopback only)
whose routes make the kernel answer connect() with each routing error:
no route → 03, 'unreachable' route → 04, 'prohibit' route → 02,
'blackhole' route (EINVAL) → 01. Nothing can leave the namespace."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Proxy, socks_connect, recv_all, run

CASES = [("198.51.100.1", 3), ("192.0.2.1", 4), ("203.0.113.1", 2), ("198.18.0.1", 1)]


def test_routing_errors_map_to_rep_codes():
    with Proxy() as p:
        for host, want in CASES:
            s, rep, _, _, _ = socks_connect(p.port, host, 80)
            assert rep == want, "%s: REP %r, wanted %d" % (host, rep, want)
            assert recv_all(s, 5) == b""
            s.close()
            p.wait_log(lambda l, h=host, w=want: l.endswith("\t%s\t80\t%d" % (h, w)))


if __name__ == "__main__":
    sys.exit(run([test_routing_errors_map_to_rep_codes]))
