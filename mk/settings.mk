# settings.mk -- the settings clawhost knows and their rules
# (host/pure/settings.c): unit test.

UNIT_TESTS += settings
UNIT_MODS_settings := pure/settings pure/baseurl pure/netpolicy \
                      pure/money pure/dotenv
