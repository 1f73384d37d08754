/*
 * output.h - writing rows (store_row_fn streams) as CSV, TSV, JSON Lines or
 * an aligned table, in constant memory (the table buffers its first rows to
 * size its columns, no more).
 */
#ifndef TRAWL_OUTPUT_H
#define TRAWL_OUTPUT_H

#include <stdio.h>

#include "value.h"

enum out_format { OUT_CSV, OUT_TSV, OUT_JSONL, OUT_TABLE };

struct out;

/* A writer to f; caller frees with out_free (which flushes a pending table). */
struct out *out_new(FILE *f, enum out_format fmt);
void out_free(struct out *o);
int out_parse_format(const char *name, enum out_format *fmt);

/* A store_row_fn: ctx is the struct out.  Returns TR_EIO when f fails. */
int out_row(void *ctx, size_t ncols, const char *const *names, const struct value *row);

#endif
