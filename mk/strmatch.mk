# strmatch.mk -- the polling Lua pattern matcher (host/strmatch.c) and its
# binding (host/lstrmatch.c): host modules, unit test, benchmark.

# Linked into the host for the sandbox; filter-out keeps each single if
# the Makefile lists them too.
HOST_MODS += $(filter-out $(HOST_MODS),strmatch lstrmatch)

UNIT_TESTS += strmatch
UNIT_MODS_strmatch := strmatch lstrmatch

BENCH_BINS += build/bench/strmatch_bench

# Compares our find/match/gmatch/gsub with the Lua library linked in.
build/bench/strmatch_bench: bench/strmatch_bench.c \
    build/obj/strmatch.o build/obj/lstrmatch.o
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< \
	    build/obj/strmatch.o build/obj/lstrmatch.o $(LUA_A) -lm -ldl \
	    $(LDLIBS)
