#!/usr/bin/env bash
# Storage faults: a read-only crawl, a full disk, a file-size limit, another
# process holding the write lock, a long-lived reader.  After each, the
# crawl is intact and a later run completes it.
. "$(dirname "$0")/lib.sh"

start_mock
cd "$DIR"
FAST=(--backoff-base 50ms --backoff-cap 300ms)

# --- a crawl the user may not write (root ignores permissions: run as nobody)
chmod 755 "$DIR"   # mktemp made it 0700: nobody could not reach the crawl
mkdir ro
"$TRAWL" init ro/c.db --url "$BASE/items/{id}" -q
seq 1 10 | "$TRAWL" add ro/c.db - -q
chmod 444 ro/c.db
chmod 555 ro
AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if "${AS_NOBODY[@]}" true 2>/dev/null; then
	expect_exit 0 "${AS_NOBODY[@]}" "$TRAWL" status ro/c.db
	check_contains "read-only: status shows the items" "$OUT" "10 total"
	check_contains "read-only: status says it is read-only" "$ERR" "read-only"
	expect_exit 0 "${AS_NOBODY[@]}" "$TRAWL" export ro/c.db --state all
	check_eq "read-only: export has every item" "$(printf '%s\n' "$OUT" | wc -l)" 11
	expect_exit 3 "${AS_NOBODY[@]}" "$TRAWL" run ro/c.db
	check_one_error_line "read-only: run refused in one line" "$ERR"
	check_contains "read-only: the message names the cause" "$ERR" "read-only"
	expect_exit 3 "${AS_NOBODY[@]}" "$TRAWL" add ro/c.db /dev/null
	expect_exit 3 "${AS_NOBODY[@]}" "$TRAWL" init ro/new.db --url "$BASE/items/{id}"
	check "read-only dir: no file created" test ! -e ro/new.db
else
	note "setpriv cannot drop to nobody here: read-only checks skipped"
fi
chmod 755 ro
chmod 644 ro/c.db

# --- a file-size limit hit during a run: exit 3, a clear line, resumable ----
"$TRAWL" init fsize.db --url "$BASE/big/{id}?bytes=20000" "${FAST[@]}" -q
seq 1 300 | "$TRAWL" add fsize.db - -q
run_cmd bash -c "ulimit -f 2000; exec '$TRAWL' run fsize.db -q"
check_eq "file-size limit: exit 3, not killed by SIGXFSZ" "$RC" 3
check_one_error_line "file-size limit: one line" "$ERR"
check_contains "file-size limit: says what to do" "$ERR" "run the same command again"
check_eq "file-size limit: integrity ok" "$(sql fsize.db "PRAGMA integrity_check")" ok
expect_exit 0 "$TRAWL" run fsize.db -q
invariant fsize.db "after the file-size limit"
check_eq "file-size limit: every item done at last" "$(count_items fsize.db "state = 'done'")" 300

# --- a full disk (a small tmpfs), then space again --------------------------
mkdir small
if mount -t tmpfs -o size=2m tmpfs small 2>/dev/null; then
	"$TRAWL" init small/full.db --url "$BASE/big/{id}?bytes=20000" "${FAST[@]}" -q
	seq 1 300 | "$TRAWL" add small/full.db - -q
	expect_exit 3 "$TRAWL" run small/full.db -q
	check_contains "disk full: the message says so" "$ERR" "disk is full"
	check_eq "disk full: integrity ok" "$(sql small/full.db "PRAGMA integrity_check")" ok
	done_before=$(count_items small/full.db "state = 'done'")
	cp small/full.db small/full.db-wal small/full.db-shm . 2>/dev/null || true
	umount small
	mv full.db* small/ 2>/dev/null || true
	expect_exit 0 "$TRAWL" run small/full.db -q
	invariant small/full.db "after the disk was full"
	check_ge "disk full: nothing committed was lost" "$(count_items small/full.db "state = 'done'")" "$done_before"
	check_eq "disk full: every item done once there was space" "$(count_items small/full.db "state = 'done'")" 300
else
	note "cannot mount a tmpfs here: disk-full checks skipped"
fi

# --- another process holds the write lock for seconds: trawl waits ---------
"$TRAWL" init locked.db --url "$BASE/items/{id}" -q
seq 1 200 | "$TRAWL" add locked.db - -q
sqlite3 locked.db "BEGIN IMMEDIATE; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT count(*) FROM c; COMMIT;" >/dev/null &
locker=$!
track $locker
sleep 0.3
t0=$(now_ms)
expect_exit 0 "$TRAWL" run locked.db -q
wait $locker 2>/dev/null || true
untrack $locker
check_eq "write lock held: the run waited and finished" "$(count_items locked.db "state = 'done'")" 200
invariant locked.db "after a lock"

# --- a reader holds a snapshot during a whole run: the WAL shrinks after ----
"$TRAWL" init reader.db --url "$BASE/big/{id}?bytes=5000" -q
seq 1 1500 | "$TRAWL" add reader.db - -q
( sqlite3 reader.db "BEGIN; SELECT count(*) FROM items; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT count(*) FROM c; COMMIT;" >/dev/null ) &
reader=$!
track $reader
expect_exit 0 "$TRAWL" run reader.db -q
wait $reader 2>/dev/null || true
untrack $reader
# one more write after the reader left lets a checkpoint reset the WAL
expect_exit 0 "$TRAWL" config reader.db commit_batch 500
expect_exit 0 "$TRAWL" config reader.db commit_batch 1000
wal=$(stat -c %s reader.db-wal 2>/dev/null || echo 0)
check_le "reader: the WAL is back under 64 MiB" "$wal" $((64 * 1024 * 1024))
invariant reader.db "after a long reader"

finish
