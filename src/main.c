/*
 * main.c - the command table and dispatch.  Everything a command does lives
 * in its src/cmd_*.c; this file only finds it, runs it and makes sure what
 * it wrote to stdout really got written.
 *
 * It is built twice.  `trawl` does not link libcurl: loading libcurl and
 * its thirty-odd libraries costs some 16 ms at every start, which would
 * dominate `trawl status`.  So `trawl run` execs `trawl-run` (this file
 * built with TRAWL_RUN_BINARY), found beside the trawl binary, the way git
 * keeps its HTTP transport in a helper of its own.
 */
#include "cmds.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TRAWL_RUN_BINARY
/* Replaces this process with trawl-run from the directory of this binary. */
static int exec_run(int argc, char **argv)
{
	char self[PATH_MAX], *slash, *path;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)argc;
	if (n <= 0)
		return error_code(TR_EIO, "cannot find the trawl binary: %s", strerror(errno)), EXIT_IO;
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	path = xasprintf("%s/trawl-run", self);
	execv(path, argv - 1);
	error_code(TR_EIO, "cannot start '%s': %s (is trawl installed completely?)", path, strerror(errno));
	free(path);
	return EXIT_IO;
}
#define RUN_ENTRY exec_run
#else
#define RUN_ENTRY cmd_run
#endif

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd commands[] = {
	{ "init", cmd_init, "create a crawl file: URL template, fields, pace" },
	{ "add", cmd_add, "add work items from a CSV file or a list of keys" },
	{ "run", RUN_ENTRY, "fetch until every item is done or failed (resumable)" },
	{ "status", cmd_status, "show progress; works while a run is going" },
	{ "export", cmd_export, "write results as CSV, TSV or JSON Lines" },
	{ "retry", cmd_retry, "put failed (or chosen) items back in the queue" },
	{ "reextract", cmd_reextract, "compute fields again from stored bodies, no requests" },
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
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("  help       show this list, or 'trawl help COMMAND'\n\n"
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
		printf("trawl %s\n", TRAWL_VERSION);
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
	/* past a file-size limit, or into a closed pipe, a write should fail (and
	 * be reported with exit code 4), not kill us */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	status = c->fn(argc - 1, argv + 1);
	if (status == EXIT_OK || status == EXIT_FAILED) {
		int rc = check_stdout();

		if (rc)
			status = exit_status(rc);
	}
	return status;
}
