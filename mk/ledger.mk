# ledger.mk -- the spend ledger (host/store/ledger.c): unit test.

UNIT_TESTS += ledger
UNIT_MODS_ledger := store/ledger pure/money
