# clawhost -- build, test, demo, bench, install.
#
#   make            build build/clawhost (installs missing Debian packages)
#   make test       C unit tests, Lua tests and end-to-end tests, one count
#   make demo       run the real recipes against the local servers
#   make sanitize   ASan+UBSan build in build/asan/clawhost
#   make bench      cold start, HTTP and SSE throughput, with baselines
#   make install    PREFIX=/usr/local DESTDIR= (staged installs), with
#                   the manual page build/clawhost.1
#
# Components keep their own rules in mk/*.mk (unit tests, fuzz targets).

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
DATADIR := $(PREFIX)/share/clawhost
MANDIR  := $(PREFIX)/share/man/man1
CC      ?= cc
PYTHON  ?= /usr/bin/python3

MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
LIBDIR    := /usr/lib/$(MULTIARCH)
LUA_INC   := /usr/include/lua5.4
LUA_A     := $(LIBDIR)/liblua5.4.a
CJSON_A   := $(LIBDIR)/liblua5.4-cjson.a
PQ_INC    := /usr/include/postgresql

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-missing-field-initializers
# host/pure and host/util are compiled without the Lua include path and
# with mk/forbid first, whose lua.h and curl/curl.h stop the build: the
# compiler, not a convention, keeps them free of Lua and curl.
INC_LUA      := -I$(LUA_INC) -I$(PQ_INC) -Ihost
INC_PURE     := -Imk/forbid -Ihost
INC          = $(INC_LUA)
CPPFLAGS_ALL = -D_GNU_SOURCE $(INC) \
               -DCLAWHOST_VERSION='"$(VERSION)"' $(CPPFLAGS)
CFLAGS_ALL   = -std=c11 $(OPT) $(WARN) $(CFLAGS)
LDLIBS_ALL   = $(CJSON_A) $(LUA_A) -lm -ldl $(LDLIBS)
SAN          := -fsanitize=address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined

# The host: every .c file under host/, by subsystem (docs/hacking.md).
HOST_MODS := $(sort $(patsubst host/%.c,%,$(wildcard host/*/*.c)))

UNIT_TESTS   :=
FUZZ_TARGETS :=
BENCH_BINS   :=
-include mk/*.mk

OBJS      := $(HOST_MODS:%=build/obj/%.o)
ASAN_OBJS := $(HOST_MODS:%=build/asan/obj/%.o)

.PHONY: all deps deps-test test unit sanitize demo bench install \
        uninstall clean fuzz
.DEFAULT_GOAL := all
.SECONDEXPANSION:

all: build/clawhost build/clawhost.1

deps: build/.deps-build
deps-test: build/.deps-test

build/.deps-build: vendor/packages.txt vendor/deps.sh
	@mkdir -p build && ./vendor/deps.sh build && touch $@
build/.deps-test: vendor/packages.txt vendor/deps.sh tests/mcp/package-lock.json
	@mkdir -p build && ./vendor/deps.sh build test && touch $@

# `make V=1` shows the full commands.
Q := $(if $(V),,@)

build/clawhost: $(OBJS)
	@echo "  LINK  $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $(OBJS) $(LDLIBS_ALL)

# The manual page comes from the tables `clawhost --help` prints
# (host/cli/usage.c), written as roff by `clawhost man`.
build/clawhost.1: build/clawhost
	@echo "  MAN   $@"
	$(Q)./build/clawhost man >$@.tmp && mv $@.tmp $@

build/asan/clawhost: $(ASAN_OBJS)
	@echo "  LINK  $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -o $@ $(ASAN_OBJS) $(LDLIBS_ALL)

PURE_DIRS := pure util
$(foreach d,$(PURE_DIRS),build/obj/$(d)/%.o build/asan/obj/$(d)/%.o): \
    INC = $(INC_PURE)

# -MMD: each object lists the headers it read in a .d file beside it.
build/obj/%.o: host/%.c | build/.deps-build
	@mkdir -p $(@D)
	@echo "  CC    $<"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

build/asan/obj/%.o: host/%.c | build/.deps-build
	@mkdir -p $(@D)
	@echo "  CC    $< (asan)"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(SAN) -MMD -MP -c -o $@ $<

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d)

# C unit tests: mk/NAME.mk adds NAME to UNIT_TESTS and lists the host
# modules it links in UNIT_MODS_NAME; host/util, the layer everything
# stands on, is linked into every test.
UTIL_MODS := $(filter util/%,$(HOST_MODS))
build/tests/%_test: tests/c/%_test.c tests/c/unit.h \
    $$(addprefix build/obj/,$$(addsuffix .o,$$(UNIT_MODS_$$*) $$(UTIL_MODS)))
	@mkdir -p $(@D)
	@echo "  TEST  $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) -Itests/c $(CFLAGS_ALL) -o $@ $< \
	    $(UNIT_MODS_$*:%=build/obj/%.o) $(UTIL_MODS:%=build/obj/%.o) \
	    $(LDLIBS_ALL)

build/asan/tests/%_test: tests/c/%_test.c tests/c/unit.h \
    $$(addprefix build/asan/obj/,$$(addsuffix .o,$$(UNIT_MODS_$$*) \
    $$(UTIL_MODS)))
	@mkdir -p $(@D)
	@echo "  TEST  $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) -Itests/c $(CFLAGS_ALL) $(SAN) -o $@ $< \
	    $(UNIT_MODS_$*:%=build/asan/obj/%.o) \
	    $(UTIL_MODS:%=build/asan/obj/%.o) $(LDLIBS_ALL)

UNIT_BINS      := $(UNIT_TESTS:%=build/tests/%_test)
UNIT_ASAN_BINS := $(UNIT_TESTS:%=build/asan/tests/%_test)

# Runs every unit test, plain and under ASan+UBSan; the store's run on a
# throwaway PostgreSQL cluster too (tests/with_pg.sh).
unit: build/.deps-test $(UNIT_BINS) $(UNIT_ASAN_BINS)
	@./tests/with_pg.sh ./tests/run_units.sh $(UNIT_BINS) $(UNIT_ASAN_BINS)

sanitize: build/asan/clawhost $(UNIT_ASAN_BINS)

# libFuzzer targets: mk/NAME.mk adds NAME to FUZZ_TARGETS and lists the
# host modules in FUZZ_MODS_NAME; tests/fuzz/fuzz_NAME.c is the target.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -std=c11 -g -O1 -D_GNU_SOURCE -I$(LUA_INC) -Ihost \
                -fsanitize=fuzzer,address,undefined

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c \
    $$(addprefix host/,$$(addsuffix .c,$$(FUZZ_MODS_$$*))) | build/.deps-test
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    ./tests/fuzz/run.sh $$t $(FUZZ_SECONDS) || exit 1; done

test: build/.deps-test build/clawhost build/clawhost.1 \
      build/asan/clawhost \
      $(UNIT_BINS) $(UNIT_ASAN_BINS)
	@PYTHON=$(PYTHON) ./tests/with_pg.sh ./tests/run_all.sh $(UNIT_BINS) \
	    $(UNIT_ASAN_BINS)

demo: build/.deps-test build/clawhost
	@PYTHON=$(PYTHON) ./tests/demo.sh

bench: build/.deps-test build/clawhost $(BENCH_BINS)
	@./bench/run.sh

install: build/clawhost build/clawhost.1
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)
	install -m 0755 build/clawhost $(DESTDIR)$(BINDIR)/clawhost
	install -m 0644 build/clawhost.1 $(DESTDIR)$(MANDIR)/clawhost.1
	cp -R lua recipes $(DESTDIR)$(DATADIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/clawhost $(DESTDIR)$(MANDIR)/clawhost.1
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build/obj build/asan build/tests build/fuzz build/clawhost \
	    build/clawhost.1 build/bench
