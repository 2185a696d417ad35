# redact.mk -- the output redactor (host/pure/redact.c): unit test and bench.

UNIT_TESTS += redact
UNIT_MODS_redact := pure/redact

BENCH_BINS += build/bench/redact_bench

# Standalone: the redactor is pure C, so no Lua or curl on the link line.
build/bench/redact_bench: bench/redact_bench.c build/obj/pure/redact.o \
    build/obj/util/dynbuf.o
	@mkdir -p $(@D)
	@echo "  BENCH $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< build/obj/pure/redact.o \
	    build/obj/util/dynbuf.o
