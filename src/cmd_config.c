/*
 * cmd_config.c - `trawl config CRAWL [NAME [VALUE]]`: list, show or change
 * a setting, with the same checks as init.
 */
#include "cmds.h"
#include "crawl.h"
#include "opts.h"
#include "util.h"

#include <string.h>

static int on_opt(void *ctx, int id, const char *arg)
{
	return 0;
}

static void print_setting(const char *name, const char *value)
{
	const char *nl;

	/* multi-line settings (headers, fields): one line each, name repeated */
	while ((nl = strchr(value, '\n'))) {
		printf("%s = %.*s\n", name, (int)(nl - value), value);
		value = nl + 1;
	}
	printf("%s = %s\n", name, value);
}

int cmd_config(int argc, char **argv)
{
	static const struct opt opts[] = { OPT_HELP_ROW, OPT_END };
	static const struct cmd_usage u = {
		"trawl config CRAWL [NAME [VALUE]]",
		"List the settings, show one, or change one (checked as at init; takes effect\n"
		"at the next 'trawl run').  Multi-line settings (headers, fields) take one\n"
		"entry per line in VALUE.",
		opts,
	};
	struct store *st = NULL;
	struct config cfg = { 0 };
	char err[512];
	size_t i;
	int rc, first = 0, nargs;

	if ((rc = opts_parse(argc, argv, &u, on_opt, NULL, 1, 3, &first)))
		return rc == OPTS_HELP ? 0 : exit_status(rc);
	nargs = argc - first;
	if ((rc = crawl_open(argv[first], nargs == 3 ? STORE_READWRITE : STORE_READONLY, &st, &cfg)))
		goto out;
	if (nargs == 1) {
		for (i = 0; i < config_count(); i++)
			print_setting(config_name(i), config_text(&cfg, i));
		goto out;
	}
	for (i = 0; i < config_count(); i++)
		if (!strcmp(config_name(i), argv[first + 1]))
			break;
	if (i == config_count()) {
		rc = error_code(TR_EUSAGE, "unknown setting '%s' (list them with 'trawl config %s')",
				argv[first + 1], argv[first]);
		goto out;
	}
	if (nargs == 2) {
		printf("%s\n", config_text(&cfg, i));
		goto out;
	}
	if (config_set(&cfg, argv[first + 1], argv[first + 2], err, sizeof(err)) ||
	    config_validate(&cfg, err, sizeof(err))) {
		rc = error_code(TR_EUSAGE, "%s", err);
		goto out;
	}
	if ((rc = store_begin(st)) || (rc = store_setting_set(st, argv[first + 1], argv[first + 2])) ||
	    (rc = store_commit(st)))
		goto out;
out:
	store_close(st);
	config_release(&cfg);
	return exit_status(rc);
}
