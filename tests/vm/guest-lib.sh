# Shell functions for the guest scripts: tests/vm/lib.sh puts this file
# in front of every script it runs in a guest. Not a test by itself.
#
#   guest_donor SIZE     start rmem-poold lending SIZE, locked, on a port
#                        the kernel picks, with /tmp/key (made if missing);
#                        sets DONOR (its pid) and D (127.0.0.1:PORT)
#   guest_host_donor     use the donor on the host (vm_host_donor): sets D
#                        and /tmp/key
#   guest_swap_tuning    the sysctls a guest needs to swap to a donor in
#                        the same guest
#   step TEXT            "T+SECONDS TEXT": the guest's uptime, to see
#                        where a slow run spends its time
#   column FILE N        field N of FILE: a counter of sysfs "stat" or
#                        "delta", numbered as the ABI file numbers them
#   debug_scaled N D     N, or D under the debug kernel (VM_DEBUG=1, set
#                        by tests/vm/lib.sh): a workload scaled to its
#                        speed, still past the guest's RAM where it swaps

debug_scaled() {
	if [ "${VM_DEBUG:-0}" = 1 ]; then echo "$2"; else echo "$1"; fi
}

column() {
	awk -v c="$2" '{ print $c }' "$1"
}

step() {
	echo "T+$(cut -d' ' -f1 /proc/uptime) $*"
}

# the donor tests/vm/lib.sh's vm_host_donor started on the host
guest_host_donor() {
	[ -f /rmem/donor ] || { echo "FAIL: no host donor given to this guest"; exit 1; }
	cp /rmem/key /tmp/key
	D=$(cat /rmem/donor)
}

guest_donor() {
	[ -f /tmp/key ] || rmemctl -q keygen /tmp/key
	rm -f /tmp/port
	printf '[server]\nlisten = 127.0.0.1\nport = 0\n[pool]\nsize = %s\nlock = yes\n[auth]\nkey_file = /tmp/key\n' "$1" >/tmp/conf
	# the donor logs to the console: a log file on this guest's tmpfs could
	# be swapped out to the donor itself, and writing it would then wait on
	# the donor (Documentation/admin-guide/rmem.rst, "Donor and client on one host")
	rmem-poold -f -c /tmp/conf --port-file /tmp/port &
	DONOR=$!
	while [ ! -s /tmp/port ]; do sleep 0.1; done
	D=127.0.0.1:$(cat /tmp/port)
}

# The donor runs in this guest, so its socket takes the skbs the swap
# path allocated from the memory reserves, and TCP drops those for a
# socket that is not memalloc. Reclaim that starts early and a larger
# reserve keep allocations off the reserves; across two hosts this is
# moot (Documentation/admin-guide/rmem.rst, "Donor and client on one host").
guest_swap_tuning() {
	echo 32768 >/proc/sys/vm/min_free_kbytes
	echo 1000 >/proc/sys/vm/watermark_scale_factor
}
