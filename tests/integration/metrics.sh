#!/bin/bash
# rmemctl stats DONOR --prometheus: the donor's counters in the Prometheus
# text format, as a scraper parses them (prometheus_client's parser,
# tests/lib/prom-check.py), with values that follow the I/O done. The
# devices' side, rmemctl status --prometheus, runs in tests/vm/control.sh.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
	{ echo "SKIP: requires python3-prometheus-client"; exit 77; }
K=(-k "$TMP/key")

make_config
start_donor
expect_exit 0 "$RMEMCTL" "${K[@]}" stats "127.0.0.1:$PORT" --prometheus
/usr/bin/python3 tests/lib/prom-check.py <"$TMP/out" >"$TMP/samples" 2>"$TMP/perr" ||
	fail "$(cat "$TMP/perr")"
d="donor=\"127.0.0.1:$PORT\""
expect_in "$TMP/samples" "rmem_donor_pool_bytes{$d} 16777216"
expect_in "$TMP/samples" "rmem_donor_reads_total{$d} 0"
expect_in "$TMP/samples" "rmem_donor_pool_locked{$d} 0"

# a self-test of 4 MiB: 1024 frames written and read back at least once
expect_exit 0 "$RMEMCTL" "${K[@]}" check "127.0.0.1:$PORT" --size 4M
expect_exit 0 "$RMEMCTL" "${K[@]}" stats "127.0.0.1:$PORT" --prometheus
/usr/bin/python3 tests/lib/prom-check.py <"$TMP/out" >"$TMP/samples" 2>"$TMP/perr" ||
	fail "$(cat "$TMP/perr")"
value() { sed -n "s/^$1{$d} //p" "$TMP/samples"; }
awk -v r="$(value rmem_donor_reads_total)" -v w="$(value rmem_donor_writes_total)" \
	-v b="$(value rmem_donor_received_bytes_total)" \
	'BEGIN { exit !(r >= 1024 && w >= 1024 && b >= 4194304) }' ||
	fail "counters after check: $(grep -E 'reads|writes|bytes' "$TMP/samples")"

# a wrong key is counted, and --json with --prometheus is refused
"$RMEMCTL" -q keygen "$TMP/other"
expect_exit 4 "$RMEMCTL" -k "$TMP/other" ping "127.0.0.1:$PORT"
expect_exit 0 "$RMEMCTL" "${K[@]}" stats "127.0.0.1:$PORT" --prometheus
expect_in "$TMP/out" "rmem_donor_auth_failures_total{$d} 1"
expect_exit 2 "$RMEMCTL" "${K[@]}" stats "127.0.0.1:$PORT" --prometheus --json
expect_in "$TMP/err" "not both"
stop_donor
echo PASS
