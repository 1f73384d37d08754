/*
 * test_config.c - unit tests for config.c: the defaults, config_set for
 * every kind of setting (good values, bad values and the message naming the
 * setting and the value), the cross-checks of config_validate, the field
 * list, the input columns and the body's escaping context.
 */
#include "config.h"
#include "template.h"
#include "util.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static char err[1024];

/* The index of a setting in the table, or config_count() when unknown. */
static size_t setting_index(const char *name)
{
	size_t i;

	for (i = 0; i < config_count(); i++)
		if (!strcmp(config_name(i), name))
			return i;
	return config_count();
}

/* config_set with the shared err buffer, cleared first. */
static int set(struct config *cfg, const char *name, const char *value)
{
	err[0] = '\0';
	return config_set(cfg, name, value, err, sizeof(err));
}

/* A config with a valid url; returns validate's result (message in err). */
static int validate(struct config *cfg)
{
	err[0] = '\0';
	return config_validate(cfg, err, sizeof(err));
}

static void base(struct config *cfg)
{
	config_init(cfg);
	set(cfg, "url", "https://api.example.com/items/{id}");
}

/* Checks that err starts with prefix. */
static int starts_with(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) == 0)
		return 1;
	fprintf(stderr, "  '%s' does not start with '%s'\n", s, prefix);
	return 0;
}

/* ---- defaults ------------------------------------------------------------- */

TEST(defaults)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_STR(cfg.url, "");
	CHECK_EQ_STR(cfg.method, "GET");
	CHECK_EQ_STR(cfg.body, "");
	CHECK_EQ_STR(cfg.content_type, "application/json");
	CHECK_EQ_STR(cfg.headers, "");
	CHECK_EQ_STR(cfg.user_agent, "trawl/" TRAWL_VERSION);
	CHECK_EQ_STR(cfg.ca_file, "");
	CHECK_EQ_STR(cfg.key, "id");
	CHECK_EQ_STR(cfg.columns, "");
	CHECK_EQ_STR(cfg.fields, "");
	CHECK_EQ_STR(cfg.invalid_json, "fail");
	CHECK_EQ_INT(cfg.keep_body, 1);
	CHECK_EQ_INT(cfg.concurrency, 16);
	CHECK_NEAR(cfg.rate, 0.0, 0);
	CHECK_EQ_INT(cfg.max_attempts, 8);
	CHECK_EQ_INT(cfg.max_redirects, 5);
	CHECK_EQ_INT(cfg.connect_timeout_ms, 10000);
	CHECK_EQ_INT(cfg.timeout_ms, 60000);
	CHECK_EQ_INT(cfg.low_speed_time_ms, 30000);
	CHECK_EQ_INT(cfg.low_speed_limit, 10);
	CHECK_EQ_INT(cfg.max_body, 16 * 1024 * 1024);
	CHECK_EQ_INT(cfg.backoff_base_ms, 1000);
	CHECK_EQ_INT(cfg.backoff_cap_ms, 600000);
	CHECK_EQ_INT(cfg.commit_interval_ms, 500);
	CHECK_EQ_INT(cfg.commit_batch, 1000);
	config_release(&cfg);
	/* release twice is harmless */
	config_release(&cfg);
}

TEST(table_and_texts)
{
	struct config cfg;
	size_t i;

	config_init(&cfg);
	CHECK_EQ_INT(config_count(), 25);
	CHECK_EQ_STR(config_name(0), "url");
	CHECK_EQ_STR(config_name(config_count() - 1), "commit_batch");
	CHECK_EQ_STR(config_default(setting_index("max_body")), "16MiB");
	CHECK_EQ_STR(config_default(setting_index("rate")), "unlimited");
	CHECK_EQ_STR(config_default(setting_index("keep_body")), "on");
	/* the text of every setting starts as its default, and every setting has help */
	for (i = 0; i < config_count(); i++) {
		if (!CHECK_EQ_STR(config_text(&cfg, i), config_default(i)))
			fprintf(stderr, "  setting %s\n", config_name(i));
		CHECK(config_help(i) != NULL && config_help(i)[0] != '\0');
	}
	/* the text is kept exactly as given */
	CHECK_EQ_INT(set(&cfg, "timeout", "1.5s"), 0);
	CHECK_EQ_STR(config_text(&cfg, setting_index("timeout")), "1.5s");
	CHECK_EQ_INT(cfg.timeout_ms, 1500);
	config_release(&cfg);
}

/* ---- config_set ---------------------------------------------------------- */

TEST(set_text)
{
	struct config cfg;
	char *huge;

	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "url", "http://h/{id}"), 0);
	CHECK_EQ_STR(cfg.url, "http://h/{id}");
	CHECK_EQ_STR(config_text(&cfg, setting_index("url")), "http://h/{id}");
	CHECK_EQ_INT(set(&cfg, "user_agent", ""), 0);
	CHECK_EQ_STR(cfg.user_agent, "");
	huge = xmalloc((1 << 20) + 2);
	memset(huge, 'a', (1 << 20) + 1);
	huge[(1 << 20) + 1] = '\0';
	CHECK_EQ_INT(set(&cfg, "body", huge), -1);
	CHECK_EQ_STR(err, "bad body: longer than 1 MiB");
	CHECK_EQ_STR(cfg.body, "");
	huge[1 << 20] = '\0';
	CHECK_EQ_INT(set(&cfg, "body", huge), 0);
	CHECK_EQ_INT(strlen(cfg.body), 1 << 20);
	free(huge);
	config_release(&cfg);
}

TEST(set_choice)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "method", "POST"), 0);
	CHECK_EQ_STR(cfg.method, "POST");
	/* case-insensitive, stored canonical */
	CHECK_EQ_INT(set(&cfg, "method", "patch"), 0);
	CHECK_EQ_STR(cfg.method, "PATCH");
	CHECK_EQ_INT(set(&cfg, "method", "FETCH"), -1);
	CHECK_EQ_STR(err, "bad method 'FETCH': expected one of GET POST PUT PATCH DELETE");
	CHECK_EQ_STR(cfg.method, "PATCH");
	CHECK_EQ_STR(config_text(&cfg, setting_index("method")), "patch");
	CHECK_EQ_INT(set(&cfg, "method", "GE"), -1);
	CHECK_EQ_INT(set(&cfg, "method", "GETS"), -1);
	CHECK_EQ_INT(set(&cfg, "method", ""), -1);
	CHECK_EQ_INT(set(&cfg, "method", "GET POST"), -1);
	CHECK_EQ_INT(set(&cfg, "invalid_json", "keep"), 0);
	CHECK_EQ_STR(cfg.invalid_json, "keep");
	CHECK_EQ_INT(set(&cfg, "invalid_json", "ignore"), -1);
	CHECK_EQ_STR(err, "bad invalid_json 'ignore': expected one of fail keep");
	config_release(&cfg);
}

TEST(set_int)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "concurrency", "32"), 0);
	CHECK_EQ_INT(cfg.concurrency, 32);
	CHECK_EQ_INT(set(&cfg, "concurrency", "10000"), 0);
	CHECK_EQ_INT(cfg.concurrency, 10000);
	CHECK_EQ_INT(set(&cfg, "concurrency", "0"), -1);
	CHECK_EQ_STR(err, "bad concurrency '0': expected a whole number from 1 to 10000");
	CHECK_EQ_INT(set(&cfg, "concurrency", "10001"), -1);
	CHECK_EQ_INT(set(&cfg, "concurrency", "abc"), -1);
	CHECK_EQ_STR(err, "bad concurrency 'abc': expected a whole number from 1 to 10000");
	CHECK_EQ_INT(set(&cfg, "concurrency", "4.5"), -1);
	CHECK_EQ_INT(set(&cfg, "concurrency", ""), -1);
	/* a refused value changes nothing */
	CHECK_EQ_INT(cfg.concurrency, 10000);
	CHECK_EQ_STR(config_text(&cfg, setting_index("concurrency")), "10000");
	CHECK_EQ_INT(set(&cfg, "max_redirects", "0"), 0);
	CHECK_EQ_INT(cfg.max_redirects, 0);
	CHECK_EQ_INT(set(&cfg, "max_redirects", "51"), -1);
	CHECK_EQ_STR(err, "bad max_redirects '51': expected a whole number from 0 to 50");
	CHECK_EQ_INT(set(&cfg, "max_attempts", "1"), 0);
	CHECK_EQ_INT(cfg.max_attempts, 1);
	CHECK_EQ_INT(set(&cfg, "commit_batch", "100000"), 0);
	CHECK_EQ_INT(cfg.commit_batch, 100000);
	config_release(&cfg);
}

TEST(set_duration)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "timeout", "5m"), 0);
	CHECK_EQ_INT(cfg.timeout_ms, 300000);
	CHECK_EQ_INT(set(&cfg, "timeout", "100ms"), 0);
	CHECK_EQ_INT(cfg.timeout_ms, 100);
	CHECK_EQ_INT(set(&cfg, "timeout", "50ms"), -1);
	CHECK_EQ_STR(err, "bad timeout '50ms': expected a duration like 500ms, 10s, 5m or 1h");
	CHECK_EQ_INT(set(&cfg, "timeout", "soon"), -1);
	CHECK_EQ_STR(err, "bad timeout 'soon': expected a duration like 500ms, 10s, 5m or 1h");
	CHECK_EQ_INT(cfg.timeout_ms, 100);
	CHECK_EQ_INT(set(&cfg, "connect_timeout", "2"), 0);
	CHECK_EQ_INT(cfg.connect_timeout_ms, 2000);
	CHECK_EQ_INT(set(&cfg, "low_speed_time", "999ms"), -1);
	CHECK_EQ_INT(set(&cfg, "commit_interval", "10ms"), 0);
	CHECK_EQ_INT(cfg.commit_interval_ms, 10);
	CHECK_EQ_INT(set(&cfg, "commit_interval", "61s"), -1);
	CHECK_EQ_INT(set(&cfg, "backoff_cap", "8d"), -1);
	config_release(&cfg);
}

TEST(set_duration_at_the_maximum)
{
	struct config cfg;

	/* The maxima are part of the table: a value equal to one is in range. */
	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "timeout", "24h"), 0);
	CHECK_EQ_INT(cfg.timeout_ms, 86400000);
	CHECK_EQ_INT(set(&cfg, "commit_interval", "60s"), 0);
	CHECK_EQ_INT(cfg.commit_interval_ms, 60000);
	CHECK_EQ_INT(set(&cfg, "commit_interval", "1m"), 0);
	CHECK_EQ_INT(cfg.commit_interval_ms, 60000);
	CHECK_EQ_INT(set(&cfg, "backoff_cap", "168h"), 0);
	CHECK_EQ_INT(cfg.backoff_cap_ms, 7 * 86400000LL);
	config_release(&cfg);
}

TEST(set_size)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "max_body", "1MiB"), 0);
	CHECK_EQ_INT(cfg.max_body, 1048576);
	CHECK_EQ_INT(set(&cfg, "max_body", "1KiB"), 0);
	CHECK_EQ_INT(cfg.max_body, 1024);
	CHECK_EQ_INT(set(&cfg, "max_body", "1000"), -1);
	CHECK_EQ_STR(err, "bad max_body '1000': expected a size like 512KiB or 16MiB");
	CHECK_EQ_INT(set(&cfg, "max_body", "3GiB"), -1);
	CHECK_EQ_INT(set(&cfg, "max_body", "big"), -1);
	CHECK_EQ_STR(err, "bad max_body 'big': expected a size like 512KiB or 16MiB");
	CHECK_EQ_INT(cfg.max_body, 1024);
	CHECK_EQ_INT(set(&cfg, "low_speed_limit", "0"), 0);
	CHECK_EQ_INT(cfg.low_speed_limit, 0);
	config_release(&cfg);
}

TEST(set_size_at_the_maximum)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "max_body", "2GiB"), 0);
	CHECK_EQ_INT(cfg.max_body, INT64_C(2147483648));
	CHECK_EQ_INT(set(&cfg, "low_speed_limit", "1GiB"), 0);
	CHECK_EQ_INT(cfg.low_speed_limit, INT64_C(1073741824));
	config_release(&cfg);
}

TEST(set_rate)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "rate", "50/s"), 0);
	CHECK_NEAR(cfg.rate, 50.0, 0);
	CHECK_EQ_INT(set(&cfg, "rate", "120/m"), 0);
	CHECK_NEAR(cfg.rate, 2.0, 1e-12);
	CHECK_EQ_INT(set(&cfg, "rate", "fast"), -1);
	CHECK_EQ_STR(err, "bad rate 'fast': expected N/s, N/m, N/h or unlimited");
	CHECK_EQ_INT(set(&cfg, "rate", "0/s"), -1);
	CHECK_EQ_STR(err, "bad rate '0/s': expected N/s, N/m, N/h or unlimited");
	CHECK_NEAR(cfg.rate, 2.0, 1e-12);
	CHECK_EQ_STR(config_text(&cfg, setting_index("rate")), "120/m");
	CHECK_EQ_INT(set(&cfg, "rate", "unlimited"), 0);
	CHECK_NEAR(cfg.rate, 0.0, 0);
	config_release(&cfg);
}

TEST(set_bool)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "keep_body", "off"), 0);
	CHECK_EQ_INT(cfg.keep_body, 0);
	CHECK_EQ_INT(set(&cfg, "keep_body", "yes"), 0);
	CHECK_EQ_INT(cfg.keep_body, 1);
	CHECK_EQ_INT(set(&cfg, "keep_body", "maybe"), -1);
	CHECK_EQ_STR(err, "bad keep_body 'maybe': expected on or off");
	CHECK_EQ_INT(cfg.keep_body, 1);
	config_release(&cfg);
}

TEST(set_unknown)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(set(&cfg, "nope", "1"), -1);
	CHECK_EQ_STR(err, "unknown setting 'nope' (see 'trawl config CRAWL' for the list)");
	CHECK_EQ_INT(set(&cfg, "URL", "http://x/{id}"), -1);
	CHECK_EQ_STR(err, "unknown setting 'URL' (see 'trawl config CRAWL' for the list)");
	CHECK_EQ_INT(set(&cfg, "max-body", "1MiB"), -1);
	CHECK_EQ_STR(cfg.url, "");
	config_release(&cfg);
}

TEST(set_error_truncated_to_errlen)
{
	struct config cfg;
	char small[16];

	config_init(&cfg);
	memset(small, 'Z', sizeof(small));
	CHECK_EQ_INT(config_set(&cfg, "concurrency", "0", small, sizeof(small)), -1);
	CHECK_EQ_STR(small, "bad concurrency");
	config_release(&cfg);
}

/* ---- config_validate ------------------------------------------------------------ */

TEST(validate_ok)
{
	struct config cfg;

	base(&cfg);
	CHECK_EQ_INT(validate(&cfg), 0);
	CHECK_EQ_STR(err, "");
	/* scheme is case-insensitive */
	set(&cfg, "url", "HTTP://h/{id}?x=1");
	CHECK_EQ_INT(validate(&cfg), 0);
	/* a URL with no placeholder at all is allowed */
	set(&cfg, "url", "https://h/static");
	CHECK_EQ_INT(validate(&cfg), 0);
	config_release(&cfg);
}

TEST(validate_missing_url)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "no URL template: give --url 'https://host/path/{id}'");
	set(&cfg, "key", "isbn");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "no URL template: give --url 'https://host/path/{isbn}'");
	config_release(&cfg);
}

TEST(validate_url_scheme)
{
	static const char *const bad[] = {
		"ftp://h/{id}", "file:///etc/{id}", "h/{id}", "http:/h/{id}", "httpx://h/{id}", "//h/{id}",
	};
	struct config cfg;
	size_t i;

	base(&cfg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];

		set(&cfg, "url", bad[i]);
		CHECK_EQ_INT(validate(&cfg), -1);
		snprintf(want, sizeof(want), "bad url '%s': only http:// and https:// URLs are fetched "
			 "(or '{column}' alone, for a list of whole URLs)", bad[i]);
		CHECK_EQ_STR(err, want);
	}
	config_release(&cfg);
}

TEST(validate_whole_url_column)
{
	struct config cfg;

	/* a URL template of one {column} alone: the column holds whole URLs */
	base(&cfg);
	set(&cfg, "url", "{id}");
	CHECK_EQ_INT(validate(&cfg), 0);
	set(&cfg, "key", "url");
	set(&cfg, "url", "{url}");
	CHECK_EQ_INT(validate(&cfg), 0);
	/* still a known column */
	set(&cfg, "url", "{link}");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "unknown column '{link}' in url '{link}'"));
	set(&cfg, "columns", "link");
	CHECK_EQ_INT(validate(&cfg), 0);
	/* anything around the column is a relative URL again */
	set(&cfg, "url", "{url}/x");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "bad url '{url}/x': only http:// and https://"));
	set(&cfg, "url", " {url}");
	CHECK_EQ_INT(validate(&cfg), -1);
	set(&cfg, "url", "{url}{link}");
	CHECK_EQ_INT(validate(&cfg), -1);
	set(&cfg, "url", "${HOST}");
	CHECK_EQ_INT(validate(&cfg), -1);
	config_release(&cfg);
}

TEST(validate_unknown_column)
{
	struct config cfg;

	base(&cfg);
	set(&cfg, "url", "https://h/{id}/{lang}");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "unknown column '{lang}' in url 'https://h/{id}/{lang}': the key column is 'id'; declare other input columns with --columns");
	/* declared: valid; the list is trimmed */
	set(&cfg, "columns", " lang , region ");
	CHECK_EQ_INT(validate(&cfg), 0);
	set(&cfg, "url", "https://h/{id}/{lang}/{region}");
	CHECK_EQ_INT(validate(&cfg), 0);
	set(&cfg, "url", "https://h/{id}/{lang}/{zone}");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(strstr(err, "unknown column '{zone}'") != NULL);
	/* another key column: {id} is no longer known */
	set(&cfg, "columns", "");
	set(&cfg, "key", "isbn");
	set(&cfg, "url", "https://h/{isbn}");
	CHECK_EQ_INT(validate(&cfg), 0);
	set(&cfg, "url", "https://h/{id}");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "unknown column '{id}' in url 'https://h/{id}': the key column is 'isbn'; declare other input columns with --columns");
	config_release(&cfg);
}

TEST(validate_key_and_columns_names)
{
	struct config cfg;

	base(&cfg);
	set(&cfg, "key", "1x");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "bad key column '1x'"));
	set(&cfg, "key", "id");
	set(&cfg, "columns", "lang,a-b");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "bad column name 'a-b' in columns"));
	config_release(&cfg);
}

TEST(validate_headers)
{
	struct config cfg;

	base(&cfg);
	set(&cfg, "headers", "Authorization: Bearer ${TOKEN}\nX-Id: {id}\nAccept: application/json");
	CHECK_EQ_INT(validate(&cfg), 0);
	set(&cfg, "headers", "X-Foo bar");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "bad header 'X-Foo bar': expected 'Name: value'");
	set(&cfg, "headers", ": value");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "bad header ': value': expected 'Name: value'");
	set(&cfg, "headers", "X Foo: bar");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "bad header 'X Foo: bar': the name may not hold ' '");
	set(&cfg, "headers", "X(Foo): bar");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "bad header 'X(Foo): bar': the name may not hold '('");
	set(&cfg, "headers", "Accept: */*\nX-Lang: {lang}");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(strstr(err, "unknown column '{lang}' in header") != NULL);
	set(&cfg, "headers", "X-A: 1\rX-B: 2");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "bad header 'X-A: 1\rX-B: 2': it holds a CR"));
	config_release(&cfg);
}

TEST(validate_body_and_method)
{
	struct config cfg;

	base(&cfg);
	set(&cfg, "body", "{\"q\": {id}}");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "a request body needs method POST, PUT or PATCH (method is GET)");
	set(&cfg, "method", "DELETE");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "a request body needs method POST, PUT or PATCH (method is DELETE)");
	set(&cfg, "method", "post");
	CHECK_EQ_INT(validate(&cfg), 0);
	set(&cfg, "method", "PUT");
	CHECK_EQ_INT(validate(&cfg), 0);
	/* a JSON body's placeholder must stand bare */
	set(&cfg, "body", "{\"q\": \"{id}\"}");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "bad body '{\"q\": \"{id}\"}': "));
	/* unknown column in the body */
	set(&cfg, "body", "{\"q\": {name}}");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(strstr(err, "unknown column '{name}' in body") != NULL);
	/* a form body */
	set(&cfg, "content_type", "application/x-www-form-urlencoded");
	set(&cfg, "body", "q={id}&x=1");
	CHECK_EQ_INT(validate(&cfg), 0);
	/* GET without a body is fine */
	set(&cfg, "body", "");
	set(&cfg, "method", "GET");
	CHECK_EQ_INT(validate(&cfg), 0);
	config_release(&cfg);
}

TEST(validate_crlf_in_content_type)
{
	struct config cfg;

	base(&cfg);
	set(&cfg, "content_type", "text/plain\r\nX-Evil: 1");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "content_type and user_agent may not hold CR or LF");
	set(&cfg, "content_type", "text/plain");
	set(&cfg, "user_agent", "x\ny");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "content_type and user_agent may not hold CR or LF");
	config_release(&cfg);
}

TEST(validate_fields)
{
	struct config cfg;

	base(&cfg);
	set(&cfg, "fields", "title=$.items[0].title\nprice=$.price");
	CHECK_EQ_INT(validate(&cfg), 0);
	set(&cfg, "fields", "title=items.title");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "bad field 'title': "));
	set(&cfg, "fields", "title=$.a[x]");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "bad field 'title': "));
	set(&cfg, "fields", "title");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "bad field 'title': expected NAME=$.path");
	set(&cfg, "fields", "a=$.x\nb=$.y\na=$.z");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "field 'a' is declared twice");
	/* column names are case-insensitive in SQLite: so are duplicates */
	set(&cfg, "fields", "Title=$.x\ntitle=$.y");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "field 'title' is declared twice");
	set(&cfg, "fields", "1st=$.x");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "bad field name '1st': "));
	set(&cfg, "fields", "=$.x");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK(starts_with(err, "bad field name '': "));
	config_release(&cfg);
}

TEST(validate_reserved_field_names)
{
	static const char *const reserved[] = {
		"body", "key", "id", "state", "vars", "url", "http_status", "fetched_at",
		"elapsed_ms", "bytes", "item_id", "attempts", "last_error", "last_http_status",
		"BODY", "Key",
	};
	struct config cfg;
	size_t i;

	base(&cfg);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		char fields[128], want[128];

		snprintf(fields, sizeof(fields), "%s=$.x", reserved[i]);
		set(&cfg, "fields", fields);
		CHECK_EQ_INT(validate(&cfg), -1);
		snprintf(want, sizeof(want), "bad field name '%s': ", reserved[i]);
		CHECK(starts_with(err, want));
	}
	config_release(&cfg);
}

TEST(validate_field_names_shadowed_by_export_columns)
{
	/* 'trawl export --columns' resolves these names to items columns before
	 * the fields, so a field with one of them could never be exported. */
	static const char *const shadowed[] = { "updated_at", "next_attempt_at" };
	struct config cfg;
	size_t i;

	base(&cfg);
	for (i = 0; i < sizeof(shadowed) / sizeof(shadowed[0]); i++) {
		char fields[128];

		snprintf(fields, sizeof(fields), "%s=$.x", shadowed[i]);
		set(&cfg, "fields", fields);
		if (!CHECK_EQ_INT(validate(&cfg), -1))
			fprintf(stderr, "  field name '%s' accepted\n", shadowed[i]);
	}
	config_release(&cfg);
}

TEST(validate_backoff)
{
	struct config cfg;

	base(&cfg);
	set(&cfg, "backoff_base", "10s");
	set(&cfg, "backoff_cap", "5s");
	CHECK_EQ_INT(validate(&cfg), -1);
	CHECK_EQ_STR(err, "backoff_cap (5000 ms) is below backoff_base (10000 ms)");
	set(&cfg, "backoff_cap", "10s");
	CHECK_EQ_INT(validate(&cfg), 0);
	config_release(&cfg);
}

/* ---- fields, columns, escaping ------------------------------------------------------ */

TEST(fields_parse)
{
	struct config cfg;
	char **names = NULL, **paths = NULL;
	size_t n = 99;

	config_init(&cfg);
	set(&cfg, "fields", "title=$.items[0].title\n\n  price=$.\"a.b\"  \r\nauthor=$.list[#-1]\n");
	CHECK_EQ_INT(config_fields(&cfg, &names, &paths, &n, err, sizeof(err)), 0);
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_EQ_STR(names[0], "title");
		CHECK_EQ_STR(paths[0], "$.items[0].title");
		CHECK_EQ_STR(names[1], "price");
		CHECK_EQ_STR(paths[1], "$.\"a.b\"");
		CHECK_EQ_STR(names[2], "author");
		CHECK_EQ_STR(paths[2], "$.list[#-1]");
	}
	config_fields_free(names, paths, n);
	/* none */
	set(&cfg, "fields", "");
	CHECK_EQ_INT(config_fields(&cfg, &names, &paths, &n, err, sizeof(err)), 0);
	CHECK_EQ_INT(n, 0);
	config_fields_free(names, paths, n);
	/* error: nothing is returned */
	set(&cfg, "fields", "ok=$.a\nbad name=$.b");
	CHECK_EQ_INT(config_fields(&cfg, &names, &paths, &n, err, sizeof(err)), -1);
	CHECK(names == NULL);
	CHECK(paths == NULL);
	CHECK_EQ_INT(n, 0);
	CHECK(starts_with(err, "bad field name 'bad name': "));
	config_release(&cfg);
}

TEST(input_columns)
{
	struct config cfg;
	char **cols = NULL;
	size_t n = 0;

	config_init(&cfg);
	CHECK_EQ_INT(config_input_columns(&cfg, &cols, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(cols[0], "id");
	config_strings_free(cols, n);
	set(&cfg, "key", "isbn");
	set(&cfg, "columns", "title, isbn ,lang,,");
	CHECK_EQ_INT(config_input_columns(&cfg, &cols, &n), 0);
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_EQ_STR(cols[0], "isbn");
		CHECK_EQ_STR(cols[1], "title");
		CHECK_EQ_STR(cols[2], "lang");
	}
	config_strings_free(cols, n);
	config_strings_free(NULL, 0);
	config_release(&cfg);
}

TEST(body_escape)
{
	struct config cfg;

	config_init(&cfg);
	CHECK_EQ_INT(config_body_escape(&cfg), TPL_JSON);
	set(&cfg, "content_type", "application/vnd.api+json; charset=utf-8");
	CHECK_EQ_INT(config_body_escape(&cfg), TPL_JSON);
	set(&cfg, "content_type", "APPLICATION/JSON");
	CHECK_EQ_INT(config_body_escape(&cfg), TPL_JSON);
	set(&cfg, "content_type", "application/x-www-form-urlencoded");
	CHECK_EQ_INT(config_body_escape(&cfg), TPL_FORM);
	set(&cfg, "content_type", "application/x-www-form-urlencoded; charset=UTF-8");
	CHECK_EQ_INT(config_body_escape(&cfg), TPL_FORM);
	set(&cfg, "content_type", "text/plain");
	CHECK_EQ_INT(config_body_escape(&cfg), TPL_RAW);
	set(&cfg, "content_type", "application/xml");
	CHECK_EQ_INT(config_body_escape(&cfg), TPL_RAW);
	config_release(&cfg);
}

int main(void)
{
	RUN(defaults);
	RUN(table_and_texts);
	RUN(set_text);
	RUN(set_choice);
	RUN(set_int);
	RUN(set_duration);
	RUN(set_duration_at_the_maximum);
	RUN(set_size);
	RUN(set_size_at_the_maximum);
	RUN(set_rate);
	RUN(set_bool);
	RUN(set_unknown);
	RUN(set_error_truncated_to_errlen);
	RUN(validate_ok);
	RUN(validate_missing_url);
	RUN(validate_url_scheme);
	RUN(validate_whole_url_column);
	RUN(validate_unknown_column);
	RUN(validate_key_and_columns_names);
	RUN(validate_headers);
	RUN(validate_body_and_method);
	RUN(validate_crlf_in_content_type);
	RUN(validate_fields);
	RUN(validate_reserved_field_names);
	RUN(validate_field_names_shadowed_by_export_columns);
	RUN(validate_backoff);
	RUN(fields_parse);
	RUN(input_columns);
	RUN(body_escape);
	return unit_done();
}
