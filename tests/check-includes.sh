#!/bin/sh
# check-includes: the layering in the include graph (DESIGN.md section 2).
#
# Every `#include "..."` in src/ and plugins/ is resolved the way the
# compiler does (first beside the including file, then src/include, then
# src: the -I order of Makefile.am) and the folder of the file found is
# compared with the folder of the includer. Layers, lowest first:
#
#   src/include < src/core < src/auth < src/limits < src/route < src/dissect
#   < src/socks < src/mass < src (top)
#
# A file may include from its own layer or any below it. src/massctl may use
# src/include, src/core and src/auth (and itself); plugins/ only src/include
# (and itself); src/include only itself. An include that resolves to no file
# of the tree (a generated header) is not judged. Prints one line per
# include pointing up, then "N passed, N failed"; exits 1 on any failure
# (automake's test protocol).
#
# Usage: tests/check-includes.sh [TOP_SRCDIR]   (default: $top_srcdir, else
# the directory above this script)

top=${1:-${top_srcdir:-$(dirname "$0")/..}}
cd "$top" || exit 99

# The rank of a folder (a path relative to the tree), or "massctl",
# "plugins" for the side branches; "" when outside the checked tree.
layer() {
	case $1 in
	src/include/*) echo 0 ;;
	src/core/*) echo 1 ;;
	src/auth/*) echo 2 ;;
	src/limits/*) echo 3 ;;
	src/route/*) echo 4 ;;
	src/dissect/*) echo 5 ;;
	src/socks/*) echo 6 ;;
	src/mass/*) echo 7 ;;
	src/massctl/*) echo massctl ;;
	src/*/*) echo "" ;;
	src/*) echo 8 ;;
	plugins/*) echo plugins ;;
	*) echo "" ;;
	esac
}

# Whether a file of layer $1 may include one of layer $2.
allowed() {
	case $1 in
	massctl) case $2 in 0 | 1 | 2 | massctl) return 0 ;; esac; return 1 ;;
	plugins) case $2 in 0 | plugins) return 0 ;; esac; return 1 ;;
	esac
	case $2 in
	massctl | plugins | "") return 1 ;;
	esac
	[ "$2" -le "$1" ]
}

# Resolves include name $2 from file $1; prints the path, or nothing.
resolve() {
	dir=$(dirname "$1")
	for base in "$dir" src/include src; do
		if [ -f "$base/$2" ]; then
			# normalise "src/socks/../core/x.h" and "./"
			(cd "$(dirname "$base/$2")" && printf '%s/%s\n' "$(pwd -P)" \
				"$(basename "$2")") | sed "s|^$(pwd -P)/||"
			return
		fi
	done
}

pass=0
fail=0
files=$(find src plugins -name '*.[ch]' | sort)
for f in $files; do
	from=$(layer "$f")
	[ -n "$from" ] || continue
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		target=$(resolve "$f" "$inc")
		[ -n "$target" ] || continue
		to=$(layer "$target")
		if allowed "$from" "$to"; then
			pass=$((pass + 1))
		else
			echo "FAIL: $f includes \"$inc\" ($target): a higher layer"
			fail=$((fail + 1))
		fi
	done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
