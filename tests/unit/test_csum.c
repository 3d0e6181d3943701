/* Tests of src/net/csum.c against a byte-at-a-time reference sum. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "net/csum.h"

/* The obvious RFC 1071 sum: big-endian words, odd byte padded, folded. */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i < len; i += 2) {
		s += (uint32_t)p[i] << 8;
		if (i + 1 < len)
			s += p[i + 1];
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint16_t)s;
}

/* Host-order value of a checksum or fold result returned by the library
 * (those are in network order). */
static uint16_t h(uint16_t net) { return ntohs(net); }

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	/* xorshift64*: reproducible across runs and machines. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static void rfc1071_example_sums_to_ddf2(void **state)
{
	(void)state;
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	assert_int_equal(h(sg_csum_fold(sg_csum_partial(b, sizeof(b), 0))), 0xddf2);
	assert_int_equal(h(sg_csum_finish(sg_csum_partial(b, sizeof(b), 0))),
	                 (uint16_t)~0xddf2);
}

static void ipv4_header_checksum_matches_known_value(void **state)
{
	(void)state;
	/* 192.168.0.1 -> 192.168.0.199, UDP, checksum 0xb861. */
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00,
	                   0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01,
	                   0xc0, 0xa8, 0x00, 0xc7 };
	/* A correct header sums to 0xffff, so finish gives 0. */
	assert_int_equal(sg_csum_finish(sg_csum_partial(ip, 20, 0)), 0);
	ip[10] = ip[11] = 0;
	uint16_t c = sg_csum_finish(sg_csum_partial(ip, 20, 0));
	assert_int_equal(h(c), 0xb861);
	memcpy(ip + 10, &c, 2);
	assert_int_equal(ip[10], 0xb8);
	assert_int_equal(ip[11], 0x61);
}

static void partial_matches_reference_for_every_length_and_alignment(void **state)
{
	(void)state;
	uint8_t buf[600];
	fill_random(buf, sizeof(buf));
	for (size_t align = 0; align < 8; align++)
		for (size_t len = 0; len <= 520; len++)
			assert_int_equal(h(sg_csum_fold(sg_csum_partial(buf + align, len, 0))),
			                 ref_sum(buf + align, len));
}

static void odd_lengths_pad_the_last_byte_with_zero(void **state)
{
	(void)state;
	const uint8_t one[] = { 0xab };
	assert_int_equal(h(sg_csum_fold(sg_csum_partial(one, 1, 0))), 0xab00);
	const uint8_t three[] = { 0x12, 0x34, 0x56 };
	assert_int_equal(h(sg_csum_fold(sg_csum_partial(three, 3, 0))), 0x6834);
	uint8_t buf[65];
	fill_random(buf, sizeof(buf));
	for (size_t len = 1; len <= sizeof(buf); len += 2) {
		uint8_t padded[66] = { 0 };
		memcpy(padded, buf, len);
		assert_int_equal(sg_csum_fold(sg_csum_partial(buf, len, 0)),
		                 sg_csum_fold(sg_csum_partial(padded, len + 1, 0)));
	}
}

static void chained_even_buffers_equal_one_buffer(void **state)
{
	(void)state;
	uint8_t buf[300];
	fill_random(buf, sizeof(buf));
	uint16_t whole = sg_csum_fold(sg_csum_partial(buf, sizeof(buf), 0));
	for (size_t cut = 0; cut <= sizeof(buf); cut += 2) {
		uint64_t s = sg_csum_partial(buf, cut, 0);
		s = sg_csum_partial(buf + cut, sizeof(buf) - cut, s);
		assert_int_equal(sg_csum_fold(s), whole);
	}
}

/* RFC 1071's fold step by step: add the carries back until none is left. */
static uint16_t ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void fold_equals_the_step_by_step_fold(void **state)
{
	(void)state;
	static const uint64_t edges[] = {
		0, 1, 0xfffe, 0xffff, 0x10000, 0x1fffe, 0x1ffff, 0xfffeffff, 0xffff0000,
		0xffffffff, 0x100000000ull, 0x1fffffffeull, 0xffffffff00000000ull,
		0xffffffff00000001ull, 0xfffffffffffeffffull, UINT64_MAX - 1, UINT64_MAX,
	};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		assert_int_equal(sg_csum_fold(edges[i]), ref_fold(edges[i]));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Sums of every size: a pseudo-header's 34 bits up to all 64. */
		uint64_t v = x >> (i % 48);
		assert_int_equal(sg_csum_fold(v), ref_fold(v));
	}
}

static void fold_keeps_the_two_zeros_apart(void **state)
{
	(void)state;
	/* +0: only an all-zero sum folds to 0x0000. */
	assert_int_equal(sg_csum_fold(0), 0);
	assert_int_equal(sg_csum_finish(0), 0xffff);
	/* -0: a non-zero sum congruent to 0 mod 0xffff folds to 0xffff. */
	assert_int_equal(sg_csum_fold(0xffff), 0xffff);
	assert_int_equal(sg_csum_fold(0x1fffe), 0xffff);
	assert_int_equal(sg_csum_fold(UINT64_MAX), 0xffff);
	assert_int_equal(sg_csum_finish(0xffff), 0);
	assert_int_equal(sg_csum_fold(0x10000), 1);
	assert_int_equal(sg_csum_fold(0xffffffffull + 1), 1);

	const uint8_t zeros[6] = { 0 };
	assert_int_equal(sg_csum_fold(sg_csum_partial(zeros, 6, 0)), 0);
	const uint8_t neg0[4] = { 0x12, 0x34, 0xed, 0xcb };   /* sum 0xffff */
	assert_int_equal(sg_csum_fold(sg_csum_partial(neg0, 4, 0)), 0xffff);
	assert_int_equal(sg_csum_finish(sg_csum_partial(neg0, 4, 0)), 0);
}

static void large_running_sums_do_not_lose_carries(void **state)
{
	(void)state;
	uint8_t ff[4096];
	memset(ff, 0xff, sizeof(ff));
	uint64_t s = UINT64_MAX - 5;
	s = sg_csum_partial(ff, sizeof(ff), s);
	/* Words of 0xffff add nothing mod 0xffff: still (UINT64_MAX-5) = -5. */
	assert_int_equal(sg_csum_fold(s), 0xffff - 5);
}

static void pseudo4_equals_sum_of_written_out_header(void **state)
{
	(void)state;
	const uint8_t sa[4] = { 10, 1, 2, 3 }, da[4] = { 192, 168, 200, 254 };
	for (uint32_t len = 0; len < 70000; len += 997) {
		uint8_t ph[12];
		memcpy(ph, sa, 4);
		memcpy(ph + 4, da, 4);
		ph[8] = 0;
		ph[9] = 6;
		ph[10] = (uint8_t)(len >> 8);
		ph[11] = (uint8_t)len;
		if (len > 0xffff)
			continue;   /* IPv4 lengths are 16 bits */
		assert_int_equal(h(sg_csum_fold(sg_csum_pseudo4(sa, da, 6, len))),
		                 ref_sum(ph, 12));
	}
}

static void pseudo6_equals_sum_of_written_out_header(void **state)
{
	(void)state;
	uint8_t sa[16], da[16];
	fill_random(sa, 16);
	fill_random(da, 16);
	const uint32_t lens[] = { 0, 20, 1480, 65535, 65536, 100000, 0xfffffffe };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t ph[40] = { 0 };
		memcpy(ph, sa, 16);
		memcpy(ph + 16, da, 16);
		ph[32] = (uint8_t)(lens[i] >> 24);
		ph[33] = (uint8_t)(lens[i] >> 16);
		ph[34] = (uint8_t)(lens[i] >> 8);
		ph[35] = (uint8_t)lens[i];
		ph[39] = 58;
		assert_int_equal(h(sg_csum_fold(sg_csum_pseudo6(sa, da, 58, lens[i]))),
		                 ref_sum(ph, 40));
	}
}

/* A region of 16-bit words whose checksum lives at byte 2. */
static uint16_t full_csum(uint8_t *r, size_t len)
{
	uint8_t save[2] = { r[2], r[3] };
	r[2] = r[3] = 0;
	uint16_t c = sg_csum_finish(sg_csum_partial(r, len, 0));
	r[2] = save[0];
	r[3] = save[1];
	return c;
}

static void update_landing_on_zero_gives_0000_like_a_recompute(void **state)
{
	(void)state;
	/* Words: 0x1234, csum, 0x0005, 0xedca.  Changing 0x0005 -> 0x0001
	 * makes the data sum 0xffff, whose checksum is 0x0000 (RFC 1624 §3:
	 * eqn. 2 would give 0xffff here). */
	uint8_t r[8] = { 0x12, 0x34, 0, 0, 0x00, 0x05, 0xed, 0xca };
	uint16_t c = full_csum(r, 8);
	assert_int_not_equal(c, 0);
	memcpy(r + 2, &c, 2);
	sg_csum_set16(r, 4, r + 2, 0x0001);
	assert_int_equal(r[2], 0);
	assert_int_equal(r[3], 0);
	assert_int_equal(full_csum(r, 8), 0);

	/* Same with a 32-bit update of words 0x0005 0xedca -> 0x0001 0xedca. */
	uint8_t q[8] = { 0x12, 0x34, 0, 0, 0x00, 0x05, 0xed, 0xca };
	c = full_csum(q, 8);
	memcpy(q + 2, &c, 2);
	sg_csum_set32(q, 4, q + 2, 0x0001edca);
	assert_int_equal(q[2], 0);
	assert_int_equal(q[3], 0);
}

static void update_starting_from_checksum_0000_matches_recompute(void **state)
{
	(void)state;
	/* Data sum 0xffff -> checksum 0x0000; move away and back. */
	uint8_t r[8] = { 0x12, 0x34, 0, 0, 0x00, 0x01, 0xed, 0xca };
	assert_int_equal(full_csum(r, 8), 0);
	sg_csum_set16(r, 4, r + 2, 0x0777);
	assert_int_equal(full_csum(r, 8), get16(r + 2));
	assert_int_not_equal(get16(r + 2), 0);
	sg_csum_set16(r, 4, r + 2, 0x0001);
	assert_int_equal(r[2], 0);
	assert_int_equal(r[3], 0);
}

static void update_from_alternate_zero_ffff_still_verifies(void **state)
{
	(void)state;
	/* A sender may store 0xffff where 0x0000 is due (both verify).  An
	 * update from there must give a checksum that verifies and equals a
	 * recompute. */
	uint8_t r[8] = { 0x12, 0x34, 0xff, 0xff, 0x00, 0x01, 0xed, 0xca };
	assert_int_equal(sg_csum_fold(sg_csum_partial(r, 8, 0)), 0xffff);
	sg_csum_set16(r, 4, r + 2, 0x1000);
	assert_int_equal(sg_csum_fold(sg_csum_partial(r, 8, 0)), 0xffff);
	assert_int_equal(full_csum(r, 8), get16(r + 2));
}

static void unchanged_value_leaves_checksum_alone(void **state)
{
	(void)state;
	uint8_t r[64];
	fill_random(r, sizeof(r));
	uint16_t c = full_csum(r, sizeof(r));
	memcpy(r + 2, &c, 2);
	for (size_t off = 4; off + 4 <= sizeof(r); off++) {
		uint32_t v = ((uint32_t)r[off] << 24) | ((uint32_t)r[off + 1] << 16) |
		             ((uint32_t)r[off + 2] << 8) | r[off + 3];
		sg_csum_set32(r, off, r + 2, v);
		assert_memory_equal(r + 2, &c, 2);
	}
}

/* TCP header (60 bytes) + odd payload behind an IPv4 pseudo-header. */
#define TCP_LEN (60 + 37)
static const uint8_t SA[4] = { 198, 51, 100, 7 }, DA[4] = { 203, 0, 113, 9 };

static uint16_t tcp_full(uint8_t *t, size_t len, uint64_t ph)
{
	uint8_t save[2] = { t[16], t[17] };
	t[16] = t[17] = 0;
	uint16_t c = sg_csum_finish(sg_csum_partial(t, len, ph));
	t[16] = save[0];
	t[17] = save[1];
	return c;
}

static bool overlaps_csum(size_t off, size_t n)
{
	return off < 18 && off + n > 16;
}

static void set16_and_set32_at_every_tcp_offset_match_recompute(void **state)
{
	(void)state;
	uint64_t ph = sg_csum_pseudo4(SA, DA, 6, TCP_LEN);
	int checked = 0;
	for (int width = 2; width <= 4; width += 2) {
		for (size_t off = 0; off < 60; off++) {
			if (overlaps_csum(off, (size_t)width))
				continue;
			for (int round = 0; round < 8; round++) {
				uint8_t t[TCP_LEN];
				fill_random(t, sizeof(t));
				uint16_t c = tcp_full(t, sizeof(t), ph);
				memcpy(t + 16, &c, 2);
				uint32_t v = (uint32_t)rnd();
				/* Include values that make bytes all-zero / all-one. */
				if (round == 0) v = 0;
				if (round == 1) v = 0xffffffff;
				if (width == 2)
					sg_csum_set16(t, off, t + 16, (uint16_t)v);
				else
					sg_csum_set32(t, off, t + 16, v);
				assert_int_equal(t[off], (uint8_t)(v >> (width == 2 ? 8 : 24)));
				uint16_t want = tcp_full(t, sizeof(t), ph);
				assert_memory_equal(t + 16, &want, 2);
				assert_int_equal(sg_csum_fold(sg_csum_partial(t, sizeof(t), ph)),
				                 0xffff);
				checked++;
			}
		}
	}
		/* 57 offsets for 16 bits (15..17 touch the checksum), 55 for 32. */
	assert_int_equal(checked, 8 * (57 + 55));
}

/* The BE value a 16-bit write at off must carry so that the whole data
 * sum (pseudo-header included) becomes congruent to 0: the checksum then
 * is 0x0000, the case eqn. 2 gets wrong. */
static uint16_t value_making_sum_zero(uint8_t *t, size_t len, uint64_t ph, size_t off)
{
	uint8_t save[2] = { t[16], t[17] };
	t[16] = t[17] = 0;
	uint32_t s = h(sg_csum_fold(sg_csum_partial(t, len, ph)));
	t[16] = save[0];
	t[17] = save[1];
	uint32_t w = ((uint32_t)t[off] << 8) | t[off + 1];
	if (off & 1)
		w = ((w & 0xff) << 8) | (w >> 8);
	/* need w' == w - s (mod 0xffff) */
	uint32_t wn = (w + 0xffff - s) % 0xffff;
	if (off & 1)
		wn = ((wn & 0xff) << 8) | (wn >> 8);
	return (uint16_t)wn;
}

static void random_packets_incremental_equals_recompute(void **state)
{
	(void)state;
	static uint8_t pkt[1600];
	unsigned zero_hits = 0;
	for (int n = 0; n < 100000; n++) {
		size_t len = 20 + rnd() % 1481;   /* TCP header..1500 */
		fill_random(pkt, len);
		uint8_t sa[16], da[16];
		fill_random(sa, 16);
		fill_random(da, 16);
		uint64_t ph = (n & 1) ? sg_csum_pseudo6(sa, da, 6, (uint32_t)len)
		                      : sg_csum_pseudo4(sa, da, 6, (uint32_t)len);
		uint16_t c = tcp_full(pkt, len, ph);
		memcpy(pkt + 16, &c, 2);
		int rewrites = 1 + (int)(rnd() % 6);
		for (int k = 0; k < rewrites; k++) {
			size_t width = (rnd() & 1) ? 4 : 2;
			size_t off;
			do
				off = rnd() % (len - width + 1);
			while (overlaps_csum(off, width));
			if (width == 2) {
				uint16_t v = (uint16_t)rnd();
				if (rnd() % 8 == 0)
					v = value_making_sum_zero(pkt, len, ph, off);
				sg_csum_set16(pkt, off, pkt + 16, v);
			} else {
				sg_csum_set32(pkt, off, pkt + 16, (uint32_t)rnd());
			}
			uint16_t want = tcp_full(pkt, len, ph);
			if (memcmp(pkt + 16, &want, 2) != 0)
				fail_msg("packet %d len %zu rewrite %d width %zu off %zu: "
				         "got %02x%02x want %04x", n, len, k, width, off,
				         pkt[16], pkt[17], h(want));
			if (want == 0)
				zero_hits++;
		}
	}
	/* The directed rewrites must actually have exercised the 0x0000 case. */
	assert_true(zero_hits > 1000);
}

/* Many fields rewritten, one checksum update: equal to a recompute, and
 * to the same rewrites done one at a time, for 1e5 random headers with up
 * to 8 non-overlapping fields at any offsets (odd included). */
static void edits_applied_once_equal_recompute_and_one_at_a_time(void **state)
{
	(void)state;
	uint64_t ph = sg_csum_pseudo4(SA, DA, 6, TCP_LEN);

	for (int round = 0; round < 100000; round++) {
		uint8_t t[TCP_LEN], u[TCP_LEN], used[60] = { 0 };
		struct sg_csum_edit e = { 0 };
		unsigned nf = 1 + (unsigned)(rnd() % 8);

		fill_random(t, sizeof(t));
		uint16_t c = tcp_full(t, sizeof(t), ph);
		memcpy(t + 16, &c, 2);
		memcpy(u, t, sizeof(t));
		for (unsigned f = 0; f < nf; f++) {
			size_t width = rnd() & 1 ? 4 : 2, off = (size_t)(rnd() % (60 - width + 1));
			uint32_t v = (uint32_t)rnd();
			bool clash = overlaps_csum(off, width);

			for (size_t k = 0; k < width; k++)
				clash |= used[off + k];
			if (clash)
				continue;
			for (size_t k = 0; k < width; k++)
				used[off + k] = 1;
			if (width == 2) {
				sg_csum_edit16(&e, t, off, (uint16_t)v);
				sg_csum_set16(u, off, u + 16, (uint16_t)v);
			} else {
				sg_csum_edit32(&e, t, off, v);
				sg_csum_set32(u, off, u + 16, v);
			}
		}
		sg_csum_edit_apply(&e, t + 16);
		assert_memory_equal(t, u, sizeof(t));
		uint16_t want = tcp_full(t, sizeof(t), ph);
		assert_memory_equal(t + 16, &want, 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc1071_example_sums_to_ddf2),
		cmocka_unit_test(ipv4_header_checksum_matches_known_value),
		cmocka_unit_test(partial_matches_reference_for_every_length_and_alignment),
		cmocka_unit_test(odd_lengths_pad_the_last_byte_with_zero),
		cmocka_unit_test(chained_even_buffers_equal_one_buffer),
		cmocka_unit_test(fold_equals_the_step_by_step_fold),
		cmocka_unit_test(fold_keeps_the_two_zeros_apart),
		cmocka_unit_test(large_running_sums_do_not_lose_carries),
		cmocka_unit_test(pseudo4_equals_sum_of_written_out_header),
		cmocka_unit_test(pseudo6_equals_sum_of_written_out_header),
		cmocka_unit_test(update_landing_on_zero_gives_0000_like_a_recompute),
		cmocka_unit_test(update_starting_from_checksum_0000_matches_recompute),
		cmocka_unit_test(update_from_alternate_zero_ffff_still_verifies),
		cmocka_unit_test(unchanged_value_leaves_checksum_alone),
		cmocka_unit_test(set16_and_set32_at_every_tcp_offset_match_recompute),
		cmocka_unit_test(random_packets_incremental_equals_recompute),
		cmocka_unit_test(edits_applied_once_equal_recompute_and_one_at_a_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
