/*
 * import.c - work items from CSV/TSV (RFC 4180, via libcsv) or from a plain
 * list of keys, streamed in constant memory: a fixed read buffer, one row at
 * a time, every row capped.  Line numbers are tracked by feeding libcsv one
 * physical line at a time, so every error can name file:line.
 * It must never add part of a file: the caller's transaction is all or none.
 */
#include "import.h"
#include "util.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROW_BYTES (1 << 20)   /* a row (all its fields) or a key line */
#define MAX_FIELDS 1024
#define CHUNK (64 * 1024)

struct importer {
	struct store *st;
	const struct import_opts *o;
	struct import_stats *stats;
	int64_t line;              /* physical line of the next byte fed */
	int64_t row_line;          /* line where the current row started */
	int row_open;
	struct buf row;            /* the current row's fields, back to back */
	size_t off[MAX_FIELDS + 1];
	size_t nfields;
	int overflow;              /* the row passed a cap */
	char **cols;               /* header names */
	size_t ncols;
	size_t keyidx;
	struct buf vars;
	int rc;                    /* first error; parsing stops there */
};

/* A value made printable for a one-line message: control bytes escaped, cut at 60. */
static const char *show(const char *s, size_t len)
{
	static char out[256];
	size_t i, n = 0;

	for (i = 0; i < len && n < 60; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	if (i < len)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "...");
	out[n] = '\0';
	return out;
}

static int bad(struct importer *im, int64_t line, const char *fmt, ...) ATTR_PRINTF(3, 4);
static int bad(struct importer *im, int64_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!im->rc)
		im->rc = error_code(TR_EUSAGE, "%s:%lld: %s", im->o->name, (long long)line, msg);
	return im->rc;
}

/* Checks one value: valid UTF-8, no NUL byte. */
static int check_text(struct importer *im, const char *s, size_t len, const char *column)
{
	if (memchr(s, '\0', len))
		return bad(im, im->row_line, "NUL byte in column '%s' (value '%s')", column, show(s, len));
	if (!utf8_valid(s, len))
		return bad(im, im->row_line, "invalid UTF-8 in column '%s' (value '%s')", column, show(s, len));
	return 0;
}

/* Queues one row; the added and skipped counts are made at the end (import_items). */
static int add_key(struct importer *im, const char *key, size_t len, const char *vars, size_t varslen)
{
	int rc;

	if ((rc = store_add_queue(im->st, key, len, vars, varslen)))
		return im->rc = rc;
	im->stats->rows++;
	return 0;
}

static const char *field(struct importer *im, size_t i, size_t *len)
{
	*len = im->off[i + 1] - im->off[i];
	return im->row.p + im->off[i];
}

static int header_row(struct importer *im)
{
	size_t i, j, len;

	im->cols = xcalloc(im->nfields, sizeof(*im->cols));
	for (i = 0; i < im->nfields; i++) {
		const char *f = field(im, i, &len);

		if (check_text(im, f, len, "header"))
			return im->rc;
		if (!len) {
			char pos[32];

			snprintf(pos, sizeof(pos), "%zu", i + 1);
			return bad(im, im->row_line, "empty column name in the header (column %s)%s", pos, "");
		}
		im->cols[im->ncols++] = xstrndup(f, len);
		for (j = 0; j < i; j++)
			if (!strcmp(im->cols[j], im->cols[i]))
				return bad(im, im->row_line, "column '%s' appears twice in the header%s",
					   show(f, len), "");
	}
	for (j = 0; j <= im->o->nrequired; j++) {
		const char *want = j ? im->o->required[j - 1] : im->o->key_column;

		for (i = 0; i < im->ncols; i++)
			if (!strcmp(im->cols[i], want))
				break;
		if (i == im->ncols)
			return bad(im, im->row_line, "the header has no column '%s' (the %s)", want,
				   j ? "templates use it" : "key column; choose another with --column");
		if (!j)
			im->keyidx = i;
	}
	return 0;
}

static int data_row(struct importer *im)
{
	const char *key;
	size_t i, keylen, len;
	char expect[32], found[32];

	if (im->nfields != im->ncols) {
		snprintf(expect, sizeof(expect), "%zu", im->ncols);
		snprintf(found, sizeof(found), "%zu", im->nfields);
		return bad(im, im->row_line, "expected %s fields as in the header, found %s", expect, found);
	}
	key = field(im, im->keyidx, &keylen);
	if (!keylen)
		return bad(im, im->row_line, "empty key in column '%s'%s", im->cols[im->keyidx], "");
	buf_reset(&im->vars);
	for (i = 0; i < im->nfields; i++) {
		const char *f = field(im, i, &len);

		if (check_text(im, f, len, im->cols[i]))
			return im->rc;
		if (i == im->keyidx)
			continue;
		buf_addstr(&im->vars, im->vars.len ? "," : "{");
		buf_add_json_string(&im->vars, im->cols[i], strlen(im->cols[i]));
		buf_addstr(&im->vars, ":");
		buf_add_json_string(&im->vars, f, len);
	}
	if (im->vars.len)
		buf_addstr(&im->vars, "}");
	return add_key(im, key, keylen, im->vars.len ? im->vars.p : NULL, im->vars.len);
}

static void on_field(void *s, size_t len, void *data)
{
	struct importer *im = data;

	if (im->rc || im->overflow)
		return;
	if (im->nfields >= MAX_FIELDS || buf_add(&im->row, s, len)) {
		im->overflow = 1;
		return;
	}
	im->off[++im->nfields] = im->row.len;
}

static void on_row(int c, void *data)
{
	struct importer *im = data;

	(void)c;
	if (!im->rc) {
		if (im->overflow)
			bad(im, im->row_line, "row too long (more than %s fields or %s)", "1024", "1 MiB");
		else if (!im->cols)
			header_row(im);
		else
			data_row(im);
	}
	buf_reset(&im->row);
	im->nfields = 0;
	im->overflow = 0;
	im->row_open = 0;
}

static int blank(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '\n') || (n == 2 && s[0] == '\r' && s[1] == '\n');
}

/* Feeds one piece of a physical line (ending in '\n' or not) to libcsv. */
static int csv_feed(struct importer *im, struct csv_parser *p, const char *s, size_t n)
{
	if (!im->row_open && !blank(s, n)) {
		im->row_open = 1;
		im->row_line = im->line;
	}
	if (csv_parse(p, s, n, on_field, on_row, im) != n && !im->rc && csv_error(p) == CSV_ENOMEM)
		return bad(im, im->row_open ? im->row_line : im->line,
			   "row too long (more than %s fields or %s)", "1024", "1 MiB");
	if (!im->rc && csv_error(p) == CSV_EPARSE)
		return bad(im, im->row_open ? im->row_line : im->line,
			   "malformed CSV: %s (a quote inside an unquoted field, or text after a closing quote)%s",
			   csv_strerror(csv_error(p)), "");
	return im->rc;
}

/*
 * libcsv buffers a field before handing it over, growing its buffer with
 * this: refusing past the row cap makes a runaway field (an unbalanced quote
 * at the top of a 100 MB file) an error at once instead of a memory hog.
 */
static void *capped_realloc(void *p, size_t n)
{
	if (n > MAX_ROW_BYTES + 4096)
		return NULL;
	return realloc(p, n);
}

static int no_space(unsigned char c)
{
	(void)c;
	return 0;
}

/* Feeds one piece of a line to the plain-list reader. */
static int lines_feed(struct importer *im, const char *s, size_t n)
{
	int eol = n && s[n - 1] == '\n';
	size_t len;

	if (buf_add(&im->row, s, n))
		return bad(im, im->line, "line longer than %s%s", "1 MiB", "");
	if (!eol)
		return 0;
	len = im->row.len - 1;
	if (len && im->row.p[len - 1] == '\r')
		len--;
	im->row_line = im->line;
	if (len && !check_text(im, im->row.p, len, "key"))
		add_key(im, im->row.p, len, NULL, 0);
	buf_reset(&im->row);
	return im->rc;
}

static enum import_format pick_format(const struct import_opts *o)
{
	const char *dot;

	if (o->format != IMPORT_AUTO)
		return o->format;
	dot = strrchr(o->name, '.');
	if (dot && !strcasecmp(dot, ".csv"))
		return IMPORT_CSV;
	if (dot && !strcasecmp(dot, ".tsv"))
		return IMPORT_TSV;
	return IMPORT_LINES;
}

int import_items(struct store *st, const struct import_opts *o, struct import_stats *stats)
{
	struct importer im;
	struct csv_parser p;
	enum import_format fmt = pick_format(o);
	char *chunk = xmalloc(CHUNK);
	int csv = fmt != IMPORT_LINES, first = 1;
	size_t n, i;

	memset(&im, 0, sizeof(im));
	memset(stats, 0, sizeof(*stats));
	im.st = st;
	im.o = o;
	im.stats = stats;
	im.line = 1;
	buf_init(&im.row, MAX_ROW_BYTES);
	buf_init(&im.vars, 2 * MAX_ROW_BYTES + 64 * MAX_FIELDS);
	if (csv) {
		csv_init(&p, CSV_STRICT | CSV_STRICT_FINI);
		csv_set_space_func(&p, no_space);
		csv_set_realloc_func(&p, capped_realloc);
		csv_set_blk_size(&p, 64 * 1024);
		if (fmt == IMPORT_TSV)
			csv_set_delim(&p, CSV_TAB);
	} else if (o->nrequired) {
		im.rc = error_code(TR_EUSAGE, "%s: a plain list of keys has no column '%s', which the templates use; give a CSV with a header",
				   o->name, o->required[0]);
	}
	while (!im.rc && (n = fread(chunk, 1, CHUNK, o->in)) > 0) {
		char *s = chunk;

		if (first && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
			s += 3, n -= 3;
		first = 0;
		while (n && !im.rc) {
			char *nl = memchr(s, '\n', n);
			size_t len = nl ? (size_t)(nl - s) + 1 : n;

			if (csv)
				csv_feed(&im, &p, s, len);
			else
				lines_feed(&im, s, len);
			if (nl)
				im.line++;
			s += len;
			n -= len;
		}
	}
	if (!im.rc && ferror(o->in))
		im.rc = error_code(TR_EIO, "cannot read '%s': %s", o->name, strerror(errno));
	if (!im.rc && !csv && im.row.len)
		lines_feed(&im, "\n", 1);
	if (csv) {
		if (!im.rc && csv_fini(&p, on_field, on_row, &im) && !im.rc)
			bad(&im, im.row_line, "unbalanced quote: a quoted field opened in this row never closes%s%s", "", "");
		if (!im.rc && !im.cols)
			im.rc = error_code(TR_EUSAGE, "%s: no header row (a CSV needs one naming column '%s')",
					   o->name, o->key_column);
		csv_free(&p);
	}
	{
		int64_t added = 0;

		/* on an error nothing is added: the caller rolls the transaction back */
		if (!im.rc)
			im.rc = store_add_flush(st, &added);
		stats->added = im.rc ? 0 : added;
		stats->skipped = stats->rows - stats->added;
	}
	for (i = 0; i < im.ncols; i++)
		free(im.cols[i]);
	free(im.cols);
	buf_release(&im.row);
	buf_release(&im.vars);
	free(chunk);
	return im.rc;
}
