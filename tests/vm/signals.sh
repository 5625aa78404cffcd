#!/bin/bash
# Signals aimed at tasks that swap must not cost a connection. queue_rq
# runs in the task that submits (a faulting task, one in direct reclaim,
# one the OOM killer or a SIGKILL is taking down); a send that waited for
# socket buffer space in such a task used to see its pending signal
# (-ERESTARTSYS) and take it for a broken stream. In a booted kernel,
# swapping to a donor on this host: two memhogs whose every byte is
# checked, a third that is SIGKILLed and restarted every few seconds,
# and a loop that sends all three a handled SIGUSR1 every few ms and
# stops and continues the survivors in turn. Fails unless the survivors
# saw every byte right and the device never lost a connection: state
# "up", no timeouts, no reconnects, no errors, no "lost donor" and no I/O
# error in the kernel log. On Debian's 6.1 (and the debug kernel) only:
# the send path is the driver's own, the same on every kernel, and
# swap.sh covers 6.12's (VM_ONLY=/ runs it on all).
# tests/run.sh: also under the debug kernel
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }

cat >"$TMP/guest.sh" <<'EOF'
insmod /rmem/rmem.ko
guest_host_donor
# --persist as swap.sh runs it: a connection lost here is repaired, so
# what fails is the counters below, not the guest
rmemctl -k /tmp/key attach "$D" --size 384M --queues 2 --timeout-ms 30000 \
	--persist 2>/dev/kmsg &
SUP=$!
while [ ! -b /dev/rmem0 ]; do sleep 0.1; done
S=/sys/block/rmem0/rmem
col() { column $S/stat "$1"; }
guest_swap_tuning
mkswap /dev/rmem0 >/dev/null
swapon /dev/rmem0
out0=$(sed -n 's/^pswpout //p' /proc/vmstat)
step "swapon"

# ignored until each memhog has its handler: a SIGUSR1 that came during
# its exec would kill it
trap '' USR1
memhog $(debug_scaled '96 2' '80 1') 11 >/tmp/w1.log 2>&1 &
W1=$!
memhog $(debug_scaled '96 2' '80 1') 12 >/tmp/w2.log 2>&1 &
W2=$!
# the victim: killed wherever it is (often in reclaim), then again
: >/tmp/victim
(k=0
while [ ! -f /tmp/stop ]; do
	memhog 48 1000 13 >/dev/null 2>&1 &
	echo $! >/tmp/victim
	sleep 6
	kill -KILL $! 2>/dev/null || true
	wait $! 2>/dev/null || true
	k=$((k + 1))
done
echo $k >/tmp/kills) &
KILLER=$!
(n=0
while [ ! -f /tmp/stop ]; do
	read V </tmp/victim 2>/dev/null || V=
	kill -USR1 $W1 $W2 $V 2>/dev/null || true
	n=$((n + 1))
	case $((n % 400)) in
	100) kill -STOP $W1 2>/dev/null || true ;;
	130) kill -CONT $W1 2>/dev/null || true ;;
	300) kill -STOP $W2 2>/dev/null || true ;;
	330) kill -CONT $W2 2>/dev/null || true ;;
	esac
	usleep 2000
done
kill -CONT $W1 $W2 2>/dev/null || true
echo $n >/tmp/sigs) &
SIGNALLER=$!
(while sleep 20; do step "stat $(cat $S/stat)"; done) &
MON=$!

rc=0
wait $W1 || rc=1
wait $W2 || rc=1
touch /tmp/stop
wait $SIGNALLER $KILLER || true
kill $MON
cat /tmp/w1.log /tmp/w2.log
[ $rc = 0 ] || { echo "FAIL: a survivor found bad bytes or died"; exit 1; }
out=$(( $(sed -n 's/^pswpout //p' /proc/vmstat) - out0 ))
echo "RESULT: $out pages swapped out; $(cat /tmp/sigs) rounds of SIGUSR1, $(cat /tmp/kills) victims killed"
echo "STAT: $(cat $S/stat)"
[ "$out" -gt "$(debug_scaled 10000 3000)" ] || { echo "FAIL: too little swapping"; exit 1; }
[ "$(cat /tmp/kills)" -gt 0 ] || { echo "FAIL: no victim was killed"; exit 1; }
# a signaller that died early would have left the writers in peace
[ "$(cat /tmp/sigs 2>/dev/null || echo 0)" -gt 100 ] ||
	{ echo "FAIL: the signaller died or barely ran"; exit 1; }
[ "$(col 20)" = 0 ] || { echo "FAIL: $(col 20) reads failed their check"; exit 1; }
[ "$(cat $S/state)" = up ] || { echo "FAIL: state $(cat $S/state)"; exit 1; }
[ "$(col 9)" = 0 ] && [ "$(col 10)" = 0 ] && [ "$(col 8)" = 0 ] ||
	{ echo "FAIL: timeouts $(col 9), reconnects $(col 10), errors $(col 8)"; exit 1; }
if dmesg | grep -E "lost donor|unanswered|no connection"; then
	echo "FAIL: a connection was lost"; exit 1
fi
swapoff /dev/rmem0
rmemctl detach /dev/rmem0
for i in $(seq 50); do kill -0 $SUP 2>/dev/null || break; sleep 0.2; done
rmmod rmem
EOF

vm_host_donor 600M
VM_ONLY=${VM_ONLY:-/boot/} VM_MEM=256M VM_TIMEOUT=1200 vm_run_module_kernels "$TMP/guest.sh" "RESULT|STAT|memhog:|FAIL" no-io-errors
