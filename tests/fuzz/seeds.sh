#!/bin/bash
# make check: the seeds in tests/fuzz/corpus/{conn,client} are what
# tests/fuzz/mkseeds.c writes with today's encoders; a change of the wire
# format must bring new seeds (make fuzz-seeds), or the fuzzers would
# start from requests the donor refuses at the first header.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build/fuzz/mkseeds "$tmp"
for d in conn client; do
	if ! diff -r "$tmp/$d" "tests/fuzz/corpus/$d" >"$tmp/diff" 2>&1; then
		cat "$tmp/diff"
		echo "tests/fuzz/corpus/$d is stale: run make fuzz-seeds and commit it" >&2
		exit 1
	fi
done
echo "seeds: $(ls tests/fuzz/corpus/conn tests/fuzz/corpus/client | grep -vc ':$') current"
