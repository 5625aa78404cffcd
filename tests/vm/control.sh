#!/bin/bash
# The control plane against local users and races, in a booted kernel:
#  1. who may do what: a user without CAP_NET_ADMIN sees STATUS (rmemctl
#     status, list, and status --prometheus, parsed here as a scraper
#     would) without the region token, while root gets it, and is
#     refused attach, detach and RECONFIGURE (EPERM) and the writable
#     sysfs files; the attach it tried gives its region back (the donor
#     counts only root's); a device named by rmemtab(5) gets its name, and
#     a second of that name is refused (EEXIST);
#  2. a CONNECT the kernel refuses, with a bad size or after it took a
#     first socket, leaves that socket to its owner: WRITE, READ and
#     CLOSE still go through on it;
#  3. DISCONNECT racing opens, swapon/swapoff, STATUS and RECONFIGURE of
#     the same device: every detach either fails with EBUSY and leaves
#     the device intact, or succeeds and no open, swap or read survives
#     it; two detaches at once remove it once; a detach racing rmmod
#     leaves no oops (the kernel log is checked for any).
# tests/run.sh: also under the debug kernel
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }
[ -x "$VM_BUILD/nlprobe" ] || fail "no $VM_BUILD/nlprobe (make)"
VM_PROGRAMS="$VM_BUILD/nlprobe"

cat >"$TMP/guest.sh" <<'EOF'
insmod /rmem/rmem.ko
guest_donor 128M
# a local user, who holds the donor's key too (the case the token is
# kept from); busybox su asks root no password
printf 'root:x:0:0:root:/:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' >/etc/passwd
printf 'root:x:0:\nuser:x:1000:\n' >/etc/group
cp /tmp/key /tmp/ukey
chown 1000:1000 /tmp/ukey
as_user() {
	su -s /bin/sh user -c "PATH=/rmem:/bin:/sbin $*"
}
bad=0
fail() {
	echo "FAIL: $*"
	bad=$((bad + 1))
}
regions() {
	rmemctl -k /tmp/key stats --json "$D" | sed -n 's/.*"regions": \([0-9]*\).*/\1/p'
}
# the donor's regions once they are N, or after 5 s: a CLOSE is
# answered before the donor frees the region
wait_regions() {
	local t=0
	while [ "$(regions)" != "$1" ] && [ $t -lt 50 ]; do sleep 0.1; t=$((t + 1)); done
	regions
}

step "--- 1: who may do what"
rmemctl -k /tmp/key attach "$D" --size 16M
[ "$(nlprobe token 0)" = token ] || fail "root's STATUS has no token"
t=$(as_user nlprobe token 0) || true
echo "RESULT: a user's STATUS: $t"
[ "$t" = "no token" ] || fail "a user's STATUS: '$t', not 'no token'"
as_user rmemctl status /dev/rmem0 >/tmp/st 2>&1 ||
	{ cat /tmp/st; fail "a user cannot run rmemctl status"; }
grep -q "state *up" /tmp/st && grep -q "region" /tmp/st && grep -q "writes" /tmp/st ||
	{ cat /tmp/st; fail "a user's rmemctl status lacks state, region or counters"; }
as_user rmemctl list | grep -q "^/dev/rmem0 " || fail "a user's rmemctl list lacks /dev/rmem0"
# metrics for node_exporter's textfile collector, which runs as a user:
# the host parses them as a scraper would (tests/lib/prom-check.py)
dd if=/dev/urandom of=/dev/rmem0 bs=4096 count=64 2>/dev/null
sync
as_user rmemctl status --prometheus >/tmp/prom 2>&1 ||
	{ cat /tmp/prom; fail "a user's rmemctl status --prometheus"; }
sed 's/^/PROM: /' /tmp/prom
grep -q '^rmem_device_info{device="rmem0",donor="[^"]*"} 1$' /tmp/prom &&
	grep -q '^rmem_device_state{device="rmem0",state="up"} 1$' /tmp/prom &&
	grep -q '^rmem_device_state{device="rmem0",state="dead"} 0$' /tmp/prom ||
	fail "no rmem_device_info of rmem0, or not up"
grep -q '^rmem_device_write_duration_seconds_bucket{device="rmem0",le="+Inf"} [1-9]' /tmp/prom ||
	fail "no writes in rmem0's write_duration histogram"
w=$(sed -n 's/^rmem_device_written_bytes_total{device="rmem0"} //p' /tmp/prom)
[ "${w:-0}" -ge 262144 ] || fail "rmem_device_written_bytes_total is '$w' after 256 KiB written"
as_user rmemctl detach /dev/rmem0 >/tmp/out 2>&1 && fail "a user detached /dev/rmem0"
grep -q CAP_NET_ADMIN /tmp/out || { cat /tmp/out; fail "a user's detach: not EPERM"; }
[ -b /dev/rmem0 ] || fail "/dev/rmem0 went at a user's detach"
r=$(as_user nlprobe reconfigure 0)
[ "$r" = "RECONFIGURE: Operation not permitted" ] || fail "a user's $r"
r=$(nlprobe reconfigure 0)
[ "$r" != "RECONFIGURE: Operation not permitted" ] || fail "root's $r"
as_user rmemctl -k /tmp/ukey attach "$D" --size 16M >/tmp/out 2>&1 && fail "a user attached"
grep -q "Operation not permitted" /tmp/out || { cat /tmp/out; fail "a user's attach: not EPERM"; }
[ ! -e /dev/rmem1 ] || fail "a user's attach made /dev/rmem1"
n=$(wait_regions 1)
echo "RESULT: the donor holds $n region(s) after a user's refused attach"
[ "$n" = 1 ] || fail "the donor holds $n regions: the refused attach kept one"
# a named device, as rmemtab(5) names it: made under that name; a second
# of the name is refused (EEXIST, exit 9) and gives its region back
printf 'rmem5 %s size=8M,queues=2,key=/tmp/key\n' "$D" >/tmp/rmemtab
rmemctl attach /dev/rmem5 --tab /tmp/rmemtab >/tmp/out 2>&1 ||
	{ cat /tmp/out; fail "attach /dev/rmem5 from rmemtab"; }
[ -b /dev/rmem5 ] && [ "$(cat /sys/block/rmem5/rmem/queues)" = 2 ] ||
	{ cat /tmp/out; fail "no /dev/rmem5 of 2 queues from rmemtab"; }
rc=0
rmemctl -k /tmp/key attach "$D" --size 8M --device /dev/rmem5 >/tmp/out 2>&1 || rc=$?
[ "$rc" = 9 ] && grep -q "/dev/rmem5 exists already" /tmp/out ||
	{ cat /tmp/out; fail "a second /dev/rmem5: exit $rc"; }
rmemctl -q detach /dev/rmem5 || fail "detach /dev/rmem5"
n=$(wait_regions 1)
echo "RESULT: /dev/rmem5 from rmemtab, a second refused; the donor holds $n region(s)"
[ "$n" = 1 ] || fail "the donor holds $n regions after /dev/rmem5"
for f in /sys/block/rmem0/rmem/*; do
	m=$(stat -c %a "$f")
	case $(basename "$f") in
	timeout_ms|dead_timeout_ms|delta_lines|delta_adapt) want=644 ;;
	*) want=444 ;;
	esac
	[ "$m" = "$want" ] || fail "$f has mode $m, not $want"
	as_user cat "$f" >/dev/null || fail "a user cannot read $f"
done
as_user "echo 5000 >/sys/block/rmem0/rmem/timeout_ms" 2>/dev/null &&
	fail "a user set timeout_ms"
echo 99 >/sys/block/rmem0/rmem/timeout_ms 2>/dev/null && fail "timeout_ms took 99 (minimum 100)"
echo x >/sys/block/rmem0/rmem/dead_timeout_ms 2>/dev/null && fail "dead_timeout_ms took 'x'"
echo 64 >/sys/block/rmem0/rmem/delta_lines 2>/dev/null && fail "delta_lines took 64"
as_user "echo 0 >/sys/block/rmem0/rmem/delta_adapt" 2>/dev/null && fail "a user set delta_adapt"
echo x >/sys/block/rmem0/rmem/delta_adapt 2>/dev/null && fail "delta_adapt took 'x'"
rmemctl detach /dev/rmem0

step "--- 2: a refused CONNECT leaves the socket to its owner"
nlprobe badconnect "$D" || fail "badconnect"
[ ! -e /dev/rmem0 ] || fail "a refused CONNECT made /dev/rmem0"
n=$(wait_regions 0)
[ "$n" = 0 ] || fail "the donor holds $n regions after badconnect"

step "--- 3: DISCONNECT racing opens, swapon, STATUS, RECONFIGURE"
ROUNDS=${ROUNDS:-10}
busy=0
for i in $(seq "$ROUNDS"); do
	rmemctl -q -k /tmp/key attach "$D" --size 16M >/dev/null
	mkswap /dev/rmem0 >/dev/null
	nlprobe opener /dev/rmem0 2 >/tmp/op &
	OP=$!
	( while [ -b /dev/rmem0 ]; do
		swapon /dev/rmem0 2>/dev/null && swapoff /dev/rmem0 2>/dev/null
	  done ) &
	SW=$!
	( while [ -b /dev/rmem0 ]; do
		nlprobe token 0; as_user nlprobe token 0; nlprobe reconfigure 0
	  done >/dev/null 2>&1 ) &
	NL=$!
	sleep 0.$((i % 10))
	until rmemctl -q detach /dev/rmem0 2>/tmp/det; do
		grep -q "in use" /tmp/det || { cat /tmp/det; fail "round $i: detach failed, not EBUSY"; break; }
		[ -e /sys/block/rmem0 ] || fail "round $i: EBUSY, but the device is gone"
		busy=$((busy + 1))
	done
	wait $OP $SW $NL || true
	grep -q " 0 lost" /tmp/op || fail "round $i: an open outlived the detach: $(cat /tmp/op)"
	grep -q rmem /proc/swaps && { fail "round $i: swap on rmem outlived the detach"; cat /proc/swaps; }
	[ ! -e /sys/block/rmem0 ] || fail "round $i: detached, but /sys/block/rmem0 remains"
done
echo "RESULT: $ROUNDS detaches raced opens and swapon; $busy refused as busy; last opener: $(cat /tmp/op)"

# two at once: one removes it, the other finds nothing
rmemctl -q -k /tmp/key attach "$D" --size 16M >/dev/null
rmemctl -q detach /dev/rmem0 >/tmp/d1 2>&1 & D1=$!
rmemctl -q detach /dev/rmem0 >/tmp/d2 2>&1 & D2=$!
ok=0
wait $D1 && ok=$((ok + 1))
wait $D2 && ok=$((ok + 1))
[ "$ok" = 1 ] || { cat /tmp/d1 /tmp/d2; fail "$ok of two concurrent detaches succeeded"; }

# and against the module going away
rmemctl -q -k /tmp/key attach "$D" --size 16M >/dev/null
rmemctl -q detach /dev/rmem0 >/dev/null 2>&1 &
DT=$!
# rmmod may find the module busy while the detach's netlink call holds
# it (EAGAIN): then it must work once the detach is done
if ! rmmod rmem 2>/dev/null; then
	wait $DT || true
	rmmod rmem || fail "rmmod after the detach"
fi
wait $DT 2>/dev/null || true
[ ! -e /sys/block/rmem0 ] || fail "/dev/rmem0 outlived rmmod"
n=$(wait_regions 0)
[ "$n" = 0 ] || fail "the donor holds $n regions after the detaches"
kill -TERM $DONOR; wait $DONOR
[ "$bad" = 0 ] || { echo "FAIL: $bad check(s) failed"; exit 1; }
echo "RESULT: all checks passed"
EOF

vm_run_module_kernels "$TMP/guest.sh" "---|RESULT|FAIL"
# the last kernel's metrics, as a scraper parses them
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
	fail "no python3-prometheus-client (scripts/install-deps.sh)"
vm_guest_output | tr -d '\r' | sed -n 's/^PROM: //p' >"$TMP/prom"
/usr/bin/python3 tests/lib/prom-check.py <"$TMP/prom" >"$TMP/samples" 2>"$TMP/perr" ||
	fail "rmemctl status --prometheus: $(cat "$TMP/perr")"
grep -q '^rmem_device_reads_total{device="rmem0"} ' "$TMP/samples" ||
	fail "no rmem_device_reads_total in: $(cat "$TMP/prom")"
echo "RESULT: rmemctl status --prometheus: $(grep -c . "$TMP/samples") samples parsed"
