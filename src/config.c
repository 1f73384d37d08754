/*
 * config.c - the settings table and its checks.  Adding a setting is one
 * row in settings[]; init's options, `trawl config`, the man page test and
 * the defaults all read this table.
 */
#include "config.h"
#include "extract.h"
#include "template.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum kind { K_TEXT, K_INT, K_DURATION, K_SIZE, K_RATE, K_BOOL, K_CHOICE };

struct setting_def {
	const char *name;
	enum kind kind;
	size_t offset;
	int64_t min, max;
	const char *def;
	const char *choices;   /* K_CHOICE: space-separated */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
#define DAY_MS (24LL * 3600 * 1000)

static const struct setting_def settings[] = {
	{ "url", K_TEXT, OFF(url), 0, 0, "", NULL, "URL template; {column} is percent-encoded" },
	{ "method", K_CHOICE, OFF(method), 0, 0, "GET", "GET POST PUT PATCH DELETE", "HTTP method" },
	{ "body", K_TEXT, OFF(body), 0, 0, "", NULL, "request body template; {column} is escaped for the content type" },
	{ "content_type", K_TEXT, OFF(content_type), 0, 0, "application/json", NULL, "Content-Type of the body" },
	{ "headers", K_TEXT, OFF(headers), 0, 0, "", NULL, "header templates, one 'Name: value' per line; ${VAR} read at run time" },
	{ "user_agent", K_TEXT, OFF(user_agent), 0, 0, "trawl/" TRAWL_VERSION, NULL, "User-Agent header" },
	{ "ca_file", K_TEXT, OFF(ca_file), 0, 0, "", NULL, "CA certificates file (PEM) instead of the system's" },
	{ "key", K_TEXT, OFF(key), 0, 0, "id", NULL, "input column that is the item's identity" },
	{ "columns", K_TEXT, OFF(columns), 0, 0, "", NULL, "other input columns the templates use, comma-separated" },
	{ "fields", K_TEXT, OFF(fields), 0, 0, "", NULL, "fields to extract, one 'name=$.json.path' per line" },
	{ "invalid_json", K_CHOICE, OFF(invalid_json), 0, 0, "fail", "fail keep", "a 2xx whose body is not JSON: fail the item, or keep it as done with NULL fields" },
	{ "keep_body", K_BOOL, OFF(keep_body), 0, 1, "on", NULL, "store the raw body of each result" },
	{ "concurrency", K_INT, OFF(concurrency), 1, 10000, "16", NULL, "transfers in flight at most" },
	{ "rate", K_RATE, OFF(rate), 0, 0, "unlimited", NULL, "requests per host: N/s, N/m, N/h or unlimited" },
	{ "max_attempts", K_INT, OFF(max_attempts), 1, 1000, "8", NULL, "HTTP attempts per item before it fails" },
	{ "max_redirects", K_INT, OFF(max_redirects), 0, 50, "5", NULL, "redirects followed per attempt" },
	{ "connect_timeout", K_DURATION, OFF(connect_timeout_ms), 100, DAY_MS, "10s", NULL, "time to connect" },
	{ "timeout", K_DURATION, OFF(timeout_ms), 100, DAY_MS, "60s", NULL, "time for a whole attempt" },
	{ "low_speed_time", K_DURATION, OFF(low_speed_time_ms), 1000, DAY_MS, "30s", NULL, "abort an attempt slower than low_speed_limit for this long" },
	{ "low_speed_limit", K_SIZE, OFF(low_speed_limit), 0, 1LL << 30, "10", NULL, "bytes/s below which a transfer counts as stalled (0 = off)" },
	{ "max_body", K_SIZE, OFF(max_body), 1024, 1LL << 31, "16MiB", NULL, "largest body accepted (decoded); larger fails the item" },
	{ "backoff_base", K_DURATION, OFF(backoff_base_ms), 1, DAY_MS, "1s", NULL, "first retry delay (exponential, full jitter)" },
	{ "backoff_cap", K_DURATION, OFF(backoff_cap_ms), 1, 7 * DAY_MS, "10m", NULL, "longest retry delay" },
	{ "commit_interval", K_DURATION, OFF(commit_interval_ms), 10, 60000, "500ms", NULL, "results are committed at least this often" },
	{ "commit_batch", K_INT, OFF(commit_batch), 1, 100000, "1000", NULL, "results are committed at most this many at a time" },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))


size_t config_count(void) { return NSETTINGS; }
const char *config_name(size_t i) { return settings[i].name; }
const char *config_help(size_t i) { return settings[i].help; }
const char *config_default(size_t i) { return settings[i].def; }
const char *config_text(const struct config *cfg, size_t i) { return cfg->text[i]; }

void config_init(struct config *cfg)
{
	size_t i;
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	cfg->text = xcalloc(NSETTINGS, sizeof(*cfg->text));
	for (i = 0; i < NSETTINGS; i++)
		if (config_set(cfg, settings[i].name, settings[i].def, err, sizeof(err)))
			abort(); /* a bad default is a bug in the table */
}

void config_release(struct config *cfg)
{
	size_t i;

	if (!cfg->text)
		return;
	for (i = 0; i < NSETTINGS; i++) {
		if (settings[i].kind == K_TEXT || settings[i].kind == K_CHOICE)
			free(*(char **)((char *)cfg + settings[i].offset));
		free(cfg->text[i]);
	}
	free(cfg->text);
	cfg->text = NULL;
}

static int set_choice(const struct setting_def *d, const char *value, char **out)
{
	const char *p = d->choices;
	size_t n = strlen(value);

	while (*p) {
		size_t len = strcspn(p, " ");

		if (len == n && !strncasecmp(p, value, n)) {
			free(*out);
			*out = xstrndup(p, len);
			return 0;
		}
		p += len;
		p += *p == ' ';
	}
	return -1;
}

int config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
	const struct setting_def *d = NULL;
	void *field;
	int64_t v;
	size_t i;
	int rc = 0;

	for (i = 0; i < NSETTINGS; i++)
		if (!strcmp(settings[i].name, name))
			d = &settings[i];
	if (!d) {
		errmsg(err, errlen, -1, "unknown setting '%s' (see 'trawl config CRAWL' for the list)", name);
		return -1;
	}
	i = (size_t)(d - settings);
	field = (char *)cfg + d->offset;
	switch (d->kind) {
	case K_TEXT:
		if (strlen(value) > 1 << 20)
			rc = -1;
		else {
			free(*(char **)field);
			*(char **)field = xstrdup(value);
		}
		break;
	case K_CHOICE:
		rc = set_choice(d, value, (char **)field);
		break;
	case K_INT:
		rc = parse_int64(value, d->min, d->max, &v);
		if (!rc)
			*(int *)field = (int)v;
		break;
	case K_DURATION:
		rc = parse_duration_ms(value, d->min, d->max, (int64_t *)field);
		break;
	case K_SIZE:
		rc = parse_size(value, d->min, d->max, (int64_t *)field);
		break;
	case K_RATE:
		rc = parse_rate(value, (double *)field);
		break;
	case K_BOOL:
		rc = parse_bool(value, (int *)field);
		break;
	}
	if (rc) {
		switch (d->kind) {
		case K_INT:
			errmsg(err, errlen, -1, "bad %s '%s': expected a whole number from %lld to %lld",
			       name, value, (long long)d->min, (long long)d->max);
			break;
		case K_DURATION:
			errmsg(err, errlen, -1, "bad %s '%s': expected a duration like 500ms, 10s, 5m or 1h",
			       name, value);
			break;
		case K_SIZE:
			errmsg(err, errlen, -1, "bad %s '%s': expected a size like 512KiB or 16MiB", name, value);
			break;
		case K_RATE:
			errmsg(err, errlen, -1, "bad %s '%s': expected N/s, N/m, N/h or unlimited", name, value);
			break;
		case K_BOOL:
			errmsg(err, errlen, -1, "bad %s '%s': expected on or off", name, value);
			break;
		case K_CHOICE:
			errmsg(err, errlen, -1, "bad %s '%s': expected one of %s", name, value, d->choices);
			break;
		default:
			errmsg(err, errlen, -1, "bad %s: longer than 1 MiB", name);
		}
		return -1;
	}
	free(cfg->text[i]);
	cfg->text[i] = xstrdup(value);
	return 0;
}

void config_strings_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Splits text at sep into trimmed, non-empty pieces. Caller frees. */
static void split(const char *text, char sep, char ***out, size_t *n)
{
	const char *p = text;

	*out = NULL;
	*n = 0;
	while (*p) {
		const char *end = strchr(p, sep), *a = p, *b;

		if (!end)
			end = p + strlen(p);
		b = end;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a) {
			*out = xrealloc(*out, (*n + 1) * sizeof(**out));
			(*out)[(*n)++] = xstrndup(a, (size_t)(b - a));
		}
		p = *end ? end + 1 : end;
	}
}

int config_input_columns(const struct config *cfg, char ***cols, size_t *n)
{
	char **extra;
	size_t nextra, i;

	split(cfg->columns, ',', &extra, &nextra);
	*cols = xcalloc(nextra + 1, sizeof(**cols));
	(*cols)[0] = xstrdup(cfg->key);
	*n = 1;
	for (i = 0; i < nextra; i++) {
		if (strcmp(extra[i], cfg->key))
			(*cols)[(*n)++] = extra[i];
		else
			free(extra[i]);
	}
	free(extra);
	return 0;
}

void config_fields_free(char **names, char **paths, size_t n)
{
	config_strings_free(names, n);
	config_strings_free(paths, n);
}

/* Names a field column may not take: the fixed columns of results. */
static int reserved_field(const char *name)
{
	static const char *const fixed[] = { "item_id", "http_status", "fetched_at", "elapsed_ms",
					     "bytes", "url", "body", "key", "id", "state", "vars",
					     "attempts", "last_error", "last_http_status", "next_attempt_at",
					     "updated_at", "crashes", NULL };
	int i;

	for (i = 0; fixed[i]; i++)
		if (!strcasecmp(name, fixed[i]))
			return 1;
	return 0;
}

int config_fields(const struct config *cfg, char ***names, char ***paths, size_t *n, char *err, size_t errlen)
{
	char **lines;
	size_t nlines, i, j;
	int rc = 0;

	split(cfg->fields, '\n', &lines, &nlines);
	*names = xcalloc(nlines + 1, sizeof(**names));
	*paths = xcalloc(nlines + 1, sizeof(**paths));
	*n = 0;
	for (i = 0; i < nlines && !rc; i++) {
		char *eq = strchr(lines[i], '='), *name, *path;
		struct jpath *jp = NULL;
		char perr[256];

		if (!eq) {
			errmsg(err, errlen, -1, "bad field '%s': expected NAME=$.path", lines[i]);
			rc = -1;
			break;
		}
		name = xstrndup(lines[i], (size_t)(eq - lines[i]));
		path = xstrdup(eq + 1);
		(*names)[*n] = name;
		(*paths)[*n] = path;
		(*n)++;
		if (!ident_valid(name) || reserved_field(name)) {
			errmsg(err, errlen, -1, "bad field name '%s': use letters, digits and _ (not starting with a digit, at most 64, not a built-in column)",
			       name);
			rc = -1;
		} else if (jpath_compile(&jp, path, perr, sizeof(perr))) {
			errmsg(err, errlen, -1, "bad field '%s': %s", name, perr);
			rc = -1;
		}
		jpath_free(jp);
		for (j = 0; !rc && j + 1 < *n; j++)
			if (!strcasecmp((*names)[j], name)) {
				errmsg(err, errlen, -1, "field '%s' is declared twice", name);
				rc = -1;
			}
	}
	config_strings_free(lines, nlines);
	if (rc) {
		config_fields_free(*names, *paths, *n);
		*names = *paths = NULL;
		*n = 0;
	}
	return rc;
}

int config_body_escape(const struct config *cfg)
{
	if (strcasestr(cfg->content_type, "json"))
		return TPL_JSON;
	if (strcasestr(cfg->content_type, "x-www-form-urlencoded"))
		return TPL_FORM;
	return TPL_RAW;
}

/* Compiles one template and checks its {columns} against the input columns. */
static int check_template(const char *what, const char *text, enum tpl_escape esc,
			  char **cols, size_t ncols, char *err, size_t errlen)
{
	struct tpl *t = NULL;
	char terr[256];
	size_t i, j;
	int rc = 0;

	if (tpl_compile(&t, text, esc, terr, sizeof(terr))) {
		errmsg(err, errlen, -1, "bad %s '%s': %s", what, text, terr);
		return -1;
	}
	for (i = 0; i < tpl_ncolumns(t) && !rc; i++) {
		const char *c = tpl_column(t, i);

		for (j = 0; j < ncols; j++)
			if (!strcmp(c, cols[j]))
				break;
		if (j == ncols) {
			errmsg(err, errlen, -1, "unknown column '{%s}' in %s '%s': the key column is '%s'; declare other input columns with --columns",
			       c, what, text, cols[0]);
			rc = -1;
		}
	}
	tpl_free(t);
	return rc;
}

static int check_headers(const struct config *cfg, char **cols, size_t ncols, char *err, size_t errlen)
{
	char **lines;
	size_t n, i;
	int rc = 0;

	split(cfg->headers, '\n', &lines, &n);
	for (i = 0; i < n && !rc; i++) {
		const char *colon = strchr(lines[i], ':'), *p;

		if (strchr(lines[i], '\r')) {
			errmsg(err, errlen, -1, "bad header '%s': it holds a CR", lines[i]);
			rc = -1;
			break;
		}
		if (!colon || colon == lines[i]) {
			errmsg(err, errlen, -1, "bad header '%s': expected 'Name: value'", lines[i]);
			rc = -1;
			break;
		}
		for (p = lines[i]; p < colon && !rc; p++)
			if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p)) {
				errmsg(err, errlen, -1, "bad header '%s': the name may not hold '%c'", lines[i], *p);
				rc = -1;
			}
		if (!rc)
			rc = check_template("header", colon + 1, TPL_HEADER, cols, ncols, err, errlen);
	}
	config_strings_free(lines, n);
	return rc;
}

/* Is the URL template a single {column}, i.e. a column of whole URLs? */
static int whole_url_template(const char *url)
{
	struct tpl *t = NULL;
	char terr[256];
	int whole;

	if (tpl_compile(&t, url, TPL_URL, terr, sizeof(terr)))
		return 0;
	whole = tpl_whole_url(t);
	tpl_free(t);
	return whole;
}

int config_validate(const struct config *cfg, char *err, size_t errlen)
{
	char **cols = NULL, **names = NULL, **paths = NULL;
	size_t ncols = 0, nfields = 0, i;
	int rc = -1;

	if (!*cfg->url) {
		errmsg(err, errlen, -1, "no URL template: give --url 'https://host/path/{%s}'", cfg->key);
		return -1;
	}
	if (!ident_valid(cfg->key)) {
		errmsg(err, errlen, -1, "bad key column '%s': use letters, digits and _", cfg->key);
		return -1;
	}
	config_input_columns(cfg, &cols, &ncols);
	for (i = 1; i < ncols; i++)
		if (!ident_valid(cols[i])) {
			errmsg(err, errlen, -1, "bad column name '%s' in columns: use letters, digits and _", cols[i]);
			goto out;
		}
	if (strncasecmp(cfg->url, "http://", 7) && strncasecmp(cfg->url, "https://", 8) &&
	    !whole_url_template(cfg->url)) {
		errmsg(err, errlen, -1, "bad url '%s': only http:// and https:// URLs are fetched "
		       "(or '{column}' alone, for a list of whole URLs)", cfg->url);
		goto out;
	}
	if (check_template("url", cfg->url, TPL_URL, cols, ncols, err, errlen))
		goto out;
	if (*cfg->body) {
		if (!strcmp(cfg->method, "GET") || !strcmp(cfg->method, "DELETE")) {
			errmsg(err, errlen, -1, "a request body needs method POST, PUT or PATCH (method is %s)", cfg->method);
			goto out;
		}
		if (check_template("body", cfg->body, config_body_escape(cfg), cols, ncols, err, errlen))
			goto out;
	}
	if (strpbrk(cfg->content_type, "\r\n") || strpbrk(cfg->user_agent, "\r\n")) {
		errmsg(err, errlen, -1, "content_type and user_agent may not hold CR or LF");
		goto out;
	}
	if (check_headers(cfg, cols, ncols, err, errlen))
		goto out;
	if (config_fields(cfg, &names, &paths, &nfields, err, errlen))
		goto out;
	if (cfg->backoff_cap_ms < cfg->backoff_base_ms) {
		errmsg(err, errlen, -1, "backoff_cap (%lld ms) is below backoff_base (%lld ms)",
		       (long long)cfg->backoff_cap_ms, (long long)cfg->backoff_base_ms);
		goto out;
	}
	rc = 0;
out:
	config_strings_free(cols, ncols);
	config_fields_free(names, paths, nfields);
	return rc;
}
