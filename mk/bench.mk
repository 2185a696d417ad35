# bench.mk -- helpers of `make bench` (bench/run.sh) that are not host
# modules: the static HTTP server the HTTP figures are measured against,
# and the plain libcurl client section 7 compares clawhost with.

BENCH_BINS += build/bench/httpd build/bench/curl_multi_get

# Standalone: plain C and epoll, nothing of the host is linked in.
build/bench/httpd: bench/httpd.c
	@mkdir -p $(@D)
	@echo "  BENCH $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $<

# A baseline, not host code: it links libcurl directly (the host loads
# it with dlopen, host/curl/curlfn.c).
build/bench/curl_multi_get: bench/curl_multi_get.c
	@mkdir -p $(@D)
	@echo "  BENCH $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< -lcurl
