/* Cookie keys: epochs and derivation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/secret.h"

#define SEC 1000000000ull

static void fill(uint8_t *m, uint8_t mul)
{
	for (unsigned i = 0; i < SG_SECRET_MASTER_BYTES; i++)
		m[i] = (uint8_t)(i * mul + 1);
}

static void test_epoch_follows_the_period(void **state)
{
	(void)state;
	uint8_t master[SG_SECRET_MASTER_BYTES];
	struct sg_secret *s;

	fill(master, 3);
	assert_int_equal(sg_secret_create(master, 32, &s), 0);
	assert_int_equal(sg_secret_epoch(s, 0), 0);
	assert_int_equal(sg_secret_epoch(s, 32 * SEC - 1), 0);
	assert_int_equal(sg_secret_epoch(s, 32 * SEC), 1);
	assert_int_equal(sg_secret_epoch(s, 1000 * SEC), 31);
	sg_secret_destroy(s);
	assert_int_equal(sg_secret_create(master, 3, &s), -EINVAL);
	assert_int_equal(sg_secret_create(master, 3601, &s), -EINVAL);
}

static void test_same_master_gives_same_keys_per_epoch_and_epochs_differ(void **state)
{
	(void)state;
	uint8_t master[SG_SECRET_MASTER_BYTES], other[SG_SECRET_MASTER_BYTES];
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

	/* Another master, other keys. */
	fill(other, 5);
	assert_int_equal(sg_secret_create(master, 32, &r1), 0);
	assert_int_equal(sg_secret_create(other, 32, &r2), 0);
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
		cmocka_unit_test(test_epoch_follows_the_period),
		cmocka_unit_test(test_same_master_gives_same_keys_per_epoch_and_epochs_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
