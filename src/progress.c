/*
 * progress.c - progress line and status report.  Pure formatting: the
 * figures come from the caller; nothing here reads the clock except through
 * its arguments, and nothing here touches the store.
 */
#include "progress.h"
#include "util.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

void format_duration(char *out, size_t len, int64_t ms)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		ms = 0, s = 0;
	if (ms < 1000)
		snprintf(out, len, "%lldms", (long long)ms);
	else if (s < 60)
		snprintf(out, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(out, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(out, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(out, len, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

void format_time(char *out, size_t len, int64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

void progress_init(struct progress *p, FILE *f)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->tty = isatty(fileno(f));
	p->last_ms = -1000000;
}

static void eta_text(char *out, size_t len, const struct progress_figures *fig)
{
	int64_t left = fig->counts.n[ST_READY] + fig->counts.n[ST_INFLIGHT];

	if (!left)
		snprintf(out, len, "0s");
	else if (fig->rate <= 0.01)
		snprintf(out, len, "unknown");
	else
		format_duration(out, len, (int64_t)(left / fig->rate * 1000));
}

void progress_update(struct progress *p, const struct progress_figures *fig, int64_t mono_now, int force)
{
	const struct store_counts *c = &fig->counts;
	int64_t every = p->tty ? 250 : 10000;
	char eta[32];
	double pct;

	if (trawl_quiet || (!force && mono_now - p->last_ms < every))
		return;
	p->last_ms = mono_now;
	pct = c->total ? 100.0 * (double)c->n[ST_DONE] / (double)c->total : 0;
	eta_text(eta, sizeof(eta), fig);
	fprintf(p->f, "%s%lld/%lld done (%.1f%%), %lld failed, %.1f items/s, ETA %s, %lld in flight, "
		      "%lld retries waiting, %d host%s paused%s",
		p->tty ? "\r" : "", (long long)c->n[ST_DONE], (long long)c->total, pct,
		(long long)c->n[ST_FAILED], fig->rate, eta, (long long)fig->inflight,
		(long long)c->retry_waiting, fig->hosts_paused, fig->hosts_paused == 1 ? "" : "s",
		p->tty ? "\033[K" : "\n");
	fflush(p->f);
	p->drawn = p->tty;
}

void progress_end(struct progress *p)
{
	if (p->drawn)
		fputc('\n', p->f);
	p->drawn = 0;
}

static const char *run_state(const struct status_report *r)
{
	if (!r->have_run)
		return "never run";
	if (r->run_alive)
		return "running";
	if (!r->run.ended_at)
		return "died";
	return r->run.outcome[0] ? r->run.outcome : "ended";
}

void status_print_text(FILE *f, const struct status_report *r)
{
	const struct store_counts *c = &r->counts;
	char a[64], b[64];
	size_t i;

	fprintf(f, "crawl:     %s\n", r->path);
	fprintf(f, "items:     %lld total, %lld done (%.1f%%), %lld failed, %lld ready, %lld in flight\n",
		(long long)c->total, (long long)c->n[ST_DONE],
		c->total ? 100.0 * (double)c->n[ST_DONE] / (double)c->total : 0.0,
		(long long)c->n[ST_FAILED], (long long)c->n[ST_READY], (long long)c->n[ST_INFLIGHT]);
	if (c->retry_waiting) {
		format_duration(a, sizeof(a), c->next_due_at - r->now);
		fprintf(f, "retries:   %lld waiting, next due in %s\n", (long long)c->retry_waiting, a);
	} else {
		fprintf(f, "retries:   none waiting\n");
	}
	if (r->have_run) {
		format_time(a, sizeof(a), r->run.started_at);
		fprintf(f, "run:       %s (pid %lld, started %s", run_state(r), (long long)r->run.pid, a);
		if (r->run_alive) {
			struct progress_figures fig = { .counts = *c, .rate = r->run.stats.rate };

			format_duration(b, sizeof(b), r->now - r->run.heartbeat_at);
			eta_text(a, sizeof(a), &fig);
			fprintf(f, ", last heartbeat %s ago)\n", b);
			fprintf(f, "pace:      %.1f items/s, ETA %s, %lld in flight\n", r->run.stats.rate, a,
				(long long)r->run.stats.inflight);
		} else if (r->run.ended_at) {
			format_time(b, sizeof(b), r->run.ended_at);
			fprintf(f, ", ended %s)\n", b);
		} else {
			format_time(b, sizeof(b), r->run.heartbeat_at);
			fprintf(f, ", last heartbeat %s; run again to resume)\n", b);
		}
		fprintf(f, "last run:  %lld requests, %lld done, %lld failed, %lld retried\n",
			(long long)r->run.stats.requests, (long long)r->run.stats.done,
			(long long)r->run.stats.failed, (long long)r->run.stats.retried);
	} else {
		fprintf(f, "run:       never run (start with: trawl run %s)\n", r->path);
	}
	fputs("rate:      ", f);
	for (i = 0; i < 3; i++) {
		static const char *const label[] = { "1 min", "5 min", "15 min" };

		if (r->rate[i] < 0)
			fprintf(f, "%s%s n/a", i ? ", " : "", label[i]);
		else
			fprintf(f, "%s%s %.1f/s", i ? ", " : "", label[i], r->rate[i]);
	}
	fputs(" (items finished per second)\n", f);
	if (r->nrecent) {
		fputs("outcomes: ", f);
		for (i = 0; i < r->nrecent; i++) {
			const struct outcome_count *o = &r->recent[i];

			fprintf(f, "%s %lld ", i ? "," : "", (long long)o->n);
			if (o->http_status)
				fprintf(f, "http %d", o->http_status);
			/* a retried HTTP status carries "http NNN" as its error: say it once */
			if (o->error[0] && !(o->http_status && !strncmp(o->error, "http ", 5)))
				fprintf(f, "%s%s", o->http_status ? " " : "", o->error);
		}
		fprintf(f, " (of the last %d attempts at most)\n", r->recent_window);
	}
	for (i = 0; i < r->nhosts; i++) {
		const struct host_state *h = &r->hosts[i];

		if (h->rate_now > 0)
			snprintf(a, sizeof(a), "%.1f/s allowed", h->rate_now);
		else
			snprintf(a, sizeof(a), "no rate limit");
		fprintf(f, "host:      %s: %s", h->host, a);
		if (h->paused_until > r->now) {
			format_duration(b, sizeof(b), h->paused_until - r->now);
			fprintf(f, ", paused for %s more (%s)", b, h->reason[0] ? h->reason : "complaint");
		}
		fputc('\n', f);
	}
}

static void json_str(FILE *f, const char *s)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	buf_add_json_string(&b, s, strlen(s));
	fputs(b.p, f);
	buf_release(&b);
}

void status_print_json(FILE *f, const struct status_report *r)
{
	const struct store_counts *c = &r->counts;
	size_t i;

	fputs("{\"crawl\":", f);
	json_str(f, r->path);
	fprintf(f, ",\"now\":%lld,\"total\":%lld,\"states\":{\"ready\":%lld,\"inflight\":%lld,"
		   "\"done\":%lld,\"failed\":%lld},\"percent_done\":%.2f,"
		   "\"retry_waiting\":%lld,\"next_retry_at\":%lld,",
		(long long)r->now, (long long)c->total, (long long)c->n[ST_READY],
		(long long)c->n[ST_INFLIGHT], (long long)c->n[ST_DONE], (long long)c->n[ST_FAILED],
		c->total ? 100.0 * (double)c->n[ST_DONE] / (double)c->total : 0.0,
		(long long)c->retry_waiting, (long long)(c->retry_waiting ? c->next_due_at : 0));
	if (r->have_run) {
		fprintf(f, "\"run\":{\"state\":\"%s\",\"pid\":%lld,\"started_at\":%lld,\"heartbeat_at\":%lld,"
			   "\"ended_at\":%lld,\"requests\":%lld,\"done\":%lld,\"failed\":%lld,\"retried\":%lld,"
			   "\"inflight\":%lld,\"rate\":%.3f},",
			run_state(r), (long long)r->run.pid, (long long)r->run.started_at,
			(long long)r->run.heartbeat_at, (long long)r->run.ended_at,
			(long long)r->run.stats.requests, (long long)r->run.stats.done,
			(long long)r->run.stats.failed, (long long)r->run.stats.retried,
			(long long)(r->run_alive ? r->run.stats.inflight : 0), r->run_alive ? r->run.stats.rate : 0.0);
	} else {
		fputs("\"run\":null,", f);
	}
	fputs("\"rate\":{", f);
	for (i = 0; i < 3; i++) {
		static const char *const key[] = { "1m", "5m", "15m" };

		if (r->rate[i] < 0)
			fprintf(f, "%s\"%s\":null", i ? "," : "", key[i]);
		else
			fprintf(f, "%s\"%s\":%.3f", i ? "," : "", key[i], r->rate[i]);
	}
	fprintf(f, "},\"recent\":{\"attempts\":%d,\"outcomes\":[", r->recent_window);
	for (i = 0; i < r->nrecent; i++) {
		fprintf(f, "%s{\"http_status\":", i ? "," : "");
		if (r->recent[i].http_status)
			fprintf(f, "%d", r->recent[i].http_status);
		else
			fputs("null", f);
		fputs(",\"error\":", f);
		if (r->recent[i].error[0])
			json_str(f, r->recent[i].error);
		else
			fputs("null", f);
		fprintf(f, ",\"count\":%lld}", (long long)r->recent[i].n);
	}
	fputs("]},\"hosts\":[", f);
	for (i = 0; i < r->nhosts; i++) {
		const struct host_state *h = &r->hosts[i];

		fputs(i ? ",{\"host\":" : "{\"host\":", f);
		json_str(f, h->host);
		fprintf(f, ",\"rate_allowed\":%.3f,\"paused_until\":%lld,\"paused\":%s,\"reason\":",
			h->rate_now, (long long)h->paused_until, h->paused_until > r->now ? "true" : "false");
		json_str(f, h->reason);
		fputc('}', f);
	}
	fputs("]}\n", f);
}
