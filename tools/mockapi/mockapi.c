/*
 * mockapi: a local mock JSON API for trawl's demo and integration tests.
 *
 * It serves a handful of JSON endpoints (/items, /books, /search, /echo)
 * on GNU libmicrohttpd, injects faults on demand (random 503s, hangs,
 * truncated and invalid or oversized bodies, 429 rate limiting with an
 * arbitrary Retry-After) and offers deterministic fault paths (/hang,
 * /slow, /trunc, /big, /endless, /redirect, /loop, ...) and hostile bodies
 * (/bomb: a real gzip bomb, /array: millions of values, /unicode: bytes
 * that are not UTF-8 and unpaired surrogates) so tests can be exact. It
 * keeps request counts (/_stats) and an optional per-request log.
 * It must never listen on anything but 127.0.0.1, never run longer than
 * --max-seconds, and never let memory grow per request beyond its bounded
 * tables (stats: 2M paths, retry-after memory: 1M keys); request bodies are
 * capped at 1 MiB and large responses are streamed, never allocated whole
 * (a /bomb response holds 1 MiB of input and zlib's state).
 *
 * Exit status: 0 after SIGINT/SIGTERM or --max-seconds, 1 when it cannot
 * start (listen, log file, port file), 2 for bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#define BODY_CAP (1024u * 1024u)               /* request bodies */
#define OUT_CAP (16u * 1024u * 1024u)          /* buffered responses */
#define STATS_OUT_CAP (512u * 1024u * 1024u)   /* the /_stats document */
#ifndef STATS_MAX_PATHS
#define STATS_MAX_PATHS 2000000u /* distinct paths counted; beyond, totals only */
#endif
#ifndef SEEN_MAX_KEYS
#define SEEN_MAX_KEYS 1000000u /* /retry-after keys remembered */
#endif
#define MAX_STATUS 1000u
#define ECHO_MAX_HEADERS 256u
#define CONN_LIMIT 1000u
#ifndef CONN_TIMEOUT_S
#define CONN_TIMEOUT_S 120u /* idle keep-alive connections are closed after this */
#endif
#define PAD_PREFIX "{\"pad\":\""
#define PAD_SUFFIX "\"}"
#define PAD_MIN 10u
#define ENDLESS_PREFIX "{\"items\":["
#define ENDLESS_UNIT "{\"n\":1},"
#define BROKEN_JSON "{\"broken\": "
#define MIB (1024u * 1024u)
#define BOMB_MAX_MIB (1024u * 1024u)  /* /bomb inflates to at most 1 TiB */
#define ARRAY_MAX (1ull << 36)         /* /array elements */

struct config {
	unsigned port;
	const char *port_file;
	uint64_t max_seconds;
	uint64_t seed;
	double fail_rate, hang_rate, truncate_rate, invalid_json_rate, oversize_rate;
	uint64_t hang_seconds;
	uint64_t oversize_bytes;
	uint64_t latency_ms, latency_jitter_ms;
	double rate, burst;
	const char *retry_after;
	const char *token;
	const char *log_path;
	int verbose;
};

/* A byte buffer that refuses to grow past max; once it failed it stays failed. */
struct buf {
	char *p;
	size_t len, cap, max;
	int failed;
};

/* Open-addressing counter table keyed by byte strings, at most max keys. */
struct centry {
	char *key;
	size_t len;
	uint64_t hash;
	uint64_t count;
};
struct ctab {
	struct centry *slot;
	size_t nslot, used, max;
};

/* Per-request state, created by the URI log callback, freed when MHD is done. */
struct req {
	const char *raw;   /* raw request target as received, for the log */
	char *path;        /* raw path (before '?'), not decoded */
	const char *query; /* raw query without '?', or "" */
	struct buf body;
	int started, too_big, answered;
	char mem[];
};

/* One request being answered. */
struct call {
	struct MHD_Connection *conn;
	struct req *rq;
	const char *method;
	const char *rest; /* raw path after the route prefix */
	int truncate;     /* injected fault: cut the body short */
	int admin;        /* /_stats and /_reset: not counted, not logged */
};

enum stream_kind { STREAM_PAD, STREAM_CUT, STREAM_DRIP, STREAM_ENDLESS, STREAM_ARRAY, STREAM_GZIP };

/* A streamed response body; see stream_read(). */
struct stream {
	enum stream_kind kind;
	uint64_t total;     /* PAD, ARRAY: body size; GZIP: size of the body once inflated */
	char *data;         /* CUT, DRIP: the bytes (owned); GZIP: the input chunk (owned) */
	size_t len, cut;    /* CUT: send only cut bytes of len */
	uint64_t delay_ms;  /* DRIP: pause before each byte */
	z_stream *z;        /* GZIP: the deflate state (owned), compressing as the client reads */
	uint64_t fed;       /* GZIP: bytes of the inflated body given to deflate so far */
	int z_done;         /* GZIP: deflate wrote the gzip trailer */
};

enum fault { FAULT_NONE, FAULT_FAIL, FAULT_HANG, FAULT_TRUNCATE, FAULT_INVALID, FAULT_OVERSIZE };

static struct config cfg = {
	.max_seconds = 600, .seed = 1, .hang_seconds = 3600,
	.oversize_bytes = 20u * 1024u * 1024u, .burst = -1.0,
};

static struct {
	atomic_int stopping;
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
	pthread_mutex_t rng_mu;
	uint64_t rng;
	pthread_mutex_t log_mu;
	FILE *log;
	pthread_mutex_t stats_mu;
	struct ctab paths;
	uint64_t total;
	uint64_t status[MAX_STATUS];
	struct ctab seen; /* retry-after keys, also under stats_mu */
	pthread_mutex_t bucket_mu;
	double tokens, last;
} g = {
	.stop_mu = PTHREAD_MUTEX_INITIALIZER, .rng_mu = PTHREAD_MUTEX_INITIALIZER,
	.log_mu = PTHREAD_MUTEX_INITIALIZER, .stats_mu = PTHREAD_MUTEX_INITIALIZER,
	.bucket_mu = PTHREAD_MUTEX_INITIALIZER,
	.paths = { .max = STATS_MAX_PATHS }, .seen = { .max = SEEN_MAX_KEYS },
};

/* ---------------------------------------------------------------- buffers */

static void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

static void buf_release(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Appends n bytes, keeping a NUL after them. Returns 0, or -1 (and marks the
 * buffer failed) when it would exceed max or memory runs out. */
static int buf_add(struct buf *b, const void *data, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->failed || n > b->max - b->len) {
		b->failed = 1;
		return -1;
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < need)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int buf_puts(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static int buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->failed = 1;
		return -1;
	}
	return buf_add(b, tmp, (size_t)n);
}

/* Appends s[0..n) JSON-escaped without quotes: '"', '\\' and control bytes
 * are escaped, bytes >= 0x80 pass through. lower folds ASCII to lower case. */
static int buf_escape(struct buf *b, const char *s, size_t n, int lower)
{
	char esc[8];
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		int plain = ch >= 0x20 && ch != '"' && ch != '\\' && !(lower && ch >= 'A' && ch <= 'Z');

		if (plain) {
			run++;
			continue;
		}
		buf_add(b, s + i - run, run);
		run = 0;
		if (lower && ch >= 'A' && ch <= 'Z') {
			esc[0] = (char)(ch - 'A' + 'a');
			buf_add(b, esc, 1);
		} else if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			buf_add(b, esc, 2);
		} else {
			snprintf(esc, sizeof esc, "\\u%04x", ch);
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, s + n - run, run);
	return b->failed ? -1 : 0;
}

/* Appends s[0..n) as a quoted JSON string. */
static int buf_json_str(struct buf *b, const char *s, size_t n)
{
	buf_add(b, "\"", 1);
	buf_escape(b, s, n, 0);
	return buf_add(b, "\"", 1);
}

/* --------------------------------------------------------- parsing helpers */

/* Decodes %XX escapes of in[0..n) into a new NUL-terminated string (caller
 * frees), length in *outlen. Returns NULL on malformed escapes or no memory. */
static char *pct_decode(const char *in, size_t n, size_t *outlen)
{
	char *out = malloc(n + 1), hex[3] = { 0 };
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (in[i] != '%') {
			out[o++] = in[i];
			continue;
		}
		if (i + 2 >= n || !isxdigit((unsigned char)in[i + 1]) ||
		    !isxdigit((unsigned char)in[i + 2])) {
			free(out);
			return NULL;
		}
		hex[0] = in[i + 1];
		hex[1] = in[i + 2];
		out[o++] = (char)strtoul(hex, NULL, 16);
		i += 2;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Parses a decimal integer in [min, max]. Returns 0, or -1 if s is not one. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end = NULL;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parses a finite real in [min, max]. Returns 0, or -1 if s is not one. */
static int parse_double(const char *s, double min, double max, double *out)
{
	char *end = NULL;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* True when s can be a header value: not empty, no control bytes but tab. */
static int header_safe(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* ---------------------------------------------------------- time, random */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sleeps ms milliseconds or until shutdown starts. Returns 1 if shutting down. */
static int sleep_ms(uint64_t ms)
{
	struct timespec dl;
	int stop;

	if (ms > 10ull * 365 * 86400 * 1000)
		ms = 10ull * 365 * 86400 * 1000;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += (time_t)(ms / 1000);
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g.stop_mu);
	while (!atomic_load(&g.stopping))
		if (pthread_cond_timedwait(&g.stop_cv, &g.stop_mu, &dl) == ETIMEDOUT)
			break;
	stop = atomic_load(&g.stopping);
	pthread_mutex_unlock(&g.stop_mu);
	return stop;
}

/* splitmix64 behind a mutex: deterministic for a seed, safe across threads. */
static uint64_t rng_next(void)
{
	uint64_t z;

	pthread_mutex_lock(&g.rng_mu);
	z = (g.rng += 0x9E3779B97F4A7C15ull);
	pthread_mutex_unlock(&g.rng_mu);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double rng_unit(void)
{
	return (double)(rng_next() >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------------ counter tables */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* Returns the slot holding key, or the empty slot where it would go. The
 * table is kept at most half full, so the probe always ends. */
static struct centry *ctab_find(struct ctab *t, const char *key, size_t len, uint64_t h)
{
	size_t mask = t->nslot - 1, i = (size_t)h & mask, n;

	for (n = 0; n < t->nslot; n++, i = (i + 1) & mask) {
		struct centry *e = &t->slot[i];

		if (e->key == NULL || (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0))
			return e;
	}
	return NULL;
}

static int ctab_grow(struct ctab *t)
{
	size_t n = t->nslot ? t->nslot * 2 : 1024, i;
	struct ctab nt = { .nslot = n, .used = t->used, .max = t->max };

	nt.slot = calloc(n, sizeof *nt.slot);
	if (nt.slot == NULL)
		return -1;
	for (i = 0; i < t->nslot; i++)
		if (t->slot[i].key != NULL)
			*ctab_find(&nt, t->slot[i].key, t->slot[i].len, t->slot[i].hash) = t->slot[i];
	free(t->slot);
	*t = nt;
	return 0;
}

/* Adds one to key's count, copying the key in if absent. Returns the new
 * count, or 0 when the key is absent and the table is full or memory is out. */
static uint64_t ctab_bump(struct ctab *t, const char *key, size_t len)
{
	uint64_t h = hash_bytes(key, len);
	struct centry *e = t->nslot ? ctab_find(t, key, len, h) : NULL;

	if (e != NULL && e->key != NULL)
		return ++e->count;
	if (t->used >= t->max)
		return 0;
	if ((t->used + 1) * 2 > t->nslot) {
		if (ctab_grow(t) < 0)
			return 0;
		e = ctab_find(t, key, len, h);
	}
	if (e == NULL || (e->key = malloc(len + 1)) == NULL)
		return 0;
	memcpy(e->key, key, len);
	e->key[len] = '\0';
	e->len = len;
	e->hash = h;
	e->count = 1;
	t->used++;
	return 1;
}

static void ctab_clear(struct ctab *t)
{
	size_t i;

	for (i = 0; i < t->nslot; i++)
		free(t->slot[i].key);
	free(t->slot);
	t->slot = NULL;
	t->nslot = t->used = 0;
}

/* ---------------------------------------------------------- stats, log */

static void stats_count_request(const char *path)
{
	pthread_mutex_lock(&g.stats_mu);
	g.total++;
	ctab_bump(&g.paths, path, strlen(path));
	pthread_mutex_unlock(&g.stats_mu);
}

/* Appends one log line "<unix_ms> <method> <raw target> <status>"; bytes
 * that would break the line format are written as %XX. */
static void log_line(const struct call *c, unsigned status)
{
	struct timespec ts;
	const char *s;

	if (g.log == NULL || c->admin)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&g.log_mu);
	fprintf(g.log, "%" PRIu64 " %s ",
		(uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u, c->method);
	for (s = c->rq->raw; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= 0x20 || ch == 0x7f)
			fprintf(g.log, "%%%02X", ch);
		else
			fputc(ch, g.log);
	}
	fprintf(g.log, " %u\n", status);
	fflush(g.log);
	pthread_mutex_unlock(&g.log_mu);
}

static void note_status(const struct call *c, unsigned status)
{
	log_line(c, status);
	if (c->admin)
		return;
	pthread_mutex_lock(&g.stats_mu);
	if (status < MAX_STATUS)
		g.status[status]++;
	pthread_mutex_unlock(&g.stats_mu);
}

/* Renders the /_stats document into b (bounded by its max). */
static void stats_render(struct buf *b)
{
	size_t i;
	int first = 1;

	pthread_mutex_lock(&g.stats_mu);
	buf_printf(b, "{\"requests\":%" PRIu64 ",\"paths\":{", g.total);
	for (i = 0; i < g.paths.nslot && !b->failed; i++) {
		const struct centry *e = &g.paths.slot[i];

		if (e->key == NULL)
			continue;
		buf_puts(b, first ? "" : ",");
		first = 0;
		buf_json_str(b, e->key, e->len);
		buf_printf(b, ":%" PRIu64, e->count);
	}
	buf_puts(b, "},\"status\":{");
	first = 1;
	for (i = 0; i < MAX_STATUS; i++) {
		if (g.status[i] == 0)
			continue;
		buf_printf(b, "%s\"%zu\":%" PRIu64, first ? "" : ",", i, g.status[i]);
		first = 0;
	}
	buf_puts(b, "}}");
	pthread_mutex_unlock(&g.stats_mu);
}

/* ------------------------------------------------------- streamed bodies */

static int pad_byte(uint64_t total, uint64_t p)
{
	if (p < sizeof PAD_PREFIX - 1)
		return PAD_PREFIX[p];
	if (p >= total - (sizeof PAD_SUFFIX - 1))
		return PAD_SUFFIX[p - (total - (sizeof PAD_SUFFIX - 1))];
	return 'x';
}

/* Byte p of the /array body of total bytes: [0,1,...,9,0,1,...]. */
static char array_byte(uint64_t total, uint64_t p)
{
	if (p == 0)
		return '[';
	if (p == total - 1)
		return ']';
	p--;
	return p % 2 ? ',' : (char)('0' + (p / 2) % 10);
}

/* Fills out[0..n) with bytes pos.. of the PAD document of total bytes
 * (memset for the run of 'x': /bomb inflates to gigabytes of it). */
static void pad_fill(uint64_t total, uint64_t pos, char *out, size_t n)
{
	uint64_t body_end = total - (sizeof PAD_SUFFIX - 1);
	size_t i = 0;

	while (i < n) {
		uint64_t p = pos + i;

		if (p >= sizeof PAD_PREFIX - 1 && p < body_end) {
			size_t run = body_end - p < n - i ? (size_t)(body_end - p) : n - i;

			memset(out + i, 'x', run);
			i += run;
		} else {
			out[i++] = (char)pad_byte(total, p);
		}
	}
}

/* The next piece of a /bomb body: the PAD document of s->total bytes,
 * deflated into gzip as the client reads, so a client that stops early
 * costs only what it read.  Fills out (max bytes) unless the stream ends. */
static ssize_t gzip_read(struct stream *s, char *out, size_t max)
{
	z_stream *z = s->z;
	int rc;

	if (s->z_done)
		return MHD_CONTENT_READER_END_OF_STREAM;
	z->next_out = (Bytef *)out;
	z->avail_out = (uInt)(max < (1u << 30) ? max : (1u << 30));
	while (z->avail_out > 0 && !s->z_done) {
		if (z->avail_in == 0 && s->fed < s->total) {
			size_t n = s->total - s->fed < s->len ? (size_t)(s->total - s->fed) : s->len;

			pad_fill(s->total, s->fed, s->data, n);
			s->fed += n;
			z->next_in = (Bytef *)s->data;
			z->avail_in = (uInt)n;
		}
		rc = deflate(z, s->fed == s->total ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			s->z_done = 1;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	return (ssize_t)((Bytef *)z->next_out - (Bytef *)out);
}

/* MHD content reader: produces the body of s from offset pos. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *s = cls;
	size_t i, n;

	if (atomic_load(&g.stopping))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	switch (s->kind) {
	case STREAM_PAD:
		n = pos >= s->total ? 0 : (s->total - pos < max ? (size_t)(s->total - pos) : max);
		for (i = 0; i < n; i++)
			out[i] = (char)pad_byte(s->total, pos + i);
		return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
	case STREAM_CUT:
		if (pos >= s->cut)
			return MHD_CONTENT_READER_END_WITH_ERROR; /* MHD closes the connection */
		n = s->cut - pos < max ? s->cut - (size_t)pos : max;
		memcpy(out, s->data + pos, n);
		return (ssize_t)n;
	case STREAM_DRIP:
		if (pos >= s->len || max == 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (sleep_ms(s->delay_ms))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		out[0] = s->data[pos];
		return 1;
	case STREAM_ENDLESS:
		for (i = 0; i < max; i++) {
			uint64_t p = pos + i, pl = sizeof ENDLESS_PREFIX - 1;

			out[i] = p < pl ? ENDLESS_PREFIX[p] : ENDLESS_UNIT[(p - pl) % (sizeof ENDLESS_UNIT - 1)];
		}
		return (ssize_t)max;
	case STREAM_ARRAY:
		n = pos >= s->total ? 0 : (s->total - pos < max ? (size_t)(s->total - pos) : max);
		for (i = 0; i < n; i++)
			out[i] = array_byte(s->total, pos + i);
		return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
	case STREAM_GZIP:
		return gzip_read(s, out, max);
	}
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	if (s != NULL) {
		free(s->data);
		if (s->z != NULL)
			deflateEnd(s->z);
		free(s->z);
	}
	free(s);
}

/* ------------------------------------------------------------ responding */

/* Queues r with status, logs and counts it, destroys r. A NULL r (out of
 * memory) closes the connection. Returns MHD's verdict. */
static enum MHD_Result respond(struct call *c, unsigned status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(c->conn, status, r);
	MHD_destroy_response(r);
	if (ret == MHD_YES)
		note_status(c, status);
	return ret;
}

/* Adds Content-Type (if ctype) and one optional extra header; on failure
 * destroys r and returns NULL. */
static struct MHD_Response *with_headers(struct MHD_Response *r, const char *ctype,
					 const char *name, const char *value)
{
	if (r == NULL)
		return NULL;
	if ((ctype != NULL && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES) ||
	    (name != NULL && MHD_add_response_header(r, name, value) != MHD_YES)) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

/* Sends a streamed body with one optional extra header; takes ownership of
 * s. size is MHD_SIZE_UNKNOWN for a chunked body. */
static enum MHD_Result send_stream_h(struct call *c, unsigned status, struct stream *s,
				     uint64_t size, const char *name, const char *value)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_callback(size, 16384, stream_read, s, stream_free);
	if (r == NULL) {
		stream_free(s);
		return MHD_NO;
	}
	return respond(c, status, with_headers(r, "application/json", name, value));
}

static enum MHD_Result send_stream(struct call *c, unsigned status, struct stream *s,
				   uint64_t size)
{
	return send_stream_h(c, status, s, size, NULL, NULL);
}

static enum MHD_Result send_error(struct call *c, unsigned status, const char *msg);
static enum MHD_Result send_const(struct call *c, unsigned status, const char *body,
				  const char *ctype);

/* Sends b (takes ownership) as a JSON body with one optional extra header.
 * Honours the truncate fault: declares the full length, sends half, closes. */
static enum MHD_Result send_json_h(struct call *c, unsigned status, struct buf *b,
				   const char *name, const char *value)
{
	struct MHD_Response *r;
	struct stream *s;

	if (b->failed || b->p == NULL) {
		buf_release(b);
		return send_error(c, 500, "response too large");
	}
	if (c->truncate) {
		if ((s = calloc(1, sizeof *s)) == NULL) {
			buf_release(b);
			return MHD_NO;
		}
		s->kind = STREAM_CUT;
		s->data = b->p;
		s->len = b->len;
		s->cut = b->len / 2;
		r = MHD_create_response_from_callback(b->len, 16384, stream_read, s, stream_free);
		if (r == NULL)
			stream_free(s);
	} else {
		r = MHD_create_response_from_buffer(b->len, b->p, MHD_RESPMEM_MUST_FREE);
		if (r == NULL)
			free(b->p);
	}
	b->p = NULL; /* now owned by r (or freed) */
	buf_release(b);
	r = with_headers(r, "application/json", name, value);
	if (r == NULL && name != NULL) /* MHD refused the header value */
		return send_const(c, 500, "{\"error\":\"invalid header value\"}", "application/json");
	return respond(c, status, r);
}

static enum MHD_Result send_json(struct call *c, unsigned status, struct buf *b)
{
	return send_json_h(c, status, b, NULL, NULL);
}

static enum MHD_Result send_error_h(struct call *c, unsigned status, const char *msg,
				    const char *name, const char *value)
{
	struct buf b;

	buf_init(&b, OUT_CAP);
	buf_puts(&b, "{\"error\":");
	buf_json_str(&b, msg, strlen(msg));
	buf_puts(&b, "}");
	return send_json_h(c, status, &b, name, value);
}

static enum MHD_Result send_error(struct call *c, unsigned status, const char *msg)
{
	return send_error_h(c, status, msg, NULL, NULL);
}

/* Sends a constant body with the given content type. */
static enum MHD_Result send_const(struct call *c, unsigned status, const char *body,
				  const char *ctype)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	return respond(c, status, with_headers(r, ctype, NULL, NULL));
}

/* Sends a valid JSON object padded to exactly size bytes, streamed. */
static enum MHD_Result send_pad(struct call *c, uint64_t size)
{
	struct stream *s = calloc(1, sizeof *s);

	if (s == NULL)
		return MHD_NO;
	s->kind = STREAM_PAD;
	s->total = size;
	return send_stream(c, 200, s, size);
}

static enum MHD_Result send_429(struct call *c, const char *value)
{
	struct buf b;

	buf_init(&b, OUT_CAP);
	buf_puts(&b, "{\"error\":\"rate limited\",\"retry_after\":");
	buf_json_str(&b, value, strlen(value));
	buf_puts(&b, "}");
	return send_json_h(c, 429, &b, MHD_HTTP_HEADER_RETRY_AFTER, value);
}

/* -------------------------------------------------------- shared payloads */

/* Appends the /items document for a decoded id. */
static void items_json(struct buf *b, const char *id, size_t n)
{
	uint64_t num = (uint64_t)n * 7;

	buf_puts(b, "{\"id\":");
	buf_json_str(b, id, n);
	buf_puts(b, ",\"title\":\"Item ");
	buf_escape(b, id, n, 0);
	buf_printf(b, "\",\"n\":%" PRIu64 ",\"price\":%.2f,", num, (double)num / 4.0);
	buf_puts(b, "\"tags\":[\"a\",\"b\"],\"nested\":{\"a\":{\"b\":[1,2,3]}},"
		    "\"active\":true,\"none\":null}");
}

/* Answers 200 with the /items document for the raw (undecoded) id, 400 when
 * its %-encoding is malformed. */
static enum MHD_Result send_item(struct call *c, const char *raw)
{
	struct buf b;
	size_t n;
	char *id = pct_decode(raw, strlen(raw), &n);

	if (id == NULL)
		return send_error(c, 400, "malformed percent-encoding");
	buf_init(&b, OUT_CAP);
	items_json(&b, id, n);
	free(id);
	return send_json(c, 200, &b);
}

static uint32_t crc32_bytes(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFFu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void put_le(struct buf *b, uint32_t v, int bytes)
{
	unsigned char x[4];
	int i;

	for (i = 0; i < bytes; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, x, (size_t)bytes);
}

/* Appends a gzip member holding data[0..n) in stored (uncompressed) deflate
 * blocks: valid gzip without linking zlib. */
static void gzip_stored(struct buf *out, const char *data, size_t n)
{
	static const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
	size_t off = 0;

	buf_add(out, hdr, sizeof hdr);
	do {
		size_t len = n - off > 65535 ? 65535 : n - off;
		unsigned char final = off + len == n;

		buf_add(out, &final, 1);
		put_le(out, (uint32_t)len, 2);
		put_le(out, (uint32_t)(~len & 0xFFFFu), 2);
		buf_add(out, data + off, len);
		off += len;
	} while (off < n);
	put_le(out, crc32_bytes((const unsigned char *)data, n), 4);
	put_le(out, (uint32_t)n, 4);
}

/* ------------------------------------------------------------ endpoints */

static const char *arg(struct call *c, const char *name)
{
	return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int is_method(const struct call *c, const char *list)
{
	const char *m[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE" };
	size_t i;

	for (i = 0; i < sizeof m / sizeof m[0]; i++)
		if (strcmp(c->method, m[i]) == 0 && strstr(list, m[i]) != NULL)
			return 1;
	return 0;
}

static enum MHD_Result route_items(struct call *c)
{
	if (!is_method(c, "GET HEAD POST PUT PATCH"))
		return send_error_h(c, 405, "method not allowed", "Allow", "GET, HEAD, POST, PUT, PATCH");
	if (*c->rest == '\0')
		return send_error(c, 404, "not found");
	return send_item(c, c->rest);
}

static enum MHD_Result route_books(struct call *c)
{
	struct buf b;
	size_t n, i;
	uint64_t pages = 0;
	char yy[3] = "00", *isbn;

	if (!is_method(c, "GET HEAD"))
		return send_error_h(c, 405, "method not allowed", "Allow", "GET, HEAD");
	if ((isbn = pct_decode(c->rest, strlen(c->rest), &n)) == NULL)
		return send_error(c, 400, "malformed percent-encoding");
	if (n == 0 || strncmp(isbn, "0000", 4) == 0) {
		free(isbn);
		return send_error(c, 404, "not found");
	}
	if (n >= 2 && isdigit((unsigned char)isbn[n - 2]) && isdigit((unsigned char)isbn[n - 1]))
		memcpy(yy, isbn + n - 2, 2);
	for (i = 0; i < n; i++)
		pages += (unsigned char)isbn[i];
	buf_init(&b, OUT_CAP);
	buf_puts(&b, "{\"totalItems\":1,\"items\":[{\"volumeInfo\":{\"title\":\"Book ");
	buf_escape(&b, isbn, n, 0);
	buf_printf(&b, "\",\"publishedDate\":\"20%s-01-01\",\"pageCount\":%" PRIu64 ",",
		   yy, 100 + pages % 900);
	buf_puts(&b, "\"authors\":[\"Author ");
	buf_escape(&b, isbn, n, 0);
	buf_puts(&b, "\"]}}]}");
	free(isbn);
	return send_json(c, 200, &b);
}

static enum MHD_Result route_search(struct call *c)
{
	const char *auth;
	struct buf b;

	if (!is_method(c, "POST"))
		return send_error_h(c, 405, "method not allowed", "Allow", "POST");
	auth = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0' ||
	    (cfg.token != NULL && strcmp(auth + 7, cfg.token) != 0))
		return send_error_h(c, 401, "unauthorized", MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	buf_init(&b, OUT_CAP);
	buf_puts(&b, "{\"query\":");
	buf_json_str(&b, c->rq->body.p ? c->rq->body.p : "", c->rq->body.len);
	buf_puts(&b, ",\"results\":[{\"id\":1,\"name\":\"r1\"},{\"id\":2,\"name\":\"r2\"}]}");
	return send_json(c, 200, &b);
}

struct hdr_list {
	const char *k[ECHO_MAX_HEADERS], *v[ECHO_MAX_HEADERS];
	unsigned n;
};

static enum MHD_Result hdr_collect(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct hdr_list *h = cls;

	(void)kind;
	if (h->n < ECHO_MAX_HEADERS) {
		h->k[h->n] = key;
		h->v[h->n] = value ? value : "";
		h->n++;
	}
	return MHD_YES;
}

/* Appends the request headers as a JSON object: names lower-cased, repeated
 * headers joined with ", ". */
static void echo_headers(struct call *c, struct buf *b)
{
	struct hdr_list *h = calloc(1, sizeof *h);
	unsigned i, j;
	int first = 1;

	if (h == NULL) {
		b->failed = 1;
		return;
	}
	MHD_get_connection_values(c->conn, MHD_HEADER_KIND, hdr_collect, h);
	buf_puts(b, "{");
	for (i = 0; i < h->n; i++) {
		for (j = 0; j < i && strcasecmp(h->k[j], h->k[i]) != 0; j++)
			;
		if (j < i)
			continue; /* already emitted with the first occurrence */
		buf_puts(b, first ? "\"" : ",\"");
		first = 0;
		buf_escape(b, h->k[i], strlen(h->k[i]), 1);
		buf_puts(b, "\":\"");
		buf_escape(b, h->v[i], strlen(h->v[i]), 0);
		for (j = i + 1; j < h->n; j++) {
			if (strcasecmp(h->k[j], h->k[i]) != 0)
				continue;
			buf_puts(b, ", ");
			buf_escape(b, h->v[j], strlen(h->v[j]), 0);
		}
		buf_puts(b, "\"");
	}
	buf_puts(b, "}");
	free(h);
}

static enum MHD_Result route_echo(struct call *c)
{
	struct buf b;

	buf_init(&b, OUT_CAP);
	buf_puts(&b, "{\"method\":");
	buf_json_str(&b, c->method, strlen(c->method));
	buf_puts(&b, ",\"path\":");
	buf_json_str(&b, c->rq->path, strlen(c->rq->path));
	buf_puts(&b, ",\"query\":");
	buf_json_str(&b, c->rq->query, strlen(c->rq->query));
	buf_puts(&b, ",\"headers\":");
	echo_headers(c, &b);
	buf_puts(&b, ",\"body\":");
	buf_json_str(&b, c->rq->body.p ? c->rq->body.p : "", c->rq->body.len);
	buf_puts(&b, "}");
	return send_json(c, 200, &b);
}

static enum MHD_Result route_hang(struct call *c)
{
	log_line(c, 0);
	sleep_ms(UINT64_MAX); /* until shutdown; --max-seconds bounds it */
	return MHD_NO;
}

static enum MHD_Result route_slow(struct call *c)
{
	struct stream *s;
	struct buf b;
	uint64_t delay = 1000;
	const char *d = arg(c, "delay_ms");

	if (d != NULL && parse_u64(d, 0, 60000, &delay) < 0)
		return send_error(c, 400, "bad delay_ms");
	buf_init(&b, OUT_CAP);
	buf_puts(&b, "{\"id\":");
	buf_json_str(&b, c->rest, strlen(c->rest));
	buf_puts(&b, "}");
	if (b.failed || (s = calloc(1, sizeof *s)) == NULL) {
		buf_release(&b);
		return MHD_NO;
	}
	s->kind = STREAM_DRIP;
	s->data = b.p;
	s->len = b.len;
	s->delay_ms = delay;
	return send_stream(c, 200, s, s->len);
}

static enum MHD_Result route_trunc(struct call *c)
{
	struct stream *s = calloc(1, sizeof *s);

	if (s == NULL || (s->data = strdup(PAD_PREFIX "xx")) == NULL) {
		stream_free(s);
		return MHD_NO;
	}
	s->kind = STREAM_CUT;
	s->len = s->cut = 10;
	return send_stream(c, 200, s, 1000);
}

static enum MHD_Result route_big(struct call *c)
{
	uint64_t n;

	if (parse_u64(arg(c, "bytes"), PAD_MIN, 1ull << 40, &n) < 0)
		return send_error(c, 400, "bytes must be an integer from 10 to 2^40");
	return send_pad(c, n);
}

static enum MHD_Result route_endless(struct call *c)
{
	struct stream *s = calloc(1, sizeof *s);

	if (s == NULL)
		return MHD_NO;
	s->kind = STREAM_ENDLESS;
	return send_stream(c, 200, s, MHD_SIZE_UNKNOWN);
}

static enum MHD_Result route_badjson(struct call *c)
{
	return send_const(c, 200, BROKEN_JSON, "application/json");
}

static enum MHD_Result route_html(struct call *c)
{
	return send_const(c, 200, "<html>hi</html>", "text/html");
}

static enum MHD_Result route_status(struct call *c)
{
	char num[8] = { 0 };
	const char *loc = arg(c, "location");
	size_t n = strcspn(c->rest, "/");
	uint64_t code;
	struct buf b;

	if (n < sizeof num)
		memcpy(num, c->rest, n);
	if (n >= sizeof num || parse_u64(num, 200, 599, &code) < 0)
		return send_error(c, 400, "status code must be 200 to 599");
	if (loc != NULL && (code < 300 || code > 399 || !header_safe(loc)))
		loc = NULL;
	if (code == 204 || code == 304) {
		struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);

		return respond(c, (unsigned)code, with_headers(r, NULL, loc ? "Location" : NULL, loc));
	}
	buf_init(&b, OUT_CAP);
	buf_printf(&b, "{\"status\":%" PRIu64 "}", code);
	return send_json_h(c, (unsigned)code, &b, loc ? "Location" : NULL, loc);
}

/* Sends a 302 with Location: loc and a small JSON body. */
static enum MHD_Result send_redirect(struct call *c, unsigned code, const char *loc)
{
	struct buf b;

	buf_init(&b, OUT_CAP);
	buf_printf(&b, "{\"status\":%u,\"location\":", code);
	buf_json_str(&b, loc, strlen(loc));
	buf_puts(&b, "}");
	return send_json_h(c, code, &b, "Location", loc);
}

static enum MHD_Result route_redirect(struct call *c)
{
	char num[8] = { 0 };
	size_t n = strcspn(c->rest, "/");
	uint64_t hops;
	struct buf loc;
	enum MHD_Result ret;

	if (n < sizeof num)
		memcpy(num, c->rest, n);
	if (n >= sizeof num || parse_u64(num, 0, 100000, &hops) < 0)
		return send_error(c, 400, "hop count must be 0 to 100000");
	if (hops == 0)
		return send_item(c, c->rest[n] == '/' ? c->rest + n + 1 : "");
	buf_init(&loc, OUT_CAP);
	buf_printf(&loc, "/redirect/%" PRIu64 "/", hops - 1);
	buf_puts(&loc, c->rest[n] == '/' ? c->rest + n + 1 : "");
	ret = loc.failed ? MHD_NO : send_redirect(c, 302, loc.p);
	buf_release(&loc);
	return ret;
}

static enum MHD_Result route_loop(struct call *c)
{
	struct buf loc;
	enum MHD_Result ret;

	buf_init(&loc, OUT_CAP);
	buf_puts(&loc, c->rq->path);
	if (*c->rq->query) {
		buf_puts(&loc, "?");
		buf_puts(&loc, c->rq->query);
	}
	ret = loc.failed ? MHD_NO : send_redirect(c, 302, loc.p);
	buf_release(&loc);
	return ret;
}

static enum MHD_Result route_redirect_to(struct call *c)
{
	const char *url = arg(c, "url"), *cs = arg(c, "code");
	uint64_t code = 302;

	if (url == NULL || *url == '\0' || !header_safe(url))
		return send_error(c, 400, "url is required and must not contain control bytes");
	if (cs != NULL && parse_u64(cs, 300, 399, &code) < 0)
		return send_error(c, 400, "code must be 300 to 399");
	return send_redirect(c, (unsigned)code, url);
}

static enum MHD_Result route_gzip(struct call *c)
{
	struct buf plain, gz;
	size_t n;
	char *id = pct_decode(c->rest, strlen(c->rest), &n);

	if (id == NULL)
		return send_error(c, 400, "malformed percent-encoding");
	buf_init(&plain, OUT_CAP);
	buf_init(&gz, OUT_CAP);
	items_json(&plain, id, n);
	free(id);
	if (!plain.failed)
		gzip_stored(&gz, plain.p, plain.len);
	else
		gz.failed = 1;
	buf_release(&plain);
	return send_json_h(c, 200, &gz, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
}

static enum MHD_Result route_bomb(struct call *c)
{
	const char *m = arg(c, "mib");
	uint64_t mib = 1024;
	struct stream *s = NULL;

	if (m != NULL && parse_u64(m, 1, BOMB_MAX_MIB, &mib) < 0)
		return send_error(c, 400, "mib must be an integer from 1 to 1048576");
	if ((s = calloc(1, sizeof *s)) == NULL || (s->z = calloc(1, sizeof *s->z)) == NULL ||
	    (s->data = malloc(MIB)) == NULL) {
		stream_free(s);
		return MHD_NO;
	}
	/* windowBits 15 + 16: a gzip wrapper; memLevel 8, as zlib's default */
	if (deflateInit2(s->z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(s->z);
		s->z = NULL;
		stream_free(s);
		return MHD_NO;
	}
	s->kind = STREAM_GZIP;
	s->total = mib * MIB;
	s->len = MIB;
	return send_stream_h(c, 200, s, MHD_SIZE_UNKNOWN, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
}

static enum MHD_Result route_array(struct call *c)
{
	struct stream *s;
	uint64_t n;

	if (parse_u64(arg(c, "n"), 0, ARRAY_MAX, &n) < 0)
		return send_error(c, 400, "n must be an integer from 0 to 2^36");
	if ((s = calloc(1, sizeof *s)) == NULL)
		return MHD_NO;
	s->kind = STREAM_ARRAY;
	s->total = n == 0 ? 2 : 2 * n + 1;
	return send_stream(c, 200, s, s->total);
}

/* The strings /unicode/<kind>/ puts in "s": bytes as sent, between the quotes. */
static const struct {
	const char *kind, *s;
} unicode_kinds[] = {
	/* a lone 0xff, a cut 2-byte sequence, an overlong '/', an encoded surrogate */
	{ "raw", "a\xff b\xc3( \xc0\xaf \xed\xa0\x80 z" },
	{ "high", "a\\ud800b" },
	{ "low", "a\\udc00b" },
	{ "pair", "a\\ud83d\\ude00b" },
	{ "swapped", "a\\ude00\\ud83db" },
	{ "nul", "a\\u0000b" },
};

static enum MHD_Result route_unicode(struct call *c)
{
	const char *slash = strchr(c->rest, '/');
	size_t klen = slash != NULL ? (size_t)(slash - c->rest) : strlen(c->rest), i;
	const char *id = slash != NULL ? slash + 1 : "";
	struct buf b;

	for (i = 0; i < sizeof unicode_kinds / sizeof unicode_kinds[0]; i++)
		if (strlen(unicode_kinds[i].kind) == klen && !strncmp(c->rest, unicode_kinds[i].kind, klen))
			break;
	if (i == sizeof unicode_kinds / sizeof unicode_kinds[0])
		return send_error(c, 404, "unknown kind: raw, high, low, pair, swapped or nul");
	buf_init(&b, OUT_CAP);
	buf_puts(&b, "{\"id\":");
	buf_json_str(&b, id, strlen(id));
	buf_printf(&b, ",\"kind\":\"%s\",\"s\":\"%s\",\"t\":\"ok\"}", unicode_kinds[i].kind,
		   unicode_kinds[i].s);
	return send_json(c, 200, &b);
}

static enum MHD_Result route_retry_after(struct call *c)
{
	const char *value = arg(c, "value");
	uint64_t seen;

	if (value == NULL)
		value = "1";
	if (!header_safe(value))
		return send_error(c, 400, "value must be non-empty without control bytes");
	pthread_mutex_lock(&g.stats_mu);
	seen = ctab_bump(&g.seen, c->rest, strlen(c->rest));
	pthread_mutex_unlock(&g.stats_mu);
	if (seen == 1)
		return send_429(c, value);
	return send_item(c, c->rest);
}

static enum MHD_Result route_stats(struct call *c)
{
	struct buf b;

	if (!is_method(c, "GET HEAD"))
		return send_error_h(c, 405, "method not allowed", "Allow", "GET, HEAD");
	buf_init(&b, STATS_OUT_CAP);
	stats_render(&b);
	return send_json(c, 200, &b);
}

static enum MHD_Result route_reset(struct call *c)
{
	if (!is_method(c, "POST"))
		return send_error_h(c, 405, "method not allowed", "Allow", "POST");
	pthread_mutex_lock(&g.stats_mu);
	ctab_clear(&g.paths);
	ctab_clear(&g.seen);
	g.total = 0;
	memset(g.status, 0, sizeof g.status);
	pthread_mutex_unlock(&g.stats_mu);
	return send_const(c, 200, "{\"reset\":true}", "application/json");
}

/* --------------------------------------------------------------- dispatch */

#define R_EXACT 1  /* the path must equal the prefix */
#define R_FAULTS 2 /* subject to the rate limit and random faults */
#define R_ADMIN 4  /* not counted, not logged, no latency */

static const struct route {
	const char *prefix;
	int flags;
	enum MHD_Result (*fn)(struct call *c);
} routes[] = {
	{ "/items/", R_FAULTS, route_items },
	{ "/books/", R_FAULTS, route_books },
	{ "/search", R_FAULTS | R_EXACT, route_search },
	{ "/echo/", 0, route_echo },
	{ "/hang/", 0, route_hang },
	{ "/slow/", 0, route_slow },
	{ "/trunc/", 0, route_trunc },
	{ "/big/", 0, route_big },
	{ "/endless/", 0, route_endless },
	{ "/badjson/", 0, route_badjson },
	{ "/html/", 0, route_html },
	{ "/status/", 0, route_status },
	{ "/redirect/", 0, route_redirect },
	{ "/loop/", 0, route_loop },
	{ "/redirect-to", R_EXACT, route_redirect_to },
	{ "/gzip/", 0, route_gzip },
	{ "/bomb/", 0, route_bomb },
	{ "/array/", 0, route_array },
	{ "/unicode/", 0, route_unicode },
	{ "/retry-after/", 0, route_retry_after },
	{ "/_stats", R_EXACT | R_ADMIN, route_stats },
	{ "/_reset", R_EXACT | R_ADMIN, route_reset },
};

static const struct route *route_find(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct route *r = &routes[i];
		size_t n = strlen(r->prefix);

		if (strncmp(path, r->prefix, n) == 0 && (!(r->flags & R_EXACT) || path[n] == '\0'))
			return r;
	}
	return NULL;
}

/* Token bucket shared by all clients. Returns 1 if a token was taken, else 0
 * with *wait_s set to the seconds until one is available. */
static int bucket_take(double *wait_s)
{
	double now = (double)mono_ms() / 1000.0;
	int ok;

	pthread_mutex_lock(&g.bucket_mu);
	g.tokens = fmin(cfg.burst, g.tokens + (now - g.last) * cfg.rate);
	g.last = now;
	ok = g.tokens >= 1.0;
	if (ok)
		g.tokens -= 1.0;
	else
		*wait_s = (1.0 - g.tokens) / cfg.rate;
	pthread_mutex_unlock(&g.bucket_mu);
	return ok;
}

static enum fault pick_fault(void)
{
	const double rates[] = { cfg.fail_rate, cfg.hang_rate, cfg.truncate_rate,
				 cfg.invalid_json_rate, cfg.oversize_rate };
	const enum fault kinds[] = { FAULT_FAIL, FAULT_HANG, FAULT_TRUNCATE, FAULT_INVALID,
				     FAULT_OVERSIZE };
	double r, acc = 0;
	size_t i;

	if (rates[0] + rates[1] + rates[2] + rates[3] + rates[4] <= 0)
		return FAULT_NONE;
	r = rng_unit();
	for (i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		acc += rates[i];
		if (r < acc)
			return kinds[i];
	}
	return FAULT_NONE;
}

/* Rate limit and random faults for R_FAULTS routes. Returns 1 when the
 * request was answered (or dropped) here with *ret set, 0 to go on. */
static int gatekeep(struct call *c, int limited, double wait_s, enum MHD_Result *ret)
{
	char num[32];

	if (limited) {
		snprintf(num, sizeof num, "%.0f", fmax(1.0, ceil(wait_s)));
		*ret = send_429(c, cfg.retry_after ? cfg.retry_after : num);
		return 1;
	}
	switch (pick_fault()) {
	case FAULT_FAIL:
		*ret = send_error(c, 503, "injected failure");
		return 1;
	case FAULT_HANG:
		log_line(c, 0);
		*ret = MHD_NO;
		return sleep_ms(cfg.hang_seconds * 1000u); /* then answer normally */
	case FAULT_TRUNCATE:
		c->truncate = 1;
		return 0;
	case FAULT_INVALID:
		*ret = send_const(c, 200, BROKEN_JSON, "application/json");
		return 1;
	case FAULT_OVERSIZE:
		*ret = send_pad(c, cfg.oversize_bytes);
		return 1;
	case FAULT_NONE:
		break;
	}
	return 0;
}

/* Answers a fully received request. */
static enum MHD_Result dispatch(struct MHD_Connection *conn, struct req *rq, const char *method)
{
	struct call c = { .conn = conn, .rq = rq, .method = method };
	const struct route *r = route_find(rq->path);
	enum MHD_Result ret = MHD_NO;
	int limited = 0;
	double wait_s = 0;

	rq->answered = 1;
	c.admin = r != NULL && (r->flags & R_ADMIN);
	if (!c.admin)
		stats_count_request(rq->path);
	if (r != NULL && (r->flags & R_FAULTS) && cfg.rate > 0)
		limited = !bucket_take(&wait_s);
	if (!c.admin && cfg.latency_ms + cfg.latency_jitter_ms > 0 &&
	    sleep_ms(cfg.latency_ms + (cfg.latency_jitter_ms ? rng_next() % (cfg.latency_jitter_ms + 1) : 0)))
		return MHD_NO;
	if (rq->too_big)
		return send_error(&c, 413, "request body larger than 1 MiB");
	if (r == NULL)
		return send_error(&c, 404, "not found");
	c.rest = rq->path + strlen(r->prefix);
	if ((r->flags & R_FAULTS) && gatekeep(&c, limited, wait_s, &ret))
		return ret;
	return r->fn(&c);
}

/* MHD access handler: collects the body (capped), then dispatches. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **ctx)
{
	struct req *rq = *ctx;
	const char *cl;
	uint64_t len;

	(void)cls, (void)url, (void)version;
	if (rq == NULL)
		return MHD_NO; /* the URI log callback ran out of memory */
	if (rq->answered) {
		*upload_size = 0; /* answered early (413): drop the rest */
		return MHD_YES;
	}
	if (!rq->started) {
		rq->started = 1;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && parse_u64(cl, 0, UINT64_MAX, &len) == 0 && len > BODY_CAP) {
			rq->too_big = 1;
			return dispatch(conn, rq, method); /* answer before reading the body */
		}
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (!rq->too_big && buf_add(&rq->body, upload, *upload_size) < 0) {
			rq->too_big = 1;
			buf_release(&rq->body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(conn, rq, method);
}

/* MHD URI log callback: sees the raw request target before MHD decodes it
 * and returns the per-request context (freed by on_completed). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	size_t n = strlen(uri);
	struct req *rq = calloc(1, sizeof *rq + 2 * n + 2);
	char *q;

	(void)cls, (void)conn;
	if (rq == NULL)
		return NULL;
	memcpy(rq->mem, uri, n);
	rq->raw = rq->mem;
	rq->path = rq->mem + n + 1;
	memcpy(rq->path, uri, n);
	rq->query = "";
	if ((q = strchr(rq->path, '?')) != NULL) {
		*q = '\0';
		rq->query = q + 1;
	}
	buf_init(&rq->body, BODY_CAP);
	return rq;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *ctx;

	(void)cls, (void)conn, (void)toe;
	if (rq != NULL)
		buf_release(&rq->body);
	free(rq);
	*ctx = NULL;
}

/* ------------------------------------------------------- command line */

enum {
	OPT_PORT = 256, OPT_PORT_FILE, OPT_MAX_SECONDS, OPT_SEED, OPT_FAIL, OPT_HANG,
	OPT_HANG_SECONDS, OPT_TRUNCATE, OPT_INVALID, OPT_OVERSIZE, OPT_OVERSIZE_BYTES,
	OPT_LATENCY, OPT_JITTER, OPT_RATE, OPT_BURST, OPT_RETRY_AFTER, OPT_TOKEN, OPT_LOG,
	OPT_VERBOSE, OPT_HELP = 'h',
};

static const struct opt_doc {
	struct option o;
	const char *arg, *help;
} opt_docs[] = {
	{ { "port", required_argument, NULL, OPT_PORT }, "N", "port on 127.0.0.1 (0-65535; default 0 = any free port)" },
	{ { "port-file", required_argument, NULL, OPT_PORT_FILE }, "FILE", "write the bound port and a newline to FILE (atomic rename)" },
	{ { "max-seconds", required_argument, NULL, OPT_MAX_SECONDS }, "N", "exit after N seconds (1-604800; default 600)" },
	{ { "seed", required_argument, NULL, OPT_SEED }, "N", "PRNG seed for faults and jitter (default 1)" },
	{ { "fail-rate", required_argument, NULL, OPT_FAIL }, "F", "fraction of requests answered 503 (0-1)" },
	{ { "hang-rate", required_argument, NULL, OPT_HANG }, "F", "fraction held --hang-seconds before being answered (0-1)" },
	{ { "hang-seconds", required_argument, NULL, OPT_HANG_SECONDS }, "N", "how long a hang lasts (0-604800; default 3600)" },
	{ { "truncate-rate", required_argument, NULL, OPT_TRUNCATE }, "F", "fraction whose body stops short of Content-Length (0-1)" },
	{ { "invalid-json-rate", required_argument, NULL, OPT_INVALID }, "F", "fraction answered 200 '{\"broken\": ' (0-1)" },
	{ { "oversize-rate", required_argument, NULL, OPT_OVERSIZE }, "F", "fraction answered with --oversize-bytes of JSON (0-1)" },
	{ { "oversize-bytes", required_argument, NULL, OPT_OVERSIZE_BYTES }, "N", "size of oversized bodies (10-2^40; default 20 MiB)" },
	{ { "latency-ms", required_argument, NULL, OPT_LATENCY }, "N", "delay before answering each request (0-600000)" },
	{ { "latency-jitter-ms", required_argument, NULL, OPT_JITTER }, "N", "add a uniform random 0..N ms to the delay (0-600000)" },
	{ { "rate", required_argument, NULL, OPT_RATE }, "R", "requests/s allowed, beyond that 429 (0 = off; up to 1e6)" },
	{ { "burst", required_argument, NULL, OPT_BURST }, "B", "token bucket capacity (1-1e6; default max(1, R/10))" },
	{ { "retry-after", required_argument, NULL, OPT_RETRY_AFTER }, "V", "Retry-After value sent verbatim with each 429" },
	{ { "token", required_argument, NULL, OPT_TOKEN }, "T", "bearer token /search requires (default: any token)" },
	{ { "log", required_argument, NULL, OPT_LOG }, "FILE", "append '<unix_ms> <method> <target> <status>' per request" },
	{ { "verbose", no_argument, NULL, OPT_VERBOSE }, NULL, "let libmicrohttpd report its errors on stderr" },
	{ { "help", no_argument, NULL, OPT_HELP }, NULL, "show this help and exit" },
};
#define N_OPTS (sizeof opt_docs / sizeof opt_docs[0])

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mockapi [options]\n"
		   "local mock JSON API with fault injection (127.0.0.1 only)\n\n");
	for (i = 0; i < N_OPTS; i++) {
		char left[40];

		snprintf(left, sizeof left, "--%s%s%s", opt_docs[i].o.name,
			 opt_docs[i].arg ? " " : "", opt_docs[i].arg ? opt_docs[i].arg : "");
		fprintf(f, "  %-24s %s\n", left, opt_docs[i].help);
	}
}

static int bad_value(const char *opt, const char *value, const char *want)
{
	fprintf(stderr, "mockapi: invalid value '%s' for --%s (expected %s)\n",
		header_safe(value) || *value == '\0' ? value : "?", opt, want);
	return -1;
}

/* Applies one option. Returns 0, 1 for --help, or -1 after reporting. */
static int apply_opt(int id, const char *name, const char *v)
{
	uint64_t u;

	switch (id) {
	case OPT_PORT:
		if (parse_u64(v, 0, 65535, &u) < 0)
			return bad_value(name, v, "0 to 65535");
		cfg.port = (unsigned)u;
		return 0;
	case OPT_PORT_FILE: cfg.port_file = v; return 0;
	case OPT_MAX_SECONDS:
		return parse_u64(v, 1, 604800, &cfg.max_seconds) < 0 ? bad_value(name, v, "1 to 604800") : 0;
	case OPT_SEED:
		return parse_u64(v, 0, UINT64_MAX, &cfg.seed) < 0 ? bad_value(name, v, "an unsigned integer") : 0;
	case OPT_FAIL: return parse_double(v, 0, 1, &cfg.fail_rate) < 0 ? bad_value(name, v, "0 to 1") : 0;
	case OPT_HANG: return parse_double(v, 0, 1, &cfg.hang_rate) < 0 ? bad_value(name, v, "0 to 1") : 0;
	case OPT_TRUNCATE: return parse_double(v, 0, 1, &cfg.truncate_rate) < 0 ? bad_value(name, v, "0 to 1") : 0;
	case OPT_INVALID: return parse_double(v, 0, 1, &cfg.invalid_json_rate) < 0 ? bad_value(name, v, "0 to 1") : 0;
	case OPT_OVERSIZE: return parse_double(v, 0, 1, &cfg.oversize_rate) < 0 ? bad_value(name, v, "0 to 1") : 0;
	case OPT_HANG_SECONDS:
		return parse_u64(v, 0, 604800, &cfg.hang_seconds) < 0 ? bad_value(name, v, "0 to 604800") : 0;
	case OPT_OVERSIZE_BYTES:
		return parse_u64(v, PAD_MIN, 1ull << 40, &cfg.oversize_bytes) < 0 ? bad_value(name, v, "10 to 2^40") : 0;
	case OPT_LATENCY:
		return parse_u64(v, 0, 600000, &cfg.latency_ms) < 0 ? bad_value(name, v, "0 to 600000") : 0;
	case OPT_JITTER:
		return parse_u64(v, 0, 600000, &cfg.latency_jitter_ms) < 0 ? bad_value(name, v, "0 to 600000") : 0;
	case OPT_RATE: return parse_double(v, 0, 1e6, &cfg.rate) < 0 ? bad_value(name, v, "0 to 1e6") : 0;
	case OPT_BURST: return parse_double(v, 1, 1e6, &cfg.burst) < 0 ? bad_value(name, v, "1 to 1e6") : 0;
	case OPT_RETRY_AFTER:
		if (!header_safe(v))
			return bad_value(name, v, "a non-empty value without control characters");
		cfg.retry_after = v;
		return 0;
	case OPT_TOKEN: cfg.token = v; return 0;
	case OPT_LOG: cfg.log_path = v; return 0;
	case OPT_VERBOSE: cfg.verbose = 1; return 0;
	case OPT_HELP: return 1;
	}
	return -1;
}

/* Parses argv into cfg. Returns 0, 1 when help was printed, -1 after
 * reporting a usage error. */
static int parse_args(int argc, char **argv)
{
	struct option longopts[N_OPTS + 1];
	size_t i;
	int id, idx, rc;

	memset(longopts, 0, sizeof longopts);
	for (i = 0; i < N_OPTS; i++)
		longopts[i] = opt_docs[i].o;
	opterr = 0;
	while ((id = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
		if (id == '?' || id == ':') {
			fprintf(stderr, "mockapi: %s option '%s' (see --help)\n",
				id == ':' ? "missing value for" : "unknown", argv[optind - 1]);
			return -1;
		}
		for (i = 0; i < N_OPTS && opt_docs[i].o.val != id; i++)
			;
		rc = apply_opt(id, i < N_OPTS ? opt_docs[i].o.name : "?", optarg);
		if (rc != 0)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "mockapi: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (cfg.fail_rate + cfg.hang_rate + cfg.truncate_rate + cfg.invalid_json_rate +
	    cfg.oversize_rate > 1.0 + 1e-9) {
		fprintf(stderr, "mockapi: fault rates add up to more than 1\n");
		return -1;
	}
	if (cfg.burst < 0)
		cfg.burst = fmax(1.0, cfg.rate / 10.0);
	return 0;
}

/* ------------------------------------------------------------------ main */

/* Writes "PORT\n" to path via a temporary file and rename(). Returns 0 or -1
 * after reporting. */
static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f = NULL;
	int rc = -1, n;

	n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp) {
		fprintf(stderr, "mockapi: port file name too long '%s'\n", path);
		return -1;
	}
	if ((f = fopen(tmp, "w")) == NULL)
		goto out;
	if (fprintf(f, "%u\n", port) < 0)
		goto out;
	n = fclose(f);
	f = NULL;
	if (n != 0 || rename(tmp, path) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		fprintf(stderr, "mockapi: cannot write port file '%s': %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		unlink(tmp);
	}
	return rc;
}

static struct MHD_Daemon *start_daemon(void)
{
	struct sockaddr_in sa;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)cfg.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* never anything else */
	if (cfg.verbose)
		flags |= MHD_USE_ERROR_LOG;
	return MHD_start_daemon(flags, (uint16_t)cfg.port, NULL, NULL, on_request, NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				MHD_OPTION_END);
}

/* Blocks until SIGINT/SIGTERM (blocked in every thread) or the deadline. */
static void wait_for_end(const sigset_t *sigs)
{
	uint64_t deadline = mono_ms() + cfg.max_seconds * 1000u, now;
	struct timespec ts;

	while ((now = mono_ms()) < deadline) {
		uint64_t left = deadline - now > 1000 ? 1000 : deadline - now;

		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000L;
		if (sigtimedwait(sigs, NULL, &ts) > 0)
			return;
	}
}

/* Prepares the shutdown condition variable (monotonic clock) and the limits
 * that thread-per-connection needs. */
static int init_process(sigset_t *sigs)
{
	pthread_condattr_t ca;
	struct rlimit rl;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(sigs);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, sigs, NULL) != 0)
		return -1;
	if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&g.stop_cv, &ca) != 0)
		return -1;
	pthread_condattr_destroy(&ca);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	g.rng = cfg.seed;
	g.tokens = cfg.burst;
	g.last = (double)mono_ms() / 1000.0;
	return 0;
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d = NULL;
	const union MHD_DaemonInfo *info;
	sigset_t sigs;
	int rc;

	rc = parse_args(argc, argv);
	if (rc != 0) {
		if (rc > 0)
			usage(stdout);
		return rc > 0 ? 0 : 2;
	}
	rc = 1;
	if (init_process(&sigs) < 0) {
		fprintf(stderr, "mockapi: cannot set up signals and threads\n");
		goto out;
	}
	if (cfg.log_path != NULL && (g.log = fopen(cfg.log_path, "a")) == NULL) {
		fprintf(stderr, "mockapi: cannot open log '%s': %s\n", cfg.log_path, strerror(errno));
		goto out;
	}
	if ((d = start_daemon()) == NULL) {
		fprintf(stderr, "mockapi: cannot listen on 127.0.0.1:%u\n", cfg.port);
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		fprintf(stderr, "mockapi: cannot determine the bound port\n");
		goto out;
	}
	if (cfg.port_file != NULL && write_port_file(cfg.port_file, info->port) < 0)
		goto out;
	fprintf(stderr, "mockapi: listening on 127.0.0.1:%u\n", (unsigned)info->port);
	wait_for_end(&sigs);
	rc = 0;
out:
	if (d != NULL) {
		pthread_mutex_lock(&g.stop_mu);
		atomic_store(&g.stopping, 1);
		pthread_cond_broadcast(&g.stop_cv);
		pthread_mutex_unlock(&g.stop_mu);
		MHD_stop_daemon(d); /* joins connection threads; their sleeps wake above */
	}
	if (g.log != NULL)
		fclose(g.log);
	ctab_clear(&g.paths);
	ctab_clear(&g.seen);
	return rc;
}
