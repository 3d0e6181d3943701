/* Tests of src/net/parse.c on frames built by hand below (independently of
 * src/net/build.c), including one malformed frame per bad reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "net/pkt.h"
#include "net/tcpopt.h"

#define FRAME_MAX 4096

/* ---- a small frame writer, independent of the library ---------------- */

struct ext {
	uint8_t  type;       /* 0, 43, 44, 51, 60 */
	uint8_t  lenbyte;    /* the header's length byte (reserved for 44) */
	uint16_t frag;       /* Fragment header: offset << 3 | M */
};

struct spec {
	int      ntags;
	uint16_t tpid[3];
	int      family;            /* 4 or 6 */
	uint8_t  proto;             /* L4 protocol; 0 means TCP */
	int      ip4_optlen;        /* multiple of 4, <= 40 */
	uint16_t ip4_frag;          /* flags + offset field */
	int      next;              /* IPv6 extension headers */
	struct ext ext[12];
	const uint8_t *opts;        /* TCP options, multiple of 4 */
	size_t   optlen;
	size_t   payload;
	const uint8_t *l4raw;       /* non-TCP L4 bytes */
	size_t   l4rawlen;
	int      l4_keep;           /* >0: keep only this many L4 bytes */
	size_t   pad;               /* Ethernet padding after the IP packet */
};

struct frame {
	uint8_t  b[FRAME_MAX];
	uint32_t len;
	uint32_t l3, l4, l3_end;
};

static const uint8_t SA4[4] = { 192, 0, 2, 1 }, DA4[4] = { 198, 51, 100, 2 };
static const uint8_t SA6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t DA6[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x12, [15] = 2 };

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)(v >> 16)); w16(p + 2, (uint16_t)v); }
static uint16_t r16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t r32(const uint8_t *p) { return (uint32_t)r16(p) << 16 | r16(p + 2); }

/* RFC 1071, byte at a time, big-endian: the reference for checksums. */
static uint32_t ref_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 2) {
		s += (uint32_t)p[i] << 8;
		if (i + 1 < n)
			s += p[i + 1];
		s = (s & 0xffff) + (s >> 16);
	}
	return s;
}

static uint16_t ref_ip4_csum(const uint8_t *ip, size_t ihl)
{
	uint8_t h[60];
	memcpy(h, ip, ihl);
	h[10] = h[11] = 0;
	return (uint16_t)~ref_add(0, h, ihl);
}

static void fix_ip4_csum(struct frame *f)
{
	uint8_t *ip = f->b + f->l3;
	w16(ip + 10, ref_ip4_csum(ip, (ip[0] & 15) * 4u));
}

static uint16_t ref_tcp_csum(const struct frame *f, int family)
{
	uint8_t ph[40] = { 0 };
	size_t phn, l4len = f->l3_end - f->l4;
	const uint8_t *ip = f->b + f->l3;
	if (family == 4) {
		memcpy(ph, ip + 12, 8);
		ph[9] = 6;
		w16(ph + 10, (uint16_t)l4len);
		phn = 12;
	} else {
		memcpy(ph, ip + 8, 32);
		w32(ph + 32, (uint32_t)l4len);
		ph[39] = 6;
		phn = 40;
	}
	uint8_t *t = malloc(l4len + 1);
	memcpy(t, f->b + f->l4, l4len);
	t[16] = t[17] = 0;
	uint16_t c = (uint16_t)~ref_add(ref_add(0, ph, phn), t, l4len);
	free(t);
	return c;
}

static size_t ext_size(const struct ext *e)
{
	if (e->type == 44)
		return 8;
	if (e->type == 51)
		return (e->lenbyte + 2u) * 4;
	return (e->lenbyte + 1u) * 8;
}

static void build(struct frame *f, const struct spec *s)
{
	uint8_t *b = f->b;
	uint8_t proto = s->proto ? s->proto : 6;
	size_t o = 0;

	memset(f, 0, sizeof(*f));
	const uint8_t dmac[6] = { 2, 0, 0, 0, 0, 0xbb }, smac[6] = { 2, 0, 0, 0, 0, 0xaa };
	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	o = 12;
	for (int i = 0; i < s->ntags; i++) {
		w16(b + o, s->tpid[i]);
		w16(b + o + 2, (uint16_t)(0x2000 | (100 + i)));   /* PCP 1, VID 100+i */
		o += 4;
	}
	w16(b + o, s->family == 6 ? 0x86dd : 0x0800);
	o += 2;
	f->l3 = (uint32_t)o;

	/* L4 bytes first, into place after the L3 headers. */
	size_t l3hlen;
	if (s->family == 4) {
		l3hlen = 20 + (size_t)s->ip4_optlen;
	} else {
		l3hlen = 40;
		for (int i = 0; i < s->next; i++)
			l3hlen += ext_size(&s->ext[i]);
	}
	f->l4 = (uint32_t)(o + l3hlen);
	uint8_t *t = b + f->l4;
	size_t l4len;
	if (proto == 6 && !s->l4raw) {
		size_t hlen = 20 + s->optlen;
		w16(t, 40000);
		w16(t + 2, 80);
		w32(t + 4, 0x11223344);
		w32(t + 8, 0x55667788);
		t[12] = (uint8_t)((hlen / 4) << 4);
		t[13] = SG_TCP_SYN | SG_TCP_ACK;
		w16(t + 14, 0xfaf0);
		w16(t + 16, 0);
		w16(t + 18, 0);
		if (s->optlen)
			memcpy(t + 20, s->opts, s->optlen);
		for (size_t i = 0; i < s->payload; i++)
			t[hlen + i] = (uint8_t)(i * 7 + 3);
		l4len = hlen + s->payload;
	} else {
		memcpy(t, s->l4raw, s->l4rawlen);
		l4len = s->l4rawlen;
	}
	if (s->l4_keep > 0)
		l4len = (size_t)s->l4_keep;

	uint8_t *ip = b + f->l3;
	if (s->family == 4) {
		ip[0] = (uint8_t)(0x40 | (l3hlen / 4));
		ip[1] = 0;
		w16(ip + 2, (uint16_t)(l3hlen + l4len));
		w16(ip + 4, 0x1234);
		w16(ip + 6, s->ip4_frag);
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, SA4, 4);
		memcpy(ip + 16, DA4, 4);
		memset(ip + 20, 1, (size_t)s->ip4_optlen);   /* NOP options */
	} else {
		w32(ip, 0x60012345);          /* traffic class 0, flow label */
		w16(ip + 4, (uint16_t)(l3hlen - 40 + l4len));
		ip[6] = s->next ? s->ext[0].type : proto;
		ip[7] = 64;
		memcpy(ip + 8, SA6, 16);
		memcpy(ip + 24, DA6, 16);
		size_t e = o + 40;
		for (int i = 0; i < s->next; i++) {
			size_t sz = ext_size(&s->ext[i]);
			memset(b + e, 0, sz);
			b[e] = i + 1 < s->next ? s->ext[i + 1].type : proto;
			b[e + 1] = s->ext[i].lenbyte;
			if (s->ext[i].type == 44) {
				w16(b + e + 2, s->ext[i].frag);
				w32(b + e + 4, 0xabcdef01);
			}
			e += sz;
		}
	}
	f->l3_end = (uint32_t)(o + l3hlen + l4len);
	f->len = f->l3_end;
	if (s->family == 4)
		fix_ip4_csum(f);
	if (proto == 6 && !s->l4raw && s->l4_keep == 0)
		w16(t + 16, ref_tcp_csum(f, s->family));
	memset(b + f->len, 0xaa, s->pad);
	f->len += (uint32_t)s->pad;
	/* Junk behind the frame, so a read past its end shows in results. */
	memset(b + f->len, 0x5a, FRAME_MAX - f->len);
}

/* Parses f from a heap block of exactly f->len bytes, so ASan catches any
 * read past the frame, and checks that the parser wrote nothing. */
static enum sg_pkt_class parse_tight(struct frame *f, struct sg_pkt *p)
{
	uint8_t *copy = malloc(f->len ? f->len : 1);
	assert_non_null(copy);
	memcpy(copy, f->b, f->len);
	enum sg_pkt_class c = sg_pkt_parse(p, copy, f->len);
	assert_memory_equal(copy, f->b, f->len);
	free(copy);
	p->data = f->b;   /* keep pointing at memory that stays valid */
	return c;
}

static const uint8_t SYN_OPTS[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10,
                                      0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };

/* ---- classes and fields ----------------------------------------------- */

static void untagged_ipv4_tcp_has_every_field(void **state)
{
	(void)state;
	struct frame f;
	struct spec s = { .family = 4, .opts = SYN_OPTS, .optlen = 20, .payload = 5 };
	build(&f, &s);
	struct sg_pkt p;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.bad, SG_BAD_NONE);
	assert_int_equal(p.len, f.len);
	assert_int_equal(p.nvlan, 0);
	assert_int_equal(p.ethertype, SG_ETH_P_IPV4);
	assert_int_equal(p.family, 4);
	assert_int_equal(p.l4proto, SG_IPPROTO_TCP);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.l3_end, f.len);
	assert_int_equal(p.l4_len, 40 + 5);
	assert_false(p.first_frag);
	assert_int_equal(p.tcp_hlen, 40);
	assert_int_equal(p.tcp_flags, SG_TCP_SYN | SG_TCP_ACK);
	assert_int_equal(p.win, 0xfaf0);
	assert_int_equal(p.seq, 0x11223344);
	assert_int_equal(p.ack, 0x55667788);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.payload_len, 5);
	assert_int_equal(p.opt.present, SG_OPT_MSS | SG_OPT_SACKPERM | SG_OPT_TS | SG_OPT_WS);
	assert_int_equal(p.opt.mss, 1460);
	assert_int_equal(p.opt.wscale, 7);
	assert_int_equal(p.opt.tsval, 1);
	assert_int_equal(p.opt.mss_off, 20);
	assert_int_equal(p.opt.ts_off, 26);
	assert_memory_equal(sg_pkt_saddr(&p), SA4, 4);
	assert_memory_equal(sg_pkt_daddr(&p), DA4, 4);
	assert_int_equal(sg_pkt_addr_len(&p), 4);
	assert_true(sg_pkt_tcp_csum_ok(&p));
}

static void ipv4_options_are_skipped(void **state)
{
	(void)state;
	for (int optlen = 4; optlen <= 40; optlen += 4) {
		struct frame f;
		struct spec s = { .family = 4, .ip4_optlen = optlen, .payload = 3 };
		build(&f, &s);
		struct sg_pkt p;
		assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
		assert_int_equal(p.l4_off, 34 + optlen);
		assert_int_equal(p.sport, 40000);
		assert_int_equal(p.payload_len, 3);
		assert_true(sg_pkt_tcp_csum_ok(&p));
	}
}

static void untagged_ipv6_tcp_has_every_field(void **state)
{
	(void)state;
	struct frame f;
	struct spec s = { .family = 6, .opts = SYN_OPTS, .optlen = 20, .payload = 1 };
	build(&f, &s);
	struct sg_pkt p;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.ethertype, SG_ETH_P_IPV6);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l4_off, 54);
	assert_int_equal(p.l3_end, f.len);
	assert_int_equal(p.l4_len, 41);
	assert_int_equal(p.tcp_hlen, 40);
	assert_int_equal(p.payload_len, 1);
	assert_int_equal(p.seq, 0x11223344);
	assert_int_equal(p.opt.mss, 1460);
	assert_memory_equal(sg_pkt_saddr(&p), SA6, 16);
	assert_memory_equal(sg_pkt_daddr(&p), DA6, 16);
	assert_int_equal(sg_pkt_addr_len(&p), 16);
	assert_true(sg_pkt_tcp_csum_ok(&p));
}

static void one_vlan_tag_of_each_tpid_is_kept(void **state)
{
	(void)state;
	const uint16_t tpids[] = { 0x8100, 0x88a8, 0x9100 };
	for (int fam = 4; fam <= 6; fam += 2)
		for (int i = 0; i < 3; i++) {
			struct frame f;
			struct spec s = { .family = fam, .ntags = 1, .tpid = { tpids[i] } };
			build(&f, &s);
			struct sg_pkt p;
			assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
			assert_int_equal(p.nvlan, 1);
			assert_int_equal(p.vlan[0].tpid, tpids[i]);
			assert_int_equal(p.vlan[0].tci, 0x2000 | 100);
			assert_int_equal(sg_pkt_vid(&p, 0), 100);
			assert_int_equal(sg_pkt_vid(&p, 1), 0);
			assert_int_equal(p.l3_off, 18);
			assert_int_equal(p.ethertype, fam == 4 ? 0x0800 : 0x86dd);
			assert_true(sg_pkt_tcp_csum_ok(&p));
		}
}

static void two_tags_qinq_are_kept_outermost_first(void **state)
{
	(void)state;
	const uint16_t outer[] = { 0x88a8, 0x9100, 0x8100 };
	for (int fam = 4; fam <= 6; fam += 2)
		for (int i = 0; i < 3; i++) {
			struct frame f;
			struct spec s = { .family = fam, .ntags = 2,
			                  .tpid = { outer[i], 0x8100 }, .payload = 9 };
			build(&f, &s);
			struct sg_pkt p;
			assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
			assert_int_equal(p.nvlan, 2);
			assert_int_equal(p.vlan[0].tpid, outer[i]);
			assert_int_equal(p.vlan[1].tpid, 0x8100);
			assert_int_equal(sg_pkt_vid(&p, 0), 100);
			assert_int_equal(sg_pkt_vid(&p, 1), 101);
			assert_int_equal(p.l3_off, 22);
			assert_int_equal(p.payload_len, 9);
			assert_true(sg_pkt_tcp_csum_ok(&p));
		}
}

static void three_tags_are_rejected(void **state)
{
	(void)state;
	struct frame f;
	struct spec s = { .family = 4, .ntags = 3, .tpid = { 0x88a8, 0x8100, 0x8100 } };
	build(&f, &s);
	struct sg_pkt p;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_BAD);
	assert_int_equal(p.bad, SG_BAD_VLAN_DEPTH);
}

static void other_ethertypes_are_not_ip(void **state)
{
	(void)state;
	struct frame f;
	struct spec s = { .family = 4, .ntags = 1, .tpid = { 0x8100 } };
	build(&f, &s);
	w16(f.b + 16, 0x0806);   /* ARP inside the tag */
	struct sg_pkt p;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_NOT_IP);
	assert_int_equal(p.ethertype, 0x0806);
	assert_int_equal(p.nvlan, 1);
	assert_int_equal(p.family, 0);
	assert_int_equal(p.l4_off, 0);
	/* An untagged LLDP frame of the minimum length. */
	uint8_t lldp[60] = { 0x01, 0x80, 0xc2, 0, 0, 0x0e, 2, 0, 0, 0, 0, 1, 0x88, 0xcc };
	memcpy(f.b, lldp, 60);
	f.len = 60;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_NOT_IP);
	assert_int_equal(p.ethertype, 0x88cc);
	/* Exactly an Ethernet header and nothing else. */
	f.len = 14;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_NOT_IP);
}

static void udp_and_icmp_are_ip_other_with_l4_offset(void **state)
{
	(void)state;
	const uint8_t udp[12] = { 0x30, 0x39, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', 'd' };
	struct frame f;
	struct spec s = { .family = 4, .proto = 17, .l4raw = udp, .l4rawlen = 12, .ip4_optlen = 8 };
	build(&f, &s);
	struct sg_pkt p;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_IP_OTHER);
	assert_int_equal(p.l4proto, 17);
	assert_int_equal(p.l4_off, 14 + 28);
	assert_int_equal(p.l4_len, 12);
	struct spec s6 = { .family = 6, .proto = 58, .l4raw = udp, .l4rawlen = 12,
	                   .next = 1, .ext = { { 60, 0, 0 } } };
	build(&f, &s6);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_IP_OTHER);
	assert_int_equal(p.l4proto, 58);
	assert_int_equal(p.l4_off, 14 + 40 + 8);
	assert_int_equal(p.l4_len, 12);
	/* IPv6 "no next header" (59) */
	struct spec s59 = { .family = 6, .proto = 59, .l4raw = udp, .l4rawlen = 4 };
	build(&f, &s59);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_IP_OTHER);
	assert_int_equal(p.l4proto, 59);
}

static void ethernet_padding_after_short_ipv4_is_ignored(void **state)
{
	(void)state;
	/* 14 + 20 + 20 = 54 bytes, padded with 6 non-zero bytes to 60. */
	struct frame f;
	struct spec s = { .family = 4, .pad = 6 };
	build(&f, &s);
	assert_int_equal(f.len, 60);
	struct sg_pkt p;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.l3_end, 54);
	assert_int_equal(p.l4_len, 20);
	assert_int_equal(p.payload_len, 0);
	assert_true(sg_pkt_tcp_csum_ok(&p));
	/* The same with an odd payload and an IPv6 frame padded too. */
	struct spec s2 = { .family = 4, .payload = 1, .pad = 5 };
	build(&f, &s2);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.payload_len, 1);
	assert_true(sg_pkt_tcp_csum_ok(&p));
	struct spec s3 = { .family = 6, .payload = 3, .pad = 7 };
	build(&f, &s3);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.l3_end, f.len - 7);
	assert_int_equal(p.payload_len, 3);
	assert_true(sg_pkt_tcp_csum_ok(&p));
	sg_pkt_tcp_csum_fill(&p);
	assert_int_equal(r16(f.b + p.l4_off + 16), ref_tcp_csum(&f, 6));
}

/* ---- IPv6 extension headers ------------------------------------------- */

static void ipv6_each_extension_header_is_walked(void **state)
{
	(void)state;
	const struct ext one[] = {
		{ 0, 0, 0 }, { 0, 3, 0 }, { 43, 0, 0 }, { 43, 2, 0 },
		{ 60, 0, 0 }, { 60, 5, 0 }, { 51, 1, 0 }, { 51, 4, 0 },
		{ 44, 0, 0 } /* atomic fragment: offset 0, M 0 */,
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		struct frame f;
		struct spec s = { .family = 6, .next = 1, .ext = { one[i] }, .payload = 2 };
		build(&f, &s);
		struct sg_pkt p;
		assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
		assert_int_equal(p.l4_off, 54 + ext_size(&one[i]));
		assert_int_equal(p.l4_len, 22);
		assert_int_equal(p.sport, 40000);
		assert_false(p.first_frag);
		assert_true(sg_pkt_tcp_csum_ok(&p));
	}
}

static void ipv6_chain_of_several_extension_headers(void **state)
{
	(void)state;
	struct frame f;
	struct spec s = { .family = 6, .next = 5, .payload = 11, .ntags = 1, .tpid = { 0x8100 },
	                  .ext = { { 0, 0, 0 }, { 43, 2, 0 }, { 44, 0, 0 },
	                           { 51, 4, 0 }, { 60, 1, 0 } } };
	build(&f, &s);
	struct sg_pkt p;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.l4_off, 18 + 40 + 8 + 24 + 8 + 24 + 16);
	assert_int_equal(p.payload_len, 11);
	assert_true(sg_pkt_tcp_csum_ok(&p));
}

static void ah_is_sized_by_its_own_type_not_the_next(void **state)
{
	(void)state;
	/* HBH (len 1: 16 bytes) -> AH (len 4: 24 bytes) -> DST (len 0: 8) -> TCP.
	 * Sizing HBH as the AH that follows would give 12 bytes, sizing AH as
	 * the Destination Options that follow would give 40: both land the
	 * TCP header elsewhere. */
	struct frame f;
	struct spec s = { .family = 6, .next = 3, .payload = 4,
	                  .ext = { { 0, 1, 0 }, { 51, 4, 0 }, { 60, 0, 0 } } };
	build(&f, &s);
	struct sg_pkt p;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.l4_off, 54 + 16 + 24 + 8);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.seq, 0x11223344);
	assert_true(sg_pkt_tcp_csum_ok(&p));

	/* An AH whose (len+1)*8 would run past the packet but (len+2)*4 fits:
	 * len 10 -> 48 bytes as AH, 88 as a generic header. */
	struct spec s2 = { .family = 6, .next = 1, .ext = { { 51, 10, 0 } } };
	build(&f, &s2);
	assert_int_equal(f.len, 14 + 40 + 48 + 20);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.l4_off, 54 + 48);

	/* A Fragment header is 8 bytes whatever its reserved byte says. */
	struct spec s3 = { .family = 6, .next = 2, .ext = { { 44, 9, 0 }, { 60, 0, 0 } } };
	build(&f, &s3);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.l4_off, 54 + 8 + 8);
	assert_true(sg_pkt_tcp_csum_ok(&p));
}

static void ipv6_extension_depth_limit(void **state)
{
	(void)state;
	struct frame f;
	struct spec s = { .family = 6, .next = SG_IP6_EXT_MAX };
	for (int i = 0; i < SG_IP6_EXT_MAX; i++)
		s.ext[i] = (struct ext){ 60, 0, 0 };
	build(&f, &s);
	struct sg_pkt p;
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_int_equal(p.l4_off, 54 + 8 * SG_IP6_EXT_MAX);
	s.next = SG_IP6_EXT_MAX + 1;
	s.ext[SG_IP6_EXT_MAX] = (struct ext){ 60, 0, 0 };
	build(&f, &s);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_BAD);
	assert_int_equal(p.bad, SG_BAD_IP6_EXT_DEPTH);
}

/* ---- fragments -------------------------------------------------------- */

static void ipv4_fragments(void **state)
{
	(void)state;
	struct frame f;
	struct sg_pkt p;
	/* Non-first fragments at offsets 8 units and more: no L4 header. */
	const uint16_t later[] = { 8, 9, 100, 0x1fff };
	for (size_t i = 0; i < 4; i++)
		for (int mf = 0; mf <= 1; mf++) {
			struct spec s = { .family = 4, .ip4_frag = (uint16_t)(later[i] | (mf ? 0x2000 : 0)) };
			build(&f, &s);
			assert_int_equal(parse_tight(&f, &p), SG_PKT_FRAGMENT);
			assert_int_equal(p.l4_off, 0);
			assert_int_equal(p.l4proto, 6);
			assert_int_equal(p.family, 4);
			assert_int_equal(p.l3_end, f.len);
		}
	/* Tiny TCP fragments overlapping the header (RFC 1858). */
	for (uint16_t off = 1; off <= 7; off++) {
		struct spec s = { .family = 4, .ip4_frag = off };
		build(&f, &s);
		assert_int_equal(parse_tight(&f, &p), SG_PKT_BAD);
		assert_int_equal(p.bad, SG_BAD_IP4_TINY_FRAG);
	}
	/* A UDP fragment at offset 1 holds no TCP header to overlap. */
	const uint8_t raw[16] = { 0 };
	struct spec su = { .family = 4, .proto = 17, .l4raw = raw, .l4rawlen = 16, .ip4_frag = 1 };
	build(&f, &su);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_FRAGMENT);
	/* First fragment holding the whole TCP header, options included. */
	struct spec s1 = { .family = 4, .ip4_frag = 0x2000, .opts = SYN_OPTS, .optlen = 20, .payload = 8 };
	build(&f, &s1);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_true(p.first_frag);
	assert_int_equal(p.payload_len, 8);
	assert_int_equal(p.opt.mss, 1460);
	assert_false(sg_pkt_tcp_csum_ok(&p));   /* covers bytes not here */
	/* DF alone is a whole packet. */
	struct spec sdf = { .family = 4, .ip4_frag = 0x4000 };
	build(&f, &sdf);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_false(p.first_frag);
	/* First fragment cut inside the fixed header or inside the options. */
	struct spec sa = { .family = 4, .ip4_frag = 0x2000, .l4_keep = 16 };
	build(&f, &sa);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_BAD);
	assert_int_equal(p.bad, SG_BAD_FRAG_TCP_TRUNC);
	struct spec sb = { .family = 4, .ip4_frag = 0x2000, .opts = SYN_OPTS, .optlen = 20, .l4_keep = 32 };
	build(&f, &sb);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_BAD);
	assert_int_equal(p.bad, SG_BAD_FRAG_TCP_TRUNC);
}

static void ipv6_fragments(void **state)
{
	(void)state;
	struct frame f;
	struct sg_pkt p;
	/* Non-first fragment (with M and without), even at a tiny offset. */
	const uint16_t fr[] = { (1 << 3) | 1, (1 << 3), (185 << 3) | 1, (8191u << 3) };
	for (size_t i = 0; i < 4; i++) {
		struct spec s = { .family = 6, .next = 2, .ext = { { 0, 0, 0 }, { 44, 0, fr[i] } } };
		build(&f, &s);
		assert_int_equal(parse_tight(&f, &p), SG_PKT_FRAGMENT);
		assert_int_equal(p.l4_off, 0);
		assert_int_equal(p.family, 6);
	}
	/* A non-first fragment's data is not walked as headers, even when it
	 * would look malformed (here: claims a huge Destination Options). */
	const uint8_t junk[8] = { 6, 200 };
	struct spec sn = { .family = 6, .next = 1, .ext = { { 44, 0, (2 << 3) } },
	                   .proto = 60, .l4raw = junk, .l4rawlen = 8 };
	build(&f, &sn);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_FRAGMENT);
	/* First fragment with the whole TCP header. */
	struct spec s1 = { .family = 6, .next = 1, .ext = { { 44, 0, 1 } }, .payload = 100 };
	build(&f, &s1);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
	assert_true(p.first_frag);
	assert_int_equal(p.l4_off, 54 + 8);
	/* First fragment without it. */
	struct spec s2 = { .family = 6, .next = 1, .ext = { { 44, 0, 1 } }, .l4_keep = 12 };
	build(&f, &s2);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_BAD);
	assert_int_equal(p.bad, SG_BAD_FRAG_TCP_TRUNC);
	struct spec s3 = { .family = 6, .next = 1, .ext = { { 44, 0, 1 } },
	                   .opts = SYN_OPTS, .optlen = 20, .l4_keep = 24 };
	build(&f, &s3);
	assert_int_equal(parse_tight(&f, &p), SG_PKT_BAD);
	assert_int_equal(p.bad, SG_BAD_FRAG_TCP_TRUNC);
}

/* ---- every bad reason --------------------------------------------------- */

struct bad_case {
	const char *what;
	struct spec s;
	void (*mutate)(struct frame *f);
	enum sg_bad_reason want;
};

static void cut13(struct frame *f) { f->len = 13; }
static void cut_in_tag(struct frame *f) { f->len = 16; }
static void cut_in_second_tag(struct frame *f) { f->len = 20; }
static void cut_ip4_19(struct frame *f) { f->len = f->l3 + 19; }
static void ip4_version6(struct frame *f) { f->b[f->l3] = 0x65; fix_ip4_csum(f); }
static void ip4_ihl4(struct frame *f) { f->b[f->l3] = 0x44; }
static void ip4_ihl_past_frame(struct frame *f) { f->b[f->l3] = 0x4f; f->len = f->l3 + 40; }
static void ip4_totlen_lt_ihl(struct frame *f) { w16(f->b + f->l3 + 2, 19); fix_ip4_csum(f); }
static void ip4_totlen_past_frame(struct frame *f) { w16(f->b + f->l3 + 2, (uint16_t)(f->len - f->l3 + 1)); fix_ip4_csum(f); }
static void ip4_bad_csum(struct frame *f) { f->b[f->l3 + 11] ^= 0x01; }
static void ip4_ttl_changed(struct frame *f) { f->b[f->l3 + 8] ^= 0x80; }
static void cut_ip6_39(struct frame *f) { f->len = f->l3 + 39; }
static void ip6_version4(struct frame *f) { f->b[f->l3] = 0x40; }
static void ip6_plen_past_frame(struct frame *f) { w16(f->b + f->l3 + 4, (uint16_t)(f->len - f->l3 - 40 + 1)); }
static void ip6_plen_zero(struct frame *f) { w16(f->b + f->l3 + 4, 0); }
static void ip6_ext_len_past(struct frame *f) { f->b[f->l3 + 41] = 3; /* 32 bytes, 28 here */ }
static void ip6_ext_lt8(struct frame *f) { w16(f->b + f->l3 + 4, 4); f->len = f->l3 + 44; }
static void ip6_ah_len_past(struct frame *f) { f->b[f->l3 + 41] = 9; /* 44 bytes as AH */ }
static void tcp_doff4(struct frame *f) { f->b[f->l4 + 12] = 0x40; }
static void tcp_doff15(struct frame *f) { f->b[f->l4 + 12] = 0xf0; }
static void tcp_doff_into_padding(struct frame *f) { f->b[f->l4 + 12] = 0x60; }
static void opt_len0(struct frame *f) { f->b[f->l4 + 21] = 0; }
static void opt_mss_len3(struct frame *f) { f->b[f->l4 + 21] = 3; }
static void opt_ts_len_past(struct frame *f) { f->b[f->l4 + 20 + 7] = 15; }

static const uint8_t OPT_PAD[4] = { 2, 4, 5, 0xb4 };

static void every_malformed_frame_gets_its_exact_reason(void **state)
{
	(void)state;
	const struct bad_case cases[] = {
		{ "13-byte frame", { .family = 4 }, cut13, SG_BAD_ETH_TRUNC },
		{ "frame ends in tag", { .family = 4, .ntags = 1, .tpid = { 0x8100 } }, cut_in_tag, SG_BAD_VLAN_TRUNC },
		{ "frame ends in 2nd tag", { .family = 4, .ntags = 2, .tpid = { 0x88a8, 0x8100 } }, cut_in_second_tag, SG_BAD_VLAN_TRUNC },
		{ "three tags", { .family = 6, .ntags = 3, .tpid = { 0x9100, 0x88a8, 0x8100 } }, NULL, SG_BAD_VLAN_DEPTH },
		{ "19 bytes of IPv4", { .family = 4 }, cut_ip4_19, SG_BAD_IP4_TRUNC },
		{ "IPv4 version 6", { .family = 4 }, ip4_version6, SG_BAD_IP4_VERSION },
		{ "IHL 4", { .family = 4 }, ip4_ihl4, SG_BAD_IP4_IHL },
		{ "IHL past frame", { .family = 4 }, ip4_ihl_past_frame, SG_BAD_IP4_IHL },
		{ "total length < IHL", { .family = 4 }, ip4_totlen_lt_ihl, SG_BAD_IP4_TOTLEN },
		{ "total length > frame", { .family = 4, .ntags = 1, .tpid = { 0x8100 } }, ip4_totlen_past_frame, SG_BAD_IP4_TOTLEN },
		{ "IPv4 checksum", { .family = 4 }, ip4_bad_csum, SG_BAD_IP4_CSUM },
		{ "IPv4 checksum, TTL changed", { .family = 4, .ip4_optlen = 8 }, ip4_ttl_changed, SG_BAD_IP4_CSUM },
		{ "tiny fragment", { .family = 4, .ip4_frag = 0x2001 }, NULL, SG_BAD_IP4_TINY_FRAG },
		{ "39 bytes of IPv6", { .family = 6 }, cut_ip6_39, SG_BAD_IP6_TRUNC },
		{ "IPv6 version 4", { .family = 6 }, ip6_version4, SG_BAD_IP6_VERSION },
		{ "payload length > frame", { .family = 6 }, ip6_plen_past_frame, SG_BAD_IP6_PLEN },
		{ "jumbogram", { .family = 6 }, ip6_plen_zero, SG_BAD_IP6_PLEN },
		{ "ext header past payload", { .family = 6, .next = 1, .ext = { { 60, 0, 0 } } }, ip6_ext_len_past, SG_BAD_IP6_EXT_TRUNC },
		{ "ext header < 8 bytes left", { .family = 6, .next = 1, .ext = { { 0, 0, 0 } } }, ip6_ext_lt8, SG_BAD_IP6_EXT_TRUNC },
		{ "AH past payload", { .family = 6, .next = 1, .ext = { { 51, 1, 0 } } }, ip6_ah_len_past, SG_BAD_IP6_EXT_TRUNC },
		{ "9 ext headers", { .family = 6, .next = 9, .ext = { { 0, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 },
		  { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 } } }, NULL, SG_BAD_IP6_EXT_DEPTH },
		{ "first v4 fragment, 19 TCP bytes", { .family = 4, .ip4_frag = 0x2000, .l4_keep = 19 }, NULL, SG_BAD_FRAG_TCP_TRUNC },
		{ "first v6 fragment, options cut", { .family = 6, .next = 1, .ext = { { 44, 0, 1 } }, .opts = OPT_PAD, .optlen = 4, .l4_keep = 22 }, NULL, SG_BAD_FRAG_TCP_TRUNC },
		{ "19 TCP bytes v4", { .family = 4, .l4_keep = 19 }, NULL, SG_BAD_TCP_TRUNC },
		{ "10 TCP bytes v6 after ext hdr", { .family = 6, .next = 1, .ext = { { 60, 0, 0 } }, .l4_keep = 10 }, NULL, SG_BAD_TCP_TRUNC },
		{ "data offset 4", { .family = 4 }, tcp_doff4, SG_BAD_TCP_DOFF },
		{ "data offset 15 past payload", { .family = 6, .payload = 30 }, tcp_doff15, SG_BAD_TCP_DOFF },
		{ "data offset into Ethernet padding", { .family = 4, .pad = 6 }, tcp_doff_into_padding, SG_BAD_TCP_DOFF },
		{ "option length 0", { .family = 4, .opts = OPT_PAD, .optlen = 4 }, opt_len0, SG_BAD_TCP_OPT },
		{ "MSS length 3", { .family = 6, .opts = OPT_PAD, .optlen = 4 }, opt_mss_len3, SG_BAD_TCP_OPT },
		{ "TS length past header", { .family = 4, .opts = SYN_OPTS, .optlen = 20, .payload = 20 }, opt_ts_len_past, SG_BAD_TCP_OPT },
	};
	bool seen[SG_BAD__COUNT] = { false };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		struct frame f;
		build(&f, &c->s);
		if (c->mutate)
			c->mutate(&f);
		struct sg_pkt p;
		enum sg_pkt_class cl = parse_tight(&f, &p);
		if (cl != SG_PKT_BAD || p.bad != c->want)
			fail_msg("%s: class %d reason %s, want %s", c->what, cl,
			         sg_bad_reason_name(p.bad), sg_bad_reason_name(c->want));
		seen[c->want] = true;
	}
	for (int r = 1; r < SG_BAD__COUNT; r++)
		if (!seen[r])
			fail_msg("no case for %s", sg_bad_reason_name((enum sg_bad_reason)r));
}

static void short_frames_of_every_length_are_eth_trunc(void **state)
{
	(void)state;
	struct frame f;
	struct spec s = { .family = 4 };
	build(&f, &s);
	struct sg_pkt p;
	for (uint32_t n = 0; n < 14; n++) {
		f.len = n;
		assert_int_equal(parse_tight(&f, &p), SG_PKT_BAD);
		assert_int_equal(p.bad, SG_BAD_ETH_TRUNC);
	}
	/* Every cut of a complete tagged IPv6 TCP frame is classified BAD
	 * with a reason of the header that was cut. */
	struct spec s6 = { .family = 6, .ntags = 2, .tpid = { 0x88a8, 0x8100 },
	                   .next = 1, .ext = { { 60, 0, 0 } }, .opts = SYN_OPTS, .optlen = 20 };
	build(&f, &s6);
	uint32_t full = f.len;
	for (uint32_t n = 14; n < full; n++) {
		f.len = n;
		assert_int_equal(parse_tight(&f, &p), SG_PKT_BAD);
		enum sg_bad_reason want = n < 22 ? SG_BAD_VLAN_TRUNC
		                        : n < 62 ? SG_BAD_IP6_TRUNC : SG_BAD_IP6_PLEN;
		assert_int_equal(p.bad, want);
	}
}

static void bad_reason_names_are_distinct_and_stable(void **state)
{
	(void)state;
	for (int a = 0; a < SG_BAD__COUNT; a++) {
		const char *na = sg_bad_reason_name((enum sg_bad_reason)a);
		assert_non_null(na);
		assert_true(strlen(na) > 0);
		assert_string_not_equal(na, "unknown");
		for (int b = a + 1; b < SG_BAD__COUNT; b++)
			assert_string_not_equal(na, sg_bad_reason_name((enum sg_bad_reason)b));
	}
	assert_string_equal(sg_bad_reason_name(SG_BAD_NONE), "none");
	assert_string_equal(sg_bad_reason_name(SG_BAD_TCP_OPT), "tcp_opt");
	assert_string_equal(sg_bad_reason_name(SG_BAD_IP6_EXT_TRUNC), "ip6_ext_trunc");
	assert_string_equal(sg_bad_reason_name(SG_BAD__COUNT), "unknown");
	assert_string_equal(sg_bad_reason_name((enum sg_bad_reason)-1), "unknown");
}

/* ---- TCP checksum helpers ----------------------------------------------- */

static void tcp_checksum_verify_and_fill_with_odd_payloads(void **state)
{
	(void)state;
	const size_t lens[] = { 0, 1, 2, 3, 7, 8, 99, 1001, 1460 };
	for (int fam = 4; fam <= 6; fam += 2)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			struct frame f;
			struct spec s = { .family = fam, .payload = lens[i], .ntags = (int)(i % 3),
			                  .tpid = { 0x88a8, 0x8100 }, .opts = SYN_OPTS, .optlen = 20,
			                  .next = fam == 6 ? 1 : 0, .ext = { { 0, 0, 0 } },
			                  .pad = lens[i] < 8 ? 3 : 0 };
			build(&f, &s);
			struct sg_pkt p;
			assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
			assert_true(sg_pkt_tcp_csum_ok(&p));
			uint16_t good = r16(f.b + p.l4_off + 16);
			/* A flipped bit anywhere in header or payload is caught. */
			size_t at = p.l4_off + p.l4_len - 1;
			f.b[at] ^= 0x10;
			assert_false(sg_pkt_tcp_csum_ok(&p));
			f.b[at] ^= 0x10;
			f.b[p.l4_off + 4] ^= 0x01;
			assert_false(sg_pkt_tcp_csum_ok(&p));
			f.b[p.l4_off + 4] ^= 0x01;
			/* fill from garbage gives back the correct value */
			w16(f.b + p.l4_off + 16, 0xdead);
			assert_false(sg_pkt_tcp_csum_ok(&p));
			sg_pkt_tcp_csum_fill(&p);
			assert_int_equal(r16(f.b + p.l4_off + 16), good);
			assert_true(sg_pkt_tcp_csum_ok(&p));
			/* the source address is covered (pseudo-header) */
			f.b[p.l3_off + (fam == 4 ? 12 : 8)] ^= 0x40;
			assert_false(sg_pkt_tcp_csum_ok(&p));
		}
}

/* ---- checksum offload: the partial pattern ----------------------------- */

/* Frames as a Linux endpoint with TX checksum offload handed them to its
 * veth (kernel 6.18, default offloads), captured on the peer: the checksum
 * field holds the pseudo-header fold.  tcpdump's "incorrect -> X" gave the
 * finished values.  The IPv4 RST is finished by the kernel itself. */
static const uint8_t CAP_SYN4[74] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x5c, 0x81, 0x40, 0x00, 0x40, 0x06,
	0xca, 0x26, 0x0a, 0x09, 0x00, 0x01, 0x0a, 0x09, 0x00, 0x02, 0x84, 0x46,
	0x00, 0x50, 0x6b, 0x0d, 0xf6, 0xdb, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
	0xfa, 0xf0, 0x14, 0x43, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,
	0x08, 0x0a, 0xcf, 0x27, 0x09, 0x47, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03,
	0x03, 0x0a,
};
static const uint8_t CAP_RST4[54] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06,
	0x26, 0xbc, 0x0a, 0x09, 0x00, 0x02, 0x0a, 0x09, 0x00, 0x01, 0x00, 0x50,
	0x84, 0x46, 0x00, 0x00, 0x00, 0x00, 0x6b, 0x0d, 0xf6, 0xdc, 0x50, 0x14,
	0x00, 0x00, 0xb5, 0x3b, 0x00, 0x00,
};
static const uint8_t CAP_SYN6[94] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
	0x86, 0xdd, 0x60, 0x0d, 0x09, 0xc0, 0x00, 0x28, 0x06, 0x40, 0xfd, 0x09,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0xfd, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x9b, 0x60, 0x00, 0x50, 0x65, 0xf2,
	0xa0, 0xc1, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfd, 0x20, 0xfa, 0x44,
	0x00, 0x00, 0x02, 0x04, 0x05, 0xa0, 0x04, 0x02, 0x08, 0x0a, 0x04, 0x98,
	0xe6, 0xbd, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};
static const uint8_t CAP_RST6[74] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b,
	0x86, 0xdd, 0x60, 0x0d, 0x80, 0xde, 0x00, 0x14, 0x06, 0x40, 0xfd, 0x09,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x02, 0xfd, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x50, 0x9b, 0x60, 0x00, 0x00,
	0x00, 0x00, 0x65, 0xf2, 0xa0, 0xc2, 0x50, 0x14, 0x00, 0x00, 0xfa, 0x30,
	0x00, 0x00,
};
static const uint8_t CAP_UDP4[47] = {   /* 5 bytes of payload: odd */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x21, 0xa9, 0x3a, 0x40, 0x00, 0x40, 0x11,
	0x7d, 0x7d, 0x0a, 0x09, 0x00, 0x01, 0x0a, 0x09, 0x00, 0x02, 0xeb, 0xb4,
	0x00, 0x35, 0x00, 0x0d, 0x14, 0x33, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};
static const uint8_t CAP_UDP6[68] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
	0x86, 0xdd, 0x60, 0x0e, 0xbb, 0x7d, 0x00, 0x0e, 0x11, 0x40, 0xfd, 0x09,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0xfd, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x8b, 0x5a, 0x00, 0x35, 0x00, 0x0e,
	0xfa, 0x35, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x36,
};

static void frames_captured_from_linux_endpoints_are_completed(void **state)
{
	(void)state;
	static const struct {
		const uint8_t *b;
		size_t len;
		bool partial;
		uint16_t want;        /* the finished checksum */
	} cap[] = {
		{ CAP_SYN4, sizeof(CAP_SYN4), true, 0x7a09 },
		{ CAP_RST4, sizeof(CAP_RST4), false, 0xb53b },
		{ CAP_SYN6, sizeof(CAP_SYN6), true, 0xc31f },
		{ CAP_RST6, sizeof(CAP_RST6), true, 0x1355 },
		{ CAP_UDP4, sizeof(CAP_UDP4), true, 0xbc03 },
		{ CAP_UDP6, sizeof(CAP_UDP6), true, 0x3624 },
	};
	for (size_t i = 0; i < sizeof(cap) / sizeof(cap[0]); i++) {
		uint8_t b[128];
		struct sg_pkt p;

		memcpy(b, cap[i].b, cap[i].len);
		enum sg_pkt_class c = sg_pkt_parse(&p, b, (uint32_t)cap[i].len);
		assert_true(c == SG_PKT_TCP || c == SG_PKT_IP_OTHER);
		unsigned off = p.l4proto == SG_IPPROTO_TCP ? 16 : 6;
		if (c == SG_PKT_TCP)
			assert_int_equal(sg_pkt_tcp_csum_ok(&p), !cap[i].partial);
		assert_int_equal(sg_pkt_l4_csum_partial(&p), cap[i].partial);
		assert_int_equal(sg_pkt_l4_csum_complete(&p), cap[i].partial);
		assert_int_equal(r16(b + p.l4_off + off), cap[i].want);
		/* Nothing but the checksum field changed. */
		assert_memory_equal(b, cap[i].b, p.l4_off + off);
		assert_memory_equal(b + p.l4_off + off + 2, cap[i].b + p.l4_off + off + 2,
		                    cap[i].len - p.l4_off - off - 2);
		if (c == SG_PKT_TCP)
			assert_true(sg_pkt_tcp_csum_ok(&p));
		assert_false(sg_pkt_l4_csum_partial(&p));
		assert_false(sg_pkt_l4_csum_complete(&p));
	}
}

/* The pseudo-header fold as Linux stores it (~csum_tcpudp_magic), from
 * the reference sum, and the finished checksum of TCP or UDP. */
static void ref_pseudo(const struct frame *f, int family, uint8_t proto, uint8_t ph[40], size_t *phn)
{
	size_t l4len = f->l3_end - f->l4;
	const uint8_t *ip = f->b + f->l3;

	memset(ph, 0, 40);
	if (family == 4) {
		memcpy(ph, ip + 12, 8);
		ph[9] = proto;
		w16(ph + 10, (uint16_t)l4len);
		*phn = 12;
	} else {
		memcpy(ph, ip + 8, 32);
		w32(ph + 32, (uint32_t)l4len);
		ph[39] = proto;
		*phn = 40;
	}
}

static uint16_t ref_partial(const struct frame *f, int family, uint8_t proto)
{
	uint8_t ph[40];
	size_t phn;

	ref_pseudo(f, family, proto, ph, &phn);
	return (uint16_t)ref_add(0, ph, phn);
}

static uint16_t ref_l4_csum(const struct frame *f, int family, uint8_t proto, unsigned off)
{
	uint8_t ph[40];
	size_t phn, l4len = f->l3_end - f->l4;

	ref_pseudo(f, family, proto, ph, &phn);
	uint8_t *t = malloc(l4len + 1);
	memcpy(t, f->b + f->l4, l4len);
	t[off] = t[off + 1] = 0;
	uint16_t c = (uint16_t)~ref_add(ref_add(0, ph, phn), t, l4len);
	free(t);
	return proto == 17 && c == 0 ? 0xffff : c;
}

/* A TCP or UDP frame with a valid checksum: family, tags, payload length.
 * Returns the checksum field's offset in the L4 header. */
static unsigned build_l4(struct frame *f, int fam, uint8_t proto, int ntags, size_t payload)
{
	uint8_t udp[1600];

	if (proto == 6) {
		struct spec s = { .family = fam, .payload = payload, .ntags = ntags,
		                  .tpid = { 0x88a8, 0x8100 }, .opts = SYN_OPTS, .optlen = 20 };
		build(f, &s);
		return 16;
	}
	w16(udp, 5353);
	w16(udp + 2, 53);
	w16(udp + 4, (uint16_t)(8 + payload));
	w16(udp + 6, 0);
	for (size_t i = 0; i < payload; i++)
		udp[8 + i] = (uint8_t)(i * 13 + 1);
	struct spec s = { .family = fam, .proto = 17, .l4raw = udp, .l4rawlen = 8 + payload,
	                  .ntags = ntags, .tpid = { 0x8100, 0x8100 } };
	build(f, &s);
	w16(f->b + f->l4 + 6, ref_l4_csum(f, fam, 17, 6));
	return 6;
}

static const size_t CSUM_LENS[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 32, 33, 1001, 1460 };
#define NCSUM_LENS (sizeof(CSUM_LENS) / sizeof(CSUM_LENS[0]))

static void valid_checksums_are_never_touched(void **state)
{
	(void)state;
	for (int fam = 4; fam <= 6; fam += 2)
		for (uint8_t proto = 6; proto <= 17; proto += 11)
			for (size_t i = 0; i < NCSUM_LENS; i++) {
				struct frame f;
				struct sg_pkt p;
				unsigned off = build_l4(&f, fam, proto, (int)(i % 3), CSUM_LENS[i]);
				uint8_t before[FRAME_MAX];

				memcpy(before, f.b, f.len);
				sg_pkt_parse(&p, f.b, f.len);
				assert_int_equal(r16(f.b + p.l4_off + off), ref_l4_csum(&f, fam, proto, off));
				assert_false(sg_pkt_l4_csum_partial(&p));
				assert_false(sg_pkt_l4_csum_complete(&p));
				assert_memory_equal(f.b, before, f.len);
			}
}

static void partial_checksums_become_valid(void **state)
{
	(void)state;
	for (int fam = 4; fam <= 6; fam += 2)
		for (uint8_t proto = 6; proto <= 17; proto += 11)
			for (size_t i = 0; i < NCSUM_LENS; i++) {
				struct frame f;
				struct sg_pkt p;
				unsigned off = build_l4(&f, fam, proto, (int)(i % 3), CSUM_LENS[i]);
				uint16_t good = r16(f.b + f.l4 + off);

				/* What the endpoint's kernel leaves for the device. */
				w16(f.b + f.l4 + off, ref_partial(&f, fam, proto));
				enum sg_pkt_class c = sg_pkt_parse(&p, f.b, f.len);
				assert_int_equal(c, proto == 6 ? SG_PKT_TCP : SG_PKT_IP_OTHER);
				if (proto == 6)
					assert_false(sg_pkt_tcp_csum_ok(&p));
				assert_true(sg_pkt_l4_csum_partial(&p));
				assert_true(sg_pkt_l4_csum_complete(&p));
				assert_int_equal(r16(f.b + f.l4 + off), good);
				if (proto == 6)
					assert_true(sg_pkt_tcp_csum_ok(&p));
				/* Once finished it is a valid checksum like any other. */
				assert_false(sg_pkt_l4_csum_complete(&p));
				assert_int_equal(r16(f.b + f.l4 + off), good);
			}
}

static void udp_sum_of_zero_is_sent_as_ffff(void **state)
{
	(void)state;
	for (int fam = 4; fam <= 6; fam += 2) {
		struct frame f;
		struct sg_pkt p;

		/* Two payload bytes chosen so header + payload + pseudo-header
		 * sum to 0xffff: the complement, 0, must go out as 0xffff. */
		build_l4(&f, fam, 17, 0, 10);
		w16(f.b + f.l4 + 16, 0);
		w16(f.b + f.l4 + 6, 0);
		uint8_t ph[40];
		size_t phn;
		ref_pseudo(&f, fam, 17, ph, &phn);
		uint16_t s = (uint16_t)ref_add(ref_add(0, ph, phn), f.b + f.l4, 18);
		w16(f.b + f.l4 + 16, (uint16_t)~s);
		w16(f.b + f.l4 + 6, ref_partial(&f, fam, 17));
		sg_pkt_parse(&p, f.b, f.len);
		assert_true(sg_pkt_l4_csum_complete(&p));
		assert_int_equal(r16(f.b + f.l4 + 6), 0xffff);
	}
}

static void udp_without_checksum_or_with_a_wrong_length_is_left_alone(void **state)
{
	(void)state;
	struct frame f;
	struct sg_pkt p;

	/* IPv4 UDP checksum 0: none at all, never the pattern. */
	build_l4(&f, 4, 17, 0, 11);
	w16(f.b + f.l4 + 6, 0);
	sg_pkt_parse(&p, f.b, f.len);
	assert_false(sg_pkt_l4_csum_partial(&p));
	assert_false(sg_pkt_l4_csum_complete(&p));
	assert_int_equal(r16(f.b + f.l4 + 6), 0);
	/* A UDP length other than the IP payload's: not ours to judge. */
	for (int d = -1; d <= 1; d += 2) {
		build_l4(&f, 4, 17, 0, 11);
		w16(f.b + f.l4 + 4, (uint16_t)(19 + d));
		w16(f.b + f.l4 + 6, ref_partial(&f, 4, 17));
		uint16_t before = r16(f.b + f.l4 + 6);
		sg_pkt_parse(&p, f.b, f.len);
		assert_false(sg_pkt_l4_csum_complete(&p));
		assert_int_equal(r16(f.b + f.l4 + 6), before);
	}
	/* ICMP has no pseudo-header pattern to finish. */
	const uint8_t echo[8] = { 8, 0, 0, 0, 0, 1, 0, 1 };
	struct spec si = { .family = 4, .proto = 1, .l4raw = echo, .l4rawlen = 8 };
	build(&f, &si);
	sg_pkt_parse(&p, f.b, f.len);
	assert_false(sg_pkt_l4_csum_complete(&p));
	assert_int_equal(sg_pkt_l4_csum_prepare(&p), -EINVAL);
}

static void first_fragments_are_never_touched(void **state)
{
	(void)state;
	uint8_t udp[24] = { 0x14, 0xe9, 0, 53, 0, 24 };
	struct spec specs[] = {
		{ .family = 4, .ip4_frag = 0x2000, .payload = 9 },
		{ .family = 6, .next = 1, .ext = { { 44, 0, 1 } }, .payload = 9 },
		{ .family = 4, .proto = 17, .ip4_frag = 0x2000, .l4raw = udp, .l4rawlen = 24 },
		{ .family = 6, .proto = 17, .next = 1, .ext = { { 44, 0, 1 } }, .l4raw = udp,
		  .l4rawlen = 24 },
	};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct frame f;
		struct sg_pkt p;
		uint8_t proto = specs[i].proto ? specs[i].proto : 6;
		unsigned off = proto == 6 ? 16 : 6;

		build(&f, &specs[i]);
		/* The pattern over the bytes that are here: still not touched. */
		w16(f.b + f.l4 + off, ref_partial(&f, specs[i].family, proto));
		uint8_t before[FRAME_MAX];
		memcpy(before, f.b, f.len);
		sg_pkt_parse(&p, f.b, f.len);
		assert_true(p.first_frag);
		assert_false(sg_pkt_l4_csum_partial(&p));
		assert_false(sg_pkt_l4_csum_complete(&p));
		assert_int_equal(sg_pkt_l4_csum_prepare(&p), -EINVAL);
		assert_memory_equal(f.b, before, f.len);
	}
	/* A later fragment has no L4 header at all. */
	struct frame f;
	struct sg_pkt p;
	struct spec s = { .family = 4, .ip4_frag = 100, .payload = 9 };
	build(&f, &s);
	assert_int_equal(sg_pkt_parse(&p, f.b, f.len), SG_PKT_FRAGMENT);
	assert_false(sg_pkt_l4_csum_complete(&p));
}

static void prepare_undoes_complete(void **state)
{
	(void)state;
	for (int fam = 4; fam <= 6; fam += 2)
		for (uint8_t proto = 6; proto <= 17; proto += 11)
			for (size_t i = 0; i < NCSUM_LENS; i += 3) {
				struct frame f;
				struct sg_pkt p;
				unsigned off = build_l4(&f, fam, proto, (int)(i % 3), CSUM_LENS[i]);
				uint16_t good = r16(f.b + f.l4 + off);

				sg_pkt_parse(&p, f.b, f.len);
				assert_int_equal(sg_pkt_l4_csum_prepare(&p), (int)off);
				assert_int_equal(r16(f.b + f.l4 + off), ref_partial(&f, fam, proto));
				assert_true(sg_pkt_l4_csum_partial(&p));
				assert_true(sg_pkt_l4_csum_complete(&p));
				assert_int_equal(r16(f.b + f.l4 + off), good);
			}
}

static void set32_on_sack_edge_at_odd_offset_keeps_checksum_valid(void **state)
{
	(void)state;
	/* NOP, SACK 3 blocks (26 bytes), NOP: SACK kind at TCP offset 21. */
	uint8_t opts[28] = { 1, 5, 26 };
	for (int i = 0; i < 24; i++)
		opts[3 + i] = (uint8_t)(0x40 + i);
	opts[27] = 1;
	for (int fam = 4; fam <= 6; fam += 2)
		for (size_t pay = 0; pay < 4; pay++) {
			struct frame f;
			struct spec s = { .family = fam, .opts = opts, .optlen = 28, .payload = pay };
			build(&f, &s);
			struct sg_pkt p;
			assert_int_equal(parse_tight(&f, &p), SG_PKT_TCP);
			assert_int_equal(p.opt.sack_off, 21);
			assert_int_equal(p.opt.sack_blocks, 3);
			for (unsigned b = 0; b < p.opt.sack_blocks; b++) {
				unsigned left = sg_tcpopt_sack_edge(&p.opt, b);
				assert_int_equal(left % 2, 1);
				uint32_t l = r32(f.b + p.l4_off + left);
				uint32_t r = r32(f.b + p.l4_off + left + 4);
				sg_pkt_tcp_set32(&p, left, l - 0x10203040u);
				sg_pkt_tcp_set32(&p, left + 4, r - 0x10203040u);
				assert_int_equal(r32(f.b + p.l4_off + left), l - 0x10203040u);
				assert_true(sg_pkt_tcp_csum_ok(&p));
				assert_int_equal(r16(f.b + p.l4_off + 16), ref_tcp_csum(&f, fam));
			}
			/* 16 bits at an odd offset (inside the last block) */
			unsigned odd = sg_tcpopt_sack_edge(&p.opt, 2) + 2;
			sg_pkt_tcp_set16(&p, odd, 0xfffe);
			assert_int_equal(r16(f.b + p.l4_off + odd), 0xfffe);
			assert_true(sg_pkt_tcp_csum_ok(&p));
			/* ack, window: the other rewrites the proxy does */
			sg_pkt_tcp_set32(&p, 8, p.ack + 12345);
			sg_pkt_tcp_set16(&p, 14, 0);
			assert_true(sg_pkt_tcp_csum_ok(&p));
			assert_int_equal(r16(f.b + p.l4_off + 14), 0);
			/* the parse after rewriting sees the new values */
			struct sg_pkt q;
			assert_int_equal(sg_pkt_parse(&q, f.b, f.len), SG_PKT_TCP);
			assert_int_equal(q.ack, 0x55667788u + 12345);
			assert_int_equal(q.win, 0);
		}
}

/* ---- ICMP quotes ------------------------------------------------------- */

/* An ICMP(v6) error message of type t quoting a TCP frame's IP packet,
 * cut to quote_len bytes of it. */
static void build_icmp(struct frame *f, int fam, uint8_t type, const struct spec *inner_spec,
                       size_t quote_len)
{
	struct frame in;
	build(&in, inner_spec);
	uint8_t raw[1500];
	memset(raw, 0, 8);
	raw[0] = type;
	raw[1] = 4;
	w16(raw + 6, 1400);   /* next-hop MTU / PTB MTU low bits */
	size_t ql = in.l3_end - in.l3;
	if (quote_len < ql)
		ql = quote_len;
	memcpy(raw + 8, in.b + in.l3, ql);
	struct spec s = { .family = fam, .proto = fam == 4 ? 1 : 58, .l4raw = raw,
	                  .l4rawlen = 8 + ql, .ntags = 1, .tpid = { 0x8100 } };
	build(f, &s);
}

static void icmp4_errors_quoting_tcp_are_parsed(void **state)
{
	(void)state;
	const uint8_t types[] = { 3, 11, 12 };
	struct spec in = { .family = 4, .ip4_optlen = 4, .opts = SYN_OPTS, .optlen = 20 };
	for (size_t i = 0; i < 3; i++) {
		struct frame f;
		build_icmp(&f, 4, types[i], &in, 24 + 8);
		struct sg_pkt o, q;
		assert_int_equal(parse_tight(&f, &o), SG_PKT_IP_OTHER);
		assert_int_equal(o.l4proto, SG_IPPROTO_ICMP);
		assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), 0);
		assert_int_equal(q.family, 4);
		assert_int_equal(q.l3_off, 18 + 20 + 8);
		assert_int_equal(q.l4_off, 18 + 20 + 8 + 24);
		assert_int_equal(q.sport, 40000);
		assert_int_equal(q.dport, 80);
		assert_int_equal(q.seq, 0x11223344);
		assert_int_equal(q.ack, 0);      /* not quoted */
		assert_int_equal(q.l4_len, 8);
		assert_int_equal(q.l3_end, o.l3_end);
		assert_int_equal(q.nvlan, 1);
		assert_ptr_equal(q.data, o.data);
		assert_memory_equal(sg_pkt_saddr(&q), SA4, 4);
		assert_memory_equal(sg_pkt_daddr(&q), DA4, 4);
	}
	/* A longer quote also yields the ACK number. */
	struct frame f;
	build_icmp(&f, 4, 3, &in, 1000);
	struct sg_pkt o, q;
	assert_int_equal(parse_tight(&f, &o), SG_PKT_IP_OTHER);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), 0);
	assert_int_equal(q.ack, 0x55667788);
}

static void icmp6_errors_quoting_tcp_are_parsed(void **state)
{
	(void)state;
	const uint8_t types[] = { 1, 2, 3, 4 };
	struct spec in = { .family = 6, .next = 1, .ext = { { 60, 0, 0 } }, .payload = 50 };
	for (size_t i = 0; i < 4; i++) {
		struct frame f;
		build_icmp(&f, 6, types[i], &in, 40 + 8 + 12);
		struct sg_pkt o, q;
		assert_int_equal(parse_tight(&f, &o), SG_PKT_IP_OTHER);
		assert_int_equal(o.l4proto, SG_IPPROTO_ICMPV6);
		assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), 0);
		assert_int_equal(q.family, 6);
		assert_int_equal(q.l3_off, 18 + 40 + 8);
		assert_int_equal(q.l4_off, 18 + 40 + 8 + 48);
		assert_int_equal(q.sport, 40000);
		assert_int_equal(q.seq, 0x11223344);
		assert_int_equal(q.ack, 0x55667788);
		assert_memory_equal(sg_pkt_daddr(&q), DA6, 16);
	}
}

static void icmp_non_errors_and_non_tcp_quotes_are_enoent(void **state)
{
	(void)state;
	struct spec in4 = { .family = 4 }, in6 = { .family = 6 };
	struct frame f;
	struct sg_pkt o, q;
	build_icmp(&f, 4, 8 /* echo request */, &in4, 100);
	assert_int_equal(parse_tight(&f, &o), SG_PKT_IP_OTHER);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -ENOENT);
	build_icmp(&f, 4, 0 /* echo reply */, &in4, 100);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -ENOENT);
	build_icmp(&f, 6, 128, &in6, 100);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -ENOENT);
	build_icmp(&f, 6, 135 /* neighbour solicitation */, &in6, 100);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -ENOENT);
	/* ICMPv4 type numbers mean nothing in ICMPv6 and the reverse. */
	build_icmp(&f, 6, 11, &in6, 100);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -ENOENT);
	/* An error quoting UDP. */
	const uint8_t udp[8] = { 0, 53, 0, 53, 0, 8, 0, 0 };
	struct spec u4 = { .family = 4, .proto = 17, .l4raw = udp, .l4rawlen = 8 };
	build_icmp(&f, 4, 3, &u4, 100);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -ENOENT);
	struct spec u6 = { .family = 6, .proto = 17, .l4raw = udp, .l4rawlen = 8 };
	build_icmp(&f, 6, 1, &u6, 100);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -ENOENT);
	/* Not ICMP at all. */
	struct spec t = { .family = 4 };
	build(&f, &t);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -ENOENT);
}

static void icmp_truncated_quotes_are_einval(void **state)
{
	(void)state;
	struct spec in4 = { .family = 4 }, in6 = { .family = 6, .next = 1, .ext = { { 0, 1, 0 } } };
	struct frame f;
	struct sg_pkt o, q;
	/* IPv4: 20 bytes of IP + 7 of TCP; only 19 of IP. */
	build_icmp(&f, 4, 3, &in4, 27);
	assert_int_equal(parse_tight(&f, &o), SG_PKT_IP_OTHER);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -EINVAL);
	build_icmp(&f, 4, 3, &in4, 19);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -EINVAL);
	build_icmp(&f, 4, 3, &in4, 0);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -EINVAL);
	build_icmp(&f, 4, 3, &in4, 28);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), 0);
	/* IPv6: extension header cut, then TCP cut. */
	build_icmp(&f, 6, 2, &in6, 40 + 10);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -EINVAL);
	build_icmp(&f, 6, 2, &in6, 40 + 16 + 7);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -EINVAL);
	build_icmp(&f, 6, 2, &in6, 39);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -EINVAL);
	build_icmp(&f, 6, 2, &in6, 40 + 16 + 8);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), 0);
	/* A quoted header of the wrong version. */
	build_icmp(&f, 4, 3, &in4, 100);
	parse_tight(&f, &o);
	f.b[o.l4_off + 8] = 0x65;
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -EINVAL);
	/* ICMP header itself shorter than 8 bytes. */
	const uint8_t shorty[4] = { 3, 4, 0, 0 };
	struct spec s = { .family = 4, .proto = 1, .l4raw = shorty, .l4rawlen = 4 };
	build(&f, &s);
	parse_tight(&f, &o);
	assert_int_equal(sg_pkt_parse_icmp_quote(&o, &q), -EINVAL);
}

/* ---- robustness --------------------------------------------------------- */

static void mutated_frames_never_read_outside_and_keep_invariants(void **state)
{
	(void)state;
	uint64_t x = 0x0123456789abcdefull;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
	const struct spec bases[] = {
		{ .family = 4, .opts = SYN_OPTS, .optlen = 20, .payload = 10 },
		{ .family = 6, .ntags = 2, .tpid = { 0x88a8, 0x8100 }, .next = 3,
		  .ext = { { 0, 0, 0 }, { 44, 0, 1 }, { 51, 2, 0 } }, .opts = SYN_OPTS, .optlen = 20 },
		{ .family = 4, .ip4_optlen = 12, .ntags = 1, .tpid = { 0x9100 }, .ip4_frag = 0x2000, .opts = SYN_OPTS, .optlen = 20 },
	};
	unsigned classes[5] = { 0 };
	for (int n = 0; n < 60000; n++) {
		struct frame f;
		build(&f, &bases[n % 3]);
		int flips = 1 + (int)(RND() % 4);
		for (int k = 0; k < flips; k++) {
			uint32_t at = (uint32_t)(RND() % f.len);
			f.b[at] = (uint8_t)RND();
		}
		if (RND() % 4 == 0)
			f.len = (uint32_t)(RND() % (f.len + 1));
		if (f.b[f.l3] >> 4 == 4 && RND() % 2)
			fix_ip4_csum(&f);
		struct sg_pkt p;
		enum sg_pkt_class c = parse_tight(&f, &p);
		assert_true(c <= SG_PKT_BAD);
		classes[c]++;
		if (c == SG_PKT_BAD) {
			assert_true(p.bad > SG_BAD_NONE && p.bad < SG_BAD__COUNT);
			continue;
		}
		assert_int_equal(p.bad, SG_BAD_NONE);
		if (c == SG_PKT_TCP) {
			assert_true(p.l3_end <= p.len);
			assert_true(p.l4_off + p.l4_len == p.l3_end);
			assert_true(p.tcp_hlen >= 20 && p.tcp_hlen <= p.l4_len);
			assert_int_equal(p.payload_len, p.l4_len - p.tcp_hlen);
			if (p.opt.present & SG_OPT_SACK)
				assert_true(p.opt.sack_off + 2u + 8u * p.opt.sack_blocks <= p.tcp_hlen);
			if (p.opt.present & SG_OPT_TS)
				assert_true(p.opt.ts_off + 10u <= p.tcp_hlen);
		}
		if (c == SG_PKT_IP_OTHER)
			assert_true(p.l4_off + p.l4_len == p.l3_end && p.l3_end <= p.len);
	}
	assert_true(classes[SG_PKT_TCP] > 1000);
	assert_true(classes[SG_PKT_BAD] > 1000);
#undef RND
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(untagged_ipv4_tcp_has_every_field),
		cmocka_unit_test(ipv4_options_are_skipped),
		cmocka_unit_test(untagged_ipv6_tcp_has_every_field),
		cmocka_unit_test(one_vlan_tag_of_each_tpid_is_kept),
		cmocka_unit_test(two_tags_qinq_are_kept_outermost_first),
		cmocka_unit_test(three_tags_are_rejected),
		cmocka_unit_test(other_ethertypes_are_not_ip),
		cmocka_unit_test(udp_and_icmp_are_ip_other_with_l4_offset),
		cmocka_unit_test(ethernet_padding_after_short_ipv4_is_ignored),
		cmocka_unit_test(ipv6_each_extension_header_is_walked),
		cmocka_unit_test(ipv6_chain_of_several_extension_headers),
		cmocka_unit_test(ah_is_sized_by_its_own_type_not_the_next),
		cmocka_unit_test(ipv6_extension_depth_limit),
		cmocka_unit_test(ipv4_fragments),
		cmocka_unit_test(ipv6_fragments),
		cmocka_unit_test(every_malformed_frame_gets_its_exact_reason),
		cmocka_unit_test(short_frames_of_every_length_are_eth_trunc),
		cmocka_unit_test(bad_reason_names_are_distinct_and_stable),
		cmocka_unit_test(tcp_checksum_verify_and_fill_with_odd_payloads),
		cmocka_unit_test(frames_captured_from_linux_endpoints_are_completed),
		cmocka_unit_test(valid_checksums_are_never_touched),
		cmocka_unit_test(partial_checksums_become_valid),
		cmocka_unit_test(udp_sum_of_zero_is_sent_as_ffff),
		cmocka_unit_test(udp_without_checksum_or_with_a_wrong_length_is_left_alone),
		cmocka_unit_test(first_fragments_are_never_touched),
		cmocka_unit_test(prepare_undoes_complete),
		cmocka_unit_test(set32_on_sack_edge_at_odd_offset_keeps_checksum_valid),
		cmocka_unit_test(icmp4_errors_quoting_tcp_are_parsed),
		cmocka_unit_test(icmp6_errors_quoting_tcp_are_parsed),
		cmocka_unit_test(icmp_non_errors_and_non_tcp_quotes_are_enoent),
		cmocka_unit_test(icmp_truncated_quotes_are_einval),
		cmocka_unit_test(mutated_frames_never_read_outside_and_keep_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
