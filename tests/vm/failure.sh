#!/bin/bash
# When the donor stops answering or dies, in a booted kernel:
#  1. a donor that stalls (SIGSTOP) past the request timeout: the driver
#     drops the connection and the I/O waits; rmemctl attach --persist
#     reconnects to the same region once the donor answers again
#     (RECONFIGURE), the I/O completes and every byte is as written;
#  2. a donor that is killed: reads fail with an I/O error within the
#     configured times instead of hanging, and the device can still be
#     detached and the module removed.
# tests/run.sh: also under the debug kernel
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }

cat >"$TMP/guest.sh" <<'EOF'
insmod /rmem/rmem.ko
dd if=/dev/urandom of=/tmp/a bs=1M count=8 2>/dev/null

echo "--- 1: a stalled donor, and --persist"
guest_donor 64M
rmemctl -k /tmp/key -t 1000 attach "$D" --size 32M --timeout-ms 2000 \
	--reconnect-ms 30000 --persist >/tmp/persist.log 2>&1 &
PERSIST=$!
while [ ! -b /dev/rmem0 ]; do sleep 0.1; done
dd if=/tmp/a of=/dev/rmem0 bs=64k oflag=direct 2>/dev/null
kill -STOP $DONOR
dd if=/dev/rmem0 of=/tmp/b bs=64k count=128 iflag=direct 2>/dev/null &
READER=$!
sleep 5		# the request times out after 2 s; the connection drops
rmemctl status /dev/rmem0 | grep -q "state *dead" || { rmemctl status /dev/rmem0; echo "FAIL: not dead"; exit 1; }
kill -CONT $DONOR
wait $READER || { echo "FAIL: the read failed after the reconnect"; cat /tmp/persist.log; exit 1; }
cmp /tmp/a /tmp/b || { echo "FAIL: data differs after the reconnect"; exit 1; }
rmemctl status /dev/rmem0 | grep -q "state *up" || { echo "FAIL: not up again"; exit 1; }
cat /tmp/persist.log
dmesg | grep -q "queue 0 reconnected" || { echo "FAIL: no reconnect in the kernel log"; exit 1; }
rmemctl detach /dev/rmem0
wait $PERSIST		# it leaves once the device is gone
kill -TERM $DONOR; wait $DONOR

echo "--- 2: a killed donor"
guest_donor 64M
rmemctl -k /tmp/key attach "$D" --size 32M --timeout-ms 1000 --reconnect-ms 3000
dd if=/tmp/a of=/dev/rmem0 bs=64k oflag=direct 2>/dev/null
kill -KILL $DONOR
t0=$(date +%s)
if dd if=/dev/rmem0 of=/tmp/b bs=64k count=128 iflag=direct 2>/tmp/dd.err; then
	echo "FAIL: a read succeeded with the donor dead"; exit 1
fi
t=$(( $(date +%s) - t0 ))
echo "RESULT: the read failed after $t s: $(tail -n 1 /tmp/dd.err)"
[ "$t" -le 15 ] || { echo "FAIL: took $t s (reconnect time 3 s)"; exit 1; }
rmemctl status /dev/rmem0
rmemctl detach /dev/rmem0
rmmod rmem
EOF

vm_run_module_kernels "$TMP/guest.sh" "---|RESULT|replaced"
