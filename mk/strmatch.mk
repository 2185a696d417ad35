# strmatch.mk -- the polling Lua pattern matcher (host/pure/strmatch.c) and its
# binding (host/sandbox/lstrmatch.c): host modules, unit test, benchmark.

UNIT_TESTS += strmatch
UNIT_MODS_strmatch := pure/strmatch sandbox/lstrmatch

BENCH_BINS += build/bench/strmatch_bench

# Compares our find/match/gmatch/gsub with the Lua library linked in.
build/bench/strmatch_bench: bench/strmatch_bench.c \
    build/obj/pure/strmatch.o build/obj/sandbox/lstrmatch.o
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< \
	    build/obj/pure/strmatch.o build/obj/sandbox/lstrmatch.o \
	    $(LUA_A) -lm -ldl $(LDLIBS)
