# retry.mk -- the retry policy (host/retry.c): unit test.

# Linked into the host for the HTTP binding; filter-out keeps it single
# if the Makefile lists it too.
HOST_MODS += $(filter-out $(HOST_MODS),retry)

UNIT_TESTS += retry
UNIT_MODS_retry := retry
