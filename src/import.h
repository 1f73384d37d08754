/*
 * import.h - reading work items from a CSV/TSV file or a plain list of keys
 * into the crawl, streaming, in one transaction per file.
 */
#ifndef TRAWL_IMPORT_H
#define TRAWL_IMPORT_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

enum import_format { IMPORT_AUTO = 0, IMPORT_CSV, IMPORT_TSV, IMPORT_LINES };

struct import_opts {
	const char *name;            /* shown in messages: the path, or "stdin" */
	FILE *in;
	enum import_format format;   /* IMPORT_AUTO: by the name's extension, else lines */
	const char *key_column;      /* the column that is the key */
	const char *const *required; /* other columns the templates need */
	size_t nrequired;
};

struct import_stats {
	int64_t added, skipped, rows;
};

/*
 * Adds every row of o->in as an item, in the caller's transaction: on any
 * error (message names file:line and the value) the caller rolls back and
 * nothing of this file is added (stats then count every row as skipped).
 * Rows reach the store in batches (store_add_queue).
 */
int import_items(struct store *st, const struct import_opts *o, struct import_stats *stats);

#endif
