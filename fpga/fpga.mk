# The FPGA part, included by the top Makefile. Everything lands in
# build/fpga/ (plain builds only: Verilator's C++ is not run under ASan).
#
#   make fpga          the C model, its CLI, the Verilator benches
#   make fpga-lint     verilator --lint-only -Wall on every RTL file
#   make fpga-synth    yosys on the tracker and the fetch engine; the
#                      report replaces its section of fpga/README.md

FPGA_OUT   := build/fpga
FPGA_DEFS  := $(FPGA_OUT)/rmem_fpga_defs.vh
FPGA_HDR   := include/uapi/linux/rmem_fpga.h
FPGA_RTL   := $(wildcard fpga/rtl/*.v)
FPGA_INC   := -I$(FPGA_OUT) -Ifpga/rtl
FPGA_MODEL := $(FPGA_OUT)/rmem_model.o
VERILATOR  ?= verilator
VFLAGS     := --cc --exe --build -j 2 -Wall $(FPGA_INC) \
	      -CFLAGS "-I$(CURDIR)/include/uapi -I$(CURDIR)/fpga/model -I$(CURDIR)/userspace/lib -O1" \
	      -LDFLAGS "$(CURDIR)/$(FPGA_MODEL) $(CURDIR)/$(LIBRMEM_A) $(LDLIBS_LIB)"

# the tracker bench at the RTL's defaults, and with filters small enough
# that collisions, saturation and a full ring happen all the time
TRK_SMALL := -GLINE_ORDER=6 -GLINE_HASHES=2 -GPAGE_ORDER=4 -GPAGE_HASHES=2 \
	     -GCOUNT_BITS=3 -GK_DEFAULT=4 -GFIFO_ORDER=2

FPGA_BINS := $(FPGA_OUT)/rmem-fpga-model \
	     $(FPGA_OUT)/tracker-default/tb_tracker \
	     $(FPGA_OUT)/tracker-small/tb_tracker \
	     $(FPGA_OUT)/fetch-default/tb_fetch \
	     $(FPGA_OUT)/fetch-small/tb_fetch \
	     $(FPGA_OUT)/rmem-fpga-patch

.PHONY: fpga fpga-lint fpga-synth
fpga: $(FPGA_BINS)

$(FPGA_DEFS): $(FPGA_HDR) scripts/fpga-defs.sh
	@mkdir -p $(dir $@)
	scripts/fpga-defs.sh $< >$@

$(FPGA_OUT)/%.o: fpga/model/%.c fpga/model/rmem_model.h $(FPGA_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(RMEM_CPPFLAGS) -Ifpga/model -std=gnu11 $(WARN) -O2 -g -c $< -o $@

$(FPGA_OUT)/rmem-fpga-model: $(FPGA_OUT)/rmem_fpga_model.o $(FPGA_MODEL) $(LIBRMEM_A)
	$(CC) $^ -o $@ $(LDLIBS_LIB)

# the tracker's log through librmem's PATCH to a donor (tests/fpga/patch.sh)
$(FPGA_OUT)/rmem-fpga-patch: fpga/tb/fpga_patch.c $(LIBRMEM_A) userspace/lib/librmem.h $(FPGA_HDR)
	$(CC) $(RMEM_CPPFLAGS) -std=gnu11 $(WARN) -O2 -g $< $(LIBRMEM_A) -o $@ $(LDLIBS_LIB)

# the fetch engine at its defaults, and with 2 tags, a 4-frame window and
# a 2-deep request queue: a full window and dropped frames all the time
FETCH_SMALL := -GTAG_BITS=1 -GWIN_ORDER=2 -GREQ_ORDER=1 -GTIMEOUT=300

# $(call fpga_bench,DIR,UNIT,BENCH,PARAMETERS): Verilator builds
# fpga/tb/BENCH.cpp around fpga/rtl/UNIT.v into build/fpga/DIR/BENCH
define fpga_bench
$(FPGA_OUT)/$(1)/$(3): fpga/tb/$(3).cpp $(FPGA_RTL) $(FPGA_DEFS) $(FPGA_MODEL) $(LIBRMEM_A)
	@mkdir -p $$(dir $$@)
	$(VERILATOR) $(VFLAGS) $(4) --top-module $(2) --Mdir $$(dir $$@) -o $(3) \
		$(CURDIR)/fpga/rtl/$(2).v $(CURDIR)/fpga/rtl/rmem_sdp_ram.v \
		$(CURDIR)/$$< >$$(dir $$@)build.log 2>&1 || { cat $$(dir $$@)build.log; exit 1; }
endef
$(eval $(call fpga_bench,tracker-default,rmem_tracker,tb_tracker,))
$(eval $(call fpga_bench,tracker-small,rmem_tracker,tb_tracker,$(TRK_SMALL)))
$(eval $(call fpga_bench,fetch-default,rmem_fetch,tb_fetch,))
$(eval $(call fpga_bench,fetch-small,rmem_fetch,tb_fetch,$(FETCH_SMALL)))

fpga-lint: $(FPGA_DEFS)
	@for top in rmem_tracker rmem_fetch rmem_fpga; do \
		$(VERILATOR) --lint-only -Wall $(FPGA_INC) --top-module $$top \
			$(FPGA_RTL) || exit 1; done

fpga-synth: $(FPGA_DEFS)
	fpga/synth.sh fpga/README.md
