#!/bin/bash
# Named keys, as an operator uses them: [client NAME] sections with two
# key files each (rotation), rmemctl -i / RMEM_KEY_ID / rmemtab keyid=,
# the quota of a key over all its regions, a key that is another's name
# refused, and a HELLO changed on the way (a downgrade) refused by the
# client. The library-level cases (a region bound to its key, revocation
# of a live connection) are in test_donor.
. "$(dirname "$0")/lib.sh"

for k in alice.old alice.new bob; do
	"$RMEMCTL" -q keygen "$TMP/$k" || fail keygen
done
make_config
cat >>"$TMP/conf" <<-EOF
	[client alice]
	key_file = $TMP/alice.old, $TMP/alice.new
	quota = 2M
	[client bob]
	key_file = $TMP/bob
	EOF
expect_exit 0 "$POOLD" -t -c "$TMP/conf"
# one key, one name: bob's file holding alice's key is refused
cp "$TMP/alice.old" "$TMP/bob.copy"
sed "s#key_file = $TMP/bob\$#key_file = $TMP/bob.copy#" "$TMP/conf" >"$TMP/dup.conf"
expect_exit 2 "$POOLD" -t -c "$TMP/dup.conf"
expect_in "$TMP/err" "[client bob] key_file: key file $TMP/bob.copy: the same key as one of [client alice]'s: a key may belong to one name only"
start_donor

# both of alice's keys, by option and by environment
expect_exit 0 "$RMEMCTL" -i alice -k "$TMP/alice.old" ping -c 1 "127.0.0.1:$PORT"
expect_in "$TMP/out" "(protocol 3)"
expect_in "$TMP/poold.log" "authenticated with key alice, protocol 3"
expect_exit 0 env RMEM_KEY_ID=alice "$RMEMCTL" -k "$TMP/alice.new" ping -c 1 "127.0.0.1:$PORT"
# a key under another's name, a named key with no id, no id for [auth]'s
expect_exit 4 "$RMEMCTL" -i bob -k "$TMP/alice.old" ping -c 1 "127.0.0.1:$PORT"
expect_in "$TMP/poold.log" "authentication failed"
expect_exit 4 "$RMEMCTL" -k "$TMP/bob" ping -c 1 "127.0.0.1:$PORT"
expect_exit 4 "$RMEMCTL" -i carol -k "$TMP/bob" ping -c 1 "127.0.0.1:$PORT"
expect_exit 0 "$RMEMCTL" -k "$TMP/key" ping -c 1 "127.0.0.1:$PORT"
expect_in "$TMP/poold.log" "authenticated with key [auth], protocol 3"
# a malformed id never reaches the wire
expect_exit 2 "$RMEMCTL" -i 'bad/id' -k "$TMP/bob" ping "127.0.0.1:$PORT"
expect_in "$TMP/err" "rmemctl: key id 'bad/id'"
expect_exit 2 env RMEM_KEY_ID="$(printf 'x%.0s' $(seq 40))" "$RMEMCTL" -k "$TMP/bob" ping "127.0.0.1:$PORT"
expect_in "$TMP/err" "key id"

# the quota is the key's: 2M for alice, the pool (16M) for bob who names none
expect_exit 0 "$RMEMCTL" -i alice -k "$TMP/alice.new" stats "127.0.0.1:$PORT"
expect_in "$TMP/out" "512 frames (2 MiB) for this key"
expect_exit 0 "$RMEMCTL" -i bob -k "$TMP/bob" stats "127.0.0.1:$PORT"
expect_in "$TMP/out" "4096 frames (16 MiB) for this key"
expect_exit 0 "$RMEMCTL" -q -i alice -k "$TMP/alice.old" check --size 2M "127.0.0.1:$PORT"
expect_exit 1 "$RMEMCTL" -i alice -k "$TMP/alice.old" check --size 3M "127.0.0.1:$PORT"
expect_in "$TMP/err" "the key's regions would exceed its quota"
expect_exit 0 "$RMEMCTL" -q -i bob -k "$TMP/bob" check --size 8M "127.0.0.1:$PORT"

# rmemtab: keyid= goes with key=, listed, checked like -i
printf 'rmem0 127.0.0.1:%s size=2M,key=%s,keyid=alice\n' "$PORT" "$TMP/alice.new" >"$TMP/tab"
expect_exit 0 "$RMEMCTL" tab "$TMP/tab"
expect_in "$TMP/out" ", key id alice"
printf 'rmem0 127.0.0.1:%s size=2M,keyid=a:b\n' "$PORT" >"$TMP/tab"
expect_exit 2 "$RMEMCTL" tab "$TMP/tab"
expect_in "$TMP/err" "$TMP/tab:1: "

# a HELLO rewritten on the way to offer version 2 only: the donor marks
# its nonce, and the client sees that it was talked down and refuses
if command -v python3 >/dev/null; then
	python3 - "$PORT" >"$TMP/proxy.port" 2>"$TMP/proxy.log" <<-'EOF' &
	import socket, sys, threading
	up = int(sys.argv[1])
	ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
	print(ls.getsockname()[1], flush=True)
	ls.settimeout(30)
	c, _ = ls.accept()
	d = socket.create_connection(("127.0.0.1", up))
	def pump(a, b, first):
	    buf = b""
	    while True:
	        x = a.recv(65536)
	        if not x:
	            break
	        if first is not None:
	            buf += x
	            if len(buf) < 36:
	                continue
	            # header 32 bytes, then min_version, max_version (le16)
	            buf = buf[:34] + (2).to_bytes(2, "little") + buf[36:]
	            x, first = buf, None
	        b.sendall(x)
	    b.close()
	t = threading.Thread(target=pump, args=(d, c, None)); t.start()
	pump(c, d, True)
	t.join()
	EOF
	PIDS+=($!)
	wait_until test -s "$TMP/proxy.port" || fail "the proxy did not start"
	expect_exit 6 "$RMEMCTL" -t 3000 -k "$TMP/key" ping -c 1 "127.0.0.1:$(cat "$TMP/proxy.port")"
	expect_in "$TMP/err" "the HELLO was changed on the way (a downgrade); refusing"
else
	echo "SKIP (part): the downgrade proxy needs python3"
fi

# a reload that drops alice's old key refuses it from then on
sed -i "s#key_file = $TMP/alice.old, #key_file = #" "$TMP/conf"
kill -HUP "$DONOR_PID"
wait_until grep -q "configuration reloaded" "$TMP/poold.log" || fail "no reload in the log"
expect_exit 4 "$RMEMCTL" -i alice -k "$TMP/alice.old" ping -c 1 "127.0.0.1:$PORT"
expect_exit 0 "$RMEMCTL" -i alice -k "$TMP/alice.new" ping -c 1 "127.0.0.1:$PORT"
stop_donor

# no [auth] key_file: only named clients; one that names no key is
# refused, and the log says why
sed -e '/^\[auth\]/,/^\[/{/^key_file/d}' "$TMP/conf" >"$TMP/named.conf"
grep -q "^key_file = $TMP/key" "$TMP/named.conf" && fail "sed kept [auth] key_file"
cp "$TMP/named.conf" "$TMP/conf"
start_donor
expect_exit 4 "$RMEMCTL" -k "$TMP/key" ping -c 1 "127.0.0.1:$PORT"
expect_in "$TMP/poold.log" "authentication failed: no [auth] key_file, and the client names no key id"
expect_exit 0 "$RMEMCTL" -i bob -k "$TMP/bob" ping -c 1 "127.0.0.1:$PORT"
stop_donor
echo PASS
