#!/bin/bash
# rmem-poold under systemd (rmem-poold.service, Type=notify): READY=1 once
# it serves, WATCHDOG=1 every tick when WatchdogSec= is set, RELOADING=1
# then READY=1 around a SIGHUP (a failed reload too), STOPPING=1 on
# SIGTERM; log lines carry their priority when stderr is the journal's
# stream, rmemctl's too. systemd's end is played by a datagram socket, which is what
# NOTIFY_SOCKET names (sd_notify(3)); the daemon's end is libsystemd's.
# The boot of the packaged unit under a real systemd is tests/vm/packages.
. "$(dirname "$0")/lib.sh"
requires python3

# each datagram as one line, its fields joined by " | "; ends by itself
listen_notify() {
	python3 - "$1" "$2" <<-'EOF' &
	import socket, sys, time
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sys.argv[1])
	s.settimeout(0.2)
	end = time.time() + 120
	with open(sys.argv[2], "a", buffering=1) as log:
	    while time.time() < end:
	        try:
	            msg = s.recv(4096)
	        except socket.timeout:
	            continue
	        log.write(msg.decode().strip().replace("\n", " | ") + "\n")
	EOF
	NOTIFY_PID=$!
	PIDS+=("$NOTIFY_PID")
	wait_until test -S "$1" || fail "notify listener did not start"
}
count() { grep -c -- "$2" "$1"; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }

make_config
listen_notify "$TMP/notify" "$TMP/notify.log"
: >"$TMP/poold.log"
export NOTIFY_SOCKET=$TMP/notify WATCHDOG_USEC=2000000
export JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/poold.log")
start_donor
unset NOTIFY_SOCKET WATCHDOG_USEC JOURNAL_STREAM

# ready, with a status line; then the tick feeds the watchdog
wait_until grep -q '^READY=1$' "$TMP/notify.log"
expect_in "$TMP/notify.log" "STATUS=0 clients, 0 of 16 MiB lent"
wait_until at_least "$TMP/notify.log" '^WATCHDOG=1$' 2 ||
	fail "no watchdog pings: $(cat "$TMP/notify.log")"
# journal priorities: <6> is info; no name, the journal records it
expect_in "$TMP/poold.log" "<6>serving 4096 frames"
grep -q '^rmem-poold: ' "$TMP/poold.log" &&
	fail "plain log lines on the journal's stream: $(cat "$TMP/poold.log")"

# SIGHUP: RELOADING=1, then READY=1 again, in that order
kill -HUP "$DONOR_PID"
wait_until at_least "$TMP/notify.log" '^READY=1$' 2 ||
	fail "no READY=1 after SIGHUP: $(cat "$TMP/notify.log")"
grep -E '^(RELOADING|READY)=1' "$TMP/notify.log" | tail -n 2 |
	tr '\n' ' ' | grep -q '^RELOADING=1 | MONOTONIC_USEC=[0-9]* READY=1 $' ||
	fail "reload not announced as RELOADING then READY: $(cat "$TMP/notify.log")"
expect_in "$TMP/poold.log" "<6>configuration reloaded"

# a reload that fails still ends in READY=1, and logs an error (<3>)
echo "quota = lots" >>"$TMP/conf"
kill -HUP "$DONOR_PID"
wait_until at_least "$TMP/notify.log" '^READY=1$' 3 ||
	fail "no READY=1 after a failed reload: $(cat "$TMP/notify.log")"
expect_in "$TMP/poold.log" "<3>reload: $TMP/conf:"
sed -i '$d' "$TMP/conf"

# SIGTERM: STOPPING=1 and a clean exit
stop_donor
expect_in "$TMP/notify.log" "STOPPING=1"
expect_in "$TMP/notify.log" "STATUS=draining: "

# not the journal's stream: plain lines; a watchdog too short for the
# one-second tick is named
: >"$TMP/notify.log"
export NOTIFY_SOCKET=$TMP/notify WATCHDOG_USEC=500000
start_donor
unset NOTIFY_SOCKET WATCHDOG_USEC
wait_until grep -q '^READY=1$' "$TMP/notify.log"
expect_in "$TMP/poold.log" "rmem-poold: warning: systemd watchdog every 500 ms"
expect_in "$TMP/poold.log" "rmem-poold: info: serving 4096 frames"
stop_donor

# not started by systemd: nothing sent, no watchdog named
: >"$TMP/notify.log"
start_donor
stop_donor
[ -s "$TMP/notify.log" ] && fail "notified without NOTIFY_SOCKET: $(cat "$TMP/notify.log")"
grep -q watchdog "$TMP/poold.log" && fail "a watchdog without WATCHDOG_USEC"
# rmemctl (rmem@.service's supervisor): its stderr lines are errors,
# <3>, or warnings, <4>, on the journal's stream; plain otherwise
: >"$TMP/ctl.err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/ctl.err") "$RMEMCTL" -k "$TMP/missing" \
	ping 127.0.0.1:1 2>>"$TMP/ctl.err"
grep -q '^<3>rmemctl: key file .*missing' "$TMP/ctl.err" ||
	fail "rmemctl's error on the journal's stream: $(cat "$TMP/ctl.err")"
"$RMEMCTL" -k "$TMP/missing" ping 127.0.0.1:1 2>"$TMP/ctl.err"
grep -q '^rmemctl: key file' "$TMP/ctl.err" || fail "rmemctl's plain error: $(cat "$TMP/ctl.err")"
kill "$NOTIFY_PID"
wait "$NOTIFY_PID" 2>/dev/null
echo PASS
