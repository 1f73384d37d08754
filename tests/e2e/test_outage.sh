# test_outage.sh - the server goes away for a minute in the middle of a crawl
# (killed: connections refused) and comes back on the same port.  trawl must
# notice the host is down, probe it one request at a time with growing pauses
# instead of spending every queued item's attempts (no stampede), resume at
# the configured rate when it is back, and finish with every item done once.
# Default retry settings throughout: what a user gets.
#
# TRAWL_TEST_OUTAGE_S shortens the outage when running by hand (default 60).
. "$(dirname "$0")/lib.sh"
cd "$DIR"

OUTAGE_S=${TRAWL_TEST_OUTAGE_S:-60}
ITEMS=600
CONC=16

done_at_least() { [ "$(count_items out.db "state = 'done'")" -ge "$1" ]; }

note "scenario: a ${OUTAGE_S} s outage (connection refused) during a crawl of $ITEMS items at 50/s"
start_mock --latency-ms 20 --log "$DIR/before.log"
port=$PORT
"$TRAWL" init out.db --url "$BASE/items/{id}" --field 'title=$.title' --rate 50/s \
	--concurrency "$CONC" -q
seq 1 "$ITEMS" | "$TRAWL" add out.db - -q
"$TRAWL" run out.db -q 2>"$DIR/run.err" &
run_pid=$!
track "$run_pid"
wait_for 30 done_at_least 150 || _fail "outage" "150 items were not done within 30 s"

t_down=$(now_ms)
stop_mock  # the host goes away: every connection is refused from now on
note "mock stopped at $(count_items out.db "state = 'done'") done"
sleep "$OUTAGE_S"
check "the run is still going during the outage" kill -0 "$run_pid"
start_mock --port "$port" --latency-ms 20 --log "$DIR/after.log"
t_up=$(now_ms)
note "mock back on port $port"

wait_pid "$run_pid" 120
check_eq "the run finished by itself, exit 0" "$RC" 0
check_eq "stderr is quiet" "$(cat "$DIR/run.err")" ""
check_eq "all $ITEMS done" "$(count_items out.db "state = 'done'")" "$ITEMS"
check_eq "none failed" "$(count_items out.db "state = 'failed'")" 0
invariant out.db outage

# No stampede: during the outage trawl sends the requests that were in flight,
# a few more to find out the host is down, then one probe per pause (0.5-1 s,
# 1-2 s, ... up to 15-30 s).  Without outage detection it would try every
# queued item at 50/s with per-item backoff, thousands of attempts.
during=$(sql out.db "SELECT count(*) FROM attempts WHERE started_at >= $t_down AND started_at < $t_up")
note "attempts during the outage: $during: $(sql out.db "SELECT group_concat(n || ' ' || e, ', ') FROM
	(SELECT coalesce(error, http_status) AS e, count(*) AS n FROM attempts
	 WHERE started_at >= $t_down AND started_at < $t_up GROUP BY 1)")"
check_le "at most $CONC + 5 + 12 attempts during the outage" "$during" $((CONC + 5 + 12))
check_ge "the host was probed during the outage" "$during" 3
probes=$(sql out.db "SELECT count(*) FROM attempts WHERE started_at >= $((t_down + 2000)) AND started_at < $t_up")
maxprobe=$(sql out.db "SELECT count(*) FROM attempts WHERE started_at >= $((t_down + 2000)) AND started_at < $t_up
	GROUP BY started_at / 1000 ORDER BY 1 DESC LIMIT 1")
check_le "probes are one at a time: at most 1 per second after the first 2 s" "${maxprobe:-0}" 1
note "probes after the first 2 s: $probes"
check_le "no item spent more than 3 attempts on the outage" \
	"$(sql out.db "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM attempts
		WHERE started_at >= $t_down AND started_at < $t_up GROUP BY item_id)")" 3

# Recovery: the first answer comes within one probe pause (30 s at most) of the
# server's return, and the crawl goes on at the configured rate, not in a burst.
first=$(awk 'NR == 1 { print $1 }' "$DIR/after.log")
check_le "the host was found up within 31 s" "$((first - t_up))" 31000
maxwin=$(awk '{ t[NR] = $1 } END { m = 0; for (i = 1; i <= NR; i++) { c = 0; for (j = i; j <= NR && t[j] < t[i] + 1000; j++) c++; if (c > m) m = c } print m }' "$DIR/after.log")
note "after the outage: $(wc -l <"$DIR/after.log") requests, at most $maxwin in any second"
check_le "after the outage the rate holds: at most 51 requests in any second" "$maxwin" 51
fetched=$(( $(wc -l <"$DIR/before.log") + $(wc -l <"$DIR/after.log") ))
check_ge "the server saw every item" "$fetched" "$ITEMS"
# a request the server answered as it was being killed may be lost on the way
ok200=$(sql out.db "SELECT count(*) FROM attempts WHERE http_status = 200")
check_le "every 200 trawl recorded was sent by the server" "$ok200" "$fetched"
check_ge "every 200 the server sent is recorded, but for those cut by the kill" "$ok200" $((fetched - CONC))
check_eq "the host's last pause is explained" "$(sql out.db "SELECT reason FROM hosts")" "down: connection error"

finish
