/*
 * test_policy.c - unit tests for policy.c: the classification table, retry
 * decisions, backoff, Retry-After parsing and the per-host throttle.  All
 * times are synthetic; nothing here sleeps or reads a clock.
 */
#include "policy.h"
#include "unit.h"

#include <limits.h>
#include <stdint.h>

/* 1994-11-06 08:49:37 GMT, the RFC's example date, in ms since the epoch. */
#define NOW_1994 INT64_C(784111777000)
/* 2024-02-29 12:00:00 GMT */
#define NOW_2024 INT64_C(1709208000000)
#define BIG_CAP INT64_C(1000000000000000)

/* The expected outcome of a status on a clean transfer, written out independently. */
static enum outcome expected_for_status(int s)
{
	if (s >= 200 && s < 300)
		return OUTCOME_DONE;
	if (s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504)
		return OUTCOME_RETRY;
	return OUTCOME_FAIL;
}

TEST(classify_status_table)
{
	int s;

	for (s = 100; s <= 599; s++) {
		struct verdict v = policy_classify(s, XE_NONE);
		char want[16];

		snprintf(want, sizeof want, "http %d", s);
		if (!CHECK_EQ_INT(v.outcome, expected_for_status(s)))
			fprintf(stderr, "  status %d\n", s);
		CHECK_EQ_STR(v.reason, want);
		CHECK_EQ_INT(v.slows_host, s == 429 || s == 503);
	}
	CHECK_EQ_INT(policy_classify(200, XE_NONE).outcome, OUTCOME_DONE);
	CHECK_EQ_INT(policy_classify(204, XE_NONE).outcome, OUTCOME_DONE);
	CHECK_EQ_INT(policy_classify(404, XE_NONE).outcome, OUTCOME_FAIL);
	CHECK_EQ_INT(policy_classify(501, XE_NONE).outcome, OUTCOME_FAIL);
	CHECK_EQ_INT(policy_classify(505, XE_NONE).outcome, OUTCOME_FAIL);
	CHECK_EQ_INT(policy_classify(301, XE_NONE).outcome, OUTCOME_FAIL);
	CHECK_EQ_INT(policy_classify(101, XE_NONE).outcome, OUTCOME_FAIL);
	CHECK_EQ_STR(policy_classify(503, XE_NONE).reason, "http 503");
	CHECK_EQ_INT(policy_classify(0, XE_NONE).outcome, OUTCOME_RETRY);
	CHECK_EQ_STR(policy_classify(0, XE_NONE).reason, "no response");
	CHECK_EQ_INT(policy_classify(600, XE_NONE).outcome, OUTCOME_FAIL);
	CHECK_EQ_INT(policy_classify(99, XE_NONE).outcome, OUTCOME_FAIL);
	CHECK_EQ_INT(policy_classify(-1, XE_NONE).outcome, OUTCOME_FAIL);
}

TEST(classify_transfer_errors)
{
	static const struct {
		enum xfer_error e;
		enum outcome o;
		const char *reason;
	} table[] = {
		{ XE_TIMEOUT, OUTCOME_RETRY, "timeout" },
		{ XE_CONNECT, OUTCOME_RETRY, "connection error" },
		{ XE_TRUNCATED, OUTCOME_RETRY, "truncated body" },
		{ XE_TOO_LARGE, OUTCOME_FAIL, "body over the cap" },
		{ XE_REDIRECTS, OUTCOME_FAIL, "too many redirects" },
		{ XE_BAD_REDIRECT, OUTCOME_FAIL, "bad redirect" },
		{ XE_TLS, OUTCOME_FAIL, "tls error" },
		{ XE_INVALID_JSON, OUTCOME_FAIL, "invalid json" },
		{ XE_TEMPLATE, OUTCOME_FAIL, "template error" },
		{ XE_OTHER, OUTCOME_RETRY, "transfer error" },
	};
	size_t i;

	for (i = 0; i < sizeof table / sizeof table[0]; i++) {
		struct verdict v0 = policy_classify(0, table[i].e);
		struct verdict v200 = policy_classify(200, table[i].e);

		CHECK_EQ_INT(v0.outcome, table[i].o);
		CHECK_EQ_STR(v0.reason, table[i].reason);
		CHECK_EQ_INT(v0.slows_host, 0);
		/* the error decides even when a 2xx status came with it */
		CHECK_EQ_INT(v200.outcome, table[i].o);
		CHECK_EQ_STR(xfer_error_name(table[i].e), table[i].reason);
	}
	CHECK_EQ_STR(xfer_error_name(XE_NONE), "no error");
	/* a complaint is a complaint even when its body broke */
	CHECK_EQ_INT(policy_classify(503, XE_TRUNCATED).slows_host, 1);
	CHECK_EQ_INT(policy_classify(503, XE_TRUNCATED).outcome, OUTCOME_RETRY);
	CHECK_EQ_INT(policy_classify(200, XE_INVALID_JSON).outcome, OUTCOME_FAIL);
}

TEST(decide_max_attempts)
{
	struct verdict v;

	v = policy_decide(503, XE_NONE, 1, 3);
	CHECK_EQ_INT(v.outcome, OUTCOME_RETRY);
	CHECK_EQ_INT(v.slows_host, 1);
	v = policy_decide(503, XE_NONE, 2, 3);
	CHECK_EQ_INT(v.outcome, OUTCOME_RETRY);
	v = policy_decide(503, XE_NONE, 3, 3);
	CHECK_EQ_INT(v.outcome, OUTCOME_FAIL);
	CHECK_EQ_STR(v.reason, "http 503");
	CHECK_EQ_INT(v.slows_host, 1);
	v = policy_decide(0, XE_TIMEOUT, 8, 8);
	CHECK_EQ_INT(v.outcome, OUTCOME_FAIL);
	CHECK_EQ_STR(v.reason, "timeout");
	v = policy_decide(0, XE_TIMEOUT, 9, 8);
	CHECK_EQ_INT(v.outcome, OUTCOME_FAIL);
	/* DONE and FAIL are untouched by the count */
	CHECK_EQ_INT(policy_decide(200, XE_NONE, 100, 1).outcome, OUTCOME_DONE);
	CHECK_EQ_INT(policy_decide(404, XE_NONE, 1, 8).outcome, OUTCOME_FAIL);
	CHECK_EQ_INT(policy_decide(429, XE_NONE, 1, 1).outcome, OUTCOME_FAIL);
}

TEST(backoff)
{
	uint64_t x = 88172645463325252ULL;
	int i, attempt;

	/* rnd 0 and UINT64_MAX reach both ends of the full-jitter range */
	CHECK_EQ_INT(policy_backoff_ms(1, 1000, 60000, 0), 0);
	CHECK_EQ_INT(policy_backoff_ms(1, 1000, 60000, UINT64_MAX), 1000);
	CHECK_EQ_INT(policy_backoff_ms(2, 1000, 60000, UINT64_MAX), 2000);
	CHECK_EQ_INT(policy_backoff_ms(3, 1000, 60000, UINT64_MAX), 4000);
	CHECK_EQ_INT(policy_backoff_ms(6, 1000, 60000, UINT64_MAX), 32000);
	CHECK_EQ_INT(policy_backoff_ms(7, 1000, 60000, UINT64_MAX), 60000);
	CHECK_EQ_INT(policy_backoff_ms(7, 1000, 60000, 0), 0);
	CHECK_EQ_INT(policy_backoff_ms(1, 1000, 60000, UINT64_C(1) << 63), 500);
	/* huge attempts neither overflow nor exceed the cap */
	CHECK_EQ_INT(policy_backoff_ms(64, 1000, 60000, UINT64_MAX), 60000);
	CHECK_EQ_INT(policy_backoff_ms(1000000, 1000, 60000, UINT64_MAX), 60000);
	CHECK_EQ_INT(policy_backoff_ms(INT_MAX, 1000, 60000, UINT64_MAX), 60000);
	CHECK_EQ_INT(policy_backoff_ms(1000000, INT64_MAX, INT64_MAX, UINT64_MAX), INT64_MAX);
	CHECK_EQ_INT(policy_backoff_ms(1, INT64_MAX, INT64_MAX, UINT64_MAX), INT64_MAX);
	CHECK_EQ_INT(policy_backoff_ms(2, INT64_MAX / 2 + 1, INT64_MAX, UINT64_MAX), INT64_MAX);
	/* attempt < 1 counts as 1; degenerate base or cap give 0 */
	CHECK_EQ_INT(policy_backoff_ms(0, 1000, 60000, UINT64_MAX), 1000);
	CHECK_EQ_INT(policy_backoff_ms(-5, 1000, 60000, UINT64_MAX), 1000);
	CHECK_EQ_INT(policy_backoff_ms(3, 0, 60000, UINT64_MAX), 0);
	CHECK_EQ_INT(policy_backoff_ms(3, 1000, 0, UINT64_MAX), 0);
	CHECK_EQ_INT(policy_backoff_ms(1, 1000, 500, UINT64_MAX), 500);

	/* bounds hold for arbitrary rnd, and the spread covers the range */
	for (attempt = 1; attempt <= 12; attempt++) {
		int64_t ceiling = (int64_t)1000 << (attempt - 1);
		int64_t lo = INT64_MAX, hi = -1;

		if (ceiling > 60000)
			ceiling = 60000;
		for (i = 0; i < 2000; i++) {
			int64_t d;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			d = policy_backoff_ms(attempt, 1000, 60000, x);
			if (d < lo)
				lo = d;
			if (d > hi)
				hi = d;
		}
		CHECK(lo >= 0);
		CHECK(hi <= ceiling);
		CHECK(lo < ceiling / 10);
		CHECK(hi > ceiling - ceiling / 10);
	}
}

TEST(retry_after_seconds)
{
	CHECK_EQ_INT(policy_retry_after_ms("120", NOW_1994, BIG_CAP), 120000);
	CHECK_EQ_INT(policy_retry_after_ms(" 5 ", NOW_1994, BIG_CAP), 5000);
	CHECK_EQ_INT(policy_retry_after_ms("\t7\t", NOW_1994, BIG_CAP), 7000);
	CHECK_EQ_INT(policy_retry_after_ms("30\r\n", NOW_1994, BIG_CAP), 30000);
	CHECK_EQ_INT(policy_retry_after_ms("0", NOW_1994, BIG_CAP), 0);
	CHECK_EQ_INT(policy_retry_after_ms("007", NOW_1994, BIG_CAP), 7000);
	CHECK_EQ_INT(policy_retry_after_ms("-5", NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms("+5", NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms("abc", NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms("1e3", NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms("1.5", NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms("5 5", NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms("12abc", NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms("", NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms("   ", NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms(NULL, NOW_1994, BIG_CAP), -1);
	CHECK_EQ_INT(policy_retry_after_ms("1000000000", NOW_1994, 3600000), 3600000);
	CHECK_EQ_INT(policy_retry_after_ms("1000000000", NOW_1994, BIG_CAP), INT64_C(1000000000000));
	CHECK_EQ_INT(policy_retry_after_ms("99999999999999999999999999", NOW_1994, 3600000),
		     3600000);
	CHECK_EQ_INT(policy_retry_after_ms("99999999999999999999999999", NOW_1994, INT64_MAX),
		     INT64_MAX);
	CHECK_EQ_INT(policy_retry_after_ms("10", NOW_1994, -1), 0);
}

TEST(retry_after_dates)
{
	/* IMF-fixdate */
	CHECK_EQ_INT(policy_retry_after_ms("Sun, 06 Nov 1994 08:51:37 GMT", NOW_1994, BIG_CAP),
		     120000);
	CHECK_EQ_INT(policy_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", NOW_1994, BIG_CAP), 0);
	CHECK_EQ_INT(policy_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", NOW_1994, BIG_CAP), 0);
	CHECK_EQ_INT(policy_retry_after_ms("Sat, 01 Jan 1994 00:00:00 GMT", NOW_1994, BIG_CAP), 0);
	CHECK_EQ_INT(policy_retry_after_ms("Mon, 07 Nov 1994 08:49:37 GMT", NOW_1994, BIG_CAP),
		     86400000);
	CHECK_EQ_INT(policy_retry_after_ms("  Mon, 07 Nov 1994 08:49:37 GMT  ", NOW_1994, 1000),
		     1000);
	CHECK_EQ_INT(policy_retry_after_ms("sun, 06 nov 1994 08:49:47 GMT", NOW_1994, BIG_CAP),
		     10000);
	/* RFC 850 */
	CHECK_EQ_INT(policy_retry_after_ms("Sunday, 06-Nov-94 08:50:37 GMT", NOW_1994, BIG_CAP),
		     60000);
	CHECK_EQ_INT(policy_retry_after_ms("Sunday, 06-Nov-94 08:00:00 GMT", NOW_1994, BIG_CAP), 0);
	/* two-digit years: within 50 years ahead -> this century, else the previous one */
	CHECK_EQ_INT(policy_retry_after_ms("Tuesday, 01-Jan-30 00:00:00 GMT", NOW_2024, INT64_MAX),
		     INT64_C(1893456000000) - NOW_2024);
	CHECK_EQ_INT(policy_retry_after_ms("Tuesday, 01-Jan-80 00:00:00 GMT", NOW_2024, INT64_MAX),
		     0);
	/* asctime */
	CHECK_EQ_INT(policy_retry_after_ms("Sun Nov  6 08:49:47 1994", NOW_1994, BIG_CAP), 10000);
	CHECK_EQ_INT(policy_retry_after_ms("Sun Nov  6 08:00:00 1994", NOW_1994, BIG_CAP), 0);
	CHECK_EQ_INT(policy_retry_after_ms("Thu Nov 10 08:49:37 1994", NOW_1994, BIG_CAP),
		     4 * 86400000);
	/* leap day */
	CHECK_EQ_INT(policy_retry_after_ms("Thu, 29 Feb 2024 12:00:10 GMT", NOW_2024, BIG_CAP),
		     10000);
	CHECK_EQ_INT(policy_retry_after_ms("Thu, 29 Feb 2024 12:00:60 GMT", NOW_2024, BIG_CAP),
		     60000);
	/* a date before the epoch is in the past */
	CHECK_EQ_INT(policy_retry_after_ms("Thu, 01 Jan 1900 00:00:00 GMT", NOW_1994, BIG_CAP), 0);
}

TEST(retry_after_bad_dates)
{
	static const char *const bad[] = {
		"Sun, 30 Feb 1994 08:49:37 GMT",     /* no Feb 30 */
		"Wed, 29 Feb 2023 08:49:37 GMT",     /* not a leap year */
		"Sun, 29 Feb 1900 08:49:37 GMT",     /* 1900 was not a leap year */
		"Sun, 06 Nov 1994 25:49:37 GMT",     /* hour 25 */
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:37 GMT",
		"Sun, 06 Nov 1994 08:49:61 GMT",
		"Sun, 00 Nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 06 Foo 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 06 Nov 1994 08:49:37 GMT x",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun,06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06-Nov-94 08:49:37 GMT",
		"Sunday, 32-Nov-94 08:49:37 GMT",
		"Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994",
		"Sun Nov  6 08:49:37 94",
		"Sun Nov 31 08:49:37 1994",
		"Sun Nov  6 8:49:37 1994",
		"Sun",
		"Sun,",
		"GMT",
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!CHECK_EQ_INT(policy_retry_after_ms(bad[i], NOW_1994, BIG_CAP), -1))
			fprintf(stderr, "  value \"%s\"\n", bad[i]);
}

/*
 * Drives the throttle the way the event loop would, with a queue that always
 * has work: at each ms from start to end, take slots while ready.  Returns the
 * number of takes; *min_gap the smallest gap between two takes.
 */
static int drive(struct throttle *t, int64_t start, int64_t end, int64_t *min_gap,
		 int64_t *first)
{
	int64_t now, last = INT64_MIN;
	int n = 0;

	*min_gap = INT64_MAX;
	*first = -1;
	for (now = start; now < end; now++) {
		while (throttle_ready_at(t, now) <= now) {
			if (last != INT64_MIN && now - last < *min_gap)
				*min_gap = now - last;
			if (*first < 0)
				*first = now;
			last = now;
			throttle_take(t, now);
			n++;
			if (n > 100000)
				return n;
		}
	}
	return n;
}

TEST(throttle_even_spacing)
{
	struct throttle t;
	int64_t gap, first;
	int n;

	throttle_init(&t, 10);
	CHECK_NEAR(t.rate_now, 10, 0);
	n = drive(&t, 1000000, 1001000, &gap, &first);
	CHECK_EQ_INT(n, 10);
	CHECK_EQ_INT(gap, 100);
	CHECK_EQ_INT(first, 1000000);

	/* ten seconds idle, then a full queue: still one every 100 ms, no burst */
	n = drive(&t, 1011000, 1012000, &gap, &first);
	CHECK_EQ_INT(n, 10);
	CHECK_EQ_INT(gap, 100);
	CHECK_EQ_INT(first, 1011000);

	/* a rate that is not a whole number of ms per request */
	throttle_init(&t, 3);
	n = drive(&t, 0, 10000, &gap, &first);
	CHECK_EQ_INT(n, 30);
	CHECK(gap >= 333);

	/* a rate above one per ms is honoured on average */
	throttle_init(&t, 1500);
	n = drive(&t, 0, 1000, &gap, &first);
	CHECK(n >= 1499 && n <= 1501);

	/* unlimited never holds anything back */
	throttle_init(&t, 0);
	CHECK(throttle_ready_at(&t, 5) <= 5);
	throttle_take(&t, 5);
	throttle_take(&t, 5);
	CHECK(throttle_ready_at(&t, 5) <= 5);
	throttle_init(&t, -3);
	CHECK_NEAR(t.rate_max, 0, 0);
}

TEST(throttle_pause)
{
	struct throttle t;
	int64_t T = 5000000;

	throttle_init(&t, 10);
	throttle_complain(&t, T, 5000, 0);
	CHECK_EQ_INT(throttle_ready_at(&t, T), T + 5000);
	CHECK(throttle_ready_at(&t, T + 4999) > T + 4999);
	CHECK(throttle_ready_at(&t, T + 5000) <= T + 5000);
	/* a shorter pause never shortens the current one */
	throttle_complain(&t, T + 10, 100, 0);
	CHECK_EQ_INT(throttle_ready_at(&t, T + 10), T + 5000);
	/* a longer one extends it */
	throttle_complain(&t, T + 20, 8000, 0);
	CHECK_EQ_INT(throttle_ready_at(&t, T + 20), T + 8020);

	/* default pause: 1 s, then 2 s, 4 s, ... per burst, capped at 60 s */
	throttle_init(&t, 10);
	throttle_complain(&t, T, -1, 0);
	CHECK_EQ_INT(t.paused_until_ms, T + 1000);
	throttle_complain(&t, T + 500, -1, 0); /* same burst */
	CHECK_EQ_INT(t.paused_until_ms, T + 1500);
	throttle_complain(&t, T + 3000, -1, 0);
	CHECK_EQ_INT(t.paused_until_ms, T + 5000);
	throttle_complain(&t, T + 6000, -1, 0);
	CHECK_EQ_INT(t.paused_until_ms, T + 10000);
	T += 6000;
	for (int i = 0; i < 20; i++) {
		T += 70000;
		throttle_complain(&t, T, -1, 0);
	}
	CHECK_EQ_INT(t.paused_until_ms, T + 60000);
	/* a success resets the escalation */
	throttle_success(&t, T + 61000);
	CHECK_EQ_INT(t.complaints, 0);
	throttle_complain(&t, T + 62000, -1, 0);
	CHECK_EQ_INT(t.paused_until_ms, T + 63000);

	/* after the pause, requests resume spaced at the (cut) rate, not in a burst */
	{
		int64_t gap, first;
		int n;

		throttle_init(&t, 10);
		throttle_complain(&t, 0, 2000, 0);
		n = drive(&t, 0, 3000, &gap, &first);
		CHECK_EQ_INT(first, 2000);
		CHECK_EQ_INT(n, 5);
		CHECK_EQ_INT(gap, 200);
	}
}

TEST(throttle_halves_once_per_burst)
{
	struct throttle t;
	int64_t T = 100000;
	int i;

	throttle_init(&t, 10);
	throttle_complain(&t, T, -1, 0);
	CHECK_NEAR(t.rate_now, 5, 1e-9);
	throttle_complain(&t, T + 100, -1, 0);
	throttle_complain(&t, T + 900, -1, 0);
	throttle_complain(&t, T + 1800, -1, 0); /* 900 ms after the previous: same burst */
	CHECK_NEAR(t.rate_now, 5, 1e-9);
	throttle_complain(&t, T + 2800, -1, 0); /* 1 s of silence: a new burst */
	CHECK_NEAR(t.rate_now, 2.5, 1e-9);
	for (i = 0; i < 20; i++)
		throttle_complain(&t, T + 5000 + 2000 * i, -1, 0);
	CHECK_NEAR(t.rate_now, 0.1, 1e-9);

	/* a configured rate below the floor is not raised by a cut */
	throttle_init(&t, 0.05);
	throttle_complain(&t, T, -1, 0);
	CHECK_NEAR(t.rate_now, 0.05, 1e-12);
}

TEST(throttle_recovery)
{
	struct throttle t;
	int64_t T = 1000000, now, last_change = -1;
	double prev;
	int changes = 0, too_close = 0, decreased = 0, over = 0;

	throttle_init(&t, 10);
	throttle_complain(&t, T, -1, 0);
	CHECK_NEAR(t.rate_now, 5, 1e-9);
	prev = t.rate_now;
	for (now = T + 100; now <= T + 60000; now += 100) {
		throttle_success(&t, now);
		if (t.rate_now != prev) {
			if (now < T + 5000)
				too_close++;
			if (last_change >= 0 && now - last_change < 1000)
				too_close++;
			if (t.rate_now < prev)
				decreased++;
			if (t.rate_now > 10)
				over++;
			if (changes == 0)
				CHECK_EQ_INT(now, T + 5000);
			changes++;
			last_change = now;
			prev = t.rate_now;
		}
	}
	CHECK_EQ_INT(too_close, 0);
	CHECK_EQ_INT(decreased, 0);
	CHECK_EQ_INT(over, 0);
	CHECK(changes >= 5);    /* gradual: several steps from 5 back to 10 */
	CHECK_NEAR(t.rate_now, 10, 0);

	/* steps are +10%, at least +0.5/s */
	throttle_init(&t, 100);
	throttle_complain(&t, 0, -1, 0);
	throttle_complain(&t, 2000, -1, 0);
	throttle_complain(&t, 4000, -1, 0);
	throttle_complain(&t, 6000, -1, 0);
	CHECK_NEAR(t.rate_now, 6.25, 1e-9);
	throttle_success(&t, 11000);
	CHECK_NEAR(t.rate_now, 6.875, 1e-9);
	throttle_init(&t, 1);
	throttle_complain(&t, 0, -1, 0);
	throttle_success(&t, 5000);
	CHECK_NEAR(t.rate_now, 1, 1e-9); /* 0.5 + 0.5, capped at rate_max */

	/* a complaint restarts the quiet period */
	throttle_init(&t, 10);
	throttle_complain(&t, 0, -1, 0);
	throttle_success(&t, 4000);
	throttle_complain(&t, 4500, 0, 0);
	CHECK_NEAR(t.rate_now, 2.5, 1e-9);
	throttle_success(&t, 9000);
	CHECK_NEAR(t.rate_now, 2.5, 1e-9);
	throttle_success(&t, 9500);
	CHECK_NEAR(t.rate_now, 3.0, 1e-9);
}

TEST(throttle_unlimited_cycle)
{
	struct throttle t;
	int64_t now, back = -1;
	int64_t gap, first;

	throttle_init(&t, 0);
	throttle_complain(&t, 0, 1000, 40);
	CHECK_NEAR(t.rate_now, 36, 1e-9); /* 90% of what the host accepted */
	CHECK_EQ_INT(throttle_ready_at(&t, 0), 1000);
	/* once cut, requests are spaced at the new rate */
	CHECK_EQ_INT(drive(&t, 1000, 2000, &gap, &first), 36);
	CHECK_EQ_INT(gap, 27);
	/* a second burst cuts again: 90% of the observed 40/s, below the 36/s sent */
	throttle_complain(&t, 3000, 0, 40);
	CHECK_NEAR(t.rate_now, 32.4, 1e-9);
	/* a host that accepts far less than we send: one cut never more than halves */
	throttle_init(&t, 0);
	throttle_complain(&t, 0, 0, 200);
	CHECK_NEAR(t.rate_now, 180, 1e-9);
	throttle_complain(&t, 2000, 0, 10);
	CHECK_NEAR(t.rate_now, 90, 1e-9);
	throttle_complain(&t, 4000, 0, 10);
	CHECK_NEAR(t.rate_now, 45, 1e-9);
	throttle_init(&t, 0);
	throttle_complain(&t, 0, 1000, 40);
	throttle_complain(&t, 3000, 0, 40);
	/* recovery: back to unlimited once past 4 x 40/s */
	for (now = 3100; now <= 120000; now += 100) {
		throttle_success(&t, now);
		if (t.rate_now == 0) {
			back = now;
			break;
		}
		CHECK(t.rate_now <= 160 + 1e-9);
	}
	CHECK(back > 8000);
	CHECK(back < 60000);
	CHECK_NEAR(t.rate_now, 0, 0);
	CHECK(throttle_ready_at(&t, back) <= back);
	CHECK_EQ_INT(drive(&t, back, back + 10, &gap, &first), 100001);

	/* unknown observed rate: cut to 0.5/s */
	throttle_init(&t, 0);
	throttle_complain(&t, 0, -1, 0);
	CHECK_NEAR(t.rate_now, 0.5, 1e-9);
	throttle_init(&t, 0);
	throttle_complain(&t, 0, -1, 0.1);
	CHECK_NEAR(t.rate_now, 0.1, 1e-9);
}

/* Found by reading: a time near INT64_MAX made a double too large for int64. */
TEST(throttle_far_future)
{
	struct throttle t;

	throttle_init(&t, 1);
	throttle_take(&t, INT64_MAX);
	CHECK(throttle_ready_at(&t, INT64_MAX) >= 0);
}

TEST(host_failure_table)
{
	int s;

	for (s = 100; s <= 599; s++)
		CHECK_EQ_INT(policy_host_failure(s, XE_NONE), s == 500 || s == 502 || s == 503 || s == 504);
	CHECK_EQ_INT(policy_host_failure(0, XE_CONNECT), 1);
	CHECK_EQ_INT(policy_host_failure(0, XE_TIMEOUT), 1);
	CHECK_EQ_INT(policy_host_failure(200, XE_TRUNCATED), 1);
	CHECK_EQ_INT(policy_host_failure(0, XE_OTHER), 1);
	/* the item's fault, not the host's */
	CHECK_EQ_INT(policy_host_failure(200, XE_TOO_LARGE), 0);
	CHECK_EQ_INT(policy_host_failure(200, XE_INVALID_JSON), 0);
	CHECK_EQ_INT(policy_host_failure(301, XE_REDIRECTS), 0);
	CHECK_EQ_INT(policy_host_failure(0, XE_TLS), 0);
}

TEST(throttle_outage)
{
	struct throttle t;
	int64_t now = 1000000, prev_ceiling = 0;
	int i, outage;

	throttle_init(&t, 0);
	/* four failures in a row: still up */
	for (i = 1; i < THROTTLE_OUTAGE_AFTER; i++)
		CHECK_EQ_INT(throttle_failure(&t, now, 0), 0);
	CHECK(throttle_ready_at(&t, now) <= now);
	CHECK_EQ_INT(t.probing, 0);
	/* a good answer in between starts the count again */
	throttle_answered(&t);
	for (i = 1; i < THROTTLE_OUTAGE_AFTER; i++)
		CHECK_EQ_INT(throttle_failure(&t, now, 0), 0);
	/* the fifth in a row: down, paused for 0.5..1 s, then probing */
	CHECK_EQ_INT(throttle_failure(&t, now, 0), 1);
	CHECK_EQ_INT(throttle_ready_at(&t, now), now + 500);
	CHECK_EQ_INT(t.probing, 1);
	/* the other requests in flight fail during the pause: nothing changes */
	for (i = 0; i < 100; i++)
		CHECK_EQ_INT(throttle_failure(&t, now + 10, UINT64_MAX), 0);
	CHECK_EQ_INT(throttle_ready_at(&t, now), now + 500);
	CHECK_EQ_INT(t.outages, 1);
	/* each failed probe doubles the pause, up to the cap; the jitter spans the upper half */
	for (outage = 1; outage < 12; outage++) {
		int64_t ceiling = (int64_t)1000 << outage, at_least, at_most;

		if (ceiling > THROTTLE_PROBE_MAX_MS)
			ceiling = THROTTLE_PROBE_MAX_MS;
		now = t.paused_until_ms;
		CHECK_EQ_INT(throttle_failure(&t, now, outage & 1 ? UINT64_MAX : 0), 1);
		at_least = now + ceiling / 2;
		at_most = now + ceiling;
		CHECK_EQ_INT(throttle_ready_at(&t, now), outage & 1 ? at_most : at_least);
		CHECK(ceiling >= prev_ceiling);
		prev_ceiling = ceiling;
	}
	CHECK_EQ_INT(prev_ceiling, THROTTLE_PROBE_MAX_MS);
	/* the probe is answered: up again, and the next outage starts at 1 s */
	throttle_answered(&t);
	CHECK_EQ_INT(t.probing, 0);
	CHECK_EQ_INT(t.outages, 0);
	now = t.paused_until_ms;
	for (i = 1; i < THROTTLE_OUTAGE_AFTER; i++)
		CHECK_EQ_INT(throttle_failure(&t, now, 0), 0);
	CHECK_EQ_INT(throttle_failure(&t, now, UINT64_MAX), 1);
	CHECK_EQ_INT(throttle_ready_at(&t, now), now + 1000);
	/* far future: no overflow */
	throttle_init(&t, 0);
	for (i = 0; i < THROTTLE_OUTAGE_AFTER; i++)
		throttle_failure(&t, INT64_MAX - 10, UINT64_MAX);
	CHECK_EQ_INT(t.paused_until_ms, INT64_MAX);
}

int main(void)
{
	RUN(classify_status_table);
	RUN(classify_transfer_errors);
	RUN(decide_max_attempts);
	RUN(backoff);
	RUN(retry_after_seconds);
	RUN(retry_after_dates);
	RUN(retry_after_bad_dates);
	RUN(throttle_even_spacing);
	RUN(throttle_pause);
	RUN(throttle_halves_once_per_burst);
	RUN(throttle_recovery);
	RUN(throttle_unlimited_cycle);
	RUN(throttle_far_future);
	RUN(host_failure_table);
	RUN(throttle_outage);
	return unit_done();
}
