/*
 * crawl.h - opening a crawl: the store plus its settings, checked.
 */
#ifndef TRAWL_CRAWL_H
#define TRAWL_CRAWL_H

#include "config.h"
#include "store.h"

/*
 * Opens the crawl at path and loads its settings into cfg (config_init'ed
 * here; caller releases it and closes *st, also on error).
 */
int crawl_open(const char *path, enum store_mode mode, struct store **st, struct config *cfg);

#endif
