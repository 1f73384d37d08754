# test_hostile.sh - hostile response bodies: a real gzip bomb (1 MB on the
# wire, 1 GiB inflated), a body of 10 million JSON values within the body
# cap, and bodies with bytes that are not UTF-8 and unpaired UTF-16
# surrogate escapes.  Each scenario checks the items' outcomes and messages,
# the run's peak memory (not under the sanitizers) and the crawl invariant.
. "$(dirname "$0")/lib.sh"
cd "$DIR"

FAST=(--backoff-base 50ms --backoff-cap 500ms --commit-interval 100ms)
MIB=1048576

# result DB KEY EXPR : EXPR over the result row (r) of item KEY
result() { sql "$1" "SELECT $3 FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = '$2'"; }
# item DB KEY : state:attempts:last_http_status of item KEY
item() { sql "$1" "SELECT state || ':' || attempts || ':' || ifnull(last_http_status, '') FROM items WHERE key = '$2'"; }
lerr() { sql "$1" "SELECT ifnull(last_error, '') FROM items WHERE key = '$2'"; }

start_mock

# ---- a gzip bomb -------------------------------------------------------------------------
note "scenario: the mock's /bomb is real gzip, compressed about 1000:1"
wire=$(curl -sS --max-time 30 -o /dev/null -w '%{size_download}' "$BASE/bomb/x?mib=64")
inflated=$(curl -sS --max-time 30 --compressed "$BASE/bomb/x?mib=64" | wc -c)
check_eq "bomb: 64 MiB once inflated" "$inflated" $((64 * MIB))
check_le "bomb: under 128 KiB on the wire for 64 MiB" "$wire" 131072
check_eq "bomb: the inflated body is JSON" \
	"$(curl -sS --max-time 30 --compressed "$BASE/bomb/x?mib=2" | jq -r '.pad | length')" $((2 * MIB - 10))

note "scenario: a 1 GiB gzip bomb fails its item at the 16 MiB cap; memory stays small"
{
	echo "$BASE/bomb/b1024?mib=1024"
	echo "$BASE/bomb/b17?mib=17"
	echo "$BASE/bomb/b16?mib=16"
	echo "$BASE/items/ok1"
	echo "$BASE/gzip/ok2"
} >bomb.txt
"$TRAWL" init bomb.db --url '{url}' --key url --field 'title=$.title' --max-attempts 3 "${FAST[@]}" -q
"$TRAWL" add bomb.db bomb.txt -q
t0=$(now_ms)
peak_rss "$TRAWL" run bomb.db
check_eq "bomb: exit 1 (items failed)" "$RC" 1
check_contains "bomb: the run says how to see why" "$ERR" "--state failed"
check_le "bomb: the run took under 20 s" "$(($(now_ms) - t0))" 20000
check_rss "bomb run" "$PEAK_KIB" 100
check_eq "bomb: 1 GiB failed at once" "$(item bomb.db "$BASE/bomb/b1024?mib=1024")" "failed:1:200"
check_contains "bomb: the error names the cap" "$(lerr bomb.db "$BASE/bomb/b1024?mib=1024")" "body over the cap"
check_eq "bomb: 17 MiB failed at once" "$(item bomb.db "$BASE/bomb/b17?mib=17")" "failed:1:200"
check_le "bomb: the transfers stopped near the cap" \
	"$(sql bomb.db "SELECT max(bytes) FROM attempts")" $((16 * MIB + 1024 * 1024))
check_eq "bomb: exactly 16 MiB inflated is within the cap: done" "$(item bomb.db "$BASE/bomb/b16?mib=16")" "done:1:200"
check_eq "bomb: its body is kept whole" \
	"$(result bomb.db "$BASE/bomb/b16?mib=16" "r.bytes || ':' || length(r.body)")" "$((16 * MIB)):$((16 * MIB))"
check_eq "bomb: the other items are done" \
	"$(result bomb.db "$BASE/items/ok1" "r.title")|$(result bomb.db "$BASE/gzip/ok2" "r.title")" "Item ok1|Item ok2"
check_keys bomb.db bomb.txt bomb
invariant bomb.db bomb

# ---- ten million values within the body cap --------------------------------------------------
note "scenario: a 20 MB array of 10 million numbers: fields found without a tree of it"
BIG="$BASE/array/big?n=10000000"
printf '%s\n%s\n' "$BIG" "$BASE/items/ok3" >arr.txt
"$TRAWL" init arr.db --url '{url}' --key url --max-body 32MiB --field 'first=$[0]' \
	--field 'last=$[#-1]' --field 'mid=$[1234567]' --field 'title=$.title' "${FAST[@]}" -q
"$TRAWL" add arr.db arr.txt -q
t0=$(now_ms)
peak_rss "$TRAWL" run arr.db -q
check_eq "array: exit 0" "$RC" 0
check_le "array: the run took under 20 s" "$(($(now_ms) - t0))" 20000
check_rss "array run" "$PEAK_KIB" 200
check_eq "array: done" "$(item arr.db "$BIG")" "done:1:200"
check_eq "array: first, last and a middle element" "$(result arr.db "$BIG" "r.first || ',' || r.last || ',' || r.mid")" "0,9,7"
check_eq "array: numbers stay numbers" "$(result arr.db "$BIG" "typeof(r.first) || typeof(r.mid)")" "integerinteger"
check_eq "array: the body is kept whole" "$(result arr.db "$BIG" "r.bytes || ':' || length(r.body)")" "20000001:20000001"
check_eq "array: SQLite reads the same value from the body" \
	"$(result arr.db "$BIG" "json_extract(r.body, '\$[1234567]') = r.mid")" 1
check_eq "array: the small item too" "$(result arr.db "$BASE/items/ok3" "r.title")" "Item ok3"
check_keys arr.db arr.txt array
invariant arr.db array

note "scenario: reextract over the stored 20 MB body, memory bounded too"
peak_rss "$TRAWL" reextract arr.db --field 'second=$[1]'
check_eq "reextract: exit 0" "$RC" 0
check_rss "reextract" "$PEAK_KIB" 200
check_eq "reextract: the new field" "$(result arr.db "$BIG" "r.second")" 1
expect_exit 0 "$TRAWL" reextract arr.db --field 'whole=$'
check_eq "reextract: a field too large is counted as such, not as 'not JSON'" "$OUT" \
	"reextracted 2 bodies, 0 not JSON, 1 with a field too large (fields NULL)"

note "scenario: a field asking for the whole array fails the item with its reason"
printf '%s\n%s\n' "$BIG" "$BASE/items/ok4" >whole.txt
"$TRAWL" init whole.db --url '{url}' --key url --max-body 32MiB --field 'doc=$' "${FAST[@]}" -q
"$TRAWL" add whole.db whole.txt -q
peak_rss "$TRAWL" run whole.db -q
check_eq "whole: exit 1" "$RC" 1
check_rss "whole run" "$PEAK_KIB" 200
check_eq "whole: failed at once" "$(item whole.db "$BIG")" "failed:1:200"
check_eq "whole: the error says why" "$(lerr whole.db "$BIG")" \
	"field 'doc': value too large: more than 1000000 JSON values"
check_eq "whole: the small item is done, its whole document the field" \
	"$(result whole.db "$BASE/items/ok4" "json_extract(r.doc, '\$.id')")" "ok4"
check_keys whole.db whole.txt whole
invariant whole.db whole

# ---- bytes that are not UTF-8, unpaired surrogates ---------------------------------------------
note "scenario: strings with raw bytes that are not UTF-8, and \\u escapes of lone surrogates"
printf 'id,kind\nu1,raw\nu2,high\nu3,low\nu4,pair\nu5,swapped\nu6,nul\n' >u.csv
tail -n +2 u.csv | cut -d, -f1 >u.keys
"$TRAWL" init u.db --url "$BASE/unicode/{kind}/{id}" --key id --columns kind --field 's=$.s' \
	--field 't=$.t' "${FAST[@]}" -q
"$TRAWL" add u.db u.csv -q
run_cmd "$TRAWL" run u.db -q
check_eq "unicode: exit 1 (the lone surrogates failed)" "$RC" 1
check_eq "unicode: raw bytes: done" "$(item u.db u1)" "done:1:200"
check_eq "unicode: raw bytes stored as they came, as json_extract() gives them" \
	"$(result u.db u1 "hex(r.s) || ' ' || hex(json_extract(r.body, '\$.s'))")" \
	"61FF2062C32820C0AF20EDA080207A 61FF2062C32820C0AF20EDA080207A"
check_eq "unicode: the body is kept byte for byte" "$(result u.db u1 "hex(r.body)")" \
	"$(curl -sS --max-time 10 "$BASE/unicode/raw/u1" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)"
check_eq "unicode: its size in bytes" "$(result u.db u1 "r.bytes || ':' || length(CAST(r.body AS BLOB))")" "55:55"
check_eq "unicode: a surrogate pair is one character" "$(result u.db u4 "hex(r.s)")" "61F09F988062"
check_eq "unicode: \\u0000 ends the string, as in json_extract()" \
	"$(result u.db u6 "r.s || ':' || json_extract(r.body, '\$.s')")" "a:a"
for k in u2:ud800:31 u3:udc00:30 u5:ude00:34; do
	IFS=: read -r key esc at <<<"$k"
	check_eq "unicode: $key (\\$esc) failed at once" "$(item u.db "$key")" "failed:1:200"
	# (sql writes TSV: the backslash comes out doubled)
	check_eq "unicode: $key: the error names the surrogate" "$(lerr u.db "$key")" \
		"invalid JSON at byte $at: unpaired UTF-16 surrogate '\\\\$esc'"
done
check_eq "unicode: every field is what json_extract() gives" \
	"$(sql u.db "SELECT count(*) FROM results WHERE s IS NOT json_extract(body, '\$.s') OR t IS NOT json_extract(body, '\$.t')")" 0

note "scenario: exports and sql stay well-formed"
expect_exit 0 "$TRAWL" export u.db --format jsonl --state all
check_eq "jsonl: one line per item" "$(printf '%s\n' "$OUT" | grep -c '')" 6
check "jsonl: every line is JSON" jq -e . <<<"$OUT"
s=$(printf '%s\n' "$OUT" | jq -r 'select(.key == "u1") | .s')
check "jsonl: the string is UTF-8" iconv -f UTF-8 -t UTF-8 <<<"$s"
check_contains "jsonl: bytes that are not UTF-8 became U+FFFD" "$s" $'a\xef\xbf\xbd b'
expect_exit 0 "$TRAWL" export u.db --format csv --columns key,s,last_error --state all
printf '%s\n' "$OUT" >u-out.csv
check_eq "csv: reads back byte for byte (sqlite3 .import)" \
	"$(sqlite3 :memory: '.import --csv u-out.csv t' "SELECT group_concat(key || '=' || hex(s), ' ') FROM t")" \
	"u1=61FF2062C32820C0AF20EDA080207A u2= u3= u4=61F09F988062 u5= u6=61"
expect_exit 0 "$TRAWL" sql u.db "SELECT i.key, r.s, r.body FROM items i JOIN results r ON r.item_id = i.id" --format jsonl
check "sql --format jsonl: every line is JSON" jq -e . <<<"$OUT"
expect_exit 0 "$TRAWL" sql u.db "SELECT key, s FROM items i JOIN results r ON r.item_id = i.id"
check_contains "sql: the table holds the rows" "$OUT" "u4"
check_keys u.db u.keys unicode
invariant u.db unicode

note "scenario: with invalid_json=keep the lone surrogates are done, fields NULL, body kept"
expect_exit 0 "$TRAWL" retry u.db --state failed
expect_exit 0 "$TRAWL" run u.db -q --set invalid_json=keep
check_eq "keep: all done" "$(count_items u.db "state = 'done'")" 6
check_eq "keep: NULL fields for the refused bodies" \
	"$(sql u.db "SELECT group_concat(key, ' ') FROM (SELECT i.key FROM items i JOIN results r ON r.item_id = i.id WHERE r.s IS NULL AND r.t IS NULL ORDER BY i.key)")" "u2 u3 u5"
check_eq "keep: SQLite reads the kept body its own way" "$(result u.db u2 "hex(json_extract(r.body, '\$.s'))")" "61EDA08062"
check_keys u.db u.keys keep
invariant u.db keep

stop_mock
finish
