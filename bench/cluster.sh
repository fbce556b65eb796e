#!/usr/bin/env bash
# bench/cluster.sh: what HAProxy in front costs. One socks5d with
# `proxy_protocol = 127.0.0.3/32`, one HAProxy frontend (mode tcp,
# send-proxy-v2, its connections to socks5d from 127.0.0.3), and
# `socks5-bench tps` alternately through HAProxy and straight to socks5d
# (from 127.0.0.1: no header expected), ROUNDS times each, in one run.
# See bench/README.md.
#
#   bench/cluster.sh [--build DIR] [--duration S] [--rounds N] [-c CLIENTS]
#
# As root it re-runs itself in a network namespace of its own (loopback
# only). Everything it starts is killed by PID on exit.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${MASS_BUILD:-$HERE/../build}
DURATION=5
ROUNDS=2
CLIENTS=64

while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	-c) CLIENTS=$2; shift ;;
	-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/cluster.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "bench/cluster.sh: no build directory (--build DIR)" >&2; exit 2; }
BENCH=$BUILD/bench/socks5-bench
for f in "$BUILD/src/socks5d" "$BENCH"; do
	[ -x "$f" ] || { echo "bench/cluster.sh: no $f (make src/socks5d bench/socks5-bench in $BUILD)" >&2; exit 2; }
done
command -v haproxy >/dev/null 2>&1 || { echo "bench/cluster.sh: haproxy is not installed" >&2; exit 2; }

if [ "$(id -u)" = 0 ] && [ -z "${MASS_NETNS:-}" ] && command -v unshare >/dev/null 2>&1; then
	# shellcheck disable=SC2016  # $0 and $@ are the inner shell's
	MASS_NETNS=1 exec unshare -n sh -c 'ip link set lo up && exec "$0" "$@"' \
		"$0" --build "$BUILD" --duration "$DURATION" --rounds "$ROUNDS" -c "$CLIENTS"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mass-cluster.XXXXXX") || exit 1
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_listen() {  # PORT PID: up to 3 s
	for _ in $(seq 60); do
		kill -0 "$2" 2>/dev/null || return 1
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

kv() {  # kv "LINE" KEY
	local w
	for w in $1; do
		case $w in "$2"=*) echo "${w#*=}"; return ;; esac
	done
}

"$BENCH" serve -d 3600 >"$WORK/serve.out" 2>"$WORK/serve.err" &
PIDS+=($!)
for _ in $(seq 60); do
	[ "$(wc -l <"$WORK/serve.out")" -ge 4 ] && break
	sleep 0.05
done
RR=$(awk '$1 == "rr" { print $2 }' "$WORK/serve.out")
[ -n "$RR" ] || { echo "bench/cluster.sh: target did not start: $(cat "$WORK/serve.err")" >&2; exit 1; }

P=$(free_port); Q=$(free_port); H=$(free_port)
cat >"$WORK/mass.ini" <<EOF2
[socks]
listen = 127.0.0.1
port = $P
auth = off
dissectors = off
access_log = $WORK/access.log
proxy_protocol = 127.0.0.3/32

[management]
listen = 127.0.0.1
port = $Q

[indexes]
EOF2
"$BUILD/src/socks5d" -c "$WORK/mass.ini" >"$WORK/socks5d.log" 2>&1 &
PIDS+=($!)
wait_listen "$P" $! || { echo "bench/cluster.sh: socks5d did not start: $(tail -3 "$WORK/socks5d.log")" >&2; exit 1; }

cat >"$WORK/haproxy.cfg" <<EOF2
global
    maxconn 4096

defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend socks
    bind 127.0.0.1:$H
    default_backend mass

backend mass
    server s1 127.0.0.1:$P send-proxy-v2 source 127.0.0.3
EOF2
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!)
wait_listen "$H" $! || { echo "bench/cluster.sh: haproxy did not start: $(tail -3 "$WORK/haproxy.log")" >&2; exit 1; }

echo "# bench/cluster.sh $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"tps -c $CLIENTS -d $DURATION, $ROUNDS rounds"
echo
echo "| round | path | tx/s | p50 ms | p99 ms | failed |"
echo "|---|---|---:|---:|---:|---:|"
declare -A SUM=([direct]=0 [haproxy]=0)
for r in $(seq "$ROUNDS"); do
	for path in direct haproxy; do
		port=$P; [ "$path" = haproxy ] && port=$H
		line=$("$BENCH" tps -c "$CLIENTS" -d "$DURATION" --proxy "127.0.0.1:$port" \
			--target "127.0.0.1:$RR" 2>"$WORK/err.$path" | tail -1)
		tps=$(kv "$line" tps)
		[ -n "$tps" ] || { echo "bench/cluster.sh: no result ($path): $(head -3 "$WORK/err.$path")" >&2; exit 1; }
		SUM[$path]=$(awk -v a="${SUM[$path]}" -v b="$tps" 'BEGIN { print a + b }')
		echo "| $r | $path | $tps | $(awk -v v="$(kv "$line" p50_us)" 'BEGIN { printf "%.2f", v / 1000 }') |" \
			"$(awk -v v="$(kv "$line" p99_us)" 'BEGIN { printf "%.2f", v / 1000 }') | $(kv "$line" failed) |"
	done
done
echo
awk -v h="${SUM[haproxy]}" -v d="${SUM[direct]}" -v n="$ROUNDS" \
	'BEGIN { printf "through HAProxy / direct: %.0f / %.0f tx/s = %.2f\n", h / n, d / n, h / d }'
if grep -q "proxy_protocol:" "$WORK/socks5d.log"; then
	echo "bench/cluster.sh: socks5d refused connections:" >&2
	grep "proxy_protocol:" "$WORK/socks5d.log" | head -3 >&2
	exit 1
fi
