/* Frame builders (see build.h).  Every header is written field by field
 * into the caller's buffer; nothing is cleared that is then overwritten. */
#include "net/build.h"

#include <errno.h>
#include <string.h>

#include "net/bytes.h"
#include "net/csum.h"
#include "net/tcpopt.h"

void sg_build_from_pkt(struct sg_tcp_frame *f, const struct sg_pkt *p, int reverse)
{
	const uint8_t *l3 = sg_pkt_l3(p);
	unsigned alen = sg_pkt_addr_len(p);

	memset(f, 0, sizeof(*f));
	memcpy(reverse ? f->src_mac : f->dst_mac, p->data, 6);
	memcpy(reverse ? f->dst_mac : f->src_mac, p->data + 6, 6);
	f->nvlan = p->nvlan;
	memcpy(f->vlan, p->vlan, sizeof(f->vlan));
	f->family = p->family;
	memcpy(reverse ? f->daddr : f->saddr, sg_pkt_saddr(p), alen);
	memcpy(reverse ? f->saddr : f->daddr, sg_pkt_daddr(p), alen);
	f->sport = reverse ? p->dport : p->sport;
	f->dport = reverse ? p->sport : p->dport;
	if (p->family == 4) {
		f->tos = l3[1];
	} else {
		f->tos = (uint8_t)(((l3[0] & 0x0f) << 4) | (l3[1] >> 4));
		f->flow_label = ((uint32_t)(l3[1] & 0x0f) << 16) | ((uint32_t)l3[2] << 8) | l3[3];
	}
}

/* What a frame is written from: sg_build_tcp's frame description, or a
 * SYN-ACK's fields read straight from the SYN it answers (pointers into
 * it), so neither copies the other into a struct first. */
struct ids {
	const uint8_t *dst_mac, *src_mac;
	const struct sg_vlan_tag *vlan;
	const uint8_t *saddr, *daddr;
	uint8_t nvlan, family, tos, flags;
	uint16_t sport, dport, win;
	uint32_t flow_label, seq, ack;
	const struct sg_tcp_opts *opt;
	const uint8_t *payload;
	uint16_t payload_len;
};

static inline __attribute__((always_inline)) int build(uint8_t *buf, size_t cap, const struct ids *f)
{
	size_t l2 = SG_ETH_HLEN + 4u * f->nvlan;
	size_t l3len = f->family == 4 ? 20 : 40;
	size_t hdrs = l2 + l3len + 20, tcplen, total;
	uint8_t *p, *ip, *tcp;
	uint64_t tsum = 0;      /* TCP: options, header, pseudo-header, payload */
	uint16_t c;
	int olen;

	if (f->nvlan > SG_VLAN_MAX || (f->family != 4 && f->family != 6))
		return -EINVAL;
	if (hdrs > cap)
		return -ENOSPC;
	ip = buf + l2;
	tcp = ip + l3len;
	olen = sg_tcpopt_build_sum(tcp + 20, cap - hdrs, f->opt, &tsum);
	if (olen < 0)
		return olen;
	tcplen = 20 + (size_t)olen + f->payload_len;
	total = l2 + l3len + tcplen;
	if (l3len + tcplen > 0xffff)
		return -EINVAL;
	if (total > cap)
		return -ENOSPC;

	p = buf;
	memcpy(p, f->dst_mac, 6);
	memcpy(p + 6, f->src_mac, 6);
	p += 12;
	for (unsigned i = 0; i < f->nvlan; i++) {
		sg_wr16(p, f->vlan[i].tpid);
		sg_wr16(p + 2, f->vlan[i].tci);
		p += 4;
	}
	sg_wr16(p, f->family == 4 ? SG_ETH_P_IPV4 : SG_ETH_P_IPV6);

	if (f->family == 4) {
		/* Addresses alone: a pseudo-header with protocol and length 0. */
		uint64_t isum = sg_csum_pseudo4(f->saddr, f->daddr, 0, 0);

		sg_csum_put32(ip, 0x45000000u | (uint32_t)f->tos << 16 | (uint32_t)(20 + tcplen), &isum);
		sg_csum_put32(ip + 4, 0x4000u, &isum);       /* id 0: DF set, nothing to reassemble */
		sg_csum_put32(ip + 8, (uint32_t)SG_BUILD_TTL << 24 | (uint32_t)SG_IPPROTO_TCP << 16, &isum);
		memcpy(ip + 12, f->saddr, 4);
		memcpy(ip + 16, f->daddr, 4);
		c = sg_csum_finish(isum);
		memcpy(ip + 10, &c, 2);
		tsum += sg_csum_pseudo4(f->saddr, f->daddr, SG_IPPROTO_TCP, (uint32_t)tcplen);
	} else {
		sg_wr32(ip, 0x60000000u | ((uint32_t)f->tos << 20) | (f->flow_label & 0xfffffu));
		sg_wr16(ip + 4, (uint16_t)tcplen);
		ip[6] = SG_IPPROTO_TCP;
		ip[7] = SG_BUILD_TTL;
		memcpy(ip + 8, f->saddr, 16);
		memcpy(ip + 24, f->daddr, 16);
		tsum += sg_csum_pseudo6(f->saddr, f->daddr, SG_IPPROTO_TCP, (uint32_t)tcplen);
	}

	sg_csum_put32(tcp, (uint32_t)f->sport << 16 | f->dport, &tsum);
	sg_csum_put32(tcp + 4, f->seq, &tsum);
	sg_csum_put32(tcp + 8, f->ack, &tsum);
	sg_csum_put32(tcp + 12, (uint32_t)((20 + olen) / 4) << 28 | (uint32_t)f->flags << 16 | f->win, &tsum);
	sg_csum_put32(tcp + 16, 0, &tsum);             /* checksum below; no urgent data */
	/* The payload starts 20 + olen (a multiple of 4) into the segment:
	 * its words sum in the same alignment at its source. */
	if (f->payload) {
		memcpy(tcp + 20 + olen, f->payload, f->payload_len);
		tsum = sg_csum_partial(f->payload, f->payload_len, tsum);
	} else if (f->payload_len) {
		memset(tcp + 20 + olen, 0, f->payload_len);
	}
	c = sg_csum_finish(tsum);
	memcpy(tcp + 16, &c, 2);
	return (int)total;
}

int sg_build_tcp(uint8_t *buf, size_t cap, const struct sg_tcp_frame *f)
{
	const struct ids id = {
		.dst_mac = f->dst_mac, .src_mac = f->src_mac, .vlan = f->vlan,
		.saddr = f->saddr, .daddr = f->daddr,
		.nvlan = f->nvlan, .family = f->family, .tos = f->tos, .flags = f->flags,
		.sport = f->sport, .dport = f->dport, .win = f->win,
		.flow_label = f->flow_label, .seq = f->seq, .ack = f->ack,
		.opt = &f->opt, .payload = f->payload, .payload_len = f->payload_len,
	};

	return build(buf, cap, &id);
}

int sg_build_synack(uint8_t *buf, size_t cap, const struct sg_pkt *syn, uint32_t seq,
                    uint16_t win, const struct sg_tcp_opts *opt)
{
	const uint8_t *l3 = sg_pkt_l3(syn);
	struct ids id = {
		.dst_mac = syn->data + 6, .src_mac = syn->data, .vlan = syn->vlan,
		.saddr = sg_pkt_daddr(syn), .daddr = sg_pkt_saddr(syn),
		.nvlan = syn->nvlan, .family = syn->family, .flags = SG_TCP_SYN | SG_TCP_ACK,
		.sport = syn->dport, .dport = syn->sport, .win = win,
		.seq = seq, .ack = syn->seq + 1, .opt = opt,
	};

	if (syn->family == 4) {
		id.tos = l3[1];
	} else {
		id.tos = (uint8_t)(((l3[0] & 0x0f) << 4) | (l3[1] >> 4));
		id.flow_label = ((uint32_t)(l3[1] & 0x0f) << 16) | ((uint32_t)l3[2] << 8) | l3[3];
	}
	return build(buf, cap, &id);
}
