# sse.mk -- the SSE parser (host/pure/sse.c): unit test, fuzz target, bench.

UNIT_TESTS += sse
UNIT_MODS_sse := pure/sse

FUZZ_TARGETS += sse
FUZZ_MODS_sse := pure/sse util/dynbuf

BENCH_BINS += build/bench/sse_bench

# Standalone: the parser is pure C, so no Lua or curl on the link line.
build/bench/sse_bench: bench/sse_bench.c build/obj/pure/sse.o \
    build/obj/util/dynbuf.o
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< build/obj/pure/sse.o \
	    build/obj/util/dynbuf.o
