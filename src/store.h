/*
 * store.h - the crawl file.  This is the only module that speaks SQL; every
 * other module sees crawls through these functions and plain C types, never
 * sqlite3 types, so another backend (a shared PostgreSQL queue claiming with
 * FOR UPDATE SKIP LOCKED) can slot in behind the same interface.
 *
 * Errors are reported here, once, with the crawl's path, and returned as
 * negative TR_E* codes (util.h).
 */
#ifndef TRAWL_STORE_H
#define TRAWL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "value.h"

struct store;

/* Item states, in the order of the item_counts table. */
enum item_state { ST_READY = 0, ST_INFLIGHT, ST_DONE, ST_FAILED, ST__COUNT };
const char *item_state_name(enum item_state s);
int item_state_parse(const char *name, enum item_state *out);

enum store_mode { STORE_READWRITE = 0, STORE_READONLY = 1 };

/*
 * Creates a new crawl at path with the given settings (names[i] = values[i])
 * and one results column per field name, atomically: on any error no file is
 * left behind, and an existing file is never touched (error).
 */
int store_create(const char *path, size_t nsettings, const char *const *names,
		 const char *const *values, size_t nfields, const char *const *fields);

/* Opens an existing crawl, migrating it to the current schema. Caller closes. */
int store_open(struct store **out, const char *path, enum store_mode mode);
void store_close(struct store *st);                  /* accepts NULL */
const char *store_path(const struct store *st);
/* Page cache size in KiB for this connection (add wants a bigger one). */
void store_cache_kib(struct store *st, int kib);

/* Transactions: the only way any write is grouped. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);               /* no-op outside a transaction */

/* Settings.  *value is malloc'd (caller frees), NULL when the setting is unset. */
int store_setting_get(struct store *st, const char *name, char **value);
int store_setting_set(struct store *st, const char *name, const char *value);
typedef int (*store_setting_fn)(void *ctx, const char *name, const char *value);
int store_settings_each(struct store *st, store_setting_fn fn, void *ctx);
/* Adds a results column for a new field (name already validated). */
int store_add_field_column(struct store *st, const char *name);
/*
 * Declares the fields a run records, in the order of the values it passes
 * to store_update_item; a field with no column yet gets one.  Columns of
 * fields dropped since stay, with their data.
 */
int store_use_fields(struct store *st, size_t n, const char *const *names);

/*
 * Adds one item in the current transaction, at once (through the queue
 * below); *added is 1, or 0 when the key already exists (a duplicate,
 * skipped).  vars may be NULL.
 */
int store_add_item(struct store *st, const char *key, size_t keylen,
		   const char *vars, size_t varslen, int *added);

/*
 * The same for many items: the rows are queued (copied) and inserted in
 * batches, several times faster than one by one.  store_add_flush inserts
 * what is queued and gives how many of the rows queued since its last call
 * in this transaction were new (the others were duplicates).  store_commit flushes too;
 * store_rollback drops the queue.
 */
int store_add_queue(struct store *st, const char *key, size_t keylen, const char *vars, size_t varslen);
int store_add_flush(struct store *st, int64_t *added);

struct store_counts {
	int64_t n[ST__COUNT];
	int64_t total;
	int64_t retry_waiting;     /* ready items with a future next_attempt_at */
	int64_t next_due_at;       /* earliest next_attempt_at among them, 0 if none */
};
int store_counts(struct store *st, int64_t now, struct store_counts *c);
/* Only n[] and total (a few rows of item_counts); retry_waiting and
 * next_due_at, which walk the waiting items, are left as they are. */
int store_counts_states(struct store *st, struct store_counts *c);

/* ---- runs ---------------------------------------------------------------- */

/*
 * Takes the crawl's runner lock (held until store_close).  Returns TR_EBUSY,
 * having said which pid holds it, when another trawl run has the crawl.
 */
int store_lock_runner(struct store *st);

struct run_stats {
	int64_t requests, done, failed, retried, inflight;
	double rate;               /* items finished per second, recent */
};
int store_run_begin(struct store *st, int64_t now, int64_t *run_id);
int store_run_update(struct store *st, int64_t run_id, int64_t now, const struct run_stats *s);
int store_run_end(struct store *st, int64_t run_id, int64_t now, const char *outcome,
		  const struct run_stats *s);

/* Records that `finished` items were done or failed at `at` (and forgets samples over an hour old). */
int store_progress_sample(struct store *st, int64_t at, int64_t finished);
/* Items finished per second over the last `window_ms`, from the samples; -1 when unknown. */
int store_progress_rate(struct store *st, int64_t now, int64_t window_ms, double *rate);

/* The most frequent outcomes among the last `last` attempts (status + error). */
struct outcome_count {
	int http_status;           /* 0 when none */
	char error[96];            /* "" when none */
	int64_t n;
};
int store_recent_outcomes(struct store *st, int last, struct outcome_count *out, size_t max, size_t *n);

struct run_info {
	int64_t id, pid, started_at, heartbeat_at, ended_at;
	char outcome[32];          /* "" while running or when the process died */
	struct run_stats stats;
};
/* The latest run, *found = 0 when the crawl was never run. */
int store_last_run(struct store *st, struct run_info *ri, int *found);

/*
 * At the start of a run: items left inflight by a dead run go back to ready
 * (not counted as attempts).  The item recorded as crashing the process
 * (crash_item > 0) has its crash count raised, and fails once it reaches
 * max_crashes.  *recovered receives the number put back.
 */
int store_recover(struct store *st, int64_t now, int64_t crash_item, int max_crashes,
		  int64_t *recovered);

struct claimed_item {
	int64_t id;
	int attempts;              /* HTTP attempts made before this one */
	char *key;                 /* owned by the item */
	char *vars;                /* JSON object text or NULL; owned */
	int64_t due;               /* its next_attempt_at */
};
void claimed_item_release(struct claimed_item *it);

/*
 * Marks up to limit ready items that are due at now as inflight and returns
 * them, due order first, in out[] (caller releases each).  One statement.
 */
int store_claim(struct store *st, int64_t now, int limit, struct claimed_item *out, int *n);

/* What happened to one item: the single place an item's state changes during a run. */
struct item_update {
	int64_t item_id;
	enum item_state state;     /* ST_DONE, ST_FAILED, or ST_READY (retry or release) */
	int counts_attempt;        /* 0 for a release at shutdown: no HTTP answer */
	int http_status;           /* 0 when none */
	const char *error;         /* NULL when none */
	int64_t next_attempt_at;   /* ST_READY */
	/* the attempt */
	int64_t run_id;
	int64_t started_at;
	int64_t elapsed_ms;
	int64_t bytes;
	int64_t retry_after_ms;    /* -1 when absent */
	/* the result, ST_DONE only */
	const char *url;
	const char *body;          /* NULL when bodies are not kept */
	size_t body_len;
	const struct value *fields;/* one per field column, in declared order */
	size_t nfields;
};
/* Applies u in the current transaction. */
int store_update_item(struct store *st, const struct item_update *u);

/* Per-host politeness state that must survive restarts. */
struct host_state {
	char host[256];
	double rate_now;
	int64_t paused_until;
	int complaints;
	int64_t last_complaint_at;
	char reason[64];
};
typedef int (*store_host_fn)(void *ctx, const struct host_state *h);
int store_hosts_each(struct store *st, store_host_fn fn, void *ctx);
int store_host_save(struct store *st, const struct host_state *h, int64_t now);

/*
 * Walks stored result bodies in item order, after item id `after`, at most
 * limit of them: fn gets the item id and the body (borrowed for the call).
 * *last receives the last item id seen (unchanged when none).
 */
typedef int (*store_body_fn)(void *ctx, int64_t item_id, const char *body, size_t len);
int store_bodies(struct store *st, int64_t after, int limit, store_body_fn fn, void *ctx, int64_t *last);
/* Sets the active fields (store_use_fields) of one result, in the current transaction. */
int store_set_fields(struct store *st, int64_t item_id, const struct value *fields, size_t n);

/* Which items `trawl retry` puts back in the queue. */
struct requeue_filter {
	int states;                /* bit (1 << ST_*) per state; 0 = failed; inflight never */
	int http_status;           /* last_http_status must equal this; 0 = any */
	const char *error_like;    /* last_error must contain this text; NULL = any */
	const char *where;         /* the user's own SQL condition on items; NULL = none */
	int dry_run;               /* only count */
};
/*
 * Puts the selected items back to ready, due now, with attempts, crashes and
 * last error reset and their results removed (an item has a result only
 * while it is done).  *n receives how many.  One transaction.
 */
int store_requeue(struct store *st, const struct requeue_filter *f, int64_t *n);

/* ---- reading results ------------------------------------------------------- */

/*
 * Streams rows to fn, one call per row with ncols values (borrowed until fn
 * returns) and the column names (borrowed for the whole query), then one
 * last call with row == NULL, so that a query with no rows still has its
 * column names seen.  fn returns 0 to go on or a negative code to stop,
 * which is returned.
 */
typedef int (*store_row_fn)(void *ctx, size_t ncols, const char *const *names,
			    const struct value *row);

struct export_query {
	const char *const *columns;/* NULL: key, the fields, state, http_status, last_error */
	size_t ncolumns;
	int states;                /* bit (1 << ST_*) per state wanted; 0 = done only */
};
/* Column names an export may use (static strings / field names), for --help and checks. */
int store_export(struct store *st, const struct export_query *q, store_row_fn fn, void *ctx);
/* The field columns of results, in declared order (borrowed until store_close). */
int store_field_names(struct store *st, const char *const **names, size_t *n);

/* Runs one user statement, streaming its rows. */
int store_query(struct store *st, const char *sql, store_row_fn fn, void *ctx);

#endif
