/*
 * opts.c - getopt_long driven by a command's option table.
 */
#include "opts.h"
#include "util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void opts_usage(FILE *f, const struct cmd_usage *u)
{
	const struct opt *o;

	fprintf(f, "usage: %s\n\n%s\n", u->synopsis, u->summary);
	if (!u->opts || !u->opts->name)
		return;
	fputs("\noptions:\n", f);
	for (o = u->opts; o->name; o++) {
		char left[64];
		int n;

		if (o->short_name)
			n = snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->name);
		else
			n = snprintf(left, sizeof(left), "    --%s", o->name);
		if (o->argname && n > 0 && (size_t)n < sizeof(left))
			snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->argname);
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
}

int opts_parse(int argc, char **argv, const struct cmd_usage *u, opt_fn fn, void *ctx,
	       int min_args, int max_args, int *first)
{
	struct option longs[64];
	char shorts[128];
	size_t n = 0, s = 0;
	const struct opt *o;
	int c, rc;

	shorts[s++] = ':';
	for (o = u->opts; o && o->name && n < 63; o++, n++) {
		longs[n].name = o->name;
		longs[n].has_arg = o->argname ? required_argument : no_argument;
		longs[n].flag = NULL;
		longs[n].val = 256 + (int)n;
		if (o->short_name && s + 3 < sizeof(shorts)) {
			shorts[s++] = (char)o->short_name;
			if (o->argname)
				shorts[s++] = ':';
		}
	}
	memset(&longs[n], 0, sizeof(longs[n]));
	shorts[s] = '\0';
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct opt *hit = NULL;

		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			return error_code(TR_EUSAGE, c == ':' ? "option '%s' needs a value (see 'trawl %s -h')"
							      : "unknown option '%s' (see 'trawl %s -h')",
					  bad, argv[0]);
		}
		if (c >= 256)
			hit = &u->opts[c - 256];
		else
			for (o = u->opts; o->name; o++)
				if (o->short_name == c)
					hit = o;
		if (!hit)
			return error_code(TR_EUSAGE, "unknown option (see 'trawl %s -h')", argv[0]);
		if (hit->id == 'h') {
			opts_usage(stdout, u);
			return OPTS_HELP;
		}
		if ((rc = fn(ctx, hit->id, optarg)))
			return rc;
	}
	*first = optind;
	if (argc - optind < min_args || argc - optind > max_args)
		return error_code(TR_EUSAGE, "usage: %s (see 'trawl %s -h')", u->synopsis, argv[0]);
	return 0;
}
