#!/bin/bash
# Every RTL file is lint-clean under verilator --lint-only -Wall, and
# Icarus elaborates it: no simulator-specific Verilog.
. "$(dirname "$0")/lib.sh"
requires verilator
requires iverilog
make -s fpga-lint >"$TMP/lint" 2>&1 || fail "verilator lint: $(cat "$TMP/lint")"
for top in rmem_tracker rmem_fetch rmem_fpga; do
	iverilog -g2005 -I"$FPGA" -Ifpga/rtl -s "$top" -o "$TMP/$top.vvp" fpga/rtl/*.v \
		>"$TMP/ic" 2>&1 || fail "iverilog on $top: $(cat "$TMP/ic")"
done
# the generated defines are the header's
grep -q "RMEM_FPGA_REG_RING_HEAD 12'h050" "$FPGA/rmem_fpga_defs.vh" ||
	fail "rmem_fpga_defs.vh does not follow rmem_fpga.h"
