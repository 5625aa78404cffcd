#!/bin/bash
# The tracker's RTL against its C model in Verilator: every ring entry and
# every counter equal, on random streams with gaps, memory back-pressure,
# a late host and epoch commands; at the default sizes and with filters
# small enough that collisions, saturation and a full ring are the rule.
# Then the rate: with nothing in its way, one write-back a cycle.
. "$(dirname "$0")/lib.sh"
fpga_requires tracker-default/tb_tracker tracker-small/tb_tracker
for seed in 1 2 3; do
	"$FPGA/tracker-default/tb_tracker" --seed $seed --lines 150000 --epochs 6 \
		>"$TMP/out" 2>&1 || fail "default sizes, seed $seed: $(cat "$TMP/out")"
	cat "$TMP/out"
	"$FPGA/tracker-small/tb_tracker" --seed $seed --lines 60000 --epochs 2000 \
		--ring-order 2 >"$TMP/out" 2>&1 || fail "small filters, seed $seed: $(cat "$TMP/out")"
	cat "$TMP/out"
done
# a trace-derived stream: a real program's stores (valgrind's lackey)
# through a 64 KiB write-back cache model, flushed every 100k instructions
if command -v valgrind >/dev/null && [ -x "$RMEM_PLAIN_BUILD/wamp-work" ] &&
   [ -x "$RMEM_PLAIN_BUILD/rmem-wbcache" ]; then
	valgrind --tool=lackey --trace-mem=yes "$RMEM_PLAIN_BUILD/wamp-work" graph 1 5000 \
		2>&1 >/dev/null | "$RMEM_PLAIN_BUILD/rmem-wbcache" --kib 64 --epoch 100000 \
		>"$TMP/trace" 2>"$TMP/cache" || fail "trace: $(cat "$TMP/cache")"
	cat "$TMP/cache"
	[ "$(stat -c %s "$TMP/trace")" -gt 80000 ] || fail "the trace is too short"
	for cfg in default small; do
		"$FPGA/tracker-$cfg/tb_tracker" --trace "$TMP/trace" >"$TMP/out" 2>&1 ||
			fail "trace, $cfg sizes: $(cat "$TMP/out")"
		cat "$TMP/out"
	done
else
	fail "no trace-derived run: valgrind, wamp-work or rmem-wbcache missing"
fi
# the small filters really collide and saturate (else the run proves less)
grep -q "saturated=[1-9]" "$TMP/out" || fail "no saturation with the small filters"
# K from the register: a K past the counters is clamped, as the model does
"$FPGA/tracker-small/tb_tracker" --seed 9 --lines 20000 --epochs 500 --k 99 \
	>"$TMP/out" 2>&1 || fail "K=99: $(cat "$TMP/out")"
expect_in "$TMP/out" "k 6:"
# one write-back a cycle: the reset sweep (one cycle per entry of the
# larger bank), then a few cycles of pipeline
"$FPGA/tracker-default/tb_tracker" --seed 4 --lines 100000 --epochs 0 --calm \
	>"$TMP/out" 2>&1 || fail "calm run: $(cat "$TMP/out")"
cycles=$(sed -n 's/.* write-backs in \([0-9]*\) cycles.*/\1/p' "$TMP/out")
sweep=$(sed -n 's/^config line \([0-9]*\)x[0-9]* page \([0-9]*\)x.*/\1 \2/p' "$TMP/out" |
	awk '{ print ($1 > $2 ? $1 : $2) }')
[ "$cycles" -le $((100000 + sweep + 16)) ] ||
	fail "100000 write-backs took $cycles cycles: slower than one a cycle"
echo "rate: 100000 write-backs in $cycles cycles ($sweep of them the reset sweep)"
