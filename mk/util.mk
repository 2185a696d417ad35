# util.mk -- host/util (the capped buffer, atomic file writes, message
# quoting): unit test.

UNIT_TESTS += util
UNIT_MODS_util :=
