# redact.mk -- the output redactor (host/redact.c): unit test and bench.

# Linked into the host; filter-out keeps it single if listed elsewhere.
HOST_MODS += $(filter-out $(HOST_MODS),redact)

UNIT_TESTS += redact
UNIT_MODS_redact := redact

BENCH_BINS += build/bench/redact_bench

# Standalone: the redactor is pure C, so no Lua or curl on the link line.
build/bench/redact_bench: bench/redact_bench.c build/obj/redact.o \
    host/redact.h
	@mkdir -p $(@D)
	@echo "  BENCH $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< build/obj/redact.o
