# json.mk -- the json module (host/lib/json.c): unit test.

UNIT_TESTS += json
UNIT_MODS_json := lib/json runtime/err runtime/hostmt

# The test wraps lua-cjson's strbuf_new (the buffer cjson mallocs for
# every decode) to prove over-cap input never reaches cjson.
build/tests/json_test build/asan/tests/json_test: \
    LDLIBS += -Wl,--wrap=strbuf_new
