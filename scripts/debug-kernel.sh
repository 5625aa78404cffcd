#!/bin/bash
# Build the guest tests' debug kernel: Debian's linux-source-6.1 with
# KASAN (generic, inline, vmalloc too), KFENCE, lockdep (PROVE_LOCKING),
# DEBUG_ATOMIC_SLEEP, debug objects (work, timers, rcu heads, frees),
# DEBUG_LIST and the hung-task detector (60 s, no panic), so that the
# swap and race tests in tests/vm/ fail on memory errors, lock-order and
# might-sleep bugs, and hangs that a production kernel never reports.
# scripts/debug-kernel.config says why each option is there; the config
# is allnoconfig plus that fragment, so the tree holds only what the
# guests use, all built in: 24 minutes on this 2-core machine while
# other tests ran (bzImage and modules, -j2; 1.8 GB of tree); the time
# each build took is kept in the cache's build-seconds.
#
#   debug-kernel.sh [LINK]     prints the built tree's path; with LINK,
#                              also makes LINK a symlink to it
#
# The tree is cached outside the clone, in
# ${RMEM_CACHE:-/var/cache/rmem}/debug-kernel/KEY/, KEY a hash of the
# fragment, the source package's version and the scripts that build it,
# so every clone and CI run on this machine shares one build, and a
# change to any of them builds anew. The cached tree is the whole built
# tree: bzImage in arch/x86/boot/, vmlinux (for scripts/faddr2line on a
# report) and everything `make -C TREE M=...` needs to build rmem.ko
# (scripts/build-module.sh). It is built in a temporary directory and
# renamed into place when complete, under a lock, so an interrupted
# build is never taken for a cached one and two clones never build at
# once. A second run is a no-op that prints the path.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "debug-kernel: $*" >&2; exit 1; }
. scripts/linux-source.sh

link=${1:-}
fragment=scripts/debug-kernel.config
jobs=${RMEM_KERNEL_JOBS:-2}
cache=${RMEM_CACHE:-/var/cache/rmem}/debug-kernel

version=$(linux_source_version)
key=$({ cat "$fragment"; echo "$LINUX_SOURCE_PKG $version"; cat "$0" scripts/linux-source.sh; } |
	sha256sum | cut -c1-16)
tree=$cache/$key

done_msg() {
	if [ -n "$link" ]; then
		mkdir -p "$(dirname "$link")"
		ln -sfn "$tree" "$link"
	fi
	echo "$tree"
}

if [ -f "$tree/arch/x86/boot/bzImage" ]; then
	done_msg
	exit 0
fi

mkdir -p "$cache" || die "cannot create $cache (set RMEM_CACHE to a writable directory)"
exec 9>"$cache/.lock"
if ! flock -n 9; then
	echo "debug-kernel: another build holds $cache/.lock; waiting" >&2
	flock 9
fi
# built while we waited
if [ -f "$tree/arch/x86/boot/bzImage" ]; then
	done_msg
	exit 0
fi
# whatever an interrupted build left: nobody else builds (we hold the lock)
rm -rf "$cache"/.tmp.*
tmp=$cache/.tmp.$key.$$
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s)
echo "debug-kernel: building $LINUX_SOURCE_PKG $version with $fragment into $tree (about 25 minutes)" >&2
linux_source_unpack "$tmp"
(
	cd "$tmp"
	# ARCH=x86_64: allnoconfig would otherwise pick a 32-bit kernel,
	# and the defaults that follow from it (frame size warning, unwinder)
	# would stay after the fragment turns 64BIT on
	make -s ARCH=x86_64 allnoconfig >/dev/null
	scripts/kconfig/merge_config.sh -m .config "$OLDPWD/$fragment" >/dev/null
	make -s ARCH=x86_64 olddefconfig >/dev/null
)

# every line of the fragment as asked, or the kernel is not the one the
# tests claim to run
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		opt=${line%%=*}
		grep -qxF -- "$line" "$tmp/.config" && continue ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		grep -qE "^$opt=" "$tmp/.config" || continue ;;
	*) continue ;;
	esac
	echo "debug-kernel: $fragment asks for '$line'; olddefconfig gave" \
		"'$(grep -E "^(# )?$opt[= ]" "$tmp/.config" || echo "nothing: a dependency is missing")'" >&2
	bad=1
done <"$fragment"
[ "$bad" = 0 ] || die "the configuration lost options (see above): fix $fragment"

log=$tmp/build.log
# "modules" with no module configured: modules_prepare, and the
# Module.symvers that modpost checks an external module's symbols against
if ! make -C "$tmp" -j"$jobs" bzImage modules >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	die "the kernel build failed (the last lines above)"
fi
make -s -C "$tmp" kernelrelease >"$tmp/kernelrelease"
echo $(( $(date +%s) - start )) >"$tmp/build-seconds"
mv "$tmp" "$tree"
trap - EXIT
echo "debug-kernel: built $(cat "$tree/kernelrelease") in $(cat "$tree/build-seconds") s" >&2
done_msg
