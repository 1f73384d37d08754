/*
 * template.h - URL, body and header templates with context-aware escaping.
 *
 * A template is compiled once for one place (URL, JSON body, form body,
 * header, raw) and expanded once per item, with every value escaped the way
 * that place needs, so that no item's data can change the shape of the
 * request.
 *
 * Syntax:
 *   {name}   a column of the item's input row; name is [A-Za-z_][A-Za-z0-9_.-]*
 *            and the '}' must follow it directly.  Any other '{' is literal
 *            text: in '{"q": {id}}' the first '{' is followed by '"' and stays,
 *            in '{{id}}' the first '{' is literal, then {id}, then a literal '}'.
 *            A '{' followed by a valid name but no '}' ('{id x}', '{id') is
 *            literal too.  There is no escape syntax: text of the form {name}
 *            is always a placeholder.
 *   ${VAR}   the environment variable VAR ([A-Za-z_][A-Za-z0-9_]*), read when
 *            tpl_bind_env() is called.  '$' not followed by '{' is literal.
 *            An unterminated '${' or a bad name inside '${...}' is a compile
 *            error (so a literal "${" cannot be written).
 *
 * Extra compile-time checks:
 *   - TPL_JSON: a placeholder inside a JSON string literal of the template
 *     ('{"q": "{id}"}') is an error: the value already becomes a complete
 *     JSON string, quotes included, so the placeholder must stand bare.
 *   - TPL_HEADER: the template's own text may not hold CR or LF.
 *
 * This module must never print, exit, or know about curl or SQLite; and it
 * must never put the value of an environment variable, or of a column in a
 * header, into an error message (they may be secrets).  Errors are one
 * lower-case line in the caller's err buffer (errlen bytes, NUL-terminated
 * when errlen > 0) plus a negative return.
 */
#ifndef TRAWL_TEMPLATE_H
#define TRAWL_TEMPLATE_H

#include <stddef.h>

/* Return codes besides 0. */
#define TPL_EINVAL (-1) /* syntax, missing column/variable, refused value, over the cap */
#define TPL_ENOMEM (-2) /* out of memory */

enum tpl_escape {
	TPL_URL,    /* percent-encode all but A-Z a-z 0-9 - . _ ~; "." and ".." fully encoded */
	TPL_JSON,   /* a complete JSON string literal, quotes included */
	TPL_FORM,   /* application/x-www-form-urlencoded: like TPL_URL, space -> '+' */
	TPL_HEADER, /* verbatim; CR, LF or NUL refused */
	TPL_RAW     /* verbatim */
};

struct tpl;

/*
 * Compiles text for the place esc into *out (caller frees with tpl_free).
 * Returns 0, TPL_EINVAL with a message naming the offset and the offending
 * text ("unterminated '${' at offset 12: '${API_TOKEN'"), or TPL_ENOMEM.
 * *out is NULL on error.
 */
int tpl_compile(struct tpl **out, const char *text, enum tpl_escape esc, char *err, size_t errlen);

/* Frees t, wiping any bound environment values first; accepts NULL. */
void tpl_free(struct tpl *t);

/* The source text and place of t, borrowed from t. */
const char *tpl_text(const struct tpl *t);
enum tpl_escape tpl_escaping(const struct tpl *t);

/* The distinct {name}s, in order of first use; names borrowed from t. */
size_t tpl_ncolumns(const struct tpl *t);
const char *tpl_column(const struct tpl *t, size_t i);

/* The distinct ${VAR}s, in order of first use; names borrowed from t. */
size_t tpl_nenv(const struct tpl *t);
const char *tpl_env(const struct tpl *t, size_t i);

/*
 * Reads every ${VAR} with getenv() now and keeps copies of the values in t
 * (memory only; calling it again re-reads them).  Returns 0, or TPL_EINVAL
 * when a variable is unset ("environment variable 'VAR' is not set") or, for
 * TPL_HEADER, holds CR or LF; the message names VAR, never the value.  On
 * error t is left unbound.  TPL_ENOMEM on allocation failure.
 */
int tpl_bind_env(struct tpl *t, char *err, size_t errlen);

/*
 * Looks up column name in the item's row: returns its value (len bytes, need
 * not be NUL-terminated, may hold NUL bytes) borrowed until tpl_expand
 * returns, or NULL when the row has no such column.
 */
typedef const char *(*tpl_lookup_fn)(void *ctx, const char *name, size_t *len);

/*
 * Is t a URL template made of one {column} and nothing else?  Then the
 * column holds whole URLs (a list of URLs to crawl), and tpl_expand copies
 * the value as it is instead of percent-encoding it; the caller checks
 * that the result is an http(s) URL.
 */
int tpl_whole_url(const struct tpl *t);

/*
 * Expands t for one item into a malloc'd NUL-terminated string (*out, caller
 * frees; *outlen its length without the NUL, outlen may be NULL).  Column
 * values (from lookup) and environment values are escaped per t's place (see
 * enum tpl_escape; TPL_JSON escapes '"', '\\', control characters as \n \r \t
 * \b \f or \u00xx and 0x7F as \u007f, and copies bytes >= 0x80 verbatim
 * without checking UTF-8).  The output may be at most cap bytes (NUL not
 * counted).
 *
 * Returns 0; TPL_EINVAL with "no column 'NAME' in this item", "column 'NAME'
 * holds CR, LF or NUL, refused in a header", "environment variable 'VAR' is
 * not bound", or "expanded text over the cap of N bytes"; or TPL_ENOMEM.  On
 * error *out is NULL.  lookup may be NULL when t has no columns.
 */
int tpl_expand(const struct tpl *t, tpl_lookup_fn lookup, void *ctx, size_t cap, char **out,
	       size_t *outlen, char *err, size_t errlen);

#endif
