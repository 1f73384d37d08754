/*
 * test_store.c - unit tests for store.c on real crawl files in a temporary
 * directory: create/open and every way opening can fail, settings, items
 * and the trigger-kept counts, claiming, the item updates of a run, crash
 * recovery, field columns, export, user SQL, the runner lock, hosts and runs.
 * sqlite3 is used directly only to forge files trawl would not write.
 */
#include "store.h"
#include "util.h"
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The schema migrations embedded in trawlcore (schema_gen.c). */
extern const char *const trawl_migrations[];
extern const size_t trawl_migration_count;

static char tmpdir[] = "/tmp/trawl-store-XXXXXX";
static int ncrawls;
static char errtext[4096];     /* stderr of the last captured call */

/* ---- helpers ------------------------------------------------------------ */

/* tmpdir/name in a static rotating buffer. */
static const char *tpath(const char *name)
{
	static char bufs[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(bufs[k], sizeof(bufs[k]), "%s/%s", tmpdir, name);
	return bufs[k];
}

static int saved_fd = -1, cap_fd = -1;

/* Sends stderr to a file until capture_end(), which leaves it in errtext. */
static void capture_begin(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/stderr.txt", tmpdir);
	cap_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	fflush(stderr);
	saved_fd = dup(2);
	dup2(cap_fd, 2);
}

static void capture_end(void)
{
	ssize_t n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	n = pread(cap_fd, errtext, sizeof(errtext) - 1, 0);
	errtext[n > 0 ? n : 0] = '\0';
	close(cap_fd);
}

static int contains(const char *s, const char *what)
{
	if (strstr(s, what))
		return 1;
	fprintf(stderr, "  '%s' not in: %s\n", what, s);
	return 0;
}

/* Creates a crawl named name with fields; returns its path (static) or NULL. */
static const char *make_crawl(const char *name, size_t nfields, const char *const *fields)
{
	static const char *const names[] = { "url", "key" };
	static const char *const values[] = { "http://127.0.0.1/{id}", "id" };
	const char *path = tpath(name);

	if (store_create(path, 2, names, values, nfields, fields))
		return NULL;
	return path;
}

/* A fresh crawl with fields, opened read-write. */
static struct store *fresh(size_t nfields, const char *const *fields)
{
	char name[32];
	const char *path;
	struct store *st = NULL;

	snprintf(name, sizeof(name), "c%d.db", ++ncrawls);
	path = make_crawl(name, nfields, fields);
	if (!path || store_open(&st, path, STORE_READWRITE))
		return NULL;
	return st;
}

/* Adds keys in one transaction; returns how many were new. */
static int add_keys(struct store *st, const char *const *keys, size_t n)
{
	size_t i;
	int added, total = 0;

	if (store_begin(st))
		return -1;
	for (i = 0; i < n; i++) {
		if (store_add_item(st, keys[i], strlen(keys[i]), NULL, 0, &added))
			return -1;
		total += added;
	}
	return store_commit(st) ? -1 : total;
}

/* Rows as text: cells joined by '|', rows ended by '\n', NULL as "NULL". */
struct rows {
	struct buf text;
	int calls, null_calls;
	char names[512];
};

static int collect(void *ctx, size_t ncols, const char *const *names, const struct value *row)
{
	struct rows *r = ctx;
	size_t i;

	r->calls++;
	r->names[0] = '\0';
	for (i = 0; i < ncols; i++) {
		size_t n = strlen(r->names);

		snprintf(r->names + n, sizeof(r->names) - n, "%s%s", i ? "," : "", names[i]);
	}
	if (!row) {
		r->null_calls++;
		return 0;
	}
	for (i = 0; i < ncols; i++) {
		if (i)
			buf_addstr(&r->text, "|");
		switch (row[i].type) {
		case VAL_NULL: buf_addstr(&r->text, "NULL"); break;
		case VAL_INT: buf_addf(&r->text, "%lld", (long long)row[i].i); break;
		case VAL_REAL: buf_addf(&r->text, "%.17g", row[i].d); break;
		case VAL_TEXT: buf_add(&r->text, row[i].s, row[i].len); break;
		case VAL_BLOB: buf_addf(&r->text, "blob:%zu", row[i].len); break;
		}
	}
	buf_addstr(&r->text, "\n");
	return 0;
}

static void rows_init(struct rows *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, 1 << 20);
}

/* The result of one SQL query as text (static); "(error N)" on failure. */
static const char *q(struct store *st, const char *sql)
{
	static char out[1 << 16];
	struct rows r;
	int rc;

	rows_init(&r);
	capture_begin();
	rc = store_query(st, sql, collect, &r);
	capture_end();
	if (rc)
		snprintf(out, sizeof(out), "(error %d)", rc);
	else
		snprintf(out, sizeof(out), "%s", r.text.p ? r.text.p : "");
	buf_release(&r.text);
	return out;
}

/* The files in tmpdir whose names start with prefix, joined by ' ' (static). */
static const char *files_like(const char *prefix)
{
	static char out[2048];
	struct dirent *e;
	DIR *d = opendir(tmpdir);

	out[0] = '\0';
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		if (out[0])
			strncat(out, " ", sizeof(out) - strlen(out) - 1);
		strncat(out, e->d_name, sizeof(out) - strlen(out) - 1);
	}
	if (d)
		closedir(d);
	return out;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static const char *read_file(const char *path)
{
	static char out[4096];
	FILE *f = fopen(path, "rb");
	size_t n = 0;

	if (f) {
		n = fread(out, 1, sizeof(out) - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	return f ? out : "(missing)";
}

/* Opens path, capturing stderr; returns the code, closes any store opened. */
static int try_open(const char *path, enum store_mode mode)
{
	struct store *st = (struct store *)1;
	int rc;

	capture_begin();
	rc = store_open(&st, path, mode);
	capture_end();
	if (rc)
		CHECK(st == NULL);
	store_close(rc ? NULL : st);
	return rc;
}

static struct store_counts counts(struct store *st, int64_t now)
{
	struct store_counts c;

	memset(&c, 0xff, sizeof(c));
	CHECK_EQ_INT(store_counts(st, now, &c), 0);
	return c;
}

/* The counts kept by the triggers agree with a count of the table. */
static void check_counts_match_table(struct store *st)
{
	struct store_counts c = counts(st, 0);
	char want[256];

	snprintf(want, sizeof(want), "%lld|%lld|%lld|%lld|%lld\n", (long long)c.n[ST_READY],
		 (long long)c.n[ST_INFLIGHT], (long long)c.n[ST_DONE], (long long)c.n[ST_FAILED],
		 (long long)c.total);
	CHECK_EQ_STR(q(st, "SELECT sum(state = 'ready'), sum(state = 'inflight'), sum(state = 'done'), "
			   "sum(state = 'failed'), count(*) FROM items"), want);
}

/* ---- create and open ------------------------------------------------------ */

TEST(create_then_open)
{
	static const char *const fields[] = { "title", "price" };
	const char *path = make_crawl("new.db", 2, fields);
	const char *const *names;
	struct store *st = NULL;
	char *v = NULL;
	size_t n = 0;

	if (!CHECK(path != NULL))
		return;
	/* nothing but the crawl itself is left in the directory */
	CHECK_EQ_STR(files_like("new.db"), "new.db");
	CHECK_EQ_INT(store_open(&st, path, STORE_READWRITE), 0);
	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_STR(store_path(st), path);
	CHECK_EQ_INT(store_setting_get(st, "url", &v), 0);
	CHECK_EQ_STR(v, "http://127.0.0.1/{id}");
	free(v);
	CHECK_EQ_INT(store_field_names(st, &names, &n), 0);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_EQ_STR(names[0], "title");
		CHECK_EQ_STR(names[1], "price");
	}
	CHECK_EQ_STR(q(st, "PRAGMA application_id"), "1953658732\n");
	{
		char want[32];

		/* migrated to the newest schema */
		CHECK(trawl_migration_count >= 1);
		snprintf(want, sizeof(want), "%zu\n", trawl_migration_count);
		CHECK_EQ_STR(q(st, "PRAGMA user_version"), want);
	}
	CHECK_EQ_STR(q(st, "PRAGMA journal_mode"), "wal\n");
	CHECK_EQ_STR(q(st, "SELECT state, n FROM item_counts ORDER BY state"),
		     "done|0\nfailed|0\ninflight|0\nready|0\n");
	store_close(st);
	/* read-only open works and refuses writes */
	CHECK_EQ_INT(store_open(&st, path, STORE_READONLY), 0);
	if (st) {
		capture_begin();
		CHECK_EQ_INT(store_setting_set(st, "url", "http://x/"), TR_EDB);
		capture_end();
		CHECK(contains(errtext, "read-only"));
		store_close(st);
	}
	store_close(NULL);
}

TEST(open_failures_are_distinct)
{
	const char *missing = tpath("missing.db"), *text = tpath("text.db"), *plain = tpath("plain.db");
	const char *newer, *dir = tpath("adir");
	char msgs[5][sizeof(errtext)];
	sqlite3 *db = NULL;
	int i, j;

	/* a missing file */
	CHECK_EQ_INT(try_open(missing, STORE_READWRITE), TR_EDB);
	CHECK(contains(errtext, "no crawl at '"));
	snprintf(msgs[0], sizeof(msgs[0]), "%s", errtext);
	CHECK_EQ_STR(files_like("missing.db"), "");
	/* a text file: refused and not changed */
	write_file(text, "id\n1\n2\n");
	CHECK_EQ_INT(try_open(text, STORE_READWRITE), TR_EDB);
	CHECK(contains(errtext, "is not a crawl file (not an SQLite database)"));
	snprintf(msgs[1], sizeof(msgs[1]), "%s", errtext);
	CHECK_EQ_STR(read_file(text), "id\n1\n2\n");
	/* an SQLite database that is not a crawl: refused and not changed */
	CHECK_EQ_INT(sqlite3_open(plain, &db), SQLITE_OK);
	CHECK_EQ_INT(sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ_INT(try_open(plain, STORE_READWRITE), TR_EDB);
	CHECK(contains(errtext, "is an SQLite database but not a trawl crawl"));
	snprintf(msgs[2], sizeof(msgs[2]), "%s", errtext);
	CHECK_EQ_INT(sqlite3_open(plain, &db), SQLITE_OK);
	{
		sqlite3_stmt *s = NULL;

		sqlite3_prepare_v2(db, "SELECT (SELECT journal_mode FROM pragma_journal_mode) || (SELECT user_version FROM pragma_user_version) || (SELECT count(*) FROM sqlite_master)", -1, &s, NULL);
		CHECK_EQ_INT(sqlite3_step(s), SQLITE_ROW);
		CHECK_EQ_STR((const char *)sqlite3_column_text(s, 0), "delete01");
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	/* a crawl written by a newer trawl */
	newer = make_crawl("newer.db", 0, NULL);
	if (CHECK(newer != NULL)) {
		CHECK_EQ_INT(sqlite3_open(newer, &db), SQLITE_OK);
		CHECK_EQ_INT(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		CHECK_EQ_INT(try_open(newer, STORE_READWRITE), TR_EDB);
		CHECK(contains(errtext, "was written by a newer trawl (schema 999"));
		snprintf(msgs[3], sizeof(msgs[3]), "%s", errtext);
		CHECK_EQ_INT(try_open(newer, STORE_READONLY), TR_EDB);
	}
	/* a directory */
	mkdir(dir, 0700);
	CHECK_EQ_INT(try_open(dir, STORE_READWRITE), TR_EDB);
	CHECK(contains(errtext, "is not a regular file"));
	snprintf(msgs[4], sizeof(msgs[4]), "%s", errtext);
	rmdir(dir);
	/* each names the path, each says something different, each is one line */
	for (i = 0; i < 5; i++) {
		CHECK(strncmp(msgs[i], "trawl: ", 7) == 0);
		CHECK(strchr(msgs[i], '\n') == msgs[i] + strlen(msgs[i]) - 1);
		CHECK(strstr(msgs[i], tmpdir) != NULL);
		for (j = 0; j < i; j++)
			CHECK(strcmp(msgs[i], msgs[j]) != 0);
	}
}

/* Forges a crawl as the first schema left it, with one item; 0 on success. */
static int forge_schema_1(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA application_id = 1953658732", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, trawl_migrations[0], NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA user_version = 1; INSERT INTO items (key) VALUES ('old');"
				      "UPDATE item_counts SET n = 1 WHERE state = 'ready'", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

TEST(open_migrates_an_older_crawl)
{
	const char *rw = tpath("v1rw.db"), *ro = tpath("v1ro.db");
	struct store *st = NULL;
	char want[32];

	if (trawl_migration_count < 2) {
		fprintf(stderr, "  (one migration only: nothing to migrate)\n");
		return;
	}
	snprintf(want, sizeof(want), "%zu\n", trawl_migration_count);
	CHECK_EQ_INT(forge_schema_1(rw), SQLITE_OK);
	CHECK_EQ_INT(store_open(&st, rw, STORE_READWRITE), 0);
	if (st) {
		CHECK_EQ_STR(q(st, "PRAGMA user_version"), want);
		CHECK_EQ_STR(q(st, "SELECT key, state FROM items"), "old|ready\n");
		CHECK_EQ_INT(counts(st, 0).n[ST_READY], 1);
		store_close(st);
	}
	/* a reader (status, export) of an older crawl gets it upgraded too */
	CHECK_EQ_INT(forge_schema_1(ro), SQLITE_OK);
	CHECK_EQ_INT(store_open(&st, ro, STORE_READONLY), 0);
	if (st) {
		CHECK_EQ_STR(q(st, "PRAGMA user_version"), want);
		CHECK_EQ_STR(q(st, "SELECT key FROM items"), "old\n");
		store_close(st);
	}
}

TEST(open_crawl_from_before_the_insert_trigger_was_dropped)
{
	/* Crawls made before the counting of inserts moved from a trigger into
	 * store_commit (schema 1 as first released) still have the trigger:
	 * opening one must not count every added item twice. */
	static const char *const keys[] = { "a", "b" };
	const char *path = tpath("v1trigger.db");
	struct store *st = NULL;
	sqlite3 *db = NULL;

	CHECK_EQ_INT(forge_schema_1(path), SQLITE_OK);
	CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ_INT(sqlite3_exec(db, "CREATE TRIGGER items_count_insert AFTER INSERT ON items BEGIN "
				      "UPDATE item_counts SET n = n + 1 WHERE state = new.state; END;",
				  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ_INT(store_open(&st, path, STORE_READWRITE), 0);
	if (!st)
		return;
	CHECK_EQ_INT(add_keys(st, keys, 2), 2);
	CHECK_EQ_INT(counts(st, 0).n[ST_READY], 3);
	CHECK_EQ_INT(counts(st, 0).total, 3);
	store_close(st);
}

TEST(create_refuses_existing_file)
{
	static const char *const names[] = { "url" };
	static const char *const values[] = { "http://x/{id}" };
	const char *path = tpath("exists.db");
	int rc;

	write_file(path, "precious");
	capture_begin();
	rc = store_create(path, 1, names, values, 0, NULL);
	capture_end();
	CHECK_EQ_INT(rc, TR_EUSAGE);
	CHECK(contains(errtext, "already exists"));
	CHECK_EQ_STR(read_file(path), "precious");
	CHECK_EQ_STR(files_like("exists.db"), "exists.db");
	/* an existing crawl is not touched either */
	path = make_crawl("twice.db", 0, NULL);
	if (CHECK(path != NULL)) {
		capture_begin();
		rc = store_create(path, 1, names, values, 0, NULL);
		capture_end();
		CHECK_EQ_INT(rc, TR_EUSAGE);
		CHECK_EQ_STR(files_like("twice.db"), "twice.db");
	}
}

TEST(create_failure_leaves_nothing)
{
	static const char *const names[] = { "url" };
	static const char *const values[] = { "http://x/{id}" };
	static const char *const bad_field[] = { "ok", "not ok" };
	static const char *const dup_field[] = { "a", "a" };
	int rc;

	capture_begin();
	rc = store_create(tpath("badfield.db"), 1, names, values, 2, bad_field);
	capture_end();
	CHECK_EQ_INT(rc, TR_EUSAGE);
	CHECK_EQ_STR(files_like("badfield.db"), "");
	capture_begin();
	rc = store_create(tpath("dupfield.db"), 1, names, values, 2, dup_field);
	capture_end();
	CHECK(rc < 0);
	CHECK_EQ_STR(files_like("dupfield.db"), "");
	/* the message names the crawl the user asked for, not a temporary file */
	CHECK(contains(errtext, "dupfield.db"));
	if (!CHECK(strstr(errtext, ".init-") == NULL))
		fprintf(stderr, "  %s", errtext);
	capture_begin();
	rc = store_create(tpath("nodir/x.db"), 1, names, values, 0, NULL);
	capture_end();
	CHECK_EQ_INT(rc, TR_EDB);
	CHECK_EQ_STR(files_like("nodir"), "");
	/* reported once: one line */
	if (!CHECK(strchr(errtext, '\n') == errtext + strlen(errtext) - 1))
		fprintf(stderr, "  %s", errtext);
}

/* ---- settings --------------------------------------------------------------- */

struct seen {
	char text[1024];
	int stop_after;
	int calls;
};

static int on_setting(void *ctx, const char *name, const char *value)
{
	struct seen *s = ctx;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s=%s;", name, value);
	return ++s->calls == s->stop_after ? -42 : 0;
}

TEST(settings)
{
	struct store *st = fresh(0, NULL);
	struct seen seen;
	char *v = (char *)1;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(store_setting_get(st, "nope", &v), 0);
	CHECK(v == NULL);
	CHECK_EQ_INT(store_setting_set(st, "rate", "5/s"), 0);
	CHECK_EQ_INT(store_setting_set(st, "key", "isbn"), 0);
	CHECK_EQ_INT(store_setting_get(st, "key", &v), 0);
	CHECK_EQ_STR(v, "isbn");
	free(v);
	CHECK_EQ_INT(store_setting_set(st, "headers", "A: 1\nB: 'x'"), 0);
	CHECK_EQ_INT(store_setting_get(st, "headers", &v), 0);
	CHECK_EQ_STR(v, "A: 1\nB: 'x'");
	free(v);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ_INT(store_settings_each(st, on_setting, &seen), 0);
	CHECK_EQ_STR(seen.text, "headers=A: 1\nB: 'x';key=isbn;rate=5/s;url=http://127.0.0.1/{id};");
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	CHECK_EQ_INT(store_settings_each(st, on_setting, &seen), -42);
	CHECK_EQ_INT(seen.calls, 2);
	/* the statement was reset: a new walk starts from the top */
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ_INT(store_settings_each(st, on_setting, &seen), 0);
	CHECK_EQ_INT(seen.calls, 4);
	store_close(st);
}

/* ---- items and counts -------------------------------------------------------- */

TEST(add_items_and_counts)
{
	struct store *st = fresh(0, NULL);
	struct store_counts c;
	int added = -1;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(store_begin(st), 0);
	CHECK_EQ_INT(store_add_item(st, "a", 1, "{\"x\":\"1\"}", 9, &added), 0);
	CHECK_EQ_INT(added, 1);
	CHECK_EQ_INT(store_add_item(st, "b", 1, NULL, 0, &added), 0);
	CHECK_EQ_INT(added, 1);
	CHECK_EQ_INT(store_add_item(st, "a", 1, "{\"x\":\"2\"}", 9, &added), 0);
	CHECK_EQ_INT(added, 0);
	/* keylen is honoured */
	CHECK_EQ_INT(store_add_item(st, "cdef", 1, NULL, 0, &added), 0);
	CHECK_EQ_INT(added, 1);
	CHECK_EQ_INT(store_commit(st), 0);
	c = counts(st, 0);
	CHECK_EQ_INT(c.n[ST_READY], 3);
	CHECK_EQ_INT(c.n[ST_INFLIGHT], 0);
	CHECK_EQ_INT(c.n[ST_DONE], 0);
	CHECK_EQ_INT(c.n[ST_FAILED], 0);
	CHECK_EQ_INT(c.total, 3);
	CHECK_EQ_INT(c.retry_waiting, 0);
	CHECK_EQ_INT(c.next_due_at, 0);
	CHECK_EQ_STR(q(st, "SELECT key, coalesce(vars, 'NULL'), state, attempts, next_attempt_at FROM items ORDER BY id"),
		     "a|{\"x\":\"1\"}|ready|0|0\nb|NULL|ready|0|0\nc|NULL|ready|0|0\n");
	/* a rolled-back transaction adds nothing, counts included */
	CHECK_EQ_INT(store_begin(st), 0);
	CHECK_EQ_INT(store_add_item(st, "z", 1, NULL, 0, &added), 0);
	store_rollback(st);
	store_rollback(st);
	CHECK_EQ_INT(counts(st, 0).total, 3);
	CHECK_EQ_STR(q(st, "SELECT count(*) FROM items WHERE key = 'z'"), "0\n");
	/* waiting retries: ready items due after now */
	q(st, "UPDATE items SET next_attempt_at = 5000 WHERE key = 'b'");
	q(st, "UPDATE items SET next_attempt_at = 3000 WHERE key = 'c'");
	c = counts(st, 1000);
	CHECK_EQ_INT(c.retry_waiting, 2);
	CHECK_EQ_INT(c.next_due_at, 3000);
	c = counts(st, 4000);
	CHECK_EQ_INT(c.retry_waiting, 1);
	CHECK_EQ_INT(c.next_due_at, 5000);
	check_counts_match_table(st);
	store_close(st);
}

/* The batched path: rows cross several INSERTs, duplicates within one and
 * across them, NULL and non-NULL vars, a commit that flushes the tail, a
 * rollback that drops the queue. */
TEST(add_queue_batches)
{
	struct store *st = fresh(0, NULL);
	int64_t added = -1;
	char key[32], vars[64], want[64];
	int i, n;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(store_begin(st), 0);
	for (i = 0; i < 2500; i++) {
		/* keys 0..1999, then 500 repeats of keys already queued or inserted */
		n = snprintf(key, sizeof(key), "k%d", i < 2000 ? i : i - 2000 + 1500);
		if (i % 3)
			CHECK_EQ_INT(store_add_queue(st, key, (size_t)n, NULL, 0), 0);
		else
			CHECK_EQ_INT(store_add_queue(st, key, (size_t)n, vars,
						     (size_t)snprintf(vars, sizeof(vars), "{\"i\":\"%d\"}", i)), 0);
	}
	CHECK_EQ_INT(store_add_flush(st, &added), 0);
	CHECK_EQ_INT(added, 2000);
	/* a second flush reports only what came after the first */
	CHECK_EQ_INT(store_add_queue(st, "k1", 2, NULL, 0), 0);
	CHECK_EQ_INT(store_add_queue(st, "new", 3, NULL, 0), 0);
	CHECK_EQ_INT(store_add_queue(st, "new", 3, NULL, 0), 0);
	CHECK_EQ_INT(store_add_flush(st, &added), 0);
	CHECK_EQ_INT(added, 1);
	/* queued but not flushed: the commit writes it */
	CHECK_EQ_INT(store_add_queue(st, "tail", 4, "{}", 2), 0);
	CHECK_EQ_INT(store_commit(st), 0);
	CHECK_EQ_INT(counts(st, 0).n[ST_READY], 2002);
	CHECK_EQ_STR(q(st, "SELECT count(*), count(DISTINCT key), count(vars) FROM items"), "2002|2002|668\n");
	/* the first of a duplicate wins, vars and order included */
	snprintf(want, sizeof(want), "k1500|%s\n", 1500 % 3 ? "NULL" : "{\"i\":\"1500\"}");
	CHECK_EQ_STR(q(st, "SELECT key, coalesce(vars, 'NULL') FROM items WHERE key = 'k1500'"), want);
	CHECK_EQ_STR(q(st, "SELECT group_concat(key) FROM (SELECT key FROM items ORDER BY id LIMIT 3)"), "k0,k1,k2\n");
	/* a batch of one row that is a duplicate: still skipped, not an error */
	CHECK_EQ_INT(store_begin(st), 0);
	for (i = 0; i < 1025; i++) {
		n = snprintf(key, sizeof(key), "u%d", i < 1024 ? i : 7);
		CHECK_EQ_INT(store_add_queue(st, key, (size_t)n, NULL, 0), 0);
	}
	CHECK_EQ_INT(store_add_flush(st, &added), 0);
	CHECK_EQ_INT(added, 1024);
	CHECK_EQ_INT(store_commit(st), 0);
	q(st, "DELETE FROM items WHERE key LIKE 'u%'");
	/* a rollback drops what was queued */
	CHECK_EQ_INT(store_begin(st), 0);
	CHECK_EQ_INT(store_add_queue(st, "gone", 4, NULL, 0), 0);
	store_rollback(st);
	CHECK_EQ_INT(store_begin(st), 0);
	CHECK_EQ_INT(store_commit(st), 0);
	CHECK_EQ_STR(q(st, "SELECT count(*) FROM items WHERE key = 'gone'"), "0\n");
	CHECK_EQ_INT(counts(st, 0).total, 2002);
	store_close(st);
}

TEST(item_state_names)
{
	enum item_state s = ST__COUNT;

	CHECK_EQ_STR(item_state_name(ST_READY), "ready");
	CHECK_EQ_STR(item_state_name(ST_INFLIGHT), "inflight");
	CHECK_EQ_STR(item_state_name(ST_DONE), "done");
	CHECK_EQ_STR(item_state_name(ST_FAILED), "failed");
	CHECK_EQ_STR(item_state_name(ST__COUNT), "?");
	CHECK_EQ_INT(item_state_parse("failed", &s), 0);
	CHECK_EQ_INT(s, ST_FAILED);
	CHECK_EQ_INT(item_state_parse("Failed", &s), -1);
	CHECK_EQ_INT(item_state_parse("", &s), -1);
}

/* ---- claim ------------------------------------------------------------------------ */

static const char *claimed_keys(struct claimed_item *it, int n)
{
	static char out[512];
	int i;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t len = strlen(out);

		snprintf(out + len, sizeof(out) - len, "%s%s", i ? "," : "", it[i].key);
	}
	return out;
}

TEST(claim_due_order)
{
	static const char *const keys[] = { "k1", "k2", "k3", "k4", "k5" };
	struct store *st = fresh(0, NULL);
	struct claimed_item it[10];
	struct store_counts c;
	int n = -1, i;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(add_keys(st, keys, 5), 5);
	q(st, "UPDATE items SET next_attempt_at = 300 WHERE key = 'k1'");
	q(st, "UPDATE items SET next_attempt_at = 100 WHERE key = 'k2'");
	q(st, "UPDATE items SET next_attempt_at = 200 WHERE key = 'k3'");
	q(st, "UPDATE items SET next_attempt_at = 5000 WHERE key = 'k4'");
	q(st, "UPDATE items SET next_attempt_at = 0 WHERE key = 'k5'");
	memset(it, 0, sizeof(it));
	CHECK_EQ_INT(store_claim(st, 1000, 10, it, &n), 0);
	CHECK_EQ_INT(n, 4);
	/* due order: the item waiting longest first */
	CHECK_EQ_STR(claimed_keys(it, n), "k5,k2,k3,k1");
	for (i = 0; i < n; i++)
		claimed_item_release(&it[i]);
	c = counts(st, 1000);
	CHECK_EQ_INT(c.n[ST_READY], 1);
	CHECK_EQ_INT(c.n[ST_INFLIGHT], 4);
	CHECK_EQ_INT(c.retry_waiting, 1);
	CHECK_EQ_INT(c.next_due_at, 5000);
	CHECK_EQ_STR(q(st, "SELECT key FROM items WHERE state = 'inflight' ORDER BY key"), "k1\nk2\nk3\nk5\n");
	/* nothing else is due */
	CHECK_EQ_INT(store_claim(st, 1000, 10, it, &n), 0);
	CHECK_EQ_INT(n, 0);
	/* later it is */
	CHECK_EQ_INT(store_claim(st, 5000, 10, it, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(claimed_keys(it, n), "k4");
	claimed_item_release(&it[0]);
	check_counts_match_table(st);
	store_close(st);
}

TEST(claim_limit_and_fields)
{
	static const char *const keys[] = { "a", "b", "c", "d", "e" };
	struct store *st = fresh(0, NULL);
	struct claimed_item it[8];
	int n = -1, added;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(add_keys(st, keys, 5), 5);
	store_begin(st);
	store_add_item(st, "v", 1, "{\"lang\":\"en\"}", 13, &added);
	store_commit(st);
	q(st, "UPDATE items SET attempts = 3 WHERE key = 'c'");
	memset(it, 0, sizeof(it));
	CHECK_EQ_INT(store_claim(st, 10, 2, it, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(counts(st, 10).n[ST_INFLIGHT], 2);
	claimed_item_release(&it[0]);
	claimed_item_release(&it[1]);
	CHECK(it[0].key == NULL);
	CHECK_EQ_INT(store_claim(st, 10, 8, it, &n), 0);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_INT(counts(st, 10).n[ST_INFLIGHT], 6);
	CHECK_EQ_INT(counts(st, 10).n[ST_READY], 0);
	{
		int i, seen_c = 0, seen_v = 0;

		for (i = 0; i < n; i++) {
			if (!strcmp(it[i].key, "c")) {
				seen_c = 1;
				CHECK_EQ_INT(it[i].attempts, 3);
				CHECK(it[i].vars == NULL);
			}
			if (!strcmp(it[i].key, "v")) {
				seen_v = 1;
				CHECK_EQ_INT(it[i].attempts, 0);
				CHECK_EQ_STR(it[i].vars, "{\"lang\":\"en\"}");
				CHECK_EQ_INT(it[i].id, 6);
			}
			claimed_item_release(&it[i]);
		}
		CHECK(seen_c && seen_v);
	}
	CHECK_EQ_INT(store_claim(st, 10, 8, it, &n), 0);
	CHECK_EQ_INT(n, 0);
	claimed_item_release(NULL);
	store_close(st);
}

/* ---- updates ---------------------------------------------------------------------------- */

/* Claims every due item (at now); returns how many. */
static int claim_all(struct store *st, int64_t now)
{
	struct claimed_item it[64];
	int n = 0, i;

	if (store_claim(st, now, 64, it, &n))
		return -1;
	for (i = 0; i < n; i++)
		claimed_item_release(&it[i]);
	return n;
}

static struct item_update upd(int64_t id, enum item_state state, int http_status, const char *error)
{
	struct item_update u;

	memset(&u, 0, sizeof(u));
	u.item_id = id;
	u.state = state;
	u.counts_attempt = 1;
	u.http_status = http_status;
	u.error = error;
	u.run_id = 0;
	u.started_at = 1000;
	u.elapsed_ms = 25;
	u.bytes = 7;
	u.retry_after_ms = -1;
	return u;
}

TEST(update_done_with_typed_fields)
{
	static const char *const fields[] = { "n_int", "n_real", "n_text", "n_null" };
	static const char *const keys[] = { "a", "b" };
	struct store *st = fresh(4, fields);
	struct item_update u;
	struct value v[4];
	int64_t run = 0;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(add_keys(st, keys, 2), 2);
	CHECK_EQ_INT(store_use_fields(st, 4, fields), 0);
	CHECK_EQ_INT(store_run_begin(st, 500, &run), 0);
	CHECK_EQ_INT(claim_all(st, 1000), 2);
	memset(v, 0, sizeof(v));
	v[0].type = VAL_INT;
	v[0].i = INT64_C(-9007199254740993);
	v[1].type = VAL_REAL;
	v[1].d = 2.5;
	v[2].type = VAL_TEXT;
	v[2].s = "h\xc3\xa9 \"q\"";
	v[2].len = strlen(v[2].s);
	v[3].type = VAL_NULL;
	u = upd(1, ST_DONE, 200, NULL);
	u.run_id = run;
	u.url = "http://127.0.0.1/a";
	u.body = "{\"a\":1}";
	u.body_len = 7;
	u.fields = v;
	u.nfields = 4;
	CHECK_EQ_INT(store_begin(st), 0);
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	CHECK_EQ_INT(store_commit(st), 0);
	CHECK_EQ_STR(q(st, "SELECT typeof(n_int), n_int, typeof(n_real), n_real, typeof(n_text), n_text, "
			   "typeof(n_null), http_status, url, body, elapsed_ms, bytes FROM results"),
		     "integer|-9007199254740993|real|2.5|text|h\xc3\xa9 \"q\"|null|200|http://127.0.0.1/a|{\"a\":1}|25|7\n");
	CHECK_EQ_STR(q(st, "SELECT state, attempts, last_http_status, coalesce(last_error, 'NULL') FROM items WHERE id = 1"),
		     "done|1|200|NULL\n");
	CHECK_EQ_STR(q(st, "SELECT item_id, run_id, started_at, http_status, coalesce(error, 'NULL'), elapsed_ms, "
			   "bytes, coalesce(retry_after_ms, 'NULL'), outcome FROM attempts"),
		     "1|1|1000|200|NULL|25|7|NULL|done\n");
	/* fetched_at is the wall clock of the update */
	CHECK_EQ_STR(q(st, "SELECT fetched_at > 1577836800000 FROM results"), "1\n");
	/* a result without a kept body: NULL body, fewer values than fields: NULL */
	u = upd(2, ST_DONE, 204, NULL);
	u.url = "http://127.0.0.1/b";
	u.fields = v;
	u.nfields = 1;
	CHECK_EQ_INT(store_begin(st), 0);
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	CHECK_EQ_INT(store_commit(st), 0);
	CHECK_EQ_STR(q(st, "SELECT coalesce(body, 'NULL'), n_int, coalesce(n_real, 'NULL'), "
			   "coalesce(run_id, 'NULL') FROM results r JOIN attempts a USING (item_id) WHERE item_id = 2"),
		     "NULL|-9007199254740993|NULL|NULL\n");
	CHECK_EQ_INT(counts(st, 0).n[ST_DONE], 2);
	check_counts_match_table(st);
	store_close(st);
}

TEST(update_retry_failed_release)
{
	static const char *const keys[] = { "r", "f", "x" };
	struct store *st = fresh(0, NULL);
	struct item_update u;
	struct store_counts c;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(add_keys(st, keys, 3), 3);
	CHECK_EQ_INT(claim_all(st, 1000), 3);
	CHECK_EQ_INT(store_begin(st), 0);
	/* retry */
	u = upd(1, ST_READY, 503, "http 503");
	u.next_attempt_at = 99999;
	u.retry_after_ms = 2000;
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	/* failed */
	u = upd(2, ST_FAILED, 404, "http 404");
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	/* release at shutdown: no attempt */
	u = upd(3, ST_READY, 0, NULL);
	u.counts_attempt = 0;
	u.next_attempt_at = 5;
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	CHECK_EQ_INT(store_commit(st), 0);
	CHECK_EQ_STR(q(st, "SELECT key, state, attempts, next_attempt_at, coalesce(last_http_status, 'NULL'), "
			   "coalesce(last_error, 'NULL') FROM items ORDER BY id"),
		     "r|ready|1|99999|503|http 503\n"
		     "f|failed|1|0|404|http 404\n"
		     "x|ready|0|5|NULL|NULL\n");
	CHECK_EQ_STR(q(st, "SELECT item_id, http_status, error, coalesce(retry_after_ms, 'NULL'), outcome FROM attempts ORDER BY id"),
		     "1|503|http 503|2000|retry\n2|404|http 404|NULL|failed\n");
	CHECK_EQ_STR(q(st, "SELECT count(*) FROM results"), "0\n");
	c = counts(st, 1000);
	CHECK_EQ_INT(c.n[ST_READY], 2);
	CHECK_EQ_INT(c.n[ST_INFLIGHT], 0);
	CHECK_EQ_INT(c.n[ST_FAILED], 1);
	CHECK_EQ_INT(c.retry_waiting, 1);
	CHECK_EQ_INT(c.next_due_at, 99999);
	/* a retry with no HTTP answer keeps the last status, takes the new error */
	CHECK_EQ_INT(claim_all(st, 100000), 2);
	store_begin(st);
	u = upd(1, ST_READY, 0, "timeout");
	u.next_attempt_at = 200000;
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	/* a release never moves an item's due time earlier */
	u = upd(3, ST_READY, 0, NULL);
	u.counts_attempt = 0;
	u.next_attempt_at = 1;
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	store_commit(st);
	CHECK_EQ_STR(q(st, "SELECT key, attempts, next_attempt_at, last_http_status, last_error FROM items WHERE key IN ('r', 'x') ORDER BY id"),
		     "r|2|200000|503|timeout\nx|0|5|NULL|NULL\n");
	CHECK_EQ_STR(q(st, "SELECT coalesce(http_status, 'NULL'), outcome FROM attempts WHERE id = 3"), "NULL|retry\n");
	check_counts_match_table(st);
	store_close(st);
}

TEST(update_done_twice_keeps_one_result)
{
	static const char *const fields[] = { "t" };
	static const char *const keys[] = { "a" };
	struct store *st = fresh(1, fields);
	struct item_update u;
	struct value v;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(add_keys(st, keys, 1), 1);
	CHECK_EQ_INT(store_use_fields(st, 1, fields), 0);
	memset(&v, 0, sizeof(v));
	v.type = VAL_TEXT;
	v.s = "first";
	v.len = 5;
	claim_all(st, 1000);
	u = upd(1, ST_DONE, 200, NULL);
	u.url = "u1";
	u.fields = &v;
	u.nfields = 1;
	store_begin(st);
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	store_commit(st);
	v.s = "second";
	v.len = 6;
	u.http_status = 201;
	u.url = "u2";
	store_begin(st);
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	store_commit(st);
	CHECK_EQ_STR(q(st, "SELECT item_id, http_status, url, t FROM results"), "1|201|u2|second\n");
	CHECK_EQ_STR(q(st, "SELECT state, attempts, last_http_status FROM items"), "done|2|201\n");
	CHECK_EQ_INT(counts(st, 0).n[ST_DONE], 1);
	CHECK_EQ_INT(counts(st, 0).total, 1);
	store_close(st);
}

/* ---- recovery ----------------------------------------------------------------------------- */

TEST(recover_inflight_and_crashes)
{
	static const char *const keys[] = { "a", "b", "c" };
	struct store *st = fresh(0, NULL);
	int64_t n = -1;
	int round;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(add_keys(st, keys, 3), 3);
	CHECK_EQ_INT(claim_all(st, 1000), 3);
	CHECK_EQ_INT(store_recover(st, 2000, 0, 3, &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_STR(q(st, "SELECT state, attempts, crashes, updated_at FROM items ORDER BY id"),
		     "ready|0|0|2000\nready|0|0|2000\nready|0|0|2000\n");
	/* item 2 crashes the process three times: it fails on the third */
	for (round = 1; round <= 3; round++) {
		CHECK_EQ_INT(claim_all(st, 3000), 3);
		CHECK_EQ_INT(store_recover(st, 4000, 2, 3, &n), 0);
		CHECK_EQ_INT(n, round < 3 ? 3 : 2);
	}
	CHECK_EQ_STR(q(st, "SELECT key, state, crashes, coalesce(last_error, 'NULL') FROM items ORDER BY id"),
		     "a|ready|0|NULL\nb|failed|3|the process crashed on this item 3 times\nc|ready|0|NULL\n");
	CHECK_EQ_INT(counts(st, 0).n[ST_FAILED], 1);
	CHECK_EQ_INT(counts(st, 0).n[ST_READY], 2);
	/* nothing in flight: nothing to recover */
	CHECK_EQ_INT(store_recover(st, 5000, 0, 3, &n), 0);
	CHECK_EQ_INT(n, 0);
	check_counts_match_table(st);
	store_close(st);
}

/* ---- field columns -------------------------------------------------------------------------- */

TEST(use_fields_adds_columns)
{
	static const char *const first[] = { "a" };
	static const char *const later[] = { "b", "a" };
	static const char *const keys[] = { "k" };
	const char *const *names;
	const char *path;
	struct store *st = NULL;
	struct item_update u;
	struct value v[2];
	size_t n = 0;

	path = make_crawl("fields.db", 1, first);
	if (!CHECK(path != NULL) || !CHECK_EQ_INT(store_open(&st, path, STORE_READWRITE), 0))
		return;
	CHECK_EQ_INT(add_keys(st, keys, 1), 1);
	CHECK_EQ_INT(store_use_fields(st, 2, later), 0);
	store_field_names(st, &names, &n);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_EQ_STR(names[0], "a");
		CHECK_EQ_STR(names[1], "b");
	}
	CHECK_EQ_STR(q(st, "SELECT group_concat(name) FROM pragma_table_info('results') WHERE cid >= 7"), "a,b\n");
	/* values follow the declared order (b, a), not the table's */
	memset(v, 0, sizeof(v));
	v[0].type = VAL_INT;
	v[0].i = 1;
	v[1].type = VAL_INT;
	v[1].i = 2;
	claim_all(st, 1000);
	u = upd(1, ST_DONE, 200, NULL);
	u.fields = v;
	u.nfields = 2;
	store_begin(st);
	CHECK_EQ_INT(store_update_item(st, &u), 0);
	store_commit(st);
	CHECK_EQ_STR(q(st, "SELECT a, b FROM results"), "2|1\n");
	store_close(st);
	/* the new column is there on reopening */
	CHECK_EQ_INT(store_open(&st, path, STORE_READWRITE), 0);
	if (st) {
		store_field_names(st, &names, &n);
		CHECK_EQ_INT(n, 2);
		/* using the same fields again adds nothing */
		CHECK_EQ_INT(store_use_fields(st, 2, later), 0);
		CHECK_EQ_STR(q(st, "SELECT count(*) FROM pragma_table_info('results')"), "9\n");
		store_close(st);
	}
}

TEST(use_fields_same_name_other_case)
{
	/* SQLite column names ignore case, and config refuses "a" and "A" as the
	 * same field: a field renamed from "title" to "Title" must reuse its column. */
	static const char *const first[] = { "title" };
	static const char *const renamed[] = { "Title" };
	struct store *st = fresh(1, first);
	int rc;

	if (!CHECK(st != NULL))
		return;
	capture_begin();
	rc = store_use_fields(st, 1, renamed);
	capture_end();
	if (!CHECK_EQ_INT(rc, 0))
		fprintf(stderr, "  %s", errtext);
	store_close(st);
}

/* ---- export ------------------------------------------------------------------------------------ */

/* A crawl with fields title, price: k1 done, k2 failed, k3 ready. */
static struct store *export_fixture(void)
{
	static const char *const fields[] = { "title", "price" };
	static const char *const keys[] = { "k1", "k2", "k3" };
	struct store *st = fresh(2, fields);
	struct item_update u;
	struct value v[2];

	if (!st)
		return NULL;
	add_keys(st, keys, 3);
	store_use_fields(st, 2, fields);
	claim_all(st, 1000);
	memset(v, 0, sizeof(v));
	v[0].type = VAL_TEXT;
	v[0].s = "T1";
	v[0].len = 2;
	v[1].type = VAL_REAL;
	v[1].d = 9.5;
	store_begin(st);
	u = upd(1, ST_DONE, 200, NULL);
	u.url = "http://127.0.0.1/k1";
	u.body = "{}";
	u.body_len = 2;
	u.fields = v;
	u.nfields = 2;
	store_update_item(st, &u);
	u = upd(2, ST_FAILED, 404, "http 404");
	store_update_item(st, &u);
	u = upd(3, ST_READY, 0, NULL);
	u.counts_attempt = 0;
	store_update_item(st, &u);
	store_commit(st);
	return st;
}

static int export_rows(struct store *st, const char *const *cols, size_t ncols, int states, struct rows *r)
{
	struct export_query eq;
	int rc;

	memset(&eq, 0, sizeof(eq));
	eq.columns = cols;
	eq.ncolumns = ncols;
	eq.states = states;
	rows_init(r);
	capture_begin();
	rc = store_export(st, &eq, collect, r);
	capture_end();
	return rc;
}

TEST(export_default_columns)
{
	struct store *st = export_fixture();
	struct rows r;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(export_rows(st, NULL, 0, 0, &r), 0);
	CHECK_EQ_STR(r.names, "key,title,price,state,http_status,last_error");
	CHECK_EQ_STR(r.text.p, "k1|T1|9.5|done|200|NULL\n");
	CHECK_EQ_INT(r.calls, 2);
	CHECK_EQ_INT(r.null_calls, 1);
	buf_release(&r.text);
	store_close(st);
}

TEST(export_chosen_columns_and_states)
{
	static const char *const cols[] = { "id", "key", "attempts", "last_error", "url", "body", "price", "vars" };
	static const char *const bad[] = { "key", "nope" };
	static const char *const injected[] = { "key FROM items; --" };
	struct store *st = export_fixture();
	struct rows r;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(export_rows(st, cols, 8, (1 << ST_DONE) | (1 << ST_FAILED) | (1 << ST_READY), &r), 0);
	CHECK_EQ_STR(r.names, "id,key,attempts,last_error,url,body,price,vars");
	CHECK_EQ_STR(r.text.p, "1|k1|1|NULL|http://127.0.0.1/k1|{}|9.5|NULL\n"
			       "2|k2|1|http 404|NULL|NULL|NULL|NULL\n"
			       "3|k3|0|NULL|NULL|NULL|NULL|NULL\n");
	buf_release(&r.text);
	CHECK_EQ_INT(export_rows(st, cols + 1, 1, 1 << ST_FAILED, &r), 0);
	CHECK_EQ_STR(r.text.p, "k2\n");
	buf_release(&r.text);
	/* unknown column: usage error, nothing streamed */
	CHECK_EQ_INT(export_rows(st, bad, 2, 0, &r), TR_EUSAGE);
	CHECK(contains(errtext, "unknown column 'nope'"));
	CHECK_EQ_INT(r.calls, 0);
	buf_release(&r.text);
	CHECK_EQ_INT(export_rows(st, injected, 1, 0, &r), TR_EUSAGE);
	CHECK_EQ_INT(r.calls, 0);
	buf_release(&r.text);
	store_close(st);
}

TEST(export_no_rows_still_names_columns)
{
	static const char *const cols[] = { "key", "state" };
	struct store *st = export_fixture();
	struct rows r;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(export_rows(st, cols, 2, 1 << ST_INFLIGHT, &r), 0);
	CHECK_EQ_INT(r.calls, 1);
	CHECK_EQ_INT(r.null_calls, 1);
	CHECK_EQ_STR(r.names, "key,state");
	CHECK(r.text.p == NULL);
	buf_release(&r.text);
	store_close(st);
}

static int stop_at_first(void *ctx, size_t ncols, const char *const *names, const struct value *row)
{
	int *calls = ctx;

	(void)ncols;
	(void)names;
	(void)row;
	++*calls;
	return TR_EIO;
}

TEST(export_callback_error_stops)
{
	struct store *st = export_fixture();
	struct export_query eq;
	int calls = 0;

	if (!CHECK(st != NULL))
		return;
	memset(&eq, 0, sizeof(eq));
	eq.states = (1 << ST_DONE) | (1 << ST_FAILED);
	CHECK_EQ_INT(store_export(st, &eq, stop_at_first, &calls), TR_EIO);
	CHECK_EQ_INT(calls, 1);
	store_close(st);
}

/* ---- user SQL ------------------------------------------------------------------------------------ */

TEST(query_checks)
{
	struct store *st = fresh(0, NULL);
	struct rows r;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_STR(q(st, "SELECT 1; SELECT 2"), "(error -2)");
	CHECK(contains(errtext, "one SQL statement at a time"));
	CHECK_EQ_STR(q(st, "SELEC 1"), "(error -2)");
	CHECK(contains(errtext, "bad SQL"));
	CHECK_EQ_STR(q(st, "SELECT nope FROM items"), "(error -2)");
	CHECK_EQ_STR(q(st, ""), "(error -2)");
	CHECK_EQ_STR(q(st, "  ;"), "(error -2)");
	/* trailing separators are fine */
	CHECK_EQ_STR(q(st, "SELECT 1;  \n"), "1\n");
	CHECK_EQ_STR(q(st, "SELECT 1;;\t"), "1\n");
	CHECK_EQ_STR(q(st, "SELECT 1 -- why"), "1\n");
	/* so is a trailing comment: it is not a second statement */
	CHECK_EQ_STR(q(st, "SELECT 1; -- why"), "1\n");
	CHECK_EQ_STR(q(st, "SELECT 1; /* why */"), "1\n");
	/* types come through as they are */
	rows_init(&r);
	CHECK_EQ_INT(store_query(st, "SELECT 7 AS i, 0.5 AS r, 'x' AS t, NULL AS n, x'00ff' AS b", collect, &r), 0);
	CHECK_EQ_STR(r.names, "i,r,t,n,b");
	CHECK_EQ_STR(r.text.p, "7|0.5|x|NULL|blob:2\n");
	CHECK_EQ_INT(r.null_calls, 1);
	buf_release(&r.text);
	/* no rows: one call with the names */
	rows_init(&r);
	CHECK_EQ_INT(store_query(st, "SELECT key, state FROM items", collect, &r), 0);
	CHECK_EQ_INT(r.calls, 1);
	CHECK_EQ_STR(r.names, "key,state");
	buf_release(&r.text);
	store_close(st);
}

TEST(query_readonly_store_cannot_write)
{
	static const char *const keys[] = { "a" };
	const char *path = make_crawl("ro.db", 0, NULL);
	struct store *st = NULL;

	if (!CHECK(path != NULL) || !CHECK_EQ_INT(store_open(&st, path, STORE_READWRITE), 0))
		return;
	add_keys(st, keys, 1);
	store_close(st);
	CHECK_EQ_INT(store_open(&st, path, STORE_READONLY), 0);
	if (st) {
		CHECK_EQ_STR(q(st, "DELETE FROM items"), "(error -3)");
		CHECK_EQ_STR(q(st, "SELECT count(*) FROM items"), "1\n");
		store_close(st);
	}
}

/* ---- runner lock, hosts, runs ---------------------------------------------------------------------- */

TEST(runner_lock)
{
	const char *path = make_crawl("lock.db", 0, NULL);
	struct store *a = NULL, *b = NULL, *c = NULL;
	int64_t run = 0;
	char want[128];
	int rc;

	if (!CHECK(path != NULL))
		return;
	CHECK_EQ_INT(store_open(&a, path, STORE_READWRITE), 0);
	CHECK_EQ_INT(store_open(&b, path, STORE_READWRITE), 0);
	if (!a || !b)
		return;
	CHECK_EQ_INT(store_lock_runner(a), 0);
	capture_begin();
	rc = store_lock_runner(b);
	capture_end();
	CHECK_EQ_INT(rc, TR_EBUSY);
	CHECK(contains(errtext, "is being crawled by another trawl run"));
	/* with a run recorded, the message names its pid */
	CHECK_EQ_INT(store_run_begin(a, 1000, &run), 0);
	CHECK_EQ_INT(store_open(&c, path, STORE_READWRITE), 0);
	capture_begin();
	rc = store_lock_runner(c);
	capture_end();
	CHECK_EQ_INT(rc, TR_EBUSY);
	snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
	CHECK(contains(errtext, want));
	store_close(c);
	store_close(b);
	/* released on close */
	store_close(a);
	CHECK_EQ_INT(store_open(&c, path, STORE_READWRITE), 0);
	if (c) {
		CHECK_EQ_INT(store_lock_runner(c), 0);
		store_close(c);
	}
}

struct host_seen {
	struct host_state h[4];
	int n;
};

static int on_host(void *ctx, const struct host_state *h)
{
	struct host_seen *s = ctx;

	if (s->n < 4)
		s->h[s->n] = *h;
	s->n++;
	return 0;
}

static int host_stop(void *ctx, const struct host_state *h)
{
	(void)h;
	++*(int *)ctx;
	return -7;
}

TEST(hosts_round_trip)
{
	struct store *st = fresh(0, NULL);
	struct host_state h;
	struct host_seen seen;
	int calls = 0;

	if (!CHECK(st != NULL))
		return;
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ_INT(store_hosts_each(st, on_host, &seen), 0);
	CHECK_EQ_INT(seen.n, 0);
	memset(&h, 0, sizeof(h));
	snprintf(h.host, sizeof(h.host), "b.example:443");
	h.rate_now = 2.25;
	h.paused_until = 123456789012;
	h.complaints = 3;
	h.last_complaint_at = 123456780000;
	snprintf(h.reason, sizeof(h.reason), "http 429");
	CHECK_EQ_INT(store_host_save(st, &h, 1000), 0);
	memset(&h, 0, sizeof(h));
	snprintf(h.host, sizeof(h.host), "a.example:80");
	CHECK_EQ_INT(store_host_save(st, &h, 1000), 0);
	CHECK_EQ_INT(store_hosts_each(st, on_host, &seen), 0);
	CHECK_EQ_INT(seen.n, 2);
	CHECK_EQ_STR(seen.h[0].host, "a.example:80");
	CHECK_NEAR(seen.h[0].rate_now, 0.0, 0);
	CHECK_EQ_STR(seen.h[0].reason, "");
	CHECK_EQ_STR(seen.h[1].host, "b.example:443");
	CHECK_NEAR(seen.h[1].rate_now, 2.25, 0);
	CHECK_EQ_INT(seen.h[1].paused_until, 123456789012);
	CHECK_EQ_INT(seen.h[1].complaints, 3);
	CHECK_EQ_INT(seen.h[1].last_complaint_at, 123456780000);
	CHECK_EQ_STR(seen.h[1].reason, "http 429");
	CHECK_EQ_STR(q(st, "SELECT host, coalesce(reason, 'NULL'), updated_at FROM hosts ORDER BY host"),
		     "a.example:80|NULL|1000\nb.example:443|http 429|1000\n");
	/* saving again updates in place */
	h = seen.h[1];
	h.rate_now = 5;
	h.complaints = 0;
	h.reason[0] = '\0';
	CHECK_EQ_INT(store_host_save(st, &h, 2000), 0);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ_INT(store_hosts_each(st, on_host, &seen), 0);
	CHECK_EQ_INT(seen.n, 2);
	CHECK_NEAR(seen.h[1].rate_now, 5.0, 0);
	CHECK_EQ_INT(seen.h[1].complaints, 0);
	CHECK_EQ_STR(seen.h[1].reason, "");
	CHECK_EQ_INT(store_hosts_each(st, host_stop, &calls), -7);
	CHECK_EQ_INT(calls, 1);
	store_close(st);
}

TEST(runs)
{
	struct store *st = fresh(0, NULL);
	struct run_info ri;
	struct run_stats rs;
	int64_t id = 0, id2 = 0;
	int found = -1;

	if (!CHECK(st != NULL))
		return;
	CHECK_EQ_INT(store_last_run(st, &ri, &found), 0);
	CHECK_EQ_INT(found, 0);
	CHECK_EQ_INT(store_run_begin(st, 1000, &id), 0);
	CHECK_EQ_INT(id, 1);
	CHECK_EQ_INT(store_last_run(st, &ri, &found), 0);
	CHECK_EQ_INT(found, 1);
	CHECK_EQ_INT(ri.id, 1);
	CHECK_EQ_INT(ri.pid, getpid());
	CHECK_EQ_INT(ri.started_at, 1000);
	CHECK_EQ_INT(ri.heartbeat_at, 1000);
	CHECK_EQ_INT(ri.ended_at, 0);
	CHECK_EQ_STR(ri.outcome, "");
	memset(&rs, 0, sizeof(rs));
	rs.requests = 10;
	rs.done = 6;
	rs.failed = 1;
	rs.retried = 3;
	rs.inflight = 4;
	rs.rate = 12.5;
	CHECK_EQ_INT(store_run_update(st, id, 2000, &rs), 0);
	CHECK_EQ_INT(store_last_run(st, &ri, &found), 0);
	CHECK_EQ_INT(ri.heartbeat_at, 2000);
	CHECK_EQ_INT(ri.ended_at, 0);
	CHECK_EQ_INT(ri.stats.requests, 10);
	CHECK_EQ_INT(ri.stats.done, 6);
	CHECK_EQ_INT(ri.stats.failed, 1);
	CHECK_EQ_INT(ri.stats.retried, 3);
	CHECK_EQ_INT(ri.stats.inflight, 4);
	CHECK_NEAR(ri.stats.rate, 12.5, 0);
	rs.done = 9;
	CHECK_EQ_INT(store_run_end(st, id, 3000, "complete", &rs), 0);
	CHECK_EQ_INT(store_last_run(st, &ri, &found), 0);
	CHECK_EQ_INT(ri.heartbeat_at, 3000);
	CHECK_EQ_INT(ri.ended_at, 3000);
	CHECK_EQ_STR(ri.outcome, "complete");
	CHECK_EQ_INT(ri.stats.done, 9);
	CHECK_EQ_INT(ri.stats.inflight, 0);
	CHECK_EQ_INT(store_run_begin(st, 4000, &id2), 0);
	CHECK_EQ_INT(id2, 2);
	CHECK_EQ_INT(store_last_run(st, &ri, &found), 0);
	CHECK_EQ_INT(ri.id, 2);
	CHECK_EQ_INT(ri.started_at, 4000);
	CHECK_EQ_STR(ri.outcome, "");
	store_close(st);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(create_then_open);
	RUN(open_failures_are_distinct);
	RUN(open_migrates_an_older_crawl);
	RUN(open_crawl_from_before_the_insert_trigger_was_dropped);
	RUN(create_refuses_existing_file);
	RUN(create_failure_leaves_nothing);
	RUN(settings);
	RUN(add_items_and_counts);
	RUN(add_queue_batches);
	RUN(item_state_names);
	RUN(claim_due_order);
	RUN(claim_limit_and_fields);
	RUN(update_done_with_typed_fields);
	RUN(update_retry_failed_release);
	RUN(update_done_twice_keeps_one_result);
	RUN(recover_inflight_and_crashes);
	RUN(use_fields_adds_columns);
	RUN(use_fields_same_name_other_case);
	RUN(export_default_columns);
	RUN(export_chosen_columns_and_states);
	RUN(export_no_rows_still_names_columns);
	RUN(export_callback_error_stops);
	RUN(query_checks);
	RUN(query_readonly_store_cannot_write);
	RUN(runner_lock);
	RUN(hosts_round_trip);
	RUN(runs);
	unit_remove_dir(tmpdir);
	return unit_done();
}
