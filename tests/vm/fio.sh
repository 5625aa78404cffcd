#!/bin/bash
# fio itself, ioengine=libaio, on /dev/rmem0 in a booted kernel: the jobs
# users run for block devices, each writing then verifying (crc32c), a
# verify-only job reading what an earlier job left, and a job that must
# fail its verify after the data was changed behind its back. The donor
# runs in the guest, over loopback, as in swap.sh.
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64
requires fio
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }

cat >"$TMP/guest.sh" <<'EOF2'
insmod /rmem/rmem.ko
guest_donor 160M
rmemctl -k /tmp/key attach "$D" --size 128M --queues 2
S=/sys/block/rmem0/rmem
echo "fio results: job;error;read KiB;read IOPS;write KiB;write IOPS"
run() {
	echo "--- fio $*"
	fio --output-format=terse --terse-version=3 --filename=/dev/rmem0 \
		--ioengine=libaio --direct=1 --verify=crc32c --verify_fatal=1 \
		--name=job "$@" >/tmp/fio.out 2>/tmp/fio.err
	rc=$?
	cut -d";" -f3,5,6,8,47,49 /tmp/fio.out | head -n 3
	return $rc
}
run --rw=randwrite --bs=4k --iodepth=32 --size=64M ||
	{ cat /tmp/fio.err; echo "FAIL: 4k randwrite+verify"; exit 1; }
run --rw=write --bs=64k --iodepth=8 --size=96M ||
	{ cat /tmp/fio.err; echo "FAIL: 64k write+verify"; exit 1; }
run --rw=randwrite --bsrange=4k-256k --iodepth=16 --numjobs=2 \
	--offset_increment=64M --size=64M ||
	{ cat /tmp/fio.err; echo "FAIL: mixed sizes, two jobs"; exit 1; }
run --rw=randwrite --bs=16k --iodepth=4 --size=32M --offset=32M ||
	{ cat /tmp/fio.err; echo "FAIL: 16k randwrite+verify"; exit 1; }
# what that job left is still there for a job of its own
run --rw=randwrite --bs=16k --iodepth=4 --size=32M --offset=32M --verify_only ||
	{ cat /tmp/fio.err; echo "FAIL: verify_only"; exit 1; }
# changed behind fio's back: the verify must fail
dd if=/dev/zero of=/dev/rmem0 bs=4k seek=$((32 * 256 + 100)) count=1 oflag=direct 2>/dev/null
if run --rw=randwrite --bs=16k --iodepth=4 --size=32M --offset=32M --verify_only; then
	echo "FAIL: verify passed over a zeroed block"; exit 1
fi
grep -q "verify" /tmp/fio.err || { cat /tmp/fio.err; echo "FAIL: no verify error"; exit 1; }
echo "STAT: $(cat $S/stat)"
[ "$(column $S/stat 8)" = 0 ] || { echo "FAIL: I/O errors"; exit 1; }
rmemctl detach /dev/rmem0
rmmod rmem
kill -TERM $DONOR
wait
EOF2

# On Debian's 6.1 alone: fio's O_DIRECT path is the block layer's that
# swap.sh drives on 6.12 as well, and the suite's time went to the
# packages' boot (tests/vm/packages.sh)
VM_ONLY=${VM_ONLY:-/boot/} VM_PROGRAMS=$(command -v fio) VM_TIMEOUT=900 \
	vm_run_module_kernels "$TMP/guest.sh" "^--- fio|^fio results|^[a-z0-9.]*;|STAT" no-io-errors
