/* Transitions of a connection record (see conn.h for the rules). */
#include "core/conn.h"

#include <errno.h>
#include <string.h>

int sg_conn_open_proxied(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                         uint32_t hash, struct sg_conn *old, const struct sg_conn_rec *init,
                         uint32_t now_ms, struct sg_conn **out)
{
	struct sg_conn *c, *ex;
	int err;

	if (old) {
		sg_ct_lock(old);
		memcpy(old->payload, init, sizeof(*init));
		sg_ct_unlock(old);
		*out = old;
		return sg_ct_set_state(ct, worker, old, SG_CT_SYN_SENT, now_ms);
	}
	c = sg_ct_insert(ct, worker, k, hash, SG_CT_SYN_SENT, init, now_ms, &ex, &err);
	*out = c;
	return c ? 0 : err;
}

struct sg_conn *sg_conn_open_tracked(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                                     uint32_t hash, struct sg_conn *old, enum sg_ct_state state,
                                     uint32_t now_ms)
{
	struct sg_conn *c, *ex;
	int err;

	if (old) {
		sg_ct_lock(old);
		memset(old->payload, 0, sizeof(old->payload));
		sg_ct_unlock(old);
		sg_ct_set_state(ct, worker, old, state, now_ms);
		return old;
	}
	c = sg_ct_insert(ct, worker, k, hash, state, NULL, now_ms, &ex, &err);
	return c ? c : ex;
}

int sg_conn_establish(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                      const struct sg_conn_server *srv, uint32_t now_ms,
                      uint32_t *cookie_isn, uint32_t *ts_cookie)
{
	struct sg_conn_rec *r = sg_conn_rec(c);

	sg_ct_lock(c);
	if (sg_ct_state_get(c) != SG_CT_SYN_SENT) {
		sg_ct_unlock(c);
		return -EALREADY;
	}
	*cookie_isn = r->seq_offset;
	*ts_cookie = r->ts_offset;
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
	r->max_end[SG_DIR_LAN] = srv->isn + 1;
	if (sg_seq_after(r->client_isn + 1, r->max_end[SG_DIR_WAN]))
		r->max_end[SG_DIR_WAN] = r->client_isn + 1;
	/* Publish the offsets before the state other workers test. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	sg_ct_unlock(c);
	sg_ct_set_state(ct, worker, c, SG_CT_ESTABLISHED, now_ms);
	return 0;
}

void sg_conn_close(struct sg_ct *ct, unsigned worker, struct sg_conn *c, uint32_t now_ms)
{
	sg_ct_set_state(ct, worker, c, SG_CT_CLOSED, now_ms);
}

void sg_conn_track_end(struct sg_conn *c, enum sg_dir dir, const struct sg_pkt *p)
{
	struct sg_conn_rec *r = sg_conn_rec(c);
	uint32_t end = p->seq + p->payload_len + ((p->tcp_flags & SG_TCP_FIN) ? 1 : 0) +
	               ((p->tcp_flags & SG_TCP_SYN) ? 1 : 0);

	if (sg_seq_after(end, r->max_end[dir]))
		r->max_end[dir] = end;
}

/* Records a FIN; false when it repeats an earlier FIN at another place. */
static bool note_fin(struct sg_ct *ct, unsigned worker, struct sg_conn *c, enum sg_dir dir,
                     uint32_t fin, enum sg_ct_state s, uint32_t now_ms)
{
	struct sg_conn_rec *r = sg_conn_rec(c);
	uint8_t bit = dir == SG_DIR_WAN ? SG_CONN_FIN_WAN : SG_CONN_FIN_LAN;
	bool both;

	sg_ct_lock(c);
	if (r->flags & bit) {
		bool same = r->fin_seq[dir] == fin;

		sg_ct_unlock(c);
		return same;
	}
	r->flags |= bit;
	r->fin_seq[dir] = fin;
	both = (r->flags & (SG_CONN_FIN_WAN | SG_CONN_FIN_LAN)) == (SG_CONN_FIN_WAN | SG_CONN_FIN_LAN);
	if (both && dir == SG_DIR_LAN)
		r->flags |= SG_CONN_LAST_FIN_LAN;
	sg_ct_unlock(c);
	if (both && s != SG_CT_TIME_WAIT && s != SG_CT_CLOSED)
		sg_ct_set_state(ct, worker, c, SG_CT_CLOSING, now_ms);
	else if (!both && s == SG_CT_ESTABLISHED)
		sg_ct_set_state(ct, worker, c, SG_CT_FIN_WAIT, now_ms);
	return true;
}

bool sg_conn_close_rules(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                         const struct sg_pkt *p, enum sg_dir dir, uint16_t rst_slack,
                         uint32_t now_ms, enum sg_stat *why)
{
	const struct sg_conn_rec *r = sg_conn_rec(c);
	enum sg_ct_state s = sg_ct_state_get(c);

	if (p->tcp_flags & SG_TCP_RST) {
		int32_t d = (int32_t)(p->seq - r->max_end[dir]);

		if (d < -(int32_t)rst_slack || d > (int32_t)rst_slack) {
			*why = SG_STAT_DROP_RST_INVALID;
			return false;
		}
		sg_conn_close(ct, worker, c, now_ms);
		return true;
	}
	if (p->tcp_flags & SG_TCP_FIN) {
		if (!note_fin(ct, worker, c, dir, p->seq + p->payload_len, s, now_ms)) {
			*why = SG_STAT_DROP_FIN_CHANGED;
			return false;
		}
		return true;
	}
	/* The ACK of the later FIN, from the other side, ends the closing. */
	if (s == SG_CT_CLOSING && (p->tcp_flags & SG_TCP_ACK)) {
		enum sg_dir last = (r->flags & SG_CONN_LAST_FIN_LAN) ? SG_DIR_LAN : SG_DIR_WAN;

		if (dir != last && !sg_seq_after(r->fin_seq[last] + 1, p->ack))
			sg_ct_set_state(ct, worker, c, SG_CT_TIME_WAIT, now_ms);
	}
	return true;
}
