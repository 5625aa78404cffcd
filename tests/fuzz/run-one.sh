#!/bin/bash
# Run one fuzzer (tests/fuzz/README.md): its seeds and regression inputs
# first, every one of which must pass, then new inputs for SECONDS.
#
#   tests/fuzz/run-one.sh NAME SECONDS [CORPUS]
#
# CORPUS (make fuzz: build/fuzz/corpus/NAME) keeps what the run found
# for the next; without it the run's corpus is a temporary copy of the
# seeds. A crash, leak, UBSan report or hang exits non-zero, with the
# input in build/fuzz/crash/NAME/ and how to replay it.
set -eu
cd "$(dirname "$0")/../.."
name=$1 secs=$2 corpus=${3:-}
bin=build/fuzz/fuzz_$name
# not built (tests/run.sh by hand, without make check): a skip, not a failure
[ -x "$bin" ] || { echo "$bin: not built (make fuzzers)"; exit 77; }

# the seeds: tests/fuzz/corpus/NAME, and what else a fuzzer reads
seeds=(tests/fuzz/corpus/"$name")
case $name in
proto)	seeds=(tests/fuzz/corpus/conn) ;;	# request headers, pages
config)	seeds=(tests/fuzz/corpus/config etc/rmem-poold.conf etc/rmemtab) ;;
esac
regress=tests/fuzz/regress/$name
crash=build/fuzz/crash/$name
mkdir -p "$crash"
tmp=
if [ -z "$corpus" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	corpus=$tmp
fi
mkdir -p "$corpus"
for s in "${seeds[@]}"; do
	if [ -d "$s" ]; then cp -n "$s"/* "$corpus"/ 2>/dev/null || true
	else cp -n "$s" "$corpus"/; fi
done
dirs=("$corpus")
[ -d "$regress" ] && dirs+=("$regress")

# a hang is an input that takes over 10 s; every input's memory is
# bounded; the run ends at SECONDS (libFuzzer's own clock: a bound on the
# work, not a timing measured)
set +e
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=65536 -print_final_stats=1 -artifact_prefix="$crash/" \
	"${dirs[@]}" >"$crash/last.log" 2>&1
rc=$?
set -e
grep -E '^(INFO: Seed|#[0-9]+ *(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb)' \
	"$crash/last.log" | sed "s/^/fuzz_$name: /"
if [ $rc -ne 0 ]; then
	tail -n 60 "$crash/last.log"
	art=$(ls -t "$crash"/crash-* "$crash"/leak-* "$crash"/timeout-* \
		"$crash"/oom-* 2>/dev/null | head -n 1 || true)
	echo "fuzz_$name: FAILED (exit $rc)${art:+; the input: $art}" >&2
	[ -n "$art" ] && echo "replay: $bin $art; keep it: cp $art $regress/ (tests/fuzz/README.md)" >&2
	exit 1
fi
echo "fuzz_$name: no crash in $secs s"
