/* The proxy state machine.  See docs/architecture.md, "The proxy state
 * machine", for the states, the decisions and their reasons.
 *
 * Sequence spaces.  The client's own ISN goes to the server unchanged, so
 * client->server SEQ and server->client ACK never change.  The server's
 * sequence numbers differ from the cookie ISN the client knows by
 * seq_offset = cookie ISN - server ISN: server->client SEQ += seq_offset;
 * client->server ACK and SACK edges -= seq_offset.  Timestamps likewise:
 * ts_offset = synguard's TSval (the TS cookie) - the server's first TSval.
 */
#include "core/proxy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/cookie.h"
#include "core/secret.h"
#include "net/build.h"
#include "net/bytes.h"
#include "net/csum.h"
#include "net/tcpopt.h"

#define WS_NONE 0xf

/* struct sg_conn_proxy.flags */
#define PXF_PROXIED      0x01   /* opened from WAN through a cookie */
#define PXF_CLIENT_SACK  0x02   /* client and server were told SACK-permitted */
#define PXF_CLIENT_TS    0x04   /* the client uses timestamps */
#define PXF_SERVER_SACK  0x08
#define PXF_SERVER_TS    0x10
#define PXF_FIN_WAN      0x20   /* FIN seen from that side */
#define PXF_FIN_LAN      0x40
#define PXF_LAST_FIN_LAN 0x80   /* the later FIN came from LAN */

/* Index of a direction in px.fin_seq / px.max_end. */
#define DIR_WAN 0
#define DIR_LAN 1

struct sg_proxy_worker {
	struct sg_proxy *p;
	unsigned id;
	uint32_t now_ms;
	struct sg_secret_cache keys;
	struct sg_stats st;
} __attribute__((aligned(64)));

struct sg_proxy {
	struct sg_proxy_config cfg;
	struct sg_ct *ct;
	struct sg_secret *secret;
	struct sg_cookie_config cookie;
	int64_t cookie_clock_offset_ns;   /* see sg_proxy_set_cookie_clock */
	/* Per state: an entry's expiry is pushed forward once less than this
	 * is left (the timeout minus one second). */
	uint32_t refresh_below_ms[SG_CT_STATE_COUNT];
	unsigned nworkers;
	struct sg_proxy_worker w[];
};

static const char *const stat_names[SG_STAT__COUNT] = {
#define SG_STAT_NAME(id, name) [SG_STAT_##id] = name,
	SG_STATS_LIST(SG_STAT_NAME)
#undef SG_STAT_NAME
};

const char *sg_stat_name(enum sg_stat s)
{
	return (unsigned)s < SG_STAT__COUNT ? stat_names[s] : "invalid";
}

void sg_stats_add(struct sg_stats *dst, const struct sg_stats *src)
{
	for (unsigned i = 0; i < SG_STAT__COUNT; i++)
		dst->c[i] += src->c[i];
	for (unsigned i = 0; i < SG_BAD__COUNT; i++)
		dst->bad[i] += src->bad[i];
}

void sg_proxy_config_default(struct sg_proxy_config *c)
{
	memset(c, 0, sizeof(*c));
	sg_ct_config_default(&c->ct);
	c->synack_mss4 = 1460;
	c->synack_mss6 = 1440;
	c->synack_wscale = 7;
	c->bad_frame_policy = SG_POLICY_DROP;
	c->unknown_policy = SG_POLICY_DROP;
	c->uplink_mss_clamp = 0;
	c->rst_slack = 16;
	c->cookie_period_s = SG_SECRET_DEFAULT_PERIOD_S;
	c->shared_key = NULL;
	sg_cookie_config_default(&c->cookie);
}

const char *sg_proxy_config_check(const struct sg_proxy_config *c, unsigned nworkers)
{
	const char *e = sg_ct_config_check(&c->ct, nworkers);

	if (e)
		return e;
	if (c->synack_mss4 < 536 || c->synack_mss4 > 65495)
		return "synack_mss4: must be 536..65495";
	if (c->synack_mss6 < 1220 || c->synack_mss6 > 65475)
		return "synack_mss6: must be 1220..65475";
	if (c->synack_wscale > 14)
		return "synack_wscale: must be 0..14 (RFC 7323 §2.3)";
	if (c->bad_frame_policy > SG_POLICY_FORWARD || c->unknown_policy > SG_POLICY_FORWARD)
		return "policy: must be drop or forward";
	if (c->uplink_mss_clamp && c->uplink_mss_clamp < 536)
		return "uplink_mss_clamp: must be 0 (off) or 536..65535";
	if (c->cookie_period_s < SG_SECRET_MIN_PERIOD_S || c->cookie_period_s > SG_SECRET_MAX_PERIOD_S)
		return "cookie period: must be 4..3600 s";
	e = sg_cookie_config_check(&c->cookie);
	if (e)
		return e;
	return NULL;
}

int sg_proxy_create(const struct sg_proxy_config *c, unsigned nworkers, struct sg_proxy **out)
{
	struct sg_proxy *p;
	int rc;

	if (sg_proxy_config_check(c, nworkers))
		return -EINVAL;
	p = aligned_alloc(64, (sizeof(*p) + nworkers * sizeof(p->w[0]) + 63) & ~(size_t)63);
	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p) + nworkers * sizeof(p->w[0]));
	p->cfg = *c;
	p->cfg.shared_key = NULL;   /* not kept: the secret module has it */
	p->nworkers = nworkers;
	p->cookie = c->cookie;
	for (unsigned st = 0; st < SG_CT_STATE_COUNT; st++)
		p->refresh_below_ms[st] = c->ct.timeout_s[st] * 1000u - 1000u;
	rc = sg_ct_create(&c->ct, nworkers, &p->ct);
	if (rc == 0)
		rc = sg_secret_create(c->shared_key, c->cookie_period_s, &p->secret);
	if (rc) {
		sg_proxy_destroy(p);
		return rc;
	}
	for (unsigned i = 0; i < nworkers; i++) {
		p->w[i].p = p;
		p->w[i].id = i;
	}
	*out = p;
	return 0;
}

void sg_proxy_destroy(struct sg_proxy *p)
{
	if (!p)
		return;
	sg_ct_destroy(p->ct);
	sg_secret_destroy(p->secret);
	free(p);
}

struct sg_proxy_worker *sg_proxy_worker(struct sg_proxy *p, unsigned i)
{
	return i < p->nworkers ? &p->w[i] : NULL;
}

const struct sg_stats *sg_proxy_stats(const struct sg_proxy_worker *w)
{
	return &w->st;
}

const struct sg_ct_stats *sg_proxy_ct_stats(const struct sg_proxy_worker *w)
{
	return sg_ct_stats(w->p->ct, w->id);
}

struct sg_ct *sg_proxy_table(struct sg_proxy *p)
{
	return p->ct;
}

void sg_proxy_worker_offline(struct sg_proxy_worker *w)
{
	sg_ct_offline(w->p->ct, w->id);
}

void sg_out_init(struct sg_out *out, uint8_t *bufs, unsigned nbufs)
{
	out->n = 0;
	out->cap = nbufs < SG_OUT_MAX ? nbufs : SG_OUT_MAX;
	for (unsigned i = 0; i < out->cap; i++) {
		out->f[i].buf = bufs + (size_t)i * SG_OUT_FRAME_MAX;
		out->f[i].len = 0;
	}
}

/* ---- small helpers ---- */

static inline void count(struct sg_proxy_worker *w, enum sg_stat s)
{
	w->st.c[s]++;
}

static inline bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* The window a receiver that shifts by to_shift must see for the window
 * a sender shifting by from_shift advertised.  Never turns an open window
 * into zero: that would stall the sender until its persist timer. */
static inline uint16_t window_convert(uint16_t win, unsigned from_shift, unsigned to_shift)
{
	uint32_t real = (uint32_t)win << from_shift;
	uint32_t v = real >> to_shift;

	if (v > 0xffff)
		v = 0xffff;
	if (v == 0 && win)
		v = 1;
	return (uint16_t)v;
}

/* Scaling is in force on the client side when the client sent WS (and was
 * then offered WS by the cookie SYN-ACK); on the server side when, in
 * addition, the server answered with WS (RFC 7323 §2.2). */
static inline unsigned client_shift(const struct sg_conn_proxy *px)
{
	return px->client_ws == WS_NONE ? 0 : px->client_ws;
}

static inline bool server_scaling(const struct sg_conn_proxy *px)
{
	return px->client_ws != WS_NONE && px->server_ws != WS_NONE;
}

/* Windows the client sends, as the server must see them. */
static inline uint16_t win_c2s(const struct sg_conn_proxy *px, uint16_t win)
{
	return window_convert(win, client_shift(px), server_scaling(px) ? px->client_ws : 0);
}

/* Windows the server sends, as the client must see them. */
static inline uint16_t win_s2c(const struct sg_conn_proxy *px, uint16_t win)
{
	unsigned to = px->client_ws == WS_NONE ? 0 : px->our_ws;

	return window_convert(win, server_scaling(px) ? px->server_ws : 0, to);
}

static void key_from_pkt(struct sg_flow *k, const struct sg_pkt *p, enum sg_port port)
{
	const uint8_t *s = sg_pkt_saddr(p), *d = sg_pkt_daddr(p);
	uint16_t vid0 = 0, vid1 = 0;

	if (__builtin_expect(p->nvlan != 0, 0)) {
		vid0 = sg_pkt_vid(p, 0);
		vid1 = sg_pkt_vid(p, 1);
	}
	if (port == SG_PORT_WAN)
		sg_flow_make(k, p->family, s, p->sport, d, p->dport, vid0, vid1);
	else
		sg_flow_make(k, p->family, d, p->dport, s, p->sport, vid0, vid1);
}

static inline uint64_t cookie_clock(const struct sg_proxy *p, uint64_t now_ns)
{
	return now_ns + (uint64_t)__atomic_load_n(&p->cookie_clock_offset_ns, __ATOMIC_RELAXED);
}

void sg_proxy_set_cookie_clock(struct sg_proxy *p, int64_t offset_ns)
{
	__atomic_store_n(&p->cookie_clock_offset_ns, offset_ns, __ATOMIC_RELAXED);
}

/* Takes the next output slot, or NULL (counted) when the caller gave none. */
static struct sg_out_frame *out_slot(struct sg_proxy_worker *w, struct sg_out *out)
{
	if (out->n >= out->cap || out->n >= SG_OUT_MAX) {
		count(w, SG_STAT_DROP_NO_BUFFER);
		return NULL;
	}
	return &out->f[out->n];
}

static bool emit(struct sg_proxy_worker *w, struct sg_out *out, enum sg_port port,
                 const struct sg_tcp_frame *f)
{
	struct sg_out_frame *o = out_slot(w, out);
	int len;

	if (!o)
		return false;
	len = sg_build_tcp(o->buf, SG_OUT_FRAME_MAX, f);
	if (len < 0)
		return false;
	o->len = (uint16_t)len;
	o->port = (uint8_t)port;
	out->n++;
	return true;
}

/* Overwrites option bytes [off, off+len) of the TCP header with NOPs,
 * two at a time so the checksum follows (len is even for SACK and TS). */
static void nop_out(struct sg_pkt *p, struct sg_csum_edit *e, unsigned off, unsigned len)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		sg_pkt_tcp_edit16(p, e, off + i, 0x0101);
}

/* A flow's key and hash, computed once: by the burst's prefetch pass, or
 * on demand. */
struct flow_ref {
	struct sg_flow k;
	uint32_t h;
	bool valid;
};

/* ---- frames synguard makes from a connection entry ---- */

static void frame_towards_server(struct sg_tcp_frame *f, const struct sg_conn *c)
{
	const struct sg_conn_proxy *px = &c->px;
	size_t alen = c->key.family == 4 ? 4 : 16;

	memset(f, 0, sizeof(*f));
	memcpy(f->dst_mac, px->lan_mac, 6);
	memcpy(f->src_mac, px->wan_mac, 6);
	f->nvlan = px->nvlan;
	for (unsigned i = 0; i < px->nvlan; i++) {
		f->vlan[i].tpid = px->vlan_tpid[i];
		f->vlan[i].tci = px->vlan_tci[i];
	}
	f->family = c->key.family;
	memcpy(f->saddr, c->key.wan_addr, alen);
	memcpy(f->daddr, c->key.lan_addr, alen);
	f->sport = c->key.wan_port;
	f->dport = c->key.lan_port;
}

static void frame_towards_client(struct sg_tcp_frame *f, const struct sg_conn *c)
{
	const struct sg_conn_proxy *px = &c->px;
	size_t alen = c->key.family == 4 ? 4 : 16;

	frame_towards_server(f, c);
	memcpy(f->dst_mac, px->wan_mac, 6);
	memcpy(f->src_mac, px->lan_mac, 6);
	memcpy(f->saddr, c->key.lan_addr, alen);
	memcpy(f->daddr, c->key.wan_addr, alen);
	f->sport = c->key.lan_port;
	f->dport = c->key.wan_port;
}

/* The SYN synguard sends the server for a verified client, first or again.
 * During SYN_SENT px.seq_offset holds the cookie ISN and px.ts_offset the
 * TS cookie (the client's TSecr). */
static bool send_syn_to_server(struct sg_proxy_worker *w, struct sg_out *out,
                               const struct sg_conn *c)
{
	const struct sg_conn_proxy *px = &c->px;
	struct sg_tcp_frame f;

	frame_towards_server(&f, c);
	f.seq = px->client_isn;
	f.flags = SG_TCP_SYN;
	/* A SYN's window is never scaled (RFC 7323 §2.2). */
	f.win = window_convert(px->client_win, client_shift(px), 0);
	f.opt.present = SG_OPT_MSS;
	f.opt.mss = px->mss;
	if (px->client_ws != WS_NONE) {
		f.opt.present |= SG_OPT_WS;
		f.opt.wscale = px->client_ws;
	}
	if (px->flags & PXF_CLIENT_SACK)
		f.opt.present |= SG_OPT_SACKPERM;
	if (px->flags & PXF_CLIENT_TS) {
		f.opt.present |= SG_OPT_TS;
		f.opt.tsval = px->client_tsval;
		f.opt.tsecr = 0;
	}
	return emit(w, out, SG_PORT_LAN, &f);
}

/* ---- WAN SYN: answer with a cookie, keep nothing ---- */

static enum sg_verdict wan_syn(struct sg_proxy_worker *w, struct sg_pkt *p, const struct sg_flow *flow,
                               uint64_t now_ns, struct sg_out *out)
{
	struct sg_proxy *px = w->p;
	struct sg_cookie_result ck;
	struct sg_tcp_frame f;
	struct sg_out_frame *o;
	int len;

	count(w, SG_STAT_SYN_RECEIVED);
	if (!sg_pkt_tcp_csum_ok(p)) {
		count(w, SG_STAT_DROP_BAD_CSUM);
		return SG_VERDICT_DROP;
	}
	o = out_slot(w, out);
	if (!o)
		return SG_VERDICT_DROP;

	sg_cookie_make(&px->cookie, px->secret, &w->keys, flow, p->seq, &p->opt,
	               (p->tcp_flags & (SG_TCP_ECE | SG_TCP_CWR)) == (SG_TCP_ECE | SG_TCP_CWR),
	               cookie_clock(px, now_ns), &ck);

	sg_build_from_pkt(&f, p, 1);
	f.seq = ck.isn;
	f.ack = p->seq + 1;
	f.flags = SG_TCP_SYN | SG_TCP_ACK;
	f.win = 0;   /* no data before the server side exists */
	f.opt.present = SG_OPT_MSS;
	f.opt.mss = p->family == 4 ? px->cfg.synack_mss4 : px->cfg.synack_mss6;
	if (p->opt.present & SG_OPT_WS) {
		f.opt.present |= SG_OPT_WS;
		f.opt.wscale = px->cfg.synack_wscale;
	}
	if (p->opt.present & SG_OPT_SACKPERM)
		f.opt.present |= SG_OPT_SACKPERM;
	if (p->opt.present & SG_OPT_TS) {
		f.opt.present |= SG_OPT_TS;
		f.opt.tsval = ck.tsval;
		f.opt.tsecr = p->opt.tsval;
	}
	len = sg_build_tcp(o->buf, SG_OUT_FRAME_MAX, &f);
	if (len < 0)
		return SG_VERDICT_DROP;
	o->len = (uint16_t)len;
	o->port = SG_PORT_WAN;
	out->n++;
	count(w, SG_STAT_SYNACK_SENT);
	return SG_VERDICT_CONSUME;
}

/* ---- WAN ACK that may complete a cookie handshake ---- */

/* The proxy fields of a (new or replaced) entry, from the verified ACK. */
static void conn_init_proxied(struct sg_proxy_worker *w, struct sg_conn_proxy *px,
                              const struct sg_pkt *p, const struct sg_cookie_result *ck)
{
	memset(px, 0, sizeof(*px));
	px->flags = PXF_PROXIED;
	px->client_isn = p->seq - 1;
	px->seq_offset = p->ack - 1;                 /* the cookie ISN, for now */
	px->client_win = p->win;
	px->mss = ck->mss;
	px->client_ws = ck->has_ws ? ck->wscale : WS_NONE;
	px->our_ws = w->p->cfg.synack_wscale;
	if (ck->sack)
		px->flags |= PXF_CLIENT_SACK;
	if (ck->ts && (p->opt.present & SG_OPT_TS)) {
		px->flags |= PXF_CLIENT_TS;
		px->client_tsval = p->opt.tsval;
		px->ts_offset = p->opt.tsecr;           /* the TS cookie, for now */
	}
	px->max_end[DIR_WAN] = p->seq;
	memcpy(px->wan_mac, p->data + 6, 6);
	memcpy(px->lan_mac, p->data, 6);
	px->nvlan = p->nvlan;
	for (unsigned i = 0; i < p->nvlan; i++) {
		px->vlan_tpid[i] = p->vlan[i].tpid;
		px->vlan_tci[i] = p->vlan[i].tci;
	}
}

/* A verdict when the ACK proved a cookie (CONSUME: a SYN went to the
 * server; DROP: no room in the table), or -1 when it is no cookie ACK. */
static int wan_cookie_ack(struct sg_proxy_worker *w, struct sg_pkt *p, const struct flow_ref *fr,
                           struct sg_conn *old, uint64_t now_ns, struct sg_out *out)
{
	struct sg_proxy *px = w->p;
	const struct sg_flow *k = &fr->k;
	struct sg_cookie_result ck;
	struct sg_conn_proxy init;
	struct sg_conn *c, *ex;
	int err;

	if (sg_cookie_check(&px->cookie, px->secret, &w->keys, k, p->seq - 1, p->ack - 1,
	                    (p->opt.present & SG_OPT_TS) ? &p->opt.tsecr : NULL,
	                    cookie_clock(px, now_ns), &ck) != 0)
		return -1;
	if (!sg_pkt_tcp_csum_ok(p)) {
		count(w, SG_STAT_DROP_BAD_CSUM);
		return SG_VERDICT_DROP;
	}
	count(w, SG_STAT_COOKIE_OK);
	if (old) {
		/* A closing connection on the same tuple gives way (reference §4). */
		sg_ct_lock(old);
		conn_init_proxied(w, &old->px, p, &ck);
		sg_ct_unlock(old);
		if (sg_ct_set_state(px->ct, w->id, old, SG_CT_SYN_SENT, w->now_ms) != 0)
			return SG_VERDICT_DROP;
		c = old;
		count(w, SG_STAT_CONN_REPLACED);
	} else {
		conn_init_proxied(w, &init, p, &ck);
		c = sg_ct_insert_hashed(px->ct, w->id, k, fr->h, SG_CT_SYN_SENT, &init, w->now_ms,
		                        &ex, &err);
		if (!c && err == -EEXIST) {
			/* Another worker won the race for this tuple: its SYN is on the way. */
			return SG_VERDICT_CONSUME;
		}
		if (!c) {
			count(w, SG_STAT_DROP_TABLE_FULL);
			return SG_VERDICT_DROP;
		}
	}
	sg_ct_set_expiry(px->ct, w->id, c, w->now_ms + 1000);
	if (send_syn_to_server(w, out, c))
		count(w, SG_STAT_SYN_TO_SERVER);
	return SG_VERDICT_CONSUME;
}

/* ---- established traffic: rewrite in place ---- */

static void track_end(struct sg_conn_proxy *px, unsigned dir, const struct sg_pkt *p)
{
	uint32_t end = p->seq + p->payload_len + ((p->tcp_flags & SG_TCP_FIN) ? 1 : 0) +
	               ((p->tcp_flags & SG_TCP_SYN) ? 1 : 0);

	if (seq_after(end, px->max_end[dir]))
		px->max_end[dir] = end;
}

/* FIN and RST rules shared by both directions, on SEQ in the sender's own
 * space.  Returns false when the segment must be dropped. */
static bool close_rules(struct sg_proxy_worker *w, struct sg_conn *c, const struct sg_pkt *p,
                        unsigned dir)
{
	struct sg_conn_proxy *px = &c->px;
	struct sg_ct *ct = w->p->ct;
	enum sg_ct_state s = sg_ct_state_get(c);

	if (p->tcp_flags & SG_TCP_RST) {
		int32_t d = (int32_t)(p->seq - px->max_end[dir]);

		if (d < -(int32_t)w->p->cfg.rst_slack || d > (int32_t)w->p->cfg.rst_slack) {
			count(w, SG_STAT_DROP_RST_INVALID);
			return false;
		}
		sg_ct_set_state(ct, w->id, c, SG_CT_CLOSED, w->now_ms);
		return true;
	}
	if (p->tcp_flags & SG_TCP_FIN) {
		uint8_t bit = dir == DIR_WAN ? PXF_FIN_WAN : PXF_FIN_LAN;
		uint32_t fin = p->seq + p->payload_len;

		sg_ct_lock(c);
		if (px->flags & bit) {
			bool same = px->fin_seq[dir] == fin;

			sg_ct_unlock(c);
			if (!same)
				count(w, SG_STAT_DROP_FIN_CHANGED);
			return same;
		}
		px->flags |= bit;
		px->fin_seq[dir] = fin;
		if ((px->flags & (PXF_FIN_WAN | PXF_FIN_LAN)) == (PXF_FIN_WAN | PXF_FIN_LAN)) {
			if (dir == DIR_LAN)
				px->flags |= PXF_LAST_FIN_LAN;
			sg_ct_unlock(c);
			if (s != SG_CT_TIME_WAIT && s != SG_CT_CLOSED)
				sg_ct_set_state(ct, w->id, c, SG_CT_CLOSING, w->now_ms);
		} else {
			sg_ct_unlock(c);
			if (s == SG_CT_ESTABLISHED)
				sg_ct_set_state(ct, w->id, c, SG_CT_FIN_WAIT, w->now_ms);
		}
		return true;
	}
	/* The ACK of the later FIN, from the other side, ends the closing. */
	if (s == SG_CT_CLOSING && (p->tcp_flags & SG_TCP_ACK)) {
		unsigned last = (px->flags & PXF_LAST_FIN_LAN) ? DIR_LAN : DIR_WAN;

		if (dir != last && !seq_after(px->fin_seq[last] + 1, p->ack))
			sg_ct_set_state(ct, w->id, c, SG_CT_TIME_WAIT, w->now_ms);
	}
	return true;
}

static void keep_alive(struct sg_proxy_worker *w, struct sg_conn *c)
{
	/* One store a second at most: other workers share this line. */
	uint32_t e = __atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED);

	if ((int32_t)(e - w->now_ms) < (int32_t)w->p->refresh_below_ms[sg_ct_state_get(c)])
		sg_ct_touch(w->p->ct, c, w->now_ms);
}

/* Client -> server on a proxied connection.  All rewrites share one
 * checksum update. */
static enum sg_verdict c2s(struct sg_proxy_worker *w, struct sg_conn *c, struct sg_pkt *p)
{
	struct sg_conn_proxy *px = &c->px;
	struct sg_csum_edit e = { 0 };
	uint8_t flags = px->flags;

	if (p->tcp_flags & SG_TCP_ACK) {
		/* First, so the closing rules compare in the server's space. */
		p->ack -= px->seq_offset;
		sg_pkt_tcp_edit32(p, &e, 8, p->ack);
	}
	if (!close_rules(w, c, p, DIR_WAN)) {
		sg_pkt_tcp_edit_apply(p, &e);
		return SG_VERDICT_DROP;
	}
	track_end(px, DIR_WAN, p);
	if (p->opt.present & SG_OPT_SACK) {
		if (flags & PXF_SERVER_SACK) {
			for (unsigned i = 0; i < p->opt.sack_blocks; i++) {
				unsigned edge = sg_tcpopt_sack_edge(&p->opt, i);
				uint8_t *t = sg_pkt_l4(p);

				sg_pkt_tcp_edit32(p, &e, edge, sg_rd32(t + edge) - px->seq_offset);
				sg_pkt_tcp_edit32(p, &e, edge + 4, sg_rd32(t + edge + 4) - px->seq_offset);
			}
		} else {
			nop_out(p, &e, p->opt.sack_off, 2 + 8u * p->opt.sack_blocks);
			count(w, SG_STAT_SACK_STRIPPED);
		}
	}
	if (p->opt.present & SG_OPT_TS) {
		if (flags & PXF_SERVER_TS) {
			sg_pkt_tcp_edit32(p, &e, p->opt.ts_off + 6u, p->opt.tsecr - px->ts_offset);
		} else {
			nop_out(p, &e, p->opt.ts_off, 10);
			count(w, SG_STAT_TS_STRIPPED);
		}
	}
	{
		uint16_t nw = win_c2s(px, p->win);

		if (nw != p->win)
			sg_pkt_tcp_edit16(p, &e, 14, nw);
	}
	sg_pkt_tcp_edit_apply(p, &e);
	keep_alive(w, c);
	return SG_VERDICT_FORWARD;
}

/* Server -> client on a proxied connection. */
static enum sg_verdict s2c(struct sg_proxy_worker *w, struct sg_conn *c, struct sg_pkt *p)
{
	struct sg_conn_proxy *px = &c->px;
	struct sg_csum_edit e = { 0 };

	if (!close_rules(w, c, p, DIR_LAN))
		return SG_VERDICT_DROP;
	track_end(px, DIR_LAN, p);
	sg_pkt_tcp_edit32(p, &e, 4, p->seq + px->seq_offset);
	if ((p->opt.present & SG_OPT_TS) && (px->flags & PXF_CLIENT_TS))
		sg_pkt_tcp_edit32(p, &e, p->opt.ts_off + 2u, p->opt.tsval + px->ts_offset);
	{
		uint16_t nw = win_s2c(px, p->win);

		if (nw != p->win)
			sg_pkt_tcp_edit16(p, &e, 14, nw);
	}
	sg_pkt_tcp_edit_apply(p, &e);
	keep_alive(w, c);
	return SG_VERDICT_FORWARD;
}

/* ---- the server's answer to our SYN ---- */

static void send_ack_to_server(struct sg_proxy_worker *w, struct sg_out *out, const struct sg_conn *c,
                               uint32_t server_isn, uint32_t server_tsval)
{
	const struct sg_conn_proxy *px = &c->px;
	struct sg_tcp_frame f;

	frame_towards_server(&f, c);
	f.seq = px->client_isn + 1;
	f.ack = server_isn + 1;
	f.flags = SG_TCP_ACK;
	f.win = win_c2s(px, px->client_win);
	if ((px->flags & (PXF_CLIENT_TS | PXF_SERVER_TS)) == (PXF_CLIENT_TS | PXF_SERVER_TS)) {
		f.opt.present = SG_OPT_TS;
		f.opt.tsval = px->client_tsval;
		f.opt.tsecr = server_tsval;
	}
	if (emit(w, out, SG_PORT_LAN, &f))
		count(w, SG_STAT_ACK_TO_SERVER);
}

static enum sg_verdict lan_synack(struct sg_proxy_worker *w, struct sg_conn *c, struct sg_pkt *p,
                                  struct sg_out *out)
{
	struct sg_conn_proxy *px = &c->px;
	struct sg_tcp_frame f;
	uint32_t cookie_isn, ts_cookie;

	if (p->ack != px->client_isn + 1 || !sg_pkt_tcp_csum_ok(p)) {
		count(w, SG_STAT_DROP_SYNACK_BAD);
		return SG_VERDICT_DROP;
	}
	sg_ct_lock(c);
	if (sg_ct_state_get(c) != SG_CT_SYN_SENT) {
		/* A second worker handled a copy first. */
		sg_ct_unlock(c);
		return SG_VERDICT_CONSUME;
	}
	cookie_isn = px->seq_offset;
	ts_cookie = px->ts_offset;
	px->seq_offset = cookie_isn - p->seq;
	px->server_ws = (p->opt.present & SG_OPT_WS) ? (p->opt.wscale > 14 ? 14 : p->opt.wscale) : WS_NONE;
	if (p->opt.present & SG_OPT_SACKPERM)
		px->flags |= PXF_SERVER_SACK;
	if (p->opt.present & SG_OPT_TS) {
		px->flags |= PXF_SERVER_TS;
		px->ts_offset = ts_cookie - p->opt.tsval;
	} else {
		px->ts_offset = 0;
	}
	px->max_end[DIR_LAN] = p->seq + 1;
	if (seq_after(px->client_isn + 1, px->max_end[DIR_WAN]))
		px->max_end[DIR_WAN] = px->client_isn + 1;
	/* Publish the offsets before the state other workers test. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	sg_ct_unlock(c);
	sg_ct_set_state(w->p->ct, w->id, c, SG_CT_ESTABLISHED, w->now_ms);
	count(w, SG_STAT_PROXIED_OPEN);

	send_ack_to_server(w, out, c, p->seq, p->opt.tsval);

	/* The client has been waiting on a zero window: open it.  The
	 * SYN-ACK's window is unscaled (RFC 7323 §2.2). */
	frame_towards_client(&f, c);
	f.seq = cookie_isn + 1;
	f.ack = px->client_isn + 1;
	f.flags = SG_TCP_ACK;
	f.win = window_convert(p->win, 0, px->client_ws == WS_NONE ? 0 : px->our_ws);
	if (px->flags & PXF_CLIENT_TS) {
		f.opt.present = SG_OPT_TS;
		f.opt.tsval = ts_cookie;
		f.opt.tsecr = px->client_tsval;
	}
	if (emit(w, out, SG_PORT_WAN, &f))
		count(w, SG_STAT_WINDOW_UPDATE);
	return SG_VERDICT_CONSUME;
}

/* The server refused our SYN: the client, which believes the connection
 * open, gets the RST it would accept (SEQ = cookie ISN + 1). */
static enum sg_verdict lan_refused(struct sg_proxy_worker *w, struct sg_conn *c, struct sg_pkt *p)
{
	struct sg_conn_proxy *px = &c->px;

	if (!(p->tcp_flags & SG_TCP_ACK) || p->ack != px->client_isn + 1) {
		count(w, SG_STAT_DROP_RST_INVALID);
		return SG_VERDICT_DROP;
	}
	sg_pkt_tcp_set32(p, 4, px->seq_offset + 1);
	sg_ct_set_state(w->p->ct, w->id, c, SG_CT_CLOSED, w->now_ms);
	count(w, SG_STAT_SERVER_REFUSED);
	return SG_VERDICT_FORWARD;
}

/* ---- per-direction dispatch ---- */

static bool is_pure_syn(const struct sg_pkt *p)
{
	return (p->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST | SG_TCP_FIN)) == SG_TCP_SYN;
}

static bool is_synack(const struct sg_pkt *p)
{
	return (p->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST | SG_TCP_FIN)) ==
	       (SG_TCP_SYN | SG_TCP_ACK);
}

static enum sg_verdict unknown_from_wan(struct sg_proxy_worker *w)
{
	if (w->p->cfg.unknown_policy == SG_POLICY_FORWARD)
		return SG_VERDICT_FORWARD;
	count(w, SG_STAT_DROP_UNKNOWN);
	return SG_VERDICT_DROP;
}

static void flow_ref_fill(struct sg_proxy_worker *w, struct flow_ref *f, const struct sg_pkt *p,
                          enum sg_port port)
{
	if (f->valid)
		return;
	key_from_pkt(&f->k, p, port);
	f->h = sg_ct_hash(w->p->ct, &f->k);
	f->valid = true;
}

static enum sg_verdict from_wan(struct sg_proxy_worker *w, struct sg_pkt *p, struct flow_ref *fr,
                                uint64_t now_ns, struct sg_out *out)
{
	struct sg_conn *c;
	enum sg_ct_state s;

	if ((p->tcp_flags & (SG_TCP_SYN | SG_TCP_RST)) == (SG_TCP_SYN | SG_TCP_RST) ||
	    (p->tcp_flags & (SG_TCP_SYN | SG_TCP_FIN)) == (SG_TCP_SYN | SG_TCP_FIN)) {
		count(w, SG_STAT_DROP_SYN_FLAGS);
		return SG_VERDICT_DROP;
	}
	flow_ref_fill(w, fr, p, SG_PORT_WAN);
	c = sg_ct_lookup_hashed(w->p->ct, w->id, &fr->k, fr->h);
	s = c ? sg_ct_state_get(c) : SG_CT_FREE;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	if (s == SG_CT_FREE || sg_ct_state_closing(s)) {
		if (is_pure_syn(p))
			return wan_syn(w, p, &fr->k, now_ns, out);
		if ((p->tcp_flags & (SG_TCP_ACK | SG_TCP_SYN | SG_TCP_RST)) == SG_TCP_ACK) {
			int v = wan_cookie_ack(w, p, fr, s == SG_CT_FREE ? NULL : c, now_ns, out);

			if (v >= 0)
				return (enum sg_verdict)v;
		}
		if (s == SG_CT_FREE)
			return unknown_from_wan(w);
	}
	if (!(c->px.flags & PXF_PROXIED)) {
		/* A LAN-opened connection: the WAN host answers or talks. */
		if (s == SG_CT_UP_SYN_SENT && is_synack(p))
			sg_ct_set_state(w->p->ct, w->id, c, SG_CT_UP_SYN_RECV, w->now_ms);
		else if (!close_rules(w, c, p, DIR_WAN))
			return SG_VERDICT_DROP;
		track_end(&c->px, DIR_WAN, p);
		keep_alive(w, c);
		return SG_VERDICT_FORWARD;
	}
	if (s == SG_CT_SYN_SENT) {
		/* The client repeats its ACK: our SYN or the server's answer got
		 * lost; ask the server again now rather than at the next timer. */
		if ((p->tcp_flags & (SG_TCP_ACK | SG_TCP_SYN | SG_TCP_RST | SG_TCP_FIN)) == SG_TCP_ACK &&
		    p->seq == c->px.client_isn + 1 && p->ack == c->px.seq_offset + 1) {
			if (send_syn_to_server(w, out, c))
				count(w, SG_STAT_SYN_RETRANSMIT);
			return SG_VERDICT_CONSUME;
		}
		if (p->tcp_flags & SG_TCP_RST)
			return close_rules(w, c, p, DIR_WAN) ? SG_VERDICT_FORWARD : SG_VERDICT_DROP;
		count(w, SG_STAT_DROP_SYN_SENT_DATA);
		return SG_VERDICT_DROP;
	}
	if (is_pure_syn(p)) {
		/* A new SYN on a live tuple (the client restarted): let the server
		 * answer it with a challenge ACK, whose RST from the client then
		 * closes the old connection (RFC 5961 §4). */
		count(w, SG_STAT_SYN_FORWARDED);
		return SG_VERDICT_FORWARD;
	}
	return c2s(w, c, p);
}

static void clamp_mss(struct sg_proxy_worker *w, struct sg_pkt *p)
{
	uint16_t clamp = w->p->cfg.uplink_mss_clamp;

	if (clamp && (p->opt.present & SG_OPT_MSS) && p->opt.mss > clamp) {
		sg_pkt_tcp_set16(p, p->opt.mss_off + 2u, clamp);
		count(w, SG_STAT_MSS_CLAMPED);
	}
}

static enum sg_verdict from_lan(struct sg_proxy_worker *w, struct sg_pkt *p, struct flow_ref *fr,
                                struct sg_out *out)
{
	struct sg_proxy *px = w->p;
	struct sg_conn *c, *ex;
	enum sg_ct_state s;
	int err;

	flow_ref_fill(w, fr, p, SG_PORT_LAN);
	c = sg_ct_lookup_hashed(px->ct, w->id, &fr->k, fr->h);
	s = c ? sg_ct_state_get(c) : SG_CT_FREE;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	if (s == SG_CT_FREE || (sg_ct_state_closing(s) && is_pure_syn(p))) {
		enum sg_ct_state ns = is_pure_syn(p) ? SG_CT_UP_SYN_SENT : SG_CT_ESTABLISHED;

		if (p->tcp_flags & SG_TCP_RST)
			return SG_VERDICT_FORWARD;
		if (is_pure_syn(p))
			clamp_mss(w, p);
		if (s != SG_CT_FREE) {
			sg_ct_lock(c);
			memset(&c->px, 0, sizeof(c->px));
			sg_ct_unlock(c);
			sg_ct_set_state(px->ct, w->id, c, ns, w->now_ms);
			count(w, SG_STAT_CONN_REPLACED);
		} else {
			/* Mid-stream from LAN (e.g. after a restart): the protected side
			 * is trusted, so track it and let the replies through. */
			c = sg_ct_insert_hashed(px->ct, w->id, &fr->k, fr->h, ns, NULL, w->now_ms,
			                        &ex, &err);
			if (!c && !ex) {
				count(w, SG_STAT_DROP_TABLE_FULL);
				return SG_VERDICT_FORWARD;
			}
			if (!c)
				c = ex;
			count(w, ns == SG_CT_UP_SYN_SENT ? SG_STAT_UPLINK_TRACKED : SG_STAT_UPLINK_PICKUP);
		}
		track_end(&c->px, DIR_LAN, p);
		return SG_VERDICT_FORWARD;
	}
	if (!(c->px.flags & PXF_PROXIED)) {
		if (is_synack(p))
			clamp_mss(w, p);
		if (s == SG_CT_UP_SYN_RECV && (p->tcp_flags & SG_TCP_ACK) && !(p->tcp_flags & SG_TCP_SYN))
			sg_ct_set_state(px->ct, w->id, c, SG_CT_ESTABLISHED, w->now_ms);
		else if (!close_rules(w, c, p, DIR_LAN))
			return SG_VERDICT_DROP;
		track_end(&c->px, DIR_LAN, p);
		keep_alive(w, c);
		return SG_VERDICT_FORWARD;
	}
	if (s == SG_CT_SYN_SENT) {
		if (is_synack(p))
			return lan_synack(w, c, p, out);
		if (p->tcp_flags & SG_TCP_RST)
			return lan_refused(w, c, p);
		count(w, SG_STAT_DROP_SYNACK_BAD);
		return SG_VERDICT_DROP;
	}
	if (is_synack(p)) {
		/* Our ACK to the server was lost: it repeats its SYN-ACK. */
		if (p->ack == c->px.client_isn + 1)
			send_ack_to_server(w, out, c, p->seq, p->opt.tsval);
		else
			count(w, SG_STAT_DROP_SYNACK_BAD);
		return SG_VERDICT_CONSUME;
	}
	return s2c(w, c, p);
}

/* ---- ICMP errors quoting a proxied connection ---- */

static void icmp_translate(struct sg_proxy_worker *w, struct sg_pkt *p, enum sg_port port)
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
	key_from_pkt(&k, &in, SG_PORT_LAN);
	c = sg_ct_lookup(w->p->ct, w->id, &k);
	if (!c || !(c->px.flags & PXF_PROXIED) || sg_ct_state_get(c) == SG_CT_SYN_SENT)
		return;
	tcp_off = (size_t)(in.l4_off - p->l4_off);
	seq_off = tcp_off + 4;
	tcsum_off = tcp_off + 16;
	seq = sg_rd32(icmp + seq_off) - c->px.seq_offset;
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
	count(w, SG_STAT_ICMP_TRANSLATED);
}

/* ---- entry point ---- */

static enum sg_verdict process_parsed(struct sg_proxy_worker *w, enum sg_port port,
                                      struct sg_pkt *p, enum sg_pkt_class cls,
                                      struct flow_ref *fr, uint64_t now_ns, struct sg_out *out)
{
	enum sg_verdict v;

	count(w, port == SG_PORT_WAN ? SG_STAT_RX_WAN : SG_STAT_RX_LAN);
	switch (cls) {
	case SG_PKT_TCP:
		count(w, SG_STAT_RX_TCP);
		if (p->first_frag) {
			/* The payload is elsewhere: nothing to splice safely. */
			v = port == SG_PORT_WAN ? unknown_from_wan(w) : SG_VERDICT_FORWARD;
			break;
		}
		v = port == SG_PORT_WAN ? from_wan(w, p, fr, now_ns, out) : from_lan(w, p, fr, out);
		break;
	case SG_PKT_IP_OTHER:
		count(w, SG_STAT_RX_IP_OTHER);
		if (p->l4proto == SG_IPPROTO_ICMP || p->l4proto == SG_IPPROTO_ICMPV6)
			icmp_translate(w, p, port);
		v = SG_VERDICT_FORWARD;
		break;
	case SG_PKT_NOT_IP:
		count(w, SG_STAT_RX_NOT_IP);
		v = SG_VERDICT_FORWARD;
		break;
	case SG_PKT_FRAGMENT:
		count(w, SG_STAT_RX_FRAGMENT);
		v = SG_VERDICT_FORWARD;
		break;
	default:
		count(w, SG_STAT_RX_BAD);
		w->st.bad[p->bad < SG_BAD__COUNT ? p->bad : 0]++;
		if (w->p->cfg.bad_frame_policy == SG_POLICY_FORWARD) {
			v = SG_VERDICT_FORWARD;
		} else {
			count(w, SG_STAT_DROP_BAD_FRAME);
			v = SG_VERDICT_DROP;
		}
		break;
	}
	count(w, v == SG_VERDICT_FORWARD ? SG_STAT_FORWARDED :
	         v == SG_VERDICT_CONSUME ? SG_STAT_CONSUMED : SG_STAT_DROPPED);
	return v;
}

enum sg_verdict sg_proxy_process(struct sg_proxy_worker *w, enum sg_port port,
                                 uint8_t *frame, uint32_t len, uint64_t now_ns,
                                 struct sg_out *out)
{
	struct sg_pkt p;
	struct flow_ref fr = { .valid = false };
	enum sg_pkt_class cls = sg_pkt_parse(&p, frame, len);

	w->now_ms = (uint32_t)(now_ns / 1000000u);
	return process_parsed(w, port, &p, cls, &fr, now_ns, out);
}

void sg_proxy_process_burst(struct sg_proxy_worker *w, enum sg_port port,
                            uint8_t *const frames[], const uint32_t lens[], unsigned n,
                            uint64_t now_ns, enum sg_verdict verdicts[], struct sg_out outs[])
{
	struct sg_pkt p[SG_PROXY_BURST_MAX];
	enum sg_pkt_class cls[SG_PROXY_BURST_MAX];
	struct flow_ref fr[SG_PROXY_BURST_MAX];

	w->now_ms = (uint32_t)(now_ns / 1000000u);
	for (unsigned base = 0; base < n; base += SG_PROXY_BURST_MAX) {
		unsigned m = n - base < SG_PROXY_BURST_MAX ? n - base : SG_PROXY_BURST_MAX;

		for (unsigned i = 0; i < m; i++) {
			__builtin_prefetch(frames[base + i]);
			__builtin_prefetch(frames[base + i] + 64);
		}
		for (unsigned i = 0; i < m; i++) {
			cls[i] = sg_pkt_parse(&p[i], frames[base + i], lens[base + i]);
			fr[i].valid = false;
			if (cls[i] == SG_PKT_TCP && !p[i].first_frag) {
				flow_ref_fill(w, &fr[i], &p[i], port);
				sg_ct_prefetch_bucket(w->p->ct, fr[i].h);
			}
		}
		for (unsigned i = 0; i < m; i++)
			if (fr[i].valid)
				sg_ct_prefetch_entry(w->p->ct, fr[i].h);
		for (unsigned i = 0; i < m; i++)
			verdicts[base + i] = process_parsed(w, port, &p[i], cls[i], &fr[i], now_ns,
			                                    &outs[base + i]);
	}
}

/* ---- timers ---- */

struct tick_ctx {
	struct sg_proxy_worker *w;
	struct sg_out *out;
	bool full;
};

static enum sg_ct_expire_action on_expire(void *arg, struct sg_conn *c, uint32_t now_ms)
{
	struct tick_ctx *t = arg;
	struct sg_proxy_worker *w = t->w;
	struct sg_conn_proxy *px = &c->px;
	struct sg_tcp_frame f;

	if (sg_ct_state_get(c) != SG_CT_SYN_SENT)
		return SG_CT_EXPIRE_FREE;
	if (t->out->n >= t->out->cap) {
		/* No room to send now: come back on the next tick. */
		t->full = true;
		sg_ct_set_expiry(w->p->ct, w->id, c, now_ms);
		return SG_CT_EXPIRE_KEEP;
	}
	if (px->retries + 1 < SG_PROXY_SYN_TRIES) {
		px->retries++;
		send_syn_to_server(w, t->out, c);
		count(w, SG_STAT_SYN_RETRANSMIT);
		sg_ct_set_expiry(w->p->ct, w->id, c, now_ms + (1000u << px->retries));
		return SG_CT_EXPIRE_KEEP;
	}
	/* The server never answered: the client thinks it is connected. */
	frame_towards_client(&f, c);
	f.seq = px->seq_offset + 1;
	f.ack = px->client_isn + 1;
	f.flags = SG_TCP_RST | SG_TCP_ACK;
	emit(w, t->out, SG_PORT_WAN, &f);
	count(w, SG_STAT_SERVER_TIMEOUT);
	return SG_CT_EXPIRE_FREE;
}

/* Expiries one tick handles at most, so a wave of timeouts cannot hold
 * up packets for long. */
#define TICK_BUDGET 4096

int sg_proxy_tick(struct sg_proxy_worker *w, uint64_t now_ns, struct sg_out *out)
{
	struct tick_ctx t = { .w = w, .out = out, .full = false };

	w->now_ms = (uint32_t)(now_ns / 1000000u);
	sg_ct_quiescent(w->p->ct, w->id);
	sg_ct_expire(w->p->ct, w->id, w->now_ms, on_expire, &t, TICK_BUDGET);
	return t.full;
}
