#!/bin/bash
# SIGHUP reloads what may change and keeps serving through a bad reload;
# SIGTERM drains and exits 0. Uses the plain (unsanitized) build with
# lock = yes, to show the pool really is locked.
. "$(dirname "$0")/lib.sh"
PLAIN=${RMEM_PLAIN_BUILD:-build}

LOCK=yes QUOTA=4M make_config
start_donor "$PLAIN/rmem-poold"
K=(-k "$TMP/key")

expect_exit 0 "$RMEMCTL" "${K[@]}" stats "127.0.0.1:$PORT"
if [ "$(id -u)" = 0 ]; then
	expect_in "$TMP/out" ", locked"
fi
expect_in "$TMP/out" "quota          1024 frames"

# a good reload: the new quota is served at once
sed -i 's/^quota = 4M/quota = 8M/' "$TMP/conf"
kill -HUP "$DONOR_PID"
quota_is() {
	"$RMEMCTL" "${K[@]}" stats "127.0.0.1:$PORT" >"$TMP/out" 2>&1 &&
		grep -q "quota          $1 frames" "$TMP/out"
}
wait_until quota_is 2048
expect_in "$TMP/out" "quota          2048 frames"
expect_in "$TMP/poold.log" "configuration reloaded"

# a bad reload: logged, the old configuration kept, still serving
echo "quota = lots" >>"$TMP/conf"
kill -HUP "$DONOR_PID"
wait_until grep -q "keeping the running configuration" "$TMP/poold.log"
expect_in "$TMP/poold.log" "reload: $TMP/conf:"
expect_in "$TMP/poold.log" "keeping the running configuration"
expect_exit 0 "$RMEMCTL" "${K[@]}" stats "127.0.0.1:$PORT"
expect_in "$TMP/out" "quota          2048 frames"

# a key that needs a restart is named
sed -i '$d' "$TMP/conf"
sed -i 's/^size = 16M/size = 32M/' "$TMP/conf"
kill -HUP "$DONOR_PID"
wait_until grep -q "takes a restart" "$TMP/poold.log"
expect_in "$TMP/poold.log" "[pool] size changed; that takes a restart"

# a new key takes effect for new connections
mv "$TMP/key" "$TMP/old-key"
"$RMEMCTL" -q keygen "$TMP/key"
kill -HUP "$DONOR_PID"
reloads_at_least() {
	[ "$(grep -c 'configuration reloaded' "$TMP/poold.log")" -ge "$1" ]
}
wait_until reloads_at_least 3
expect_exit 4 "$RMEMCTL" -k "$TMP/old-key" ping "127.0.0.1:$PORT"
expect_exit 0 "$RMEMCTL" "${K[@]}" ping "127.0.0.1:$PORT"

stop_donor
expect_in "$TMP/poold.log" "drained; exiting"
echo PASS
