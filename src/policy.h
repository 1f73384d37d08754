/*
 * policy.h - the retry policy: classify a response, the backoff delay, the
 * Retry-After header, and the per-host throttle.
 *
 * Everything here is a pure function of its arguments.  The module must never
 * do I/O, read a clock ("now" is always a parameter, in milliseconds on
 * whatever clock the caller uses consistently) or draw random numbers
 * (randomness is a parameter), so that every decision can be unit-tested
 * without a network and replayed exactly.
 */
#ifndef TRAWL_POLICY_H
#define TRAWL_POLICY_H

#include <stdint.h>

/* What went wrong with a transfer, independently of the HTTP status. */
enum xfer_error {
	XE_NONE = 0,
	XE_TIMEOUT,
	XE_CONNECT,
	XE_TRUNCATED,
	XE_TOO_LARGE,
	XE_REDIRECTS,
	XE_BAD_REDIRECT,
	XE_TLS,
	XE_INVALID_JSON,
	XE_TEMPLATE,
	XE_OTHER
};

enum outcome { OUTCOME_DONE, OUTCOME_RETRY, OUTCOME_FAIL };

struct verdict {
	enum outcome outcome;
	const char *reason; /* static string: "http 503", "timeout", "connection error", ... */
	int slows_host;     /* 1 when the host complained (429 or 503): slow the whole host down */
};

/*
 * Classifies one finished attempt.  status is the HTTP status (0 when there
 * was no response), err the transfer error.
 *
 * When err is XE_NONE the status decides: 2xx -> DONE; 408, 429, 500, 502,
 * 503, 504 -> RETRY; any other status (other 4xx, leftover 1xx/3xx, 501,
 * 505.., or a status outside 100..599) -> FAIL; status 0 without an error
 * ("no response") -> RETRY.  Reasons are "http NNN" (or "http status out of
 * range", "no response").
 *
 * When err is not XE_NONE the error decides (status is ignored for the
 * outcome): XE_TIMEOUT, XE_CONNECT, XE_TRUNCATED, XE_OTHER -> RETRY;
 * XE_TOO_LARGE, XE_REDIRECTS, XE_BAD_REDIRECT, XE_TLS, XE_TEMPLATE,
 * XE_INVALID_JSON -> FAIL; the reason is xfer_error_name(err).
 *
 * slows_host is 1 whenever status is 429 or 503, even when err is set (a 503
 * whose body was truncated is still the host complaining).
 */
struct verdict policy_classify(int status, enum xfer_error err);

/*
 * policy_classify, then RETRY becomes FAIL when attempts >= max_attempts
 * (attempts counts the attempts made so far, this one included).  The reason
 * and slows_host are unchanged.
 */
struct verdict policy_decide(int status, enum xfer_error err, int attempts, int max_attempts);

/*
 * Does this attempt say the host itself is failing, rather than the item?
 * 1 for no usable answer (timeout, connection error, a body cut short, other
 * transfer errors) and for 500, 502, 503 and 504; 0 otherwise (any other
 * answer means the host is up, whatever it thinks of the item).
 */
int policy_host_failure(int status, enum xfer_error err);

/* A short static name for e ("timeout", "connection error", ...); never NULL. */
const char *xfer_error_name(enum xfer_error e);

/*
 * Exponential backoff with full jitter: a delay uniformly distributed over
 * [0, min(cap_ms, base_ms * 2^(attempt-1))] (both ends reachable: rnd 0 gives
 * 0, rnd UINT64_MAX gives the upper bound).  rnd is a uniform 64-bit random
 * number supplied by the caller.  attempt < 1 is treated as 1; any attempt
 * (up to INT_MAX) is safe from overflow.  base_ms <= 0 or cap_ms <= 0 give 0.
 */
int64_t policy_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd);

/*
 * Parses a Retry-After value: delta-seconds (digits only) or an HTTP-date
 * in any of the three RFC 9110 formats: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year more than 50 years in
 * the future of now_ms means the previous century) and asctime
 * "Sun Nov  6 08:49:37 1994".  Day and month names are matched case-
 * insensitively; the day name must be a real one but need not agree with the
 * date.  Dates are checked: day within its month (leap years included),
 * hour 0-23, minute 0-59, second 0-60.  Spaces, tabs, CR and LF around
 * the value are ignored.  now_ms is milliseconds since the Unix epoch.
 *
 * Returns the delay in ms from now_ms (0 for a date in the past), capped at
 * cap_ms (a negative cap counts as 0); -1 when value is NULL, empty, negative,
 * or anything else that is not one of the forms above.
 */
int64_t policy_retry_after_ms(const char *value, int64_t now_ms, int64_t cap_ms);

/* "Long ago": the initial value of the throttle's time fields. */
#define THROTTLE_NEVER (INT64_MIN / 4)

/*
 * The per-host throttle.  It spreads requests evenly at the allowed rate (no
 * burst at the start of a second or after an idle spell: no credit
 * accumulates), pauses the host when it complains (429/503) and cuts the
 * allowed rate, once per burst of complaints, then recovers gradually.
 * All times are in ms on the caller's clock; the struct is plain data
 * (no allocation, nothing to release).
 */
struct throttle {
	double rate_max;          /* configured requests/s, 0 = unlimited */
	double rate_now;          /* currently allowed requests/s, 0 = unlimited */
	int64_t next_slot_ms;     /* earliest time of the next request: ceil(next_slot_exact) */
	int64_t paused_until_ms;  /* no request starts before this */
	int64_t last_complaint_ms; /* time of the latest complaint, THROTTLE_NEVER if none */
	int64_t last_raise_ms;    /* time of the latest recovery step, THROTTLE_NEVER if none */
	int complaints;           /* complaint bursts without a success between them
	                             (a burst = complaints less than 1 s apart) */
	/* fields added to the design's list: */
	double next_slot_exact;   /* next slot with its fraction of a millisecond, so that
	                             rates like 3/s or 1500/s are honoured exactly on average */
	double cut_from;          /* when rate_max is 0: the observed rate the throttle was cut
	                             from when it left "unlimited"; 0 while unlimited */
	/* outage detection (see throttle_failure): */
	int failures;             /* failures in a row (no answer, or a 5xx) */
	int outages;              /* outage pauses since the last good answer */
	int probing;              /* after an outage pause: one request at a time
	                             until a good answer */
};

/* Sets up t for rate_max requests/s (0, negative or NaN = unlimited). */
void throttle_init(struct throttle *t, double rate_max);

/* Earliest ms at which a request may start; a value <= now_ms means now. */
int64_t throttle_ready_at(const struct throttle *t, int64_t now_ms);

/*
 * Records that a request starts at now_ms: the next slot becomes
 * max(next slot, now) + 1000/rate_now.  A caller that arrives less than 1 ms
 * after the exact slot keeps the slot's fraction (ms granularity must not cost
 * rate); one that arrives later starts afresh from now (no credit while idle).
 */
void throttle_take(struct throttle *t, int64_t now_ms);

/*
 * The host complained (429/503) at now_ms.  Pauses the host until
 * now_ms + pause_ms (pause_ms is the Retry-After delay, or -1 for the
 * default: 1 s * 2^(bursts so far - 1), capped at 60 s); a pause is only ever
 * extended, never shortened.  The first complaint of a burst (none in the
 * previous 1 s) cuts rate_now to 90% of observed_rate (the host's recent
 * successful requests/s as measured by the caller: what it accepts), but a
 * cut takes at most half and at least 10% off; when rate_now was unlimited
 * it becomes 90% of observed_rate (0.5/s when observed_rate <= 0).  The
 * floor is 0.1/s.  Further
 * complaints within 1 s of the previous one only extend the pause.
 */
void throttle_complain(struct throttle *t, int64_t now_ms, int64_t pause_ms, double observed_rate);

/*
 * A response that was not a complaint arrived at now_ms: the complaint count
 * resets and, at most once per second and only if the last complaint is at
 * least 5 s old, rate_now grows by 10% (at least +0.5/s), capped at rate_max;
 * with rate_max 0 the throttle returns to unlimited once rate_now exceeds
 * 4 times the rate it was cut from.
 */
void throttle_success(struct throttle *t, int64_t now_ms);

/* Failures in a row that make a host "down". */
#define THROTTLE_OUTAGE_AFTER 5
/* Longest pause between probes of a host that is down. */
#define THROTTLE_PROBE_MAX_MS 30000

/*
 * A request to the host failed at now_ms without a usable answer: no HTTP
 * answer at all (refused, reset, timed out) or a 5xx.  After
 * THROTTLE_OUTAGE_AFTER failures in a row the host is down: it pauses for
 * 1 s * 2^(outages so far), capped at THROTTLE_PROBE_MAX_MS, of which the
 * second half is jittered by rnd (several crawlers do not probe in step);
 * then probing is set and the caller lets one request at a time through
 * (the probe).  A probe that fails pauses the host again, for twice as long.
 * Failures during a pause (requests started before it) change nothing.
 * Returns 1 when this failure paused the host, else 0.
 */
int throttle_failure(struct throttle *t, int64_t now_ms, uint64_t rnd);

/* An answer that is not a failure (any status but 5xx): the host is up,
 * the failure count, the outage count and probing reset. */
void throttle_answered(struct throttle *t);

#endif
