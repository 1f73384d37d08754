/*
 * util.h - error reporting, checked number parsing, clocks and a capped
 * growable buffer: the small things every module shares.
 *
 * Error convention: a function returns 0 on success or a negative TR_E*
 * code; the function that detects a problem reports it once, through
 * error_code(), and callers only propagate.  A cmd_* maps -code to the
 * process exit status, so the codes below ARE the documented exit codes.
 */
#ifndef TRAWL_UTIL_H
#define TRAWL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (README "Exit codes", trawl --help, trawl.1). */
enum {
	EXIT_OK = 0,          /* success: everything asked for was done */
	EXIT_FAILED = 1,      /* run finished, some items failed */
	EXIT_USAGE = 2,       /* bad usage or bad input; nothing was changed */
	EXIT_DB = 3,          /* crawl file cannot be opened, read or written */
	EXIT_IO = 4,          /* an input or output file (or stdout) failed */
	EXIT_BUSY = 5,        /* another trawl run holds the crawl */
	EXIT_AUTH = 6,        /* run stopped early: every request was refused (401/403) */
	EXIT_SIGINT = 130,
	EXIT_SIGTERM = 143,
};

#define TR_EUSAGE (-EXIT_USAGE)
#define TR_EDB (-EXIT_DB)
#define TR_EIO (-EXIT_IO)
#define TR_EBUSY (-EXIT_BUSY)

#define ATTR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* "trawl: <message>" on stderr; returns code (a negative TR_E*). */
int error_code(int code, const char *fmt, ...) ATTR_PRINTF(2, 3);
/*
 * For the modules that never print (policy, extract, template, config):
 * writes a one-line message into err (when err and errlen allow) and
 * returns rc, so a check reads `return errmsg(err, errlen, -1, "...")`.
 */
int errmsg(char *err, size_t errlen, int rc, const char *fmt, ...) ATTR_PRINTF(4, 5);
/* "trawl: warning: <message>" on stderr. */
void warning(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* Set by --quiet: warnings and progress are suppressed, errors are not. */
extern int trawl_quiet;

/* Allocation that cannot fail: on exhaustion prints and aborts (git's xmalloc). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);

/*
 * Checked parsers.  Each returns 0 and stores the value, or -1 when text is
 * not a well-formed value inside [min, max]; they never print, so the caller
 * can name the option or setting in its message.
 */
int parse_int64(const char *text, int64_t min, int64_t max, int64_t *out);
int parse_int(const char *text, int min, int max, int *out);
/* "250ms", "10s", "5m", "2h", or a bare number of seconds. */
int parse_duration_ms(const char *text, int64_t min_ms, int64_t max_ms, int64_t *out);
/* "16MiB", "512KiB", "1GiB", "100k", "2M", or a bare number of bytes. */
int parse_size(const char *text, int64_t min, int64_t max, int64_t *out);
/* "50/s", "300/m", "1000/h", "2.5/s", or "0"/"unlimited" (0). Requests per second. */
int parse_rate(const char *text, double *per_second);
/* "1", "true", "on", "yes" / "0", "false", "off", "no". */
int parse_bool(const char *text, int *out);

/* Wall clock and monotonic clock in milliseconds. */
int64_t now_ms(void);
int64_t mono_ms(void);

/* A growable byte buffer with a hard cap (curl's dynbuf). */
struct buf {
	char *p;
	size_t len;
	size_t alloc;
	size_t max;
};
void buf_init(struct buf *b, size_t max);
/* Appends n bytes; returns -1 (buffer unchanged) when len + n would pass max. */
int buf_add(struct buf *b, const void *data, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
void buf_reset(struct buf *b);      /* len = 0, keeps the memory */
void buf_release(struct buf *b);    /* frees the memory */
/* Takes ownership of the bytes (NUL-terminated); the buffer is left empty. */
char *buf_detach(struct buf *b, size_t *len);

/* The JSON escape of byte c into esc (\\n, \\u001f, ...): its length, or 0 when c needs none. */
size_t json_escape_byte(unsigned char c, char esc[6]);
/* Appends s as a JSON string literal, quotes included (invalid UTF-8 becomes U+FFFD). */
int buf_add_json_string(struct buf *b, const char *s, size_t len);

/* Is s[0..len) valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)? */
int utf8_valid(const char *s, size_t len);

/* Is name a plain identifier: [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes? */
int ident_valid(const char *name);

/* fflush + ferror on stdout: a failed write to stdout is an error (EXIT_IO). */
int check_stdout(void);

#endif
