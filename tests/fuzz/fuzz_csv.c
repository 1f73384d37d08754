/*
 * fuzz_csv.c - `trawl add` (import.c over libcsv, into store.c) against
 * arbitrary input files.
 *
 * Input: one MODE byte, then the file.  MODE bits 0-1 pick the format (0, 1:
 * CSV; 2: TSV; 3: a plain list of keys), bit 2 asks for a required column
 * "q" besides the key (as a template using {q} would), bit 3 takes the key
 * from column "name" instead of "id" (trawl add --column name).
 *
 * One crawl is created per process, in a fresh directory under $TMPDIR
 * (default /dev/shm when it exists, else /tmp), with url
 * http://127.0.0.1:1/{id} and key id, and removed at exit.  Every input is
 * imported in a transaction that is rolled back, so the crawl stays empty.
 *
 * Invariants (import.h, store.h):
 *   - import_items returns 0, TR_EUSAGE (bad input) or TR_EIO, never crashes;
 *   - rows == added + skipped;
 *   - on success the transaction holds exactly `added` items, and every
 *     item's vars is NULL or a valid JSON object.
 */
#include "fuzz.h"

#include <unistd.h>

#include "config.h"
#include "import.h"
#include "store.h"
#include "util.h"

static struct store *st;
static char dir[4096], crawl[4200];

/* Removes the crawl and its directory (atexit: a crash leaves them behind). */
static void cleanup(void)
{
	static const char *const sides[] = { "", "-wal", "-shm", "-journal" };
	char path[4300];
	size_t i;

	store_close(st);
	st = NULL;
	for (i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", crawl, sides[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Creates the crawl the way `trawl init CRAWL --url ... --key id` does. */
static void create_crawl(void)
{
	const char *tmp = getenv("TMPDIR");
	const char **names = NULL, **values = NULL;
	struct config cfg;
	char err[512];
	size_t n = config_count(), i;

	if (tmp == NULL || *tmp == '\0')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/trawl-fuzz-csv.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror("fuzz_csv: mkdtemp");
		abort();
	}
	snprintf(crawl, sizeof(crawl), "%s/crawl.db", dir);
	config_init(&cfg);
	if (config_set(&cfg, "url", "http://127.0.0.1:1/{id}", err, sizeof(err)) ||
	    config_set(&cfg, "key", "id", err, sizeof(err)) ||
	    config_validate(&cfg, err, sizeof(err))) {
		fprintf(stderr, "fuzz_csv: %s\n", err);
		abort();
	}
	names = xcalloc(n, sizeof(*names));
	values = xcalloc(n, sizeof(*values));
	for (i = 0; i < n; i++) {
		names[i] = config_name(i);
		values[i] = config_text(&cfg, i);
	}
	if (store_create(crawl, n, names, values, 0, NULL) ||
	    store_open(&st, crawl, STORE_READWRITE)) {
		fprintf(stderr, "fuzz_csv: cannot create the crawl '%s'\n", crawl);
		abort();
	}
	free(names);
	free(values);
	config_release(&cfg);
	atexit(cleanup);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	create_crawl();
	trawl_quiet = 1;
	fuzz_silence_stderr();
	return 0;
}

/* The first column of the single row as an integer (store_query callback). */
static int take_count(void *ctx, size_t ncols, const char *const *names, const struct value *row)
{
	int64_t *n = ctx;

	(void)names;
	if (row != NULL && ncols == 1 && row[0].type == VAL_INT)
		*n = row[0].i;
	return 0;
}

static int64_t count(const char *sql)
{
	int64_t n = -1;

	FUZZ_CHECK(store_query(st, sql, take_count, &n) == 0, "query failed: %s", sql);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const required[] = { "q" };
	static const enum import_format formats[4] = { IMPORT_CSV, IMPORT_CSV, IMPORT_TSV, IMPORT_LINES };
	struct import_opts o;
	struct import_stats stats;
	char *copy;
	int mode, rc;

	if (size < 1)
		return 0;
	mode = data[0];
	/* fmemopen refuses a zero-sized buffer: keep one byte, read none */
	copy = calloc(1, size);
	if (copy == NULL)
		abort();
	memcpy(copy, data + 1, size - 1);
	memset(&o, 0, sizeof(o));
	o.name = "fuzz.csv";
	o.format = formats[mode & 3];
	o.key_column = mode & 8 ? "name" : "id";
	o.required = required;
	o.nrequired = mode & 4 ? 1 : 0;
	o.in = fmemopen(copy, size > 1 ? size - 1 : 1, "rb");
	FUZZ_CHECK(o.in != NULL, "fmemopen failed");
	if (size == 1)
		fgetc(o.in); /* at the end: an empty file */
	FUZZ_CHECK(store_begin(st) == 0, "store_begin failed");
	rc = import_items(st, &o, &stats);
	FUZZ_CHECK(rc == 0 || rc == TR_EUSAGE || rc == TR_EIO, "import_items returned %d", rc);
	FUZZ_CHECK(stats.rows == stats.added + stats.skipped, "rows %lld, added %lld, skipped %lld",
		   (long long)stats.rows, (long long)stats.added, (long long)stats.skipped);
	if (rc == 0) {
		int64_t n = count("SELECT count(*) FROM items");

		FUZZ_CHECK(n == stats.added, "%lld items in the crawl, %lld added", (long long)n,
			   (long long)stats.added);
		FUZZ_CHECK(count("SELECT count(*) FROM items WHERE vars IS NOT NULL AND "
				 "(NOT json_valid(vars) OR json_type(vars) <> 'object')") == 0,
			   "an item with vars that are not a JSON object");
	}
	store_rollback(st);
	fclose(o.in);
	free(copy);
	return 0;
}
