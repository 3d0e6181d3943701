/* The cookie key file: format and messages. */
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

#include "daemon/keyfile.h"

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
	assert_int_equal(sg_keyfile_load(path, m, err, sizeof(err)), 0);
	assert_int_equal(m[0], 0x00);
	assert_int_equal(m[1], 0x11);
	assert_int_equal(m[31], 0xff);
	unlink(path);
	path = write_tmp(good_hex);              /* no newline is fine too */
	assert_int_equal(sg_keyfile_load(path, m, err, sizeof(err)), 0);
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
		assert_int_equal(sg_keyfile_load(path, m, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, path));
		assert_true(strstr(err, "64 hexadecimal") || strstr(err, "unexpected"));
		unlink(path);
	}
	err[0] = 0;
	assert_int_equal(sg_keyfile_load("/nonexistent/sg.key", m, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/sg.key"));
	assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_file_with_64_hex_digits_loads),
		cmocka_unit_test(test_bad_key_files_are_rejected_naming_file_and_fault),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
