# The fuzzers (tests/fuzz/README.md), included by the top Makefile. Built
# with clang's libFuzzer, ASan and UBSan into build/fuzz/, whatever BUILD
# is: each harness compiles the code it drives from source, instrumented.
#
#   make fuzzers      build them
#   make fuzz         run each for FUZZ_TIME seconds (default 600) on a
#                     corpus of its own under build/fuzz/corpus/, seeded
#                     from the tree; a crash leaves its input in
#                     build/fuzz/crash/ (make it a regression input:
#                     tests/fuzz/README.md)
#
# make check replays the seeds and regression inputs and fuzzes each for
# a bounded time (tests/fuzz/*.sh).

FUZZ_OUT    := build/fuzz
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 600
FUZZ_FLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=all -fno-omit-frame-pointer \
	       -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	       $(RMEM_CPPFLAGS) -Iuserspace/poold
FUZZ_LIB    := drivers/rmem/rmem_proto.c userspace/lib/common.c
FUZZERS     := proto config conn client
FUZZ_BINS   := $(patsubst %,$(FUZZ_OUT)/fuzz_%,$(FUZZERS))

FUZZ_SRCS_proto  := $(FUZZ_LIB)
FUZZ_SRCS_config := userspace/poold/config.c userspace/poold/log.c \
		    userspace/rmemctl/tab.c userspace/rmemctl/device.c \
		    userspace/rmemctl/prom.c userspace/lib/client.c $(FUZZ_LIB)
FUZZ_LIBS_config := -linih $(NL_LIBS) -lsystemd
$(FUZZ_OUT)/fuzz_config: FUZZ_FLAGS += -Iuserspace/rmemctl $(NL_CFLAGS)
# server.c is #included by the harness (its statics are the harness's)
FUZZ_SRCS_conn   := userspace/poold/pool.c userspace/poold/config.c \
		    userspace/poold/log.c $(FUZZ_LIB)
FUZZ_DEPS_conn   := userspace/poold/server.c
FUZZ_LIBS_conn   := -linih -lsystemd -lpthread
FUZZ_SRCS_client := userspace/lib/client.c $(FUZZ_LIB)
FUZZ_LIBS_client := -lpthread

.PHONY: fuzzers fuzz
fuzzers: deps $(FUZZ_BINS) $(FUZZ_OUT)/mkseeds

.SECONDEXPANSION:
$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRCS_$$*) $$(FUZZ_DEPS_$$*) \
		   $$(wildcard drivers/rmem/*.h userspace/lib/*.h userspace/poold/*.h \
			       userspace/rmemctl/*.h include/uapi/linux/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $< $(FUZZ_SRCS_$*) -o $@ $(FUZZ_LIBS_$*) $(LDLIBS_LIB)

fuzz: fuzzers
	@for f in $(FUZZERS); do \
		tests/fuzz/run-one.sh $$f $(FUZZ_TIME) || exit 1; done

# the seeds of tests/fuzz/corpus/{conn,client}, written with the
# protocol's own encoders (make fuzz-seeds after a format change;
# tests/fuzz/seeds.sh fails while they are stale)
$(FUZZ_OUT)/mkseeds: tests/fuzz/mkseeds.c $(LIBRMEM_A)
	@mkdir -p $(dir $@)
	$(CC) $(RMEM_CPPFLAGS) $(RMEM_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS_LIB)
.PHONY: fuzz-seeds
fuzz-seeds: $(FUZZ_OUT)/mkseeds
	$(FUZZ_OUT)/mkseeds tests/fuzz/corpus
