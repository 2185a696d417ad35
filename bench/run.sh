#!/bin/sh
# run.sh -- `make bench`: cold start, memory, HTTP throughput against a
# local server, SSE, the redactor and matcher benches, CPU while
# sleeping, the store, and the hot paths (a large stream, keep-alive
# GETs) against curl and a plain libcurl client, each figure next to its
# target and to baselines measured in the same run. bench/README.md says
# how to read the report.
#
# Runs after `make build/clawhost $(BENCH_BINS)`. All traffic stays on
# 127.0.0.1: the server is build/bench/httpd on a port the kernel picks,
# killed by the exit trap. Every loop has a fixed count, every command a
# time limit. The machine may be shared: figures are medians, and the
# load average is printed with each section.
#
# Knobs (environment): BENCH_COLD_RUNS (200), BENCH_NODE_RUNS (40),
# BENCH_HTTP_REPS (9), BENCH_SEQ_N (2000), BENCH_CONC_N (4000),
# BENCH_CONC (32), BENCH_RSS_RUNS (5), BENCH_SLEEP_S (2),
# BENCH_STORE_PAIRS (200), BENCH_STORE_WRITERS (8), BENCH_STORE_SECS (3),
# BENCH_HOT_REPS (7), BENCH_STREAM_MB (100), BENCH_MCP_RUNS (20).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

BIN=$ROOT/build/clawhost
BB=$ROOT/build/bench
COLD_RUNS=${BENCH_COLD_RUNS:-200}
NODE_RUNS=${BENCH_NODE_RUNS:-40}
REPS=${BENCH_HTTP_REPS:-9}
SEQ_N=${BENCH_SEQ_N:-2000}
CONC_N=${BENCH_CONC_N:-4000}
CONC=${BENCH_CONC:-32}
RSS_RUNS=${BENCH_RSS_RUNS:-5}
SLEEP_S=${BENCH_SLEEP_S:-2}
PY=${PYTHON:-/usr/bin/python3}
MCP_RUNS=${BENCH_MCP_RUNS:-20}
[ -x "$PY" ] || PY=$(command -v python3 || echo python3)

# hyperfine and curl are the `bench` group of vendor/packages.txt;
# `make bench` installs build and test only.
"$ROOT/vendor/deps.sh" bench >/dev/null 2>&1 ||
    echo "note: vendor/deps.sh bench failed; using what is installed"

have() { command -v "$1" >/dev/null 2>&1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/clawhost-bench.XXXXXX") || exit 1
mkdir -p "$TMP/home" "$TMP/state" "$TMP/work"
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Every client runs in a scratch folder (no .env.local of the checkout)
# with a clean environment: no THETA_*/CLAWHOST_* knobs, no proxies.
cd "$TMP/work" || exit 1
clean() {
    env -i "PATH=$PATH" "HOME=$TMP/home" "XDG_STATE_HOME=$TMP/state" \
        LANG=C.UTF-8 "$@"
}

SUMMARY=$TMP/summary
: > "$SUMMARY"

# ---- small helpers ----

load1() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }

section() {
    echo
    echo "== $1   (load average $(load1))"
}

# median of the numbers on stdin, one a line (empty when none)
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]
        else if (NR) print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# fmt PRINTF-FORMAT NUMBER (awk does the arithmetic sh cannot)
fmt() { awk -v f="$1" -v x="$2" 'BEGIN { printf f, x }'; }
calc() { awk "BEGIN { print $1 }"; }

# The first "KEY": number in a JSON text (pretty or one line).
jnum() {
    awk -v k="$1" '{
        if (match($0, "\"" k "\": *-?[0-9][0-9.eE+-]*")) {
            s = substr($0, RSTART, RLENGTH); sub(/^[^:]*: */, "", s)
            print s; exit
        } }' "$2"
}

# target LABEL MEASURED-TEXT OK(0|1)
target() {
    if [ "$3" = 1 ]; then v=MET; else v=MISSED; fi
    printf '   target: %-44s %-18s %s\n' "$1" "$2" "$v"
    printf '%-6s  %-44s %s\n' "$v" "$1" "$2" >> "$SUMMARY"
}

not_measured() {
    printf '   target: %-44s %-18s %s\n' "$1" "-" "NOT MEASURED ($2)"
    printf '%-6s  %-44s %s\n' "n/a" "$1" "not measured: $2" >> "$SUMMARY"
}

# rusage OUT LIMIT_S CMD... : run CMD (stdout/stderr as given by the
# caller) and write "wall user sys maxrss_kb vcsw ivcsw rc" to OUT. CPU
# times and context switches come from wait4(2) (microseconds). Peak RSS
# comes from GNU time (/usr/bin/time -f %M) in between: Linux counts the
# high-water mark of the image a process exec()s from, so a Python
# child's own ~10 MB would mask small figures; GNU time's floor is about
# 1.5 MB (shown as /bin/true). Without GNU time the Python floor applies
# and the report says so. The whole process group is killed after
# LIMIT_S; rc is 128+signal for a signal, as the shell reports it.
RUSAGE_PY='
import os, signal, sys, time
out, limit, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.setpgid(0, 0)
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
signal.signal(signal.SIGALRM, lambda *a: os.killpg(pid, signal.SIGKILL))
signal.setitimer(signal.ITIMER_REAL, limit)
_, st, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
signal.setitimer(signal.ITIMER_REAL, 0)
rc = os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)
rss = ru.ru_maxrss
try:
    with open(out + ".rss") as f:
        rss = int(f.read().split()[-1])
except (OSError, ValueError, IndexError):
    pass
with open(out, "w") as f:
    f.write("%.6f %.6f %.6f %d %d %d %d\n" % (wall, ru.ru_utime,
            ru.ru_stime, rss, ru.ru_nvcsw, ru.ru_nivcsw, rc))
'
RSS_TOOL="GNU time %M"
[ -x /usr/bin/time ] ||
    RSS_TOOL="wait4 ru_maxrss; GNU time missing: ~10 MB Python floor"
rusage() {
    _out=$1 _lim=$2
    shift 2
    rm -f "$_out.rss"
    if [ -x /usr/bin/time ]; then
        set -- /usr/bin/time -q -f %M -o "$_out.rss" "$@"
    fi
    clean "$PY" -c "$RUSAGE_PY" "$_out" "$_lim" "$@"
}

# Fallback timer when hyperfine is missing: RUNS timed runs after WARM
# untimed ones, output to /dev/null, started with posix_spawn (vfork:
# cheap even from Python); prints "median min user+sys_mean" in
# seconds. timeit's timeout bounds the whole loop.
LOOP_PY='
import os, shlex, sys, time
runs, warm, cmd = int(sys.argv[1]), int(sys.argv[2]), shlex.split(sys.argv[3])
quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
         (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
ts, cpu = [], []
for i in range(warm + runs):
    t0 = time.monotonic()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=quiet)
    _, st, ru = os.wait4(pid, 0)
    t = time.monotonic() - t0
    if os.waitstatus_to_exitcode(st) != 0:
        sys.exit("command failed: %s (%s)" % (sys.argv[3], st))
    if i >= warm:
        ts.append(t)
        cpu.append(ru.ru_utime + ru.ru_stime)
ts.sort()
n = len(ts)
med = ts[n // 2] if n % 2 else (ts[n // 2 - 1] + ts[n // 2]) / 2
print("%.6f %.6f %.6f" % (med, ts[0], sum(cpu) / n))
'

# timeit RUNS WARM "CMD" : prints "median min cpu" in seconds (hyperfine
# -N, no shell in between; else the loop above). Empty on failure.
timeit() {
    if have hyperfine; then
        if clean timeout -k 5 300 hyperfine -N --style none \
            --runs "$1" --warmup "$2" --export-csv "$TMP/hf.csv" "$3" \
            >/dev/null 2>"$TMP/hf.err"; then
            # command,mean,stddev,median,user,system,min,max (count from
            # the end: the command may hold commas)
            awk -F, 'NR == 2 { print $(NF-4), $(NF-1), $(NF-3) + $(NF-2) }' \
                "$TMP/hf.csv"
        fi
    else
        clean timeout -k 5 300 "$PY" -c "$LOOP_PY" "$1" "$2" "$3" \
            2>"$TMP/hf.err"
    fi
}
TIMER="hyperfine -N"
have hyperfine || TIMER="monotonic-clock loop (hyperfine missing)"

ms() { fmt '%.2f ms' "$(calc "$1 * 1000")"; }

# ---- header ----

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo \
      2>/dev/null)
echo "clawhost bench -- $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host: $(uname -sr), ${cpu:-unknown cpu}, $(nproc 2>/dev/null) cores"
echo "clawhost: $("$BIN" version 2>/dev/null | head -1)" \
     "(commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?))"
printf 'baselines: %s; %s; %s; %s\n' \
    "$(curl --version 2>/dev/null | head -1 | cut -d' ' -f1-2 || true)" \
    "node $(node --version 2>/dev/null || echo missing)" \
    "$(lua5.4 -v 2>/dev/null | cut -d' ' -f1-2 || echo 'lua5.4 missing')" \
    "$(hyperfine --version 2>/dev/null || echo 'hyperfine missing')"
echo "load average at start: $(load1)"
awk -v n="$(nproc 2>/dev/null || echo 1)" '$1 > n / 2 { print "note: the"\
    " machine is busy (1-min load " $1 " on " n " cores); figures are"\
    " medians, but expect them lower and noisier than on an idle box" }' \
    /proc/loadavg 2>/dev/null
T_START=$(date +%s)

# ---- the server (needed from section 1 on: RSS of one GET) ----

PORT=
if [ -x "$BB/httpd" ]; then
    "$BB/httpd" "$TMP/port" 600 &
    SERVER_PID=$!
    i=0
    while [ $i -lt 50 ] && [ ! -s "$TMP/port" ]; do
        sleep 0.1
        i=$((i + 1))
    done
    PORT=$(cat "$TMP/port" 2>/dev/null)
fi
if [ -n "$PORT" ]; then
    URL="http://127.0.0.1:$PORT/"
    echo "server: build/bench/httpd on 127.0.0.1:$PORT (pid $SERVER_PID)"
else
    echo "server: build/bench/httpd did not start; HTTP figures skipped"
fi

# CPU seconds the server used so far (utime + stime from /proc)
server_cpu() {
    awk -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" \
        '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' \
        "/proc/$SERVER_PID/stat" 2>/dev/null
}

# clawhost GETs: http_get ARGS... (the recipe's params)
http_get() {
    clean timeout -k 5 150 "$BIN" run "$ROOT/bench/http_get.lua" --json \
        --timeout 120 --allow-host "127.0.0.1:$PORT" --url "$URL" "$@"
}

# ======================================================================
section "1. Cold start and memory"
echo "   wall time per run, $TIMER; median (min), CPU = user+sys"

cold_row() {   # LABEL RUNS WARM CMD
    r=$(timeit "$2" "$3" "$4")
    if [ -z "$r" ]; then
        printf '   %-28s failed: %s\n' "$1" "$(head -c 300 "$TMP/hf.err")"
        return 1
    fi
    # shellcheck disable=SC2086
    set -- "$1" "$2" $r
    printf '   %-28s %10s (%s)  CPU %s  [%s runs]\n' "$1" "$(ms "$3")" \
        "$(ms "$4")" "$(ms "$5")" "$2"
    LAST=$3 LAST_MIN=$4
}

CH_MED='' NODE_MED=''
cold_row "clawhost run hello" "$COLD_RUNS" 10 "$BIN run hello" &&
    CH_MED=$LAST CH_MIN=$LAST_MIN
if have lua5.4; then
    cold_row 'lua5.4 -e ""' "$COLD_RUNS" 10 "lua5.4 -e ''"
else
    echo "   lua5.4 -e \"\"                 skipped: lua5.4 not installed"
fi
if have node; then
    cold_row "node -e 0" "$NODE_RUNS" 3 "node -e 0" &&
        NODE_MED=$LAST NODE_MIN=$LAST_MIN
else
    echo "   node -e 0                    skipped: node not installed"
fi
if [ -n "$CH_MED" ]; then
    target "cold start < 10 ms" "$(ms "$CH_MED")" \
        "$(calc "($CH_MED < 0.010) ? 1 : 0")"
else
    not_measured "cold start < 10 ms" "clawhost run hello failed"
fi
# Pure Lua at full speed: no hook while a recipe runs (docs/security.md).
LOOP_RUNS=${BENCH_LOOP_RUNS:-5}
if have lua5.4 && cold_row "clawhost run bench/loop.lua" "$LOOP_RUNS" 1 \
        "$BIN run $ROOT/bench/loop.lua"; then
    LOOP_CH=$LAST
    if cold_row "lua5.4 bench/loop.lua" "$LOOP_RUNS" 1 \
            "lua5.4 $ROOT/bench/loop.lua"; then
        x=$(calc "$LOOP_CH / $LAST")
        target "pure Lua loop: clawhost within 1.1x of lua5.4" \
            "$(fmt '%.2fx' "$x")" "$(calc "($x <= 1.1) ? 1 : 0")"
    fi
else
    not_measured "pure Lua loop: clawhost within 1.1x of lua5.4" \
        "lua5.4 missing or the run failed"
fi
if [ -n "$CH_MED" ] && [ -n "$NODE_MED" ]; then
    x=$(calc "$NODE_MED / $CH_MED")
    target "node / clawhost >= 8x" "$(fmt '%.1fx' "$x")" \
        "$(calc "($x >= 8) ? 1 : 0")"
    echo "   (the same ratio on the fastest runs: $(fmt '%.1fx' \
        "$(calc "$NODE_MIN / $CH_MIN")"); far apart means load hit node)"
else
    not_measured "node / clawhost >= 8x" "node or clawhost missing"
fi

# peak RSS, median of RSS_RUNS runs: rss_row LABEL CMD...
rss_row() {
    _label=$1
    shift
    : > "$TMP/rss"
    _i=0 _bad=
    while [ $_i -lt "$RSS_RUNS" ]; do
        rusage "$TMP/ru" 60 "$@" >/dev/null 2>"$TMP/ru.err"
        read -r _w _u _s _rss _v _c _rc < "$TMP/ru"
        [ "$_rc" = 0 ] || _bad=$_rc
        echo "$_rss" >> "$TMP/rss"
        _i=$((_i + 1))
    done
    _m=$(median < "$TMP/rss")
    if [ -n "$_bad" ]; then
        printf '   %-36s failed (exit %s)\n' "$_label" "$_bad"
        return 1
    fi
    printf '   %-36s %8s MB\n' "$_label" "$(fmt '%.1f' "$(calc "$_m / 1024")")"
}
echo "   peak RSS ($RSS_TOOL), median of $RSS_RUNS runs:"
rss_row "floor of the method (/bin/true)" /bin/true
rss_row "clawhost run hello" "$BIN" run hello
if [ -n "$PORT" ]; then
    rss_row "clawhost, one HTTP GET (http_get.lua)" "$BIN" run \
        "$ROOT/bench/http_get.lua" --json --timeout 30 \
        --allow-host "127.0.0.1:$PORT" --url "$URL" --requests 1 \
        --warmup 0
fi
have lua5.4 && rss_row 'lua5.4 -e ""' lua5.4 -e ''
have node && rss_row "node -e 0" node -e 0

# ======================================================================
section "2. HTTP GET throughput (loopback, build/bench/httpd, 13-byte body)"

CH_SEQ='' CH_CONC='' NODE_SEQ='' NODE_CONC='' CURL_SEQ='' CURL_CONC=''
VIA=all
if [ -z "$PORT" ]; then
    echo "   skipped: the server did not start"
else
    echo "   (a) $SEQ_N sequential keep-alive GETs;" \
         "(b) $CONC_N GETs, $CONC in flight"
    echo "   requests per second, median of $REPS runs; clawhost and node" \
         "time their loop in-process after one untimed GET;"
    echo "   curl: (N-1) / (t(N URLs) - t(1 URL)) on median wall times," \
         "so process start cancels out"
    SRV_CPU0=$(server_cpu)
    NCLIENTS=1
    have node && NCLIENTS=$((NCLIENTS + 1))
    have curl && NCLIENTS=$((NCLIENTS + 1))

    # task.all over $CONC functions; a crash here is a host bug, and
    # the figure is then taken with task.spawn + wait instead.
    http_get --requests 200 --concurrency "$CONC" >"$TMP/o" 2>"$TMP/e"
    rc=$?
    ALL_RC=$rc
    if [ $rc -ne 0 ]; then
        VIA=spawn
        echo "   !! task.all with $CONC functions FAILED (exit $rc$(
            [ $rc -gt 128 ] && echo ", signal $((rc - 128))")):" \
            "$(head -c 200 "$TMP/e" | tr '\n' ' ')"
        echo "   !! concurrent clawhost figures below use task.spawn + wait"
    fi

    # curl: one process per run, the URLs from a config file
    for n in 1 "$SEQ_N" "$CONC_N"; do
        awk -v n="$n" -v u="$URL" 'BEGIN { for (i = 0; i < n; i++)
            printf "url = \"%s\"\noutput = \"/dev/null\"\n", u }' \
            > "$TMP/curl$n.cfg"
    done
    # curl_wall FILE [ARGS...]: one timed curl run; its wall time in s
    # goes to FILE, a failure to $TMP/fail.err
    curl_wall() {
        _f=$1
        shift
        rusage "$TMP/ru" 60 curl -q -s -S -f --noproxy '*' "$@" \
            >/dev/null 2>"$TMP/ce"
        read -r _w _x < "$TMP/ru"
        if [ "$(cut -d' ' -f7 "$TMP/ru")" = 0 ]; then
            echo "$_w" >> "$_f"
        else
            FAILS=$((FAILS + 1)); cp "$TMP/ce" "$TMP/fail.err"
        fi
    }

    # one run of each client per round, so load drift hits all alike
    : > "$TMP/ch_seq"; : > "$TMP/ch_conc"
    : > "$TMP/node_seq"; : > "$TMP/node_conc"
    : > "$TMP/curl_1"; : > "$TMP/curl_seq"; : > "$TMP/curl_conc"
    FAILS=0 STDERR_LINES=0
    i=0
    while [ $i -lt "$REPS" ]; do
        if http_get --requests "$SEQ_N" >"$TMP/o" 2>"$TMP/e" &&
            [ "$(jnum failures "$TMP/o")" = 0 ]; then
            jnum rps "$TMP/o" >> "$TMP/ch_seq"
        else
            FAILS=$((FAILS + 1)); cp "$TMP/e" "$TMP/fail.err"
        fi
        STDERR_LINES=$((STDERR_LINES + $(wc -l < "$TMP/e")))
        if http_get --requests "$CONC_N" --concurrency "$CONC" \
            --via "$VIA" >"$TMP/o" 2>"$TMP/e" &&
            [ "$(jnum failures "$TMP/o")" = 0 ]; then
            jnum rps "$TMP/o" >> "$TMP/ch_conc"
        else
            FAILS=$((FAILS + 1)); cp "$TMP/e" "$TMP/fail.err"
        fi
        STDERR_LINES=$((STDERR_LINES + $(wc -l < "$TMP/e")))
        if have node; then
            clean timeout -k 5 120 node "$ROOT/bench/fetch.mjs" "$URL" \
                "$SEQ_N" 1 >"$TMP/o" 2>/dev/null &&
                jnum rps "$TMP/o" >> "$TMP/node_seq"
            clean timeout -k 5 120 node "$ROOT/bench/fetch.mjs" "$URL" \
                "$CONC_N" "$CONC" >"$TMP/o" 2>/dev/null &&
                jnum rps "$TMP/o" >> "$TMP/node_conc"
        fi
        if have curl; then
            curl_wall "$TMP/curl_1" --config "$TMP/curl1.cfg"
            curl_wall "$TMP/curl_seq" --config "$TMP/curl$SEQ_N.cfg"
            curl_wall "$TMP/curl_conc" --parallel --parallel-max "$CONC" \
                --config "$TMP/curl$CONC_N.cfg"
        fi
        i=$((i + 1))
    done
    SRV_CPU1=$(server_cpu)
    CH_SEQ=$(median < "$TMP/ch_seq")
    CH_CONC=$(median < "$TMP/ch_conc")
    NODE_SEQ=$(median < "$TMP/node_seq")
    NODE_CONC=$(median < "$TMP/node_conc")

    t1=$(median < "$TMP/curl_1")
    tn=$(median < "$TMP/curl_seq")
    tc=$(median < "$TMP/curl_conc")
    if [ -n "$t1" ] && [ -n "$tn" ] && [ -n "$tc" ]; then
        CURL_SEQ=$(calc "($SEQ_N - 1) / ($tn - $t1)")
        CURL_CONC=$(calc "($CONC_N - 1) / ($tc - $t1)")
        echo "   curl wall (medians): 1 URL $(ms "$t1"), $SEQ_N URLs" \
             "$(ms "$tn"), $CONC_N URLs --parallel $(ms "$tc")"
    fi

    rps() { [ -n "$1" ] && fmt '%8.0f' "$1" || printf '%8s' "-"; }
    printf '   %-34s %12s %12s\n' "" "sequential" "$CONC concurrent"
    printf '   %-34s %12s %12s\n' "clawhost (http.get, task.$VIA)" \
        "$(rps "$CH_SEQ")" "$(rps "$CH_CONC")"
    if have node; then
        printf '   %-34s %12s %12s\n' "node $(node --version) fetch" \
            "$(rps "$NODE_SEQ")" "$(rps "$NODE_CONC")"
    else
        echo "   node: skipped (not installed)"
    fi
    printf '   %-34s %12s %12s\n' "curl (--config / --parallel)" \
        "$(rps "$CURL_SEQ")" "$(rps "$CURL_CONC")"
    ratio() { [ -n "$1" ] && [ -n "$2" ] && calc "$1 / $2"; }
    printf '   %-34s %12s %12s\n' "clawhost / node" \
        "$(r=$(ratio "$CH_SEQ" "$NODE_SEQ") && fmt '%.2fx' "$r")" \
        "$(r=$(ratio "$CH_CONC" "$NODE_CONC") && fmt '%.2fx' "$r")"
    printf '   %-34s %12s %12s\n' "clawhost / curl" \
        "$(r=$(ratio "$CH_SEQ" "$CURL_SEQ") && fmt '%.2fx' "$r")" \
        "$(r=$(ratio "$CH_CONC" "$CURL_CONC") && fmt '%.2fx' "$r")"
    [ "$FAILS" -eq 0 ] || echo "   !! $FAILS client runs failed, last:" \
        "$(head -c 300 "$TMP/fail.err" | tr '\n' ' ')"
    if [ -n "$SRV_CPU0" ] && [ -n "$SRV_CPU1" ]; then
        echo "   server: $(fmt '%.1f' "$(calc "($SRV_CPU1 - $SRV_CPU0) * \
1e6 / ($REPS * ($SEQ_N + $CONC_N) * $NCLIENTS)")") us CPU per" \
             "GET (all clients)"
    fi
    echo "   request log: $STDERR_LINES lines on clawhost's stderr over" \
         "$((REPS * (SEQ_N + CONC_N))) GETs (successes log at debug)"

    for m in seq conc; do
        if [ $m = seq ]; then
            ch=$CH_SEQ nd=$NODE_SEQ cu=$CURL_SEQ lbl=sequential
        else
            ch=$CH_CONC nd=$NODE_CONC cu=$CURL_CONC lbl="$CONC concurrent"
        fi
        if [ -n "$ch" ] && [ -n "$nd" ]; then
            r=$(calc "$ch / $nd")
            target "$lbl: clawhost >= node" "$(fmt '%.2fx' "$r")" \
                "$(calc "($r >= 1) ? 1 : 0")"
        else
            not_measured "$lbl: clawhost >= node" "a client failed"
        fi
        if [ -n "$ch" ] && [ -n "$cu" ]; then
            r=$(calc "$ch / $cu")
            target "$lbl: clawhost >= curl / 1.5" "$(fmt '%.2fx' "$r")" \
                "$(calc "($r >= 1 / 1.5) ? 1 : 0")"
        else
            not_measured "$lbl: clawhost >= curl / 1.5" "a client failed"
        fi
    done
    if [ "$VIA" = spawn ]; then
        target "task.all over $CONC functions runs" \
            "exit $ALL_RC$([ "$ALL_RC" -gt 128 ] && echo " (SIG$(kill -l \
            $((ALL_RC - 128)) 2>/dev/null))")" 0
    fi
fi

# ======================================================================
section "3. SSE"
if [ -x "$BB/sse_bench" ]; then
    timeout -k 5 120 "$BB/sse_bench" > "$TMP/sse" 2>&1
    sed 's/^/   /' "$TMP/sse"
    mbs=$(sed -n 's/.*parser: *\([0-9.]*\) MB\/s.*/\1/p' "$TMP/sse" | head -1)
    if [ -n "$mbs" ]; then
        target "SSE parser >= 1 GB/s" "$mbs MB/s" \
            "$(calc "($mbs >= 1000) ? 1 : 0")"
    else
        not_measured "SSE parser >= 1 GB/s" "no MB/s line"
    fi
else
    not_measured "SSE parser >= 1 GB/s" "build/bench/sse_bench missing"
fi
if [ -f "$ROOT/bench/sse_lua.lua" ]; then
    echo "   bench/sse_lua.lua (clawhost run ... --json):"
    clean timeout -k 5 120 "$BIN" run "$ROOT/bench/sse_lua.lua" --json \
        --timeout 100 >"$TMP/o" 2>"$TMP/e"
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "   failed (exit $rc): $(head -c 300 "$TMP/e" | tr '\n' ' ')"
        not_measured "Lua SSE loop >= 1M events/s" "sse_lua.lua failed"
    else
        # every "key": number pair, then the events/s one by its name
        awk '/"[^"]*": *-?[0-9]/ { gsub(/[",]/, ""); sub(/^ */, "");
             print "     " $0 }' "$TMP/o"
        eps=$(awk 'tolower($0) ~ /"[^"]*event[^"]*(per|_s"|sec|rate)[^"]*": *[0-9]/ ||
                   tolower($0) ~ /"eps": *[0-9]/ {
                   sub(/^[^:]*: */, ""); sub(/,$/, ""); print; exit }' \
              "$TMP/o")
        if [ -n "$eps" ]; then
            target "Lua SSE loop >= 1M events/s" \
                "$(fmt '%.0f ev/s' "$eps")" \
                "$(calc "($eps >= 1000000) ? 1 : 0")"
        else
            not_measured "Lua SSE loop >= 1M events/s" \
                "no events-per-second key in its JSON"
        fi
    fi
else
    echo "   bench/sse_lua.lua: missing (being written); Lua events/s" \
         "not measured"
    not_measured "Lua SSE loop >= 1M events/s" "bench/sse_lua.lua missing"
fi

# ======================================================================
section "4. Redactor and pattern matcher"
for b in redact_bench strmatch_bench; do
    if [ -x "$BB/$b" ]; then
        echo "   build/bench/$b:"
        timeout -k 5 120 "$BB/$b" 2>&1 | sed 's/^/     /'
    else
        echo "   build/bench/$b: not built"
    fi
done

# ======================================================================
section "5. CPU while waiting (no busy loops)"
echo "   100 tasks each in task.sleep($SLEEP_S) at once; CPU (user+sys)" \
     "from wait4, RSS from $RSS_TOOL"
# cpu_run CMD... : one run; sets W U S RSS VCSW IVCSW RC (times in s)
cpu_run() {
    rusage "$TMP/ru" 60 "$@" >"$TMP/o" 2>"$TMP/e"
    read -r W U S RSS VCSW IVCSW RC < "$TMP/ru"
}
failed_row() {
    printf '   %-32s FAILED (exit %s%s): %s\n' "$1" "$RC" \
        "$([ "$RC" -gt 128 ] && echo ", signal $((RC - 128))")" \
        "$(head -c 200 "$TMP/e" | tr '\n' ' ')"
}
# sleep_figure LABEL RECIPE : the recipe with --seconds 0 (start-up and
# task set-up only, median of 3) and with --seconds SLEEP_S; the
# difference is what waiting cost.
sleep_figure() {
    _label=$1 _recipe=$2
    : > "$TMP/cpu0"
    _i=0
    while [ $_i -lt 3 ]; do
        cpu_run "$BIN" run "$_recipe" --jobs 100 --seconds 0 --json
        [ "$RC" = 0 ] || { failed_row "$_label --seconds 0"; return 1; }
        calc "$U + $S" >> "$TMP/cpu0"
        _i=$((_i + 1))
    done
    _c0=$(median < "$TMP/cpu0")
    cpu_run "$BIN" run "$_recipe" --jobs 100 --seconds "$SLEEP_S" --json
    [ "$RC" = 0 ] || { failed_row "$_label --seconds $SLEEP_S"; return 1; }
    _cpu=$(calc "$U + $S")
    _frac=$(calc "$_cpu / $W")
    printf '   %-32s wall %.3f s, CPU %s (user %s, sys %s) = %s\n' \
        "$_label" "$W" "$(ms "$_cpu")" "$(ms "$U")" "$(ms "$S")" \
        "$(fmt '%.2f%% of wall' "$(calc "$_frac * 100")")"
    printf '   %-32s the same with --seconds 0: CPU %s; so waiting' \
        "" "$(ms "$_c0")"
    printf ' %s s cost %s\n' "$SLEEP_S" "$(ms "$(calc "$_cpu - $_c0")")"
    printf '   %-32s peak RSS %s MB; %s voluntary, %s involuntary' \
        "" "$(fmt '%.1f' "$(calc "$RSS / 1024")")" "$VCSW" "$IVCSW"
    echo " context switches"
    target "$3" "$(fmt '%.2f%%' "$(calc "$_frac * 100")")" \
        "$(calc "($_frac <= 0.01) ? 1 : 0")"
}
if ! sleep_figure "run parallel --jobs 100" parallel \
    "parallel --jobs 100: CPU <= 1% of wall"; then
    target "clawhost run parallel --jobs 100 runs" "crashed" 0
    echo "   the same 100 sleeps with task.spawn + wait" \
         "(bench/sleepers.lua), so the figure is still taken:"
    sleep_figure "run bench/sleepers.lua" "$ROOT/bench/sleepers.lua" \
        "100 sleepers (spawn): CPU <= 1% of wall"
fi

# ======================================================================
STORE_PAIRS=${BENCH_STORE_PAIRS:-200}
STORE_WRITERS=${BENCH_STORE_WRITERS:-8}
STORE_SECS=${BENCH_STORE_SECS:-3}
section "6. The store: reserve+settle against history, concurrent writers"
echo "   one reserve and its settle, timed pair by pair (median, p95),"
echo "   after N past records; SQLite in a file, PostgreSQL on its Unix"
echo "   socket (a throwaway cluster); then $STORE_WRITERS processes"
echo "   doing pairs for $STORE_SECS s"
SB=$BB/store_bench
# store_row ENGINE URL : one line per history size, then the writers
store_row() {
    _engine=$1 _url=$2 _prev=0 _base= _worst=0
    for _n in 100 10000 1000000; do
        _add=$((_n - _prev))
        "$SB" "$_url" fill "$_add" >/dev/null 2>"$TMP/e" ||
            { echo "   $_engine fill $_n: $(head -c 200 "$TMP/e")"; return 1; }
        _prev=$_n
        _line=$("$SB" "$_url" pairs "$STORE_PAIRS" 2>"$TMP/e") ||
            { echo "   $_engine pairs: $(head -c 200 "$TMP/e")"; return 1; }
        printf '   %-12s %8s records: %s\n' "$_engine" "$_n" "$_line"
        _med=$(echo "$_line" | awk '{ print $2 }')
        [ -n "$_base" ] || _base=$_med
        _worst=$(calc "($_med > $_worst) ? $_med : $_worst")
    done
    target "$_engine: 1M records within 1.5x of 100" \
        "$(fmt '%.2fx' "$(calc "$_med / $_base")")" \
        "$(calc "($_med <= 1.5 * $_base) ? 1 : 0")"
    [ "$_engine" = sqlite ] && target "sqlite: a reserve+settle pair < 5 ms" \
        "$_worst ms (slowest median)" "$(calc "($_worst < 5) ? 1 : 0")"
    printf '   %-12s %s\n' "$_engine" \
        "$("$SB" "$_url" writers "$STORE_WRITERS" "$STORE_SECS" 2>&1)"
}
mkdir -m 700 -p "$TMP/store"
store_row sqlite "sqlite://$TMP/store/bench.db"
PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/clawhost-benchpg.XXXXXX")
chmod 755 "$PGDIR"
if PGURL=$("$ROOT/tests/pg.sh" start "$PGDIR" 2>"$TMP/e"); then
    store_row postgresql "$PGURL"
    "$ROOT/tests/pg.sh" stop "$PGDIR"
else
    not_measured "postgresql: 1M records within 1.5x of 100" \
        "$(head -c 120 "$TMP/e")"
    rm -rf "$PGDIR"
fi

# ======================================================================
HOT_REPS=${BENCH_HOT_REPS:-7}
STREAM_MB=${BENCH_STREAM_MB:-100}
section "7. Hot paths: a $STREAM_MB MB stream and $SEQ_N keep-alive GETs"
# wall_of FILE CMD... : one timed run of CMD (stdout to $TMP/o); its
# wall time in s goes to FILE, a failure to $TMP/fail.err
wall_of() {
    _f=$1
    shift
    rusage "$TMP/ru" 120 "$@" >"$TMP/o" 2>"$TMP/ce"
    read -r _w _x < "$TMP/ru"
    if [ "$(cut -d' ' -f7 "$TMP/ru")" = 0 ]; then
        echo "$_w" >> "$_f"
    else
        HOT_FAILS=$((HOT_FAILS + 1)); cp "$TMP/ce" "$TMP/fail.err"
    fi
}
# hot_run FILE KEY CMD... : one in-process figure (the JSON key KEY of
# what CMD prints) goes to FILE
hot_run() {
    _f=$1 _k=$2
    shift 2
    if clean timeout -k 5 150 "$@" >"$TMP/o" 2>"$TMP/e"; then
        jnum "$_k" "$TMP/o" >> "$_f"
    else
        HOT_FAILS=$((HOT_FAILS + 1)); cp "$TMP/e" "$TMP/fail.err"
    fi
}
hot_ratio() {   # LABEL A B MIN
    if [ -n "$2" ] && [ -n "$3" ]; then
        _r=$(calc "$2 / $3")
        target "$1" "$(fmt '%.2fx' "$_r")" "$(calc "($_r >= $4) ? 1 : 0")"
    else
        not_measured "$1" "a client failed"
    fi
}
if [ -z "$PORT" ]; then
    echo "   skipped: the server did not start"
    not_measured "stream: clawhost >= 0.95 x curl" "no server"
    not_measured "GETs: clawhost >= 0.9 x libcurl client" "no server"
elif [ ! -x "$BB/curl_multi_get" ] || ! have curl; then
    echo "   skipped: build/bench/curl_multi_get or curl missing"
    not_measured "stream: clawhost >= 0.95 x curl" "curl missing"
    not_measured "GETs: clawhost >= 0.9 x libcurl client" "client missing"
else
    SB=$((STREAM_MB * 1000000))
    BASE="http://127.0.0.1:$PORT"
    echo "   (a) GET /bytes/$SB (text lines): clawhost counts it in a" \
         "s:chunks() loop"
    echo "       (bench/stream_get.lua, timed in-process from the request" \
         "to the loop's end);"
    echo "       curl -o /dev/null, its own %{speed_download} (bytes over" \
         "its total time)"
    echo "   (b) $SEQ_N sequential keep-alive GETs of /: clawhost" \
         "(bench/http_get.lua);"
    echo "       build/bench/curl_multi_get (libcurl multi, one easy" \
         "handle, options set once; again with the"
    echo "       User-Agent and Accept-Encoding headers clawhost sends);"
    echo "       curl --config: (N-1) / (t(N URLs) - t(1 URL)), as in" \
         "section 2"
    echo "   medians of $HOT_REPS rounds; each round runs every client once"
    awk -v n="$SEQ_N" -v u="$URL" 'BEGIN { for (i = 0; i < n; i++)
        printf "url = \"%s\"\noutput = \"/dev/null\"\n", u }' \
        > "$TMP/hot$SEQ_N.cfg"
    printf 'url = "%s"\noutput = "/dev/null"\n' "$URL" > "$TMP/hot1.cfg"
    CURLQ="curl -q -s -S -f --noproxy *"
    for f in st_ch st_sec st_curl get_ch get_lc get_lch get_c1 get_cn; do
        : > "$TMP/$f"
    done
    HOT_FAILS=0
    i=0
    while [ $i -lt "$HOT_REPS" ]; do
        hot_run "$TMP/st_ch" bps "$BIN" run "$ROOT/bench/stream_get.lua" \
            --json --timeout 120 --allow-host "127.0.0.1:$PORT" \
            --url "$BASE/bytes/$SB" --bytes "$SB" --warm "$URL"
        hot_run "$TMP/st_sec" bps env BENCH_SECRET=b3nch-S3cret-0123456789 \
            "$BIN" run "$ROOT/bench/stream_get.lua" --json --timeout 120 \
            --allow-host "127.0.0.1:$PORT" --url "$BASE/bytes/$SB" \
            --bytes "$SB" --warm "$URL" --secret
        hot_run "$TMP/st_curl" bps $CURLQ -o /dev/null \
            -w '{"bps": %{speed_download}}' "$BASE/bytes/$SB"
        hot_run "$TMP/get_ch" rps "$BIN" run "$ROOT/bench/http_get.lua" \
            --json --timeout 120 --allow-host "127.0.0.1:$PORT" \
            --url "$URL" --requests "$SEQ_N"
        hot_run "$TMP/get_lc" rps "$BB/curl_multi_get" "$URL" "$SEQ_N" 13
        hot_run "$TMP/get_lch" rps "$BB/curl_multi_get" "$URL" "$SEQ_N" 13 \
            same-headers
        wall_of "$TMP/get_c1" $CURLQ --config "$TMP/hot1.cfg"
        wall_of "$TMP/get_cn" $CURLQ --config "$TMP/hot$SEQ_N.cfg"
        i=$((i + 1))
    done
    ST_CH=$(median < "$TMP/st_ch")
    ST_SEC=$(median < "$TMP/st_sec")
    ST_CURL=$(median < "$TMP/st_curl")
    GET_CH=$(median < "$TMP/get_ch")
    GET_LC=$(median < "$TMP/get_lc")
    GET_LCH=$(median < "$TMP/get_lch")
    t1=$(median < "$TMP/get_c1") tn=$(median < "$TMP/get_cn")
    GET_CURL=
    [ -n "$t1" ] && [ -n "$tn" ] &&
        GET_CURL=$(calc "($SEQ_N - 1) / ($tn - $t1)")
    mbs() { [ -n "$1" ] && fmt '%10.0f MB/s' "$(calc "$1 / 1e6")" ||
            printf '%15s' "-"; }
    vs() { [ -n "$1" ] && [ -n "$2" ] && fmt '%.2fx' "$(calc "$1 / $2")"; }
    echo "   (a) stream                        bytes/s     vs curl"
    printf '   %-32s %s %7s\n' "clawhost s:chunks()" "$(mbs "$ST_CH")" \
        "$(vs "$ST_CH" "$ST_CURL")"
    printf '   %-32s %s %7s\n' "  the same, one secret loaded" \
        "$(mbs "$ST_SEC")" "$(vs "$ST_SEC" "$ST_CURL")"
    printf '   %-32s %s\n' "curl -o /dev/null" "$(mbs "$ST_CURL")"
    echo "   (b) GETs                      requests/s  vs libcurl  vs curl"
    rps7() { [ -n "$1" ] && fmt '%15.0f' "$1" || printf '%15s' "-"; }
    printf '   %-28s %s %11s %8s\n' "clawhost http.get" "$(rps7 "$GET_CH")" \
        "$(vs "$GET_CH" "$GET_LC")" "$(vs "$GET_CH" "$GET_CURL")"
    printf '   %-28s %s %11s %8s\n' "libcurl multi client" \
        "$(rps7 "$GET_LC")" "" "$(vs "$GET_LC" "$GET_CURL")"
    printf '   %-28s %s %11s %8s\n' "  the same, clawhost's headers" \
        "$(rps7 "$GET_LCH")" "$(vs "$GET_LCH" "$GET_LC")" \
        "$(vs "$GET_LCH" "$GET_CURL")"
    [ -n "$GET_CH" ] && [ -n "$GET_LCH" ] && echo "   (clawhost / the" \
        "client sending clawhost's headers: $(vs "$GET_CH" "$GET_LCH"))"
    printf '   %-28s %s\n' "curl --config" "$(rps7 "$GET_CURL")"
    [ "$HOT_FAILS" -eq 0 ] || echo "   !! $HOT_FAILS client runs failed," \
        "last: $(head -c 300 "$TMP/fail.err" | tr '\n' ' ')"
    hot_ratio "stream: clawhost >= 0.95 x curl" "$ST_CH" "$ST_CURL" 0.95
    hot_ratio "GETs: clawhost >= 0.9 x libcurl client" "$GET_CH" \
        "$GET_LC" 0.9
fi

# ======================================================================
section "8. clawhost mcp: start to tools/list, one tools/call"
echo "   median of $MCP_RUNS servers: initialize + tools/list from the"
echo "   server's start, then a hello tools/call (a child process); the"
echo "   baseline is \`clawhost run hello --json\` run directly"
if clean timeout 300 "$PY" "$ROOT/bench/mcp_rtt.py" "$BIN" "$MCP_RUNS" \
        > "$TMP/mcp.json" 2> "$TMP/mcp.err"; then
    MCP_LIST=$(jnum list_ms "$TMP/mcp.json")
    MCP_CALL=$(jnum call_ms "$TMP/mcp.json")
    MCP_DIRECT=$(jnum direct_ms "$TMP/mcp.json")
    echo "   $(jnum tools "$TMP/mcp.json") tools listed in $MCP_LIST ms;" \
         "hello over MCP $MCP_CALL ms, run directly $MCP_DIRECT ms"
    target "mcp: tools/list within 100 ms of start" "$MCP_LIST ms" \
        "$(calc "$MCP_LIST <= 100")"
    target "mcp: a call within 2.5 x a direct run" \
        "$(fmt %.2fx "$(calc "$MCP_CALL / $MCP_DIRECT")")" \
        "$(calc "$MCP_CALL <= 2.5 * $MCP_DIRECT")"
else
    echo "   !! bench/mcp_rtt.py failed: $(head -c 300 "$TMP/mcp.err")"
    not_measured "mcp: tools/list within 100 ms of start" "it failed"
fi

# ======================================================================
echo
echo "== Summary   (load average $(load1), bench took" \
     "$(( $(date +%s) - T_START )) s)"
sed 's/^/   /' "$SUMMARY"
