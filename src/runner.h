/*
 * runner.h - `trawl run`'s engine: claims ready items, turns each into a
 * request (templates), drives the fetcher, decides each outcome (policy),
 * extracts fields and records everything back in batched transactions.
 */
#ifndef TRAWL_RUNNER_H
#define TRAWL_RUNNER_H

#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

struct run_opts {
	int verbose;                       /* one line per attempt on stderr */
	int64_t grace_ms;                  /* after a stop request, wait this long for transfers */
	volatile sig_atomic_t *stop;       /* >0: stop requested (the signal number); read only */
	volatile sig_atomic_t *stops;      /* how many stop requests: 2 means abort now */
	volatile int64_t *current_item;    /* the item being parsed, for the crash handler */
	int64_t crash_item;                /* the item a crashed run was parsing, or 0 */
	int max_crashes;                   /* that many crashes on one item fail it */
};

enum run_end { RUN_COMPLETE, RUN_STOPPED, RUN_AUTH_REFUSED };

struct run_summary {
	enum run_end end;
	int stop_signal;
	struct run_stats stats;
	struct store_counts counts;        /* at the end */
	int64_t recovered;                 /* items a dead run left in flight, put back */
	int auth_status;                   /* RUN_AUTH_REFUSED: 401 or 403 */
};

/*
 * Runs the crawl until no item is ready or due, a stop is requested, or the
 * server refuses every request.  Needs the runner lock (store_lock_runner).
 * Returns 0 with *sum filled, or a negative TR_E* code (said once).
 */
int run_crawl(struct store *st, const struct config *cfg, const struct run_opts *o,
	      struct run_summary *sum);

#endif
