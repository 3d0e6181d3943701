/* The start-time checks (daemon/preflight.h) on a machine the test
 * describes: a small memory, two CPUs.  Each fault must be said, name the
 * option and, when the file set it, FILE:LINE, and give the right kind. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/ct_config.h"
#include "daemon/preflight.h"

#define MIB (1024ull * 1024ull)

static char said[8][1024];
static bool said_fault[8];
static unsigned nsaid;

static void collect(void *ctx, bool fault, const char *msg)
{
	(void)ctx;
	if (nsaid < 8) {
		snprintf(said[nsaid], sizeof(said[0]), "%s", msg);
		said_fault[nsaid] = fault;
	}
	nsaid++;
}

static char conf_path[64], key_path[64];

/* A config file as given, loaded into *c; the path stays for FILE:LINE. */
static void load(const char *text, struct sg_config *c)
{
	char err[512];
	FILE *f;
	int fd;

	strcpy(conf_path, "/tmp/sg_test_pf_XXXXXX");
	fd = mkstemp(conf_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	sg_config_default(c);
	if (sg_config_load(conf_path, c, err, sizeof(err)))
		fail_msg("%s", err);
}

static void write_key(const char *text, mode_t mode)
{
	int fd;

	strcpy(key_path, "/tmp/sg_test_pfkey_XXXXXX");
	fd = mkstemp(key_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(key_path, mode), 0);
}

/* 4 GiB of memory, 3 GiB of it available, CPUs 0 and 1. */
static void small_machine(struct sg_machine *m)
{
	memset(m, 0, sizeof(*m));
	m->mem_total = 4096 * MIB;
	m->mem_avail = 3072 * MIB;
	CPU_SET(0, &m->cpus);
	CPU_SET(1, &m->cpus);
}

static enum sg_preflight_fault run(const struct sg_config *c, const char *cpus_flag, const char *lan,
                                   const char *wan, bool at_start)
{
	struct sg_machine m;
	struct sg_preflight pf = {
		.cfg = c, .path = conf_path, .cpus_flag = cpus_flag, .ifname = { lan, wan },
		.at_start = at_start, .say = collect,
	};

	small_machine(&m);
	nsaid = 0;
	memset(said, 0, sizeof(said));
	return sg_preflight_run(&pf, &m);
}

static void the_table_is_sized_as_the_table_maps_it(void **state)
{
	(void)state;
	struct sg_ct_config c;

	sg_ct_config_default(&c);
	c.capacity = 1u << 20;     /* 2^20 + 1 entries of 128 bytes, 2^20 buckets of 4 */
	assert_int_equal(sg_ct_config_bytes(&c), ((1ull << 20) + 1) * 128 + (1ull << 20) * 4);
	c.capacity = (1u << 20) + 1;   /* the buckets round up to 2^21 */
	assert_int_equal(sg_ct_config_bytes(&c), ((1ull << 20) + 2) * 128 + (1ull << 21) * 4);
}

static void a_good_configuration_passes_silently(void **state)
{
	(void)state;
	static struct sg_config c;

	load("threads = 2;\ncpus = [0, 1];\n", &c);
	assert_int_equal(run(&c, NULL, "lo", NULL, true), SG_PREFLIGHT_OK);
	assert_int_equal(nsaid, 0);
	unlink(conf_path);
}

static void cpus_that_do_not_exist_are_named_with_file_and_line(void **state)
{
	(void)state;
	static struct sg_config c;

	load("threads = 2;\n\ncpus = [1, 99, 3];\n", &c);
	assert_int_equal(run(&c, NULL, NULL, NULL, false), SG_PREFLIGHT_CONFIG);
	assert_int_equal(nsaid, 1);
	assert_true(said_fault[0]);
	assert_non_null(strstr(said[0], ":3: cpus: CPUs 99, 3: no such CPU"));
	assert_non_null(strstr(said[0], "(it may use 0-1)"));
	assert_int_equal(strncmp(said[0], conf_path, strlen(conf_path)), 0);
	/* Set by the command line: named by its flag, not the file. */
	assert_int_equal(run(&c, "--cpus", NULL, NULL, false), SG_PREFLIGHT_CONFIG);
	assert_int_equal(strncmp(said[0], "--cpus: CPUs 99, 3:", 19), 0);
	unlink(conf_path);
}

static void a_table_larger_than_the_machine_is_a_configuration_fault(void **state)
{
	(void)state;
	static struct sg_config c;

	/* 2^25 entries: 4 GiB of entries, more than the 4 GiB machine. */
	load("conntrack = {\n  capacity = 33554432;\n};\n", &c);
	assert_int_equal(run(&c, NULL, NULL, NULL, false), SG_PREFLIGHT_CONFIG);
	assert_int_equal(nsaid, 1);
	assert_non_null(strstr(said[0], ":2: conntrack.capacity: a table of 33554432 entries takes 4224 MiB, "
	                                "more than this machine's memory (4096 MiB)"));
	/* Bridge only: no table at all. */
	c.bridge_only = true;
	assert_int_equal(run(&c, NULL, NULL, NULL, true), SG_PREFLIGHT_OK);
	unlink(conf_path);
}

static void a_table_larger_than_what_is_available_fails_the_start_only(void **state)
{
	(void)state;
	static struct sg_config c;

	/* 2^24 entries: 2112 MiB... */
	load("conntrack = { capacity = 16777216; };\n", &c);
	assert_int_equal(run(&c, NULL, NULL, NULL, true), SG_PREFLIGHT_OK);
	/* ... 2^24 + 2^23: 3200 MiB, over the 3072 available. */
	load("conntrack = { capacity = 25165824; };\n", &c);
	assert_int_equal(run(&c, NULL, NULL, NULL, true), SG_PREFLIGHT_MEMORY);
	assert_true(said_fault[0]);
	assert_non_null(strstr(said[0], "more than the 3072 MiB available now; free memory or lower"));
	/* --check-config warns: a running synguard's table counts as used. */
	assert_int_equal(run(&c, NULL, NULL, NULL, false), SG_PREFLIGHT_OK);
	assert_int_equal(nsaid, 1);
	assert_false(said_fault[0]);
	unlink(conf_path);
}

static void key_files_that_would_fail_the_start_are_faults(void **state)
{
	(void)state;
	static struct sg_config c;
	static const struct { const char *text; mode_t mode; const char *want; } cases[] = {
		{ "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0644,
		  "may be read or written by group or others (mode 0644)" },
		{ "0011\n", 0600, "must hold exactly 64 hexadecimal digits" },
		{ "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600, NULL },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_key(cases[i].text, cases[i].mode);
		snprintf(text, sizeof(text), "threads = 1;\ncookie = {\n  key_file = \"%s\";\n};\n", key_path);
		load(text, &c);
		if (!cases[i].want) {
			assert_int_equal(run(&c, NULL, NULL, NULL, false), SG_PREFLIGHT_OK);
		} else {
			assert_int_equal(run(&c, NULL, NULL, NULL, false), SG_PREFLIGHT_CONFIG);
			assert_non_null(strstr(said[0], ":3: cookie.key_file: "));
			assert_non_null(strstr(said[0], cases[i].want));
		}
		unlink(key_path);
		unlink(conf_path);
	}
	/* Gone since: unreadable. */
	load(text, &c);
	assert_int_equal(run(&c, NULL, NULL, NULL, false), SG_PREFLIGHT_CONFIG);
	assert_non_null(strstr(said[0], "cannot open key file: No such file or directory"));
	unlink(conf_path);
}

static void ports_that_do_not_exist_are_each_named(void **state)
{
	(void)state;
	static struct sg_config c;

	load("threads = 1;\n", &c);
	assert_int_equal(run(&c, NULL, "sg-pf-nosuch0", "sg-pf-nosuch1", true), SG_PREFLIGHT_PORT);
	assert_int_equal(nsaid, 2);
	assert_string_equal(said[0], "sg-pf-nosuch0: ENODEV: no such network interface (check --lan and `ip link`)");
	assert_non_null(strstr(said[1], "sg-pf-nosuch1: ENODEV: no such network interface (check --wan"));
	/* Every fault is said; the first decides the exit. */
	load("cpus = [7];\n", &c);
	assert_int_equal(run(&c, NULL, "lo", "sg-pf-nosuch1", true), SG_PREFLIGHT_CONFIG);
	assert_int_equal(nsaid, 2);
	unlink(conf_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_table_is_sized_as_the_table_maps_it),
		cmocka_unit_test(a_good_configuration_passes_silently),
		cmocka_unit_test(cpus_that_do_not_exist_are_named_with_file_and_line),
		cmocka_unit_test(a_table_larger_than_the_machine_is_a_configuration_fault),
		cmocka_unit_test(a_table_larger_than_what_is_available_fails_the_start_only),
		cmocka_unit_test(key_files_that_would_fail_the_start_are_faults),
		cmocka_unit_test(ports_that_do_not_exist_are_each_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
