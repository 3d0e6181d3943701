/* Cookie keys: epochs, derivation, key files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/secret.h"

#define SEC 1000000000ull

static char *write_tmp(const char *content)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/sg_test_key_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

static const char *good_hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

static void test_key_file_with_64_hex_digits_loads(void **state)
{
	(void)state;
	uint8_t m[SG_SECRET_MASTER_BYTES];
	char err[256] = "";
	char buf[80];
	char *path;

	snprintf(buf, sizeof(buf), "%s\n", good_hex);
	path = write_tmp(buf);
	assert_int_equal(sg_secret_load_file(path, m, err, sizeof(err)), 0);
	assert_int_equal(m[0], 0x00);
	assert_int_equal(m[1], 0x11);
	assert_int_equal(m[31], 0xff);
	unlink(path);
	path = write_tmp(good_hex);              /* no newline is fine too */
	assert_int_equal(sg_secret_load_file(path, m, err, sizeof(err)), 0);
	unlink(path);
}

static void test_bad_key_files_are_rejected_naming_file_and_fault(void **state)
{
	(void)state;
	static const char *bad[] = {
		"0011",                                                    /* short */
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeZZ",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00", /* long */
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nx",
		"",
	};
	uint8_t m[SG_SECRET_MASTER_BYTES];
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = write_tmp(bad[i]);

		err[0] = 0;
		assert_int_equal(sg_secret_load_file(path, m, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, path));
		assert_true(strstr(err, "64 hexadecimal") || strstr(err, "unexpected"));
		unlink(path);
	}
	err[0] = 0;
	assert_int_equal(sg_secret_load_file("/nonexistent/sg.key", m, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/sg.key"));
	assert_non_null(strstr(err, "cannot open"));
}

static void test_epoch_follows_the_period(void **state)
{
	(void)state;
	struct sg_secret *s;

	assert_int_equal(sg_secret_create(NULL, 32, &s), 0);
	assert_int_equal(sg_secret_epoch(s, 0), 0);
	assert_int_equal(sg_secret_epoch(s, 32 * SEC - 1), 0);
	assert_int_equal(sg_secret_epoch(s, 32 * SEC), 1);
	assert_int_equal(sg_secret_epoch(s, 1000 * SEC), 31);
	sg_secret_destroy(s);
	assert_int_equal(sg_secret_create(NULL, 3, &s), -EINVAL);
	assert_int_equal(sg_secret_create(NULL, 3601, &s), -EINVAL);
}

static void test_same_master_gives_same_keys_per_epoch_and_epochs_differ(void **state)
{
	(void)state;
	uint8_t master[SG_SECRET_MASTER_BYTES];
	struct sg_secret *a, *b, *r1, *r2;
	struct sg_secret_cache ca = { 0 }, cb = { 0 }, c1 = { 0 }, c2 = { 0 };

	for (unsigned i = 0; i < sizeof(master); i++)
		master[i] = (uint8_t)(i * 7);
	assert_int_equal(sg_secret_create(master, 32, &a), 0);
	assert_int_equal(sg_secret_create(master, 32, &b), 0);
	for (uint32_t e = 100; e < 110; e++) {
		const struct sg_siphash_key *ka = sg_secret_key(a, &ca, e);
		const struct sg_siphash_key *kb = sg_secret_key(b, &cb, e);

		assert_memory_equal(ka, kb, sizeof(*ka));
	}
	/* The cache holds two epochs without mixing them up. */
	struct sg_siphash_key k100 = *sg_secret_key(a, &ca, 100);
	struct sg_siphash_key k101 = *sg_secret_key(a, &ca, 101);
	assert_memory_not_equal(&k100, &k101, sizeof(k100));
	assert_memory_equal(sg_secret_key(a, &ca, 100), &k100, sizeof(k100));

	assert_int_equal(sg_secret_create(NULL, 32, &r1), 0);
	assert_int_equal(sg_secret_create(NULL, 32, &r2), 0);
	assert_memory_not_equal(sg_secret_key(r1, &c1, 5), sg_secret_key(r2, &c2, 5),
	                        sizeof(struct sg_siphash_key));
	sg_secret_destroy(a);
	sg_secret_destroy(b);
	sg_secret_destroy(r1);
	sg_secret_destroy(r2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_file_with_64_hex_digits_loads),
		cmocka_unit_test(test_bad_key_files_are_rejected_naming_file_and_fault),
		cmocka_unit_test(test_epoch_follows_the_period),
		cmocka_unit_test(test_same_master_gives_same_keys_per_epoch_and_epochs_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
