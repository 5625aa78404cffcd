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

# The pid file is never written through a symbolic link (a root daemon
# told to write where a link in a shared directory points), and one a
# running daemon holds is not taken over: the second says who has it.
sed -i "s/^port = [0-9]*/port = 0/" "$TMP/conf"
ln -s "$TMP/victim" "$TMP/link.pid"
expect_exit 1 "$POOLD" -c "$TMP/conf" -p "$TMP/link.pid"
expect_in "$TMP/err" "pid file $TMP/link.pid: Too many levels of symbolic links (a symbolic link: refused)"
[ -e "$TMP/victim" ] && fail "the pid file's link was followed"
echo precious >"$TMP/victim"
ln "$TMP/victim" "$TMP/hard.pid"
expect_exit 1 "$POOLD" -c "$TMP/conf" -p "$TMP/hard.pid"
expect_in "$TMP/err" "pid file $TMP/hard.pid: has other hard links (refused"
[ "$(cat "$TMP/victim")" = precious ] || fail "a hard-linked pid file was written"
expect_exit 0 "$POOLD" -c "$TMP/conf" -p "$TMP/pid"
pid=$(cat "$TMP/pid")
PIDS+=("$pid")
expect_exit 1 "$POOLD" -c "$TMP/conf" -p "$TMP/pid"
expect_in "$TMP/err" "pid file $TMP/pid: held by a running rmem-poold (pid $pid)"
[ "$(cat "$TMP/pid")" = "$pid" ] || fail "the second daemon overwrote the pid file"
wait_gone "$pid"

# Relative paths (-c, key_file, -p) name the same files after the
# daemon's chdir("/"): a SIGHUP re-reads them, and the pid file goes at
# exit. The reload is seen in the quota it changes.
mkdir "$TMP/rel"
cp "$TMP/key" "$TMP/rel/key"
sed -e "s|^key_file = .*|key_file = key|" -e "s|^quota = .*|quota = 4M|" \
	"$TMP/conf" >"$TMP/rel/conf"
(cd "$TMP/rel" && "$POOLD" -c conf -p pid --port-file port) || fail "a relative start"
pid=$(cat "$TMP/rel/pid")
PIDS+=("$pid")
port=$(cat "$TMP/rel/port")
expect_exit 0 "$RMEMCTL" -k "$TMP/key" stats "127.0.0.1:$port"
expect_in "$TMP/out" "quota          1024 frames"
sed -i "s|^quota = .*|quota = 8M|" "$TMP/rel/conf"
kill -HUP "$pid"
wait_until sh -c "'$RMEMCTL' -k '$TMP/key' stats 127.0.0.1:$port | grep -q 'quota          2048 frames'"
expect_exit 0 "$RMEMCTL" -k "$TMP/key" stats "127.0.0.1:$port"
expect_in "$TMP/out" "quota          2048 frames"
wait_gone "$pid"
[ -e "$TMP/rel/pid" ] && fail "a relative pid file left behind"

# The donor holds every client's memory and the key: it is not dumpable,
# so no core file, and no ptrace or /proc/PID/mem by its own user. Run as
# nobody, its /proc files are root's (a dumpable process's are its own,
# which the sleep shows).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 711 "$TMP"
	mkdir -m 700 "$TMP/nb"
	cp "$TMP/key" "$TMP/nb/key"
	sed -e "s|^key_file = .*|key_file = $TMP/nb/key|" "$TMP/conf" >"$TMP/nb/conf"
	chown -R 65534:65534 "$TMP/nb"
	as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	"${as_nobody[@]}" sleep 30 &
	sleeper=$!
	PIDS+=("$sleeper")
	"${as_nobody[@]}" "$POOLD" -f -c "$TMP/nb/conf" --port-file "$TMP/nb/port" 2>"$TMP/nb.log" &
	pid=$!
	PIDS+=("$pid")
	wait_until test -s "$TMP/nb/port"
	[ -s "$TMP/nb/port" ] || fail "the donor did not start as nobody: $(cat "$TMP/nb.log")"
	[ "$(stat -c %u "/proc/$sleeper/environ")" = 65534 ] ||
		fail "a dumpable process's /proc files are not its own: the check below proves nothing"
	[ "$(stat -c %u "/proc/$pid/environ")" = 0 ] ||
		fail "the donor is dumpable: /proc/$pid is its user's"
	wait_gone "$pid"
	kill "$sleeper"
fi

# In the background stderr is /dev/null, so the log goes to syslog even
# with target = stderr, and still after a SIGHUP. Seen through a syslog
# socket of our own, in a mount namespace whose /dev is ours.
if unshare --mount true 2>/dev/null; then
	sed -i "s/^target = syslog/target = stderr/" "$TMP/conf"
	cat >"$TMP/syslog.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(60)
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        try:
            out.write(s.recv(65536) + b"\n")
        except socket.timeout:
            break
PY
	unshare --mount --propagation private bash -c '
		set -e
		mount -t tmpfs tmpfs /dev
		mknod -m 666 /dev/null c 1 3
		python3 "$1/syslog.py" "$1/syslog" & logger=$!
		for i in $(seq 100); do [ -S /dev/log ] && break; sleep 0.1; done
		"$2" -c "$1/conf" -p "$1/ns.pid" --port-file "$1/ns.port"
		pid=$(cat "$1/ns.pid")
		for i in $(seq 100); do grep -q "serving" "$1/syslog" 2>/dev/null && break; sleep 0.1; done
		kill -HUP "$pid"
		for i in $(seq 100); do grep -q "configuration reloaded" "$1/syslog" 2>/dev/null && break; sleep 0.1; done
		kill "$pid"
		for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		sleep 0.5
		kill "$logger"
	' ns "$TMP" "$POOLD" || fail "the syslog namespace"
	grep -q "serving" "$TMP/syslog" || fail "no start-up log in syslog: $(cat "$TMP/syslog")"
	grep -q "configuration reloaded" "$TMP/syslog" ||
		fail "after SIGHUP the daemon's log went nowhere: $(cat "$TMP/syslog")"
	# the same file again is no change, port = 0 included
	grep -q "takes a restart" "$TMP/syslog" &&
		fail "a reload of the same file wants a restart: $(cat "$TMP/syslog")"
	grep -q "drained; exiting" "$TMP/syslog" ||
		fail "the daemon's last words after SIGHUP went nowhere: $(cat "$TMP/syslog")"
else
	echo "no mount namespace here: the syslog-after-SIGHUP case skipped"
fi
echo PASS
