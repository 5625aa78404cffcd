#!/bin/bash
# rmem-poold refuses bad configuration with file, line and reason, and
# the shipped example is valid.
. "$(dirname "$0")/lib.sh"

"$RMEMCTL" -q keygen "$TMP/key"
sed "s#/etc/rmem/key#$TMP/key#" etc/rmem-poold.conf >"$TMP/example.conf"
expect_exit 0 "$POOLD" -t -c "$TMP/example.conf"
expect_in "$TMP/out" "configuration OK (pool 256 MiB, quota 256 MiB, port 7609)"
# and so is its commented [client] example, once its key files exist
"$RMEMCTL" -q keygen "$TMP/web1"
"$RMEMCTL" -q keygen "$TMP/web1.next"
sed -e 's/^#\(\[client \|key_file = \|quota = \)/\1/' \
    -e "s#$TMP/keys/#$TMP/#; s#/etc/rmem/keys/#$TMP/#g" "$TMP/example.conf" >"$TMP/client.conf"
grep -q '^\[client web1\]' "$TMP/client.conf" || fail "no [client] example"
expect_exit 0 "$POOLD" -t -c "$TMP/client.conf"
expect_in "$TMP/out" ", 1 named key)"

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
chmod 600 "$TMP/tinykey"
printf '[pool]\nsize = 8M\n[auth]\nkey_file = %s/tinykey\n' "$TMP" >"$TMP/tiny.conf"
expect_exit 2 "$POOLD" -t -c "$TMP/tiny.conf"
expect_in "$TMP/err" "key shorter than 16 bytes"

# a key others may read is refused, at start as with -t; and it is
# refused by the clients too (rmemctl here, librmem and the engine alike)
chmod 644 "$TMP/key"
expect_exit 2 "$POOLD" -t -c "$TMP/example.conf"
expect_in "$TMP/err" "key file $TMP/key: group or others may access it (mode 0644): chmod 600 $TMP/key"
expect_exit 2 "$POOLD" -f -c "$TMP/example.conf"
expect_in "$TMP/err" "group or others may access it"
expect_exit 5 "$RMEMCTL" --key "$TMP/key" ping 127.0.0.1:1
expect_in "$TMP/err" "group or others may access it"
chmod 600 "$TMP/key"
expect_exit 0 "$POOLD" -t -c "$TMP/example.conf"

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

# max_startups: a number or sshd's begin:rate:full, in range
for v in 10:30 0 30:50:20 10:101:20 x -5 10:30:100:5; do
	sed "s/^\[server\]/[server]\nmax_startups = $v/" "$TMP/conf" >"$TMP/ms.conf"
	expect_exit 2 "$POOLD" -t -c "$TMP/ms.conf"
	expect_in "$TMP/err" "[server] max_startups: '$v' is"
done
sed "s/^\[server\]/[server]\nmax_startups = 4:50:9\nsource_startups = 2/" "$TMP/conf" >"$TMP/ms.conf"
expect_exit 0 "$POOLD" -t -c "$TMP/ms.conf"

# every connection the configuration admits needs a descriptor: a limit
# too low for max_clients is refused at start, with what it takes
if command -v prlimit >/dev/null; then
	sed "s/^max_clients = 8/max_clients = 500/" "$TMP/conf" >"$TMP/fd.conf"
	expect_exit 1 prlimit --nofile=100 "$POOLD" -f -c "$TMP/fd.conf"
	expect_in "$TMP/err" "[server] max_clients 500 and max_startups' full 128 need "
	expect_in "$TMP/err" "file descriptors, and RLIMIT_NOFILE allows 100 (hard limit 100): lower them"
	# and -t (systemd's ExecStartPre, under the unit's limit) says so first
	expect_exit 2 prlimit --nofile=100 "$POOLD" -t -c "$TMP/fd.conf"
	expect_in "$TMP/err" "file descriptors, and RLIMIT_NOFILE allows 100"
fi
echo PASS
