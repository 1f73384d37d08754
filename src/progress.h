/*
 * progress.h - the run's progress line on stderr and the status report:
 * the same figures, so `trawl status` in another terminal shows what the
 * run shows.  Text only, no glyph carries meaning on its own.
 */
#ifndef TRAWL_PROGRESS_H
#define TRAWL_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

/* "850ms", "12s", "4m05s", "3h20m", "2d04h" */
void format_duration(char *out, size_t len, int64_t ms);
/* "2026-11-22 22:40:01" (UTC) */
void format_time(char *out, size_t len, int64_t unix_ms);

struct progress_figures {
	struct store_counts counts;
	int64_t inflight;          /* transfers in flight now */
	double rate;               /* items finished per second, recent */
	int hosts_paused;
	int64_t elapsed_ms;
};

struct progress {
	FILE *f;
	int tty;
	int64_t last_ms;
	int drawn;                 /* a TTY line is on screen */
};

void progress_init(struct progress *p, FILE *f);
/* Prints when due: redrawn in place on a TTY (4/s), a plain line every 10 s otherwise. */
void progress_update(struct progress *p, const struct progress_figures *fig, int64_t mono_now, int force);
/* Ends a redrawn line so later output starts on a fresh line. */
void progress_end(struct progress *p);

/* Everything `trawl status` shows. */
struct status_report {
	const char *path;
	int64_t now;
	struct store_counts counts;
	int have_run;
	struct run_info run;
	int run_alive;             /* the run's process is alive and beating */
	struct host_state *hosts;
	size_t nhosts;
	double rate[3];            /* items/s over the last 1, 5, 15 minutes; < 0 unknown */
	struct outcome_count recent[5];   /* the commonest outcomes of the last attempts */
	size_t nrecent;
	int recent_window;         /* how many attempts that looked at */
};
void status_print_text(FILE *f, const struct status_report *r);
void status_print_json(FILE *f, const struct status_report *r);

#endif
