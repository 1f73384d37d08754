#!/usr/bin/env bash
# Runs the README's tutorial, block by block, against the mock API started
# the way the README says, so the README cannot rot: every ```sh block that
# follows a "<!-- example -->" line runs in one shared directory, with
# 127.0.0.1:8080 and localhost:8080 pointed at the test's own mock.
. "$(dirname "$0")/lib.sh"

readme=$SRCDIR/README.md
start_mock --rate 200 --token s3cret
mkdir -p "$DIR/bin"
ln -s "$TRAWL" "$DIR/bin/trawl"
cd "$DIR"

# the README starts the mock with these options: keep the two in step
check_contains "the README starts the mock as this test does" "$(cat "$readme")" \
	"build/mockapi --port 8080 --rate 200 --token s3cret"

awk '
	/^<!-- example -->$/ { want = 1; next }
	want && /^```sh$/ { n++; file = sprintf("block%02d.sh", n); inside = 1; want = 0; next }
	inside && /^```$/ { inside = 0; close(file); next }
	inside { print > file }
' "$readme"
blocks=$(ls block*.sh 2>/dev/null | wc -l)
check_ge "the README has tutorial blocks" "$blocks" 5

for b in block*.sh; do
	sed -i "s/127\.0\.0\.1:8080/127.0.0.1:$PORT/g; s/localhost:8080/localhost:$PORT/g" "$b"
	first=$(grep -m1 -v '^\s*$' "$b" | cut -c1-60)
	run_cmd env PATH="$DIR/bin:$PATH" bash -e "$b"
	check_eq "README block '$first' runs" "$RC" 0
	[ "$RC" = 0 ] || echo "# stdout: $(tail -c 400 "$DIR/.out")  stderr: $(tail -c 600 "$DIR/.err")"
	cp "$DIR/.out" "$b.out"
done

# what the blocks printed is what the README promises
check_contains "CSV of fields: titles exported" "$(cat block01.sh.out)" "9780000000022,Book 9780000000022"
check_contains "POST search: first result per query" "$(cat block02.sh.out)" "r1"
check_eq "POST search: both queries done" "$(count_items search.db "state = 'done'")" 2
check_eq "the token is not in the crawl file" "$(grep -c s3cret search.db search.db-wal 2>/dev/null | awk -F: '{s += $2} END {print s + 0}')" 0
check_eq "URL list: two hosts fetched" "$(count_items urls.db "state = 'done'")" 2
check_contains "interrupted run said how to resume" "$(cat block04.sh.out)" "stopped with exit code 130"
check_eq "resumed crawl finished" "$(count_items big.db "state = 'done'")" 1000
invariant big.db "README crawl"
check_contains "json_each over the stored body" "$(cat block05.sh.out)" "a"

finish
