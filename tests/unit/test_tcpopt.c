/* Tests of src/net/tcpopt.c: the builder checked by the parser and the
 * parser checked on hand-written option lists, malformed ones included. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "net/tcpopt.h"

#define BASE 20

/* Parses a copy of opts placed at the very end of a heap block, so ASan
 * reports any read past the option area. */
static int parse_tight(const uint8_t *opts, size_t len, struct sg_tcp_opts *o)
{
	uint8_t *b = malloc(len ? len : 1);
	assert_non_null(b);
	if (len)
		memcpy(b, opts, len);
	int r = sg_tcpopt_parse(b, len, BASE, o);
	free(b);
	return r;
}

static void linux_syn_layout_is_byte_exact(void **state)
{
	(void)state;
	struct sg_tcp_opts o = {
		.present = SG_OPT_MSS | SG_OPT_WS | SG_OPT_SACKPERM | SG_OPT_TS,
		.mss = 1460, .wscale = 7, .tsval = 0x01020304, .tsecr = 0,
	};
	uint8_t buf[40];
	const uint8_t want[] = { 2, 4, 0x05, 0xb4,
	                         4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0,
	                         1, 3, 3, 7 };
	assert_int_equal(sg_tcpopt_build(buf, sizeof(buf), &o), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void timestamps_without_sackperm_use_nop_nop_ts(void **state)
{
	(void)state;
	struct sg_tcp_opts o = { .present = SG_OPT_TS, .tsval = 5, .tsecr = 6 };
	uint8_t buf[40];
	const uint8_t want[] = { 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6 };
	assert_int_equal(sg_tcpopt_build(buf, sizeof(buf), &o), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void sackperm_without_timestamps_uses_nop_nop_sackperm(void **state)
{
	(void)state;
	struct sg_tcp_opts o = { .present = SG_OPT_MSS | SG_OPT_SACKPERM | SG_OPT_WS,
	                         .mss = 536, .wscale = 14 };
	uint8_t buf[40];
	const uint8_t want[] = { 2, 4, 0x02, 0x18, 1, 3, 3, 14, 1, 1, 4, 2 };
	assert_int_equal(sg_tcpopt_build(buf, sizeof(buf), &o), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void nothing_present_builds_nothing_and_sack_is_never_built(void **state)
{
	(void)state;
	struct sg_tcp_opts o = { .present = 0 };
	uint8_t buf[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
	assert_int_equal(sg_tcpopt_build(buf, 0, &o), 0);
	o.present = SG_OPT_SACK;
	o.sack_blocks = 2;
	assert_int_equal(sg_tcpopt_build(buf, sizeof(buf), &o), 0);
	assert_int_equal(buf[0], 0xaa);
}

static const uint16_t mss_edges[] = { 0, 1, 536, 1220, 1460, 65535 };
static const uint8_t ws_edges[] = { 0, 1, 7, 14, 15, 255 };
static const uint32_t ts_edges[] = { 0, 1, 0x7fffffff, 0x80000000, 0xffffffff };
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void build_then_parse_round_trips_every_combination(void **state)
{
	(void)state;
	unsigned checked = 0;
	for (unsigned bits = 0; bits < 16; bits++) {
		for (size_t e = 0; e < N(mss_edges) * N(ws_edges) * N(ts_edges); e++) {
			struct sg_tcp_opts in = { 0 }, out;
			in.present = (uint8_t)bits;   /* MSS, WS, SACKPERM, TS */
			in.mss = mss_edges[e % N(mss_edges)];
			in.wscale = ws_edges[(e / N(mss_edges)) % N(ws_edges)];
			in.tsval = ts_edges[(e / N(mss_edges) / N(ws_edges)) % N(ts_edges)];
			in.tsecr = ts_edges[e % N(ts_edges)];
			uint8_t buf[40];
			int n = sg_tcpopt_build(buf, sizeof(buf), &in);
			assert_true(n >= 0);
			assert_int_equal(n % 4, 0);
			assert_true(n <= 20);
			assert_int_equal(parse_tight(buf, (size_t)n, &out), 0);
			assert_int_equal(out.present, in.present);
			if (bits & SG_OPT_MSS) {
				assert_int_equal(out.mss, in.mss);
				assert_int_equal(out.mss_off, BASE);   /* MSS comes first */
				assert_int_equal(buf[out.mss_off - BASE], SG_TCPOPT_MSS);
			}
			if (bits & SG_OPT_WS) {
				assert_int_equal(out.wscale, in.wscale);
				assert_int_equal(buf[out.ws_off - BASE], SG_TCPOPT_WS);
			}
			if (bits & SG_OPT_SACKPERM)
				assert_int_equal(buf[out.sackperm_off - BASE], SG_TCPOPT_SACKPERM);
			if (bits & SG_OPT_TS) {
				assert_int_equal(out.tsval, in.tsval);
				assert_int_equal(out.tsecr, in.tsecr);
				assert_int_equal(buf[out.ts_off - BASE], SG_TCPOPT_TS);
				/* TSval at ts_off+2 is 4-aligned in Linux layouts. */
				assert_int_equal((out.ts_off + 2) % 4, 0);
			}
			/* Exactly as long as needed, and -ENOSPC for anything less. */
			assert_int_equal(sg_tcpopt_build(buf, (size_t)n, &in), n);
			for (int cap = 0; cap < n; cap++)
				assert_int_equal(sg_tcpopt_build(buf, (size_t)cap, &in), -ENOSPC);
			checked++;
		}
	}
	assert_int_equal(checked, 16 * N(mss_edges) * N(ws_edges) * N(ts_edges));
}

static void enospc_writes_nothing(void **state)
{
	(void)state;
	struct sg_tcp_opts o = { .present = SG_OPT_MSS | SG_OPT_TS, .mss = 1 };
	uint8_t buf[16];
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(sg_tcpopt_build(buf, 15, &o), -ENOSPC);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xee);
}

static void common_layouts_parse_like_the_general_walk(void **state)
{
	(void)state;
	/* The Linux SYN and the established NOP NOP TS layouts take a short
	 * cut in the parser; followed by EOL and padding they take the walk.
	 * Both must give the same struct. */
	const uint8_t syn[20] = { 2, 4, 0x23, 0x45, 4, 2, 8, 10, 0xde, 0xad, 0xbe, 0xef,
	                          0x01, 0x02, 0x03, 0x04, 1, 3, 3, 14 };
	const uint8_t ts[12] = { 1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7 };
	struct { const uint8_t *b; size_t n; } l[] = { { syn, 20 }, { ts, 12 } };
	for (size_t i = 0; i < 2; i++) {
		uint8_t padded[40] = { 0 };
		memcpy(padded, l[i].b, l[i].n);
		struct sg_tcp_opts fast, walk;
		assert_int_equal(parse_tight(l[i].b, l[i].n, &fast), 0);
		assert_int_equal(parse_tight(padded, l[i].n + 4, &walk), 0);
		assert_memory_equal(&fast, &walk, sizeof(fast));
		assert_true(fast.present & SG_OPT_TS);
	}
	struct sg_tcp_opts o;
	assert_int_equal(parse_tight(syn, 20, &o), 0);
	assert_int_equal(o.mss, 0x2345);
	assert_int_equal(o.tsval, 0xdeadbeef);
	assert_int_equal(o.tsecr, 0x01020304);
	assert_int_equal(o.wscale, 14);
	assert_int_equal(o.ws_off, BASE + 17);
	assert_int_equal(o.sackperm_off, BASE + 4);
	/* Near misses of the short cuts still parse right via the walk. */
	uint8_t near[20];
	memcpy(near, syn, 20);
	near[16] = 0;     /* EOL instead of NOP before WS: WS not seen */
	assert_int_equal(parse_tight(near, 20, &o), 0);
	assert_int_equal(o.present, SG_OPT_MSS | SG_OPT_SACKPERM | SG_OPT_TS);
	uint8_t ts11[12];
	memcpy(ts11, ts, 12);
	ts11[3] = 11;
	assert_int_equal(parse_tight(ts11, 12, &o), -EINVAL);
}

static void empty_and_eol_lists_parse_to_nothing(void **state)
{
	(void)state;
	struct sg_tcp_opts o;
	memset(&o, 0xff, sizeof(o));
	assert_int_equal(parse_tight(NULL, 0, &o), 0);
	assert_int_equal(o.present, 0);
	/* Bytes after EOL are not options, even if they look malformed. */
	const uint8_t l[] = { 1, 0, 2, 0, 0xff, 0xff, 8, 1 };
	memset(&o, 0xff, sizeof(o));
	assert_int_equal(parse_tight(l, sizeof(l), &o), 0);
	assert_int_equal(o.present, 0);
	const uint8_t nops[] = { 1, 1, 1, 1 };
	assert_int_equal(parse_tight(nops, 4, &o), 0);
	assert_int_equal(o.present, 0);
}

static void sack_after_single_nop_has_odd_offset(void **state)
{
	(void)state;
	/* NOP, SACK with 2 blocks, then NOP padding to 20 bytes. */
	uint8_t l[20] = { 1, 5, 18 };
	for (int i = 0; i < 16; i++)
		l[3 + i] = (uint8_t)(0x10 + i);
	l[19] = 1;
	struct sg_tcp_opts o;
	assert_int_equal(parse_tight(l, sizeof(l), &o), 0);
	assert_int_equal(o.present, SG_OPT_SACK);
	assert_int_equal(o.sack_off, BASE + 1);
	assert_int_equal(o.sack_blocks, 2);
	assert_int_equal(sg_tcpopt_sack_edge(&o, 0), BASE + 3);
	assert_int_equal(sg_tcpopt_sack_edge(&o, 1), BASE + 11);
	assert_int_equal(l[sg_tcpopt_sack_edge(&o, 1) - BASE], 0x18);
}

static void typical_ack_with_ts_and_four_sack_blocks_fits(void **state)
{
	(void)state;
	/* TS (NOP NOP TS) 12 + NOP NOP SACK(4 blocks) 36 would be 48: too long.
	 * What fits in 40: NOP NOP SACK with 4 blocks (36) + 4 NOPs. */
	uint8_t l[40];
	memset(l, 1, sizeof(l));
	l[2] = 5;
	l[3] = 34;
	struct sg_tcp_opts o;
	assert_int_equal(parse_tight(l, sizeof(l), &o), 0);
	assert_int_equal(o.sack_blocks, 4);
	assert_int_equal(o.sack_off, BASE + 2);
	/* TS + 3 SACK blocks: 12 + 28 = 40. */
	const uint8_t m[40] = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8,
	                        1, 1, 5, 26 };
	assert_int_equal(parse_tight(m, sizeof(m), &o), 0);
	assert_int_equal(o.present, SG_OPT_TS | SG_OPT_SACK);
	assert_int_equal(o.sack_blocks, 3);
	assert_int_equal(o.tsval, 9);
	assert_int_equal(o.tsecr, 8);
	assert_int_equal(o.ts_off, BASE + 2);
	assert_int_equal(o.sack_off, BASE + 14);
}

static void unknown_options_are_skipped_by_length(void **state)
{
	(void)state;
	/* kind 30 (MPTCP) len 12, kind 34 (TFO) len 2, kind 254 len 4, MSS. */
	uint8_t l[24] = { 30, 12, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
	                  34, 2, 254, 4, 2, 4, 2, 4, 2, 4, 1, 0 };
	struct sg_tcp_opts o;
	assert_int_equal(parse_tight(l, sizeof(l), &o), 0);
	/* the "2, 4, 2, 4" inside kind 254 is data, not an MSS option; MPTCP
	 * and Fast Open are noticed but carry no value */
	assert_int_equal(o.present, SG_OPT_MSS | SG_OPT_MPTCP | SG_OPT_FASTOPEN);
	assert_int_equal(o.mss, 0x0204);
	assert_int_equal(o.mss_off, BASE + 18);
}

/* Options synguard cannot answer for in a cookie are noticed, so the
 * core can decide about them: MD5 and AO signatures, Fast Open (both
 * codepoints), MPTCP. */
static void signature_fastopen_and_mptcp_are_noticed(void **state)
{
	(void)state;
	static const struct { uint8_t opts[20]; size_t len; uint8_t bit; } c[] = {
		{ { 19, 18 }, 18, SG_OPT_SIGNED },                       /* MD5 */
		{ { 29, 4, 1, 1 }, 4, SG_OPT_SIGNED },                   /* AO, key ids */
		{ { 30, 4, 0x00, 0x81 }, 4, SG_OPT_MPTCP },              /* MP_CAPABLE */
		{ { 34, 2 }, 2, SG_OPT_FASTOPEN },                       /* cookie request */
		{ { 34, 10, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, SG_OPT_FASTOPEN },
		{ { 254, 4, 0xf9, 0x89 }, 4, SG_OPT_FASTOPEN },          /* experimental */
		{ { 254, 4, 0x12, 0x34 }, 4, 0 },                        /* another experiment */
	};
	struct sg_tcp_opts o;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		memset(&o, 0, sizeof(o));
		assert_int_equal(sg_tcpopt_parse(c[i].opts, c[i].len, 20, &o), 0);
		assert_int_equal(o.present, c[i].bit);
	}
}

static void repeated_option_keeps_first(void **state)
{
	(void)state;
	const uint8_t l[] = { 2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18,
	                      1, 3, 3, 5, 1, 3, 3, 9,
	                      1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2,
	                      8, 10, 0, 0, 0, 3, 0, 0, 0, 4 };
	struct sg_tcp_opts o;
	assert_int_equal(parse_tight(l, sizeof(l), &o), 0);
	assert_int_equal(o.mss, 1460);
	assert_int_equal(o.mss_off, BASE);
	assert_int_equal(o.wscale, 5);
	assert_int_equal(o.ws_off, BASE + 9);
	assert_int_equal(o.tsval, 1);
	assert_int_equal(o.tsecr, 2);
	assert_int_equal(o.ts_off, BASE + 18);
}

struct bad_case {
	const char *what;
	uint8_t bytes[40];
	size_t len;
};

static void malformed_lists_are_rejected(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{ "length 0", { 30, 0, 1, 1 }, 4 },
		{ "length 1", { 30, 1, 1, 1 }, 4 },
		{ "MSS length 0", { 2, 0, 0, 0 }, 4 },
		{ "length past end", { 30, 5, 0, 0 }, 4 },
		{ "kind byte last, no length", { 1, 1, 1, 2 }, 4 },
		{ "lone unknown kind", { 77 }, 1 },
		{ "MSS length 3", { 2, 3, 5, 1 }, 4 },
		{ "MSS length 5", { 2, 5, 5, 0xb4, 0, 1, 1, 1 }, 8 },
		{ "MSS truncated", { 1, 2, 4, 5 }, 4 },
		{ "WS length 2", { 3, 2, 1, 1 }, 4 },
		{ "WS length 4", { 3, 4, 7, 0 }, 4 },
		{ "SACK-perm length 3", { 4, 3, 0, 1 }, 4 },
		{ "SACK-perm length 4", { 4, 4, 0, 0 }, 4 },
		{ "TS length 9", { 8, 9, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1 }, 12 },
		{ "TS length 11", { 8, 11, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1 }, 12 },
		{ "TS truncated", { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0 }, 11 },
		{ "SACK length 2 (no block)", { 5, 2, 1, 1 }, 4 },
		{ "SACK length 9", { 5, 9, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1 }, 12 },
		{ "SACK length 11", { 5, 11, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1 }, 12 },
		{ "SACK 5 blocks (42)", { 5, 42 }, 40 },
		{ "SACK past end", { 1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2 }, 12 },
		{ "bad option after good ones", { 2, 4, 5, 0xb4, 1, 3, 3, 7, 30, 1 }, 10 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct sg_tcp_opts o;
		int r = parse_tight(cases[i].bytes, cases[i].len, &o);
		if (r != -EINVAL)
			fail_msg("%s: got %d, want -EINVAL", cases[i].what, r);
	}
}

static void every_truncation_of_a_full_list_is_rejected_or_a_prefix(void **state)
{
	(void)state;
	/* Cutting a valid list anywhere: either the cut falls on an option
	 * boundary (then the prefix parses) or the parse fails; never a read
	 * past the cut (parse_tight would trip ASan). */
	const uint8_t l[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8,
	                      1, 3, 3, 7, 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
	const size_t bounds[] = { 0, 4, 6, 16, 17, 20, 21, 22, 32 };
	for (size_t cut = 0; cut <= sizeof(l); cut++) {
		bool boundary = false;
		for (size_t b = 0; b < N(bounds); b++)
			boundary |= bounds[b] == cut;
		struct sg_tcp_opts o;
		int r = parse_tight(l, cut, &o);
		if (boundary)
			assert_int_equal(r, 0);
		else
			assert_int_equal(r, -EINVAL);
	}
	struct sg_tcp_opts o;
	assert_int_equal(parse_tight(l, sizeof(l), &o), 0);
	assert_int_equal(o.present, SG_OPT_MSS | SG_OPT_SACKPERM | SG_OPT_TS |
	                            SG_OPT_WS | SG_OPT_SACK);
	assert_int_equal(o.sack_off, BASE + 22);
	assert_int_equal(o.sack_blocks, 1);
}

static void random_bytes_never_read_past_end(void **state)
{
	(void)state;
	uint64_t x = 0x1234567887654321ull;
	unsigned ok = 0, bad = 0;
	for (int n = 0; n < 200000; n++) {
		uint8_t l[40];
		size_t len = (size_t)(n % 41);
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			/* Mostly small kinds and lengths so walks get far. */
			l[i] = (uint8_t)((x & 3) ? x % 12 : x >> 8);
		}
		struct sg_tcp_opts o;
		int r = parse_tight(l, len, &o);
		assert_true(r == 0 || r == -EINVAL);
		if (r == 0) {
			ok++;
			if (o.present & SG_OPT_SACK) {
				assert_true(o.sack_blocks >= 1 && o.sack_blocks <= SG_TCP_SACK_MAX);
				assert_true(o.sack_off - BASE + 2u + 8u * o.sack_blocks <= len);
			}
			if (o.present & SG_OPT_TS)
				assert_true(o.ts_off - BASE + 10u <= len);
		} else {
			bad++;
		}
	}
	assert_true(ok > 1000 && bad > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(linux_syn_layout_is_byte_exact),
		cmocka_unit_test(timestamps_without_sackperm_use_nop_nop_ts),
		cmocka_unit_test(sackperm_without_timestamps_uses_nop_nop_sackperm),
		cmocka_unit_test(nothing_present_builds_nothing_and_sack_is_never_built),
		cmocka_unit_test(build_then_parse_round_trips_every_combination),
		cmocka_unit_test(enospc_writes_nothing),
		cmocka_unit_test(common_layouts_parse_like_the_general_walk),
		cmocka_unit_test(empty_and_eol_lists_parse_to_nothing),
		cmocka_unit_test(sack_after_single_nop_has_odd_offset),
		cmocka_unit_test(typical_ack_with_ts_and_four_sack_blocks_fits),
		cmocka_unit_test(unknown_options_are_skipped_by_length),
		cmocka_unit_test(signature_fastopen_and_mptcp_are_noticed),
		cmocka_unit_test(repeated_option_keeps_first),
		cmocka_unit_test(malformed_lists_are_rejected),
		cmocka_unit_test(every_truncation_of_a_full_list_is_rejected_or_a_prefix),
		cmocka_unit_test(random_bytes_never_read_past_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
