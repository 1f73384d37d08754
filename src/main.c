/*
 * main.c - the command table and dispatch.  Everything a command does lives
 * in its src/cmd_*.c; this file only finds it, runs it and makes sure what
 * it wrote to stdout really got written.
 */
#include "cmds.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd commands[] = {
	{ "init", cmd_init, "create a crawl file: URL template, fields, pace" },
	{ "add", cmd_add, "add work items from a CSV file or a list of keys" },
	{ "run", cmd_run, "fetch until every item is done or failed (resumable)" },
	{ "status", cmd_status, "show progress; works while a run is going" },
	{ "export", cmd_export, "write results as CSV, TSV or JSON Lines" },
	{ "config", cmd_config, "show or change a crawl's settings" },
	{ "sql", cmd_sql, "run one SQL statement against the crawl" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fputs("usage: trawl COMMAND CRAWL [options]\n\n"
	      "A crawler for JSON APIs: a crawl is one SQLite file you can stop and resume.\n\n"
	      "commands:\n", f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("  help     show this list, or 'trawl help COMMAND'\n\n"
	      "'trawl COMMAND -h' shows a command's options.\n\n"
	      "exit codes:\n"
	      "  0    success\n"
	      "  1    the run finished but some items failed\n"
	      "  2    bad usage or bad input (nothing was changed)\n"
	      "  3    the crawl file cannot be opened, read or written\n"
	      "  4    an input file or standard output failed\n"
	      "  5    another trawl run holds the crawl\n"
	      "  6    the run stopped early: the server refused every request (401/403)\n"
	      "  130  interrupted (SIGINT); 143 terminated (SIGTERM): run again to resume\n", f);
}

static const struct cmd *find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct cmd *c;
	int status;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("trawl %s (%s)\n", TRAWL_VERSION, curl_version());
		return exit_status(check_stdout());
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc > 2 && (c = find(argv[2]))) {
			char *av[] = { (char *)c->name, (char *)"--help", NULL };

			return c->fn(2, av);
		}
		usage(stdout);
		return exit_status(check_stdout());
	}
	if (!(c = find(argv[1]))) {
		error_code(TR_EUSAGE, "unknown command '%s' (see 'trawl help')", argv[1]);
		return EXIT_USAGE;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	status = c->fn(argc - 1, argv + 1);
	if (status == EXIT_OK || status == EXIT_FAILED) {
		int rc = check_stdout();

		if (rc)
			status = exit_status(rc);
	}
	curl_global_cleanup();
	return status;
}
