/*
 * policy.c - retry decisions, backoff, Retry-After and the per-host throttle.
 *
 * Pure functions only: this file must never do I/O, read a clock, call
 * rand(), allocate, print or exit.  Times and random numbers come in as
 * parameters, so tests can replay any scenario exactly (see policy.h for the
 * contracts).
 */
#include "policy.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* ---- classification ---------------------------------------------------- */

/* "http 100" .. "http 599" as constant strings, indexed by status - 100. */
#define HTTP_R(p) "http " p
#define HTTP_R10(p) HTTP_R(p "0"), HTTP_R(p "1"), HTTP_R(p "2"), HTTP_R(p "3"), HTTP_R(p "4"), \
	HTTP_R(p "5"), HTTP_R(p "6"), HTTP_R(p "7"), HTTP_R(p "8"), HTTP_R(p "9")
#define HTTP_R100(p) HTTP_R10(p "0"), HTTP_R10(p "1"), HTTP_R10(p "2"), HTTP_R10(p "3"), \
	HTTP_R10(p "4"), HTTP_R10(p "5"), HTTP_R10(p "6"), HTTP_R10(p "7"), HTTP_R10(p "8"), \
	HTTP_R10(p "9")

static const char *const http_reasons[500] = {
	HTTP_R100("1"), HTTP_R100("2"), HTTP_R100("3"), HTTP_R100("4"), HTTP_R100("5"),
};

const char *xfer_error_name(enum xfer_error e)
{
	switch (e) {
	case XE_NONE:         return "no error";
	case XE_TIMEOUT:      return "timeout";
	case XE_CONNECT:      return "connection error";
	case XE_TRUNCATED:    return "truncated body";
	case XE_TOO_LARGE:    return "body over the cap";
	case XE_REDIRECTS:    return "too many redirects";
	case XE_BAD_REDIRECT: return "bad redirect";
	case XE_TLS:          return "tls error";
	case XE_INVALID_JSON: return "invalid json";
	case XE_TEMPLATE:     return "template error";
	case XE_OTHER:        return "transfer error";
	}
	return "unknown transfer error";
}

/* The outcome a transfer error implies; unknown codes are retried like XE_OTHER. */
static enum outcome error_outcome(enum xfer_error e)
{
	switch (e) {
	case XE_TOO_LARGE:
	case XE_REDIRECTS:
	case XE_BAD_REDIRECT:
	case XE_TLS:
	case XE_TEMPLATE:
	case XE_INVALID_JSON:
		return OUTCOME_FAIL;
	case XE_NONE:
		return OUTCOME_DONE;
	case XE_TIMEOUT:
	case XE_CONNECT:
	case XE_TRUNCATED:
	case XE_OTHER:
		break;
	}
	return OUTCOME_RETRY;
}

/* The outcome an HTTP status implies when the transfer itself went fine. */
static enum outcome status_outcome(int status)
{
	if (status >= 200 && status <= 299)
		return OUTCOME_DONE;
	switch (status) {
	case 408: case 429: case 500: case 502: case 503: case 504:
		return OUTCOME_RETRY;
	}
	return OUTCOME_FAIL;
}

struct verdict policy_classify(int status, enum xfer_error err)
{
	struct verdict v;

	v.slows_host = (status == 429 || status == 503);
	if (err != XE_NONE) {
		v.outcome = error_outcome(err);
		v.reason = xfer_error_name(err);
	} else if (status == 0) {
		v.outcome = OUTCOME_RETRY;
		v.reason = "no response";
	} else if (status < 100 || status > 599) {
		v.outcome = OUTCOME_FAIL;
		v.reason = "http status out of range";
	} else {
		v.outcome = status_outcome(status);
		v.reason = http_reasons[status - 100];
	}
	return v;
}

struct verdict policy_decide(int status, enum xfer_error err, int attempts, int max_attempts)
{
	struct verdict v = policy_classify(status, err);

	if (v.outcome == OUTCOME_RETRY && attempts >= max_attempts)
		v.outcome = OUTCOME_FAIL;
	return v;
}

/* ---- backoff ------------------------------------------------------------ */

/* The high 64 bits of the 128-bit product a*b, without compiler extensions. */
static uint64_t mulhi64(uint64_t a, uint64_t b)
{
	uint64_t a_lo = (uint32_t)a, a_hi = a >> 32;
	uint64_t b_lo = (uint32_t)b, b_hi = b >> 32;
	uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo, p3 = a_hi * b_hi;
	uint64_t mid = (p0 >> 32) + (uint32_t)p1 + (uint32_t)p2;

	return p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

int64_t policy_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd)
{
	int64_t ceiling;
	int shift;

	if (attempt < 1)
		attempt = 1;
	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	shift = attempt - 1;
	/* base << shift <= cap exactly when base <= cap >> shift: no overflow */
	if (shift >= 63 || base_ms > (cap_ms >> shift))
		ceiling = cap_ms;
	else
		ceiling = base_ms << shift;
	/* rnd * (ceiling + 1) / 2^64 maps [0, 2^64) onto [0, ceiling] evenly */
	return (int64_t)mulhi64(rnd, (uint64_t)ceiling + 1);
}

int policy_host_failure(int status, enum xfer_error err)
{
	switch (err) {
	case XE_TIMEOUT:
	case XE_CONNECT:
	case XE_TRUNCATED:
	case XE_OTHER:
		return 1;
	case XE_NONE:
		return status == 500 || status == 502 || status == 503 || status == 504;
	default:
		return 0;
	}
}

/* ---- Retry-After -------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The year of the date that lies z days after 1970-01-01 (the inverse of the above). */
static int64_t year_from_days(int64_t z)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* A cursor over the trimmed header value: [p, end). */
struct cur {
	const char *p;
	const char *end;
};

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int is_alpha(int c)
{
	c = lower(c);
	return c >= 'a' && c <= 'z';
}

/* Consumes the character c; 0 or -1. */
static int take_char(struct cur *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return -1;
	c->p++;
	return 0;
}

/* Consumes exactly n decimal digits (n <= 9) into *out; 0 or -1. */
static int take_digits(struct cur *c, int n, int *out)
{
	int v = 0, i;

	if (c->end - c->p < n)
		return -1;
	for (i = 0; i < n; i++) {
		if (c->p[i] < '0' || c->p[i] > '9')
			return -1;
		v = v * 10 + (c->p[i] - '0');
	}
	c->p += n;
	*out = v;
	return 0;
}

/*
 * Consumes a run of letters and finds it in names[0..n-1] (case-insensitive,
 * whole word); returns its index or -1.
 */
static int take_name(struct cur *c, const char *const *names, int n)
{
	const char *s = c->p;
	size_t len = 0, k;
	int i;

	while (s + len < c->end && is_alpha((unsigned char)s[len]))
		len++;
	for (i = 0; i < n; i++) {
		for (k = 0; k < len && names[i][k] != '\0'; k++)
			if (lower((unsigned char)s[k]) != lower((unsigned char)names[i][k]))
				break;
		if (k == len && names[i][k] == '\0') {
			c->p += len;
			return i;
		}
	}
	return -1;
}

static const char *const wkday3[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
static const char *const weekday[7] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
};
static const char *const month3[12] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
};

/* The broken-down date being parsed. */
struct hdate {
	int year, mon, day, hour, min, sec;
};

/* "HH:MM:SS"; 0 or -1. */
static int take_time(struct cur *c, struct hdate *d)
{
	if (take_digits(c, 2, &d->hour) < 0 || take_char(c, ':') < 0 ||
	    take_digits(c, 2, &d->min) < 0 || take_char(c, ':') < 0 ||
	    take_digits(c, 2, &d->sec) < 0)
		return -1;
	return 0;
}

/* The month name, as 1..12; 0 or -1. */
static int take_month(struct cur *c, struct hdate *d)
{
	int m = take_name(c, month3, 12);

	if (m < 0)
		return -1;
	d->mon = m + 1;
	return 0;
}

/* After "Sun,": " 06 Nov 1994 08:49:37 GMT". */
static int parse_imf(struct cur *c, struct hdate *d)
{
	if (take_char(c, ',') < 0 || take_char(c, ' ') < 0 ||
	    take_digits(c, 2, &d->day) < 0 || take_char(c, ' ') < 0 ||
	    take_month(c, d) < 0 || take_char(c, ' ') < 0 ||
	    take_digits(c, 4, &d->year) < 0 || take_char(c, ' ') < 0 ||
	    take_time(c, d) < 0 || take_char(c, ' ') < 0 ||
	    take_char(c, 'G') < 0 || take_char(c, 'M') < 0 || take_char(c, 'T') < 0)
		return -1;
	return 0;
}

/*
 * After "Sunday,": " 06-Nov-94 08:49:37 GMT".  The two-digit year is put in
 * now's century, or the previous one when that would be more than 50 years
 * ahead of now (RFC 9110, section 5.6.7).
 */
static int parse_rfc850(struct cur *c, struct hdate *d, int64_t now_ms)
{
	int64_t now_year, y;
	int yy;

	if (take_char(c, ',') < 0 || take_char(c, ' ') < 0 ||
	    take_digits(c, 2, &d->day) < 0 || take_char(c, '-') < 0 ||
	    take_month(c, d) < 0 || take_char(c, '-') < 0 ||
	    take_digits(c, 2, &yy) < 0 || take_char(c, ' ') < 0 ||
	    take_time(c, d) < 0 || take_char(c, ' ') < 0 ||
	    take_char(c, 'G') < 0 || take_char(c, 'M') < 0 || take_char(c, 'T') < 0)
		return -1;
	now_year = year_from_days(now_ms / 86400000);
	y = now_year - now_year % 100 + yy;
	if (y > now_year + 50)
		y -= 100;
	if (y < 0 || y > 9999)
		return -1;
	d->year = (int)y;
	return 0;
}

/* After "Sun": " Nov  6 08:49:37 1994" (day is 2DIGIT or SP DIGIT). */
static int parse_asctime(struct cur *c, struct hdate *d)
{
	if (take_char(c, ' ') < 0 || take_month(c, d) < 0 || take_char(c, ' ') < 0)
		return -1;
	if (take_char(c, ' ') == 0) {
		if (take_digits(c, 1, &d->day) < 0)
			return -1;
	} else if (take_digits(c, 2, &d->day) < 0) {
		return -1;
	}
	if (take_char(c, ' ') < 0 || take_time(c, d) < 0 || take_char(c, ' ') < 0 ||
	    take_digits(c, 4, &d->year) < 0)
		return -1;
	return 0;
}

/* Parses any of the three HTTP-date forms into ms since the epoch; 0 or -1. */
static int parse_http_date(struct cur *c, int64_t now_ms, int64_t *out_ms)
{
	struct hdate d = { 0, 0, 0, 0, 0, 0 };
	struct cur save = *c;
	int64_t days;
	int rc;

	if (take_name(c, wkday3, 7) >= 0) {
		if (c->p < c->end && *c->p == ',')
			rc = parse_imf(c, &d);
		else
			rc = parse_asctime(c, &d);
	} else {
		*c = save;
		if (take_name(c, weekday, 7) < 0)
			return -1;
		rc = parse_rfc850(c, &d, now_ms);
	}
	if (rc < 0 || c->p != c->end)
		return -1;
	if (d.mon < 1 || d.mon > 12 || d.day < 1 || d.day > days_in_month(d.year, d.mon) ||
	    d.hour > 23 || d.min > 59 || d.sec > 60)
		return -1;
	days = days_from_civil(d.year, d.mon, d.day);
	*out_ms = ((days * 24 + d.hour) * 60 + d.min) * 60000 + (int64_t)d.sec * 1000;
	return 0;
}

/* Parses delta-seconds, saturating at INT64_MAX ms; 0 or -1 if not all digits. */
static int parse_delta(struct cur *c, int64_t *out_ms)
{
	int64_t secs = 0;
	const char *p;

	if (c->p == c->end)
		return -1;
	for (p = c->p; p < c->end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (secs <= INT64_MAX / 1000 / 10)
			secs = secs * 10 + (*p - '0');
		else
			secs = INT64_MAX / 1000 + 1; /* saturated: stays above any cap */
	}
	*out_ms = secs > INT64_MAX / 1000 ? INT64_MAX : secs * 1000;
	return 0;
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int64_t policy_retry_after_ms(const char *value, int64_t now_ms, int64_t cap_ms)
{
	struct cur c;
	int64_t delay, when;

	if (value == NULL)
		return -1;
	if (cap_ms < 0)
		cap_ms = 0;
	c.p = value;
	c.end = value;
	while (*c.end != '\0')
		c.end++;
	/* CR and LF too: a header line handed over with its line ending still parses */
	while (c.p < c.end && is_ows(*c.p))
		c.p++;
	while (c.end > c.p && is_ows(c.end[-1]))
		c.end--;
	if (c.p == c.end)
		return -1;

	if (*c.p >= '0' && *c.p <= '9') {
		if (parse_delta(&c, &delay) < 0)
			return -1;
	} else {
		if (parse_http_date(&c, now_ms, &when) < 0)
			return -1;
		if (when <= now_ms)
			delay = 0;
		else if (now_ms < 0 && when > INT64_MAX + now_ms)
			delay = INT64_MAX;
		else
			delay = when - now_ms;
	}
	return delay < cap_ms ? delay : cap_ms;
}

/* ---- throttle ----------------------------------------------------------- */

#define RATE_FLOOR 0.1           /* requests/s: a cut never goes below this */
#define BURST_MS 1000            /* complaints closer than this are one burst */
#define QUIET_MS 5000            /* no recovery until the host was quiet this long */
#define RAISE_EVERY_MS 1000      /* at most one recovery step per this interval */
#define PAUSE_MAX_MS 60000       /* cap of the default pause */

/* now - then, saturating instead of overflowing. */
static int64_t since(int64_t now, int64_t then)
{
	if (then < 0 && now > INT64_MAX + then)
		return INT64_MAX;
	if (then > 0 && now < INT64_MIN + then)
		return INT64_MIN;
	return now - then;
}

/* a + b for b >= 0, saturating. */
static int64_t add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

void throttle_init(struct throttle *t, double rate_max)
{
	if (!(rate_max > 0) || isinf(rate_max))
		rate_max = 0;
	t->rate_max = rate_max;
	t->rate_now = rate_max;
	t->next_slot_ms = THROTTLE_NEVER;
	t->next_slot_exact = (double)THROTTLE_NEVER;
	t->paused_until_ms = THROTTLE_NEVER;
	t->last_complaint_ms = THROTTLE_NEVER;
	t->last_raise_ms = THROTTLE_NEVER;
	t->complaints = 0;
	t->cut_from = 0;
	t->failures = 0;
	t->outages = 0;
	t->probing = 0;
}

int64_t throttle_ready_at(const struct throttle *t, int64_t now_ms)
{
	int64_t at = t->rate_now > 0 ? t->next_slot_ms : THROTTLE_NEVER;

	(void)now_ms;
	return at > t->paused_until_ms ? at : t->paused_until_ms;
}

void throttle_take(struct throttle *t, int64_t now_ms)
{
	double now = (double)now_ms, base;

	if (!(t->rate_now > 0))
		return;
	/* Late by a whole millisecond or more: the host was idle, start afresh
	 * (no credit); otherwise keep the fraction the ms clock cannot see. */
	if (now - t->next_slot_exact >= 1.0)
		base = now;
	else
		base = t->next_slot_exact;
	t->next_slot_exact = base + 1000.0 / t->rate_now;
	/* a double past int64 cannot be converted (UB): the far future is far enough */
	t->next_slot_ms = t->next_slot_exact >= 9.2e18 ? INT64_MAX / 2 : (int64_t)ceil(t->next_slot_exact);
}

/*
 * Cuts the allowed rate: the first complaint of a burst.  The host just told
 * us what it accepts: the successes we observed.  So the new rate is 90% of
 * that, but never below half of what we sent (a single cut is never more
 * than a halving; a host that shrinks its limit further gets more cuts) and
 * never above 90% of it.
 */
static void throttle_cut(struct throttle *t, double observed_rate)
{
	int seen = observed_rate > 0 && isfinite(observed_rate);
	double from, to;

	if (t->rate_now > 0) {
		from = t->rate_now;
	} else {
		from = seen ? observed_rate : 1.0;
		if (t->rate_max <= 0)
			t->cut_from = from;
	}
	to = from / 2;
	if (seen && 0.9 * observed_rate > to)
		to = 0.9 * observed_rate < 0.9 * from ? 0.9 * observed_rate : 0.9 * from;
	if (to < RATE_FLOOR)
		to = RATE_FLOOR;
	/* a configured rate already below the floor is never raised by a cut */
	if (t->rate_now > 0 && to > t->rate_now)
		to = t->rate_now;
	t->rate_now = to;
}

void throttle_complain(struct throttle *t, int64_t now_ms, int64_t pause_ms, double observed_rate)
{
	int64_t until;
	int n;

	if (since(now_ms, t->last_complaint_ms) >= BURST_MS) {
		if (t->complaints < 1000)
			t->complaints++;
		throttle_cut(t, observed_rate);
	}
	if (pause_ms < 0) {
		n = t->complaints > 0 ? t->complaints - 1 : 0;
		pause_ms = n >= 6 ? PAUSE_MAX_MS : (int64_t)1000 << n;
		if (pause_ms > PAUSE_MAX_MS)
			pause_ms = PAUSE_MAX_MS;
	}
	until = add_sat(now_ms, pause_ms);
	if (until > t->paused_until_ms)
		t->paused_until_ms = until;
	t->last_complaint_ms = now_ms;
}

void throttle_success(struct throttle *t, int64_t now_ms)
{
	double r;

	t->complaints = 0;
	if (!(t->rate_now > 0))
		return;
	if (t->rate_max > 0 && t->rate_now >= t->rate_max)
		return;
	if (since(now_ms, t->last_complaint_ms) < QUIET_MS ||
	    since(now_ms, t->last_raise_ms) < RAISE_EVERY_MS)
		return;
	r = t->rate_now * 1.1;
	if (r < t->rate_now + 0.5)
		r = t->rate_now + 0.5;
	t->last_raise_ms = now_ms;
	if (t->rate_max > 0) {
		t->rate_now = r < t->rate_max ? r : t->rate_max;
	} else if (r > 4 * t->cut_from) {
		t->rate_now = 0;
		t->cut_from = 0;
	} else {
		t->rate_now = r;
	}
}

int throttle_failure(struct throttle *t, int64_t now_ms, uint64_t rnd)
{
	int64_t ceiling, pause, until;

	if (now_ms < t->paused_until_ms)
		return 0;
	if (t->failures < INT_MAX)
		t->failures++;
	if (!t->probing && t->failures < THROTTLE_OUTAGE_AFTER)
		return 0;
	ceiling = t->outages >= 15 ? THROTTLE_PROBE_MAX_MS : (int64_t)1000 << t->outages;
	if (ceiling > THROTTLE_PROBE_MAX_MS)
		ceiling = THROTTLE_PROBE_MAX_MS;
	/* half fixed, half jittered: spread, yet never a probe right away */
	pause = ceiling / 2 + (int64_t)mulhi64(rnd, (uint64_t)(ceiling - ceiling / 2) + 1);
	until = add_sat(now_ms, pause);
	if (until > t->paused_until_ms)
		t->paused_until_ms = until;
	if (t->outages < 1000)
		t->outages++;
	t->failures = 0;
	t->probing = 1;
	return 1;
}

void throttle_answered(struct throttle *t)
{
	t->failures = 0;
	t->outages = 0;
	t->probing = 0;
}
