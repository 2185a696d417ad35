# retry.mk -- the retry policy (host/pure/retry.c): unit test.

UNIT_TESTS += retry
UNIT_MODS_retry := pure/retry
