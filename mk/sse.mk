# sse.mk -- the SSE parser (host/sse.c): unit test, fuzz target, bench.

# Linked into the host for the Lua binding; filter-out keeps it single if
# the Makefile lists it too.
HOST_MODS += $(filter-out $(HOST_MODS),sse)

UNIT_TESTS += sse
UNIT_MODS_sse := sse

FUZZ_TARGETS += sse
FUZZ_MODS_sse := sse

BENCH_BINS += build/bench/sse_bench

# Standalone: the parser is pure C, so no Lua or curl on the link line.
build/bench/sse_bench: bench/sse_bench.c build/obj/sse.o host/sse.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< build/obj/sse.o
