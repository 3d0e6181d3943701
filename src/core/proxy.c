/* The proxy: lifecycle, the dispatch of each frame to the room of its
 * connection's life (handshake.c, splice.c, track.c), bursts and the
 * tick.  The states, decisions and reasons are in docs/design.md. */
#include "core/proxy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/conn.h"
#include "core/context.h"
#include "core/handshake.h"
#include "core/secret.h"
#include "core/splice.h"
#include "core/track.h"

/* ---- lifecycle ---- */

/* What the seed keys: one subkey each, so none reveals another. */
enum { SEED_TABLE_HASH = 1, SEED_COOKIE_MASTER = 2 };
static const char seed_context[crypto_kdf_CONTEXTBYTES] = { 's', 'g', 's', 'e', 'e', 'd', 0, 0 };
_Static_assert(SG_PROXY_SEED_BYTES == crypto_kdf_KEYBYTES, "the seed is a KDF key");

static int create_tables(struct sg_proxy *p, const struct sg_proxy_config *c, unsigned nworkers)
{
	uint8_t hash_key[SG_CT_HASH_KEY_BYTES], master[SG_SECRET_MASTER_BYTES];
	int rc;

	crypto_kdf_derive_from_key(hash_key, sizeof(hash_key), SEED_TABLE_HASH, seed_context, c->seed);
	if (c->shared_key)
		memcpy(master, c->shared_key, sizeof(master));
	else
		crypto_kdf_derive_from_key(master, sizeof(master), SEED_COOKIE_MASTER, seed_context,
		                           c->seed);
	rc = sg_ct_create(&c->ct, nworkers, hash_key, &p->ct);
	if (rc == 0)
		rc = sg_secret_create(master, c->cookie_period_s, &p->secret);
	sodium_memzero(hash_key, sizeof(hash_key));
	sodium_memzero(master, sizeof(master));
	return rc;
}

int sg_proxy_create(const struct sg_proxy_config *c, unsigned nworkers, struct sg_proxy **out)
{
	struct sg_cfg_fault why;
	struct sg_proxy *p;
	int rc;

	if (!c->seed || sg_proxy_config_check(c, nworkers, &why))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	p = aligned_alloc(64, (sizeof(*p) + nworkers * sizeof(p->w[0]) + 63) & ~(size_t)63);
	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p) + nworkers * sizeof(p->w[0]));
	p->cfg = *c;
	p->cfg.seed = NULL;         /* not kept: the tables have what they need */
	p->cfg.shared_key = NULL;
	p->nworkers = nworkers;
	rc = create_tables(p, c, nworkers);
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

void sg_proxy_set_cookie_clock(struct sg_proxy *p, int64_t offset_ns)
{
	__atomic_store_n(&p->cookie_clock_offset_ns, offset_ns, __ATOMIC_RELAXED);
}

/* ---- dispatch: which room a TCP segment goes to ---- */

static enum sg_verdict unknown_from_wan(struct sg_proxy_worker *w)
{
	if (w->p->cfg.unknown_policy == SG_POLICY_FORWARD)
		return SG_VERDICT_FORWARD;
	sg_count(w, SG_STAT_DROP_UNKNOWN);
	return SG_VERDICT_DROP;
}

static enum sg_verdict from_wan(struct sg_proxy_worker *w, struct sg_pkt *p, struct sg_flow_ref *fr,
                                uint64_t now_ns, struct sg_out *out)
{
	struct sg_conn *c;
	enum sg_ct_state s;

	if ((p->tcp_flags & (SG_TCP_SYN | SG_TCP_RST)) == (SG_TCP_SYN | SG_TCP_RST) ||
	    (p->tcp_flags & (SG_TCP_SYN | SG_TCP_FIN)) == (SG_TCP_SYN | SG_TCP_FIN)) {
		sg_count(w, SG_STAT_DROP_SYN_FLAGS);
		return SG_VERDICT_DROP;
	}
	sg_flow_ref_fill(w->p, fr, p, SG_PORT_WAN);
	c = sg_ct_lookup(w->p->ct, w->id, &fr->k, fr->h);
	s = sg_conn_state(c);

	if (s == SG_CT_FREE || sg_ct_state_closing(s)) {
		if (sg_is_pure_syn(p))
			return sg_hs_syn(w, p, &fr->k, now_ns, out);
		if ((p->tcp_flags & (SG_TCP_ACK | SG_TCP_SYN | SG_TCP_RST)) == SG_TCP_ACK) {
			int v = sg_hs_cookie_ack(w, p, fr, s == SG_CT_FREE ? NULL : c, now_ns, out);

			if (v >= 0)
				return (enum sg_verdict)v;
		}
		if (s == SG_CT_FREE)
			return unknown_from_wan(w);
	}
	if (!(sg_conn_rec(c)->flags & SG_CONN_PROXIED))
		return sg_track_segment(w, c, p, SG_PORT_WAN);
	if (s == SG_CT_SYN_SENT)
		return sg_hs_client_waits(w, c, p, out);
	if (sg_is_pure_syn(p)) {
		/* A new SYN on a live tuple (the client restarted): let the server
		 * answer it with a challenge ACK, whose RST from the client then
		 * closes the old connection (RFC 5961 §4). */
		sg_count(w, SG_STAT_SYN_FORWARDED);
		return SG_VERDICT_FORWARD;
	}
	return sg_splice_c2s(w, c, p);
}

static enum sg_verdict from_lan(struct sg_proxy_worker *w, struct sg_pkt *p, struct sg_flow_ref *fr,
                                struct sg_out *out)
{
	struct sg_conn *c;
	enum sg_ct_state s;

	sg_flow_ref_fill(w->p, fr, p, SG_PORT_LAN);
	c = sg_ct_lookup(w->p->ct, w->id, &fr->k, fr->h);
	s = sg_conn_state(c);

	if (s == SG_CT_FREE)
		return sg_track_open(w, p, fr, NULL);
	if (sg_ct_state_closing(s) && sg_is_pure_syn(p))
		return sg_track_open(w, p, fr, c);
	if (!(sg_conn_rec(c)->flags & SG_CONN_PROXIED))
		return sg_track_segment(w, c, p, SG_PORT_LAN);
	if (s == SG_CT_SYN_SENT)
		return sg_hs_server_answers(w, c, p, out);
	if (sg_is_synack(p))
		return sg_hs_server_repeats(w, c, p, out);
	return sg_splice_s2c(w, c, p);
}

/* ---- every frame ---- */

static enum sg_verdict bad_frame(struct sg_proxy_worker *w, const struct sg_pkt *p)
{
	sg_count(w, SG_STAT_RX_BAD);
	w->st.bad[p->bad < SG_BAD__COUNT ? p->bad : 0]++;
	if (w->p->cfg.bad_frame_policy == SG_POLICY_FORWARD)
		return SG_VERDICT_FORWARD;
	sg_count(w, SG_STAT_DROP_BAD_FRAME);
	return SG_VERDICT_DROP;
}

static enum sg_verdict process_parsed(struct sg_proxy_worker *w, enum sg_port port,
                                      struct sg_pkt *p, enum sg_pkt_class cls,
                                      struct sg_flow_ref *fr, uint64_t now_ns, struct sg_out *out)
{
	enum sg_verdict v;

	sg_count(w, port == SG_PORT_WAN ? SG_STAT_RX_WAN : SG_STAT_RX_LAN);
	/* Endpoints with TX checksum offload leave the TCP/UDP checksum for
	 * a device to finish; finish it before any room checks or edits it. */
	if ((cls == SG_PKT_TCP || cls == SG_PKT_IP_OTHER) && sg_pkt_l4_csum_complete(p))
		sg_count(w, SG_STAT_CSUM_COMPLETED);
	switch (cls) {
	case SG_PKT_TCP:
		sg_count(w, SG_STAT_RX_TCP);
		if (p->first_frag) {
			/* The payload is elsewhere: nothing to splice safely. */
			v = port == SG_PORT_WAN ? unknown_from_wan(w) : SG_VERDICT_FORWARD;
			break;
		}
		v = port == SG_PORT_WAN ? from_wan(w, p, fr, now_ns, out) : from_lan(w, p, fr, out);
		break;
	case SG_PKT_IP_OTHER:
		sg_count(w, SG_STAT_RX_IP_OTHER);
		if (p->l4proto == SG_IPPROTO_ICMP || p->l4proto == SG_IPPROTO_ICMPV6)
			sg_splice_icmp(w, p, port);
		v = SG_VERDICT_FORWARD;
		break;
	case SG_PKT_NOT_IP:
		sg_count(w, SG_STAT_RX_NOT_IP);
		v = SG_VERDICT_FORWARD;
		break;
	case SG_PKT_FRAGMENT:
		sg_count(w, SG_STAT_RX_FRAGMENT);
		v = SG_VERDICT_FORWARD;
		break;
	default:
		v = bad_frame(w, p);
		break;
	}
	sg_count(w, v == SG_VERDICT_FORWARD ? SG_STAT_FORWARDED :
	            v == SG_VERDICT_CONSUME ? SG_STAT_CONSUMED : SG_STAT_DROPPED);
	return v;
}

enum sg_verdict sg_proxy_process(struct sg_proxy_worker *w, enum sg_port port,
                                 uint8_t *frame, uint32_t len, uint64_t now_ns,
                                 struct sg_out *out)
{
	struct sg_pkt p;
	struct sg_flow_ref fr = { .valid = false };
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
	struct sg_flow_ref fr[SG_PROXY_BURST_MAX];
	struct sg_ct *ct = w->p->ct;

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
				sg_flow_ref_fill(w->p, &fr[i], &p[i], port);
				sg_ct_prefetch_bucket(ct, fr[i].h);
			}
		}
		for (unsigned i = 0; i < m; i++)
			if (fr[i].valid)
				sg_ct_prefetch_entry(ct, fr[i].h);
		for (unsigned i = 0; i < m; i++)
			verdicts[base + i] = process_parsed(w, port, &p[i], cls[i], &fr[i], now_ns,
			                                    &outs[base + i]);
	}
}

/* ---- timers ---- */

/* Expiries one tick handles at most, so a wave of timeouts cannot hold
 * up packets for long. */
#define TICK_BUDGET 4096

int sg_proxy_tick(struct sg_proxy_worker *w, uint64_t now_ns, struct sg_out *out)
{
	struct sg_hs_timer t = { .w = w, .out = out, .full = false };

	w->now_ms = (uint32_t)(now_ns / 1000000u);
	sg_ct_quiescent(w->p->ct, w->id);
	sg_ct_expire(w->p->ct, w->id, w->now_ms, sg_hs_expire, &t, TICK_BUDGET);
	return t.full;
}
