/*
 * cmd_status.c - `trawl status CRAWL [--json] [--watch [SECONDS]]`: counts,
 * the run's pace and each host's state, read from the crawl file (the
 * running process writes its figures there), so it works from any terminal.
 */
#include "cmds.h"
#include "opts.h"
#include "progress.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A run whose heartbeat is older than this is taken for dead (its pid may
 * have been reused); a live run beats every second. */
#define HEARTBEAT_STALE_MS 3600000
/* The outcomes shown are those of the last this many attempts. */
#define RECENT_ATTEMPTS 10000

struct status_ctx {
	int json;
	int64_t watch_ms;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_opt(void *ctx, int id, const char *arg)
{
	struct status_ctx *c = ctx;

	switch (id) {
	case 'j':
		c->json = 1;
		return 0;
	case 'w':
		if (parse_duration_ms(arg, 100, 3600000, &c->watch_ms))
			return error_code(TR_EUSAGE, "bad --watch '%s': expected seconds, like 2 or 500ms", arg);
		return 0;
	}
	return 0;
}

static int add_host(void *ctx, const struct host_state *h)
{
	struct status_report *r = ctx;

	if (r->nhosts >= 1000)
		return 0;
	r->hosts = xrealloc(r->hosts, (r->nhosts + 1) * sizeof(*r->hosts));
	r->hosts[r->nhosts++] = *h;
	return 0;
}

static int process_alive(int64_t pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int report_once(struct store *st, const char *path, int json)
{
	struct status_report r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.path = path;
	r.now = now_ms();
	if ((rc = store_counts(st, r.now, &r.counts)) || (rc = store_last_run(st, &r.run, &r.have_run)) ||
	    (rc = store_hosts_each(st, add_host, &r)))
		goto out;
	{
		static const int64_t windows[3] = { 60000, 300000, 900000 };
		int k;

		for (k = 0; k < 3 && !rc; k++)
			rc = store_progress_rate(st, r.now, windows[k], &r.rate[k]);
	}
	r.recent_window = RECENT_ATTEMPTS;
	if (rc || (rc = store_recent_outcomes(st, RECENT_ATTEMPTS, r.recent, 5, &r.nrecent)))
		goto out;
	/* a live run whose heartbeat is late (a commit waiting on another
	 * process's lock) is still running; an hour of silence means its pid
	 * was reused by some other process */
	r.run_alive = r.have_run && !r.run.ended_at && r.now - r.run.heartbeat_at < HEARTBEAT_STALE_MS &&
		      process_alive(r.run.pid);
	if (json)
		status_print_json(stdout, &r);
	else
		status_print_text(stdout, &r);
	rc = check_stdout();
out:
	free(r.hosts);
	return rc;
}

int cmd_status(int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "json", 'j', NULL, "one JSON object (documented in trawl.1) instead of text", 'j' },
		{ "watch", 'w', "SECONDS", "redraw every SECONDS until Ctrl-C", 'w' },
		OPT_HELP_ROW,
		OPT_END,
	};
	static const struct cmd_usage u = {
		"trawl status CRAWL [--json] [--watch SECONDS]",
		"Show counts by state, the run's pace and ETA, waiting retries and hosts'\n"
		"state.  Reads the crawl file only, so it works while a run is going.",
		opts,
	};
	struct status_ctx c = { 0, 0 };
	struct store *st = NULL;
	int rc, first = 0;

	if ((rc = opts_parse(argc, argv, &u, on_opt, &c, 1, 1, &first)))
		return rc == OPTS_HELP ? 0 : exit_status(rc);
	if ((rc = store_open(&st, argv[first], STORE_READONLY)))
		goto out;
	if (!c.watch_ms) {
		rc = report_once(st, argv[first], c.json);
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop && !rc) {
		if (!c.json && isatty(STDOUT_FILENO))
			fputs("\033[H\033[2J", stdout);
		rc = report_once(st, argv[first], c.json);
		usleep((useconds_t)(c.watch_ms * 1000));
	}
out:
	store_close(st);
	return exit_status(rc);
}
