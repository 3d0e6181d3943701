/* Splicing an established proxied connection (see splice.h and, for the
 * sequence spaces, conn.h). */
#include "core/splice.h"

#include "core/conn.h"
#include "core/emit.h"
#include "net/bytes.h"
#include "net/csum.h"
#include "net/tcpopt.h"

/* Overwrites option bytes [off, off+len) of the TCP header with NOPs,
 * two at a time so the checksum follows (len is even for SACK and TS). */
static void nop_out(struct sg_pkt *p, struct sg_csum_edit *e, unsigned off, unsigned len)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		sg_pkt_tcp_edit16(p, e, off + i, 0x0101);
}

static void rewrite_window(struct sg_pkt *p, struct sg_csum_edit *e, uint16_t win)
{
	if (win != p->win)
		sg_pkt_tcp_edit16(p, e, 14, win);
}

/* The FIN/RST rules and the sequence tracking every passing segment goes
 * through; false (counted) when it must be dropped.  Inlined into both
 * directions: as a call it cost the established path 18 instructions a
 * packet. */
static inline __attribute__((always_inline))
bool pass(struct sg_proxy_worker *w, struct sg_conn *c, const struct sg_pkt *p, enum sg_dir dir,
          struct sg_out *out)
{
	enum sg_stat why;
	bool challenge;

	if (!sg_conn_close_rules(w->p->ct, w->id, c, p, dir, w->p->cfg.rst_slack, w->now_ms, &why,
	                         &challenge)) {
		sg_count(w, why);
		if (challenge)
			sg_emit_challenge_ack(w, out, c, p, dir);
		return false;
	}
	sg_conn_observe(c, dir, p);
	return true;
}

static void c2s_sack(struct sg_proxy_worker *w, const struct sg_conn_rec *r, struct sg_pkt *p,
                     struct sg_csum_edit *e)
{
	if (r->flags & SG_CONN_SERVER_SACK) {
		uint8_t *t = sg_pkt_l4(p);

		for (unsigned i = 0; i < p->opt.sack_blocks; i++) {
			unsigned edge = sg_tcpopt_sack_edge(&p->opt, i);

			sg_pkt_tcp_edit32(p, e, edge, sg_rd32(t + edge) - r->seq_offset);
			sg_pkt_tcp_edit32(p, e, edge + 4, sg_rd32(t + edge + 4) - r->seq_offset);
		}
	} else {
		nop_out(p, e, p->opt.sack_off, 2 + 8u * p->opt.sack_blocks);
		sg_count(w, SG_STAT_SACK_STRIPPED);
	}
}

/* All rewrites of a segment share one checksum update. */
enum sg_verdict sg_splice_c2s(struct sg_proxy_worker *w, struct sg_conn *c, struct sg_pkt *p,
                              struct sg_out *out)
{
	const struct sg_conn_rec *r = sg_conn_rec(c);
	struct sg_csum_edit e = { 0 };
	uint8_t flags = r->flags;

	if (p->tcp_flags & SG_TCP_ACK) {
		/* First, so the closing rules compare in the server's space. */
		p->ack -= r->seq_offset;
		sg_pkt_tcp_edit32(p, &e, 8, p->ack);
		/* The rules verify a FIN's or RST's checksum: keep it whole. */
		if (__builtin_expect(p->tcp_flags & (SG_TCP_FIN | SG_TCP_RST), 0))
			sg_pkt_tcp_edit_apply(p, &e);
	}
	if (!pass(w, c, p, SG_DIR_WAN, out)) {
		sg_pkt_tcp_edit_apply(p, &e);
		return SG_VERDICT_DROP;
	}
	if (p->opt.present & SG_OPT_SACK)
		c2s_sack(w, r, p, &e);
	if (p->opt.present & SG_OPT_TS) {
		if (flags & SG_CONN_SERVER_TS) {
			sg_pkt_tcp_edit32(p, &e, p->opt.ts_off + 6u, p->opt.tsecr - r->ts_offset);
		} else {
			nop_out(p, &e, p->opt.ts_off, 10);
			sg_count(w, SG_STAT_TS_STRIPPED);
		}
	}
	rewrite_window(p, &e, sg_conn_win_c2s(r, p->win));
	sg_pkt_tcp_edit_apply(p, &e);
	sg_ct_touch(w->p->ct, c, w->now_ms);
	return SG_VERDICT_FORWARD;
}

enum sg_verdict sg_splice_s2c(struct sg_proxy_worker *w, struct sg_conn *c, struct sg_pkt *p,
                              struct sg_out *out)
{
	const struct sg_conn_rec *r = sg_conn_rec(c);
	struct sg_csum_edit e = { 0 };

	if (!pass(w, c, p, SG_DIR_LAN, out))
		return SG_VERDICT_DROP;
	sg_pkt_tcp_edit32(p, &e, 4, p->seq + r->seq_offset);
	if ((p->opt.present & SG_OPT_TS) && (r->flags & SG_CONN_CLIENT_TS))
		sg_pkt_tcp_edit32(p, &e, p->opt.ts_off + 2u, p->opt.tsval + r->ts_offset);
	rewrite_window(p, &e, sg_conn_win_s2c(r, p->win));
	sg_pkt_tcp_edit_apply(p, &e);
	sg_ct_touch(w->p->ct, c, w->now_ms);
	return SG_VERDICT_FORWARD;
}

/* ---- ICMP errors quoting a proxied connection ---- */

void sg_splice_icmp(struct sg_proxy_worker *w, struct sg_pkt *p, enum sg_port port)
{
	struct sg_pkt in;
	struct sg_flow k;
	struct sg_conn *c;
	struct sg_csum_edit e = { 0 };
	uint8_t *icmp = sg_pkt_l4(p);
	size_t icmp_len = (size_t)(p->l3_end - p->l4_off);
	size_t tcp_off, seq_off, tcsum_off;
	uint32_t seq;

	if (sg_pkt_parse_icmp_quote(p, &in) != 0)
		return;
	/* The quote is of a segment the ICMP's destination sent: an error
	 * travelling to LAN quotes a server->client segment, whose SEQ the
	 * client saw translated; one travelling to WAN quotes client->server
	 * segments, whose SEQ needs nothing. */
	if (port != SG_PORT_WAN)
		return;
	sg_flow_from_pkt(&k, &in, SG_PORT_LAN);
	c = sg_ct_lookup(w->p->ct, w->id, &k, sg_ct_hash(w->p->ct, &k));
	if (!c || !(sg_conn_rec(c)->flags & SG_CONN_PROXIED) || sg_conn_state(c) == SG_CT_SYN_SENT)
		return;
	tcp_off = (size_t)(in.l4_off - p->l4_off);
	seq_off = tcp_off + 4;
	tcsum_off = tcp_off + 16;
	seq = sg_rd32(icmp + seq_off) - sg_conn_rec(c)->seq_offset;
	/* RFC 792 quotes as little as 8 TCP bytes: a quote that cuts the TCP
	 * checksum field off has no checksum to keep consistent, and bytes
	 * past l3_end are Ethernet padding, not ours to write. */
	if (tcsum_off + 2 <= icmp_len) {
		/* The quote must read as the segment the server sent: with its
		 * SEQ back but the old checksum, a whole quote fails any check
		 * of it.  sq stands in for the SEQ field so the frame keeps the
		 * old SEQ for the ICMP edit below; offset 0 of sq and offset 4
		 * of the TCP header (behind a 12- or 40-byte pseudo-header) are
		 * both even, so the TCP sum sees the same words. */
		uint8_t sq[4], tcsum[2];

		memcpy(sq, icmp + seq_off, sizeof(sq));
		memcpy(tcsum, icmp + tcsum_off, sizeof(tcsum));
		sg_csum_set32(sq, 0, tcsum, seq);
		sg_csum_edit16(&e, icmp, tcsum_off, sg_rd16(tcsum));
	}
	/* The ICMP checksum covers the whole message (and, for ICMPv6, a
	 * pseudo-header whose even length keeps the offsets' parity).  The
	 * quoted TCP header sits at an even offset (IPv4 header and IPv6
	 * extension header lengths are multiples of 4), but the edit does
	 * not rely on it. */
	sg_csum_edit32(&e, icmp, seq_off, seq);
	sg_csum_edit_apply(&e, icmp + 2);
	sg_count(w, SG_STAT_ICMP_TRANSLATED);
}
