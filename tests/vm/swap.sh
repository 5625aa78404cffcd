#!/bin/bash
# Swap on rmem in a booted kernel. Inside the guest, over loopback: the
# donor, rmemctl attach, a data check through the block device, mkswap,
# swapon, and memhog allocating well past the guest's RAM with a pattern
# on every page, touched in random order twice and checked to the byte;
# then swapoff, detach, rmmod. Fails on any mismatch, I/O error, or
# WARNING/BUG/Oops/lockdep/hung-task line. Runs on every kernel that
# rmem.ko was built for (make module).
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }

cat >"$TMP/guest.sh" <<'EOF'
rmemctl -q keygen /tmp/key
# no module yet: a clear message and exit 8
if rmemctl attach 127.0.0.1 --size 16M 2>/tmp/err; then
	echo "FAIL: attach without the module"; exit 1
fi
grep -q "module is not loaded" /tmp/err || { cat /tmp/err; exit 1; }
insmod /rmem/rmem.ko

printf '[server]\nlisten = 127.0.0.1\nport = 0\n[pool]\nsize = 256M\nlock = yes\n[auth]\nkey_file = /tmp/key\n' >/tmp/conf
# the donor logs to the console: a log file on this guest's tmpfs could
# be swapped out to the donor itself, and writing it would then wait on
# the donor (Documentation/admin-guide/rmem.rst, "Donor and client on one host")
rmem-poold -f -c /tmp/conf --port-file /tmp/port &
while [ ! -s /tmp/port ]; do sleep 0.1; done
D=127.0.0.1:$(cat /tmp/port)
# --persist, as an operator would run it: should the donor in this
# guest stall past the request timeout under pressure, the connection is
# replaced instead of failing swap I/O
rmemctl -k /tmp/key attach "$D" --size 256M --queues 2 --persist &
while [ ! -b /dev/rmem0 ]; do sleep 0.1; done
rmemctl list
[ -b /dev/rmem0 ] || { echo "FAIL: no /dev/rmem0"; exit 1; }
[ "$(cat /sys/block/rmem0/queue/logical_block_size)" = 4096 ] || exit 1

# the block device itself: 8 MiB of random bytes out and back
dd if=/dev/urandom of=/tmp/a bs=1M count=8 2>/dev/null
dd if=/tmp/a of=/dev/rmem0 bs=256k oflag=direct 2>/dev/null
dd if=/dev/rmem0 of=/tmp/b bs=64k count=128 iflag=direct 2>/dev/null
cmp /tmp/a /tmp/b || { echo "FAIL: data read back differs"; exit 1; }
rm -f /tmp/a /tmp/b

# The donor runs in this guest, so its socket takes the skbs the swap
# path allocated from the memory reserves, and TCP drops those for a
# socket that is not memalloc. Reclaim that starts early and a larger
# reserve keep allocations off the reserves; across two hosts this is
# moot (Documentation/admin-guide/rmem.rst, "Donor and client on one host").
echo 32768 >/proc/sys/vm/min_free_kbytes
echo 1000 >/proc/sys/vm/watermark_scale_factor
mkswap /dev/rmem0 >/dev/null
swapon /dev/rmem0
out0=$(sed -n 's/^pswpout //p' /proc/vmstat)
in0=$(sed -n 's/^pswpin //p' /proc/vmstat)
# in use: detach must refuse, with exit 9
if rmemctl detach /dev/rmem0 2>/tmp/err; then echo "FAIL: detached a swap device"; exit 1; fi
grep -q "in use" /tmp/err || { cat /tmp/err; exit 1; }

memhog 320 2 || { echo "FAIL: memhog found bad bytes"; exit 1; }
out=$(( $(sed -n 's/^pswpout //p' /proc/vmstat) - out0 ))
in=$(( $(sed -n 's/^pswpin //p' /proc/vmstat) - in0 ))
echo "RESULT: $out pages swapped out to rmem, $in swapped back in"
[ "$out" -gt 20000 ] && [ "$in" -gt 20000 ] || { echo "FAIL: too little swapping"; exit 1; }
swapoff /dev/rmem0
rmemctl status /dev/rmem0
rmemctl detach /dev/rmem0
[ -e /dev/rmem0 ] && { echo "FAIL: /dev/rmem0 still there"; exit 1; }
wait %2		# rmemctl --persist leaves once the device is gone
rmmod rmem
kill -TERM %1
wait
EOF

ran=0
for k in $(vm_kernels); do
	if [ -z "$(vm_module "$k")" ]; then
		echo "=== $k: no rmem.ko built for it (headers not installed); skipped"
		continue
	fi
	echo "=== $k"
	VM_TIMEOUT=1200 vm_run "$k" "$TMP/guest.sh" ||
		fail "guest on $k failed: $(sed -n '/RMEM-VM: kernel/,/^RMEM-VM-EXIT/p' "$TMP/console.log" | tail -n 30)"
	vm_check_log
	grep -a -E "RESULT|memhog:" "$TMP/console.log"
	grep -aq "I/O error\|Read-error\|Write-error" "$TMP/console.log" &&
		fail "I/O errors in the guest"
	ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || { echo "SKIP: rmem.ko is built for none of the kernels"; exit 77; }
exit 0
