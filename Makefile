# rmem top-level Makefile.
#
#   make              build everything buildable here into build/
#   make demo         run a local donor and show rmemctl against it
#   make check        build with ASan+UBSan into build/san/ and run every
#                     test suite; ends with "N passed, N failed"
#   make install      install programs, library, header and docs (PREFIX)
#   make deb          the Debian packages, into build/deb/ (debian/)
#   make fpga-synth   the FPGA's yosys report, into fpga/README.md
#   make fuzz         run each fuzzer for FUZZ_TIME seconds (tests/fuzz/)
#
# Both targets first run scripts/install-deps.sh, which installs missing
# Debian packages (as root) and is silent when all are there.

BUILD	?= build
SAN	?= 0
PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
LIBDIR	?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR	?= $(PREFIX)/share/man
# the daemon's default configuration is /etc/rmem/rmem-poold.conf; a
# prefix of one's own keeps its own etc (then give rmem-poold -c)
SYSCONFDIR ?= $(if $(filter /usr /usr/local,$(PREFIX)),/etc,$(PREFIX)/etc)
# systemd also reads units and generators from /usr/local/lib/systemd
UNITDIR	?= $(if $(filter /usr,$(PREFIX)),,$(PREFIX))/lib/systemd/system
GENERATORDIR ?= $(if $(filter /usr,$(PREFIX)),,$(PREFIX))/lib/systemd/system-generators
CC	?= gcc

# rmem's version: one definition, dkms.conf's (debian/changelog, the
# man pages and the programs' --version must agree: tests/integration/packages.sh)
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

CFLAGS	?= -O2 -g
WERROR	?= -Werror
WARN	:= -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-missing-field-initializers
RMEM_CPPFLAGS := -D_GNU_SOURCE -Iinclude/uapi -Idrivers/rmem -Iuserspace/lib \
		 -DRMEM_VERSION='"$(VERSION)"'
RMEM_CFLAGS   := -std=gnu11 -fPIC $(WARN) $(CFLAGS)
LDLIBS_LIB    := -lcrypto -lxxhash
NL_CFLAGS     := -I/usr/include/libnl3
NL_LIBS       := -lnl-genl-3 -lnl-3
# the donor: its INI config, and sd_notify under systemd (rmem-poold.service)
POOLD_LIBS    := -linih -lsystemd

ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer
RMEM_CFLAGS += $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
endif
# the donor's event loops share the pool: check their locking too
ifeq ($(SAN),thread)
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
RMEM_CFLAGS += $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
endif

LIB_SRCS     := drivers/rmem/rmem_proto.c userspace/lib/common.c \
		userspace/lib/client.c userspace/lib/fpga_log.c
POOLD_CORE   := userspace/poold/server.c userspace/poold/pool.c \
		userspace/poold/config.c userspace/poold/log.c
POOLD_SRCS   := userspace/poold/main.c $(POOLD_CORE)
RMEMCTL_SRCS := userspace/rmemctl/rmemctl.c userspace/rmemctl/device.c \
		userspace/rmemctl/prom.c userspace/rmemctl/tab.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBRMEM_A  := $(BUILD)/librmem.a
LIBRMEM_SO := $(BUILD)/librmem.so.0
PROGRAMS   := $(BUILD)/rmem-poold $(BUILD)/rmemctl
BENCH_BINS := $(BUILD)/rmem-floor $(BUILD)/rmem-fpcost $(BUILD)/rmem-wbcache

UNIT_TESTS := proto map common config pool
UNIT_BINS  := $(patsubst %,$(BUILD)/tests/test_%,$(UNIT_TESTS))
INTEG_BINS := $(BUILD)/tests/test_donor
TEST_BINS  := $(UNIT_BINS) $(INTEG_BINS)

# fio external ioengine: built against the headers of exactly the
# installed fio, whose version is checked on every build
FIO_VERSION := 3.33
FIO_SRC     := build/fio/src
FIO_STAMP   := build/fio/version
FIO_ENGINE  := $(BUILD)/rmem-fio.so
FIO_CFLAGS  := -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64 \
	       -DRMEM_FIO_VERSION='"fio-$(FIO_VERSION)"' \
	       -include $(FIO_SRC)/config-host.h -isystem $(FIO_SRC)

.PHONY: all userspace deps vm-kernels debug-kernel check tests unit-tests demo bench module \
	install install-userspace dkms-install deb clean FORCE
all: deps $(LIBRMEM_A) $(LIBRMEM_SO) $(PROGRAMS) $(BENCH_BINS)
ifeq ($(SAN),0)
# fio does not start with the sanitizer runtime, so no SAN=1 engine;
# the module and the guests' workload come with the plain build
all: $(FIO_ENGINE) $(BUILD)/memhog $(BUILD)/rmem-poke $(BUILD)/nlprobe $(BUILD)/discard-race $(BUILD)/wamp-work module fpga
endif

deps:
	@scripts/install-deps.sh

# what the Debian packages build (debian/rules): no apt-get, no fio
# source, no kernel; the library's pkg-config file names the install paths
userspace: $(LIBRMEM_A) $(LIBRMEM_SO) $(PROGRAMS) $(BUILD)/librmem.pc
$(BUILD)/librmem.pc: userspace/lib/librmem.pc.in dkms.conf
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' $< >$@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(RMEM_CPPFLAGS) $(CPPFLAGS) $(RMEM_CFLAGS) -MMD -MP -c $< -o $@

$(LIBRMEM_A): $(call obj,$(LIB_SRCS))
	@rm -f $@
	$(AR) rcs $@ $^

# The shared library exports librmem.h's functions and nothing else: the
# protocol's and the daemon's helpers it is built from stay internal
# (the programs and tests link librmem.a). The list is read from the
# header, the API's one definition.
$(BUILD)/librmem.map: userspace/lib/librmem.h
	@mkdir -p $(dir $@)
	{ echo '{ global:'; \
	  sed -n 's/^[a-z][^(]*[ *]\(rmem_[a-z0-9_]*\)(.*/	\1;/p' $<; \
	  echo 'local: *; };'; } >$@
$(LIBRMEM_SO): $(call obj,$(LIB_SRCS)) $(BUILD)/librmem.map
	$(CC) -shared -Wl,-soname,librmem.so.0 -Wl,--version-script=$(BUILD)/librmem.map \
		$(LDFLAGS) $(filter %.o,$^) -o $@ $(LDLIBS_LIB)

$(BUILD)/rmem-poold: $(call obj,$(POOLD_SRCS)) $(LIBRMEM_A)
	$(CC) $(LDFLAGS) $^ -o $@ $(POOLD_LIBS) $(LDLIBS_LIB)

$(BUILD)/obj/userspace/rmemctl/%.o: RMEM_CPPFLAGS += $(NL_CFLAGS)
# the generator's links name the template where install-userspace puts it
$(BUILD)/obj/userspace/rmemctl/tab.o: RMEM_CPPFLAGS += -DRMEM_UNITDIR='"$(UNITDIR)"'
$(BUILD)/rmemctl: $(call obj,$(RMEMCTL_SRCS)) $(LIBRMEM_A)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS_LIB) $(NL_LIBS) -lsystemd

include fpga/fpga.mk
include tests/fuzz/fuzz.mk

# guest tests boot the installed kernel and these suites' kernels too
VM_SUITES := bookworm-backports

# rmem.ko for every kernel whose headers are here: installed
# (linux-headers-amd64) or fetched for the guest tests (VM_SUITES)
VM_HEADERS := build/vm/kernels/root/usr/src
KDIRS := $(wildcard /usr/src/linux-headers-*-amd64 $(VM_HEADERS)/linux-headers-*-amd64)
MODULES := $(foreach k,$(KDIRS),build/module/$(patsubst linux-headers-%,%,$(notdir $(k)))/drivers/rmem/rmem.ko)
module: $(MODULES)
build/module/%/drivers/rmem/rmem.ko: drivers/rmem/*.[ch] drivers/rmem/Kbuild include/uapi/linux/rmem.h
	scripts/build-module.sh $(firstword $(wildcard /usr/src/linux-headers-$* \
		$(VM_HEADERS)/linux-headers-$*)) build/module/$* >/dev/null

# the guest tests' debug kernel (KASAN, KFENCE, lockdep, might-sleep,
# debug objects, hung tasks: scripts/debug-kernel.sh), cached outside the
# clone, and rmem.ko built against it; rebuilt when the cached tree
# build/debug-kernel points to changes
DEBUG_KDIR := build/debug-kernel
DEBUG_KO   := build/module/debug/drivers/rmem/rmem.ko
debug-kernel: deps
	@scripts/debug-kernel.sh $(DEBUG_KDIR) >/dev/null
	@$(MAKE) --no-print-directory $(DEBUG_KO)
$(DEBUG_KO): drivers/rmem/*.[ch] drivers/rmem/Kbuild include/uapi/linux/rmem.h build/module/debug/kdir
	scripts/build-module.sh $(DEBUG_KDIR) build/module/debug >/dev/null
	@touch $@	# kbuild keeps an up-to-date rmem.ko as old as it was
build/module/debug/kdir: FORCE
	@mkdir -p $(dir $@)
	@k=$$(readlink -f $(DEBUG_KDIR)); [ "$$(cat $@ 2>/dev/null)" = "$$k" ] || echo "$$k" >$@

$(BUILD)/memhog: tests/vm/memhog.c
	$(CC) -O2 -Wall -Wextra -Werror $< -o $@

# changes a donor's pool behind its clients' backs (tests/vm/check.sh)
$(BUILD)/rmem-poke: tests/vm/poke.c
	$(CC) -O2 -Wall -Wextra -Werror $< -o $@

# what tests/vm/control.sh asks of the netlink interface beyond rmemctl
$(BUILD)/nlprobe: tests/vm/nlprobe.c $(LIBRMEM_A)
	$(CC) $(RMEM_CPPFLAGS) $(NL_CFLAGS) -std=gnu11 $(WARN) -O2 $^ -o $@ \
		$(LDLIBS_LIB) $(NL_LIBS)

$(BUILD)/discard-race: tests/vm/discard-race.c
	$(CC) -O2 -Wall -Wextra -Werror -pthread $< -o $@

# the write-amplification workloads: run in guests, so plain -O2 like memhog
$(BUILD)/wamp-work: bench/wamp/workload.c
	$(CC) -O2 -Wall -Wextra -Werror $< -o $@

# program traces to cache-line write-backs, for bench/fpga.sh
$(BUILD)/rmem-wbcache: $(call obj,bench/fpga/wbcache.c) $(LIBRMEM_A)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS_LIB)

$(BUILD)/rmem-floor: $(call obj,bench/floor.c)
	$(CC) $(LDFLAGS) $^ -o $@

# the CPU cache-line deltas cost per page (bench/profile.sh counts it)
$(BUILD)/rmem-fpcost: $(call obj,bench/wamp/fpcost.c drivers/rmem/rmem_delta.c drivers/rmem/rmem_map.c) $(LIBRMEM_A)
	$(CC) $(LDFLAGS) $(filter %.o %.a,$^) -o $@ $(LDLIBS_LIB)

$(FIO_STAMP): FORCE
	@scripts/fio-source.sh check $(FIO_VERSION) $@

$(FIO_SRC)/config-host.h: $(FIO_STAMP)
	scripts/fio-source.sh fetch $(FIO_VERSION) $(FIO_SRC)

$(BUILD)/obj/userspace/fio/%.o: userspace/fio/%.c $(FIO_SRC)/config-host.h
	@mkdir -p $(dir $@)
	$(CC) $(RMEM_CPPFLAGS) $(FIO_CFLAGS) $(RMEM_CFLAGS) -MMD -MP -c $< -o $@

# only "ioengine" is exported: librmem stays private to the engine
$(FIO_ENGINE): $(call obj,userspace/fio/rmem_fio.c) $(LIBRMEM_A) userspace/fio/exports.map
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=userspace/fio/exports.map \
		$(filter %.o %.a,$^) -o $@ $(LDLIBS_LIB)

# tests: unit tests of the daemon's parts include its headers
$(BUILD)/obj/tests/%.o: RMEM_CPPFLAGS += -Iuserspace/poold
$(BUILD)/tests/test_proto: $(call obj,tests/unit/test_proto.c) $(LIBRMEM_A)
$(BUILD)/tests/test_map: $(call obj,tests/unit/test_map.c drivers/rmem/rmem_map.c drivers/rmem/rmem_delta.c drivers/rmem/rmem_lat.c) $(LIBRMEM_A)
$(BUILD)/tests/test_common: $(call obj,tests/unit/test_common.c) $(LIBRMEM_A)
$(BUILD)/tests/test_config: $(call obj,tests/unit/test_config.c $(POOLD_CORE)) $(LIBRMEM_A)
$(BUILD)/tests/test_pool: $(call obj,tests/unit/test_pool.c $(POOLD_CORE)) $(LIBRMEM_A)
$(BUILD)/tests/test_donor: $(call obj,tests/integration/test_donor.c) $(LIBRMEM_A)
$(TEST_BINS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(POOLD_LIBS) -lpthread $(LDLIBS_LIB)

tests: all $(TEST_BINS)

# the cmocka unit tests alone, on the plain build (debian/rules runs them)
unit-tests: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do echo "$$t"; $$t || exit 1; done

# the guests' kernels and headers, fetched before 'all' builds rmem.ko
vm-kernels: deps
	@for s in $(VM_SUITES); do \
		scripts/fetch-kernel.sh $$s build/vm/kernels >/dev/null || exit 1; done

check: vm-kernels
	$(MAKE) all
	$(MAKE) debug-kernel
	$(MAKE) SAN=1 BUILD=build/san tests
	$(MAKE) SAN=thread BUILD=build/tsan build/tsan/rmem-poold \
		build/tsan/tests/test_donor
	$(MAKE) fuzzers
	tests/run.sh build/san

# the README's first command: the donor stack locally, then swap in a VM
demo: vm-kernels
	$(MAKE) all
	scripts/demo.sh
	scripts/vm-demo.sh

# rmem vs nbdkit vs the raw TCP floor, on this machine (bench/README.md)
bench: all
	bench/run.py

# The library's header includes <linux/rmem.h>, the protocol's UAPI
# header; it goes under INCLUDEDIR/rmem, which librmem.pc puts on the
# include path, so that it never shadows a kernel's own linux/ headers.
install-userspace: userspace
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)/rmem/linux $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR)/rmem \
		$(DESTDIR)$(PREFIX)/share/doc/rmem \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(GENERATORDIR)
	install -m 755 $(PROGRAMS) $(DESTDIR)$(SBINDIR)/
	install -m 644 $(LIBRMEM_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIBRMEM_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf librmem.so.0 $(DESTDIR)$(LIBDIR)/librmem.so
	install -m 644 $(BUILD)/librmem.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 userspace/lib/librmem.h $(DESTDIR)$(INCLUDEDIR)/rmem/
	install -m 644 include/uapi/linux/rmem.h $(DESTDIR)$(INCLUDEDIR)/rmem/linux/
	install -m 644 Documentation/man/rmem-poold.8 Documentation/man/rmemctl.8 \
		$(DESTDIR)$(MANDIR)/man8/
	install -m 644 Documentation/man/rmemtab.5 $(DESTDIR)$(MANDIR)/man5/
	for u in rmem-poold.service rmem@.service; do \
		sed 's|/usr/sbin/|$(SBINDIR)/|g' etc/systemd/$$u >$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	sed 's|/usr/sbin/|$(SBINDIR)/|g' etc/systemd/rmem-generator \
		>$(DESTDIR)$(GENERATORDIR)/rmem-generator
	chmod 755 $(DESTDIR)$(GENERATORDIR)/rmem-generator
	@# an operator's configuration is never overwritten
	[ -e $(DESTDIR)$(SYSCONFDIR)/rmem/rmem-poold.conf ] || \
		install -m 644 etc/rmem-poold.conf $(DESTDIR)$(SYSCONFDIR)/rmem/
	[ -e $(DESTDIR)$(SYSCONFDIR)/rmem/rmemtab ] || \
		install -m 644 etc/rmemtab $(DESTDIR)$(SYSCONFDIR)/rmem/
	install -m 644 etc/rmem-poold.conf \
		$(DESTDIR)$(PREFIX)/share/doc/rmem/rmem-poold.conf.example

# The Debian packages (debian/), from a copy of the tree's files (git's
# list when it is a checkout, so nothing built or cached goes in): the
# .debs, the source package and the .changes land in build/deb/.
# dpkg-buildpackage checks debian/control's Build-Depends itself
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/rmem-$(VERSION)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			xargs -0 cp --parents -t $(BUILD)/deb/rmem-$(VERSION); \
	else \
		tar -c --exclude=./build . | tar -x -C $(BUILD)/deb/rmem-$(VERSION); \
	fi
	cd $(BUILD)/deb/rmem-$(VERSION) && dpkg-buildpackage -us -uc
	@ls $(BUILD)/deb/*.deb

# everything: the above, and the fio engine
install: all install-userspace
	install -m 755 $(FIO_ENGINE) $(DESTDIR)$(LIBDIR)/

# the module through DKMS (Debian: apt-get install dkms), for every kernel
dkms-install:
	rm -rf $(DESTDIR)/usr/src/rmem-$(VERSION)
	install -d $(DESTDIR)/usr/src/rmem-$(VERSION)/drivers/rmem \
		$(DESTDIR)/usr/src/rmem-$(VERSION)/include/uapi/linux
	install -m 644 dkms.conf $(DESTDIR)/usr/src/rmem-$(VERSION)/
	install -m 644 drivers/rmem/*.[ch] drivers/rmem/Kbuild \
		$(DESTDIR)/usr/src/rmem-$(VERSION)/drivers/rmem/
	install -m 644 include/uapi/linux/rmem.h \
		$(DESTDIR)/usr/src/rmem-$(VERSION)/include/uapi/linux/
	[ -n "$(DESTDIR)" ] || { dkms add rmem/$(VERSION) && \
		dkms build rmem/$(VERSION) && dkms install rmem/$(VERSION); }

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
