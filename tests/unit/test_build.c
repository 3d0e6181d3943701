/* Frame builders: what is built parses back to what was asked, with valid
 * checksums, for both families, 0..2 tags and every option combination. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/build.h"
#include "net/csum.h"
#include "net/pkt.h"

static const uint16_t tpids[3] = { SG_ETH_P_8021AD, SG_ETH_P_8021Q, SG_ETH_P_QINQ9100 };

static void sample(struct sg_tcp_frame *f, uint8_t family, unsigned nvlan, uint8_t present)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->dst_mac, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(f->src_mac, "\x02\x00\x00\x00\x00\x02", 6);
	f->nvlan = (uint8_t)nvlan;
	for (unsigned i = 0; i < nvlan; i++) {
		f->vlan[i].tpid = tpids[(i + nvlan) % 3];
		f->vlan[i].tci = (uint16_t)(0x2000 | (100 + i));
	}
	f->family = family;
	if (family == 4) {
		memcpy(f->saddr, "\xc6\x33\x64\x07", 4);
		memcpy(f->daddr, "\xc0\x00\x02\x0a", 4);
	} else {
		memcpy(f->saddr, "\x20\x01\x0d\xb8\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07", 16);
		memcpy(f->daddr, "\x20\x01\x0d\xb8\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0a", 16);
		f->flow_label = 0xabcde;
	}
	f->tos = 0x28;
	f->sport = 40001;
	f->dport = 443;
	f->seq = 0xfedcba98;
	f->ack = 0x01234567;
	f->flags = SG_TCP_SYN | SG_TCP_ACK;
	f->win = 29200;
	f->opt.present = present;
	f->opt.mss = 1460;
	f->opt.wscale = 9;
	f->opt.tsval = 0x11223344;
	f->opt.tsecr = 0x55667788;
}

static void check_parsed(const struct sg_tcp_frame *f, uint8_t *buf, int len)
{
	struct sg_pkt p;
	unsigned alen = f->family == 4 ? 4 : 16;

	assert_true(len > 0);
	assert_int_equal(sg_pkt_parse(&p, buf, (uint32_t)len), SG_PKT_TCP);
	assert_memory_equal(p.data, f->dst_mac, 6);
	assert_memory_equal(p.data + 6, f->src_mac, 6);
	assert_int_equal(p.nvlan, f->nvlan);
	for (unsigned i = 0; i < f->nvlan; i++) {
		assert_int_equal(p.vlan[i].tpid, f->vlan[i].tpid);
		assert_int_equal(p.vlan[i].tci, f->vlan[i].tci);
	}
	assert_int_equal(p.family, f->family);
	assert_memory_equal(sg_pkt_saddr(&p), f->saddr, alen);
	assert_memory_equal(sg_pkt_daddr(&p), f->daddr, alen);
	assert_int_equal(p.sport, f->sport);
	assert_int_equal(p.dport, f->dport);
	assert_int_equal(p.seq, f->seq);
	assert_int_equal(p.ack, f->ack);
	assert_int_equal(p.tcp_flags, f->flags);
	assert_int_equal(p.win, f->win);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.opt.present, f->opt.present);
	if (f->opt.present & SG_OPT_MSS)
		assert_int_equal(p.opt.mss, f->opt.mss);
	if (f->opt.present & SG_OPT_WS)
		assert_int_equal(p.opt.wscale, f->opt.wscale);
	if (f->opt.present & SG_OPT_TS) {
		assert_int_equal(p.opt.tsval, f->opt.tsval);
		assert_int_equal(p.opt.tsecr, f->opt.tsecr);
	}
	assert_true(sg_pkt_tcp_csum_ok(&p));
	if (f->family == 4) {
		const uint8_t *ip = sg_pkt_l3(&p);

		/* A correct header sums to zero (RFC 1071), as the parser checked. */
		assert_int_equal(sg_csum_finish(sg_csum_partial(ip, 20, 0)), 0);
		assert_int_equal(ip[8], SG_BUILD_TTL);
		assert_int_equal(ip[1], f->tos);
		assert_int_equal(ip[6] & 0x40, 0x40);          /* DF */
	} else {
		const uint8_t *ip = sg_pkt_l3(&p);
		uint32_t w0 = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];

		assert_int_equal((w0 >> 20) & 0xff, f->tos);
		assert_int_equal(w0 & 0xfffff, f->flow_label);
		assert_int_equal(ip[7], SG_BUILD_TTL);
	}
}

static void test_every_family_tag_count_and_option_set_round_trips(void **state)
{
	(void)state;
	static const uint8_t flag_sets[] = {
		SG_TCP_SYN, SG_TCP_SYN | SG_TCP_ACK, SG_TCP_ACK, SG_TCP_RST, SG_TCP_RST | SG_TCP_ACK,
		SG_TCP_FIN | SG_TCP_ACK, SG_TCP_SYN | SG_TCP_ECE | SG_TCP_CWR,
	};
	unsigned n = 0;

	for (uint8_t fam = 4; fam <= 6; fam += 2)
		for (unsigned nv = 0; nv <= SG_VLAN_MAX; nv++)
			for (uint8_t present = 0; present < 16; present++)
				for (unsigned fl = 0; fl < sizeof(flag_sets); fl++) {
					struct sg_tcp_frame f;
					uint8_t buf[SG_BUILD_MAXLEN];

					sample(&f, fam, nv, present);
					f.flags = flag_sets[fl];
					check_parsed(&f, buf, sg_build_tcp(buf, sizeof(buf), &f));
					n++;
				}
	assert_int_equal(n, 2 * 3 * 16 * 7);
}

static void test_build_from_pkt_keeps_identity_or_swaps_it_for_a_reply(void **state)
{
	(void)state;
	for (uint8_t fam = 4; fam <= 6; fam += 2)
		for (unsigned nv = 0; nv <= SG_VLAN_MAX; nv++) {
			struct sg_tcp_frame f, g;
			uint8_t buf[SG_BUILD_MAXLEN], out[SG_BUILD_MAXLEN];
			struct sg_pkt p, q;
			unsigned alen = fam == 4 ? 4 : 16;
			int len;

			sample(&f, fam, nv, SG_OPT_MSS | SG_OPT_TS);
			len = sg_build_tcp(buf, sizeof(buf), &f);
			assert_int_equal(sg_pkt_parse(&p, buf, (uint32_t)len), SG_PKT_TCP);

			sg_build_from_pkt(&g, &p, 0);
			assert_memory_equal(g.dst_mac, f.dst_mac, 6);
			assert_memory_equal(g.src_mac, f.src_mac, 6);
			assert_memory_equal(g.saddr, f.saddr, alen);
			assert_memory_equal(g.daddr, f.daddr, alen);
			assert_int_equal(g.sport, f.sport);
			assert_int_equal(g.dport, f.dport);
			assert_int_equal(g.nvlan, nv);
			assert_memory_equal(g.vlan, f.vlan, nv * sizeof(g.vlan[0]));
			assert_int_equal(g.tos, f.tos);
			assert_int_equal(g.flow_label, f.flow_label);
			assert_int_equal(g.seq, 0);
			assert_int_equal(g.opt.present, 0);

			sg_build_from_pkt(&g, &p, 1);
			assert_memory_equal(g.dst_mac, f.src_mac, 6);
			assert_memory_equal(g.src_mac, f.dst_mac, 6);
			assert_memory_equal(g.saddr, f.daddr, alen);
			assert_memory_equal(g.daddr, f.saddr, alen);
			assert_int_equal(g.sport, f.dport);
			assert_int_equal(g.dport, f.sport);
			assert_int_equal(g.nvlan, nv);
			for (unsigned i = 0; i < nv; i++) {
				assert_int_equal(g.vlan[i].tpid, f.vlan[i].tpid);
				assert_int_equal(g.vlan[i].tci, f.vlan[i].tci);
			}
			g.flags = SG_TCP_RST;
			len = sg_build_tcp(out, sizeof(out), &g);
			assert_int_equal(sg_pkt_parse(&q, out, (uint32_t)len), SG_PKT_TCP);
			assert_true(sg_pkt_tcp_csum_ok(&q));
			assert_int_equal(q.sport, f.dport);
		}
}

/* The SYN path's writer makes, byte for byte, what the general path
 * (identity from the SYN reversed, then sg_build_tcp) makes, for both
 * families, every tag count and option set; and refuses a short buffer. */
static void test_synack_writer_equals_the_general_path(void **state)
{
	(void)state;
	for (uint8_t fam = 4; fam <= 6; fam += 2)
		for (unsigned nv = 0; nv <= SG_VLAN_MAX; nv++)
			for (uint8_t present = 0; present < 16; present++) {
				struct sg_tcp_frame f, g;
				uint8_t syn[SG_BUILD_MAXLEN], a[SG_BUILD_MAXLEN], b[SG_BUILD_MAXLEN];
				struct sg_pkt p;
				int len, la, lb;

				sample(&f, fam, nv, SG_OPT_MSS | SG_OPT_WS | SG_OPT_SACKPERM | SG_OPT_TS);
				f.flags = SG_TCP_SYN;
				len = sg_build_tcp(syn, sizeof(syn), &f);
				assert_int_equal(sg_pkt_parse(&p, syn, (uint32_t)len), SG_PKT_TCP);

				sg_build_from_pkt(&g, &p, 1);
				g.flags = SG_TCP_SYN | SG_TCP_ACK;
				g.seq = 0x8badf00d;
				g.ack = p.seq + 1;
				g.win = (uint16_t)(present * 1000);
				g.opt.present = present;
				g.opt.mss = 1400;
				g.opt.wscale = 7;
				g.opt.tsval = 0xa1b2c3d4;
				g.opt.tsecr = p.opt.tsval;
				memset(a, 0xee, sizeof(a));
				memset(b, 0xee, sizeof(b));
				la = sg_build_tcp(a, sizeof(a), &g);
				lb = sg_build_synack(b, sizeof(b), &p, g.seq, g.win, &g.opt);
				assert_true(la > 0);
				assert_int_equal(lb, la);
				assert_memory_equal(a, b, sizeof(a));
				assert_int_equal(sg_build_synack(b, (size_t)la - 1, &p, g.seq, g.win, &g.opt),
				                 -ENOSPC);
			}
}

static void test_short_buffer_is_refused_without_writing_past_it(void **state)
{
	(void)state;
	for (uint8_t fam = 4; fam <= 6; fam += 2) {
		struct sg_tcp_frame f;
		uint8_t buf[SG_BUILD_MAXLEN + 16];
		int need;

		sample(&f, fam, 2, SG_OPT_MSS | SG_OPT_WS | SG_OPT_SACKPERM | SG_OPT_TS);
		need = sg_build_tcp(buf, sizeof(buf), &f);
		assert_true(need > 0 && need <= SG_BUILD_MAXLEN);
		for (int cap = 0; cap < need; cap++) {
			memset(buf, 0xa5, sizeof(buf));
			assert_int_equal(sg_build_tcp(buf, (size_t)cap, &f), -ENOSPC);
			for (size_t i = (size_t)cap; i < sizeof(buf); i++)
				assert_int_equal(buf[i], 0xa5);
		}
		assert_int_equal(sg_build_tcp(buf, (size_t)need, &f), need);
	}
}

static void test_largest_frame_fits_the_documented_maximum(void **state)
{
	(void)state;
	struct sg_tcp_frame f;
	uint8_t buf[SG_BUILD_MAXLEN];

	sample(&f, 6, SG_VLAN_MAX, SG_OPT_MSS | SG_OPT_WS | SG_OPT_SACKPERM | SG_OPT_TS);
	assert_int_equal(sg_build_tcp(buf, sizeof(buf), &f), 14 + 8 + 40 + 20 + 20);
}

static void test_bad_family_or_tag_count_is_invalid(void **state)
{
	(void)state;
	struct sg_tcp_frame f;
	uint8_t buf[SG_BUILD_MAXLEN];

	sample(&f, 4, 0, 0);
	f.family = 5;
	assert_int_equal(sg_build_tcp(buf, sizeof(buf), &f), -EINVAL);
	sample(&f, 4, 0, 0);
	f.nvlan = 3;
	assert_int_equal(sg_build_tcp(buf, sizeof(buf), &f), -EINVAL);
}

static void test_payload_is_carried_and_checksummed(void **state)
{
	(void)state;
	for (uint8_t fam = 4; fam <= 6; fam += 2)
		for (unsigned len = 0; len <= 1460; len += 73) {
			struct sg_tcp_frame f;
			uint8_t data[1460], buf[1600];
			struct sg_pkt p;
			int n;

			for (unsigned i = 0; i < len; i++)
				data[i] = (uint8_t)(i * 31 + 7);
			sample(&f, fam, 1, SG_OPT_TS);
			f.payload = (len & 1) ? data : NULL;    /* NULL: zeros */
			f.payload_len = (uint16_t)len;
			n = sg_build_tcp(buf, sizeof(buf), &f);
			assert_true(n > 0);
			assert_int_equal(sg_pkt_parse(&p, buf, (uint32_t)n), SG_PKT_TCP);
			assert_int_equal(p.payload_len, len);
			assert_true(sg_pkt_tcp_csum_ok(&p));
			if (len & 1)
				assert_memory_equal(sg_pkt_l4(&p) + p.tcp_hlen, data, len);
			else
				for (unsigned i = 0; i < len; i++)
					assert_int_equal(sg_pkt_l4(&p)[p.tcp_hlen + i], 0);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_family_tag_count_and_option_set_round_trips),
		cmocka_unit_test(test_build_from_pkt_keeps_identity_or_swaps_it_for_a_reply),
		cmocka_unit_test(test_synack_writer_equals_the_general_path),
		cmocka_unit_test(test_short_buffer_is_refused_without_writing_past_it),
		cmocka_unit_test(test_largest_frame_fits_the_documented_maximum),
		cmocka_unit_test(test_bad_family_or_tag_count_is_invalid),
		cmocka_unit_test(test_payload_is_carried_and_checksummed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
