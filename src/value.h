/*
 * value.h - a typed scalar, the unit in which extracted fields and exported
 * cells travel between modules.  It mirrors SQLite's storage classes so that
 * "numbers stay numbers" without store.h having to expose sqlite3 types.
 */
#ifndef TRAWL_VALUE_H
#define TRAWL_VALUE_H

#include <stddef.h>
#include <stdint.h>

enum value_type { VAL_NULL = 0, VAL_INT, VAL_REAL, VAL_TEXT, VAL_BLOB };

struct value {
	enum value_type type;
	int64_t i;      /* VAL_INT */
	double d;       /* VAL_REAL */
	char *s;        /* VAL_TEXT/VAL_BLOB: NUL-terminated, owned unless noted */
	size_t len;     /* VAL_TEXT/VAL_BLOB: length without the NUL */
};

/* Frees the owned text of v (if any) and resets it to VAL_NULL.  Accepts NULL. */
void value_release(struct value *v);

#endif
