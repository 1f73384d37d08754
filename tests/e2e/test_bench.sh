#!/usr/bin/env bash
# The benchmark runs on a small size and checks what it measures (every item
# fetched, fields and bodies present).  Its figures are not judged here:
# timing tests on a shared machine prove nothing.  tools/bench.md explains them.
. "$(dirname "$0")/lib.sh"

run_cmd "$SRCDIR/tools/bench" --small --items 2000 --scale 20000 --results "$DIR/bench.txt"
check_eq "tools/bench --small succeeds" "$RC" 0
[ "$RC" = 0 ] || echo "# $(tail -c 1500 "$DIR/.err")"
check_contains "it compares trawl with curl" "$(cat "$DIR/bench.txt" 2>/dev/null)" "ratio trawl/curl"
check_contains "it measures trawl at scale" "$(cat "$DIR/bench.txt" 2>/dev/null)" "status (median of 10)"

finish
