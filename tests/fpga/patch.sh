#!/bin/bash
# The tracker's log feeds the same PATCH path as the driver's software
# tracker: rmem-fpga-patch dirties lines of pages on a real donor, the
# RTL tracker (Verilator) logs the write-backs, and each dirty page goes
# as a PATCH of its logged lines (whole when dense, unlogged, or when the
# donor's hash check fails); every byte of every frame is read back and
# compared after each epoch. With the default filters the pages are
# patched; with tiny ones false positives hide lines and the MISMATCH
# fallback must keep every byte right.
. "$(dirname "$0")/lib.sh"
fpga_requires rmem-fpga-patch tracker-default/tb_tracker tracker-small/tb_tracker
POOL_SIZE=16M QUOTA=8M make_config
start_donor
run() {
	mkdir -p "$TMP/$1"
	"$FPGA/rmem-fpga-patch" --donor "127.0.0.1:$PORT" --key "$TMP/key" \
		--tb "$FPGA/$1/tb_tracker" --dir "$TMP/$1" --pages 512 --epochs 4 --seed "$2" \
		>"$TMP/out" 2>&1 || fail "$1: $(cat "$TMP/out")"
	cat "$TMP/out"
}
count() {
	sed -n "s/.* \([0-9]*\) $1.*/\1/p" "$TMP/out"
}
run tracker-default 1
[ "$(count "pages patched")" -gt 200 ] || fail "too few pages patched"
[ "$(count "dense whole")" -gt 0 ] || fail "no page marked dense"
run tracker-small 2
[ $(( $(count "MISMATCH then whole") + $(count "unlogged whole") )) -gt 0 ] ||
	fail "tiny filters, and no line hidden: the fallback went untested"
stop_donor
