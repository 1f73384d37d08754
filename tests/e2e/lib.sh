# lib.sh - shared helpers for trawl's end-to-end tests (sourced, never run).
#
# Each test script sources this file, then calls check/expect_exit/... and
# ends with `finish`.  Environment (set by ctest, see CMakeLists.txt):
#   TRAWL    path to the trawl binary
#   MOCKAPI  path to the mock API (tools/mockapi)
#   SRCDIR   the repository root
# Run one by hand:  TRAWL=build/trawl MOCKAPI=build/mockapi SRCDIR=. bash tests/e2e/test_x.sh
#
# Rules kept here: every wait is bounded in count and time; servers listen on
# 127.0.0.1 only and stop by themselves (--max-seconds); everything a test
# starts is tracked and killed on exit; the temp dir is removed on exit.

set -euo pipefail

: "${TRAWL:?TRAWL must point at the trawl binary}"
: "${MOCKAPI:?MOCKAPI must point at the mockapi binary}"
: "${SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export LC_ALL=C

for _tool in curl jq sqlite3; do
	if ! command -v "$_tool" >/dev/null 2>&1; then
		echo "not ok - prerequisites: '$_tool' is not installed (apt-get install $_tool)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
unset _tool

DIR=$(mktemp -d "${TMPDIR:-/tmp}/trawl-e2e.XXXXXX")
PASSED=0
FAILED=0
PIDS=()           # every background process a test started (killed on exit)
MOCK_PID=""
PORT=""
BASE=""
OUT=""
ERR=""
RC=0
T0=$(date +%s%N)

FINISHED=0

_cleanup() {
	local rc=$? p
	if [ "$FINISHED" = 0 ]; then
		# the script stopped before `finish` (set -e, or a signal): say so in the summary
		echo "not ok - the test script stopped early (exit $rc)"
		echo "$PASSED passed, $((FAILED + 1)) failed"
	fi
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
	rm -rf "$DIR"
}
trap _cleanup EXIT
set -E
# where an unexpected failure stopped the script (only while errexit is on)
trap '_st=$?; [[ $- != *e* ]] || echo "# line $LINENO: exit status $_st from: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# note TEXT... : a comment line in the TAP-like output, with the test's elapsed time
note() { echo "# [$(( ($(date +%s%N) - T0) / 1000000 )) ms] $*"; }

# now_ms: wall clock in milliseconds
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# track PID: kill it when the test exits
track() { PIDS+=("$1"); }

# untrack PID
untrack() {
	local p new=()
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && [ "$p" != "$1" ] && new+=("$p")
	done
	PIDS=("${new[@]:-}")
}

# ---- assertions -------------------------------------------------------------

_pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
_fail() { FAILED=$((FAILED + 1)); echo "not ok - $1: $2"; }

# check NAME CMD... : passes when CMD (run as is, e.g. `[ "$a" = b ]`) succeeds
check() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		_pass "$name"
	else
		_fail "$name" "failed: $*"
	fi
}

# check_eq NAME ACTUAL EXPECTED
check_eq() {
	if [ "$2" = "$3" ]; then
		_pass "$1"
	else
		_fail "$1" "expected '$3', got '$2'"
	fi
}

# check_le NAME A B : integer A <= B
check_le() {
	if [ "$2" -le "$3" ] 2>/dev/null; then
		_pass "$1"
	else
		_fail "$1" "expected $2 <= $3"
	fi
}

# check_ge NAME A B : integer A >= B
check_ge() {
	if [ "$2" -ge "$3" ] 2>/dev/null; then
		_pass "$1"
	else
		_fail "$1" "expected $2 >= $3"
	fi
}

# check_contains NAME HAYSTACK NEEDLE
check_contains() {
	case "$2" in
	*"$3"*) _pass "$1" ;;
	*) _fail "$1" "expected to contain '$3', got '$(printf %s "$2" | head -c 400)'" ;;
	esac
}

# check_not_contains NAME HAYSTACK NEEDLE
check_not_contains() {
	case "$2" in
	*"$3"*) _fail "$1" "should not contain '$3', got '$(printf %s "$2" | head -c 400)'" ;;
	*) _pass "$1" ;;
	esac
}

# check_match NAME TEXT ERE : TEXT matches the extended regex
check_match() {
	if grep -Eq -- "$3" <<<"$2"; then
		_pass "$1"
	else
		_fail "$1" "expected to match /$3/, got '$(printf %s "$2" | head -c 400)'"
	fi
}

# expect_exit CODE CMD... : runs CMD (stdin from /dev/null unless redirected
# by the caller), captures stdout/stderr into $OUT/$ERR and the status into
# $RC, and checks the status.  The check is named after the command.
expect_exit() {
	local want=$1
	shift
	local name="exit $want: $(printf '%q ' "$@" | sed "s|$DIR/||g" | cut -c1-120)"
	_run "$@"
	if [ "$RC" = "$want" ]; then
		_pass "$name"
	else
		_fail "$name" "exit $RC; stderr: $(head -c 600 "$DIR/.err")"
	fi
}

# run_cmd CMD... : like expect_exit without the check
run_cmd() { _run "$@"; }

_run() {
	RC=0
	"$@" >"$DIR/.out" 2>"$DIR/.err" || RC=$?
	OUT=$(cat "$DIR/.out")
	ERR=$(cat "$DIR/.err")
}

# one_line NAME TEXT : TEXT (an error message) is one line starting "trawl: "
check_one_error_line() {
	local n
	n=$(printf '%s\n' "$2" | grep -c '' || true)
	if [ "$n" = 1 ] && [ "${2#trawl: }" != "$2" ]; then
		_pass "$1"
	else
		_fail "$1" "expected one 'trawl: ...' line, got: $(printf %s "$2" | head -c 400)"
	fi
}

# ---- trawl helpers ----------------------------------------------------------

# sql DB QUERY : the rows of QUERY as TSV without the header row (values
# print as they are unless they hold a tab, newline or backslash, which TSV
# escapes: select hex(x) for those)
sql() {
	"$TRAWL" sql "$1" "$2" --format tsv | tail -n +2
}

# count DB WHERE : number of items matching WHERE
count_items() { sql "$1" "SELECT count(*) FROM items WHERE ${2:-1}"; }

# invariant DB [LABEL] : the crawl invariant after a clean exit
invariant() {
	local db=$1 label=${2:-invariant} v
	v=$(sql "$db" "PRAGMA integrity_check")
	check_eq "$label: integrity_check" "$v" "ok"
	v=$(sql "$db" "SELECT count(*) FROM (SELECT item_id FROM results GROUP BY item_id HAVING count(*) > 1)")
	check_eq "$label: no item has two results" "$v" "0"
	v=$(sql "$db" "SELECT count(*) FROM items i WHERE i.state = 'done' AND NOT EXISTS (SELECT 1 FROM results r WHERE r.item_id = i.id)")
	check_eq "$label: every done item has a result" "$v" "0"
	v=$(sql "$db" "SELECT count(*) FROM results r LEFT JOIN items i ON i.id = r.item_id WHERE i.state IS NOT 'done'")
	check_eq "$label: only done items have results" "$v" "0"
	v=$(sql "$db" "SELECT count(*) FROM items WHERE state = 'inflight'")
	check_eq "$label: nothing left inflight" "$v" "0"
	v=$(sql "$db" "SELECT count(*) FROM item_counts c WHERE c.n <> (SELECT count(*) FROM items i WHERE i.state = c.state)")
	check_eq "$label: item_counts match the items" "$v" "0"
}

# check_keys DB FILE [LABEL] : every line of FILE is a key of exactly one row
# of items, and items holds no other key (keys without tab, newline or
# backslash, which `sql` escapes)
check_keys() {
	local db=$1 file=$2 label=${3:-keys}
	check_eq "$label: every input key is one item, no other item" \
		"$(sql "$db" "SELECT key FROM items" | sort)" "$(sort -u "$file")"
	check_eq "$label: no key in two items" "$(sql "$db" "SELECT count(*) - count(DISTINCT key) FROM items")" "0"
}

# ---- memory -----------------------------------------------------------------

# peak_rss CMD... : runs CMD like run_cmd (OUT, ERR, RC) under GNU time and
# sets PEAK_KIB to its peak resident set size in KiB: the largest of the
# process and of the programs it exec'd (`trawl run` execs trawl-run)
peak_rss() {
	PEAK_KIB=0
	if [ ! -x /usr/bin/time ]; then
		_fail "prerequisites" "/usr/bin/time is not installed (apt-get install time)"
		_run "$@"
		return 0
	fi
	RC=0
	/usr/bin/time -o "$DIR/.rss" -f '%M' "$@" >"$DIR/.out" 2>"$DIR/.err" || RC=$?
	OUT=$(cat "$DIR/.out")
	ERR=$(cat "$DIR/.err")
	PEAK_KIB=$(tail -n 1 "$DIR/.rss")
}

# check_rss NAME KIB MIB : a peak RSS of KIB KiB is at most MIB MiB; only noted
# in the sanitizer build (TRAWL_SANITIZED=1), where shadow memory and the
# allocator's quarantine make RSS meaningless
check_rss() {
	note "$1: peak RSS $(($2 / 1024)) MiB (limit $3 MiB)"
	if [ "${TRAWL_SANITIZED:-0}" = 1 ]; then
		note "$1: not checked under the sanitizers"
		return 0
	fi
	check_le "$1: peak RSS at most $3 MiB" "$2" "$(($3 * 1024))"
}

# ---- the mock API -----------------------------------------------------------

# start_mock [ARGS...] : starts a mock API; sets PORT, BASE, MOCK_PID.
# Several mocks: call it again after saving $BASE/$MOCK_PID (see stop_mock PID).
start_mock() {
	local pf="$DIR/port.$RANDOM$RANDOM" i
	"$MOCKAPI" --port-file "$pf" --max-seconds 240 "$@" 2>>"$DIR/mock.err" &
	MOCK_PID=$!
	track "$MOCK_PID"
	for ((i = 0; i < 100; i++)); do
		[ -s "$pf" ] && break
		if ! kill -0 "$MOCK_PID" 2>/dev/null; then
			break
		fi
		sleep 0.05
	done
	if [ ! -s "$pf" ]; then
		echo "# mockapi did not start: $(tail -n 3 "$DIR/mock.err")"
		_fail "start_mock $*" "no port file within 5 s"
		finish
	fi
	PORT=$(cat "$pf")
	BASE="http://127.0.0.1:$PORT"
}

# stop_mock [PID] : stops a mock (the last one started by default)
stop_mock() {
	local pid=${1:-$MOCK_PID} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	untrack "$pid"
}

# stats [BASE] : the mock's /_stats JSON
stats() { curl -sS --max-time 10 "${1:-$BASE}/_stats"; }

# reset_stats [BASE]
reset_stats() { curl -sS --max-time 10 -X POST "${1:-$BASE}/_reset" >/dev/null; }

# stat_requests [BASE] : total requests the mock saw
stat_requests() { stats "${1:-$BASE}" | jq -r '.requests'; }

# stat_status CODE [BASE] : how many answers had that status
stat_status() { stats "${2:-$BASE}" | jq -r --arg c "$1" '.status[$c] // 0'; }

# ---- processes --------------------------------------------------------------

# wait_for SECONDS CMD... : polls CMD every 50 ms until it succeeds; 1 on timeout.
# CMD is re-run, but its arguments are expanded once: poll a function.
wait_for() {
	local limit=$1 i end
	shift
	end=$(($(date +%s%N) / 1000000 + limit * 1000))
	for ((i = 0; i < limit * 20; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		[ $(($(date +%s%N) / 1000000)) -lt "$end" ] || break
		sleep 0.05
	done
	return 1
}

# wait_pid PID SECONDS : waits for a child to exit (bounded), sets RC;
# kills it with SIGKILL past the limit (RC=timeout then)
wait_pid() {
	local pid=$1 limit=$2 i
	for ((i = 0; i < limit * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		untrack "$pid"
		RC=timeout
		return 1
	fi
	RC=0
	wait "$pid" || RC=$?
	untrack "$pid"
	return 0
}

# ---- the end ------------------------------------------------------------------

finish() {
	local t=$(( ($(date +%s%N) - T0) / 1000000 ))
	echo "# $(basename "$0"): ${t} ms"
	echo "$PASSED passed, $FAILED failed"
	FINISHED=1
	if [ "$FAILED" -gt 0 ]; then
		exit 1
	fi
	exit 0
}
