# test_run_basic.sh - a plain crawl end to end: fields and their SQLite
# types, status during and after a run, export in every format, keep_body,
# POST with a JSON body and a secret ${TOKEN} header (never stored, never
# shown), a missing variable, and a server that refuses the credentials.
. "$(dirname "$0")/lib.sh"
cd "$DIR"

TOKEN_VALUE="tok-$RANDOM-e2e-S3CRET"
start_mock --latency-ms 4 --token "$TOKEN_VALUE" --log "$DIR/mock.log"

# ---- a 500-item crawl ----------------------------------------------------------------
note "scenario: 500 items, 3 fields, all done with the right types"
"$TRAWL" init basic.db --url "$BASE/items/{id}" --key id \
	--field 'title=$.title' --field 'n=$.n' --field 'nested=$.nested' --field 'price=$.price' \
	--concurrency 2 --backoff-base 50ms --backoff-cap 500ms --commit-interval 100ms -q
seq 1 500 | sed 's/^/k/' >keys.txt
"$TRAWL" add basic.db keys.txt -q
"$TRAWL" run basic.db -q >run.out 2>run.err &
RUN_PID=$!
track $RUN_PID
# status while the run is going (reads only; must not disturb it)
seen_running=0 mid_ok=1
for ((i = 0; i < 200; i++)); do
	kill -0 $RUN_PID 2>/dev/null || break
	if js=$("$TRAWL" status basic.db --json 2>/dev/null); then
		st=$(jq -r '.run.state // empty' <<<"$js" 2>/dev/null || true)
		d=$(jq -r '.states.done' <<<"$js" 2>/dev/null || echo -1)
		if [ "$st" = running ] && [ "$d" -gt 0 ] && [ "$d" -lt 500 ]; then
			seen_running=1
			check_eq "status --json during the run: total" "$(jq -r .total <<<"$js")" 500
			check_eq "status --json during the run: pid" "$(jq -r .run.pid <<<"$js")" "$RUN_PID"
			run_cmd "$TRAWL" status basic.db
			check_eq "text status during the run: exit 0" "$RC" 0
			check_contains "text status during the run names the crawl" "$OUT" "basic.db"
			check_match "text status during the run: counts" "$OUT" "500 total"
			break
		fi
	fi
	sleep 0.05
done
check_eq "status saw the run going with some items done" "$seen_running" 1
wait_pid $RUN_PID 60 || true
check_eq "run exits 0" "$RC" 0
check_eq "run -q prints nothing on stdout" "$(cat run.out)" ""
check_eq "all 500 done" "$(count_items basic.db "state = 'done'")" 500
check_eq "500 results" "$(sql basic.db "SELECT count(*) FROM results")" 500
check_eq "typeof title/n/nested" \
	"$(sql basic.db "SELECT DISTINCT typeof(title) || '/' || typeof(n) || '/' || typeof(nested) FROM results")" \
	"text/integer/text"
# price is n/4 with 2 decimals: 3.50, 5.25 and 7.00 for ids of 2, 3 and 4 characters
check_eq "a JSON number with a fraction is REAL, even 7.00" \
	"$(sql basic.db "SELECT group_concat(t, ',') FROM (SELECT DISTINCT typeof(price) AS t FROM results)")" "real"
check_eq "price values" "$(sql basic.db "SELECT count(*) FROM results WHERE price = n / 4.0")" 500
check_eq "title values" "$(sql basic.db "SELECT count(*) FROM results r JOIN items i ON i.id = r.item_id WHERE r.title = 'Item ' || i.key")" 500
check_eq "n values (7 * length of the id)" \
	"$(sql basic.db "SELECT count(*) FROM results r JOIN items i ON i.id = r.item_id WHERE r.n = 7 * length(i.key)")" 500
check_eq "nested object stored as JSON text" \
	"$(sql basic.db "SELECT DISTINCT json(nested) FROM results")" '{"a":{"b":[1,2,3]}}'
check_eq "results record status 200 and the url" \
	"$(sql basic.db "SELECT count(*) FROM results r JOIN items i ON i.id = r.item_id WHERE r.http_status = 200 AND r.url = '$BASE/items/' || i.key")" 500
check_eq "one attempt per item" "$(sql basic.db "SELECT count(*) FROM attempts WHERE outcome = 'done'")" 500
check_eq "the mock saw exactly 500 requests" "$(stat_requests)" 500
check_eq "each item's path once" "$(stats | jq '[.paths[] | select(. == 1)] | length')" 500
check_eq "the run row says complete" "$(sql basic.db "SELECT outcome || ':' || requests || ':' || done FROM runs ORDER BY id DESC LIMIT 1")" "complete:500:500"
invariant basic.db
expect_exit 0 "$TRAWL" status basic.db
check_match "text status after: 500 done" "$OUT" "500 done"
expect_exit 0 "$TRAWL" status basic.db --json
check "status --json is one JSON object" jq -e 'type == "object"' <<<"$OUT"
check_eq "status --json after: done" "$(jq -r .states.done <<<"$OUT")" 500
check_eq "status --json after: run complete" "$(jq -r .run.state <<<"$OUT")" complete
check_eq "status --json: percent" "$(jq -r .percent_done <<<"$OUT")" 100
expect_exit 0 "$TRAWL" run basic.db -q
check_eq "a second run fetches nothing" "$(stat_requests)" 500

# ---- export --------------------------------------------------------------------------
note "scenario: export csv, tsv and jsonl with headers"
"$TRAWL" export basic.db >all.csv
check_eq "csv header ends in CRLF" "$(head -n 1 all.csv | od -An -tx1 | tr -d ' \n' | tail -c 4)" "0d0a"
check_eq "csv header names" "$(head -n 1 all.csv | tr -d '\r')" "key,title,n,nested,price,state,http_status,last_error"
check_eq "csv rows" "$(wc -l <all.csv)" 501
check_eq "csv: every line ends in CRLF" "$(grep -c $'\r$' all.csv)" 501
check_eq "csv row for k1" "$(sed -n 2p all.csv | tr -d '\r')" 'k1,Item k1,14,"{""a"":{""b"":[1,2,3]}}",3.5,done,200,'
"$TRAWL" export basic.db --format tsv >all.tsv
check_eq "tsv header" "$(head -n 1 all.tsv)" "$(printf 'key\ttitle\tn\tnested\tprice\tstate\thttp_status\tlast_error')"
check_eq "tsv rows" "$(wc -l <all.tsv)" 501
check_eq "tsv row for k1" "$(sed -n 2p all.tsv)" "$(printf 'k1\tItem k1\t14\t{"a":{"b":[1,2,3]}}\t3.5\tdone\t200\t')"
"$TRAWL" export basic.db --format jsonl >all.jsonl
check_eq "jsonl lines" "$(wc -l <all.jsonl)" 500
check_eq "every jsonl line is an object" "$(jq -c 'select(type == "object")' all.jsonl | wc -l)" 500
check_eq "jsonl: n is a number, title a string" \
	"$(head -n 1 all.jsonl | jq -r '[(.n | type), (.title | type), .key, (.price | tostring)] | join(",")')" "number,string,k1,3.5"
"$TRAWL" export basic.db --columns key,n,http_status,attempts >cols.csv
check_eq "export --columns header" "$(head -n 1 cols.csv | tr -d '\r')" "key,n,http_status,attempts"
check_eq "export --columns row" "$(sed -n 3p cols.csv | tr -d '\r')" "k2,14,200,1"
expect_exit 0 "$TRAWL" export basic.db --state failed
check_eq "no failed rows: only the header" "$(printf '%s\n' "$OUT" | tr -d '\r')" "key,title,n,nested,price,state,http_status,last_error"
expect_exit 2 "$TRAWL" export basic.db --columns key,nosuch
check_contains "unknown export column named" "$ERR" "nosuch"

note "scenario: export of a crawl with no items has a header only"
"$TRAWL" init empty.db --url "$BASE/items/{id}" --field 'title=$.title' -q
for f in csv tsv; do
	expect_exit 0 "$TRAWL" export empty.db --format $f --state all
	check_eq "empty $f export: one header line" "$(printf '%s\n' "$OUT" | wc -l)" 1
	check_contains "empty $f export: header has key" "$OUT" "key"
done
expect_exit 0 "$TRAWL" export empty.db --format jsonl
check_eq "empty jsonl export: no lines" "$OUT" ""
expect_exit 0 "$TRAWL" status empty.db --json
check_eq "status of an empty crawl" "$(jq -r .total <<<"$OUT")" 0

# ---- keep_body ---------------------------------------------------------------------------
note "scenario: keep_body on stores the body, off stores NULL"
"$TRAWL" init kb.db --url "$BASE/items/{id}" --field 'title=$.title' --keep-body off -q
printf 'b1\nb2\nb3\n' | "$TRAWL" add kb.db - -q
expect_exit 0 "$TRAWL" run kb.db -q
check_eq "keep_body off: body is NULL" "$(sql kb.db "SELECT count(*) FROM results WHERE body IS NULL")" 3
check_eq "keep_body off: fields still extracted" "$(sql kb.db "SELECT count(*) FROM results WHERE title LIKE 'Item b_'")" 3
check_eq "keep_body off: bytes recorded" "$(sql kb.db "SELECT count(*) FROM results WHERE bytes > 50")" 3
"$TRAWL" init kb2.db --url "$BASE/items/{id}" -q
printf 'b1\n' | "$TRAWL" add kb2.db - -q
expect_exit 0 "$TRAWL" run kb2.db -q
check_eq "keep_body on: the body as served" \
	"$(sql kb2.db "SELECT json_extract(body, '$.id') || ':' || json_extract(body, '$.title') || ':' || (length(body) = bytes) FROM results")" \
	"b1:Item b1:1"

# ---- POST with a secret -------------------------------------------------------------------
note "scenario: POST /search with a JSON body and a \${TOKEN} header"
"$TRAWL" init post.db --url "$BASE/search" --data '{"q": {id}}' \
	--header 'Authorization: Bearer ${TOKEN}' --field 'query=$.query' --field 'r=$.results[1].name' \
	--backoff-base 50ms --backoff-cap 500ms -q
seq 1 30 >30.txt
"$TRAWL" add post.db 30.txt -q
reset_stats
env -u TOKEN "$TRAWL" run post.db -q >/dev/null 2>missing.err && RC=0 || RC=$?
check_eq "missing TOKEN: exit 2" "$RC" 2
check_contains "missing TOKEN: named" "$(cat missing.err)" "TOKEN"
check_eq "missing TOKEN: no request was sent" "$(stat_requests)" 0
check_eq "missing TOKEN: no attempt recorded" "$(sql post.db "SELECT count(*) FROM attempts")" 0
check_eq "missing TOKEN: items untouched" "$(count_items post.db "state = 'ready' AND attempts = 0")" 30
TOKEN=$TOKEN_VALUE "$TRAWL" run post.db -v >post.out 2>post.err && RC=0 || RC=$?
check_eq "with TOKEN: exit 0" "$RC" 0
check_eq "with TOKEN: all done (the server checked the exact token)" "$(count_items post.db "state = 'done'")" 30
check_eq "the mock answered 200 thirty times" "$(stat_status 200)" 30
check_eq "the body template became JSON with the key as a string" \
	"$(sql post.db "SELECT count(*) FROM results r JOIN items i ON i.id = r.item_id WHERE json_extract(r.query, '$.q') = i.key AND json_type(r.query, '$.q') = 'text'")" 30
check_eq "nested array field" "$(sql post.db "SELECT DISTINCT r FROM results")" "r2"
check_ge "-v prints one line per attempt" "$(grep -c 'POST' post.err || true)" 30
check_eq "the token is not in -v output" "$(grep -c -- "$TOKEN_VALUE" post.err post.out | awk -F: '{s += $2} END {print s}')" 0
for f in post.db post.db-wal post.db-shm; do
	if [ -e "$f" ]; then
		check_eq "the token is not in $f" "$(grep -a -c -- "$TOKEN_VALUE" "$f" || true)" 0
	fi
done
check_eq "the token is not in the settings" "$(sql post.db "SELECT count(*) FROM settings WHERE instr(value, '$TOKEN_VALUE') > 0")" 0
check_eq "the header is stored as a template" "$("$TRAWL" config post.db headers)" 'Authorization: Bearer ${TOKEN}'

note "scenario: a \${VAR} in the URL is sent but never stored nor shown"
for secret in "plainURLsecret$RANDOM" "sp ace/sl+ash&amp=$RANDOM"; do
	rm -f urlsec.db urlsec.db-wal urlsec.db-shm
	"$TRAWL" init urlsec.db --url "$BASE/items/{id}?api_key=\${APIKEY}" --field 'title=$.title' -q
	printf 'u1\nu2\n' | "$TRAWL" add urlsec.db - -q
	lines_before=$(wc -l <"$DIR/mock.log")
	APIKEY=$secret "$TRAWL" run urlsec.db -v >urlsec.out 2>urlsec.err && RC=0 || RC=$?
	label=$(printf %q "$secret")
	check_eq "url secret $label: run exit 0" "$RC" 0
	sent=$(tail -n +$((lines_before + 1)) "$DIR/mock.log" | awk '{print $3}' | grep -c -F "api_key=" || true)
	check_eq "url secret $label: both requests carried the key" "$sent" 2
	enc=$(awk -v n=$((lines_before + 1)) 'NR == n { print $3; exit }' "$DIR/mock.log" | sed 's/.*api_key=//')
	for needle in "$secret" "$enc"; do
		check_eq "url secret $label: '$needle' not in -v output" "$(cat urlsec.out urlsec.err | grep -c -F -- "$needle" || true)" 0
		for f in urlsec.db urlsec.db-wal urlsec.db-shm; do
			if [ -e "$f" ]; then
				check_eq "url secret $label: '$needle' not in $f" "$(grep -a -c -F -- "$needle" "$f" || true)" 0
			fi
		done
	done
	check_eq "url secret $label: results.url shows the variable" \
		"$(sql urlsec.db "SELECT count(*) FROM results WHERE url LIKE '%api_key=\${APIKEY}'")" 2
done

note "scenario: the secret is not in the running process's argument list"
rm -f argsec.db*
"$TRAWL" init argsec.db --url "$BASE/hang/{id}?api_key=\${APIKEY}" --timeout 2s --max-attempts 1 -q
echo a1 | "$TRAWL" add argsec.db - -q
APIKEY="argvsecret$RANDOM" "$TRAWL" run argsec.db -q &
argpid=$!
track $argpid
sleep 0.5
check_contains "argv: the run is the process we look at" "$(tr '\0' ' ' </proc/$argpid/cmdline)" "argsec.db"
check_eq "argv: no secret in /proc/PID/cmdline" "$(tr '\0' '\n' </proc/$argpid/cmdline | grep -c argvsecret || true)" 0
wait_pid $argpid 20
check_eq "argv: the run finished (its one item timed out: exit 1)" "$RC" 1

note "scenario: every request refused (401): exit 6, and a rerun with the right token finishes"
"$TRAWL" init refused.db --url "$BASE/search" --data '{"q": {id}}' \
	--header 'Authorization: Bearer ${TOKEN}' --concurrency 4 --backoff-base 50ms --backoff-cap 500ms -q
seq 1 100 | "$TRAWL" add refused.db - -q
reset_stats
TOKEN=wrong-token "$TRAWL" run refused.db >/dev/null 2>refused.err && RC=0 || RC=$?
check_eq "wrong token: exit 6" "$RC" 6
check_contains "wrong token: says 401" "$(cat refused.err)" "401"
check_le "wrong token: stopped early (requests)" "$(stat_requests)" 40
check_eq "wrong token: no 200" "$(stat_status 200)" 0
TOKEN=$TOKEN_VALUE "$TRAWL" run refused.db -q 2>refused2.err && RC=0 || RC=$?
check_eq "rerun with the right token: exit 0" "$RC" 0
check_eq "rerun with the right token: every item done" "$(count_items refused.db "state = 'done'")" 100
invariant refused.db refused

stop_mock
finish
