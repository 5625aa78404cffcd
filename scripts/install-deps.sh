#!/bin/bash
# Install the Debian packages rmem needs to build and test.
#
# Idempotent and quiet when everything is already there: both README
# commands call it first, so a fresh Debian 12 machine needs nothing else.
# Package groups are listed by what needs them, so a later issue adds a
# line, not a new script.
set -euo pipefail

pkgs=(
	# build: userspace (daemon, library, CLI)
	build-essential pkg-config
	libssl-dev        # HMAC-SHA256 for the handshake (libcrypto)
	libxxhash-dev     # XXH64, the page hash shared with the kernel's lib/xxhash
	libinih-dev       # rmem-poold's INI config
	libsystemd-dev    # rmem-poold's sd_notify (Type=notify, watchdog)
	libnl-genl-3-dev  # rmemctl's generic netlink to the driver
	# fio engine: built against the installed fio's own source package
	fio               # the engine's host, and the tests' load generator
	dpkg-dev          # dpkg-source, to unpack 'apt-get source fio'
	libaio-dev libnuma-dev  # so fio's configure sees what Debian's build saw
	# Debian packages (make deb, debian/): built, linted, and the module's
	# DKMS package built against the installed headers
	debhelper dh-dkms lintian dkms
	debootstrap       # tests/vm/packages.sh: a Debian 12 root with systemd, to boot them in
	# tests
	libcmocka-dev     # C unit and integration test runner
	clang libclang-rt-14-dev  # libFuzzer, ASan and UBSan for the fuzzers (tests/fuzz/)
	procps            # pgrep/pkill in test cleanup hooks
	libfaketime       # test_donor steps the donor's wall clock (LD_PRELOAD)
	iproute2          # ss: test_donor reads the donor socket's keepalive timer
	python3-prometheus-client  # its parser checks rmemctl's --prometheus output
	# the kernel module, out of tree
	linux-headers-amd64 pahole
	# KUnit (tests/kernel/): drivers/rmem staged into Debian's 6.1 tree, UML
	linux-source-6.1 flex bison bc
	# the guests' debug kernel (scripts/debug-kernel.sh): the same source
	# built for x86_64, whose objtool needs libelf
	libelf-dev
	# guest tests (tests/vm/): Debian's kernel booted in QEMU
	linux-image-amd64 # the 6.1 kernel the guests boot (not this host's)
	qemu-system-x86   # TCG: no KVM needed
	busybox-static    # the guests' userland
	cpio              # their initramfs
	xz-utils          # the NIC module of a fetched kernel, to reach a donor on the host
	# the FPGA (fpga/): RTL simulated, linted and synthesized
	verilator         # the C++ benches and the lint
	iverilog          # the second simulator
	yosys             # the synthesis report
	valgrind          # lackey: store traces for the trace-driven runs
	# benchmarks (bench/)
	nbdkit            # the NBD baseline: its memory plugin
	nbd-client        # bench/kernel.sh: the kernel nbd client, in the guest
	nbd-server        # bench/kernel.sh: the other NBD server, on the host
	redis-server      # bench/kernel.sh: a real server swapping in the guest
	redis-tools       # redis-benchmark, its load, and redis-cli
	e2fsprogs         # mke2fs: the guest's disk of programs too big for its initramfs
	gnuplot-nox       # the plots
	python3           # the harness
)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (or: sudo $0)" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
