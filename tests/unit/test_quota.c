/* Per-source quotas: a source is a prefix of the WAN address; it gets its
 * limit and no more, gets back what it gives back, and other sources are
 * not charged for it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/quota.h"

static const uint8_t key[SG_QUOTA_KEY_BYTES] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static void flow4(struct sg_flow *k, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	const uint8_t wan[4] = { a, b, c, d }, lan[4] = { 192, 0, 2, 10 };

	sg_flow_make(k, 4, wan, port, lan, 443, 0, 0);
}

static void flow6(struct sg_flow *k, uint8_t host, uint8_t subnet, uint16_t port)
{
	uint8_t wan[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, subnet }, lan[16] = { 0x20, 0x01, 0x0d, 0xb8, 9 };

	wan[15] = host;
	sg_flow_make(k, 6, wan, port, lan, 443, 0, 0);
}

static void test_a_source_gets_its_limit_and_back_what_it_gives(void **state)
{
	(void)state;
	struct sg_quota *q;
	struct sg_flow k;

	assert_int_equal(sg_quota_create(2, 32, 64, key, &q), 0);
	for (uint16_t i = 0; i < 10; i++) {
		flow4(&k, 198, 51, 100, 7, (uint16_t)(1000 + i));
		assert_true(sg_quota_take(q, 0, &k, 10));
	}
	assert_false(sg_quota_take(q, 0, &k, 10));
	/* The limit is per worker: worker 1 counts its own entries. */
	assert_true(sg_quota_take(q, 1, &k, 10));
	/* Other sources are not charged. */
	flow4(&k, 198, 51, 100, 8, 1000);
	assert_true(sg_quota_take(q, 0, &k, 10));
	/* One given back, one more taken, and no more. */
	flow4(&k, 198, 51, 100, 7, 1003);
	sg_quota_give(q, 0, &k);
	flow4(&k, 198, 51, 100, 7, 2000);
	assert_true(sg_quota_take(q, 0, &k, 10));
	assert_false(sg_quota_take(q, 0, &k, 10));
	sg_quota_destroy(q);
}

static void test_prefix_lengths_decide_what_is_one_source(void **state)
{
	(void)state;
	struct sg_quota *q;
	struct sg_flow k;

	/* IPv4 /24: every host of 198.51.100.0/24 shares one count. */
	assert_int_equal(sg_quota_create(1, 24, 64, key, &q), 0);
	for (uint8_t h = 1; h <= 5; h++) {
		flow4(&k, 198, 51, 100, h, 1000);
		assert_true(sg_quota_take(q, 0, &k, 5));
	}
	flow4(&k, 198, 51, 100, 200, 1000);
	assert_false(sg_quota_take(q, 0, &k, 5));
	flow4(&k, 198, 51, 101, 1, 1000);
	assert_true(sg_quota_take(q, 0, &k, 5));
	/* IPv6 /64: hosts of one /64 share; another /64 does not. */
	for (uint8_t h = 1; h <= 5; h++) {
		flow6(&k, h, 1, 1000);
		assert_true(sg_quota_take(q, 0, &k, 5));
	}
	flow6(&k, 99, 1, 1000);
	assert_false(sg_quota_take(q, 0, &k, 5));
	flow6(&k, 1, 2, 1000);
	assert_true(sg_quota_take(q, 0, &k, 5));
	sg_quota_destroy(q);
	/* /0 makes one source of everything; /32 and /128 one of each host. */
	assert_int_equal(sg_quota_create(1, 0, 128, key, &q), 0);
	flow4(&k, 1, 2, 3, 4, 1);
	assert_true(sg_quota_take(q, 0, &k, 1));
	flow4(&k, 5, 6, 7, 8, 1);
	assert_false(sg_quota_take(q, 0, &k, 1));
	flow6(&k, 1, 1, 1);
	assert_true(sg_quota_take(q, 0, &k, 1));
	flow6(&k, 2, 1, 1);
	assert_true(sg_quota_take(q, 0, &k, 1));
	sg_quota_destroy(q);
	assert_int_equal(sg_quota_create(1, 33, 64, key, &q), -EINVAL);
	assert_int_equal(sg_quota_create(1, 32, 129, key, &q), -EINVAL);
}

/* Many ordinary sources and one at its limit must not lock out fresh
 * ones: a sketch overcounts only where a source shares both its counters
 * with heavy ones. */
static void test_busy_sources_leave_room_for_new_ones(void **state)
{
	(void)state;
	struct sg_quota *q;
	struct sg_flow k;
	unsigned refused = 0;

	assert_int_equal(sg_quota_create(1, 32, 64, key, &q), 0);
	for (unsigned s = 0; s < 4000; s++) {
		flow4(&k, 10, (uint8_t)(s >> 8), (uint8_t)s, 1, 1000);
		for (int i = 0; i < 10; i++)
			assert_true(sg_quota_take(q, 0, &k, SG_QUOTA_MIN_LIMIT));
	}
	flow4(&k, 203, 0, 113, 66, 1000);
	for (unsigned i = 0; i < SG_QUOTA_MIN_LIMIT; i++)
		assert_true(sg_quota_take(q, 0, &k, SG_QUOTA_MIN_LIMIT));
	assert_false(sg_quota_take(q, 0, &k, SG_QUOTA_MIN_LIMIT));
	for (unsigned s = 0; s < 1000; s++) {
		flow4(&k, 172, (uint8_t)(s >> 8), (uint8_t)s, 2, 1000);
		refused += !sg_quota_take(q, 0, &k, SG_QUOTA_MIN_LIMIT);
	}
	assert_int_equal(refused, 0);
	sg_quota_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_source_gets_its_limit_and_back_what_it_gives),
		cmocka_unit_test(test_prefix_lengths_decide_what_is_one_source),
		cmocka_unit_test(test_busy_sources_leave_room_for_new_ones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
