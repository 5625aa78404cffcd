#!/bin/bash
# The end-to-end read check, in a booted kernel: every page read from the
# donor must hash to the checksum the client kept when it wrote the slot.
# A donor whose memory changes behind the client's back (rmem-poke flips
# a byte in each of the donor's pages that hold the written data) must
# make every read of a written slot an I/O error, counted (sysfs stat columns 20 and 21: each read goes
# again twice, then fails), never wrong data; slots never written still
# read as zeros, and rewritten slots read back right.
# tests/run.sh: also under the debug kernel
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }
[ -x "$VM_BUILD/rmem-poke" ] || fail "no $VM_BUILD/rmem-poke: run make"

cat >"$TMP/guest.sh" <<'EOF'
S=/sys/block/rmem0/rmem
col() { column $S/stat "$1"; }
insmod /rmem/rmem.ko
guest_donor 16M
rmemctl -k /tmp/key attach "$D" --size 8M --timeout-ms 5000 --reconnect-ms 5000
dd if=/dev/urandom of=/tmp/a bs=4k count=64 2>/dev/null
dd if=/tmp/a of=/dev/rmem0 bs=4k oflag=direct 2>/dev/null
dd if=/dev/rmem0 of=/tmp/b bs=4k count=64 iflag=direct 2>/dev/null
cmp /tmp/a /tmp/b || { echo "FAIL: data differs before the poke"; exit 1; }
[ "$(col 20)" = 0 ] || { echo "FAIL: check errors on good data: $(cat $S/stat)"; exit 1; }

/rmem/rmem-poke $DONOR /tmp/a || { echo "FAIL: rmem-poke found none of the written pages"; exit 1; }
bad=0
for i in $(seq 0 63); do
	if dd if=/dev/rmem0 of=/tmp/blk bs=4k skip=$i count=1 iflag=direct 2>/dev/null; then
		dd if=/tmp/a of=/tmp/want bs=4k skip=$i count=1 2>/dev/null
		cmp -s /tmp/blk /tmp/want && echo "FAIL: slot $i read the old bytes from a changed frame" ||
			echo "FAIL: slot $i read wrong data without an error"
		bad=$((bad + 1))
	fi
done
[ $bad = 0 ] || exit 1
echo "RESULT: 64 of 64 changed pages failed with an I/O error: $(col 20) check errors, $(col 21) rereads"
[ "$(col 20)" = 192 ] && [ "$(col 21)" = 128 ] ||
	{ echo "FAIL: want 192 check errors and 128 rereads: $(cat $S/stat)"; exit 1; }
dmesg | grep -q "fails its checksum" || { echo "FAIL: nothing in the kernel log"; exit 1; }
# never written: zeros, without the donor
dd if=/dev/zero of=/tmp/zeros bs=4k count=4 2>/dev/null
dd if=/dev/rmem0 of=/tmp/z bs=4k skip=100 count=4 iflag=direct 2>/dev/null &&
	cmp /tmp/z /tmp/zeros || { echo "FAIL: unwritten slots do not read as zeros"; exit 1; }
# written again: right again
dd if=/tmp/a of=/dev/rmem0 bs=4k oflag=direct 2>/dev/null
dd if=/dev/rmem0 of=/tmp/b bs=4k count=64 iflag=direct 2>/dev/null
cmp /tmp/a /tmp/b || { echo "FAIL: data differs after rewriting"; exit 1; }
rmemctl status /dev/rmem0 | grep "read checks"
rmemctl detach /dev/rmem0
kill -TERM $DONOR; wait $DONOR
rmmod rmem
EOF

VM_PROGRAMS="$VM_BUILD/rmem-poke" vm_run_module_kernels "$TMP/guest.sh" "RESULT|read checks"
