#!/bin/bash
# Synthesize the tracker and the fetch engine at their default parameters
# with yosys (synth_xilinx: a 7-series part's LUTs, flip-flops and block
# RAM) and put the table into README's section between the synth markers.
#   fpga/synth.sh fpga/README.md      (make fpga-synth)
set -euo pipefail
cd "$(dirname "$0")/.."
readme=${1:-fpga/README.md}
out=build/fpga/synth
mkdir -p "$out"
tops="rmem_tracker"
[ -f fpga/rtl/rmem_fetch.v ] && tops="$tops rmem_fetch"

table="| unit | LUTs | LUT-RAM | flip-flops | carry chains | RAMB18 | RAMB36 | memory bits |
|---|---|---|---|---|---|---|---|"
for top in $tops; do
	yosys -q -l "$out/$top.log" -p "read_verilog -Ibuild/fpga -Ifpga/rtl $(ls fpga/rtl/*.v | tr '\n' ' ');
		hierarchy -top $top; proc; flatten; tee -q -o $out/$top.mem stat;
		synth_xilinx -top $top -flatten; tee -q -o $out/$top.stat stat" >/dev/null 2>&1
	cell() { awk -v c="$1" '$1 == c { n += $2 } END { print n + 0 }' "$out/$top.stat"; }
	luts=0; for l in LUT1 LUT2 LUT3 LUT4 LUT5 LUT6; do luts=$((luts + $(cell $l))); done
	lutram=$(( $(cell RAM32M) + $(cell RAM64M) + $(cell RAM32X1D) + $(cell RAM64X1D) + \
		   $(cell RAM128X1D) + $(cell RAM256X1S) ))
	ffs=0; for f in FDRE FDSE FDCE FDPE; do ffs=$((ffs + $(cell $f))); done
	# the memories' own bits, before mapping (not the primitives' capacity)
	bits=$(awk '/Number of memory bits:/ { print $NF }' "$out/$top.mem")
	table="$table
| \`$top\` | $luts | $lutram | $ffs | $(cell CARRY4) | $(cell RAMB18E1) | $(cell RAMB36E1) | $bits |"
done
echo "$table"

tmp=$(mktemp)
awk -v t="$table" '
	/<!-- synth:begin -->/ { print; print t; skip = 1; next }
	/<!-- synth:end -->/ { skip = 0 }
	!skip { print }' "$readme" >"$tmp"
grep -q "<!-- synth:begin -->" "$readme" || { echo "synth: no synth markers in $readme" >&2; rm -f "$tmp"; exit 1; }
mv "$tmp" "$readme"
echo "synth: $readme updated ($(yosys -V | cut -d' ' -f1-2))"
