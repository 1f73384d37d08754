/*
 * fetch.h - the transfer engine: one libcurl multi handle driving at most
 * `concurrency` transfers, each on a reused easy handle.  It knows requests
 * and responses, not items or crawls: the runner owns those.
 *
 * Redirects are followed here, by hand, so that the scheme of every hop is
 * checked (http and https only) and custom headers are dropped when a hop
 * leaves the origin of the first request.
 */
#ifndef TRAWL_FETCH_H
#define TRAWL_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct fetch_opts {
	int concurrency;
	int64_t connect_timeout_ms, timeout_ms, low_speed_time_ms, low_speed_limit;
	int64_t max_body;
	int max_redirects;
	const char *ca_file;       /* NULL or "" for the system store */
	const char *user_agent;
};

struct request {
	const char *url;
	const char *method;        /* GET, POST, ... */
	const char *body;          /* NULL for none */
	size_t body_len;
	const char *content_type;  /* with a body */
	const char *const *headers;/* "Name: value" lines, not sent across origins */
	size_t nheaders;
	const char *origin;        /* fetch_url_origin(url) when the caller has it, else NULL */
};

struct response {
	int status;                /* final HTTP status, 0 when none */
	enum xfer_error err;
	const char *error;         /* curl's message when err != XE_NONE, else NULL */
	const char *body;          /* decoded body, NUL-terminated; borrowed during the callback */
	size_t body_len;
	const char *retry_after;   /* the final response's Retry-After, or NULL */
	const char *url;           /* the last URL fetched (after redirects) */
	int redirects;
	int64_t elapsed_ms;        /* all hops */
};

struct fetcher;

int fetch_new(struct fetcher **out, const struct fetch_opts *o);
void fetch_free(struct fetcher *f);               /* accepts NULL; aborts transfers */

int fetch_free_slots(const struct fetcher *f);
int fetch_running(const struct fetcher *f);

/*
 * Starts a transfer for owner (copied: the request need not outlive the
 * call).  Needs a free slot.  Returns 0, or -1 with a message in err (a
 * request curl refuses, e.g. a malformed URL): nothing was started.
 */
int fetch_start(struct fetcher *f, const struct request *rq, void *owner, char *err, size_t errlen);

/* Called once per finished transfer; r is borrowed for the call. */
typedef void (*fetch_done_fn)(void *ctx, void *owner, const struct response *r);

/*
 * Waits up to timeout_ms for network activity, drives the transfers and
 * calls done for each one that finished.  Returns 0 or TR_EIO on a fault of
 * the multi handle itself.
 */
int fetch_poll(struct fetcher *f, int timeout_ms, fetch_done_fn done, void *ctx);

/* Makes a fetch_poll that is waiting, or the next one, return at once.
 * The one fetch call that is safe from another thread. */
void fetch_wakeup(struct fetcher *f);

/*
 * Writes "scheme://host:port" of url (host lower-cased, default port filled
 * in) to out.  Returns 0, or -1 when url does not parse as http(s).
 */
int fetch_url_origin(const char *url, char *out, size_t len);

/* Stops every transfer; done is called for each with err XE_OTHER, "aborted". */
void fetch_abort_all(struct fetcher *f, fetch_done_fn done, void *ctx);

#endif
