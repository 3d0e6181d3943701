/* One parse of one Ethernet frame into struct sg_pkt.
 *
 * The parser reads every header once, checks every length against the
 * frame, and records offsets so the core never re-parses.  It never writes
 * to the frame.  Byte offsets are from the start of the frame; multi-byte
 * values are converted to host order, addresses stay in the frame (use
 * sg_pkt_saddr/sg_pkt_daddr).
 *
 *   Ethernet [802.1ad/802.1Q tag [802.1Q tag]] IPv4|IPv6 [ext hdrs] TCP
 *
 * Accepted tag TPIDs: 0x8100, 0x88a8, 0x9100; at most SG_VLAN_MAX tags.
 *
 * Fragments: a non-first fragment is SG_PKT_FRAGMENT (l4_off 0, l4proto
 * the fragmented protocol).  IPv4 TCP fragments at offset 1..7 units are
 * SG_BAD_IP4_TINY_FRAG (RFC 1858 §3.2); IPv6 has no such rule because
 * receivers discard overlapping IPv6 fragments (RFC 5722).  A first
 * fragment must hold the whole TCP header (RFC 7112 for IPv6).
 * Offsets are 16 bits: an IP packet ending past byte 65535 of the frame
 * (only possible in frames no Ethernet carries) is SG_BAD_IP4_TOTLEN or
 * SG_BAD_IP6_PLEN.
 */
#ifndef SG_NET_PKT_H
#define SG_NET_PKT_H

#include <stdbool.h>
#include <stdint.h>

#include "net/csum.h"

#define SG_VLAN_MAX       2
#define SG_IP6_EXT_MAX    8   /* extension headers walked before giving up */
#define SG_TCP_SACK_MAX   4   /* blocks that fit in 40 option bytes */

#define SG_ETH_HLEN       14
#define SG_ETH_P_IPV4     0x0800
#define SG_ETH_P_IPV6     0x86dd
#define SG_ETH_P_8021Q    0x8100
#define SG_ETH_P_8021AD   0x88a8
#define SG_ETH_P_QINQ9100 0x9100

#define SG_IPPROTO_ICMP   1
#define SG_IPPROTO_TCP    6
#define SG_IPPROTO_UDP    17
#define SG_IPPROTO_ICMPV6 58

/* TCP flags, as in byte 13 of the header. */
#define SG_TCP_FIN 0x01
#define SG_TCP_SYN 0x02
#define SG_TCP_RST 0x04
#define SG_TCP_PSH 0x08
#define SG_TCP_ACK 0x10
#define SG_TCP_URG 0x20
#define SG_TCP_ECE 0x40
#define SG_TCP_CWR 0x80

/* What a frame is.  Only SG_PKT_BAD carries a reason. */
enum sg_pkt_class {
	SG_PKT_TCP = 0,     /* IPv4/IPv6 + complete TCP header, options parsed */
	SG_PKT_NOT_IP,      /* ARP, LLDP, any other EtherType */
	SG_PKT_IP_OTHER,    /* IP but not TCP (UDP, ICMP, ...); l4_off valid */
	SG_PKT_FRAGMENT,    /* a non-first IP fragment: no L4 header here */
	SG_PKT_BAD,         /* malformed; pkt->bad says why */
};

/* Why a frame is malformed.  Stable order: counters are indexed by it. */
enum sg_bad_reason {
	SG_BAD_NONE = 0,
	SG_BAD_ETH_TRUNC,        /* shorter than an Ethernet header */
	SG_BAD_VLAN_TRUNC,       /* a tag runs past the frame */
	SG_BAD_VLAN_DEPTH,       /* more than SG_VLAN_MAX tags */
	SG_BAD_IP4_TRUNC,        /* shorter than 20 bytes of IPv4 header */
	SG_BAD_IP4_VERSION,      /* EtherType IPv4 but version != 4 */
	SG_BAD_IP4_IHL,          /* IHL < 5 or header past the frame */
	SG_BAD_IP4_TOTLEN,       /* total length < IHL or > frame */
	SG_BAD_IP4_CSUM,         /* header checksum wrong */
	SG_BAD_IP4_TINY_FRAG,    /* fragment offset 1..7 units (overlap attack) */
	SG_BAD_IP6_TRUNC,        /* shorter than 40 bytes of IPv6 header */
	SG_BAD_IP6_VERSION,      /* EtherType IPv6 but version != 6 */
	SG_BAD_IP6_PLEN,         /* payload length > frame (or jumbogram 0) */
	SG_BAD_IP6_EXT_TRUNC,    /* an extension header runs past the payload */
	SG_BAD_IP6_EXT_DEPTH,    /* more than SG_IP6_EXT_MAX extension headers */
	SG_BAD_FRAG_TCP_TRUNC,   /* first fragment without a whole TCP header */
	SG_BAD_TCP_TRUNC,        /* fewer than 20 bytes of TCP header */
	SG_BAD_TCP_DOFF,         /* data offset < 5 or past the IP payload */
	SG_BAD_TCP_OPT,          /* option length 0/1, past the header, or a
	                            known option with the wrong length */
	SG_BAD__COUNT
};

/* Short, stable, snake_case names for logs and metrics. */
const char *sg_bad_reason_name(enum sg_bad_reason r);

struct sg_vlan_tag {
	uint16_t tpid;           /* 0x8100, 0x88a8 or 0x9100 */
	uint16_t tci;            /* PCP, DEI, VID as on the wire */
};

/* Bits of sg_tcp_opts.present. */
#define SG_OPT_MSS       0x01
#define SG_OPT_WS        0x02
#define SG_OPT_SACKPERM  0x04
#define SG_OPT_TS        0x08
#define SG_OPT_SACK      0x10
/* Seen, never built: options synguard cannot answer for in a cookie. */
#define SG_OPT_SIGNED    0x20   /* TCP-MD5 (RFC 2385) or TCP-AO (RFC 5925) */
#define SG_OPT_FASTOPEN  0x40   /* TCP Fast Open (RFC 7413), either codepoint */
#define SG_OPT_MPTCP     0x80   /* Multipath TCP (RFC 8684) */

/* Parsed TCP options.  The *_off fields are byte offsets of the option's
 * kind byte from the start of the TCP header, so the core can rewrite a
 * value in place with sg_csum_set16/32 (they may be odd). */
struct sg_tcp_opts {
	uint8_t  present;        /* SG_OPT_* */
	uint8_t  wscale;         /* as sent; may exceed 14 (RFC 7323 §2.3) */
	uint16_t mss;
	uint32_t tsval, tsecr;
	uint8_t  mss_off, ws_off, sackperm_off, ts_off;
	uint8_t  sack_off;       /* kind byte of the SACK option */
	uint8_t  sack_blocks;    /* 1..SG_TCP_SACK_MAX */
};

struct sg_pkt {
	uint8_t *data;           /* the frame */
	uint32_t len;            /* frame length (may include Ethernet padding) */

	uint8_t  nvlan;
	struct sg_vlan_tag vlan[SG_VLAN_MAX];   /* outermost first */
	uint16_t ethertype;      /* innermost, host order */

	uint8_t  family;         /* 4, 6, or 0 when not IP */
	uint8_t  l4proto;        /* IPPROTO_* of the L4 header (after ext hdrs) */
	uint16_t l3_off;
	uint16_t l4_off;         /* 0 when there is no L4 header in this frame */
	uint16_t l3_end;         /* end of the IP packet: frame bytes past it are
	                            Ethernet padding and must not be checksummed */
	uint16_t l4_len;         /* L4 header + payload, per the IP header */
	bool     first_frag;     /* offset 0 with MF set: L4 header present but
	                            the payload is incomplete */

	/* TCP only (class SG_PKT_TCP) */
	uint8_t  tcp_hlen;       /* data offset * 4 */
	uint8_t  tcp_flags;      /* SG_TCP_* */
	uint16_t win;
	uint32_t seq, ack;
	uint16_t sport, dport;
	uint16_t payload_len;    /* l4_len - tcp_hlen */
	struct sg_tcp_opts opt;

	enum sg_bad_reason bad;
};

/* Parses frame[0..len).  Returns the class and fills *p (p->bad only for
 * SG_PKT_BAD).  Never reads outside the frame, never writes to it. */
enum sg_pkt_class sg_pkt_parse(struct sg_pkt *p, uint8_t *frame, uint32_t len);

static inline uint8_t *sg_pkt_l3(const struct sg_pkt *p) { return p->data + p->l3_off; }
static inline uint8_t *sg_pkt_l4(const struct sg_pkt *p) { return p->data + p->l4_off; }

/* Addresses inside the frame: 4 bytes for IPv4, 16 for IPv6. */
static inline uint8_t *sg_pkt_saddr(const struct sg_pkt *p)
{
	return sg_pkt_l3(p) + (p->family == 4 ? 12 : 8);
}
static inline uint8_t *sg_pkt_daddr(const struct sg_pkt *p)
{
	return sg_pkt_l3(p) + (p->family == 4 ? 16 : 24);
}
static inline uint8_t sg_pkt_addr_len(const struct sg_pkt *p)
{
	return p->family == 4 ? 4 : 16;
}

/* The VLAN id (12 bits) of tag i, or 0 when absent. */
static inline uint16_t sg_pkt_vid(const struct sg_pkt *p, unsigned i)
{
	return i < p->nvlan ? (p->vlan[i].tci & 0x0fff) : 0;
}

/* Verifies the TCP checksum (pseudo-header + header + payload).  Costs a
 * pass over the payload: the core calls it only for frames it consumes.
 * False for a first fragment: its checksum covers bytes not in the frame.
 * The IPv6 pseudo-header uses the header's destination; with a Routing
 * header still to be processed (Segments Left > 0) RFC 8200 §8.1 wants the
 * final one, so such frames fail this check. */
bool sg_pkt_tcp_csum_ok(const struct sg_pkt *p);

/* Recomputes and stores the TCP checksum from scratch. */
void sg_pkt_tcp_csum_fill(struct sg_pkt *p);

/* Rewrites 16/32 bits at byte offset off of the TCP header (any offset,
 * odd included) and fixes the TCP checksum incrementally. */
void sg_pkt_tcp_set16(struct sg_pkt *p, unsigned off, uint16_t val);
void sg_pkt_tcp_set32(struct sg_pkt *p, unsigned off, uint32_t val);

/* The same for several fields with one checksum update at the end
 * (struct sg_csum_edit, csum.h): edit, edit, ..., apply. */
static inline void sg_pkt_tcp_edit16(struct sg_pkt *p, struct sg_csum_edit *e, unsigned off, uint16_t val)
{
	sg_csum_edit16(e, sg_pkt_l4(p), off, val);
}
static inline void sg_pkt_tcp_edit32(struct sg_pkt *p, struct sg_csum_edit *e, unsigned off, uint32_t val)
{
	sg_csum_edit32(e, sg_pkt_l4(p), off, val);
}
static inline void sg_pkt_tcp_edit_apply(struct sg_pkt *p, struct sg_csum_edit *e)
{
	sg_csum_edit_apply(e, sg_pkt_l4(p) + 16);
}

/* Checksum offload.  An endpoint whose device offloads the TCP or UDP
 * checksum (veth, virtio, most NICs; Linux CHECKSUM_PARTIAL, virtio
 * VIRTIO_NET_HDR_F_NEEDS_CSUM) hands its frames over unfinished: the field
 * holds the folded pseudo-header sum, with the L4 length of the whole
 * segment (of a GSO super-frame too), not complemented; whoever transmits
 * adds header and payload (__tcp_v4_send_check: th->check =
 * ~tcp_v4_check(skb->len, saddr, daddr, 0); the same for TCP over IPv6 and
 * for UDP).  Between namespaces or VMs nobody does, so such frames reach
 * synguard as they are: AF_PACKET flags them TP_STATUS_CSUMNOTREADY, AF_XDP
 * says nothing.  Anyone can compute a valid checksum, so accepting the
 * pattern and finishing the sum costs no security.
 *
 * Only whole TCP and UDP segments qualify: not a first fragment (its
 * checksum covers bytes not here; Linux finishes checksums before it
 * fragments), not UDP whose length field disagrees with the IP header.
 * IPv4 UDP's 0 (no checksum) is never the pattern: the pseudo-header sum is
 * never 0. */

/* True when p's TCP or UDP checksum field holds exactly the pseudo-header
 * fold.  Reads the addresses and the field, never the payload. */
bool sg_pkt_l4_csum_partial(const struct sg_pkt *p);

/* Finishes a partial checksum: recomputes it over header and payload (a UDP
 * result of 0 is sent as 0xffff, RFC 768).  Returns whether it did; without
 * the pattern the frame is left as it is, at the cost of the check above. */
bool sg_pkt_l4_csum_complete(struct sg_pkt *p);

/* sg_pkt_l4_csum_complete for a frame of class SG_PKT_TCP, with the check
 * inline: every segment asks, almost none has the pattern, and the check
 * alone (pseudo-header, fold, compare) is a fraction of the call's cost.
 * The class already vouches for a whole TCP header inside the frame. */
static inline bool sg_pkt_tcp_csum_complete(struct sg_pkt *p)
{
	const uint8_t *l3 = sg_pkt_l3(p);
	uint64_t ph;
	uint16_t field;

	if (p->first_frag)
		return false;
	ph = p->family == 4 ? sg_csum_pseudo4(l3 + 12, l3 + 16, SG_IPPROTO_TCP, p->l4_len)
	                    : sg_csum_pseudo6(l3 + 8, l3 + 24, SG_IPPROTO_TCP, p->l4_len);
	memcpy(&field, sg_pkt_l4(p) + 16, sizeof(field));
	if (__builtin_expect(field != sg_csum_fold(ph), 1))
		return false;
	return sg_pkt_l4_csum_complete(p);
}

/* The reverse, for a frame handed to something that finishes checksums
 * (the kernel through a virtio_net_hdr with NEEDS_CSUM, which GSO needs):
 * stores the pseudo-header fold in the field.  Returns the field's offset
 * from the L4 header (16 TCP, 6 UDP), or -EINVAL when p is no whole TCP or
 * UDP segment. */
int sg_pkt_l4_csum_prepare(struct sg_pkt *p);

/* ICMP / ICMPv6 errors that quote a TCP header (dest unreachable, packet
 * too big, time exceeded, parameter problem).  For a frame of class
 * SG_PKT_IP_OTHER whose l4proto is ICMP or ICMPv6, parses the quoted IP
 * header and the first 8 bytes of the quoted TCP header into *inner
 * (inner->data is the same frame; l3_off/l4_off point into the quote;
 * sport, dport and seq are set; ack only if the quote holds it, i.e. when
 * inner->l4_len, the TCP bytes quoted, is >= 12; options are not parsed;
 * inner->l3_end is the end of the quote).  Returns 0, or -ENOENT when the ICMP message is not an error
 * quoting TCP, or -EINVAL when the quote is malformed or truncated. */
int sg_pkt_parse_icmp_quote(const struct sg_pkt *outer, struct sg_pkt *inner);

#endif
