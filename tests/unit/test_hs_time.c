/* The handshake completion time (stats.h): from the cookie ACK that opens
 * the server connection to the server's SYN-ACK, in the worker's fixed
 * buckets, through the proxy with a fake clock. */
#include "proxy_harness.h"

#define US 1000ull   /* ns */

/* The bucket a time falls in: the first bound it does not exceed. */
static void test_buckets_are_upper_bounds_that_double(void **state)
{
	static const struct { uint32_t us; unsigned bucket; } cases[] = {
		{ 0, 0 }, { 1, 0 }, { 125, 0 }, { 126, 1 }, { 250, 1 }, { 251, 2 },
		{ 500, 2 }, { 1000, 3 }, { 1001, 4 }, { 1024000, 13 }, { 4096000, 15 },
		{ 4096001, SG_HS_HIST_BOUNDS }, { UINT32_MAX, SG_HS_HIST_BOUNDS },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sg_hs_hist h = { { 0 }, 0 };

		sg_hs_hist_add(&h, cases[i].us);
		for (unsigned b = 0; b <= SG_HS_HIST_BOUNDS; b++)
			assert_int_equal(h.bucket[b], b == cases[i].bucket);
		assert_int_equal(h.sum_us, cases[i].us);
	}
}

/* One proxied handshake whose server answers `wait_ns` after the cookie
 * ACK; returns the worker's histogram afterwards. */
static struct sg_hs_hist handshake_after(enum h_flavour fl, uint64_t start_ns, uint64_t wait_ns)
{
	struct h h;
	struct sg_hs_hist got;

	h_init(&h, fl, NULL);
	h.now = start_ns;
	h_client_syn(&h);
	h_client_ack_cookie(&h);
	h.now += wait_ns;
	h_server_synack(&h);
	/* The time's place in the record is the windows' after the SYN-ACK:
	 * data must still pass both ways. */
	h_c2s_data(&h, 100);
	h_s2c_data(&h, 1000);
	got = sg_proxy_stats(h.w)->hs;
	h_fini(&h);
	return got;
}

static void test_a_proxied_handshake_is_timed_from_cookie_ack_to_server_synack(void **state)
{
	static const struct { uint64_t wait_ns; unsigned bucket; } cases[] = {
		{ 0, 0 }, { 300 * US, 2 }, { 20 * 1000 * US, 8 },
		{ 1500 * 1000 * US, 14 },        /* after a SYN retransmit */
		{ 5000 * 1000 * US, SG_HS_HIST_BOUNDS },
	};

	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct sg_hs_hist got = handshake_after(fl, 1000 * H_SEC, cases[i].wait_ns);

			for (unsigned b = 0; b <= SG_HS_HIST_BOUNDS; b++)
				assert_int_equal(got.bucket[b], b == cases[i].bucket);
			assert_int_equal(got.sum_us, cases[i].wait_ns / US);
		}
	}
}

/* The record keeps 32 bits of microseconds: a handshake across their wrap
 * (every 71 minutes) is timed all the same. */
static void test_the_time_survives_the_microsecond_clock_wrapping(void **state)
{
	uint64_t wrap_ns = (1ull << 32) * US;
	struct sg_hs_hist got;

	(void)state;
	got = handshake_after(H_V4, wrap_ns - 100 * US, 300 * US);
	assert_int_equal(got.bucket[2], 1);
	assert_int_equal(got.sum_us, 300);
}

/* Only a completed handshake counts: a server that refuses, or a repeated
 * SYN-ACK, adds nothing. */
static void test_refusals_and_repeated_synacks_are_not_timed(void **state)
{
	struct h h;
	struct sg_tcp_opts o;
	uint64_t n = 0;

	(void)state;
	h_init(&h, H_V4, NULL);
	h_proxied_open(&h);
	o = h_syn_opts(&h.sopt, h.s_ts0, h.s_seen_ts);
	h_build(&h, 0, SG_TCP_SYN | SG_TCP_ACK, h.s_isn, h.c_isn + 1, 65160, &o, 0);
	assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_CONSUME);
	for (unsigned b = 0; b <= SG_HS_HIST_BOUNDS; b++)
		n += sg_proxy_stats(h.w)->hs.bucket[b];
	assert_int_equal(n, 1);
	h_fini(&h);

	h_init(&h, H_V4, NULL);
	h_client_syn(&h);
	h_client_ack_cookie(&h);
	h_build(&h, 0, SG_TCP_RST | SG_TCP_ACK, 0, h.c_isn + 1, 0, NULL, 0);
	assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
	assert_int_equal(h_stat(&h, SG_STAT_SERVER_REFUSED), 1);
	n = 0;
	for (unsigned b = 0; b <= SG_HS_HIST_BOUNDS; b++)
		n += sg_proxy_stats(h.w)->hs.bucket[b];
	assert_int_equal(n, 0);
	h_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_are_upper_bounds_that_double),
		cmocka_unit_test(test_a_proxied_handshake_is_timed_from_cookie_ack_to_server_synack),
		cmocka_unit_test(test_the_time_survives_the_microsecond_clock_wrapping),
		cmocka_unit_test(test_refusals_and_repeated_synacks_are_not_timed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
