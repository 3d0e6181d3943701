/* One parse of one Ethernet frame (see pkt.h).
 *
 * Every length read from a header is checked against the bytes that are
 * really there before anything behind it is read; the untagged IPv4/TCP
 * frame goes straight through with one branch per header.
 */
#include "net/pkt.h"

#include <errno.h>
#include <string.h>

#include "net/bytes.h"
#include "net/csum.h"
#include "net/tcpopt.h"

#define IP4_HLEN        20
#define IP6_HLEN        40
#define TCP_HLEN        20
#define UDP_HLEN        8
#define TCP_CSUM_OFF    16
#define UDP_CSUM_OFF    6
#define ICMP_HLEN       8
#define QUOTE_TCP_MIN   8    /* RFC 792 / RFC 4443: at least 64 bits quoted */

#define IP4_MF          0x2000
#define IP4_FRAG_MASK   0x1fff
/* RFC 1858 §3.2: a TCP fragment at offset 1..7 units overlaps the header. */
#define IP4_TINY_FRAG_MAX 7

/* IPv6 extension headers walked (RFC 8200 §4, RFC 4302 for AH). */
#define IP6_EXT_HOPOPTS  0
#define IP6_EXT_ROUTING  43
#define IP6_EXT_FRAGMENT 44
#define IP6_EXT_AH       51
#define IP6_EXT_DSTOPTS  60
#define IP6_FRAG_HLEN    8
#define IP6_EXT_MINLEN   8

#define ICMP4_DEST_UNREACH  3
#define ICMP4_TIME_EXCEEDED 11
#define ICMP4_PARAMPROB     12
#define ICMP6_DEST_UNREACH  1
#define ICMP6_PKT_TOOBIG    2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAMPROB     4

/* Offsets are 16 bits in struct sg_pkt; no Ethernet frame comes near. */
#define PKT_OFF_MAX     0xffffu

static const char *const bad_names[SG_BAD__COUNT] = {
	[SG_BAD_NONE]           = "none",
	[SG_BAD_ETH_TRUNC]      = "eth_trunc",
	[SG_BAD_VLAN_TRUNC]     = "vlan_trunc",
	[SG_BAD_VLAN_DEPTH]     = "vlan_depth",
	[SG_BAD_IP4_TRUNC]      = "ip4_trunc",
	[SG_BAD_IP4_VERSION]    = "ip4_version",
	[SG_BAD_IP4_IHL]        = "ip4_ihl",
	[SG_BAD_IP4_TOTLEN]     = "ip4_totlen",
	[SG_BAD_IP4_CSUM]       = "ip4_csum",
	[SG_BAD_IP4_TINY_FRAG]  = "ip4_tiny_frag",
	[SG_BAD_IP6_TRUNC]      = "ip6_trunc",
	[SG_BAD_IP6_VERSION]    = "ip6_version",
	[SG_BAD_IP6_PLEN]       = "ip6_plen",
	[SG_BAD_IP6_EXT_TRUNC]  = "ip6_ext_trunc",
	[SG_BAD_IP6_EXT_DEPTH]  = "ip6_ext_depth",
	[SG_BAD_FRAG_TCP_TRUNC] = "frag_tcp_trunc",
	[SG_BAD_TCP_TRUNC]      = "tcp_trunc",
	[SG_BAD_TCP_DOFF]       = "tcp_doff",
	[SG_BAD_TCP_OPT]        = "tcp_opt",
};

const char *sg_bad_reason_name(enum sg_bad_reason r)
{
	if ((unsigned)r >= SG_BAD__COUNT)
		return "unknown";
	return bad_names[r];
}

static inline enum sg_pkt_class bad(struct sg_pkt *p, enum sg_bad_reason r)
{
	p->bad = r;
	return SG_PKT_BAD;
}

static inline bool is_vlan_tpid(uint16_t t)
{
	return t == SG_ETH_P_8021Q || t == SG_ETH_P_8021AD || t == SG_ETH_P_QINQ9100;
}

static inline bool is_ip6_ext(uint8_t nh)
{
	return nh == IP6_EXT_HOPOPTS || nh == IP6_EXT_ROUTING ||
	       nh == IP6_EXT_FRAGMENT || nh == IP6_EXT_DSTOPTS || nh == IP6_EXT_AH;
}

/* What the walk learnt from a Fragment header (zero when there is none). */
struct ip6_walk {
	uint16_t frag_off;    /* offset, 8-byte units */
	bool     more;        /* M flag */
};

/* Walks the IPv6 extension headers in d[*cur..end), starting with next
 * header *nh.  Stops at the first header that is not an extension header,
 * or right after a Fragment header of a non-first fragment (what follows
 * it is not a header).  Each header is sized by its own type. */
static enum sg_bad_reason ip6_walk_ext(const uint8_t *d, uint32_t *cur,
                                       uint32_t end, uint8_t *nh,
                                       struct ip6_walk *w)
{
	unsigned n = 0;

	w->frag_off = 0;
	w->more = false;
	while (is_ip6_ext(*nh)) {
		if (n == SG_IP6_EXT_MAX)
			return SG_BAD_IP6_EXT_DEPTH;
		if (end - *cur < IP6_EXT_MINLEN)
			return SG_BAD_IP6_EXT_TRUNC;

		const uint8_t *h = d + *cur;
		uint32_t size;
		if (*nh == IP6_EXT_FRAGMENT)
			size = IP6_FRAG_HLEN;               /* RFC 8200 §4.5 */
		else if (*nh == IP6_EXT_AH)
			size = ((uint32_t)h[1] + 2) * 4;    /* RFC 4302 §2.2 */
		else
			size = ((uint32_t)h[1] + 1) * 8;    /* RFC 8200 §4.3-4.6 */
		if (size > end - *cur)
			return SG_BAD_IP6_EXT_TRUNC;

		uint8_t type = *nh;
		*nh = h[0];
		*cur += size;
		n++;
		if (type == IP6_EXT_FRAGMENT) {
			/* RFC 8200 §4.5: offset in the high 13 bits, M in bit 0. */
			uint16_t fo = sg_rd16(h + 2);
			w->frag_off = fo >> 3;
			w->more = fo & 1;
			if (w->frag_off)
				return SG_BAD_NONE;
		}
	}
	return SG_BAD_NONE;
}

static enum sg_pkt_class parse_tcp(struct sg_pkt *p)
{
	const uint8_t *t = p->data + p->l4_off;
	uint32_t avail = p->l4_len;

	/* RFC 1858 / RFC 7112: a first fragment must hold the whole TCP
	 * header, or its flags and ports can be changed by a later fragment. */
	if (avail < TCP_HLEN)
		return bad(p, p->first_frag ? SG_BAD_FRAG_TCP_TRUNC : SG_BAD_TCP_TRUNC);
	unsigned hlen = (unsigned)(t[12] >> 4) * 4;
	if (hlen < TCP_HLEN)
		return bad(p, SG_BAD_TCP_DOFF);
	if (hlen > avail)
		return bad(p, p->first_frag ? SG_BAD_FRAG_TCP_TRUNC : SG_BAD_TCP_DOFF);

	p->sport = sg_rd16(t);
	p->dport = sg_rd16(t + 2);
	p->seq = sg_rd32(t + 4);
	p->ack = sg_rd32(t + 8);
	p->tcp_flags = t[13];
	p->win = sg_rd16(t + 14);
	p->tcp_hlen = (uint8_t)hlen;
	p->payload_len = (uint16_t)(avail - hlen);
	/* p->opt is already zero when there are no options. */
	if (hlen > TCP_HLEN &&
	    sg_tcpopt_parse(t + TCP_HLEN, hlen - TCP_HLEN, TCP_HLEN, &p->opt))
		return bad(p, SG_BAD_TCP_OPT);
	return SG_PKT_TCP;
}

/* The header is a whole number of 32-bit words: summing them inline is
 * cheaper than a call into the general loop for 20 bytes. */
static inline bool ip4_csum_ok(const uint8_t *ip, uint32_t ihl)
{
	uint64_t s = 0, w;

	/* The usual 20 bytes without a loop: two 8-byte words and a 4-byte one. */
	if (ihl == IP4_HLEN) {
		uint32_t t;

		memcpy(&w, ip, 8);
		s = (uint32_t)w + (w >> 32);
		memcpy(&w, ip + 8, 8);
		s += (uint32_t)w + (w >> 32);
		memcpy(&t, ip + 16, 4);
		return sg_csum_fold(s + t) == 0xffff;
	}
	for (uint32_t i = 0; i < ihl; i += 4) {
		uint32_t t;

		memcpy(&t, ip + i, sizeof(t));
		s += t;
	}
	return sg_csum_fold(s) == 0xffff;
}

static enum sg_pkt_class parse_ip4(struct sg_pkt *p, uint32_t off)
{
	const uint8_t *ip = p->data + off;
	uint32_t avail = p->len - off;

	if (avail < IP4_HLEN)
		return bad(p, SG_BAD_IP4_TRUNC);
	if ((ip[0] >> 4) != 4)
		return bad(p, SG_BAD_IP4_VERSION);
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (ihl < IP4_HLEN || ihl > avail)
		return bad(p, SG_BAD_IP4_IHL);
	uint32_t totlen = sg_rd16(ip + 2);
	/* Frame bytes past totlen are Ethernet padding (frames of < 60 bytes). */
	if (totlen < ihl || totlen > avail || off + totlen > PKT_OFF_MAX)
		return bad(p, SG_BAD_IP4_TOTLEN);
	if (!ip4_csum_ok(ip, ihl))
		return bad(p, SG_BAD_IP4_CSUM);

	p->family = 4;
	p->l4proto = ip[9];
	p->l3_end = (uint16_t)(off + totlen);

	uint16_t frag = sg_rd16(ip + 6);
	uint16_t fo = frag & IP4_FRAG_MASK;
	if (fo) {
		if (fo <= IP4_TINY_FRAG_MAX && p->l4proto == SG_IPPROTO_TCP)
			return bad(p, SG_BAD_IP4_TINY_FRAG);
		return SG_PKT_FRAGMENT;
	}
	p->first_frag = (frag & IP4_MF) != 0;
	p->l4_off = (uint16_t)(off + ihl);
	p->l4_len = (uint16_t)(totlen - ihl);
	if (p->l4proto != SG_IPPROTO_TCP)
		return SG_PKT_IP_OTHER;
	return parse_tcp(p);
}

static enum sg_pkt_class parse_ip6(struct sg_pkt *p, uint32_t off)
{
	const uint8_t *ip = p->data + off;
	uint32_t avail = p->len - off;

	if (avail < IP6_HLEN)
		return bad(p, SG_BAD_IP6_TRUNC);
	if ((ip[0] >> 4) != 6)
		return bad(p, SG_BAD_IP6_VERSION);
	uint32_t plen = sg_rd16(ip + 4);
	/* plen 0 announces a jumbogram (RFC 2675): never on Ethernet. */
	if (plen == 0 || plen > avail - IP6_HLEN ||
	    off + IP6_HLEN + plen > PKT_OFF_MAX)
		return bad(p, SG_BAD_IP6_PLEN);

	p->family = 6;
	p->l3_end = (uint16_t)(off + IP6_HLEN + plen);

	uint8_t nh = ip[6];
	uint32_t cur = off + IP6_HLEN;
	if (is_ip6_ext(nh)) {
		struct ip6_walk w;
		enum sg_bad_reason r = ip6_walk_ext(p->data, &cur, p->l3_end, &nh, &w);
		if (r != SG_BAD_NONE)
			return bad(p, r);
		if (w.frag_off) {
			p->l4proto = nh;
			return SG_PKT_FRAGMENT;
		}
		p->first_frag = w.more;
	}
	p->l4proto = nh;
	p->l4_off = (uint16_t)cur;
	p->l4_len = (uint16_t)(p->l3_end - cur);
	if (nh != SG_IPPROTO_TCP)
		return SG_PKT_IP_OTHER;
	return parse_tcp(p);
}

enum sg_pkt_class sg_pkt_parse(struct sg_pkt *p, uint8_t *frame, uint32_t len)
{
	memset(p, 0, sizeof(*p));
	p->data = frame;
	p->len = len;

	if (len < SG_ETH_HLEN)
		return bad(p, SG_BAD_ETH_TRUNC);
	uint32_t off = SG_ETH_HLEN;
	uint16_t et = sg_rd16(frame + 12);

	/* Untagged IPv4 first: most frames skip the three TPID compares. */
	while (et != SG_ETH_P_IPV4 && __builtin_expect(is_vlan_tpid(et), 0)) {
		if (p->nvlan == SG_VLAN_MAX)
			return bad(p, SG_BAD_VLAN_DEPTH);
		if (len - off < 4)
			return bad(p, SG_BAD_VLAN_TRUNC);
		p->vlan[p->nvlan].tpid = et;
		p->vlan[p->nvlan].tci = sg_rd16(frame + off);
		p->nvlan++;
		et = sg_rd16(frame + off + 2);
		off += 4;
	}
	p->ethertype = et;

	if (__builtin_expect(et == SG_ETH_P_IPV4, 1)) {
		p->l3_off = (uint16_t)off;
		return parse_ip4(p, off);
	}
	if (et == SG_ETH_P_IPV6) {
		p->l3_off = (uint16_t)off;
		return parse_ip6(p, off);
	}
	return SG_PKT_NOT_IP;
}

/* p's pseudo-header for proto and the L4 length (RFC 793 §3.1, RFC 768,
 * RFC 8200 §8.1). */
static inline uint64_t l4_pseudo(const struct sg_pkt *p, uint8_t proto)
{
	const uint8_t *l3 = sg_pkt_l3(p);

	if (p->family == 4)
		return sg_csum_pseudo4(l3 + 12, l3 + 16, proto, p->l4_len);
	return sg_csum_pseudo6(l3 + 8, l3 + 24, proto, p->l4_len);
}

static uint64_t tcp_sum(const struct sg_pkt *p)
{
	return sg_csum_partial(sg_pkt_l4(p), p->l4_len, l4_pseudo(p, SG_IPPROTO_TCP));
}

bool sg_pkt_tcp_csum_ok(const struct sg_pkt *p)
{
	/* A first fragment's checksum covers bytes that are not here. */
	if (p->l4_off == 0 || p->first_frag)
		return false;
	return sg_csum_fold(tcp_sum(p)) == 0xffff;
}

void sg_pkt_tcp_csum_fill(struct sg_pkt *p)
{
	uint8_t *t = sg_pkt_l4(p);

	t[16] = 0;
	t[17] = 0;
	uint16_t c = sg_csum_finish(tcp_sum(p));
	memcpy(t + 16, &c, sizeof(c));
}

/* Offset of the checksum field in p's L4 header when p is a whole TCP or
 * UDP segment whose checksum covers exactly l4_len bytes; 0 otherwise. */
static inline unsigned l4_csum_off(const struct sg_pkt *p)
{
	if (p->l4_off == 0 || p->first_frag)
		return 0;
	if (p->l4proto == SG_IPPROTO_TCP)
		return p->l4_len >= TCP_HLEN ? TCP_CSUM_OFF : 0;
	if (p->l4proto == SG_IPPROTO_UDP && p->l4_len >= UDP_HLEN &&
	    sg_rd16(sg_pkt_l4(p) + 4) == p->l4_len)
		return UDP_CSUM_OFF;
	return 0;
}

static inline bool field_is(const uint8_t *field, uint16_t v)
{
	uint16_t c;

	memcpy(&c, field, sizeof(c));
	return c == v;
}

bool sg_pkt_l4_csum_partial(const struct sg_pkt *p)
{
	unsigned off = l4_csum_off(p);

	return off && field_is(sg_pkt_l4(p) + off, sg_csum_fold(l4_pseudo(p, p->l4proto)));
}

bool sg_pkt_l4_csum_complete(struct sg_pkt *p)
{
	unsigned off = l4_csum_off(p);
	uint8_t *l4 = sg_pkt_l4(p);
	uint64_t ph;
	uint16_t c;

	if (!off)
		return false;
	ph = l4_pseudo(p, p->l4proto);
	if (__builtin_expect(!field_is(l4 + off, sg_csum_fold(ph)), 1))
		return false;
	memset(l4 + off, 0, sizeof(c));
	c = sg_csum_finish(sg_csum_partial(l4, p->l4_len, ph));
	if (c == 0 && p->l4proto == SG_IPPROTO_UDP)
		c = 0xffff;     /* RFC 768: 0 would say "no checksum" */
	memcpy(l4 + off, &c, sizeof(c));
	return true;
}

int sg_pkt_l4_csum_prepare(struct sg_pkt *p)
{
	unsigned off = l4_csum_off(p);
	uint16_t c;

	if (!off)
		return -EINVAL;
	c = sg_csum_fold(l4_pseudo(p, p->l4proto));
	memcpy(sg_pkt_l4(p) + off, &c, sizeof(c));
	return (int)off;
}

void sg_pkt_tcp_set16(struct sg_pkt *p, unsigned off, uint16_t val)
{
	uint8_t *t = sg_pkt_l4(p);
	sg_csum_set16(t, off, t + 16, val);
}

void sg_pkt_tcp_set32(struct sg_pkt *p, unsigned off, uint32_t val)
{
	uint8_t *t = sg_pkt_l4(p);
	sg_csum_set32(t, off, t + 16, val);
}

static bool icmp_is_error(uint8_t family, uint8_t type)
{
	if (family == 4)
		return type == ICMP4_DEST_UNREACH || type == ICMP4_TIME_EXCEEDED ||
		       type == ICMP4_PARAMPROB;
	return type == ICMP6_DEST_UNREACH || type == ICMP6_PKT_TOOBIG ||
	       type == ICMP6_TIME_EXCEEDED || type == ICMP6_PARAMPROB;
}

int sg_pkt_parse_icmp_quote(const struct sg_pkt *outer, struct sg_pkt *inner)
{
	if (outer->l4_off == 0 ||
	    !((outer->family == 4 && outer->l4proto == SG_IPPROTO_ICMP) ||
	      (outer->family == 6 && outer->l4proto == SG_IPPROTO_ICMPV6)))
		return -ENOENT;
	if (outer->l4_len < ICMP_HLEN)
		return -EINVAL;
	const uint8_t *d = outer->data;
	if (!icmp_is_error(outer->family, d[outer->l4_off]))
		return -ENOENT;

	/* The quote: from behind the ICMP header to the end of the outer IP
	 * packet (RFC 792; RFC 4443 §2.1 quotes as much as fits). */
	uint32_t q = (uint32_t)outer->l4_off + ICMP_HLEN;
	uint32_t end = outer->l3_end;
	uint32_t l4;
	uint8_t family;

	if (outer->family == 4) {
		if (end - q < IP4_HLEN)
			return -EINVAL;
		if ((d[q] >> 4) != 4)
			return -EINVAL;
		uint32_t ihl = (uint32_t)(d[q] & 0x0f) * 4;
		if (ihl < IP4_HLEN || ihl > end - q)
			return -EINVAL;
		if (d[q + 9] != SG_IPPROTO_TCP)
			return -ENOENT;
		if (sg_rd16(d + q + 6) & IP4_FRAG_MASK)
			return -ENOENT;    /* a non-first fragment quotes no TCP header */
		family = 4;
		l4 = q + ihl;
	} else {
		if (end - q < IP6_HLEN)
			return -EINVAL;
		if ((d[q] >> 4) != 6)
			return -EINVAL;
		uint8_t nh = d[q + 6];
		uint32_t cur = q + IP6_HLEN;
		struct ip6_walk w;
		if (ip6_walk_ext(d, &cur, end, &nh, &w) != SG_BAD_NONE)
			return -EINVAL;
		if (w.frag_off)
			return -ENOENT;
		if (nh != SG_IPPROTO_TCP)
			return -ENOENT;
		family = 6;
		l4 = cur;
	}
	if (end - l4 < QUOTE_TCP_MIN)
		return -EINVAL;

	memset(inner, 0, sizeof(*inner));
	inner->data = outer->data;
	inner->len = outer->len;
	inner->nvlan = outer->nvlan;
	memcpy(inner->vlan, outer->vlan, sizeof(inner->vlan));
	inner->ethertype = outer->ethertype;
	inner->family = family;
	inner->l4proto = SG_IPPROTO_TCP;
	inner->l3_off = (uint16_t)q;
	inner->l4_off = (uint16_t)l4;
	inner->l3_end = (uint16_t)end;
	inner->l4_len = (uint16_t)(end - l4);   /* the bytes quoted, not more */
	inner->sport = sg_rd16(d + l4);
	inner->dport = sg_rd16(d + l4 + 2);
	inner->seq = sg_rd32(d + l4 + 4);
	if (end - l4 >= 12)
		inner->ack = sg_rd32(d + l4 + 8);
	return 0;
}
