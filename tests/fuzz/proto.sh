#!/bin/bash
# make check: the proto fuzzer (tests/fuzz/fuzz_proto.c) on its seeds and
# regression inputs, then fuzzing for RMEM_FUZZ_SEC seconds (default 30)
exec "$(dirname "$0")/run-one.sh" proto "${RMEM_FUZZ_SEC:-30}"
