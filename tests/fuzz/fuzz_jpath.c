/*
 * fuzz_jpath.c - JSON paths (extract.c) against arbitrary paths and bodies.
 *
 * Input: PATH, then a NUL or a newline (whichever comes first), then BODY
 * (the rest, not NUL-terminated: it ends where libFuzzer's buffer ends, so an
 * over-read is an ASan report).  A path that compiles is evaluated over the
 * body twice, once by hand (cJSON_ParseWithLength, jpath_eval,
 * json_to_value) and once through an extractor, and the two must agree.
 *
 * Invariants (extract.h):
 *   - compile returns 0 or EXTRACT_EINVAL, and an extractor accepts exactly
 *     the paths jpath_compile accepts; jpath_text gives the path back;
 *   - json_to_value gives VAL_NULL for a missing node, VAL_INT only for
 *     integral numbers within 2^53, VAL_TEXT with a NUL-terminated copy of
 *     its stated length;
 *   - extractor_run: 0, EXTRACT_EINVAL or EXTRACT_ETOOBIG (a field's value of more
 *     than EXTRACT_MAX_VALUES values); on error every value is VAL_NULL;
 *     on success the body parsed, and the value equals the hand-made one,
 *     except that a number follows its literal (REAL for a fraction or an
 *     exponent, INT exactly past 2^53, TEXT of digits past int64): then it
 *     must be the literal cJSON read, i.e. read as a double it gives
 *     cJSON's double;
 *   - an accepted path is also a well-formed path for SQLite's
 *     json_extract() ("works verbatim in SELECT json_extract(body, PATH)"):
 *     SQLite must not answer "JSON path error".
 */
#include "fuzz.h"

#include <math.h>
#include <sqlite3.h>

#include "extract.h"

static sqlite3 *db;
static sqlite3_stmt *extract_stmt;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT json_extract(?1, ?2)", -1, &extract_stmt, NULL) != SQLITE_OK)
		abort();
	return 0;
}

/* Checks the shape of a value json_to_value produced for node. */
static void check_value(const cJSON *node, const struct value *v)
{
	if (node == NULL || cJSON_IsNull(node)) {
		FUZZ_CHECK(v->type == VAL_NULL, "type %d for a missing node", (int)v->type);
		return;
	}
	switch (v->type) {
	case VAL_INT:
		FUZZ_CHECK(cJSON_IsBool(node) || cJSON_IsNumber(node), "INT from node type %d", node->type);
		FUZZ_CHECK(v->i >= -9007199254740992LL && v->i <= 9007199254740992LL, "INT %lld",
			   (long long)v->i);
		break;
	case VAL_REAL:
		FUZZ_CHECK(cJSON_IsNumber(node), "REAL from node type %d", node->type);
		FUZZ_CHECK(v->d != floor(v->d) || fabs(v->d) > 9007199254740992.0,
			   "integral REAL %.17g within 2^53", v->d);
		break;
	case VAL_TEXT:
		FUZZ_CHECK(v->s != NULL, "TEXT with no string");
		FUZZ_CHECK(strlen(v->s) == v->len, "TEXT length %zu, strlen %zu", v->len, strlen(v->s));
		FUZZ_CHECK(cJSON_IsString(node) || cJSON_IsArray(node) || cJSON_IsObject(node),
			   "TEXT from node type %d", node->type);
		break;
	default:
		FUZZ_CHECK(0, "type %d for a node of type %d", (int)v->type, node->type);
	}
}

static int same_value(const struct value *a, const struct value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case VAL_INT:
		return a->i == b->i;
	case VAL_REAL:
		return memcmp(&a->d, &b->d, sizeof(a->d)) == 0;
	case VAL_TEXT:
	case VAL_BLOB:
		return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
	default:
		return 1;
	}
}

/*
 * The extractor's value x must be the hand-made one h, or, for a number,
 * the number as its literal reads (json_extract's way: REAL for a fraction
 * or an exponent, INT exactly, TEXT of digits past int64).  Whatever the
 * type, that literal is the one cJSON read at the same path, so read as a
 * double it gives cJSON's very double.
 */
static void check_same_or_literal(const struct value *x, const struct value *h, const cJSON *node,
				  const char *path)
{
	double hd = node != NULL ? node->valuedouble : 0;
	char *end = NULL;

	if (same_value(x, h))
		return;
	FUZZ_CHECK(cJSON_IsNumber(node), "extractor and jpath_eval disagree on '%s' (types %d, %d)",
		   path, (int)x->type, (int)h->type);
	switch (x->type) {
	case VAL_INT:
		FUZZ_CHECK((double)x->i == hd, "%lld for '%s' is not the number %.17g read there",
			   (long long)x->i, path, hd);
		break;
	case VAL_REAL:
		FUZZ_CHECK(x->d == hd, "%.17g for '%s' is not the number %.17g read there", x->d, path,
			   hd);
		break;
	case VAL_TEXT:
		FUZZ_CHECK(x->len > 0 && strspn(x->s + (x->s[0] == '-'), "0123456789") ==
			   x->len - (x->s[0] == '-'), "text '%s' for '%s' is not an integer", x->s, path);
		FUZZ_CHECK(strtod(x->s, &end) == hd, "text '%s' for '%s' is not the number %.17g read there",
			   x->s, path, hd);
		break;
	default:
		FUZZ_CHECK(0, "type %d for the number at '%s'", (int)x->type, path);
	}
}

/* SQLite must accept the path's syntax (errors for malformed JSON do not count). */
static void check_sqlite_accepts(const char *path, const char *body, size_t len)
{
	const char *msg;
	int rc;

	sqlite3_bind_text(extract_stmt, 1, len ? body : "{}", len ? (int)len : -1, SQLITE_STATIC);
	sqlite3_bind_text(extract_stmt, 2, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(extract_stmt);
	msg = rc == SQLITE_ROW ? "" : sqlite3_errmsg(db);
	FUZZ_CHECK(rc == SQLITE_ROW || strncmp(msg, "JSON path error", 15) != 0,
		   "trawl accepts path '%s' but SQLite says: %s", path, msg);
	sqlite3_reset(extract_stmt);
	sqlite3_clear_bindings(extract_stmt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size), *nl = memchr(data, '\n', size);
	const uint8_t *sep = nul == NULL || (nl != NULL && nl < nul) ? nl : nul;
	size_t plen = sep != NULL ? (size_t)(sep - data) : size;
	const char *body = sep != NULL ? (const char *)sep + 1 : "";
	size_t blen = sep != NULL ? size - plen - 1 : 0;
	char *path = fuzz_strndup(data, plen), err[256];
	struct jpath *p = NULL;
	struct extractor *x = NULL;
	struct value byhand, out[2];
	const char *names[2] = { "f", "root" }, *paths[2] = { path, "$" };
	cJSON *root = NULL;
	const cJSON *node;
	int rc, xrc;

	memset(err, 'x', sizeof(err));
	rc = jpath_compile(&p, path, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == EXTRACT_EINVAL, "jpath_compile returned %d", rc);
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL || rc == 0, "message not NUL-terminated");
	xrc = extractor_new(&x, 2, names, paths, err, sizeof(err));
	FUZZ_CHECK(xrc == rc, "extractor_new %d, jpath_compile %d for '%s'", xrc, rc, path);
	if (rc != 0) {
		FUZZ_CHECK(p == NULL && x == NULL, "a result despite an error");
		goto out;
	}
	FUZZ_CHECK(strcmp(jpath_text(p), path) == 0, "text '%s' for path '%s'", jpath_text(p), path);
	FUZZ_CHECK(extractor_count(x) == 2 && strcmp(extractor_path(x, 0), path) == 0 &&
		   strcmp(extractor_name(x, 0), "f") == 0, "extractor does not give its field back");
	check_sqlite_accepts(path, body, blen);

	/* by hand */
	root = blen ? cJSON_ParseWithLength(body, blen) : NULL;
	node = jpath_eval(p, root);
	FUZZ_CHECK(root != NULL || node == NULL, "a node out of no document");
	FUZZ_CHECK(json_to_value(node, &byhand) == 0, "json_to_value failed");
	check_value(node, &byhand);

	/* through the extractor */
	memset(out, 0x5a, sizeof(out)); /* overwritten whatever the result */
	xrc = extractor_run(x, body, blen, out, err, sizeof(err));
	FUZZ_CHECK(xrc == 0 || xrc == EXTRACT_EINVAL || xrc == EXTRACT_ETOOBIG, "extractor_run returned %d", xrc);
	if (xrc != 0) {
		FUZZ_CHECK(out[0].type == VAL_NULL && out[1].type == VAL_NULL && out[0].s == NULL &&
			   out[1].s == NULL, "values left after an error");
		FUZZ_CHECK(strncmp(err, "invalid JSON at byte ", 21) == 0, "message '%s'", err);
	} else {
		FUZZ_CHECK(root != NULL, "extractor parsed a body cJSON_ParseWithLength refuses");
		check_same_or_literal(&out[0], &byhand, node, path);
		FUZZ_CHECK(out[1].type == VAL_TEXT || out[1].type == VAL_INT ||
			   out[1].type == VAL_REAL || out[1].type == VAL_NULL, "root type %d",
			   (int)out[1].type);
	}
	value_release(&byhand);
	value_release(&out[0]);
	value_release(&out[1]);
out:
	cJSON_Delete(root);
	extractor_free(x);
	jpath_free(p);
	free(path);
	return 0;
}
