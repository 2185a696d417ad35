# bench.mk -- helpers of `make bench` (bench/run.sh) that are not host
# modules: the static HTTP server the HTTP figures are measured against.

BENCH_BINS += build/bench/httpd

# Standalone: plain C and epoll, nothing of the host is linked in.
build/bench/httpd: bench/httpd.c
	@mkdir -p $(@D)
	@echo "  BENCH $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $<
