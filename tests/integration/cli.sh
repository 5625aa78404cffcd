#!/bin/bash
# rmemctl against a real donor: every documented exit code, and output a
# script can read.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$RMEMCTL" --help
expect_in "$TMP/out" "Exit status:"
expect_exit 2 "$RMEMCTL"
expect_exit 2 "$RMEMCTL" frobnicate
expect_in "$TMP/err" "unknown command 'frobnicate'"
expect_exit 0 "$RMEMCTL" --version

# keygen: a 0600 file of 64 hex digits; never overwrites
expect_exit 0 "$RMEMCTL" keygen "$TMP/k1"
[ "$(stat -c %a "$TMP/k1")" = 600 ] || fail "key file mode $(stat -c %a "$TMP/k1")"
grep -qxE '[0-9a-f]{64}' "$TMP/k1" || fail "key file content: $(cat "$TMP/k1")"
expect_exit 1 "$RMEMCTL" keygen "$TMP/k1"
expect_in "$TMP/err" "File exists"

make_config
start_donor

expect_exit 0 "$RMEMCTL" -k "$TMP/key" ping -c 3 "127.0.0.1:$PORT"
expect_in "$TMP/out" "3 pings to 127.0.0.1:$PORT (protocol 3)"
# options after DONOR, as the usage writes them (GNU getopt permutes)
expect_exit 0 "$RMEMCTL" -k "$TMP/key" ping "127.0.0.1:$PORT" -c 2
expect_in "$TMP/out" "2 pings to 127.0.0.1:$PORT"
RMEM_KEY_FILE=$TMP/key expect_exit 0 "$RMEMCTL" -q ping "localhost:$PORT"
[ -s "$TMP/out" ] && fail "-q printed: $(cat "$TMP/out")"

expect_exit 0 "$RMEMCTL" -k "$TMP/key" stats "127.0.0.1:$PORT"
expect_in "$TMP/out" "pool           4096 frames (16 MiB)"
expect_in "$TMP/out" "quota          1024 frames (4 MiB) for this key"
expect_in "$TMP/out" "fenced         0 stale connections"
expect_exit 0 "$RMEMCTL" -k "$TMP/key" stats --json "127.0.0.1:$PORT"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['pool_frames']==4096 and d['quota_frames']==1024 and d['requests']['errors']>=0 and d['fenced']==0" "$TMP/out" ||
	fail "stats --json: $(cat "$TMP/out")"

# the end-to-end self-test, and its refusal past the quota
expect_exit 0 "$RMEMCTL" -k "$TMP/key" check --size 2M "127.0.0.1:$PORT"
expect_in "$TMP/out" "every byte verified"
expect_in "$TMP/out" "check passed: region released"
expect_exit 1 "$RMEMCTL" -k "$TMP/key" check --size 8M "127.0.0.1:$PORT"
expect_in "$TMP/err" "the key's regions would exceed its quota (E_QUOTA)"
expect_exit 2 "$RMEMCTL" -k "$TMP/key" check --size 5000 "127.0.0.1:$PORT"

# the documented failure codes
"$RMEMCTL" -q keygen "$TMP/other"
expect_exit 4 "$RMEMCTL" -k "$TMP/other" ping "127.0.0.1:$PORT"
expect_in "$TMP/err" "refused the key"
expect_exit 5 "$RMEMCTL" -k "$TMP/missing" ping "127.0.0.1:$PORT"
expect_in "$TMP/err" "$TMP/missing: No such file or directory"
echo short >"$TMP/short"
expect_exit 5 "$RMEMCTL" -k "$TMP/short" ping "127.0.0.1:$PORT"
expect_exit 2 "$RMEMCTL" -k "$TMP/key" ping "127.0.0.1:99999"
expect_in "$TMP/err" "bad port"
expect_exit 2 "$RMEMCTL" -k "$TMP/key" ping -c 0 "127.0.0.1:$PORT"
# attach's queues, refused before anything is opened (no module needed)
expect_exit 2 "$RMEMCTL" -k "$TMP/key" attach "127.0.0.1:$PORT" --size 16M --queues 16 --read-queues 1
expect_exit 2 "$RMEMCTL" -k "$TMP/key" attach "127.0.0.1:$PORT" --size 16M --read-queues 16
expect_exit 2 "$RMEMCTL" -k "$TMP/key" attach "127.0.0.1:$PORT" --size 16M --read-queues x
expect_exit 2 "$RMEMCTL" -k "$TMP/key" ping
expect_exit 3 "$RMEMCTL" -k "$TMP/key" -t 2000 ping "no-such-host.invalid"
expect_in "$TMP/err" "cannot resolve donor"

stop_donor
expect_exit 3 "$RMEMCTL" -k "$TMP/key" ping "127.0.0.1:$PORT"
expect_in "$TMP/err" "Connection refused"
echo PASS
