#!/bin/bash
# The benchmark harness end to end, for one second a job: it must start
# both servers, run every system, and write the table, JSON and plot. A
# smoke test of the instrument; it asserts no figure (make bench does).
. "$(dirname "$0")/lib.sh"
requires fio
requires nbdkit
requires python3
requires gnuplot

PLAIN=${RMEM_PLAIN_BUILD:-build}
RMEM_BUILD=$PLAIN expect_exit 0 bench/run.py --quick --modes 1cpu \
	--cases randread-4k-qd1,randrw70-4k-qd32 --size 16M --out "$TMP/r"
for f in r.md r.json r.png; do
	[ -s "$TMP/$f" ] || fail "bench wrote no $f: $(cat "$TMP/err")"
done
expect_in "$TMP/r.md" "| randread-4k-qd1 |"
expect_in "$TMP/r.md" "| randrw70-4k-qd32 |"
# every system measured: no empty cell for rmem (one or two connections), nbdkit or the floor
grep -q "| randread-4k-qd1 | -" "$TMP/r.md" && fail "rmem not measured"
grep -q "| randread-4k-qd1 | [^|]* | -" "$TMP/r.md" && fail "rmem on two connections not measured"
python3 - "$TMP/r.json" <<'PY' || fail "bad results: $(cat "$TMP/r.json")"
import json, sys
r = json.load(open(sys.argv[1]))["results"]["1cpu"]
for s in ("rmem", "rmem2", "nbdkit", "floor"):
    assert r["randread-4k-qd1"][s][0]["iops"] > 0, s
assert r["randrw70-4k-qd32"]["floor"] == [None]
PY
[ "$(head -c 4 "$TMP/r.png" | tail -c 3)" = PNG ] || fail "r.png is not a PNG"
# bad arguments: a clear message, nothing run
expect_exit 1 bench/run.py --cases nosuchjob
expect_in "$TMP/err" "unknown case 'nosuchjob'"
exit 0
