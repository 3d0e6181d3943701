/* SYN cookies: lossless-as-possible round trips, binding to the flow,
 * lifetime, forgery resistance, clusters sharing a key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cookie.h"

#define SEC 1000000000ull
#define T0  (1000 * 32 * SEC)         /* start of epoch 1000 */

struct env {
	struct sg_cookie_config cfg;
	struct sg_secret *s;
	struct sg_secret_cache cache;
};

/* master NULL: a fixed one (the core is handed its keys). */
static struct env *env_new(const uint8_t *master)
{
	static const uint8_t fixed[SG_SECRET_MASTER_BYTES] = { 0x42, 0x17, 0x99, 0x03, 0xc4 };
	struct env *v = calloc(1, sizeof(*v));

	if (!master)
		master = fixed;
	assert_non_null(v);
	sg_cookie_config_default(&v->cfg);
	assert_int_equal(sg_secret_create(master, 32, &v->s), 0);
	return v;
}

static void env_free(struct env *v)
{
	sg_secret_destroy(v->s);
	free(v);
}

static void flow(struct sg_flow *f, uint8_t fam, uint16_t vid)
{
	static const uint8_t c6[16] = { 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 };
	static const uint8_t s6[16] = { 0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10 };
	static const uint8_t c4[4] = { 198, 51, 100, 7 }, s4[4] = { 192, 0, 2, 10 };

	sg_flow_make(f, fam, fam == 4 ? c4 : c6, 40000, fam == 4 ? s4 : s6, 443, vid, 0);
}

/* The value synguard must tell the server for a client MSS. */
static uint16_t expect_mss(const uint16_t *t, unsigned n, uint16_t mss)
{
	uint16_t best = t[0];

	for (unsigned i = 0; i < n; i++)
		if (t[i] <= mss)
			best = t[i];
	return best;
}

static void round_trip(struct env *v, const struct sg_flow *f, uint16_t mss,
                       int ws, bool sack, bool ts, bool ecn)
{
	struct sg_tcp_opts o = { 0 };
	struct sg_cookie_result mk, ck;
	unsigned fam = f->family == 4 ? 0 : 1;
	uint32_t isn = 0x12345678u ^ mss;

	o.present = SG_OPT_MSS;
	o.mss = mss;
	if (ws >= 0) {
		o.present |= SG_OPT_WS;
		o.wscale = (uint8_t)ws;
	}
	if (sack)
		o.present |= SG_OPT_SACKPERM;
	if (ts) {
		o.present |= SG_OPT_TS;
		o.tsval = 777;
	}
	sg_cookie_make(&v->cfg, v->s, &v->cache, f, isn, &o, ecn, T0 + 5 * SEC, &mk);
	assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, f, isn, mk.isn,
	                                 ts ? &mk.tsval : NULL, T0 + 6 * SEC, &ck), 0);
	uint16_t want = ts ? expect_mss(v->cfg.ts_mss[fam], v->cfg.ts_mss_n[fam], mss)
	                   : expect_mss(v->cfg.isn_mss[fam], v->cfg.isn_mss_n[fam], mss);
	if (ck.mss != want)
		fail_msg("mss %u (fam %u ts %d) decoded %u, want %u", mss, f->family, ts, ck.mss, want);
	/* Never above the client's, except up to the protocol floor. */
	assert_true(ck.mss <= mss || ck.mss == (fam ? 1220 : 536));
	assert_int_equal(ck.mss, mk.mss);
	assert_int_equal(ck.has_ws, ws >= 0);
	if (ws >= 0)
		assert_int_equal(ck.wscale, ws > 14 ? 14 : ws);
	assert_int_equal(ck.sack, sack);
	assert_int_equal(ck.ts, ts);
	assert_int_equal(ck.ecn, ts && ecn);
}

static void test_every_mss_value_decodes_to_the_best_entry_not_above_it(void **state)
{
	(void)state;
	struct env *v = env_new(NULL);

	for (uint8_t fam = 4; fam <= 6; fam += 2)
		for (uint16_t vid = 0; vid <= 100; vid += 100) {
			struct sg_flow f;

			flow(&f, fam, vid);
			for (uint32_t mss = 1; mss <= 65535; mss++)
				/* Spread the other options over the values. */
				round_trip(v, &f, (uint16_t)mss, (int)(mss % 17) - 1, mss & 1, (mss >> 1) & 1,
				           (mss >> 2) & 1);
		}
	env_free(v);
}

static void test_every_option_combination_at_table_boundaries(void **state)
{
	(void)state;
	struct env *v = env_new(NULL);

	for (uint8_t fam = 4; fam <= 6; fam += 2) {
		struct sg_flow f;
		unsigned fi = fam == 4 ? 0 : 1;
		uint16_t probes[64];
		unsigned np = 0;

		flow(&f, fam, 0);
		for (unsigned i = 0; i < v->cfg.ts_mss_n[fi]; i++) {
			probes[np++] = (uint16_t)(v->cfg.ts_mss[fi][i] - 1);
			probes[np++] = v->cfg.ts_mss[fi][i];
			probes[np++] = (uint16_t)(v->cfg.ts_mss[fi][i] + 1);
		}
		probes[np++] = 1;
		probes[np++] = 65535;
		for (unsigned i = 0; i < np; i++)
			for (int ws = -1; ws <= 15; ws++)
				for (unsigned bits = 0; bits < 8; bits++)
					round_trip(v, &f, probes[i], ws, bits & 1, bits & 2, bits & 4);
	}
	env_free(v);
}

static void test_cookie_lives_one_to_two_periods(void **state)
{
	(void)state;
	struct env *v = env_new(NULL);
	struct sg_flow f;
	struct sg_tcp_opts o = { .present = SG_OPT_MSS | SG_OPT_TS, .mss = 1460, .tsval = 1 };
	struct sg_cookie_result mk, ck;

	flow(&f, 4, 0);
	/* Made at the very start of an epoch: good for two whole periods. */
	sg_cookie_make(&v->cfg, v->s, &v->cache, &f, 1, &o, false, T0, &mk);
	assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, 1, mk.isn, &mk.tsval,
	                                 T0 + 64 * SEC - 1, &ck), 0);
	assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, 1, mk.isn, NULL,
	                                 T0 + 64 * SEC, &ck), -EBADMSG);
	/* Made at the end of an epoch: one period. */
	sg_cookie_make(&v->cfg, v->s, &v->cache, &f, 1, &o, false, T0 + 32 * SEC - 1, &mk);
	assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, 1, mk.isn, &mk.tsval,
	                                 T0 + 64 * SEC - 1, &ck), 0);
	assert_int_not_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, 1, mk.isn, &mk.tsval,
	                                     T0 + 64 * SEC, &ck), 0);
	/* Much later the parity matches again but the key does not. */
	assert_int_not_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, 1, mk.isn, &mk.tsval,
	                                     T0 + 10 * 64 * SEC, &ck), 0);
	env_free(v);
}

static void test_cookie_is_bound_to_every_field_of_the_flow(void **state)
{
	(void)state;
	struct env *v = env_new(NULL);

	for (uint8_t fam = 4; fam <= 6; fam += 2) {
		struct sg_flow f, g;
		struct sg_tcp_opts o = { .present = SG_OPT_MSS | SG_OPT_TS | SG_OPT_WS,
		                         .mss = 1460, .wscale = 7, .tsval = 9 };
		struct sg_cookie_result mk, ck;
		unsigned alen = fam == 4 ? 4 : 16;
		uint32_t isn = 0xabcdef01;

		flow(&f, fam, 10);
		sg_cookie_make(&v->cfg, v->s, &v->cache, &f, isn, &o, false, T0, &mk);
		assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, isn, mk.isn, &mk.tsval, T0, &ck), 0);
		for (unsigned i = 0; i < alen; i++) {
			g = f; g.wan_addr[i] ^= 1;
			assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &g, isn, mk.isn, &mk.tsval, T0, &ck), -EBADMSG);
			g = f; g.lan_addr[i] ^= 0x80;
			assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &g, isn, mk.isn, &mk.tsval, T0, &ck), -EBADMSG);
		}
		g = f; g.wan_port++;
		assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &g, isn, mk.isn, &mk.tsval, T0, &ck), -EBADMSG);
		g = f; g.lan_port++;
		assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &g, isn, mk.isn, &mk.tsval, T0, &ck), -EBADMSG);
		g = f; g.vid[0] = 11;
		assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &g, isn, mk.isn, &mk.tsval, T0, &ck), -EBADMSG);
		g = f; g.vid[0] = 0;
		assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &g, isn, mk.isn, &mk.tsval, T0, &ck), -EBADMSG);
		g = f; g.vid[1] = 10;
		assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &g, isn, mk.isn, &mk.tsval, T0, &ck), -EBADMSG);
		assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, isn + 1, mk.isn, &mk.tsval, T0, &ck), -EBADMSG);
		for (unsigned b = 0; b < 32; b++) {
			uint32_t t = mk.tsval ^ (1u << b);

			assert_int_not_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, isn, mk.isn ^ (1u << b),
			                                     &mk.tsval, T0, &ck), 0);
			/* Flipping a clock bit may only make it stale; either way no. */
			assert_int_not_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, isn, mk.isn, &t, T0, &ck), 0);
		}
		/* Leaving out the timestamp the cookie was made with fails too. */
		assert_int_equal(sg_cookie_check(&v->cfg, v->s, &v->cache, &f, isn, mk.isn, NULL, T0, &ck), -EBADMSG);
	}
	env_free(v);
}

static uint32_t rnd32(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint32_t)(*x >> 16);
}

static void test_random_acks_are_accepted_no_more_than_the_mac_allows(void **state)
{
	(void)state;
	struct env *v = env_new(NULL);
	struct sg_flow f;
	struct sg_cookie_result ck;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned accepted = 0, accepted_ts = 0;
	const unsigned n = 10000000;

	flow(&f, 4, 0);
	for (unsigned i = 0; i < n; i++) {
		uint32_t isn = rnd32(&x), cookie = rnd32(&x), ts = rnd32(&x);

		if (i & 1)
			accepted_ts += sg_cookie_check(&v->cfg, v->s, &v->cache, &f, isn, cookie, &ts, T0, &ck) == 0;
		else
			accepted += sg_cookie_check(&v->cfg, v->s, &v->cache, &f, isn, cookie, NULL, T0, &ck) == 0;
	}
	/* 5e6 tries at 2^-24 expect 0.3 acceptances; at 2^-27, 0.04.  Above 8
	 * has a probability below 1e-9 for a sound MAC. */
	print_message("forgeries accepted: %u of %u (no TS), %u of %u (TS)\n",
	              accepted, n / 2, accepted_ts, n / 2);
	assert_true(accepted <= 8);
	assert_true(accepted_ts <= 8);
	env_free(v);
}

static void test_boxes_sharing_a_key_accept_each_others_cookies(void **state)
{
	(void)state;
	uint8_t k1[SG_SECRET_MASTER_BYTES], k2[SG_SECRET_MASTER_BYTES];

	for (unsigned i = 0; i < sizeof(k1); i++) {
		k1[i] = (uint8_t)(i + 1);
		k2[i] = (uint8_t)(i + 1);
	}
	k2[31] ^= 1;
	struct env *a = env_new(k1), *b = env_new(k1);
	struct sg_flow f;
	struct sg_tcp_opts o = { .present = SG_OPT_MSS | SG_OPT_TS, .mss = 1400, .tsval = 5 };
	struct sg_cookie_result mk, ck;

	flow(&f, 6, 0);
	sg_cookie_make(&a->cfg, a->s, &a->cache, &f, 77, &o, false, T0, &mk);
	assert_int_equal(sg_cookie_check(&b->cfg, b->s, &b->cache, &f, 77, mk.isn, &mk.tsval, T0 + SEC, &ck), 0);
	assert_int_equal(ck.mss, 1400);
	env_free(b);
	b = env_new(k2);
	assert_int_equal(sg_cookie_check(&b->cfg, b->s, &b->cache, &f, 77, mk.isn, &mk.tsval, T0 + SEC, &ck), -EBADMSG);
	env_free(a);
	env_free(b);
}

static void test_table_validation_names_the_fault(void **state)
{
	(void)state;
	struct sg_cookie_config c;
	struct sg_cfg_fault why;

	sg_cookie_config_default(&c);
	assert_int_equal(sg_cookie_config_check(&c, &why), 0);
	c.isn_mss_n[0] = 5;
	assert_int_equal(sg_cookie_config_check(&c, &why), -1);
	assert_int_equal(why.rule, SG_CFG_COUNT);
	assert_int_equal(why.off, offsetof(struct sg_cookie_config, isn_mss[0]));
	sg_cookie_config_default(&c);
	c.isn_mss[1][2] = c.isn_mss[1][1];
	assert_int_equal(sg_cookie_config_check(&c, &why), -1);
	assert_int_equal(why.rule, SG_CFG_ORDER);
	assert_int_equal(why.off, offsetof(struct sg_cookie_config, isn_mss[1]));
	sg_cookie_config_default(&c);
	c.ts_mss[0][0] = SG_TCP_MSS4_MIN - 1;
	assert_int_equal(sg_cookie_config_check(&c, &why), -1);
	assert_int_equal(why.rule, SG_CFG_RANGE);
	assert_int_equal(why.off, offsetof(struct sg_cookie_config, ts_mss[0]));
	sg_cookie_config_default(&c);
	c.ts_mss_n[1] = 0;
	assert_int_equal(sg_cookie_config_check(&c, &why), -1);
	assert_int_equal(why.rule, SG_CFG_COUNT);
	assert_int_equal(why.off, offsetof(struct sg_cookie_config, ts_mss[1]));
	/* A smaller table is fine and decodes within its size. */
	sg_cookie_config_default(&c);
	c.isn_mss_n[0] = 2;
	assert_int_equal(sg_cookie_config_check(&c, &why), 0);
}

/* The cookies of a burst made together (prepare, sg_cookie_mac_n, finish)
 * are the cookies sg_cookie_make makes one by one: random flows of both
 * families, options and ISNs, across an epoch boundary (two keys), in
 * bursts of every size up to 64, so that lanes take mixed runs. */
static void test_burst_cookies_equal_single_ones(void **state)
{
	(void)state;
	struct env *v = env_new(NULL);
	struct sg_cookie_prep prep[64];
	struct sg_cookie_clock ck;
	const struct sg_cookie_prep *pp[64];
	uint64_t mac[64];

	srand(7);
	for (unsigned round = 0; round < 400; round++) {
		unsigned n = 1 + round % 64;
		struct sg_flow f[64];
		struct sg_tcp_opts o[64];
		uint32_t isn[64];
		uint64_t now[64];
		bool ecn[64];

		for (unsigned i = 0; i < n; i++) {
			uint8_t a[16], b[16];

			for (unsigned j = 0; j < 16; j++) {
				a[j] = (uint8_t)rand();
				b[j] = (uint8_t)rand();
			}
			sg_flow_make(&f[i], rand() % 3 ? 4 : 6, a, (uint16_t)rand(), b, (uint16_t)rand(),
			             (uint16_t)(rand() % 2 ? rand() & 0xfff : 0), 0);
			memset(&o[i], 0, sizeof(o[i]));
			o[i].present = (uint8_t)(rand() & (SG_OPT_MSS | SG_OPT_WS | SG_OPT_SACKPERM | SG_OPT_TS));
			o[i].mss = (uint16_t)(500 + rand() % 9000);
			o[i].wscale = (uint8_t)(rand() % 16);
			o[i].tsval = (uint32_t)rand();
			isn[i] = (uint32_t)rand() << 1 ^ (uint32_t)rand();
			ecn[i] = rand() % 2;
			/* Either side of the boundary between epochs 1000 and 1001. */
			now[i] = T0 + 32 * SEC - SEC + (uint64_t)(rand() % 2000) * 1000000u;
			sg_cookie_clock_read(v->s, &v->cache, now[i], &ck);
			sg_cookie_prepare(&v->cfg, &ck, &f[i], isn[i], &o[i], ecn[i], &prep[i]);
			pp[i] = &prep[i];
		}
		sg_cookie_mac_n(pp, n, mac);
		for (unsigned i = 0; i < n; i++) {
			struct sg_cookie_result one, many;

			memset(&one, 0, sizeof(one));     /* the padding, compared too */
			memset(&many, 0, sizeof(many));
			sg_cookie_make(&v->cfg, v->s, &v->cache, &f[i], isn[i], &o[i], ecn[i], now[i], &one);
			sg_cookie_finish(&prep[i], mac[i], &many);
			assert_memory_equal(&one, &many, sizeof(one));
		}
	}
	env_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_mss_value_decodes_to_the_best_entry_not_above_it),
		cmocka_unit_test(test_every_option_combination_at_table_boundaries),
		cmocka_unit_test(test_cookie_lives_one_to_two_periods),
		cmocka_unit_test(test_cookie_is_bound_to_every_field_of_the_flow),
		cmocka_unit_test(test_random_acks_are_accepted_no_more_than_the_mac_allows),
		cmocka_unit_test(test_boxes_sharing_a_key_accept_each_others_cookies),
		cmocka_unit_test(test_table_validation_names_the_fault),
		cmocka_unit_test(test_burst_cookies_equal_single_ones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
