#!/bin/bash
# fio itself, through rmem-fio.so, against a real donor: data verified on
# write-then-read jobs of every shape the engine handles, a job that must
# fail verification (so a pass means the bytes came back), clear errors,
# and the build refusing a fio of another version.
. "$(dirname "$0")/lib.sh"
requires fio

ENGINE=$PWD/${RMEM_PLAIN_BUILD:-build}/rmem-fio.so
[ -f "$ENGINE" ] || fail "$ENGINE is not built (make)"

POOL_SIZE=96M QUOTA=64M make_config
start_donor

# run_fio NAME ARGS...: one job; output in $TMP/out, $TMP/err
run_fio() {
	local name=$1
	shift
	(cd "$TMP" && fio --name="$name" --ioengine="external:$ENGINE" \
		--donor="127.0.0.1:$PORT" --key_file="$TMP/key" \
		--verify_state_save=0 "$@") >"$TMP/out" 2>"$TMP/err"
}

# verified_fio NAME ARGS...: the job must pass and have verified
verified_fio() {
	local name=$1
	run_fio "$@" --verify=crc32c --verify_fatal=1 ||
		fail "fio $name: exit $?: $(cat "$TMP/err" "$TMP/out")"
	grep -q "err= 0" "$TMP/out" || fail "fio $name: $(cat "$TMP/out")"
	# verification reads everything back
	grep -qE "^ +READ: " "$TMP/out" || fail "fio $name read nothing back: $(cat "$TMP/out")"
}

stat_field() {	# donor counter from rmemctl stats --json
	"$RMEMCTL" -k "$TMP/key" stats --json "127.0.0.1:$PORT" |
		sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" | head -n 1
}

reads0=$(stat_field reads)
writes0=$(stat_field writes)

# 4 KiB random writes, 16 in flight, then every block read back and checked
verified_fio randwrite --rw=randwrite --bs=4k --iodepth=16 --size=8M
# 64 KiB sequential over three connections to one region
verified_fio seqwrite --rw=write --bs=64k --iodepth=4 --connections=3 --size=16M
# 256 KiB at iodepth 1: the reply can arrive while the block is still
# being sent, and must not be left waiting for a poll that never fires
verified_fio midblocks --rw=write --bs=256k --iodepth=1 --size=8M
# 2 MiB blocks: larger than a request, so each is split (max 1 MiB)
verified_fio bigblocks --rw=write --bs=2M --iodepth=2 --connections=2 --size=32M
# mixed block sizes and a 70/30 read/write mix, deep queue
verified_fio mixed --rw=randrw --rwmixread=70 --bsrange=4k-32k \
	--iodepth=128 --size=8M
# trim then write: discards travel too, and what is written after is kept
verified_fio trimwrite --rw=trimwrite --bs=16k --iodepth=8 --size=4M

reads1=$(stat_field reads)
writes1=$(stat_field writes)
[ $((writes1 - writes0)) -ge $((8 * 256 + 16 * 16 + 32 * 2 + 4 * 64)) ] ||
	fail "donor counted $((writes1 - writes0)) writes"
[ $((reads1 - reads0)) -ge $((8 * 256 + 16 * 16 + 32 * 2)) ] ||
	fail "donor counted $((reads1 - reads0)) reads"

# A region nobody wrote holds zeros: verification must fail, which shows
# a passing job really compared the bytes that came back.
run_fio unwritten --rw=read --bs=4k --size=1M --verify=crc32c --verify_fatal=1 &&
	fail "verification of an unwritten region passed"
grep -qi "verify" "$TMP/err" "$TMP/out" || fail "no verify failure: $(cat "$TMP/err")"

# every region the jobs opened was released
[ "$(stat_field regions)" = 0 ] || fail "regions left on the donor"

# Clear errors, and nothing lost on the donor
run_fio nosize --rw=read --bs=4k && fail "a job without size= ran"
expect_in "$TMP/err" "rmem: set size="
run_fio badbs --rw=read --bs=6k --size=1M && fail "bs=6k ran"
expect_in "$TMP/err" "not a multiple of 4096"
run_fio toobig --rw=read --bs=4k --size=80M && fail "a job over the quota ran"
expect_in "$TMP/err" "quota"
printf '%064x\n' 1 >"$TMP/wrongkey"
chmod 600 "$TMP/wrongkey"
run_fio wrongkey --rw=read --bs=4k --size=1M --key_file="$TMP/wrongkey" &&
	fail "a wrong key was accepted"
expect_in "$TMP/err" "rmem: "
grep -qi "key" "$TMP/err" || fail "wrong key: $(cat "$TMP/err")"
run_fio nokey --rw=read --bs=4k --size=1M --key_file="$TMP/missing" &&
	fail "a missing key file was accepted"
expect_in "$TMP/err" "$TMP/missing"
stop_donor
run_fio nodonor --rw=read --bs=4k --size=1M && fail "ran without a donor"
expect_in "$TMP/err" "rmem: "
grep -qi "refused\|connect" "$TMP/err" || fail "no donor: $(cat "$TMP/err")"

# The build checks the installed fio's version every time
mkdir -p "$TMP/bin"
printf '#!/bin/sh\necho fio-3.99\n' >"$TMP/bin/fio"
chmod +x "$TMP/bin/fio"
expect_exit 1 env PATH="$TMP/bin:$PATH" scripts/fio-source.sh check 3.33 "$TMP/stamp"
expect_in "$TMP/err" "the installed fio is 3.99, but rmem's engine"
[ -e "$TMP/stamp" ] && fail "a failed check wrote the stamp"
expect_exit 0 scripts/fio-source.sh check "$(fio --version | sed 's/^fio-//')" "$TMP/stamp"
exit 0
