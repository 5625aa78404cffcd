#!/bin/bash
# A frame is never reused while a request that names it, or a DISCARD,
# may still execute on the donor (Documentation/admin-guide/rmem.rst,
# "Frames"). In a booted kernel, discard-race (tests/vm/discard-race.c)
# races BLKDISCARD and BLKZEROOUT against O_DIRECT writes and reads of
# the same and neighbouring slots of a 4 MiB device with no spare frames
# (so every given-back frame is soon some other slot's), from 6 threads,
# checking that no read returns another slot's data, a torn page or a
# stale version. First on a healthy connection, then while the donor is
# stalled past the request timeout again and again, so that writes and
# DISCARDs are lost with their sockets and go out again on the ones
# rmemctl --persist hands over. On Debian's 6.1 (and the debug kernel)
# only: the frame life cycle is the driver's own logic, the same on
# every kernel (VM_ONLY=/ runs it on all).
# tests/run.sh: also under the debug kernel
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }
[ -x "$VM_BUILD/discard-race" ] || fail "no $VM_BUILD/discard-race: run make"
VM_PROGRAMS="$VM_BUILD/discard-race"

cat >"$TMP/guest.sh" <<'EOF'
insmod /rmem/rmem.ko
guest_donor 64M
S=/sys/block/rmem0/rmem
scol() { column $S/stat "$1"; }
# "discard-race: ... N I/O errors": a write has its slot alone (the
# driver holds other requests of the slot until it is answered), so
# racing writes never tear a frame and racing reads never fail their
# check: no I/O error while no connection is lost
ioerrs() { sed -n 's/.* \([0-9]*\) I\/O errors$/\1/p' /tmp/race.out | tail -n 1; }
rmemctl -k /tmp/key -t 1000 attach "$D" --size 4M --queues 2 --timeout-ms 1500 \
	--reconnect-ms 60000 --persist 2>/dev/kmsg &
PERSIST=$!
while [ ! -b /dev/rmem0 ]; do sleep 0.1; done

echo "--- 1: a healthy connection"
t1=$(scol 9)
discard-race /dev/rmem0 1024 15 6 >/tmp/race.out 2>&1 || { cat /tmp/race.out; echo "FAIL: wrong data read"; exit 1; }
cat /tmp/race.out
[ "$(scol 19)" -gt 0 ] || { echo "FAIL: no frame was discarded on the donor: $(cat $S/stat)"; exit 1; }
if [ "$(scol 9)" = "$t1" ] && [ "$(ioerrs)" != 0 ]; then
	echo "FAIL: I/O errors on a healthy connection: $(cat $S/stat)"; exit 1
fi
w=$(scol 23)
echo "RESULT: $w requests waited for a write of their slot"
[ "$w" -gt 0 ] || { echo "FAIL: no request met a write of its slot in flight: the race did not happen"; exit 1; }

echo "--- 2: a donor stalled past the timeout, again and again"
t0=$(scol 9)
discard-race /dev/rmem0 1024 40 6 >/tmp/race.out 2>&1 &
RACE=$!
for i in 1 2 3 4 5; do
	sleep 3
	kill -STOP $DONOR
	sleep 3
	kill -CONT $DONOR
done
wait $RACE || { cat /tmp/race.out; echo "FAIL: wrong data read with connections lost"; exit 1; }
cat /tmp/race.out
echo "RESULT: $(( $(scol 9) - t0 )) timeouts, $(scol 10) reconnects, $(scol 19) frames discarded"
[ "$(scol 9)" -gt "$t0" ] || { echo "FAIL: no connection was lost: $(cat $S/stat)"; exit 1; }

echo "--- 3: short stalls: requests pile up on both connections and run in any order"
# 256 slots and 24 threads: many writes in flight while the donor is
# stopped, so that discards hit them and their frames go at once to
# other slots' writes on the other socket, and the donor, woken, runs the
# two sockets' backlogs interleaved. No connection should drop here (a
# long timeout): a write left on a connection that failed, even in part
# 2, can still reach the donor (TCP sends an orphaned socket's queue)
# and run after newer data until the donor fences old connections
# (issue 11, finding 5); versions name the run that wrote them, so such
# a write shows as one from before this run
echo 30000 >$S/timeout_ms
t0=$(scol 9)
discard-race /dev/rmem0 256 30 24 >/tmp/race.out 2>&1 &
RACE=$!
for i in $(seq 40); do
	kill -STOP $DONOR
	sleep 0.3
	kill -CONT $DONOR
	sleep 0.3
done
wait $RACE || { cat /tmp/race.out; echo "FAIL: wrong data read with requests reordered"; exit 1; }
cat /tmp/race.out
[ "$(scol 9)" = "$t0" ] || echo "RESULT: $(( $(scol 9) - t0 )) timeouts in part 3 (not meant to be)"
# with no connection lost, no I/O error either
if [ "$(scol 9)" = "$t0" ] && [ "$(ioerrs)" != 0 ]; then
	echo "FAIL: I/O errors in part 3 with no connection lost: $(cat $S/stat)"; exit 1
fi
rmemctl detach /dev/rmem0
wait $PERSIST
kill -TERM $DONOR; wait $DONOR
rmmod rmem
EOF

VM_ONLY=${VM_ONLY:-/boot/} vm_run_module_kernels "$TMP/guest.sh" "---|RESULT|discard-race:"
