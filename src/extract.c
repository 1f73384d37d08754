/*
 * extract.c - compile SQLite-style JSON paths and evaluate them over cJSON
 * trees; convert the nodes found into typed values the way json_extract()
 * does.  A body too large for one tree (more values than the limit) is
 * checked and searched over its text instead, with the same results.
 *
 * This module must never print, exit, or know about curl or SQLite (the
 * path syntax is SQLite's, the code is not).  It only reads the parsed tree
 * and the body, never modifies them, and every allocation it hands out is
 * plain malloc, so value_release() can free it.  See extract.h for the
 * grammar.
 */
#include "extract.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum step_kind {
	STEP_KEY,      /* .name or ."name" */
	STEP_INDEX,    /* [N] */
	STEP_FROM_END  /* [#-N]; N == 0 is [#], past the end */
};

struct step {
	enum step_kind kind;
	char *key;     /* STEP_KEY: NUL-terminated, owned */
	size_t n;      /* STEP_INDEX / STEP_FROM_END */
};

struct jpath {
	char *text;    /* the source, for messages */
	size_t nsteps;
	struct step *steps;
};

struct extractor {
	size_t n;
	char **names;
	struct jpath **paths;
	size_t max_values; /* the most values a body may hold to be one tree */
	size_t in_place_fields; /* up to this many fields, bodies are read in place */
};


static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* ---- compiling ---------------------------------------------------------- */

/* A compile error at offset off of p's text. */
static int bad_path(const struct jpath *p, size_t off, const char *what, char *err, size_t errlen)
{
	return errmsg(err, errlen, EXTRACT_EINVAL, "bad path '%s': %s at offset %zu", p->text, what, off);
}

/* Appends a step to p (steps is grown one at a time: paths are short). */
static int add_step(struct jpath *p, enum step_kind kind, char *key, size_t n)
{
	struct step *s = realloc(p->steps, (p->nsteps + 1) * sizeof *s);

	if (s == NULL)
		return EXTRACT_ENOMEM;
	p->steps = s;
	s[p->nsteps].kind = kind;
	s[p->nsteps].key = key;
	s[p->nsteps].n = n;
	p->nsteps++;
	return 0;
}

/*
 * Parses the key step at text[*i] (just past the '.'); advances *i past it.
 * Returns 0, EXTRACT_EINVAL (err set) or EXTRACT_ENOMEM.
 */
static int parse_key(struct jpath *p, size_t *i, char *err, size_t errlen)
{
	const char *t = p->text;
	size_t start = *i, end;
	char *key = NULL;
	int rc;

	if (t[start] == '"') {
		for (end = start + 1; t[end] != '\0' && t[end] != '"'; end++)
			;
		if (t[end] != '"')
			return bad_path(p, start, "unterminated quoted key", err, errlen);
		key = dup_n(t + start + 1, end - start - 1);
		*i = end + 1;
	} else {
		for (end = start; t[end] != '\0' && t[end] != '.' && t[end] != '['; end++)
			;
		if (end == start)
			return bad_path(p, start, "expected a key", err, errlen);
		key = dup_n(t + start, end - start);
		*i = end;
	}
	if (key == NULL)
		return errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory");
	rc = add_step(p, STEP_KEY, key, 0);
	if (rc < 0) {
		free(key);
		return errmsg(err, errlen, rc, "out of memory");
	}
	return 0;
}

/*
 * Parses the index step at text[*i] (just past the '['); advances *i past
 * the ']'.  Returns 0, EXTRACT_EINVAL (err set) or EXTRACT_ENOMEM.
 */
static int parse_index(struct jpath *p, size_t *i, char *err, size_t errlen)
{
	const char *t = p->text;
	size_t j = *i, n = 0, digits;
	enum step_kind kind = STEP_INDEX;

	if (t[j] == '#') {
		kind = STEP_FROM_END;
		j++;
		if (t[j] == '-') {
			j++;
			if (t[j] < '0' || t[j] > '9')
				return bad_path(p, j, "expected an array index", err, errlen);
		} else if (t[j] != ']') {
			/* SQLite knows [#] and [#-N] only */
			return bad_path(p, j, "expected '-' or ']' after '#'", err, errlen);
		}
	} else if (t[j] < '0' || t[j] > '9') {
		return bad_path(p, j, "expected an array index", err, errlen);
	}
	for (digits = j; t[j] >= '0' && t[j] <= '9'; j++) {
		size_t d = (size_t)(t[j] - '0');

		if (n > (SIZE_MAX - d) / 10)
			return bad_path(p, digits, "array index too large", err, errlen);
		n = n * 10 + d;
	}
	if (t[j] != ']')
		return bad_path(p, j, "expected ']'", err, errlen);
	if (add_step(p, kind, NULL, n) < 0)
		return errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory");
	*i = j + 1;
	return 0;
}

int jpath_compile(struct jpath **out, const char *path, char *err, size_t errlen)
{
	struct jpath *p = NULL;
	size_t i = 1;
	int rc = 0;

	*out = NULL;
	if (path == NULL)
		return errmsg(err, errlen, EXTRACT_EINVAL, "bad path: none given");
	p = calloc(1, sizeof *p);
	if (p == NULL || (p->text = dup_n(path, strlen(path))) == NULL) {
		rc = errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory");
		goto out;
	}
	if (path[0] != '$') {
		rc = bad_path(p, 0, "expected '$'", err, errlen);
		goto out;
	}
	while (path[i] != '\0' && rc == 0) {
		if (path[i] == '.') {
			i++;
			rc = parse_key(p, &i, err, errlen);
		} else if (path[i] == '[') {
			i++;
			rc = parse_index(p, &i, err, errlen);
		} else {
			rc = bad_path(p, i, "expected '.' or '['", err, errlen);
		}
	}
out:
	if (rc < 0) {
		jpath_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void jpath_free(struct jpath *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nsteps; i++)
		free(p->steps[i].key);
	free(p->steps);
	free(p->text);
	free(p);
}

const char *jpath_text(const struct jpath *p)
{
	return p->text;
}

/* ---- evaluating --------------------------------------------------------- */

/* The i-th element of an array node, or NULL (walks the list: O(i)). */
static const cJSON *array_at(const cJSON *arr, size_t i)
{
	const cJSON *c;

	for (c = arr->child; c != NULL && i > 0; c = c->next)
		i--;
	return c;
}

static size_t array_len(const cJSON *arr)
{
	const cJSON *c;
	size_t n = 0;

	for (c = arr->child; c != NULL; c = c->next)
		n++;
	return n;
}

const cJSON *jpath_eval(const struct jpath *p, const cJSON *root)
{
	const cJSON *node = root;
	size_t i, len;

	for (i = 0; i < p->nsteps && node != NULL; i++) {
		const struct step *s = &p->steps[i];

		switch (s->kind) {
		case STEP_KEY:
			/* first match wins with duplicate keys; exact, case-sensitive */
			node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, s->key) : NULL;
			break;
		case STEP_INDEX:
			node = cJSON_IsArray(node) ? array_at(node, s->n) : NULL;
			break;
		case STEP_FROM_END:
			if (!cJSON_IsArray(node)) {
				node = NULL;
				break;
			}
			len = array_len(node);
			node = s->n == 0 || s->n > len ? NULL : array_at(node, len - s->n);
			break;
		}
	}
	return node;
}

/* ---- converting --------------------------------------------------------- */

#define MAX_SAFE_INT 9007199254740992.0 /* 2^53 */

int json_to_value(const cJSON *node, struct value *out)
{
	char *text = NULL;
	double d;

	memset(out, 0, sizeof *out);
	out->type = VAL_NULL;
	if (node == NULL || cJSON_IsNull(node) || cJSON_IsInvalid(node))
		return 0;
	if (cJSON_IsBool(node)) {
		out->type = VAL_INT;
		out->i = cJSON_IsTrue(node) ? 1 : 0;
		return 0;
	}
	if (cJSON_IsNumber(node)) {
		d = node->valuedouble;
		if (d == floor(d) && fabs(d) <= MAX_SAFE_INT) {
			out->type = VAL_INT;
			out->i = (int64_t)d;
		} else {
			out->type = VAL_REAL;
			out->d = d;
		}
		return 0;
	}
	if (cJSON_IsString(node) && node->valuestring != NULL) {
		out->s = dup_n(node->valuestring, strlen(node->valuestring));
	} else if (cJSON_IsArray(node) || cJSON_IsObject(node)) {
		/* copied so the caller can free() it whatever cJSON's hooks are */
		text = cJSON_PrintUnformatted(node);
		if (text != NULL)
			out->s = dup_n(text, strlen(text));
		cJSON_free(text);
	} else {
		return 0; /* cJSON_Raw never comes out of the parser */
	}
	if (out->s == NULL)
		return EXTRACT_ENOMEM;
	out->type = VAL_TEXT;
	out->len = strlen(out->s);
	return 0;
}

/* ---- extractor ---------------------------------------------------------- */

int extractor_new(struct extractor **out, size_t n, const char *const *names,
		  const char *const *paths, char *err, size_t errlen)
{
	struct extractor *x = NULL;
	char sub[512];
	size_t i;
	int rc = 0;

	*out = NULL;
	x = calloc(1, sizeof *x);
	if (x == NULL || (n > 0 && ((x->names = calloc(n, sizeof *x->names)) == NULL ||
				    (x->paths = calloc(n, sizeof *x->paths)) == NULL))) {
		rc = errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory");
		goto out;
	}
	x->n = n;
	x->max_values = EXTRACT_MAX_VALUES;
	x->in_place_fields = EXTRACT_IN_PLACE_FIELDS;
	for (i = 0; i < n; i++) {
		if (names[i] == NULL || names[i][0] == '\0') {
			rc = errmsg(err, errlen, EXTRACT_EINVAL, "field %zu has no name", i + 1);
			goto out;
		}
		x->names[i] = dup_n(names[i], strlen(names[i]));
		if (x->names[i] == NULL) {
			rc = errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory");
			goto out;
		}
		rc = jpath_compile(&x->paths[i], paths[i], sub, sizeof sub);
		if (rc < 0) {
			errmsg(err, errlen, rc, "field '%s': %s", names[i], sub);
			goto out;
		}
	}
out:
	if (rc < 0) {
		extractor_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

void extractor_free(struct extractor *x)
{
	size_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->n; i++) {
		if (x->names != NULL)
			free(x->names[i]);
		if (x->paths != NULL)
			jpath_free(x->paths[i]);
	}
	free(x->names);
	free(x->paths);
	free(x);
}

size_t extractor_count(const struct extractor *x)
{
	return x->n;
}

const char *extractor_name(const struct extractor *x, size_t i)
{
	return x->names[i];
}

const char *extractor_path(const struct extractor *x, size_t i)
{
	return x->paths[i]->text;
}

/* Sets out[0..n-1] to VAL_NULL without looking at what they held. */
static void null_values(struct value *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].type = VAL_NULL;
	}
}

/* Frees what out[0..n-1] own (filled by us) and sets them all to VAL_NULL. */
static void clear_values(struct value *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (out[i].type == VAL_TEXT || out[i].type == VAL_BLOB)
			free(out[i].s);
		memset(&out[i], 0, sizeof out[i]);
		out[i].type = VAL_NULL;
	}
}

int extractor_eval(const struct extractor *x, const cJSON *root, struct value *out,
		   char *err, size_t errlen)
{
	size_t i;

	null_values(out, x->n);
	for (i = 0; i < x->n; i++) {
		if (json_to_value(jpath_eval(x->paths[i], root), &out[i]) < 0) {
			clear_values(out, x->n);
			return errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory");
		}
	}
	return 0;
}

static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ---- the raw text ---------------------------------------------------------
 *
 * Two jobs are done over the body's text rather than over cJSON's tree.
 * Numbers: cJSON keeps every number as a double, which rounds integers
 * beyond 2^53, so the path is walked again over the text to find the
 * number's literal.  Large bodies: one of more than the value limit is
 * checked here without building it, and each path is walked over the text
 * to the one value that is then parsed.  The walk follows cJSON's reading
 * exactly (its whitespace, its key decoding, the first of duplicate keys)
 * and assumes a body that has been checked: it skips values without
 * building them.
 */

/* cJSON takes every byte up to 0x20 (NUL and control bytes too) for
 * whitespace; the walk must see the same document. */
static int raw_space(char c)
{
	return (unsigned char)c <= 0x20;
}

static const char *raw_ws(const char *p, const char *e)
{
	while (p < e && raw_space(*p))
		p++;
	return p;
}

/* p at '"': returns the byte after the closing quote (or e). */
static const char *raw_string_end(const char *p, const char *e)
{
	for (p++; p < e && *p != '"'; p++)
		if (*p == '\\' && p + 1 < e)
			p++;
	return p < e ? p + 1 : e;
}

/* Returns the byte after the value starting at p (at least p + 1 when p < e). */
static const char *raw_skip(const char *p, const char *e)
{
	const char *start = p;
	int depth = 0;

	if (p >= e)
		return e;
	if (*p == '"')
		return raw_string_end(p, e);
	if (*p != '{' && *p != '[') {
		while (p < e && !raw_space(*p) && *p != ',' && *p != '}' && *p != ']')
			p++;
		return p > start ? p : start + 1;
	}
	while (p < e) {
		if (*p == '"') {
			p = raw_string_end(p, e);
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return e;
}

/* Reads 4 hex digits as cJSON does: a byte that is not one makes it 0. */
static unsigned hex4(const char *p)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (unsigned)((c | 0x20) - 'a' + 10);
		else
			return 0;
	}
	return v;
}

/* Is p (before e) "\uXXXX" with XXXX a UTF-16 surrogate of [lo, hi]? */
static int surrogate_at(const char *p, const char *e, unsigned lo, unsigned hi)
{
	unsigned cp;

	if (e - p < 6 || p[0] != '\\' || p[1] != 'u')
		return 0;
	cp = hex4(p + 2);
	return cp >= lo && cp <= hi;
}

/*
 * Decodes the escape at p (just after the backslash) into out (UTF-8, as
 * cJSON decodes it; "\u" with a byte that is not hex is U+0000 there);
 * returns the bytes written (0: not an escape cJSON takes) and moves *pp to
 * the escape's last byte.
 */
static size_t raw_unescape(const char **pp, const char *e, char out[4])
{
	const char *p = *pp;
	unsigned cp;
	size_t n;

	switch (*p) {
	case 'n': out[0] = '\n'; break;
	case 't': out[0] = '\t'; break;
	case 'r': out[0] = '\r'; break;
	case 'b': out[0] = '\b'; break;
	case 'f': out[0] = '\f'; break;
	case '"': case '\\': case '/': out[0] = *p; break;
	case 'u':
		if (e - p < 5)
			return 0;
		cp = hex4(p + 1);
		p += 4;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (!surrogate_at(p + 1, e, 0xdc00, 0xdfff))
				return 0;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(p + 3) - 0xdc00);
			p += 6;
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			return 0;
		}
		if (cp < 0x80) {
			out[0] = (char)cp;
			n = 1;
		} else if (cp < 0x800) {
			out[0] = (char)(0xc0 | (cp >> 6));
			out[1] = (char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			out[0] = (char)(0xe0 | (cp >> 12));
			out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[2] = (char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			out[0] = (char)(0xf0 | (cp >> 18));
			out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
			out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[3] = (char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		*pp = p;
		return n;
	default:
		return 0;
	}
	return 1;
}

/* Does the raw string at p (at its '"') name key, as cJSON compares keys?
 * cJSON keeps a key as a C string, so a NUL in it (raw, "\u0000", or a "\u"
 * that is not hex) ends it: what comes after is not compared. */
static int raw_key_is(const char *p, const char *e, const char *key)
{
	for (p++; p < e && *p != '"'; p++) {
		char dec[4];
		size_t n = 1, i;

		dec[0] = *p;
		if (*p == '\\') {
			if (++p >= e || !(n = raw_unescape(&p, e, dec)))
				return 0;
		}
		for (i = 0; i < n; i++, key++) {
			if (!dec[i])
				return *key == '\0'; /* cJSON's view of this key ends here */
			if (*key != dec[i])
				return 0;
		}
	}
	return p < e && *key == '\0';
}

/* cJSON skips a UTF-8 BOM at the start, only in a body of 5 bytes or more. */
static const char *after_bom(const char *body, size_t len)
{
	return len > 4 && !memcmp(body, "\xef\xbb\xbf", 3) ? body + 3 : body;
}

/* Finds the raw text of p's value in body; 0 and *v, *vlen, or -1 when absent. */
static int raw_eval(const struct jpath *jp, const char *body, size_t len, const char **v, size_t *vlen)
{
	const char *e = body + len, *p = raw_ws(after_bom(body, len), e);
	size_t i;

	for (i = 0; i < jp->nsteps; i++) {
		const struct step *s = &jp->steps[i];
		size_t want = s->n, count = 0;
		const char *first;

		if (s->kind == STEP_KEY) {
			if (p >= e || *p != '{')
				return -1;
			for (p = raw_ws(p + 1, e); p < e && *p == '"';) {
				int hit = raw_key_is(p, e, s->key);

				p = raw_ws(raw_string_end(p, e), e);   /* at ':' */
				p = raw_ws(p + 1, e);                    /* the value */
				if (hit)
					break;
				p = raw_ws(raw_skip(p, e), e);
				p = p < e && *p == ',' ? raw_ws(p + 1, e) : p;
			}
			if (p >= e || *p == '}')
				return -1;
			continue;
		}
		if (p >= e || *p != '[')
			return -1;
		first = raw_ws(p + 1, e);
		if (s->kind == STEP_FROM_END) {
			for (p = first; p < e && *p != ']'; count++) {
				p = raw_ws(raw_skip(p, e), e);
				p = p < e && *p == ',' ? raw_ws(p + 1, e) : p;
			}
			if (s->n == 0 || s->n > count)
				return -1;
			want = count - s->n;
		}
		for (p = first; p < e && *p != ']' && want > 0; want--) {
			p = raw_ws(raw_skip(p, e), e);
			p = p < e && *p == ',' ? raw_ws(p + 1, e) : p;
		}
		if (p >= e || *p == ']')
			return -1;
	}
	*v = p;
	*vlen = (size_t)(raw_skip(p, e) - p);
	return 0;
}

/*
 * Makes a number's value follow its literal v[0..n), as json_extract()
 * does: a literal with a fraction or an exponent is REAL (7.00 too); an
 * integer literal is INTEGER, exactly, even past 2^53 where the double d
 * that cJSON kept is rounded; one past int64 is its exact digits as TEXT.
 * The literal must read as d, or d stands (a document cJSON reads in its
 * own way).  Returns 0 or EXTRACT_ENOMEM.
 */
static int number_literal(const char *v, size_t n, double d, struct value *out)
{
	size_t i;
	char digits[32], literal[512];
	char *end;
	long long ll;

	if (!n || n >= sizeof(literal))
		return 0;
	memcpy(literal, v, n);
	literal[n] = '\0';
	if (strtod(literal, &end) != d || *end)
		return 0;
	for (i = (v[0] == '-'); i < n; i++)
		if (v[i] < '0' || v[i] > '9') {
			out->type = VAL_REAL;
			out->d = d;
			return 0;
		}
	if (out->type == VAL_INT && fabs(d) < MAX_SAFE_INT)
		return 0; /* exact already */
	if (n < sizeof(digits)) {
		memcpy(digits, v, n);
		digits[n] = '\0';
		errno = 0;
		ll = strtoll(digits, &end, 10);
		if (!errno && !*end) {
			out->type = VAL_INT;
			out->i = ll;
			return 0;
		}
	}
	if (!(out->s = dup_n(v, n)))
		return EXTRACT_ENOMEM;
	out->type = VAL_TEXT;
	out->len = n;
	return 0;
}

/* ---- checking a body without building it ------------------------------- */

/*
 * Counts the values in p[0..e) as a tree would hold them (1 + commas +
 * opening brackets outside strings, an upper bound), stopping once past
 * limit.  Returns the count, or limit + 1.
 */
static size_t count_values(const char *p, const char *e, size_t limit)
{
	size_t n = 1;

	while (p < e && n <= limit) {
		switch (*p++) {
		case '"':
			while (p < e && *p != '"')
				p += *p == '\\' && p + 1 < e ? 2 : 1;
			p += p < e;
			break;
		case ',': case '[': case '{':
			n++;
			break;
		}
	}
	return n;
}

/* Is p[0..q) a number as RFC 8259 writes it? */
static int plain_number(const char *p, const char *q)
{
	p += p < q && *p == '-';
	if (p < q && *p == '0')
		p++;
	else if (p < q && *p >= '1' && *p <= '9')
		while (p < q && *p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (p < q && *p == '.') {
		if (++p >= q || *p < '0' || *p > '9')
			return 0;
		while (p < q && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < q && (*p | 0x20) == 'e') {
		p++;
		p += p < q && (*p == '+' || *p == '-');
		if (p >= q || *p < '0' || *p > '9')
			return 0;
		while (p < q && *p >= '0' && *p <= '9')
			p++;
	}
	return p == q;
}

/* Is p[0..q) a scalar every cJSON takes: a string of printable bytes
 * without escapes, a short RFC 8259 number, null, true or false? */
static int plain_scalar(const char *p, const char *q)
{
	size_t n = (size_t)(q - p), i;

	if (*p == '"') {
		for (i = 1; i + 1 < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == '\\')
				return 0;
		return n >= 2 && p[n - 1] == '"';
	}
	if (n == 4 && (!memcmp(p, "null", 4) || !memcmp(p, "true", 4)))
		return 1;
	if (n == 5 && !memcmp(p, "false", 5))
		return 1;
	return n < 64 && plain_number(p, q);
}

/*
 * Is the scalar p[0..q) valid as cJSON reads it?  Plain ones are decided
 * here; any other is handed to cJSON, so that the answer is cJSON's, as
 * when it parses the whole body.  Returns 0, or -1 with *bad at the byte
 * cJSON stopped at.
 */
static int check_scalar(const char *p, const char *q, const char **bad)
{
	const char *end = NULL;
	cJSON *node;

	if (plain_scalar(p, q))
		return 0;
	/* what cJSON's parse_value starts on: no BOM or whitespace skipped here */
	if (!memchr("\"-0123456789tfn", *p, 15)) {
		*bad = p;
		return -1;
	}
	node = cJSON_ParseWithLengthOpts(p, (size_t)(q - p), &end, 0);
	cJSON_Delete(node);
	if (node != NULL && end == q)
		return 0;
	*bad = end != NULL && end >= p && end <= q ? end : p;
	return -1;
}

/* At a member's key (whitespace skipped): checks `"key" :` and moves *pp
 * past the colon.  Returns 0, or -1 with *bad set. */
static int check_key(const char **pp, const char *e, const char **bad)
{
	const char *p = *pp, *q;

	if (p >= e || *p != '"') {
		*bad = p < e ? p + 1 : p; /* where cJSON reports it */
		return -1;
	}
	q = raw_string_end(p, e);
	if (check_scalar(p, q, bad))
		return -1;
	p = raw_ws(q, e);
	if (p >= e || *p != ':') {
		*bad = p;
		return -1;
	}
	*pp = p + 1;
	return 0;
}

/*
 * Checks that body[0..len) is one JSON value as cJSON would parse it (its
 * whitespace, nesting limit, a BOM at the start, only JSON whitespace
 * after), building nothing.  Returns 0, or -1 with *bad at the offending
 * byte.  O(len) time, no allocation but one scalar at a time.
 */
static int check_json(const char *body, size_t len, const char **bad)
{
	const char *p = after_bom(body, len), *e = body + len, *q;
	char close[CJSON_NESTING_LIMIT]; /* the bracket each open container wants */
	size_t depth = 0;
	int want_value = 1;

	while (want_value || depth > 0) {
		p = raw_ws(p, e);
		if (want_value && p < e && *p != '[' && *p != '{') {
			q = raw_skip(p, e);
			if (check_scalar(p, q, bad))
				return -1;
			p = q;
			want_value = 0;
		} else if (want_value) {
			if (p >= e || depth >= CJSON_NESTING_LIMIT)
				goto bad;
			close[depth++] = *p == '[' ? ']' : '}';
			p = raw_ws(p + 1, e);
			if (p < e && *p == close[depth - 1]) {
				depth--;
				p++;
				want_value = 0;
			} else if (close[depth - 1] == '}' && check_key(&p, e, bad)) {
				return -1;
			}
		} else if (p < e && *p == ',') {
			p = raw_ws(p + 1, e);
			if (close[depth - 1] == '}' && check_key(&p, e, bad))
				return -1;
			want_value = 1;
		} else if (p < e && *p == close[depth - 1]) {
			depth--;
			p++;
		} else {
			goto bad;
		}
	}
	/* after the value, only the whitespace run_tree allows */
	while (p < e && is_json_space(*p))
		p++;
	if (p == e)
		return 0;
bad:
	*bad = p;
	return -1;
}

/*
 * The message for a body that is not JSON, cJSON having stopped at
 * body[off] (past the end means the last byte, as cJSON reports it).  An
 * unpaired UTF-16 surrogate escape is named: RFC 8259 lets it through and
 * SQLite's json_extract() reads it, cJSON does not.
 */
static int invalid_json(const char *body, size_t len, size_t off, char *err, size_t errlen)
{
	const char *p, *e = body + len;

	if (len > 0 && off >= len)
		off = len - 1;
	p = body + off;
	if (off < len && (surrogate_at(p, e, 0xdc00, 0xdfff) ||
			  (surrogate_at(p, e, 0xd800, 0xdbff) && !surrogate_at(p + 6, e, 0xdc00, 0xdfff))))
		return errmsg(err, errlen, EXTRACT_EINVAL,
			      "invalid JSON at byte %zu: unpaired UTF-16 surrogate '%.6s'", off, p);
	return errmsg(err, errlen, EXTRACT_EINVAL, "invalid JSON at byte %zu", off);
}

/* ---- running the extractor ---------------------------------------------- */

void extractor_set_max_values(struct extractor *x, size_t max_values)
{
	x->max_values = max_values ? max_values : EXTRACT_MAX_VALUES;
}

void extractor_set_in_place_fields(struct extractor *x, size_t n)
{
	x->in_place_fields = n;
}

/* extractor_run over one cJSON tree of the whole body. */
static int run_tree(const struct extractor *x, const char *body, size_t len, struct value *out,
		    char *err, size_t errlen)
{
	const char *end = NULL, *v;
	cJSON *root = NULL;
	size_t i, n;
	int rc;

	/* not NUL-terminated: cJSON must not look for a NUL, we check the tail */
	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root == NULL) {
		rc = invalid_json(body, len, end != NULL && end >= body ? (size_t)(end - body) : 0, err, errlen);
		goto out;
	}
	while (end < body + len && is_json_space(*end))
		end++;
	if (end != body + len) {
		rc = invalid_json(body, len, (size_t)(end - body), err, errlen);
		goto out;
	}
	rc = extractor_eval(x, root, out, err, errlen);
	for (i = 0; !rc && i < x->n; i++) {
		const cJSON *node = jpath_eval(x->paths[i], root);

		if (!cJSON_IsNumber(node) || raw_eval(x->paths[i], body, len, &v, &n))
			continue;
		if (number_literal(v, n, node->valuedouble, &out[i])) {
			clear_values(out, x->n);
			rc = errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory");
		}
	}
out:
	cJSON_Delete(root);
	return rc;
}

/* Is p[0..q) an integer literal as RFC 8259 writes it, of at most 15
 * digits, and not -0?  cJSON reads it exactly and prints it unchanged. */
static int short_integer(const char *p, const char *q)
{
	const char *d = p + (p < q && *p == '-');

	if (d >= q || q - d > 15 || (*d == '0' && (q - d > 1 || d > p)))
		return 0;
	for (; d < q; d++)
		if (*d < '0' || *d > '9')
			return 0;
	return 1;
}

/*
 * The value v[0..n) of a checked body, without cJSON, when it is one that
 * cJSON would give back unchanged: a string without escapes or control
 * bytes; a short integer; an array or object of only those, true, false
 * and null, which cJSON prints as its text without the whitespace.
 * Returns 1 with *out set, 0 when cJSON must read it, EXTRACT_ENOMEM.
 */
static int plain_value(const char *v, size_t n, struct value *out)
{
	const char *p = v, *e = v + n, *q;
	char *s, *o;

	if (*v == '"' && plain_scalar(v, e)) {
		if (!(out->s = dup_n(v + 1, n - 2)))
			return EXTRACT_ENOMEM;
		out->type = VAL_TEXT;
		out->len = n - 2;
		return 1;
	}
	if (short_integer(v, e)) {
		int64_t i = 0;

		for (p = v + (*v == '-'); p < e; p++)  /* the body need not end in a NUL */
			i = i * 10 + (*p - '0');
		out->type = VAL_INT;
		out->i = *v == '-' ? -i : i;
		return 1;
	}
	if (*v != '[' && *v != '{')
		return 0;
	if (!(s = o = malloc(n + 1)))
		return EXTRACT_ENOMEM;
	while (p < e) {
		if (raw_space(*p)) {
			p++;
			continue;
		}
		if (*p == '"') {
			for (q = p + 1; q < e && *q != '"'; q++)
				if (*q == '\\' || (unsigned char)*q < 0x20)
					goto cjson;
			q += q < e;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			for (q = p + 1; q < e && *q >= '0' && *q <= '9'; q++)
				;
			/* a fraction or an exponent ("1.5", "1e2", "1." as cJSON takes it) */
			if (!short_integer(p, q) || (q < e && (*q == '.' || (*q | 0x20) == 'e')))
				goto cjson;
		} else if (*p >= 'a' && *p <= 'z') {
			for (q = p; q < e && *q >= 'a' && *q <= 'z'; q++)
				;
		} else if (strchr("[]{},:", *p) && *p) {
			q = p + 1;
		} else {
			goto cjson;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		p = q;
	}
	*o = '\0';
	out->type = VAL_TEXT;
	out->s = s;
	out->len = (size_t)(o - s);
	return 1;
cjson:
	free(s);
	return 0;
}

/* Field i over a body check_json accepted: its value alone is parsed
 * (unless plain_value can give it as cJSON would). */
static int field_in_place(const struct extractor *x, size_t i, const char *body, size_t len,
			  struct value *out, char *err, size_t errlen)
{
	const char *v;
	cJSON *node;
	size_t n;
	int rc;

	if (raw_eval(x->paths[i], body, len, &v, &n))
		return 0; /* missing */
	if (count_values(v, v + n, x->max_values) > x->max_values)
		return errmsg(err, errlen, EXTRACT_ETOOBIG,
			      "field '%s': value too large: more than %zu JSON values", x->names[i],
			      x->max_values);
	if ((rc = plain_value(v, n, out)))
		return rc < 0 ? errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory") : 0;
	node = cJSON_ParseWithLengthOpts(v, n, NULL, 0);
	if (node == NULL) /* it was checked: only memory can be missing */
		return errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory");
	rc = json_to_value(node, out);
	if (!rc && cJSON_IsNumber(node))
		rc = number_literal(v, n, node->valuedouble, out);
	cJSON_Delete(node);
	return rc ? errmsg(err, errlen, EXTRACT_ENOMEM, "out of memory") : 0;
}

/* extractor_run over the text of a body too large for one tree. */
static int run_in_place(const struct extractor *x, const char *body, size_t len,
			struct value *out, char *err, size_t errlen)
{
	const char *bad = body;
	size_t i;
	int rc;

	if (check_json(body, len, &bad))
		return invalid_json(body, len, (size_t)(bad - body), err, errlen);
	for (i = 0; i < x->n; i++) {
		rc = field_in_place(x, i, body, len, &out[i], err, errlen);
		if (rc) {
			clear_values(out, x->n);
			return rc;
		}
	}
	return 0;
}

int extractor_run(const struct extractor *x, const char *body, size_t len, struct value *out,
		  char *err, size_t errlen)
{
	null_values(out, x->n);
	if (body == NULL || len == 0)
		return errmsg(err, errlen, EXTRACT_EINVAL, "invalid JSON at byte 0");
	/* Building a tree costs about 40 instructions a byte and an allocation
	 * a value; checking in place about 10 a byte, and each field's walk
	 * about 2 more on average.  So a few fields are found faster in the
	 * text (tools/bench: 3% less CPU per item with 3 fields), many in a
	 * tree; a body too large for a tree is always read in place. */
	if (x->n > x->in_place_fields && count_values(body, body + len, x->max_values) <= x->max_values)
		return run_tree(x, body, len, out, err, errlen);
	return run_in_place(x, body, len, out, err, errlen);
}
