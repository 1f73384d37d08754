# test_init.sh - `trawl init` and `trawl config`: the happy path, every
# validation error (exit 2, one line, no file left behind), no overwrite,
# unwritable places, config changes with validation, and -h.
. "$(dirname "$0")/lib.sh"
cd "$DIR"

# no_file_left NAME PATH : PATH and every PATH* sibling (wal, shm, temp) are absent
no_file_left() {
	local left
	left=$(ls -a | grep -F "$(basename "$2")" || true)
	check_eq "$1: no file left behind" "$left" ""
}

# ---- happy path ----------------------------------------------------------------
note "scenario: init with every kind of option, settings stored as given"
expect_exit 0 "$TRAWL" init ok.db --url 'https://api.example.com/v1/{kind}/{id}?lang={lang}' \
	--key id --columns kind,lang \
	--field 'title=$.title' --field 'n=$.items[0].n' --field 'tag=$.tags[#-1]' \
	--header 'Accept: application/json' --header 'Authorization: Bearer ${API_TOKEN}' \
	--data '{"id": {id}, "kind": {kind}}' --content-type 'application/json' \
	--concurrency 7 --rate 50/s --max-attempts 4 --timeout 10s --connect-timeout 3s \
	--low-speed-time 20s --low-speed-limit 100 --max-body 2MiB --keep-body off \
	--backoff-base 50ms --backoff-cap 500ms --max-redirects 2 --user-agent 'ua-test/1' \
	--invalid-json keep --commit-interval 200ms --commit-batch 50
check "init created the file" test -s ok.db
check_contains "init says how to go on" "$ERR" "trawl add ok.db"
check_eq "init prints nothing on stdout" "$OUT" ""
expect_exit 0 "$TRAWL" config ok.db
cfg=$OUT
for kv in 'url = https://api.example.com/v1/{kind}/{id}?lang={lang}' 'method = POST' \
	'key = id' 'columns = kind,lang' 'concurrency = 7' 'rate = 50/s' 'max_attempts = 4' \
	'timeout = 10s' 'connect_timeout = 3s' 'low_speed_time = 20s' 'low_speed_limit = 100' \
	'max_body = 2MiB' 'keep_body = off' 'backoff_base = 50ms' 'backoff_cap = 500ms' \
	'max_redirects = 2' 'user_agent = ua-test/1' 'invalid_json = keep' \
	'commit_interval = 200ms' 'commit_batch = 50' 'body = {"id": {id}, "kind": {kind}}'; do
	check_contains "config lists '$kv'" "$cfg" "$kv"
done
check_eq "config NAME prints the value" "$("$TRAWL" config ok.db rate)" "50/s"
check_eq "headers stored with \${VAR} unexpanded" "$("$TRAWL" config ok.db headers)" \
	"$(printf 'Accept: application/json\nAuthorization: Bearer ${API_TOKEN}')"
check_eq "fields stored one per line" "$("$TRAWL" config ok.db fields)" \
	"$(printf 'title=$.title\nn=$.items[0].n\ntag=$.tags[#-1]')"
check_eq "the settings table holds the same" \
	"$(sql ok.db "SELECT value FROM settings WHERE name = 'max_attempts'")" "4"
check_eq "one results column per field" \
	"$(sql ok.db "SELECT group_concat(name, '|') FROM pragma_table_info('results') WHERE name IN ('title','n','tag')")" \
	"title|n|tag"
check_eq "a new crawl has no items" "$(count_items ok.db)" "0"
check_eq "init -q prints nothing" "$("$TRAWL" init quiet.db --url 'http://x/{id}' -q 2>&1)" ""

note "scenario: defaults of a minimal crawl"
expect_exit 0 "$TRAWL" init min.db --url 'http://127.0.0.1:1/items/{id}'
check_eq "default key is id" "$("$TRAWL" config min.db key)" "id"
check_eq "default method is GET" "$("$TRAWL" config min.db method)" "GET"
check_eq "--data implies POST" "$("$TRAWL" init post.db --url 'http://x/{id}' --data '{"a": {id}}' -q; "$TRAWL" config post.db method)" "POST"

# ---- validation errors -----------------------------------------------------------
note "scenario: every validation error exits 2 with one line and leaves no file"
i=0
bad_init() {
	# bad_init WHAT EXPECTED_SUBSTRING ARGS...
	local what=$1 want=$2
	shift 2
	i=$((i + 1))
	expect_exit 2 "$TRAWL" init "bad$i.db" "$@"
	check_one_error_line "$what: one error line" "$ERR"
	check_contains "$what: message" "$ERR" "$want"
	no_file_left "$what" "bad$i.db"
}
U='http://127.0.0.1:1/items/{id}'
bad_init "unknown column in url" "unknown column" --url 'http://x/{nope}' --key id
bad_init "unknown column in header" "unknown column" --url "$U" --header 'X-A: {nope}'
bad_init "unknown column in body" "unknown column" --url "$U" --data '{"a": {nope}}'
bad_init "malformed path" '$.a[x]' --url "$U" --field 'a=$.a[x]'
bad_init "path without \$" "bad field" --url "$U" --field 'a=title'
bad_init "field without =" "bad field" --url "$U" --field 'title'
bad_init "field declared twice" "twice" --url "$U" --field 'a=$.a' --field 'a=$.b'
bad_init "field named like a built-in column" "bad field name" --url "$U" --field 'body=$.a'
bad_init "header with no colon" "bad header" --url "$U" --header 'NoColon'
bad_init "header name with a space" "bad header" --url "$U" --header 'Bad Name: v'
bad_init "bad number" "concurrency" --url "$U" --concurrency abc
bad_init "number out of range" "concurrency" --url "$U" --concurrency 0
bad_init "number too large" "concurrency" --url "$U" --concurrency 10001
bad_init "bad max attempts" "max_attempts" --url "$U" --max-attempts -1
bad_init "bad rate unit" "rate" --url "$U" --rate 5/y
bad_init "negative rate" "rate" --url "$U" --rate -1/s
bad_init "bad duration" "timeout" --url "$U" --timeout 5q
bad_init "zero timeout" "timeout" --url "$U" --timeout 0
bad_init "bad size" "max_body" --url "$U" --max-body 12XB
bad_init "bad boolean" "keep_body" --url "$U" --keep-body maybe
bad_init "bad invalid_json" "invalid_json" --url "$U" --invalid-json bogus
bad_init "bad method" "method" --url "$U" --method FOO
bad_init "GET with a body" "body" --url "$U" --method GET --data x
bad_init "cap below base" "backoff" --url "$U" --backoff-base 2h --backoff-cap 1s
bad_init "non-http url" "http" --url 'ftp://x/{id}'
bad_init "empty url" "URL" --url ''
bad_init "bad variable name" "variable" --url 'http://x/${1A}/{id}'
bad_init "unterminated variable" "unterminated" --url 'http://x/{id}/${TOKEN'
bad_init "CR/LF in user agent" "CR" --url "$U" --user-agent "$(printf 'a\r\nX-Injected: 1')"
bad_init "bad column name" "column" --url "$U" --columns 'a b'
bad_init "unknown option" "" --url "$U" --no-such-option
expect_exit 2 "$TRAWL" init nourl.db
check_one_error_line "missing --url: one error line" "$ERR"
no_file_left "missing --url" nourl.db

# ---- never overwrite -----------------------------------------------------------
note "scenario: init never overwrites an existing file"
printf 'precious data\n' >precious.txt
sum_before=$(cksum <precious.txt)
expect_exit 2 "$TRAWL" init precious.txt --url "$U"
check_contains "refusal names the file" "$ERR" "precious.txt"
check_eq "the file is untouched" "$(cksum <precious.txt)" "$sum_before"
ok_before=$(cksum <ok.db)
expect_exit 2 "$TRAWL" init ok.db --url 'http://other/{id}'
check_eq "an existing crawl is untouched" "$(cksum <ok.db)" "$ok_before"
check_eq "its url is the old one" "$("$TRAWL" config ok.db url)" \
	'https://api.example.com/v1/{kind}/{id}?lang={lang}'

# ---- unwritable places ---------------------------------------------------------
note "scenario: a crawl under a missing directory or under a regular file"
expect_exit 3 "$TRAWL" init nodir/x.db --url "$U"
check_contains "missing dir: message names the path" "$ERR" "nodir/x.db"
check_one_error_line "missing dir: the error is said once" "$ERR"
check "missing dir: nothing created" test ! -e nodir
printf 'x' >afile
expect_exit 3 "$TRAWL" init afile/x.db --url "$U"
check_contains "path under a file: message" "$ERR" "afile/x.db"
check_eq "path under a file: the file is untouched" "$(cat afile)" "x"
if unshare -m true 2>/dev/null; then
	mkdir rodir
	# a read-only bind mount in a private mount namespace: even root cannot write there
	run_cmd unshare -m bash -c 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" &&
		exec "$2" init "$1/x.db" --url "$3"' _ "$DIR/rodir" "$TRAWL" "$U"
	check_eq "read-only directory: exit 3" "$RC" "3"
	check_contains "read-only directory: message" "$ERR" "x.db"
	check_eq "read-only directory: nothing created" "$(ls -A rodir)" ""
else
	note "skip: read-only directory (unshare -m not permitted here)"
fi

# ---- config changes --------------------------------------------------------------
note "scenario: config changes are validated like init's options"
expect_exit 0 "$TRAWL" config ok.db concurrency 3
check_eq "config set is stored" "$("$TRAWL" config ok.db concurrency)" "3"
expect_exit 0 "$TRAWL" config ok.db rate 10/m
check_eq "rate set is stored" "$("$TRAWL" config ok.db rate)" "10/m"
for bad in "concurrency 0" "concurrency x" "rate fast" "timeout -1s" "max_body 1TB" \
	"url http://x/{nope}" "headers NoColon" "fields bad" "method GET" "nosuch 1"; do
	set -- $bad
	before=$("$TRAWL" config ok.db "$1" 2>/dev/null || true)
	expect_exit 2 "$TRAWL" config ok.db "$1" "$2"
	check_one_error_line "config $bad: one error line" "$ERR"
	check_eq "config $bad: value unchanged" "$("$TRAWL" config ok.db "$1" 2>/dev/null || true)" "$before"
done
expect_exit 0 "$TRAWL" config ok.db fields 'title=$.title'
expect_exit 2 "$TRAWL" config ok.db nosuch
check_contains "unknown setting named" "$ERR" "nosuch"

# ---- help ----------------------------------------------------------------------
note "scenario: init -h lists every option"
expect_exit 0 "$TRAWL" init -h
help="$OUT$ERR"
for o in --url --key --columns --field --header --data --method --content-type --concurrency \
	--rate --max-attempts --timeout --connect-timeout --low-speed-time --low-speed-limit \
	--max-body --keep-body --backoff-base --backoff-cap --max-redirects --ca-file \
	--user-agent --invalid-json --commit-interval --commit-batch; do
	check_contains "init -h lists $o" "$help" "$o"
done
check_eq "init -h creates nothing" "$(ls -A | grep -c -- '-h' || true)" "0"

finish
