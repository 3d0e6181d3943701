/* libFuzzer harness for the packet library: whatever the bytes, parsing
 * never reads outside the frame, the offsets it reports are inside it, and
 * in-place rewrites keep a valid TCP checksum valid.  A second half builds
 * frames from the input and checks they parse back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/build.h"
#include "net/csum.h"
#include "net/pkt.h"
#include "net/tcpopt.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_tcp(struct sg_pkt *p)
{
	bool ok;

	CHECK(p->l4_off >= p->l3_off);
	CHECK((uint32_t)p->l4_off + p->tcp_hlen <= p->len);
	CHECK(p->l3_end <= p->len);
	CHECK((uint32_t)p->l4_off + p->l4_len <= p->l3_end || p->first_frag);
	if (p->first_frag)
		return;
	CHECK(p->tcp_hlen + p->payload_len == p->l4_len);
	ok = sg_pkt_tcp_csum_ok(p);
	/* Rewrite what the core rewrites: SEQ, ACK, window, TS, SACK edges
	 * (odd offsets included); validity must be unchanged. */
	sg_pkt_tcp_set32(p, 4, p->seq + 0x01020304u);
	sg_pkt_tcp_set32(p, 8, p->ack - 0x7fffffffu);
	sg_pkt_tcp_set16(p, 14, (uint16_t)~p->win);
	if (p->opt.present & SG_OPT_TS) {
		CHECK(p->opt.ts_off + 10u <= p->tcp_hlen);
		sg_pkt_tcp_set32(p, p->opt.ts_off + 2u, p->opt.tsval ^ 0xdeadbeef);
		sg_pkt_tcp_set32(p, p->opt.ts_off + 6u, p->opt.tsecr + 1);
	}
	if (p->opt.present & SG_OPT_SACK) {
		CHECK(p->opt.sack_blocks >= 1 && p->opt.sack_blocks <= SG_TCP_SACK_MAX);
		CHECK(sg_tcpopt_sack_edge(&p->opt, p->opt.sack_blocks - 1) + 8u <= p->tcp_hlen);
		for (unsigned i = 0; i < p->opt.sack_blocks; i++) {
			unsigned e = sg_tcpopt_sack_edge(&p->opt, i);

			sg_pkt_tcp_set32(p, e, 0x11111111u * i);
			sg_pkt_tcp_set32(p, e + 4, 0x22222222u * i);
		}
	}
	CHECK(sg_pkt_tcp_csum_ok(p) == ok);
	sg_pkt_tcp_csum_fill(p);
	CHECK(sg_pkt_tcp_csum_ok(p));
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
	uint8_t *frame = malloc(size ? size : 1);
	struct sg_pkt p, in;

	memcpy(frame, data, size);
	switch (sg_pkt_parse(&p, frame, (uint32_t)size)) {
	case SG_PKT_TCP:
		check_tcp(&p);
		break;
	case SG_PKT_IP_OTHER:
		CHECK(p.l4_off <= p.len);
		if ((p.l4proto == SG_IPPROTO_ICMP || p.l4proto == SG_IPPROTO_ICMPV6) &&
		    sg_pkt_parse_icmp_quote(&p, &in) == 0) {
			CHECK(in.l4_off > p.l4_off);
			CHECK((uint32_t)in.l4_off + 8 <= p.len);
		}
		break;
	case SG_PKT_BAD:
		CHECK(p.bad > SG_BAD_NONE && p.bad < SG_BAD__COUNT);
		CHECK(sg_bad_reason_name(p.bad) != NULL);
		break;
	default:
		break;
	}
	free(frame);
}

static void fuzz_build(const uint8_t *data, size_t size)
{
	struct sg_tcp_frame f;
	uint8_t buf[SG_BUILD_MAXLEN + 512];
	struct sg_pkt p;
	int len;

	if (size < sizeof(f))
		return;
	memcpy(&f, data, sizeof(f));
	f.family = (f.family & 1) ? 6 : 4;
	f.nvlan %= SG_VLAN_MAX + 1;
	for (unsigned i = 0; i < SG_VLAN_MAX; i++)
		f.vlan[i].tpid = i + 1 < f.nvlan ? SG_ETH_P_8021AD : SG_ETH_P_8021Q;
	f.opt.present &= SG_OPT_MSS | SG_OPT_WS | SG_OPT_SACKPERM | SG_OPT_TS;
	/* The payload comes from the input too, never from a pointer in it. */
	f.payload = NULL;
	f.payload_len %= sizeof(buf) - SG_BUILD_MAXLEN + 1;
	len = sg_build_tcp(buf, sizeof(buf), &f);
	CHECK(len > 0);
	CHECK(sg_pkt_parse(&p, buf, (uint32_t)len) == SG_PKT_TCP);
	CHECK(p.seq == f.seq && p.ack == f.ack && p.sport == f.sport && p.dport == f.dport);
	CHECK(p.opt.present == f.opt.present);
	CHECK(p.payload_len == f.payload_len);
	CHECK(sg_pkt_tcp_csum_ok(&p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 0xb1)
		fuzz_build(data + 1, size - 1);
	else
		fuzz_parse(data, size);
	return 0;
}
