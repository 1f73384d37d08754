/*
 * extract.h - field paths over parsed JSON, in SQLite's json_extract() path
 * syntax, so that the path a user gives `trawl --field` also works verbatim
 * in `SELECT json_extract(body, PATH)`.
 *
 * Path grammar (a subset of SQLite's, the part json_extract reads):
 *
 *     path  := '$' step*
 *     step  := '.' NAME          NAME: one or more bytes up to the next '.' or '['
 *            | '.' '"' QNAME '"' QNAME: any bytes but '"' (may hold '.' and '['),
 *                                no escapes, may be empty
 *            | '[' DIGITS ']'    array index from the front, 0-based
 *            | '[' '#' ']'       one past the last element: always missing
 *            | '[' '#-' DIGITS ']'  N-th element from the end ([#-1] is the last)
 *
 * Anything else is a compile error naming the offset:
 *     bad path '$.a[x]': expected an array index at offset 4
 *
 * Object keys are matched case-sensitively.  With duplicate keys in an object
 * the first one wins (as cJSON_GetObjectItemCaseSensitive does).  A step that
 * meets the wrong kind of node (a key on an array, an index on an object or a
 * scalar) yields "missing", never an error.
 *
 * Memory is bounded whatever the body.  With up to EXTRACT_IN_PLACE_FIELDS
 * fields, or a body of more than EXTRACT_MAX_VALUES JSON values, the body
 * is checked and searched in place, and only each field's own value is
 * parsed, which must itself hold at most that many values; otherwise it is
 * parsed into one cJSON tree (80 to 150 bytes a value).  Both ways give the
 * same results.
 *
 * This module must never print, exit, or know about curl or SQLite.  Errors
 * are one lower-case line in the caller's err buffer (errlen bytes, always
 * NUL-terminated when errlen > 0) plus a negative return.
 */
#ifndef TRAWL_EXTRACT_H
#define TRAWL_EXTRACT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "value.h"

/* Return codes besides 0. */
#define EXTRACT_EINVAL (-1) /* bad path, bad argument, invalid JSON */
#define EXTRACT_ENOMEM (-2) /* out of memory */
#define EXTRACT_ETOOBIG (-3) /* a field's value holds more values than the limit */

/*
 * The most JSON values a body may hold to be parsed into one tree, and the
 * most a field's value may hold in any body.  Values are counted as array
 * elements and object members plus one (the body itself); an empty array
 * or object counts one more than it holds.
 */
#define EXTRACT_MAX_VALUES ((size_t)1000000)

/* Up to this many fields, every body is read in place (see extractor_run). */
#define EXTRACT_IN_PLACE_FIELDS 8

struct jpath;

/*
 * Compiles path into *out (caller frees with jpath_free).  Returns 0, or
 * EXTRACT_EINVAL with "bad path '...': ... at offset N" in err, or
 * EXTRACT_ENOMEM.  *out is NULL on error.
 */
int jpath_compile(struct jpath **out, const char *path, char *err, size_t errlen);

/* Frees p; accepts NULL. */
void jpath_free(struct jpath *p);

/* The path's source text, borrowed from p. */
const char *jpath_text(const struct jpath *p);

/*
 * Evaluates p over root.  Returns the node, borrowed from root (valid while
 * root lives), or NULL when any step is missing or root is NULL.
 */
const cJSON *jpath_eval(const struct jpath *p, const cJSON *root);

/*
 * Converts a node the way SQLite's json_extract does: NULL node or JSON null
 * -> VAL_NULL; true/false -> VAL_INT 1/0; a number -> VAL_INT if it is
 * integral and |v| <= 2^53, else VAL_REAL (cJSON keeps numbers as doubles, so
 * unlike SQLite, 1.0 becomes INT 1 and 2^60 becomes REAL); a string ->
 * VAL_TEXT (malloc'd copy; a string holding \u0000 ends there, as cJSON keeps
 * C strings); object/array -> VAL_TEXT with the minified JSON as cJSON
 * prints it (numbers may be re-formatted, e.g. 1e2 -> 100).
 * *out is overwritten without being released first; the caller releases it
 * with value_release().  Returns 0, or EXTRACT_ENOMEM with *out VAL_NULL.
 */
int json_to_value(const cJSON *node, struct value *out);

/* A set of named fields compiled once and evaluated per response. */
struct extractor;

/*
 * Compiles n fields (names[i] extracted by paths[i]) into *out (caller frees
 * with extractor_free).  Names and paths are copied.  Returns 0, or
 * EXTRACT_EINVAL with "field 'NAME': bad path ..." (or "field N has no
 * name") in err, or EXTRACT_ENOMEM.  n may be 0.
 */
int extractor_new(struct extractor **out, size_t n, const char *const *names,
		  const char *const *paths, char *err, size_t errlen);

/* Frees x; accepts NULL. */
void extractor_free(struct extractor *x);

size_t extractor_count(const struct extractor *x);

/* Field i's name and path text, borrowed from x; i < extractor_count(x). */
const char *extractor_name(const struct extractor *x, size_t i);
const char *extractor_path(const struct extractor *x, size_t i);

/*
 * Sets x's value limit (EXTRACT_MAX_VALUES when x is new); 0 restores the
 * default.  Tests lower it to run the in-place search over small bodies.
 */
void extractor_set_max_values(struct extractor *x, size_t max_values);

/*
 * Sets up to how many fields x reads every body in place
 * (EXTRACT_IN_PLACE_FIELDS when x is new); 0 makes it parse each body within
 * the value limit into a tree.  Tests use it to compare the two ways.
 */
void extractor_set_in_place_fields(struct extractor *x, size_t n);

/*
 * Parses body (len bytes, need not be NUL-terminated; a UTF-8 BOM is skipped,
 * whitespace may surround the value, anything else after it is invalid) and
 * fills out[0..count-1], one value per field (VAL_NULL where the path is
 * missing).  Every out[i] is overwritten; the caller releases each with
 * value_release() whatever the return.
 *
 * Read in place (up to EXTRACT_IN_PLACE_FIELDS fields, or a body of more
 * values than the limit),
 * the body gives the same results as a tree: it is checked without being
 * built (the brackets, commas and colons here, every string, number and
 * literal as cJSON reads it), each path is walked over the text, and the
 * value found is parsed on its own.
 *
 * Returns 0; EXTRACT_EINVAL with "invalid JSON at byte OFFSET" (nesting
 * deeper than CJSON_NESTING_LIMIT counts as invalid; an unpaired UTF-16
 * surrogate escape, which cJSON refuses, is named: "invalid JSON at byte
 * OFFSET: unpaired UTF-16 surrogate '\udc00'"); EXTRACT_ETOOBIG with
 * "field 'NAME': value too large: more than N JSON values" when a field's
 * value holds more values than the limit; or EXTRACT_ENOMEM.  On error
 * every out[i] is VAL_NULL.
 */
int extractor_run(const struct extractor *x, const char *body, size_t len, struct value *out,
		  char *err, size_t errlen);

/*
 * The same over an already parsed tree (root may be NULL: all VAL_NULL), for
 * callers that parse once for several purposes.  Returns 0 or EXTRACT_ENOMEM
 * (every out[i] VAL_NULL).
 */
int extractor_eval(const struct extractor *x, const cJSON *root, struct value *out,
		   char *err, size_t errlen);

#endif
