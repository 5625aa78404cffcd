#!/bin/bash
# The KUnit suite "rmem" (drivers/rmem/rmem_proto_test.c) in Debian's
# linux-source-6.1 tree under UML, through kunit.py itself: the shared
# protocol files built as the kernel builds them, warnings as errors,
# against the same vectors as the userspace unit tests.
. "$(dirname "$0")/../integration/lib.sh"
[ -f /usr/src/linux-source-6.1.tar.xz ] ||
	{ echo "SKIP: requires linux-source-6.1"; exit 77; }
scripts/kunit.sh >"$TMP/kunit.log" 2>&1 ||
	fail "kunit.py failed: $(grep -E 'FAILED|error|Error' "$TMP/kunit.log" | head -n 30)"
grep -E '^\[[0-9:]+\] (\[PASSED\]|\[FAILED\]|Testing complete)' "$TMP/kunit.log"
grep -qE 'Testing complete\. Ran [1-9][0-9]* tests: passed: [1-9]' "$TMP/kunit.log" ||
	fail "no passing KUnit run: $(tail -n 20 "$TMP/kunit.log")"
grep -q '\[FAILED\]' "$TMP/kunit.log" && fail "a KUnit case failed"
grep -q '\[PASSED\] rmem_test_page_hash' "$TMP/kunit.log" ||
	fail "the rmem suite did not run"
exit 0
