/*
 * fuzz_response.c - what on_done (runner.c) does with one finished
 * transfer, without a network: classify it (policy_decide), read its
 * Retry-After, extract the fields of a 2xx, and drive the host's throttle.
 *
 * Input layout (zero-padded when short):
 *   0-1   HTTP status, big-endian (0..65535: out-of-range ones included)
 *   2     transfer error, modulo the number of enum xfer_error values
 *   3     attempts made before this one
 *   4     max_attempts (1..256)
 *   5     the host's configured rate (an index into a table of settings)
 *   6     length of the Retry-After value (255: no header)
 *   7     number of throttle steps that follow the response
 *   ...   the Retry-After value
 *   ...   4 bytes per throttle step: the step's kind and observed rate
 *         (1 byte), then how far the clock moves (3 bytes; backwards in one
 *         step out of eight, as a wall clock may)
 *   rest  the body, not NUL-terminated (it ends where libFuzzer's buffer does)
 *
 * Invariants (policy.h, extract.h):
 *   - the verdict is DONE, RETRY or FAIL, has a reason, slows the host
 *     exactly for 429 and 503, and never says RETRY once attempts reach
 *     max_attempts; without a transfer error, 2xx is DONE;
 *   - a 2xx whose body does not parse fails as XE_INVALID_JSON would;
 *   - extractor_run returns 0, EXTRACT_EINVAL or EXTRACT_ETOOBIG, with only VAL_NULLs
 *     on error;
 *   - the Retry-After delay is -1 or within [0, 24 h];
 *   - the throttle: rate_now is never negative or NaN; with a configured
 *     rate 0 < rate_now <= rate_max; a limited rate is never below the
 *     0.1/s floor (or the configured rate when that is lower); a pause is
 *     never shortened, a complaint pauses until at least now + its pause
 *     (1 s by default); throttle_ready_at is never before the pause ends,
 *     so never before now while paused.
 */
#include "fuzz.h"

#include <math.h>

#include "extract.h"
#include "policy.h"

#define RETRY_AFTER_CAP_MS (24LL * 3600 * 1000) /* as runner.c */
#define NFIELDS 3

static struct extractor *fields;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const names[NFIELDS] = { "id", "title", "last" };
	static const char *const paths[NFIELDS] = { "$.id", "$.data[0].\"title\"", "$.items[#-1]" };
	char err[256];

	(void)argc;
	(void)argv;
	if (extractor_new(&fields, NFIELDS, names, paths, err, sizeof(err))) {
		fprintf(stderr, "fuzz_response: %s\n", err);
		abort();
	}
	return 0;
}

/* Rates a user can configure (parse_rate: 1/h .. 1e6/s, or unlimited). */
static const double rates[16] = {
	0, 1.0 / 3600, 1.0 / 60, 0.05, 0.1, 0.5, 1, 2.5, 3, 10, 50, 100, 1000, 1500, 100000, 1e6,
};

/* Observed success rates a host may show, hostile ones included. */
static const double observed[8] = { 0, 0.3, 1, 7.5, 250, 1e6, -1, NAN };

static void check_verdict(struct verdict v, int status, enum xfer_error xe, int attempts, int max)
{
	FUZZ_CHECK(v.outcome == OUTCOME_DONE || v.outcome == OUTCOME_RETRY || v.outcome == OUTCOME_FAIL,
		   "outcome %d", (int)v.outcome);
	FUZZ_CHECK(v.reason != NULL && *v.reason != '\0', "no reason");
	FUZZ_CHECK(v.slows_host == (status == 429 || status == 503), "slows_host %d for %d",
		   v.slows_host, status);
	FUZZ_CHECK(!(v.outcome == OUTCOME_RETRY && attempts >= max), "retry after %d of %d attempts",
		   attempts, max);
	if (xe == XE_NONE && status >= 200 && status <= 299)
		FUZZ_CHECK(v.outcome == OUTCOME_DONE, "%d is not done", status);
	if (xe == XE_NONE && (status < 100 || status > 599) && status != 0)
		FUZZ_CHECK(v.outcome == OUTCOME_FAIL, "status %d out of range not failed", status);
}

/* What a rate a throttle may hold looks like, whatever happened before. */
static void check_throttle(const struct throttle *t, int64_t now, int64_t paused_before)
{
	double floor_rate = t->rate_max > 0 && t->rate_max < 0.1 ? t->rate_max : 0.1;
	int64_t at = throttle_ready_at(t, now);

	FUZZ_CHECK(!isnan(t->rate_now) && t->rate_now >= 0, "rate_now %g", t->rate_now);
	if (t->rate_max > 0)
		FUZZ_CHECK(t->rate_now > 0 && t->rate_now <= t->rate_max, "rate_now %g, rate_max %g",
			   t->rate_now, t->rate_max);
	if (t->rate_now > 0)
		FUZZ_CHECK(t->rate_now >= floor_rate, "rate_now %g below the floor", t->rate_now);
	FUZZ_CHECK(t->paused_until_ms >= paused_before, "pause shortened from %lld to %lld",
		   (long long)paused_before, (long long)t->paused_until_ms);
	FUZZ_CHECK(at >= t->paused_until_ms, "ready at %lld inside the pause until %lld",
		   (long long)at, (long long)t->paused_until_ms);
	if (t->paused_until_ms > now)
		FUZZ_CHECK(at > now, "ready at %lld before now %lld while paused", (long long)at,
			   (long long)now);
}

/* A complaint at now must pause until now + pause at least (saturating). */
static void complain(struct throttle *t, int64_t now, int64_t pause_ms, double rate)
{
	int64_t before = t->paused_until_ms;
	int64_t least = pause_ms < 0 ? 1000 : pause_ms;

	throttle_complain(t, now, pause_ms, rate);
	FUZZ_CHECK(t->paused_until_ms >= (now > INT64_MAX - least ? INT64_MAX : now + least),
		   "complaint at %lld (pause %lld) pauses only until %lld", (long long)now,
		   (long long)pause_ms, (long long)t->paused_until_ms);
	check_throttle(t, now, before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	int status = (int)fuzz_take(&in, 2);
	enum xfer_error xe = (enum xfer_error)(fuzz_take(&in, 1) % (XE_OTHER + 1));
	int attempts = (int)fuzz_take(&in, 1) + 1, max = (int)fuzz_take(&in, 1) + 1;
	double rate_max = rates[fuzz_take(&in, 1) % 16];
	size_t ralen = (size_t)fuzz_take(&in, 1), nsteps = (size_t)fuzz_take(&in, 1), i;
	char *retry_after = NULL, err[256];
	struct value out[NFIELDS];
	struct throttle t;
	struct verdict v;
	int64_t now = 1700000000000LL, ra_ms, before;
	int rc;

	if (ralen != 255) {
		ralen = ralen < in.n ? ralen : in.n;
		retry_after = fuzz_strndup(in.p, ralen);
		in.p += ralen, in.n -= ralen;
	}

	/* classify, as on_done does */
	ra_ms = policy_retry_after_ms(retry_after, now, RETRY_AFTER_CAP_MS);
	FUZZ_CHECK(ra_ms == -1 || (ra_ms >= 0 && ra_ms <= RETRY_AFTER_CAP_MS), "Retry-After %lld",
		   (long long)ra_ms);
	FUZZ_CHECK(retry_after != NULL || ra_ms == -1, "a delay without a header");
	v = policy_decide(status, xe, attempts, max);
	check_verdict(v, status, xe, attempts, max);

	/* the steps come before the body; the body is what is left after them */
	{
		struct fuzz_in steps = in;
		size_t take = nsteps * 4 < in.n ? nsteps * 4 : in.n;

		in.p += take, in.n -= take;
		memset(out, 0x5a, sizeof(out));
		rc = extractor_run(fields, (const char *)in.p, in.n, out, err, sizeof(err));
		FUZZ_CHECK(rc == 0 || rc == EXTRACT_EINVAL || rc == EXTRACT_ETOOBIG, "extractor_run returned %d", rc);
		for (i = 0; i < NFIELDS; i++) {
			if (rc != 0)
				FUZZ_CHECK(out[i].type == VAL_NULL && out[i].s == NULL, "value after an error");
			else if (out[i].type == VAL_TEXT)
				FUZZ_CHECK(out[i].s != NULL && strlen(out[i].s) == out[i].len, "bad text");
			value_release(&out[i]);
		}
		if (v.outcome == OUTCOME_DONE && rc != 0) {
			v = policy_decide(status, XE_INVALID_JSON, attempts, max);
			check_verdict(v, status, XE_INVALID_JSON, attempts, max);
			FUZZ_CHECK(v.outcome == OUTCOME_FAIL, "invalid JSON not failed");
		}

		/* the host's throttle: the response, then the steps */
		throttle_init(&t, rate_max);
		check_throttle(&t, now, THROTTLE_NEVER);
		if (status == 429 || status == 503)
			complain(&t, now, retry_after ? ra_ms : -1, observed[status & 7]);
		else if (status > 0)
			throttle_success(&t, now), check_throttle(&t, now, THROTTLE_NEVER);
		for (i = 0; i < nsteps && steps.n >= 4; i++) {
			int op = (int)fuzz_take(&steps, 1);
			int64_t delta = (int64_t)fuzz_take(&steps, 3);

			now += (op & 0xe0) == 0xe0 ? -delta : delta;
			before = t.paused_until_ms;
			switch (op & 3) {
			case 0:
				complain(&t, now, (op & 4) ? -1 : (delta * 7) % RETRY_AFTER_CAP_MS,
					 observed[(op >> 2) & 7]);
				break;
			case 1:
				throttle_success(&t, now);
				check_throttle(&t, now, before);
				break;
			case 2:
				/* a request starts when the throttle allows it (or, bit 2, anyway) */
				if ((op & 4) || throttle_ready_at(&t, now) <= now)
					throttle_take(&t, now);
				check_throttle(&t, now, before);
				break;
			default:
				check_throttle(&t, now, before);
			}
		}
	}
	free(retry_after);
	return 0;
}
