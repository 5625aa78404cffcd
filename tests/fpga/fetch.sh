#!/bin/bash
# The fetch engine: two cards in Verilator fetching pages from each other
# over a link that corrupts and loses frames. Every frame sent must be the
# C model's, every page must land byte-exact, the wanted line must come
# first, and the counters must add up (tb_fetch lists the checks). At the
# default sizes, with 2 tags and a 4-frame window, and with a memory too
# slow to land lines as fast as they come (DATA frames dropped and sent
# again).
. "$(dirname "$0")/lib.sh"
fpga_requires fetch-default/tb_fetch fetch-small/tb_fetch
run() {
	"$@" >"$TMP/out" 2>&1 || fail "$*: $(cat "$TMP/out")"
	cat "$TMP/out"
}
for seed in 1 2; do
	run "$FPGA/fetch-default/tb_fetch" --seed $seed --fetches 100 --flip 30 --lose 10
	grep -q " 0 resent" "$TMP/out" && fail "faults injected, nothing resent"
	run "$FPGA/fetch-small/tb_fetch" --seed $seed --fetches 60 --flip 50 --lose 20
done
run "$FPGA/fetch-small/tb_fetch" --seed 3 --fetches 40 --slow-memory --flip 20 --lose 5
grep -q " 0 dropped for room" "$TMP/out" && fail "a slow memory dropped no frame"
# a clean link: nothing resent, nothing counted as a CRC error
run "$FPGA/fetch-default/tb_fetch" --seed 4 --fetches 100 --flip 0 --lose 0
expect_in "$TMP/out" "0 frames corrupted, 0 lost, 0 resent"
# one fetch at a time: the wanted line well before the whole page
run "$FPGA/fetch-default/tb_fetch" --seed 5 --fetches 20 --serial --flip 0 --lose 0
crit=$(sed -n 's/.*wanted line \([0-9]*\), whole page.*/\1/p' "$TMP/out")
page=$(sed -n 's/.*whole page \([0-9]*\).*/\1/p' "$TMP/out")
[ $((crit * 8)) -lt "$page" ] || fail "wanted line after $crit cycles, page after $page"
