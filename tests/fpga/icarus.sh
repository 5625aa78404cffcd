#!/bin/bash
# The RTL under Icarus Verilog, a second simulator: the tracker's log for
# a random stream (with epoch commands) must be the C model's, entry for
# entry; and the top's register window must read as the map says.
. "$(dirname "$0")/lib.sh"
requires iverilog
requires python3
fpga_requires rmem-fpga-model
python3 - "$TMP/stream.hex" <<'PY'
import random, sys
r = random.Random(7)
pages = [r.getrandbits(36) for _ in range(400)]
out = []
for n in range(30000):
    if r.random() < 0.0005:
        out.append((1 << 64) - 1)      # an epoch command
    p = r.choice(pages[:r.randint(1, len(pages))])
    out.append(p << 6 | (r.randrange(64) if p & 1 else r.randrange(4)))
open(sys.argv[1], "w").write("".join("%016x\n" % x for x in out))
PY
n=$(wc -l <"$TMP/stream.hex")
"$FPGA/rmem-fpga-model" --hex <"$TMP/stream.hex" >"$TMP/model.hex" 2>"$TMP/counters" ||
	fail "model: $(cat "$TMP/counters")"
iverilog -g2005 -I"$FPGA" -Ifpga/rtl -DSTREAM="\"$TMP/stream.hex\"" \
	-DLOG="\"$TMP/icarus.hex\"" -DCOUNT="$n" -o "$TMP/tb.vvp" \
	fpga/tb/tb_tracker_icarus.v fpga/rtl/rmem_tracker.v fpga/rtl/rmem_sdp_ram.v ||
	fail "iverilog"
vvp -n "$TMP/tb.vvp" >"$TMP/sim" 2>&1 || fail "vvp: $(cat "$TMP/sim")"
cat "$TMP/sim" "$TMP/counters"
[ -s "$TMP/model.hex" ] || fail "the model logged nothing"
cmp "$TMP/model.hex" "$TMP/icarus.hex" || fail "Icarus's log differs from the model's"
echo "Icarus: $(wc -l <"$TMP/icarus.hex") entries, as the model's"

iverilog -g2005 -I"$FPGA" -Ifpga/rtl -o "$TMP/top.vvp" fpga/tb/tb_top_icarus.v \
	fpga/rtl/rmem_fpga.v fpga/rtl/rmem_tracker.v fpga/rtl/rmem_fetch.v \
	fpga/rtl/rmem_sdp_ram.v || fail "iverilog (top)"
vvp -n "$TMP/top.vvp" >"$TMP/top" 2>&1 || fail "vvp (top): $(cat "$TMP/top")"
cat "$TMP/top"
grep -q "^PASS" "$TMP/top" && ! grep -q FAIL "$TMP/top" || fail "top registers"
