#!/bin/sh
# The whole test suite from a clean checkout: dependencies, an autotools build
# with -Werror, `make check` (unit and integration tests), the same suite under
# AddressSanitizer and UndefinedBehaviorSanitizer, and a short fuzzing smoke.
# Run from the top of the source tree, as root (for apt-get and network
# namespaces).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tests/install-deps.sh
# every build below is out of tree; one configured in the source tree would
# make their configure refuse to run, so it is cleaned first
if [ -f config.status ]; then
	echo "== the source tree was configured in place: make distclean"
	make distclean >/dev/null 2>&1 || rm -f config.status
fi
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi

jobs=$(nproc 2>/dev/null || echo 2)

# make check, once: a test that fails has found something (its log is
# printed), never a flake to rerun until green.
suite_check() {
	if make -j"$jobs" check; then
		return 0
	fi
	for log in $(grep -l '^:test-result: FAIL' tests/*/*.trs 2>/dev/null | sed 's/\.trs$/.log/'); do
		echo "---- $log"; tail -60 "$log"
	done
	return 1
}

echo "== build with -Werror and run make check"
rm -rf build-ci && mkdir build-ci && cd build-ci
../configure --enable-werror --with-pgsql >/dev/null
make -j"$jobs" >/dev/null
suite_check
cd "$top"

echo "== the same suite under ASan and UBSan"
rm -rf build-asan && mkdir build-asan && cd build-asan
../configure --enable-werror --enable-sanitizers --with-pgsql >/dev/null
make -j"$jobs" >/dev/null
export ASAN_OPTIONS=detect_leaks=1
suite_check
cd "$top"

if [ -f tests/fuzz/README.md ]; then
	echo "== fuzzing smoke"
	rm -rf build-fuzz && mkdir build-fuzz && cd build-fuzz
	CC=clang ../configure --enable-fuzzing >/dev/null
	make -j"$jobs" >/dev/null
	make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
	cd "$top"
fi
echo "run-suite: all stages passed"
