/*
 * cmd_export.c - `trawl export CRAWL`: results with their keys and fields,
 * streamed as CSV, TSV or JSON Lines, filtered by state.
 */
#include "cmds.h"
#include "crawl.h"
#include "opts.h"
#include "output.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct export_ctx {
	enum out_format fmt;
	int states;
	char *columns;
};

static int parse_states(const char *arg, int *states)
{
	char *copy = xstrdup(arg), *save = NULL, *tok;
	int rc = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum item_state s;

		if (!strcmp(tok, "all"))
			*states |= (1 << ST__COUNT) - 1;
		else if (item_state_parse(tok, &s) == 0)
			*states |= 1 << s;
		else {
			rc = error_code(TR_EUSAGE, "bad --state '%s': expected done, failed, ready, inflight or all", tok);
			break;
		}
	}
	free(copy);
	return rc;
}

static int on_opt(void *ctx, int id, const char *arg)
{
	struct export_ctx *c = ctx;

	switch (id) {
	case 'f':
		if (out_parse_format(arg, &c->fmt) || c->fmt == OUT_TABLE)
			return error_code(TR_EUSAGE, "bad --format '%s': expected csv, tsv or jsonl", arg);
		return 0;
	case 's':
		return parse_states(arg, &c->states);
	case 'c':
		free(c->columns);
		c->columns = xstrdup(arg);
		return 0;
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "format", 'f', "FORMAT", "csv (default), tsv or jsonl", 'f' },
		{ "state", 's', "STATES", "done (default), failed, ready, inflight or all; comma-separated", 's' },
		{ "columns", 'c', "LIST", "columns to write, comma-separated: key, id, vars, state, attempts, "
					  "last_http_status, last_error, next_attempt_at, updated_at, http_status, fetched_at, elapsed_ms, "
					  "bytes, url, body, and the field names", 'c' },
		OPT_HELP_ROW,
		OPT_END,
	};
	static const struct cmd_usage u = {
		"trawl export CRAWL [options] > FILE",
		"Write results to stdout, one row per item, in item order, with a header row even\n"
		"when no item matches.  Default columns: key, the fields, state, http_status, last_error.",
		opts,
	};
	struct export_ctx c = { OUT_CSV, 0, NULL };
	struct export_query q = { 0 };
	struct store *st = NULL;
	struct config cfg = { 0 };
	struct out *o = NULL;
	char **cols = NULL;
	size_t ncols = 0;
	int rc, first = 0;

	rc = opts_parse(argc, argv, &u, on_opt, &c, 1, 1, &first);
	if (rc) {
		rc = rc == OPTS_HELP ? 0 : rc;
		goto out;
	}
	if ((rc = crawl_open(argv[first], STORE_READONLY, &st, &cfg)))
		goto out;
	if (c.columns) {
		char *save = NULL, *tok;

		for (tok = strtok_r(c.columns, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			cols = xrealloc(cols, (ncols + 1) * sizeof(*cols));
			cols[ncols++] = tok;
		}
		if (!ncols) {
			rc = error_code(TR_EUSAGE, "--columns names no column");
			goto out;
		}
		q.columns = (const char *const *)cols;
		q.ncolumns = ncols;
	}
	q.states = c.states;
	o = out_new(stdout, c.fmt);
	rc = store_export(st, &q, out_row, o);
out:
	out_free(o);
	free(cols);
	free(c.columns);
	store_close(st);
	config_release(&cfg);
	if (!rc)
		rc = check_stdout();
	return exit_status(rc);
}
