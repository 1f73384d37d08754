/*
 * store.c - the crawl file on SQLite: open and migrate, settings, the queue
 * (add, claim, update), runs, hosts, and the read paths (counts, export, SQL).
 *
 * All SQL text of the program lives here, as named statements prepared once.
 * No SQL is ever assembled from user data: the only identifiers spliced into
 * statements are field names, which are validated as plain identifiers
 * before they reach this file, and column names picked from a fixed list.
 * This module never prints to stdout and never exits.
 */
#include "store.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* 'trwl': PRAGMA application_id of every crawl file. */
#define TRAWL_APP_ID 0x7472776c
#define BUSY_TIMEOUT_MS 30000

extern const char *const trawl_migrations[];
extern const size_t trawl_migration_count;

enum stmt_id {
	Q_SETTING_GET,
	Q_SETTING_SET,
	Q_SETTINGS_ALL,
	Q_COUNTS,
	Q_COUNT_ADDED,
	Q_RETRY_WAITING,
	Q_RUN_BEGIN,
	Q_RUN_UPDATE,
	Q_RUN_END,
	Q_RUN_LAST,
	Q_RECOVER,
	Q_CRASH_BUMP,
	Q_CRASH_FAIL,
	Q_CLAIM,
	Q_ITEM_DONE,
	Q_ITEM_READY,
	Q_ITEM_FAILED,
	Q_ITEM_RELEASE,
	Q_ATTEMPT,
	Q_HOSTS_ALL,
	Q_HOST_SAVE,
	Q_SAMPLE,
	Q_SAMPLE_TRIM,
	Q_SAMPLE_AT,
	Q_RECENT,
	Q_BODIES,
	Q__COUNT
};

static const char *const stmt_sql[Q__COUNT] = {
	[Q_BODIES] = "SELECT item_id, body FROM results WHERE item_id > :after AND body IS NOT NULL "
		     "ORDER BY item_id LIMIT :limit",
	[Q_SAMPLE] = "INSERT OR REPLACE INTO progress (at, finished) VALUES (:at, :finished)",
	[Q_SAMPLE_TRIM] = "DELETE FROM progress WHERE at < :at - 3600000",
	/* the newest sample, and the oldest one inside the window */
	[Q_SAMPLE_AT] = "SELECT (SELECT at FROM progress ORDER BY at DESC LIMIT 1), "
			"(SELECT finished FROM progress ORDER BY at DESC LIMIT 1), "
			"(SELECT at FROM progress WHERE at >= :since ORDER BY at LIMIT 1), "
			"(SELECT finished FROM progress WHERE at >= :since ORDER BY at LIMIT 1)",
	[Q_RECENT] = "SELECT coalesce(http_status, 0), coalesce(substr(error, 1, 60), ''), count(*) AS n "
		     "FROM (SELECT http_status, error FROM attempts ORDER BY id DESC LIMIT :last) "
		     "GROUP BY 1, 2 ORDER BY n DESC LIMIT :max",
	[Q_SETTING_GET] = "SELECT value FROM settings WHERE name = :name",
	[Q_SETTING_SET] = "INSERT INTO settings (name, value) VALUES (:name, :value) "
			  "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
	[Q_SETTINGS_ALL] = "SELECT name, value FROM settings ORDER BY name",
	[Q_COUNTS] = "SELECT state, n FROM item_counts",
	[Q_COUNT_ADDED] = "UPDATE item_counts SET n = n + :added WHERE state = 'ready'",
	[Q_RETRY_WAITING] = "SELECT count(*), min(next_attempt_at) FROM items "
			    "WHERE state = 'ready' AND next_attempt_at > :now",
	[Q_RUN_BEGIN] = "INSERT INTO runs (pid, started_at, heartbeat_at) VALUES (:pid, :now, :now)",
	[Q_RUN_UPDATE] = "UPDATE runs SET heartbeat_at = :now, requests = :requests, done = :done, "
			 "failed = :failed, retried = :retried, inflight = :inflight, rate = :rate "
			 "WHERE id = :id",
	[Q_RUN_END] = "UPDATE runs SET heartbeat_at = :now, ended_at = :now, outcome = :outcome, "
		      "requests = :requests, done = :done, failed = :failed, retried = :retried, "
		      "inflight = 0, rate = :rate WHERE id = :id",
	[Q_RUN_LAST] = "SELECT id, pid, started_at, heartbeat_at, ended_at, outcome, requests, done, "
		       "failed, retried, inflight, rate FROM runs ORDER BY id DESC LIMIT 1",
	[Q_RECOVER] = "UPDATE items SET state = 'ready', updated_at = :now WHERE state = 'inflight'",
	[Q_CRASH_BUMP] = "UPDATE items SET crashes = crashes + 1 WHERE id = :id RETURNING crashes",
	[Q_CRASH_FAIL] = "UPDATE items SET state = 'failed', updated_at = :now, "
			 "last_error = 'the process crashed on this item ' || crashes || ' times' "
			 "WHERE id = :id",
	[Q_CLAIM] = "UPDATE items SET state = 'inflight', updated_at = :now WHERE id IN "
		    "(SELECT id FROM items WHERE state = 'ready' AND next_attempt_at <= :now "
		    "ORDER BY next_attempt_at LIMIT :limit) "
		    "RETURNING id, attempts, key, vars, next_attempt_at",
	[Q_ITEM_DONE] = "UPDATE items SET state = 'done', attempts = attempts + 1, "
			"last_http_status = :status, last_error = NULL, updated_at = :now "
			"WHERE id = :id",
	[Q_ITEM_READY] = "UPDATE items SET state = 'ready', attempts = attempts + :counts, "
			 "next_attempt_at = :next, last_http_status = coalesce(:status, last_http_status), "
			 "last_error = coalesce(:error, last_error), updated_at = :now WHERE id = :id",
	[Q_ITEM_FAILED] = "UPDATE items SET state = 'failed', attempts = attempts + :counts, "
			  "last_http_status = :status, last_error = :error, updated_at = :now "
			  "WHERE id = :id",
	[Q_ITEM_RELEASE] = "UPDATE items SET state = 'ready', updated_at = :now, "
			   "next_attempt_at = max(next_attempt_at, :next) WHERE id = :id",
	[Q_ATTEMPT] = "INSERT INTO attempts (item_id, run_id, started_at, http_status, error, "
		      "elapsed_ms, bytes, retry_after_ms, outcome) VALUES (:id, :run, :started, "
		      ":status, :error, :elapsed, :bytes, :retry_after, :outcome)",
	[Q_HOSTS_ALL] = "SELECT host, rate_now, paused_until, complaints, last_complaint_at, "
			"coalesce(reason, '') FROM hosts ORDER BY host",
	[Q_HOST_SAVE] = "INSERT INTO hosts (host, rate_now, paused_until, reason, complaints, "
			"last_complaint_at, updated_at) VALUES (:host, :rate, :until, :reason, "
			":complaints, :last, :now) ON CONFLICT (host) DO UPDATE SET "
			"rate_now = excluded.rate_now, paused_until = excluded.paused_until, "
			"reason = excluded.reason, complaints = excluded.complaints, "
			"last_complaint_at = excluded.last_complaint_at, updated_at = excluded.updated_at",
};

/* Rows per INSERT in store_add_queue.  A statement per row cost about as
 * much as the row: 3 million keys took 9.6 s one by one, 6.4 s by 64,
 * 5.5 s by 256, 5.0 s by 1024 (and 5.2 s as one INSERT ... SELECT in the
 * sqlite3 shell). */
#define ADD_BATCH 1024
#define ADD_TEXT_MAX (1 << 20)           /* flush early past this many queued bytes */

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[Q__COUNT];
	sqlite3_stmt *insert_result;     /* built from the field names */
	sqlite3_stmt *update_fields;     /* likewise */
	char **fields;                   /* results' field columns, table order */
	size_t nfields;
	char **active;                   /* the fields a run records (store_use_fields) */
	size_t nactive;
	int in_tx;
	int64_t added;                   /* items inserted in this transaction, not yet counted */
	struct add_queue {               /* store_add_queue: rows waiting for one INSERT */
		struct buf text;         /* their keys and vars, back to back */
		size_t key[ADD_BATCH], keylen[ADD_BATCH], vars[ADD_BATCH], varslen[ADD_BATCH];
		int has_vars[ADD_BATCH];
		int n;
		sqlite3_stmt *full;      /* the INSERT of ADD_BATCH rows */
		int64_t fresh;           /* inserted since the last store_add_flush */
	} aq;
	int lock_fd;
	enum store_mode mode;
};

static const char *const state_names[ST__COUNT] = { "ready", "inflight", "done", "failed" };

const char *item_state_name(enum item_state s)
{
	return (unsigned)s < ST__COUNT ? state_names[s] : "?";
}

int item_state_parse(const char *name, enum item_state *out)
{
	int i;

	for (i = 0; i < ST__COUNT; i++)
		if (!strcmp(name, state_names[i]))
			return *out = (enum item_state)i, 0;
	return -1;
}

/* Reports the connection's last error about the crawl and returns the code. */
static int db_error(struct store *st, const char *doing)
{
	int ext = sqlite3_extended_errcode(st->db);
	int prim = ext & 0xff;

	if (prim == SQLITE_FULL || (prim == SQLITE_IOERR && (sqlite3_system_errno(st->db) == ENOSPC ||
							    sqlite3_system_errno(st->db) == EFBIG)))
		return error_code(TR_EDB, "cannot %s in '%s': the disk is full or the file size limit was hit; "
					  "free some space and run the same command again (nothing committed is lost)",
				  doing, st->path);
	if (prim == SQLITE_IOERR && sqlite3_system_errno(st->db))
		return error_code(TR_EDB, "cannot %s in '%s': I/O error (%s)", doing, st->path,
				  strerror(sqlite3_system_errno(st->db)));
	if (prim == SQLITE_IOERR)
		return error_code(TR_EDB, "cannot %s in '%s': a write failed (a full disk or a file size "
					  "limit?); fix it and run the same command again", doing, st->path);
	if (prim == SQLITE_READONLY)
		return error_code(TR_EDB, "cannot %s in '%s': the crawl is read-only (check the permissions of the file and its directory)",
				  doing, st->path);
	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		return error_code(TR_EDB, "cannot %s in '%s': the database stayed locked by another process for %d s",
				  doing, st->path, BUSY_TIMEOUT_MS / 1000);
	if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
		return error_code(TR_EDB, "cannot %s in '%s': the file is corrupt or not a crawl; it was not changed",
				  doing, st->path);
	return error_code(TR_EDB, "cannot %s in '%s': %s", doing, st->path, sqlite3_errmsg(st->db));
}

static sqlite3_stmt *stmt(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];

	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		db_error(st, "prepare a statement");
		return NULL;
	}
	st->stmt[id] = s;
	return s;
}

static void bind_int(sqlite3_stmt *s, const char *name, int64_t v)
{
	sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, name), v);
}

static void bind_real(sqlite3_stmt *s, const char *name, double v)
{
	sqlite3_bind_double(s, sqlite3_bind_parameter_index(s, name), v);
}

/* Binds text (len -1: NUL-terminated); NULL binds SQL NULL.  SQLite copies it. */
static void bind_text(sqlite3_stmt *s, const char *name, const char *v, ssize_t len)
{
	int i = sqlite3_bind_parameter_index(s, name);

	if (v)
		sqlite3_bind_text(s, i, v, (int)len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static int bind_int_or_null(sqlite3_stmt *s, const char *name, int64_t v, int null_if)
{
	int i = sqlite3_bind_parameter_index(s, name);

	return v == null_if ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

/* Steps a statement that returns no rows we need. */
static int step_done(struct store *st, sqlite3_stmt *s, const char *doing)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_error(st, doing);
}

static int exec(struct store *st, const char *sql, const char *doing)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(st, doing);
	return 0;
}

/* Returns the integer result of a one-value statement (a PRAGMA), or -1. */
static int64_t exec_int(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

int store_begin(struct store *st)
{
	if (exec(st, "BEGIN IMMEDIATE", "start a transaction"))
		return TR_EDB;
	st->in_tx = 1;
	return 0;
}

static int add_queue_flush(struct store *st);

int store_commit(struct store *st)
{
	if (add_queue_flush(st)) {
		store_rollback(st);
		return TR_EDB;
	}
	if (st->added) {
		sqlite3_stmt *s = stmt(st, Q_COUNT_ADDED);

		if (!s) {
			store_rollback(st);
			return TR_EDB;
		}
		bind_int(s, ":added", st->added);
		if (step_done(st, s, "count the added items")) {
			store_rollback(st);
			return TR_EDB;
		}
		st->added = 0;
	}
	if (exec(st, "COMMIT", "commit")) {
		store_rollback(st);
		return TR_EDB;
	}
	st->in_tx = 0;
	st->aq.fresh = 0;
	return 0;
}

void store_rollback(struct store *st)
{
	st->added = 0;
	st->aq.n = 0;
	st->aq.fresh = 0;
	buf_reset(&st->aq.text);
	if (st->in_tx && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_tx = 0;
}

/* Applies every migration newer than the file's user_version, each in its own transaction. */
static int migrate(struct store *st)
{
	int64_t version = exec_int(st, "PRAGMA user_version");
	size_t i;

	if (version < 0)
		return db_error(st, "read the schema version");
	if ((size_t)version > trawl_migration_count)
		return error_code(TR_EDB, "'%s' was written by a newer trawl (schema %lld, this one knows %zu); upgrade trawl",
				  st->path, (long long)version, trawl_migration_count);
	for (i = (size_t)version; i < trawl_migration_count; i++) {
		char pragma[64];
		int rc;

		if (st->mode == STORE_READONLY) {
			/* a reader of an older crawl upgrades it once, through a writer */
			struct store *w = NULL;

			if (store_open(&w, st->path, STORE_READWRITE))
				return error_code(TR_EDB, "'%s' needs an upgrade of its schema, which needs write access",
						  st->path);
			store_close(w);
			return 0;
		}
		if ((rc = store_begin(st)))
			return rc;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu", i + 1);
		if (exec(st, trawl_migrations[i], "upgrade the schema") ||
		    exec(st, pragma, "upgrade the schema")) {
			store_rollback(st);
			return TR_EDB;
		}
		if ((rc = store_commit(st)))
			return rc;
	}
	return 0;
}

/* Reads the field column names: every results column after the fixed ones. */
static int load_fields(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT name FROM pragma_table_info('results') WHERE cid >= 7 ORDER BY cid",
			       -1, &s, NULL) != SQLITE_OK)
		return db_error(st, "read the field columns");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st->fields = xrealloc(st->fields, (st->nfields + 1) * sizeof(*st->fields));
		st->fields[st->nfields++] = xstrdup((const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_error(st, "read the field columns");
}

static int open_db(struct store *st, const char *path, int flags)
{
	static int configured;

	/* memory statistics cost a global mutex per allocation; trawl never reads them */
	if (!configured) {
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		configured = 1;
	}
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (!st->db)
			return error_code(TR_EDB, "cannot open '%s': out of memory", path);
		return error_code(TR_EDB, "cannot open '%s': %s", path, sqlite3_errmsg(st->db));
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	return 0;
}

/* Opens path through a URI with immutable=1 (no locks, no WAL, no -shm). */
static int open_immutable(struct store *st, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf uri;
	const char *p;
	int rc;

	buf_init(&uri, 3 * strlen(path) + 64);
	buf_addstr(&uri, "file:");
	for (p = path; *p; p++) {
		if (*p == '?' || *p == '#' || *p == '%') {
			char esc[3] = { '%', hex[(unsigned char)*p >> 4], hex[*p & 15] };

			buf_add(&uri, esc, 3);
		} else {
			buf_add(&uri, p, 1);
		}
	}
	buf_addstr(&uri, "?immutable=1");
	rc = open_db(st, uri.p, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
	buf_release(&uri);
	return rc;
}

static struct store *store_alloc(const char *path, enum store_mode mode)
{
	struct store *st = xcalloc(1, sizeof(*st));

	st->path = xstrdup(path);
	st->lock_fd = -1;
	st->mode = mode;
	return st;
}

int store_open(struct store **out, const char *path, enum store_mode mode)
{
	struct store *st = store_alloc(path, mode);
	struct stat sb;
	int64_t app_id;
	int rc;

	*out = NULL;
	if (stat(path, &sb)) {
		rc = errno == ENOENT
			? error_code(TR_EDB, "no crawl at '%s' (create one with 'trawl init')", path)
			: error_code(TR_EDB, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = error_code(TR_EDB, "'%s' is not a regular file", path);
		goto out;
	}
	if ((rc = open_db(st, path, mode == STORE_READONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE)))
		goto out;
	app_id = exec_int(st, "PRAGMA application_id");
	if (app_id < 0 && mode == STORE_READONLY &&
	    ((sqlite3_errcode(st->db) & 0xff) == SQLITE_READONLY || (sqlite3_errcode(st->db) & 0xff) == SQLITE_CANTOPEN)) {
		/* A crawl we may not write, in a directory we may not write: WAL needs
		 * a -shm file we cannot create.  Read it as immutable, as of its last
		 * checkpoint, and say so. */
		sqlite3_close(st->db);
		st->db = NULL;
		if ((rc = open_immutable(st, path)))
			goto out;
		app_id = exec_int(st, "PRAGMA application_id");
		if (app_id >= 0)
			warning("'%s' is read-only to you: showing it as of its last checkpoint", path);
	}
	if (app_id < 0) {
		int prim = sqlite3_errcode(st->db);

		rc = prim == SQLITE_NOTADB
			? error_code(TR_EDB, "'%s' is not a crawl file (not an SQLite database)", path)
			: db_error(st, "open the crawl");
		goto out;
	}
	if (app_id != TRAWL_APP_ID) {
		rc = error_code(TR_EDB, "'%s' is an SQLite database but not a trawl crawl", path);
		goto out;
	}
	if (mode == STORE_READWRITE) {
		int64_t j = exec_int(st, "PRAGMA journal_mode = WAL");

		if (j < 0 && sqlite3_errcode(st->db) != SQLITE_OK) {
			rc = db_error(st, "switch to WAL mode");
			goto out;
		}
		exec(st, "PRAGMA synchronous = NORMAL", "set synchronous");
		/* after a long reader held checkpoints back, give the WAL's space back */
		exec(st, "PRAGMA journal_size_limit = 67108864", "set journal_size_limit");
	}
	exec(st, "PRAGMA foreign_keys = OFF", "set foreign_keys");
	if ((rc = migrate(st)) || (rc = load_fields(st)))
		goto out;
	*out = st;
	st = NULL;
out:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	size_t i;

	if (!st)
		return;
	store_rollback(st);
	for (i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_finalize(st->insert_result);
	sqlite3_finalize(st->aq.full);
	buf_release(&st->aq.text);
	sqlite3_finalize(st->update_fields);
	sqlite3_close(st->db);
	/* Only after SQLite let go: closing any fd of the file drops its POSIX locks. */
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	for (i = 0; i < st->nfields; i++)
		free(st->fields[i]);
	free(st->fields);
	for (i = 0; i < st->nactive; i++)
		free(st->active[i]);
	free(st->active);
	free(st->path);
	free(st);
}

const char *store_path(const struct store *st)
{
	return st->path;
}

void store_cache_kib(struct store *st, int kib)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", kib);
	sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

/* Quotes a validated identifier for DDL/DML ("name"). */
static char *quote_ident(const char *name)
{
	return xasprintf("\"%s\"", name);
}

int store_add_field_column(struct store *st, const char *name)
{
	char *q = quote_ident(name), *sql;
	int rc;

	if (!ident_valid(name)) {
		free(q);
		return error_code(TR_EUSAGE, "bad field name '%s'", name);
	}
	sql = xasprintf("ALTER TABLE results ADD COLUMN %s", q);
	rc = exec(st, sql, "add a field column");
	free(sql);
	free(q);
	if (rc)
		return rc;
	st->fields = xrealloc(st->fields, (st->nfields + 1) * sizeof(*st->fields));
	st->fields[st->nfields++] = xstrdup(name);
	sqlite3_finalize(st->insert_result);
	st->insert_result = NULL;
	return 0;
}

int store_use_fields(struct store *st, size_t n, const char *const *names)
{
	size_t i, j;
	int rc;

	for (i = 0; i < n; i++) {
		/* SQLite's column names ignore case */
		for (j = 0; j < st->nfields; j++)
			if (!strcasecmp(names[i], st->fields[j]))
				break;
		if (j == st->nfields && (rc = store_add_field_column(st, names[i])))
			return rc;
	}
	for (i = 0; i < st->nactive; i++)
		free(st->active[i]);
	free(st->active);
	st->active = xcalloc(n ? n : 1, sizeof(*st->active));
	for (i = 0; i < n; i++)
		st->active[i] = xstrdup(names[i]);
	st->nactive = n;
	sqlite3_finalize(st->insert_result);
	st->insert_result = NULL;
	sqlite3_finalize(st->update_fields);
	st->update_fields = NULL;
	return 0;
}

int store_create(const char *path, size_t nsettings, const char *const *names,
		 const char *const *values, size_t nfields, const char *const *fields)
{
	struct store *st = NULL;
	char *tmp = xasprintf("%s.init-%ld", path, (long)getpid());
	int rc = 0;
	size_t i;

	if (access(path, F_OK) == 0) {
		rc = error_code(TR_EUSAGE, "'%s' already exists; trawl init never overwrites a file", path);
		goto out;
	}
	unlink(tmp);
	st = store_alloc(path, STORE_READWRITE);  /* messages name the crawl, not the temporary */
	/* a probe first, so that a missing or read-only directory gets one plain line */
	{
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd < 0) {
			rc = error_code(TR_EDB, "cannot create '%s': %s", path, strerror(errno));
			goto out;
		}
		close(fd);
	}
	if ((rc = open_db(st, tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)))
		goto out;
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", TRAWL_APP_ID);
		if ((rc = exec(st, sql, "create the crawl")))
			goto out;
	}
	if ((rc = migrate(st)) || (rc = store_begin(st)))
		goto out;
	for (i = 0; i < nsettings; i++)
		if ((rc = store_setting_set(st, names[i], values[i])))
			goto out;
	for (i = 0; i < nfields; i++)
		if ((rc = store_add_field_column(st, fields[i])))
			goto out;
	if ((rc = store_commit(st)))
		goto out;
	if ((rc = exec(st, "PRAGMA journal_mode = WAL", "switch to WAL mode")))
		goto out;
	store_close(st);
	st = NULL;
	/* link() refuses to replace: a file that appeared meanwhile is kept. */
	if (link(tmp, path)) {
		rc = errno == EEXIST
			? error_code(TR_EUSAGE, "'%s' already exists; trawl init never overwrites a file", path)
			: error_code(TR_EDB, "cannot create '%s': %s", path, strerror(errno));
		goto out;
	}
out:
	if (st)
		store_close(st);
	unlink(tmp);
	{
		char *side = xasprintf("%s-wal", tmp);

		unlink(side);
		free(side);
		side = xasprintf("%s-shm", tmp);
		unlink(side);
		free(side);
	}
	free(tmp);
	return rc;
}

int store_setting_get(struct store *st, const char *name, char **value)
{
	sqlite3_stmt *s = stmt(st, Q_SETTING_GET);
	int rc;

	*value = NULL;
	if (!s)
		return TR_EDB;
	bind_text(s, ":name", name, -1);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*value = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, "read the settings");
}

int store_setting_set(struct store *st, const char *name, const char *value)
{
	sqlite3_stmt *s = stmt(st, Q_SETTING_SET);

	if (!s)
		return TR_EDB;
	bind_text(s, ":name", name, -1);
	bind_text(s, ":value", value, -1);
	return step_done(st, s, "write a setting");
}

int store_settings_each(struct store *st, store_setting_fn fn, void *ctx)
{
	sqlite3_stmt *s = stmt(st, Q_SETTINGS_ALL);
	int rc;

	if (!s)
		return TR_EDB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int err = fn(ctx, (const char *)sqlite3_column_text(s, 0),
			     (const char *)sqlite3_column_text(s, 1));
		if (err) {
			sqlite3_reset(s);
			return err;
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_error(st, "read the settings");
}


/* "INSERT ... VALUES (?,?,?),(?,?,?)... ON CONFLICT (key) DO NOTHING" for n rows. */
static sqlite3_stmt *add_statement(struct store *st, int n)
{
	struct buf q;
	sqlite3_stmt *s = NULL;
	int i;

	/* room for every byte: a statement cut short would lose its ON CONFLICT */
	buf_init(&q, 128 + (size_t)n * 8);
	buf_addstr(&q, "INSERT INTO items (key, vars, updated_at) VALUES ");
	for (i = 0; i < n; i++)
		buf_addstr(&q, i ? ",(?,?,?)" : "(?,?,?)");
	if (buf_addstr(&q, " ON CONFLICT (key) DO NOTHING")) {
		buf_release(&q);
		error_code(TR_EDB, "the insert of %d items does not fit its buffer", n);
		return NULL;
	}
	if (sqlite3_prepare_v3(st->db, q.p, (int)q.len, n == ADD_BATCH ? SQLITE_PREPARE_PERSISTENT : 0,
			       &s, NULL) != SQLITE_OK) {
		db_error(st, "prepare the insert of items");
		s = NULL;
	}
	buf_release(&q);
	return s;
}

/* Inserts the queued rows with one statement. */
static int add_queue_flush(struct store *st)
{
	struct add_queue *aq = &st->aq;
	sqlite3_stmt *s;
	int64_t now = now_ms();
	int i, rc;

	if (!aq->n)
		return 0;
	if (aq->n == ADD_BATCH) {
		if (!aq->full && !(aq->full = add_statement(st, ADD_BATCH)))
			return TR_EDB;
		s = aq->full;
	} else if (!(s = add_statement(st, aq->n))) {
		return TR_EDB;
	}
	for (i = 0; i < aq->n; i++) {
		sqlite3_bind_text(s, 3 * i + 1, aq->text.p + aq->key[i], (int)aq->keylen[i], SQLITE_STATIC);
		if (aq->has_vars[i])
			sqlite3_bind_text(s, 3 * i + 2, aq->text.p + aq->vars[i], (int)aq->varslen[i], SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 3 * i + 2);
		sqlite3_bind_int64(s, 3 * i + 3, now);
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (s != aq->full)
		sqlite3_finalize(s);
	aq->n = 0;
	buf_reset(&aq->text);
	if (rc != SQLITE_DONE)
		return db_error(st, "add items");
	aq->fresh += sqlite3_changes(st->db);
	st->added += sqlite3_changes(st->db);
	return 0;
}

int store_add_queue(struct store *st, const char *key, size_t keylen, const char *vars, size_t varslen)
{
	struct add_queue *aq = &st->aq;
	int rc;

	if (!aq->text.max)
		buf_init(&aq->text, (size_t)64 << 20);
	if ((aq->n == ADD_BATCH || (aq->n && aq->text.len + keylen + varslen > ADD_TEXT_MAX)) &&
	    (rc = add_queue_flush(st)))
		return rc;
	aq->key[aq->n] = aq->text.len;
	aq->keylen[aq->n] = keylen;
	if (buf_add(&aq->text, key, keylen))
		return error_code(TR_EUSAGE, "a row is too large to add (%zu bytes)", keylen + varslen);
	aq->has_vars[aq->n] = vars != NULL;
	aq->vars[aq->n] = aq->text.len;
	aq->varslen[aq->n] = varslen;
	if (vars && buf_add(&aq->text, vars, varslen))
		return error_code(TR_EUSAGE, "a row is too large to add (%zu bytes)", keylen + varslen);
	aq->n++;
	return 0;
}

int store_add_item(struct store *st, const char *key, size_t keylen,
		   const char *vars, size_t varslen, int *added)
{
	int64_t before;
	int rc;

	/* rows queued earlier go first, and keep their place in the next flush's count */
	if ((rc = add_queue_flush(st)))
		return rc;
	before = st->aq.fresh;
	if ((rc = store_add_queue(st, key, keylen, vars, varslen)) || (rc = add_queue_flush(st)))
		return rc;
	*added = st->aq.fresh > before;
	return 0;
}

int store_add_flush(struct store *st, int64_t *added)
{
	int rc = add_queue_flush(st);

	*added = st->aq.fresh;
	st->aq.fresh = 0;
	return rc;
}

int store_counts_states(struct store *st, struct store_counts *c)
{
	sqlite3_stmt *s = stmt(st, Q_COUNTS);
	enum item_state state;
	int rc;

	memset(c->n, 0, sizeof(c->n));
	c->total = 0;
	if (!s)
		return TR_EDB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (item_state_parse((const char *)sqlite3_column_text(s, 0), &state) == 0) {
			c->n[state] = sqlite3_column_int64(s, 1);
			c->total += c->n[state];
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_error(st, "count the items");
}

int store_counts(struct store *st, int64_t now, struct store_counts *c)
{
	sqlite3_stmt *s;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = store_counts_states(st, c)))
		return rc;
	/* Walks the ready index from now on: only the waiting retries, not the queue. */
	if (!(s = stmt(st, Q_RETRY_WAITING)))
		return TR_EDB;
	bind_int(s, ":now", now);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		c->retry_waiting = sqlite3_column_int64(s, 0);
		c->next_due_at = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : db_error(st, "count the waiting retries");
}

/* ---- runs ---------------------------------------------------------------- */

int store_lock_runner(struct store *st)
{
	struct run_info ri;
	int found = 0;

	st->lock_fd = open(st->path, O_RDONLY | O_CLOEXEC);
	if (st->lock_fd < 0)
		return error_code(TR_EDB, "cannot open '%s': %s", st->path, strerror(errno));
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return error_code(TR_EDB, "cannot lock '%s': %s", st->path, strerror(errno));
	if (store_last_run(st, &ri, &found) == 0 && found && !ri.ended_at)
		return error_code(TR_EBUSY, "'%s' is being crawled by another trawl run (pid %lld); stop it first or wait",
				  st->path, (long long)ri.pid);
	return error_code(TR_EBUSY, "'%s' is being crawled by another trawl run; stop it first or wait",
			  st->path);
}

int store_run_begin(struct store *st, int64_t now, int64_t *run_id)
{
	sqlite3_stmt *s = stmt(st, Q_RUN_BEGIN);
	int rc;

	if (!s)
		return TR_EDB;
	bind_int(s, ":pid", getpid());
	bind_int(s, ":now", now);
	if ((rc = step_done(st, s, "record the run")))
		return rc;
	*run_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static void bind_run_stats(sqlite3_stmt *s, int64_t run_id, int64_t now, const struct run_stats *rs)
{
	bind_int(s, ":id", run_id);
	bind_int(s, ":now", now);
	bind_int(s, ":requests", rs->requests);
	bind_int(s, ":done", rs->done);
	bind_int(s, ":failed", rs->failed);
	bind_int(s, ":retried", rs->retried);
	bind_int(s, ":inflight", rs->inflight);
	bind_real(s, ":rate", rs->rate);
}

int store_run_update(struct store *st, int64_t run_id, int64_t now, const struct run_stats *rs)
{
	sqlite3_stmt *s = stmt(st, Q_RUN_UPDATE);

	if (!s)
		return TR_EDB;
	bind_run_stats(s, run_id, now, rs);
	return step_done(st, s, "record the run's progress");
}

int store_run_end(struct store *st, int64_t run_id, int64_t now, const char *outcome,
		  const struct run_stats *rs)
{
	sqlite3_stmt *s = stmt(st, Q_RUN_END);

	if (!s)
		return TR_EDB;
	bind_run_stats(s, run_id, now, rs);
	bind_text(s, ":outcome", outcome, -1);
	return step_done(st, s, "record the end of the run");
}

int store_progress_sample(struct store *st, int64_t at, int64_t finished)
{
	sqlite3_stmt *s = stmt(st, Q_SAMPLE);
	int rc;

	if (!s)
		return TR_EDB;
	bind_int(s, ":at", at);
	bind_int(s, ":finished", finished);
	if ((rc = step_done(st, s, "record progress")))
		return rc;
	if (!(s = stmt(st, Q_SAMPLE_TRIM)))
		return TR_EDB;
	bind_int(s, ":at", at);
	return step_done(st, s, "trim progress samples");
}

int store_progress_rate(struct store *st, int64_t now, int64_t window_ms, double *rate)
{
	sqlite3_stmt *s = stmt(st, Q_SAMPLE_AT);
	int rc;

	*rate = -1;
	if (!s)
		return TR_EDB;
	bind_int(s, ":since", now - window_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL &&
	    sqlite3_column_type(s, 2) != SQLITE_NULL) {
		int64_t t1 = sqlite3_column_int64(s, 0), f1 = sqlite3_column_int64(s, 1);
		int64_t t0 = sqlite3_column_int64(s, 2), f0 = sqlite3_column_int64(s, 3);

		/* a window the samples cover only in part is reported as unknown */
		if (t1 > t0 && t0 - (now - window_ms) < window_ms / 5 + 15000 && now - t1 < 30000)
			*rate = (double)(f1 - f0) * 1000.0 / (double)(t1 - t0);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, "read progress");
}

int store_recent_outcomes(struct store *st, int last, struct outcome_count *out, size_t max, size_t *n)
{
	sqlite3_stmt *s = stmt(st, Q_RECENT);
	int rc;

	*n = 0;
	if (!s)
		return TR_EDB;
	bind_int(s, ":last", last);
	bind_int(s, ":max", (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		struct outcome_count *o = &out[(*n)++];

		o->http_status = sqlite3_column_int(s, 0);
		snprintf(o->error, sizeof(o->error), "%s", (const char *)sqlite3_column_text(s, 1));
		o->n = sqlite3_column_int64(s, 2);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_error(st, "read recent attempts");
}

int store_last_run(struct store *st, struct run_info *ri, int *found)
{
	sqlite3_stmt *s = stmt(st, Q_RUN_LAST);
	const char *outcome;
	int rc;

	memset(ri, 0, sizeof(*ri));
	*found = 0;
	if (!s)
		return TR_EDB;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = 1;
		ri->id = sqlite3_column_int64(s, 0);
		ri->pid = sqlite3_column_int64(s, 1);
		ri->started_at = sqlite3_column_int64(s, 2);
		ri->heartbeat_at = sqlite3_column_int64(s, 3);
		ri->ended_at = sqlite3_column_int64(s, 4);
		outcome = (const char *)sqlite3_column_text(s, 5);
		snprintf(ri->outcome, sizeof(ri->outcome), "%s", outcome ? outcome : "");
		ri->stats.requests = sqlite3_column_int64(s, 6);
		ri->stats.done = sqlite3_column_int64(s, 7);
		ri->stats.failed = sqlite3_column_int64(s, 8);
		ri->stats.retried = sqlite3_column_int64(s, 9);
		ri->stats.inflight = sqlite3_column_int64(s, 10);
		ri->stats.rate = sqlite3_column_double(s, 11);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, "read the runs");
}

int store_recover(struct store *st, int64_t now, int64_t crash_item, int max_crashes,
		  int64_t *recovered)
{
	sqlite3_stmt *s;
	int rc;

	*recovered = 0;
	if (crash_item > 0) {
		int64_t crashes = 0;

		if (!(s = stmt(st, Q_CRASH_BUMP)))
			return TR_EDB;
		bind_int(s, ":id", crash_item);
		if ((rc = sqlite3_step(s)) == SQLITE_ROW)
			crashes = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return db_error(st, "record a crash");
		if (crashes >= max_crashes) {
			if (!(s = stmt(st, Q_CRASH_FAIL)))
				return TR_EDB;
			bind_int(s, ":id", crash_item);
			bind_int(s, ":now", now);
			if ((rc = step_done(st, s, "fail a crashing item")))
				return rc;
		}
	}
	if (!(s = stmt(st, Q_RECOVER)))
		return TR_EDB;
	bind_int(s, ":now", now);
	if ((rc = step_done(st, s, "recover items in flight")))
		return rc;
	*recovered = sqlite3_changes(st->db);
	return 0;
}

void claimed_item_release(struct claimed_item *it)
{
	if (!it)
		return;
	free(it->key);
	free(it->vars);
	memset(it, 0, sizeof(*it));
}

static int by_due(const void *a, const void *b)
{
	const struct claimed_item *x = a, *y = b;

	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int store_claim(struct store *st, int64_t now, int limit, struct claimed_item *out, int *n)
{
	sqlite3_stmt *s = stmt(st, Q_CLAIM);
	int rc;

	*n = 0;
	if (!s)
		return TR_EDB;
	bind_int(s, ":now", now);
	bind_int(s, ":limit", limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < limit) {
		struct claimed_item *it = &out[(*n)++];
		const char *vars = (const char *)sqlite3_column_text(s, 3);

		it->id = sqlite3_column_int64(s, 0);
		it->attempts = sqlite3_column_int(s, 1);
		it->key = xstrndup((const char *)sqlite3_column_text(s, 2), (size_t)sqlite3_column_bytes(s, 2));
		it->vars = vars ? xstrdup(vars) : NULL;
		it->due = sqlite3_column_int64(s, 4);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		while (*n > 0)
			claimed_item_release(&out[--*n]);
		return db_error(st, "claim items");
	}
	/* RETURNING gives rows in no promised order: due order is ours to make */
	qsort(out, (size_t)*n, sizeof(*out), by_due);
	return 0;
}

/* The INSERT of a result, with one bound column per field. */
static sqlite3_stmt *insert_result_stmt(struct store *st)
{
	struct buf sql;
	size_t i;

	if (st->insert_result) {
		sqlite3_reset(st->insert_result);
		sqlite3_clear_bindings(st->insert_result);
		return st->insert_result;
	}
	buf_init(&sql, 1 << 20);
	buf_addstr(&sql, "INSERT OR REPLACE INTO results (item_id, http_status, fetched_at, "
			 "elapsed_ms, bytes, url, body");
	for (i = 0; i < st->nactive; i++)
		buf_addf(&sql, ", \"%s\"", st->active[i]);
	buf_addstr(&sql, ") VALUES (?, ?, ?, ?, ?, ?, ?");
	for (i = 0; i < st->nactive; i++)
		buf_addstr(&sql, ", ?");
	buf_addstr(&sql, ")");
	if (sqlite3_prepare_v3(st->db, sql.p, -1, SQLITE_PREPARE_PERSISTENT, &st->insert_result, NULL) != SQLITE_OK) {
		db_error(st, "prepare the results insert");
		st->insert_result = NULL;
	}
	buf_release(&sql);
	return st->insert_result;
}

static void bind_value(sqlite3_stmt *s, int i, const struct value *v)
{
	switch (v->type) {
	case VAL_INT: sqlite3_bind_int64(s, i, v->i); break;
	case VAL_REAL: sqlite3_bind_double(s, i, v->d); break;
	case VAL_TEXT: sqlite3_bind_text(s, i, v->s, (int)v->len, SQLITE_STATIC); break;
	case VAL_BLOB: sqlite3_bind_blob(s, i, v->s, (int)v->len, SQLITE_STATIC); break;
	default: sqlite3_bind_null(s, i); break;
	}
}

static int insert_result(struct store *st, const struct item_update *u, int64_t now)
{
	sqlite3_stmt *s = insert_result_stmt(st);
	size_t i;

	if (!s)
		return TR_EDB;
	sqlite3_bind_int64(s, 1, u->item_id);
	sqlite3_bind_int(s, 2, u->http_status);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, u->elapsed_ms);
	sqlite3_bind_int64(s, 5, u->bytes);
	sqlite3_bind_text(s, 6, u->url, -1, SQLITE_STATIC);
	if (u->body)
		sqlite3_bind_text(s, 7, u->body, (int)u->body_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 7);
	for (i = 0; i < st->nactive; i++) {
		if (i < u->nfields)
			bind_value(s, (int)(8 + i), &u->fields[i]);
		else
			sqlite3_bind_null(s, (int)(8 + i));
	}
	return step_done(st, s, "record a result");
}

static int insert_attempt(struct store *st, const struct item_update *u)
{
	static const char *const outcome[ST__COUNT] = { "retry", "retry", "done", "failed" };
	sqlite3_stmt *s = stmt(st, Q_ATTEMPT);

	if (!s)
		return TR_EDB;
	bind_int(s, ":id", u->item_id);
	bind_int_or_null(s, ":run", u->run_id, 0);
	bind_int(s, ":started", u->started_at);
	bind_int_or_null(s, ":status", u->http_status, 0);
	bind_text(s, ":error", u->error, -1);
	bind_int(s, ":elapsed", u->elapsed_ms);
	bind_int(s, ":bytes", u->bytes);
	bind_int_or_null(s, ":retry_after", u->retry_after_ms, -1);
	bind_text(s, ":outcome", outcome[u->state], -1);
	return step_done(st, s, "record an attempt");
}

int store_update_item(struct store *st, const struct item_update *u)
{
	int64_t now = now_ms();
	sqlite3_stmt *s;
	int rc;

	if (u->counts_attempt && (rc = insert_attempt(st, u)))
		return rc;
	switch (u->state) {
	case ST_DONE:
		if ((rc = insert_result(st, u, now)))
			return rc;
		if (!(s = stmt(st, Q_ITEM_DONE)))
			return TR_EDB;
		bind_int(s, ":status", u->http_status);
		break;
	case ST_FAILED:
		if (!(s = stmt(st, Q_ITEM_FAILED)))
			return TR_EDB;
		bind_int(s, ":counts", u->counts_attempt ? 1 : 0);
		bind_int_or_null(s, ":status", u->http_status, 0);
		bind_text(s, ":error", u->error, -1);
		break;
	case ST_READY:
		if (!u->counts_attempt) {
			if (!(s = stmt(st, Q_ITEM_RELEASE)))
				return TR_EDB;
			bind_int(s, ":next", u->next_attempt_at);
			break;
		}
		if (!(s = stmt(st, Q_ITEM_READY)))
			return TR_EDB;
		bind_int(s, ":counts", 1);
		bind_int(s, ":next", u->next_attempt_at);
		bind_int_or_null(s, ":status", u->http_status, 0);
		bind_text(s, ":error", u->error, -1);
		break;
	default:
		return error_code(TR_EDB, "internal error: bad item state %d", (int)u->state);
	}
	bind_int(s, ":id", u->item_id);
	bind_int(s, ":now", now);
	return step_done(st, s, "update an item");
}

int store_hosts_each(struct store *st, store_host_fn fn, void *ctx)
{
	sqlite3_stmt *s = stmt(st, Q_HOSTS_ALL);
	struct host_state h;
	int rc;

	if (!s)
		return TR_EDB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int err;

		memset(&h, 0, sizeof(h));
		snprintf(h.host, sizeof(h.host), "%s", (const char *)sqlite3_column_text(s, 0));
		h.rate_now = sqlite3_column_double(s, 1);
		h.paused_until = sqlite3_column_int64(s, 2);
		h.complaints = sqlite3_column_int(s, 3);
		h.last_complaint_at = sqlite3_column_int64(s, 4);
		snprintf(h.reason, sizeof(h.reason), "%s", (const char *)sqlite3_column_text(s, 5));
		if ((err = fn(ctx, &h))) {
			sqlite3_reset(s);
			return err;
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_error(st, "read the hosts");
}

int store_host_save(struct store *st, const struct host_state *h, int64_t now)
{
	sqlite3_stmt *s = stmt(st, Q_HOST_SAVE);

	if (!s)
		return TR_EDB;
	bind_text(s, ":host", h->host, -1);
	bind_real(s, ":rate", h->rate_now);
	bind_int(s, ":until", h->paused_until);
	bind_text(s, ":reason", h->reason[0] ? h->reason : NULL, -1);
	bind_int(s, ":complaints", h->complaints);
	bind_int(s, ":last", h->last_complaint_at);
	bind_int(s, ":now", now);
	return step_done(st, s, "save a host's state");
}

/* ---- reading results ------------------------------------------------------- */

/* Streams the rows of a prepared statement to fn. */
static int stream_rows(struct store *st, sqlite3_stmt *s, store_row_fn fn, void *ctx)
{
	int ncols = sqlite3_column_count(s), i, rc, err = 0;
	const char **names = xcalloc((size_t)ncols + 1, sizeof(*names));
	struct value *row = xcalloc((size_t)ncols + 1, sizeof(*row));

	for (i = 0; i < ncols; i++)
		names[i] = sqlite3_column_name(s, i);
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++) {
			struct value *v = &row[i];

			memset(v, 0, sizeof(*v));
			switch (sqlite3_column_type(s, i)) {
			case SQLITE_INTEGER: v->type = VAL_INT; v->i = sqlite3_column_int64(s, i); break;
			case SQLITE_FLOAT: v->type = VAL_REAL; v->d = sqlite3_column_double(s, i); break;
			case SQLITE_TEXT:
				v->type = VAL_TEXT;
				v->s = (char *)sqlite3_column_text(s, i);
				v->len = (size_t)sqlite3_column_bytes(s, i);
				break;
			case SQLITE_BLOB:
				v->type = VAL_BLOB;
				v->s = (char *)sqlite3_column_blob(s, i);
				v->len = (size_t)sqlite3_column_bytes(s, i);
				break;
			default: break;
			}
		}
		err = fn(ctx, (size_t)ncols, names, row);
	}
	if (!err && rc != SQLITE_DONE)
		err = db_error(st, "read the results");
	/* A query with no rows still reports its columns, so the header gets written. */
	if (!err && rc == SQLITE_DONE)
		err = fn(ctx, (size_t)ncols, names, NULL);
	sqlite3_reset(s);
	free(names);
	free(row);
	return err;
}

/* Columns an export may name, and the SQL expression for each. */
static const struct {
	const char *name, *expr;
} export_cols[] = {
	{ "id", "i.id" }, { "key", "i.key" }, { "vars", "i.vars" }, { "state", "i.state" },
	{ "attempts", "i.attempts" }, { "next_attempt_at", "i.next_attempt_at" },
	{ "last_http_status", "i.last_http_status" }, { "last_error", "i.last_error" },
	{ "updated_at", "i.updated_at" }, { "http_status", "r.http_status" },
	{ "fetched_at", "r.fetched_at" }, { "elapsed_ms", "r.elapsed_ms" }, { "bytes", "r.bytes" },
	{ "url", "r.url" }, { "body", "r.body" },
};

static int add_export_column(struct store *st, struct buf *sql, const char *name)
{
	size_t i;

	if (sql->len > strlen("SELECT "))
		buf_addstr(sql, ", ");
	for (i = 0; i < sizeof(export_cols) / sizeof(export_cols[0]); i++)
		if (!strcmp(name, export_cols[i].name))
			return buf_addf(sql, "%s AS %s", export_cols[i].expr, name), 0;
	for (i = 0; i < st->nfields; i++)
		if (!strcmp(name, st->fields[i]))
			return buf_addf(sql, "r.\"%s\" AS \"%s\"", name, name), 0;
	return error_code(TR_EUSAGE, "unknown column '%s' (known: key, state, http_status, fields, and the rest listed in 'trawl export -h')",
			  name);
}

int store_export(struct store *st, const struct export_query *q, store_row_fn fn, void *ctx)
{
	static const char *const defaults[] = { "key", "state", "http_status", "last_error" };
	sqlite3_stmt *s = NULL;
	struct buf sql;
	int states = q->states ? q->states : 1 << ST_DONE, rc = 0, first = 1, i;
	size_t c;

	buf_init(&sql, 1 << 20);
	buf_addstr(&sql, "SELECT ");
	if (q->columns) {
		for (c = 0; c < q->ncolumns && !rc; c++)
			rc = add_export_column(st, &sql, q->columns[c]);
	} else {
		rc = add_export_column(st, &sql, "key");
		for (c = 0; c < st->nfields && !rc; c++)
			rc = add_export_column(st, &sql, st->fields[c]);
		for (c = 1; c < sizeof(defaults) / sizeof(defaults[0]) && !rc; c++)
			rc = add_export_column(st, &sql, defaults[c]);
	}
	if (rc)
		goto out;
	buf_addstr(&sql, " FROM items i LEFT JOIN results r ON r.item_id = i.id WHERE i.state IN (");
	for (i = 0; i < ST__COUNT; i++) {
		if (!(states & (1 << i)))
			continue;
		buf_addf(&sql, "%s'%s'", first ? "" : ", ", state_names[i]);
		first = 0;
	}
	buf_addstr(&sql, ") ORDER BY i.id");
	if (sqlite3_prepare_v2(st->db, sql.p, -1, &s, NULL) != SQLITE_OK) {
		rc = db_error(st, "prepare the export");
		goto out;
	}
	rc = stream_rows(st, s, fn, ctx);
out:
	sqlite3_finalize(s);
	buf_release(&sql);
	return rc;
}

int store_bodies(struct store *st, int64_t after, int limit, store_body_fn fn, void *ctx, int64_t *last)
{
	sqlite3_stmt *s = stmt(st, Q_BODIES);
	int rc, err = 0;

	if (!s)
		return TR_EDB;
	bind_int(s, ":after", after);
	bind_int(s, ":limit", limit);
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *body = (const char *)sqlite3_column_blob(s, 1);

		*last = sqlite3_column_int64(s, 0);
		err = fn(ctx, *last, body ? body : "", (size_t)sqlite3_column_bytes(s, 1));
	}
	sqlite3_reset(s);
	if (err)
		return err;
	return rc == SQLITE_DONE ? 0 : db_error(st, "read the stored bodies");
}

int store_set_fields(struct store *st, int64_t item_id, const struct value *fields, size_t n)
{
	size_t i;

	if (!st->update_fields) {
		struct buf sql;

		buf_init(&sql, 1 << 20);
		buf_addstr(&sql, "UPDATE results SET ");
		for (i = 0; i < st->nactive; i++)
			buf_addf(&sql, "%s\"%s\" = ?", i ? ", " : "", st->active[i]);
		buf_addstr(&sql, " WHERE item_id = ?");
		if (!st->nactive || sqlite3_prepare_v3(st->db, sql.p, -1, SQLITE_PREPARE_PERSISTENT,
							&st->update_fields, NULL) != SQLITE_OK) {
			buf_release(&sql);
			st->update_fields = NULL;
			return st->nactive ? db_error(st, "prepare the fields update") : 0;
		}
		buf_release(&sql);
	}
	sqlite3_reset(st->update_fields);
	for (i = 0; i < st->nactive; i++) {
		if (i < n)
			bind_value(st->update_fields, (int)(i + 1), &fields[i]);
		else
			sqlite3_bind_null(st->update_fields, (int)(i + 1));
	}
	sqlite3_bind_int64(st->update_fields, (int)(st->nactive + 1), item_id);
	return step_done(st, st->update_fields, "update the fields");
}

/*
 * The WHERE clause of a requeue.  The states and the fixed tests are
 * trawl's own text with bound parameters; f->where is the user's SQL
 * condition, spliced in by design (it is their crawl and their SQL, as with
 * `trawl sql`), inside parentheses so it cannot swallow trawl's own tests.
 */
static void requeue_where(struct buf *sql, const struct requeue_filter *f)
{
	int states = f->states ? f->states : 1 << ST_FAILED, i, first = 1;

	buf_addstr(sql, " WHERE state IN (");
	for (i = 0; i < ST__COUNT; i++) {
		if (i == ST_INFLIGHT || !(states & (1 << i)))
			continue;
		buf_addf(sql, "%s'%s'", first ? "" : ", ", state_names[i]);
		first = 0;
	}
	if (first)
		buf_addstr(sql, "NULL");
	buf_addstr(sql, ")");
	if (f->http_status)
		buf_addstr(sql, " AND last_http_status = :status");
	if (f->error_like)
		buf_addstr(sql, " AND instr(last_error, :error) > 0");
	if (f->where)
		buf_addf(sql, " AND (%s\n)", f->where);
}

static int requeue_step(struct store *st, const char *head, const struct requeue_filter *f,
			const char *tail, int64_t *n)
{
	sqlite3_stmt *s = NULL;
	struct buf sql;
	int rc = 0;

	buf_init(&sql, 1 << 20);
	buf_addstr(&sql, head);
	requeue_where(&sql, f);
	buf_addstr(&sql, tail);
	if (sqlite3_prepare_v2(st->db, sql.p, -1, &s, NULL) != SQLITE_OK) {
		rc = error_code(TR_EUSAGE, "bad --where condition: %s", sqlite3_errmsg(st->db));
		goto out;
	}
	if (f->http_status)
		bind_int(s, ":status", f->http_status);
	if (f->error_like)
		bind_text(s, ":error", f->error_like, -1);
	bind_int(s, ":now", now_ms());
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (n)
			*n = sqlite3_column_int64(s, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		if (n)
			*n = sqlite3_changes(st->db);
		rc = 0;
	} else {
		rc = db_error(st, "requeue items");
	}
out:
	sqlite3_finalize(s);
	buf_release(&sql);
	return rc;
}

int store_requeue(struct store *st, const struct requeue_filter *f, int64_t *n)
{
	int rc;

	*n = 0;
	if (f->dry_run)
		return requeue_step(st, "SELECT count(*) FROM items", f, "", n);
	if ((rc = store_begin(st)))
		return rc;
	if ((rc = requeue_step(st, "DELETE FROM results WHERE item_id IN (SELECT id FROM items", f, ")", NULL)) ||
	    (rc = requeue_step(st, "UPDATE items SET state = 'ready', attempts = 0, next_attempt_at = 0, "
				   "crashes = 0, last_error = NULL, last_http_status = NULL, updated_at = :now", f, "", n)) ||
	    (rc = store_commit(st))) {
		store_rollback(st);
		return rc;
	}
	return 0;
}

int store_field_names(struct store *st, const char *const **names, size_t *n)
{
	*names = (const char *const *)st->fields;
	*n = st->nfields;
	return 0;
}

int store_query(struct store *st, const char *sql, store_row_fn fn, void *ctx)
{
	sqlite3_stmt *s = NULL;
	const char *tail = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, &tail) != SQLITE_OK)
		return error_code(TR_EUSAGE, "bad SQL: %s", sqlite3_errmsg(st->db));
	if (!s)
		return error_code(TR_EUSAGE, "no SQL statement given");
	/* what follows may be only whitespace, semicolons and comments */
	while (tail && *tail) {
		sqlite3_stmt *more = NULL;
		const char *next = NULL;

		if (sqlite3_prepare_v2(st->db, tail, -1, &more, &next) != SQLITE_OK || more) {
			sqlite3_finalize(more);
			sqlite3_finalize(s);
			return error_code(TR_EUSAGE, "give one SQL statement at a time (extra text: '%.40s')", tail);
		}
		if (next == tail)
			break;
		tail = next;
	}
	rc = stream_rows(st, s, fn, ctx);
	sqlite3_finalize(s);
	return rc;
}
