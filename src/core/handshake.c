/* The handshake of a proxied connection (see handshake.h). */
#include "core/handshake.h"

#include <errno.h>
#include <string.h>

#include "core/conn.h"
#include "core/cookie.h"
#include "core/emit.h"
#include "core/halfopen.h"
#include "core/learn.h"
#include "net/tcpopt.h"

/* ---- the client's SYN: answer with a cookie, keep nothing ---- */

/* What the SYN-ACK offers the client: only what the server is known to
 * do (learn.h), so that nothing the client is told must be taken back
 * mid-connection; the cookie encodes exactly what is offered. */
static void offer(const struct sg_proxy_worker *w, const struct sg_pkt *p, struct sg_dst_memo *m,
                  struct sg_tcp_opts *o, uint16_t *mss)
{
	const struct sg_learned *srv = &m->srv;

	*o = p->opt;
	*mss = p->family == 4 ? w->cfg->synack_mss4 : w->cfg->synack_mss6;
	if (!(m->have & SG_DST_LEARN)) {
		m->learned = sg_learn_lookup(w->p->learn, p->family, sg_pkt_daddr(p), p->dport,
		                             w->now_ms, &m->srv);
		m->have |= SG_DST_LEARN;
	}
	if (!m->learned)
		return;
	if ((srv->known & SG_LEARN_MSS) && srv->mss < *mss &&
	    srv->mss >= (p->family == 4 ? SG_TCP_MSS4_MIN : SG_TCP_MSS6_MIN))
		*mss = srv->mss;
	if ((srv->known & SG_LEARN_SACK) && !srv->sack)
		o->present &= (uint8_t)~SG_OPT_SACKPERM;
	if ((srv->known & SG_LEARN_TS) && !srv->ts)
		o->present &= (uint8_t)~SG_OPT_TS;
}

/* While SYNs come slowly, the SYN cache keeps the client's options
 * exactly; the SYN-ACK's ISN stays a cookie, so an entry lost to eviction
 * or another worker still opens by the cookie. */
static void cache(struct sg_proxy_worker *w, const struct sg_pkt *p, const struct sg_flow *k,
                  const struct sg_tcp_opts *o, const struct sg_cookie_result *ck)
{
	struct sg_halfopen_entry e = {
		.key = *k,
		.client_isn = p->seq,
		.our_isn = ck->isn,
		.client_tsval = o->tsval,
		.our_tsval = ck->tsval,
		.born_ms = w->now_ms,
		.mss = (o->present & SG_OPT_MSS) ? o->mss : 0,
		.client_win = p->win,
		.ws = (o->present & SG_OPT_WS) ?
		      (o->wscale > SG_TCP_WSCALE_MAX ? SG_TCP_WSCALE_MAX : o->wscale) : SG_HALFOPEN_WS_NONE,
		.sack = (o->present & SG_OPT_SACKPERM) != 0,
		.ts = (o->present & SG_OPT_TS) != 0,
		.ecn = ck->ecn,
	};

	sg_halfopen_add(w->p->halfopen, w->id, &e);
	sg_count(w, SG_STAT_SYN_CACHED);
}

/* The SYN-ACK of a SYN whose cookie is made; false when it could not be
 * built. */
static bool syn_answer(struct sg_proxy_worker *w, struct sg_pkt *p, const struct sg_flow *k,
                       const struct sg_tcp_opts *o, uint16_t mss, const struct sg_cookie_result *ck,
                       struct sg_out *out)
{
	bool cached = sg_halfopen_admit(w->p->halfopen, w->id, w->now_ms);
	struct sg_tcp_opts a = { .present = SG_OPT_MSS, .mss = mss };

	if (o->present & SG_OPT_WS) {
		a.present |= SG_OPT_WS;
		a.wscale = w->cfg->synack_wscale;
	}
	if (o->present & SG_OPT_SACKPERM)
		a.present |= SG_OPT_SACKPERM;
	if (o->present & SG_OPT_TS) {
		a.present |= SG_OPT_TS;
		a.tsval = ck->tsval;
		a.tsecr = o->tsval;
	}
	/* A cookie alone: no data before the server side exists.  A cached
	 * SYN: one segment may come with the ACK (it is sent again after). */
	if (!sg_emit_synack(w, out, p, ck->isn, cached ? mss : 0, &a))
		return false;
	if (cached)
		cache(w, p, k, o, ck);
	sg_count(w, SG_STAT_SYNACK_SENT);
	return true;
}

/* A burst's frames share one time: the cookie clock is read for the
 * first SYN and reused by the rest. */
static const struct sg_cookie_clock *cookie_clock(struct sg_proxy_worker *w, uint64_t now_ns)
{
	uint64_t at = sg_cookie_clock(w->p, now_ns);

	if (at != w->cookie_clock.at_ns || !at)
		sg_cookie_clock_read(w->p->secret, &w->keys, at, &w->cookie_clock);
	return &w->cookie_clock;
}

enum sg_verdict sg_hs_syn(struct sg_proxy_worker *w, struct sg_pkt *p, const struct sg_flow *k,
                          struct sg_dst_memo *m, uint64_t now_ns, struct sg_out *out)
{
	struct sg_hs_syn_batch *b = w->syns;
	struct sg_hs_syn_wait one, *e;
	struct sg_cookie_result ck;

	sg_count(w, SG_STAT_SYN_RECEIVED);
	if (!sg_pkt_tcp_csum_ok(p)) {
		sg_count(w, SG_STAT_DROP_BAD_CSUM);
		return SG_VERDICT_DROP;
	}
	if (!sg_emit_slot(w, out))
		return SG_VERDICT_DROP;

	e = b && b->n < SG_PROXY_BURST_MAX ? &b->e[b->n] : &one;
	offer(w, p, m, &e->o, &e->mss);
	sg_cookie_prepare(&w->cfg->cookie, cookie_clock(w, now_ns), k, p->seq, &e->o,
	                  (p->tcp_flags & (SG_TCP_ECE | SG_TCP_CWR)) == (SG_TCP_ECE | SG_TCP_CWR),
	                  &e->prep);
	if (e != &one) {
		e->p = p;
		e->k = k;
		e->out = out;
		b->n++;
		return SG_VERDICT_CONSUME;
	}
	sg_cookie_finish(&e->prep, sg_cookie_prep_mac(&e->prep), &ck);
	return syn_answer(w, p, k, &e->o, e->mss, &ck, out) ? SG_VERDICT_CONSUME : SG_VERDICT_DROP;
}

void sg_hs_syn_flush(struct sg_proxy_worker *w, struct sg_hs_syn_batch *b, struct sg_out outs[],
                     enum sg_verdict verdicts[])
{
	const struct sg_cookie_prep *pr[SG_PROXY_BURST_MAX];
	uint64_t mac[SG_PROXY_BURST_MAX];

	for (unsigned i = 0; i < b->n; i++)
		pr[i] = &b->e[i].prep;
	sg_cookie_mac_n(pr, b->n, mac);
	for (unsigned i = 0; i < b->n; i++) {
		struct sg_hs_syn_wait *e = &b->e[i];
		struct sg_cookie_result ck;

		sg_cookie_finish(&e->prep, mac[i], &ck);
		if (!syn_answer(w, e->p, e->k, &e->o, e->mss, &ck, e->out)) {
			/* Counted CONSUMED when it was deferred: now a drop. */
			verdicts[e->out - outs] = SG_VERDICT_DROP;
			w->st.c[SG_STAT_CONSUMED]--;
			sg_count(w, SG_STAT_DROPPED);
		}
	}
	b->n = 0;
}

/* ---- the client's ACK: open the connection, ask the server ---- */

/* The SYN synguard sends the server for a verified client, first or again.
 * During SYN_SENT seq_offset holds the cookie ISN and ts_offset the TS
 * cookie (the client's TSecr). */
static bool send_syn_to_server(struct sg_proxy_worker *w, struct sg_out *out,
                               const struct sg_conn *c)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	struct sg_tcp_frame f;

	sg_emit_to_server(&f, c);
	f.seq = r->client_isn;
	f.flags = SG_TCP_SYN;
	/* A SYN's window is never scaled (RFC 7323 §2.2). */
	f.win = sg_window_convert(r->client_win, sg_conn_client_shift(r), 0);
	f.opt.present = SG_OPT_MSS;
	f.opt.mss = r->mss;
	if (r->client_ws != SG_WS_NONE) {
		f.opt.present |= SG_OPT_WS;
		f.opt.wscale = r->client_ws;
	}
	if (r->flags & SG_CONN_CLIENT_SACK)
		f.opt.present |= SG_OPT_SACKPERM;
	if (r->flags & SG_CONN_CLIENT_TS) {
		f.opt.present |= SG_OPT_TS;
		f.opt.tsval = r->client_tsval;
		f.opt.tsecr = 0;
	}
	return sg_emit(w, out, SG_PORT_LAN, &f);
}

/* The record of a connection the verified ACK p opens. */
static void rec_from_cookie_ack(const struct sg_proxy_worker *w, struct sg_conn_rec *r,
                                const struct sg_pkt *p, uint32_t isn,
                                const struct sg_cookie_result *ck)
{
	memset(r, 0, sizeof(*r));
	r->flags = SG_CONN_PROXIED;
	r->client_isn = isn;
	r->seq_offset = p->ack - 1;                 /* the cookie ISN, for now */
	r->client_win = p->win;
	r->mss = ck->mss;
	r->client_ws = ck->has_ws ? ck->wscale : SG_WS_NONE;
	r->our_ws = w->cfg->synack_wscale;
	r->hs.opened_us = w->now_us;
	if (ck->sack)
		r->flags |= SG_CONN_CLIENT_SACK;
	if (ck->ts && (p->opt.present & SG_OPT_TS)) {
		r->flags |= SG_CONN_CLIENT_TS;
		r->client_tsval = p->opt.tsval;
		r->ts_offset = p->opt.tsecr;           /* the TS cookie, for now */
	}
	sg_conn_anchor(r, SG_DIR_WAN, isn);
	memcpy(r->wan_mac, p->data + 6, 6);
	memcpy(r->lan_mac, p->data, 6);
	r->nvlan = p->nvlan;
	for (unsigned i = 0; i < p->nvlan; i++) {
		r->vlan_tpid[i] = p->vlan[i].tpid;
		r->vlan_tci[i] = p->vlan[i].tci;
	}
}

/* No room for a client that proved its cookie: it believes the connection
 * open, so it gets the RST it would accept (SEQ = cookie ISN + 1) rather
 * than hang until its own timeout. */
static enum sg_verdict refuse(struct sg_proxy_worker *w, const struct sg_pkt *p, struct sg_out *out)
{
	struct sg_tcp_frame f;

	sg_build_from_pkt(&f, p, 1);
	f.seq = p->ack;
	f.flags = SG_TCP_RST;
	if (sg_emit(w, out, SG_PORT_WAN, &f))
		sg_count(w, SG_STAT_RST_REFUSED);
	return SG_VERDICT_DROP;
}

int sg_hs_cookie_ack(struct sg_proxy_worker *w, struct sg_pkt *p, const struct sg_flow_ref *fr,
                     struct sg_conn *old, uint64_t now_ns, struct sg_out *out)
{
	struct sg_proxy *px = w->p;
	struct sg_cookie_result ck;
	struct sg_conn_rec init;
	struct sg_conn *c;
	int rc;

	const uint32_t *tsecr = (p->opt.present & SG_OPT_TS) ? &p->opt.tsecr : NULL;
	uint32_t isn = p->seq - 1;
	uint64_t clock = sg_cookie_clock(px, now_ns);
	struct sg_halfopen_entry e;

	/* A MAC per ACK is what an ACK flood costs: bounded per prefix. */
	if (!sg_spend(w, p))
		return SG_VERDICT_DROP;
	if (sg_halfopen_take(px->halfopen, w->id, &fr->k, p->ack, w->now_ms, &e)) {
		/* The SYN is known exactly: no quantised cookie needed. */
		isn = e.client_isn;
		ck = (struct sg_cookie_result){
			.isn = e.our_isn, .tsval = e.our_tsval,
			.mss = e.mss ? e.mss : (p->family == 4 ? SG_TCP_MSS4_MIN : SG_TCP_MSS6_MIN),
			.wscale = e.ws, .has_ws = e.ws != SG_HALFOPEN_WS_NONE,
			.sack = e.sack, .ts = e.ts, .ecn = e.ecn,
		};
		sg_count(w, SG_STAT_SYN_CACHE_OPEN);
	} else if (sg_cookie_check(&w->cfg->cookie, px->secret, &w->keys, &fr->k, isn, p->ack - 1,
	                           tsecr, clock, &ck) != 0) {
		/* A window probe carries the ISN itself.  The second reading
		 * halves the forgery margin of empty segments only. */
		if (p->payload_len != 0 ||
		    sg_cookie_check(&w->cfg->cookie, px->secret, &w->keys, &fr->k, p->seq, p->ack - 1,
		                    tsecr, clock, &ck) != 0)
			return -1;
		isn = p->seq;
		sg_count(w, SG_STAT_COOKIE_PROBE);
	}
	if (!sg_pkt_tcp_csum_ok(p)) {
		sg_count(w, SG_STAT_DROP_BAD_CSUM);
		return SG_VERDICT_DROP;
	}
	sg_count(w, SG_STAT_COOKIE_OK);
	if (px->ratelimit)   /* a completed handshake costs its prefix one token */
		sg_ratelimit_refund(px->ratelimit, w->id, p->family, sg_pkt_saddr(p));
	rec_from_cookie_ack(w, &init, p, isn, &ck);
	if (!old && px->quota) {
		if (!sg_quota_take(px->quota, w->id, &fr->k, __atomic_load_n(&px->quota_limit, __ATOMIC_RELAXED))) {
			sg_count(w, SG_STAT_DROP_SOURCE_QUOTA);
			return refuse(w, p, out);
		}
		init.seen |= SG_SEEN_COUNTED;
	}
	rc = sg_conn_open_proxied(px->ct, w->id, &fr->k, fr->h, old, &init, w->now_ms, &c);
	if (rc && (init.seen & SG_SEEN_COUNTED))
		sg_quota_give(px->quota, w->id, &fr->k);
	if (rc == -EEXIST)
		return SG_VERDICT_CONSUME;   /* another worker won the race: its SYN is on the way */
	if (rc == -ENOSPC) {
		sg_count(w, SG_STAT_DROP_TABLE_FULL);
		return refuse(w, p, out);
	}
	if (rc)
		return SG_VERDICT_DROP;
	if (old)
		sg_count(w, SG_STAT_CONN_REPLACED);
	sg_ct_set_expiry(px->ct, w->id, c, w->now_ms + 1000);
	if (send_syn_to_server(w, out, c))
		sg_count(w, SG_STAT_SYN_TO_SERVER);
	return SG_VERDICT_CONSUME;
}

enum sg_verdict sg_hs_client_waits(struct sg_proxy_worker *w, struct sg_conn *c,
                                   const struct sg_pkt *p, struct sg_out *out)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	enum sg_stat why;
	bool challenge;

	/* The client repeats its ACK: our SYN or the server's answer got
	 * lost; ask the server again now rather than at the next timer. */
	if ((p->tcp_flags & (SG_TCP_ACK | SG_TCP_SYN | SG_TCP_RST | SG_TCP_FIN)) == SG_TCP_ACK &&
	    p->seq == r->client_isn + 1 && p->ack == r->seq_offset + 1) {
		if (send_syn_to_server(w, out, c))
			sg_count(w, SG_STAT_SYN_RETRANSMIT);
		return SG_VERDICT_CONSUME;
	}
	if (p->tcp_flags & SG_TCP_RST) {
		if (sg_conn_close_rules(w->p->ct, w->id, c, p, SG_DIR_WAN, w->cfg->rst_slack,
		                        w->now_ms, &why, &challenge))
			return SG_VERDICT_FORWARD;
		sg_count(w, why);
		return SG_VERDICT_DROP;
	}
	sg_count(w, SG_STAT_DROP_SYN_SENT_DATA);
	return SG_VERDICT_DROP;
}

/* ---- the server's answer ---- */

static void send_ack_to_server(struct sg_proxy_worker *w, struct sg_out *out, const struct sg_conn *c,
                               uint32_t server_isn, uint32_t server_tsval)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	struct sg_tcp_frame f;

	sg_emit_to_server(&f, c);
	f.seq = r->client_isn + 1;
	f.ack = server_isn + 1;
	f.flags = SG_TCP_ACK;
	f.win = sg_conn_win_c2s(r, r->client_win);
	if ((r->flags & (SG_CONN_CLIENT_TS | SG_CONN_SERVER_TS)) == (SG_CONN_CLIENT_TS | SG_CONN_SERVER_TS)) {
		f.opt.present = SG_OPT_TS;
		f.opt.tsval = r->client_tsval;
		f.opt.tsecr = server_tsval;
	}
	if (sg_emit(w, out, SG_PORT_LAN, &f))
		sg_count(w, SG_STAT_ACK_TO_SERVER);
}

/* The client has been waiting on a zero window: open it.  The SYN-ACK's
 * window is unscaled (RFC 7323 §2.2). */
static void send_window_update(struct sg_proxy_worker *w, struct sg_out *out, const struct sg_conn *c,
                               uint16_t server_win, uint32_t cookie_isn, uint32_t ts_cookie)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	struct sg_tcp_frame f;

	sg_emit_to_client(&f, c);
	f.seq = cookie_isn + 1;
	f.ack = r->client_isn + 1;
	f.flags = SG_TCP_ACK;
	f.win = sg_window_convert(server_win, 0, sg_conn_shift_to_client(r));
	if (r->flags & SG_CONN_CLIENT_TS) {
		f.opt.present = SG_OPT_TS;
		f.opt.tsval = ts_cookie;
		f.opt.tsecr = r->client_tsval;
	}
	if (sg_emit(w, out, SG_PORT_WAN, &f))
		sg_count(w, SG_STAT_WINDOW_UPDATE);
}

/* What the server's SYN-ACK shows, for the next client's SYN-ACK: only
 * what synguard's SYN offered can be told from the answer. */
static void learn_server(struct sg_proxy_worker *w, const struct sg_conn *c, const struct sg_pkt *p)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	struct sg_learned seen = {
		.mss = (p->opt.present & SG_OPT_MSS) ? p->opt.mss :
		       (p->family == 4 ? SG_TCP_MSS4_MIN : SG_TCP_MSS6_MIN),
		.ws = (p->opt.present & SG_OPT_WS) ?
		      (p->opt.wscale > SG_TCP_WSCALE_MAX ? SG_TCP_WSCALE_MAX : p->opt.wscale) :
		      SG_LEARN_WS_NONE,
		.sack = (p->opt.present & SG_OPT_SACKPERM) != 0,
		.ts = (p->opt.present & SG_OPT_TS) != 0,
		.known = SG_LEARN_MSS | (r->client_ws != SG_WS_NONE ? SG_LEARN_WS : 0) |
		         ((r->flags & SG_CONN_CLIENT_SACK) ? SG_LEARN_SACK : 0) |
		         ((r->flags & SG_CONN_CLIENT_TS) ? SG_LEARN_TS : 0),
	};

	sg_learn_note(w->p->learn, c->key.family, c->key.lan_addr, c->key.lan_port, &seen,
	              w->now_ms);
	sg_dst_memo_forget(&w->dst);
}

static enum sg_verdict server_synack(struct sg_proxy_worker *w, struct sg_conn *c,
                                     const struct sg_pkt *p, struct sg_out *out)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	struct sg_conn_server srv = {
		.isn = p->seq,
		.tsval = p->opt.tsval,
		.win = p->win,
		.ws = (p->opt.present & SG_OPT_WS) ?
		      (p->opt.wscale > SG_TCP_WSCALE_MAX ? SG_TCP_WSCALE_MAX : p->opt.wscale) : SG_WS_NONE,
		.sack = (p->opt.present & SG_OPT_SACKPERM) != 0,
		.ts = (p->opt.present & SG_OPT_TS) != 0,
	};
	uint32_t cookie_isn, ts_cookie, opened_us;

	if (p->ack != r->client_isn + 1 || !sg_pkt_tcp_csum_ok(p)) {
		sg_count(w, SG_STAT_DROP_SYNACK_BAD);
		return SG_VERDICT_DROP;
	}
	if (sg_conn_establish(w->p->ct, w->id, c, &srv, w->now_ms, &cookie_isn, &ts_cookie,
	                      &opened_us))
		return SG_VERDICT_CONSUME;   /* a second worker handled a copy first */
	learn_server(w, c, p);
	sg_count(w, SG_STAT_PROXIED_OPEN);
	sg_hs_hist_add(&w->st.hs, w->now_us - opened_us);
	send_ack_to_server(w, out, c, p->seq, p->opt.tsval);
	send_window_update(w, out, c, p->win, cookie_isn, ts_cookie);
	return SG_VERDICT_CONSUME;
}

/* The server refused our SYN: the client, which believes the connection
 * open, gets the RST it would accept (SEQ = cookie ISN + 1). */
static enum sg_verdict server_refused(struct sg_proxy_worker *w, struct sg_conn *c, struct sg_pkt *p)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);

	if (!(p->tcp_flags & SG_TCP_ACK) || p->ack != r->client_isn + 1) {
		sg_count(w, SG_STAT_DROP_RST_INVALID);
		return SG_VERDICT_DROP;
	}
	sg_pkt_tcp_set32(p, 4, r->seq_offset + 1);
	sg_conn_close(w->p->ct, w->id, c, w->now_ms);
	sg_count(w, SG_STAT_SERVER_REFUSED);
	return SG_VERDICT_FORWARD;
}

enum sg_verdict sg_hs_server_answers(struct sg_proxy_worker *w, struct sg_conn *c,
                                     struct sg_pkt *p, struct sg_out *out)
{
	if (sg_is_synack(p))
		return server_synack(w, c, p, out);
	if (p->tcp_flags & SG_TCP_RST)
		return server_refused(w, c, p);
	sg_count(w, SG_STAT_DROP_SYNACK_BAD);
	return SG_VERDICT_DROP;
}

enum sg_verdict sg_hs_orphan_synack(struct sg_proxy_worker *w, const struct sg_pkt *p,
                                    struct sg_out *out)
{
	struct sg_tcp_frame f;

	sg_count(w, SG_STAT_DROP_SYNACK_ORPHAN);
	if (!sg_pkt_tcp_csum_ok(p))
		return SG_VERDICT_DROP;
	/* RFC 9293 §3.10.7.3: <SEQ=SEG.ACK><CTL=RST> for an ACK of nothing sent. */
	sg_build_from_pkt(&f, p, 1);
	f.seq = p->ack;
	f.flags = SG_TCP_RST;
	sg_emit(w, out, SG_PORT_LAN, &f);
	return SG_VERDICT_DROP;
}

enum sg_verdict sg_hs_server_repeats(struct sg_proxy_worker *w, struct sg_conn *c,
                                     const struct sg_pkt *p, struct sg_out *out)
{
	if (p->ack == sg_conn_rec_c(c)->client_isn + 1)
		send_ack_to_server(w, out, c, p->seq, p->opt.tsval);
	else
		sg_count(w, SG_STAT_DROP_SYNACK_BAD);
	return SG_VERDICT_CONSUME;
}

/* ---- timers ---- */

enum sg_ct_expire_action sg_hs_expire(void *arg, struct sg_conn *c, uint32_t now_ms)
{
	struct sg_hs_timer *t = arg;
	struct sg_proxy_worker *w = t->w;
	struct sg_conn_rec *r = sg_conn_rec(c);
	struct sg_tcp_frame f;

	if (sg_ct_state_get(c) != SG_CT_SYN_SENT)
		return SG_CT_EXPIRE_FREE;
	if (t->out->n >= t->out->cap) {
		/* No room to send now: come back on the next tick. */
		t->full = true;
		sg_ct_set_expiry(w->p->ct, w->id, c, now_ms);
		return SG_CT_EXPIRE_KEEP;
	}
	if (r->retries + 1 < SG_PROXY_SYN_TRIES) {
		r->retries++;
		send_syn_to_server(w, t->out, c);
		sg_count(w, SG_STAT_SYN_RETRANSMIT);
		sg_ct_set_expiry(w->p->ct, w->id, c, now_ms + (1000u << r->retries));
		return SG_CT_EXPIRE_KEEP;
	}
	/* The server never answered: the client thinks it is connected. */
	sg_emit_to_client(&f, c);
	f.seq = r->seq_offset + 1;
	f.ack = r->client_isn + 1;
	f.flags = SG_TCP_RST | SG_TCP_ACK;
	sg_emit(w, t->out, SG_PORT_WAN, &f);
	sg_count(w, SG_STAT_SERVER_TIMEOUT);
	return SG_CT_EXPIRE_FREE;
}
