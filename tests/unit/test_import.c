/*
 * test_import.c - unit tests for import.c against real crawl files in a
 * temporary directory: CSV (quotes, embedded separators and newlines, CRLF,
 * BOM, spaces kept verbatim), TSV, plain lists, duplicates, the vars JSON,
 * and every refusal with its file:line, which must name the physical line
 * where the offending row starts.
 */
#include "import.h"
#include "store.h"
#include "util.h"
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/trawl-import-XXXXXX";
static int ncrawls;

/* What one import did. */
struct result {
	int rc;
	struct import_stats stats;
	char msg[4096];            /* what it wrote to stderr */
	char path[512];            /* the input file */
};

/* A new, empty crawl in tmpdir, opened read-write; NULL on failure. */
static struct store *fresh_store(void)
{
	static const char *const names[] = { "url", "key" };
	static const char *const values[] = { "http://127.0.0.1/{id}", "id" };
	struct store *st = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/crawl%d.db", tmpdir, ++ncrawls);
	if (store_create(path, 2, names, values, 0, NULL) || store_open(&st, path, STORE_READWRITE))
		return NULL;
	return st;
}

/*
 * Imports the stream f, shown as r->path, into st in one transaction
 * (committed on success, rolled back on error), with stderr captured into
 * r->msg.  r->path must be set; the rest of r is filled in.
 */
static void import_stream(struct store *st, FILE *f, enum import_format fmt, const char *key,
			  const char *const *req, size_t nreq, struct result *r)
{
	struct import_opts o;
	char errpath[600];
	int fd, saved;
	ssize_t n;

	memset(&o, 0, sizeof(o));
	o.name = r->path;
	o.in = f;
	o.format = fmt;
	o.key_column = key;
	o.required = req;
	o.nrequired = nreq;
	snprintf(errpath, sizeof(errpath), "%s/stderr.txt", tmpdir);
	fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	if ((r->rc = store_begin(st)) == 0) {
		r->rc = import_items(st, &o, &r->stats);
		if (r->rc)
			store_rollback(st);
		else
			r->rc = store_commit(st);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, r->msg, sizeof(r->msg) - 1, 0);
	r->msg[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Writes data (len bytes) to tmpdir/name and imports it with import_stream. */
static void import_file(struct store *st, const char *name, const void *data, size_t len,
			enum import_format fmt, const char *key, const char *const *req, size_t nreq,
			struct result *r)
{
	FILE *f;

	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s/%s", tmpdir, name);
	f = fopen(r->path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		r->rc = 999;
		return;
	}
	f = fopen(r->path, "rb");
	import_stream(st, f, fmt, key, req, nreq, r);
	fclose(f);
}

/* Shorthand for a NUL-terminated text. */
static void import_text(struct store *st, const char *name, const char *text, enum import_format fmt,
			const char *key, struct result *r)
{
	import_file(st, name, text, strlen(text), fmt, key, NULL, 0, r);
}

/* A store_row_fn collecting rows as "a|b\n" text (NULL as "NULL"). */
static int collect(void *ctx, size_t ncols, const char *const *names, const struct value *row)
{
	struct buf *b = ctx;
	size_t i;

	(void)names;
	if (!row)
		return 0;
	for (i = 0; i < ncols; i++) {
		if (i)
			buf_addstr(b, "|");
		switch (row[i].type) {
		case VAL_NULL: buf_addstr(b, "NULL"); break;
		case VAL_INT: buf_addf(b, "%lld", (long long)row[i].i); break;
		case VAL_REAL: buf_addf(b, "%.17g", row[i].d); break;
		default: buf_add(b, row[i].s, row[i].len); break;
		}
	}
	buf_addstr(b, "\n");
	return 0;
}

/* The rows of sql as text (static buffer; "(error)" on failure). */
static const char *query(struct store *st, const char *sql)
{
	static char out[1 << 16];
	struct buf b;
	int rc;

	buf_init(&b, sizeof(out) - 1);
	rc = store_query(st, sql, collect, &b);
	snprintf(out, sizeof(out), "%s", rc ? "(error)" : b.p ? b.p : "");
	buf_release(&b);
	return out;
}

static int64_t total(struct store *st)
{
	struct store_counts c;

	if (store_counts(st, 0, &c))
		return -1;
	return c.total;
}

/* Checks that r->msg is exactly "trawl: PATH:LINE: rest\n". */
static int msg_is(const struct result *r, int line, const char *rest)
{
	char want[4096];

	snprintf(want, sizeof(want), "trawl: %s:%d: %s\n", r->path, line, rest);
	return CHECK_EQ_STR(r->msg, want);
}

/* Checks that r->msg starts with "trawl: PATH:LINE: " and contains what. */
static int msg_at(const struct result *r, int line, const char *what)
{
	char want[1024];
	int ok;

	snprintf(want, sizeof(want), "trawl: %s:%d: ", r->path, line);
	ok = CHECK(strncmp(r->msg, want, strlen(want)) == 0) & CHECK(strstr(r->msg, what) != NULL);
	if (!ok)
		fprintf(stderr, "  wanted line %d and '%s' in: %s", line, what, r->msg);
	return ok;
}

/* ---- CSV ------------------------------------------------------------------ */

TEST(csv_basic)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "basic.csv", "id,name\n1,alice\n2,bob\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(r.msg, "");
	CHECK_EQ_INT(r.stats.added, 2);
	CHECK_EQ_INT(r.stats.skipped, 0);
	CHECK_EQ_INT(r.stats.rows, 2);
	CHECK_EQ_INT(total(st), 2);
	CHECK_EQ_STR(query(st, "SELECT key, vars, state, attempts FROM items ORDER BY id"),
		     "1|{\"name\":\"alice\"}|ready|0\n2|{\"name\":\"bob\"}|ready|0\n");
	store_close(st);
}

TEST(csv_rfc4180)
{
	/* BOM, CRLF, a quoted comma, a quoted CRLF, doubled quotes, an empty quoted field */
	static const char text[] =
		"\xef\xbb\xbfid,name,note\r\n"
		"1,\"Smith, J\",\"line1\r\nline2\"\r\n"
		"2,\"say \"\"hi\"\"\",plain\r\n"
		"\"3\",\"\",\"a\nb\"\r\n";
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "rfc.csv", text, IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(r.msg, "");
	CHECK_EQ_INT(r.stats.added, 3);
	CHECK_EQ_STR(query(st, "SELECT vars FROM items WHERE key = '1'"),
		     "{\"name\":\"Smith, J\",\"note\":\"line1\\r\\nline2\"}\n");
	CHECK_EQ_STR(query(st, "SELECT vars FROM items WHERE key = '2'"),
		     "{\"name\":\"say \\\"hi\\\"\",\"note\":\"plain\"}\n");
	CHECK_EQ_STR(query(st, "SELECT vars FROM items WHERE key = '3'"),
		     "{\"name\":\"\",\"note\":\"a\\nb\"}\n");
	/* the vars are JSON that SQLite reads back to the original values */
	CHECK_EQ_STR(query(st, "SELECT json_extract(vars, '$.note') = 'line1' || char(13, 10) || 'line2' FROM items WHERE key = '1'"),
		     "1\n");
	store_close(st);
}

TEST(csv_spaces_kept_verbatim)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "spaces.csv", "id,name\n a , b \n\" q \",  \n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.added, 2);
	CHECK_EQ_STR(query(st, "SELECT '[' || key || ']', vars FROM items ORDER BY id"),
		     "[ a ]|{\"name\":\" b \"}\n[ q ]|{\"name\":\"  \"}\n");
	store_close(st);
}

TEST(csv_key_column_elsewhere)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "books.csv", "title,isbn,lang\nDune,9780441013593,en\nZazie,9782070364398,fr\n",
		    IMPORT_AUTO, "isbn", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.added, 2);
	CHECK_EQ_STR(query(st, "SELECT key, vars FROM items ORDER BY id"),
		     "9780441013593|{\"title\":\"Dune\",\"lang\":\"en\"}\n"
		     "9782070364398|{\"title\":\"Zazie\",\"lang\":\"fr\"}\n");
	store_close(st);
}

TEST(csv_only_key_column_has_null_vars)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "keys.csv", "id\r\nk1\r\nk2", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.added, 2);
	CHECK_EQ_STR(query(st, "SELECT key, vars IS NULL FROM items ORDER BY id"), "k1|1\nk2|1\n");
	store_close(st);
}

TEST(csv_header_names_escaped_in_vars)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "hdr.csv", "id,\"na\"\"me\",caf\xc3\xa9\n1,x,\xe2\x82\xac\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(query(st, "SELECT vars FROM items"), "{\"na\\\"me\":\"x\",\"caf\xc3\xa9\":\"\xe2\x82\xac\"}\n");
	CHECK_EQ_STR(query(st, "SELECT json_valid(vars) FROM items"), "1\n");
	store_close(st);
}

TEST(csv_blank_lines_and_last_row_without_newline)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "blank.csv", "id,v\n\n1,a\r\n\r\n\n2,b", IMPORT_CSV, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.added, 2);
	CHECK_EQ_STR(query(st, "SELECT key, vars FROM items ORDER BY id"),
		     "1|{\"v\":\"a\"}\n2|{\"v\":\"b\"}\n");
	store_close(st);
}

TEST(csv_format_by_extension)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	/* upper-case extension: still CSV, so the header is not a key */
	import_text(st, "UPPER.CSV", "id,v\n1,a\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(query(st, "SELECT key FROM items"), "1\n");
	/* forced CSV on a name without extension */
	import_text(st, "noext", "id,v\n2,b\n", IMPORT_CSV, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(query(st, "SELECT key FROM items ORDER BY id"), "1\n2\n");
	/* a .txt is a list of keys: the line is the key, commas and all */
	import_text(st, "list.txt", "x,y\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(query(st, "SELECT key FROM items ORDER BY id"), "1\n2\nx,y\n");
	store_close(st);
}

TEST(tsv)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "in.tsv", "id\tname\tnote\n1\tA B\tx,y\n2\t\"q\tq\"\t\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.added, 2);
	CHECK_EQ_STR(query(st, "SELECT key, vars FROM items ORDER BY id"),
		     "1|{\"name\":\"A B\",\"note\":\"x,y\"}\n2|{\"name\":\"q\\tq\",\"note\":\"\"}\n");
	import_text(st, "forced", "id\tv\r\n3\tz\r\n", IMPORT_TSV, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(query(st, "SELECT vars FROM items WHERE key = '3'"), "{\"v\":\"z\"}\n");
	store_close(st);
}

/* ---- plain lists ---------------------------------------------------------- */

TEST(lines_crlf_and_blank)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "keys.txt", "a\r\nb\n\n\r\n c \nlast", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(r.msg, "");
	CHECK_EQ_INT(r.stats.added, 4);
	CHECK_EQ_INT(r.stats.rows, 4);
	CHECK_EQ_STR(query(st, "SELECT '[' || key || ']', vars IS NULL FROM items ORDER BY id"),
		     "[a]|1\n[b]|1\n[ c ]|1\n[last]|1\n");
	/* a BOM is not part of the first key */
	import_text(st, "bom.txt", "\xef\xbb\xbf" "d\n", IMPORT_LINES, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(query(st, "SELECT key FROM items WHERE id = 5"), "d\n");
	/* an empty file adds nothing, without error */
	import_text(st, "empty.txt", "", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.rows, 0);
	CHECK_EQ_INT(total(st), 5);
	store_close(st);
}

TEST(duplicates_skipped)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "dups.txt", "a\nb\na\nc\nb\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.added, 3);
	CHECK_EQ_INT(r.stats.skipped, 2);
	CHECK_EQ_INT(r.stats.rows, 5);
	/* a second file: keys already in the crawl are skipped too, the first vars kept */
	import_text(st, "more.csv", "id,v\nc,1\nd,2\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.added, 1);
	CHECK_EQ_INT(r.stats.skipped, 1);
	CHECK_EQ_INT(total(st), 4);
	CHECK_EQ_STR(query(st, "SELECT key, coalesce(vars, '-') FROM items ORDER BY id"),
		     "a|-\nb|-\nc|-\nd|{\"v\":\"2\"}\n");
	store_close(st);
}

TEST(lines_with_required_column_refused)
{
	static const char *const req[] = { "lang" };
	struct store *st = fresh_store();
	struct result r;
	char want[1024];

	if (!CHECK(st != NULL))
		return;
	import_file(st, "keys.txt", "a\nb\n", 4, IMPORT_AUTO, "id", req, 1, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	snprintf(want, sizeof(want),
		 "trawl: %s: a plain list of keys has no column 'lang', which the templates use; give a CSV with a header\n",
		 r.path);
	CHECK_EQ_STR(r.msg, want);
	CHECK_EQ_INT(total(st), 0);
	store_close(st);
}

/* ---- refusals --------------------------------------------------------------- */

TEST(required_columns_missing)
{
	static const char *const req[] = { "lang", "region" };
	struct store *st = fresh_store();
	struct result r;
	static const char text[] = "id,lang\n1,en\n";

	if (!CHECK(st != NULL))
		return;
	import_file(st, "req.csv", text, strlen(text), IMPORT_AUTO, "id", req, 2, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 1, "the header has no column 'region' (the templates use it)");
	CHECK_EQ_INT(total(st), 0);
	/* the key column itself missing */
	import_file(st, "nokey.csv", text, strlen(text), IMPORT_AUTO, "isbn", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 1, "the header has no column 'isbn' (the key column; choose another with --column)");
	/* present: fine */
	import_file(st, "ok.csv", "id,region,lang\n1,eu,en\n", 22, IMPORT_AUTO, "id", req, 2, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(query(st, "SELECT vars FROM items"), "{\"region\":\"eu\",\"lang\":\"en\"}\n");
	store_close(st);
}

TEST(empty_key_names_line)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "ek.csv", "id,name\n1,a\n2,b\n,c\n4,d\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 4, "empty key in column 'id'");
	/* all or nothing */
	CHECK_EQ_INT(total(st), 0);
	/* after blank lines and a multi-line row, still the physical line */
	import_text(st, "ek2.csv", "id,name\n\n1,\"x\ny\"\n\n\"\",c\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 6, "empty key in column 'id'");
	CHECK_EQ_INT(total(st), 0);
	store_close(st);
}

TEST(field_count_line_after_embedded_newline)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	/* row 2 spans lines 2-3; the bad row starts on line 4 */
	import_text(st, "fc.csv", "id,name\n1,\"a\nb\"\n2,x,extra\n3,y\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 4, "expected 2 fields as in the header, found 3");
	CHECK_EQ_INT(total(st), 0);
	/* the bad row itself holds the newline: named by its first line */
	import_text(st, "fc2.csv", "id,name\r\n1,x\r\n2,\"a\r\nb\",z\r\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 3, "expected 2 fields as in the header, found 3");
	/* too few */
	import_text(st, "fc3.csv", "id,name,x\n1,a,b\n2\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 3, "expected 3 fields as in the header, found 1");
	CHECK_EQ_INT(total(st), 0);
	store_close(st);
}

TEST(line_numbers_across_read_chunks)
{
	struct store *st = fresh_store();
	struct result r;
	struct buf b;
	int i, line;

	if (!CHECK(st != NULL))
		return;
	/* ~200 KiB: rows with quoted newlines and CRLF straddle the 64 KiB reads */
	buf_init(&b, 1 << 22);
	buf_addstr(&b, "id,note\r\n");
	line = 2;
	for (i = 0; i < 6000; i++) {
		if (i % 3 == 0) {
			buf_addf(&b, "k%d,\"first\r\nsecond %d\"\r\n", i, i);
			line += 2;
		} else {
			buf_addf(&b, "k%d,plain text number %d\r\n", i, i);
			line += 1;
		}
	}
	buf_addstr(&b, "bad,row,here\r\n");
	import_file(st, "big.csv", b.p, b.len, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, line, "expected 2 fields as in the header, found 3");
	CHECK_EQ_INT(total(st), 0);
	/* without the bad row: every row in */
	b.len -= strlen("bad,row,here\r\n");
	import_file(st, "big2.csv", b.p, b.len, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.added, 6000);
	CHECK_EQ_STR(query(st, "SELECT vars FROM items WHERE key = 'k5997'"),
		     "{\"note\":\"first\\r\\nsecond 5997\"}\n");
	buf_release(&b);
	store_close(st);
}

/* Pads b with rows "pN,xxx\r\n" until exactly at bytes are in it; returns rows added. */
static int pad_to(struct buf *b, size_t at)
{
	int rows = 0;

	while (b->len < at) {
		size_t len0 = b->len, width;

		buf_addf(b, "p%d,", rows++);
		/* about 40 bytes a row; the last one takes exactly what is left */
		width = at - len0 > 80 ? 40 : at - len0;
		while (b->len < len0 + width - 2)
			buf_addstr(b, "x");
		buf_addstr(b, "\r\n");
	}
	return rows;
}

TEST(crlf_split_by_the_read_chunk)
{
	struct store *st = fresh_store();
	struct result r;
	struct buf b;
	int line;

	if (!CHECK(st != NULL))
		return;
	buf_init(&b, 1 << 20);
	/* a row's CR is the last byte of the first 64 KiB read, its LF the first of the next */
	buf_addstr(&b, "id,v\r\n");
	line = 2 + pad_to(&b, 65536 - 18);
	buf_addstr(&b, "edge,0123456789ab\r\n");
	CHECK_EQ_INT(b.len, 65537);
	CHECK_EQ_INT(b.p[65535], '\r');
	line++;
	buf_addstr(&b, "after,1\r\n,empty key\r\n");
	line++;
	import_file(st, "split.csv", b.p, b.len, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, line, "empty key in column 'id'");
	/* a quoted CRLF split the same way */
	buf_reset(&b);
	buf_addstr(&b, "id,v\r\n");
	line = 2 + pad_to(&b, 65536 - 9);
	buf_addstr(&b, "q,\"01234\r\nrest\"\r\n");
	CHECK_EQ_INT(b.p[65535], '\r');
	line += 2;
	buf_addstr(&b, "z,1,2\r\n");
	import_file(st, "split2.csv", b.p, b.len, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, line, "expected 2 fields as in the header, found 3");
	/* and without the bad row, the split value is intact */
	b.len -= strlen("z,1,2\r\n");
	import_file(st, "split3.csv", b.p, b.len, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_STR(query(st, "SELECT vars FROM items WHERE key = 'q'"), "{\"v\":\"01234\\r\\nrest\"}\n");
	buf_release(&b);
	store_close(st);
}

TEST(unbalanced_quote_at_eof)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "uq.csv", "id,name\n1,ok\n2,\"never closes\n3,x\n4,y\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_at(&r, 3, "unbalanced quote");
	CHECK_EQ_INT(total(st), 0);
	store_close(st);
}

TEST(malformed_quotes)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "mq.csv", "id,name\n1,ok\n2,a\"b\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_at(&r, 3, "malformed CSV");
	import_text(st, "mq2.csv", "id,name\n1,\"a\"b\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_at(&r, 2, "malformed CSV");
	CHECK_EQ_INT(total(st), 0);
	store_close(st);
}

TEST(invalid_utf8)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "u.csv", "id,name\n1,caf\xc3\xa9\n2,caf\xe9\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 3, "invalid UTF-8 in column 'name' (value 'caf\xe9')");
	import_text(st, "u2.csv", "id,name\n\xed\xa0\x80,x\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_at(&r, 2, "invalid UTF-8 in column 'id'");
	import_text(st, "u.txt", "ok\n\xc0\x80\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_at(&r, 2, "invalid UTF-8 in column 'key'");
	import_text(st, "uh.csv", "id,n\xff\n1,a\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_at(&r, 1, "invalid UTF-8 in column 'header'");
	CHECK_EQ_INT(total(st), 0);
	store_close(st);
}

TEST(nul_byte)
{
	static const char csv[] = "id,name\n1,a\0b\n";
	static const char lines[] = "ok\nx\0y\n";
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_file(st, "nul.csv", csv, sizeof(csv) - 1, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 2, "NUL byte in column 'name' (value 'a\\x00b')");
	import_file(st, "nul.txt", lines, sizeof(lines) - 1, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 2, "NUL byte in column 'key' (value 'x\\x00y')");
	CHECK_EQ_INT(total(st), 0);
	store_close(st);
}

/*
 * libcsv grows its field buffer 128 bytes at a time; under ASan every
 * realloc copies, so one multi-MiB field costs minutes there.  The cases
 * with one huge field run in the plain build only.
 */
#if defined(__SANITIZE_ADDRESS__)
#define HUGE_FIELDS 0
#else
#define HUGE_FIELDS 1
#endif

TEST(row_over_one_mib)
{
	struct store *st = fresh_store();
	struct result r;
	struct buf b;
	char cell[2100];
	size_t i;

	if (!CHECK(st != NULL))
		return;
	memset(cell, 'w', sizeof(cell));
	buf_init(&b, 3 << 20);
	/* a 2 MiB row of 1000 fields on line 3 */
	buf_addstr(&b, "id");
	for (i = 0; i < 1000; i++)
		buf_addf(&b, ",c%zu", i);
	buf_addstr(&b, "\nk1");
	for (i = 0; i < 1000; i++)
		buf_addstr(&b, ",x");
	buf_addstr(&b, "\nk2");
	for (i = 0; i < 1000; i++) {
		buf_addstr(&b, ",");
		buf_add(&b, cell, sizeof(cell));
	}
	buf_addstr(&b, "\n");
	import_file(st, "many.csv", b.p, b.len, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 3, "row too long (more than 1024 fields or 1 MiB)");
	CHECK_EQ_INT(total(st), 0);
	/* one field of 2 MiB on line 3 */
	if (HUGE_FIELDS) {
		buf_reset(&b);
		buf_addstr(&b, "id,blob\n1,small\n2,");
		for (i = 0; i < (2u << 20) / sizeof(cell) + 1; i++)
			buf_add(&b, cell, sizeof(cell));
		buf_addstr(&b, "\n3,after\n");
		import_file(st, "wide.csv", b.p, b.len, IMPORT_AUTO, "id", NULL, 0, &r);
		CHECK_EQ_INT(r.rc, TR_EUSAGE);
		msg_is(&r, 3, "row too long (more than 1024 fields or 1 MiB)");
		CHECK_EQ_INT(total(st), 0);
	}
	/* a 2 MiB line in a plain list */
	buf_reset(&b);
	buf_addstr(&b, "ok\n");
	for (i = 0; i < (2u << 20) / sizeof(cell) + 1; i++)
		buf_add(&b, cell, sizeof(cell));
	buf_addstr(&b, "\n");
	import_file(st, "long.txt", b.p, b.len, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 2, "line longer than 1 MiB");
	CHECK_EQ_INT(total(st), 0);
	buf_release(&b);
	store_close(st);
}

/* An endless-looking input: "id,v\n1,\"" then 'a' up to size bytes. */
struct gen {
	size_t pos, size;
};

static ssize_t gen_read(void *cookie, char *out, size_t n)
{
	static const char head[] = "id,v\n1,\"";
	struct gen *g = cookie;
	size_t i;

	for (i = 0; i < n && g->pos < g->size; i++, g->pos++)
		out[i] = g->pos < sizeof(head) - 1 ? head[g->pos] : 'a';
	return (ssize_t)i;
}

TEST(oversized_row_refused_before_the_rest_is_read)
{
	/* README: "Memory is constant whatever the size of the file" and a row over
	 * 1 MiB is refused.  A quote that never closes turns the rest of the file
	 * into one field: the import must stop once that row passes 1 MiB, not
	 * buffer the whole file first and only then complain. */
	cookie_io_functions_t io = { gen_read, NULL, NULL, NULL };
	struct gen g = { 0, (size_t)32 << 20 };
	struct store *st;
	struct result r;
	FILE *f;

	if (!HUGE_FIELDS) {
		fprintf(stderr, "  (skipped under AddressSanitizer: one huge field takes minutes)\n");
		return;
	}
	st = fresh_store();
	if (!CHECK(st != NULL))
		return;
	f = fopencookie(&g, "r", io);
	memset(&r, 0, sizeof(r));
	snprintf(r.path, sizeof(r.path), "generated.csv");
	import_stream(st, f, IMPORT_CSV, "id", NULL, 0, &r);
	fclose(f);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 2, "row too long (more than 1024 fields or 1 MiB)");
	if (!CHECK(g.pos <= (1u << 20) + 4 * 65536))
		fprintf(stderr, "  read %zu of %zu bytes before refusing the row\n", g.pos, g.size);
	CHECK_EQ_INT(total(st), 0);
	store_close(st);
}

TEST(too_many_fields)
{
	struct store *st = fresh_store();
	struct result r;
	struct buf b;
	size_t i;

	if (!CHECK(st != NULL))
		return;
	buf_init(&b, 1 << 20);
	buf_addstr(&b, "id");
	for (i = 0; i < 1100; i++)
		buf_addf(&b, ",c%zu", i);
	buf_addstr(&b, "\n");
	import_file(st, "cols.csv", b.p, b.len, IMPORT_AUTO, "id", NULL, 0, &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_at(&r, 1, "row too long");
	buf_release(&b);
	store_close(st);
}

TEST(bad_headers)
{
	struct store *st = fresh_store();
	struct result r;
	char want[1024];

	if (!CHECK(st != NULL))
		return;
	import_text(st, "dup.csv", "id,name,name\n1,a,b\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 1, "column 'name' appears twice in the header");
	import_text(st, "hole.csv", "id,,x\n1,a,b\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_is(&r, 1, "empty column name in the header (column 2)");
	/* no header at all */
	import_text(st, "empty.csv", "", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	snprintf(want, sizeof(want), "trawl: %s: no header row (a CSV needs one naming column 'id')\n", r.path);
	CHECK_EQ_STR(r.msg, want);
	import_text(st, "blank.csv", "\n\r\n\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	/* a header and no rows is fine */
	import_text(st, "hdronly.csv", "id,name\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.stats.rows, 0);
	CHECK_EQ_INT(total(st), 0);
	store_close(st);
}

TEST(all_or_nothing_with_prior_items)
{
	struct store *st = fresh_store();
	struct result r;

	if (!CHECK(st != NULL))
		return;
	import_text(st, "first.txt", "a\nb\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, 0);
	import_text(st, "second.csv", "id,v\nc,1\nd,2\ne\n", IMPORT_AUTO, "id", &r);
	CHECK_EQ_INT(r.rc, TR_EUSAGE);
	msg_at(&r, 4, "expected 2 fields");
	CHECK_EQ_INT(total(st), 2);
	CHECK_EQ_STR(query(st, "SELECT key FROM items ORDER BY id"), "a\nb\n");
	store_close(st);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(csv_basic);
	RUN(csv_rfc4180);
	RUN(csv_spaces_kept_verbatim);
	RUN(csv_key_column_elsewhere);
	RUN(csv_only_key_column_has_null_vars);
	RUN(csv_header_names_escaped_in_vars);
	RUN(csv_blank_lines_and_last_row_without_newline);
	RUN(csv_format_by_extension);
	RUN(tsv);
	RUN(lines_crlf_and_blank);
	RUN(duplicates_skipped);
	RUN(lines_with_required_column_refused);
	RUN(required_columns_missing);
	RUN(empty_key_names_line);
	RUN(field_count_line_after_embedded_newline);
	RUN(line_numbers_across_read_chunks);
	RUN(crlf_split_by_the_read_chunk);
	RUN(unbalanced_quote_at_eof);
	RUN(malformed_quotes);
	RUN(invalid_utf8);
	RUN(nul_byte);
	RUN(row_over_one_mib);
	RUN(oversized_row_refused_before_the_rest_is_read);
	RUN(too_many_fields);
	RUN(bad_headers);
	RUN(all_or_nothing_with_prior_items);
	unit_remove_dir(tmpdir);
	return unit_done();
}
