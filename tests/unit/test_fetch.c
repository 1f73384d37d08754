/*
 * test_fetch.c - the poll set behind the transfer loop, white-box: this file
 * includes fetch.c to reach its socket callbacks without a network.  The
 * transfers themselves are tested end to end against the mock API.
 */
#include "../../src/fetch.c"

#include "unit.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#define NSOCK 200

struct waker {
	struct fetcher *f;
	int stop;
	long calls;
};

/* fetch_wakeup from another thread, as the writer thread calls it. */
static void *wake_loop(void *arg)
{
	struct waker *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		fetch_wakeup(w->f);
		__atomic_add_fetch(&w->calls, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void noop_done(void *ctx, void *owner, const struct response *r)
{
	(void)ctx;
	(void)owner;
	(void)r;
}

/*
 * The loop grows and reorders its pollfd array while another thread wakes
 * it: the wakeup must not read the array (under ASan, a wakeup that did
 * read it met freed memory within a few rounds).  Afterwards a wakeup still
 * ends a wait at once.
 */
TEST(wakeup_while_the_poll_set_grows)
{
	struct fetch_opts o = { .concurrency = 2, .max_body = 1 << 20, .max_redirects = 5 };
	struct fetcher *f = NULL;
	struct waker w = { 0 };
	pthread_t t;
	int fds[NSOCK], i, round;
	struct timespec a, b;

	if (!CHECK_EQ_INT(fetch_new(&f, &o), 0))
		return;
	for (i = 0; i < NSOCK; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	w.f = f;
	CHECK_EQ_INT(pthread_create(&t, NULL, wake_loop, &w), 0);
	while (!__atomic_load_n(&w.calls, __ATOMIC_RELAXED))
		sched_yield();
	for (round = 0; round < 300; round++) {
		for (i = 0; i < NSOCK; i++)
			on_socket(NULL, fds[i], CURL_POLL_IN, f, NULL);
		for (i = 0; i < NSOCK; i++)
			on_socket(NULL, fds[NSOCK - 1 - i], CURL_POLL_REMOVE, f, NULL);
		/* back to the first size, so the next round grows it again */
		f->pfd_cap = f->nslots + 9;
		f->pfd = xrealloc(f->pfd, (size_t)f->pfd_cap * sizeof(*f->pfd));
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	CHECK(w.calls > 0);
	CHECK_EQ_INT(f->npfd, 1);
	CHECK_EQ_INT(f->pfd[0].fd, f->wake_fd);

	fetch_wakeup(f);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_EQ_INT(fetch_poll(f, 5000, noop_done, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 1000);
	for (i = 0; i < NSOCK; i++)
		close(fds[i]);
	fetch_free(f);
}

/* A socket closed behind libcurl's back is dropped from the set, not
 * polled again and again (poll answers POLLNVAL at once: a busy loop). */
TEST(closed_socket_leaves_the_poll_set)
{
	struct fetch_opts o = { .concurrency = 2, .max_body = 1 << 20, .max_redirects = 5 };
	struct fetcher *f = NULL;
	int fd;

	if (!CHECK_EQ_INT(fetch_new(&f, &o), 0))
		return;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	on_socket(NULL, fd, CURL_POLL_IN, f, NULL);
	CHECK_EQ_INT(f->npfd, 2);
	close(fd);
	CHECK_EQ_INT(fetch_poll(f, 0, noop_done, NULL), 0);
	CHECK_EQ_INT(f->npfd, 1);
	CHECK_EQ_INT(f->pfd_at[fd], 0);
	fetch_free(f);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	RUN(wakeup_while_the_poll_set_grows);
	RUN(closed_socket_leaves_the_poll_set);
	curl_global_cleanup();
	return unit_done();
}
