/*
 * fuzz_retry_after.c - the Retry-After parser and the backoff (policy.c).
 *
 * Input: the whole input is the header value (a NUL-terminated copy, cut at
 * the first NUL).  Its last 28 bytes (zero-padded when shorter) are also
 * read as the backoff's attempt (4 bytes), base (8), cap (8) and rnd (8).
 *
 * Invariants (policy.h):
 *   - policy_retry_after_ms is -1 or within [0, cap] (a negative cap counts
 *     as 0), for any now;
 *   - spaces, tabs, CR and LF around the value change nothing;
 *   - day and month names are case-insensitive: an accepted value upper-cased
 *     gives the same delay;
 *   - a value that starts with '-' is refused; delta-seconds give exactly
 *     min(seconds * 1000, cap);
 *   - an accepted IMF-fixdate or asctime date is the instant glibc's
 *     strptime + timegm read (checked one way: glibc is more lenient);
 *   - policy_backoff_ms is within [0, min(cap, base * 2^(attempt-1))] (0 when
 *     base or cap <= 0), 0 for rnd 0, the upper bound for rnd UINT64_MAX,
 *     and never decreases as rnd grows.
 */
#include "fuzz.h"

#include <time.h>

#include "policy.h"

static const int64_t nows[] = {
	1700000000000LL,          /* 2023-11-14 */
	0,
	-86400000LL,
	253402300799000LL,        /* 9999-12-31 23:59:59 */
	INT64_MAX,
	INT64_MIN,
};
static const int64_t caps[] = { 86400000LL, 0, 1000, -5, INT64_MAX };

static int is_ows(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value with its surrounding OWS cut, as a malloc'd string. */
static char *trimmed(const char *s)
{
	size_t len;

	while (is_ows(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_ows(s[len - 1]))
		len--;
	return fuzz_strndup((const uint8_t *)s, len);
}

static int64_t effective_cap(int64_t cap)
{
	return cap < 0 ? 0 : cap;
}

/* delta-seconds by the book: min(seconds * 1000, cap) without overflow. */
static int64_t delta_reference(const char *digits, int64_t cap)
{
	unsigned __int128 ms = 0, limit = (unsigned __int128)1 << 100;

	for (; *digits; digits++)
		if (ms < limit)
			ms = ms * 10 + (unsigned)(*digits - '0');
	ms *= 1000;
	return ms > (unsigned __int128)effective_cap(cap) ? effective_cap(cap) : (int64_t)ms;
}

/* The delay glibc reads from an IMF-fixdate or asctime value; -1 if it cannot. */
static int64_t glibc_delay(const char *v, int64_t now)
{
	struct tm tm;
	const char *end;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (strlen(v) > 3 && v[3] == ',')
		end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	else
		end = strptime(v, "%a %b %e %H:%M:%S %Y", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	t = timegm(&tm);
	return (int64_t)t * 1000 <= now ? 0 : (int64_t)t * 1000 - now;
}

static void check_retry_after(const char *value)
{
	size_t len = strlen(value), i, j, k;
	char *wrapped = malloc(len + 5), *upper = fuzz_strndup((const uint8_t *)value, len);
	char *core = trimmed(value);
	int digits = *core != '\0' && strspn(core, "0123456789") == strlen(core);

	if (wrapped == NULL)
		abort();
	snprintf(wrapped, len + 5, " \t%s\r\n", value);
	for (k = 0; k < len; k++)
		if (upper[k] >= 'a' && upper[k] <= 'z')
			upper[k] = (char)(upper[k] - 'a' + 'A');
	for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
		for (j = 0; j < sizeof(caps) / sizeof(caps[0]); j++) {
			int64_t r = policy_retry_after_ms(value, nows[i], caps[j]);

			FUZZ_CHECK(r == -1 || (r >= 0 && r <= effective_cap(caps[j])),
				   "'%s' now %lld cap %lld gave %lld", value, (long long)nows[i],
				   (long long)caps[j], (long long)r);
			FUZZ_CHECK(policy_retry_after_ms(wrapped, nows[i], caps[j]) == r,
				   "surrounding spaces change '%s'", value);
			if (r != -1)
				FUZZ_CHECK(policy_retry_after_ms(upper, nows[i], caps[j]) == r,
					   "upper case changes '%s'", value);
			if (*core == '-')
				FUZZ_CHECK(r == -1, "negative '%s' accepted", value);
			if (digits)
				FUZZ_CHECK(r == delta_reference(core, caps[j]),
					   "'%s' cap %lld gave %lld", value, (long long)caps[j],
					   (long long)r);
		}
	}
	/* the glibc cross-check, on a now and cap that leave the delay alone */
	if (!digits && policy_retry_after_ms(value, nows[0], INT64_MAX) != -1 &&
	    !(strlen(core) > 3 && core[3] != ',' && core[3] != ' ')) {
		int64_t want = glibc_delay(core, nows[0]);

		FUZZ_CHECK(want == -1 || policy_retry_after_ms(value, nows[0], INT64_MAX) == want,
			   "'%s' gave %lld, glibc reads %lld", value,
			   (long long)policy_retry_after_ms(value, nows[0], INT64_MAX), (long long)want);
	}
	free(core);
	free(upper);
	free(wrapped);
}

/* min(cap, base * 2^(attempt-1)) by the book. */
static int64_t backoff_ceiling(int attempt, int64_t base, int64_t cap)
{
	int shift = (attempt < 1 ? 1 : attempt) - 1;

	if (shift >= 64)
		return cap;
	return (__int128)base << shift > (__int128)cap ? cap : base << shift;
}

static void check_backoff(int attempt, int64_t base, int64_t cap, uint64_t rnd)
{
	int64_t d = policy_backoff_ms(attempt, base, cap, rnd), ceiling;

	if (base <= 0 || cap <= 0) {
		FUZZ_CHECK(d == 0, "base %lld cap %lld gave %lld", (long long)base, (long long)cap,
			   (long long)d);
		return;
	}
	ceiling = backoff_ceiling(attempt, base, cap);
	FUZZ_CHECK(d >= 0 && d <= ceiling, "attempt %d base %lld cap %lld rnd %llu gave %lld", attempt,
		   (long long)base, (long long)cap, (unsigned long long)rnd, (long long)d);
	FUZZ_CHECK(policy_backoff_ms(attempt, base, cap, 0) == 0, "rnd 0 gave no 0");
	FUZZ_CHECK(policy_backoff_ms(attempt, base, cap, UINT64_MAX) == ceiling,
		   "rnd max gave %lld, not %lld", (long long)policy_backoff_ms(attempt, base, cap, UINT64_MAX),
		   (long long)ceiling);
	if (rnd < UINT64_MAX)
		FUZZ_CHECK(policy_backoff_ms(attempt, base, cap, rnd + 1) >= d, "decreases with rnd");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char *value = fuzz_strndup(data, size);
	int attempt;
	int64_t base, cap;
	uint64_t rnd;

	check_retry_after(value);
	free(value);
	if (size > 28) {
		in.p = data + size - 28;
		in.n = 28;
	}
	attempt = (int)(int32_t)fuzz_take(&in, 4);
	base = (int64_t)fuzz_take(&in, 8);
	cap = (int64_t)fuzz_take(&in, 8);
	rnd = fuzz_take(&in, 8);
	check_backoff(attempt, base, cap, rnd);
	/* realistic settings too: backoff_base 1 ms..1 day, backoff_cap 1 ms..7 days */
	check_backoff(attempt & 0xffff, 1 + (base & 0x7ffffff) % 86400000, 1 + (cap & 0x7fffffff) % 604800000,
		      rnd);
	return 0;
}
