# test_retry_after.sh - Retry-After: seconds and HTTP-dates are honoured (the
# server's log shows when the retry came), a host pause survives kill -9 and
# a restart, and garbage or huge values neither break a crawl nor schedule
# anything past the 24 h cap.
. "$(dirname "$0")/lib.sh"
cd "$DIR"

FAST=(--backoff-base 50ms --backoff-cap 500ms --commit-interval 100ms)
LOG="$DIR/mock.log"
start_mock --log "$LOG"

# log_times PATH_PREFIX : the log times (ms) of answered requests whose target starts with it
log_times() { awk -v p="$1" 'index($3, p) == 1 && $4 != 0 { print $1 }' "$LOG"; }

# ---- seconds ---------------------------------------------------------------------------
note "scenario: Retry-After: 2 delays the retry by at least 2 s"
"$TRAWL" init ra.db --url "$BASE/retry-after/{id}?value=2" --field 'title=$.title' "${FAST[@]}" -q
echo ra-secs | "$TRAWL" add ra.db - -q
expect_exit 0 "$TRAWL" run ra.db -q
mapfile -t ts < <(log_times /retry-after/ra-secs)
check_eq "two requests reached the server" "${#ts[@]}" 2
if [ "${#ts[@]}" = 2 ]; then
	gap=$((ts[1] - ts[0]))
	note "retry came after $gap ms"
	check_ge "the retry waited at least 2 s" "$gap" 1950
	check_le "the retry did not wait much longer" "$gap" 5000
fi
check_eq "the 429 was recorded with its Retry-After" \
	"$(sql ra.db "SELECT http_status || ':' || retry_after_ms || ':' || outcome FROM attempts ORDER BY id LIMIT 1")" "429:2000:retry"
check_eq "then done" "$(sql ra.db "SELECT state || ':' || attempts FROM items")" "done:2"

# ---- HTTP-date ----------------------------------------------------------------------------
note "scenario: Retry-After as an HTTP-date 3 s ahead, in each of the three formats"
"$TRAWL" init date.db --url "$BASE/retry-after/{id}?value={when}" --key id --columns when "${FAST[@]}" -q
due_s=$(($(date +%s) + 3))
{
	echo "id,when"
	printf 'ra-imf,"%s"\n' "$(date -u -d "@$due_s" '+%a, %d %b %Y %H:%M:%S GMT')"
	printf 'ra-rfc850,"%s"\n' "$(date -u -d "@$due_s" '+%A, %d-%b-%y %H:%M:%S GMT')"
	printf 'ra-asctime,"%s"\n' "$(date -u -d "@$due_s" '+%a %b %e %H:%M:%S %Y')"
} >date.csv
"$TRAWL" add date.db date.csv -q
expect_exit 0 "$TRAWL" run date.db -q
for k in ra-imf ra-rfc850 ra-asctime; do
	mapfile -t ts < <(log_times "/retry-after/$k?")
	check_eq "date $k: two requests" "${#ts[@]}" 2
	if [ "${#ts[@]}" = 2 ]; then
		check_ge "date $k: the retry came at or after the date" "${ts[1]}" $((due_s * 1000 - 50))
		# three 429s at once also slow the host down: the last retry may wait a little more
		check_le "date $k: not much later" "${ts[1]}" $((due_s * 1000 + 6000))
	fi
	check_ge "date $k: Retry-After recorded" "$(sql date.db "SELECT max(ifnull(retry_after_ms, 0)) FROM attempts a JOIN items i ON i.id = a.item_id WHERE i.key = '$k'")" 1000
done
check_eq "date: all done" "$(count_items date.db "state = 'done'")" 3

note "scenario: garbage, negative and past-date Retry-After values are ignored"
"$TRAWL" init junk.db --url "$BASE/retry-after/{id}?value={v}" --key id --columns v "${FAST[@]}" -q
printf 'id,v\nj-garbage,soon-ish\nj-neg,-5\nj-past,"Wed, 21 Oct 2015 07:28:00 GMT"\nj-float,1.5e3\n' >junk.csv
"$TRAWL" add junk.db junk.csv -q
t0=$(now_ms)
expect_exit 0 "$TRAWL" run junk.db -q
check_le "junk values: the crawl was not held up (a 429 still slows the host)" "$(($(now_ms) - t0))" 20000
check_eq "junk values: all done" "$(count_items junk.db "state = 'done'")" 4
check_eq "junk values: retried once each" "$(count_items junk.db "attempts = 2")" 4
check_eq "junk values: not taken as a delay" \
	"$(sql junk.db "SELECT count(*) FROM attempts WHERE http_status = 429 AND ifnull(retry_after_ms, 0) > 0")" 0
invariant junk.db junk

# ---- huge value ----------------------------------------------------------------------------
note "scenario: Retry-After: 1000000000 is capped at 24 h, and the run still stops on SIGTERM"
"$TRAWL" init huge.db --url "$BASE/retry-after/{id}?value=1000000000" --max-attempts 3 "${FAST[@]}" -q
printf 'h1\n' | "$TRAWL" add huge.db - -q
"$TRAWL" run huge.db -q >/dev/null 2>huge.err &
pid=$!
track $pid
first_attempt_recorded() { [ "$(count_items huge.db "attempts = 1")" = 1 ]; }
wait_for 5 first_attempt_recorded || true
sleep 0.3
kill -TERM $pid 2>/dev/null || true
wait_pid $pid 15 || true
check_eq "huge: SIGTERM exit 143" "$RC" 143
now=$(now_ms)
nxt=$(sql huge.db "SELECT next_attempt_at FROM items")
check_eq "huge: the item waits, ready" "$(sql huge.db "SELECT state || ':' || attempts FROM items")" "ready:1"
check_le "huge: next attempt no later than 24 h (+1 min)" "$nxt" $((now + 86400000 + 60000))
check_ge "huge: next attempt not sooner than 23 h" "$nxt" $((now + 23 * 3600000))
check_le "huge: recorded Retry-After capped" "$(sql huge.db "SELECT max(retry_after_ms) FROM attempts")" 86400000
check_le "huge: host pause no later than 24 h" "$(sql huge.db "SELECT ifnull(max(paused_until), 0) FROM hosts")" $((now + 86400000 + 60000))
expect_exit 0 "$TRAWL" status huge.db --json
check_eq "huge: status shows one retry waiting" "$(jq -r .retry_waiting <<<"$OUT")" 1
invariant huge.db huge

# ---- a pause survives kill -9 ------------------------------------------------------------------
note "scenario: kill -9 during a 5 s host pause; the restarted run waits for the pause end"
stop_mock
: >"$LOG"
start_mock --log "$LOG" --rate 1 --burst 1 --retry-after 5
"$TRAWL" init pause.db --url "$BASE/items/{id}" --concurrency 4 "${FAST[@]}" -q
seq 1 8 | "$TRAWL" add pause.db - -q
"$TRAWL" run pause.db -q >/dev/null 2>&1 &
pid=$!
track $pid
paused_until=0
for ((i = 0; i < 100; i++)); do
	paused_until=$(sql pause.db "SELECT ifnull(max(paused_until), 0) FROM hosts" 2>/dev/null || echo 0)
	[ "${paused_until:-0}" -gt "$(now_ms)" ] && break
	sleep 0.05
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
untrack $pid
t_restart=$(now_ms)
first429=$(awk '$4 == 429 { print $1; exit }' "$LOG")
check "a 429 came before the kill" test -n "$first429"
check_ge "the pause was persisted before the kill" "$paused_until" "$t_restart"
note "first 429 at $first429, paused until $paused_until, restart at $t_restart"
"$TRAWL" run pause.db -q >/dev/null 2>pause2.err &
pid=$!
track $pid
wait_for 12 awk -v t="$t_restart" '$1 > t { found = 1 } END { exit !found }' "$LOG" || true
next_req=$(awk -v t="$t_restart" '$1 > t { print $1; exit }' "$LOG")
check "the restarted run sent a request within 12 s" test -n "$next_req"
if [ -n "$next_req" ] && [ -n "$first429" ]; then
	note "first request after the restart at $next_req ($((next_req - t_restart)) ms after it)"
	check_ge "no request before the persisted pause end" "$next_req" $((paused_until - 20))
	check_ge "no request before the 429's Retry-After ran out" "$next_req" $((first429 + 5000 - 50))
fi
kill -TERM $pid 2>/dev/null || true
wait_pid $pid 15 || true
check_eq "the restarted run stops on SIGTERM with 143" "$RC" 143
invariant pause.db pause

stop_mock
finish
