/* The handover file (daemon/handover.h): written at a stop, read at the
 * next start, refused with a message naming what differs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/proxy.h"
#include "daemon/handover.h"

#define SEC 1000000000ull

static const uint8_t seed[SG_PROXY_SEED_BYTES] = { 1, 2, 3, 4, 5 };
static const char *const ports[2] = { "lan0", "wan0" };

struct fx {
	char dir[64];
	struct sg_handover h;
	struct sg_proxy *p;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sg_proxy_config cfg;
	char err[256];

	strcpy(f->dir, "/tmp/sg-handover-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->h.path, sizeof(f->h.path), "%s/handover", f->dir);
	if (sg_handover_tag(f->h.tag, ports, err, sizeof(err)))
		return -1;
	sg_proxy_config_default(&cfg);
	cfg.ct.capacity = 1024;
	cfg.seed = seed;
	if (sg_proxy_create(&cfg, 1, &f->p))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char tmp[PATH_MAX + 8];

	if (f->h.map)
		munmap(f->h.map, f->h.len);
	unlink(f->h.path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->h.path);
	unlink(tmp);
	rmdir(f->dir);
	sg_proxy_destroy(f->p);
	free(f);
	return 0;
}

/* Writes the dump at 100 s on the proxy's clock. */
static void write_dump(struct fx *f, const uint8_t *tag)
{
	uint64_t n = 99;
	char err[256];
	struct stat st;

	assert_int_equal(sg_handover_write(f->h.path, f->p, seed, tag ? tag : f->h.tag, 100 * SEC,
	                                   &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(stat(f->h.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* Reads it at `now`; returns rc and the message in err. */
static int read_dump(struct fx *f, uint64_t now, char *err, size_t errlen)
{
	int rc;

	err[0] = 0;
	memset(f->h.seed, 0, sizeof(f->h.seed));
	rc = sg_handover_read(&f->h, now, err, errlen);
	if (rc == 0) {
		munmap(f->h.map, f->h.len);
		f->h.map = NULL;
	}
	return rc;
}

/* Changes `n` bytes at `off` of the file (or cuts it to `off` when n = 0). */
static void patch(struct fx *f, long off, const void *bytes, size_t n)
{
	FILE *fp;

	if (!n) {
		assert_int_equal(truncate(f->h.path, off), 0);
		return;
	}
	fp = fopen(f->h.path, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_equal(fwrite(bytes, 1, n, fp), n);
	fclose(fp);
}

static void expect_refusal(struct fx *f, uint64_t now, const char *words)
{
	char err[512];

	assert_true(read_dump(f, now, err, sizeof(err)) < 0);
	if (!strstr(err, words) || !strstr(err, f->h.path))
		fail_msg("expected \"%s\" naming the file, got \"%s\"", words, err);
}

static void test_round_trip_gives_the_seed(void **state)
{
	struct fx *f = *state;
	char err[512];

	assert_int_equal(read_dump(f, 100 * SEC, err, sizeof(err)), 1);   /* none yet */
	write_dump(f, NULL);
	assert_int_equal(read_dump(f, 101 * SEC, err, sizeof(err)), 0);
	assert_memory_equal(f->h.seed, seed, sizeof(seed));
	assert_int_equal(f->h.count, 0);
}

static void test_truncated_file_is_refused(void **state)
{
	struct fx *f = *state;

	write_dump(f, NULL);
	patch(f, 100, NULL, 0);
	expect_refusal(f, 101 * SEC, "truncated: 100 bytes");
}

static void test_other_version_is_refused(void **state)
{
	struct fx *f = *state;
	uint32_t v = SG_CT_DUMP_VERSION + 1;
	char words[64];

	write_dump(f, NULL);
	patch(f, 8, &v, sizeof(v));
	snprintf(words, sizeof(words), "format version %u, this synguard reads version %u", v,
	         SG_CT_DUMP_VERSION);
	expect_refusal(f, 101 * SEC, words);
}

static void test_other_sizes_are_refused(void **state)
{
	struct fx *f = *state;
	uint32_t v = 4096;

	write_dump(f, NULL);
	patch(f, 16, &v, sizeof(v));
	expect_refusal(f, 101 * SEC, "entries of 4096 bytes, this synguard's have");
	write_dump(f, NULL);
	v = 32;
	patch(f, 20, &v, sizeof(v));
	expect_refusal(f, 101 * SEC, "entry payloads of 32 bytes, this synguard's have 64");
}

static void test_corrupted_file_is_refused(void **state)
{
	struct fx *f = *state;
	uint8_t b = 0xee;

	write_dump(f, NULL);
	patch(f, 60, &b, 1);     /* inside the seed */
	expect_refusal(f, 101 * SEC, "checksum mismatch");
}

static void test_other_boot_ports_or_age_are_refused(void **state)
{
	struct fx *f = *state;
	uint8_t tag[SG_CT_DUMP_TAG_BYTES];

	memcpy(tag, f->h.tag, sizeof(tag));
	memcpy(tag, "0000", 4);
	write_dump(f, tag);
	expect_refusal(f, 101 * SEC, "written in another boot");
	memcpy(tag, f->h.tag, sizeof(tag));
	memcpy(tag + 40 + 16, "eth9", 5);
	write_dump(f, tag);
	expect_refusal(f, 101 * SEC, "written for wan port eth9, this daemon's is wan0");
	write_dump(f, NULL);
	expect_refusal(f, (100 + SG_HANDOVER_MAX_AGE_S + 1) * SEC, "too stale");
	write_dump(f, NULL);
	expect_refusal(f, 99 * SEC, "after now");
}

static void test_file_others_may_read_is_refused(void **state)
{
	struct fx *f = *state;

	write_dump(f, NULL);
	assert_int_equal(chmod(f->h.path, 0644), 0);
	expect_refusal(f, 101 * SEC, "nobody else may read");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_gives_the_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_version_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_sizes_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupted_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_boot_ports_or_age_are_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_file_others_may_read_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
