#!/bin/bash
# The packages' guest test's root file system (tests/vm/packages.sh): a
# minimal Debian 12 with systemd as init, made by debootstrap from the
# archive with the libraries rmem's packages depend on, systemd-networkd
# taking an address by DHCP (QEMU's user network), and a serial console.
# The test copies it, installs the freshly built .debs into the copy with
# dpkg, and boots it.
#
#   debian-rootfs.sh [LINK]    prints the tree's path; with LINK, also
#                              makes LINK a symlink to it
#
# Cached outside the clone, in ${RMEM_CACHE:-/var/cache/rmem}/rootfs/KEY/,
# KEY a hash of this script (its package list, its settings): every clone
# and CI run on this machine shares one tree, and a change to the script
# makes a new one. Made in a temporary directory and renamed into place
# when complete, under a lock, as scripts/debug-kernel.sh does: about 3
# minutes and 250 MB. A second run is a no-op that prints the path.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "debian-rootfs: $*" >&2; exit 1; }

link=${1:-}
cache=${RMEM_CACHE:-/var/cache/rmem}/rootfs
mirror=${RMEM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# init and devices; what rmem-poold and rmemctl link (their Depends);
# the swap tools are util-linux's, which minbase has
pkgs=systemd,systemd-sysv,udev,kmod,iproute2,procps
pkgs+=,libinih1,libnl-3-200,libnl-genl-3-200,libssl3,libxxhash0
key=$(cat "$0" | sha256sum | cut -c1-16)
tree=$cache/$key

done_msg() {
	if [ -n "$link" ]; then
		mkdir -p "$(dirname "$link")"
		ln -sfn "$tree/root" "$link"
	fi
	echo "$tree/root"
}

[ -f "$tree/done" ] && { done_msg; exit 0; }
command -v debootstrap >/dev/null || die "needs debootstrap (apt-get install debootstrap)"
mkdir -p "$cache" || die "cannot create $cache (set RMEM_CACHE to a writable directory)"
exec 9>"$cache/.lock"
if ! flock -n 9; then
	echo "debian-rootfs: another build holds $cache/.lock; waiting" >&2
	flock 9
fi
[ -f "$tree/done" ] && { done_msg; exit 0; }
rm -rf "$cache"/.tmp.*
tmp=$cache/.tmp.$key.$$
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"

echo "debian-rootfs: debootstrap bookworm from $mirror into $tree (about 3 minutes)" >&2
debootstrap --variant=minbase --include="$pkgs" bookworm "$tmp/root" "$mirror" \
	>"$tmp/debootstrap.log" 2>&1 ||
	{ tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
r=$tmp/root
echo rmem-guest >"$r/etc/hostname"
# root on the virtio disk the test boots; no other mounts
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$r/etc/fstab"
cat >"$r/etc/systemd/network/50-dhcp.network" <<-'EON'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EON
chroot "$r" systemctl enable systemd-networkd.service >/dev/null 2>&1
# quiet and quick under TCG: no getty on the console the test reads, no
# timers that would run during a test
chroot "$r" systemctl mask serial-getty@ttyS0.service getty@tty1.service \
	apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
	>/dev/null 2>&1
rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
touch "$tmp/done"
rm -rf "$tree"
mv "$tmp" "$tree"
trap - EXIT
done_msg
