#!/usr/bin/env bash
# trawl status from another terminal while a run goes on: the same figures
# the run shows, as text and as JSON, redrawn with --watch, and how a run
# ended once it has.
. "$(dirname "$0")/lib.sh"

start_mock --latency-ms 40
cd "$DIR"
"$TRAWL" init s.db --url "$BASE/items/{id}" --field title='$.title' --concurrency 4 --rate 40/s -q
seq 1 400 | "$TRAWL" add s.db - -q

expect_exit 0 "$TRAWL" status s.db --json
check_eq "before any run: run is null" "$(jq -r .run <<<"$OUT")" "null"
check_eq "before any run: 400 ready" "$(jq -r .states.ready <<<"$OUT")" 400

"$TRAWL" run s.db -q &
pid=$!
track $pid
running() { [ "$("$TRAWL" status s.db --json | jq -r .run.state)" = running ]; }
wait_for 10 running || true
sleep 1.5
expect_exit 0 "$TRAWL" status s.db --json
J=$OUT
check_eq "live: the run is running" "$(jq -r .run.state <<<"$J")" running
check_eq "live: its pid" "$(jq -r .run.pid <<<"$J")" "$pid"
check_le "live: heartbeat within 3 s" "$(( $(jq -r .now <<<"$J") - $(jq -r .run.heartbeat_at <<<"$J") ))" 3000
check_ge "live: items in flight" "$(jq -r .run.inflight <<<"$J")" 1
check_ge "live: some done already" "$(jq -r .states.done <<<"$J")" 1
check_eq "live: total" "$(jq -r .total <<<"$J")" 400
check_eq "live: the host and its allowed rate" "$(jq -r '.hosts[0].host + " " + (.hosts[0].rate_allowed | tostring)' <<<"$J")" "http://127.0.0.1:$PORT 40"
check "live: rate keys present" jq -e '.rate | has("1m") and has("5m") and has("15m")' <<<"$J"
expect_exit 0 "$TRAWL" status s.db
check_contains "live text: running with its pid" "$OUT" "running (pid $pid"
check_contains "live text: pace and ETA" "$OUT" "ETA"
check_not_contains "text for a pipe: no terminal escapes" "$OUT" $'\033'

run_cmd timeout --preserve-status -s INT 2.5 "$TRAWL" status s.db --watch 1
check_eq "--watch: ends cleanly on Ctrl-C" "$RC" 0
check_ge "--watch: redrew the report" "$(grep -c '^crawl:' <<<"$OUT")" 2

kill -INT $pid
wait_pid $pid 15 || true
check_eq "the run stops on SIGINT with 130" "$RC" 130
expect_exit 0 "$TRAWL" status s.db --json
check_eq "after SIGINT: stopped" "$(jq -r .run.state <<<"$OUT")" stopped
check_eq "after SIGINT: nothing in flight" "$(jq -r .states.inflight <<<"$OUT")" 0
expect_exit 0 "$TRAWL" run s.db -q
expect_exit 0 "$TRAWL" status s.db --json
check_eq "after the last run: complete" "$(jq -r .run.state <<<"$OUT")" complete
check_eq "after the last run: all done" "$(jq -r .percent_done <<<"$OUT")" "100"
check_eq "after the last run: recent outcomes are 200s" "$(jq -r '.recent.outcomes[0].http_status' <<<"$OUT")" 200
invariant s.db status

# claimed_mid_run DB CONCURRENCY COMMIT_BATCH: a run of 3,000 items, stopped
# with SIGINT after 1.5 s; sets CLAIMED to the items inflight at that moment
# (claimed and not yet committed).
claimed_mid_run() {
	local db=$1 pid
	"$TRAWL" init "$db" --url "$BASE/items/{id}" --concurrency "$2" --commit-batch "$3" -q
	seq 1 3000 | "$TRAWL" add "$db" - -q
	"$TRAWL" run "$db" -q &
	pid=$!
	track $pid
	sleep 1.5
	expect_exit 0 "$TRAWL" status "$db" --json
	CLAIMED=$(jq -r .states.inflight <<<"$OUT")
	kill -INT $pid
	wait_pid $pid 15 || true
	check_eq "$db: the run stops on SIGINT with 130" "$RC" 130
	invariant "$db" "$db"
}

note "scenario: the claimed queue outlasts a commit, so slots never wait for the disk"
# A claim comes back with a commit of up to commit_batch outcomes: the run
# keeps more than that claimed (4 x concurrency + commit_batch at least).
claimed_mid_run q.db 8 500
check_ge "claimed and in flight: a commit batch and more" "$CLAIMED" 532

note "scenario: a huge commit_batch does not make the claimed queue grow past 136 x concurrency"
claimed_mid_run q2.db 1 100000
check_le "claimed: at most 2 x (4 + 64) at concurrency 1" "$CLAIMED" 136
check_ge "claimed: at least 4 + 64 less what has run" "$CLAIMED" 40

finish
