/*
 * test_output.c - unit tests for output.c: each format written to a
 * tmpfile() and read back byte for byte.  CSV quoting and CRLF, the header
 * row of an empty result, NULL cells, numbers that read back exactly, TSV
 * escapes, JSON Lines types, the aligned table, and a failing stream.
 */
#include "output.h"
#include "util.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------- */

static struct value vtext(const char *s)
{
	struct value v;

	memset(&v, 0, sizeof(v));
	v.type = VAL_TEXT;
	v.s = (char *)s;
	v.len = strlen(s);
	return v;
}

static struct value vint(int64_t i)
{
	struct value v;

	memset(&v, 0, sizeof(v));
	v.type = VAL_INT;
	v.i = i;
	return v;
}

static struct value vreal(double d)
{
	struct value v;

	memset(&v, 0, sizeof(v));
	v.type = VAL_REAL;
	v.d = d;
	return v;
}

static struct value vnull(void)
{
	struct value v;

	memset(&v, 0, sizeof(v));
	return v;
}

/* Everything written to f so far (static buffer). */
static const char *slurp(FILE *f)
{
	static char out[1 << 16];
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	return out;
}

/*
 * Writes nrows rows of ncols values through a writer of format fmt, then
 * the final NULL row, frees the writer and returns the output (static).
 */
static const char *render(enum out_format fmt, size_t ncols, const char *const *names,
			  const struct value *rows, size_t nrows)
{
	FILE *f = tmpfile();
	struct out *o;
	const char *s;
	size_t r;

	if (!f)
		return "(tmpfile failed)";
	o = out_new(f, fmt);
	for (r = 0; r < nrows; r++)
		if (out_row(o, ncols, names, rows + r * ncols))
			return "(out_row failed)";
	if (out_row(o, ncols, names, NULL))
		return "(out_row failed)";
	out_free(o);
	s = slurp(f);
	fclose(f);
	return s;
}

/* The text of one real in CSV (static). */
static const char *real_text(double d)
{
	static const char *const names[] = { "x" };
	static char out[128];
	struct value v = vreal(d);
	const char *s = render(OUT_CSV, 1, names, &v, 1);

	/* drop "x\r\n" and the trailing "\r\n" */
	snprintf(out, sizeof(out), "%s", s + 3);
	if (strlen(out) >= 2)
		out[strlen(out) - 2] = '\0';
	return out;
}

/* Display width of a UTF-8 line up to byte n (code points, all narrow here). */
static size_t columns_before(const char *line, size_t n)
{
	size_t i, w = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)line[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* ---- CSV ------------------------------------------------------------------ */

TEST(csv_quoting)
{
	static const char *const names[] = { "a", "b", "c" };
	struct value rows[9];

	rows[0] = vtext("x,y");
	rows[1] = vtext("say \"hi\"");
	rows[2] = vtext("l1\nl2");
	rows[3] = vtext("cr\rhere");
	rows[4] = vtext("plain");
	rows[5] = vnull();
	rows[6] = vint(42);
	rows[7] = vtext("");
	rows[8] = vtext(" lead and trail ");
	CHECK_EQ_STR(render(OUT_CSV, 3, names, rows, 3),
		     "a,b,c\r\n"
		     "\"x,y\",\"say \"\"hi\"\"\",\"l1\nl2\"\r\n"
		     "\"cr\rhere\",plain,\r\n"
		     "42,, lead and trail \r\n");
}

TEST(csv_header_quoted_too)
{
	static const char *const names[] = { "a,b", "q\"", "plain" };
	struct value rows[3];

	rows[0] = vint(1);
	rows[1] = vint(2);
	rows[2] = vint(3);
	CHECK_EQ_STR(render(OUT_CSV, 3, names, rows, 1), "\"a,b\",\"q\"\"\",plain\r\n1,2,3\r\n");
}

TEST(csv_header_without_rows)
{
	static const char *const names[] = { "key", "state", "http_status" };
	FILE *f = tmpfile();
	struct out *o = out_new(f, OUT_CSV);

	/* only the final call, as store_export makes when nothing matched */
	CHECK_EQ_INT(out_row(o, 3, names, NULL), 0);
	out_free(o);
	CHECK_EQ_STR(slurp(f), "key,state,http_status\r\n");
	fclose(f);
	/* and the header is written once, not again at the end */
	CHECK_EQ_STR(render(OUT_TSV, 3, names, NULL, 0), "key\tstate\thttp_status\n");
}

TEST(csv_null_and_empty)
{
	static const char *const names[] = { "n", "e" };
	struct value rows[2];

	rows[0] = vnull();
	rows[1] = vtext("");
	CHECK_EQ_STR(render(OUT_CSV, 2, names, rows, 1), "n,e\r\n,\r\n");
}

TEST(numbers)
{
	static const char *const names[] = { "i", "j", "k" };
	struct value rows[3];
	double sum = 0.1 + 0.2, third = 1.0 / 3;
	const char *s;

	rows[0] = vint(INT64_MIN);
	rows[1] = vint(INT64_MAX);
	rows[2] = vint(0);
	CHECK_EQ_STR(render(OUT_CSV, 3, names, rows, 1),
		     "i,j,k\r\n-9223372036854775808,9223372036854775807,0\r\n");
	CHECK_EQ_STR(real_text(0.1), "0.1");
	CHECK_EQ_STR(real_text(2.5), "2.5");
	CHECK_EQ_STR(real_text(-7.25), "-7.25");
	CHECK_EQ_STR(real_text(100.0), "100");
	CHECK_EQ_STR(real_text(1e300), "1e+300");
	CHECK_EQ_STR(real_text(1e-300), "1e-300");
	CHECK_EQ_STR(real_text(123456.789), "123456.789");
	/* values that need 17 digits read back exactly */
	s = real_text(sum);
	CHECK_EQ_STR(s, "0.30000000000000004");
	CHECK(strtod(s, NULL) == sum);
	/* shortest text that reads back: 16 digits here, not 17 */
	s = real_text(third);
	CHECK(strtod(s, NULL) == third);
	CHECK_EQ_STR(s, "0.3333333333333333");
	s = real_text(5e-324);
	CHECK(strtod(s, NULL) == 5e-324);
	s = real_text(1.7976931348623157e308);
	CHECK(strtod(s, NULL) == 1.7976931348623157e308);
}

/* ---- TSV ------------------------------------------------------------------ */

TEST(tsv_escapes)
{
	static const char *const names[] = { "a\tb", "c" };
	struct value rows[4];

	rows[0] = vtext("tab\there");
	rows[1] = vtext("nl\ncr\rbs\\end");
	rows[2] = vtext("x,\"y\"");
	rows[3] = vnull();
	CHECK_EQ_STR(render(OUT_TSV, 2, names, rows, 2),
		     "a\\tb\tc\n"
		     "tab\\there\tnl\\ncr\\rbs\\\\end\n"
		     "x,\"y\"\t\n");
}

TEST(tsv_numbers)
{
	static const char *const names[] = { "i", "r" };
	struct value rows[2];

	rows[0] = vint(-5);
	rows[1] = vreal(0.1);
	CHECK_EQ_STR(render(OUT_TSV, 2, names, rows, 1), "i\tr\n-5\t0.1\n");
}

/* ---- JSON Lines ------------------------------------------------------------------ */

TEST(jsonl_types)
{
	static const char *const names[] = { "n", "r", "s", "z", "e" };
	struct value rows[10];

	rows[0] = vint(5);
	rows[1] = vreal(2.5);
	rows[2] = vtext("q\"\n\\\t\x01/\xc3\xa9");
	rows[3] = vnull();
	rows[4] = vtext("");
	rows[5] = vint(-9007199254740993);
	rows[6] = vreal(0.1 + 0.2);
	rows[7] = vtext("123");
	rows[8] = vint(0);
	rows[9] = vtext("null");
	CHECK_EQ_STR(render(OUT_JSONL, 5, names, rows, 2),
		     "{\"n\":5,\"r\":2.5,\"s\":\"q\\\"\\n\\\\\\t\\u0001/\xc3\xa9\",\"z\":null,\"e\":\"\"}\n"
		     "{\"n\":-9007199254740993,\"r\":0.30000000000000004,\"s\":\"123\",\"z\":0,\"e\":\"null\"}\n");
}

TEST(jsonl_no_rows_no_output)
{
	static const char *const names[] = { "a" };

	CHECK_EQ_STR(render(OUT_JSONL, 1, names, NULL, 0), "");
}

TEST(jsonl_names_escaped)
{
	static const char *const names[] = { "we\"ird", "x" };
	struct value rows[2];

	rows[0] = vint(1);
	rows[1] = vnull();
	CHECK_EQ_STR(render(OUT_JSONL, 2, names, rows, 1), "{\"we\\\"ird\":1,\"x\":null}\n");
}

TEST(jsonl_lines_are_json)
{
	/* SQLite returns Inf for an overflowing literal (SELECT 1e999): every
	 * line must still parse as JSON. */
	static const char *const names[] = { "big", "neg" };
	struct value rows[2];
	const char *out;
	cJSON *j;

	rows[0] = vreal(HUGE_VAL);
	rows[1] = vreal(-HUGE_VAL);
	out = render(OUT_JSONL, 2, names, rows, 1);
	j = cJSON_Parse(out);
	if (!CHECK(j != NULL))
		fprintf(stderr, "  not JSON: %s", out);
	cJSON_Delete(j);
}

TEST(jsonl_invalid_utf8_text)
{
	/* a kept body that is not UTF-8 (invalid_json = keep) must not make the
	 * line invalid JSON: JSON text is UTF-8 (RFC 8259) */
	static const char *const names[] = { "body" };
	struct value v = vtext("ok \xff\xfe end");
	const char *out = render(OUT_JSONL, 1, names, &v, 1);

	if (!CHECK(utf8_valid(out, strlen(out))))
		fprintf(stderr, "  not UTF-8: %s", out);
}

TEST(empty_blob)
{
	/* SQLite gives a NULL pointer for a zero-length blob (SELECT x'') */
	static const char *const names[] = { "b" };
	struct value v;

	memset(&v, 0, sizeof(v));
	v.type = VAL_BLOB;
	v.s = NULL;
	v.len = 0;
	CHECK_EQ_STR(render(OUT_CSV, 1, names, &v, 1), "b\r\n\r\n");
	CHECK_EQ_STR(render(OUT_TSV, 1, names, &v, 1), "b\n\n");
	CHECK_EQ_STR(render(OUT_JSONL, 1, names, &v, 1), "{\"b\":\"\"}\n");
	CHECK_EQ_STR(render(OUT_TABLE, 1, names, &v, 1), "b\n-\n \n");
}

TEST(jsonl_round_trip_through_cjson)
{
	static const char *const names[] = { "i", "r", "s" };
	struct value rows[3];
	const char *out;
	cJSON *j;

	rows[0] = vint(123456789);
	rows[1] = vreal(0.1 + 0.2);
	rows[2] = vtext("line\nbreak \"q\" \xe2\x82\xac");
	out = render(OUT_JSONL, 3, names, rows, 1);
	j = cJSON_Parse(out);
	if (CHECK(j != NULL)) {
		CHECK_NEAR(cJSON_GetObjectItem(j, "i")->valuedouble, 123456789, 0);
		CHECK(cJSON_GetObjectItem(j, "r")->valuedouble == 0.1 + 0.2);
		CHECK_EQ_STR(cJSON_GetObjectItem(j, "s")->valuestring, "line\nbreak \"q\" \xe2\x82\xac");
	}
	cJSON_Delete(j);
}

/* ---- table --------------------------------------------------------------------- */

TEST(table_alignment)
{
	static const char *const names[] = { "key", "n" };
	struct value rows[6];

	rows[0] = vtext("a");
	rows[1] = vint(1);
	rows[2] = vtext("longer");
	rows[3] = vint(12345);
	rows[4] = vtext("b");
	rows[5] = vnull();
	CHECK_EQ_STR(render(OUT_TABLE, 2, names, rows, 3),
		     "key     n    \n"
		     "------  -----\n"
		     "a       1    \n"
		     "longer  12345\n"
		     "b       NULL \n");
}

TEST(table_header_only)
{
	static const char *const names[] = { "key", "state" };

	CHECK_EQ_STR(render(OUT_TABLE, 2, names, NULL, 0), "key  state\n---  -----\n");
}

TEST(table_controls_and_width_cap)
{
	static const char *const names[] = { "v" };
	char long_cell[101];
	struct value rows[2];
	char want[512];

	memset(long_cell, 'x', 100);
	long_cell[100] = '\0';
	rows[0] = vtext("a\tb\nc");
	rows[1] = vtext(long_cell);
	/* control characters become spaces; cells stop at 60 */
	snprintf(want, sizeof(want), "%-60s\n%.60s\n%-60s\n%.60s\n", "v",
		 "------------------------------------------------------------", "a b c", long_cell);
	CHECK_EQ_STR(render(OUT_TABLE, 1, names, rows, 2), want);
}

TEST(table_after_the_sample)
{
	static const char *const names[] = { "k" };
	struct value rows[202];
	const char *out;
	size_t i, lines = 0;

	for (i = 0; i < 202; i++)
		rows[i] = vtext(i < 201 ? "ab" : "longer than the column");
	out = render(OUT_TABLE, 1, names, rows, 202);
	for (i = 0; out[i]; i++)
		lines += out[i] == '\n';
	CHECK_EQ_INT(lines, 204);
	CHECK(strncmp(out, "k \n--\nab\n", 9) == 0);
	/* a row after the first 200 is printed in full, not cut to the sampled width */
	CHECK(strstr(out, "\nab\nlonger than the column\n") != NULL);
}

TEST(table_utf8_cells)
{
	static const char *const names[] = { "name", "n" };
	struct value rows[4];
	char cell[64];
	const char *out, *line2, *line3;
	size_t i;

	/* "é" is one column on a terminal: the next column must line up */
	rows[0] = vtext("caf\xc3\xa9");
	rows[1] = vint(1);
	rows[2] = vtext("cafe");
	rows[3] = vint(2);
	out = render(OUT_TABLE, 2, names, rows, 2);
	line2 = strchr(out, '\n') ? strchr(strchr(out, '\n') + 1, '\n') + 1 : out;
	line3 = strchr(line2, '\n') + 1;
	CHECK_EQ_INT(columns_before(line2, (size_t)(strchr(line2, '1') - line2)),
		     columns_before(line3, (size_t)(strchr(line3, '2') - line3)));
	/* a cut at the width never splits a character */
	cell[0] = 'a';
	for (i = 0; i < 30; i++)
		memcpy(cell + 1 + 2 * i, "\xc3\xa9", 2);
	cell[61] = '\0';
	rows[0] = vtext(cell);
	out = render(OUT_TABLE, 2, names, rows, 1);
	if (!CHECK(utf8_valid(out, strlen(out))))
		fprintf(stderr, "  table output is not valid UTF-8\n");
}

/* ---- formats and errors ---------------------------------------------------------------- */

TEST(parse_format)
{
	enum out_format f = OUT_TABLE;

	CHECK_EQ_INT(out_parse_format("csv", &f), 0);
	CHECK_EQ_INT(f, OUT_CSV);
	CHECK_EQ_INT(out_parse_format("tsv", &f), 0);
	CHECK_EQ_INT(f, OUT_TSV);
	CHECK_EQ_INT(out_parse_format("jsonl", &f), 0);
	CHECK_EQ_INT(f, OUT_JSONL);
	CHECK_EQ_INT(out_parse_format("table", &f), 0);
	CHECK_EQ_INT(f, OUT_TABLE);
	CHECK_EQ_INT(out_parse_format("json", &f), -1);
	CHECK_EQ_INT(out_parse_format("CSV", &f), -1);
	CHECK_EQ_INT(out_parse_format("", &f), -1);
	CHECK_EQ_INT(out_parse_format("csv ", &f), -1);
	CHECK_EQ_INT(f, OUT_TABLE);
}

TEST(write_error_is_eio)
{
	static const char *const names[] = { "a" };
	struct value v = vtext("x");
	FILE *f = fopen("/dev/full", "w");
	struct out *o;
	int rc, saved, fd;

	if (!CHECK(f != NULL))
		return;
	setvbuf(f, NULL, _IONBF, 0);
	o = out_new(f, OUT_CSV);
	fflush(stderr);
	saved = dup(2);
	fd = open("/dev/null", O_WRONLY);
	dup2(fd, 2);
	rc = out_row(o, 1, names, &v);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	CHECK_EQ_INT(rc, TR_EIO);
	out_free(o);
	fclose(f);
	out_free(NULL);
}

int main(void)
{
	RUN(csv_quoting);
	RUN(csv_header_quoted_too);
	RUN(csv_header_without_rows);
	RUN(csv_null_and_empty);
	RUN(numbers);
	RUN(tsv_escapes);
	RUN(tsv_numbers);
	RUN(jsonl_types);
	RUN(jsonl_no_rows_no_output);
	RUN(jsonl_names_escaped);
	RUN(jsonl_lines_are_json);
	RUN(jsonl_invalid_utf8_text);
	RUN(empty_blob);
	RUN(jsonl_round_trip_through_cjson);
	RUN(table_alignment);
	RUN(table_header_only);
	RUN(table_controls_and_width_cap);
	RUN(table_after_the_sample);
	RUN(table_utf8_cells);
	RUN(parse_format);
	RUN(write_error_is_eio);
	return unit_done();
}
