/*
 * runner.c - the crawl loop.  One thread fetches: it starts transfers from
 * a queue of claimed items as slots free up and hosts allow, decides each
 * finished transfer with the policy, and gathers the outcomes.  A second
 * thread writes: in one transaction per batch it commits the outcomes (by
 * count, bytes and time) with the hosts' state, the run's heartbeat and the
 * next claim, and hands the claimed items back.  The loop never waits for
 * the disk unless the writer falls a whole backlog behind.
 *
 * Invariants: an item is inflight in the file from its claim until its
 * outcome is committed; every outcome goes through record() and reaches the
 * file through store_update_item() in batch_commit(); only one thread uses
 * the store at a time (the writer while a batch is out, the loop otherwise);
 * memory is bounded by the claim batch and the commit backlog, never by the
 * size of the queue.
 */
#include "runner.h"
#include "extract.h"
#include "fetch.h"
#include "policy.h"
#include "progress.h"
#include "template.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define HEARTBEAT_MS 1000
#define SAMPLE_MS 10000                 /* progress samples for status's 1/5/15-minute rates */
#define FLUSH_BYTES (64 << 20)          /* bodies waiting for a commit */
#define RETRY_AFTER_CAP_MS (24LL * 3600 * 1000)
#define MAX_HOSTS 65536
#define AUTH_STOP_AFTER 20              /* refusals in a row, no success, before giving up */
#define NO_ANSWER_WARN THROTTLE_OUTAGE_AFTER /* attempts with no answer at all before a warning */
#define URL_CAP (64 * 1024)
#define BODY_CAP (16 << 20)
#define RATE_WINDOW 10                  /* seconds of history behind items/s */
/* The start queue is refilled below LOW up to HIGH claimed items.  A claim
 * comes back with a commit, and a commit holds up to commit_batch outcomes:
 * the queue must last that long, or slots wait for the disk (at
 * concurrency 64, a queue of 4 x concurrency ran dry in a quarter of the
 * rounds).  Bounded by concurrency (136 x at most), never by the size of
 * the crawl. */
#define QUEUE_BATCH(r) ((r)->cfg->commit_batch < 64 * (r)->cfg->concurrency ? \
			(r)->cfg->commit_batch : 64 * (r)->cfg->concurrency)
#define QUEUE_LOW(r) (4 * (r)->cfg->concurrency + QUEUE_BATCH(r))
#define QUEUE_HIGH(r) (2 * QUEUE_LOW(r))

struct host {
	char name[256];
	struct throttle t;
	int dirty;                      /* state to save at the next flush */
	char reason[64];
	int inflight;                   /* transfers running */
	struct window { int64_t start, answers, complaints, successes; } cur, prev;  /* 1 s each */
};

struct item {
	struct claimed_item c;
	struct host *host;
	char *url;                      /* as fetched */
	char *body;
	size_t body_len;
	char **headers;
	size_t nheaders;
	struct item *next;              /* the start queue */
	/* the outcome, filled by record() */
	enum item_state state;
	int counts_attempt;
	int status;
	char *error;
	int64_t next_at;
	int64_t started_at, elapsed_ms, bytes, retry_after_ms;
	char *result_url;               /* secrets redacted */
	char *result_body;
	size_t result_len;
	struct value *fields;           /* nfields of them, or NULL */
	size_t nfields;
};

struct header_tpl {
	char *name;
	struct tpl *value;
};

/* A secret as it appears in a URL, and what is shown instead. */
struct redaction {
	char *seen;
	char *shown;
};

/*
 * One commit: the outcomes of finished items, the hosts' changed state, the
 * run's heartbeat, now and then a progress sample, and the next claim when
 * the queue runs low, all in one transaction; then the counts the progress
 * line and the end-of-crawl test read.  The loop builds a batch and hands it
 * to the writer thread, which owns the store until it hands the batch back
 * with the claimed items: the loop goes on fetching while the disk works,
 * and never touches the store while a batch is out.
 */
struct batch {
	struct item **items;            /* outcomes to commit (owned) */
	size_t n;
	struct host_state *hosts;       /* hosts whose state changed */
	size_t nhosts;
	struct run_stats stats;
	int64_t now;
	int sample;                     /* write a progress sample */
	int want;                       /* items to claim, 0 for none */
	/* the answer */
	struct claimed_item *got;
	int ngot;
	struct store_counts counts;
	int rc;
};

struct writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running, quit;
	struct batch *todo;             /* handed to the thread */
	struct batch *done;             /* handed back */
	struct store *st;
	int64_t run_id;
	struct fetcher *f;              /* woken when a batch is done */
};

struct runner {
	struct store *st;
	const struct config *cfg;
	const struct run_opts *o;
	struct fetcher *f;
	struct tpl *url_tpl, *body_tpl;
	/* A URL template whose scheme and authority hold no placeholder (the
	 * usual "https://api.example.com/items/{id}") has one origin: it is
	 * worked out for the first item only.  The rest of such a URL is
	 * literal text or percent-encoded values, which cannot make it invalid. */
	int fixed_origin;
	struct host *fixed_host;
	struct header_tpl *hdrs;
	size_t nhdrs;
	struct redaction *red;
	size_t nred;
	struct extractor *x;
	size_t nfields;
	int64_t run_id;
	/* items claimed and not yet started */
	struct item *qhead, *qtail;
	int qlen;
	int64_t next_claim_at;
	/* items finished and not yet committed */
	struct item **fin;
	size_t nfin, fincap, finbytes;
	int64_t last_flush, last_heartbeat, last_sample;
	struct writer w;
	int out;                        /* a batch is with the writer */
	/* hosts */
	struct host **hosts;            /* open addressing, MAX_HOSTS slots */
	size_t nhosts;
	struct host *overflow;          /* shared by hosts past the table's bound */
	struct host **list;             /* the same hosts, for walking them all */
	/* state */
	int stopping, aborting, auth_stop_now;
	int64_t stop_deadline;
	int auth_refused, auth_ok, auth_status;
	int no_answer, answered;        /* attempts without any HTTP answer / with one */
	struct run_stats stats;
	struct store_counts counts;
	int64_t counts_at;              /* when counts were read (0: not yet) */
	int64_t rate_hist[RATE_WINDOW + 1];
	int64_t rate_tick;
	struct progress prog;
	int64_t started_mono;
	uint64_t rng;                   /* splitmix64 state, seeded from getrandom */
	const char *crash_key;          /* testing hook: TRAWL_TEST_CRASH_KEY */
};

/* ---- hosts --------------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct host *host_new(struct runner *r, const char *name)
{
	struct host *h = xcalloc(1, sizeof(*h));

	snprintf(h->name, sizeof(h->name), "%s", name);
	throttle_init(&h->t, r->cfg->rate);
	h->dirty = 1;  /* every host gets its row, so status lists them all */
	return h;
}

/*
 * The host entry for name, created on first use.  Never NULL: the table is
 * bounded, and past half of MAX_HOSTS every new host shares one entry
 * ("*"), so a crawl over millions of hosts is throttled as one host rather
 * than growing without bound.
 */
static struct host *host_get(struct runner *r, const char *name)
{
	size_t i = hash_str(name) & (MAX_HOSTS - 1);
	struct host *h;

	while ((h = r->hosts[i])) {
		if (!strcmp(h->name, name))
			return h;
		i = (i + 1) & (MAX_HOSTS - 1);
	}
	if (r->nhosts >= MAX_HOSTS / 2) {
		if (!r->overflow)
			r->overflow = host_new(r, "*");
		return r->overflow;
	}
	h = r->hosts[i] = host_new(r, name);
	r->list = xrealloc(r->list, (r->nhosts + 1) * sizeof(*r->list));
	r->list[r->nhosts++] = h;
	return h;
}

static int load_host(void *ctx, const struct host_state *hs)
{
	struct runner *r = ctx;
	struct host *h = host_get(r, hs->host);

	h->t.paused_until_ms = hs->paused_until;
	h->t.complaints = hs->complaints;
	h->t.last_complaint_ms = hs->last_complaint_at ? hs->last_complaint_at : THROTTLE_NEVER;
	if (hs->rate_now > 0 && (r->cfg->rate <= 0 || hs->rate_now < r->cfg->rate)) {
		h->t.rate_now = hs->rate_now;
		if (r->cfg->rate <= 0)
			h->t.cut_from = hs->rate_now * 2;
	}
	snprintf(h->reason, sizeof(h->reason), "%s", hs->reason);
	return 0;
}

static int hosts_paused(struct runner *r, int64_t now)
{
	size_t i;
	int n = 0;

	for (i = 0; i < r->nhosts; i++)
		if (r->list[i]->t.paused_until_ms > now)
			n++;
	return n;
}

/* ---- items --------------------------------------------------------------- */

static void item_free(struct item *it)
{
	size_t i;

	if (!it)
		return;
	claimed_item_release(&it->c);
	free(it->url);
	free(it->body);
	for (i = 0; i < it->nheaders; i++)
		free(it->headers[i]);
	free(it->headers);
	free(it->error);
	free(it->result_url);
	free(it->result_body);
	for (i = 0; it->fields && i < it->nfields; i++)
		value_release(&it->fields[i]);
	free(it->fields);
	free(it);
}

struct lookup_ctx {
	const struct config *cfg;
	const struct item *it;
	cJSON *vars;
};

static const char *lookup(void *ctx, const char *name, size_t *len)
{
	struct lookup_ctx *l = ctx;
	const cJSON *v;

	if (!strcmp(name, l->cfg->key)) {
		*len = strlen(l->it->c.key);
		return l->it->c.key;
	}
	v = l->vars ? cJSON_GetObjectItemCaseSensitive(l->vars, name) : NULL;
	if (!cJSON_IsString(v))
		return NULL;
	*len = strlen(v->valuestring);
	return v->valuestring;
}

/* Builds it's request from the templates.  0, or -1 with err. */
static int build_request(struct runner *r, struct item *it, char *err, size_t errlen)
{
	struct lookup_ctx l = { r->cfg, it, NULL };
	char origin[512];
	size_t i;
	int rc = -1;

	if (it->c.vars && !(l.vars = cJSON_Parse(it->c.vars))) {
		snprintf(err, errlen, "the item's vars are not a JSON object");
		return -1;
	}
	if (tpl_expand(r->url_tpl, lookup, &l, URL_CAP, &it->url, NULL, err, errlen))
		goto out;
	if (r->fixed_host) {
		it->host = r->fixed_host;
	} else if (fetch_url_origin(it->url, origin, sizeof(origin))) {
		snprintf(err, errlen, "the URL made from the template is not a valid http(s) URL");
		goto out;
	}
	if (r->body_tpl && tpl_expand(r->body_tpl, lookup, &l, BODY_CAP, &it->body, &it->body_len, err, errlen))
		goto out;
	if (r->nhdrs)
		it->headers = xcalloc(r->nhdrs, sizeof(*it->headers));
	for (i = 0; i < r->nhdrs; i++) {
		char *v = NULL;

		if (tpl_expand(r->hdrs[i].value, lookup, &l, URL_CAP, &v, NULL, err, errlen))
			goto out;
		it->headers[it->nheaders++] = xasprintf("%s:%s", r->hdrs[i].name, v);
		free(v);
	}
	if (!r->fixed_host) {
		it->host = host_get(r, origin);
		if (r->fixed_origin)
			r->fixed_host = it->host;
	}
	rc = 0;
out:
	cJSON_Delete(l.vars);
	return rc;
}

/* The URL with every secret from the environment replaced by its ${NAME}. */
static char *redact(const struct runner *r, const char *url)
{
	struct buf b;
	const char *p = url;
	size_t i;

	if (!r->nred)
		return xstrdup(url);
	buf_init(&b, URL_CAP * 4);
	while (*p) {
		for (i = 0; i < r->nred; i++) {
			size_t n = strlen(r->red[i].seen);

			if (n && !strncmp(p, r->red[i].seen, n)) {
				buf_addstr(&b, r->red[i].shown);
				p += n;
				break;
			}
		}
		if (i == r->nred)
			buf_add(&b, p++, 1);
	}
	return buf_detach(&b, NULL);
}

static void queue_push(struct runner *r, struct item *it)
{
	it->next = NULL;
	if (r->qtail)
		r->qtail->next = it;
	else
		r->qhead = it;
	r->qtail = it;
	r->qlen++;
}

/* Funnel of every outcome: the item leaves the loop and waits for the next commit. */
static void record(struct runner *r, struct item *it, enum item_state state, int counts_attempt,
		   int status, const char *error)
{
	it->state = state;
	it->counts_attempt = counts_attempt;
	it->status = status;
	free(it->error);
	it->error = error ? xstrdup(error) : NULL;
	if (!it->started_at)
		it->started_at = now_ms();
	if (r->nfin == r->fincap) {
		r->fincap = r->fincap ? 2 * r->fincap : 256;
		r->fin = xrealloc(r->fin, r->fincap * sizeof(*r->fin));
	}
	r->fin[r->nfin++] = it;
	r->finbytes += it->result_len + 256;
	if (!counts_attempt)
		return;
	r->stats.requests++;
	if (state == ST_DONE)
		r->stats.done++;
	else if (state == ST_FAILED)
		r->stats.failed++;
	else
		r->stats.retried++;
}

/* Hands every item of the start queue back to the file, unattempted. */
static void release_queue(struct runner *r)
{
	while (r->qhead) {
		struct item *it = r->qhead;

		r->qhead = it->next;
		record(r, it, ST_READY, 0, 0, NULL);
	}
	r->qtail = NULL;
	r->qlen = 0;
}

/* ---- committing: the writer thread ---------------------------------------- */

static void batch_free(struct batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++)
		item_free(b->items[i]);
	free(b->items);
	free(b->hosts);
	for (i = 0; b->got && i < (size_t)b->ngot; i++)
		claimed_item_release(&b->got[i]);
	free(b->got);
	free(b);
}

/* The batch's transaction, on the writer thread. */
static void batch_commit(struct store *st, int64_t run_id, struct batch *b)
{
	size_t i;
	int rc;

	if ((rc = store_begin(st)))
		goto out;
	for (i = 0; i < b->n; i++) {
		struct item *it = b->items[i];
		struct item_update u;

		memset(&u, 0, sizeof(u));
		u.item_id = it->c.id;
		u.state = it->state;
		u.counts_attempt = it->counts_attempt;
		u.http_status = it->status;
		u.error = it->error;
		u.next_attempt_at = it->next_at;
		u.run_id = run_id;
		u.started_at = it->started_at;
		u.elapsed_ms = it->elapsed_ms;
		u.bytes = it->bytes;
		u.retry_after_ms = it->retry_after_ms;
		u.url = it->result_url;
		u.body = it->result_body;
		u.body_len = it->result_len;
		u.fields = it->fields;
		u.nfields = it->nfields;
		if ((rc = store_update_item(st, &u)))
			goto fail;
	}
	for (i = 0; i < b->nhosts; i++)
		if ((rc = store_host_save(st, &b->hosts[i], b->now)))
			goto fail;
	if ((rc = store_run_update(st, run_id, b->now, &b->stats)))
		goto fail;
	if (b->want > 0) {
		b->got = xcalloc((size_t)b->want, sizeof(*b->got));
		if ((rc = store_claim(st, b->now, b->want, b->got, &b->ngot)))
			goto fail;
	}
	/* The waiting retries are counted by walking them: with the progress
	 * sample only (every SAMPLE_MS), not on every commit. */
	if (b->sample) {
		if ((rc = store_counts(st, b->now, &b->counts)) ||
		    (rc = store_progress_sample(st, b->now, b->counts.n[ST_DONE] + b->counts.n[ST_FAILED])))
			goto fail;
	} else if ((rc = store_counts_states(st, &b->counts))) {
		goto fail;
	}
	if ((rc = store_commit(st)))
		goto fail;
	goto out;
fail:
	store_rollback(st);
	/* nothing claimed after all: the rows stay ready in the file */
	for (i = 0; b->got && i < (size_t)b->ngot; i++)
		claimed_item_release(&b->got[i]);
	b->ngot = 0;
out:
	b->rc = rc;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct batch *b;

	pthread_mutex_lock(&w->mu);
	while (1) {
		while (!w->todo && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->todo)
			break;
		b = w->todo;
		pthread_mutex_unlock(&w->mu);
		batch_commit(w->st, w->run_id, b);
		pthread_mutex_lock(&w->mu);
		w->todo = NULL;
		w->done = b;
		pthread_cond_broadcast(&w->cv);
		fetch_wakeup(w->f);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Starts the thread, with every signal blocked in it: they are the loop's. */
static int writer_start(struct writer *w)
{
	sigset_t all, old;
	int rc;

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return error_code(TR_EIO, "cannot start the writer thread: %s", strerror(rc));
	}
	w->running = 1;
	return 0;
}

/* Waits for the batch that is out, if any, and stops the thread. */
static void writer_stop(struct writer *w)
{
	if (!w->running)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	batch_free(w->done);
	w->done = NULL;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->running = 0;
}

static int want_claim(const struct runner *r, int64_t now)
{
	return !r->stopping && r->qlen < QUEUE_LOW(r) && now >= r->next_claim_at;
}

static void fill_stats(struct runner *r)
{
	r->stats.inflight = fetch_running(r->f) + r->qlen;
}

/* Hands the finished items, the hosts' changes and (with may_claim) a claim
 * to the writer. */
static void submit(struct runner *r, int64_t now, int may_claim)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	size_t i;

	b->items = r->fin;
	b->n = r->nfin;
	r->fin = NULL;
	r->nfin = r->fincap = r->finbytes = 0;
	for (i = 0; i < r->nhosts; i++) {
		struct host *h = r->list[i];
		struct host_state *hs;

		if (!h->dirty)
			continue;
		b->hosts = xrealloc(b->hosts, (b->nhosts + 1) * sizeof(*b->hosts));
		hs = &b->hosts[b->nhosts++];
		memset(hs, 0, sizeof(*hs));
		snprintf(hs->host, sizeof(hs->host), "%s", h->name);
		hs->rate_now = h->t.rate_now;
		hs->paused_until = h->t.paused_until_ms;
		hs->complaints = h->t.complaints;
		hs->last_complaint_at = h->t.last_complaint_ms > 0 ? h->t.last_complaint_ms : 0;
		snprintf(hs->reason, sizeof(hs->reason), "%s", h->reason);
		h->dirty = 0;
	}
	fill_stats(r);
	b->stats = r->stats;
	b->counts = r->counts;  /* the waiting retries carry over between samples */
	b->now = now;
	if (now - r->last_sample >= SAMPLE_MS) {
		b->sample = 1;
		r->last_sample = now;
	}
	if (may_claim && want_claim(r, now))
		b->want = QUEUE_HIGH(r) - r->qlen;
	r->last_flush = r->last_heartbeat = now;
	pthread_mutex_lock(&r->w.mu);
	r->w.todo = b;
	r->out = 1;
	pthread_cond_broadcast(&r->w.cv);
	pthread_mutex_unlock(&r->w.mu);
}

/* Takes back a committed batch: frees its items, queues what it claimed.
 * With wait, blocks until the batch that is out comes back. */
static int collect(struct runner *r, int wait)
{
	struct batch *b;
	int i, n, rc;

	if (!r->out)
		return 0;
	pthread_mutex_lock(&r->w.mu);
	while (wait && !r->w.done)
		pthread_cond_wait(&r->w.cv, &r->w.mu);
	b = r->w.done;
	r->w.done = NULL;
	pthread_mutex_unlock(&r->w.mu);
	if (!b)
		return 0;
	r->out = 0;
	if ((rc = b->rc)) {
		batch_free(b);
		return rc;
	}
	r->counts = b->counts;
	r->counts_at = b->now;
	n = b->ngot;
	for (i = 0; i < n; i++) {
		struct item *it = xcalloc(1, sizeof(*it));
		char err[512];

		it->c = b->got[i];
		if (build_request(r, it, err, sizeof(err)))
			record(r, it, ST_FAILED, 0, 0, err);
		else
			queue_push(r, it);
	}
	b->ngot = 0;  /* the items own them now */
	/* nothing more due: look again soon */
	if (b->want)
		r->next_claim_at = n < b->want ? b->now + 250 : 0;
	batch_free(b);
	return 0;
}

/* Commits every outcome and waits for it, claiming nothing: the end of a run. */
static int flush_now(struct runner *r, int64_t now)
{
	int rc;

	if ((rc = collect(r, 1)))
		return rc;
	release_queue(r);  /* claimed by the batch that was out as the run stopped */
	submit(r, now, 0);
	return collect(r, 1);
}

static int flush_due(const struct runner *r, int64_t now)
{
	if (r->nfin >= (size_t)r->cfg->commit_batch || r->finbytes >= FLUSH_BYTES)
		return 1;
	if (r->nfin && now - r->last_flush >= r->cfg->commit_interval_ms)
		return 1;
	/* nothing to fetch meanwhile: no reason to wait */
	if (r->nfin && !r->qlen && !fetch_running(r->f))
		return 1;
	if (want_claim(r, now))
		return 1;
	return now - r->last_heartbeat >= HEARTBEAT_MS;
}

/* Outcomes waiting while a batch is out: past this, the loop waits for the disk. */
static int backlog_full(const struct runner *r)
{
	return r->nfin >= 4 * (size_t)r->cfg->commit_batch || r->finbytes >= FLUSH_BYTES;
}

/* ---- finished transfers ---------------------------------------------------- */

/* Rolls the host's one-second windows forward to now. */
static void host_window(struct host *h, int64_t now)
{
	if (now - h->cur.start < 1000)
		return;
	h->prev = now - h->cur.start < 2000 ? h->cur : (struct window){ 0 };
	memset(&h->cur, 0, sizeof(h->cur));
	h->cur.start = now;
}

/* Successful answers per second over the last one to two seconds. */
static double host_observed(const struct host *h, int64_t now)
{
	int64_t span = (h->prev.start ? 1000 : 0) + (now - h->cur.start);

	if (span < 100)
		span = 100;

	return (double)(h->prev.successes + h->cur.successes) * 1000.0 / (double)span;
}

/*
 * Is this answer the host asking us to slow down?  A 429 always is.  A 503
 * is when it carries a Retry-After, or when most recent answers are 503s
 * (an overloaded host); a scattered 503 is a server error: the item is
 * retried, the host is not slowed.
 */
static int host_complains(struct host *h, const struct response *resp, int64_t now)
{
	int complaint = resp->status == 429 || resp->status == 503;

	host_window(h, now);
	h->cur.answers++;
	h->cur.complaints += complaint;
	h->cur.successes += resp->status >= 200 && resp->status < 300;
	if (resp->status == 429 || (resp->status == 503 && resp->retry_after))
		return 1;
	if (resp->status == 503) {
		int64_t answers = h->cur.answers + h->prev.answers;
		int64_t complaints = h->cur.complaints + h->prev.complaints;

		return answers >= 4 && complaints * 2 >= answers;
	}
	return 0;
}

static void verbose_line(struct runner *r, struct item *it, const struct response *resp,
			 const char *what)
{
	char *shown;

	if (!r->o->verbose)
		return;
	shown = redact(r, resp->url ? resp->url : it->url);
	fprintf(stderr, "trawl: %s %s -> %d%s%s (%lld ms, %zu bytes) %s\n", r->cfg->method, shown,
		resp->status, resp->error ? ", " : "", resp->error ? resp->error : "",
		(long long)resp->elapsed_ms, resp->body_len, what);
	free(shown);
}

/* Extracts the fields of a 2xx; -1 with err when the body is not JSON and that fails the item. */
static int extract(struct runner *r, struct item *it, const struct response *resp, char *err, size_t errlen)
{
	size_t i;
	int rc;

	it->fields = xcalloc(r->nfields + 1, sizeof(*it->fields));
	it->nfields = r->nfields;
	*r->o->current_item = it->c.id;
	/* Testing hook for the poison-item guard: the run dies parsing this key,
	 * as it would on a parser bug, every time. */
	if (r->crash_key && !strcmp(it->c.key, r->crash_key))
		raise(SIGSEGV);
	rc = extractor_run(r->x, resp->body, resp->body_len, it->fields, err, errlen);
	*r->o->current_item = 0;
	if (rc && strcmp(r->cfg->invalid_json, "keep"))
		return -1;
	for (i = 0; rc && i < r->nfields; i++)
		value_release(&it->fields[i]);
	return 0;
}

/* Jitter needs spread, not secrecy: splitmix64 from a random seed, instead
 * of a system call per response. */
static uint64_t next_random(struct runner *r)
{
	uint64_t z = (r->rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void on_done(void *ctx, void *owner, const struct response *resp)
{
	struct runner *r = ctx;
	struct item *it = owner;
	struct host *h = it->host;
	int64_t now = now_ms(), ra_ms;
	int attempts = it->c.attempts + 1;
	struct verdict v;
	char err[512], why[640];
	uint64_t rnd[2];                /* backoff jitter, probe jitter */

	h->inflight--;
	rnd[0] = next_random(r);
	rnd[1] = next_random(r);
	it->elapsed_ms = resp->elapsed_ms;
	it->bytes = (int64_t)resp->body_len;
	if (r->aborting) {
		/* stopped by us, not answered: back to the queue, no attempt counted */
		record(r, it, ST_READY, 0, 0, NULL);
		return;
	}
	ra_ms = policy_retry_after_ms(resp->retry_after, now, RETRY_AFTER_CAP_MS);
	it->retry_after_ms = resp->retry_after ? ra_ms : -1;
	v = policy_decide(resp->status, resp->err, attempts, r->cfg->max_attempts);
	if (v.outcome == OUTCOME_DONE && extract(r, it, resp, err, sizeof(err))) {
		v = policy_decide(resp->status, XE_INVALID_JSON, attempts, r->cfg->max_attempts);
		v.reason = NULL;
	} else {
		err[0] = '\0';
	}
	if (host_complains(h, resp, now)) {
		throttle_complain(&h->t, now, resp->retry_after ? ra_ms : -1, host_observed(h, now));
		snprintf(h->reason, sizeof(h->reason), "http %d", resp->status);
		h->dirty = 1;
	} else if (resp->status > 0) {
		double before = h->t.rate_now;

		throttle_success(&h->t, now);
		if (h->t.rate_now != before)
			h->dirty = 1;
	}
	/* An outage (refused, timing out, 5xx from everything) pauses the host and
	 * then probes it one request at a time, instead of spending every queued
	 * item's attempts on a host that is not there. */
	if (policy_host_failure(resp->status, resp->err)) {
		if (throttle_failure(&h->t, now, rnd[1])) {
			snprintf(h->reason, sizeof(h->reason), "down: %s",
				 resp->err != XE_NONE ? xfer_error_name(resp->err) : "http 5xx");
			h->dirty = 1;
		}
	} else if (resp->status > 0) {
		throttle_answered(&h->t);
	}
	if (resp->status == 401 || resp->status == 403) {
		r->auth_refused++;
		r->auth_status = resp->status;
		/* Until one request succeeds, a refusal says more about the credentials
		 * than about the item: keep the item for a retry, not failed, so that
		 * fixing the token and running again fetches it. */
		if (!r->auth_ok && v.outcome == OUTCOME_FAIL && attempts < r->cfg->max_attempts)
			v.outcome = OUTCOME_RETRY;
	} else if (resp->status >= 200 && resp->status < 300) {
		r->auth_ok++;
	}
	if (resp->status > 0) {
		r->answered++;
	} else if (++r->no_answer == NO_ANSWER_WARN && !r->answered) {
		/* say it once, in words a person can act on; the items are kept */
		warning("no answer from %s in %d attempts (%s): check the URL and the network; "
			"items are kept and the host is probed with growing pauses, Ctrl-C stops",
			h->name, NO_ANSWER_WARN,
			resp->error ? resp->error : xfer_error_name(resp->err));
	}
	if (v.outcome == OUTCOME_DONE)
		why[0] = '\0';
	else if (err[0])
		snprintf(why, sizeof(why), "%s", err);
	else if (resp->err != XE_NONE)
		snprintf(why, sizeof(why), "%s: %s", xfer_error_name(resp->err), resp->error ? resp->error : "");
	else
		snprintf(why, sizeof(why), "http %d", resp->status);
	switch (v.outcome) {
	case OUTCOME_DONE:
		it->result_url = redact(r, resp->url);
		if (r->cfg->keep_body) {
			it->result_body = xstrndup(resp->body, resp->body_len);
			it->result_len = resp->body_len;
		}
		verbose_line(r, it, resp, "done");
		record(r, it, ST_DONE, 1, resp->status, NULL);
		break;
	case OUTCOME_RETRY: {
		int64_t delay;

		delay = policy_backoff_ms(attempts, r->cfg->backoff_base_ms, r->cfg->backoff_cap_ms, rnd[0]);
		if (ra_ms > delay)
			delay = ra_ms;
		it->next_at = now + delay;
		if (h->t.paused_until_ms > it->next_at)
			it->next_at = h->t.paused_until_ms;
		verbose_line(r, it, resp, "retry");
		record(r, it, ST_READY, 1, resp->status, why);
		break;
	}
	default:
		verbose_line(r, it, resp, "failed");
		record(r, it, ST_FAILED, 1, resp->status, why);
	}
}

/* ---- the loop -------------------------------------------------------------- */

/* Starts what slots and hosts allow; returns the earliest time a blocked item may start. */
static int64_t start_ready(struct runner *r, int64_t now)
{
	struct item *it = r->qhead, *prev = NULL;
	int64_t next = INT64_MAX;

	while (it && fetch_free_slots(r->f) > 0) {
		struct item *following = it->next;
		int64_t at = throttle_ready_at(&it->host->t, now);
		struct request rq;
		char err[256];

		/* a host that was down gets one request at a time until it answers */
		if (at > now || (it->host->t.probing && it->host->inflight)) {
			if (at > now && at < next)
				next = at;
			prev = it;
			it = following;
			continue;
		}
		/* unlink */
		if (prev)
			prev->next = following;
		else
			r->qhead = following;
		if (r->qtail == it)
			r->qtail = prev;
		r->qlen--;
		memset(&rq, 0, sizeof(rq));
		rq.url = it->url;
		rq.method = r->cfg->method;
		rq.body = it->body;
		rq.body_len = it->body_len;
		rq.content_type = r->cfg->content_type;
		rq.headers = (const char *const *)it->headers;
		rq.nheaders = it->nheaders;
		/* the host's name is the URL's origin, but for the shared overflow
		 * host and a name cut to fit (fetch works it out again then) */
		rq.origin = it->host != r->overflow && strlen(it->host->name) < sizeof(it->host->name) - 1
			    ? it->host->name : NULL;
		it->started_at = now;
		throttle_take(&it->host->t, now);
		if (fetch_start(r->f, &rq, it, err, sizeof(err)))
			record(r, it, ST_FAILED, 0, 0, err);
		else
			it->host->inflight++;
		it = following;
	}
	return next;
}

/* Hands items of long-paused hosts back to the file, due when the pause ends,
 * so that a paused host cannot hold the queue (and the other hosts) hostage. */
static void release_paused(struct runner *r, int64_t now)
{
	struct item *it = r->qhead, *prev = NULL;

	while (it) {
		struct item *following = it->next;

		if (it->host->t.paused_until_ms - now > 2000) {
			if (prev)
				prev->next = following;
			else
				r->qhead = following;
			if (r->qtail == it)
				r->qtail = prev;
			r->qlen--;
			it->next_at = it->host->t.paused_until_ms;
			record(r, it, ST_READY, 0, 0, NULL);
		} else {
			prev = it;
		}
		it = following;
	}
}

static void update_rate(struct runner *r, int64_t mono)
{
	int64_t tick = mono / 1000, finished = r->stats.done + r->stats.failed;
	int64_t i, span;

	if (tick == r->rate_tick)
		return;
	for (i = r->rate_tick + 1; i <= tick && i - r->rate_tick <= RATE_WINDOW + 1; i++)
		r->rate_hist[i % (RATE_WINDOW + 1)] = finished;
	r->rate_tick = tick;
	span = tick - r->started_mono / 1000;
	if (span > RATE_WINDOW)
		span = RATE_WINDOW;
	if (span > 0)
		r->stats.rate = (double)(finished - r->rate_hist[(tick - span) % (RATE_WINDOW + 1)]) / (double)span;
}

static void show_progress(struct runner *r, int64_t now, int force)
{
	struct progress_figures fig;
	int64_t mono = mono_ms();

	update_rate(r, mono);
	memset(&fig, 0, sizeof(fig));
	fig.counts = r->counts;
	fig.inflight = fetch_running(r->f);
	fig.rate = r->stats.rate;
	fig.hosts_paused = hosts_paused(r, now);
	fig.elapsed_ms = mono - r->started_mono;
	progress_update(&r->prog, &fig, mono, force);
}

static const char *lookup_secret(void *ctx, const char *name, size_t *len)
{
	(void)name;
	*len = strlen(ctx);
	return ctx;
}

/* Compiles templates, binds ${VAR}s (a missing one stops us before any request). */
static int prepare(struct runner *r)
{
	char err[512], **names = NULL, **paths = NULL, *hcopy = NULL, *line, *save = NULL;
	size_t i, nfields = 0;
	int rc = TR_EUSAGE;

	r->crash_key = getenv("TRAWL_TEST_CRASH_KEY");
	if (tpl_compile(&r->url_tpl, r->cfg->url, TPL_URL, err, sizeof(err)) ||
	    tpl_bind_env(r->url_tpl, err, sizeof(err)))
		goto bad;
	if (!tpl_whole_url(r->url_tpl)) {
		const char *text = tpl_text(r->url_tpl), *sep = strstr(text, "://");
		size_t end = sep ? (size_t)(sep - text) + 3 : 0;

		end += sep ? strcspn(text + end, "/?#{$") : 0;
		r->fixed_origin = sep && strcspn(text, "{$") > end && strchr("/?#", text[end]) && text[end];
	}
	if (*r->cfg->body && (tpl_compile(&r->body_tpl, r->cfg->body, config_body_escape(r->cfg), err, sizeof(err)) ||
			      tpl_bind_env(r->body_tpl, err, sizeof(err))))
		goto bad;
	hcopy = xstrdup(r->cfg->headers);
	for (line = strtok_r(hcopy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		struct header_tpl *h;

		if (!colon)
			continue;
		r->hdrs = xrealloc(r->hdrs, (r->nhdrs + 1) * sizeof(*r->hdrs));
		h = &r->hdrs[r->nhdrs++];
		h->name = xstrndup(line, (size_t)(colon - line));
		h->value = NULL;
		if (tpl_compile(&h->value, colon + 1, TPL_HEADER, err, sizeof(err)) ||
		    tpl_bind_env(h->value, err, sizeof(err)))
			goto bad;
	}
	/* how each URL secret looks once percent-encoded, to keep it out of the file and the logs */
	for (i = 0; i < tpl_nenv(r->url_tpl); i++) {
		const char *name = tpl_env(r->url_tpl, i), *val = getenv(name);
		struct tpl *one = NULL;
		char *enc = NULL;

		/* "/{v}", not "{v}": a column alone would be a whole URL, not encoded */
		if (!val || !*val || tpl_compile(&one, "/{v}", TPL_URL, err, sizeof(err)))
			continue;
		if (tpl_expand(one, lookup_secret, (void *)val, URL_CAP, &enc, NULL, err, sizeof(err)))
			enc = NULL;
		else
			memmove(enc, enc + 1, strlen(enc));
		tpl_free(one);
		r->red = xrealloc(r->red, (r->nred + 1) * sizeof(*r->red));
		r->red[r->nred].seen = enc ? enc : xstrdup(val);
		r->red[r->nred].shown = xasprintf("${%s}", name);
		r->nred++;
	}
	if (config_fields(r->cfg, &names, &paths, &nfields, err, sizeof(err)) ||
	    extractor_new(&r->x, nfields, (const char *const *)names, (const char *const *)paths, err, sizeof(err)))
		goto bad;
	r->nfields = nfields;
	rc = store_use_fields(r->st, nfields, (const char *const *)names);
	goto out;
bad:
	rc = error_code(TR_EUSAGE, "%s", err);
out:
	config_fields_free(names, paths, nfields);
	free(hcopy);
	return rc;
}

/* fetch_done_fn for transfers abandoned on an error: the items stay inflight
 * in the file (the next run recovers them); only the memory goes. */
static void drop_item(void *ctx, void *owner, const struct response *resp)
{
	(void)ctx;
	(void)resp;
	item_free(owner);
}

static void runner_release(struct runner *r)
{
	size_t i;

	if (r->f)
		fetch_abort_all(r->f, drop_item, r);

	while (r->qhead) {
		struct item *it = r->qhead;

		r->qhead = it->next;
		item_free(it);
	}
	for (i = 0; i < r->nfin; i++)
		item_free(r->fin[i]);
	free(r->fin);
	fetch_free(r->f);
	tpl_free(r->url_tpl);
	tpl_free(r->body_tpl);
	for (i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		tpl_free(r->hdrs[i].value);
	}
	free(r->hdrs);
	for (i = 0; i < r->nred; i++) {
		free(r->red[i].seen);
		free(r->red[i].shown);
	}
	free(r->red);
	extractor_free(r->x);
	for (i = 0; i < r->nhosts; i++)
		free(r->list[i]);
	free(r->list);
	free(r->hosts);
	free(r->overflow);
}

/* Reacts to stop requests: the first stops claiming and starts the grace
 * period; the second, or the end of the grace period, aborts transfers. */
static void check_stop(struct runner *r, int64_t now)
{
	int stops = r->o->stops ? (int)*r->o->stops : 0;

	if ((stops >= 1 || r->auth_stop_now) && !r->stopping) {
		r->stopping = 1;
		r->stop_deadline = now + r->o->grace_ms;
		release_queue(r);
	}
	if (r->stopping && !r->aborting && (stops >= 2 || now >= r->stop_deadline)) {
		r->aborting = 1;
		fetch_abort_all(r->f, on_done, r);
	}
}

/* Is the crawl finished: nothing queued, running, waiting for a commit, or
 * left ready in the file?  The counts come from the latest commit, which,
 * with nothing waiting, holds every outcome. */
static int finished(const struct runner *r)
{
	if (r->qlen || fetch_running(r->f) || r->nfin || r->out || !r->counts_at)
		return 0;
	return r->counts.n[ST_READY] == 0;
}

/* How long the loop may sleep: until a host allows the next start, the next
 * commit, the next claim or heartbeat; never more than 100 ms, so a signal
 * is seen promptly. */
static int poll_timeout(struct runner *r, int64_t now, int64_t next_start)
{
	int64_t t = 100;

	if (next_start != INT64_MAX && next_start - now < t)
		t = next_start - now;
	if (r->nfin && r->last_flush + r->cfg->commit_interval_ms - now < t)
		t = r->last_flush + r->cfg->commit_interval_ms - now;
	return t < 0 ? 0 : (int)t;
}

int run_crawl(struct store *st, const struct config *cfg, const struct run_opts *o,
	      struct run_summary *sum)
{
	struct runner r;
	struct fetch_opts fo;
	int64_t now = now_ms();
	int rc;

	memset(&r, 0, sizeof(r));
	memset(sum, 0, sizeof(*sum));
	r.st = st;
	r.cfg = cfg;
	r.o = o;
	r.hosts = xcalloc(MAX_HOSTS, sizeof(*r.hosts));
	r.started_mono = mono_ms();
	if (getrandom(&r.rng, sizeof(r.rng), 0) != sizeof(r.rng))
		r.rng = (uint64_t)now ^ ((uint64_t)getpid() << 32);
	r.rate_tick = r.started_mono / 1000;
	progress_init(&r.prog, stderr);
	if ((rc = prepare(&r)))
		goto out;
	memset(&fo, 0, sizeof(fo));
	fo.concurrency = cfg->concurrency;
	fo.connect_timeout_ms = cfg->connect_timeout_ms;
	fo.timeout_ms = cfg->timeout_ms;
	fo.low_speed_time_ms = cfg->low_speed_time_ms;
	fo.low_speed_limit = cfg->low_speed_limit;
	fo.max_body = cfg->max_body;
	fo.max_redirects = cfg->max_redirects;
	fo.ca_file = cfg->ca_file;
	fo.user_agent = cfg->user_agent;
	if ((rc = fetch_new(&r.f, &fo)))
		goto out;
	if ((rc = store_begin(st)) ||
	    (rc = store_recover(st, now, o->crash_item, o->max_crashes, &sum->recovered)) ||
	    (rc = store_hosts_each(st, load_host, &r)) ||
	    (rc = store_run_begin(st, now, &r.run_id)) ||
	    (rc = store_commit(st))) {
		store_rollback(st);
		goto out;
	}
	r.w.st = st;
	r.w.run_id = r.run_id;
	r.w.f = r.f;
	if ((rc = writer_start(&r.w)))
		goto out;
	r.last_flush = r.last_heartbeat = now;
	while (1) {
		int64_t next_start;

		now = now_ms();
		if ((rc = collect(&r, 0)))
			goto out;
		check_stop(&r, now);
		next_start = r.stopping ? INT64_MAX : start_ready(&r, now);
		/* every slot idle yet nothing may start for a while: a paused host holds the queue */
		if (!r.stopping && r.qlen && !fetch_running(r.f) && next_start - now > 2000 &&
		    r.nhosts > 1 && now >= r.next_claim_at) {
			release_paused(&r, now);
			r.next_claim_at = now + 1000; /* at most one such round a second */
		}
		if (r.stopping && !fetch_running(r.f))
			break;
		if (!r.stopping && finished(&r))
			break;
		if (!r.out && flush_due(&r, now)) {
			submit(&r, now, 1);
		} else if (r.out && backlog_full(&r)) {
			/* the disk is behind: wait for it rather than grow */
			if ((rc = collect(&r, 1)))
				goto out;
			continue;
		}
		if ((rc = fetch_poll(r.f, poll_timeout(&r, now, next_start), on_done, &r)))
			goto out;
		now = now_ms();
		if (!r.stopping && r.auth_refused >= AUTH_STOP_AFTER && !r.auth_ok)
			r.auth_stop_now = 1;
		show_progress(&r, now, 0);
	}
	now = now_ms();
	if ((rc = flush_now(&r, now)))
		goto out;
	writer_stop(&r.w);
	show_progress(&r, now, 1);
	progress_end(&r.prog);
	fill_stats(&r);
	sum->stats = r.stats;
	sum->end = r.auth_stop_now ? RUN_AUTH_REFUSED : r.stopping ? RUN_STOPPED : RUN_COMPLETE;
	sum->stop_signal = o->stop ? (int)*o->stop : 0;
	sum->auth_status = r.auth_status;
	store_counts(st, now, &sum->counts);
	rc = store_run_end(st, r.run_id, now,
			   sum->end == RUN_COMPLETE ? "complete" : sum->end == RUN_AUTH_REFUSED ? "refused" : "stopped",
			   &r.stats);
out:
	writer_stop(&r.w);
	progress_end(&r.prog);
	runner_release(&r);
	return rc;
}
