# test_badfiles.sh - trawl given something that is not a healthy crawl: a
# missing file, a text file, someone else's SQLite file, a newer schema, a
# read-only crawl, a corrupted crawl; and stdout that fails (/dev/full, a
# closed pipe).  Always a clear one-line error and an exit code, never a
# crash, never a change to the file.
. "$(dirname "$0")/lib.sh"
cd "$DIR"

start_mock
"$TRAWL" init good.db --url "$BASE/items/{id}" --field 'title=$.title' --backoff-base 50ms --backoff-cap 500ms -q
seq 1 20 | "$TRAWL" add good.db - -q

# refused FILE EXPECTED_TEXT : every command refuses FILE with exit 3 and leaves it as it was
refused() {
	local f=$1 want=$2 sum c
	sum=$({ cksum <"$f"; } 2>/dev/null || echo none)
	for c in status run export config add sql; do
		case $c in
		add) expect_exit 3 "$TRAWL" add "$f" - </dev/null ;;
		sql) expect_exit 3 "$TRAWL" sql "$f" 'SELECT 1' ;;
		*) expect_exit 3 "$TRAWL" $c "$f" ;;
		esac
		check_one_error_line "$f: $c: one error line" "$ERR"
		check_contains "$f: $c: says '$want'" "$ERR" "$want"
	done
	check_eq "$f: not changed" "$({ cksum <"$f"; } 2>/dev/null || echo none)" "$sum"
	check_eq "$f: no -wal/-shm/-crash created" "$(ls -A | grep -c -F -e "$f-" || true)" 0
}

note "scenario: a missing crawl"
refused missing.db "no crawl at 'missing.db'"
check "missing: not created" test ! -e missing.db
expect_exit 3 "$TRAWL" status nodir/missing.db

note "scenario: a text file"
printf 'hello, I am not a database\n' >text.db
refused text.db "not a crawl"

note "scenario: an empty file"
: >empty.db
refused empty.db "not a trawl crawl"
check_eq "empty: still empty" "$(wc -c <empty.db)" 0

note "scenario: someone else's SQLite database"
sqlite3 other.db "CREATE TABLE t (x); INSERT INTO t VALUES (1); CREATE TABLE items (id, key)"
refused other.db "not a trawl crawl"
check_eq "other: its data intact" "$(sqlite3 other.db 'SELECT count(*) FROM t')" 1

note "scenario: a directory"
mkdir dir.db
expect_exit 3 "$TRAWL" status dir.db
check_contains "directory: says so" "$ERR" "dir.db"

note "scenario: a crawl from a newer trawl (user_version 999)"
cp good.db newer.db
sqlite3 newer.db "PRAGMA user_version = 999"
refused newer.db "newer"
check_eq "newer: user_version kept" "$(sqlite3 newer.db 'PRAGMA user_version')" 999
check_eq "newer: no request sent" "$(stat_requests)" 0

# ---- read-only ---------------------------------------------------------------------
note "scenario: a read-only crawl (chmod 444, run as an unprivileged user)"
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	chmod 755 "$DIR"
	mkdir -m 777 pub
	cp good.db pub/ro.db
	chmod 444 pub/ro.db
	sum=$(cksum <pub/ro.db)
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	expect_exit 0 as_nobody "$TRAWL" status pub/ro.db
	check_contains "read-only: status works" "$OUT" "20 total"
	expect_exit 0 as_nobody "$TRAWL" export pub/ro.db --state all
	check_eq "read-only: export works" "$(printf '%s\n' "$OUT" | wc -l)" 21
	expect_exit 3 as_nobody "$TRAWL" run pub/ro.db
	check_contains "read-only: run says read-only" "$ERR" "read-only"
	check_one_error_line "read-only: run: one error line" "$ERR"
	printf 'n1\n' >pub/keys.txt
	expect_exit 3 as_nobody "$TRAWL" add pub/ro.db pub/keys.txt
	check_contains "read-only: add names the file" "$ERR" "ro.db"
	expect_exit 3 as_nobody "$TRAWL" config pub/ro.db concurrency 3
	check_contains "read-only: config set names the file" "$ERR" "ro.db"
	check_eq "read-only: no request sent" "$(stat_requests)" 0
	check_eq "read-only: file unchanged" "$(cksum <pub/ro.db)" "$sum"
	check_eq "read-only: setting unchanged" "$("$TRAWL" config pub/ro.db concurrency)" 16
else
	note "skip: read-only crawl (no setpriv or no user nobody)"
fi

note "scenario: a crawl on a read-only mount"
if unshare -m true 2>/dev/null; then
	mkdir romount
	cp good.db romount/c.db
	sum=$(cksum <romount/c.db)
	in_ro() {
		unshare -m bash -c 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"' \
			_ "$DIR/romount" "$@"
	}
	expect_exit 3 in_ro "$TRAWL" run romount/c.db
	check_contains "ro mount: run names the file" "$ERR" "romount/c.db"
	expect_exit 3 in_ro "$TRAWL" config romount/c.db concurrency 3
	run_cmd in_ro "$TRAWL" status romount/c.db
	check "ro mount: status exits 0 or 3, no crash (exit $RC)" test "$RC" = 0 -o "$RC" = 3
	check_eq "ro mount: file unchanged" "$(cksum <romount/c.db)" "$sum"
	check_eq "ro mount: no request sent" "$(stat_requests)" 0
else
	note "skip: read-only mount (unshare -m not permitted here)"
fi

# ---- corruption --------------------------------------------------------------------------
note "scenario: a crawl with garbage written over pages in the middle"
"$TRAWL" init big.db --url "$BASE/items/{id}" --field 'title=$.title' --backoff-base 50ms --backoff-cap 500ms -q
seq 1 5000 | sed 's/^/key-/' | "$TRAWL" add big.db - -q
"$TRAWL" run big.db -q --concurrency 8 >/dev/null 2>&1 || true
pages=$(($(wc -c <big.db) / 4096))
note "big.db has $pages pages"
nonzero_any=0
for frac in 3 5 8; do
	f=corrupt$frac.db
	cp big.db $f
	head -c 16384 /dev/urandom | dd of=$f bs=4096 seek=$((pages * frac / 10)) conv=notrunc status=none
	for c in status "export --state all" "sql SELECT_ALL" run "add -"; do
		case $c in
		"sql SELECT_ALL") run_cmd timeout 60 "$TRAWL" sql $f "SELECT * FROM items JOIN results ON results.item_id = items.id" ;;
		"add -") run_cmd timeout 60 "$TRAWL" add $f - <<<"new-key" ;;
		*) run_cmd timeout 60 "$TRAWL" $c $f ;;
		esac
		check "corrupt at ${frac}0%: '$c' exits without a crash or hang (exit $RC)" test "$RC" -lt 124
		if [ "$RC" != 0 ]; then
			nonzero_any=1
			check_match "corrupt at ${frac}0%: '$c' says the file is corrupt" "$ERR" "corrupt|malformed"
			check_contains "corrupt at ${frac}0%: '$c' names the file" "$ERR" "$f"
		fi
	done
	check_eq "corrupt at ${frac}0%: export of every item fails with exit 3" \
		"$(timeout 60 "$TRAWL" export $f --state all >/dev/null 2>&1; echo $?)" 3
done
check_eq "corruption was noticed" "$nonzero_any" 1

note "scenario: the first page overwritten"
cp big.db head.db
head -c 100 /dev/urandom | dd of=head.db bs=1 seek=0 conv=notrunc status=none
refused head.db "not a crawl"

# ---- failing stdout ------------------------------------------------------------------------
note "scenario: stdout is /dev/full: exit 4"
for c in "export big.db --state all" "status big.db" "status big.db --json" "sql big.db SELECT_KEYS" "config big.db"; do
	case $c in
	"sql big.db SELECT_KEYS") "$TRAWL" sql big.db "SELECT key FROM items" >/dev/full 2>full.err && RC=0 || RC=$? ;;
	*) "$TRAWL" $c >/dev/full 2>full.err && RC=0 || RC=$? ;;
	esac
	check_eq "'trawl $c > /dev/full' exits 4" "$RC" 4
	check_contains "'trawl $c > /dev/full' says why" "$(cat full.err)" "trawl:"
done
printf 'full-1\nfull-2\n' >full.txt
"$TRAWL" add big.db full.txt >/dev/full 2>full.err && RC=0 || RC=$?
check_eq "add > /dev/full exits 4" "$RC" 4

note "scenario: stdout closed early (| head -c 10): trawl stops, no hang"
t0=$(now_ms)
set +e
timeout 30 "$TRAWL" export big.db --state all --format jsonl 2>pipe.err | head -c 10 >/dev/null
ps=("${PIPESTATUS[@]}")
set -e
check_eq "export | head: trawl exits 4 (an output error), not killed by SIGPIPE" "${ps[0]}" 4
check "export | head: no hang (not killed by timeout)" test "${ps[0]}" != 124
check_le "export | head: quick" "$(($(now_ms) - t0))" 10000
set +e
timeout 30 "$TRAWL" sql big.db "SELECT * FROM items, (SELECT 1 UNION SELECT 2)" 2>pipe.err | head -c 10 >/dev/null
ps=("${PIPESTATUS[@]}")
set -e
check "sql | head: trawl exited non-zero (exit ${ps[0]})" test "${ps[0]}" != 0 -a "${ps[0]}" != 124

stop_mock
finish
