#!/bin/bash
# Run the KUnit suite "rmem" in the kernel tree of Debian's
# linux-source-6.1, with drivers/rmem staged into it: the pure-logic files
# build exactly as the kernel builds them, and run under UML.
#
#   scripts/kunit.sh [TREE]     default build/kunit/linux-source-6.1
#
# The tree is unpacked once from /usr/src/linux-source-6.1.tar.xz; staging
# is repeated on every run so the tree always holds this checkout's files.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-build/kunit/linux-source-6.1}
die() { echo "kunit: $*" >&2; exit 1; }
. scripts/linux-source.sh

[ -f "$tree/Makefile" ] || linux_source_unpack "$tree"

# stage: the driver's directory and the protocol header
mkdir -p "$tree/drivers/rmem"
cp drivers/rmem/*.[ch] drivers/rmem/Kbuild drivers/rmem/Kconfig \
	drivers/rmem/.kunitconfig "$tree/drivers/rmem/"
cp include/uapi/linux/rmem.h "$tree/include/uapi/linux/rmem.h"
grep -q 'drivers/rmem/Kconfig' "$tree/drivers/Kconfig" ||
	sed -i '$ i source "drivers/rmem/Kconfig"' "$tree/drivers/Kconfig"
grep -q '^obj-y += rmem/' "$tree/drivers/Makefile" ||
	echo 'obj-y += rmem/' >>"$tree/drivers/Makefile"

cd "$tree"
python3 tools/testing/kunit/kunit.py run --kunitconfig=drivers/rmem \
	--build_dir=.kunit --jobs="$(nproc)"
