# test_valgrind.sh - a whole crawl's life under valgrind: init, add, run
# (fields, a 404, retried 503s, a redirect), status, export, sql, retry,
# reextract, config.  Any memory error or leak (definite, indirect or
# possible) fails the command; memory libraries keep until exit ("still
# reachable") is theirs.  Skipped in the sanitizer build, where ASan does
# this job and valgrind cannot run.
. "$(dirname "$0")/lib.sh"
cd "$DIR"

if [ "${TRAWL_SANITIZED:-0}" = 1 ]; then
	_pass "skipped: the sanitizer build checks memory with ASan"
	finish
fi
if ! command -v valgrind >/dev/null 2>&1; then
	_fail "prerequisites" "valgrind is not installed (tools/bootstrap installs it)"
	finish
fi

VG=(valgrind -q --trace-children=yes --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --log-file="$DIR/vg.%p")

# vg EXPECTED_EXIT ARGS... : runs trawl under valgrind; any report fails the check
vg() {
	local want=$1 f
	shift
	rm -f "$DIR"/vg.*
	run_cmd "${VG[@]}" "$TRAWL" "$@"
	check_eq "valgrind: trawl $1 exits $want" "$RC" "$want"
	for f in "$DIR"/vg.*; do
		[ -s "$f" ] || continue
		_fail "valgrind: trawl $1 is clean" "$(head -c 2000 "$f")"
		return 0
	done
	_pass "valgrind: trawl $1 is clean"
}

start_mock --fail-rate 0.1 --seed 3
{
	echo "id,name"
	for i in $(seq 1 60); do echo "$i,item $i"; done
	echo "0000,not found"
} >keys.csv
vg 0 init c.db --url "$BASE/books/{id}" --field 'title=$.items[0].volumeInfo.title' \
	--field 'pages=$.items[0].volumeInfo.pageCount' --columns name \
	--backoff-base 20ms --backoff-cap 100ms --concurrency 8 -q
vg 0 add c.db keys.csv --column id -q
vg 1 run c.db -q
check_eq "the crawl went through: 60 done, the 404 failed" \
	"$(sql c.db "SELECT group_concat(state || ' ' || n, ', ') FROM (SELECT state, count(*) AS n FROM items GROUP BY state ORDER BY state)")" \
	"done 60, failed 1"
check_ge "some 503s were retried" "$(stat_status 503)" 1
vg 0 status c.db
vg 0 status c.db --json
vg 0 export c.db --format jsonl
vg 0 export c.db --format csv --state failed
vg 0 sql c.db "SELECT key, title, pages FROM results JOIN items ON items.id = item_id ORDER BY pages LIMIT 5"
vg 0 reextract c.db --field 'year=$.items[0].volumeInfo.publishedDate'
vg 0 retry c.db --state failed
vg 0 config c.db rate 100/s
vg 1 run c.db -q
invariant c.db valgrind

# a redirect, a body over the cap and a bad row on the way in
"$TRAWL" init r.db --url '{url}' --key url --max-body 2KiB -q
printf '%s\n' "$BASE/redirect/2/x" "$BASE/big/x?bytes=100000" "$BASE/items/ok" | "$TRAWL" add r.db - -q
vg 1 run r.db -q
check_eq "redirect and plain item done, the big body failed" "$(count_items r.db "state = 'done'")" 2
printf 'url\n"unbalanced\n' >bad.csv
vg 2 add r.db bad.csv
invariant r.db "valgrind, faults"

finish
