/* The SYN cache: a cached SYN comes back exactly, once, for its own flow
 * and ACK only, on its own worker only; it expires, a full bucket gives up
 * its oldest, and the cache turns to cookies only above the SYN rate or
 * fill and back below 3/4 of them. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/halfopen.h"

static const uint8_t key[SG_HALFOPEN_KEY_BYTES] = { 2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5 };

static struct sg_halfopen *make(uint32_t entries, uint32_t rate, uint8_t fill, uint32_t timeout_s,
                                unsigned nworkers)
{
	struct sg_halfopen_config c = { .entries = entries, .max_syn_rate = rate,
	                                .max_fill_pct = fill, .timeout_s = timeout_s };
	struct sg_halfopen *h;

	assert_int_equal(sg_halfopen_create(&c, nworkers, key, &h), 0);
	return h;
}

static void flow4(struct sg_flow *k, uint32_t client, uint16_t port)
{
	const uint8_t wan[4] = { 198, 51, (uint8_t)(client >> 8), (uint8_t)client };
	const uint8_t lan[4] = { 192, 0, 2, 10 };

	sg_flow_make(k, 4, wan, port, lan, 443, 0, 0);
}

static void flow6(struct sg_flow *k, uint32_t client, uint16_t port)
{
	uint8_t wan[16] = { 198, 51, (uint8_t)(client >> 8), (uint8_t)client };
	uint8_t lan[16] = { 192, 0, 2, 10 };

	sg_flow_make(k, 6, wan, port, lan, 443, 0, 0);
}

static struct sg_halfopen_entry entry(const struct sg_flow *k, uint32_t isn, uint32_t now)
{
	return (struct sg_halfopen_entry){
		.key = *k, .client_isn = isn, .our_isn = isn * 2654435761u, .client_tsval = isn ^ 0x5a5a,
		.our_tsval = 77, .born_ms = now, .mss = 1337, .client_win = 64240, .ws = 9,
		.sack = true, .ts = true, .ecn = true,
	};
}

static void assert_entry_equal(const struct sg_halfopen_entry *a, const struct sg_halfopen_entry *b)
{
	assert_memory_equal(&a->key, &b->key, SG_FLOW_BYTES);
	assert_int_equal(a->client_isn, b->client_isn);
	assert_int_equal(a->our_isn, b->our_isn);
	assert_int_equal(a->client_tsval, b->client_tsval);
	assert_int_equal(a->our_tsval, b->our_tsval);
	assert_int_equal(a->born_ms, b->born_ms);
	assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->client_win, b->client_win);
	assert_int_equal(a->ws, b->ws);
	assert_int_equal(a->sack, b->sack);
	assert_int_equal(a->ts, b->ts);
	assert_int_equal(a->ecn, b->ecn);
}

static uint64_t stat(const struct sg_halfopen *h, unsigned worker, enum sg_halfopen_stat s)
{
	uint64_t st[SG_HALFOPEN_STAT__COUNT];

	sg_halfopen_stats(h, worker, st);
	return st[s];
}

static void test_config(void **state)
{
	(void)state;
	struct sg_halfopen_config c;
	struct sg_cfg_fault why;
	struct sg_halfopen *h;

	sg_halfopen_config_default(&c);
	assert_int_equal(sg_halfopen_config_check(&c, 4, &why), 0);
	assert_int_equal(sg_halfopen_config_check(&c, 0, &why), -1);
	assert_int_equal(why.off, SG_CFG_WORKERS);
	c.max_fill_pct = 0;
	assert_int_equal(sg_halfopen_config_check(&c, 4, &why), -1);
	assert_int_equal(why.off, offsetof(struct sg_halfopen_config, max_fill_pct));
	assert_int_equal(sg_halfopen_create(&c, 4, key, &h), -EINVAL);
	sg_halfopen_config_default(&c);
	c.entries = SG_HALFOPEN_MIN_ENTRIES - 1;
	assert_int_equal(sg_halfopen_config_check(&c, 4, &why), -1);
	assert_int_equal(why.off, offsetof(struct sg_halfopen_config, entries));
	sg_halfopen_config_default(&c);
	c.timeout_s = 0;
	assert_int_equal(sg_halfopen_config_check(&c, 4, &why), -1);
	assert_int_equal(why.off, offsetof(struct sg_halfopen_config, timeout_s));
}

/* An entry comes back for its flow and the ACK of its SYN-ACK, once;
 * another number leaves it in place, another flow finds nothing. */
static void test_take_wants_the_flow_and_the_ack(void **state)
{
	(void)state;
	struct sg_halfopen *h = make(1024, 1000, 100, 60, 1);
	struct sg_halfopen_entry e, got;
	struct sg_flow k, other;

	flow4(&k, 1, 40000);
	flow4(&other, 1, 40001);
	e = entry(&k, 1000, 5);
	sg_halfopen_add(h, 0, &e);
	assert_int_equal(sg_halfopen_count(h), 1);
	assert_false(sg_halfopen_take(h, 0, &k, e.our_isn, 6, &got));       /* ACK = ISN */
	assert_false(sg_halfopen_take(h, 0, &k, e.our_isn + 2, 6, &got));
	assert_false(sg_halfopen_take(h, 0, &other, e.our_isn + 1, 6, &got));
	assert_int_equal(sg_halfopen_count(h), 1);
	assert_true(sg_halfopen_take(h, 0, &k, e.our_isn + 1, 6, &got));
	assert_entry_equal(&got, &e);
	assert_int_equal(sg_halfopen_count(h), 0);
	assert_false(sg_halfopen_take(h, 0, &k, e.our_isn + 1, 6, &got));
	assert_int_equal(stat(h, 0, SG_HALFOPEN_STAT_TAKEN), 1);
	sg_halfopen_destroy(h);
}

/* IPv4 and IPv6 flows whose bytes are alike are different flows. */
static void test_families_are_apart(void **state)
{
	(void)state;
	struct sg_halfopen *h = make(1024, 1000, 100, 60, 1);
	struct sg_halfopen_entry e4, e6, got;
	struct sg_flow k4, k6;

	flow4(&k4, 2, 40000);
	flow6(&k6, 2, 40000);
	e4 = entry(&k4, 1000, 0);
	e6 = entry(&k6, 1000, 0);
	e6.mss = 1220;
	sg_halfopen_add(h, 0, &e4);
	sg_halfopen_add(h, 0, &e6);
	assert_int_equal(sg_halfopen_count(h), 2);
	assert_true(sg_halfopen_take(h, 0, &k6, e6.our_isn + 1, 1, &got));
	assert_entry_equal(&got, &e6);
	assert_false(sg_halfopen_take(h, 0, &k6, e6.our_isn + 1, 1, &got));
	assert_true(sg_halfopen_take(h, 0, &k4, e4.our_isn + 1, 1, &got));
	assert_entry_equal(&got, &e4);
	sg_halfopen_destroy(h);
}

/* A retransmitted SYN keeps the first entry (the client may be answering
 * its SYN-ACK); a SYN with a new ISN on the flow is a new attempt. */
static void test_a_syn_again_keeps_or_replaces(void **state)
{
	(void)state;
	struct sg_halfopen *h = make(1024, 1000, 100, 60, 1);
	struct sg_halfopen_entry first, again, fresh, got;
	struct sg_flow k;

	flow4(&k, 3, 40000);
	first = entry(&k, 1000, 0);
	again = first;
	again.our_tsval = 78;
	again.born_ms = 1000;
	sg_halfopen_add(h, 0, &first);
	sg_halfopen_add(h, 0, &again);
	assert_int_equal(sg_halfopen_count(h), 1);
	assert_true(sg_halfopen_take(h, 0, &k, first.our_isn + 1, 1001, &got));
	assert_entry_equal(&got, &first);
	assert_int_equal(stat(h, 0, SG_HALFOPEN_STAT_RETRANSMIT), 1);

	sg_halfopen_add(h, 0, &first);
	fresh = entry(&k, 5000, 2000);
	sg_halfopen_add(h, 0, &fresh);
	assert_int_equal(sg_halfopen_count(h), 1);
	assert_false(sg_halfopen_take(h, 0, &k, first.our_isn + 1, 2001, &got));
	assert_true(sg_halfopen_take(h, 0, &k, fresh.our_isn + 1, 2001, &got));
	assert_entry_equal(&got, &fresh);
	assert_int_equal(stat(h, 0, SG_HALFOPEN_STAT_REPLACED), 1);
	sg_halfopen_destroy(h);
}

/* Entries live timeout_s from their SYN; the ACK of an older one misses
 * (the cookie takes over) and the entry leaves the count; the ticks
 * sweep expired entries away, the whole cache in SG_HALFOPEN_SWEEP_MS. */
static void test_entries_expire(void **state)
{
	(void)state;
	struct sg_halfopen *h = make(64, 1000000, 100, 10, 1);
	struct sg_halfopen_entry e, got;
	struct sg_flow k;

	flow4(&k, 4, 40000);
	e = entry(&k, 1000, 100000);
	sg_halfopen_add(h, 0, &e);
	assert_true(sg_halfopen_take(h, 0, &k, e.our_isn + 1, 109999, &got));
	sg_halfopen_add(h, 0, &e);
	assert_false(sg_halfopen_take(h, 0, &k, e.our_isn + 1, 110000, &got));
	assert_int_equal(sg_halfopen_count(h), 0);
	assert_int_equal(stat(h, 0, SG_HALFOPEN_STAT_EXPIRED), 1);
	/* A clock a little behind the one that added it still finds it. */
	sg_halfopen_add(h, 0, &e);
	assert_true(sg_halfopen_take(h, 0, &k, e.our_isn + 1, 99990, &got));

	/* 20 entries nobody ACKs (they expire at 210000).  A tick after a
	 * long pause sweeps the whole cache once (nothing has expired yet);
	 * half a period later, half the buckets; another half, the rest. */
	for (uint32_t i = 0; i < 20; i++) {
		flow4(&k, 100 + i, 40000);
		e = entry(&k, i, 200000);
		sg_halfopen_add(h, 0, &e);
	}
	assert_int_equal(sg_halfopen_count(h), 20);
	sg_halfopen_tick(h, 0, 210000 - SG_HALFOPEN_SWEEP_MS / 2);
	assert_int_equal(sg_halfopen_count(h), 20);
	sg_halfopen_tick(h, 0, 210000);
	assert_true(sg_halfopen_count(h) > 0 && sg_halfopen_count(h) < 20);
	sg_halfopen_tick(h, 0, 210000 + SG_HALFOPEN_SWEEP_MS / 2);
	assert_int_equal(sg_halfopen_count(h), 0);
	assert_int_equal(stat(h, 0, SG_HALFOPEN_STAT_EXPIRED), 21);
	sg_halfopen_destroy(h);
}

/* One bucket: when full, a new entry takes the place of the oldest. */
static void test_a_full_bucket_evicts_the_oldest(void **state)
{
	(void)state;
	struct sg_halfopen *h = make(SG_HALFOPEN_WAYS, 1000, 100, 60, 1);
	struct sg_halfopen_entry e[SG_HALFOPEN_WAYS + 1], got;
	struct sg_flow k;

	for (uint32_t i = 0; i <= SG_HALFOPEN_WAYS; i++) {
		flow4(&k, 10 + i, 40000);
		/* Born out of slot order: the oldest is i = 3. */
		e[i] = entry(&k, 100 + i, i == 3 ? 0 : 100 + i);
		sg_halfopen_add(h, 0, &e[i]);
	}
	assert_int_equal(sg_halfopen_count(h), SG_HALFOPEN_WAYS);
	assert_int_equal(stat(h, 0, SG_HALFOPEN_STAT_EVICTED), 1);
	for (uint32_t i = 0; i <= SG_HALFOPEN_WAYS; i++) {
		bool hit = sg_halfopen_take(h, 0, &e[i].key, e[i].our_isn + 1, 200, &got);

		assert_int_equal(hit, i != 3);
	}
	assert_int_equal(sg_halfopen_count(h), 0);
	sg_halfopen_destroy(h);
}

/* Worker 1 neither sees nor disturbs worker 0's entries. */
static void test_workers_are_apart(void **state)
{
	(void)state;
	struct sg_halfopen *h = make(64, 1000, 100, 60, 2);
	struct sg_halfopen_entry e, got;
	struct sg_flow k;

	flow4(&k, 5, 40000);
	e = entry(&k, 1000, 0);
	sg_halfopen_add(h, 0, &e);
	assert_false(sg_halfopen_take(h, 1, &k, e.our_isn + 1, 1, &got));
	assert_int_equal(sg_halfopen_count(h), 1);
	e.our_isn++;
	sg_halfopen_add(h, 1, &e);
	assert_int_equal(sg_halfopen_count(h), 2);
	assert_true(sg_halfopen_take(h, 0, &k, e.our_isn, 1, &got));
	assert_true(sg_halfopen_take(h, 1, &k, e.our_isn + 1, 1, &got));
	/* Modes are per worker too. */
	for (unsigned i = 0; i < 200; i++)
		sg_halfopen_admit(h, 0, 5000);
	assert_true(sg_halfopen_cookies_only(h, 0));
	assert_false(sg_halfopen_cookies_only(h, 1));
	assert_true(sg_halfopen_admit(h, 1, 5000));
	sg_halfopen_destroy(h);
}

/* n SYNs spread evenly over [t, t + ms): how many were admitted. */
static unsigned syns(struct sg_halfopen *h, uint32_t *t, unsigned n, uint32_t ms)
{
	unsigned admitted = 0;

	for (unsigned i = 0; i < n; i++)
		admitted += sg_halfopen_admit(h, 0, *t + (uint32_t)((uint64_t)i * ms / n));
	*t += ms;
	return admitted;
}

/* 1000 SYNs/s: 100 a window.  Above, cookies only at once; between 3/4
 * and the limit, no change either way; under 3/4, back to caching. */
static void test_the_rate_switches_with_hysteresis(void **state)
{
	(void)state;
	struct sg_halfopen *h = make(1024, 1000, 100, 60, 1);
	uint32_t t = 50000;

	assert_int_equal(syns(h, &t, 50, 100), 50);              /* 500/s */
	assert_int_equal(syns(h, &t, 50, 100), 50);
	assert_false(sg_halfopen_cookies_only(h, 0));
	/* 2000/s: the switch comes within the window, near its 100th SYN. */
	unsigned admitted = syns(h, &t, 200, 100);
	assert_true(admitted > 60 && admitted < 110);
	assert_true(sg_halfopen_cookies_only(h, 0));
	assert_int_equal(stat(h, 0, SG_HALFOPEN_STAT_TO_COOKIES), 1);
	/* 900/s and 800/s: under the limit, over 3/4 of it: still cookies. */
	for (unsigned w = 0; w < 10; w++)
		assert_int_equal(syns(h, &t, w < 5 ? 90 : 80, 100), 0);
	/* 500/s: back, once the 800/s window has slid out. */
	admitted = syns(h, &t, 50, 100);
	assert_true(admitted > 0 && admitted < 50);
	assert_int_equal(syns(h, &t, 50, 100), 50);
	assert_false(sg_halfopen_cookies_only(h, 0));
	assert_int_equal(stat(h, 0, SG_HALFOPEN_STAT_TO_CACHE), 1);
	/* 900/s does not switch back: under the limit. */
	for (unsigned w = 0; w < 5; w++)
		assert_int_equal(syns(h, &t, 90, 100), 90);
	/* After a quiet second the estimate starts from nothing. */
	t += 1000;
	assert_int_equal(syns(h, &t, 100, 100), 100);

	/* A reload lowers the limit; 0 means cookies only. */
	sg_halfopen_set_limits(h, 100, 100);
	assert_int_equal(syns(h, &t, 50, 100), 0);
	sg_halfopen_set_limits(h, 0, 100);
	t += 1000;
	assert_int_equal(syns(h, &t, 1, 100), 0);
	sg_halfopen_set_limits(h, 1000, 100);
	assert_int_equal(syns(h, &t, 1, 100), 1);
	sg_halfopen_destroy(h);
}

/* 256 entries, 10 %: the 26th entry (25.6) turns the worker to cookies
 * only, and it turns back under 19.2 (3/4 of that). */
static void test_the_fill_switches_with_hysteresis(void **state)
{
	(void)state;
	struct sg_halfopen *h = make(256, 1000000, 10, 60, 1);
	struct sg_halfopen_entry e[32], got;
	struct sg_flow k;
	unsigned n = 0, left;

	while (sg_halfopen_admit(h, 0, 1000)) {
		assert_true(n < 26);
		flow4(&k, 1000 + n, 40000);
		e[n] = entry(&k, n, 1000);
		sg_halfopen_add(h, 0, &e[n]);
		n++;
	}
	assert_int_equal(n, 26);
	assert_int_equal(sg_halfopen_count(h), 26);
	assert_true(sg_halfopen_cookies_only(h, 0));
	for (left = 26; left > 19; ) {
		assert_true(sg_halfopen_take(h, 0, &e[left - 1].key, e[left - 1].our_isn + 1, 1000, &got));
		left--;
		assert_int_equal(sg_halfopen_admit(h, 0, 1000), left == 19);
	}
	assert_false(sg_halfopen_cookies_only(h, 0));
	assert_int_equal(stat(h, 0, SG_HALFOPEN_STAT_TO_CACHE), 1);
	sg_halfopen_destroy(h);
}

/* ---- concurrency ---- */

/* Each worker adds and takes on its own cache while a metrics thread
 * reads every worker's count and mode and reloads the limits: no locks to
 * deadlock on, and each worker's count is what it did. */
#define STRESS_WORKERS 2
#define STRESS_OPS     200000
#define STRESS_FLOWS   2048

struct stress {
	struct sg_halfopen *h;
	unsigned id;
	unsigned *finished;
	const unsigned *go;      /* the reader side runs first: overlap is sure */
	uint64_t taken, wrong;
};

static void *stress_worker(void *arg)
{
	struct stress *s = arg;
	uint32_t rnd = 0x9e3779b9u * (s->id + 1), now = 0;
	struct sg_halfopen_entry e, got;
	struct sg_flow k;

	while (!__atomic_load_n(s->go, __ATOMIC_ACQUIRE))
		;
	for (unsigned op = 0; op < STRESS_OPS; op++) {
		uint32_t f;

		rnd = rnd * 1664525u + 1013904223u;
		f = (rnd >> 8) % STRESS_FLOWS;
		flow4(&k, f, (uint16_t)(1000 + s->id));
		now += op % 5 == 0;   /* 2500 SYNs/s, between the limits the reloads swap */
		if (rnd >> 31) {
			if (sg_halfopen_admit(s->h, s->id, now)) {
				e = entry(&k, f, now);
				sg_halfopen_add(s->h, s->id, &e);
			}
		} else if (sg_halfopen_take(s->h, s->id, &k, f * 2654435761u + 1, now, &got)) {
			s->taken++;
			if (memcmp(&got.key, &k, SG_FLOW_BYTES) || got.client_isn != f)
				s->wrong++;
		}
	}
	__atomic_fetch_add(s->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_workers_run_side_by_side(void **state)
{
	(void)state;
	struct sg_halfopen *h = make(256, 2000, 90, 1, STRESS_WORKERS);
	struct stress s[STRESS_WORKERS];
	pthread_t th[STRESS_WORKERS];
	unsigned finished = 0, reads = 0, go = 0;

	for (unsigned i = 0; i < STRESS_WORKERS; i++) {
		s[i] = (struct stress){ .h = h, .id = i, .finished = &finished, .go = &go };
		assert_int_equal(pthread_create(&th[i], NULL, stress_worker, &s[i]), 0);
	}
	/* The metrics and reload side, until the workers finish; its first
	 * pass lets them go, so it runs beside them at least once. */
	do {
		uint64_t st[SG_HALFOPEN_STAT__COUNT];

		assert_true(sg_halfopen_count(h) <= STRESS_WORKERS * 256);
		(void)sg_halfopen_cookies_only(h, reads % STRESS_WORKERS);
		sg_halfopen_stats(h, reads % STRESS_WORKERS, st);
		sg_halfopen_set_limits(h, reads & 1 ? 2000 : 4000, 90);
		reads++;
		__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	} while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < STRESS_WORKERS);
	for (unsigned i = 0; i < STRESS_WORKERS; i++)
		pthread_join(th[i], NULL);
	uint64_t total = 0;
	for (unsigned i = 0; i < STRESS_WORKERS; i++) {
		uint64_t st[SG_HALFOPEN_STAT__COUNT];

		sg_halfopen_stats(h, i, st);
		assert_int_equal(s[i].wrong, 0);
		assert_true(s[i].taken > 0);
		assert_int_equal(st[SG_HALFOPEN_STAT_TAKEN], s[i].taken);
		/* Every entry added is taken, evicted, expired or still here. */
		total += st[SG_HALFOPEN_STAT_ADDED] - st[SG_HALFOPEN_STAT_TAKEN] -
		         st[SG_HALFOPEN_STAT_EVICTED] - st[SG_HALFOPEN_STAT_EXPIRED];
	}
	assert_int_equal(total, sg_halfopen_count(h));
	sg_halfopen_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_take_wants_the_flow_and_the_ack),
		cmocka_unit_test(test_families_are_apart),
		cmocka_unit_test(test_a_syn_again_keeps_or_replaces),
		cmocka_unit_test(test_entries_expire),
		cmocka_unit_test(test_a_full_bucket_evicts_the_oldest),
		cmocka_unit_test(test_workers_are_apart),
		cmocka_unit_test(test_the_rate_switches_with_hysteresis),
		cmocka_unit_test(test_the_fill_switches_with_hysteresis),
		cmocka_unit_test(test_workers_run_side_by_side),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
