/*
 * test_template.c - unit tests for template.c: parsing rules, every escaping
 * mode against hostile keys, environment binding, secrecy of error messages
 * and the output cap.
 */
#include "template.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* A row: parallel arrays of column names and values (values with lengths). */
struct row {
	size_t n;
	const char *const *names;
	const char *const *values;
	const size_t *lens; /* NULL: strlen */
};

static const char *row_lookup(void *ctx, const char *name, size_t *len)
{
	const struct row *r = ctx;
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->names[i], name) == 0) {
			*len = r->lens != NULL ? r->lens[i] : strlen(r->values[i]);
			return r->values[i];
		}
	}
	return NULL;
}

/*
 * Expands text in mode esc with column "id" = value (vlen bytes); returns the
 * malloc'd result or NULL (then err holds the message).
 */
static char *expand1(const char *text, enum tpl_escape esc, const char *value, size_t vlen,
		     char *err, size_t errlen)
{
	static const char *const names[1] = { "id" };
	const char *values[1];
	size_t lens[1];
	struct row r;
	struct tpl *t = NULL;
	char *out = NULL;
	size_t outlen = 0;

	values[0] = value;
	lens[0] = vlen;
	r.n = 1;
	r.names = names;
	r.values = values;
	r.lens = lens;
	if (tpl_compile(&t, text, esc, err, errlen) < 0)
		return NULL;
	if (tpl_bind_env(t, err, errlen) == 0 &&
	    tpl_expand(t, row_lookup, &r, 1 << 20, &out, &outlen, err, errlen) == 0)
		CHECK_EQ_INT(outlen, strlen(out));
	tpl_free(t);
	return out;
}

/* Expects "{id}" expanded in mode esc with value v to give want. */
static void expect(enum tpl_escape esc, const char *v, size_t vlen, const char *want)
{
	char err[256] = "";
	/* "{id}" alone in a URL template is a whole URL, copied as it is
	 * (whole_url_column): put a "/" before it and take it off again */
	char *full = expand1(esc == TPL_URL ? "/{id}" : "{id}", esc, v, vlen, err, sizeof err);
	char *got = full && esc == TPL_URL ? full + 1 : full;

	if (!CHECK_EQ_STR(got, want))
		fprintf(stderr, "  mode %d, err '%s'\n", (int)esc, err);
	free(full);
}

#define EXPECT(esc, v, want) expect((esc), (v), sizeof(v) - 1, (want))

/* Compiles text, expecting exactly this error. */
static void expect_bad(const char *text, enum tpl_escape esc, const char *msg)
{
	struct tpl *t = (struct tpl *)1;
	char err[256] = "";

	CHECK_EQ_INT(tpl_compile(&t, text, esc, err, sizeof err), TPL_EINVAL);
	CHECK(t == NULL);
	CHECK_EQ_STR(err, msg);
}

TEST(parsing)
{
	struct tpl *t = NULL;
	char err[256];
	char *s;

	/* JSON body: the first '{' is followed by '"', a literal */
	CHECK_EQ_INT(tpl_compile(&t, "{\"q\": {id}, \"n\": [{n}]}", TPL_JSON, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_ncolumns(t), 2);
	CHECK_EQ_STR(tpl_column(t, 0), "id");
	CHECK_EQ_STR(tpl_column(t, 1), "n");
	CHECK(tpl_column(t, 2) == NULL);
	CHECK_EQ_INT(tpl_nenv(t), 0);
	CHECK_EQ_STR(tpl_text(t), "{\"q\": {id}, \"n\": [{n}]}");
	CHECK_EQ_INT(tpl_escaping(t), TPL_JSON);
	tpl_free(t);

	s = expand1("{\"q\": {id}}", TPL_JSON, "123", 3, err, sizeof err);
	CHECK_EQ_STR(s, "{\"q\": \"123\"}");
	free(s);
	/* "{{" : a literal '{', then the placeholder, then a literal '}' */
	s = expand1("{{id}}", TPL_RAW, "v", 1, err, sizeof err);
	CHECK_EQ_STR(s, "{v}");
	free(s);
	/* things that are not placeholders stay literal */
	s = expand1("{} { id} {1a} {id x} {-a} {id", TPL_RAW, "v", 1, err, sizeof err);
	CHECK_EQ_STR(s, "{} { id} {1a} {id x} {-a} {id");
	free(s);
	s = expand1("$ $$ $x $ {id} a$", TPL_RAW, "v", 1, err, sizeof err);
	CHECK_EQ_STR(s, "$ $$ $x $ v a$");
	free(s);
	s = expand1("", TPL_URL, "v", 1, err, sizeof err);
	CHECK_EQ_STR(s, "");
	free(s);

	/* distinct names in order of first use; names may hold '.' and '-' */
	CHECK_EQ_INT(tpl_compile(&t, "/{b}/{a}/{b}/{user.id}/{x-y}/${B}/${A}/${B}", TPL_URL, err,
				 sizeof err), 0);
	CHECK_EQ_INT(tpl_ncolumns(t), 4);
	CHECK_EQ_STR(tpl_column(t, 0), "b");
	CHECK_EQ_STR(tpl_column(t, 1), "a");
	CHECK_EQ_STR(tpl_column(t, 2), "user.id");
	CHECK_EQ_STR(tpl_column(t, 3), "x-y");
	CHECK_EQ_INT(tpl_nenv(t), 2);
	CHECK_EQ_STR(tpl_env(t, 0), "B");
	CHECK_EQ_STR(tpl_env(t, 1), "A");
	CHECK(tpl_env(t, 2) == NULL);
	tpl_free(t);
	tpl_free(NULL);

	CHECK_EQ_INT(tpl_compile(&t, "${A}", TPL_RAW, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_nenv(t), 1);
	CHECK_EQ_STR(tpl_env(t, 0), "A");
	CHECK_EQ_INT(tpl_ncolumns(t), 0);
	tpl_free(t);

	expect_bad("/v1/${API_TOKEN", TPL_URL, "unterminated '${' at offset 4: '${API_TOKEN'");
	expect_bad("${", TPL_URL, "unterminated '${' at offset 0: '${'");
	expect_bad("a${}", TPL_URL, "bad variable name at offset 1: '${}'");
	expect_bad("${1A}", TPL_URL, "bad variable name at offset 0: '${1A}'");
	expect_bad("${A-B}", TPL_URL, "bad variable name at offset 0: '${A-B}'");
	expect_bad("${A.B}", TPL_URL, "bad variable name at offset 0: '${A.B}'");
	expect_bad("${ A}", TPL_URL, "bad variable name at offset 0: '${ A}'");
	expect_bad("x ${A", TPL_HEADER, "unterminated '${' at offset 2: '${A'");
	expect_bad("${AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		   TPL_URL, "unterminated '${' at offset 0: '${AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...'");
	/* a placeholder inside a JSON string of the template */
	expect_bad("{\"q\": \"{id}\"}", TPL_JSON,
		   "placeholder inside a JSON string (write it bare: the value becomes a complete "
		   "JSON string) at offset 7: '{id}'");
	expect_bad("{\"auth\": \"Bearer ${T}\"}", TPL_JSON,
		   "placeholder inside a JSON string (write it bare: the value becomes a complete "
		   "JSON string) at offset 17: '${'");
	/* escaped quotes keep the string open; a closed string is fine */
	expect_bad("{\"a\\\"{id}\": 1}", TPL_JSON,
		   "placeholder inside a JSON string (write it bare: the value becomes a complete "
		   "JSON string) at offset 5: '{id}'");
	s = expand1("{\"a\\\\\": {id}, \"b\": \"x\"}", TPL_JSON, "1", 1, err, sizeof err);
	CHECK_EQ_STR(s, "{\"a\\\\\": \"1\", \"b\": \"x\"}");
	free(s);
	/* in other modes quotes mean nothing */
	s = expand1("q=\"{id}\"", TPL_RAW, "1", 1, err, sizeof err);
	CHECK_EQ_STR(s, "q=\"1\"");
	free(s);
	expect_bad("X-A: b\r\nX-B: {id}", TPL_HEADER, "header template holds CR or LF at offset 6");
	expect_bad("{id}", (enum tpl_escape)42, "unknown template escaping 42");
	t = (struct tpl *)1;
	CHECK_EQ_INT(tpl_compile(&t, NULL, TPL_URL, err, sizeof err), TPL_EINVAL);
	CHECK(t == NULL);
}

TEST(escape_url)
{
	char big[10241], *want, *s, err[128];
	size_t i;

	EXPECT(TPL_URL, "a b", "a%20b");
	EXPECT(TPL_URL, "a/b", "a%2Fb");
	EXPECT(TPL_URL, "\"q\"", "%22q%22");
	EXPECT(TPL_URL, "a?b=c&d", "a%3Fb%3Dc%26d");
	EXPECT(TPL_URL, "#frag", "%23frag");
	EXPECT(TPL_URL, "100%", "100%25");
	EXPECT(TPL_URL, "\r\n", "%0D%0A");
	EXPECT(TPL_URL, "caf\xc3\xa9", "caf%C3%A9");
	EXPECT(TPL_URL, "..", "%2E%2E");
	EXPECT(TPL_URL, ".", "%2E");
	EXPECT(TPL_URL, "...", "...");
	EXPECT(TPL_URL, "../etc", "..%2Fetc");
	EXPECT(TPL_URL, "a.b", "a.b");
	EXPECT(TPL_URL, "", "");
	EXPECT(TPL_URL, "AZaz09-._~", "AZaz09-._~");
	EXPECT(TPL_URL, "+:@!$'()*,;", "%2B%3A%40%21%24%27%28%29%2A%2C%3B");
	EXPECT(TPL_URL, "a\0b", "a%00b");
	EXPECT(TPL_URL, "\x7f\xff", "%7F%FF");

	/* whole URL: the literal parts stay as written */
	s = expand1("https://h/v1/items/{id}?x=1", TPL_URL, "a b/..", 6, err, sizeof err);
	CHECK_EQ_STR(s, "https://h/v1/items/a%20b%2F..?x=1");
	free(s);
	s = expand1("https://h/v1/{id}/x", TPL_URL, "..", 2, err, sizeof err);
	CHECK_EQ_STR(s, "https://h/v1/%2E%2E/x");
	free(s);

	/* a 10 KB key */
	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect(TPL_URL, big, sizeof big - 1, big);
	memset(big, '/', sizeof big - 1);
	want = malloc(3 * (sizeof big - 1) + 1);
	if (!CHECK(want != NULL))
		return;
	for (i = 0; i < sizeof big - 1; i++)
		memcpy(want + 3 * i, "%2F", 3);
	want[3 * (sizeof big - 1)] = '\0';
	expect(TPL_URL, big, sizeof big - 1, want);
	free(want);
}

TEST(escape_form)
{
	EXPECT(TPL_FORM, "a b", "a+b");
	EXPECT(TPL_FORM, "a+b", "a%2Bb");
	EXPECT(TPL_FORM, "a/b", "a%2Fb");
	EXPECT(TPL_FORM, "x=1&y=2", "x%3D1%26y%3D2");
	EXPECT(TPL_FORM, "\"?#%", "%22%3F%23%25");
	EXPECT(TPL_FORM, "\r\n", "%0D%0A");
	EXPECT(TPL_FORM, "caf\xc3\xa9", "caf%C3%A9");
	EXPECT(TPL_FORM, "..", "%2E%2E");
	EXPECT(TPL_FORM, ".", "%2E");
	EXPECT(TPL_FORM, "", "");
	EXPECT(TPL_FORM, "  ", "++");
}

TEST(escape_json)
{
	char big[10241], *want;

	EXPECT(TPL_JSON, "a b", "\"a b\"");
	EXPECT(TPL_JSON, "a/b?#%", "\"a/b?#%\"");
	EXPECT(TPL_JSON, "say \"hi\"", "\"say \\\"hi\\\"\"");
	EXPECT(TPL_JSON, "back\\slash", "\"back\\\\slash\"");
	EXPECT(TPL_JSON, "\r\n\t\b\f", "\"\\r\\n\\t\\b\\f\"");
	EXPECT(TPL_JSON, "\x01\x1f", "\"\\u0001\\u001f\"");
	EXPECT(TPL_JSON, "\x7f", "\"\\u007f\"");
	EXPECT(TPL_JSON, "a\0b", "\"a\\u0000b\"");
	EXPECT(TPL_JSON, "caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\"");
	EXPECT(TPL_JSON, "\xff", "\"\xff\"");
	EXPECT(TPL_JSON, "..", "\"..\"");
	EXPECT(TPL_JSON, ".", "\".\"");
	EXPECT(TPL_JSON, "", "\"\"");
	EXPECT(TPL_JSON, "123", "\"123\"");

	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	want = malloc(sizeof big + 2);
	if (!CHECK(want != NULL))
		return;
	want[0] = '"';
	memcpy(want + 1, big, sizeof big - 1);
	want[sizeof big] = '"';
	want[sizeof big + 1] = '\0';
	expect(TPL_JSON, big, sizeof big - 1, want);
	free(want);
}

TEST(escape_header_and_raw)
{
	char err[256] = "";
	char big[10241];
	char *s;

	EXPECT(TPL_HEADER, "a b/?#%\"q\" caf\xc3\xa9 ..", "a b/?#%\"q\" caf\xc3\xa9 ..");
	EXPECT(TPL_HEADER, "", "");
	EXPECT(TPL_HEADER, ".", ".");
	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect(TPL_HEADER, big, sizeof big - 1, big);

	s = expand1("X-Id: {id}", TPL_HEADER, "secret\r\nX-Evil: 1", 18, err, sizeof err);
	CHECK(s == NULL);
	CHECK_EQ_STR(err, "column 'id' holds CR, LF or NUL, refused in a header");
	CHECK(strstr(err, "secret") == NULL);
	CHECK(strstr(err, "Evil") == NULL);
	s = expand1("X-Id: {id}", TPL_HEADER, "one\ntwo", 7, err, sizeof err);
	CHECK(s == NULL);
	CHECK_EQ_STR(err, "column 'id' holds CR, LF or NUL, refused in a header");
	s = expand1("X-Id: {id}", TPL_HEADER, "one\rtwo", 7, err, sizeof err);
	CHECK(s == NULL);
	s = expand1("X-Id: {id}", TPL_HEADER, "one\0two", 7, err, sizeof err);
	CHECK(s == NULL);
	CHECK_EQ_STR(err, "column 'id' holds CR, LF or NUL, refused in a header");

	EXPECT(TPL_RAW, "a b\r\n\"{x}\"..", "a b\r\n\"{x}\"..");
	EXPECT(TPL_RAW, "", "");
}

TEST(missing_column)
{
	static const char *const names[1] = { "id" };
	static const char *const values[1] = { "1" };
	struct row r = { 1, names, values, NULL };
	struct tpl *t = NULL;
	char err[256];
	char *out = (char *)1;
	size_t len = 99;

	CHECK_EQ_INT(tpl_compile(&t, "/{id}/{isbn}", TPL_URL, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 1000, &out, &len, err, sizeof err), TPL_EINVAL);
	CHECK_EQ_STR(err, "no column 'isbn' in this item");
	CHECK(out == NULL);
	CHECK_EQ_INT(len, 0);
	CHECK_EQ_INT(tpl_expand(t, NULL, NULL, 1000, &out, NULL, err, sizeof err), TPL_EINVAL);
	CHECK_EQ_STR(err, "no column 'id' in this item");
	tpl_free(t);

	/* no columns: lookup may be NULL, outlen may be NULL */
	CHECK_EQ_INT(tpl_compile(&t, "/static", TPL_URL, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_bind_env(t, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, NULL, NULL, 1000, &out, NULL, err, sizeof err), 0);
	CHECK_EQ_STR(out, "/static");
	free(out);
	tpl_free(t);
}

TEST(env)
{
	static const char *const names[1] = { "id" };
	static const char *const values[1] = { "7" };
	struct row r = { 1, names, values, NULL };
	struct tpl *t = NULL;
	char err[256];
	char *out = NULL;
	size_t len;

	setenv("TRAWL_TEST_TOKEN", "s3cr et/\"x\"", 1);
	unsetenv("TRAWL_TEST_UNSET");

	/* unbound: an error, not an empty value */
	CHECK_EQ_INT(tpl_compile(&t, "/{id}?key=${TRAWL_TEST_TOKEN}", TPL_URL, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 1000, &out, &len, err, sizeof err), TPL_EINVAL);
	CHECK_EQ_STR(err, "environment variable 'TRAWL_TEST_TOKEN' is not bound");
	CHECK(out == NULL);
	CHECK_EQ_INT(tpl_bind_env(t, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 1000, &out, &len, err, sizeof err), 0);
	CHECK_EQ_STR(out, "/7?key=s3cr%20et%2F%22x%22");
	CHECK_EQ_INT(len, strlen(out));
	free(out);
	/* values are read at bind time, and again on a new bind */
	setenv("TRAWL_TEST_TOKEN", "two", 1);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 1000, &out, &len, err, sizeof err), 0);
	CHECK_EQ_STR(out, "/7?key=s3cr%20et%2F%22x%22");
	free(out);
	CHECK_EQ_INT(tpl_bind_env(t, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 1000, &out, &len, err, sizeof err), 0);
	CHECK_EQ_STR(out, "/7?key=two");
	free(out);
	tpl_free(t);

	/* JSON: the value becomes a string literal */
	setenv("TRAWL_TEST_TOKEN", "a\"b", 1);
	CHECK_EQ_INT(tpl_compile(&t, "{\"k\": ${TRAWL_TEST_TOKEN}}", TPL_JSON, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_bind_env(t, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, NULL, NULL, 1000, &out, NULL, err, sizeof err), 0);
	CHECK_EQ_STR(out, "{\"k\": \"a\\\"b\"}");
	free(out);
	tpl_free(t);

	/* header: verbatim */
	setenv("TRAWL_TEST_TOKEN", "abc.def", 1);
	CHECK_EQ_INT(tpl_compile(&t, "Authorization: Bearer ${TRAWL_TEST_TOKEN}", TPL_HEADER, err,
				 sizeof err), 0);
	CHECK_EQ_INT(tpl_nenv(t), 1);
	CHECK_EQ_STR(tpl_env(t, 0), "TRAWL_TEST_TOKEN");
	CHECK_EQ_INT(tpl_bind_env(t, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, NULL, NULL, 1000, &out, NULL, err, sizeof err), 0);
	CHECK_EQ_STR(out, "Authorization: Bearer abc.def");
	free(out);
	/* a header value with CR/LF is refused at bind time, naming only the variable */
	setenv("TRAWL_TEST_TOKEN", "hunter2\r\nX-Evil: 1", 1);
	CHECK_EQ_INT(tpl_bind_env(t, err, sizeof err), TPL_EINVAL);
	CHECK_EQ_STR(err, "environment variable 'TRAWL_TEST_TOKEN' holds CR, LF or NUL, refused in a header");
	CHECK(strstr(err, "hunter2") == NULL);
	/* and the failed bind leaves it unbound */
	CHECK_EQ_INT(tpl_expand(t, NULL, NULL, 1000, &out, NULL, err, sizeof err), TPL_EINVAL);
	CHECK_EQ_STR(err, "environment variable 'TRAWL_TEST_TOKEN' is not bound");
	tpl_free(t);

	/* unset variable */
	CHECK_EQ_INT(tpl_compile(&t, "${TRAWL_TEST_TOKEN}/${TRAWL_TEST_UNSET}", TPL_URL, err,
				 sizeof err), 0);
	CHECK_EQ_INT(tpl_bind_env(t, err, sizeof err), TPL_EINVAL);
	CHECK_EQ_STR(err, "environment variable 'TRAWL_TEST_UNSET' is not set");
	CHECK(strstr(err, "hunter2") == NULL);
	setenv("TRAWL_TEST_UNSET", "", 1);
	CHECK_EQ_INT(tpl_bind_env(t, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, NULL, NULL, 1000, &out, NULL, err, sizeof err), 0);
	CHECK_EQ_STR(out, "hunter2%0D%0AX-Evil%3A%201/");
	free(out);
	tpl_free(t);
	unsetenv("TRAWL_TEST_TOKEN");
	unsetenv("TRAWL_TEST_UNSET");
}

TEST(cap)
{
	static const char *const names[1] = { "id" };
	static const char *const values[1] = { "a b" };
	struct row r = { 1, names, values, NULL };
	struct tpl *t = NULL;
	char err[256];
	char *out = (char *)1;
	size_t len;

	/* "/x/a%20b" is 8 bytes */
	CHECK_EQ_INT(tpl_compile(&t, "/x/{id}", TPL_URL, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 8, &out, &len, err, sizeof err), 0);
	CHECK_EQ_STR(out, "/x/a%20b");
	CHECK_EQ_INT(len, 8);
	free(out);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 7, &out, &len, err, sizeof err), TPL_EINVAL);
	CHECK_EQ_STR(err, "expanded text over the cap of 7 bytes");
	CHECK(out == NULL);
	/* over the cap in the literal part */
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 2, &out, &len, err, sizeof err), TPL_EINVAL);
	CHECK_EQ_STR(err, "expanded text over the cap of 2 bytes");
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 0, &out, &len, err, sizeof err), TPL_EINVAL);
	tpl_free(t);
	/* an empty expansion fits a cap of 0 */
	CHECK_EQ_INT(tpl_compile(&t, "", TPL_RAW, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, NULL, NULL, 0, &out, &len, err, sizeof err), 0);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(len, 0);
	free(out);
	/* a huge cap does not overflow */
	CHECK_EQ_INT(tpl_expand(t, NULL, NULL, SIZE_MAX, &out, &len, err, sizeof err), 0);
	free(out);
	tpl_free(t);
	/* JSON: the quotes count */
	CHECK_EQ_INT(tpl_compile(&t, "{id}", TPL_JSON, err, sizeof err), 0);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 5, &out, &len, err, sizeof err), 0);
	free(out);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 4, &out, &len, err, sizeof err), TPL_EINVAL);
	tpl_free(t);
}

TEST(whole_url_column)
{
	struct tpl *t = NULL;
	char err[256], *out = NULL;
	static const char *const names[] = { "url" };
	static const char *const values[] = { "http://example.com/a b?x=1#f" };
	struct row r = { 1, names, values, NULL };

	CHECK_EQ_INT(tpl_compile(&t, "{url}", TPL_URL, err, sizeof(err)), 0);
	CHECK_EQ_INT(tpl_whole_url(t), 1);
	CHECK_EQ_INT(tpl_expand(t, row_lookup, &r, 1024, &out, NULL, err, sizeof(err)), 0);
	CHECK_EQ_STR(out, "http://example.com/a b?x=1#f");
	free(out);
	tpl_free(t);
	/* anything around the column: encoded as usual */
	CHECK_EQ_INT(tpl_compile(&t, "http://h/{url}", TPL_URL, err, sizeof(err)), 0);
	CHECK_EQ_INT(tpl_whole_url(t), 0);
	tpl_free(t);
	CHECK_EQ_INT(tpl_compile(&t, "{url}", TPL_JSON, err, sizeof(err)), 0);
	CHECK_EQ_INT(tpl_whole_url(t), 0);
	tpl_free(t);
}

int main(void)
{
	RUN(parsing);
	RUN(escape_url);
	RUN(escape_form);
	RUN(escape_json);
	RUN(escape_header_and_raw);
	RUN(missing_column);
	RUN(env);
	RUN(cap);
	RUN(whole_url_column);
	return unit_done();
}
