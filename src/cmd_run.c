/*
 * cmd_run.c - `trawl run CRAWL [overrides]`: take the runner lock, install
 * the signal handlers, run, and say how it ended.  Overrides change settings
 * for this run only; the crawl file keeps its own.
 *
 * A crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) while an item's body is
 * being parsed writes that item's id to CRAWL-crash before the process dies,
 * so the next run can count the crash against the item and, after a few,
 * fail it instead of dying on it forever.
 */
#include "cmds.h"
#include "crawl.h"
#include "opts.h"
#include "runner.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CRASHES 3

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t stop_count;
static volatile int64_t current_item;
static int crash_fd = -1;

static void on_stop(int sig)
{
	stop_signal = sig;
	stop_count++;
}

/* Async-signal-safe: formats the id by hand and write()s it. */
static void on_crash(int sig)
{
	int64_t id = current_item;

	if (crash_fd >= 0 && id > 0) {
		char digits[24];
		int n = (int)sizeof(digits);

		while (id > 0 && n > 0) {
			digits[--n] = (char)('0' + id % 10);
			id /= 10;
		}
		if (write(crash_fd, digits + n, sizeof(digits) - (size_t)n) < 0)
			(void)0;
		fsync(crash_fd);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_handlers(void)
{
	static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		sigaction(crash_signals[i], &sa, NULL);
}

/* Reads (and keeps, until the recovery is committed) the crash marker. */
static int64_t read_crash_marker(const char *path)
{
	char buf[32];
	int64_t id = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		if (parse_int64(buf, 1, INT64_MAX, &id))
			id = 0;
	}
	return id;
}

/* Overrides are collected first and applied once the crawl's settings are loaded. */
struct run_ctx {
	const char *set_names[64];
	const char *set_values[64];
	char *owned[64];
	int nset;
	int verbose;
	int64_t grace_ms;
};

static int add_override(struct run_ctx *c, const char *name, const char *value)
{
	if (c->nset >= 64)
		return error_code(TR_EUSAGE, "too many overrides");
	c->set_names[c->nset] = name;
	c->set_values[c->nset] = value;
	c->nset++;
	return 0;
}

static int on_opt(void *ctx, int id, const char *arg)
{
	static const char *const names[] = { [1] = "concurrency", [2] = "rate", [3] = "max_attempts",
					     [4] = "timeout" };
	struct run_ctx *c = ctx;
	const char *eq;

	switch (id) {
	case 'v':
		c->verbose = 1;
		return 0;
	case 'q':
		trawl_quiet = 1;
		return 0;
	case 'g':
		if (parse_duration_ms(arg, 0, 3600000, &c->grace_ms))
			return error_code(TR_EUSAGE, "bad --grace '%s': expected a duration like 5s", arg);
		return 0;
	case 's':
		if (!(eq = strchr(arg, '=')))
			return error_code(TR_EUSAGE, "bad --set '%s': expected NAME=VALUE", arg);
		c->owned[c->nset] = xstrndup(arg, (size_t)(eq - arg));
		return add_override(c, c->owned[c->nset], eq + 1);
	}
	return add_override(c, names[id], arg);
}

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

int cmd_run(int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "concurrency", 'c', "N", "transfers in flight at most, for this run", 1 },
		{ "rate", 'r', "RATE", "requests per host (N/s, N/m, N/h), for this run", 2 },
		{ "max-attempts", 0, "N", "attempts per item, for this run", 3 },
		{ "timeout", 0, "DURATION", "time for a whole attempt, for this run", 4 },
		{ "set", 0, "NAME=VALUE", "any setting, for this run only (see 'trawl config CRAWL')", 's' },
		{ "grace", 0, "DURATION", "on Ctrl-C, wait this long for transfers in flight (default 5s)", 'g' },
		{ "verbose", 'v', NULL, "one line per attempt on stderr (secrets masked)", 'v' },
		{ "quiet", 'q', NULL, "no progress line, only errors", 'q' },
		OPT_HELP_ROW,
		OPT_END,
	};
	static const struct cmd_usage u = {
		"trawl run CRAWL [options]",
		"Fetch every ready item, retrying politely, until none is left.  Safe to stop at\n"
		"any moment (Ctrl-C, kill, crash): run the same command again to resume.",
		opts,
	};
	struct run_ctx c;
	struct config cfg = { 0 };
	struct store *st = NULL;
	struct run_opts ro;
	struct run_summary sum;
	char *marker = NULL, err[512];
	int rc, first = 0, i;

	memset(&c, 0, sizeof(c));
	c.grace_ms = 5000;
	rc = opts_parse(argc, argv, &u, on_opt, &c, 1, 1, &first);
	if (rc) {
		rc = rc == OPTS_HELP ? 0 : rc;
		goto out;
	}
	if ((rc = crawl_open(argv[first], STORE_READWRITE, &st, &cfg)))
		goto out;
	for (i = 0; i < c.nset; i++)
		if (config_set(&cfg, c.set_names[i], c.set_values[i], err, sizeof(err))) {
			rc = error_code(TR_EUSAGE, "%s", err);
			goto out;
		}
	if (config_validate(&cfg, err, sizeof(err))) {
		rc = error_code(TR_EUSAGE, "%s", err);
		goto out;
	}
	if ((rc = store_lock_runner(st)))
		goto out;
	marker = xasprintf("%s-crash", argv[first]);
	memset(&ro, 0, sizeof(ro));
	ro.verbose = c.verbose;
	ro.grace_ms = c.grace_ms;
	ro.stop = &stop_signal;
	ro.stops = &stop_count;
	ro.current_item = &current_item;
	ro.crash_item = read_crash_marker(marker);
	ro.max_crashes = MAX_CRASHES;
	crash_fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	install_handlers();
	/* SQLite frees a statement journal after every item update; with glibc's
	 * default trim threshold each free handed the heap top back to the kernel
	 * (brk, TLB flushes): 40% of the run's CPU in profiles.  Keep it instead:
	 * the peak is what it is either way. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 4 << 20);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = run_crawl(st, &cfg, &ro, &sum);
	curl_global_cleanup();
	if (crash_fd >= 0)
		close(crash_fd);
	crash_fd = -1;
	unlink(marker);
	if (rc)
		goto out;
	if (sum.recovered && !trawl_quiet)
		fprintf(stderr, "trawl: %lld item%s left in flight by an earlier run went back to the queue\n",
			(long long)sum.recovered, sum.recovered == 1 ? "" : "s");
	switch (sum.end) {
	case RUN_STOPPED:
		fprintf(stderr, "trawl: stopped by %s: %lld done, %lld failed, %lld left; resume with: trawl run %s\n",
			signal_name(sum.stop_signal), (long long)sum.counts.n[ST_DONE],
			(long long)sum.counts.n[ST_FAILED],
			(long long)(sum.counts.n[ST_READY] + sum.counts.n[ST_INFLIGHT]), argv[first]);
		rc = sum.stop_signal == SIGTERM ? -EXIT_SIGTERM : -EXIT_SIGINT;
		break;
	case RUN_AUTH_REFUSED:
		rc = error_code(-EXIT_AUTH, "stopped early: the server answered %d to every request so far; "
					    "check the credentials (headers, ${VAR}s) and run again",
				sum.auth_status);
		break;
	default:
		if (!trawl_quiet)
			fprintf(stderr, "trawl: finished: %lld done, %lld failed (this run: %lld requests, %lld retried)\n",
				(long long)sum.counts.n[ST_DONE], (long long)sum.counts.n[ST_FAILED],
				(long long)sum.stats.requests, (long long)sum.stats.retried);
		if (sum.counts.n[ST_FAILED]) {
			if (!trawl_quiet)
				fprintf(stderr, "trawl: see why with: trawl export %s --state failed\n", argv[first]);
			rc = -EXIT_FAILED;
		}
	}
out:
	for (i = 0; i < c.nset; i++)
		free(c.owned[i]);
	free(marker);
	store_close(st);
	config_release(&cfg);
	return exit_status(rc);
}
