/*
 * util.c - shared helpers: error reporting, checked parsers, clocks, the
 * capped buffer.  Nothing here knows about crawls, curl or SQLite.
 */
#include "util.h"
#include "value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int trawl_quiet;

int error_code(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("trawl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int errmsg(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	if (trawl_quiet)
		return;
	fputs("trawl: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void oom(size_t n)
{
	fprintf(stderr, "trawl: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return s;
}

void value_release(struct value *v)
{
	if (!v)
		return;
	if (v->type == VAL_TEXT || v->type == VAL_BLOB)
		free(v->s);
	memset(v, 0, sizeof(*v));
}

int parse_int64(const char *text, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!text || !*text || isspace((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_int(const char *text, int min, int max, int *out)
{
	int64_t v;

	if (parse_int64(text, min, max, &v))
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * The plain decimal number at the start of text (digits with an optional
 * fraction: no sign, exponent or hex): 0 with *v and *used, or -1.
 */
static int parse_decimal(const char *text, double *v, size_t *used)
{
	char number[64], *end;
	size_t n = text ? strspn(text, "0123456789.") : 0;

	if (!n || n >= sizeof(number))
		return -1;
	memcpy(number, text, n);
	number[n] = '\0';
	errno = 0;
	*v = strtod(number, &end);
	if (errno || *end || !isfinite(*v))
		return -1;
	*used = n;
	return 0;
}

/* Parses a non-negative decimal number with an optional fraction and a unit
 * suffix from units[]; the result is number * multiplier, rounded. */
struct unit {
	const char *suffix;
	double mult;
};

static int parse_with_unit(const char *text, const struct unit *units, double bare,
			   int64_t min, int64_t max, int64_t *out)
{
	size_t n;
	double v, mult = bare;

	if (parse_decimal(text, &v, &n))
		return -1;
	if (text[n]) {
		const struct unit *u;

		for (u = units; u->suffix; u++)
			if (!strcmp(text + n, u->suffix))
				break;
		if (!u->suffix)
			return -1;
		mult = u->mult;
	}
	v = floor(v * mult + 0.5);
	if (v < (double)min || v > (double)max || v >= 9.2e18)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int parse_duration_ms(const char *text, int64_t min_ms, int64_t max_ms, int64_t *out)
{
	static const struct unit units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { NULL, 0 }
	};
	return parse_with_unit(text, units, 1000, min_ms, max_ms, out);
}

int parse_size(const char *text, int64_t min, int64_t max, int64_t *out)
{
	static const struct unit units[] = {
		{ "B", 1 }, { "k", 1e3 }, { "K", 1e3 }, { "KB", 1e3 }, { "KiB", 1024 },
		{ "M", 1e6 }, { "MB", 1e6 }, { "MiB", 1048576 },
		{ "G", 1e9 }, { "GB", 1e9 }, { "GiB", 1073741824 }, { NULL, 0 }
	};
	return parse_with_unit(text, units, 1, min, max, out);
}

int parse_rate(const char *text, double *per_second)
{
	char *end;
	double v, div;

	if (!text)
		return -1;
	if (!strcmp(text, "0") || !strcmp(text, "unlimited")) {
		*per_second = 0;
		return 0;
	}
	{
		size_t n;

		if (parse_decimal(text, &v, &n) || v <= 0)
			return -1;
		end = (char *)text + n;
	}
	if (!strcmp(end, "/s") || !*end)
		div = 1;
	else if (!strcmp(end, "/m"))
		div = 60;
	else if (!strcmp(end, "/h"))
		div = 3600;
	else
		return -1;
	v /= div;
	if (v < 1.0 / 3600 || v > 1e6)
		return -1;
	*per_second = v;
	return 0;
}

int parse_bool(const char *text, int *out)
{
	static const char *const yes[] = { "1", "true", "on", "yes", NULL };
	static const char *const no[] = { "0", "false", "off", "no", NULL };
	int i;

	for (i = 0; yes[i]; i++)
		if (!strcmp(text, yes[i]))
			return *out = 1, 0;
	for (i = 0; no[i]; i++)
		if (!strcmp(text, no[i]))
			return *out = 0, 0;
	return -1;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

int buf_add(struct buf *b, const void *data, size_t n)
{
	if (n > b->max - b->len)
		return -1;
	if (b->len + n + 1 > b->alloc) {
		size_t want = b->alloc ? b->alloc : 256;

		while (want < b->len + n + 1)
			want *= 2;
		if (want > b->max + 1)
			want = b->max + 1;
		b->p = xrealloc(b->p, want);
		b->alloc = want;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	rc = buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void buf_release(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->alloc = 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->p ? b->p : xstrdup("");

	if (len)
		*len = b->len;
	b->p = NULL;
	b->len = b->alloc = 0;
	return p;
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), 0 if invalid. */
static size_t utf8_seq(const char *s, size_t len)
{
	unsigned char c = (unsigned char)s[0];
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

	if (n > len || !utf8_valid(s, n))
		return 0;
	return n;
}

size_t json_escape_byte(unsigned char c, char esc[6])
{
	static const char hex[] = "0123456789abcdef";
	char one;

	if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
		return 0;
	switch (c) {
	case '"': one = '"'; break;
	case '\\': one = '\\'; break;
	case '\n': one = 'n'; break;
	case '\r': one = 'r'; break;
	case '\t': one = 't'; break;
	case '\b': one = 'b'; break;
	case '\f': one = 'f'; break;
	default:
		memcpy(esc, "\\u00", 4);
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		return 6;
	}
	esc[0] = '\\';
	esc[1] = one;
	return 2;
}

int buf_add_json_string(struct buf *b, const char *s, size_t len)
{
	size_t i, start = 0;

	if (buf_add(b, "\"", 1))
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t n = 2;

		if (c >= 0x80) {
			size_t seq = utf8_seq(s + i, len - i);

			if (seq) {
				i += seq - 1;
				continue;
			}
			/* not UTF-8: the line must stay valid JSON */
			if (buf_add(b, s + start, i - start) || buf_addstr(b, "\\ufffd"))
				return -1;
			start = i + 1;
			continue;
		}
		if (!(n = json_escape_byte(c, esc)))
			continue;
		if (buf_add(b, s + start, i - start))
			return -1;
		start = i + 1;
		if (buf_add(b, esc, n))
			return -1;
	}
	if (buf_add(b, s + start, len - start))
		return -1;
	return buf_add(b, "\"", 1);
}

int utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int ident_valid(const char *name)
{
	size_t i;

	if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return 0;
	for (i = 1; name[i]; i++)
		if (!(isalnum((unsigned char)name[i]) || name[i] == '_'))
			return 0;
	return i <= 64;
}

int check_stdout(void)
{
	if (fflush(stdout) || ferror(stdout))
		return error_code(TR_EIO, "cannot write to standard output: %s",
				  strerror(errno ? errno : EIO));
	return 0;
}
