# json.mk -- the json module (host/json.c): unit test.

# Linked into the host with what it needs; filter-out keeps each one
# single when the Makefile or another fragment lists it too.
HOST_MODS += $(filter-out $(HOST_MODS),json errors hostmt)

UNIT_TESTS += json
UNIT_MODS_json := json errors hostmt

# The test wraps lua-cjson's strbuf_new (the buffer cjson mallocs for
# every decode) to prove over-cap input never reaches cjson.
build/tests/test_json build/asan/tests/test_json: \
    LDLIBS += -Wl,--wrap=strbuf_new
