/* The log's line formats and the choice between them (daemon/log.h). */
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/log.h"

static void stream_of(int fd, char *buf, size_t cap)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(buf, cap, "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
}

static void test_a_pipe_is_plain(void **state)
{
	(void)state;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(sg_log_format_detect(p[1], NULL), SG_LOG_PLAIN);
	close(p[0]);
	close(p[1]);
}

static void test_journal_stream_naming_the_fd_is_the_journal(void **state)
{
	(void)state;
	char js[64], other[64];
	int p[2], q[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	stream_of(p[1], js, sizeof(js));
	stream_of(q[1], other, sizeof(other));
	assert_int_equal(sg_log_format_detect(p[1], js), SG_LOG_JOURNAL);
	/* Inherited by a child whose stderr goes elsewhere: not the journal. */
	assert_int_equal(sg_log_format_detect(q[1], js), SG_LOG_PLAIN);
	assert_int_equal(sg_log_format_detect(p[1], other), SG_LOG_PLAIN);
	/* Not "DEV:INODE": ignored. */
	assert_int_equal(sg_log_format_detect(p[1], ""), SG_LOG_PLAIN);
	assert_int_equal(sg_log_format_detect(p[1], "12"), SG_LOG_PLAIN);
	strcat(js, "x");
	assert_int_equal(sg_log_format_detect(p[1], js), SG_LOG_PLAIN);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static void test_a_terminal_gets_timestamps_unless_it_is_the_journal(void **state)
{
	(void)state;
	char js[64];
	int m, s;

	assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
	assert_int_equal(sg_log_format_detect(s, NULL), SG_LOG_TTY);
	stream_of(s, js, sizeof(js));
	assert_int_equal(sg_log_format_detect(s, js), SG_LOG_JOURNAL);
	close(m);
	close(s);
}

static void test_journal_lines_carry_the_priority(void **state)
{
	(void)state;
	char b[128];
	size_t n;

	n = sg_log_line(b, sizeof(b), SG_LOG_JOURNAL, LOG_WARNING, NULL, "link down");
	assert_string_equal(b, "<4>warning: link down\n");
	assert_int_equal(n, strlen(b));
	sg_log_line(b, sizeof(b), SG_LOG_JOURNAL, LOG_ERR, NULL, "x");
	assert_string_equal(b, "<3>error: x\n");
	sg_log_line(b, sizeof(b), SG_LOG_JOURNAL, LOG_NOTICE, NULL, "x");
	assert_string_equal(b, "<5>notice: x\n");
	/* trace is below syslog's lowest: written as debug. */
	sg_log_line(b, sizeof(b), SG_LOG_JOURNAL, SG_LOG_TRACE, NULL, "libbpf: x");
	assert_string_equal(b, "<7>trace: libbpf: x\n");
}

static void test_plain_lines_keep_the_old_format(void **state)
{
	(void)state;
	char b[128];

	sg_log_line(b, sizeof(b), SG_LOG_PLAIN, LOG_NOTICE, NULL, "running: 1 worker");
	assert_string_equal(b, "synguard: notice: running: 1 worker\n");
}

static void test_terminal_lines_start_with_local_iso8601_with_ms(void **state)
{
	(void)state;
	struct timespec t = { 1700000000, 123456789 };   /* 2023-11-14T22:13:20Z */
	char b[128];

	setenv("TZ", "UTC0", 1);
	tzset();
	sg_log_line(b, sizeof(b), SG_LOG_TTY, LOG_INFO, &t, "hello");
	assert_string_equal(b, "2023-11-14T22:13:20.123+00:00 synguard: info: hello\n");
	setenv("TZ", "<+0530>-5:30", 1);
	tzset();
	sg_log_line(b, sizeof(b), SG_LOG_TTY, LOG_INFO, &t, "hello");
	assert_string_equal(b, "2023-11-15T03:43:20.123+05:30 synguard: info: hello\n");
	unsetenv("TZ");
	tzset();
}

static void test_a_long_message_is_cut_but_still_one_line(void **state)
{
	(void)state;
	char b[16], msg[100];

	memset(msg, 'a', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	assert_int_equal(sg_log_line(b, sizeof(b), SG_LOG_JOURNAL, LOG_INFO, NULL, msg), 15);
	assert_string_equal(b, "<6>info: aaaaa\n");
}

static void test_levels_parse_up_to_trace(void **state)
{
	(void)state;
	assert_int_equal(sg_log_level_parse("error"), LOG_ERR);
	assert_int_equal(sg_log_level_parse("debug"), LOG_DEBUG);
	assert_int_equal(sg_log_level_parse("trace"), SG_LOG_TRACE);
	assert_int_equal(sg_log_level_parse("verbose"), -1);
	assert_string_equal(sg_log_level_name(SG_LOG_TRACE), "trace");
}

/* The whole path: stderr is a pipe the environment says is the journal;
 * trace lines only at the trace level. */
static void test_sg_log_writes_journal_lines_and_filters_trace(void **state)
{
	(void)state;
	char js[64], got[512];
	int p[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	stream_of(STDERR_FILENO, js, sizeof(js));
	setenv("JOURNAL_STREAM", js, 1);
	sg_log_open(SG_LOG_STDERR, LOG_DEBUG);
	sg_log(LOG_WARNING, "wan port %s: link down", "wan0");
	sg_log(SG_LOG_TRACE, "libbpf: loading object");
	sg_log_set_level(SG_LOG_TRACE);
	sg_log(SG_LOG_TRACE, "libbpf: loading object");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	unsetenv("JOURNAL_STREAM");
	n = read(p[0], got, sizeof(got) - 1);
	close(p[0]);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, "<4>warning: wan port wan0: link down\n"
	                         "<7>trace: libbpf: loading object\n");
	sg_log_open(SG_LOG_STDERR, LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_pipe_is_plain),
		cmocka_unit_test(test_journal_stream_naming_the_fd_is_the_journal),
		cmocka_unit_test(test_a_terminal_gets_timestamps_unless_it_is_the_journal),
		cmocka_unit_test(test_journal_lines_carry_the_priority),
		cmocka_unit_test(test_plain_lines_keep_the_old_format),
		cmocka_unit_test(test_terminal_lines_start_with_local_iso8601_with_ms),
		cmocka_unit_test(test_a_long_message_is_cut_but_still_one_line),
		cmocka_unit_test(test_levels_parse_up_to_trace),
		cmocka_unit_test(test_sg_log_writes_journal_lines_and_filters_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
