#!/bin/bash
# Run every test suite against one build directory and print a summary
# line CI can read: "N passed, N failed, N skipped". Exit 1 if any failed.
#
# cmocka suites count their cases; a shell test is one case (exit 0 pass,
# 77 skip, anything else fail). Each suite has a time limit, so a hang is a
# failure, not a stuck CI. A failing suite's output is shown in full.
#
# A guest test with the line
#   # tests/run.sh: also under the debug kernel
# runs a second time as vm/NAME-debug with VM_KERNEL=debug: on the debug
# kernel alone (scripts/debug-kernel.sh), with a longer time limit.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build/san}
export RMEM_BUILD=$BUILD RMEM_PLAIN_BUILD=${RMEM_PLAIN_BUILD:-build}
# leaks are bugs too; a crash should show where
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
LIMIT=${RMEM_TEST_TIMEOUT:-900}
DEBUG_LIMIT=${RMEM_DEBUG_TEST_TIMEOUT:-2400}

passed=0 failed=0 skipped=0
failures=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_cmocka() {
	local name=$1 bin=$2 rc p f
	timeout "$LIMIT" "$bin" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^\[       OK \]' "$log")
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$log" | tail -n 1)
	f=${f:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1	# crashed, timed out or failed in set-up
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" != 0 ]; then
		failures+=("$name")
		echo "--- $name: FAILED (exit $rc)"
		cat "$log"
	else
		echo "--- $name: $p passed"
	fi
}

run_shell() {
	local name=$1 script=$2 rc t0=$SECONDS
	timeout "$LIMIT" bash "$script" >"$log" 2>&1
	rc=$?
	# how long each took: what a CI run's time is made of
	case $rc in
	0)	passed=$((passed + 1)); echo "--- $name: passed ($((SECONDS - t0)) s)" ;;
	77)	skipped=$((skipped + 1)); echo "--- $name: skipped: $(tail -n 1 "$log")" ;;
	*)	failed=$((failed + 1)); failures+=("$name")
		echo "--- $name: FAILED (exit $rc, $((SECONDS - t0)) s)"; cat "$log" ;;
	esac
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_cmocka "$(basename "$t")" "$t"
done
# the donor's event loops share its pool: the same cases under TSan
if [ -x build/tsan/tests/test_donor ] && [ "$BUILD" != build/tsan ]; then
	RMEM_BUILD=build/tsan run_cmocka test_donor-tsan build/tsan/tests/test_donor
fi
for t in tests/integration/*.sh tests/fuzz/*.sh tests/fpga/*.sh tests/kernel/*.sh tests/vm/*.sh; do
	case $(basename "$t") in *lib.sh|run-one.sh) continue ;; esac	# sourced, not run
	run_shell "$(basename "$(dirname "$t")")/$(basename "$t" .sh)" "$t"
done
LIMIT=$DEBUG_LIMIT
for t in tests/vm/*.sh; do
	grep -qxF '# tests/run.sh: also under the debug kernel' "$t" || continue
	VM_KERNEL=debug run_shell "vm/$(basename "$t" .sh)-debug" "$t"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed suites: ${failures[*]}"
fi
echo "time: $((SECONDS / 60)) min $((SECONDS % 60)) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
