#!/bin/bash
# rmemtab(5) and its systemd generator, on this host: rmemctl tab checks
# a file (FILE:LINE: reason, exit 2, for every kind of bad line) and lists
# it; --generate writes rmem@NAME.service wants, and for a swap line a
# swap unit after it and its mkswap drop-in, which systemd-analyze
# verifies against the template; attach /dev/rmemN finds its line. The
# boot itself, under systemd, is tests/vm/packages.sh; attaching a named
# device in a kernel is tests/vm/control.sh.
. "$(dirname "$0")/lib.sh"

cat >"$TMP/tab" <<-'EOT'
	# a comment, and a blank line

	rmem0  donor1:7609     size=64M,spare=16M,queues=2,read-queues=1,swap,pri=100  # trailing
	/dev/rmem3 [fd00::2]   size=1G,noauto,key=/etc/rmem/k#1,timeout-ms=5000,swap
	EOT
expect_exit 0 "$RMEMCTL" tab "$TMP/tab"
expect_in "$TMP/out" "/dev/rmem0 donor1:7609 64 MiB (and 16 MiB for bases), 3 queues (1 for reads), swap (priority 100)"
# a '#' inside a value is the value's
expect_in "$TMP/out" "/dev/rmem3 [fd00::2] 1024 MiB, 1 queue, swap, key /etc/rmem/k#1, not at boot"

# every bad line: its file, its line, the reason; and exit 2
bad() {	# LINE REASON
	printf '# first\n%s\n' "$1" >"$TMP/bad"
	expect_exit 2 "$RMEMCTL" tab "$TMP/bad"
	expect_in "$TMP/err" "rmemctl: $TMP/bad:2: $2"
}
bad "rmem0 donor1" "too few fields"
bad "rmem0 donor1 size=1G extra" "too many fields"
bad "sda donor1 size=1G" "'sda' is not an rmem device name (rmemN)"
bad "0 donor1 size=1G" "'0' is not an rmem device name (rmemN)"
bad "rmem007 donor1 size=1G" "'rmem007' is not an rmem device name (rmemN)"
bad "rmem0 $(printf 'd%.0s' $(seq 128)) size=1G" "donor name longer than 127 characters"
bad "rmem0 donor1 size=1G,queues=2,size=2G" "size given twice"
bad "rmem0 donor1 size=1G,swap,swap" "swap given twice"
bad "rmem0 donor1 spare=1G" "rmem0 has no size="
bad "rmem0 donor1 size=1Q" "bad size '1Q'"
bad "rmem0 donor1 size=1000" "bad size '1000' (a multiple of 4K"
bad "rmem0 donor1 size=1G,queues=0" "queues takes 1..16, not '0'"
bad "rmem0 donor1 size=1G,queues=10,read-queues=10" "queues and read-queues make more than 16 connections"
bad "rmem0 donor1 size=1G,timeout-ms=5" "bad timeout-ms '5'"
bad "rmem0 donor1 size=1G,colour=blue" "unknown option 'colour'"
bad "rmem0 donor1 size=1G,device=rmem2" "unknown option 'device'"
bad "rmem0 donor1 size=1G,swap=yes" "swap takes no value"
bad "rmem0 donor1 size=1G,pri=5" "pri= without swap"
bad "rmem0 donor1 size=1G,swap,pri=99999" "pri takes 0..32767"
bad "rmem0 donor1 size=1G,key=relative" "key takes an absolute path"
bad "rmem0 donor1 size=" "size needs a value (size=...)"
printf 'rmem1 a size=1G\nrmem1 b size=2G\n' >"$TMP/bad"
expect_exit 2 "$RMEMCTL" tab "$TMP/bad"
expect_in "$TMP/err" "$TMP/bad:2: rmem1 is on line 1 too"
# 64 devices, and a comment after them, are a table; 65 are not
for i in $(seq 0 63); do echo "rmem$i donor1 size=1G"; done >"$TMP/big"
echo "# the end" >>"$TMP/big"
expect_exit 0 "$RMEMCTL" tab "$TMP/big"
echo "rmem64 donor1 size=1G" >>"$TMP/big"
expect_exit 2 "$RMEMCTL" tab "$TMP/big"
expect_in "$TMP/err" "$TMP/big:66: more than 64 devices"
expect_exit 1 "$RMEMCTL" tab "$TMP/missing"
expect_in "$TMP/err" "$TMP/missing: No such file or directory"

# the generator: nothing for a bad file, units for a good one
mkdir "$TMP/gen-bad" "$TMP/gen"
expect_exit 2 "$RMEMCTL" -q tab --generate "$TMP/gen-bad" "$TMP/bad"
expect_in "$TMP/err" "rmem-generator: $TMP/bad:2:"
[ -z "$(ls -A "$TMP/gen-bad")" ] || fail "units generated from a bad file: $(ls -R "$TMP/gen-bad")"
expect_exit 0 "$RMEMCTL" -q tab --generate "$TMP/gen" "$TMP/tab"
g=$TMP/gen
case $(readlink "$g/remote-fs.target.wants/rmem@rmem0.service") in
*/lib/systemd/system/rmem@.service) ;;
*) fail "rmem@rmem0.service's wants link: $(readlink "$g/remote-fs.target.wants/rmem@rmem0.service")" ;;
esac
[ "$(readlink "$g/remote-fs.target.wants/dev-rmem0.swap")" = ../dev-rmem0.swap ] ||
	fail "dev-rmem0.swap is not wanted by remote-fs.target"
[ ! -e "$g/remote-fs.target.wants/rmem@rmem3.service" ] &&
	[ ! -e "$g/remote-fs.target.wants/dev-rmem3.swap" ] || fail "a noauto line is started at boot"
# ... but its units are there, for systemctl start rmem@rmem3
[ -f "$g/dev-rmem3.swap" ] && [ -f "$g/rmem@rmem3.service.d/swap.conf" ] ||
	fail "a noauto swap line has no swap unit or drop-in"
for l in "What=/dev/rmem0" "Priority=100" "DefaultDependencies=no" \
	 "Requires=rmem@rmem0.service" "After=rmem@rmem0.service" \
	 "Conflicts=umount.target" "SourcePath=$TMP/tab"; do
	expect_in "$g/dev-rmem0.swap" "$l"
done
expect_in "$g/rmem@rmem0.service.d/swap.conf" "ExecStartPost=/sbin/mkswap --label rmem0 /dev/rmem0"
# a start by hand (or a restart) swaps on it too
expect_in "$g/rmem@rmem0.service.d/swap.conf" "Wants=dev-rmem0.swap"

# systemd-analyze verifies them with the template (its paths made this
# tree's, which has no /usr/sbin/rmemctl)
if command -v systemd-analyze >/dev/null; then
	mkdir "$TMP/units"
	sed "s|/usr/sbin/rmemctl|$RMEMCTL|" etc/systemd/rmem@.service >"$TMP/units/rmem@.service"
	cp -r "$g"/. "$TMP/units/"
	(cd "$TMP/units" && SYSTEMD_UNIT_PATH=$TMP/units: systemd-analyze verify --man=no \
		dev-rmem0.swap rmem@rmem0.service) >"$TMP/verify" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$TMP/verify")"
	[ -s "$TMP/verify" ] && fail "systemd-analyze verify: $(cat "$TMP/verify")"
fi

# attach /dev/rmemN: its line, or a clear refusal
expect_exit 2 "$RMEMCTL" attach /dev/rmem7 --tab "$TMP/tab"
expect_in "$TMP/err" "no rmem7 in $TMP/tab"
expect_exit 2 "$RMEMCTL" attach /dev/rmem0 --tab "$TMP/bad"
expect_in "$TMP/err" "$TMP/bad:2:"
expect_exit 2 "$RMEMCTL" attach /dev/rmem0 --tab "$TMP/tab" --device rmem1
expect_in "$TMP/err" "--device and /dev/rmem0 name two devices"
expect_exit 2 "$RMEMCTL" attach donor1 --size 1G --device sda
expect_in "$TMP/err" "bad device 'sda'"
# the table's line, or the command line's options: not both
expect_exit 2 "$RMEMCTL" attach /dev/rmem0 --tab "$TMP/tab" --queues 8
expect_in "$TMP/err" "only --tab and --persist go with it"
expect_exit 2 "$RMEMCTL" attach /dev/rmem0 --size 1G
expect_in "$TMP/err" "only --tab and --persist go with it"
expect_exit 2 "$RMEMCTL" attach donor1 --size 1G --tab "$TMP/tab"
expect_in "$TMP/err" "--tab goes with attach /dev/rmemN"
# detach --if-present: a device that is not there is no error
expect_exit 0 "$RMEMCTL" detach --if-present /dev/rmem77
expect_exit 2 "$RMEMCTL" detach --if-present
expect_in "$TMP/err" "usage: rmemctl detach [--if-present] /dev/rmemN"
echo PASS
