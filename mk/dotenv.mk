# dotenv.mk -- .env.local (host/pure/dotenv.c), read and written: unit
# test.

UNIT_TESTS += dotenv
UNIT_MODS_dotenv := pure/dotenv
