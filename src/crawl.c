/*
 * crawl.c - glue between the store and the settings: a crawl file's
 * settings table read into a checked struct config.
 */
#include "crawl.h"
#include "util.h"

#include <string.h>

struct load_ctx {
	struct config *cfg;
	const char *path;
};

static int load_setting(void *ctx, const char *name, const char *value)
{
	struct load_ctx *l = ctx;
	char err[512];

	if (name[0] == '_')
		return 0; /* a command's own state (e.g. reextract's cursor), not a setting */
	if (config_set(l->cfg, name, value, err, sizeof(err))) {
		if (!strncmp(err, "unknown setting", 15)) {
			warning("'%s': ignoring setting '%s' unknown to this trawl", l->path, name);
			return 0;
		}
		return error_code(TR_EDB, "'%s' holds a bad setting: %s", l->path, err);
	}
	return 0;
}

int crawl_open(const char *path, enum store_mode mode, struct store **st, struct config *cfg)
{
	struct load_ctx l = { cfg, path };
	char err[512];
	int rc;

	config_init(cfg);
	if ((rc = store_open(st, path, mode)))
		return rc;
	if ((rc = store_settings_each(*st, load_setting, &l)))
		return rc;
	if (config_validate(cfg, err, sizeof(err)))
		return error_code(TR_EDB, "'%s' holds bad settings: %s (fix with 'trawl config')", path, err);
	return 0;
}
