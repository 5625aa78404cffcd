# Sourced by the guest tests in tests/vm/. Boots Debian's own kernel in
# QEMU (TCG: no KVM needed) with an initramfs built here from busybox,
# rmem's programs and their libraries, runs a script inside, and reads
# the verdict from the serial console.
#
#   vm_kernels               the kernel images to test, one per line:
#                            the installed one (6.1) and those make check
#                            fetched into build/vm/kernels (6.12);
#                            VM_ONLY=PART keeps those whose path has PART;
#                            with VM_KERNEL=debug, the debug kernel alone
#                            (scripts/debug-kernel.sh, make debug-kernel:
#                            KASAN, KFENCE, lockdep, might-sleep, debug
#                            objects, hung tasks), as tests/run.sh runs
#                            the tests marked for it
#   vm_module_kernels        those of them rmem.ko was built for
#   vm_guest_output          what the guest's script printed
#   vm_run KERNEL SCRIPT     boot KERNEL, run SCRIPT in the guest as root,
#                            after the functions of tests/vm/guest-lib.sh;
#                            console in $TMP/console.log; returns the
#                            script's exit status (or 1 if none came)
#   vm_check_log             fail on any report in the guest's kernel
#                            log: WARNING, BUG, Oops, lockdep, KASAN,
#                            KFENCE, might-sleep, debug objects, hung task
#   vm_run_module_kernels SCRIPT SHOW [no-io-errors]
#                            vm_run and vm_check_log on every kernel of
#                            vm_module_kernels (skip, exit 77, if none);
#                            prints the guest's lines matching SHOW (ERE);
#                            with no-io-errors, fails on a block I/O error
#
#   vm_host_donor SIZE       start rmem-poold on this host (127.0.0.1, a
#                            port the kernel picks) lending SIZE, and make
#                            the next guests reach it: they get a NIC
#                            (e1000, QEMU's user networking), its key as
#                            /rmem/key and its address (10.0.2.2:PORT) in
#                            /rmem/donor; guest_host_donor reads them
#
#   VM_APPEND="..."          more kernel parameters
#   VM_MODULES="nbd zram ..."   modules of the guest's kernel (by name, from
#                            its modules.dep, dependencies first) that
#                            the guest's init loads before the script
#   VM_DISK_PROGRAMS="..."   programs too big for the initramfs (which the
#                            guest keeps in RAM): they and their libraries
#                            go on an ext4 image attached read-only as a
#                            virtio disk, mounted at /opt (on PATH and
#                            LD_LIBRARY_PATH), so their pages are file
#                            pages reclaim can drop; fio's libraries alone
#                            are 80 MiB
#
# The guest has loopback networking, /proc, /sys, /dev, /tmp (tmpfs) and
# /rmem with rmem-poold, rmemctl, memhog, the programs VM_PROGRAMS names
# (paths on this host), their libraries and, when it was built for that
# kernel (make module), rmem.ko. Guest memory is VM_MEM (default 512M),
# CPUs VM_CPUS (default 2). The guest's script sees VM_DEBUG=1 under the
# debug kernel (0 otherwise), to scale its workload with debug_scaled
# (tests/vm/guest-lib.sh); VM_TIMEOUT is multiplied by VM_DEBUG_SLOWDOWN
# (default 3) there.
#
# A donor in the guest shares the memory the guest's swap is short of: its
# own allocations, and TCP's at its socket (which drops the packets swap
# sends from the memory reserves, as it is not memalloc), can stall it
# past the request timeout. Tests that swap hard use a donor on this host,
# as a real client would use another host's (vm_host_donor).
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

VM_BUILD=${RMEM_PLAIN_BUILD:-build}
VM_MEM=${VM_MEM:-512M}
VM_CPUS=${VM_CPUS:-2}
VM_TIMEOUT=${VM_TIMEOUT:-600}
# the debug kernel's tree (make debug-kernel links it to the cache) and
# the rmem.ko built against it
VM_DEBUG_TREE=${VM_DEBUG_TREE:-build/debug-kernel}
VM_DEBUG_IMAGE=$VM_DEBUG_TREE/arch/x86/boot/bzImage
VM_DEBUG_MODULE=build/module/debug/drivers/rmem/rmem.ko
VM_DEBUG_SLOWDOWN=${VM_DEBUG_SLOWDOWN:-3}

vm_kernels() {
	local k
	if [ "${VM_KERNEL:-}" = debug ]; then
		[ -r "$VM_DEBUG_IMAGE" ] && echo "$VM_DEBUG_IMAGE"
		return 0
	fi
	for k in /boot/vmlinuz-* build/vm/kernels/vmlinuz-*; do
		case $k in *"${VM_ONLY:-}"*) ;; *) continue ;; esac
		[ -r "$k" ] && echo "$k"
	done
}

# Copy a program and every shared library it needs into the root $1.
vm_add_program() {
	local root=$1 prog=$2 dest=$3 lib
	install -D -m 755 "$prog" "$root/$dest"
	for lib in $(ldd "$prog" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
		[ -e "$root$lib" ] || install -D -m 755 "$lib" "$root$lib"
	done
}

vm_is_debug() {
	[ "$1" = "$VM_DEBUG_IMAGE" ]
}

# The version of a kernel image, from its name (vmlinuz-VERSION).
vm_kver() {
	if vm_is_debug "$1"; then
		cat "$VM_DEBUG_TREE/kernelrelease"
	else
		basename "$1" | sed 's/^vmlinuz-//'
	fi
}

# rmem.ko built for that kernel (make module, make debug-kernel), or nothing.
vm_module() {
	local ko
	ko=build/module/$(vm_kver "$1")/drivers/rmem/rmem.ko
	vm_is_debug "$1" && ko=$VM_DEBUG_MODULE
	[ -f "$ko" ] && echo "$ko"
}

# The kernels rmem.ko was built for; the others are named on stderr.
vm_module_kernels() {
	local k
	for k in $(vm_kernels); do
		if [ -n "$(vm_module "$k")" ]; then
			echo "$k"
		else
			echo "=== $k: no rmem.ko built for it (no headers); skipped" >&2
		fi
	done
}

# What the guest's script printed (after boot, up to its exit status).
vm_guest_output() {
	sed -n '/RMEM-VM: kernel/,/^RMEM-VM-EXIT/p' "$TMP/console.log"
}

# The guest kernel's e1000 driver, uncompressed, on stdout: from the
# installed kernel's modules, or from the image package fetch-kernel.sh
# unpacked them from; nothing for the debug kernel, which has it built in.
vm_nic_module() {
	local kver m
	vm_is_debug "$1" && return 0
	kver=$(vm_kver "$1")
	for m in /lib/modules/"$kver" build/vm/kernels/root/lib/modules/"$kver"; do
		m=$m/kernel/drivers/net/ethernet/intel/e1000/e1000.ko
		if [ -f "$m" ]; then cat "$m"; return 0; fi
		if [ -f "$m.xz" ]; then xz -dc "$m.xz"; return 0; fi
		if [ -f "$m.zst" ]; then zstd -dcq "$m.zst"; return 0; fi
	done
	return 1
}

# The guest kernel's modules directory (installed, or fetched).
vm_kmod_dir() {
	local kver m
	kver=$(vm_kver "$1")
	for m in /lib/modules/"$kver" build/vm/kernels/root/lib/modules/"$kver"; do
		[ -f "$m/modules.dep" ] && { echo "$m"; return 0; }
	done
	return 1
}

# Install modules NAME... of KERNEL, with what they depend on, uncompressed
# into ROOT/rmem/modules, and their load order (dependencies first) into
# ROOT/rmem/modules/order.
vm_add_modules() {
	local root=$1 kernel=$2 dir; shift 2
	dir=$(vm_kmod_dir "$kernel") || fail "no modules directory for $kernel"
	mkdir -p "$root/rmem/modules"
	awk -v want="$*" '
		function name(p) { sub(/.*\//, "", p); sub(/\.ko(\.xz|\.zst)?$/, "", p); gsub(/-/, "_", p); return p }
		function visit(p,   d, n, i) {
			if (p in done) return
			done[p] = 1
			n = split(deps[p], d, " ")
			for (i = n; i >= 1; i--) visit(d[i])
			print p
		}
		{ p = $1; sub(/:$/, "", p); $1 = ""; deps[p] = $0; byname[name(p)] = p }
		END {
			n = split(want, w, " ")
			for (i = 1; i <= n; i++) {
				k = w[i]; gsub(/-/, "_", k)
				if (!(k in byname)) { print "MISSING " w[i]; continue }
				visit(byname[k])
			}
		}' "$dir/modules.dep" | while read -r m; do
		case $m in MISSING*) fail "no module ${m#MISSING } for $kernel" ;; esac
		local out=$root/rmem/modules/$(basename "${m%%.ko*}").ko
		case $m in
		*.xz) xz -dc "$dir/$m" >"$out" ;;
		*.zst) zstd -dcq "$dir/$m" >"$out" ;;
		*) cp "$dir/$m" "$out" ;;
		esac
		basename "$out" >>"$root/rmem/modules/order"
	done
}

# The ext4 image of VM_DISK_PROGRAMS, in $TMP/disk.img.
vm_disk_image() {
	local root=$TMP/disk p
	rm -rf "$root" "$TMP/disk.img"
	mkdir -p "$root/bin"
	for p in $VM_DISK_PROGRAMS; do
		vm_add_program "$root" "$p" "bin/$(basename "$p")"
	done
	# the directories of its libraries (fio's include .../ceph), for
	# the guest's LD_LIBRARY_PATH
	find "$root" -name '*.so*' -printf '%h\n' | sort -u |
		sed "s|^$root|/opt|" | paste -sd: >"$root/ld-path"
	mke2fs -q -t ext4 -O ^has_journal -d "$root" "$TMP/disk.img" \
		"$(( $(du -sm "$root" | cut -f1) * 5 / 4 + 16 ))M" ||
		fail "cannot make the programs' disk image"
}

vm_host_donor() {
	# the plain build: the sanitizers' would only slow the guests' swap
	RMEMCTL=$VM_BUILD/rmemctl POOL_SIZE=$1 QUOTA=$1 LOCK=yes make_config
	start_donor "$VM_BUILD/rmem-poold"
	VM_HOST_DONOR=10.0.2.2:$PORT
}

vm_initramfs() {
	local script=$1 out=$2 kernel=$3 root=$TMP/root ko p mods
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,etc,rmem,lib64}
	install -m 755 /bin/busybox "$root/bin/busybox"
	vm_add_program "$root" "$VM_BUILD/rmem-poold" rmem/rmem-poold
	vm_add_program "$root" "$VM_BUILD/rmemctl" rmem/rmemctl
	[ -x "$VM_BUILD/memhog" ] && vm_add_program "$root" "$VM_BUILD/memhog" rmem/memhog
	for p in ${VM_PROGRAMS:-}; do
		vm_add_program "$root" "$p" "rmem/$(basename "$p")"
	done
	ko=$(vm_module "$kernel") && install -m 644 "$ko" "$root/rmem/rmem.ko"
	if [ -n "${VM_HOST_DONOR:-}" ]; then
		vm_nic_module "$kernel" >"$root/rmem/e1000.ko" ||
			fail "no e1000 module for $kernel: the guest cannot reach the host's donor"
		install -m 600 "$TMP/key" "$root/rmem/key"
		echo "$VM_HOST_DONOR" >"$root/rmem/donor"
	fi
	mods=${VM_MODULES:-}
	[ -n "${VM_DISK_PROGRAMS:-}" ] && mods="virtio_pci virtio_blk crc32c_generic ext4 $mods"
	[ -z "$mods" ] || vm_add_modules "$root" "$kernel" $mods
	{ echo "VM_DEBUG=$(vm_is_debug "$kernel" && echo 1 || echo 0)"
	  cat tests/vm/guest-lib.sh "$script"; } >"$root/test.sh"
	cat >"$root/init" <<-'EOF'
	#!/bin/busybox sh
	/bin/busybox --install -s /bin
	export PATH=/rmem:/bin:/sbin
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mount -t tmpfs tmpfs /tmp
	ip link set lo up
	if [ -f /rmem/modules/order ]; then
		for m in $(cat /rmem/modules/order); do insmod /rmem/modules/$m; done
	fi
	if [ -b /dev/vda ]; then
		# VM_DISK_PROGRAMS
		mkdir -p /opt
		mount -t ext4 -o ro /dev/vda /opt
		export PATH=$PATH:/opt/bin
		export LD_LIBRARY_PATH=$(cat /opt/ld-path)
	fi
	if [ -f /rmem/donor ]; then
		# QEMU's user network: the host is 10.0.2.2 (the debug
		# kernel has the NIC's driver built in)
		[ -s /rmem/e1000.ko ] && insmod /rmem/e1000.ko
		ip link set eth0 up
		ip addr add 10.0.2.15/24 dev eth0
	fi
	echo "RMEM-VM: kernel $(uname -r), $(nproc) CPUs, $(sed -n 's/MemTotal: *//p' /proc/meminfo)"
	cd /tmp
	sh -e /test.sh
	rc=$?
	echo "RMEM-VM-EXIT: $rc"
	dmesg > /tmp/dmesg
	echo "RMEM-VM-DMESG-BEGIN"
	cat /tmp/dmesg
	echo "RMEM-VM-DMESG-END"
	poweroff -f
	EOF
	chmod 755 "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
}

vm_run() {
	local kernel=$1 script=$2 rc limit=$VM_TIMEOUT hung=30 extra=
	vm_initramfs "$script" "$TMP/initramfs.gz" "$kernel"
	if vm_is_debug "$kernel"; then
		# several times slower; every KASAN report, not the first alone
		limit=$(( VM_TIMEOUT * VM_DEBUG_SLOWDOWN ))
		hung=60
		extra=kasan_multi_shot
	fi
	local disk=()
	if [ -n "${VM_DISK_PROGRAMS:-}" ]; then
		vm_disk_image
		disk=(-drive "file=$TMP/disk.img,format=raw,if=virtio,readonly=on")
	fi
	local boot
	for boot in 1 2; do
		timeout "$limit" qemu-system-x86_64 -accel tcg -cpu max "${disk[@]}" \
			-m "$VM_MEM" -smp "$VM_CPUS" -nographic -no-reboot \
			-nic "$([ -n "${VM_HOST_DONOR:-}" ] && echo user,model=e1000 || echo none)" \
			-kernel "$kernel" -initrd "$TMP/initramfs.gz" \
			-append "console=ttyS0 panic=-1 oops=panic loglevel=${VM_LOGLEVEL:-5} sysctl.kernel.hung_task_timeout_secs=$hung $extra ${VM_APPEND:-}" \
			</dev/null >"$TMP/console.log" 2>&1
		# A kernel that died booting, before init said RMEM-VM (and so
		# before any rmem code was loaded), is not the test's failure:
		# under TCG, 6.12 has oopsed on an int3 of its own code patching
		# (text_poke_bp) as it brought CPUs up. Boot once more.
		grep -aq '^RMEM-VM: kernel' "$TMP/console.log" && break
		grep -aqE "$VM_REPORTS|Kernel panic" "$TMP/console.log" || break
		[ "$boot" = 1 ] || break
		echo "--- the guest kernel crashed while booting, before rmem was loaded; booting it again (once):" >&2
		grep -aE -m 3 "$VM_REPORTS|Kernel panic" "$TMP/console.log" >&2
		cp "$TMP/console.log" "$TMP/console.boot-crash.log"
	done
	rc=$(sed -n 's/^RMEM-VM-EXIT: \([0-9]*\).*/\1/p' "$TMP/console.log" | tail -n 1)
	if [ -z "$rc" ]; then
		# what the driver and swap said before the end: the last lines
		# alone are only the panic
		echo "--- guest console: rmem, swap, memory and hang messages (first 60)" >&2
		grep -a -E "rmem0|rmemctl|Read-error|Write-error|Out of memory|blocked for|T\+" \
			"$TMP/console.log" | head -n 60 >&2
		vm_log_reports >&2
		echo "--- guest console (last 40 lines)" >&2
		tail -n 40 "$TMP/console.log" >&2
		return 1
	fi
	return "$rc"
}

# What a kernel says when it finds a bug: WARN and BUG (KASAN and KFENCE
# reports are "BUG: KASAN: ..."/"BUG: KFENCE: ...", might-sleep is "BUG:
# sleeping function called from invalid context", debug objects warn
# with "ODEBUG:"), lockdep's splats (and lockdep turning itself off, not
# its boot banner), the hung-task detector, oopses.
VM_REPORTS='WARNING:|BUG:|Oops|general protection|KASAN|KFENCE|ODEBUG:'
VM_REPORTS+='|possible recursive locking|circular locking|inconsistent lock state'
VM_REPORTS+='|lockdep is turned off|turning off the locking correctness validator'
VM_REPORTS+='|DEBUG_LOCKS_WARN_ON|suspicious RCU usage|sleeping function called'
VM_REPORTS+='|INFO: task .* blocked for more than'

# The reports in the guest's kernel log (the dmesg it dumped at the end,
# else the console, where reports also go), the first with its trace.
vm_log_reports() {
	local log
	log=$(sed -n '/^RMEM-VM-DMESG-BEGIN/,/^RMEM-VM-DMESG-END/p' "$TMP/console.log")
	[ -n "$log" ] || log=$(cat "$TMP/console.log")
	grep -aqE "$VM_REPORTS" <<<"$log" || return 0
	echo "--- guest kernel reports:"
	grep -aE "$VM_REPORTS" <<<"$log" | head -n 20
	echo "--- the first, in full:"
	grep -aE -m 1 -A 60 "$VM_REPORTS" <<<"$log"
}

vm_check_log() {
	local bad c
	bad=$(vm_log_reports)
	[ -z "$bad" ] || fail "guest kernel log: $bad"
	# the debug kernel's checkers said they were on: a silent log from a
	# kernel without them proves nothing
	if grep -aq '^RMEM-VM: kernel [^ ]*-rmem-debug,' "$TMP/console.log"; then
		for c in 'KernelAddressSanitizer initialized' 'kfence: initialized' \
			 'Lock dependency validator'; do
			grep -aq "$c" "$TMP/console.log" ||
				fail "debug kernel without its checkers: no '$c' in its log"
		done
	fi
}

vm_run_module_kernels() {
	local script=$1 show=$2 io=${3:-} k kernels
	kernels=$(vm_module_kernels)
	[ -n "$kernels" ] || { echo "SKIP: rmem.ko is built for none of the kernels"; exit 77; }
	for k in $kernels; do
		echo "=== $k"
		vm_run "$k" "$script" ||
			fail "guest on $k failed: $(vm_guest_output | grep -a -- "FAIL" | head -n 20; vm_guest_output | tail -n 30; vm_log_reports)"
		vm_check_log
		vm_guest_output | grep -a -E -- "$show" || true
		if [ "$io" = no-io-errors ] &&
		   grep -aq "I/O error\|Read-error\|Write-error" "$TMP/console.log"; then
			fail "I/O errors in the guest"
		fi
	done
}
