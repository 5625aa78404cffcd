#!/bin/bash
# rmem-poold refuses bad configuration with file, line and reason, and
# the shipped example is valid.
. "$(dirname "$0")/lib.sh"

"$RMEMCTL" -q keygen "$TMP/key"
sed "s#/etc/rmem/key#$TMP/key#" etc/rmem-poold.conf >"$TMP/example.conf"
expect_exit 0 "$POOLD" -t -c "$TMP/example.conf"
expect_in "$TMP/out" "configuration OK (pool 256 MiB, quota 256 MiB, port 7609)"

# a bad value: exit 2, file:line: reason
sed 's/^size = 256M/size = 256Q/' "$TMP/example.conf" >"$TMP/bad.conf"
line=$(grep -n '^size = 256Q' "$TMP/bad.conf" | cut -d: -f1)
expect_exit 2 "$POOLD" -t -c "$TMP/bad.conf"
expect_in "$TMP/err" "rmem-poold: error: $TMP/bad.conf:$line: [pool] size: '256Q' is not a size"

printf '[pool]\nsize = 8M\nsise = 1\n[auth]\nkey_file = %s\n' "$TMP/key" >"$TMP/typo.conf"
expect_exit 2 "$POOLD" -t -c "$TMP/typo.conf"
expect_in "$TMP/err" "$TMP/typo.conf:3: unknown key 'sise' in [pool]"

expect_exit 2 "$POOLD" -t -c "$TMP/nonexistent.conf"
expect_in "$TMP/err" "$TMP/nonexistent.conf: No such file or directory"

# the key file is checked too
printf '[pool]\nsize = 8M\n[auth]\nkey_file = %s/nokey\n' "$TMP" >"$TMP/nokey.conf"
expect_exit 2 "$POOLD" -t -c "$TMP/nokey.conf"
expect_in "$TMP/err" "key file $TMP/nokey: No such file or directory"
echo tiny >"$TMP/tinykey"
printf '[pool]\nsize = 8M\n[auth]\nkey_file = %s/tinykey\n' "$TMP" >"$TMP/tiny.conf"
expect_exit 2 "$POOLD" -t -c "$TMP/tiny.conf"
expect_in "$TMP/err" "key shorter than 16 bytes"

chmod 644 "$TMP/key"
expect_exit 0 "$POOLD" -t -c "$TMP/example.conf"
expect_in "$TMP/err" "is readable by other users"

expect_exit 2 "$POOLD" --bogus
expect_exit 2 "$POOLD" stray-argument
expect_exit 0 "$POOLD" --help
expect_in "$TMP/out" "SIGHUP reloads"

# a port in use: exit 1 with the reason, not a silent death
make_config
start_donor
sed -i "s/^port = 0/port = $PORT/" "$TMP/conf"
expect_exit 1 "$POOLD" -f -c "$TMP/conf"
expect_in "$TMP/err" "cannot listen on 127.0.0.1 port $PORT: Address already in use"
sed -i "s/^port = $PORT/port = 0/" "$TMP/conf"
stop_donor
echo PASS
