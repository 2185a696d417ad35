# netpolicy.mk -- the egress policy (host/pure/netpolicy.c): unit test.

UNIT_TESTS += netpolicy
UNIT_MODS_netpolicy := pure/netpolicy
