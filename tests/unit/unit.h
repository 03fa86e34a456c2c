/*
 * unit.h: what the Check unit tests share: the suite constructors each test
 * binary exports, the common main, and temp-file helpers. Test code only;
 * nothing under src/ includes it.
 */
#ifndef MQGATE_UNIT_H
#define MQGATE_UNIT_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Suite *value_suite(void);
Suite *addr_suite(void);
Suite *diag_suite(void);
Suite *config_suite(void);

/*
 * For loops of many thousand iterations: every passing ck_assert_* sends a
 * "mark point" through a pipe to Check's parent process, which made a
 * 100,000-step loop take seconds under ASan and trip the 4 s per-test
 * timeout on a loaded CI machine. These check in plain C and reach Check
 * only on failure, with the values in the message.
 */
#define UNIT_HOT(C)                                                           \
	do {                                                                  \
		if (!(C))                                                     \
			ck_abort_msg("Assertion '%s' failed", #C);            \
	} while (0)

#define UNIT_HOT_CMP(X, OP, Y)                                                \
	do {                                                                  \
		intmax_t unit_x_ = (intmax_t)(X), unit_y_ = (intmax_t)(Y);   \
		if (!(unit_x_ OP unit_y_))                                    \
			ck_abort_msg("Assertion '%s' failed: %s == %jd, "     \
			    "%s == %jd", #X " " #OP " " #Y, #X, unit_x_, #Y,  \
			    unit_y_);                                         \
	} while (0)

/* Run one suite with the default fork mode; returns the exit status. */
static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * Write len bytes to a new file under /tmp and return its path, which the
 * caller unlinks and frees. Fails the test on any error.
 */
static inline char *
unit_temp_file(const void *data, size_t len)
{
	char *path = strdup("/tmp/mqgate-unit-XXXXXX");
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	return path;
}

/* Read a whole file into a new NUL-terminated buffer; NULL if missing. */
static inline char *
unit_read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (fp == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap * 2 + 4096;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	ck_assert_int_eq(ferror(fp), 0);
	fclose(fp);
	buf[len] = '\0';
	return buf;
}

/* Run fn with stderr redirected to a temp file; return what it wrote
 * (caller frees). Fails the test on any error. */
static inline char *
unit_capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/mqgate-unit-XXXXXX";
	int fd = mkstemp(path), saved;
	char *out;

	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	fn();
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	close(fd);
	out = unit_read_file(path);
	unlink(path);
	ck_assert_ptr_nonnull(out);
	return out;
}

#endif
