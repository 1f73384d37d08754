/*
 * template.c - compile templates into literal/column/variable segments and
 * expand them per item with the escaping of the place they go.
 *
 * This module must never print, exit, or know about curl or SQLite, and must
 * never copy an environment value (or a header value) into an error message:
 * those may be secrets.  Environment values live only in memory and are
 * wiped when the template is freed.  Output is bounded by the caller's cap.
 */
#include "template.h"
#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum seg_kind { SEG_LIT, SEG_COL, SEG_ENV };

struct seg {
	enum seg_kind kind;
	size_t off, len;  /* SEG_LIT: the bytes text[off..off+len) */
	size_t idx;       /* SEG_COL: index into cols; SEG_ENV: index into envs */
};

struct tpl {
	enum tpl_escape esc;
	char *text;       /* the source, owned */
	struct seg *segs;
	size_t nsegs;
	char **cols;      /* distinct column names, owned */
	size_t ncols;
	char **envs;      /* distinct variable names, owned */
	size_t nenv;
	char **envvals;   /* bound values (NULL until tpl_bind_env), owned, wiped on free */
	size_t *envlens;
	int bound;
};

/* The growing output of one expansion; never longer than cap. */
struct out {
	char *p;
	size_t len, alloc, cap;
};


/* Overwrites n bytes in a way the compiler may not drop. */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static int is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_var_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static int is_col_char(char c)
{
	return is_var_char(c) || c == '.' || c == '-';
}

/* ---- compiling ---------------------------------------------------------- */

/* Grows *arr (of elem-sized items) to hold n + 1; 0 or TPL_ENOMEM. */
static int grow(void **arr, size_t n, size_t elem)
{
	void *p = realloc(*arr, (n + 1) * elem);

	if (p == NULL)
		return TPL_ENOMEM;
	*arr = p;
	return 0;
}

static int add_seg(struct tpl *t, enum seg_kind kind, size_t off, size_t len, size_t idx)
{
	if (grow((void **)&t->segs, t->nsegs, sizeof *t->segs) < 0)
		return TPL_ENOMEM;
	t->segs[t->nsegs].kind = kind;
	t->segs[t->nsegs].off = off;
	t->segs[t->nsegs].len = len;
	t->segs[t->nsegs].idx = idx;
	t->nsegs++;
	return 0;
}

/* Adds text[off..off+len) as a literal segment, if not empty. */
static int add_lit(struct tpl *t, size_t off, size_t len)
{
	return len == 0 ? 0 : add_seg(t, SEG_LIT, off, len, 0);
}

/*
 * Finds name (len bytes) in the list names[0..*n-1], appending it if new;
 * stores its index in *idx.  0 or TPL_ENOMEM.
 */
static int intern(char ***names, size_t *n, const char *name, size_t len, size_t *idx)
{
	size_t i;
	char *copy;

	for (i = 0; i < *n; i++) {
		if (strlen((*names)[i]) == len && memcmp((*names)[i], name, len) == 0) {
			*idx = i;
			return 0;
		}
	}
	copy = dup_n(name, len);
	if (copy == NULL || grow((void **)names, *n, sizeof **names) < 0) {
		free(copy);
		return TPL_ENOMEM;
	}
	(*names)[*n] = copy;
	*idx = (*n)++;
	return 0;
}

/* A syntax error at offset off, quoting at most 40 bytes of text[off..off+len). */
static int syntax_error(const char *text, size_t off, size_t len, const char *what, char *err,
			size_t errlen)
{
	int shown = len > 40 ? 40 : (int)len;

	return errmsg(err, errlen, TPL_EINVAL, "%s at offset %zu: '%.*s%s'", what, off, shown,
		    text + off, len > 40 ? "..." : "");
}

/*
 * Parses the "${VAR}" at text[i] and adds its segment; *next gets the offset
 * after the '}'.  Returns 0, TPL_EINVAL (err set) or TPL_ENOMEM.
 */
static int parse_env(struct tpl *t, size_t i, size_t *next, char *err, size_t errlen)
{
	const char *text = t->text;
	size_t j = i + 2, close, idx;

	while (is_var_char(text[j]))
		j++;
	if (text[j] != '}' || j == i + 2 || !is_name_start(text[i + 2])) {
		for (close = i + 2; text[close] != '\0' && text[close] != '}'; close++)
			;
		if (text[close] == '\0')
			return syntax_error(text, i, close - i, "unterminated '${'", err, errlen);
		return syntax_error(text, i, close + 1 - i, "bad variable name", err, errlen);
	}
	if (intern(&t->envs, &t->nenv, text + i + 2, j - i - 2, &idx) < 0 ||
	    add_seg(t, SEG_ENV, 0, 0, idx) < 0)
		return errmsg(err, errlen, TPL_ENOMEM, "out of memory");
	*next = j + 1;
	return 0;
}

/* The length of a "{name}" placeholder at text[i], or 0 if it is not one. */
static size_t column_at(const char *text, size_t i)
{
	size_t j = i + 1;

	if (text[i] != '{' || !is_name_start(text[j]))
		return 0;
	while (is_col_char(text[j]))
		j++;
	return text[j] == '}' ? j + 1 - i : 0;
}

/*
 * Tracks whether a JSON template is inside a string literal at text[i];
 * returns how many bytes of literal text to step over (2 for an escape).
 */
static size_t json_step(const char *text, size_t i, int *in_str)
{
	if (*in_str && text[i] == '\\' && (text[i + 1] == '"' || text[i + 1] == '\\'))
		return 2;
	if (text[i] == '"')
		*in_str = !*in_str;
	return 1;
}

/* Splits t->text into segments; 0, TPL_EINVAL (err set) or TPL_ENOMEM. */
static int parse(struct tpl *t, char *err, size_t errlen)
{
	const char *text = t->text;
	size_t i = 0, lit = 0, n, idx;
	int in_str = 0, rc;

	while (text[i] != '\0') {
		n = column_at(text, i);
		if (n > 0 || (text[i] == '$' && text[i + 1] == '{')) {
			if (in_str)
				return syntax_error(text, i, n > 0 ? n : 2,
						    "placeholder inside a JSON string (write it bare: "
						    "the value becomes a complete JSON string)", err, errlen);
			if (add_lit(t, lit, i - lit) < 0)
				return errmsg(err, errlen, TPL_ENOMEM, "out of memory");
			if (n > 0) {
				if (intern(&t->cols, &t->ncols, text + i + 1, n - 2, &idx) < 0 ||
				    add_seg(t, SEG_COL, 0, 0, idx) < 0)
					return errmsg(err, errlen, TPL_ENOMEM, "out of memory");
				i += n;
			} else if ((rc = parse_env(t, i, &i, err, errlen)) < 0) {
				return rc;
			}
			lit = i;
			continue;
		}
		if (t->esc == TPL_HEADER && (text[i] == '\r' || text[i] == '\n'))
			return errmsg(err, errlen, TPL_EINVAL, "header template holds CR or LF at offset %zu", i);
		i += t->esc == TPL_JSON ? json_step(text, i, &in_str) : 1;
	}
	if (add_lit(t, lit, i - lit) < 0)
		return errmsg(err, errlen, TPL_ENOMEM, "out of memory");
	return 0;
}

int tpl_compile(struct tpl **out, const char *text, enum tpl_escape esc, char *err, size_t errlen)
{
	struct tpl *t = NULL;
	int rc = 0;

	*out = NULL;
	if (text == NULL)
		return errmsg(err, errlen, TPL_EINVAL, "no template given");
	if (esc != TPL_URL && esc != TPL_JSON && esc != TPL_FORM && esc != TPL_HEADER && esc != TPL_RAW)
		return errmsg(err, errlen, TPL_EINVAL, "unknown template escaping %d", (int)esc);
	t = calloc(1, sizeof *t);
	if (t == NULL || (t->text = dup_n(text, strlen(text))) == NULL) {
		rc = errmsg(err, errlen, TPL_ENOMEM, "out of memory");
		goto out;
	}
	t->esc = esc;
	rc = parse(t, err, errlen);
out:
	if (rc < 0) {
		tpl_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* Wipes and frees the bound environment values; t is unbound afterwards. */
static void unbind(struct tpl *t)
{
	size_t i;

	if (t->envvals != NULL) {
		for (i = 0; i < t->nenv; i++) {
			if (t->envvals[i] != NULL)
				wipe(t->envvals[i], t->envlens[i]);
			free(t->envvals[i]);
		}
	}
	free(t->envvals);
	free(t->envlens);
	t->envvals = NULL;
	t->envlens = NULL;
	t->bound = 0;
}

void tpl_free(struct tpl *t)
{
	size_t i;

	if (t == NULL)
		return;
	unbind(t);
	for (i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	for (i = 0; i < t->nenv; i++)
		free(t->envs[i]);
	free(t->cols);
	free(t->envs);
	free(t->segs);
	free(t->text);
	free(t);
}

const char *tpl_text(const struct tpl *t)
{
	return t->text;
}

enum tpl_escape tpl_escaping(const struct tpl *t)
{
	return t->esc;
}

size_t tpl_ncolumns(const struct tpl *t)
{
	return t->ncols;
}

const char *tpl_column(const struct tpl *t, size_t i)
{
	return i < t->ncols ? t->cols[i] : NULL;
}

size_t tpl_nenv(const struct tpl *t)
{
	return t->nenv;
}

const char *tpl_env(const struct tpl *t, size_t i)
{
	return i < t->nenv ? t->envs[i] : NULL;
}

int tpl_bind_env(struct tpl *t, char *err, size_t errlen)
{
	const char *v;
	size_t i;
	int rc = 0;

	unbind(t);
	if (t->nenv == 0) {
		t->bound = 1;
		return 0;
	}
	t->envvals = calloc(t->nenv, sizeof *t->envvals);
	t->envlens = calloc(t->nenv, sizeof *t->envlens);
	if (t->envvals == NULL || t->envlens == NULL) {
		rc = errmsg(err, errlen, TPL_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < t->nenv; i++) {
		v = getenv(t->envs[i]);
		if (v == NULL) {
			rc = errmsg(err, errlen, TPL_EINVAL, "environment variable '%s' is not set", t->envs[i]);
			goto out;
		}
		if (t->esc == TPL_HEADER && strpbrk(v, "\r\n") != NULL) {
			rc = errmsg(err, errlen, TPL_EINVAL,
				  "environment variable '%s' holds CR, LF or NUL, refused in a header",
				  t->envs[i]);
			goto out;
		}
		t->envlens[i] = strlen(v);
		t->envvals[i] = dup_n(v, t->envlens[i]);
		if (t->envvals[i] == NULL) {
			rc = errmsg(err, errlen, TPL_ENOMEM, "out of memory");
			goto out;
		}
	}
	t->bound = 1;
out:
	if (rc < 0)
		unbind(t);
	return rc;
}

/* ---- expanding ---------------------------------------------------------- */

/*
 * Makes room for n more bytes (plus the NUL) in o, within its cap.
 * Returns 0, TPL_EINVAL when the cap would be passed, TPL_ENOMEM.
 */
static int reserve(struct out *o, size_t n)
{
	size_t need, alloc;
	char *p;

	if (n > o->cap - o->len)
		return TPL_EINVAL;
	need = o->len + n + 1;
	if (need <= o->alloc)
		return 0;
	alloc = o->alloc < 64 ? 64 : o->alloc;
	while (alloc < need)
		alloc = alloc > SIZE_MAX / 2 ? SIZE_MAX : alloc * 2;
	if (alloc > o->cap + 1)
		alloc = o->cap + 1;
	p = realloc(o->p, alloc);
	if (p == NULL)
		return TPL_ENOMEM;
	o->p = p;
	o->alloc = alloc;
	return 0;
}

static int put(struct out *o, const char *s, size_t n)
{
	int rc = reserve(o, n);

	if (rc < 0)
		return rc;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return 0;
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encoding (TPL_URL), or form encoding when plus is set (TPL_FORM). */
static int put_url(struct out *o, const char *v, size_t len, int plus)
{
	static const char hex[] = "0123456789ABCDEF";
	char enc[3];
	size_t i, start = 0;
	int rc;

	/* "." and ".." would be dot-segments in a path: encode them whole */
	if ((len == 1 && v[0] == '.') || (len == 2 && v[0] == '.' && v[1] == '.'))
		return put(o, "%2E%2E", 3 * len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (is_unreserved(c))
			continue;
		if ((rc = put(o, v + start, i - start)) < 0)
			return rc;
		if (plus && c == ' ') {
			rc = put(o, "+", 1);
		} else {
			enc[0] = '%';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			rc = put(o, enc, 3);
		}
		if (rc < 0)
			return rc;
		start = i + 1;
	}
	return put(o, v + start, len - start);
}

/* The value as a complete JSON string literal (TPL_JSON). */
static int put_json(struct out *o, const char *v, size_t len)
{
	char esc[6];
	size_t i, start = 0, n;
	int rc;

	if ((rc = put(o, "\"", 1)) < 0)
		return rc;
	for (i = 0; i < len; i++) {
		if (!(n = json_escape_byte((unsigned char)v[i], esc)))
			continue;
		if ((rc = put(o, v + start, i - start)) < 0 || (rc = put(o, esc, n)) < 0)
			return rc;
		start = i + 1;
	}
	if ((rc = put(o, v + start, len - start)) < 0)
		return rc;
	return put(o, "\"", 1);
}

/*
 * Appends one value escaped for t's place.  what/name describe the value
 * for messages ("column", "id"); the value itself is never quoted.
 */
static int put_value(const struct tpl *t, struct out *o, const char *v, size_t len,
		     const char *what, const char *name, char *err, size_t errlen)
{
	int rc;

	switch (t->esc) {
	case TPL_URL:
		rc = put_url(o, v, len, 0);
		break;
	case TPL_FORM:
		rc = put_url(o, v, len, 1);
		break;
	case TPL_JSON:
		rc = put_json(o, v, len);
		break;
	case TPL_HEADER:
		if (memchr(v, '\r', len) != NULL || memchr(v, '\n', len) != NULL ||
		    memchr(v, '\0', len) != NULL)
			return errmsg(err, errlen, TPL_EINVAL,
				    "%s '%s' holds CR, LF or NUL, refused in a header", what, name);
		rc = put(o, v, len);
		break;
	case TPL_RAW:
	default:
		rc = put(o, v, len);
		break;
	}
	if (rc == TPL_EINVAL)
		return errmsg(err, errlen, rc, "expanded text over the cap of %zu bytes", o->cap);
	if (rc < 0)
		return errmsg(err, errlen, rc, "out of memory");
	return 0;
}

/* Appends segment s of t; 0 or negative with err set. */
int tpl_whole_url(const struct tpl *t);

static int expand_seg(const struct tpl *t, const struct seg *s, tpl_lookup_fn lookup, void *ctx,
		      struct out *o, char *err, size_t errlen)
{
	const char *v;
	size_t len = 0;
	int rc;

	switch (s->kind) {
	case SEG_LIT:
		rc = put(o, t->text + s->off, s->len);
		if (rc == TPL_EINVAL)
			return errmsg(err, errlen, rc, "expanded text over the cap of %zu bytes", o->cap);
		return rc < 0 ? errmsg(err, errlen, rc, "out of memory") : 0;
	case SEG_COL:
		v = lookup != NULL ? lookup(ctx, t->cols[s->idx], &len) : NULL;
		if (v == NULL)
			return errmsg(err, errlen, TPL_EINVAL, "no column '%s' in this item", t->cols[s->idx]);
		if (tpl_whole_url(t)) {
			/* the column is the URL itself: taken as it is (the caller checks it) */
			rc = put(o, v, len);
			if (rc == TPL_EINVAL)
				return errmsg(err, errlen, rc, "expanded text over the cap of %zu bytes", o->cap);
			return rc < 0 ? errmsg(err, errlen, rc, "out of memory") : 0;
		}
		return put_value(t, o, v, len, "column", t->cols[s->idx], err, errlen);
	case SEG_ENV:
		if (!t->bound || t->envvals == NULL)
			return errmsg(err, errlen, TPL_EINVAL, "environment variable '%s' is not bound",
				    t->envs[s->idx]);
		return put_value(t, o, t->envvals[s->idx], t->envlens[s->idx],
				 "environment variable", t->envs[s->idx], err, errlen);
	}
	return errmsg(err, errlen, TPL_EINVAL, "corrupt template");
}

int tpl_whole_url(const struct tpl *t)
{
	return t->esc == TPL_URL && t->nsegs == 1 && t->segs[0].kind == SEG_COL;
}

int tpl_expand(const struct tpl *t, tpl_lookup_fn lookup, void *ctx, size_t cap, char **out,
	       size_t *outlen, char *err, size_t errlen)
{
	struct out o = { NULL, 0, 0, cap };
	size_t i;
	int rc = 0;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (cap == SIZE_MAX)
		o.cap = SIZE_MAX - 1;
	/* reserve(0) makes an empty result a valid "" */
	if ((rc = reserve(&o, 0)) < 0) {
		rc = errmsg(err, errlen, rc, "out of memory");
		goto out;
	}
	for (i = 0; i < t->nsegs; i++)
		if ((rc = expand_seg(t, &t->segs[i], lookup, ctx, &o, err, errlen)) < 0)
			goto out;
	o.p[o.len] = '\0';
	*out = o.p;
	if (outlen != NULL)
		*outlen = o.len;
	o.p = NULL;
out:
	if (o.p != NULL) {
		/* a partial expansion may hold a secret */
		wipe(o.p, o.len);
		free(o.p);
	}
	return rc;
}
