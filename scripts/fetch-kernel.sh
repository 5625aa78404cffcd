#!/bin/bash
# Fetch a Debian kernel image from another suite for the guest tests,
# without installing it: the package is downloaded through a private apt
# (scripts/private-apt.sh) and only its vmlinuz is kept.
#
#   fetch-kernel.sh SUITE DIR     e.g. bookworm-backports build/vm/kernels
#
# Prints the path of the image. Idempotent: an image already in DIR for
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
if [ ! -s "$dir/vmlinuz-$ver" ]; then
	echo "fetch-kernel: downloading $pkg from $suite" >&2
	rm -rf "$apt/deb" && mkdir -p "$apt/deb"
	(cd "$apt/deb" && apt-get "${APT_OPTS[@]}" download "$pkg/$suite" >/dev/null) ||
		die "cannot download $pkg"
	dpkg-deb --fsys-tarfile "$apt"/deb/*.deb |
		tar -x -C "$apt/deb" --wildcards './boot/vmlinuz-*'
	mv "$apt/deb/boot/vmlinuz-$ver" "$dir/vmlinuz-$ver"
	rm -rf "$apt/deb"
fi
echo "$dir/vmlinuz-$ver"
