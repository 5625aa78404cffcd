#!/bin/bash
# Trace-driven evaluation of the FPGA tracker (bench/README.md, "FPGA
# tracker"): each write-amplification workload runs small under
# valgrind --tool=lackey; rmem-wbcache turns its loads and stores into the
# write-backs of a 256 KiB 8-way write-back cache, flushed every EPOCH
# instructions; the RTL tracker (Verilator, tb_tracker --trace) logs
# them; bench/fpga_report.py compares with page-granular and exact
# write-back. Results: bench/results/fpga-tracker.{md,json,png}.
#   bench/fpga.sh [OUT_PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results/fpga-tracker}
EPOCH=${EPOCH:-250000}
command -v valgrind >/dev/null || { echo "fpga.sh: needs valgrind" >&2; exit 1; }
make -s build/wamp-work build/rmem-wbcache fpga
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
specs=()
# KIND MIB OPS: small enough for lackey (about a minute each)
for w in "kv 4 100000" "index 4 100000" "graph 4 100000" "dense 2 1000"; do
	set -- $w
	echo "fpga.sh: $1: lackey, cache model, RTL tracker" >&2
	valgrind --tool=lackey --trace-mem=yes build/wamp-work $w 2>&1 >/dev/null |
		build/rmem-wbcache --epoch "$EPOCH" >"$tmp/$1.bin" 2>"$tmp/$1.cache"
	cat "$tmp/$1.cache" >&2
	build/fpga/tracker-default/tb_tracker --trace "$tmp/$1.bin" --calm \
		--log "$tmp/$1.log" >"$tmp/$1.txt"
	specs+=("$1:$tmp/$1.bin:$tmp/$1.log:$tmp/$1.txt")
done
bench/fpga_report.py "$out" "${specs[@]}"
