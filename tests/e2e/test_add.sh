# test_add.sh - `trawl add`: CSV (quotes, commas, newlines, CRLF, BOM), TSV,
# plain lists from a file and stdin, duplicates, vars, --column, every
# malformed input (exit 2, FILE:LINE, nothing added) and a 100k-line add.
. "$(dirname "$0")/lib.sh"
cd "$DIR"

# ---- CSV ---------------------------------------------------------------------------
note "scenario: CSV with BOM, CRLF, quotes, embedded commas and newlines"
"$TRAWL" init c.db --url 'http://127.0.0.1:1/{kind}/{id}' --key id --columns kind,name -q
printf '\xef\xbb\xbfid,kind,name,unused\r\n' >in.csv
printf '1,a,"x, y",u1\r\n' >>in.csv
printf '2,b,"multi\r\nline",u2\r\n' >>in.csv
printf '3,c,"q""uote",u3\r\n' >>in.csv
printf '"4,4",d,"",u4\r\n' >>in.csv
printf '1,a,dup,u5\r\n' >>in.csv
printf '5,e,"caf\xc3\xa9 \xe2\x82\xac",u6' >>in.csv # no newline at the end
expect_exit 0 "$TRAWL" add c.db in.csv
check_match "counts added and duplicates" "$OUT" '^added 5, skipped 1 duplicates?$'
check_eq "keys stored (BOM stripped from the header)" \
	"$(sql c.db "SELECT group_concat(key, '|') FROM (SELECT key FROM items ORDER BY id)")" '1|2|3|4,4|5'
check_eq "vars: comma kept" "$(sql c.db "SELECT json_extract(vars, '$.name') FROM items WHERE key = '1'")" "x, y"
check_eq "vars: embedded newline kept" \
	"$(sql c.db "SELECT hex(json_extract(vars, '$.name')) FROM items WHERE key = '2'")" \
	"$(printf 'multi\r\nline' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
check_eq "vars: doubled quote unescaped" "$(sql c.db "SELECT json_extract(vars, '$.name') FROM items WHERE key = '3'")" 'q"uote'
check_eq "vars: empty value kept as empty string" \
	"$(sql c.db "SELECT json_type(vars, '$.name') || ':' || length(json_extract(vars, '$.name')) FROM items WHERE key = '4,4'")" "text:0"
check_eq "vars: UTF-8 kept" "$(sql c.db "SELECT json_extract(vars, '$.name') FROM items WHERE key = '5'")" "$(printf 'caf\xc3\xa9 \xe2\x82\xac')"
check_eq "vars: kind present" "$(sql c.db "SELECT json_extract(vars, '$.kind') FROM items WHERE key = '5'")" "e"
check_eq "vars are valid JSON objects" "$(sql c.db "SELECT count(*) FROM items WHERE json_valid(vars) AND json_type(vars) = 'object'")" "5"
check_eq "the first duplicate row wins" "$(sql c.db "SELECT json_extract(vars, '$.name') FROM items WHERE key = '1'")" "x, y"
check_eq "new items are ready with no attempts" \
	"$(sql c.db "SELECT count(*) FROM items WHERE state = 'ready' AND attempts = 0")" "5"
check_eq "item_counts follow" "$(sql c.db "SELECT n FROM item_counts WHERE state = 'ready'")" "5"

note "scenario: duplicates across adds"
printf 'id,kind,name\n5,e,again\n6,f,new\n6,f,dup-in-file\n7,g,new\n' >more.csv
expect_exit 0 "$TRAWL" add c.db more.csv
check_match "second add counts across files" "$OUT" '^added 2, skipped 2 duplicates$'
check_eq "an existing item is not changed by a duplicate" \
	"$(sql c.db "SELECT json_extract(vars, '$.name') FROM items WHERE key = '5'")" "$(printf 'caf\xc3\xa9 \xe2\x82\xac')"
check_eq "7 items" "$(count_items c.db)" "7"
expect_exit 0 "$TRAWL" add c.db more.csv -q
check_eq "add -q prints nothing" "$OUT" ""
check_eq "all duplicates: still 7" "$(count_items c.db)" "7"

# ---- TSV -------------------------------------------------------------------------
note "scenario: TSV by extension and by --format"
printf 'id\tkind\tname\n8\th\ta, b\n9\ti\tc d\n' >in.tsv
expect_exit 0 "$TRAWL" add c.db in.tsv
check_match "tsv counts" "$OUT" '^added 2, skipped 0 duplicates$'
check_eq "tsv: comma is data" "$(sql c.db "SELECT json_extract(vars, '$.name') FROM items WHERE key = '8'")" "a, b"
printf 'id\tkind\tname\n10\tj\tk\n' >tabs.txt
expect_exit 0 "$TRAWL" add c.db tabs.txt --format tsv
check_eq "--format tsv on a .txt" "$(sql c.db "SELECT json_extract(vars, '$.kind') FROM items WHERE key = '10'")" "j"
printf 'id,kind,name\n11,k,l\n' >stdin.csv
expect_exit 0 "$TRAWL" add c.db - --format csv <stdin.csv
check_eq "--format csv on stdin" "$(sql c.db "SELECT json_extract(vars, '$.kind') FROM items WHERE key = '11'")" "k"

# ---- plain lists -----------------------------------------------------------------
note "scenario: one key per line from a file and from stdin"
"$TRAWL" init l.db --url 'http://127.0.0.1:1/items/{id}' -q
printf 'l1\r\n\r\nl2\n\nl3\nl1\nwith space\n' >list.txt
expect_exit 0 "$TRAWL" add l.db list.txt
check_match "list counts (blank lines ignored, CRLF ok)" "$OUT" '^added 4, skipped 1 duplicates?$'
check_eq "no CR kept in keys" "$(sql l.db "SELECT count(*) FROM items WHERE instr(key, char(13)) > 0")" "0"
check_eq "no empty key" "$(sql l.db "SELECT count(*) FROM items WHERE key = ''")" "0"
check_eq "a plain list has NULL vars" "$(sql l.db "SELECT count(*) FROM items WHERE vars IS NULL")" "4"
printf 'l3\ns1\ns2\n' >stdin1.txt
expect_exit 0 "$TRAWL" add l.db - <stdin1.txt
check_match "stdin counts" "$OUT" '^added 2, skipped 1 duplicates?$'
printf 's3\ns4' >stdin2.txt
expect_exit 0 "$TRAWL" add l.db <stdin2.txt
check_match "no FILE means stdin; last line without newline" "$OUT" '^added 2, skipped 0 duplicates$'
check_eq "total" "$(count_items l.db)" "8"
printf 'k1\n\r\n\n\nk2\n' >blank.txt
expect_exit 0 "$TRAWL" add l.db blank.txt
check_match "empty and CRLF-only lines ignored" "$OUT" '^added 2, skipped 0 duplicates$'

note "scenario: a plain list is refused when the templates need other columns"
before=$(count_items c.db)
printf 'x1\nx2\n' >plain.txt
expect_exit 2 "$TRAWL" add c.db plain.txt
check_contains "names the missing column" "$ERR" "kind"
check_eq "nothing added" "$(count_items c.db)" "$before"

# ---- --column ----------------------------------------------------------------------
note "scenario: --column picks the key column"
printf 'sku,kind,name\ns1,k,n\ns2,k,n\n' >sku.csv
expect_exit 2 "$TRAWL" add c.db sku.csv
check_contains "without --column the key column is missing" "$ERR" "sku.csv:1"
expect_exit 0 "$TRAWL" add c.db sku.csv --column sku
check_match "with --column" "$OUT" '^added 2, skipped 0 duplicates$'
check_eq "keys from the sku column" "$(sql c.db "SELECT count(*) FROM items WHERE key IN ('s1','s2') AND json_extract(vars, '$.kind') = 'k'")" "2"

# ---- malformed input ----------------------------------------------------------------
note "scenario: each malformed file exits 2, names FILE:LINE and adds nothing"
# every bad file starts with valid new rows, so 'nothing added' means something
malformed() {
	# malformed WHAT FILE EXPECTED_LOCATION [add args...]
	local what=$1 file=$2 loc=$3 before
	shift 3
	before=$(count_items c.db)
	expect_exit 2 "$TRAWL" add c.db "$file" "$@"
	check_one_error_line "$what: one error line" "$ERR"
	check_contains "$what: names $loc" "$ERR" "$loc"
	check_eq "$what: nothing added" "$(count_items c.db)" "$before"
}
printf 'id,kind,name\nm1,a,b\nm2,a,"open\nm3,a,b\n' >unbalanced.csv
malformed "unbalanced quote" unbalanced.csv "unbalanced.csv:3:"
printf 'id,kind,name\nm1,a,b\nm2,a,b\nm3,a\nm4,a,b\n' >fields.csv
malformed "wrong field count" fields.csv "fields.csv:4:"
printf 'id,kind,name\nm1,a,b\nm2,a,b,c\n' >toomany.csv
malformed "too many fields" toomany.csv "toomany.csv:3:"
printf 'id,kind,name\nm1,a,b\n,a,b\n' >emptykey.csv
malformed "empty key" emptykey.csv "emptykey.csv:3:"
printf 'kind,name\na,b\n' >nokey.csv
malformed "missing key column" nokey.csv "nokey.csv:1:"
printf 'id,kind\nm1,a\n' >nocol.csv
malformed "missing declared column" nocol.csv "nocol.csv:1:"
printf 'id,kind,name\nm1,a,b\nm2,a,\xff\xfe\n' >utf8.csv
malformed "invalid UTF-8" utf8.csv "utf8.csv:3:"
printf 'id,kind,name\nm1,a,b\nm2,a,x\000y\n' >nul.csv
malformed "NUL byte" nul.csv "nul.csv:3:"
{ printf 'id,kind,name\nm1,a,b\nm2,a,'; head -c 1100000 /dev/zero | tr '\0' x; printf '\n'; } >long.csv
malformed "row over 1 MiB" long.csv "long.csv:3:"
printf 'id,kind,name\nm1,a,b\nm2,a,"x"y\n' >afterquote.csv
malformed "text after a closing quote" afterquote.csv "afterquote.csv:3:"
printf 'id,kind,id\nm1,a,b\n' >duphdr.csv
malformed "duplicate header column" duphdr.csv "duphdr.csv:1:"
printf 'id,kind,name\r\nm1,a,b\r\nm2,a,b\r\nm3,"a\r\n' >crlfq.csv
malformed "unbalanced quote after CRLF lines" crlfq.csv "crlfq.csv:4:"
printf 'm1\nm2\nm3\xc3\n' >badlist.txt
"$TRAWL" init l2.db --url 'http://127.0.0.1:1/items/{id}' -q
expect_exit 2 "$TRAWL" add l2.db badlist.txt
check_contains "list with invalid UTF-8: names line 3" "$ERR" "badlist.txt:3:"
check_eq "list with invalid UTF-8: nothing added" "$(count_items l2.db)" "0"
printf 'm1\nm2\000\n' >stdin3.txt
expect_exit 2 "$TRAWL" add l2.db - <stdin3.txt
check_contains "stdin with a NUL: names stdin:2" "$ERR" "stdin:2:"
check_eq "stdin with a NUL: nothing added" "$(count_items l2.db)" "0"
expect_exit 4 "$TRAWL" add l2.db no-such-file.txt
check_contains "missing input file named" "$ERR" "no-such-file.txt"

note "scenario: a file whose last batch is one duplicate row"
{ seq 1 1024 | sed 's/^/b1025-/'; echo b1025-7; } >b1025.txt
"$TRAWL" init b1025.db --url 'http://127.0.0.1:1/items/{id}' -q
expect_exit 0 "$TRAWL" add b1025.db b1025.txt
check_eq "1025 rows, last a duplicate: counted, no error" "$OUT" "added 1024, skipped 1 duplicate"

note "scenario: mixed line endings (LF and CRLF) in one file"
printf 'id,kind,name\nx1,a,b\r\nx2,a,b\nx3,a,"q\r\nr"\r\nx4,a,b' >mixed.csv
expect_exit 0 "$TRAWL" add c.db mixed.csv -q
check_eq "mixed endings: four rows, no CR kept in keys" \
	"$(sql c.db "SELECT count(*) FROM items WHERE key IN ('x1', 'x2', 'x3', 'x4')")" 4
check_eq "mixed endings: a CRLF inside quotes is data" \
	"$(sql c.db "SELECT hex(json_extract(vars, '$.name')) FROM items WHERE key = 'x3'")" "710D0A72"

note "scenario: a 100 MB line is refused at the 1 MiB row cap, memory stays small"
{ printf 'id,kind,name\nbig1,a,b\nbig2,a,'; head -c 100000000 /dev/zero | tr '\0' x; printf '\nbig3,a,b\n'; } >huge.csv
before=$(count_items c.db)
run_cmd /usr/bin/time -f "%M" -o "$DIR/huge.rss" "$TRAWL" add c.db huge.csv
check_eq "100 MB line: exit 2" "$RC" 2
check_contains "100 MB line: names huge.csv:3" "$ERR" "huge.csv:3:"
check_eq "100 MB line: nothing added" "$(count_items c.db)" "$before"
if [ "${TRAWL_SANITIZED:-0}" != 1 ]; then
	check_le "100 MB line: peak RSS under 32 MiB" "$(tail -n 1 "$DIR/huge.rss")" 32768
fi
rm -f huge.csv

# ---- size --------------------------------------------------------------------------
note "scenario: a 100k-line add completes and counts right"
seq 1 100000 >100k.txt
t0=$(now_ms)
expect_exit 0 "$TRAWL" add l2.db 100k.txt
check_eq "100k added" "$OUT" "added 100000, skipped 0 duplicates"
seq 50001 150000 >100k-2.txt
expect_exit 0 "$TRAWL" add l2.db 100k-2.txt
check_eq "half duplicates" "$OUT" "added 50000, skipped 50000 duplicates"
check_eq "150k items" "$(count_items l2.db)" "150000"
check_eq "item_counts agree" "$(sql l2.db "SELECT n FROM item_counts WHERE state = 'ready'")" "150000"
check_le "both adds took under 60 s" "$(($(now_ms) - t0))" 60000

note "scenario: three adds at once, overlapping: every key once, counts exact"
"$TRAWL" init par.db --url 'http://127.0.0.1:1/items/{id}' -q
seq 1 60000 | sed 's/^/a/' >par1.txt
seq 1 60000 | sed 's/^/b/' >par2.txt
seq 30001 90000 | sed 's/^/a/' >par3.txt
pids=()
for f in par1 par2 par3; do
	"$TRAWL" add par.db $f.txt >$f.out 2>$f.err &
	pids+=($!)
	track $!
done
for p in "${pids[@]}"; do
	wait_pid "$p" 120 || true
	check_eq "parallel add (pid $p) exits 0" "$RC" 0
done
check_eq "parallel adds: 150000 items" "$(count_items par.db)" 150000
check_eq "parallel adds: the reports add up" \
	"$(cat par1.out par2.out par3.out | awk '{ a += $2; s += $4 } END { print a "+" s }' | tr -d ',')" "150000+30000"
check_eq "parallel adds: item_counts exact" "$(sql par.db "SELECT n FROM item_counts WHERE state = 'ready'")" 150000
check_eq "parallel adds: integrity" "$(sql par.db "PRAGMA integrity_check")" "ok"

finish
