/* Per-source rate limits: a prefix gets its burst and then its rate, on a
 * fake clock that may wrap; refunds never raise it above its burst; no two
 * prefixes share a bucket; a flood of new prefixes neither takes a limited
 * prefix's debt away nor is refused. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "resident.h"

#include "core/ratelimit.h"
#include "sg_limits.h"

static const uint8_t key[SG_RATELIMIT_KEY_BYTES] = {
	3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3,
};

static struct sg_ratelimit *make(uint32_t rate, uint32_t burst, uint8_t p4, uint8_t p6,
                                 uint32_t entries, unsigned nworkers)
{
	struct sg_ratelimit_config c;
	struct sg_ratelimit *rl = NULL;

	sg_ratelimit_config_default(&c);
	c.rate = rate;
	c.burst = burst;
	c.prefix4 = p4;
	c.prefix6 = p6;
	c.entries = entries;
	assert_int_equal(sg_ratelimit_create(&c, nworkers, key, &rl), 0);
	return rl;
}

/* Only the 4 bytes of an IPv4 address: ASan sees a read past them. */
static bool take4(struct sg_ratelimit *rl, unsigned w, uint32_t a, uint32_t now)
{
	const uint8_t b[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a };

	return sg_ratelimit_take(rl, w, 4, b, now);
}

static void refund4(struct sg_ratelimit *rl, unsigned w, uint32_t a)
{
	const uint8_t b[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a };

	sg_ratelimit_refund(rl, w, 4, b);
}

/* 2001:db8:<hi>::<lo> with hi in bytes 4..7 and lo in bytes 8..15. */
static void addr6(uint8_t b[16], uint32_t hi, uint64_t lo)
{
	b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8;
	for (int i = 0; i < 4; i++)
		b[4 + i] = (uint8_t)(hi >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
}

static bool take6(struct sg_ratelimit *rl, unsigned w, uint32_t hi, uint64_t lo, uint32_t now)
{
	uint8_t b[16];

	addr6(b, hi, lo);
	return sg_ratelimit_take(rl, w, 6, b, now);
}

/* How many tokens a prefix gets at now, taking until refused. */
static unsigned drain4(struct sg_ratelimit *rl, unsigned w, uint32_t a, uint32_t now)
{
	unsigned n = 0;

	while (take4(rl, w, a, now))
		assert_true(++n <= 1000000);
	return n;
}

static void test_config_default_and_checks(void **state)
{
	(void)state;
	struct sg_ratelimit_config c, bad;
	struct sg_cfg_fault why;
	struct sg_ratelimit *rl;

	sg_ratelimit_config_default(&c);
	assert_int_equal(c.rate, 400);
	assert_int_equal(c.burst, 2000);
	assert_int_equal(c.prefix4, 24);
	assert_int_equal(c.prefix6, 64);
	assert_int_equal(c.entries, 65536);
	assert_int_equal(sg_ratelimit_config_check(&c, &why), 0);

#define REFUSED(field, value)                                                   \
	do {                                                                    \
		bad = c;                                                        \
		bad.field = value;                                              \
		assert_int_equal(sg_ratelimit_config_check(&bad, &why), -1);    \
		assert_int_equal(why.rule, SG_CFG_RANGE);                       \
		assert_int_equal(why.off, offsetof(struct sg_ratelimit_config, field)); \
		assert_int_equal(sg_ratelimit_create(&bad, 1, key, &rl), -EINVAL); \
	} while (0)
	REFUSED(rate, 0);
	REFUSED(rate, SG_RATELIMIT_RATE_MAX + 1);
	REFUSED(burst, 0);
	REFUSED(burst, SG_RATELIMIT_BURST_MAX + 1);
	REFUSED(prefix4, 33);
	REFUSED(prefix6, 129);
	REFUSED(entries, SG_RATELIMIT_ENTRIES_MIN - 1);
	REFUSED(entries, SG_RATELIMIT_ENTRIES_MAX + 1);
#undef REFUSED
	bad = c;
	bad.rate = SG_RATELIMIT_RATE_MAX;
	bad.burst = SG_RATELIMIT_BURST_MAX;
	bad.prefix4 = 0;
	bad.prefix6 = 128;
	bad.entries = SG_RATELIMIT_ENTRIES_MIN;
	assert_int_equal(sg_ratelimit_config_check(&bad, &why), 0);
	assert_int_equal(sg_ratelimit_create(&c, 0, key, &rl), -EINVAL);
	assert_int_equal(sg_ratelimit_create(&c, SG_MAX_WORKERS + 1, key, &rl), -EINVAL);
	sg_ratelimit_destroy(NULL);
}

/* 400/s, burst 2000: 2000 at once, then 400 a second, one per 2.5 ms. */
static void test_burst_then_rate(void **state)
{
	(void)state;
	struct sg_ratelimit *rl = make(400, 2000, 24, 64, 1024, 1);
	const uint32_t a = 0xc6336407;   /* 198.51.100.7 */
	uint32_t t = 5000;

	assert_int_equal(drain4(rl, 0, a, t), 2000);
	assert_int_equal(drain4(rl, 0, a, t + 2), 0);
	assert_int_equal(drain4(rl, 0, a, t + 3), 1);   /* 3 ms: 1.2 tokens */
	assert_int_equal(drain4(rl, 0, a, t + 5), 1);   /* 0.2 + 0.8 */
	t += 5;
	assert_int_equal(drain4(rl, 0, a, t + 1000), 400);
	/* Refill over time, in small steps and in one: the same tokens. */
	t += 1000;
	unsigned got = 0;
	for (uint32_t ms = 1; ms <= 1000; ms++)
		got += drain4(rl, 0, a, t + ms);
	assert_int_equal(got, 400);
	t += 1000;
	/* A long pause fills the bucket to its burst, no more. */
	assert_int_equal(drain4(rl, 0, a, t + 3600 * 1000), 2000);
	sg_ratelimit_destroy(rl);
}

/* A worker gets rate / nworkers and burst / nworkers, independently of
 * the others, and at least one token. */
static void test_workers_share_rate_and_burst(void **state)
{
	(void)state;
	struct sg_ratelimit *rl = make(400, 2000, 24, 64, 1024, 4);
	const uint32_t a = 0xcb00710a;   /* 203.0.113.10 */

	assert_int_equal(drain4(rl, 0, a, 100), 500);
	assert_int_equal(drain4(rl, 1, a, 100), 500);
	assert_int_equal(drain4(rl, 0, a, 1100), 100);
	assert_int_equal(drain4(rl, 3, a, 1100), 500);
	/* 3/s over 4 workers: 0.75 token per second on each, exactly. */
	sg_ratelimit_set_rate(rl, 3, 2000);
	assert_int_equal(drain4(rl, 1, a, 1100), 0);    /* 0.75 token */
	assert_int_equal(drain4(rl, 1, a, 1434), 1);    /* 1.0005 */
	assert_int_equal(drain4(rl, 1, a, 2767), 1);    /* 0.0005 + 0.99975 */
	sg_ratelimit_destroy(rl);
	/* A burst smaller than the workers: one token each. */
	rl = make(1, 2, 24, 64, 1024, 8);
	for (unsigned w = 0; w < 8; w++)
		assert_int_equal(drain4(rl, w, a, 100), 1);
	sg_ratelimit_destroy(rl);
}

static void test_refunds_are_capped_at_the_burst(void **state)
{
	(void)state;
	struct sg_ratelimit *rl = make(1, 100, 24, 64, 1024, 1);
	const uint32_t a = 0xc0000201, other = 0xc0000301;

	for (int i = 0; i < 10; i++)
		assert_true(take4(rl, 0, a, 1000));
	for (int i = 0; i < 50; i++)
		refund4(rl, 0, a);
	assert_int_equal(drain4(rl, 0, a, 1000), 100);
	/* Each refund is one more token, for the prefix refunded only. */
	refund4(rl, 0, a);
	refund4(rl, 0, a);
	refund4(rl, 0, other);            /* unknown: nothing */
	assert_int_equal(drain4(rl, 0, a, 1000), 2);
	assert_int_equal(drain4(rl, 0, other, 1000), 100);
	/* Another host of the /24 is the same prefix. */
	refund4(rl, 0, a + 7);
	assert_int_equal(drain4(rl, 0, a, 1000), 1);
	sg_ratelimit_destroy(rl);
}

/* With 4 buckets (one window) every prefix lands in the same window; with
 * 8 (two), any three have two in one.  Draining one must leave every other
 * untouched: they never share a bucket, whatever the hash. */
static void test_prefixes_never_share_a_bucket(void **state)
{
	(void)state;
	struct sg_ratelimit *rl = make(1, 5, 24, 64, 4, 1);
	uint8_t v6[16] = { 1, 2, 3, 0 };

	/* The same bytes in both families are two prefixes. */
	assert_int_equal(drain4(rl, 0, 0x01020300, 10), 5);
	assert_true(sg_ratelimit_take(rl, 0, 6, v6, 10));
	for (uint32_t p = 1; p <= 2; p++)
		assert_int_equal(drain4(rl, 0, 0x0a000000 | p << 8, 10), 5);
	/* Four prefixes, four buckets: all still there. */
	assert_int_equal(drain4(rl, 0, 0x01020300, 10), 0);
	assert_int_equal(drain4(rl, 0, 0x0a000100, 10), 0);
	sg_ratelimit_destroy(rl);

	for (uint32_t entries = 4; entries <= 8; entries += 4) {
		for (uint32_t i = 0; i < 48; i++) {
			for (uint32_t j = 0; j < 48; j++) {
				if (i == j)
					continue;
				rl = make(1, 3, 24, 64, entries, 1);
				assert_int_equal(drain4(rl, 0, 0x0a000000 | i << 8, 10), 3);
				assert_int_equal(drain4(rl, 0, 0x0a000000 | j << 8, 10), 3);
				assert_int_equal(drain4(rl, 0, 0x0a000000 | i << 8, 10), 0);
				sg_ratelimit_destroy(rl);
			}
		}
	}
	/* IPv6 prefixes that differ in one bit anywhere in their 64. */
	rl = make(1, 2, 24, 64, 4, 1);
	for (unsigned bit = 0; bit < 64; bit++) {
		uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 }, b[16];

		memcpy(b, a, 16);
		b[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		assert_true(sg_ratelimit_take(rl, 0, 6, a, 20 + bit * 5000));
		assert_true(sg_ratelimit_take(rl, 0, 6, a, 20 + bit * 5000));
		assert_false(sg_ratelimit_take(rl, 0, 6, a, 20 + bit * 5000));
		assert_true(sg_ratelimit_take(rl, 0, 6, b, 20 + bit * 5000));
	}
	sg_ratelimit_destroy(rl);
}

/* Whether a and b are one prefix: a's only token, then b's. */
static bool same4(uint8_t p4, uint32_t a, uint32_t b)
{
	struct sg_ratelimit *rl = make(1, 1, p4, 64, 64, 1);
	bool same;

	assert_true(take4(rl, 0, a, 10));
	same = !take4(rl, 0, b, 10);
	sg_ratelimit_destroy(rl);
	return same;
}

static bool same6(uint8_t p6, uint32_t ahi, uint64_t alo, uint32_t bhi, uint64_t blo)
{
	struct sg_ratelimit *rl = make(1, 1, 24, p6, 64, 1);
	bool same;

	assert_true(take6(rl, 0, ahi, alo, 10));
	same = !take6(rl, 0, bhi, blo, 10);
	sg_ratelimit_destroy(rl);
	return same;
}

static void test_prefix_lengths(void **state)
{
	(void)state;

	assert_true(same4(0, 0x01020304, 0xfefdfcfb));
	assert_true(same4(24, 0xc6336401, 0xc63364fe));
	assert_false(same4(24, 0xc6336401, 0xc6336501));
	assert_false(same4(24, 0x46336401, 0xc6336401));   /* the first bit */
	assert_true(same4(23, 0xc6336401, 0xc6336501));
	assert_true(same4(32, 0xc6336401, 0xc6336401));
	assert_false(same4(32, 0xc6336401, 0xc6336400));
	assert_false(same4(31, 0xc6336401, 0xc6336402));

	assert_true(same6(0, 0x12345678, 1, 0xfedcba98, 2));
	assert_true(same6(48, 0x00010001, 1, 0x0001ffff, 2));
	assert_false(same6(48, 0x00010001, 1, 0x00020001, 1));
	assert_true(same6(64, 0x00010001, 1, 0x00010001, ~0ull));
	assert_false(same6(64, 0x00010001, 1, 0x00010000, 1));
	assert_true(same6(65, 0x00010001, 1, 0x00010001, 0x7fffffffffffffffull));
	assert_false(same6(65, 0x00010001, 1, 0x00010001, 0x8000000000000001ull));
	assert_true(same6(128, 0x00010001, 1, 0x00010001, 1));
	assert_false(same6(128, 0x00010001, 1, 0x00010001, 3));
	assert_false(same6(127, 0x00010001, 1, 0x00010001, 3));
	assert_true(same6(127, 0x00010001, 2, 0x00010001, 3));
}

/* A prefix in debt keeps its bucket through a flood of distinct prefixes,
 * each of which gets its token. */
static void test_a_flood_of_new_prefixes_keeps_a_limited_one(void **state)
{
	(void)state;
	struct sg_ratelimit *rl = make(1, 10, 24, 64, 64, 1);
	const uint32_t hot = 0xc6336400;

	assert_int_equal(drain4(rl, 0, hot, 1000), 10);
	for (uint32_t i = 0; i < 100000; i++) {
		assert_true(take6(rl, 0, i, 0, 1000 + i / 1000));
		if (i % 10000 == 0)
			assert_false(take4(rl, 0, hot, 1000 + i / 1000));
	}
	/* 100 ms have passed: a tenth of a token at 1/s, not a new burst;
	 * then the refill goes on. */
	assert_int_equal(drain4(rl, 0, hot, 1100), 0);
	assert_int_equal(drain4(rl, 0, hot, 6100), 5);
	sg_ratelimit_destroy(rl);
}

/* Every bucket in debt (more limited prefixes than buckets): a new prefix
 * still gets its token; some old debt is forgiven, none is invented. */
static void test_a_full_table_never_refuses_a_new_prefix(void **state)
{
	(void)state;
	struct sg_ratelimit *rl = make(1, 4, 32, 64, 64, 1);
	unsigned kept = 0;

	for (uint32_t i = 0; i < 256; i++)
		assert_int_equal(drain4(rl, 0, 0x0a000000 + i, 50), 4);
	for (uint32_t i = 0; i < 1000; i++)
		assert_true(take4(rl, 0, 0x0b000000 + i, 50));
	/* 256 debtors over 16 windows leave 4 in each; in each, the first
	 * new prefix takes the oldest debtor's bucket (all are empty), later
	 * ones the new prefixes' (fuller): 3 debts kept per window. */
	for (uint32_t i = 0; i < 256; i++)
		kept += !take4(rl, 0, 0x0a000000 + i, 50);
	assert_int_equal(kept, 48);
	sg_ratelimit_destroy(rl);
}

static void test_set_rate_takes_effect(void **state)
{
	(void)state;
	struct sg_ratelimit *rl = make(400, 2000, 24, 64, 1024, 1);
	const uint32_t a = 0xc0000200, b = 0xc0000300, c = 0xc0000400;

	assert_int_equal(drain4(rl, 0, a, 0), 2000);
	sg_ratelimit_set_rate(rl, 4000, 2000);
	assert_int_equal(drain4(rl, 0, a, 1), 4);
	assert_int_equal(drain4(rl, 0, a, 1001), 2000);   /* capped */
	/* A lower burst trims what a bucket holds, and what a new one gets. */
	assert_true(take4(rl, 0, b, 1001));
	sg_ratelimit_set_rate(rl, 4000, 10);
	assert_int_equal(drain4(rl, 0, b, 1001), 10);
	assert_int_equal(drain4(rl, 0, c, 1001), 10);
	/* A higher one lets buckets grow to it. */
	sg_ratelimit_set_rate(rl, 4000, 5000);
	assert_int_equal(drain4(rl, 0, c, 3001), 5000);
	/* Out of range: clamped, never zero. */
	sg_ratelimit_set_rate(rl, 0, 0);
	assert_int_equal(drain4(rl, 0, 0xc0000500, 3001), 1);
	assert_int_equal(drain4(rl, 0, 0xc0000500, 3999), 0);
	assert_int_equal(drain4(rl, 0, 0xc0000500, 4001), 1);
	sg_ratelimit_destroy(rl);
}

/* The millisecond clock wraps after 49.7 days. */
static void test_the_clock_may_wrap(void **state)
{
	(void)state;
	struct sg_ratelimit *rl = make(400, 2000, 24, 64, 1024, 1);
	const uint32_t a = 0xc0000200, t = 0xffffff00u;

	assert_int_equal(drain4(rl, 0, a, t), 2000);
	assert_int_equal(drain4(rl, 0, a, t + 1000), 400);   /* across 0 */
	assert_int_equal(drain4(rl, 0, a, t + 1500), 200);
	/* A clock that goes back refills nothing; the refill then counts
	 * from the earlier time (a monotonic clock never goes back: this only
	 * bounds the harm to the step, where taking it as a long pause would
	 * give a whole burst). */
	assert_int_equal(drain4(rl, 0, a, t + 1400), 0);
	assert_int_equal(drain4(rl, 0, a, t + 1500), 40);
	/* Left alone for 25 days (the difference looks negative): nothing
	 * then, and the refill goes on from there. */
	const uint32_t later = t + 1500 + 25u * 86400 * 1000;
	assert_int_equal(drain4(rl, 0, a, later), 0);
	assert_int_equal(drain4(rl, 0, a, later + 1000), 400);
	/* Left alone for 10 days: full. */
	assert_int_equal(drain4(rl, 0, a, later + 1000 + 10u * 86400 * 1000), 2000);
	sg_ratelimit_destroy(rl);
}

/* Workers each on their own buckets while the rate changes under them:
 * no lock, and nothing for TSan to find. */
struct worker_arg {
	struct sg_ratelimit *rl;
	unsigned w;
	unsigned granted;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;

	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t src = 0x0a000000 | (i % 64) << 8;

		if (take4(a->rl, a->w, src, 100)) {
			a->granted++;
			if (i % 3 == 0)
				refund4(a->rl, a->w, src);
		}
	}
	return NULL;
}

/* A restart waits for the proxy's tables: creating one must not write
 * its buckets (the kernel's pages are zero, family 0: unused), and they
 * still start unused. */
static void test_create_writes_no_bucket(void **state)
{
	size_t before = resident_bytes();
	struct sg_ratelimit *rl = make(10, 3, 24, 48, SG_RATELIMIT_ENTRIES_MAX, 1);   /* 32 MiB */

	(void)state;
	assert_true(resident_bytes() - before < 8u << 20);
	assert_int_equal(drain4(rl, 0, 0xc0000201, 1000), 3);
	sg_ratelimit_destroy(rl);
}

/* Populating (off the data path, once the workers run) faults the
 * buckets in and changes no bucket: a drained prefix stays drained, an
 * unused one starts full; twice is the same as once. */
static void test_populate_faults_in_and_changes_nothing(void **state)
{
	size_t before = resident_bytes();
	struct sg_ratelimit *rl = make(10, 3, 24, 48, SG_RATELIMIT_ENTRIES_MAX, 1);   /* 32 MiB */

	(void)state;
	assert_int_equal(drain4(rl, 0, 0xc0000201, 1000), 3);
	assert_int_equal(sg_ratelimit_populate(rl), 0);
	assert_true(resident_bytes() - before >= 32u << 20);
	assert_int_equal(sg_ratelimit_populate(rl), 0);
	assert_int_equal(drain4(rl, 0, 0xc0000201, 1000), 0);
	assert_int_equal(drain4(rl, 0, 0xc6336407, 1000), 3);
	sg_ratelimit_destroy(rl);
}

static void test_workers_run_concurrently(void **state)
{
	(void)state;
	struct sg_ratelimit *rl = make(1, 20, 24, 64, 4096, 2);
	struct worker_arg args[2];
	pthread_t th[2];

	for (unsigned w = 0; w < 2; w++) {
		args[w] = (struct worker_arg){ .rl = rl, .w = w };
		assert_int_equal(pthread_create(&th[w], NULL, worker, &args[w]), 0);
	}
	for (unsigned i = 0; i < 1000; i++)
		sg_ratelimit_set_rate(rl, 1, 20);
	for (unsigned w = 0; w < 2; w++) {
		assert_int_equal(pthread_join(th[w], NULL), 0);
		/* 64 prefixes, 10 tokens each per worker, no refill; refunds
		 * give more but never beyond the depth. */
		assert_true(args[w].granted >= 64 * 10);
		assert_true(args[w].granted <= 64 * 20);
	}
	sg_ratelimit_destroy(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_default_and_checks),
		cmocka_unit_test(test_create_writes_no_bucket),
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_workers_share_rate_and_burst),
		cmocka_unit_test(test_refunds_are_capped_at_the_burst),
		cmocka_unit_test(test_prefixes_never_share_a_bucket),
		cmocka_unit_test(test_prefix_lengths),
		cmocka_unit_test(test_a_flood_of_new_prefixes_keeps_a_limited_one),
		cmocka_unit_test(test_a_full_table_never_refuses_a_new_prefix),
		cmocka_unit_test(test_set_rate_takes_effect),
		cmocka_unit_test(test_the_clock_may_wrap),
		cmocka_unit_test(test_populate_faults_in_and_changes_nothing),
		cmocka_unit_test(test_workers_run_concurrently),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
