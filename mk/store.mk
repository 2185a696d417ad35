# store.mk -- the store (host/store): unit test on SQLite and on a real
# PostgreSQL server (tests/with_pg.sh starts one for make unit/test).

UNIT_TESTS += store
UNIT_MODS_store := store/store store/engine_sqlite store/engine_pg \
                   store/pqfn store/ledger pure/money
