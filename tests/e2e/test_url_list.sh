#!/usr/bin/env bash
# A crawl of whole URLs ('{url}' alone as the template) over several hosts,
# with items whose URL cannot be fetched, the poison-item guard, and the
# reextract and retry commands over the result.
. "$(dirname "$0")/lib.sh"

start_mock
cd "$DIR"

# --- a list of whole URLs, two origins, one that is not http ---------------
{
	for i in 1 2 3; do echo "$BASE/items/a$i"; done
	for i in 1 2 3; do echo "http://localhost:$PORT/items/b$i"; done
	echo "ftp://127.0.0.1/x"
	echo "not a url"
} > urls.txt
expect_exit 0 "$TRAWL" init urls.db --url '{url}' --key url --field ident='$.id' --max-attempts 2 -q
expect_exit 0 "$TRAWL" add urls.db urls.txt
expect_exit 1 "$TRAWL" run urls.db -q
check_eq "six URLs done" "$(count_items urls.db "state = 'done'")" 6
check_eq "two URLs failed" "$(count_items urls.db "state = 'failed'")" 2
check_eq "ident taken from each body" \
	"$(sql urls.db "SELECT group_concat(ident, ' ') FROM (SELECT ident FROM results ORDER BY ident)")" "a1 a2 a3 b1 b2 b3"
check_contains "a failed URL says why" "$(sql urls.db "SELECT last_error FROM items WHERE key = 'ftp://127.0.0.1/x'")" "not a valid http(s) URL"
check_eq "the bad URLs made no request" "$(stat_requests)" 6
invariant urls.db "url list"

# --- network down: no answer at all says so once, in words; the items are kept
# and the host probed until it answers or the user stops the run ------------
"$TRAWL" init down.db --url "http://127.0.0.1:9/items/{id}" --max-attempts 2 \
	--backoff-base 10ms --backoff-cap 50ms -q
seq 1 30 | "$TRAWL" add down.db - -q
"$TRAWL" run down.db 2>"$DIR/down.err" &
down_pid=$!
track "$down_pid"
warned() { grep -q 'no answer from' "$DIR/down.err"; }
wait_for 20 warned || _fail "no answer" "no warning within 20 s"
sleep 2
kill -INT "$down_pid"
wait_pid "$down_pid" 20
check_eq "no answer: Ctrl-C stops the run (130)" "$RC" 130
ERR=$(cat "$DIR/down.err")
check_eq "no answer: the warning comes once" "$(grep -c 'no answer from' <<<"$ERR")" 1
check_contains "no answer: it names the host" "$ERR" "http://127.0.0.1:9"
check_contains "no answer: it says what to check" "$ERR" "check the URL and the network"
check_eq "no answer: no item failed, all 30 kept for the next run" "$(count_items down.db "state = 'ready'")" 30
# the 16 started at once (the default concurrency) fail, then one probe at a time
check_le "no answer: a few probes, not every item's attempts" \
	"$(sql down.db "SELECT count(*) FROM attempts")" 24
check_contains "no answer: items keep the error" "$(sql down.db "SELECT DISTINCT last_error FROM items WHERE attempts > 0")" "connection error"
expect_exit 2 "$TRAWL" export down.db --columns key,nosuchfield
check_contains "unknown export column: names it and where to look" "$ERR" "unknown column 'nosuchfield'"

# --- a URL template must be http(s), or one column alone -------------------
expect_exit 2 "$TRAWL" init bad.db --url 'ftp://h/{id}' -q
check "no file left by a refused init" test ! -e bad.db

# --- poison item: the run dies parsing it; after 3 deaths it is failed -----
expect_exit 0 "$TRAWL" init p.db --url "$BASE/items/{id}" --field title='$.title' -q
seq 1 40 | "$TRAWL" add p.db - -q
for i in 1 2 3; do
	run_cmd env TRAWL_TEST_CRASH_KEY=7 "$TRAWL" run p.db -q
	check "crash $i: the run died of SIGSEGV" test "$RC" -ge 128
done
expect_exit 1 env TRAWL_TEST_CRASH_KEY=7 "$TRAWL" run p.db -q
check_eq "the poison item is failed" "$(sql p.db "SELECT state || ' ' || crashes FROM items WHERE key = '7'")" "failed 3"
check_contains "its error says so" "$(sql p.db "SELECT last_error FROM items WHERE key = '7'")" "crashed on this item 3 times"
check_eq "every other item done" "$(count_items p.db "state = 'done'")" 39
invariant p.db "poison"

# --- reextract: a new field from the stored bodies, no request --------------
before=$(stat_requests)
expect_exit 0 "$TRAWL" reextract p.db --field n='$.n' --field last_tag='$.tags[#-1]'
check_eq "reextract made no request" "$(stat_requests)" "$before"
check_eq "the new field is filled for every result" \
	"$(sql p.db "SELECT count(*) FROM results WHERE n = length((SELECT key FROM items WHERE id = item_id)) * 7 AND last_tag = 'b'")" 39
check_eq "n is stored as an integer" "$(sql p.db "SELECT DISTINCT typeof(n) FROM results")" "integer"
check_contains "the fields setting now lists it" "$("$TRAWL" config p.db fields)" 'last_tag=$.tags[#-1]'

# --- retry: selection, dry run, and the poison item back in the queue -------
expect_exit 0 "$TRAWL" retry p.db --dry-run
check_eq "dry run counts the failed item" "$OUT" "would retry 1 item"
check_eq "dry run changed nothing" "$(count_items p.db "state = 'failed'")" 1
expect_exit 0 "$TRAWL" retry p.db --state done --where "key IN ('1', '2')"
check_eq "two done items back in the queue" "$(count_items p.db "state = 'ready'")" 2
check_eq "their results removed with them" "$(sql p.db "SELECT count(*) FROM results")" 37
expect_exit 2 "$TRAWL" retry p.db --where "no such column"
expect_exit 1 "$TRAWL" run p.db -q   # 1: the poison item is still failed
check_eq "requeued items fetched again" "$(count_items p.db "state = 'done'")" 39
invariant p.db "after retry"

finish
