#!/bin/bash
# The donor in a booted Debian kernel: a pool on huge pages, locked, as
# root with every capability (which this sandbox lacks), checked end to
# end by rmemctl over the guest's loopback; and hugepages = yes refusing
# to start when none are reserved. Runs on every kernel in /boot.
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }
[ -n "$(vm_kernels)" ] || { echo "SKIP: no kernel image in /boot"; exit 77; }

cat >"$TMP/guest.sh" <<'EOF'
rmemctl -q keygen /tmp/key
conf() {
	cat >/tmp/conf <<EOC
[server]
listen = 127.0.0.1
port = 0
[pool]
size = 32M
hugepages = yes
lock = yes
[auth]
key_file = /tmp/key
EOC
}
conf
# no huge pages reserved: hugepages = yes must refuse, clearly
if rmem-poold -f -c /tmp/conf --port-file /tmp/port 2>/tmp/log; then
	echo "FAIL: started without huge pages"; exit 1
fi
grep -q "reserve them with vm.nr_hugepages" /tmp/log || { cat /tmp/log; exit 1; }

echo 24 >/proc/sys/vm/nr_hugepages
free0=$(sed -n 's/HugePages_Free: *//p' /proc/meminfo)
rmem-poold -f -c /tmp/conf --port-file /tmp/port 2>/tmp/log &
pid=$!
i=0
while [ ! -s /tmp/port ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
cat /tmp/log
grep -q "huge pages, locked" /tmp/log || { echo "FAIL: pool not on locked huge pages"; exit 1; }
grep -q "oom_score_adj" /tmp/log && { echo "FAIL: oom_score_adj not set as root"; exit 1; }
free1=$(sed -n 's/HugePages_Free: *//p' /proc/meminfo)
echo "huge pages free: $free0 before, $free1 serving"
[ $((free0 - free1)) -ge 16 ] || { echo "FAIL: the pool does not use 16 huge pages"; exit 1; }
rmemctl -k /tmp/key check --size 24M 127.0.0.1:$(cat /tmp/port)
rmemctl -k /tmp/key stats 127.0.0.1:$(cat /tmp/port)
kill -TERM $pid
wait $pid
echo "donor exited $?"
EOF

for k in $(vm_kernels); do
	echo "=== $k"
	vm_run "$k" "$TMP/guest.sh" || fail "guest on $k failed: $(vm_guest_output)"
	vm_check_log
	vm_guest_output
done
exit 0
