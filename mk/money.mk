# money.mk -- the money type (host/pure/money.c): unit test.

UNIT_TESTS += money
UNIT_MODS_money := pure/money
