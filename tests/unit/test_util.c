/*
 * test_util.c - unit tests for util.c: the checked number parsers (ranges,
 * garbage, units), the capped buffer, JSON string escaping, UTF-8
 * validation, identifiers and the error/warning printers.  Nothing here
 * touches the network or a crawl file.
 */
#include "util.h"
#include "value.h"
#include "unit.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------- */

/* parse_int64 into a fresh variable: returns the parser's result, value in *v. */
static int p64(const char *text, int64_t min, int64_t max, int64_t *v)
{
	*v = INT64_C(-424242);
	return parse_int64(text, min, max, v);
}

static int pdur(const char *text, int64_t *v)
{
	*v = INT64_C(-424242);
	return parse_duration_ms(text, 0, INT64_C(1000000000000), v);
}

static int psize(const char *text, int64_t *v)
{
	*v = INT64_C(-424242);
	return parse_size(text, 0, INT64_C(1) << 50, v);
}

static int prate(const char *text, double *v)
{
	*v = -4242.0;
	return parse_rate(text, v);
}

/* The JSON string literal of s[0..len) as buf_add_json_string writes it (static buffer). */
static const char *json_lit(const char *s, size_t len)
{
	static char out[512];
	struct buf b;

	buf_init(&b, 4096);
	if (buf_add_json_string(&b, s, len)) {
		buf_release(&b);
		return "(error)";
	}
	snprintf(out, sizeof(out), "%s", b.p);
	buf_release(&b);
	return out;
}

#define U8(lit) utf8_valid((lit), sizeof(lit) - 1)

/* Runs fn with stderr sent to a temporary file; returns what was written (static). */
static const char *capture_stderr(void (*fn)(void))
{
	static char out[4096];
	char path[] = "/tmp/trawl-util-XXXXXX";
	int fd = mkstemp(path), saved;
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return "(mkstemp failed)";
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return out;
}

static int error_rc;

static void emit_error(void)
{
	error_rc = error_code(TR_EDB, "cannot open '%s': %d", "x.db", 7);
}

static void emit_warning(void)
{
	warning("slow host '%s'", "h");
}

/* ---- parse_int64 / parse_int ---------------------------------------------- */

TEST(parse_int64_values)
{
	int64_t v;

	CHECK_EQ_INT(p64("0", 0, 10, &v), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(p64("42", 0, 100, &v), 0);
	CHECK_EQ_INT(v, 42);
	CHECK_EQ_INT(p64("-5", -10, 10, &v), 0);
	CHECK_EQ_INT(v, -5);
	CHECK_EQ_INT(p64("007", 0, 10, &v), 0);
	CHECK_EQ_INT(v, 7);
	CHECK_EQ_INT(p64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	CHECK_EQ_INT(v, INT64_MAX);
	CHECK_EQ_INT(p64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	CHECK_EQ_INT(v, INT64_MIN);
}

TEST(parse_int64_ranges)
{
	int64_t v;

	CHECK_EQ_INT(p64("10", 0, 10, &v), 0);
	CHECK_EQ_INT(v, 10);
	CHECK_EQ_INT(p64("11", 0, 10, &v), -1);
	CHECK_EQ_INT(p64("0", 1, 10, &v), -1);
	CHECK_EQ_INT(p64("1", 1, 10, &v), 0);
	CHECK_EQ_INT(p64("-1", 0, 10, &v), -1);
	/* a failed parse does not store */
	CHECK_EQ_INT(v, -424242);
}

TEST(parse_int64_garbage)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "1x", "x1", "-", "+", "1.5", "1e3", "0x10", "\t1", "1\n", "--1", "١",
	};
	size_t i;
	int64_t v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!CHECK_EQ_INT(p64(bad[i], INT64_MIN, INT64_MAX, &v), -1))
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
	CHECK_EQ_INT(parse_int64(NULL, 0, 10, &v), -1);
}

TEST(parse_int64_overflow)
{
	int64_t v;

	CHECK_EQ_INT(p64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -1);
	CHECK_EQ_INT(p64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -1);
	CHECK_EQ_INT(p64("99999999999999999999999", INT64_MIN, INT64_MAX, &v), -1);
}

TEST(parse_int_ranges)
{
	int v = -7;

	CHECK_EQ_INT(parse_int("2147483647", INT_MIN, INT_MAX, &v), 0);
	CHECK_EQ_INT(v, INT_MAX);
	CHECK_EQ_INT(parse_int("-2147483648", INT_MIN, INT_MAX, &v), 0);
	CHECK_EQ_INT(v, INT_MIN);
	v = 3;
	CHECK_EQ_INT(parse_int("2147483648", INT_MIN, INT_MAX, &v), -1);
	CHECK_EQ_INT(parse_int("-2147483649", INT_MIN, INT_MAX, &v), -1);
	CHECK_EQ_INT(parse_int("4294967296", INT_MIN, INT_MAX, &v), -1);
	CHECK_EQ_INT(v, 3);
	CHECK_EQ_INT(parse_int("16", 1, 10000, &v), 0);
	CHECK_EQ_INT(v, 16);
	CHECK_EQ_INT(parse_int("10001", 1, 10000, &v), -1);
	CHECK_EQ_INT(parse_int("", 1, 10000, &v), -1);
	CHECK_EQ_INT(parse_int(" 5", 1, 10000, &v), -1);
	CHECK_EQ_INT(parse_int("5x", 1, 10000, &v), -1);
	CHECK_EQ_INT(v, 16);
}

/* ---- durations, sizes, rates, bools --------------------------------------- */

TEST(parse_duration_units)
{
	int64_t v;

	CHECK_EQ_INT(pdur("250ms", &v), 0);
	CHECK_EQ_INT(v, 250);
	CHECK_EQ_INT(pdur("10s", &v), 0);
	CHECK_EQ_INT(v, 10000);
	CHECK_EQ_INT(pdur("5m", &v), 0);
	CHECK_EQ_INT(v, 300000);
	CHECK_EQ_INT(pdur("2h", &v), 0);
	CHECK_EQ_INT(v, 7200000);
	CHECK_EQ_INT(pdur("1.5s", &v), 0);
	CHECK_EQ_INT(v, 1500);
	CHECK_EQ_INT(pdur("3", &v), 0);
	CHECK_EQ_INT(v, 3000);
	CHECK_EQ_INT(pdur("0.25", &v), 0);
	CHECK_EQ_INT(v, 250);
	CHECK_EQ_INT(pdur(".5s", &v), 0);
	CHECK_EQ_INT(v, 500);
	CHECK_EQ_INT(pdur("0", &v), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(pdur("0.5m", &v), 0);
	CHECK_EQ_INT(v, 30000);
	/* rounded to the nearest ms */
	CHECK_EQ_INT(pdur("1.4ms", &v), 0);
	CHECK_EQ_INT(v, 1);
	CHECK_EQ_INT(pdur("1.6ms", &v), 0);
	CHECK_EQ_INT(v, 2);
}

TEST(parse_duration_bad)
{
	static const char *const bad[] = {
		"", "-1", "-1s", "1d", "1 s", " 1s", "1s ", "s", "ms", "1S", "1sec", "1hh",
		"abc", "inf", "nan", "1e999", "1.2.3s", "--1",
	};
	size_t i;
	int64_t v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!CHECK_EQ_INT(pdur(bad[i], &v), -1))
			fprintf(stderr, "  accepted '%s' as %lld ms\n", bad[i], (long long)v);
	CHECK_EQ_INT(parse_duration_ms(NULL, 0, 1000, &v), -1);
}

TEST(parse_duration_hex_is_not_a_number_of_seconds)
{
	int64_t v;

	/* The documented forms are decimal; parse_int64 refuses hex, so must this. */
	CHECK_EQ_INT(pdur("0x10", &v), -1);
	CHECK_EQ_INT(pdur("0x1p4s", &v), -1);
}

TEST(parse_duration_range)
{
	int64_t v;

	CHECK_EQ_INT(parse_duration_ms("100ms", 100, 86400000, &v), 0);
	CHECK_EQ_INT(v, 100);
	CHECK_EQ_INT(parse_duration_ms("99ms", 100, 86400000, &v), -1);
	CHECK_EQ_INT(parse_duration_ms("24h", 100, 86400000, &v), 0);
	CHECK_EQ_INT(v, 86400000);
	CHECK_EQ_INT(parse_duration_ms("25h", 100, 86400000, &v), -1);
	CHECK_EQ_INT(parse_duration_ms("86401s", 100, 86400000, &v), -1);
	CHECK_EQ_INT(parse_duration_ms("0.05s", 100, 86400000, &v), -1);
	CHECK_EQ_INT(parse_duration_ms("1e300h", 0, INT64_C(1) << 62, &v), -1);
}

TEST(parse_size_units)
{
	int64_t v;

	CHECK_EQ_INT(psize("16MiB", &v), 0);
	CHECK_EQ_INT(v, 16777216);
	CHECK_EQ_INT(psize("512KiB", &v), 0);
	CHECK_EQ_INT(v, 524288);
	CHECK_EQ_INT(psize("1GiB", &v), 0);
	CHECK_EQ_INT(v, INT64_C(1073741824));
	CHECK_EQ_INT(psize("1k", &v), 0);
	CHECK_EQ_INT(v, 1000);
	CHECK_EQ_INT(psize("100k", &v), 0);
	CHECK_EQ_INT(v, 100000);
	CHECK_EQ_INT(psize("2M", &v), 0);
	CHECK_EQ_INT(v, 2000000);
	CHECK_EQ_INT(psize("3MB", &v), 0);
	CHECK_EQ_INT(v, 3000000);
	CHECK_EQ_INT(psize("1G", &v), 0);
	CHECK_EQ_INT(v, INT64_C(1000000000));
	CHECK_EQ_INT(psize("10", &v), 0);
	CHECK_EQ_INT(v, 10);
	CHECK_EQ_INT(psize("10B", &v), 0);
	CHECK_EQ_INT(v, 10);
	CHECK_EQ_INT(psize("1.5KiB", &v), 0);
	CHECK_EQ_INT(v, 1536);
	CHECK_EQ_INT(psize("0", &v), 0);
	CHECK_EQ_INT(v, 0);
}

TEST(parse_size_bad)
{
	static const char *const bad[] = {
		"", "-1", "-1k", "16mib", "16 MiB", "16MiB ", "MiB", "1T", "1TiB", "1kib", "x",
		"1e999", "inf",
	};
	size_t i;
	int64_t v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!CHECK_EQ_INT(psize(bad[i], &v), -1))
			fprintf(stderr, "  accepted '%s' as %lld\n", bad[i], (long long)v);
	CHECK_EQ_INT(parse_size("1023", 1024, INT64_C(1) << 31, &v), -1);
	CHECK_EQ_INT(parse_size("1KiB", 1024, INT64_C(1) << 31, &v), 0);
	CHECK_EQ_INT(v, 1024);
	CHECK_EQ_INT(parse_size("2GiB", 1024, INT64_C(1) << 31, &v), 0);
	CHECK_EQ_INT(v, INT64_C(2147483648));
	CHECK_EQ_INT(parse_size("2049MiB", 1024, INT64_C(1) << 31, &v), -1);
}

TEST(parse_size_top_of_int64_range)
{
	int64_t v = 0;
	int rc = parse_size("9223372036854775807", 0, INT64_MAX, &v);

	/* Either refused or a positive value: never a wrap-around to a negative size. */
	if (rc == 0)
		CHECK(v > 0);
	else
		CHECK_EQ_INT(rc, -1);
}

TEST(parse_rate_forms)
{
	double r;

	CHECK_EQ_INT(prate("50/s", &r), 0);
	CHECK_NEAR(r, 50.0, 0);
	CHECK_EQ_INT(prate("300/m", &r), 0);
	CHECK_NEAR(r, 5.0, 1e-12);
	CHECK_EQ_INT(prate("3600/h", &r), 0);
	CHECK_NEAR(r, 1.0, 1e-12);
	CHECK_EQ_INT(prate("2.5/s", &r), 0);
	CHECK_NEAR(r, 2.5, 0);
	CHECK_EQ_INT(prate("7", &r), 0);
	CHECK_NEAR(r, 7.0, 0);
	CHECK_EQ_INT(prate("1/h", &r), 0);
	CHECK_NEAR(r, 1.0 / 3600, 1e-15);
	CHECK_EQ_INT(prate("1000000/s", &r), 0);
	CHECK_NEAR(r, 1e6, 0);
	CHECK_EQ_INT(prate("unlimited", &r), 0);
	CHECK_NEAR(r, 0.0, 0);
	CHECK_EQ_INT(prate("0", &r), 0);
	CHECK_NEAR(r, 0.0, 0);
}

TEST(parse_rate_bad)
{
	static const char *const bad[] = {
		"", "0/s", "0/m", "0.0", "abc", "10/d", "10/", "/s", "-1/s", "10 /s", "10/s ",
		"10/S", "Unlimited", "0.5/h", "1000001/s", "inf/s", "1e999/s", "10/sec",
	};
	size_t i;
	double r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!CHECK_EQ_INT(prate(bad[i], &r), -1))
			fprintf(stderr, "  accepted '%s' as %g/s\n", bad[i], r);
	CHECK_EQ_INT(parse_rate(NULL, &r), -1);
}

TEST(parse_rate_plain_decimal_only)
{
	double r;

	/* like durations and sizes: decimal digits and a fraction, no hex or exponent */
	CHECK_EQ_INT(prate("0x10/s", &r), -1);
	CHECK_EQ_INT(prate("0x10", &r), -1);
	CHECK_EQ_INT(prate("1e3/s", &r), -1);
	CHECK_EQ_INT(prate("5e-1/s", &r), -1);
}

TEST(parse_bool_words)
{
	static const char *const yes[] = { "1", "true", "on", "yes" };
	static const char *const no[] = { "0", "false", "off", "no" };
	static const char *const bad[] = { "", "2", "y", "n", "maybe", "on ", " off", "enabled" };
	size_t i;
	int v;

	for (i = 0; i < 4; i++) {
		v = -1;
		CHECK_EQ_INT(parse_bool(yes[i], &v), 0);
		CHECK_EQ_INT(v, 1);
		v = -1;
		CHECK_EQ_INT(parse_bool(no[i], &v), 0);
		CHECK_EQ_INT(v, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 9;
		if (!CHECK_EQ_INT(parse_bool(bad[i], &v), -1))
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
		CHECK_EQ_INT(v, 9);
	}
}

/* ---- the capped buffer ---------------------------------------------------- */

TEST(buf_add_and_cap)
{
	struct buf b;

	buf_init(&b, 10);
	CHECK(b.p == NULL);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_INT(b.max, 10);
	CHECK_EQ_INT(buf_add(&b, "hello", 5), 0);
	CHECK_EQ_INT(b.len, 5);
	CHECK_EQ_STR(b.p, "hello");
	/* one byte too many: refused, nothing appended */
	CHECK_EQ_INT(buf_add(&b, "world!", 6), -1);
	CHECK_EQ_INT(b.len, 5);
	CHECK_EQ_STR(b.p, "hello");
	CHECK_EQ_INT(buf_add(&b, "world", 5), 0);
	CHECK_EQ_INT(b.len, 10);
	CHECK_EQ_STR(b.p, "helloworld");
	CHECK_EQ_INT(buf_add(&b, "", 0), 0);
	CHECK_EQ_INT(buf_add(&b, "x", 1), -1);
	CHECK_EQ_INT(buf_addstr(&b, "x"), -1);
	CHECK_EQ_INT(buf_addf(&b, "%d", 1), -1);
	CHECK_EQ_INT(b.len, 10);
	CHECK_EQ_STR(b.p, "helloworld");
	CHECK(b.alloc <= 11);
	buf_release(&b);
	CHECK(b.p == NULL);
	CHECK_EQ_INT(b.len, 0);
}

TEST(buf_zero_cap)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_EQ_INT(buf_add(&b, "", 0), 0);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_STR(b.p, "");
	CHECK_EQ_INT(buf_add(&b, "a", 1), -1);
	CHECK_EQ_INT(b.len, 0);
	buf_release(&b);
}

TEST(buf_grows_byte_by_byte)
{
	struct buf b;
	size_t i;
	int fails = 0;

	buf_init(&b, 1000);
	for (i = 0; i < 1000; i++)
		fails += buf_add(&b, i % 2 ? "b" : "a", 1) != 0;
	CHECK_EQ_INT(fails, 0);
	CHECK_EQ_INT(b.len, 1000);
	CHECK_EQ_INT(strlen(b.p), 1000);
	CHECK_EQ_INT(b.p[998], 'a');
	CHECK_EQ_INT(b.p[999], 'b');
	CHECK_EQ_INT(buf_add(&b, "c", 1), -1);
	CHECK_EQ_INT(b.len, 1000);
	CHECK_EQ_INT(b.p[1000], '\0');
	buf_release(&b);
}

TEST(buf_binary_bytes)
{
	struct buf b;

	buf_init(&b, 100);
	CHECK_EQ_INT(buf_add(&b, "a\0b", 3), 0);
	CHECK_EQ_INT(b.len, 3);
	CHECK(memcmp(b.p, "a\0b", 4) == 0);
	buf_release(&b);
}

TEST(buf_addf_long)
{
	struct buf b;
	char *big = xmalloc(5001), *want;
	size_t i;

	for (i = 0; i < 5000; i++)
		big[i] = (char)('a' + i % 26);
	big[5000] = '\0';
	buf_init(&b, 1 << 20);
	CHECK_EQ_INT(buf_addstr(&b, "<"), 0);
	CHECK_EQ_INT(buf_addf(&b, "%s|%d|%s", big, 12345, "end"), 0);
	want = xasprintf("<%s|12345|end", big);
	CHECK_EQ_INT(b.len, strlen(want));
	CHECK_EQ_STR(b.p, want);
	free(want);
	/* exactly 255 and 256 bytes: both sides of the small stack buffer */
	buf_reset(&b);
	CHECK_EQ_INT(buf_addf(&b, "%.255s", big), 0);
	CHECK_EQ_INT(b.len, 255);
	CHECK(memcmp(b.p, big, 255) == 0);
	buf_reset(&b);
	CHECK_EQ_INT(buf_addf(&b, "%.256s", big), 0);
	CHECK_EQ_INT(b.len, 256);
	CHECK(memcmp(b.p, big, 256) == 0);
	CHECK_EQ_INT(b.p[256], '\0');
	buf_release(&b);
	/* a long output that passes the cap is refused whole */
	buf_init(&b, 1000);
	CHECK_EQ_INT(buf_addstr(&b, "keep"), 0);
	CHECK_EQ_INT(buf_addf(&b, "%s", big), -1);
	CHECK_EQ_INT(b.len, 4);
	CHECK_EQ_STR(b.p, "keep");
	buf_release(&b);
	free(big);
}

TEST(buf_reset_keeps_memory)
{
	struct buf b;
	size_t alloc;
	char *p;

	buf_init(&b, 100);
	buf_addstr(&b, "abcdef");
	alloc = b.alloc;
	p = b.p;
	buf_reset(&b);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_STR(b.p, "");
	CHECK(b.p == p);
	CHECK_EQ_INT(b.alloc, alloc);
	CHECK_EQ_INT(buf_addstr(&b, "xy"), 0);
	CHECK_EQ_STR(b.p, "xy");
	buf_release(&b);
	/* reset of a never-used buffer is fine */
	buf_init(&b, 10);
	buf_reset(&b);
	CHECK_EQ_INT(b.len, 0);
	buf_release(&b);
}

TEST(buf_detach_takes_ownership)
{
	struct buf b;
	size_t len = 99;
	char *s;

	buf_init(&b, 100);
	buf_addstr(&b, "payload");
	s = buf_detach(&b, &len);
	CHECK_EQ_STR(s, "payload");
	CHECK_EQ_INT(len, 7);
	CHECK(b.p == NULL);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_INT(b.alloc, 0);
	/* the emptied buffer is usable again, under the same cap */
	CHECK_EQ_INT(buf_addstr(&b, "again"), 0);
	CHECK_EQ_STR(b.p, "again");
	CHECK_EQ_INT(buf_add(&b, "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789", 100), -1);
	buf_release(&b);
	free(s);
	/* detaching an empty buffer gives an empty string, not NULL */
	buf_init(&b, 100);
	len = 99;
	s = buf_detach(&b, &len);
	CHECK(s != NULL);
	CHECK_EQ_STR(s, "");
	CHECK_EQ_INT(len, 0);
	free(s);
	buf_init(&b, 100);
	buf_addstr(&b, "x");
	s = buf_detach(&b, NULL);
	CHECK_EQ_STR(s, "x");
	free(s);
}

/* ---- JSON strings ---------------------------------------------------------- */

TEST(json_string_escapes)
{
	CHECK_EQ_STR(json_lit("", 0), "\"\"");
	CHECK_EQ_STR(json_lit("plain", 5), "\"plain\"");
	CHECK_EQ_STR(json_lit("a\"b", 3), "\"a\\\"b\"");
	CHECK_EQ_STR(json_lit("a\\b", 3), "\"a\\\\b\"");
	CHECK_EQ_STR(json_lit("\n\r\t", 3), "\"\\n\\r\\t\"");
	CHECK_EQ_STR(json_lit("\x01", 1), "\"\\u0001\"");
	CHECK_EQ_STR(json_lit("\x08\x0c", 2), "\"\\b\\f\"");  /* the short escapes, as in templates */
	CHECK_EQ_STR(json_lit("\x1f", 1), "\"\\u001f\"");
	CHECK_EQ_STR(json_lit("\x7f", 1), "\"\\u007f\"");
	CHECK_EQ_STR(json_lit("a\0b", 3), "\"a\\u0000b\"");
	CHECK_EQ_STR(json_lit("/ <>&'", 6), "\"/ <>&'\"");
	CHECK_EQ_STR(json_lit("x\"\"y", 4), "\"x\\\"\\\"y\"");
	/* only len bytes are read */
	CHECK_EQ_STR(json_lit("abcdef", 3), "\"abc\"");
}

TEST(json_string_utf8_passthrough)
{
	/* é, €, 😀 and a 0x80..0xff byte that is part of them stay as bytes */
	static const char s[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";

	CHECK_EQ_STR(json_lit(s, sizeof(s) - 1), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(json_string_appends_and_respects_cap)
{
	struct buf b;

	buf_init(&b, 100);
	buf_addstr(&b, "{");
	CHECK_EQ_INT(buf_add_json_string(&b, "k", 1), 0);
	buf_addstr(&b, ":");
	CHECK_EQ_INT(buf_add_json_string(&b, "v\n", 2), 0);
	buf_addstr(&b, "}");
	CHECK_EQ_STR(b.p, "{\"k\":\"v\\n\"}");
	buf_release(&b);
	/* "\u0001" needs 6 bytes + 2 quotes: 7 is not enough */
	buf_init(&b, 7);
	CHECK_EQ_INT(buf_add_json_string(&b, "\x01", 1), -1);
	buf_release(&b);
	buf_init(&b, 8);
	CHECK_EQ_INT(buf_add_json_string(&b, "\x01", 1), 0);
	CHECK_EQ_STR(b.p, "\"\\u0001\"");
	buf_release(&b);
}

/* ---- UTF-8 ------------------------------------------------------------------ */

TEST(utf8_valid_accepts)
{
	CHECK_EQ_INT(utf8_valid("", 0), 1);
	CHECK_EQ_INT(U8("hello, world"), 1);
	CHECK_EQ_INT(U8("\x7f"), 1);
	CHECK_EQ_INT(U8("\xc2\x80"), 1);             /* U+0080, smallest 2-byte */
	CHECK_EQ_INT(U8("\xc3\xa9"), 1);             /* é */
	CHECK_EQ_INT(U8("\xdf\xbf"), 1);             /* U+07FF */
	CHECK_EQ_INT(U8("\xe0\xa0\x80"), 1);         /* U+0800, smallest 3-byte */
	CHECK_EQ_INT(U8("\xe2\x82\xac"), 1);         /* € */
	CHECK_EQ_INT(U8("\xed\x9f\xbf"), 1);         /* U+D7FF, just below the surrogates */
	CHECK_EQ_INT(U8("\xee\x80\x80"), 1);         /* U+E000, just above */
	CHECK_EQ_INT(U8("\xef\xbf\xbf"), 1);         /* U+FFFF */
	CHECK_EQ_INT(U8("\xf0\x90\x80\x80"), 1);     /* U+10000, smallest 4-byte */
	CHECK_EQ_INT(U8("\xf0\x9f\x98\x80"), 1);     /* 😀 */
	CHECK_EQ_INT(U8("\xf4\x8f\xbf\xbf"), 1);     /* U+10FFFF, the last */
	CHECK_EQ_INT(U8("a\xc3\xa9z\xf0\x9f\x98\x80!"), 1);
	/* NUL is a valid code point for this check (import refuses it separately) */
	CHECK_EQ_INT(utf8_valid("a\0b", 3), 1);
}

TEST(utf8_valid_refuses)
{
	CHECK_EQ_INT(U8("\xc0\x80"), 0);             /* overlong NUL */
	CHECK_EQ_INT(U8("\xc1\xbf"), 0);             /* overlong */
	CHECK_EQ_INT(U8("\xe0\x80\x80"), 0);         /* overlong 3-byte */
	CHECK_EQ_INT(U8("\xe0\x9f\xbf"), 0);         /* overlong U+07FF */
	CHECK_EQ_INT(U8("\xf0\x80\x80\x80"), 0);     /* overlong 4-byte */
	CHECK_EQ_INT(U8("\xf0\x8f\xbf\xbf"), 0);     /* overlong U+FFFF */
	CHECK_EQ_INT(U8("\xed\xa0\x80"), 0);         /* U+D800 surrogate */
	CHECK_EQ_INT(U8("\xed\xbf\xbf"), 0);         /* U+DFFF surrogate */
	CHECK_EQ_INT(U8("\xed\xa0\xbd\xed\xb8\x80"), 0); /* CESU-8 pair */
	CHECK_EQ_INT(U8("\xf4\x90\x80\x80"), 0);     /* U+110000 */
	CHECK_EQ_INT(U8("\xf5\x80\x80\x80"), 0);
	CHECK_EQ_INT(U8("\xf8\x88\x80\x80\x80"), 0); /* 5-byte form */
	CHECK_EQ_INT(U8("\xff"), 0);
	CHECK_EQ_INT(U8("\xfe"), 0);
	CHECK_EQ_INT(U8("\x80"), 0);                 /* lone continuation */
	CHECK_EQ_INT(U8("a\xbf"), 0);
	CHECK_EQ_INT(U8("\xc3\xa9\xa9"), 0);         /* extra continuation */
	CHECK_EQ_INT(U8("\xc3"), 0);                 /* truncated at the end */
	CHECK_EQ_INT(U8("ab\xe2\x82"), 0);
	CHECK_EQ_INT(U8("\xf0\x9f\x98"), 0);
	CHECK_EQ_INT(U8("\xc3z"), 0);                /* continuation missing mid-string */
	CHECK_EQ_INT(U8("\xe2\x82z"), 0);
	CHECK_EQ_INT(U8("\xf0\x9f\x98z"), 0);
	CHECK_EQ_INT(U8("caf\xe9"), 0);              /* Latin-1 */
	/* the length is honoured: a valid prefix of a longer sequence is cut */
	CHECK_EQ_INT(utf8_valid("\xc3\xa9", 1), 0);
	CHECK_EQ_INT(utf8_valid("\xe2\x82\xac", 2), 0);
	CHECK_EQ_INT(utf8_valid("ab\xff", 2), 1);
}

/* ---- identifiers --------------------------------------------------------------- */

TEST(ident_valid_names)
{
	char name[80];

	CHECK_EQ_INT(ident_valid("a"), 1);
	CHECK_EQ_INT(ident_valid("_"), 1);
	CHECK_EQ_INT(ident_valid("_x1"), 1);
	CHECK_EQ_INT(ident_valid("Title_2"), 1);
	CHECK_EQ_INT(ident_valid(""), 0);
	CHECK_EQ_INT(ident_valid(NULL), 0);
	CHECK_EQ_INT(ident_valid("1a"), 0);
	CHECK_EQ_INT(ident_valid("a-b"), 0);
	CHECK_EQ_INT(ident_valid("a b"), 0);
	CHECK_EQ_INT(ident_valid("a.b"), 0);
	CHECK_EQ_INT(ident_valid("a\"b"), 0);
	CHECK_EQ_INT(ident_valid("caf\xc3\xa9"), 0);
	CHECK_EQ_INT(ident_valid(" a"), 0);
	memset(name, 'x', 64);
	name[64] = '\0';
	CHECK_EQ_INT(ident_valid(name), 1);
	name[64] = 'x';
	name[65] = '\0';
	CHECK_EQ_INT(ident_valid(name), 0);
}

/* ---- misc ------------------------------------------------------------------------ */

TEST(error_and_warning_text)
{
	CHECK_EQ_STR(capture_stderr(emit_error), "trawl: cannot open 'x.db': 7\n");
	CHECK_EQ_INT(error_rc, TR_EDB);
	CHECK_EQ_INT(TR_EUSAGE, -2);
	CHECK_EQ_INT(TR_EDB, -3);
	CHECK_EQ_INT(TR_EIO, -4);
	CHECK_EQ_INT(TR_EBUSY, -5);
	trawl_quiet = 0;
	CHECK_EQ_STR(capture_stderr(emit_warning), "trawl: warning: slow host 'h'\n");
	trawl_quiet = 1;
	CHECK_EQ_STR(capture_stderr(emit_warning), "");
	/* --quiet does not silence errors */
	CHECK_EQ_STR(capture_stderr(emit_error), "trawl: cannot open 'x.db': 7\n");
	trawl_quiet = 0;
}

TEST(string_helpers)
{
	char *s = xstrndup("abcdef", 3), *t = xasprintf("%s-%03d", "n", 7), *u = xstrdup("");
	struct value v;

	CHECK_EQ_STR(s, "abc");
	CHECK_EQ_STR(t, "n-007");
	CHECK_EQ_STR(u, "");
	free(s);
	free(t);
	free(u);
	memset(&v, 0, sizeof(v));
	v.type = VAL_TEXT;
	v.s = xstrdup("owned");
	v.len = 5;
	value_release(&v);
	CHECK_EQ_INT(v.type, VAL_NULL);
	CHECK(v.s == NULL);
	CHECK_EQ_INT(v.len, 0);
	value_release(NULL);
}

TEST(clocks)
{
	int64_t w = now_ms(), m1 = mono_ms(), m2;

	/* after 2020-01-01 and before 2100-01-01 */
	CHECK(w > INT64_C(1577836800000));
	CHECK(w < INT64_C(4102444800000));
	m2 = mono_ms();
	CHECK(m2 >= m1);
}

int main(void)
{
	RUN(parse_int64_values);
	RUN(parse_int64_ranges);
	RUN(parse_int64_garbage);
	RUN(parse_int64_overflow);
	RUN(parse_int_ranges);
	RUN(parse_duration_units);
	RUN(parse_duration_bad);
	RUN(parse_duration_hex_is_not_a_number_of_seconds);
	RUN(parse_duration_range);
	RUN(parse_size_units);
	RUN(parse_size_bad);
	RUN(parse_size_top_of_int64_range);
	RUN(parse_rate_forms);
	RUN(parse_rate_bad);
	RUN(parse_rate_plain_decimal_only);
	RUN(parse_bool_words);
	RUN(buf_add_and_cap);
	RUN(buf_zero_cap);
	RUN(buf_grows_byte_by_byte);
	RUN(buf_binary_bytes);
	RUN(buf_addf_long);
	RUN(buf_reset_keeps_memory);
	RUN(buf_detach_takes_ownership);
	RUN(json_string_escapes);
	RUN(json_string_utf8_passthrough);
	RUN(json_string_appends_and_respects_cap);
	RUN(utf8_valid_accepts);
	RUN(utf8_valid_refuses);
	RUN(ident_valid_names);
	RUN(error_and_warning_text);
	RUN(string_helpers);
	RUN(clocks);
	return unit_done();
}
