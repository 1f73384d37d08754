/*
 * fuzz.h - what every libFuzzer target in tests/fuzz shares: the entry
 * points (declared, so -Wmissing-prototypes stays quiet), a check that turns
 * a broken invariant into a crash libFuzzer records, and a small reader that
 * takes typed values off the front of the input.
 *
 * A target must never write outside its own temporary directory, never use
 * the network, and never stop on a broken invariant other than through
 * FUZZ_CHECK (abort: libFuzzer keeps the input as crash-*).
 */
#ifndef TRAWL_FUZZ_H
#define TRAWL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Where FUZZ_CHECK writes: the real standard error, also after a target
 * silenced the core's messages (NULL: stderr was never swapped).
 */
static FILE *fuzz_report __attribute__((unused));

/* Aborts, naming the broken invariant, when cond is false. */
#define FUZZ_CHECK(cond, ...)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			FILE *out_ = fuzz_report ? fuzz_report : stderr;      \
			fprintf(out_, "fuzz: %s:%d: invariant broken: %s: ",  \
				__FILE__, __LINE__, #cond);                    \
			fprintf(out_, __VA_ARGS__);                            \
			fputc('\n', out_);                                     \
			fflush(out_);                                          \
			abort();                                               \
		}                                                              \
	} while (0)

/*
 * Sends the core's own messages (error_code, warning: they write to the
 * stderr stream) to /dev/null, keeping fd 2 open for libFuzzer and the
 * sanitizers, and FUZZ_CHECK on the real standard error.
 */
static inline void fuzz_silence_stderr(void)
{
	FILE *null = fopen("/dev/null", "w");

	fuzz_report = stderr;
	if (null != NULL)
		stderr = null;
}

/* Typed values taken off the front of the input; zeroes once it runs out. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, size_t bytes)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < bytes; i++) {
		v <<= 8;
		if (in->n > 0) {
			v |= *in->p++;
			in->n--;
		}
	}
	return v;
}

/* A malloc'd NUL-terminated copy of data[0..n) (cut at the first NUL, as C would). */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

#endif
