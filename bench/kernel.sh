#!/bin/bash
# The kernel path measured: swap and block I/O through /dev/rmem0 against
# the kernel's own nbd client and zram, side by side in one guest boot.
#
#   bench/kernel.sh [--quick] [--reps N] [--devices "LIST"] [--out PREFIX]
#                   (make first: rmem.ko, rmem-poold, rmemctl, memhog,
#                    wamp-work; scripts/install-deps.sh: nbd-client,
#                    nbd-server, redis, fio, nbdkit)
#
# On this host: rmem-poold, `nbdkit memory` and nbd-server (its export a
# file on /dev/shm), all on 127.0.0.1; the guest (Debian's 6.1 kernel,
# QEMU TCG, 256 MiB, 2 CPUs, an e1000 NIC on QEMU's user network, which
# maps 10.0.2.2 to the host's loopback) reaches them at 10.0.2.2. In the
# guest, for each repetition and each device, in an order that rotates
# from one repetition to the next:
#
#   rmem-on    /dev/rmem0, rmemctl attach to the host's donor, deltas on
#   rmem-off   the same, delta_lines=0 (every page whole)
#   rmem-rq    rmem-on with its second queue a read queue (--read-queues
#              1): swap-ins do not wait behind swap-outs (not in the
#              default list: --devices)
#   nbdkit     /dev/nbd0, nbd-client -swap to nbdkit memory
#   nbd-server /dev/nbd0, nbd-client -swap to nbd-server
#   zram       /dev/zram0, the local reference (no network)
#
# it fills the device, runs the fio jobs (libaio, direct=1) on it, then
# swaps to it and runs memhog, the write-amplification workloads and
# redis-server filled past the guest's memory and driven by
# redis-benchmark; each swap workload checks its data. Every run reports
# its time, pswpin/pswpout, the NIC's bytes (rx+tx), the guest's CPU
# time (user+nice+system+irq+softirq of /proc/stat) and, on rmem, the
# driver's wire bytes. bench/kernel_report.py writes PREFIX.md, .json
# and .png (medians and ratios). bench/README.md, "The kernel path",
# says how to read it. --quick (tests/vm/bench-kernel.sh, make check):
# one repetition of small runs, to see that everything works; its figures
# mean nothing.
set -u
. "$(dirname "$0")/../tests/vm/lib.sh"
requires qemu-system-x86_64
requires python3
for t in fio nbdkit nbd-server nbd-client redis-server redis-benchmark redis-cli mke2fs; do
	command -v $t >/dev/null || PATH=$PATH:/usr/sbin:/sbin
	command -v $t >/dev/null || { echo "SKIP: requires $t (scripts/install-deps.sh)"; exit 77; }
done
[ -x /bin/busybox ] || { echo "SKIP: requires busybox-static"; exit 77; }
for p in memhog wamp-work rmem-poold rmemctl; do
	[ -x "$VM_BUILD/$p" ] || fail "run make first ($VM_BUILD/$p)"
done

QUICK=
REPS=3
DEVICES_ARG=
OUT=bench/results/kernel
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS=$2; shift ;;
	--devices) DEVICES_ARG=$2; shift ;;
	--out) OUT=$2; shift ;;
	*) echo "usage: bench/kernel.sh [--quick] [--reps N] [--devices \"LIST\"] [--out PREFIX]" >&2; exit 2 ;;
	esac
	shift
done

# what the guest runs; sizes against its 256 MiB (about 200 MiB free)
DEVICES="rmem-on rmem-off nbdkit nbd-server zram"
SIZE=448M			# every device: swap of the largest workload
FIO_SIZE=64M FIO_RUNTIME=2 FIO_RAMP=1
FIO_JOBS="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 read-64k-qd8 write-64k-qd8"
# a swap-in takes ~10 ms in TCG on a loaded host: the sizes are what
# gets the devices through in the time budget
# MemAvailable counts more than a workload gets (a memhog 24 MiB past
# it swapped 130 MiB out): the sizes are relative to it. memhog must
# swap its own pages out and read them back (kernel_report.py checks
# pswpin): below MemAvailable, with only the device's own tables to
# push it past, it sometimes swapped other pages out and none in
MEMHOG="16 1"			# MiB over MemAvailable, passes
WAMP="kv=2000"			# kind=updates, on WAMP_MIB (all pushed out first)
WAMP_MIB=16
REDIS="-30 1000 2000"		# MiB over MemAvailable, value bytes, requests
# the guest starts no new device after this many seconds of its uptime,
# so a slow (shared, loaded) host gets fewer repetitions, not no result
BUDGET=${RMEM_BENCH_BUDGET:-1140}
if [ -n "$QUICK" ]; then
	BUDGET=100000
	REPS=1
	FIO_SIZE=16M FIO_RUNTIME=1 FIO_RAMP=0
	# the smoke run: rmem both ways and the kernel nbd client; the
	# other references (nbd-server, zram) only in a measurement
	DEVICES="rmem-on rmem-off nbdkit"
	MEMHOG="16 1"		# past what it finds, whatever a device takes
	WAMP="kv=1000"
	WAMP_MIB=12
	REDIS="-5 1000 1000"	# its keys take more than their values
	OUT=$TMP/kernel
fi

KNOWN="rmem-on rmem-off rmem-rq nbdkit nbd-server zram"	# dev_up's
if [ -n "$DEVICES_ARG" ]; then
	for d in $DEVICES_ARG; do
		case " $KNOWN " in
		*" $d "*) ;;
		*) echo "bench/kernel.sh: unknown device '$d' ($KNOWN)" >&2; exit 2 ;;
		esac
	done
	DEVICES=$DEVICES_ARG
fi

kernel=$(vm_module_kernels | grep -m1 "/boot/vmlinuz-6\.1\.") ||
	{ echo "SKIP: no rmem.ko for the installed 6.1 kernel (make module)"; exit 77; }

# the servers, on loopback only
vm_host_donor 640M
NBDKIT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nbdkit --exit-with-parent -f -i 127.0.0.1 -p "$NBDKIT_PORT" memory "$SIZE" \
	2>"$TMP/nbdkit.log" &
PIDS+=($!)
NBDSRV_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
EXPORT=$(mktemp /dev/shm/rmem-bench-nbd.XXXXXX)
trap 'rm -f "$EXPORT"; cleanup' EXIT
truncate -s "$SIZE" "$EXPORT"
cat >"$TMP/nbd-server.conf" <<EOF
[generic]
listenaddr = 127.0.0.1
port = $NBDSRV_PORT
allowlist = false
[bench]
exportname = $EXPORT
EOF
# it forks into the background (-d, in the foreground, serves one
# connection and exits): stopped by its pid file with the rest
nbd-server -C "$TMP/nbd-server.conf" -p "$TMP/nbd-server.pid" >"$TMP/nbd-server.log" 2>&1 ||
	fail "nbd-server: $(cat "$TMP/nbd-server.log")"
for i in $(seq 50); do [ -s "$TMP/nbd-server.pid" ] && break; sleep 0.1; done
PIDS+=($(cat "$TMP/nbd-server.pid"))
for port in "$NBDKIT_PORT" "$NBDSRV_PORT"; do
	for i in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
		sleep 0.1
	done
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null ||
		fail "no NBD server on port $port: $(cat "$TMP"/nbd*.log)"
done

VM_MODULES="nbd zram"
VM_DISK_PROGRAMS="$(command -v fio) $(command -v nbd-client) $(command -v redis-server) $(command -v redis-benchmark) $(command -v redis-cli)"
VM_PROGRAMS="$VM_BUILD/wamp-work"

cat >"$TMP/guest.sh" <<EOF
REPS=$REPS DEVICES="$DEVICES" SIZE=$SIZE
FIO_SIZE=$FIO_SIZE FIO_RUNTIME=$FIO_RUNTIME FIO_RAMP=$FIO_RAMP FIO_JOBS="$FIO_JOBS"
BUDGET=$BUDGET MEMHOG="$MEMHOG" WAMP="$WAMP" WAMP_MIB=$WAMP_MIB REDIS="$REDIS"
NBDKIT=$NBDKIT_PORT NBDSRV=$NBDSRV_PORT
EOF
cat >>"$TMP/guest.sh" <<'EOF'
guest_host_donor
insmod /rmem/rmem.ko
# no guest_swap_tuning: its reserves are for a donor inside the guest.
# The swap workloads are sized on what is available now, before any
# device: the same sizes for every device, each some MiB past the memory
avail_kb() { sed -n 's/^MemAvailable: *\([0-9]*\).*/\1/p' /proc/meminfo; }
AVAIL=$(( $(avail_kb) / 1024 ))
set -- $MEMHOG; MEMHOG="$(( AVAIL + $1 )) $2"
set -- $REDIS; REDIS="$(( (AVAIL + $1) * 1048576 / ($2 + 100) )) $2 $3"
step "MemAvailable $AVAIL MiB: memhog $MEMHOG, redis $REDIS (keys, bytes, requests)"
R=/sys/block/rmem0/rmem
vm() { sed -n "s/^$1 //p" /proc/vmstat; }
nic() { echo $(( $(cat /sys/class/net/eth0/statistics/rx_bytes) + $(cat /sys/class/net/eth0/statistics/tx_bytes) )); }
# user nice system idle iowait irq softirq: the client's CPU, in ticks
cpu() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
up() { cut -d' ' -f1 /proc/uptime; }
rstat() { [ -f $R/stat ] && echo "$(cat $R/stat)" || echo -; }
rdelta() { [ -f $R/delta ] && echo "$(cat $R/delta)" || echo -; }
snap() { echo "$(up) $(vm pswpin) $(vm pswpout) $(nic) $(cpu)"; }
# one result: RUN|device|rep|workload|snapshot before|after|check|rmem stat before|after|delta before|after|extra
report() {
	echo "RUN|$DEVN|$REP|$1|$S0|$(snap)|$2|$ST0|$(rstat)|$DL0|$(rdelta)|${3:-}"
}
start() { S0=$(snap); ST0=$(rstat); DL0=$(rdelta); }

dev_up() {
	case $1 in
	rmem-*)
		# --persist, as an operator runs it (tests/vm/swap.sh): a
		# connection QEMU's user network resets under load is replaced
		# (stat column 10 counts it) instead of failing swap I/O; its
		# messages go to the kernel log
		rq=; [ $1 = rmem-rq ] && rq="--read-queues 1"
		rmemctl -k /tmp/key attach "$D" --size $SIZE --spare 64M --queues 2 $rq \
			--persist 2>/dev/kmsg &
		SUP=$!
		while [ ! -b /dev/rmem0 ] || [ ! -f $R/delta_lines ]; do
			kill -0 $SUP 2>/dev/null || { echo "FAIL: attach"; exit 1; }
			sleep 0.1
		done
		if [ $1 = rmem-off ]; then echo 0 >$R/delta_lines; fi
		[ $1 != rmem-rq ] || [ "$(cat $R/read_queues)" = 1 ] ||
			{ echo "FAIL: rmem-rq has no read queue"; exit 1; }
		DEV=/dev/rmem0 ;;
	nbdkit|nbd-server)
		p=$NBDKIT; [ $1 = nbd-server ] && p=$NBDSRV
		nbd-client -N bench 10.0.2.2 $p /dev/nbd0 -b 4096 -swap >/tmp/nbd.out 2>&1 ||
			{ cat /tmp/nbd.out; echo "FAIL: nbd-client $1"; exit 1; }
		DEV=/dev/nbd0 ;;
	zram)
		echo $SIZE >/sys/block/zram0/disksize
		DEV=/dev/zram0 ;;
	esac
}
dev_down() {
	case $1 in
	rmem-*) rmemctl detach /dev/rmem0 >/dev/null; wait $SUP || true ;;
	nbd*) nbd-client -d /dev/nbd0 >/dev/null 2>&1 ;;
	zram) echo 1 >/sys/block/zram0/reset ;;
	esac
}

fio_job() {	# NAME: rw, bs, iodepth
	case $1 in
	randread-4k-qd1) a="--rw=randread --bs=4k --iodepth=1" ;;
	randread-4k-qd32) a="--rw=randread --bs=4k --iodepth=32" ;;
	randwrite-4k-qd1) a="--rw=randwrite --bs=4k --iodepth=1" ;;
	randwrite-4k-qd32) a="--rw=randwrite --bs=4k --iodepth=32" ;;
	read-64k-qd8) a="--rw=read --bs=64k --iodepth=8" ;;
	write-64k-qd8) a="--rw=write --bs=64k --iodepth=8" ;;
	esac
	start
	# refill_buffers: every write new data, as swap's pages are, on
	# every device alike (a reused buffer would flatter deltas)
	fio --name=$1 --filename=$DEV --ioengine=libaio --direct=1 $a \
		--size=$FIO_SIZE --time_based --runtime=$FIO_RUNTIME \
		--ramp_time=$FIO_RAMP --refill_buffers --output-format=json \
		--output=/tmp/fio.json >/tmp/fio.err 2>&1 ||
		{ cat /tmp/fio.err; echo "FAIL: fio $1 on $DEVN"; exit 1; }
	report fio-$1 ok "$(tr -d ' \t\n' </tmp/fio.json)"
}

swap_on() {
	mkswap $DEV >/dev/null && swapon $DEV || { echo "FAIL: swapon $DEV"; exit 1; }
}

run_memhog() {
	start
	if memhog $MEMHOG >/tmp/m.out 2>&1; then c=ok; else c=FAILED; fi
	report memhog $c "$(tail -n 1 /tmp/m.out)"
}

run_wamp() {
	for kv in $WAMP; do
		start
		if wamp-work ${kv%%=*} $WAMP_MIB ${kv#*=} >/tmp/w.out 2>&1; then c=ok; else c=FAILED; fi
		report wamp-${kv%%=*} $c "$(grep done /tmp/w.out)"
	done
}

run_redis() {
	set -- $REDIS
	start
	redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no \
		--protected-mode no --daemonize no --logfile /dev/null &
	RS=$!
	until redis-cli ping >/dev/null 2>&1; do sleep 0.2; done
	# keys key:000000000000.., redis-benchmark's names for -r $1, each a
	# value of $2 x's; its SETs write that same value (a command of our
	# own: its -t set value is not the fill's), so every value stays
	# checkable
	redis-cli eval "for i = 0, $1 - 1 do redis.call('SET', string.format('key:%012d', i), string.rep('x', $2)) end return 1" 0 >/dev/null
	t1=$(up)
	redis-benchmark -q -r $1 -n $3 -c 8 -t get --csv >/tmp/rb.out 2>&1
	redis-benchmark -q -r $1 -n $3 -c 8 --csv SET key:__rand_int__ \
		"$(awk -v n=$2 'BEGIN { while (n--) printf "x" }')" >>/tmp/rb.out 2>&1
	t2=$(up)
	bad=$(redis-cli eval "local bad = 0 for i = 0, $1 - 1 do if redis.call('GET', string.format('key:%012d', i)) ~= string.rep('x', $2) then bad = bad + 1 end end return bad" 0)
	n=$(redis-cli dbsize)
	if [ "$bad" = 0 ] && [ "$n" = $1 ]; then c=ok; else c=FAILED; fi
	used=$(redis-cli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
	redis-cli shutdown nosave >/dev/null 2>&1
	wait $RS
	report redis $c "bench_s=$(awk -v a=$t1 -v b=$t2 'BEGIN { print b - a }') used=$used bad=$bad keys=$n $(grep -E '^"(GET|SET)"' /tmp/rb.out | tr '\n' ' ')"
}

# progress, to see where a slow run spends its time
(while sleep 30; do
	step "swap used $(( $(sed -n 's/^SwapTotal: *//p' /proc/meminfo | cut -d' ' -f1) - $(sed -n 's/^SwapFree: *//p' /proc/meminfo | cut -d' ' -f1) )) kB, pswpin $(vm pswpin), pswpout $(vm pswpout), rmem stat $(rstat | cut -c1-120)"
done) &
MON=$!
set -- $DEVICES
NDEV=$#
for REP in $(seq $REPS); do
	i=0
	for d in $DEVICES; do
		# rotate: repetition r starts at the r-th device
		eval "DEVN=\${$(( (i + REP - 1) % NDEV + 1 ))}"
		i=$((i + 1))
		if [ "$(up | cut -d. -f1)" -gt $BUDGET ]; then
			step "budget of $BUDGET s spent: no more runs"
			break 2
		fi
		step "rep $REP: $DEVN"
		# what the device itself takes of the guest's memory: its
		# driver's tables, its client process, its buffers
		m0=$(avail_kb)
		dev_up $DEVN
		sleep 1
		echo "MEM|$DEVN|$REP|$m0|$(avail_kb)"
		# fill the device: a read of a slot never written would not go
		# to the server on rmem, nor on a sparse nbdkit
		fio --name=fill --filename=$DEV --rw=write --bs=1M --size=$FIO_SIZE \
			--ioengine=libaio --direct=1 --iodepth=4 --refill_buffers \
			--output=/dev/null >/tmp/fill.err 2>&1 ||
			{ cat /tmp/fill.err; echo "FAIL: fill $DEVN"; exit 1; }
		for j in $FIO_JOBS; do fio_job $j; done
		swap_on
		if [ $DEVN = zram ]; then
			# zram keeps what it swaps in this guest's own RAM, and
			# memhog's and wamp-work's pages do not compress: past the
			# guest's memory they cannot run on it
			run_redis
		else
			run_memhog
			run_wamp
			run_redis
		fi
		swapoff $DEV
		dev_down $DEVN
	done
done
kill $MON
rmmod rmem
EOF

echo "== kernel bench: $(vm_kver "$kernel"), $REPS repetitions, devices: $DEVICES; load $(cut -d' ' -f1-3 /proc/loadavg)"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
# no_timer_check: on a loaded host the emulated timer can be too slow for
# the boot-time IO-APIC timer check, which then panics the guest
VM_APPEND=no_timer_check VM_MEM=256M VM_CPUS=2 VM_TIMEOUT=$([ -n "$QUICK" ] && echo 900 || echo 3600) \
	vm_run "$kernel" "$TMP/guest.sh" || {
	# a measurement keeps the runs that completed (the report says how
	# many); the smoke run fails
	[ -z "$QUICK" ] && grep -aq "^RUN|" "$TMP/console.log" ||
		fail "guest failed: $(vm_guest_output | tail -n 30)"
	echo "kernel bench: WARNING: the guest failed; reporting the runs that completed" >&2
	vm_guest_output | tail -n 30 >&2
}
vm_check_log
vm_guest_output | tr -d '\r' | grep -E "^T\+|FAIL" >&2
vm_guest_output | tr -d '\r' | grep -E "^(RUN|MEM)\|" >"$TMP/runs.txt"
grep -aq "I/O error\|Read-error\|Write-error" "$TMP/console.log" && fail "I/O errors in the guest"
mkdir -p "$(dirname "$OUT")"
python3 bench/kernel_report.py "$TMP/runs.txt" --out "$OUT" \
	--kernel "$(vm_kver "$kernel")" --reps "$REPS" --devices "$DEVICES" \
	--load-before "$load0" --load-after "$(cut -d' ' -f1-3 /proc/loadavg)" \
	--minutes "$(( ($(date +%s) - t0) / 60 ))" ${QUICK:+--check}
