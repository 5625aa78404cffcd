#!/bin/bash
# Write amplification of swap-out, with and without cache-line deltas.
#
#   bench/wamp.sh [--quick]        (make first: rmem.ko, wamp-work)
#
# Boots the installed kernel in QEMU (TCG) with 512 MiB and a donor in the
# guest (256 MiB pool), and for each workload of bench/wamp/workload.c
# runs it twice under memory pressure, deltas off (delta_lines=0) and on
# (the default), in an order that alternates from workload to workload:
# insmod, rmemctl attach --size 224M --spare 32M, swapon, wamp-work KIND
# 240 OPS. The driver's counters are read when the workload has filled
# its memory and pushed it out to swap, and when it has made its updates
# and pushed out what they dirtied (before it checks its data), so the
# figures are those of the updates alone. bench/wamp_report.py turns them into
# bench/results/write-amp.{md,json,png}. About 20 minutes (--quick: 5).
set -u
RMEM_BUILD=${RMEM_BUILD:-build}
. "$(dirname "$0")/../tests/vm/lib.sh"
requires qemu-system-x86_64
requires python3
[ -x /bin/busybox ] || { echo "wamp: requires busybox-static"; exit 1; }
[ -x "$VM_BUILD/wamp-work" ] || { echo "wamp: run make first ($VM_BUILD/wamp-work)"; exit 1; }

MIB=240
OPS="kv=120000 index=120000 graph=100000 dense=30000"
if [ "${1:-}" = --quick ]; then
	OPS="kv=20000 index=20000 graph=20000 dense=5000"
fi
kernel=$(vm_module_kernels | grep -m1 "/boot/") ||
	{ echo "wamp: no rmem.ko for the installed kernel (make module)"; exit 1; }
VM_PROGRAMS="$VM_BUILD/wamp-work"

cat >"$TMP/guest.sh" <<EOF
OPS="$OPS"
MIB=$MIB
EOF
cat >>"$TMP/guest.sh" <<'EOF'
guest_donor 256M
guest_swap_tuning
S=/sys/block/rmem0/rmem
hist() { awk '{ printf "%s%s", (NR > 1 ? "," : ""), $2 }' $S/dirty_lines; }
one() {		# KIND OPS DELTA_LINES
	insmod /rmem/rmem.ko delta_lines=$3
	rmemctl -q -k /tmp/key attach "$D" --size 224M --spare 32M --queues 2 >/dev/null
	mkswap /dev/rmem0 >/dev/null
	swapon /dev/rmem0
	: >/tmp/w.out
	wamp-work $1 $MIB $2 >/tmp/w.out &
	W=$!
	while ! grep -q filled /tmp/w.out; do sleep 0.2; done
	d0=$(cat $S/delta); h0=$(hist)
	while ! grep -q updated /tmp/w.out; do sleep 0.2; done
	d1=$(cat $S/delta); h1=$(hist)
	wait $W || echo "WAMP-FAIL $1 delta_lines=$3: $(cat /tmp/w.out)"
	echo "WAMP|$1|$3|$(grep done /tmp/w.out)|$d0|$d1|$h0|$h1|$(column $S/stat 8)"
	swapoff /dev/rmem0
	rmemctl detach /dev/rmem0 >/dev/null
	rmmod rmem
}
n=0
for kv in $OPS; do
	kind=${kv%%=*}; ops=${kv#*=}
	step "$kind: $ops updates"
	if [ $((n % 2)) = 0 ]; then one $kind $ops 0; one $kind $ops 48
	else one $kind $ops 48; one $kind $ops 0; fi
	n=$((n + 1))
done
kill -TERM $DONOR
wait
EOF

echo "== wamp: $(vm_kver "$kernel"), workloads: $OPS"
VM_TIMEOUT=3600 vm_run "$kernel" "$TMP/guest.sh" ||
	fail "guest failed: $(vm_guest_output | tail -n 30)"
vm_check_log
vm_guest_output | tr -d '\r' | grep -E "^T\+|WAMP" >&2
vm_guest_output | tr -d '\r' | grep "^WAMP|" >"$TMP/wamp.txt"
grep -q "WAMP-FAIL" "$TMP/console.log" && fail "a workload's check failed"
[ "$(wc -l <"$TMP/wamp.txt")" -ge 2 ] || fail "no results"
python3 bench/wamp_report.py "$TMP/wamp.txt" "$(vm_kver "$kernel")" bench/results/write-amp
