# baseurl.mk -- the base URL parser (host/pure/baseurl.c): unit test.
# The test loads libcurl with dlopen to compare with it; nothing of curl
# is linked.

UNIT_TESTS += baseurl
UNIT_MODS_baseurl := pure/baseurl pure/netpolicy
