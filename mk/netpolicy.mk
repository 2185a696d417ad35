# netpolicy.mk -- the egress policy (host/netpolicy.c): unit test.

# Linked into the host for the HTTP binding; filter-out keeps it single
# if the Makefile lists it too.
HOST_MODS += $(filter-out $(HOST_MODS),netpolicy)

UNIT_TESTS += netpolicy
UNIT_MODS_netpolicy := netpolicy
