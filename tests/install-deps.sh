#!/bin/sh
# Installs what building and testing mass needs on Debian (run as root).
set -e
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake libtool pkg-config \
	libinih-dev libc-ares-dev libcrypt-dev libsodium-dev check \
	curl ncat python3 python3-socks iproute2 procps mandoc \
	libseccomp-dev \
	clang libclang-rt-14-dev \
	prometheus haproxy libpq-dev postgresql >/dev/null
# the packages' services are not wanted: tests start their own servers
systemctl disable --now prometheus >/dev/null 2>&1 || true
systemctl disable --now haproxy >/dev/null 2>&1 || true
systemctl disable --now postgresql >/dev/null 2>&1 || true
echo "install-deps: build and test dependencies are installed"
