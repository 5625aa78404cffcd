#!/bin/bash
# The README's first command, second half: swap on remote memory with no
# second host. Starts a donor on this host (loopback, 256 MiB) and boots
# Debian's 6.1 kernel in QEMU (TCG) with an initramfs of busybox, rmem.ko
# and rmemctl; the guest reaches the donor over QEMU's user network, as a
# client reaches another host, and does what an operator does: rmemctl
# attach, mkswap, swapon, then run a program that needs more memory than
# the guest has,
# changes a few cache lines of every page in each pass, and checks every
# byte it gets back; rmemctl status then shows what cache-line deltas
# saved. Prints the guest's console.
set -uo pipefail
. "$(dirname "$0")/../tests/vm/lib.sh"
kernel=$(vm_module_kernels 2>/dev/null | head -n 1)
[ -n "$kernel" ] || fail "no kernel with rmem.ko built for it (make module)"

cat >"$TMP/guest.sh" <<'EOF'
say() { printf '\n== %s\n' "$*"; }
say "load the driver"
insmod /rmem/rmem.ko
say "the donor: rmem-poold on the host, lending 256 MiB (in a real set-up: another host)"
guest_host_donor
rmemctl -k /tmp/key ping "$D"
say "rmemctl attach $D --size 192M --spare 64M --queues 2 --persist"
rmemctl -k /tmp/key attach "$D" --size 192M --spare 64M --queues 2 --persist &
SUP=$!
while [ ! -b /dev/rmem0 ]; do sleep 0.1; done
say "mkswap /dev/rmem0 && swapon /dev/rmem0"
mkswap /dev/rmem0 >/dev/null && swapon /dev/rmem0
free -m
say "memhog: 288 MiB in a guest with ~160 MiB free; 2 passes changing 3 lines of every page; every byte checked"
out0=$(sed -n 's/^pswpout //p' /proc/vmstat); in0=$(sed -n 's/^pswpin //p' /proc/vmstat)
memhog 288 2 1 3
echo "pages swapped out to the donor: $(( $(sed -n 's/^pswpout //p' /proc/vmstat) - out0 )), back in: $(( $(sed -n 's/^pswpin //p' /proc/vmstat) - in0 ))"
say "rmemctl status"
rmemctl status /dev/rmem0
rmemctl -k /tmp/key stats "$D"
say "swapoff, detach, rmmod"
swapoff /dev/rmem0 && rmemctl detach /dev/rmem0
# the supervisor sees the device gone and leaves within 2 s
wait $SUP
rmmod rmem
EOF
vm_host_donor 256M
echo "== booting $(vm_kver "$kernel") in QEMU (TCG; about 2 minutes), 256 MiB of RAM"
VM_MEM=256M vm_run "$kernel" "$TMP/guest.sh"
rc=$?
vm_guest_output | tr -d '\r' |
	sed 's/^.*RMEM-VM: /guest: /; /^RMEM-VM-EXIT/d'
vm_check_log
exit $rc
