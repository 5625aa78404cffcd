#!/bin/bash
# Fetch a Debian kernel from another suite for the guest tests, and its
# headers to build rmem.ko against, and its e1000 module for the guests'
# network, without installing any: packages
# come through a private apt (scripts/private-apt.sh). The image's
# vmlinuz goes to DIR; the headers (linux-headers-VER-amd64, -common and
# linux-kbuild) are unpacked under DIR/root, their Makefile pointed there.
#
#   fetch-kernel.sh SUITE DIR     e.g. bookworm-backports build/vm/kernels
#
# Prints the path of the image. Idempotent: what is already in DIR for
# the suite's current version is not fetched again.
set -euo pipefail
suite=${1:?usage: fetch-kernel.sh SUITE DIR}
dir=${2:?usage: fetch-kernel.sh SUITE DIR}
die() { echo "fetch-kernel: $*" >&2; exit 1; }
. "$(dirname "$0")/private-apt.sh"

mkdir -p "$dir"
apt=$dir/apt-$suite
private_apt "$apt" "deb $(debian_mirror) $suite main" ||
	die "apt-get update for $suite failed"
# the meta-package names the versioned image package
pkg=$(apt-cache "${APT_OPTS[@]}" show "linux-image-amd64/$suite" 2>/dev/null |
	sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n 1)
[ -n "$pkg" ] || die "no linux-image-amd64 in $suite"
ver=${pkg#linux-image-}
# the guests' NIC driver, to reach a donor on the host (tests/vm/lib.sh)
nic=lib/modules/$ver/kernel/drivers/net/ethernet/intel/e1000
if [ ! -s "$dir/vmlinuz-$ver" ] || ! ls "$dir/root/$nic"/e1000.ko* >/dev/null 2>&1; then
	echo "fetch-kernel: downloading $pkg from $suite" >&2
	rm -rf "$apt/deb" && mkdir -p "$apt/deb"
	(cd "$apt/deb" && apt-get "${APT_OPTS[@]}" download "$pkg/$suite" >/dev/null) ||
		die "cannot download $pkg"
	dpkg-deb --fsys-tarfile "$apt"/deb/*.deb |
		tar -x -C "$apt/deb" --wildcards './boot/vmlinuz-*' "./$nic/*"
	mv "$apt/deb/boot/vmlinuz-$ver" "$dir/vmlinuz-$ver"
	mkdir -p "$dir/root/$nic"
	mv "$apt/deb/$nic"/* "$dir/root/$nic/"
	rm -rf "$apt/deb"
fi
hdr=$dir/root/usr/src/linux-headers-$ver
if [ ! -f "$hdr/Makefile" ]; then
	echo "fetch-kernel: downloading the headers of $ver from $suite" >&2
	common=$(apt-cache "${APT_OPTS[@]}" show "linux-headers-$ver/$suite" 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-headers-[^ ,]*-common\).*/\1/p' | head -n 1)
	kbuild=$(apt-cache "${APT_OPTS[@]}" show "linux-headers-$ver/$suite" 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-kbuild-[^ ,]*\).*/\1/p' | head -n 1)
	[ -n "$common" ] && [ -n "$kbuild" ] || die "cannot find the headers of $ver"
	rm -rf "$apt/deb" && mkdir -p "$apt/deb"
	(cd "$apt/deb" && apt-get "${APT_OPTS[@]}" download "linux-headers-$ver/$suite" \
		"$common/$suite" "$kbuild/$suite" >/dev/null) || die "cannot download the headers of $ver"
	for d in "$apt"/deb/*.deb; do
		dpkg-deb -x "$d" "$dir/root"
	done
	rm -rf "$apt/deb"
	# the arch Makefile includes the common one by an absolute path
	sed -i "s|^include /usr/src/|include $(cd "$dir/root" && pwd)/usr/src/|" "$hdr/Makefile"
fi
echo "$dir/vmlinuz-$ver"
