# Sourced by the shell tests (nbdkit/blktests style). Gives:
#   requires CMD       skip (exit 77) unless CMD exists
#   make_config [KEY=VALUE...]  key file and config in $TMP (port 0)
#   start_donor [BIN]  rmem-poold in the foreground, $PORT once it serves
#   stop_donor         SIGTERM, and a clean exit within 20 s
#   wait_gone PID      SIGTERM, and gone within 20 s
#   wait_until CMD...  poll CMD (up to 5 s) until it succeeds
#   expect_exit N CMD...  run CMD, fail unless it exits N; output in
#                      $TMP/out and $TMP/err
# Every process started here is killed and $TMP removed on exit, pass or
# fail (RMEM_KEEP_TMP=1 keeps $TMP, and names it, for a post-mortem).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${RMEM_BUILD:-build/san}
# absolute: a test may run them from a directory of its own
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
POOLD=$BUILD/rmem-poold
RMEMCTL=$BUILD/rmemctl
TMP=$(mktemp -d /tmp/rmem-sh.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	if [ -n "${RMEM_KEEP_TMP:-}" ]; then
		echo "kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -s "$TMP/poold.log" ]; then
		echo "--- donor log (last 20 lines)" >&2
		tail -n 20 "$TMP/poold.log" >&2
	fi
	exit 1
}

requires() {
	command -v "$1" >/dev/null 2>&1 || { echo "SKIP: requires $1"; exit 77; }
}

expect_exit() {
	local want=$1 got
	shift
	"$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	[ "$got" = "$want" ] ||
		fail "'$*' exited $got, expected $want; stderr: $(cat "$TMP/err")"
}

# expect_in FILE TEXT: FILE must contain TEXT
expect_in() {
	grep -qF -- "$2" "$1" || fail "expected '$2' in $1, got: $(cat "$1")"
}

make_config() {
	[ -f "$TMP/key" ] || "$RMEMCTL" -q keygen "$TMP/key" || fail keygen
	cat >"$TMP/conf" <<-EOF
	[server]
	listen = 127.0.0.1
	port = 0
	max_clients = 8
	[pool]
	size = ${POOL_SIZE:-16M}
	lock = ${LOCK:-no}
	[auth]
	key_file = $TMP/key
	quota = ${QUOTA:-4M}
	[log]
	level = debug
	EOF
}

start_donor() {
	local bin=${1:-$POOLD} i
	rm -f "$TMP/port"
	"$bin" -f -c "$TMP/conf" --port-file "$TMP/port" 2>"$TMP/poold.log" &
	DONOR_PID=$!
	PIDS+=("$DONOR_PID")
	for i in $(seq 600); do
		[ -s "$TMP/port" ] && break
		kill -0 "$DONOR_PID" 2>/dev/null || fail "rmem-poold did not start"
		sleep 0.05
	done
	[ -s "$TMP/port" ] || fail "rmem-poold did not start in 30 s"
	PORT=$(cat "$TMP/port")
}

# wait_until CMD...: poll until CMD succeeds; the caller then asserts what
# it waited for, so a timeout fails with the real message
wait_until() {
	local i
	for i in $(seq 100); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# wait_gone PID: SIGTERM it, and fail unless it is gone within 20 s
wait_gone() {
	local i
	kill -TERM "$1"
	for i in $(seq 400); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	fail "process $1 ignored SIGTERM"
}

stop_donor() {
	local rc
	wait_gone "$DONOR_PID"
	wait "$DONOR_PID"
	rc=$?
	[ "$rc" = 0 ] || fail "rmem-poold exited $rc after SIGTERM"
	grep -qE 'Sanitizer|runtime error' "$TMP/poold.log" &&
		fail "sanitizer report in the donor log"
	return 0
}
