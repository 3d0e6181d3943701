/* Tracked connections (see track.h). */
#include "core/track.h"

#include "core/conn.h"
#include "core/emit.h"
#include "net/tcpopt.h"

static void clamp_mss(struct sg_proxy_worker *w, struct sg_pkt *p)
{
	uint16_t clamp = w->cfg->uplink_mss_clamp;

	if (clamp && (p->opt.present & SG_OPT_MSS) && p->opt.mss > clamp) {
		sg_pkt_tcp_set16(p, p->opt.mss_off + 2u, clamp);
		sg_count(w, SG_STAT_MSS_CLAMPED);
	}
}

static uint8_t ws_of(const struct sg_pkt *p)
{
	if (!(p->opt.present & SG_OPT_WS))
		return SG_WS_NONE;
	return p->opt.wscale > SG_TCP_WSCALE_MAX ? SG_TCP_WSCALE_MAX : p->opt.wscale;
}

enum sg_verdict sg_track_open(struct sg_proxy_worker *w, struct sg_pkt *p,
                              const struct sg_flow_ref *fr, struct sg_conn *old)
{
	bool syn = sg_is_pure_syn(p);
	/* Mid-stream from LAN: the protected side is trusted, so track it and
	 * let the replies through. */
	enum sg_ct_state ns = syn ? SG_CT_UP_SYN_SENT : SG_CT_ESTABLISHED;
	struct sg_conn_rec init = { .client_ws = SG_WS_NONE, .server_ws = SG_WS_NONE };
	struct sg_conn *c;
	bool opened;

	if (p->tcp_flags & SG_TCP_RST)
		return SG_VERDICT_FORWARD;
	if (syn) {
		clamp_mss(w, p);
		init.server_ws = ws_of(p);
	} else {
		init.seen = SG_SEEN_NO_SCALE;
	}
	sg_conn_learn_shifts(&init);
	c = sg_conn_open_tracked(w->p->ct, w->id, &fr->k, fr->h, old, ns, &init, w->now_ms, &opened);
	if (!c) {
		sg_count(w, SG_STAT_DROP_TABLE_FULL);
		return SG_VERDICT_FORWARD;
	}
	sg_count(w, old ? SG_STAT_CONN_REPLACED :
	            syn ? SG_STAT_UPLINK_TRACKED : SG_STAT_UPLINK_PICKUP);
	sg_conn_observe(c, SG_DIR_LAN, p);
	return SG_VERDICT_FORWARD;
}

enum sg_verdict sg_track_open_wan(struct sg_proxy_worker *w, struct sg_pkt *p,
                                  const struct sg_flow_ref *fr, struct sg_conn *old)
{
	struct sg_proxy *px = w->p;
	struct sg_conn_rec init = { .client_ws = ws_of(p), .server_ws = SG_WS_NONE,
	                            .seen = SG_SEEN_OPENED_WAN };
	struct sg_conn *c;
	bool opened;

	/* State from a WAN SYN, which no cookie vouches for: only with a
	 * valid checksum, and counted against the source's quota. */
	if (!sg_pkt_tcp_csum_ok(p)) {
		sg_count(w, SG_STAT_DROP_BAD_CSUM);
		return SG_VERDICT_DROP;
	}
	if (!old && px->quota) {
		if (!sg_quota_take(px->quota, w->id, &fr->k, __atomic_load_n(&px->quota_limit, __ATOMIC_RELAXED))) {
			sg_count(w, SG_STAT_DROP_SOURCE_QUOTA);
			return SG_VERDICT_DROP;
		}
		init.seen |= SG_SEEN_COUNTED;
	}
	sg_conn_learn_shifts(&init);
	c = sg_conn_open_tracked(px->ct, w->id, &fr->k, fr->h, old, SG_CT_UP_SYN_SENT, &init,
	                         w->now_ms, &opened);
	if ((!c || !opened) && (init.seen & SG_SEEN_COUNTED))
		sg_quota_give(px->quota, w->id, &fr->k);
	if (!c) {
		sg_count(w, SG_STAT_DROP_TABLE_FULL);
		return SG_VERDICT_DROP;
	}
	sg_count(w, SG_STAT_WAN_TRACKED);
	sg_conn_observe(c, SG_DIR_WAN, p);
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

	bool opened_here = (sg_conn_seen(sg_conn_rec(c)) & SG_SEEN_OPENED_WAN) ? port == SG_PORT_WAN :
	                                                                port == SG_PORT_LAN;

	if (port == SG_PORT_LAN && sg_is_synack(p))
		clamp_mss(w, p);
	if (!opened_here && s == SG_CT_UP_SYN_SENT && sg_is_synack(p)) {
		/* A state change on a WAN segment: only with a valid checksum. */
		if (port == SG_PORT_WAN && !sg_pkt_tcp_csum_ok(p)) {
			sg_count(w, SG_STAT_DROP_BAD_CSUM);
			return SG_VERDICT_DROP;
		}
		sg_conn_tracked_answered(ct, w->id, c, dir, ws_of(p), w->now_ms);
	} else if (opened_here && s == SG_CT_UP_SYN_RECV &&
	           (p->tcp_flags & SG_TCP_ACK) && !(p->tcp_flags & SG_TCP_SYN)) {
		sg_ct_set_state(ct, w->id, c, SG_CT_ESTABLISHED, w->now_ms);
	} else if (!sg_conn_close_rules(ct, w->id, c, p, dir, w->cfg->rst_slack, w->now_ms, &why,
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
