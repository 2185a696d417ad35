# store.mk -- the store (host/store): unit test on SQLite and on a real
# PostgreSQL server (tests/with_pg.sh starts one for make unit/test).

UNIT_TESTS += store
UNIT_MODS_store := store/store store/engine_sqlite store/engine_pg \
                   store/pqfn store/sqlitefn store/ledger pure/money

BENCH_BINS += build/bench/store_bench

# Links the store and its engines (bench/run.sh, section 6).
STORE_BENCH_MODS := store/store store/engine_sqlite store/engine_pg \
                    store/pqfn store/sqlitefn store/ledger pure/money \
                    $(filter util/%,$(HOST_MODS))
build/bench/store_bench: bench/store_bench.c \
    $(STORE_BENCH_MODS:%=build/obj/%.o)
	@mkdir -p $(@D)
	@echo "  BENCH $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< \
	    $(STORE_BENCH_MODS:%=build/obj/%.o) $(LDLIBS_ALL)
