/*
 * test_extract.c - unit tests for extract.c: path compilation and its error
 * messages, every step kind, value conversion (json_extract's types), invalid
 * and hostile bodies, and the in-place search of bodies too large for one
 * tree, which must give what the tree gives.
 */
#include "extract.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Compiles path, expecting an error with exactly this message. */
static void expect_bad(const char *path, const char *msg)
{
	struct jpath *p = (struct jpath *)1;
	char err[256] = "";

	CHECK_EQ_INT(jpath_compile(&p, path, err, sizeof err), EXTRACT_EINVAL);
	CHECK(p == NULL);
	CHECK_EQ_STR(err, msg);
}

TEST(compile_errors)
{
	char err[16];
	struct jpath *p;

	expect_bad("$.a[x]", "bad path '$.a[x]': expected an array index at offset 4");
	expect_bad("", "bad path '': expected '$' at offset 0");
	expect_bad("a.b", "bad path 'a.b': expected '$' at offset 0");
	expect_bad("$a", "bad path '$a': expected '.' or '[' at offset 1");
	expect_bad("$.", "bad path '$.': expected a key at offset 2");
	expect_bad("$..a", "bad path '$..a': expected a key at offset 2");
	expect_bad("$.[0]", "bad path '$.[0]': expected a key at offset 2");
	expect_bad("$[", "bad path '$[': expected an array index at offset 2");
	expect_bad("$[1", "bad path '$[1': expected ']' at offset 3");
	expect_bad("$[-1]", "bad path '$[-1]': expected an array index at offset 2");
	expect_bad("$[ 1]", "bad path '$[ 1]': expected an array index at offset 2");
	expect_bad("$[1 ]", "bad path '$[1 ]': expected ']' at offset 3");
	expect_bad("$[#-]", "bad path '$[#-]': expected an array index at offset 4");
	expect_bad("$[#+1]", "bad path '$[#+1]': expected '-' or ']' after '#' at offset 3");
	expect_bad("$[1]x", "bad path '$[1]x': expected '.' or '[' at offset 4");
	expect_bad("$[1.5]", "bad path '$[1.5]': expected ']' at offset 3");
	expect_bad("$.\"abc", "bad path '$.\"abc': unterminated quoted key at offset 2");
	expect_bad("$.\"a\"b", "bad path '$.\"a\"b': expected '.' or '[' at offset 5");
	expect_bad("$[99999999999999999999999999]",
		   "bad path '$[99999999999999999999999999]': array index too large at offset 2");
	expect_bad("$$", "bad path '$$': expected '.' or '[' at offset 1");
	expect_bad(" $.a", "bad path ' $.a': expected '$' at offset 0");
	p = (struct jpath *)1;
	CHECK_EQ_INT(jpath_compile(&p, NULL, err, sizeof err), EXTRACT_EINVAL);
	CHECK(p == NULL);
	/* a short buffer truncates, still NUL-terminated */
	CHECK_EQ_INT(jpath_compile(&p, "$.a[xxxxxxxxxxxxxxxxxxxxxxxxxx]", err, sizeof err),
		     EXTRACT_EINVAL);
	CHECK_EQ_INT(strlen(err), sizeof err - 1);
	/* no err buffer at all */
	CHECK_EQ_INT(jpath_compile(&p, "x", NULL, 0), EXTRACT_EINVAL);
	jpath_free(NULL);
}

/* Parses json, evaluates path, returns the minified result (static buffer) or "MISSING". */
static const char *eval(const char *json, const char *path)
{
	static char buf[512];
	struct jpath *p = NULL;
	cJSON *root = cJSON_Parse(json);
	const cJSON *node;
	char err[256];
	char *s;

	snprintf(buf, sizeof buf, "ERROR");
	if (root == NULL || jpath_compile(&p, path, err, sizeof err) < 0) {
		fprintf(stderr, "eval(%s, %s): setup failed\n", json, path);
		goto out;
	}
	node = jpath_eval(p, root);
	if (node == NULL) {
		snprintf(buf, sizeof buf, "MISSING");
		goto out;
	}
	s = cJSON_PrintUnformatted(node);
	snprintf(buf, sizeof buf, "%s", s ? s : "OOM");
	cJSON_free(s);
out:
	jpath_free(p);
	cJSON_Delete(root);
	return buf;
}

TEST(steps)
{
	const char *doc = "{\"a\":{\"b\":[10,20,30]},\"items\":[{\"t\":\"x\"},{\"t\":\"y\"}],"
			  "\"A\":1,\"s\":\"str\"}";
	struct jpath *p = NULL;
	char err[128];

	CHECK_EQ_STR(eval(doc, "$.a.b"), "[10,20,30]");
	CHECK_EQ_STR(eval("[1,2]", "$"), "[1,2]");
	CHECK_EQ_STR(eval(doc, "$.a.b[0]"), "10");
	CHECK_EQ_STR(eval(doc, "$.a.b[2]"), "30");
	CHECK_EQ_STR(eval(doc, "$.a.b[3]"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.a.b[#-1]"), "30");
	CHECK_EQ_STR(eval(doc, "$.a.b[#-3]"), "10");
	CHECK_EQ_STR(eval(doc, "$.a.b[#-4]"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.a.b[#]"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.a.b[#-0]"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.a.b[00]"), "10");
	CHECK_EQ_STR(eval(doc, "$.a.b[18446744073709551615]"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.a.b[#-18446744073709551615]"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.items[1].t"), "\"y\"");
	CHECK_EQ_STR(eval(doc, "$.items[#-1].t"), "\"y\"");
	CHECK_EQ_STR(eval("[[1,[2,3]]]", "$[0][1][0]"), "2");
	/* case-sensitive keys */
	CHECK_EQ_STR(eval(doc, "$.A"), "1");
	CHECK_EQ_STR(eval("{\"a\":1}", "$.A"), "MISSING");
	/* the wrong kind of node is missing, not an error */
	CHECK_EQ_STR(eval(doc, "$.a[0]"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.a.b.c"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.s.x"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.s[0]"), "MISSING");
	CHECK_EQ_STR(eval(doc, "$.nope.deeper[0]"), "MISSING");
	CHECK_EQ_STR(eval("[]", "$[#-1]"), "MISSING");
	/* duplicate keys: the first one wins */
	CHECK_EQ_STR(eval("{\"a\":1,\"a\":2}", "$.a"), "1");
	/* an unquoted name runs to the next '.' or '[' and may hold spaces or quotes */
	CHECK_EQ_STR(eval("{\"a b\":5,\"x\\\"y\":6}", "$.a b"), "5");
	CHECK_EQ_STR(eval("{\"a b\":5,\"x\\\"y\":6}", "$.x\"y"), "6");
	/* keys with non-ASCII UTF-8 */
	CHECK_EQ_STR(eval("{\"caf\xc3\xa9\":7}", "$.caf\xc3\xa9"), "7");

	CHECK_EQ_INT(jpath_compile(&p, "$.a[#-2]", err, sizeof err), 0);
	CHECK_EQ_STR(jpath_text(p), "$.a[#-2]");
	CHECK(jpath_eval(p, NULL) == NULL);
	jpath_free(p);
}

TEST(quoted_keys)
{
	const char *doc = "{\"a.b\":1,\"x[0]\":2,\"\":3,\"a\":{\"b\":4},\"sp ace\":{\"q\":5}}";

	CHECK_EQ_STR(eval(doc, "$.\"a.b\""), "1");
	CHECK_EQ_STR(eval(doc, "$.a.b"), "4");
	CHECK_EQ_STR(eval(doc, "$.\"x[0]\""), "2");
	CHECK_EQ_STR(eval(doc, "$.\"\""), "3");
	CHECK_EQ_STR(eval(doc, "$.\"sp ace\".\"q\""), "5");
	CHECK_EQ_STR(eval(doc, "$.\"sp ace\".q"), "5");
	CHECK_EQ_STR(eval("{\"k\":[7,8]}", "$.\"k\"[1]"), "8");
}

/* Runs one field over body (len bytes); returns the value (caller releases). */
static struct value runlen(const char *path, const char *body, size_t len)
{
	const char *names[1] = { "f" };
	const char *paths[1];
	struct extractor *x = NULL;
	struct value v;
	char err[256];

	paths[0] = path;
	memset(&v, 0, sizeof v);
	if (!CHECK_EQ_INT(extractor_new(&x, 1, names, paths, err, sizeof err), 0))
		return v;
	if (!CHECK_EQ_INT(extractor_run(x, body, len, &v, err, sizeof err), 0))
		fprintf(stderr, "  %s: %s\n", path, err);
	extractor_free(x);
	return v;
}

/* The same over a NUL-terminated body. */
static struct value run1(const char *path, const char *body)
{
	return runlen(path, body, strlen(body));
}

TEST(types)
{
	struct value v;

	v = run1("$.n", "{\"n\": 42}");
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, 42);
	v = run1("$.n", "{\"n\": -7}");
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, -7);
	/* the literal decides, as in json_extract(): an exponent or a fraction is REAL */
	v = run1("$.n", "{\"n\": 1e2}");
	CHECK_EQ_INT(v.type, VAL_REAL);
	CHECK_NEAR(v.d, 100, 0);
	v = run1("$.n", "{\"n\": 7.00}");
	CHECK_EQ_INT(v.type, VAL_REAL);
	CHECK_NEAR(v.d, 7, 0);
	v = run1("$.n", "{\"n\": -0}");
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, 0);
	v = run1("$.n", "{\"n\": 9007199254740992}");
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, INT64_C(9007199254740992));
	v = run1("$.n", "{\"n\": -9007199254740992}");
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, -INT64_C(9007199254740992));
	/* beyond 2^53 a double rounds: the exact literal is recovered from the text */
	v = run1("$.n", "{\"n\": 9007199254740993}");
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, INT64_C(9007199254740993));
	v = run1("$.n", "{\"n\": 1152921504606846977}"); /* 2^60 + 1 */
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, INT64_C(1152921504606846977));
	v = run1("$.n", "{\"n\": 3.25}");
	CHECK_EQ_INT(v.type, VAL_REAL);
	CHECK_NEAR(v.d, 3.25, 0);
	v = run1("$.n", "{\"n\": -0.5e-3}");
	CHECK_EQ_INT(v.type, VAL_REAL);
	CHECK_NEAR(v.d, -0.0005, 1e-18);
	v = run1("$.n", "{\"n\": 1e400}");
	CHECK_EQ_INT(v.type, VAL_REAL);

	v = run1("$.t", "{\"t\": true}");
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, 1);
	v = run1("$.t", "{\"t\": false}");
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, 0);
	v = run1("$.t", "{\"t\": null}");
	CHECK_EQ_INT(v.type, VAL_NULL);
	v = run1("$.missing", "{\"t\": 1}");
	CHECK_EQ_INT(v.type, VAL_NULL);

	v = run1("$.s", "{\"s\": \"caf\\u00e9 \\\"q\\\"\\n\"}");
	CHECK_EQ_INT(v.type, VAL_TEXT);
	CHECK_EQ_STR(v.s, "caf\xc3\xa9 \"q\"\n");
	CHECK_EQ_INT(v.len, strlen("caf\xc3\xa9 \"q\"\n"));
	value_release(&v);
	v = run1("$.s", "{\"s\": \"\"}");
	CHECK_EQ_INT(v.type, VAL_TEXT);
	CHECK_EQ_STR(v.s, "");
	CHECK_EQ_INT(v.len, 0);
	value_release(&v);

	v = run1("$.o", "{\"o\": { \"x\" : [ 1, 2.5, {\"y\" : \"z\"}, null, true ] } }");
	CHECK_EQ_INT(v.type, VAL_TEXT);
	CHECK_EQ_STR(v.s, "{\"x\":[1,2.5,{\"y\":\"z\"},null,true]}");
	CHECK_EQ_INT(v.len, strlen(v.s));
	value_release(&v);
	v = run1("$.a", "{\"a\": [ ]}");
	CHECK_EQ_INT(v.type, VAL_TEXT);
	CHECK_EQ_STR(v.s, "[]");
	value_release(&v);
	v = run1("$", "{}");
	CHECK_EQ_STR(v.s, "{}");
	value_release(&v);

	CHECK_EQ_INT(json_to_value(NULL, &v), 0);
	CHECK_EQ_INT(v.type, VAL_NULL);
}

TEST(several_fields)
{
	const char *names[3] = { "title", "n", "none" };
	const char *paths[3] = { "$.items[0].volumeInfo.title", "$.totalItems", "$.x" };
	const char *body = "{\"totalItems\": 3, \"items\": [{\"volumeInfo\": {\"title\": \"Dune\"}}]}";
	struct extractor *x = NULL;
	struct value out[3];
	char err[256];

	CHECK_EQ_INT(extractor_new(&x, 3, names, paths, err, sizeof err), 0);
	CHECK_EQ_INT(extractor_count(x), 3);
	CHECK_EQ_STR(extractor_name(x, 0), "title");
	CHECK_EQ_STR(extractor_path(x, 1), "$.totalItems");
	CHECK_EQ_INT(extractor_run(x, body, strlen(body), out, err, sizeof err), 0);
	CHECK_EQ_INT(out[0].type, VAL_TEXT);
	CHECK_EQ_STR(out[0].s, "Dune");
	CHECK_EQ_INT(out[1].type, VAL_INT);
	CHECK_EQ_INT(out[1].i, 3);
	CHECK_EQ_INT(out[2].type, VAL_NULL);
	value_release(&out[0]);
	value_release(&out[1]);
	value_release(&out[2]);
	extractor_free(x);

	/* a bad path is reported with its field's name */
	paths[1] = "$.a[x]";
	x = (struct extractor *)1;
	CHECK_EQ_INT(extractor_new(&x, 3, names, paths, err, sizeof err), EXTRACT_EINVAL);
	CHECK(x == NULL);
	CHECK_EQ_STR(err, "field 'n': bad path '$.a[x]': expected an array index at offset 4");
	names[2] = "";
	paths[1] = "$.ok";
	CHECK_EQ_INT(extractor_new(&x, 3, names, paths, err, sizeof err), EXTRACT_EINVAL);
	CHECK_EQ_STR(err, "field 3 has no name");

	/* no fields at all: still validates the body */
	CHECK_EQ_INT(extractor_new(&x, 0, NULL, NULL, err, sizeof err), 0);
	CHECK_EQ_INT(extractor_count(x), 0);
	CHECK_EQ_INT(extractor_run(x, "{}", 2, NULL, err, sizeof err), 0);
	CHECK_EQ_INT(extractor_run(x, "{", 1, NULL, err, sizeof err), EXTRACT_EINVAL);
	extractor_free(x);
	extractor_free(NULL);
}

/* Runs $.a over len bytes of body; expects failure with message msg. */
static void expect_invalid(const char *body, size_t len, const char *msg)
{
	const char *names[2] = { "a", "b" };
	const char *paths[2] = { "$.a", "$" };
	struct extractor *x = NULL;
	struct value out[2];
	char err[256] = "";

	/* garbage in out must be overwritten, not freed */
	memset(out, 0x5a, sizeof out);
	if (!CHECK_EQ_INT(extractor_new(&x, 2, names, paths, err, sizeof err), 0))
		return;
	CHECK_EQ_INT(extractor_run(x, body, len, out, err, sizeof err), EXTRACT_EINVAL);
	CHECK_EQ_STR(err, msg);
	CHECK_EQ_INT(out[0].type, VAL_NULL);
	CHECK_EQ_INT(out[1].type, VAL_NULL);
	CHECK(out[0].s == NULL);
	extractor_free(x);
}

TEST(invalid_json)
{
	expect_invalid("", 0, "invalid JSON at byte 0");
	expect_invalid(NULL, 0, "invalid JSON at byte 0");
	expect_invalid("   ", 3, "invalid JSON at byte 2");
	expect_invalid("{", 1, "invalid JSON at byte 0");
	expect_invalid("{\"a\": 1,}", 9, "invalid JSON at byte 8");
	expect_invalid("{} x", 4, "invalid JSON at byte 3");
	expect_invalid("{}{}", 4, "invalid JSON at byte 2");
	expect_invalid("<html>", 6, "invalid JSON at byte 0");
	expect_invalid("{\"a\": 1}\0", 9, "invalid JSON at byte 8");
	expect_invalid("[1, 2", 5, "invalid JSON at byte 4");
}

TEST(unterminated_buffer)
{
	const char *json = "{\"a\": [1, 2, 3], \"b\": \"text\"}";
	size_t len = strlen(json);
	struct value v;
	char *buf = NULL;
	char err[128];
	const char *names[1] = { "b" };
	const char *paths[1] = { "$.b" };
	struct extractor *x = NULL;

	/* exactly len bytes, no NUL: ASan catches any read past the end */
	buf = malloc(len);
	if (!CHECK(buf != NULL))
		return;
	memcpy(buf, json, len);
	CHECK_EQ_INT(extractor_new(&x, 1, names, paths, err, sizeof err), 0);
	CHECK_EQ_INT(extractor_run(x, buf, len, &v, err, sizeof err), 0);
	CHECK_EQ_STR(v.s, "text");
	value_release(&v);
	/* a prefix of a longer buffer: bytes after len are not looked at */
	CHECK_EQ_INT(extractor_run(x, "{\"b\": 5} and then garbage", 8, &v, err, sizeof err), 0);
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK_EQ_INT(v.i, 5);
	/* truncated in the middle of a string, a number and a literal */
	memcpy(buf, "{\"b\": \"abc", 10);
	CHECK_EQ_INT(extractor_run(x, buf, 10, &v, err, sizeof err), EXTRACT_EINVAL);
	memcpy(buf, "{\"b\": 12", 8);
	CHECK_EQ_INT(extractor_run(x, buf, 8, &v, err, sizeof err), EXTRACT_EINVAL);
	memcpy(buf, "{\"b\": tru", 9);
	CHECK_EQ_INT(extractor_run(x, buf, 9, &v, err, sizeof err), EXTRACT_EINVAL);
	memcpy(buf, "12", 2);
	CHECK_EQ_INT(extractor_run(x, buf, 2, &v, err, sizeof err), 0);
	CHECK_EQ_INT(v.type, VAL_NULL);
	free(buf);
	extractor_free(x);
}

/*
 * libcjson is not built with ASan, so reads past the end are caught the hard
 * way: each body ends exactly where an inaccessible page begins.
 */
TEST(guard_page)
{
	static const char *const bodies[] = {
		"{\"b\": \"text\"}", "{\"b\": 12", "{\"b\": \"abc", "{\"b\": tru", "{\"b\": 1.5e",
		"[1,2", "{\"b\"", "{\"b\": \"\\u00", "12", "\"x", "{\"b\": [nul", " ",
		"{\"b\": \"\\ud800", "{\"b\": \"\\ud800\\u", "{\"b\": \"x\\", "{\"b\":[1,{\"c\":",
	};
	const char *names[1] = { "b" };
	const char *paths[1] = { "$.b" }, *whole[1] = { "$" };
	struct extractor *x = NULL;
	long pg = sysconf(_SC_PAGESIZE);
	char *map, err[128];
	struct value v;
	size_t i;

	map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!CHECK(map != MAP_FAILED))
		return;
	CHECK_EQ_INT(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
	CHECK_EQ_INT(extractor_new(&x, 1, names, paths, err, sizeof err), 0);
	for (i = 0; i < 2 * (sizeof bodies / sizeof bodies[0]); i++) {
		const char *body = bodies[i % (sizeof bodies / sizeof bodies[0])];
		size_t len = strlen(body);
		char *at = map + pg - len;

		/* the second time round, searched in place */
		extractor_set_max_values(x, i < sizeof bodies / sizeof bodies[0] ? 0 : 1);
		extractor_set_in_place_fields(x, i < sizeof bodies / sizeof bodies[0] ? 0 : 1);
		memcpy(at, body, len);
		if (extractor_run(x, at, len, &v, err, sizeof err) == 0)
			value_release(&v);
	}
	extractor_set_max_values(x, 0);
	memcpy(map + pg - 13, "{\"b\": \"text\"}", 13);
	CHECK_EQ_INT(extractor_run(x, map + pg - 13, 13, &v, err, sizeof err), 0);
	CHECK_EQ_STR(v.s, "text");
	value_release(&v);
	extractor_free(x);
	/* a body that is one integer, its last digit the page's last byte */
	CHECK_EQ_INT(extractor_new(&x, 1, names, whole, err, sizeof err), 0);
	memcpy(map + pg - 5, "12345", 5);
	CHECK_EQ_INT(extractor_run(x, map + pg - 5, 5, &v, err, sizeof err), 0);
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK(v.i == 12345);
	extractor_free(x);
	munmap(map, (size_t)pg * 2);
}

TEST(deep_nesting)
{
	size_t depth = 100000, i;
	char *body = malloc(2 * depth);
	const char *names[1] = { "a" };
	const char *paths[1] = { "$[0][0][0]" };
	struct extractor *x = NULL;
	struct value v;
	char err[128] = "";

	if (!CHECK(body != NULL))
		return;
	CHECK_EQ_INT(extractor_new(&x, 1, names, paths, err, sizeof err), 0);
	memset(body, '[', depth);
	CHECK_EQ_INT(extractor_run(x, body, depth, &v, err, sizeof err), EXTRACT_EINVAL);
	CHECK(strncmp(err, "invalid JSON at byte ", 21) == 0);
	CHECK_EQ_INT(v.type, VAL_NULL);
	for (i = 0; i < depth; i++)
		body[depth + i] = ']';
	CHECK_EQ_INT(extractor_run(x, body, 2 * depth, &v, err, sizeof err), EXTRACT_EINVAL);
	/* within the limit it works */
	memset(body, '[', 500);
	memset(body + 500, ']', 500);
	CHECK_EQ_INT(extractor_run(x, body, 1000, &v, err, sizeof err), 0);
	CHECK_EQ_INT(v.type, VAL_TEXT);
	value_release(&v);
	free(body);
	extractor_free(x);
}


/* Runs paths[0..n) over len bytes of body with the value limit max, read in
 * place; with max 0, through one tree (the default limit, no field read in
 * place); with DEFAULTS, as a new extractor reads it.  Returns the result
 * code, values in out, message in err. */
#define DEFAULTS ((size_t)-1)
static int run_limit(size_t max, size_t n, const char *const *paths, const char *body, size_t len,
		     struct value *out, char *err, size_t errlen)
{
	static const char *const names[] = { "f0", "f1", "f2", "f3" };
	struct extractor *x = NULL;
	int rc;

	if (!CHECK_EQ_INT(extractor_new(&x, n, names, paths, err, errlen), 0))
		return -100;
	if (max == DEFAULTS)
		max = 0;  /* as a run reads it: in place, few fields */
	else if (!max)
		extractor_set_in_place_fields(x, 0);
	extractor_set_max_values(x, max);
	rc = extractor_run(x, body, len, out, err, errlen);
	extractor_free(x);
	return rc;
}

static int same_value(const struct value *a, const struct value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case VAL_INT: return a->i == b->i;
	case VAL_REAL: return a->d == b->d || (a->d != a->d && b->d != b->d);
	case VAL_TEXT: case VAL_BLOB: return a->len == b->len && !memcmp(a->s, b->s, a->len);
	default: return 1;
	}
}

/*
 * Every body, with every path, read through one tree and read in place
 * (as a run reads it, and with limits 1 to 12) must give the same values, the same verdict
 * and the same message; in place, a field's value over the limit fails the
 * item with its own message instead.
 */
TEST(in_place_agrees_with_tree)
{
	static const struct {
		const char *body;
		size_t len; /* 0: strlen */
	} bodies[] = {
		{ "{\"a\":{\"b\":[10,20,30]},\"items\":[{\"t\":\"x\"},{\"t\":\"y\"}],\"s\":\"str\",\"n\":null}", 0 },
		{ "{\"a\":1,\"a\":2,\"b\":[true,false,null],\"c\":{}}", 0 },
		{ "\xef\xbb\xbf {\"a\" : [ 1 , 2.50 , -0 , 1e2 , 9007199254740993 ] }\n", 0 },
		{ "{\"a\":99999999999999999999999,\"b\":-9223372036854775808,\"c\":1.0}", 0 },
		{ "[01, 1., -.5, 1E+2, 1e5000, -01.5e-0]", 0 },
		{ "[\x01 0.,55]", 0 },
		{ "{\"a\":[1e2, 2]}", 0 },
		{ "[\"\\u00e9\\n\\\"\\/\", \"\\ud83d\\ude00\", \"a\\u0000b\", \"\\u00zz\"]", 0 },
		{ "{\"\\u0061\":2.5,\"a\":7}", 0 },
		{ "{\"a\\u00zz\":2.5,\"a\":7}", 0 },
		{ "{\"a\\u0000x\":3,\"a\":7}", 0 },
		{ "{\"a\0x\":4,\"a\":7}", 13 },
		{ "[\x01 0,5.5]", 0 },
		{ "[\0 1]", 5 },
		{ "[\"a\x01\x7f\xff b\"]", 0 },
		{ "{\"k\":[[], {}, [[1]], {\"x\":{\"y\":[\"]}\"]}}]}", 0 },
		{ "[1234567890123456789012345678901234567890123456789012345678901234567890]", 0 },
		{ "12", 0 },
		{ "\xef\xbb\xbf" "1", 0 },
		{ "\xef\xbb\xbf" "12", 0 },
		{ "\xef\xbb\xbf" "[]", 0 },
		{ "\"text\"", 0 },
		/* not JSON */
		{ "[1, 2", 0 },
		{ "{\"a\": 1,}", 0 },
		{ "{\"a\" 1}", 0 },
		{ "{\"a\":1 \"b\":2}", 0 },
		{ "{1:2}", 0 },
		{ "{\"a\":1,2}", 0 },
		{ "{\"a\":1, }", 0 },
		{ "{\"a\":1,", 0 },
		{ "{\"a\"", 0 },
		{ "{\"a\":", 0 },
		{ "{", 0 },
		{ "[", 0 },
		{ " ", 0 },
		{ "[1}", 0 },
		{ "{\"a\":1]", 0 },
		{ "[1,]", 0 },
		{ "[1 2]", 0 },
		{ "[nullx]", 0 },
		{ "[tru]", 0 },
		{ "[+1]", 0 },
		{ "[.5]", 0 },
		{ "[1e]", 0 },
		{ "[1.5.3]", 0 },
		{ "[-]", 0 },
		{ "[\"\\x\"]", 0 },
		{ "[\"\\u12\"]", 0 },
		{ "[\"abc", 0 },
		{ "[\"abc\\", 0 },
		{ "[\xef\xbb\xbf" "1]", 0 },
		{ "[1] x", 0 },
		{ "[1]\0", 4 },
		{ "[1]  \t", 0 },
		{ "[{\"a\":\"\\ud800\"}]", 0 },
		{ "[1,{\"a\":\"x\\udc00\"}]", 0 },
		{ "[\"\\ud800\\u0041\"]", 0 },
		{ "{\"k\\ud800\":1, \"j\":2}", 0 },
		{ "[[[[[[[[[[", 0 },
		{ "[[[[]]]]]", 0 },
	};
	static const char *const paths[][4] = {
		{ "$", "$.a", "$[0]", "$[#-1]" },
		{ "$.a.b[1]", "$.items[#-1].t", "$.k[3].x.y[0]", "$.c" },
		{ "$.a[4]", "$.b", "$[1]", "$[2]" },
		{ "$[5]", "$[4]", "$[3]", "$.a[0]" },
	};
	size_t b, p, max, i;

	for (b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
		const char *body = bodies[b].body;
		size_t len = bodies[b].len ? bodies[b].len : strlen(body);

		for (p = 0; p < sizeof paths / sizeof paths[0]; p++) {
			struct value tree[4], place[4];
			char terr[256] = "", perr[256] = "";
			int trc = run_limit(0, 4, paths[p], body, len, tree, terr, sizeof terr);

			for (max = 1; max <= 13; max++) {
				int prc;

				perr[0] = '\0';
				prc = run_limit(max == 13 ? DEFAULTS : max, 4, paths[p], body, len, place, perr,
						sizeof perr);

				if (prc == EXTRACT_ETOOBIG) {
					CHECK(strstr(perr, "value too large: more than ") != NULL);
					CHECK_EQ_INT(place[0].type, VAL_NULL);
					continue;
				}
				if (!CHECK_EQ_INT(prc, trc) || (trc && !CHECK_EQ_STR(perr, terr)))
					fprintf(stderr, "  body #%zu, paths #%zu, limit %zu\n", b, p, max);
				for (i = 0; i < 4; i++) {
					if (!CHECK(same_value(&place[i], &tree[i])))
						fprintf(stderr, "  body #%zu, path %s, limit %zu\n", b, paths[p][i], max);
					value_release(&place[i]);
				}
			}
			for (i = 0; i < 4; i++)
				value_release(&tree[i]);
		}
	}
}

/* The same comparison over bodies made of random JSON pieces (a fixed
 * seed: every run checks the same 30000 bodies). */
TEST(in_place_agrees_random)
{
	static const char *const pieces[] = {
		"[", "]", "{", "}", ",", ":", "\"", "\"a\"", "\"a\":", "\\", "\\u", "d800", "dc00", "00zz",
		"0", "1", "-", ".", "e", "+", "x", "null", "true", "false", " ", "\x01", "\"\\ud83d\\ude00\"",
		"\"b\\n\"", "9007199254740993", "\xef\xbb\xbf", "\xff",
	};
	static const char *const paths[4] = { "$[0]", "$.a", "$[#-1]", "$[1].a" };
	uint64_t seed = 42;
	char body[512];
	size_t c, k, i, max;

	for (c = 0; c < 30000; c++) {
		struct value tree[4], place[4];
		char terr[256] = "", perr[256];
		size_t len = 0, npieces;
		int trc, prc;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		npieces = 1 + (size_t)(seed >> 60);
		for (k = 0; k < npieces; k++) {
			const char *piece;

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			piece = pieces[(seed >> 33) % (sizeof pieces / sizeof pieces[0])];
			memcpy(body + len, piece, strlen(piece));
			len += strlen(piece);
		}
		trc = run_limit(0, 4, paths, body, len, tree, terr, sizeof terr);
		for (max = 1; max <= 3; max++) {
			perr[0] = '\0';
			prc = run_limit(max, 4, paths, body, len, place, perr, sizeof perr);
			if (prc != EXTRACT_ETOOBIG &&
			    (!CHECK_EQ_INT(prc, trc) || (trc && !CHECK_EQ_STR(perr, terr))))
				fprintf(stderr, "  body '%.*s', limit %zu\n", (int)len, body, max);
			for (i = 0; prc != EXTRACT_ETOOBIG && i < 4; i++)
				if (!CHECK(same_value(&place[i], &tree[i])))
					fprintf(stderr, "  body '%.*s', path %s, limit %zu\n", (int)len, body,
						paths[i], max);
			for (i = 0; i < 4; i++)
				value_release(&place[i]);
		}
		for (i = 0; i < 4; i++)
			value_release(&tree[i]);
	}
}

/* Nesting: cJSON's limit holds in place too. */
TEST(in_place_nesting)
{
	static const char *const paths[1] = { "$[0][0]" };
	size_t depth, lim = 1000, i;
	char *body = malloc(2 * 1001 + 2), err[256];
	struct value v;

	if (!CHECK(body != NULL))
		return;
	for (depth = lim; depth <= lim + 1; depth++) {
		for (i = 0; i < depth; i++) {
			body[i] = '[';
			body[depth + i] = ']';
		}
		CHECK_EQ_INT(run_limit(0, 1, paths, body, 2 * depth, &v, err, sizeof err),
			     depth == lim ? 0 : EXTRACT_EINVAL);
		value_release(&v);
		CHECK_EQ_INT(run_limit(3, 1, paths, body, 2 * depth, &v, err, sizeof err),
			     depth == lim ? EXTRACT_ETOOBIG : EXTRACT_EINVAL);
		value_release(&v);
	}
	free(body);
}

/* A body of millions of values is searched in place, with the right results. */
TEST(huge_array)
{
	static const char *const paths[4] = { "$[0]", "$[#-1]", "$[1999998]", "$.x" };
	static const char *const whole[1] = { "$" };
	size_t n = 2000000, i, len = 2 * n + 1;
	char *body = malloc(len), err[256];
	struct value out[4];

	if (!CHECK(body != NULL))
		return;
	body[0] = '[';
	for (i = 0; i < n; i++) {
		body[1 + 2 * i] = (char)('0' + i % 10);
		body[2 + 2 * i] = i + 1 < n ? ',' : ']';
	}
	CHECK_EQ_INT(run_limit(0, 4, paths, body, len, out, err, sizeof err), 0);
	CHECK_EQ_INT(out[0].type, VAL_INT);
	CHECK_EQ_INT(out[0].i, 0);
	CHECK_EQ_INT(out[1].i, 9);
	CHECK_EQ_INT(out[2].i, 8);
	CHECK_EQ_INT(out[3].type, VAL_NULL);
	/* the whole array as a field is over the limit: the item fails */
	CHECK_EQ_INT(run_limit(0, 1, whole, body, len, out, err, sizeof err), EXTRACT_ETOOBIG);
	CHECK_EQ_STR(err, "field 'f0': value too large: more than 1000000 JSON values");
	CHECK_EQ_INT(out[0].type, VAL_NULL);
	/* one bad byte deep inside is found without a tree */
	body[2 * 1234567 + 1] = 'x';
	CHECK_EQ_INT(run_limit(0, 4, paths, body, len, out, err, sizeof err), EXTRACT_EINVAL);
	CHECK_EQ_STR(err, "invalid JSON at byte 2469135");
	free(body);
}

/* Unicode as cJSON and json_extract() read it: raw bytes as they are, escapes
 * decoded, an unpaired surrogate refused with a message that names it. */
TEST(unicode)
{
	static const char *const one[1] = { "$.s" };
	struct value v;
	char err[256];

	v = run1("$.s", "{\"s\":\"a\xff b\xc3( \xc0\xaf \xed\xa0\x80 z\"}");
	CHECK_EQ_STR(v.s, "a\xff b\xc3( \xc0\xaf \xed\xa0\x80 z");
	value_release(&v);
	v = run1("$.s", "{\"s\":\"a\\ud83d\\ude00b\"}");
	CHECK_EQ_STR(v.s, "a\xf0\x9f\x98\x80" "b");
	value_release(&v);
	v = run1("$.s", "{\"s\":\"a\\u0000b\"}");
	CHECK_EQ_STR(v.s, "a");
	CHECK_EQ_INT(v.len, 1);
	value_release(&v);
	CHECK_EQ_INT(run_limit(0, 1, one, "{\"s\":\"a\\ud800b\"}", 16, &v, err, sizeof err), EXTRACT_EINVAL);
	CHECK_EQ_STR(err, "invalid JSON at byte 7: unpaired UTF-16 surrogate '\\ud800'");
	CHECK_EQ_INT(run_limit(0, 1, one, "{\"s\":\"a\\udc00b\"}", 16, &v, err, sizeof err), EXTRACT_EINVAL);
	CHECK_EQ_STR(err, "invalid JSON at byte 7: unpaired UTF-16 surrogate '\\udc00'");
	CHECK_EQ_INT(run_limit(0, 1, one, "{\"s\":\"\\ude00\\ud83d\"}", 20, &v, err, sizeof err), EXTRACT_EINVAL);
	CHECK_EQ_STR(err, "invalid JSON at byte 6: unpaired UTF-16 surrogate '\\ude00'");
	CHECK_EQ_INT(run_limit(0, 1, one, "[\"\\ud800\\u0041\"]", 16, &v, err, sizeof err), EXTRACT_EINVAL);
	CHECK_EQ_STR(err, "invalid JSON at byte 2: unpaired UTF-16 surrogate '\\ud800'");
	CHECK_EQ_INT(run_limit(1, 1, one, "[\"\\ud800\\u0041\"]", 16, &v, err, sizeof err), EXTRACT_EINVAL);
	CHECK_EQ_STR(err, "invalid JSON at byte 2: unpaired UTF-16 surrogate '\\ud800'");
	/* a high surrogate cut by the end of the body */
	CHECK_EQ_INT(run_limit(0, 1, one, "[\"\\ud800", 8, &v, err, sizeof err), EXTRACT_EINVAL);
	CHECK(strncmp(err, "invalid JSON at byte ", 21) == 0);
}

/* Inputs the fuzzer found (tests/fuzz/corpus/jpath/bug-*), each now a case. */
TEST(fuzz_findings)
{
	struct jpath *p = NULL;
	struct value v;
	char err[256];

	/* [#2] is not SQLite syntax: only [#] and [#-N] */
	CHECK(jpath_compile(&p, "$[#2]", err, sizeof err) < 0);
	jpath_free(p);
	p = NULL;
	/* a key with a NUL byte: cJSON's view of it ends at the NUL (runlen: not strlen) */
	v = runlen("$.n", "{\"n\0x\":1,\"n\":99999999999999999999}", 34);
	CHECK(v.type == VAL_INT || v.type == VAL_REAL);
	value_release(&v);
	/* a \u escape in a key names the same key as the plain letter */
	v = run1("$.a", "{\"\\u0061\":2.5,\"a\":7}");
	CHECK_EQ_INT(v.type, VAL_REAL);
	CHECK_NEAR(v.d, 2.5, 0);
	v = run1("$.a", "{\"\\u0061\":18446744073709551616,\"a\":7}");
	CHECK_EQ_INT(v.type, VAL_TEXT);
	CHECK_EQ_STR(v.s, "18446744073709551616");
	value_release(&v);
	/* an invalid \u escape: cJSON cuts the key there; the walk may not
	 * pick another element (its number must equal cJSON's, or cJSON's stands) */
	v = run1("$.a", "{\"a\\u00zz\":2.5,\"a\":7}");
	CHECK_EQ_INT(v.type, VAL_REAL);
	CHECK_NEAR(v.d, 2.5, 0);
	/* control bytes count as whitespace, as cJSON counts them */
	v = run1("$[1]", "[\x01 0,5.5]");
	CHECK_EQ_INT(v.type, VAL_REAL);
	CHECK_NEAR(v.d, 5.5, 0);
	/* a NUL between elements neither hangs nor picks the wrong one */
	{
		static const char body[] = "[\0 1]";
		const char *names[1] = { "f" }, *paths[1] = { "$[#-1]" };
		struct extractor *x = NULL;

		CHECK_EQ_INT(extractor_new(&x, 1, names, paths, err, sizeof err), 0);
		CHECK_EQ_INT(extractor_run(x, body, sizeof(body) - 1, &v, err, sizeof err), 0);
		CHECK_EQ_INT(v.type, VAL_INT);
		CHECK_EQ_INT(v.i, 1);
		extractor_free(x);
	}
}

TEST(exact_big_numbers)
{
	struct value v;

	v = run1("$.n", "{\"n\": -9223372036854775808}");
	CHECK_EQ_INT(v.type, VAL_INT);
	CHECK(v.i == INT64_MIN);
	v = run1("$.n", "{\"n\": 123456789012345678901234567890}");
	CHECK_EQ_INT(v.type, VAL_TEXT);
	CHECK_EQ_STR(v.s, "123456789012345678901234567890");
	value_release(&v);
	/* found through keys before it, escaped keys, nested arrays and [#-N] */
	v = run1("$.b[#-1].\"c d\"", "{\"a\":{\"x\":[1,\"]}\"]},\"b\":[1,{\"c d\":1},{\"c d\":99999999999999999999}]}");
	CHECK_EQ_INT(v.type, VAL_TEXT);
	CHECK_EQ_STR(v.s, "99999999999999999999");
	value_release(&v);
	v = run1("$.k[1]", "\xef\xbb\xbf{\"q\\\"\":0,\"k\":[0, -18446744073709551617 ]}");
	CHECK_EQ_INT(v.type, VAL_TEXT);
	CHECK_EQ_STR(v.s, "-18446744073709551617");
	value_release(&v);
	/* duplicate keys: the first one, as for every other value */
	v = run1("$.n", "{\"n\": 18446744073709551615, \"n\": 1}");
	CHECK_EQ_INT(v.type, VAL_TEXT);
	CHECK_EQ_STR(v.s, "18446744073709551615");
	value_release(&v);
	/* a big number with a fraction or exponent means a REAL */
	v = run1("$.n", "{\"n\": 1e30}");
	CHECK_EQ_INT(v.type, VAL_REAL);
	v = run1("$.n", "{\"n\": 12345678901234567890.5}");
	CHECK_EQ_INT(v.type, VAL_REAL);
}

int main(void)
{
	RUN(compile_errors);
	RUN(steps);
	RUN(quoted_keys);
	RUN(types);
	RUN(several_fields);
	RUN(invalid_json);
	RUN(unterminated_buffer);
	RUN(guard_page);
	RUN(deep_nesting);
	RUN(exact_big_numbers);
	RUN(fuzz_findings);
	RUN(in_place_agrees_with_tree);
	RUN(in_place_agrees_random);
	RUN(in_place_nesting);
	RUN(huge_array);
	RUN(unicode);
	return unit_done();
}
