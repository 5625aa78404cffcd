# Sourced by the FPGA tests: the helpers of tests/integration/lib.sh, and
# FPGA, the directory make fpga builds into (build/fpga).
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
FPGA=build/fpga
RMEM_PLAIN_BUILD=${RMEM_PLAIN_BUILD:-build}

# fpga_requires BIN...: skip unless make fpga built them
fpga_requires() {
	local b
	for b in "$@"; do
		[ -x "$FPGA/$b" ] || { echo "SKIP: $FPGA/$b not built (make fpga)"; exit 77; }
	done
}
