#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Where the instructions go, per request: callgrind on the donor and on
# fio with the engine, for 4 KiB random reads and writes. Instruction
# counts repeat exactly from run to run, unlike timings on a shared
# machine. Each side runs twice, with N and 3N requests, and the
# difference divided by 2N is the cost of one request: start-up and
# set-up cancel out.
#
#   bench/profile.sh [N]      (default 20000; about a minute)
#   RMEM_THREADS=1 bench/profile.sh   the donor on one event loop
#
# Prints user-space instructions per request for the donor and for the
# client (fio + engine + librmem), and the top functions of each; then
# what cache-line deltas add per page (build/rmem-fpcost: the driver's
# fingerprint, diff, page hash and the donor's PATCH apply).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${RMEM_BUILD:-build}
N=${1:-20000}
for t in valgrind callgrind_annotate fio; do
	command -v $t >/dev/null || { echo "profile: $t is not installed" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/rmem-prof.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT

"$BUILD/rmemctl" -q keygen "$TMP/key"
cat >"$TMP/conf" <<EOF
[server]
listen = 127.0.0.1
port = 0
${RMEM_THREADS:+threads = $RMEM_THREADS}
[pool]
size = 128M
lock = no
[auth]
key_file = $TMP/key
[log]
level = warning
EOF

# donor_ir RW COUNT: instructions the donor spends serving COUNT requests
donor_ir() {
	local out=$TMP/donor.$1.$2
	rm -f "$TMP/port"
	valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$BUILD/rmem-poold" -f -c "$TMP/conf" --port-file "$TMP/port" 2>/dev/null &
	local pid=$!
	for _ in $(seq 600); do [ -s "$TMP/port" ] && break; sleep 0.1; done
	[ -s "$TMP/port" ] || { echo "profile: donor did not start" >&2; exit 1; }
	fio --name=p --ioengine="external:$PWD/$BUILD/rmem-fio.so" \
		--donor="127.0.0.1:$(cat "$TMP/port")" --key_file="$TMP/key" \
		--size=64M --rw="$1" --bs=4k --iodepth=1 --number_ios="$2" \
		--output=/dev/null
	kill -TERM $pid
	wait $pid || true
	callgrind_annotate "$out" 2>/dev/null | sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
}

# client_ir RW COUNT: instructions fio, the engine and librmem spend
client_ir() {
	local out=$TMP/client.$1.$2
	valgrind --tool=callgrind --callgrind-out-file="$out" \
		fio --thread --name=p --ioengine="external:$PWD/$BUILD/rmem-fio.so" \
		--donor="127.0.0.1:$PORT" --key_file="$TMP/key" \
		--size=64M --rw="$1" --bs=4k --iodepth=1 --number_ios="$2" \
		--output=/dev/null 2>/dev/null
	callgrind_annotate "$out" 2>/dev/null | sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
}

echo "requests: $N and $((3 * N)), 4 KiB, iodepth 1; instructions (Ir) per request"
echo
printf '%-10s %12s %12s\n' op donor client
for rw in randread randwrite; do
	d1=$(donor_ir $rw $N)
	d3=$(donor_ir $rw $((3 * N)))
	rm -f "$TMP/port"
	"$BUILD/rmem-poold" -f -c "$TMP/conf" --port-file "$TMP/port" 2>/dev/null &
	dpid=$!
	for _ in $(seq 600); do [ -s "$TMP/port" ] && break; sleep 0.1; done
	PORT=$(cat "$TMP/port")
	c1=$(client_ir $rw $N)
	c3=$(client_ir $rw $((3 * N)))
	kill -TERM $dpid; wait $dpid || true
	printf '%-10s %12d %12d\n' $rw $(((d3 - d1) / (2 * N))) $(((c3 - c1) / (2 * N)))
	for side in donor client; do
		echo
		echo "top functions, $side, $rw ($((3 * N)) requests, set-up included):"
		callgrind_annotate "$TMP/$side.$rw.$((3 * N))" 2>/dev/null |
			grep -E '^ *[0-9,]+ ' | sed -n 2,13p || true
	done
done

# What cache-line deltas add per page: the driver's own functions
# (bench/wamp/fpcost.c), each called N times; inclusive Ir per call.
echo
echo "cache-line deltas, instructions (Ir) per page:"
valgrind --tool=callgrind --callgrind-out-file="$TMP/fpcost" \
	"$BUILD/rmem-fpcost" "$N" >/dev/null 2>&1
for fn in rmem_page_fps rmem_fps_diff rmem_page_hash rmem_patch_apply; do
	ir=$(callgrind_annotate --inclusive=yes "$TMP/fpcost" 2>/dev/null |
		grep -m1 "[:]$fn\b" | awk '{ print $1 }' | tr -d ,)
	printf '%-18s %8d\n' "$fn" $((ir / N))
done
