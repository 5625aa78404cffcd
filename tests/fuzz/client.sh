#!/bin/bash
# make check: the client fuzzer (tests/fuzz/fuzz_client.c) on its seeds and
# regression inputs, then fuzzing for RMEM_FUZZ_SEC seconds (default 30)
exec "$(dirname "$0")/run-one.sh" client "${RMEM_FUZZ_SEC:-30}"
