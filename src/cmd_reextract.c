/*
 * cmd_reextract.c - `trawl reextract CRAWL [--field NAME=PATH ...]`: compute
 * the field columns again from the stored bodies, without any request.  New
 * fields are added to the crawl's settings (and columns).  Works in batches
 * of one transaction each and keeps a cursor in the settings, so an
 * interrupted reextract continues where it stopped.
 */
#include "cmds.h"
#include "crawl.h"
#include "extract.h"
#include "opts.h"
#include "progress.h"
#include "util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 500
#define CURSOR "_reextract_after"       /* settings named _* are state, not settings */
#define CURSOR_FIELDS "_reextract_fields"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

struct reextract_ctx {
	struct buf fields;        /* --field lines */
	struct store *st;
	struct extractor *x;
	struct value *values;
	size_t n;
	int64_t done, invalid, too_large;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct reextract_ctx *c = ctx;

	if (strpbrk(arg, "\r\n") || !strchr(arg, '='))
		return error_code(TR_EUSAGE, "bad --field '%s': expected NAME=$.path", arg);
	if ((c->fields.len && buf_add(&c->fields, "\n", 1)) || buf_addstr(&c->fields, arg))
		return error_code(TR_EUSAGE, "too many fields");
	return 0;
}

/* Merges the --field lines into the crawl's fields: a known name gets the new path. */
static char *merge_fields(const struct config *cfg, const char *extra)
{
	struct buf out;
	char *copy = xstrdup(cfg->fields), *line, *save = NULL;

	buf_init(&out, 4 << 20);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t name_len = strcspn(line, "=");
		const char *p = extra;
		int replaced = 0;

		while (p && *p) {
			if (!strncmp(p, line, name_len) && p[name_len] == '=')
				replaced = 1;
			p = strchr(p, '\n');
			p = p ? p + 1 : NULL;
		}
		if (!replaced) {
			buf_addstr(&out, out.len ? "\n" : "");
			buf_addstr(&out, line);
		}
	}
	if (*extra) {
		buf_addstr(&out, out.len ? "\n" : "");
		buf_addstr(&out, extra);
	}
	free(copy);
	return buf_detach(&out, NULL);
}

static int one_body(void *ctx, int64_t item_id, const char *body, size_t len)
{
	struct reextract_ctx *c = ctx;
	char err[256];
	size_t i;
	int rc;

	rc = extractor_run(c->x, body, len, c->values, err, sizeof(err));
	if (rc == EXTRACT_ETOOBIG)
		c->too_large++;
	else if (rc)
		c->invalid++;
	rc = store_set_fields(c->st, item_id, c->values, c->n);
	for (i = 0; i < c->n; i++)
		value_release(&c->values[i]);
	c->done++;
	return rc;
}

int cmd_reextract(int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "field", 'f', "NAME=PATH", "add a field, or give a known one a new path (repeatable)", 'f' },
		OPT_HELP_ROW,
		OPT_END,
	};
	static const struct cmd_usage u = {
		"trawl reextract CRAWL [--field NAME=PATH ...]",
		"Compute every field column again from the stored bodies (keep_body on), with no\n"
		"request.  New fields are added to the crawl.  Safe to interrupt: run it again to\n"
		"continue.",
		opts,
	};
	struct reextract_ctx c;
	struct config cfg = { 0 };
	struct progress prog;
	char **names = NULL, **paths = NULL, *merged = NULL, *cursor = NULL, *cursor_fields = NULL;
	char err[512], num[32];
	size_t nfields = 0;
	int64_t after = 0, last = 0, total;
	int rc, first = 0;

	memset(&c, 0, sizeof(c));
	buf_init(&c.fields, 1 << 20);
	rc = opts_parse(argc, argv, &u, on_opt, &c, 1, 1, &first);
	if (rc) {
		rc = rc == OPTS_HELP ? 0 : rc;
		goto out;
	}
	if ((rc = crawl_open(argv[first], STORE_READWRITE, &c.st, &cfg)))
		goto out;
	merged = merge_fields(&cfg, c.fields.p ? c.fields.p : "");
	if (config_set(&cfg, "fields", merged, err, sizeof(err)) || config_validate(&cfg, err, sizeof(err)) ||
	    config_fields(&cfg, &names, &paths, &nfields, err, sizeof(err)) ||
	    extractor_new(&c.x, nfields, (const char *const *)names, (const char *const *)paths, err, sizeof(err))) {
		rc = error_code(TR_EUSAGE, "%s", err);
		goto out;
	}
	c.n = nfields;
	c.values = xcalloc(nfields + 1, sizeof(*c.values));
	if ((rc = store_begin(c.st)) || (rc = store_setting_set(c.st, "fields", merged)) ||
	    (rc = store_use_fields(c.st, nfields, (const char *const *)names)) ||
	    (rc = store_setting_get(c.st, CURSOR, &cursor)) ||
	    (rc = store_setting_get(c.st, CURSOR_FIELDS, &cursor_fields)) || (rc = store_commit(c.st)))
		goto out;
	/* continue an interrupted reextract of the same fields */
	if (cursor && cursor_fields && !strcmp(cursor_fields, merged) && parse_int64(cursor, 0, INT64_MAX, &after))
		after = 0;
	if (after)
		fprintf(stderr, "trawl: continuing after item %lld\n", (long long)after);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	progress_init(&prog, stderr);
	last = after;
	while (!stop) {
		int64_t before = c.done;

		if ((rc = store_begin(c.st)) || (rc = store_bodies(c.st, last, BATCH, one_body, &c, &last)))
			break;
		snprintf(num, sizeof(num), "%lld", (long long)last);
		if ((rc = store_setting_set(c.st, CURSOR, num)) || (rc = store_setting_set(c.st, CURSOR_FIELDS, merged)) ||
		    (rc = store_commit(c.st)))
			break;
		if (!trawl_quiet && prog.tty)
			fprintf(stderr, "\rreextracted %lld bodies\033[K", (long long)c.done);
		if (c.done == before)
			break;
	}
	store_rollback(c.st);
	if (prog.tty && !trawl_quiet)
		fputc('\n', stderr);
	if (rc)
		goto out;
	total = c.done;
	if (stop) {
		fprintf(stderr, "trawl: interrupted after %lld bodies; run the same command to continue\n",
			(long long)total);
		rc = stop == SIGTERM ? -EXIT_SIGTERM : -EXIT_SIGINT;
		goto out;
	}
	if ((rc = store_begin(c.st)) || (rc = store_setting_set(c.st, CURSOR, "0")) || (rc = store_commit(c.st)))
		goto out;
	if (c.too_large)
		printf("reextracted %lld bodies, %lld not JSON, %lld with a field too large (fields NULL)\n",
		       (long long)total, (long long)c.invalid, (long long)c.too_large);
	else
		printf("reextracted %lld bodies, %lld not JSON (fields NULL)\n", (long long)total, (long long)c.invalid);
out:
	free(c.values);
	extractor_free(c.x);
	config_fields_free(names, paths, nfields);
	free(merged);
	free(cursor);
	free(cursor_fields);
	buf_release(&c.fields);
	store_close(c.st);
	config_release(&cfg);
	return exit_status(rc);
}
