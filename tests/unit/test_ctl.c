/* The control socket's output: counters with rates, text and JSON, and a
 * real round trip over the socket. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/ctl.h"

/* A handler that answers "stats" from two snapshots, like the daemon's,
 * and records what the transport gave it. */
struct seen {
	struct sg_snapshot *cur, *prev;
	int argc;
	char argv1[64];
	bool json;
};

static void handler(void *ctx, int argc, char **argv, bool json, struct sg_reply *r)
{
	struct seen *s = ctx;
	static char buf[8192];
	int n;

	s->argc = argc;
	s->json = json;
	snprintf(s->argv1, sizeof(s->argv1), "%s", argc > 1 ? argv[1] : "");
	if (strcmp(argv[0], "stats") == 0) {
		n = sg_ctl_format(buf, sizeof(buf), s->cur, s->prev, json);
		sg_reply_printf(r, "%.*s", n, buf);
	} else if (strcmp(argv[0], "big") == 0) {
		while (sg_reply_printf(r, "%0512d\n", 7) == 0)
			;
	} else {
		sg_reply_fail(r, 2, "unknown command '%s'", argv[0]);
	}
}

static void snaps(struct sg_snapshot *prev, struct sg_snapshot *cur)
{
	memset(prev, 0, sizeof(*prev));
	memset(cur, 0, sizeof(*cur));
	prev->at_ns = 1000000000ull;
	cur->at_ns = 3000000000ull;            /* 2 s later */
	sg_snapshot_add(prev, "syn_received", 100);
	sg_snapshot_add(prev, "dropped", 7);
	sg_snapshot_add(cur, "syn_received", 500);
	sg_snapshot_add(cur, "dropped", 7);
}

static void test_text_lists_values_and_rates(void **state)
{
	(void)state;
	struct sg_snapshot prev, cur;
	char buf[1024];

	snaps(&prev, &cur);
	assert_true(sg_ctl_format(buf, sizeof(buf), &cur, &prev, false) > 0);
	assert_non_null(strstr(buf, "syn_received"));
	assert_non_null(strstr(buf, "500"));
	assert_non_null(strstr(buf, "200.0/s"));
	assert_non_null(strstr(buf, "0.0/s"));
}

static void test_json_has_each_counter_with_value_and_rate(void **state)
{
	(void)state;
	struct sg_snapshot prev, cur;
	char buf[1024];

	snaps(&prev, &cur);
	assert_true(sg_ctl_format(buf, sizeof(buf), &cur, &prev, true) > 0);
	assert_non_null(strstr(buf, "\"interval_s\": 2.000"));
	assert_non_null(strstr(buf, "\"syn_received\": {\"value\": 500, \"rate\": 200.0}"));
	assert_non_null(strstr(buf, "\"dropped\": {\"value\": 7, \"rate\": 0.0}"));
	assert_int_equal(sg_ctl_format(buf, 10, &cur, &prev, true), -ENOSPC);
}

static const char *three_names(unsigned i)
{
	static const char *const n[] = { "none", "alpha", "beta" };
	return i == 0 ? NULL : n[i];        /* index 0 is not a counter */
}

static void test_a_counter_set_is_added_by_its_names_with_a_prefix(void **state)
{
	(void)state;
	struct sg_snapshot s;
	const uint64_t v[3] = { 9, 1, 2 };

	memset(&s, 0, sizeof(s));
	assert_int_equal(sg_snapshot_add(&s, "first", 5), 0);
	assert_int_equal(sg_snapshot_add_set(&s, "set_", three_names, v, 3), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.c[0].name, "first");
	assert_string_equal(s.c[1].name, "set_alpha");
	assert_int_equal(s.c[1].value, 1);
	assert_string_equal(s.c[2].name, "set_beta");
	assert_int_equal(s.c[2].value, 2);
}

static void test_a_full_snapshot_or_a_long_name_is_an_error_not_silence(void **state)
{
	(void)state;
	struct sg_snapshot s;
	char longname[sizeof(s.c[0].name) + 1];
	const uint64_t v[3] = { 0, 1, 2 };

	memset(&s, 0, sizeof(s));
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(sg_snapshot_add(&s, longname, 1), -ENAMETOOLONG);
	assert_int_equal(s.n, 0);
	for (unsigned i = 0; i < SG_CTL_MAX_COUNTERS - 1; i++)
		assert_int_equal(sg_snapshot_add(&s, "c", i), 0);
	/* One place left: alpha fits, beta does not, and the set says so. */
	assert_int_equal(sg_snapshot_add_set(&s, "", three_names, v, 3), -ENOSPC);
	assert_int_equal(s.n, SG_CTL_MAX_COUNTERS);
	assert_string_equal(s.c[SG_CTL_MAX_COUNTERS - 1].name, "alpha");
}

static void test_socket_is_root_only_and_answers_stats(void **state)
{
	(void)state;
	char dir[] = "/tmp/sg_ctl_XXXXXX", path[128], reply[1024];
	struct sg_snapshot prev, cur;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct seen seen = { 0 };
	struct sg_ctl *ctl;
	struct stat st;
	char err[256];
	ssize_t n;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run/ctl.sock", dir);
	assert_int_equal(sg_ctl_open(&ctl, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(reply, sizeof(reply), "%s/run", dir);
	assert_int_equal(stat(reply, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	snaps(&prev, &cur);
	seen.cur = &cur;
	seen.prev = &prev;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "-j stats  extra\n", 16), 16);
	sg_ctl_serve(ctl, handler, &seen);
	n = read(fd, reply, sizeof(reply) - 1);
	assert_true(n > 0);
	reply[n] = 0;
	assert_true(seen.json);
	assert_int_equal(seen.argc, 2);
	assert_string_equal(seen.argv1, "extra");
	assert_memory_equal(reply, "0\n{", 3);       /* status line, then the body */
	assert_non_null(strstr(reply, "\"syn_received\": {\"value\": 500"));
	close(fd);

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "reboot\n", 7), 7);
	sg_ctl_serve(ctl, handler, &seen);
	n = read(fd, reply, sizeof(reply) - 1);
	reply[n > 0 ? n : 0] = 0;
	assert_false(seen.json);
	assert_memory_equal(reply, "2\nerror: unknown command 'reboot'", 33);
	close(fd);

	/* A line without its end (a client that stalls) is a usage error,
	 * answered after the second the transport waits. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "stats", 5), 5);
	seen.argc = -1;
	sg_ctl_serve(ctl, handler, &seen);
	n = read(fd, reply, sizeof(reply) - 1);
	reply[n > 0 ? n : 0] = 0;
	assert_int_equal(seen.argc, -1);               /* the handler never ran */
	assert_non_null(strstr(reply, "2\nerror: incomplete request"));
	close(fd);

	/* A reply that outgrows the cap is cut, says so and fails. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "big\n", 4), 4);
	{
		size_t total = 0;
		char tail[128] = "";
		pid_t pid = fork();

		if (pid == 0) {                         /* the client drains while we serve */
			char buf[65536];
			ssize_t k;

			while ((k = read(fd, buf, sizeof(buf))) > 0) {
				if (total == 0 && buf[0] != '1')
					_exit(3);
				total += (size_t)k;
				/* keep the last 127 bytes read, for the cut notice */
				size_t keep = strlen(tail), add = (size_t)k > 127 ? 127 : (size_t)k;

				if (keep + add > 127) {
					memmove(tail, tail + keep + add - 127, 127 - add);
					keep = 127 - add;
				}
				memcpy(tail + keep, buf + k - add, add);
				tail[keep + add] = 0;
			}
			_exit(total > SG_CTL_REPLY_MAX - 1024 && total < SG_CTL_REPLY_MAX + 1024 &&
			      strstr(tail, "reply cut at") ? 0 : 4);
		}
		sg_ctl_serve(ctl, handler, &seen);
		close(fd);
		int st;

		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}

	sg_ctl_close(ctl);
	assert_int_not_equal(stat(path, &st), 0);   /* removed on close */
	snprintf(reply, sizeof(reply), "%s/run", dir);
	rmdir(reply);
	rmdir(dir);
}

/* The socket's directory decides who may replace the socket (and so
 * answer synguardctl in the daemon's name): it must be ours alone. */
static void test_a_directory_others_may_write_is_refused(void **state)
{
	(void)state;
	char dir[] = "/tmp/sg_ctl_XXXXXX", run[128], path[160], err[512];
	struct sg_ctl *ctl = (struct sg_ctl *)1;

	assert_non_null(mkdtemp(dir));
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(path, sizeof(path), "%s/ctl.sock", run);
	assert_int_equal(mkdir(run, 0700), 0);
	assert_int_equal(chmod(run, 0777), 0);          /* mkdir's mode obeys umask */
	err[0] = 0;
	assert_int_equal(sg_ctl_open(&ctl, path, err, sizeof(err)), -EPERM);
	if (!strstr(err, run) || !strstr(err, "chmod go-w"))
		fail_msg("error '%s' lacks the directory or the fix", err);
	assert_int_equal(chmod(run, 0770), 0);
	assert_int_equal(sg_ctl_open(&ctl, path, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(run, 01777), 0);         /* like /tmp */
	assert_int_equal(sg_ctl_open(&ctl, path, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "a directory of its own"));
	assert_int_equal(chmod(run, 0755), 0);          /* others may read: fine */
	assert_int_equal(sg_ctl_open(&ctl, path, err, sizeof(err)), 0);
	sg_ctl_close(ctl);
	if (geteuid() == 0) {
		/* Owned by someone else, even 0700: they could swap the socket. */
		assert_int_equal(chown(run, 65534, 65534), 0);
		assert_int_equal(sg_ctl_open(&ctl, path, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "chown"));
	}
	rmdir(run);
	rmdir(dir);
}

/* Two daemons must not share a control socket: the second one used to
 * unlink the live socket and take its name.  A socket a dead daemon left
 * (nobody holds its lock) is replaced. */
static void test_a_live_daemons_socket_is_not_taken_over(void **state)
{
	(void)state;
	char dir[] = "/tmp/sg_ctl_XXXXXX", path[128], err[512], reply[1024];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sg_snapshot prev, cur;
	struct seen seen = { 0 };
	struct sg_ctl *a, *b = NULL;
	ssize_t n;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	strcpy(sa.sun_path, path);
	assert_int_equal(sg_ctl_open(&a, path, err, sizeof(err)), 0);
	err[0] = 0;
	assert_int_equal(sg_ctl_open(&b, path, err, sizeof(err)), -EBUSY);
	if (!strstr(err, path) || !strstr(err, "another synguard"))
		fail_msg("error '%s' lacks the path or 'another synguard'", err);

	/* The first still answers on its socket. */
	snaps(&prev, &cur);
	seen.cur = &cur;
	seen.prev = &prev;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "stats\n", 6), 6);
	sg_ctl_serve(a, handler, &seen);
	n = read(fd, reply, sizeof(reply) - 1);
	assert_true(n > 0);
	close(fd);
	sg_ctl_close(a);

	/* What a killed daemon leaves: the socket file, no listener, no lock. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(sg_ctl_open(&b, path, err, sizeof(err)), 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	sg_ctl_close(b);
	assert_int_equal(rmdir(dir), 0);                /* nothing left behind */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_lists_values_and_rates),
		cmocka_unit_test(test_json_has_each_counter_with_value_and_rate),
		cmocka_unit_test(test_a_counter_set_is_added_by_its_names_with_a_prefix),
		cmocka_unit_test(test_a_full_snapshot_or_a_long_name_is_an_error_not_silence),
		cmocka_unit_test(test_socket_is_root_only_and_answers_stats),
		cmocka_unit_test(test_a_directory_others_may_write_is_refused),
		cmocka_unit_test(test_a_live_daemons_socket_is_not_taken_over),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
