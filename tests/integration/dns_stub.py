#!/usr/bin/env python3
"""A small authoritative DNS server on loopback UDP for integration tests.

    dns_stub.py --port 0 --record name=ip[,ip...] [--record ...] [--silent name]

Binds 127.0.0.1, prints the port it got on the first line of stdout, then
answers A and AAAA questions from the records (IPv4 addresses as A, IPv6 as
AAAA, in the order given). A known name without an address of the asked type
gets an empty NOERROR answer, an unknown name NXDOMAIN, a --silent name no
answer at all. Malformed datagrams are dropped. Exits on SIGTERM or SIGINT.
"""

import argparse
import ipaddress
import signal
import socket
import struct
import sys

TYPE_A = 1
TYPE_AAAA = 28
CLASS_IN = 1
RCODE_NXDOMAIN = 3
TTL = 60


def parse_record(text):
    name, sep, ips = text.partition("=")
    if not sep or not name or not ips:
        raise argparse.ArgumentTypeError("expected name=ip[,ip...]: %r" % text)
    try:
        addrs = [ipaddress.ip_address(ip.strip()) for ip in ips.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))
    return normalise(name), addrs


def normalise(name):
    return name.rstrip(".").lower()


def parse_question(data):
    """Returns (name, qtype, end offset of the question) or None."""
    if len(data) < 12:
        return None
    flags, qdcount = struct.unpack("!HH", data[2:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(data):
            return None
        length = data[pos]
        pos += 1
        if length == 0:
            break
        if length > 63 or pos + length > len(data):
            return None
        labels.append(data[pos:pos + length].decode("ascii", "replace"))
        pos += length
    if pos + 4 > len(data):
        return None
    qtype, _qclass = struct.unpack("!HH", data[pos:pos + 4])
    return normalise(".".join(labels)), qtype, pos + 4


def answer(data, records, silent):
    parsed = parse_question(data)
    if parsed is None:
        return None
    name, qtype, qend = parsed
    if name in silent:
        return None
    rrs = b""
    count = 0
    addrs = records.get(name)
    for addr in addrs or ():
        rtype = TYPE_A if addr.version == 4 else TYPE_AAAA
        if rtype != qtype:
            continue
        packed = addr.packed
        rrs += struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, TTL, len(packed))
        rrs += packed
        count += 1
    rcode = 0 if addrs is not None else RCODE_NXDOMAIN
    flags = 0x8000 | (data[2] & 0x01) << 8 | 0x0080 | rcode
    header = data[0:2] + struct.pack("!HHHHH", flags, 1, count, 0, 0)
    return header + data[12:qend] + rrs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", type=parse_record, action="append", default=[])
    ap.add_argument("--silent", action="append", default=[])
    args = ap.parse_args()

    records = {}
    for name, addrs in args.record:
        records.setdefault(name, []).extend(addrs)
    silent = {normalise(n) for n in args.silent}

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", args.port))
    print(sock.getsockname()[1], flush=True)
    try:
        while True:
            data, peer = sock.recvfrom(4096)
            reply = answer(data, records, silent)
            if reply is not None:
                sock.sendto(reply, peer)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


if __name__ == "__main__":
    main()
