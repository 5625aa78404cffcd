#!/bin/bash
# The README's first command: the whole donor stack on this one machine.
# Starts rmem-poold on loopback with the shipped example configuration
# (a fresh key, a 64 MiB pool, a port the kernel picks), then shows what an
# operator does with it: rmemctl ping, an end-to-end check that writes,
# reads back and verifies every byte, and the donor's counters. The donor
# is stopped (SIGTERM, clean drain) whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
tmp=$(mktemp -d /tmp/rmem-demo.XXXXXX)
pid=
finish() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" || true
	if [ -s "$tmp/poold.log" ]; then
		echo
		echo "== donor log"
		cat "$tmp/poold.log"
	fi
	rm -rf "$tmp"
}
trap finish EXIT

say() { printf '\n== %s\n' "$*"; }

say "a shared key (copy the same file to donor and clients)"
"$BUILD/rmemctl" keygen "$tmp/key"

say "rmem-poold with etc/rmem-poold.conf (key, 64M pool, any free port)"
sed -e "s#^key_file = .*#key_file = $tmp/key#" -e 's/^port = .*/port = 0/' \
    -e 's/^size = .*/size = 64M/' -e 's/^quota = .*/quota = 32M/' \
    etc/rmem-poold.conf >"$tmp/rmem-poold.conf"
[ "$(id -u)" = 0 ] || sed -i 's/^lock = yes/lock = no/' "$tmp/rmem-poold.conf"
"$BUILD/rmem-poold" -f -c "$tmp/rmem-poold.conf" --port-file "$tmp/port" \
	2>"$tmp/poold.log" &
pid=$!
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "rmem-poold did not start" >&2; exit 1; }
donor=127.0.0.1:$(cat "$tmp/port")
echo "donor listening on $donor"

export RMEM_KEY_FILE=$tmp/key
say "rmemctl ping $donor"
"$BUILD/rmemctl" ping "$donor"
say "rmemctl check --size 32M $donor"
"$BUILD/rmemctl" check --size 32M "$donor"
say "rmemctl stats $donor"
"$BUILD/rmemctl" stats "$donor"
