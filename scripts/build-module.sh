#!/bin/bash
# Build rmem.ko out of tree against one kernel's headers.
#
#   build-module.sh KERNEL_BUILD_DIR OUT_DIR
#
# The driver's directory and the protocol header are staged into OUT_DIR
# with the repository's layout (rmem_compat.h includes the header by a
# relative path), so the tree stays clean and each kernel gets its own
# objects. Prints the path of rmem.ko. Warnings are errors (Kbuild).
set -euo pipefail
kdir=${1:?usage: build-module.sh KERNEL_BUILD_DIR OUT_DIR}
out=${2:?usage: build-module.sh KERNEL_BUILD_DIR OUT_DIR}
cd "$(dirname "$0")/.."
[ -f "$kdir/Makefile" ] || { echo "build-module: no kernel build tree at $kdir" >&2; exit 1; }
mkdir -p "$out/drivers/rmem" "$out/include/uapi/linux"
cp -p drivers/rmem/*.[ch] drivers/rmem/Kbuild "$out/drivers/rmem/"
cp -p include/uapi/linux/rmem.h "$out/include/uapi/linux/"
out=$(cd "$out" && pwd)
make -s -C "$kdir" M="$out/drivers/rmem" CONFIG_BLK_DEV_RMEM=m modules >&2
echo "$out/drivers/rmem/rmem.ko"
