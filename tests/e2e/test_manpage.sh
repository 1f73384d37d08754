# test_manpage.sh - doc/trawl.1 documents what the program itself shows:
# every command and each of its options (in that command's own .SS), every
# setting with its default, every table and column of a crawl file (in that
# table's own .SS), every exit code of `trawl help`, every key of
# `trawl status --json` (after a real run, so run and hosts are filled in),
# and every environment variable the sources read.  It also renders the page
# with groff (and mandoc when installed) and wants no warnings.
#
# Names are matched on the page's text with the roff escapes undone (\- is
# -, \& and font changes vanish), so '\-\-max\-body' counts as '--max-body'.
# A failure names what is missing.
. "$(dirname "$0")/lib.sh"

# absolute paths, so that relative ones given by hand survive the cd
SRCDIR=$(cd "$SRCDIR" && pwd)
case $TRAWL in /*) ;; *) TRAWL=$PWD/$TRAWL ;; esac
case $MOCKAPI in /*) ;; *) MOCKAPI=$PWD/$MOCKAPI ;; esac
MAN="$SRCDIR/doc/trawl.1"
cd "$DIR"

if [ ! -s "$MAN" ]; then
	_fail "the man page exists" "$MAN is missing or empty"
	finish
fi
_pass "the man page exists"

# The page with roff escapes undone; macro lines keep their macro name.
NORM=$(sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' \
	-e 's/\\(lq/"/g' -e 's/\\(rq/"/g' -e 's/\\(dq/"/g' -e "s/\\\\(aq/'/g" \
	-e 's/\\(em/--/g' -e 's/\\c$//' -e 's/\\e/\\/g' "$MAN")

# sh_section TITLE : the normalised text of the .SH section TITLE
sh_section() {
	awk -v t="$1" '
		/^\.SH / { s = $0; sub(/^\.SH +/, "", s); gsub(/"/, "", s); on = (s == t); next }
		on { print }' <<<"$NORM"
}

# ss_section TITLE : the normalised text of the .SS subsection TITLE
ss_section() {
	awk -v t="$1" '
		/^\.SH / { on = 0; next }
		/^\.SS / { s = $0; sub(/^\.SS +/, "", s); gsub(/"/, "", s); on = (s == t); next }
		on { print }' <<<"$NORM"
}

# has_word TEXT WORD : WORD occurs in TEXT, not as part of a longer name
# (letters, digits, _ and - count as name characters)
has_word() {
	local w
	w=$(printf '%s' "$2" | sed 's/[][\.*^$/]/\\&/g')
	grep -Eq -- "(^|[^A-Za-z0-9_-])$w([^A-Za-z0-9_-]|$)" <<<"$1"
}

# has_entry TEXT NAME : TEXT has an entry heading for NAME: a macro line
# (.B NAME, .BR NAME ..., .TP NAME) starting with it
has_entry() {
	local w
	w=$(printf '%s' "$2" | sed 's/[][\.*^$/]/\\&/g')
	grep -Eq -- "^\.(B|BR|BI|TP|IP) +\"?$w(\"|[ ,]|$)" <<<"$1"
}

# oneline LIST : the newline-separated LIST on one line, padded with spaces
oneline() { printf ' %s ' "$(printf '%s' "$1" | tr '\n' ' ')"; }

# report NAME MISSING : passes when MISSING (a space-separated list) is empty
report() {
	if [ -z "$2" ]; then
		_pass "$1"
	else
		_fail "$1" "missing from doc/trawl.1:$2"
	fi
}

# ---- commands and their options ------------------------------------------------------
note "scenario: every command of 'trawl help' and every option of 'trawl CMD -h'"
run_cmd "$TRAWL" help
check_eq "trawl help exits 0" "$RC" "0"
HELP=$OUT
COMMANDS=$(awk '/^commands:/ { on = 1; next } on && /^ *$/ { exit } on { print $1 }' <<<"$HELP")
check_contains "trawl help lists the commands (parsed)" "$(oneline "$COMMANDS")" " run "

SYNOPSIS=$(sh_section SYNOPSIS)
COMMANDS_TEXT=$(sh_section COMMANDS)
missing_syn="" missing_ss=""
for cmd in $COMMANDS; do
	grep -Eq "^\.B +trawl $cmd( |$)" <<<"$SYNOPSIS" || missing_syn="$missing_syn $cmd"
	grep -Eq "^\.SS +\"?trawl $cmd\"?$" <<<"$COMMANDS_TEXT" || missing_ss="$missing_ss $cmd"
done
report "every command is in SYNOPSIS" "$missing_syn"
report "every command has its .SS \"trawl CMD\" in COMMANDS" "$missing_ss"

for cmd in $COMMANDS; do
	[ "$cmd" = help ] && continue
	run_cmd "$TRAWL" "$cmd" -h
	check_eq "trawl $cmd -h exits 0" "$RC" "0"
	opts_block=$(awk '/^options:/ { on = 1; next } on' <<<"$OUT")
	longs=$(printf '%s\n' "$opts_block" | grep -oE '^ +(-[A-Za-z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' || true)
	shorts=$(printf '%s\n' "$opts_block" | grep -oE '^ +-[A-Za-z],' | grep -oE -- '-[A-Za-z]' || true)
	check_contains "trawl $cmd -h lists options (parsed)" "$(oneline "$longs")" " --help "
	section=$(ss_section "trawl $cmd")
	missing=""
	for o in $longs $shorts; do
		has_word "$section" "$o" || missing="$missing $o"
	done
	report "trawl $cmd: every option of -h is in its .SS section" "$missing"
done

# ---- settings --------------------------------------------------------------------------
note "scenario: every setting of 'trawl config' on a fresh crawl, with its default"
expect_exit 0 "$TRAWL" init fresh.db --url 'http://127.0.0.1:9/items/{id}' -q
expect_exit 0 "$TRAWL" config fresh.db
CONFIG=$OUT
SETTINGS=$(sed -n 's/^\([a-z_][a-z0-9_]*\) = .*/\1/p' <<<"$CONFIG" | awk '!seen[$0]++')
check_contains "trawl config lists the settings (parsed)" "$(oneline "$SETTINGS")" " max_body "
VERSION=$("$TRAWL" --version | awk '{ print $2 }' || true)
SETTINGS_TEXT=$(sh_section SETTINGS)
missing="" missing_default=""
for name in $SETTINGS; do
	if ! has_entry "$SETTINGS_TEXT" "$name"; then
		missing="$missing $name"
		continue
	fi
	[ "$name" = url ] && continue   # given at init, no default
	if ! value=$("$TRAWL" config fresh.db "$name" 2>&1); then
		missing_default="$missing_default $name=(trawl config failed: $value)"
		continue
	fi
	[ -n "$value" ] || continue
	[ "$value" = "trawl/$VERSION" ] && value="trawl/VERSION"
	# the entry's heading: the line after .TP
	heading=$(awk -v n="$name" '
		tp && $1 ~ /^\.BR?$/ && ($2 == n || $2 == "\"" n "\"") { print; exit }
		{ tp = ($0 ~ /^\.TP/) }' <<<"$SETTINGS_TEXT")
	case "$heading" in
	*"$value"*) ;;
	*) missing_default="$missing_default $name=$value" ;;
	esac
done
report "every setting has an entry in SETTINGS" "$missing"
report "every setting's entry shows its default" "$missing_default"

# ---- tables and columns -------------------------------------------------------------------
note "scenario: every table and column of a crawl file with one field"
expect_exit 0 "$TRAWL" init tables.db --url 'http://127.0.0.1:9/items/{id}' --field 'probe_field=$.a' -q
check_eq "the field is a column of results" \
	"$(sql tables.db "SELECT count(*) FROM pragma_table_info('results') WHERE name = 'probe_field'")" "1"
TABLES=$(sql tables.db "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name")
check_contains "the crawl file has tables (parsed)" "$(oneline "$TABLES")" " items "
TABLES_TEXT=$(sh_section TABLES)
missing_t="" missing_c=""
for t in $TABLES; do
	if ! grep -Eq "^\.SS +\"?$t\"?$" <<<"$TABLES_TEXT"; then
		missing_t="$missing_t $t"
		continue
	fi
	section=$(ss_section "$t")
	for c in $(sql tables.db "SELECT name FROM pragma_table_info('$t') ORDER BY cid"); do
		[ "$t.$c" = results.probe_field ] && continue
		has_entry "$section" "$c" || missing_c="$missing_c $t.$c"
	done
done
report "every table has its .SS in TABLES" "$missing_t"
report "every column has an entry in its table's .SS" "$missing_c"

# ---- exit codes ----------------------------------------------------------------------------
note "scenario: every exit code of 'trawl help' is in EXIT STATUS"
# the numbers of the exit-code block, leaving out those in parentheses (401/403)
CODES=$(awk '/^exit codes:/ { on = 1; next } on' <<<"$HELP" |
	sed 's/([^)]*)//g' | grep -oE '\b[0-9]+\b' | awk '!seen[$0]++')
check_contains "trawl help lists exit codes (parsed)" "$(oneline "$CODES")" " 0 "
check_contains "trawl help lists 143 (parsed)" "$(oneline "$CODES")" " 143 "
EXIT_TEXT=$(sh_section "EXIT STATUS")
missing=""
for code in $CODES; do
	grep -Eq "^\.B +$code$" <<<"$EXIT_TEXT" || missing="$missing $code"
done
report "every exit code has an entry in EXIT STATUS" "$missing"

# ---- status --json -----------------------------------------------------------------------------
note "scenario: every key of 'trawl status --json', after a real run"
# a mock that rate-limits (429, Retry-After: 0), so the host gets a row in
# hosts and the run retries: every part of the object is filled in
start_mock --rate 20 --burst 1 --retry-after 0
expect_exit 0 "$TRAWL" init run.db --url "$BASE/items/{id}" --field 'title=$.title' \
	--rate 20/s --backoff-base 10ms --backoff-cap 100ms -q
printf '1\n2\n3\n4\n5\n' >keys.txt
expect_exit 0 "$TRAWL" add run.db keys.txt -q
expect_exit 0 "$TRAWL" run run.db -q
stop_mock
expect_exit 0 "$TRAWL" status run.db --json
JSON=$OUT
check "status --json is one JSON object" jq -e 'type == "object"' <<<"$JSON"
check_eq "status --json has the run" "$(jq -r '.run.state' <<<"$JSON")" "complete"
check_eq "status --json has the host" "$(jq -r '.hosts | length' <<<"$JSON")" "1"
check_ge "status --json has recent outcomes" "$(jq -r '.recent.outcomes | length' <<<"$JSON")" 1
STATUS_TEXT=$(sh_section "STATUS --JSON")
missing=""
for k in $(jq -r 'keys_unsorted[]' <<<"$JSON"); do
	has_entry "$STATUS_TEXT" "$k" || missing="$missing $k"
done
report "every top-level key of status --json has an entry in STATUS --JSON" "$missing"
missing=""
for k in $(jq -r '[.. | objects | keys_unsorted[]] | unique[]' <<<"$JSON"); do
	has_word "$STATUS_TEXT" "$k" || missing="$missing $k"
done
report "every nested key of status --json is in STATUS --JSON" "$missing"
expect_exit 0 "$TRAWL" status fresh.db --json
check_eq "a fresh crawl's status --json has the same top-level keys" \
	"$(jq -c 'keys' <<<"$OUT")" "$(jq -c 'keys' <<<"$JSON")"

# ---- environment ----------------------------------------------------------------------------
note "scenario: every getenv(\"NAME\") of the sources is in ENVIRONMENT"
ENV_NAMES=$(cat "$SRCDIR"/src/*.c | grep -oE 'getenv\("[A-Za-z_][A-Za-z0-9_]*"\)' | sed 's/getenv("\(.*\)")/\1/' | sort -u || true)
ENV_TEXT=$(sh_section ENVIRONMENT)
missing=""
for v in $ENV_NAMES; do
	has_entry "$ENV_TEXT" "$v" || missing="$missing $v"
done
report "every environment variable read by name is in ENVIRONMENT" "$missing"
check_contains "ENVIRONMENT documents \${VAR}s" "$ENV_TEXT" '${'

# ---- rendering ---------------------------------------------------------------------------------
note "scenario: the page renders without warnings"
if command -v groff >/dev/null 2>&1; then
	warnings=$(groff -man -Tutf8 -ww "$MAN" 2>&1 >/dev/null || echo "groff failed")
	check_eq "groff -man -ww: no warnings" "$warnings" ""
else
	note "groff is not installed: rendering check skipped"
fi
if command -v mandoc >/dev/null 2>&1; then
	warnings=$(mandoc -Tlint -Wwarning "$MAN" 2>&1 || true)
	check_eq "mandoc -Tlint: no warnings" "$warnings" ""
fi

finish
