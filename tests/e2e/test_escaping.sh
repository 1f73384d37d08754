# test_escaping.sh - hostile keys: each arrives as ONE percent-encoded path
# segment (the mock's /echo shows the raw path), SQL-looking keys stay data,
# CR/LF never reaches a header, and a JSON body template always yields valid
# JSON whose value equals the key.
. "$(dirname "$0")/lib.sh"
cd "$DIR"

start_mock

# pct STRING : the expected URL encoding (every byte but A-Za-z0-9-._~ as %XX;
# "." and ".." fully encoded)
pct() {
	local s=$1 out="" hex c i
	case $s in
	.) echo "%2E"; return ;;
	..) echo "%2E%2E"; return ;;
	esac
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) printf -v hex '%%%02X' "'$c"; out+=$hex ;;
		esac
	done
	echo "$out"
}
# csvf STRING : STRING as one quoted CSV field
csvf() { local q='"'; printf '"%s"' "${1//$q/$q$q}"; }
# sqlq STRING : STRING as an SQL string literal
sqlq() { local q="'"; printf "'%s'" "${1//$q/$q$q}"; }

long_key=$(printf 'é%.0s' $(seq 1 3500))x # 7 KB of UTF-8, 21 KB encoded
long_key="$long_key$(head -c 3000 /dev/zero | tr '\0' 'L')" # over 10 KB
KEYS=(
	"plain"
	"with space"
	"a/b/c"
	'quote"d'
	"it's"
	'what?x=1&y=2'
	"frag#ment"
	"100%"
	"%41%2F"
	"+plus=eq;semi:colon@at"
	"café €"
	"日本語"
	"."
	".."
	"../admin"
	"./x"
	"..."
	"1'); DROP TABLE items;--"
	'back\slash'
	$'tab\there'
	"~-._ok"
	"[brackets]{braces}|pipe^caret\`tick"
	"$long_key"
)

# ---- URL path segments ------------------------------------------------------------------
note "scenario: hostile keys in a URL path arrive as one percent-encoded segment"
"$TRAWL" init url.db --url "$BASE/echo/{id}" --field 'path=$.path' --field 'query=$.query' \
	--backoff-base 50ms --backoff-cap 500ms -q
{
	echo "id"
	for k in "${KEYS[@]}"; do
		csvf "$k"
		echo
	done
} >keys.csv
expect_exit 0 "$TRAWL" add url.db keys.csv
check_eq "all ${#KEYS[@]} keys added" "$OUT" "added ${#KEYS[@]}, skipped 0 duplicates"
expect_exit 0 "$TRAWL" run url.db -q
check_eq "all done" "$(count_items url.db "state = 'done'")" "${#KEYS[@]}"
js=$(stats)
for k in "${KEYS[@]}"; do
	want="/echo/$(pct "$k")"
	label=$(printf '%q' "$k" | cut -c1-40)
	got=$(sql url.db "SELECT r.path FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = $(sqlq "$k")")
	check_eq "key $label: the server saw $(printf %s "$want" | cut -c1-60)" "$got" "$want"
	seg=${got#/echo/}
	check_eq "key $label: one segment" "${seg//[^\/]/}" ""
	check_eq "key $label: no query part" \
		"$(sql url.db "SELECT r.query FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = $(sqlq "$k")")" ""
	check_eq "key $label: requested exactly once" "$(jq -r --arg p "$want" '.paths[$p] // 0' <<<"$js")" 1
done
check_eq "hex digits are upper case" "$(sql url.db "SELECT count(*) FROM results WHERE path GLOB '*%[0-9A-F][a-f]*' OR path GLOB '*%[a-f]*'")" 0
check_eq "the items table is intact" "$(sql url.db "SELECT count(*) FROM sqlite_master WHERE name = 'items'")" 1
check_eq "the SQL-looking key stored verbatim" "$(sql url.db "SELECT count(*) FROM items WHERE key = '1''); DROP TABLE items;--'")" 1
check_eq "the long key stored whole" "$(sql url.db "SELECT max(length(CAST(key AS BLOB))) FROM items")" "${#long_key}"
expect_exit 0 "$TRAWL" export url.db --format jsonl --columns key
check_eq "export gives the keys back exactly" "$(jq -r '.key' <<<"$OUT" | grep -c -x -F -e 'café €' -e '日本語' -e "it's" -e '..' -e '1'"'"'); DROP TABLE items;--')" 5
invariant url.db url

note "scenario: exported keys read back exactly (CSV by an RFC 4180 reader, TSV, JSON Lines)"
"$TRAWL" export url.db --format csv --columns key,path >url-export.csv
rm -f back.db
sqlite3 back.db ".import --csv url-export.csv t"
check_eq "csv: every key reads back byte for byte" \
	"$(sqlite3 back.db "SELECT hex(key) FROM t ORDER BY hex(key)")" "$(sqlite3 url.db "SELECT hex(key) FROM items ORDER BY hex(key)")"
check_eq "csv: paths read back" "$(sqlite3 back.db "SELECT count(*) FROM t WHERE path LIKE '/echo/%'")" "${#KEYS[@]}"
"$TRAWL" export url.db --format tsv --columns key,path,state >url-export.tsv
check_eq "tsv: one line per row plus the header" "$(wc -l <url-export.tsv)" $((${#KEYS[@]} + 1))
check_eq "tsv: every line has exactly 3 fields" "$(awk -F '\t' 'NF != 3' url-export.tsv | wc -l)" 0
"$TRAWL" export url.db --format jsonl --columns key >url-export.jsonl
check_eq "jsonl: every key reads back exactly" \
	"$(jq -c '.key' url-export.jsonl | sort)" "$(sqlite3 url.db "SELECT json_quote(key) FROM items" | jq -c . | sort)"

note "scenario: keys in a query string"
"$TRAWL" init q.db --url "$BASE/echo/q?k={id}&x=1" --field 'query=$.query' -q
printf 'id\n"a&b=c"\n"sp ace"\n"é#"\n' >q.csv
"$TRAWL" add q.db q.csv -q
expect_exit 0 "$TRAWL" run q.db -q
check_eq "query value encoded" "$(sql q.db "SELECT group_concat(query, ' ') FROM (SELECT r.query FROM results r ORDER BY r.item_id)")" \
	"k=a%26b%3Dc&x=1 k=sp%20ace&x=1 k=%C3%A9%23&x=1"

# ---- headers ---------------------------------------------------------------------------
note "scenario: a key with CR or LF in a header template fails that item only"
"$TRAWL" init hdr.db --url "$BASE/echo/{id}" --header 'X-Key: {id}' --field 'xkey=$.headers.x-key' \
	--field 'injected=$.headers.x-injected' --max-attempts 2 --backoff-base 50ms --backoff-cap 500ms -q
{
	echo "id"
	csvf "plain-h"; echo
	csvf "spaces in value"; echo
	csvf "quote\"and'apostrophe"; echo
	csvf "crlf"$'\r\n'"X-Injected: 1"; echo
	csvf "lf-only"$'\n'"X-Injected: 2"; echo
	csvf "cr-only"$'\r'"X-Injected: 3"; echo
} >hdr.csv
expect_exit 0 "$TRAWL" add hdr.db hdr.csv
check_eq "header keys added" "$(count_items hdr.db)" 6
run_cmd "$TRAWL" run hdr.db -q
check_eq "CR/LF items failed: exit 1" "$RC" 1
check_eq "three failed" "$(count_items hdr.db "state = 'failed'")" 3
check_eq "the failed ones are exactly the CR/LF keys" \
	"$(count_items hdr.db "state = 'failed' AND (instr(key, char(13)) > 0 OR instr(key, char(10)) > 0)")" 3
check_eq "each says CR/LF" "$(count_items hdr.db "state = 'failed' AND last_error LIKE '%CR%'")" 3
check_eq "never sent (no attempt counts as HTTP)" "$(count_items hdr.db "state = 'failed' AND last_http_status IS NOT NULL")" 0
check_eq "the mock never saw them" "$(stats | jq '[.paths | keys[] | select(test("X-Injected"; "i"))] | length')" 0
check_eq "no injected header reached the server" "$(sql hdr.db "SELECT count(*) FROM results WHERE injected IS NOT NULL")" 0
check_eq "the others done with the header as given" \
	"$(sql hdr.db "SELECT count(*) FROM results r JOIN items i ON i.id = r.item_id WHERE r.xkey = i.key")" 3
"$TRAWL" export hdr.db --format csv --state all --columns key,state,last_error >hdr-export.csv
rm -f back2.db
sqlite3 back2.db ".import --csv hdr-export.csv t"
check_eq "csv export of CR/LF keys reads back byte for byte" \
	"$(sqlite3 back2.db "SELECT hex(key) FROM t ORDER BY 1")" "$(sqlite3 hdr.db "SELECT hex(key) FROM items ORDER BY 1")"
invariant hdr.db hdr

# ---- other columns in every template ------------------------------------------------------
note "scenario: input columns in the path, query, header and JSON body"
"$TRAWL" init cols.db --url "$BASE/echo/{kind}/{id}?lang={lang}" --key id --columns kind,lang \
	--header 'X-Kind: {kind}' --header 'X-Both: {lang}-{id}' --data '{"id": {id}, "lang": {lang}, "kind": {kind}}' \
	--field 'path=$.path' --field 'query=$.query' --field 'xkind=$.headers.x-kind' \
	--field 'xboth=$.headers.x-both' --field 'sent=$.body' -q
printf 'id,kind,lang\n7,"a b","fr-CA"\n"0042",k/2,"é"\n' >cols.csv
"$TRAWL" add cols.db cols.csv -q
expect_exit 0 "$TRAWL" run cols.db -q
row() { sql cols.db "SELECT $2 FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = '$1'"; }
check_eq "columns: path" "$(row 7 path)" "/echo/a%20b/7"
check_eq "columns: query" "$(row 7 query)" "lang=fr-CA"
check_eq "columns: header" "$(row 7 xkind)" "a b"
check_eq "columns: two columns in one header" "$(row 7 xboth)" "fr-CA-7"
check_eq "columns: a numeric-looking key stays a JSON string" "$(row 0042 "json_type(sent, '$.id') || ':' || json_extract(sent, '$.id')")" "text:0042"
check_eq "columns: body columns" "$(row 0042 "json_extract(sent, '$.lang') || ':' || json_extract(sent, '$.kind')")" "é:k/2"
check_eq "columns: slash in a column encoded" "$(row 0042 path)" "/echo/k%2F2/0042"
check_eq "columns: UTF-8 header value" "$(row 0042 xboth)" "é-0042"

note "scenario: a form body template form-encodes values"
"$TRAWL" init form.db --url "$BASE/echo/form" --content-type application/x-www-form-urlencoded \
	--data 'k={id}&x=1' --field 'sent=$.body' --field 'ctype=$.headers.content-type' -q
printf 'id\n"a b&c=d"\n"é+%%"\n\n' >form.csv
"$TRAWL" add form.db form.csv -q
expect_exit 0 "$TRAWL" run form.db -q
check_eq "form: space as +, reserved bytes encoded" \
	"$(sql form.db "SELECT r.sent FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = 'a b&c=d'")" "k=a+b%26c%3Dd&x=1"
check_eq "form: UTF-8, plus and percent encoded" \
	"$(sql form.db "SELECT r.sent FROM results r JOIN items i ON i.id = r.item_id WHERE i.key = 'é+%'")" "k=%C3%A9%2B%25&x=1"
check_eq "form: the content type sent" "$(sql form.db "SELECT DISTINCT ctype FROM results")" "application/x-www-form-urlencoded"

# ---- JSON bodies ------------------------------------------------------------------------
note "scenario: a JSON body template always makes valid JSON holding the key"
"$TRAWL" init body.db --url "$BASE/echo/body" --key id --data '{"k": {id}, "n": 1}' \
	--field 'sent=$.body' --field 'method=$.method' --field 'ctype=$.headers.content-type' \
	--backoff-base 50ms --backoff-cap 500ms -q
JKEYS=("plain" 'quo"te' 'back\slash' 'both\"' $'new\nline' $'cr\rlf' $'tab\t' $'ctl\x01\x1f' \
	"</script>" "café 日本" $'\xe2\x80\xa8sep' '{"k": "inner"}' "'single'" "null" "1e5" "${long_key:0:3000}")
{
	echo "id"
	for k in "${JKEYS[@]}"; do
		csvf "$k"
		echo
	done
} >body.csv
expect_exit 0 "$TRAWL" add body.db body.csv
check_eq "json keys added" "$(count_items body.db)" "${#JKEYS[@]}"
expect_exit 0 "$TRAWL" run body.db -q
check_eq "json: all done" "$(count_items body.db "state = 'done'")" "${#JKEYS[@]}"
check_eq "json: every body sent is valid JSON" "$(sql body.db "SELECT count(*) FROM results WHERE json_valid(sent)")" "${#JKEYS[@]}"
check_eq "json: k is a string equal to the key" \
	"$(sql body.db "SELECT count(*) FROM results r JOIN items i ON i.id = r.item_id WHERE json_type(r.sent, '$.k') = 'text' AND json_extract(r.sent, '$.k') = i.key")" \
	"${#JKEYS[@]}"
check_eq "json: the rest of the template kept" "$(sql body.db "SELECT count(*) FROM results WHERE json_extract(sent, '$.n') = 1")" "${#JKEYS[@]}"
check_eq "json: POST with the JSON content type" "$(sql body.db "SELECT DISTINCT method || ' ' || ctype FROM results")" "POST application/json"
invariant body.db body

stop_mock
finish
