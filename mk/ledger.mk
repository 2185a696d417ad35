# ledger.mk -- the spend ledger (host/ledger.c): unit test.

# Linked into the host for the budget module and `clawhost ledger`;
# filter-out keeps it single if the Makefile lists it too.
HOST_MODS += $(filter-out $(HOST_MODS),ledger)

UNIT_TESTS += ledger
UNIT_MODS_ledger := ledger
