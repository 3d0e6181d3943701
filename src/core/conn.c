/* Transitions of a connection record (see conn.h for the rules). */
#include "core/conn.h"

#include <errno.h>
#include <string.h>

/* A closing entry given to a new connection on its tuple: the new record,
 * but the quota accounting follows the entry, which keeps its tuple. */
static void replace_record(struct sg_conn *old, const struct sg_conn_rec *init)
{
	struct sg_conn_rec *r = sg_conn_rec(old);
	uint8_t counted;

	sg_ct_lock(old);
	counted = sg_conn_seen(r) & SG_SEEN_COUNTED;
	memcpy(old->payload, init, sizeof(*init));
	__atomic_store_n(&r->seen, (uint8_t)((init->seen & ~SG_SEEN_COUNTED) | counted),
	                 __ATOMIC_RELAXED);
	sg_ct_unlock(old);
}

int sg_conn_open_proxied(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                         uint32_t hash, struct sg_conn *old, const struct sg_conn_rec *init,
                         uint32_t now_ms, struct sg_conn **out)
{
	struct sg_conn *c, *ex;
	int err;

	if (old) {
		replace_record(old, init);
		*out = old;
		return sg_ct_set_state(ct, worker, old, SG_CT_SYN_SENT, now_ms);
	}
	c = sg_ct_insert(ct, worker, k, hash, SG_CT_SYN_SENT, init, now_ms, &ex, &err);
	*out = c;
	return c ? 0 : err;
}

struct sg_conn *sg_conn_open_tracked(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                                     uint32_t hash, struct sg_conn *old, enum sg_ct_state state,
                                     const struct sg_conn_rec *init, uint32_t now_ms,
                                     bool *opened)
{
	struct sg_conn *c, *ex;
	int err;

	*opened = true;
	if (old) {
		replace_record(old, init);
		sg_ct_set_state(ct, worker, old, state, now_ms);
		return old;
	}
	c = sg_ct_insert(ct, worker, k, hash, state, init, now_ms, &ex, &err);
	if (c)
		return c;
	*opened = false;
	return ex;
}

void sg_conn_tracked_answered(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                              enum sg_dir from, uint8_t ws, uint32_t now_ms)
{
	sg_ct_lock(c);
	__atomic_store_n(from == SG_DIR_WAN ? &sg_conn_rec(c)->client_ws : &sg_conn_rec(c)->server_ws,
	                 ws, __ATOMIC_RELAXED);
	sg_conn_learn_shifts(sg_conn_rec(c));
	sg_ct_unlock(c);
	sg_ct_set_state(ct, worker, c, SG_CT_UP_SYN_RECV, now_ms);
}

int sg_conn_establish(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                      const struct sg_conn_server *srv, uint32_t now_ms,
                      uint32_t *cookie_isn, uint32_t *ts_cookie, uint32_t *opened_us)
{
	struct sg_conn_rec *r = sg_conn_rec(c);

	sg_ct_lock(c);
	if (sg_ct_state_get(c) != SG_CT_SYN_SENT) {
		sg_ct_unlock(c);
		return -EALREADY;
	}
	*cookie_isn = r->seq_offset;
	*ts_cookie = r->ts_offset;
	*opened_us = r->hs.opened_us;     /* before the windows take its place */
	r->seq_offset = *cookie_isn - srv->isn;
	r->server_ws = srv->ws;
	if (srv->sack)
		r->flags |= SG_CONN_SERVER_SACK;
	if (srv->ts) {
		r->flags |= SG_CONN_SERVER_TS;
		r->ts_offset = *ts_cookie - srv->tsval;
	} else {
		r->ts_offset = 0;
	}
	sg_conn_learn_shifts(r);
	/* Both sides' numbers as the handshake fixed them: the server's ISN,
	 * the client's; the server's window in its SYN-ACK, the client's in
	 * its cookie ACK (in the server's sequence space). */
	sg_conn_anchor(r, SG_DIR_LAN, srv->isn);
	if (sg_seq_after(r->client_isn + 1, r->max_end[SG_DIR_WAN]))
		sg_conn_anchor(r, SG_DIR_WAN, r->client_isn);
	sg_conn_anchor_window(r, SG_DIR_LAN, r->client_isn + 1, srv->win);
	sg_conn_anchor_window(r, SG_DIR_WAN, srv->isn + 1,
	                      (uint32_t)r->client_win << sg_conn_client_shift(r));
	/* The offsets reach other workers with the state (set with release,
	 * read with acquire: sg_conn_state). */
	sg_ct_unlock(c);
	sg_ct_set_state(ct, worker, c, SG_CT_ESTABLISHED, now_ms);
	return 0;
}

void sg_conn_close(struct sg_ct *ct, unsigned worker, struct sg_conn *c, uint32_t now_ms)
{
	sg_ct_set_state(ct, worker, c, SG_CT_CLOSED, now_ms);
}

#define SEEN_END(d) ((d) == SG_DIR_WAN ? SG_SEEN_END_WAN : SG_SEEN_END_LAN)
#define SEEN_WIN(d) ((d) == SG_DIR_WAN ? SG_SEEN_WIN_WAN : SG_SEEN_WIN_LAN)
#define FIN_BIT(d)  ((d) == SG_DIR_WAN ? SG_CONN_FIN_WAN : SG_CONN_FIN_LAN)

static inline enum sg_dir other(enum sg_dir d)
{
	return d == SG_DIR_WAN ? SG_DIR_LAN : SG_DIR_WAN;
}

/* The largest window side d can advertise, in bytes. */
static inline uint32_t max_window(const struct sg_conn_rec *r, enum sg_dir d)
{
	return 0xffffu << sg_conn_shift(r, d);
}

/* Is seq a number side `from` may send now: up to the right edge of the
 * receiver's window (one beyond: a zero-window probe), and back as far as
 * the receiver's largest window, for a retransmission of data lost after
 * synguard saw it?  Unknown edges count as the largest window. */
static bool in_window(const struct sg_conn_rec *r, enum sg_dir from, uint32_t seq)
{
	enum sg_dir to = other(from);
	uint32_t span = max_window(r, to), hi, lo;

	uint8_t seen = sg_conn_seen(r);
	uint32_t mine = sg_conn_rd(&r->max_end[from]);

	if (!(seen & SEEN_END(from)))
		return true;
	lo = mine - span;
	hi = (seen & SEEN_WIN(to)) ? sg_conn_rd(&r->redge[to]) + 1 : mine + span;
	return seq - lo <= hi - lo;
}

static inline uint32_t seg_end(const struct sg_pkt *p)
{
	return p->seq + p->payload_len + ((p->tcp_flags & SG_TCP_FIN) ? 1 : 0) +
	       ((p->tcp_flags & SG_TCP_SYN) ? 1 : 0);
}

void sg_conn_anchor(struct sg_conn_rec *r, enum sg_dir dir, uint32_t isn)
{
	sg_conn_wr(&r->max_end[dir], isn + 1);
	sg_conn_see(r, SEEN_END(dir));
}

void sg_conn_anchor_window(struct sg_conn_rec *r, enum sg_dir dir, uint32_t ack, uint32_t win_bytes)
{
	sg_conn_wr(&r->redge[dir], ack + win_bytes);
	sg_conn_see(r, SEEN_WIN(dir));
}

void sg_conn_observe_first(struct sg_conn *c, enum sg_dir dir, const struct sg_pkt *p)
{
	struct sg_conn_rec *r = sg_conn_rec(c);
	enum sg_dir to = other(dir);
	uint32_t end = seg_end(p);

	if (!(sg_conn_seen(r) & SEEN_END(dir))) {
		sg_conn_wr(&r->max_end[dir], end);
		sg_conn_see(r, SEEN_END(dir));
	} else if (!in_window(r, dir, end)) {
		return;
	} else if (sg_seq_after(end, sg_conn_rd(&r->max_end[dir])) && !(sg_conn_flags(r) & FIN_BIT(dir))) {
		sg_conn_wr(&r->max_end[dir], end);
	}
	/* An ACK can only acknowledge what the other side sent. */
	if ((p->tcp_flags & SG_TCP_ACK) &&
	    (!(sg_conn_seen(r) & SEEN_END(to)) ||
	     sg_conn_rd(&r->max_end[to]) - p->ack <= max_window(r, dir))) {
		unsigned shift = (p->tcp_flags & SG_TCP_SYN) ? 0 : sg_conn_shift(r, dir);
		uint32_t edge = p->ack + ((uint32_t)p->win << shift);

		if (!(sg_conn_seen(r) & SEEN_WIN(dir)) || sg_seq_after(edge, sg_conn_rd(&r->redge[dir])))
			sg_conn_anchor_window(r, dir, p->ack, (uint32_t)p->win << shift);
	}
}

/* Records a FIN at `end` (its SEQ + 1).  False when it repeats an earlier
 * FIN at another place. */
static bool note_fin(struct sg_ct *ct, unsigned worker, struct sg_conn *c, enum sg_dir dir,
                     uint32_t seq, uint32_t end, enum sg_ct_state s, uint32_t now_ms)
{
	struct sg_conn_rec *r = sg_conn_rec(c);
	bool both;

	sg_ct_lock(c);
	if (sg_conn_flags(r) & FIN_BIT(dir)) {
		bool same = sg_conn_rd(&r->max_end[dir]) == end;

		sg_ct_unlock(c);
		return same;
	}
	if ((sg_conn_seen(r) & SEEN_END(dir)) && seq != sg_conn_rd(&r->max_end[dir])) {
		/* Not where the sender's data ends as synguard saw it: a FIN a
		 * blind sender landed in the window (then the genuine one must
		 * not be taken for a moved FIN), or one after data lost before
		 * synguard.  Passed on for the receiver to judge; nothing
		 * recorded. */
		sg_ct_unlock(c);
		return true;
	}
	sg_conn_wr(&r->max_end[dir], end);
	sg_conn_see(r, SEEN_END(dir));
	/* Set after the FIN's position, which readers of the bit compare with. */
	both = (__atomic_or_fetch(&r->flags, FIN_BIT(dir), __ATOMIC_RELAXED) &
	        (SG_CONN_FIN_WAN | SG_CONN_FIN_LAN)) == (SG_CONN_FIN_WAN | SG_CONN_FIN_LAN);
	if (both && dir == SG_DIR_LAN)
		__atomic_fetch_or(&r->flags, SG_CONN_LAST_FIN_LAN, __ATOMIC_RELAXED);
	sg_ct_unlock(c);
	if (both && s != SG_CT_TIME_WAIT && s != SG_CT_CLOSED)
		sg_ct_set_state(ct, worker, c, SG_CT_CLOSING, now_ms);
	else if (!both && s == SG_CT_ESTABLISHED)
		sg_ct_set_state(ct, worker, c, SG_CT_FIN_WAIT, now_ms);
	return true;
}

static bool rst_rules(struct sg_ct *ct, unsigned worker, struct sg_conn *c, const struct sg_pkt *p,
                      enum sg_dir dir, uint16_t rst_slack, uint32_t now_ms, enum sg_stat *why,
                      bool *challenge)
{
	const struct sg_conn_rec *r = sg_conn_rec(c);
	int32_t d = (int32_t)(p->seq - sg_conn_rd(&r->max_end[dir]));

	if (!(sg_conn_seen(r) & SEEN_END(dir)))
		return true;     /* nothing to judge by: the endpoint decides */
	if (d >= -(int32_t)rst_slack && d <= (int32_t)rst_slack) {
		sg_conn_close(ct, worker, c, now_ms);
		return true;
	}
	/* In the window: maybe the sender's data never reached synguard.  The
	 * challenge ACK tells a genuine sender the sequence to reset with
	 * (RFC 5961 §3.2); a blind attacker never sees it. */
	*challenge = in_window(r, dir, p->seq);
	*why = SG_STAT_DROP_RST_INVALID;
	return false;
}

bool sg_conn_fin_rst(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                     const struct sg_pkt *p, enum sg_dir dir, uint16_t rst_slack,
                     uint32_t now_ms, enum sg_stat *why, bool *challenge)
{
	const struct sg_conn_rec *r = sg_conn_rec(c);

	if (p->first_frag)
		return true;  /* its checksum cannot be verified: no state change */
	if (!sg_pkt_tcp_csum_ok(p)) {
		*why = SG_STAT_DROP_BAD_CSUM;
		return false;
	}
	if (p->tcp_flags & SG_TCP_RST)
		return rst_rules(ct, worker, c, p, dir, rst_slack, now_ms, why, challenge);
	if (!in_window(r, dir, seg_end(p))) {
		*why = SG_STAT_DROP_FIN_INVALID;
		return false;
	}
	if (!note_fin(ct, worker, c, dir, p->seq, seg_end(p), sg_ct_state_get(c), now_ms)) {
		*why = SG_STAT_DROP_FIN_CHANGED;
		return false;
	}
	return true;
}

/* The ACK of the later FIN, from the other side, ends the closing. */
void sg_conn_closing_ack(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                         const struct sg_pkt *p, enum sg_dir dir, uint32_t now_ms)
{
	const struct sg_conn_rec *r = sg_conn_rec(c);
	enum sg_dir last = (sg_conn_flags(r) & SG_CONN_LAST_FIN_LAN) ? SG_DIR_LAN : SG_DIR_WAN;

	if ((p->tcp_flags & SG_TCP_ACK) && dir != last &&
	    !sg_seq_after(sg_conn_rd(&r->max_end[last]), p->ack))
		sg_ct_set_state(ct, worker, c, SG_CT_TIME_WAIT, now_ms);
}
