# setup.mk -- `clawhost setup` and `clawhost check` (host/setup.c):
# unit test of the pure parts (validation, quoting, merge, atomic write).

# Linked into the host; filter-out keeps it single if listed elsewhere.
HOST_MODS += $(filter-out $(HOST_MODS),setup)

UNIT_TESTS += setup
UNIT_MODS_setup := setup secret config dotenv errors hostmt out redact \
                   netpolicy ledger suggest curlfn
