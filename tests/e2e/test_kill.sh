# test_kill.sh - a crawl survives anything: 30 kill -9 at random moments then
# a final run (each item exactly one result, little refetching), a kill while
# answers wait for their commit (fetched again, exactly those), SIGTERM and
# SIGINT (exit codes, resume message, grace period), a second concurrent run
# (exit 5 naming the pid) and kill -9 during a large add (all or nothing).
. "$(dirname "$0")/lib.sh"
cd "$DIR"

# ---- 30 x kill -9 ----------------------------------------------------------------------------
# TRAWL_TEST_KILLS=300 is the long variant (by hand: about 2 minutes).
KILLS=${TRAWL_TEST_KILLS:-30}
N=$((KILLS * 100))
note "scenario: $KILLS kill -9 at random moments during a $N-item crawl, then a final run"
start_mock --latency-ms 20 --latency-jitter-ms 20 --seed 3
CONC=16
BATCH=50
"$TRAWL" init k.db --url "$BASE/items/{id}" --field 'title=$.title' --field 'n=$.n' \
	--concurrency $CONC --commit-batch $BATCH --commit-interval 100ms \
	--backoff-base 50ms --backoff-cap 500ms -q
seq 1 $N | sed 's/^/item-/' | "$TRAWL" add k.db - -q
RANDOM=4242
kills=0 attempts_to_kill=0
t0=$(now_ms)
for ((round = 0; round < KILLS; round++)); do
	"$TRAWL" run k.db -q >/dev/null 2>>kill-runs.err &
	pid=$!
	track $pid
	# 100-399 ms: past the start-up, so each run gets some work done, or not
	sleep "0.$(printf '%03d' $((100 + RANDOM % 300)))"
	attempts_to_kill=$((attempts_to_kill + 1))
	if kill -9 $pid 2>/dev/null; then
		kills=$((kills + 1))
	else
		note "round $round: the run had already exited"
	fi
	wait $pid 2>/dev/null || true
	untrack $pid
	if [ "$(count_items k.db "state = 'done'")" = "$N" ]; then
		note "round $round: the crawl is complete, no more kills"
		break
	fi
done
note "$kills of $attempts_to_kill kills hit a live run; $(count_items k.db "state = 'done'") items done by then, $(($(now_ms) - t0)) ms"
check_ge "at least a third of the kills hit a running crawl" "$((kills * 3))" "$KILLS"
check_eq "after the kills the file is intact" "$(sql k.db "PRAGMA integrity_check")" "ok"
if [ "$(count_items k.db "state = 'done'")" != "$N" ]; then
	check_eq "status says the last run died" "$("$TRAWL" status k.db --json | jq -r .run.state)" "died"
fi
expect_exit 0 "$TRAWL" run k.db -q
invariant k.db after-kills
check_eq "every item done" "$(count_items k.db "state = 'done'")" "$N"
check_eq "every item exactly one result" "$(sql k.db "SELECT count(DISTINCT item_id) || ':' || count(*) FROM results")" "$N:$N"
check_eq "results hold the right document" \
	"$(sql k.db "SELECT count(*) FROM results r JOIN items i ON i.id = r.item_id WHERE r.title = 'Item ' || i.key")" "$N"
js=$(stats)
check_eq "every item fetched at least once" "$(jq '[.paths | to_entries[] | select(.key | startswith("/items/item-")) | select(.value >= 1)] | length' <<<"$js")" "$N"
total=$(jq '.requests' <<<"$js")
extra=$((total - N))
note "fetched $total times for $N items: $extra refetches after $kills kills"
check_le "refetches <= kills * (concurrency*2 + commit batch)" "$extra" $((kills * (CONC * 2 + BATCH)))
check_eq "no attempt counted without an answer" "$(sql k.db "SELECT count(*) FROM items WHERE attempts <> 1")" 0
check_le "attempt rows never exceed requests" "$(sql k.db "SELECT count(*) FROM attempts")" "$total"
last_outcome=$(sql k.db "SELECT outcome FROM runs ORDER BY id DESC LIMIT 1")
check_eq "the last run's outcome is complete" "$last_outcome" "complete"
if [ "$last_outcome" != complete ]; then
	"$TRAWL" sql k.db "SELECT id, pid, started_at, ended_at, outcome, requests, done FROM runs" | sed 's/^/# runs: /'
	sed 's/^/# killed runs said: /' kill-runs.err | sort | uniq -c | head -20
fi
check "no crash marker left" test ! -e k.db-crash
stop_mock

# ---- kill -9 between the answers and their commit ---------------------------------------------
note "scenario: kill -9 while answers wait for their commit: they are fetched again, once"
start_mock --latency-ms 50 --log "$DIR/gap.log"
"$TRAWL" init gap.db --url "$BASE/items/{id}" --field 'title=$.title' --concurrency 4 \
	--commit-interval 60s --commit-batch 100000 -q
seq 1 200 | "$TRAWL" add gap.db - -q
"$TRAWL" run gap.db -q &
pid=$!
track $pid
served_100() { [ "$(stat_status 200)" -ge 100 ]; }
wait_for 20 served_100 || _fail "gap" "100 answers within 20 s"
kill -9 $pid
wait $pid 2>/dev/null || true
untrack $pid
sleep 0.5  # requests the mock was still answering (50 ms) are logged by now
served=$(stat_status 200)
committed=$(count_items gap.db "state = 'done'")
note "at the kill: $served answered, $committed committed"
# with commits only on the 1 s heartbeat, the last ones are still in memory
check_ge "some answers were not committed yet" $((served - committed)) 1
check_eq "what was committed has its result" "$(sql gap.db "SELECT count(*) FROM results")" "$committed"
expect_exit 0 "$TRAWL" run gap.db -q
check_eq "gap: all 200 done" "$(count_items gap.db "state = 'done'")" 200
invariant gap.db gap
# fetched twice: exactly the answers lost with the process (and the requests cut by the kill)
twice=$(awk '$4 == 200 { print $3 }' "$DIR/gap.log" | sort | uniq -d | wc -l)
check_eq "fetched twice: exactly the answers the kill lost" "$twice" $((served - committed))
stop_mock

# ---- SIGTERM / SIGINT -------------------------------------------------------------------------
start_mock --latency-ms 100
mock_was_asked() { [ "$(stat_requests)" -gt 0 ]; }
hangs_arrived() { [ "$(stats | jq '[.paths | to_entries[] | select(.key | startswith("/hang/"))] | length')" -ge 1 ]; }
# start_run DB : a run in the background; waits until it has fetched something
start_run() {
	"$TRAWL" run "$1" >"$DIR/run.out" 2>"$DIR/run.err" &
	RUN_PID=$!
	track $RUN_PID
	wait_for 10 mock_was_asked || true
	sleep 0.3
}

note "scenario: SIGTERM stops the run cleanly with exit 143 and a resume hint"
"$TRAWL" init term.db --url "$BASE/items/{id}" --concurrency 4 --commit-interval 100ms -q
seq 1 120 | "$TRAWL" add term.db - -q
reset_stats
start_run term.db
t0=$(now_ms)
kill -TERM $RUN_PID
wait_pid $RUN_PID 15 || true
check_eq "SIGTERM: exit 143" "$RC" 143
check_le "SIGTERM: stopped within 4 s" "$(($(now_ms) - t0))" 4000
check_contains "SIGTERM: says how to resume" "$(cat run.err)" "resume with: trawl run term.db"
check_contains "SIGTERM: names the signal" "$(cat run.err)" "SIGTERM"
invariant term.db sigterm
done_at_stop=$(count_items term.db "state = 'done'")
check_ge "SIGTERM: some items done" "$done_at_stop" 1
check_le "SIGTERM: not all done" "$done_at_stop" 119
check_eq "SIGTERM: the transfers in flight were finished (nothing lost)" \
	"$(stat_status 200)" "$done_at_stop"
check_eq "SIGTERM: run outcome stopped" "$(sql term.db "SELECT outcome FROM runs ORDER BY id DESC LIMIT 1")" "stopped"
expect_exit 0 "$TRAWL" run term.db -q
check_eq "resume: all done" "$(count_items term.db "state = 'done'")" 120
check_eq "resume: nothing fetched twice" "$(stat_requests)" 120
invariant term.db resumed

note "scenario: SIGINT gives exit 130"
"$TRAWL" init int.db --url "$BASE/items/{id}" --concurrency 4 --commit-interval 100ms -q
seq 1 200 | "$TRAWL" add int.db - -q
reset_stats
start_run int.db
kill -INT $RUN_PID
wait_pid $RUN_PID 15 || true
check_eq "SIGINT: exit 130" "$RC" 130
check_contains "SIGINT: says how to resume" "$(cat run.err)" "resume with: trawl run int.db"
invariant int.db sigint

note "scenario: SIGTERM with hung transfers: aborted after --grace, items back to ready"
"$TRAWL" init hang.db --url "$BASE/hang/{id}" --concurrency 4 --timeout 60s -q
seq 1 4 | "$TRAWL" add hang.db - -q
"$TRAWL" run hang.db --grace 500ms >/dev/null 2>hang.err &
RUN_PID=$!
track $RUN_PID
wait_for 10 hangs_arrived || true
sleep 0.3
t0=$(now_ms)
kill -TERM $RUN_PID
wait_pid $RUN_PID 15 || true
t1=$(now_ms)
check_eq "grace: exit 143" "$RC" 143
check_le "grace: stopped soon after the grace period" "$((t1 - t0))" 4000
check_ge "grace: waited for the grace period" "$((t1 - t0))" 400
check_eq "grace: items back to ready, no attempt counted" "$(count_items hang.db "state = 'ready' AND attempts = 0")" 4
invariant hang.db grace

note "scenario: a second SIGINT aborts at once, without waiting out the grace period"
"$TRAWL" run hang.db >/dev/null 2>hang2.err &
RUN_PID=$!
track $RUN_PID
reset_stats
wait_for 10 hangs_arrived || true
sleep 0.3
t0=$(now_ms)
kill -INT $RUN_PID
sleep 0.3
kill -INT $RUN_PID 2>/dev/null || true
wait_pid $RUN_PID 15 || true
t1=$(now_ms)
check_eq "double SIGINT: exit 130" "$RC" 130
check_le "double SIGINT: well before the 5 s grace" "$((t1 - t0))" 4000
check_eq "double SIGINT: items back to ready, no attempt counted" "$(count_items hang.db "state = 'ready' AND attempts = 0")" 4
invariant hang.db double-sigint

note "scenario: a second run while one is going exits 5 naming the pid"
"$TRAWL" init busy.db --url "$BASE/items/{id}" --concurrency 2 -q
seq 1 300 | "$TRAWL" add busy.db - -q
start_run busy.db
expect_exit 5 "$TRAWL" run busy.db
check_contains "busy: names the pid" "$ERR" "pid $RUN_PID"
check_one_error_line "busy: one error line" "$ERR"
expect_exit 0 "$TRAWL" status busy.db
check_contains "status still works during a run" "$OUT" "busy.db"
expect_exit 0 "$TRAWL" export busy.db
check_ge "export works during a run" "$(printf '%s\n' "$OUT" | wc -l)" 1
seq 1001 1010 >more-keys.txt
expect_exit 0 "$TRAWL" add busy.db more-keys.txt
check_eq "add works during a run" "$OUT" "added 10, skipped 0 duplicates"
kill -TERM $RUN_PID
wait_pid $RUN_PID 15 || true
check_eq "busy: the first run stops with 143" "$RC" 143
invariant busy.db busy
expect_exit 0 "$TRAWL" run busy.db -q --concurrency 16
check_eq "busy: the resumed run did everything, added items too" "$(count_items busy.db "state = 'done'")" 310
invariant busy.db busy-resumed
stop_mock

# ---- kill during add ------------------------------------------------------------------------------
note "scenario: kill -9 during a large add leaves all or none of the file"
seq 1 200000 | sed 's/^/add-/' >big.txt
for delay in 0.1 0.3 0.6; do
	rm -f add.db add.db-wal add.db-shm
	"$TRAWL" init add.db --url 'http://127.0.0.1:1/items/{id}' -q
	printf 'pre-1\npre-2\n' | "$TRAWL" add add.db - -q
	"$TRAWL" add add.db big.txt -q &
	pid=$!
	track $pid
	sleep $delay
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	untrack $pid
	n=$(count_items add.db)
	check "kill after ${delay}s: $n items is all or none" test "$n" = 2 -o "$n" = 200002
	check_eq "kill after ${delay}s: integrity" "$(sql add.db "PRAGMA integrity_check")" "ok"
	check_eq "kill after ${delay}s: item_counts agree" "$(sql add.db "SELECT n FROM item_counts WHERE state = 'ready'")" "$n"
	expect_exit 0 "$TRAWL" add add.db big.txt -q
	check_eq "kill after ${delay}s: adding again completes" "$(count_items add.db)" 200002
done

finish
