# count.sh -- sourced by run_all.sh (and its test): read the counts of a
# runner's closing line.
#
# count LINE WORD: the number before WORD in LINE, else 0. pytest starts
# its line with a count ("3 failed, 1265 passed, 1 xfailed in 150s"), the
# other runners end theirs with "N passed, N failed"; "xfailed" is not
# "failed".
count() {
    n=$(printf '%s\n' "$1" | grep -oE "(^|[^0-9])[0-9]+ $2([^a-z]|\$)" |
        head -n 1 | grep -oE '[0-9]+' | head -n 1)
    echo "${n:-0}"
}
