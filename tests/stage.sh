# stage.sh -- sourced by run_all.sh (and its test): run one stage of
# `make test` with its output shown as it comes, and add its counts.
#
# Needs count.sh sourced first, and $log (a scratch file) set. Keeps
# the running sums in total_p and total_f.
py=${PYTHON:-/usr/bin/python3}
total_p=${total_p:-0} total_f=${total_f:-0}

# Add the counts of a stage's closing line "...: N passed, N failed".
tally() {
    line=$(grep -E '[0-9]+ passed' "$log" | tail -n 1)
    p=$(count "$line" passed)
    f=$(count "$line" failed)
    e=$(count "$line" 'errors?')
    if [ "$1" -ne 0 ] && [ "$f" -eq 0 ] && [ "$e" -eq 0 ]; then
        f=1     # a stage that failed without counting a failure
    fi
    total_p=$((total_p + p)); total_f=$((total_f + f + e))
}

# stage TITLE CMD...: the output streams through tee (each runner
# prints a line per suite, pytest a dot per test), is kept in $log for
# the count, and the stage ends with its time.
stage() {
    title=$1
    echo "== $title"
    shift
    start=$(date +%s)
    { "$@" 2>&1; echo $? >"$log.rc"; } | tee "$log"
    rc=$(cat "$log.rc" 2>/dev/null || echo 1)
    rm -f "$log.rc"
    echo "-- $title: $(($(date +%s) - start))s"
    tally "$rc"
}

# pytest, quiet: a dot per test, flushed as each ends even into a pipe
# (run_all_test.py checks it through this function); -u keeps anything
# else Python prints unbuffered too.
run_pytest() {
    "$py" -u -m pytest -q -p no:cacheprovider "$@"
}
