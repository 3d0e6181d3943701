/* The inline SipHash-2-4 is the same function as libsodium's. */
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
	assert_int_equal(sg_siphash(&k, msg, sizeof(msg)), 0xa129ca6149be45e5ull);
}

static void test_matches_libsodium_on_a_million_random_inputs(void **state)
{
	(void)state;
	uint8_t key[16], msg[64], out[8];
	struct sg_siphash_key k = { 0, 0 };

	assert_true(sodium_init() >= 0);
	for (unsigned i = 0; i < 1000000; i++) {
		size_t len = i % 65;

		if (i % 1024 == 0) {
			randombytes_buf(key, sizeof(key));
			sg_siphash_key_from_bytes(&k, key);
		}
		randombytes_buf(msg, len);
		crypto_shorthash(out, msg, len, key);
		uint64_t ref;
		memcpy(&ref, out, 8);   /* libsodium stores it little-endian */
		if (sg_siphash(&k, msg, len) != le64toh(ref))
			fail_msg("mismatch at input %u, length %zu", i, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_reference_vector),
		cmocka_unit_test(test_matches_libsodium_on_a_million_random_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
