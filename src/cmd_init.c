/*
 * cmd_init.c - `trawl init CRAWL --url ... [settings]`: validate every
 * setting and create the crawl file atomically.  The options are generated
 * from the settings table (config.c), so every setting can be given here.
 */
#include "cmds.h"
#include "config.h"
#include "opts.h"
#include "store.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define ID_SETTING 1000
#define ID_HEADER 1
#define ID_FIELD 2
#define ID_DATA 3
#define ID_QUIET 'q'

struct init_ctx {
	struct config cfg;
	struct buf headers, fields;
	int method_given;
	char err[512];
};

/* Appends one line to a multi-line setting held in b. */
static int add_line(struct buf *b, const char *what, const char *line)
{
	if (strpbrk(line, "\r\n"))
		return error_code(TR_EUSAGE, "bad %s '%s': it may not hold CR or LF", what, line);
	if ((b->len && buf_add(b, "\n", 1)) || buf_addstr(b, line))
		return error_code(TR_EUSAGE, "too many %ss", what);
	return 0;
}

static int set(struct init_ctx *c, const char *name, const char *value)
{
	if (config_set(&c->cfg, name, value, c->err, sizeof(c->err)))
		return error_code(TR_EUSAGE, "%s", c->err);
	return 0;
}

static int on_opt(void *ctx, int id, const char *arg)
{
	struct init_ctx *c = ctx;

	switch (id) {
	case ID_HEADER: return add_line(&c->headers, "header", arg);
	case ID_FIELD: return add_line(&c->fields, "field", arg);
	case ID_DATA: return set(c, "body", arg);
	case ID_QUIET: trawl_quiet = 1; return 0;
	}
	if (!strcmp(config_name((size_t)(id - ID_SETTING)), "method"))
		c->method_given = 1;
	return set(c, config_name((size_t)(id - ID_SETTING)), arg);
}

/* The option table: the special rows, then one --name per setting, with its
 * default in the help line.  Caller frees the table and the 2n strings. */
static struct opt *init_options(char ***names_out)
{
	size_t n = config_count(), i, k = 0;
	struct opt *o = xcalloc(n + 6, sizeof(*o));
	char **names = xcalloc(2 * n, sizeof(*names));

	o[k++] = (struct opt){ "header", 'H', "'NAME: VALUE'", "add a header template (repeatable); ${VAR} is read at run time", ID_HEADER };
	o[k++] = (struct opt){ "field", 'f', "NAME=PATH", "extract a field with a JSON path like $.items[0].title (repeatable)", ID_FIELD };
	o[k++] = (struct opt){ "data", 'd', "TEMPLATE", "request body template (implies --method POST)", ID_DATA };
	for (i = 0; i < n; i++) {
		const char *name = config_name(i);
		char *p;

		if (!strcmp(name, "headers") || !strcmp(name, "fields") || !strcmp(name, "body"))
			continue;
		names[i] = xstrdup(name);
		for (p = names[i]; *p; p++)
			if (*p == '_')
				*p = '-';
		names[n + i] = *config_default(i)
			? xasprintf("%s (default %s)", config_help(i), config_default(i))
			: xstrdup(config_help(i));
		o[k++] = (struct opt){ names[i], 0, "VALUE", names[n + i], (int)(ID_SETTING + i) };
	}
	o[k++] = (struct opt){ "quiet", 'q', NULL, "print nothing but errors", ID_QUIET };
	o[k++] = (struct opt)OPT_HELP_ROW;
	*names_out = names;
	return o;
}

int cmd_init(int argc, char **argv)
{
	struct init_ctx c;
	char **optnames = NULL, **fnames = NULL, **fpaths = NULL;
	struct opt *opts = init_options(&optnames);
	struct cmd_usage u = {
		"trawl init CRAWL --url TEMPLATE [options]",
		"Create a crawl file holding every setting; 'trawl run CRAWL' needs no flags after this.\n"
		"Durations take ms, s, m, h; sizes take KiB, MiB; rates take N/s, N/m, N/h.",
		opts,
	};
	const char **names = NULL, **values = NULL;
	size_t nsettings = config_count(), nfields = 0, i;
	int rc, first = 0;

	memset(&c, 0, sizeof(c));
	config_init(&c.cfg);
	buf_init(&c.headers, 1 << 20);
	buf_init(&c.fields, 1 << 20);
	rc = opts_parse(argc, argv, &u, on_opt, &c, 1, 1, &first);
	if (rc) {
		rc = rc == OPTS_HELP ? 0 : rc;
		goto out;
	}
	if (*c.cfg.body && !c.method_given && (rc = set(&c, "method", "POST")))
		goto out;
	if ((rc = set(&c, "headers", c.headers.p ? c.headers.p : "")) ||
	    (rc = set(&c, "fields", c.fields.p ? c.fields.p : "")))
		goto out;
	if (config_validate(&c.cfg, c.err, sizeof(c.err))) {
		rc = error_code(TR_EUSAGE, "%s", c.err);
		goto out;
	}
	if (config_fields(&c.cfg, &fnames, &fpaths, &nfields, c.err, sizeof(c.err))) {
		rc = error_code(TR_EUSAGE, "%s", c.err);
		goto out;
	}
	names = xcalloc(nsettings, sizeof(*names));
	values = xcalloc(nsettings, sizeof(*values));
	for (i = 0; i < nsettings; i++) {
		names[i] = config_name(i);
		values[i] = config_text(&c.cfg, i);
	}
	rc = store_create(argv[first], nsettings, names, values, nfields, (const char *const *)fnames);
	if (!rc && !trawl_quiet)
		fprintf(stderr, "trawl: created '%s'; add items with: trawl add %s FILE\n",
			argv[first], argv[first]);
out:
	free(names);
	free(values);
	config_fields_free(fnames, fpaths, nfields);
	config_strings_free(optnames, 2 * config_count());
	free(opts);
	buf_release(&c.headers);
	buf_release(&c.fields);
	config_release(&c.cfg);
	return exit_status(rc);
}
