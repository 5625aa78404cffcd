#!/bin/bash
# The fio headers rmem's external ioengine is compiled against.
#
#   fio-source.sh check WANT STAMP   fail unless the installed fio is WANT;
#                                    write WANT to STAMP if it differs
#   fio-source.sh fetch WANT DIR     unpack and configure the source of the
#                                    installed fio package into DIR
#
# An external engine reaches into fio's own structures (thread_data, io_u,
# options), so it must be built against the headers of exactly the fio that
# will load it: one compiled against other headers loads and then corrupts
# memory. The installed version is therefore checked on every build, and
# the headers come from the Debian source package of the installed binary
# package, fetched through a private apt source list under DIR (no change
# to the system's apt configuration), and configured as debian/rules does.
set -euo pipefail

FIO=${FIO:-fio}
cmd=${1:-}
want=${2:-}
dest=${3:-}
[ -n "$cmd" ] && [ -n "$want" ] && [ -n "$dest" ] ||
	{ echo "usage: $0 check|fetch VERSION PATH" >&2; exit 2; }

die() { echo "fio-source: $*" >&2; exit 1; }
. "$(dirname "$0")/private-apt.sh"

installed_version() {
	local v
	command -v "$FIO" >/dev/null ||
		die "fio is not installed (apt-get install fio, or run scripts/install-deps.sh)"
	v=$("$FIO" --version 2>/dev/null) || die "'$FIO --version' failed"
	echo "${v#fio-}"
}

case $cmd in
check)
	have=$(installed_version)
	if [ "$have" != "$want" ]; then
		die "the installed fio is $have, but rmem's engine (userspace/fio/) is written for fio $want.
fio-source: An engine built against other headers would be rejected by fio or corrupt its memory,
fio-source: so the build stops here. Install fio $want (Debian 12's), or port the engine to $have
fio-source: and set FIO_VERSION in the Makefile."
	fi
	if [ "$(cat "$dest" 2>/dev/null)" != "$want" ]; then
		mkdir -p "$(dirname "$dest")"
		echo "$want" >"$dest"
	fi
	;;
fetch)
	have=$(installed_version)
	[ "$have" = "$want" ] || die "installed fio is $have, wanted $want"
	[ -f "$dest/config-host.h" ] && exit 0
	debver=$(dpkg-query -W -f='${Version}' fio 2>/dev/null) ||
		die "fio is not installed from a Debian package; cannot find its source"
	command -v dpkg-source >/dev/null ||
		die "dpkg-source is missing (apt-get install dpkg-dev)"

	# A private apt: our own deb-src list, lists and cache, nothing global.
	apt=$(dirname "$dest")/apt
	uri=$(debian_mirror)
	. /etc/os-release
	echo "fio-source: fetching the source of fio $debver ($uri)" >&2
	private_apt "$apt" "deb-src $uri ${VERSION_CODENAME:-bookworm} main" ||
		die "apt-get update of the private deb-src list failed"
	mkdir -p "$apt/src"
	(cd "$apt/src" && apt-get "${APT_OPTS[@]}" source "fio=$debver" >/dev/null 2>&1) ||
		die "cannot fetch the source of fio $debver from $uri (deb-src)"
	src=$(find "$apt/src" -maxdepth 1 -type d -name "fio-*" | head -n 1)
	[ -n "$src" ] || die "apt-get source fio unpacked nothing"
	grep -q "^DEF_VER=fio-$want\$" "$src/FIO-VERSION-GEN" ||
		die "the source of fio $debver is not fio $want"
	rm -rf "$dest"
	mv "$src" "$dest"
	rm -rf "$apt/src"
	# debian/rules: ./configure --disable-native --prefix=/usr --enable-gfio
	# --enable-libnbd. gfio and libnbd only add programs and engines; the
	# headers an engine sees depend on the rest, which is the same here.
	(cd "$dest" && ./configure --disable-native --prefix=/usr >configure.log 2>&1) ||
		die "configure failed; see $dest/configure.log"
	;;
*)
	echo "usage: $0 check|fetch VERSION PATH" >&2
	exit 2
	;;
esac
