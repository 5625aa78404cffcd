#!/bin/bash
# make check: the config fuzzer (tests/fuzz/fuzz_config.c) on its seeds and
# regression inputs, then fuzzing for RMEM_FUZZ_SEC seconds (default 30)
exec "$(dirname "$0")/run-one.sh" config "${RMEM_FUZZ_SEC:-30}"
