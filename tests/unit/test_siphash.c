/* sg_siphash is SipHash-2-4: the reference vector of the SipHash paper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <endian.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/siphash.h"

static void test_matches_reference_vector(void **state)
{
	(void)state;
	/* SipHash paper, appendix A: key 00..0f, message 00..0e. */
	uint8_t key[16], msg[15];
	struct sg_siphash_key k;

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	sg_siphash_key_from_bytes(&k, key);
	assert_true(sodium_init() >= 0);
	assert_int_equal(le64toh(sg_siphash(&k, msg, sizeof(msg))), 0xa129ca6149be45e5ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_reference_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
