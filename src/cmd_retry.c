/*
 * cmd_retry.c - `trawl retry CRAWL [selection]`: put items back in the
 * queue, with their attempts reset, so the next `trawl run` fetches them.
 */
#include "cmds.h"
#include "opts.h"
#include "store.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int on_opt(void *ctx, int id, const char *arg)
{
	struct requeue_filter *f = ctx;
	enum item_state s;
	char *copy, *tok, *save = NULL;
	int rc = 0;

	switch (id) {
	case 's':
		copy = xstrdup(arg);
		for (tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
			if (!strcmp(tok, "all"))
				f->states |= (1 << ST_READY) | (1 << ST_DONE) | (1 << ST_FAILED);
			else if (item_state_parse(tok, &s) == 0 && s != ST_INFLIGHT)
				f->states |= 1 << s;
			else
				rc = error_code(TR_EUSAGE, "bad --state '%s': expected failed, done, ready or all", tok);
		}
		free(copy);
		return rc;
	case 'S':
		if (parse_int(arg, 100, 599, &f->http_status))
			return error_code(TR_EUSAGE, "bad --status '%s': expected an HTTP status like 503", arg);
		return 0;
	case 'e':
		f->error_like = arg;
		return 0;
	case 'w':
		f->where = arg;
		return 0;
	case 'n':
		f->dry_run = 1;
		return 0;
	}
	return 0;
}

int cmd_retry(int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "state", 's', "STATES", "failed (default), done, ready or all; comma-separated", 's' },
		{ "status", 0, "CODE", "only items whose last HTTP status was CODE", 'S' },
		{ "error", 0, "TEXT", "only items whose last error contains TEXT", 'e' },
		{ "where", 0, "SQL", "only items matching this SQL condition on the items table", 'w' },
		{ "dry-run", 'n', NULL, "only count the items that would be put back", 'n' },
		OPT_HELP_ROW,
		OPT_END,
	};
	static const struct cmd_usage u = {
		"trawl retry CRAWL [--state S] [--status CODE] [--error TEXT] [--where SQL] [--dry-run]",
		"Put items back in the queue, due now, with attempts reset; a done item's result\n"
		"is removed.  Without a selection: the failed items.  Items in flight are never\n"
		"touched.  Prints how many items were (or, with --dry-run, would be) put back.",
		opts,
	};
	struct requeue_filter f;
	struct store *st = NULL;
	int64_t n = 0;
	int rc, first = 0;

	memset(&f, 0, sizeof(f));
	if ((rc = opts_parse(argc, argv, &u, on_opt, &f, 1, 1, &first)))
		return rc == OPTS_HELP ? 0 : exit_status(rc);
	if ((rc = store_open(&st, argv[first], f.dry_run ? STORE_READONLY : STORE_READWRITE)))
		goto out;
	if ((rc = store_requeue(st, &f, &n)))
		goto out;
	printf("%s %lld item%s\n", f.dry_run ? "would retry" : "retrying", (long long)n, n == 1 ? "" : "s");
out:
	store_close(st);
	return exit_status(rc);
}
