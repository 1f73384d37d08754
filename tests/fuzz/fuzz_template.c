/*
 * fuzz_template.c - templates (template.c) against arbitrary template text
 * and arbitrary column values.
 *
 * Input: one MODE byte, then TEMPLATE, a NUL, and VALUE (the rest; it may
 * hold NUL bytes).  MODE bits 0-2 pick the place (TPL_URL, TPL_JSON,
 * TPL_FORM, TPL_HEADER, TPL_RAW, modulo 5), bit 3 asks for a whole-URL
 * template, bit 4 for a small output cap (bits 5-7 times 37 bytes) instead
 * of 64 KiB.  Every column of the template reads VALUE.
 *
 * Two passes per input:
 *  1. TEMPLATE itself: compile, bind ${VAR}s, expand.  Return codes are the
 *     documented ones, output respects the cap and is NUL-terminated, a
 *     header never holds CR or LF, and no error message quotes the value of
 *     an environment variable, or a column value in a header.
 *  2. A fixed template around VALUE, where the exact result is known:
 *       TPL_URL, whole URL  "{x}"   the value verbatim
 *       TPL_URL             "/{x}"  "/" then ^([A-Za-z0-9._~-]|%[0-9A-F]{2})*$,
 *                                   which percent-decodes to the value
 *       TPL_FORM            "{x}"   the same with '+' for space
 *       TPL_JSON            "{x}"   a JSON string cJSON parses back to the value
 *                                   (value valid UTF-8 without NUL)
 *       TPL_HEADER          "{x}"   the value, or TPL_EINVAL iff it holds CR, LF, NUL
 *       TPL_RAW             "{x}"   the value verbatim
 *     and the expansion fails with TPL_EINVAL exactly when that result
 *     would be longer than the cap.
 */
#include "fuzz.h"

#include <cjson/cJSON.h>

#include "template.h"
#include "util.h"

#define BIG_CAP (64 * 1024)
#define SECRET "fuzz-secret-7f3a9c"

struct column {
	const char *p;
	size_t len;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* ${FUZZ_SECRET} must never surface in a message; ${FUZZ_CRLF} is refused in headers */
	setenv("FUZZ_SECRET", SECRET, 1);
	setenv("FUZZ_CRLF", SECRET "\r\nX-Injected: 1", 1);
	setenv("FUZZ_EMPTY", "", 1);
	return 0;
}

static const char *lookup(void *ctx, const char *name, size_t *len)
{
	const struct column *c = ctx;

	FUZZ_CHECK(name != NULL && *name != '\0', "lookup of an empty column name");
	*len = c->len;
	return c->p;
}

static int has_crlf_nul(const char *s, size_t n)
{
	return memchr(s, '\r', n) != NULL || memchr(s, '\n', n) != NULL || memchr(s, '\0', n) != NULL;
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower-case hex does not match the pattern */
}

/* The length percent-encoding gives the value (per byte 1 or 3; "." and ".." whole). */
static size_t url_len(const char *v, size_t n, int plus)
{
	size_t i, len = 0;

	if ((n == 1 && v[0] == '.') || (n == 2 && v[0] == '.' && v[1] == '.'))
		return 3 * n;
	for (i = 0; i < n; i++)
		len += is_unreserved((unsigned char)v[i]) || (plus && v[i] == ' ') ? 1 : 3;
	return len;
}

/* s (n bytes) must match ^([A-Za-z0-9._~-]|%[0-9A-F]{2})*$ ('+' too with plus) and decode to v. */
static void check_url(const char *s, size_t n, const char *v, size_t vlen, int plus)
{
	size_t i = 0, k = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		int dec;

		if (c == '%') {
			FUZZ_CHECK(i + 2 < n, "'%%' at %zu ends the output", i);
			FUZZ_CHECK(hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0,
				   "bad escape at %zu: '%.3s'", i, s + i);
			dec = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 3;
		} else if (plus && c == '+') {
			dec = ' ';
			i++;
		} else {
			FUZZ_CHECK(is_unreserved(c), "byte 0x%02x unescaped at %zu", c, i);
			dec = c;
			i++;
		}
		FUZZ_CHECK(k < vlen && (unsigned char)v[k] == dec, "decodes to something else at %zu", k);
		k++;
	}
	FUZZ_CHECK(k == vlen, "decodes to %zu bytes, the value has %zu", k, vlen);
}

/* The length TPL_JSON gives the value, quotes included. */
static size_t json_len(const char *v, size_t n)
{
	size_t i, len = 2;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
		    c == '\f')
			len += 2;
		else if (c < 0x20 || c == 0x7f)
			len += 6;
		else
			len += 1;
	}
	return len;
}

static void check_json(const char *s, size_t n, const char *v, size_t vlen)
{
	cJSON *j;

	FUZZ_CHECK(n >= 2 && s[0] == '"' && s[n - 1] == '"', "not a quoted string");
	if (memchr(v, '\0', vlen) != NULL || !utf8_valid(v, vlen))
		return;
	j = cJSON_ParseWithLength(s, n);
	FUZZ_CHECK(cJSON_IsString(j), "output is not a JSON string: %.80s", s);
	FUZZ_CHECK(strlen(j->valuestring) == vlen && memcmp(j->valuestring, v, vlen) == 0,
		   "JSON string parses back to something else");
	cJSON_Delete(j);
}

/* Pass 1: the fuzzed template text itself. */
static void fuzz_text(const char *text, enum tpl_escape esc, struct column *col, size_t cap)
{
	struct tpl *t = NULL;
	char err[512], *out = NULL;
	size_t outlen = 0, i;
	int rc;

	rc = tpl_compile(&t, text, esc, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == TPL_EINVAL, "tpl_compile returned %d", rc);
	if (rc != 0) {
		FUZZ_CHECK(t == NULL, "a template despite an error");
		FUZZ_CHECK(strstr(text, SECRET) != NULL || strstr(err, SECRET) == NULL,
			   "compile message quotes a secret: %s", err);
		return;
	}
	FUZZ_CHECK(strcmp(tpl_text(t), text) == 0 && tpl_escaping(t) == esc, "text or place changed");
	for (i = 0; i < tpl_ncolumns(t); i++) {
		const char *name = tpl_column(t, i);

		FUZZ_CHECK(name != NULL && *name != '\0' && strspn(name,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(name),
			   "bad column name '%s'", name ? name : "(null)");
	}
	rc = tpl_bind_env(t, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == TPL_EINVAL, "tpl_bind_env returned %d", rc);
	if (rc != 0) {
		FUZZ_CHECK(strstr(text, SECRET) != NULL || strstr(err, SECRET) == NULL,
			   "bind message quotes a secret: %s", err);
	} else {
		rc = tpl_expand(t, lookup, col, cap, &out, &outlen, err, sizeof(err));
		FUZZ_CHECK(rc == 0 || rc == TPL_EINVAL, "tpl_expand returned %d", rc);
		if (rc == 0) {
			FUZZ_CHECK(out != NULL && outlen <= cap && out[outlen] == '\0',
				   "output of %zu bytes, cap %zu", outlen, cap);
			if (esc == TPL_HEADER)
				FUZZ_CHECK(!has_crlf_nul(out, outlen), "CR, LF or NUL in a header");
		} else {
			FUZZ_CHECK(out == NULL, "output despite an error");
			FUZZ_CHECK(strstr(text, SECRET) != NULL || strstr(err, SECRET) == NULL,
				   "expand message quotes a secret: %s", err);
			/* a refused header value holds CR, LF or NUL; no message line may */
			if (esc == TPL_HEADER && col->len > 0 && has_crlf_nul(col->p, col->len))
				FUZZ_CHECK(memmem(err, strlen(err), col->p, col->len) == NULL,
					   "expand message quotes a header value");
		}
	}
	free(out);
	tpl_free(t);
}

/* Pass 2: "{x}" (or "/{x}") around the value, where the result is known. */
static void fuzz_value(enum tpl_escape esc, int whole, struct column *col, size_t cap)
{
	const char *v = col->p, *text = esc == TPL_URL && !whole ? "/{x}" : "{x}";
	size_t vlen = col->len, want, outlen = 0;
	struct tpl *t = NULL;
	char err[512], *out = NULL;
	int rc, refused = 0;

	FUZZ_CHECK(tpl_compile(&t, text, esc, err, sizeof(err)) == 0, "'%s': %s", text, err);
	FUZZ_CHECK(tpl_whole_url(t) == (esc == TPL_URL && whole), "tpl_whole_url wrong for '%s'", text);
	switch (esc) {
	case TPL_URL:
		want = whole ? vlen : 1 + url_len(v, vlen, 0);
		break;
	case TPL_FORM:
		want = url_len(v, vlen, 1);
		break;
	case TPL_JSON:
		want = json_len(v, vlen);
		break;
	case TPL_HEADER:
		refused = has_crlf_nul(v, vlen);
		want = vlen;
		break;
	default:
		want = vlen;
	}
	rc = tpl_expand(t, lookup, col, cap, &out, &outlen, err, sizeof(err));
	if (refused || want > cap) {
		FUZZ_CHECK(rc == TPL_EINVAL && out == NULL, "'%s' gave %d for %zu bytes (cap %zu%s)",
			   text, rc, want, cap, refused ? ", refused value" : "");
		goto out;
	}
	FUZZ_CHECK(rc == 0, "'%s' failed for %zu bytes within the cap %zu: %s", text, want, cap, err);
	FUZZ_CHECK(outlen == want && out[outlen] == '\0', "'%s' gave %zu bytes, expected %zu", text,
		   outlen, want);
	switch (esc) {
	case TPL_URL:
		if (whole) {
			FUZZ_CHECK(memcmp(out, v, vlen) == 0, "whole URL changed");
		} else {
			FUZZ_CHECK(out[0] == '/', "literal '/' lost");
			check_url(out + 1, outlen - 1, v, vlen, 0);
		}
		break;
	case TPL_FORM:
		check_url(out, outlen, v, vlen, 1);
		break;
	case TPL_JSON:
		check_json(out, outlen, v, vlen);
		break;
	default:
		FUZZ_CHECK(memcmp(out, v, vlen) == 0, "verbatim value changed");
	}
out:
	free(out);
	tpl_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum tpl_escape esc;
	const uint8_t *nul;
	struct column col = { "", 0 };
	char *text;
	size_t cap, tlen;
	int mode, whole;

	if (size < 1)
		return 0;
	mode = data[0];
	data++, size--;
	esc = (enum tpl_escape)((mode & 7) % 5);
	whole = (mode & 8) != 0;
	cap = mode & 16 ? (size_t)(mode >> 5) * 37 : BIG_CAP;
	nul = memchr(data, '\0', size);
	tlen = nul != NULL ? (size_t)(nul - data) : size;
	if (nul != NULL) {
		col.p = (const char *)nul + 1;
		col.len = size - tlen - 1;
	}
	text = fuzz_strndup(data, tlen);
	fuzz_text(text, esc, &col, cap);
	fuzz_value(esc, whole, &col, cap);
	free(text);
	return 0;
}
