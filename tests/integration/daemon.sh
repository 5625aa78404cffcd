#!/bin/bash
# Without --foreground: the command returns once the donor serves (or with
# the reason it could not), and the pid file names the daemon.
. "$(dirname "$0")/lib.sh"

make_config
sed -i 's/^\[log\]/[log]\ntarget = syslog/' "$TMP/conf"
expect_exit 0 "$POOLD" -c "$TMP/conf" -p "$TMP/pid" --port-file "$TMP/port"
pid=$(cat "$TMP/pid")
PIDS+=("$pid")
kill -0 "$pid" || fail "no daemon with pid $pid"
expect_exit 0 "$RMEMCTL" -k "$TMP/key" ping "127.0.0.1:$(cat "$TMP/port")"

# a second one on the same port reports why it could not start
sed -i "s/^port = 0/port = $(cat "$TMP/port")/" "$TMP/conf"
expect_exit 1 "$POOLD" -c "$TMP/conf"
expect_in "$TMP/err" "Address already in use"

wait_gone "$pid"
[ -e "$TMP/pid" ] && fail "pid file left behind"
echo PASS
