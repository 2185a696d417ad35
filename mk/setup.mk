# setup.mk -- `clawhost setup` and `clawhost check` (host/setup.c):
# unit test of its atomic write.

UNIT_TESTS += setup
UNIT_MODS_setup := cli/setup lib/secret runtime/config pure/dotenv \
                   runtime/err runtime/hostmt runtime/out pure/redact \
                   pure/netpolicy pure/baseurl pure/money pure/suggest \
                   pure/settings curl/curlfn
