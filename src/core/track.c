/* LAN-opened connections (see track.h). */
#include "core/track.h"

#include "core/conn.h"
#include "core/emit.h"
#include "net/tcpopt.h"

static void clamp_mss(struct sg_proxy_worker *w, struct sg_pkt *p)
{
	uint16_t clamp = w->p->cfg.uplink_mss_clamp;

	if (clamp && (p->opt.present & SG_OPT_MSS) && p->opt.mss > clamp) {
		sg_pkt_tcp_set16(p, p->opt.mss_off + 2u, clamp);
		sg_count(w, SG_STAT_MSS_CLAMPED);
	}
}

enum sg_verdict sg_track_open(struct sg_proxy_worker *w, struct sg_pkt *p,
                              const struct sg_flow_ref *fr, struct sg_conn *old)
{
	bool syn = sg_is_pure_syn(p);
	/* Mid-stream from LAN: the protected side is trusted, so track it and
	 * let the replies through. */
	enum sg_ct_state ns = syn ? SG_CT_UP_SYN_SENT : SG_CT_ESTABLISHED;
	struct sg_conn *c;

	if (p->tcp_flags & SG_TCP_RST)
		return SG_VERDICT_FORWARD;
	struct sg_conn_rec init = { .client_ws = SG_WS_NONE, .server_ws = SG_WS_NONE };

	if (syn) {
		clamp_mss(w, p);
		if (p->opt.present & SG_OPT_WS)
			init.server_ws = p->opt.wscale > SG_TCP_WSCALE_MAX ? SG_TCP_WSCALE_MAX : p->opt.wscale;
	} else {
		init.seen = SG_SEEN_NO_SCALE;
	}
	sg_conn_learn_shifts(&init);
	c = sg_conn_open_tracked(w->p->ct, w->id, &fr->k, fr->h, old, ns, &init, w->now_ms);
	if (!c) {
		sg_count(w, SG_STAT_DROP_TABLE_FULL);
		return SG_VERDICT_FORWARD;
	}
	sg_count(w, old ? SG_STAT_CONN_REPLACED :
	            syn ? SG_STAT_UPLINK_TRACKED : SG_STAT_UPLINK_PICKUP);
	sg_conn_observe(c, SG_DIR_LAN, p);
	return SG_VERDICT_FORWARD;
}

enum sg_verdict sg_track_segment(struct sg_proxy_worker *w, struct sg_conn *c,
                                 struct sg_pkt *p, enum sg_port port, struct sg_out *out)
{
	struct sg_ct *ct = w->p->ct;
	enum sg_ct_state s = sg_ct_state_get(c);
	enum sg_dir dir = port == SG_PORT_WAN ? SG_DIR_WAN : SG_DIR_LAN;
	enum sg_stat why;
	bool challenge;

	if (port == SG_PORT_LAN && sg_is_synack(p))
		clamp_mss(w, p);
	if (port == SG_PORT_WAN && s == SG_CT_UP_SYN_SENT && sg_is_synack(p)) {
		/* A state change on a WAN segment: only with a valid checksum. */
		if (!sg_pkt_tcp_csum_ok(p)) {
			sg_count(w, SG_STAT_DROP_BAD_CSUM);
			return SG_VERDICT_DROP;
		}
		sg_conn_uplink_answered(ct, w->id, c, (p->opt.present & SG_OPT_WS) ?
		                        (p->opt.wscale > SG_TCP_WSCALE_MAX ? SG_TCP_WSCALE_MAX : p->opt.wscale) :
		                        SG_WS_NONE, w->now_ms);
	} else if (port == SG_PORT_LAN && s == SG_CT_UP_SYN_RECV &&
	           (p->tcp_flags & SG_TCP_ACK) && !(p->tcp_flags & SG_TCP_SYN)) {
		sg_ct_set_state(ct, w->id, c, SG_CT_ESTABLISHED, w->now_ms);
	} else if (!sg_conn_close_rules(ct, w->id, c, p, dir, w->p->cfg.rst_slack, w->now_ms, &why,
	                                &challenge)) {
		sg_count(w, why);
		if (challenge)
			sg_emit_challenge_ack(w, out, c, p, dir);
		return SG_VERDICT_DROP;
	}
	sg_conn_observe(c, dir, p);
	sg_ct_touch(ct, c, w->now_ms);
	return SG_VERDICT_FORWARD;
}
