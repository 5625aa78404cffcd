#!/bin/bash
# The Debian packages at work under a real systemd: Debian 12 booted in
# QEMU (6.1, TCG) from a root file system made by debootstrap
# (scripts/debian-rootfs.sh, cached), with the freshly built rmem-poold
# and rmemctl installed by dpkg and rmem.ko where rmem-dkms would put it.
# The operator's files are a key, the donor's configuration, and one
# line of /etc/rmem/rmemtab naming a device (rmem3: not the first free
# name, so the kernel must honour the name) on a donor on this host:
#  1. rmem-poold.service is active (Type=notify: it told systemd it
#     serves), reloads on `systemctl reload` (same process, new quota,
#     "configuration reloaded" in its journal), and its metrics parse;
#  2. at boot, rmem-generator made rmem@rmem3.service and dev-rmem3.swap
#     from the table: the device is attached by its supervisor and
#     swapped on at the line's priority;
#  3. memhog swaps to it and checks every byte;
#  4. `systemctl stop rmem-poold` drains and ends with Result=success;
#  5. at poweroff, after the swap and the device stopped: no swap on
#     rmem3, no rmem3, every rmem unit's Result success, no warning or
#     error of theirs in the journal and no error in the boot's; and the
#     donor on this host holds no region (the detach gave it back).
# Kernel reports in the guest's log fail it too (vm_check_log).
. "$(dirname "$0")/lib.sh"
requires qemu-system-x86_64
requires dpkg-buildpackage
requires debootstrap
requires mke2fs
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }
# Debian's installed kernel: its modules are this host's /lib/modules
kernel=$(VM_ONLY=/boot/ vm_module_kernels | head -n 1)
[ -n "$kernel" ] || { echo "SKIP: rmem.ko is not built for the installed kernel"; exit 77; }
kver=$(vm_kver "$kernel")
rootfs=$(scripts/debian-rootfs.sh) || fail "no root file system (scripts/debian-rootfs.sh)"

make --no-print-directory BUILD="$TMP/b" deb >"$TMP/deb.log" 2>&1 ||
	fail "make deb: $(tail -n 30 "$TMP/deb.log")"
vm_host_donor 512M

# the root file system, as an operator would leave it after apt install
r=$TMP/rootfs
cp -a "$rootfs" "$r"
mkdir -p "$r/tmp/debs"
cp "$TMP"/b/deb/rmem-poold_*.deb "$TMP"/b/deb/rmemctl_*.deb "$r/tmp/debs/"
chroot "$r" sh -c 'dpkg -i /tmp/debs/*.deb' >"$TMP/dpkg.log" 2>&1 ||
	fail "dpkg -i in the guest's root: $(tail -n 20 "$TMP/dpkg.log")"
rm -rf "$r/tmp/debs"
[ -L "$r/etc/systemd/system/multi-user.target.wants/rmem-poold.service" ] ||
	fail "rmem-poold.service was not enabled at install"
# the module where rmem-dkms installs it (the guest has no compiler);
# the NIC's driver, for udev to load, and autofs4, which systemd loads
m=$r/lib/modules/$kver
install -D -m 644 "$(vm_module "$kernel")" "$m/updates/dkms/rmem.ko"
vm_add_modules "$TMP/kmods" "$kernel" e1000 autofs4
mkdir -p "$m/kernel/extra"
cp "$TMP"/kmods/rmem/modules/*.ko "$m/kernel/extra/"
cp /lib/modules/"$kver"/modules.{builtin,builtin.modinfo,order} "$m/"
depmod -b "$r" "$kver" || fail "depmod"
chroot "$r" rmemctl -q keygen /etc/rmem/key || fail "the packaged rmemctl keygen"
sed -i 's/^size = .*/size = 32M/; s/^quota = .*/quota = 32M/' "$r/etc/rmem/rmem-poold.conf"
install -m 600 "$TMP/key" "$r/etc/rmem/host-key"
echo "rmem3 $VM_HOST_DONOR size=256M,queues=2,key=/etc/rmem/host-key,swap,pri=100" \
	>>"$r/etc/rmem/rmemtab"
chroot "$r" rmemctl tab >"$TMP/tab.out" 2>&1 || fail "rmemctl tab: $(cat "$TMP/tab.out")"
vm_add_program "$r" "$VM_BUILD/memhog" usr/local/bin/memhog

# the test: after boot, and at shutdown once the device is gone
cat >"$r/etc/systemd/system/rmem-test.service" <<-'EOF'
[Unit]
Description=rmem test: the packages at work
After=rmem-poold.service rmem@rmem3.service dev-rmem3.swap remote-fs.target
[Service]
Type=oneshot
ExecStart=/root/rmem-test.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
EOF
# started before the device and the donor, so stopped after them
cat >"$r/etc/systemd/system/rmem-test-shutdown.service" <<-'EOF'
[Unit]
Description=rmem test: checks at shutdown, after swapoff and detach
Before=rmem@rmem3.service dev-rmem3.swap rmem-poold.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/root/rmem-at-shutdown.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
EOF
chroot "$r" systemctl enable rmem-test.service rmem-test-shutdown.service >/dev/null 2>&1 ||
	fail "cannot enable the test's units"

cat >"$r/root/rmem-test.sh" <<-'EOF'
#!/bin/sh
set -u
bad=0
fail() { echo "FAIL: $*"; bad=$((bad + 1)); }
echo "RMEM-VM: kernel $(uname -r), $(systemctl --version | head -n 1), $(nproc) CPUs"

echo "--- 1: rmem-poold.service"
systemctl is-active -q rmem-poold || { systemctl status rmem-poold --no-pager; fail "rmem-poold.service is not active"; }
echo "RESULT: rmem-poold: $(systemctl show -p StatusText --value rmem-poold)"
systemctl show -p StatusText --value rmem-poold | grep -q "clients, 0 of 32 MiB lent" ||
	fail "rmem-poold's status: $(systemctl show -p StatusText --value rmem-poold)"
rmemctl -q ping 127.0.0.1 -c 2 || fail "rmemctl ping of the packaged donor"
pid=$(systemctl show -p MainPID --value rmem-poold)
sed -i 's/^quota = .*/quota = 16M/' /etc/rmem/rmem-poold.conf
systemctl reload rmem-poold || fail "systemctl reload rmem-poold"
rmemctl stats 127.0.0.1 | grep -q "quota          4096 frames" ||
	fail "the reload's quota: $(rmemctl stats 127.0.0.1 | grep quota)"
[ "$(systemctl show -p MainPID --value rmem-poold)" = "$pid" ] || fail "the reload restarted the daemon"
journalctl -b -u rmem-poold -o cat | grep -q "configuration reloaded" ||
	fail "no 'configuration reloaded' in rmem-poold's journal"
journalctl -b -u rmem-poold -p info -o cat | grep -q "^serving " ||
	fail "rmem-poold's 'serving' line is not in its journal at priority info"
rmemctl stats 127.0.0.1 --prometheus | sed 's/^/PROM: /'

echo "--- 2: rmem@rmem3 and its swap, from rmemtab at boot"
for u in rmem@rmem3.service dev-rmem3.swap; do
	systemctl is-active -q "$u" || { systemctl status "$u" --no-pager; fail "$u is not active"; }
done
echo "RESULT: rmem@rmem3: $(systemctl show -p StatusText --value rmem@rmem3)"
awk '$1 == "/dev/rmem3" { found = 1; if ($5 != 100) exit 1 } END { exit !found }' /proc/swaps ||
	fail "no swap on /dev/rmem3 at priority 100: $(cat /proc/swaps)"
[ "$(cat /sys/block/rmem3/rmem/queues)" = 2 ] || fail "rmem3 has not the line's 2 queues"

echo "--- 3: memhog swaps to it"
out0=$(awk '$1 == "pswpout" { print $2 }' /proc/vmstat)
w0=$(awk '{ print $2 }' /sys/block/rmem3/rmem/stat)
avail=$(awk '$1 == "MemAvailable:" { print int($2 / 1024) }' /proc/meminfo)
memhog $((avail + 32)) 1 || fail "memhog found bad bytes"
out=$(( $(awk '$1 == "pswpout" { print $2 }' /proc/vmstat) - out0 ))
w=$(( $(awk '{ print $2 }' /sys/block/rmem3/rmem/stat) - w0 ))
echo "RESULT: memhog of $((avail + 32)) MiB: $out pages swapped out, $w writes to rmem3"
[ "$out" -gt 1000 ] && [ "$w" -gt 0 ] || fail "memhog swapped $out pages, $w writes to rmem3"
rmemctl status --prometheus | sed 's/^/PROMDEV: /'

echo "--- 4: systemctl stop rmem-poold"
systemctl stop rmem-poold
[ "$(systemctl show -p Result --value rmem-poold)" = success ] ||
	fail "rmem-poold stopped with Result=$(systemctl show -p Result --value rmem-poold)"
journalctl -b -u rmem-poold -o cat | grep -q "drained; exiting" || fail "rmem-poold did not drain"

echo "$bad" >/run/rmem-test-bad
systemctl poweroff --no-block
EOF
cat >"$r/root/rmem-at-shutdown.sh" <<-'EOF'
#!/bin/sh
set -u
bad=$(cat /run/rmem-test-bad 2>/dev/null || echo 1)
fail() { echo "FAIL: $*"; bad=$((bad + 1)); }
echo "--- 5: at shutdown, after swapoff and detach"
grep -q '^/dev/rmem3 ' /proc/swaps && fail "swap still on /dev/rmem3"
[ -e /sys/block/rmem3 ] && fail "/dev/rmem3 was not detached"
for u in dev-rmem3.swap rmem@rmem3.service rmem-poold.service; do
	res=$(systemctl show -p Result --value "$u")
	[ "$res" = success ] || fail "$u: Result=$res"
done
j=$(journalctl -b -p warning -o cat -u rmem@rmem3.service -u dev-rmem3.swap -u rmem-poold.service)
[ -z "$j" ] || fail "warnings of the rmem units in the journal: $j"
j=$(journalctl -b -p err -o short-monotonic --no-pager | grep -v '^-- ')
[ -z "$j" ] || fail "errors in the journal: $j"
echo "RESULT: shutdown checks done"
echo "RMEM-VM-EXIT: $bad"
echo "RMEM-VM-DMESG-BEGIN"
dmesg
echo "RMEM-VM-DMESG-END"
EOF
chmod 755 "$r/root/rmem-test.sh" "$r/root/rmem-at-shutdown.sh"
mke2fs -q -t ext4 -d "$r" "$TMP/root.img" "$(( $(du -sm "$r" | cut -f1) + 256 ))M" \
	>"$TMP/mke2fs.log" 2>&1 || fail "cannot make the root image: $(tail -n 5 "$TMP/mke2fs.log")"

# an initramfs that mounts it and hands over to systemd
i=$TMP/initrd
mkdir -p "$i"/{bin,proc,sys,dev,newroot}
install -m 755 /bin/busybox "$i/bin/busybox"
vm_add_modules "$i" "$kernel" virtio_pci virtio_blk crc32c_generic ext4
cat >"$i/init" <<-'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /rmem/modules/order); do insmod /rmem/modules/$m; done
mount -t ext4 /dev/vda /newroot || { echo "RMEM-VM-EXIT: 98"; poweroff -f; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
chmod 755 "$i/init"
(cd "$i" && find . | cpio -o -H newc --quiet | gzip -1) >"$TMP/initramfs.gz"

timeout 1200 qemu-system-x86_64 -accel tcg -cpu max -m 512M -smp 2 -nographic -no-reboot \
	-drive "file=$TMP/root.img,format=raw,if=virtio" -nic user,model=e1000 \
	-kernel "$kernel" -initrd "$TMP/initramfs.gz" \
	-append "console=ttyS0 panic=-1 oops=panic loglevel=5 systemd.show_status=0 sysctl.kernel.hung_task_timeout_secs=30" \
	</dev/null >"$TMP/console.log" 2>&1
tr -d '\r' <"$TMP/console.log" >"$TMP/console.txt"
grep -a -E "^(---|RESULT|FAIL)" "$TMP/console.txt"
rc=$(sed -n 's/^RMEM-VM-EXIT: \([0-9]*\).*/\1/p' "$TMP/console.txt" | tail -n 1)
if [ "${rc:-x}" != 0 ]; then
	echo "--- guest console (last 60 lines)" >&2
	tail -n 60 "$TMP/console.txt" >&2
	fail "the guest's checks: ${rc:-no verdict}"
fi
vm_check_log

# the metrics, as a scraper parses them
if /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	for p in PROM PROMDEV; do
		sed -n "s/^$p: //p" "$TMP/console.txt" >"$TMP/$p"
		/usr/bin/python3 tests/lib/prom-check.py <"$TMP/$p" >/dev/null 2>"$TMP/perr" ||
			fail "$p metrics: $(cat "$TMP/perr")"
	done
	grep -q '^rmem_donor_pool_bytes{donor="127.0.0.1"} 33554432$' "$TMP/PROM" ||
		fail "the guest's donor metrics: $(head -n 5 "$TMP/PROM")"
	grep -q '^rmem_device_writes_total{device="rmem3"} [1-9]' "$TMP/PROMDEV" ||
		fail "rmem3's metrics show no writes"
fi
# the detach at shutdown gave the region back to this host's donor
"$VM_BUILD/rmemctl" -k "$TMP/key" stats --json "127.0.0.1:$PORT" >"$TMP/stats" ||
	fail "the host's donor: $(cat "$TMP/stats")"
grep -q '"regions": 0,' "$TMP/stats" ||
	fail "the host's donor still holds a region after the guest's shutdown: $(grep regions "$TMP/stats")"
stop_donor
echo "RESULT: the packages at work under systemd: all checks passed"
