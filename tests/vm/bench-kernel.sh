#!/bin/bash
# A smoke run of bench/kernel.sh (--quick): one guest boot swapping to
# /dev/rmem0 (deltas on and off) and /dev/nbd0 through the kernel nbd
# client to nbdkit on this host (nbd-server and zram only in a full
# run, to keep make check short); fio on each device,
# then memhog, wamp-work and redis under memory pressure. Fails unless
# every device ran every workload it should, every swap workload swapped
# out (memhog both ways) and checked its data (memhog's and wamp-work's own checks,
# every redis value read back), and rmem counted no I/O error, and on any
# WARNING/BUG/Oops or I/O error in the guest (kernel_report.py --check).
# Asserts no timing: the figures of a quick run mean nothing.
. "$(dirname "$0")/lib.sh"
exec bench/kernel.sh --quick
