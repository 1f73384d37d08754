/*
 * config.h - the crawl's settings: their names, defaults, parsing and the
 * cross-checks between them (templates, fields, columns).  A setting is
 * stored in the crawl file as text exactly as given; this module turns the
 * text into typed values and refuses nonsense with one clear line.
 * It never touches the store, the network or the terminal.
 */
#ifndef TRAWL_CONFIG_H
#define TRAWL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config {
	/* requests */
	char *url;             /* URL template */
	char *method;          /* GET, POST, PUT, PATCH, DELETE */
	char *body;            /* body template, "" for none */
	char *content_type;    /* of the body */
	char *headers;         /* header templates, one "Name: value" per line */
	char *user_agent;
	char *ca_file;         /* "" = the system's CA store */
	/* items */
	char *key;             /* the input column that is the item's identity */
	char *columns;         /* other input columns templates may use, comma-separated */
	char *fields;          /* one "name=$.path" per line */
	char *invalid_json;    /* what a 2xx that is not JSON does: "fail" or "keep" */
	int keep_body;
	/* pace and patience */
	int concurrency;
	double rate;           /* per host, requests/s, 0 = unlimited */
	int max_attempts;
	int max_redirects;
	int64_t connect_timeout_ms, timeout_ms, low_speed_time_ms, low_speed_limit;
	int64_t max_body;
	int64_t backoff_base_ms, backoff_cap_ms;
	int64_t commit_interval_ms;
	int commit_batch;
	/* the raw text of every setting, indexed like the table in config.c */
	char **text;
};

/* Fills cfg with the defaults.  Release with config_release. */
void config_init(struct config *cfg);
void config_release(struct config *cfg);

/*
 * Sets one setting from text.  Returns 0, or -1 with a one-line message in
 * err (naming the setting and the value) for an unknown name or bad value.
 */
int config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen);

/*
 * Checks the settings together: the URL, body and header templates compile,
 * every {column} is the key or a declared column, header lines are well
 * formed, fields are unique identifiers with valid paths.  0 or -1 with err.
 */
int config_validate(const struct config *cfg, char *err, size_t errlen);

/* Iterates the settings in table order (for init's store and config's listing). */
size_t config_count(void);
const char *config_name(size_t i);
const char *config_help(size_t i);
const char *config_default(size_t i);
const char *config_text(const struct config *cfg, size_t i);
/* Is this setting's text a secret-free template? (all are: ${VAR} stays unexpanded) */

/*
 * The fields as parallel arrays (names[i], paths[i]), parsed from cfg->fields.
 * Caller frees with config_fields_free.  0, or -1 with err.
 */
int config_fields(const struct config *cfg, char ***names, char ***paths, size_t *n, char *err, size_t errlen);
void config_fields_free(char **names, char **paths, size_t n);

/* The input columns items must provide: the key first, then cfg->columns. Caller frees. */
int config_input_columns(const struct config *cfg, char ***cols, size_t *n);
void config_strings_free(char **v, size_t n);

/* The body's escaping context from the content type: JSON, form or raw (template.h's enum). */
int config_body_escape(const struct config *cfg);

#endif
