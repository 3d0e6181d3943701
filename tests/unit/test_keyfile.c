/* The cookie key file: format and messages. */
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

/* A key others can read lets them forge cookies; one they can write, pick
 * the key.  The message says how to fix it. */
static void test_key_file_open_to_group_or_others_is_refused(void **state)
{
	(void)state;
	static const mode_t open_modes[] = { 0640, 0604, 0620, 0602, 0644, 0666 };
	uint8_t m[SG_SECRET_MASTER_BYTES];
	char err[512], want[128], buf[80];
	char *path;

	snprintf(buf, sizeof(buf), "%s\n", good_hex);
	path = write_tmp(buf);
	snprintf(want, sizeof(want), "chmod 600 %s", path);
	for (unsigned i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		assert_int_equal(chmod(path, open_modes[i]), 0);
		err[0] = 0;
		assert_int_equal(sg_keyfile_load(path, m, err, sizeof(err)), -EACCES);
		if (!strstr(err, path) || !strstr(err, want))
			fail_msg("mode %04o: error '%s' lacks the file or '%s'", open_modes[i], err, want);
	}
	assert_int_equal(chmod(path, 0400), 0);    /* owner-only is fine, read-only too */
	assert_int_equal(sg_keyfile_load(path, m, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sg_keyfile_load(path, m, err, sizeof(err)), 0);
	if (geteuid() == 0) {
		/* 0600 but another user's: they could change it. */
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(sg_keyfile_load(path, m, err, sizeof(err)), -EACCES);
		assert_non_null(strstr(err, "chown root"));
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_file_with_64_hex_digits_loads),
		cmocka_unit_test(test_bad_key_files_are_rejected_naming_file_and_fault),
		cmocka_unit_test(test_key_file_open_to_group_or_others_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
