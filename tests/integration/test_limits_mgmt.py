"""Per-user limits managed live (issue 20, items 5): the limits plugin's
indexes 16 classes, 17 user-limits, 18 set-class and 19 reset-usage through
massctl (text and -j) against a real socks5d, and the Prometheus exports.

- set-class moves a user's live tunnel to the new class's rate within 1 s:
  measured by what a real client reads through the tunnel (bytes over
  wall-clock seconds at 1 and 2 MiB/s, within 5%, from 1 s after the
  request), and the class is kept in the users file;
- reset-usage lets a user stopped by a used-up quota in again;
- bad input (an unknown class, an unknown user, a name MASS cannot carry
  as text) gets status 01 over MASS and a clear message from massctl;
- /metrics carries the per-user quota used, the octets delayed by the rate
  limit and the requests refused by a limit, and passes promtool check
  metrics (SKIP, not pass, when promtool is missing)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Proxy, Source, drain, mass, lv, massctl, socks_connect, wait_for, run,
                     free_port, MASS_ADMIN, MASSCTL, TIMEOUT)

MiB = 1024 * 1024
CLASSES = """
[class slow]
download_rate = 1M
upload_rate = 1M

[class quick]
download_rate = 2M

[class capped]
quota = 2M
quota_action = close

[class metered]
quota = 1G
download_rate = 4M
"""
IDX = ["01 = users", "0A = users", "0B = users", "14 = info", "15 = prometheus",
       "16 = limits", "17 = limits", "18 = limits", "19 = limits"]


def hashed(password):
    r = subprocess.run([MASSCTL, "hash", "-m", "sha256crypt"], input=password.encode() + b"\n",
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().strip()


def proxy(users_file=None, prom_port=None, env=None):
    """socks5d with the classes, the limits plugin, and users mover (slow),
    cap (capped), meter (metered) and free (default) in a users file."""
    p = Proxy(auth=True, admins=dict([MASS_ADMIN]), indexes=IDX, env=env)
    users_file = users_file or os.path.join(p.dir, "users")
    if not os.path.exists(users_file):
        with open(users_file, "w") as f:
            f.write("mover:%s:slow\ncap:%s:capped\nfree:%s\nmeter:%s:metered\n"
                    % (hashed("pw"), hashed("pw"), hashed("pw"), hashed("pw")))
    ini = CLASSES + "\n[socks]\nusers_file = %s\n[plugin prometheus]\nlisten = 127.0.0.1:%d\n" \
        % (users_file, prom_port or free_port())
    p.write_ini(ini, auth=True, admins=dict([MASS_ADMIN]), indexes=IDX)
    p.users_file = users_file
    return p


def tunnel(p, port, user):
    s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", port, user, "pw")
    assert rep == 0, rep
    return s


def ctl_json(p, *args):
    rc, out, err = massctl(p, "-j", *args)
    assert rc == 0, (args, rc, out, err, p.stderr())
    return json.loads(out)


def test_classes_text_and_json():
    with proxy() as p:
        rc, out, err = massctl(p, "classes")
        assert rc == 0, err
        lines = out.splitlines()
        assert lines[0] == "CLASS\tLIMITS", out
        assert lines[1] == "default\tunlimited", out
        rows = dict(l.split("\t", 1) for l in lines[1:])
        assert rows["slow"] == "upload_rate=1M download_rate=1M", out
        assert rows["quick"] == "download_rate=2M", out
        assert rows["capped"] == "quota=2M/day action=close", out
        js = ctl_json(p, "classes")
        assert [c["name"] for c in js["classes"]] == ["default", "slow", "quick", "capped",
                                                      "metered"], js
        assert js["classes"][3]["limits"] == "quota=2M/day action=close", js


def test_user_limits_counts_what_a_client_moved():
    src = Source()
    with proxy() as p:
        s = tunnel(p, src.port, "meter")
        s.settimeout(TIMEOUT)
        got = 0
        while got < MiB:
            got += len(s.recv(65536))
        js = ctl_json(p, "user-limits", "meter")
        assert js["class"] == "metered" and js["quota"] == 1024 * MiB, js
        assert js["sessions"] == 1, js
        day = int(time.time()) // 86400 * 86400
        assert js["period_start"] == day, (js, day)
        # the proxy relayed at least what the client read, and at most what
        # the kernel buffers can hold beyond it
        assert got <= js["used"] <= got + 8 * MiB, (js, got)
        rc, out, err = massctl(p, "user-limits", "free")
        assert rc == 0, err
        fields = dict(l.split(" ", 1) for l in out.splitlines())
        assert fields["class"] == "default" and fields["quota"] == "0", out
        assert fields["period_start"] == "0", out
        s.close()
    src.close()


def test_set_class_applies_to_a_live_tunnel_within_1s():
    src = Source()
    with proxy() as p:
        s = tunnel(p, src.port, "mover")
        s.settimeout(0.2)
        got = [0]
        marks = {}
        stop = time.monotonic() + 12
        start = time.monotonic()

        def reader():
            while time.monotonic() < stop:
                try:
                    d = s.recv(262144)
                except socket.timeout:
                    continue
                if not d:
                    break
                got[0] += len(d)

        t = threading.Thread(target=reader)
        t.start()
        for m in (1, 6):
            time.sleep(max(0, start + m - time.monotonic()))
            marks[m] = got[0]
        t0 = time.monotonic()
        rc, out, err = massctl(p, "set-class", "mover", "quick")
        assert rc == 0, (out, err, p.stderr())
        asked = time.monotonic() - t0
        for m in (7, 12):
            time.sleep(max(0, start + m - time.monotonic()))
            marks[m] = got[0]
        t.join(TIMEOUT)
        s.close()
        before, after = (marks[6] - marks[1]) / 5, (marks[12] - marks[7]) / 5
        print("     before %.2f MiB/s; set-class answered in %.0f ms; from 1 s after it "
              "%.2f MiB/s" % (before / MiB, asked * 1000, after / MiB))
        assert abs(before - MiB) <= 0.05 * MiB, before / MiB
        assert abs(after - 2 * MiB) <= 0.05 * MiB, after / MiB
        assert ctl_json(p, "user-limits", "mover")["class"] == "quick"
        # kept with the user: the users file's line names the class
        with open(p.users_file) as f:
            assert any(l.startswith("mover:") and l.rstrip("\n").endswith(":quick") for l in f)
    src.close()


def test_reset_usage_restores_access_after_the_quota():
    src = Source()
    with proxy() as p:
        got = drain(tunnel(p, src.port, "cap"))
        assert got <= 2 * MiB, got
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", src.port, "cap", "pw")
        s.close()
        assert rep == 2, rep
        assert ctl_json(p, "user-limits", "cap")["refused"] >= 1
        rc, out, err = massctl(p, "reset-usage", "cap")
        assert rc == 0 and out == "", (out, err)
        assert ctl_json(p, "reset-usage", "cap") == {"status": "00"}
        assert ctl_json(p, "user-limits", "cap")["used"] == 0
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", src.port, "cap", "pw")
        s.close()
        assert rep == 0, rep
        wait_for(lambda: "reset-usage cap: done" in p.stderr(), "the log line")
    src.close()


def test_bad_input_gets_a_clear_status():
    with proxy() as p:
        # over MASS: status 01 alone
        assert mass(p, b"\x18" + lv("mover") + lv("nosuch")) == b"\x01"
        assert mass(p, b"\x18" + lv("nobody") + lv("quick")) == b"\x01"
        assert mass(p, b"\x17" + lv("nobody")) == b"\x01"
        assert mass(p, b"\x19" + lv("nobody")) == b"\x01"
        assert mass(p, b"\x17" + lv("bad\x00name")) == b"\x01"
        assert mass(p, b"\x18" + lv("mover") + lv("")) == b"\x01"
        # massctl: the reason, exit 1 (status 01), a JSON error object with -j
        rc, out, err = massctl(p, "set-class", "mover", "nosuch")
        assert rc == 1 and out == "", (rc, out)
        assert "set-class mover: no such user or class, or the class cannot be stored " \
               "(status 01)" in err, err
        wait_for(lambda: "set-class nobody quick: no such user, answered 01" in p.stderr(),
                 "the refusal logged")
        rc, out, err = massctl(p, "-j", "user-limits", "nobody")
        assert rc == 1, (rc, out, err)
        js = json.loads(out)
        assert js["status"] == "01" and "no such user" in js["error"], js
        rc, out, err = massctl(p, "reset-usage", "nobody")
        assert rc == 1 and "reset-usage nobody: no such user (status 01)" in err, err
        rc, out, err = massctl(p, "set-class", "mover")
        assert rc == 64 and "usage: massctl [OPTION...] set-class NAME CLASS" in err, err
        # nothing changed
        assert ctl_json(p, "user-limits", "mover")["class"] == "slow"


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=TIMEOUT) as r:
        return r.read().decode()


def test_prometheus_exports_the_limits():
    src = Source()
    port = free_port()
    with proxy(prom_port=port) as p:
        drain(tunnel(p, src.port, "cap"))
        s, rep, _, _, _ = socks_connect(p.port, "127.0.0.1", src.port, "cap", "pw")
        s.close()
        assert rep == 2
        slow = tunnel(p, src.port, "mover")   # 1 MiB/s: its reads wait for the bucket
        slow.settimeout(TIMEOUT)
        got = 0
        while got < 2 * MiB:
            got += len(slow.recv(262144))
        slow.close()
        wait_for(lambda: ctl_json(p, "user-limits", "mover")["delayed"] > 0, "delayed bytes")
        text = scrape(port)
        series = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                series[k] = float(v)
        cap = ctl_json(p, "user-limits", "cap")
        assert series['socks5d_user_quota_used_bytes{user="cap"}'] == cap["used"], text
        assert series['socks5d_user_quota_bytes{user="cap"}'] == 2 * MiB, text
        assert series['socks5d_user_limit_refused_total{user="cap"}'] >= 1, text
        assert series['socks5d_user_rate_delayed_bytes_total{user="mover"}'] > 0, text
        # no quota: no quota series
        assert 'socks5d_user_quota_used_bytes{user="mover"}' not in series, text
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                               capture_output=True, timeout=30)
            assert r.returncode == 0, (r.stdout, r.stderr)
        else:
            print("     SKIP promtool check metrics: promtool not installed")
    src.close()


if __name__ == "__main__":
    sys.exit(run([
        test_classes_text_and_json,
        test_user_limits_counts_what_a_client_moved,
        test_bad_input_gets_a_clear_status,
        test_reset_usage_restores_access_after_the_quota,
        test_prometheus_exports_the_limits,
        test_set_class_applies_to_a_live_tunnel_within_1s,
    ]))
