/*
 * cmd_sql.c - `trawl sql CRAWL 'SELECT ...'`: one statement, rows streamed
 * as an aligned table on a terminal, CSV otherwise (or as asked).
 */
#include "cmds.h"
#include "opts.h"
#include "output.h"
#include "store.h"
#include "util.h"

#include <unistd.h>

static int on_opt(void *ctx, int id, const char *arg)
{
	enum out_format *fmt = ctx;

	if (out_parse_format(arg, fmt))
		return error_code(TR_EUSAGE, "bad --format '%s': expected table, csv, tsv or jsonl", arg);
	return 0;
}

int cmd_sql(int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "format", 'f', "FORMAT", "table (default on a terminal), csv (default otherwise), tsv or jsonl", 'f' },
		OPT_HELP_ROW,
		OPT_END,
	};
	static const struct cmd_usage u = {
		"trawl sql CRAWL 'SQL' [options]",
		"Run one SQL statement against the crawl file (any sqlite3 client works too;\n"
		"while a run is going, prefer reads: a long write makes the run wait).",
		opts,
	};
	enum out_format fmt = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_CSV;
	struct store *st = NULL;
	struct out *o = NULL;
	int rc, first = 0;

	if ((rc = opts_parse(argc, argv, &u, on_opt, &fmt, 2, 2, &first)))
		return rc == OPTS_HELP ? 0 : exit_status(rc);
	if ((rc = store_open(&st, argv[first], STORE_READWRITE)))
		goto out;
	o = out_new(stdout, fmt);
	rc = store_query(st, argv[first + 1], out_row, o);
out:
	out_free(o);
	store_close(st);
	if (!rc)
		rc = check_stdout();
	return exit_status(rc);
}
