# test_faults.sh - what a crawl does with a misbehaving server: random 503s,
# a rate-limit storm, per-item faults (4xx, 5xx, hangs, truncated, oversized,
# endless, invalid JSON, HTML), redirects (chains, loops, file://, POST
# rewriting) and a custom header that must not follow a cross-origin redirect.
. "$(dirname "$0")/lib.sh"
cd "$DIR"

FAST=(--backoff-base 50ms --backoff-cap 500ms --commit-interval 100ms)

# ---- random 503s -----------------------------------------------------------------------
note "scenario: --fail-rate 0.2: every item done in the end"
start_mock --fail-rate 0.2 --seed 7
"$TRAWL" init flaky.db --url "$BASE/items/{id}" --field 'title=$.title' "${FAST[@]}" -q
seq 1 500 | "$TRAWL" add flaky.db - -q
expect_exit 0 "$TRAWL" run flaky.db -q
check_eq "all 500 done" "$(count_items flaky.db "state = 'done'")" 500
n503=$(stat_status 503)
check_ge "the mock did inject 503s" "$n503" 50
check_eq "every request is an attempt row" "$(sql flaky.db "SELECT count(*) FROM attempts")" "$(stat_requests)"
check_eq "503 attempts recorded as retries" "$(sql flaky.db "SELECT count(*) FROM attempts WHERE http_status = 503 AND outcome = 'retry'")" "$n503"
check_eq "attempts column matches the attempts table" \
	"$(sql flaky.db "SELECT count(*) FROM items i WHERE attempts <> (SELECT count(*) FROM attempts a WHERE a.item_id = i.id)")" 0
invariant flaky.db flaky
stop_mock

# ---- 429 storm --------------------------------------------------------------------------
note "scenario: the server allows 100 requests/s, 1500 items, no rate set: all done, few 429s"
start_mock --rate 100
"$TRAWL" init storm.db --url "$BASE/items/{id}" "${FAST[@]}" -q
seq 1 1500 | "$TRAWL" add storm.db - -q
t0=$(now_ms)
expect_exit 0 "$TRAWL" run storm.db -q
t1=$(now_ms)
check_eq "all 1500 done" "$(count_items storm.db "state = 'done'")" 1500
check_eq "none failed" "$(count_items storm.db "state = 'failed'")" 0
req=$(stat_requests)
n429=$(stat_status 429)
note "storm: $req requests, $n429 answered 429, $((t1 - t0)) ms"
check_le "429s are under 25% of requests" "$((n429 * 4))" "$req"
check_eq "200s = items" "$(stat_status 200)" 1500
check_le "the storm took under 120 s (the server allows 15 s)" "$((t1 - t0))" 120000
check_eq "the host's state is kept" "$(sql storm.db "SELECT count(*) FROM hosts WHERE host = '$BASE'")" 1
invariant storm.db storm
stop_mock

note "scenario: --rate 20/s is honoured: no second holds more than 20 requests"
start_mock --log "$DIR/rate.log"
"$TRAWL" init rate.db --url "$BASE/items/{id}" --rate 20/s "${FAST[@]}" -q
seq 1 60 | "$TRAWL" add rate.db - -q
expect_exit 0 "$TRAWL" run rate.db -q
check_eq "rate: all done" "$(count_items rate.db "state = 'done'")" 60
maxwin=$(awk '{ t[NR] = $1 } END { m = 0; for (i = 1; i <= NR; i++) { c = 0; for (j = i; j <= NR && t[j] < t[i] + 1000; j++) c++; if (c > m) m = c } print m }' "$DIR/rate.log")
span=$(awk 'NR == 1 { a = $1 } { b = $1 } END { print b - a }' "$DIR/rate.log")
note "rate: at most $maxwin requests in any second, 60 requests over $span ms"
check_le "rate: at most 21 requests in any 1 s window" "$maxwin" 21
check_ge "rate: 60 requests took at least 2.5 s" "$span" 2500
expect_exit 0 "$TRAWL" config rate.db rate
check_eq "rate: the setting is kept" "$OUT" "20/s"
stop_mock

note "scenario: nothing listens: connection errors are retried, then failed"
start_mock
CLOSED_BASE=$BASE # a port just freed: nothing listens there now
stop_mock
"$TRAWL" init closed.db --url "$CLOSED_BASE/items/{id}" --max-attempts 3 "${FAST[@]}" -q
printf 'c1\nc2\n' | "$TRAWL" add closed.db - -q
run_cmd timeout 60 "$TRAWL" run closed.db -q
check_eq "closed port: exit 1" "$RC" 1
check_eq "closed port: both failed after 3 attempts" "$(count_items closed.db "state = 'failed' AND attempts = 3")" 2
check_eq "closed port: a connection error" "$(count_items closed.db "last_error LIKE '%connect%' AND last_http_status IS NULL")" 2
invariant closed.db closed

# ---- per-item faults ----------------------------------------------------------------------
note "scenario: per-item faults against one server"
start_mock --log "$DIR/faults.log"
"$TRAWL" init f.db --url "$BASE/{kind}/{arg}/{id}?bytes=2000000" --key id --columns kind,arg \
	--field 'title=$.title' --max-attempts 3 --timeout 1s --max-body 1MiB --max-redirects 5 "${FAST[@]}" -q
cat >f.csv <<'EOF'
kind,arg,id
status,404,s404
status,410,s410
status,501,s501
status,503,s503
status,500,s500
status,502,s502
status,504,s504
status,408,s408
status,302,s302nolocation
hang,x,hang1
trunc,x,trunc1
big,x,big1
endless,x,endless1
badjson,x,bad1
html,x,html1
redirect,3,redir3
redirect,9,redir9
loop,x,loop1
gzip,x,gz1
items,x,ok1
EOF
"$TRAWL" add f.db f.csv -q
t0=$(now_ms)
run_cmd "$TRAWL" run f.db
t1=$(now_ms)
check_eq "some items failed: exit 1" "$RC" 1
check_contains "the run says how to see why" "$ERR" "--state failed"
check_le "the fault crawl took under 60 s" "$((t1 - t0))" 60000
st() { sql f.db "SELECT state || ':' || attempts || ':' || ifnull(last_http_status, '') FROM items WHERE key = '$1'"; }
lerr() { sql f.db "SELECT ifnull(last_error, '') FROM items WHERE key = '$1'"; }
hits() { stats | jq -r --arg p "$1" '.paths[$p] // 0'; }
check_eq "404: failed at once" "$(st s404)" "failed:1:404"
check_eq "404: one request" "$(hits /status/404/s404)" 1
check_contains "404: error says http 404" "$(lerr s404)" "404"
check_eq "410: failed at once" "$(st s410)" "failed:1:410"
check_eq "501: failed at once" "$(st s501)" "failed:1:501"
check_eq "503 always: failed after max_attempts" "$(st s503)" "failed:3:503"
check_eq "503 always: three requests" "$(hits /status/503/s503)" 3
for c in 500 502 504 408; do
	check_eq "$c: retried up to max_attempts" "$(st s$c)" "failed:3:$c"
done
check_eq "302 without Location: not followed, failed at once" "$(st s302nolocation)" "failed:1:302"
check_eq "hang: retried then failed" "$(sql f.db "SELECT state || ':' || attempts FROM items WHERE key = 'hang1'")" "failed:3"
check_contains "hang: a timeout error" "$(lerr hang1)" "timeout"
check_eq "hang: three requests reached the server" "$(hits /hang/x/hang1)" 3
check_eq "hang attempts took about the timeout" \
	"$(sql f.db "SELECT count(*) FROM attempts a JOIN items i ON i.id = a.item_id WHERE i.key = 'hang1' AND a.elapsed_ms BETWEEN 900 AND 3000")" 3
check_eq "truncated: retried then failed" "$(sql f.db "SELECT state || ':' || attempts FROM items WHERE key = 'trunc1'")" "failed:3"
check_contains "truncated: the error says so" "$(lerr trunc1)" "truncated"
check_eq "truncated: three requests" "$(hits /trunc/x/trunc1)" 3
check_eq "oversized: failed at once" "$(sql f.db "SELECT state || ':' || attempts FROM items WHERE key = 'big1'")" "failed:1"
check_contains "oversized: over the cap" "$(lerr big1)" "cap"
check_eq "endless: failed at once" "$(sql f.db "SELECT state || ':' || attempts FROM items WHERE key = 'endless1'")" "failed:1"
check_contains "endless: over the cap" "$(lerr endless1)" "cap"
check_le "oversized attempts stopped near the cap" \
	"$(sql f.db "SELECT max(bytes) FROM attempts a JOIN items i ON i.id = a.item_id WHERE i.key IN ('big1', 'endless1')")" $((2 * 1024 * 1024))
check_eq "invalid JSON: failed at once" "$(st bad1)" "failed:1:200"
check_contains "invalid JSON: says JSON" "$(lerr bad1)" "JSON"
check_eq "HTML 200: failed at once" "$(st html1)" "failed:1:200"
check_eq "redirect chain of 3: done" "$(st redir3)" "done:1:200"
check_eq "redirect chain: each hop once" \
	"$(hits /redirect/3/redir3)$(hits /redirect/2/redir3)$(hits /redirect/1/redir3)$(hits /redirect/0/redir3)" "1111"
check_eq "redirect chain: the document at the end" "$(sql f.db "SELECT title FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = 'redir3'")" "Item redir3"
check_eq "redirect chain over max_redirects: failed" "$(sql f.db "SELECT state || ':' || attempts FROM items WHERE key = 'redir9'")" "failed:1"
check_contains "too many redirects: says so" "$(lerr redir9)" "redirect"
check_eq "redirect chain over max_redirects: 6 requests (5 followed)" \
	"$(stats | jq '[.paths | to_entries[] | select(.key | endswith("/redir9")) | .value] | add')" 6
check_eq "redirect loop: failed" "$(sql f.db "SELECT state || ':' || attempts FROM items WHERE key = 'loop1'")" "failed:1"
check_contains "redirect loop: says redirects" "$(lerr loop1)" "redirect"
check_eq "gzip: decoded and done" "$(sql f.db "SELECT title FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = 'gz1'")" "Item x/gz1"
check_eq "plain item done" "$(st ok1)" "done:1:200"
# attempts = requests - 302 answers + 3: the 302s are hops, except the last
# answer of redir9, of loop1 and of s302nolocation, each ending an attempt
check_eq "every request but redirect hops is an attempt row" \
	"$(sql f.db "SELECT count(*) FROM attempts")" "$(stats | jq '.requests - (.status["302"] // 0) + 3')"
invariant f.db faults

note "scenario: max_body is exact; a stalled body is cut by low_speed_time"
"$TRAWL" init cap.db --url "$BASE/big/x?bytes={id}" --max-body 1KiB --max-attempts 1 "${FAST[@]}" -q
printf '1023\n1024\n1025\n' | "$TRAWL" add cap.db - -q
run_cmd "$TRAWL" run cap.db -q
check_eq "cap: 1023 and 1024 bytes done, 1025 failed" \
	"$(sql cap.db "SELECT group_concat(key || '=' || state, ' ') FROM (SELECT key, state FROM items ORDER BY id)")" \
	"1023=done 1024=done 1025=failed"
check_eq "cap: the stored body is whole" "$(sql cap.db "SELECT length(body) FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = '1024'")" 1024
"$TRAWL" init huge.db --url "$BASE/big/x?bytes={id}" --max-attempts 1 "${FAST[@]}" -q
printf '100000000\n1000\n' | "$TRAWL" add huge.db - -q
run_cmd /usr/bin/time -f "%M" -o "$DIR/huge.rss" "$TRAWL" run huge.db -q
check_eq "100 MB body: exit 1 (one item failed)" "$RC" 1
check_eq "100 MB body: failed at the default 16 MiB cap, the small one done" \
	"$(sql huge.db "SELECT group_concat(key || '=' || state || ':' || coalesce(last_error, ''), ' ') FROM (SELECT * FROM items ORDER BY id)")" \
	"100000000=failed:body over the cap: Maximum file size exceeded 1000=done:"
if [ "${TRAWL_SANITIZED:-0}" != 1 ]; then
	check_le "100 MB body: peak RSS under 64 MiB" "$(tail -n 1 "$DIR/huge.rss")" 65536
fi
invariant huge.db "100 MB body"
"$TRAWL" init stall.db --url "$BASE/slow/{id}?delay_ms=1500" --low-speed-time 1s --low-speed-limit 100 \
	--timeout 60s --max-attempts 1 "${FAST[@]}" -q
echo s1 | "$TRAWL" add stall.db - -q
t0=$(now_ms)
run_cmd "$TRAWL" run stall.db -q
check_eq "stall: failed" "$(sql stall.db "SELECT state FROM items")" "failed"
check_contains "stall: a timeout error" "$(sql stall.db "SELECT last_error FROM items")" "timeout"
check_le "stall: cut after about low_speed_time, not the 60 s timeout" "$(($(now_ms) - t0))" 8000

note "scenario: run overrides (--max-attempts, --timeout) apply to that run only"
"$TRAWL" init over.db --url "$BASE/{kind}/{id}" --key id --columns kind --max-attempts 5 --timeout 30s "${FAST[@]}" -q
printf 'kind,id\nstatus,503\nhang,h\n' >over.csv
"$TRAWL" add over.db over.csv -q
t0=$(now_ms)
run_cmd "$TRAWL" run over.db -q --max-attempts 2 --timeout 1s
check_eq "overrides: exit 1" "$RC" 1
check_eq "overrides: 503 failed after 2 attempts, not 5" "$(sql over.db "SELECT attempts FROM items WHERE key = '503'")" 2
check_eq "overrides: the hang timed out after 1 s, twice" \
	"$(sql over.db "SELECT count(*) FROM attempts a JOIN items i ON i.id = a.item_id WHERE i.key = 'h' AND a.elapsed_ms < 5000 AND a.error LIKE '%timeout%'")" 2
check_le "overrides: quick" "$(($(now_ms) - t0))" 15000
check_eq "overrides: settings unchanged" "$("$TRAWL" config over.db max_attempts) $("$TRAWL" config over.db timeout)" "5 30s"
expect_exit 2 "$TRAWL" run over.db --max-attempts 0
expect_exit 2 "$TRAWL" run over.db --set nosuch=1
expect_exit 2 "$TRAWL" run over.db --set 'url=http://x/{nope}'

note "scenario: invalid JSON kept with invalid_json=keep"
"$TRAWL" init keep.db --url "$BASE/{kind}/{id}" --key id --columns kind --field 'title=$.title' \
	--invalid-json keep "${FAST[@]}" -q
printf 'kind,id\nbadjson,k1\nhtml,k2\nitems,k3\n' >keep.csv
"$TRAWL" add keep.db keep.csv -q
expect_exit 0 "$TRAWL" run keep.db -q
check_eq "kept: all done" "$(count_items keep.db "state = 'done'")" 3
check_eq "kept: fields NULL for the broken bodies" "$(sql keep.db "SELECT count(*) FROM results WHERE title IS NULL")" 2
check_eq "kept: the raw body stored" "$(sql keep.db "SELECT body FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = 'k1'")" '{"broken": '
check_eq "kept: the good one extracted" "$(sql keep.db "SELECT title FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = 'k3'")" "Item k3"

note "scenario: the same crawl with --set invalid_json=keep for one run only"
"$TRAWL" init keep2.db --url "$BASE/badjson/{id}" "${FAST[@]}" -q
printf 'j1\n' | "$TRAWL" add keep2.db - -q
expect_exit 0 "$TRAWL" run keep2.db -q --set invalid_json=keep
check_eq "--set: done" "$(count_items keep2.db "state = 'done'")" 1
check_eq "--set does not change the stored setting" "$("$TRAWL" config keep2.db invalid_json)" "fail"

note "scenario: a hanging request does not hold up the other slots"
reset_stats
"$TRAWL" init slots.db --url "$BASE/{kind}/{id}" --key id --columns kind --concurrency 4 \
	--timeout 20s --max-attempts 1 "${FAST[@]}" -q
{
	echo "kind,id"
	echo "hang,first"
	for i in $(seq 1 20); do echo "items,i$i"; done
} >slots.csv
"$TRAWL" add slots.db slots.csv -q
"$TRAWL" run slots.db -q --grace 500ms >/dev/null 2>&1 &
pid=$!
track $pid
items_fetched() { [ "$(stats | jq '[.paths | to_entries[] | select(.key | startswith("/items/i"))] | length')" -ge 20 ]; }
wait_for 4 items_fetched || true
check_eq "while one transfer hangs, the other 3 slots fetch all 20 items within 4 s" \
	"$(stats | jq '[.paths | to_entries[] | select(.key | startswith("/items/i"))] | length')" 20
kill -TERM $pid 2>/dev/null || true
wait_pid $pid 15 || true
check_eq "slots: SIGTERM exit 143" "$RC" 143
invariant slots.db slots

# ---- redirects to elsewhere -----------------------------------------------------------------
note "scenario: redirects to file://, to another origin (no custom header), same origin (header kept)"
MAIN_BASE=$BASE
MAIN_PID=$MOCK_PID
start_mock
OTHER_BASE=$BASE
BASE=$MAIN_BASE
MOCK_PID=$MAIN_PID
"$TRAWL" init redir.db --url "$BASE/redirect-to?url={target}" --key target \
	--header 'X-Secret: s' --field 'secret=$.headers.x-secret' --field 'path=$.path' \
	--field 'host=$.headers.host' --max-attempts 2 "${FAST[@]}" -q
{
	echo "file:///etc/passwd"
	echo "$OTHER_BASE/echo/cross"
	echo "$BASE/echo/same"
	echo "gopher://127.0.0.1:1/x"
} >targets.txt
"$TRAWL" add redir.db targets.txt -q
run_cmd "$TRAWL" run redir.db -q
check_eq "redirect run: exit 1 (two refused)" "$RC" 1
check_eq "file:// refused, failed at once" \
	"$(sql redir.db "SELECT state || ':' || attempts FROM items WHERE key = 'file:///etc/passwd'")" "failed:1"
check_contains "file://: says redirect" "$(sql redir.db "SELECT last_error FROM items WHERE key = 'file:///etc/passwd'")" "redirect"
check_eq "gopher:// refused, failed at once" \
	"$(sql redir.db "SELECT state || ':' || attempts FROM items WHERE key LIKE 'gopher:%'")" "failed:1"
check_eq "cross-origin: reached the other server" \
	"$(sql redir.db "SELECT r.path || ' ' || r.host FROM results r JOIN items i ON i.id = r.item_id WHERE i.key LIKE '%/echo/cross'")" \
	"/echo/cross ${OTHER_BASE#http://}"
check_eq "cross-origin: X-Secret not sent" \
	"$(sql redir.db "SELECT ifnull(r.secret, 'absent') FROM results r JOIN items i ON i.id = r.item_id WHERE i.key LIKE '%/echo/cross'")" "absent"
check_eq "the other server saw one request" "$(stat_requests "$OTHER_BASE")" 1
check_eq "same origin: X-Secret sent" \
	"$(sql redir.db "SELECT r.secret FROM results r JOIN items i ON i.id = r.item_id WHERE i.key LIKE '%/echo/same'")" "s"
check_eq "the result url is where the body came from" \
	"$(sql redir.db "SELECT r.url FROM results r JOIN items i ON i.id = r.item_id WHERE i.key LIKE '%/echo/cross'")" "$OTHER_BASE/echo/cross"

note "scenario: a placeholder in the URL's authority: each item goes to its own origin"
MAIN_PORT=${MAIN_BASE##*:}
OTHER_PORT=${OTHER_BASE##*:}
"$TRAWL" init ports.db --url "http://127.0.0.1:{port}/echo/{id}" --key id --columns port \
	--field 'host=$.headers.host' "${FAST[@]}" -q
printf 'id,port\na,%s\nb,%s\nc,%s\nd,%s\n' "$MAIN_PORT" "$OTHER_PORT" "$MAIN_PORT" "$OTHER_PORT" >ports.csv
"$TRAWL" add ports.db ports.csv -q
expect_exit 0 "$TRAWL" run ports.db -q
check_eq "each item answered by the server its port names" \
	"$(sql ports.db "SELECT group_concat(i.key || '=' || r.host, ' ') FROM results r JOIN items i ON i.id = r.item_id ORDER BY i.id")" \
	"a=127.0.0.1:$MAIN_PORT b=127.0.0.1:$OTHER_PORT c=127.0.0.1:$MAIN_PORT d=127.0.0.1:$OTHER_PORT"
check_eq "two hosts, each with its own state" "$(sql ports.db "SELECT count(*) FROM hosts")" 2

note "scenario: POST across 302 becomes GET without a body, across 307 stays POST"
"$TRAWL" init postredir.db --url "$BASE/redirect-to?url={target}&code={code}" --key id --columns target,code \
	--data '{"k": {id}}' --field 'method=$.method' --field 'sent=$.body' "${FAST[@]}" -q
printf 'id,target,code\np302,%s/echo/a,302\np307,%s/echo/b,307\np303,%s/echo/c,303\n' "$BASE" "$BASE" "$BASE" >pr.csv
"$TRAWL" add postredir.db pr.csv -q
expect_exit 0 "$TRAWL" run postredir.db -q
check_eq "302: POST became GET" "$(sql postredir.db "SELECT method FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = 'p302'")" "GET"
check_eq "303: POST became GET" "$(sql postredir.db "SELECT method FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = 'p303'")" "GET"
check_eq "307: still POST with the body" \
	"$(sql postredir.db "SELECT method || ' ' || sent FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = 'p307'")" 'POST {"k": "p307"}'

note "scenario: one reused transfer slot keeps no method or body from the item before"
"$TRAWL" init reuse.db --url "$BASE/redirect-to?url={target}&code={code}" --key id --columns target,code \
	--data '{"k": {id}}' --field 'method=$.method' --field 'sent=$.body' "${FAST[@]}" --concurrency 1 -q
printf 'id,target,code\nr1,%s/echo/a,303\nr2,%s/echo/b,307\nr3,%s/echo/c,303\nr4,%s/echo/d,308\n' \
	"$BASE" "$BASE" "$BASE" "$BASE" >reuse.csv
"$TRAWL" add reuse.db reuse.csv -q
expect_exit 0 "$TRAWL" run reuse.db -q
check_eq "each item's final request, in turn on one slot" \
	"$(sql reuse.db "SELECT group_concat(i.key || ' ' || r.method || ' ' || ifnull(nullif(r.sent, ''), '-'), '; ') FROM results r JOIN items i ON i.id = r.item_id ORDER BY i.id")" \
	'r1 GET -; r2 POST {"k": "r2"}; r3 GET -; r4 POST {"k": "r4"}'

stop_mock
finish
