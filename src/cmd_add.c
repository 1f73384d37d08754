/*
 * cmd_add.c - `trawl add CRAWL [FILE|-]`: items from a CSV/TSV or a list of
 * keys; duplicates (in the file or already in the crawl) are skipped.
 */
#include "cmds.h"
#include "crawl.h"
#include "import.h"
#include "opts.h"
#include "util.h"

#include <errno.h>
#include <string.h>

struct add_ctx {
	const char *column;
	enum import_format format;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct add_ctx *c = ctx;

	switch (id) {
	case 'c':
		c->column = arg;
		return 0;
	case 'f':
		if (!strcmp(arg, "csv"))
			c->format = IMPORT_CSV;
		else if (!strcmp(arg, "tsv"))
			c->format = IMPORT_TSV;
		else if (!strcmp(arg, "lines"))
			c->format = IMPORT_LINES;
		else
			return error_code(TR_EUSAGE, "bad --format '%s': expected csv, tsv or lines", arg);
		return 0;
	case 'q':
		trawl_quiet = 1;
		return 0;
	}
	return 0;
}

int cmd_add(int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "column", 'c', "NAME", "the CSV column holding the key (default: the crawl's key setting)", 'c' },
		{ "format", 'f', "FORMAT", "csv, tsv or lines (default: by extension; stdin is lines, or csv with --column)", 'f' },
		{ "quiet", 'q', NULL, "print nothing but errors", 'q' },
		OPT_HELP_ROW,
		OPT_END,
	};
	static const struct cmd_usage u = {
		"trawl add CRAWL [FILE.csv|FILE.tsv|FILE|-] [options]",
		"Add work items: a CSV/TSV with a header row, or one key per line (blank lines\n"
		"are ignored).  Keys already in the crawl are skipped and counted.  A malformed\n"
		"file adds nothing.",
		opts,
	};
	struct add_ctx c = { NULL, IMPORT_AUTO };
	struct import_opts io;
	struct import_stats stats;
	struct store *st = NULL;
	struct config cfg = { 0 };
	char **cols = NULL;
	size_t ncols = 0;
	FILE *in = NULL;
	const char *file;
	int rc, first = 0;

	if ((rc = opts_parse(argc, argv, &u, on_opt, &c, 1, 2, &first)))
		return rc == OPTS_HELP ? 0 : exit_status(rc);
	file = argc - first == 2 ? argv[first + 1] : "-";
	if ((rc = crawl_open(argv[first], STORE_READWRITE, &st, &cfg)))
		goto out;
	if (!strcmp(file, "-"))
		in = stdin;
	else if (!(in = fopen(file, "rb"))) {
		rc = error_code(TR_EIO, "cannot open '%s': %s", file, strerror(errno));
		goto out;
	}
	config_input_columns(&cfg, &cols, &ncols);
	memset(&io, 0, sizeof(io));
	io.name = in == stdin ? "stdin" : file;
	io.in = in;
	io.format = c.format == IMPORT_AUTO && c.column && in == stdin ? IMPORT_CSV : c.format;
	io.key_column = c.column ? c.column : cfg.key;
	io.required = (const char *const *)cols + 1;
	io.nrequired = ncols - 1;
	store_cache_kib(st, 8 * 1024);
	if ((rc = store_begin(st)))
		goto out;
	if ((rc = import_items(st, &io, &stats)) || (rc = store_commit(st))) {
		store_rollback(st);
		goto out;
	}
	if (!trawl_quiet)
		printf("added %lld, skipped %lld duplicate%s\n", (long long)stats.added,
		       (long long)stats.skipped, stats.skipped == 1 ? "" : "s");
out:
	if (in && in != stdin)
		fclose(in);
	config_strings_free(cols, ncols);
	store_close(st);
	config_release(&cfg);
	return exit_status(rc);
}
