/* Frames synguard makes (see emit.h). */
#include "core/emit.h"

#include <string.h>

struct sg_out_frame *sg_emit_slot(struct sg_proxy_worker *w, struct sg_out *out)
{
	if (out->n >= out->cap || out->n >= SG_OUT_MAX) {
		sg_count(w, SG_STAT_DROP_NO_BUFFER);
		return NULL;
	}
	return &out->f[out->n];
}

/* A frame of len bytes (or a builder's error) written into out's next
 * slot o: it goes out. */
static bool commit(struct sg_out *out, struct sg_out_frame *o, int len, enum sg_port port)
{
	if (len < 0)
		return false;
	o->len = (uint16_t)len;
	o->port = (uint8_t)port;
	out->n++;
	return true;
}

bool sg_emit(struct sg_proxy_worker *w, struct sg_out *out, enum sg_port port,
             const struct sg_tcp_frame *f)
{
	struct sg_out_frame *o = sg_emit_slot(w, out);

	return o && commit(out, o, sg_build_tcp(o->buf, SG_OUT_FRAME_MAX, f), port);
}

bool sg_emit_synack(struct sg_proxy_worker *w, struct sg_out *out, const struct sg_pkt *syn,
                    uint32_t seq, uint16_t win, const struct sg_tcp_opts *opt)
{
	struct sg_out_frame *o = sg_emit_slot(w, out);

	return o && commit(out, o, sg_build_synack(o->buf, SG_OUT_FRAME_MAX, syn, seq, win, opt),
	                   SG_PORT_WAN);
}

void sg_emit_to_server(struct sg_tcp_frame *f, const struct sg_conn *c)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	size_t alen = c->key.family == 4 ? 4 : 16;

	memset(f, 0, sizeof(*f));
	memcpy(f->dst_mac, r->lan_mac, 6);
	memcpy(f->src_mac, r->wan_mac, 6);
	f->nvlan = r->nvlan;
	for (unsigned i = 0; i < r->nvlan; i++) {
		f->vlan[i].tpid = r->vlan_tpid[i];
		f->vlan[i].tci = r->vlan_tci[i];
	}
	f->family = c->key.family;
	memcpy(f->saddr, c->key.wan_addr, alen);
	memcpy(f->daddr, c->key.lan_addr, alen);
	f->sport = c->key.wan_port;
	f->dport = c->key.lan_port;
}

void sg_emit_challenge_ack(struct sg_proxy_worker *w, struct sg_out *out, const struct sg_conn *c,
                           const struct sg_pkt *p, enum sg_dir from)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	enum sg_dir to = from == SG_DIR_WAN ? SG_DIR_LAN : SG_DIR_WAN;
	uint8_t need = SG_SEEN_END_WAN | SG_SEEN_END_LAN |
	               (to == SG_DIR_WAN ? SG_SEEN_WIN_WAN : SG_SEEN_WIN_LAN);
	bool proxied = r->flags & SG_CONN_PROXIED;
	unsigned shift;
	uint32_t room;
	struct sg_tcp_frame f;

	if ((r->seen & need) != need || !sg_spend(w, p))
		return;
	sg_build_from_pkt(&f, p, 1);
	f.flags = SG_TCP_ACK;
	f.ack = r->max_end[from];
	f.seq = r->max_end[to];
	/* In the sender's sequence space, and its window in the scale the
	 * sender expects from its peer. */
	if (proxied && to == SG_DIR_LAN) {
		f.seq += r->seq_offset;
		shift = sg_conn_shift_to_client(r);
	} else if (proxied) {
		shift = sg_conn_server_scaling(r) ? r->client_ws : 0;
	} else {
		shift = sg_conn_shift(r, to);
	}
	room = r->redge[to] - f.ack;
	if ((int32_t)room < 0)
		room = 0;
	f.win = room >> shift > 0xffff ? 0xffff : (uint16_t)(room >> shift);
	if (sg_emit(w, out, from == SG_DIR_WAN ? SG_PORT_WAN : SG_PORT_LAN, &f))
		sg_count(w, SG_STAT_RST_CHALLENGED);
}

void sg_emit_to_client(struct sg_tcp_frame *f, const struct sg_conn *c)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	size_t alen = c->key.family == 4 ? 4 : 16;

	sg_emit_to_server(f, c);
	memcpy(f->dst_mac, r->wan_mac, 6);
	memcpy(f->src_mac, r->lan_mac, 6);
	memcpy(f->saddr, c->key.lan_addr, alen);
	memcpy(f->daddr, c->key.wan_addr, alen);
	f->sport = c->key.lan_port;
	f->dport = c->key.wan_port;
}
