/* What every room of the proxy works in: the process-wide state (struct
 * sg_proxy), one worker's state (struct sg_proxy_worker), and the flow a
 * frame belongs to.  Private to src/core. */
#ifndef SG_CORE_CONTEXT_H
#define SG_CORE_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/conntrack.h"
#include "core/dst_memo.h"
#include "core/quota.h"
#include "core/ratelimit.h"
#include "core/secret.h"
#include "core/stats.h"
#include "core/verdict.h"
#include "net/pkt.h"

struct sg_hs_syn_batch;

struct sg_proxy_worker {
	struct sg_proxy *p;
	const struct sg_proxy_config *cfg;   /* the generation in use */
	uint64_t cfg_gen;                    /* which; read by sg_proxy_reconfigure */
	unsigned id;
	uint32_t now_ms;                 /* the clock of the frame at hand */
	uint32_t now_us;                 /* the same in us, wrapping after 71 min:
	                                    handshake times (stats.h) */
	/* Capture (capture.h): cap_on is the one flag a frame tests, on the
	 * line every call reads anyway; the control thread writes it, and
	 * cap_ring and cap_reason before it, only to arm or disarm. */
	uint8_t cap_on;
	uint8_t cap_reason;              /* enum sg_stat, or SG_CAPTURE_ALL */
	uint8_t drop_why;                /* the last drop counter counted */
	struct sg_cap_ring *cap_ring;
	struct sg_secret_cache keys;
	struct sg_cookie_clock cookie_clock;   /* read at most once per time */
	struct sg_dst_memo dst;                /* the last WAN SYN's destination */
	/* Set while a burst runs: its SYNs wait here for their MACs
	 * (handshake.h); NULL: a SYN is answered at once. */
	struct sg_hs_syn_batch *syns;
	struct sg_stats st;
} __attribute__((aligned(64)));

struct sg_proxy {
	/* Generation g of the configuration lives in cfgs[g & 1]: a reload
	 * writes the other slot, once every worker uses generation g. */
	struct sg_proxy_config cfgs[2];
	uint64_t cfg_gen;
	struct sg_ct *ct;
	struct sg_secret *secret;
	struct sg_quota *quota;          /* NULL: no per-source quota */
	struct sg_learn *learn;
	struct sg_halfopen *halfopen;
	struct sg_ratelimit *ratelimit;  /* NULL: off */
	uint32_t quota_limit;            /* entries per source, per worker */
	int64_t cookie_clock_offset_ns;  /* see sg_proxy_set_cookie_clock */
	struct sg_capture *cap;          /* rings, from the first capture on */
	unsigned nworkers;
	struct sg_proxy_worker w[];
};

/* At the start of each call: the configuration generation to use. */
static inline void sg_worker_sync(struct sg_proxy_worker *w)
{
	uint64_t g = __atomic_load_n(&w->p->cfg_gen, __ATOMIC_ACQUIRE);

	if (__builtin_expect(g != w->cfg_gen, 0)) {
		w->cfg = &w->p->cfgs[g & 1];
		__atomic_store_n(&w->cfg_gen, g, __ATOMIC_RELEASE);
	}
}

/* The memo of p's destination (dst_memo.h), made current. */
static inline struct sg_dst_memo *sg_dst_of(struct sg_proxy_worker *w, const struct sg_pkt *p)
{
	return sg_dst_memo_at(&w->dst, p->family, sg_pkt_daddr(p), p->dport, w->now_ms, w->cfg_gen,
	                      sg_learn_pins_version(w->p->learn));
}

/* Also remembers a drop's reason for capture.  s is a constant at nearly
 * every call, so the test folds away and the other counters pay nothing. */
static inline void sg_count(struct sg_proxy_worker *w, enum sg_stat s)
{
	w->st.c[s]++;
	if (s >= SG_STAT_DROP_FIRST)
		w->drop_why = (uint8_t)s;
}

static inline uint64_t sg_cookie_clock(const struct sg_proxy *p, uint64_t now_ns)
{
	return now_ns + (uint64_t)__atomic_load_n(&p->cookie_clock_offset_ns, __ATOMIC_RELAXED);
}

/* A frame's flow key and its table hash, computed once: by the burst's
 * prefetch pass, or on demand. */
struct sg_flow_ref {
	struct sg_flow k;
	uint32_t h;
	bool valid;
};

/* The key of a parsed TCP segment (or quoted segment) received on port. */
static inline void sg_flow_from_pkt(struct sg_flow *k, const struct sg_pkt *p, enum sg_port port)
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

static inline void sg_flow_ref_fill(const struct sg_proxy *px, struct sg_flow_ref *f,
                                    const struct sg_pkt *p, enum sg_port port)
{
	if (f->valid)
		return;
	sg_flow_from_pkt(&f->k, p, port);
	f->h = sg_ct_hash(px->ct, &f->k);
	f->valid = true;
}

/* A token of p's source for something synguard spends on it (a MAC, a
 * frame it sends); counted when there is none. */
static inline bool sg_spend(struct sg_proxy_worker *w, const struct sg_pkt *p)
{
	if (!w->p->ratelimit || !w->cfg->ratelimit_on)
		return true;
	if (sg_ratelimit_take(w->p->ratelimit, w->id, p->family, sg_pkt_saddr(p), w->now_ms))
		return true;
	sg_count(w, SG_STAT_DROP_RATELIMIT);
	return false;
}

static inline bool sg_is_pure_syn(const struct sg_pkt *p)
{
	return (p->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST | SG_TCP_FIN)) == SG_TCP_SYN;
}

static inline bool sg_is_synack(const struct sg_pkt *p)
{
	return (p->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST | SG_TCP_FIN)) ==
	       (SG_TCP_SYN | SG_TCP_ACK);
}

#endif
