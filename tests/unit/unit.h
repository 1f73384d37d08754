/*
 * unit.h - a tiny header-only test harness for trawl's unit tests.
 *
 * Each tests/unit/test_*.c is one executable: it includes this header,
 * defines its cases with TEST(name), runs them with RUN(name) from main and
 * returns unit_done().  A failed check prints "file:line: ..." with both
 * values to stderr and the run continues; unit_done() prints exactly one
 * final line "N passed, N failed" to stdout and returns 0 iff nothing failed.
 * It must never depend on anything but libc: the harness has to work before
 * the code under test does.
 */
#ifndef TRAWL_UNIT_H
#define TRAWL_UNIT_H

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned long unit_passed_;
static unsigned long unit_failed_;
static const char *unit_current_ = "";

/* Records one check; prints the location and the failed expression. */
static inline int unit_check_(int ok, const char *file, int line, const char *expr)
{
	if (ok) {
		unit_passed_++;
		return 1;
	}
	unit_failed_++;
	fprintf(stderr, "%s:%d: [%s] check failed: %s\n", file, line, unit_current_, expr);
	return 0;
}

static inline int unit_check_int_(intmax_t a, intmax_t b, const char *file, int line,
				  const char *ea, const char *eb)
{
	if (a == b) {
		unit_passed_++;
		return 1;
	}
	unit_failed_++;
	fprintf(stderr, "%s:%d: [%s] %s == %s failed: %" PRIdMAX " != %" PRIdMAX "\n",
		file, line, unit_current_, ea, eb, a, b);
	return 0;
}

static inline int unit_check_dbl_(double a, double b, double eps, const char *file, int line,
				  const char *ea, const char *eb)
{
	if (fabs(a - b) <= eps) {
		unit_passed_++;
		return 1;
	}
	unit_failed_++;
	fprintf(stderr, "%s:%d: [%s] %s ~= %s failed: %.17g != %.17g\n",
		file, line, unit_current_, ea, eb, a, b);
	return 0;
}

/* Prints at most 200 bytes of s, escaping non-printable bytes. */
static inline void unit_print_str_(const char *s)
{
	size_t i;

	if (s == NULL) {
		fputs("(null)", stderr);
		return;
	}
	fputc('"', stderr);
	for (i = 0; s[i] != '\0' && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	if (s[i] != '\0')
		fputs("...", stderr);
	fputc('"', stderr);
}

static inline int unit_check_str_(const char *a, const char *b, const char *file, int line,
				  const char *ea, const char *eb)
{
	if ((a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0)) {
		unit_passed_++;
		return 1;
	}
	unit_failed_++;
	fprintf(stderr, "%s:%d: [%s] %s == %s failed: ", file, line, unit_current_, ea, eb);
	unit_print_str_(a);
	fputs(" != ", stderr);
	unit_print_str_(b);
	fputc('\n', stderr);
	return 0;
}

/* Prints the summary line; returns the process exit status. */
static inline int unit_done(void)
{
	printf("%lu passed, %lu failed\n", unit_passed_, unit_failed_);
	if (fflush(stdout) != 0)
		return 1;
	return unit_failed_ == 0 ? 0 : 1;
}

#define CHECK(cond) unit_check_((cond) != 0, __FILE__, __LINE__, #cond)
#define CHECK_EQ_INT(a, b) \
	unit_check_int_((intmax_t)(a), (intmax_t)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_EQ_STR(a, b) unit_check_str_((a), (b), __FILE__, __LINE__, #a, #b)
#define CHECK_NEAR(a, b, eps) \
	unit_check_dbl_((double)(a), (double)(b), (double)(eps), __FILE__, __LINE__, #a, #b)

/* TEST(foo) { ... } defines a case; RUN(foo) runs it under its name. */
#define TEST(name) static void test_##name(void)
#define RUN(name) \
	do { \
		unit_current_ = #name; \
		test_##name(); \
		unit_current_ = ""; \
	} while (0)

/* Removes dir and the files in it (one level: the tests make no subdirectories). */
static inline void unit_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[600];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

#endif
