/* mk/forbid/curl/multi.h -- stands before the system's curl/multi.h when host/pure and
** host/util are compiled (Makefile, INC_PURE): code there knows nothing
** of Lua or curl. Move the code that needs them to a binding. */
#error "host/pure and host/util may not include curl/multi.h"
