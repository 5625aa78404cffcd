#!/bin/bash
# Swap on rmem in a booted kernel. The donor runs on this host (as a real
# client's runs on another host: a donor in the guest would share the
# memory the guest is short of); in the guest: rmemctl attach over QEMU's
# user network, a data check through the block device, mkswap,
# swapon, and memhog allocating well past the guest's RAM with a pattern
# on every page, touched in random order twice and checked to the byte;
# then swapoff, detach, rmmod. Fails on any mismatch, I/O error, or
# WARNING/BUG/Oops/lockdep/hung-task line. Runs on every kernel that
# rmem.ko was built for (make module). Not under the debug kernel: its
# paths run there in delta.sh (swap past RAM to this host's donor, on
# read queues too) and failure.sh (the --persist supervisor), and the
# suite's time went to the packages' boot (tests/vm/packages.sh).
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

guest_host_donor
# --persist, as an operator would run it: should the donor in this
# guest stall past the request timeout under pressure, the connection is
# replaced instead of failing swap I/O
# (its messages go to the kernel log: a file on tmpfs could be swapped
# out to the very device it is reconnecting)
# two queues for writes and a third for reads only (--read-queues)
rmemctl -k /tmp/key attach "$D" --size 256M --queues 2 --read-queues 1 --persist 2>/dev/kmsg &
SUP=$!
while [ ! -b /dev/rmem0 ]; do sleep 0.1; done
# the supervisor keeps off the I/O path it serves: an I/O flusher (its
# allocations never swap out to the device waiting for its reconnect),
# and never the OOM killer's pick
for i in $(seq 50); do [ "$(cat /proc/$SUP/oom_score_adj)" = -1000 ] && break; sleep 0.1; done
[ "$(cat /proc/$SUP/oom_score_adj)" = -1000 ] || { echo "FAIL: supervisor's oom_score_adj $(cat /proc/$SUP/oom_score_adj)"; exit 1; }
if dmesg | grep "rmemctl: warning"; then echo "FAIL: supervisor not protected"; exit 1; fi
rmemctl list
[ -b /dev/rmem0 ] || { echo "FAIL: no /dev/rmem0"; exit 1; }
[ "$(cat /sys/block/rmem0/queue/logical_block_size)" = 4096 ] || exit 1
S=/sys/block/rmem0/rmem
[ "$(cat $S/state)" = up ] && [ "$(cat $S/donor)" = "$D" ] &&
	[ "$(cat $S/queues)" = 3 ] && [ "$(cat $S/read_queues)" = 1 ] ||
	{ echo "FAIL: sysfs state"; exit 1; }
rmemctl status /dev/rmem0 | grep -q "queues *3, the last 1 for reads" ||
	{ rmemctl status /dev/rmem0; echo "FAIL: status of the read queue"; exit 1; }
# timeouts can be changed in place, and nonsense is refused
echo 20000 >$S/timeout_ms && [ "$(cat $S/timeout_ms)" = 20000 ] || exit 1
[ "$(cat /sys/block/rmem0/queue/io_timeout)" = 20000 ] || exit 1
if echo 5 >$S/timeout_ms 2>/dev/null; then echo "FAIL: took 5 ms"; exit 1; fi
if echo x >$S/dead_timeout_ms 2>/dev/null; then echo "FAIL: took x"; exit 1; fi
echo 30000 >$S/timeout_ms
col() { column $S/stat "$1"; }
# delta_adapt (back to sampling when PATCHes stop paying) is off by
# default and can be set per device
[ "$(cat $S/delta_adapt)" = 0 ] && echo 1 >$S/delta_adapt && [ "$(cat $S/delta_adapt)" = 1 ] &&
	echo 0 >$S/delta_adapt || { echo "FAIL: delta_adapt"; exit 1; }
step "attached"

# the block device itself: 8 MiB of random bytes out and back
dd if=/dev/urandom of=/tmp/a bs=1M count=8 2>/dev/null
dd if=/tmp/a of=/dev/rmem0 bs=256k oflag=direct 2>/dev/null
dd if=/dev/rmem0 of=/tmp/b bs=64k count=128 iflag=direct 2>/dev/null
cmp /tmp/a /tmp/b || { echo "FAIL: data read back differs"; exit 1; }
# a slot never written reads as zeros without asking the donor
z0=$(col 16)
dd if=/dev/rmem0 of=/tmp/z bs=4k count=16 skip=4096 iflag=direct 2>/dev/null
[ "$(wc -c </tmp/z)" = 65536 ] && [ "$(tr -d '\000' </tmp/z | wc -c)" = 0 ] || { echo "FAIL: unwritten slots not zero"; exit 1; }
[ $(( $(col 16) - z0 )) = 16 ] || { echo "FAIL: zero reads not counted: $(cat $S/stat)"; exit 1; }
# pages of zeros written go nowhere: their slots give their frames back
m0=$(col 18); w0=$(col 22); o0=$(col 6)
dd if=/dev/zero of=/dev/rmem0 bs=4k count=16 seek=16 oflag=direct 2>/dev/null
[ $(( $(col 22) - w0 )) = 16 ] && [ $(( m0 - $(col 18) )) = 16 ] ||
	{ echo "FAIL: zero pages written: $(cat $S/stat)"; exit 1; }
[ "$(col 6)" = "$o0" ] || { echo "FAIL: zero pages went on the wire: $(cat $S/stat)"; exit 1; }
dd if=/dev/rmem0 of=/tmp/z bs=4k count=16 skip=16 iflag=direct 2>/dev/null
[ "$(tr -d '\000' </tmp/z | wc -c)" = 0 ] || { echo "FAIL: zero pages read back wrong"; exit 1; }
dd if=/tmp/a of=/dev/rmem0 bs=4k count=16 seek=16 skip=16 oflag=direct 2>/dev/null
# discarded slots read back as zeros; their frames go back to the map
m0=$(col 18)
blkdiscard -o 1048576 -l 1048576 /dev/rmem0
[ $(( m0 - $(col 18) )) = 256 ] || { echo "FAIL: discard freed $(( m0 - $(col 18) )) frames, not 256"; exit 1; }
dd if=/dev/rmem0 of=/tmp/b bs=64k count=128 iflag=direct 2>/dev/null
cmp -s /tmp/a /tmp/b && { echo "FAIL: discard changed nothing"; exit 1; }
dd if=/dev/zero of=/tmp/a bs=1M count=1 seek=1 conv=notrunc 2>/dev/null
cmp /tmp/a /tmp/b || { echo "FAIL: data after discard differs"; exit 1; }
# 256 frames pending: a batch went to the donor
timeout 10 sh -c "while [ \$(awk '{ print \$19 }' $S/stat) -lt 256 ]; do sleep 0.1; done" ||
	{ echo "FAIL: no batched discard reached the donor: $(cat $S/stat)"; exit 1; }
[ "$(col 8)" = 0 ] && [ "$(col 1)" -gt 0 ] && [ "$(col 2)" -gt 0 ] ||
	{ echo "FAIL: stat $(cat $S/stat)"; exit 1; }
rm -f /tmp/a /tmp/b /tmp/z
blkdiscard /dev/rmem0
[ "$(col 18)" = 0 ] || { echo "FAIL: frames mapped after a whole discard: $(cat $S/stat)"; exit 1; }
step "block device checked"

guest_swap_tuning
mkswap /dev/rmem0 >/dev/null
swapon /dev/rmem0
out0=$(sed -n 's/^pswpout //p' /proc/vmstat)
in0=$(sed -n 's/^pswpin //p' /proc/vmstat)
# in use: detach must refuse, with exit 9
if rmemctl detach /dev/rmem0 2>/tmp/err; then echo "FAIL: detached a swap device"; exit 1; fi
grep -q "in use" /tmp/err || { cat /tmp/err; exit 1; }

# progress, to see where a slow run spends its time
(while sleep 20; do
	step "swap used $(( $(sed -n 's/^SwapTotal: *//p' /proc/meminfo | cut -d' ' -f1) - $(sed -n 's/^SwapFree: *//p' /proc/meminfo | cut -d' ' -f1) )) kB; stat $(cat $S/stat)"
done) &
MON=$!
# the debug kernel leaves the guest less RAM (KASAN's shadow, lockdep's
# tables: about 60 MiB for user pages) and runs slower: less, once, but
# still well past its RAM and within the 256M of swap
memhog $(debug_scaled 320 160) $(debug_scaled 2 1) || { echo "FAIL: memhog found bad bytes"; exit 1; }
kill $MON
step "memhog done"
out=$(( $(sed -n 's/^pswpout //p' /proc/vmstat) - out0 ))
in=$(( $(sed -n 's/^pswpin //p' /proc/vmstat) - in0 ))
echo "RESULT: $out pages swapped out to rmem, $in swapped back in"
[ "$out" -gt 20000 ] && [ "$in" -gt 20000 ] || { echo "FAIL: too little swapping"; exit 1; }
# blk-mq's own view (debugfs, in Debian's kernels; the debug kernel has
# none): the third hardware queue is the read map's, where blk-mq sends
# every read, and so every swap-in
if grep -qw debugfs /proc/filesystems; then
	[ -d /sys/kernel/debug/block ] || mount -t debugfs none /sys/kernel/debug
	Q=/sys/kernel/debug/block/rmem0
	t="$(cat $Q/hctx0/type) $(cat $Q/hctx1/type) $(cat $Q/hctx2/type)"
	echo "HCTX: hardware queue types $t"
	[ "$t" = "default default read" ] || { echo "FAIL: hardware queue types $t"; exit 1; }
fi
swapoff /dev/rmem0
step "swapoff"
echo "STAT: $(cat $S/stat)"
echo "LATENCY (limit_us reads writes):"; grep -v " 0          0$" $S/latency
# swap told the driver of every slot it freed: only the header's is mapped
[ "$(col 17)" -gt 20000 ] && [ "$(col 18)" = 1 ] && [ "$(col 8)" = 0 ] ||
	{ echo "FAIL: slot frees / frames / errors: $(cat $S/stat)"; exit 1; }
# every page that came back passed the end-to-end check the first time
[ "$(col 20)" = 0 ] && [ "$(col 21)" = 0 ] ||
	{ echo "FAIL: pages failed the end-to-end check: $(cat $S/stat)"; exit 1; }
rmemctl status /dev/rmem0
# the device starts sampling (column 13: pages not fingerprinted) with a
# sixteenth of its table (column 10 of 14). memhog's passes rewrite every
# line, but its last one only reads, and 6.1 frees the slot of a page
# read back and dirties the page: those go out again as PATCHes of no
# line. So the table may have grown, but only with PATCHes (column 1),
# and it is whole exactly when the device stopped sampling (column 11)
dcol() { column $S/delta "$1"; }
[ "$(dcol 13)" -gt 0 ] ||
	{ echo "FAIL: the device did not sample from attach: $(cat $S/delta)"; exit 1; }
if [ "$(dcol 10)" = "$(dcol 14)" ]; then
	[ "$(dcol 11)" = 0 ] && [ "$(dcol 1)" -gt 0 ]
else
	[ "$(dcol 11)" = 1 ] && [ "$(dcol 10)" -lt "$(dcol 14)" ]
fi || { echo "FAIL: fingerprint table and sampling disagree: $(cat $S/delta)"; exit 1; }
echo "TABLE: $(dcol 10) of $(dcol 14) pages, sampling $(dcol 11), $(dcol 1) PATCHes, $(dcol 13) pages not fingerprinted"
echo "DELTA: $(cat $S/delta)"
rmemctl detach /dev/rmem0
step "detached"
[ -e /dev/rmem0 ] && { echo "FAIL: /dev/rmem0 still there"; exit 1; }
# rmemctl --persist leaves once the device is gone: it checks every 2 s
# (a STATUS reply whose ACK went unread once made it fall further
# behind at each check and linger for minutes after a long run)
for i in $(seq 50); do kill -0 $SUP 2>/dev/null || break; sleep 0.2; done
if kill -0 $SUP 2>/dev/null; then
	echo "FAIL: rmemctl --persist still running 10 s after detach, in $(cat /proc/$SUP/wchan 2>/dev/null)"
	kill -TERM $SUP
	exit 1
fi
wait $SUP || { echo "FAIL: rmemctl --persist exited $?"; exit 1; }
step "supervisor gone"
rmmod rmem
EOF

vm_host_donor 600M

# the guest's RAM as it was with the donor inside: a hard squeeze
VM_MEM=256M VM_TIMEOUT=1200 vm_run_module_kernels "$TMP/guest.sh" "RESULT|memhog:|DELTA:|TABLE:|HCTX:" no-io-errors
