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

int sg_build_tcp(uint8_t *buf, size_t cap, const struct sg_tcp_frame *f)
{
	uint8_t opts[SG_TCPOPT_MAXLEN];
	int olen = sg_tcpopt_build(opts, sizeof(opts), &f->opt);
	size_t l2 = SG_ETH_HLEN + 4u * f->nvlan;
	size_t l3len = f->family == 4 ? 20 : 40;
	size_t tcplen, total;
	uint8_t *p, *ip, *tcp;
	uint64_t sum;

	if (olen < 0 || f->nvlan > SG_VLAN_MAX || (f->family != 4 && f->family != 6))
		return -EINVAL;
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
	ip = p + 2;
	tcp = ip + l3len;

	if (f->family == 4) {
		ip[0] = 0x45;
		ip[1] = f->tos;
		sg_wr16(ip + 2, (uint16_t)(20 + tcplen));
		sg_wr16(ip + 4, 0);            /* id: DF is set, nothing to reassemble */
		sg_wr16(ip + 6, 0x4000);
		ip[8] = SG_BUILD_TTL;
		ip[9] = SG_IPPROTO_TCP;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, f->saddr, 4);
		memcpy(ip + 16, f->daddr, 4);
		{
			uint16_t c = sg_csum_finish(sg_csum_partial(ip, 20, 0));

			memcpy(ip + 10, &c, 2);
		}
		sum = sg_csum_pseudo4(f->saddr, f->daddr, SG_IPPROTO_TCP, (uint32_t)tcplen);
	} else {
		sg_wr32(ip, 0x60000000u | ((uint32_t)f->tos << 20) | (f->flow_label & 0xfffffu));
		sg_wr16(ip + 4, (uint16_t)tcplen);
		ip[6] = SG_IPPROTO_TCP;
		ip[7] = SG_BUILD_TTL;
		memcpy(ip + 8, f->saddr, 16);
		memcpy(ip + 24, f->daddr, 16);
		sum = sg_csum_pseudo6(f->saddr, f->daddr, SG_IPPROTO_TCP, (uint32_t)tcplen);
	}

	sg_wr16(tcp, f->sport);
	sg_wr16(tcp + 2, f->dport);
	sg_wr32(tcp + 4, f->seq);
	sg_wr32(tcp + 8, f->ack);
	tcp[12] = (uint8_t)(((20 + (size_t)olen) / 4) << 4);
	tcp[13] = f->flags;
	sg_wr16(tcp + 14, f->win);
	tcp[16] = tcp[17] = 0;
	tcp[18] = tcp[19] = 0;          /* no urgent data */
	memcpy(tcp + 20, opts, (size_t)olen);
	if (f->payload)
		memcpy(tcp + 20 + olen, f->payload, f->payload_len);
	else
		memset(tcp + 20 + olen, 0, f->payload_len);
	{
		uint16_t c = sg_csum_finish(sg_csum_partial(tcp, tcplen, sum));

		memcpy(tcp + 16, &c, 2);
	}
	return (int)total;
}
