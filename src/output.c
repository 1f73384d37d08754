/*
 * output.c - CSV (RFC 4180: quoted when a cell holds a comma, quote, CR or
 * LF), TSV (tab, newline and backslash escaped as \t \n \\), JSON Lines (one
 * object per row, numbers as numbers) and an aligned table for terminals.
 */
#include "output.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_SAMPLE 200     /* rows buffered to size a table's columns */
#define TABLE_MAX_WIDTH 60

struct out {
	FILE *f;
	enum out_format fmt;
	int header_done;
	/* table: the sampled rows, as text */
	size_t ncols;
	char **names;
	char **cells;            /* TABLE_SAMPLE * ncols */
	size_t nrows;
	size_t *width;
	int flushed;
};

int out_parse_format(const char *name, enum out_format *fmt)
{
	static const char *const names[] = { "csv", "tsv", "jsonl", "table" };
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return *fmt = (enum out_format)i, 0;
	return -1;
}

struct out *out_new(FILE *f, enum out_format fmt)
{
	struct out *o = xcalloc(1, sizeof(*o));

	o->f = f;
	o->fmt = fmt;
	return o;
}

/* The text of a value as it appears in CSV/TSV/table cells. */
static void value_text(struct buf *b, const struct value *v)
{
	char num[64];

	switch (v->type) {
	case VAL_INT:
		buf_addf(b, "%lld", (long long)v->i);
		break;
	case VAL_REAL: {
		/* the shortest text that reads back as the same double */
		int prec;

		for (prec = 15; prec <= 17; prec++) {
			snprintf(num, sizeof(num), "%.*g", prec, v->d);
			if (strtod(num, NULL) == v->d)
				break;
		}
		buf_addstr(b, num);
		break;
	}
	case VAL_TEXT:
	case VAL_BLOB:
		buf_add(b, v->s, v->len);
		break;
	default:
		break;
	}
}

static int csv_needs_quotes(const char *s, size_t len)
{
	return memchr(s, ',', len) || memchr(s, '"', len) || memchr(s, '\r', len) ||
	       memchr(s, '\n', len);
}

static void csv_cell(FILE *f, const char *s, size_t len)
{
	size_t i;

	if (!csv_needs_quotes(s, len)) {
		fwrite(s, 1, len, f);
		return;
	}
	fputc('"', f);
	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

static void tsv_cell(FILE *f, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\t': fputs("\\t", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\\': fputs("\\\\", f); break;
		default: fputc(s[i], f);
		}
	}
}

static void delimited_row(struct out *o, size_t ncols, const char *const *names,
			  const struct value *row, struct buf *tmp)
{
	size_t i;

	for (i = 0; i < ncols; i++) {
		const char *s;
		size_t len;

		if (i)
			fputc(o->fmt == OUT_CSV ? ',' : '\t', o->f);
		if (row) {
			buf_reset(tmp);
			value_text(tmp, &row[i]);
			s = tmp->p ? tmp->p : "";
			len = tmp->len;
		} else {
			s = names[i];
			len = strlen(s);
		}
		if (o->fmt == OUT_CSV)
			csv_cell(o->f, s, len);
		else
			tsv_cell(o->f, s, len);
	}
	fputs(o->fmt == OUT_CSV ? "\r\n" : "\n", o->f);
}

static void json_row(struct out *o, size_t ncols, const char *const *names,
		     const struct value *row, struct buf *tmp)
{
	size_t i;

	buf_reset(tmp);
	buf_addstr(tmp, "{");
	for (i = 0; i < ncols; i++) {
		const struct value *v = &row[i];

		if (i)
			buf_addstr(tmp, ",");
		buf_add_json_string(tmp, names[i], strlen(names[i]));
		buf_addstr(tmp, ":");
		if (v->type == VAL_TEXT || v->type == VAL_BLOB)
			buf_add_json_string(tmp, v->s, v->len);
		else if (v->type == VAL_NULL || (v->type == VAL_REAL && !isfinite(v->d)))
			buf_addstr(tmp, "null");  /* JSON has no infinity */
		else
			value_text(tmp, v);
	}
	buf_addstr(tmp, "}\n");
	fwrite(tmp->p, 1, tmp->len, o->f);
}

/* Characters (code points) in s: what a terminal column counts, near enough. */
static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Prints a cell cut at TABLE_MAX_WIDTH characters (never inside one), padded to width. */
static void table_cell_print(FILE *f, const char *s, size_t width, int first)
{
	size_t n = 0, bytes = 0;

	while (s[bytes] && n < TABLE_MAX_WIDTH) {
		bytes++;
		while (((unsigned char)s[bytes] & 0xc0) == 0x80)
			bytes++;
		n++;
	}
	fprintf(f, "%s%.*s", first ? "" : "  ", (int)bytes, s);
	for (; n < width; n++)
		fputc(' ', f);
}

static void table_flush(struct out *o)
{
	size_t r, c;

	if (o->flushed || !o->names)
		return;
	o->flushed = 1;
	for (c = 0; c < o->ncols; c++)
		table_cell_print(o->f, o->names[c], o->width[c], c == 0);
	fputc('\n', o->f);
	for (c = 0; c < o->ncols; c++) {
		size_t k;

		fputs(c ? "  " : "", o->f);
		for (k = 0; k < o->width[c]; k++)
			fputc('-', o->f);
	}
	fputc('\n', o->f);
	for (r = 0; r < o->nrows; r++) {
		for (c = 0; c < o->ncols; c++)
			table_cell_print(o->f, o->cells[r * o->ncols + c], o->width[c], c == 0);
		fputc('\n', o->f);
	}
}

/* Table cells: control characters shown as spaces so a row stays one line. */
static char *table_cell(const struct value *v)
{
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 20);
	value_text(&b, v);
	if (v->type == VAL_NULL)
		buf_addstr(&b, "NULL");
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.p[i] < 0x20)
			b.p[i] = ' ';
	return buf_detach(&b, NULL);
}

static void table_row(struct out *o, size_t ncols, const char *const *names, const struct value *row)
{
	size_t c;

	if (!o->names) {
		o->ncols = ncols;
		o->names = xcalloc(ncols + 1, sizeof(*o->names));
		o->width = xcalloc(ncols + 1, sizeof(*o->width));
		o->cells = xcalloc(TABLE_SAMPLE * ncols + 1, sizeof(*o->cells));
		for (c = 0; c < ncols; c++) {
			o->names[c] = xstrdup(names[c]);
			o->width[c] = chars(names[c]);
		}
	}
	if (!row || o->flushed) {
		if (row) {
			for (c = 0; c < ncols; c++) {
				char *cell = table_cell(&row[c]);

				table_cell_print(o->f, cell, o->width[c], c == 0);
				free(cell);
			}
			fputc('\n', o->f);
		}
		return;
	}
	for (c = 0; c < ncols; c++) {
		char *cell = table_cell(&row[c]);
		size_t w = chars(cell);

		o->cells[o->nrows * ncols + c] = cell;
		if (w > o->width[c])
			o->width[c] = w > TABLE_MAX_WIDTH ? TABLE_MAX_WIDTH : w;
	}
	if (++o->nrows == TABLE_SAMPLE)
		table_flush(o);
}

int out_row(void *ctx, size_t ncols, const char *const *names, const struct value *row)
{
	struct out *o = ctx;
	struct buf tmp;

	buf_init(&tmp, (size_t)1 << 31);
	if (o->fmt == OUT_TABLE) {
		table_row(o, ncols, names, row);
	} else {
		if (!o->header_done && o->fmt != OUT_JSONL)
			delimited_row(o, ncols, names, NULL, &tmp);
		o->header_done = 1;
		if (row && o->fmt == OUT_JSONL)
			json_row(o, ncols, names, row, &tmp);
		else if (row)
			delimited_row(o, ncols, names, row, &tmp);
	}
	buf_release(&tmp);
	if (ferror(o->f))
		return error_code(TR_EIO, "cannot write the output: %s", strerror(errno ? errno : EIO));
	return 0;
}

void out_free(struct out *o)
{
	size_t i;

	if (!o)
		return;
	if (o->fmt == OUT_TABLE)
		table_flush(o);
	for (i = 0; i < o->nrows * o->ncols; i++)
		free(o->cells[i]);
	for (i = 0; o->names && i < o->ncols; i++)
		free(o->names[i]);
	free(o->names);
	free(o->cells);
	free(o->width);
	free(o);
}
