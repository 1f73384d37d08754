/*
 * opts.h - option tables: each command declares its options once, with a
 * help line each; parsing (getopt_long) and `-h` usage come from the table.
 */
#ifndef TRAWL_OPTS_H
#define TRAWL_OPTS_H

#include <stdio.h>

struct opt {
	const char *name;      /* long name, without -- */
	int short_name;        /* 0 for none */
	const char *argname;   /* NULL when the option takes no argument */
	const char *help;
	int id;                /* passed to the handler */
};

struct cmd_usage {
	const char *synopsis;  /* e.g. "trawl add CRAWL [FILE|-] [options]" */
	const char *summary;   /* one line */
	const struct opt *opts;/* terminated by an entry with name == NULL */
};

/* Called once per option met; returns 0 or a negative TR_E* code (having said why). */
typedef int (*opt_fn)(void *ctx, int id, const char *arg);

#define OPTS_HELP 1

/*
 * Parses argv (argv[0] is the command name).  Returns OPTS_HELP after
 * printing usage to stdout for -h/--help, a negative code on a bad option
 * or a count of positional arguments outside [min_args, max_args] (message
 * printed), or 0; positional arguments are left in argv[*first .. argc-1].
 */
int opts_parse(int argc, char **argv, const struct cmd_usage *u, opt_fn fn, void *ctx,
	       int min_args, int max_args, int *first);
void opts_usage(FILE *f, const struct cmd_usage *u);

/* The shared "-h, --help" row: put it last in every table. */
#define OPT_HELP_ROW { "help", 'h', NULL, "show this help and exit", 'h' }
#define OPT_END { NULL, 0, NULL, NULL, 0 }

#endif
