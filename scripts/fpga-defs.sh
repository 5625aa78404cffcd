#!/bin/bash
# Turn the numeric #defines of include/uapi/linux/rmem_fpga.h into Verilog
# `defines, so that the RTL and the C code share one definition of the
# register map, the log format and the seeds. Register offsets are 12-bit
# constants, ull values 64-bit, values past 31 bits 32-bit, the rest plain
# integers.
#   scripts/fpga-defs.sh include/uapi/linux/rmem_fpga.h >build/fpga/rmem_fpga_defs.vh
set -euo pipefail
hdr=${1:?usage: fpga-defs.sh HEADER}
echo "// Generated from $hdr by scripts/fpga-defs.sh: do not edit."
sed -n 's/^#define \(RMEM_FPGA_[A-Z0-9_]*\)[[:space:]]\{1,\}\(0x[0-9a-fA-F]\{1,\}\|[0-9]\{1,\}\)\(u\|ull\)\{0,1\}\([[:space:]].*\)\{0,1\}$/\1 \2 \3/p' "$hdr" |
while read -r name value suffix; do
	case $value in
	0x*) hex=${value#0x} ;;
	*) hex=$(printf '%x' "$value") ;;
	esac
	case $name in
	RMEM_FPGA_REG_*) echo "\`define $name 12'h$hex" ;;
	*) if [ "$suffix" = ull ]; then echo "\`define $name 64'h$hex"
	   elif [ $((16#$hex)) -gt 2147483647 ]; then echo "\`define $name 32'h$hex"
	   else echo "\`define $name $((16#$hex))"; fi ;;
	esac
done
