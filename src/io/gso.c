/* GSO super-frames cut as the kernel's segmentation cuts them, and the
 * checksum requests of virtio_net_hdr (gso.h).
 *
 * On transmit the header leaves the TCP/UDP checksum to the kernel or the
 * device (NEEDS_CSUM), so segments cost no pass over their payload here. */
#include <string.h>

#include "io/gso.h"
#include "net/bytes.h"
#include "net/csum.h"

#define UDP_HLEN        8
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5     /* Linux 6.2 uapi; the kernel may send it */
#endif

/* Asks the kernel (or the device) to finish p's TCP/UDP checksum, now
 * holding the pseudo-header fold, as the peer asked us. */
static void vnet_csum(struct virtio_net_hdr *vh, const struct sg_pkt *p, int off)
{
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->csum_start = p->l4_off;
	vh->csum_offset = (uint16_t)off;
}

/* The headers of the segment of s holding payload bytes [at, at + n) of
 * its super-frame, as the kernel's segmentation writes them
 * (inet_gso_segment, tcp_gso_segment, __udp_gso_segment): IP length, IPv4
 * ID one up per segment, TCP sequence number, FIN and PSH on the last
 * segment only, CWR on the first only; the L4 checksum left partial. */
static void seg_headers(struct sg_pkt *s, uint32_t i, uint32_t at, uint32_t n, bool last,
                        struct virtio_net_hdr *vh)
{
	uint8_t *ip = sg_pkt_l3(s), *l4 = sg_pkt_l4(s);
	uint32_t hlen = s->l4_off + (s->l4proto == SG_IPPROTO_TCP ? s->tcp_hlen : UDP_HLEN);

	s->len = hlen + n;
	s->l3_end = (uint16_t)s->len;
	s->l4_len = (uint16_t)(s->l3_end - s->l4_off);
	if (s->family == 4) {
		struct sg_csum_edit e = { 0 };

		sg_csum_edit16(&e, ip, 2, (uint16_t)(s->l3_end - s->l3_off));
		sg_csum_edit16(&e, ip, 4, (uint16_t)(sg_rd16(ip + 4) + i));
		sg_csum_edit_apply(&e, ip + 10);
	} else {
		sg_wr16(ip + 4, (uint16_t)(s->l3_end - s->l3_off - 40));
	}
	if (s->l4proto == SG_IPPROTO_TCP) {
		sg_wr32(l4 + 4, s->seq + at);
		if (!last)
			l4[13] &= (uint8_t)~(SG_TCP_FIN | SG_TCP_PSH);
		if (i)
			l4[13] &= (uint8_t)~SG_TCP_CWR;
	} else {
		sg_wr16(l4 + 4, (uint16_t)s->l4_len);
	}
	memset(vh, 0, sizeof(*vh));
	int off = sg_pkt_l4_csum_prepare(s);   /* a whole TCP/UDP segment: never < 0 */
	if (off > 0)
		vnet_csum(vh, s, off);
}

const char *sg_gso_start(struct sg_gso *g, uint8_t *data, uint32_t len, uint8_t gso_type,
                         uint16_t gso_size, uint32_t room)
{
	uint8_t type = gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	struct sg_pkt *p = &g->p;
	enum sg_pkt_class c = sg_pkt_parse(p, data, len);
	bool tcp = type == VIRTIO_NET_HDR_GSO_TCPV4 || type == VIRTIO_NET_HDR_GSO_TCPV6;

	if (!(tcp ? c == SG_PKT_TCP && p->family == (type == VIRTIO_NET_HDR_GSO_TCPV4 ? 4 : 6)
	          : type == VIRTIO_NET_HDR_GSO_UDP_L4 && c == SG_PKT_IP_OTHER &&
	            p->l4proto == SG_IPPROTO_UDP) || p->first_frag)
		return "a GSO frame of a kind not cut here (TCP and UDP only)";
	g->data = data;
	g->hlen = p->l4_off + (tcp ? p->tcp_hlen : UDP_HLEN);
	g->mss = gso_size;
	if (!g->mss || g->hlen + g->mss > room || (p->l3_end - g->hlen) / g->mss >= SG_GSO_SEG_MAX)
		return "a GSO frame whose segments do not fit (is the MTU of "
		       "this port below the other's?)";
	g->plen = p->l3_end - g->hlen;
	g->at = 0;
	g->i = 0;
	return NULL;
}

bool sg_gso_more(const struct sg_gso *g)
{
	return g->at < g->plen || g->i == 0;
}

uint32_t sg_gso_next(struct sg_gso *g, uint8_t *d, struct virtio_net_hdr *vh)
{
	uint32_t n = g->plen - g->at < g->mss ? g->plen - g->at : g->mss;
	struct sg_pkt s = g->p;

	memcpy(d, g->data, g->hlen);
	memcpy(d + g->hlen, g->data + g->hlen + g->at, n);
	s.data = d;
	seg_headers(&s, g->i, g->at, n, g->at + n >= g->plen, vh);
	g->at += g->mss;
	g->i++;
	return s.len;
}

/* A plain frame goes out with zero, or NEEDS_CSUM when its checksum is
 * still partial (nobody finished it: bridge-only), unless Ethernet
 * padding follows the IP packet (the kernel would sum it too): then it is
 * finished here. */
void sg_gso_plain(uint8_t *data, uint32_t len, bool needs_csum, struct virtio_net_hdr *vh)
{
	struct sg_pkt p;
	enum sg_pkt_class c;

	memset(vh, 0, sizeof(*vh));
	if (!needs_csum)
		return;
	c = sg_pkt_parse(&p, data, len);
	if ((c != SG_PKT_TCP && c != SG_PKT_IP_OTHER) || !sg_pkt_l4_csum_partial(&p))
		return;
	if (p.l3_end != len)
		sg_pkt_l4_csum_complete(&p);
	else
		vnet_csum(vh, &p, p.l4proto == SG_IPPROTO_TCP ? 16 : 6);
}
