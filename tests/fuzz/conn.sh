#!/bin/bash
# make check: the conn fuzzer (tests/fuzz/fuzz_conn.c) on its seeds and
# regression inputs, then fuzzing for RMEM_FUZZ_SEC seconds (default 30)
exec "$(dirname "$0")/run-one.sh" conn "${RMEM_FUZZ_SEC:-30}"
