/* The proxy: lifecycle, the dispatch of each frame to the room of its
 * connection's life (handshake.c, splice.c, track.c), bursts and the
 * tick.  The states, decisions and reasons are in docs/design.md. */
#include "core/proxy.h"

#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/capture.h"
#include "core/conn.h"
#include "core/context.h"
#include "core/handshake.h"
#include "core/secret.h"
#include "core/splice.h"
#include "core/track.h"

/* ---- lifecycle ---- */

/* What the seed keys: one subkey each, so none reveals another. */
enum { SEED_TABLE_HASH = 1, SEED_COOKIE_MASTER = 2, SEED_QUOTA = 3, SEED_LEARN = 4,
       SEED_HALFOPEN = 5, SEED_RATELIMIT = 6 };
static const char seed_context[crypto_kdf_CONTEXTBYTES] = { 's', 'g', 's', 'e', 'e', 'd', 0, 0 };
_Static_assert(SG_PROXY_SEED_BYTES == crypto_kdf_KEYBYTES, "the seed is a KDF key");

static uint32_t quota_limit(const struct sg_proxy_config *c, unsigned nworkers)
{
	uint64_t limit = (uint64_t)(c->ct.capacity / nworkers) * c->source_share / 100;

	return limit < SG_QUOTA_MIN_LIMIT ? SG_QUOTA_MIN_LIMIT : (uint32_t)limit;
}

/* The table frees an entry: give back its source's quota. */
static void release_entry(void *arg, const struct sg_conn *c, unsigned worker)
{
	struct sg_proxy *p = arg;

	if (sg_conn_seen(sg_conn_rec_c(c)) & SG_SEEN_COUNTED)
		sg_quota_give(p->quota, worker, &c->key);
}

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
	if (rc == 0) {
		uint8_t k[SG_LEARN_KEY_BYTES > SG_HALFOPEN_KEY_BYTES ? SG_LEARN_KEY_BYTES
		                                                     : SG_HALFOPEN_KEY_BYTES];

		crypto_kdf_derive_from_key(k, sizeof(k), SEED_LEARN, seed_context, c->seed);
		rc = sg_learn_create(&c->learn, k, &p->learn);
		crypto_kdf_derive_from_key(k, sizeof(k), SEED_HALFOPEN, seed_context, c->seed);
		if (rc == 0)
			rc = sg_halfopen_create(&c->halfopen, nworkers, k, &p->halfopen);
		crypto_kdf_derive_from_key(k, SG_RATELIMIT_KEY_BYTES, SEED_RATELIMIT, seed_context, c->seed);
		if (rc == 0)
			rc = sg_ratelimit_create(&c->ratelimit, nworkers, k, &p->ratelimit);
	}
	if (rc == 0 && c->source_share < SG_SOURCE_SHARE_MAX) {
		uint8_t qkey[SG_QUOTA_KEY_BYTES];

		crypto_kdf_derive_from_key(qkey, sizeof(qkey), SEED_QUOTA, seed_context, c->seed);
		rc = sg_quota_create(nworkers, c->source_prefix4, c->source_prefix6, qkey, &p->quota);
		p->quota_limit = quota_limit(c, nworkers);
		if (rc == 0)
			sg_ct_set_release(p->ct, release_entry, p);
	}
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
	p->cfgs[0] = *c;
	p->cfgs[0].seed = NULL;     /* not kept: the tables have what they need */
	p->cfgs[0].shared_key = NULL;
	p->nworkers = nworkers;
	rc = create_tables(p, c, nworkers);
	if (rc) {
		sg_proxy_destroy(p);
		return rc;
	}
	for (unsigned i = 0; i < nworkers; i++) {
		p->w[i].p = p;
		p->w[i].id = i;
		p->w[i].cfg = &p->cfgs[0];
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
	sg_quota_destroy(p->quota);
	sg_learn_destroy(p->learn);
	sg_halfopen_destroy(p->halfopen);
	sg_ratelimit_destroy(p->ratelimit);
	sg_capture_free(p);
	free(p);
}

int sg_proxy_populate(struct sg_proxy *p)
{
	int rc = sg_ct_populate(p->ct);

	if (rc == 0 && p->ratelimit)
		rc = sg_ratelimit_populate(p->ratelimit);
	return rc;
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

const struct sg_halfopen *sg_proxy_halfopen(const struct sg_proxy *p)
{
	return p->halfopen;
}

const struct sg_learn *sg_proxy_learn(const struct sg_proxy *p)
{
	return p->learn;
}

void sg_proxy_worker_offline(struct sg_proxy_worker *w)
{
	sg_ct_offline(w->p->ct, w->id);
	/* Holds no configuration either: a reload need not wait for it. */
	__atomic_store_n(&w->cfg_gen, UINT64_MAX, __ATOMIC_RELEASE);
}

#define FIELD(f) offsetof(struct sg_proxy_config, f)

/* What only a restart may change: memory sizes and what keys the tables. */
static int restart_only(const struct sg_proxy_config *cur, const struct sg_proxy_config *c,
                        struct sg_cfg_fault *why)
{
	if (c->ct.capacity != cur->ct.capacity)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(ct.capacity));
	if (c->cookie_period_s != cur->cookie_period_s)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(cookie_period_s));
	if ((c->source_share < SG_SOURCE_SHARE_MAX) != (cur->source_share < SG_SOURCE_SHARE_MAX))
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(source_share));
	if (c->source_prefix4 != cur->source_prefix4)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(source_prefix4));
	if (c->source_prefix6 != cur->source_prefix6)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(source_prefix6));
	if (c->learn.entries != cur->learn.entries)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(learn.entries));
	if (c->learn.ttl_s != cur->learn.ttl_s)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(learn.ttl_s));
	if (c->halfopen.entries != cur->halfopen.entries)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(halfopen.entries));
	if (c->halfopen.timeout_s != cur->halfopen.timeout_s)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(halfopen.timeout_s));
	if (c->ratelimit.entries != cur->ratelimit.entries)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(ratelimit.entries));
	if (c->ratelimit.prefix4 != cur->ratelimit.prefix4)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(ratelimit.prefix4));
	if (c->ratelimit.prefix6 != cur->ratelimit.prefix6)
		return sg_cfg_fail(why, SG_CFG_RESTART, FIELD(ratelimit.prefix6));
	return 0;
}

int sg_proxy_reconfigure(struct sg_proxy *p, const struct sg_proxy_config *c, struct sg_cfg_fault *why)
{
	uint64_t g = p->cfg_gen;     /* only the caller's thread writes it */
	struct sg_proxy_config *next = &p->cfgs[(g + 1) & 1];

	if (sg_proxy_config_check(c, p->nworkers, why) || restart_only(&p->cfgs[g & 1], c, why))
		return -EINVAL;
	for (unsigned i = 0; i < p->nworkers; i++) {
		uint64_t seen = __atomic_load_n(&p->w[i].cfg_gen, __ATOMIC_ACQUIRE);

		if (seen != g && seen != UINT64_MAX)
			return -EAGAIN;   /* still on the slot we would overwrite */
	}
	*next = *c;
	next->seed = NULL;
	next->shared_key = NULL;
	sg_ct_set_timeouts(p->ct, &c->ct);
	sg_halfopen_set_limits(p->halfopen, c->halfopen.max_syn_rate, c->halfopen.max_fill_pct);
	sg_ratelimit_set_rate(p->ratelimit, c->ratelimit.rate, c->ratelimit.burst);
	__atomic_store_n(&p->quota_limit, quota_limit(c, p->nworkers), __ATOMIC_RELAXED);
	__atomic_store_n(&p->cfg_gen, g + 1, __ATOMIC_RELEASE);
	return 0;
}

int sg_proxy_set_pins(struct sg_proxy *p, const struct sg_learn_pin *pins, unsigned n)
{
	return sg_learn_set_pins(p->learn, pins, n);
}

void sg_proxy_set_cookie_clock(struct sg_proxy *p, int64_t offset_ns)
{
	__atomic_store_n(&p->cookie_clock_offset_ns, offset_ns, __ATOMIC_RELAXED);
}

uint32_t sg_proxy_cookie_epoch(const struct sg_proxy *p, uint64_t now_ns)
{
	return sg_secret_epoch(p->secret, sg_cookie_clock(p, now_ns));
}

uint32_t sg_proxy_cookie_period_s(const struct sg_proxy *p)
{
	return sg_secret_period_s(p->secret);
}

/* ---- dispatch: which room a TCP segment goes to ---- */

static enum sg_verdict unknown_from_wan(struct sg_proxy_worker *w)
{
	if (w->cfg->unknown_policy == SG_POLICY_FORWARD)
		return SG_VERDICT_FORWARD;
	sg_count(w, SG_STAT_DROP_UNKNOWN);
	return SG_VERDICT_DROP;
}

static bool no_policy(const struct sg_policy_set *s)
{
	return !s->nrules && !s->nallow && !s->ndeny && s->default_action == SG_ACTION_PROXY;
}

/* What the policy says of a new flow from WAN (cheap when there is no
 * policy: no lists, no rules, proxy by default). */
static enum sg_policy_action policy_of(const struct sg_proxy_worker *w, const struct sg_pkt *p,
                                       const uint8_t *client, const uint8_t *server,
                                       uint16_t server_port)
{
	const struct sg_policy_set *s = &w->cfg->policy;

	if (no_policy(s))
		return SG_ACTION_PROXY;
	return sg_policy_decide(s, p->family, client, server, server_port);
}

/* policy_of for a WAN SYN: the source lists, then the rules, whose
 * answer m, the memo of p's destination, keeps. */
static enum sg_policy_action syn_policy(const struct sg_proxy_worker *w, const struct sg_pkt *p,
                                        struct sg_dst_memo *m)
{
	const struct sg_policy_set *s = &w->cfg->policy;
	enum sg_policy_action a;

	if (no_policy(s))
		return SG_ACTION_PROXY;
	if (sg_policy_source_listed(s, p->family, sg_pkt_saddr(p), &a))
		return a;
	if (!s->nrules)
		return s->default_action;
	if (!(m->have & SG_DST_RULE)) {
		m->rule = (uint8_t)sg_policy_destination(s, p->family, sg_pkt_daddr(p), p->dport);
		m->have |= SG_DST_RULE;
	}
	return (enum sg_policy_action)m->rule;
}

/* A WAN SYN opening a connection: a cookie, unless the policy says
 * otherwise, the SYN is signed (the SYN-ACK could not be), or the box
 * only watches. */
static enum sg_verdict new_syn(struct sg_proxy_worker *w, struct sg_pkt *p, struct sg_flow_ref *fr,
                               struct sg_conn *old, uint64_t now_ns, struct sg_out *out)
{
	const struct sg_proxy_config *cfg = w->cfg;
	struct sg_dst_memo *m = sg_dst_of(w, p);

	switch (syn_policy(w, p, m)) {
	case SG_ACTION_PROXY:
		break;
	case SG_ACTION_TRACK:
		return sg_track_open_wan(w, p, fr, old);
	case SG_ACTION_BYPASS:
		sg_count(w, SG_STAT_POLICY_BYPASS);
		return SG_VERDICT_FORWARD;
	case SG_ACTION_DROP:
	default:
		sg_count(w, SG_STAT_DROP_POLICY);
		return SG_VERDICT_DROP;
	}

	if (__builtin_expect(p->opt.present & (SG_OPT_SIGNED | SG_OPT_FASTOPEN | SG_OPT_MPTCP), 0)) {
		if (p->opt.present & SG_OPT_SIGNED) {
			sg_count(w, SG_STAT_SYN_SIGNED);
			if (cfg->signed_syn_policy == SG_SIGNED_SYN_DROP)
				return SG_VERDICT_DROP;
			return sg_track_open_wan(w, p, fr, old);
		}
		/* The cookie SYN-ACK offers neither: the client falls back to
		 * plain TCP and sends its Fast Open data again once open. */
		sg_count(w, (p->opt.present & SG_OPT_FASTOPEN) ? SG_STAT_SYN_FASTOPEN : SG_STAT_SYN_MPTCP);
	}
	if (__builtin_expect(cfg->monitor, 0))
		return sg_track_open_wan(w, p, fr, old);
	if (!sg_spend(w, p))
		return SG_VERDICT_DROP;
	return sg_hs_syn(w, p, &fr->k, m, now_ns, out);
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

	if (__builtin_expect(p->first_frag, 0) &&
	    (s == SG_CT_FREE || sg_ct_state_closing(s) || s == SG_CT_SYN_SENT)) {
		/* Its checksum cannot be verified nor its payload seen: a
		 * fragment opens nothing, whatever policy.unknown says. */
		sg_count(w, SG_STAT_DROP_FRAGMENT);
		return SG_VERDICT_DROP;
	}
	if (s == SG_CT_FREE || sg_ct_state_closing(s)) {
		if (sg_is_pure_syn(p))
			return new_syn(w, p, fr, s == SG_CT_FREE ? NULL : c, now_ns, out);
		/* A box that only watches opens no proxied connection: its
		 * frames would be rewritten. */
		if ((p->tcp_flags & (SG_TCP_ACK | SG_TCP_SYN | SG_TCP_RST)) == SG_TCP_ACK &&
		    !w->cfg->monitor) {
			int v = sg_hs_cookie_ack(w, p, fr, s == SG_CT_FREE ? NULL : c, now_ns, out);

			if (v >= 0)
				return (enum sg_verdict)v;
		}
		if (s == SG_CT_FREE) {
			if (policy_of(w, p, sg_pkt_saddr(p), sg_pkt_daddr(p), p->dport) == SG_ACTION_BYPASS)
				return SG_VERDICT_FORWARD;
			return unknown_from_wan(w);
		}
	}
	if (!(sg_conn_rec(c)->flags & SG_CONN_PROXIED))
		return sg_track_segment(w, c, p, SG_PORT_WAN, out);
	if (s == SG_CT_SYN_SENT)
		return sg_hs_client_waits(w, c, p, out);
	if (sg_is_pure_syn(p)) {
		/* A new SYN on a live tuple (the client restarted): let the server
		 * answer it with a challenge ACK, whose RST from the client then
		 * closes the old connection (RFC 5961 §4). */
		sg_count(w, SG_STAT_SYN_FORWARDED);
		return SG_VERDICT_FORWARD;
	}
	return sg_splice_c2s(w, c, p, out);
}

static enum sg_verdict from_lan(struct sg_proxy_worker *w, struct sg_pkt *p, struct sg_flow_ref *fr,
                                struct sg_out *out)
{
	struct sg_conn *c;
	enum sg_ct_state s;

	sg_flow_ref_fill(w->p, fr, p, SG_PORT_LAN);
	c = sg_ct_lookup(w->p->ct, w->id, &fr->k, fr->h);
	s = sg_conn_state(c);

	if (s == SG_CT_FREE) {
		if (policy_of(w, p, sg_pkt_daddr(p), sg_pkt_saddr(p), p->sport) == SG_ACTION_BYPASS)
			return SG_VERDICT_FORWARD;
		if (sg_is_synack(p))
			return sg_hs_orphan_synack(w, p, out);
		if (__builtin_expect(p->first_frag, 0))
			return SG_VERDICT_FORWARD;   /* trusted side, but nothing to track by */
		return sg_track_open(w, p, fr, NULL);
	}
	if (sg_ct_state_closing(s) && sg_is_pure_syn(p))
		return sg_track_open(w, p, fr, c);
	if (!(sg_conn_rec(c)->flags & SG_CONN_PROXIED))
		return sg_track_segment(w, c, p, SG_PORT_LAN, out);
	if (s == SG_CT_SYN_SENT)
		return sg_hs_server_answers(w, c, p, out);
	if (sg_is_synack(p))
		return sg_hs_server_repeats(w, c, p, out);
	return sg_splice_s2c(w, c, p, out);
}

/* ---- every frame ---- */

static enum sg_verdict bad_frame(struct sg_proxy_worker *w, const struct sg_pkt *p)
{
	sg_count(w, SG_STAT_RX_BAD);
	w->st.bad[p->bad < SG_BAD__COUNT ? p->bad : 0]++;
	if (w->cfg->bad_frame_policy == SG_POLICY_FORWARD)
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
	if (cls == SG_PKT_TCP ? sg_pkt_tcp_csum_complete(p)
	                      : cls == SG_PKT_IP_OTHER && sg_pkt_l4_csum_complete(p))
		sg_count(w, SG_STAT_CSUM_COMPLETED);
	switch (cls) {
	case SG_PKT_TCP:
		sg_count(w, SG_STAT_RX_TCP);
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
	/* The one test a frame pays while nobody captures (capture.h); what
	 * would have been dropped is captured in monitor mode too. */
	if (__builtin_expect(__atomic_load_n(&w->cap_on, __ATOMIC_ACQUIRE), 0))
		sg_capture_verdict(w, port, v, p->data, p->len, now_ns);
	if (__builtin_expect(w->cfg->monitor, 0) && (v != SG_VERDICT_FORWARD || out->n)) {
		/* What it would have done is counted above; the wire sees a
		 * bridge. */
		sg_count(w, SG_STAT_MONITOR_PASSED);
		out->n = 0;
		v = SG_VERDICT_FORWARD;
	}
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
	w->now_us = (uint32_t)(now_ns / 1000u);
	sg_worker_sync(w);
	return process_parsed(w, port, &p, cls, &fr, now_ns, out);
}

/* A burst is decided in one pipeline over its frames.  With 1 M flows a
 * frame, its bucket head and its entry each come from DRAM, and each
 * needs the one before: the frame gives the hash, the hash the bucket,
 * the bucket head the entry.  While frame i is decided, the pipeline
 * - requests the headers of frame i + AHEAD_FRAME,
 * - parses and hashes frame i + AHEAD_HASH (its headers requested
 *   AHEAD_FRAME - AHEAD_HASH decisions ago) and requests its bucket head,
 * - reads the bucket head of frame i + AHEAD_ENTRY (requested
 *   AHEAD_HASH - AHEAD_ENTRY decisions ago) and requests its entry,
 * so every trip to memory overlaps a few whole decisions (tens of ns
 * each) instead of the short parse of the frames in between.  Parsing
 * the whole burst first and then deciding it (as before) left the frame
 * prefetches only a parse or two of cover, and the first pass stalled on
 * every frame; requesting every entry at once asked for more lines than
 * a core keeps in flight.  The distances keep about 25 lines in flight.
 * The prefetches are hints only: a frame's entry is looked up when the
 * frame is decided, after every frame before it, so an entry an earlier
 * frame inserted or freed is seen as it is.  Parsing ahead is safe: a
 * decision rewrites only its own frame. */
#define AHEAD_FRAME 16u
#define AHEAD_HASH  10u
#define AHEAD_ENTRY  4u

static inline void prefetch_frame(const uint8_t *frame)
{
	/* Ethernet, IP and TCP with options: the first 128 bytes. */
	__builtin_prefetch(frame);
	__builtin_prefetch(frame + 64);
}

static inline void parse_ahead(struct sg_proxy_worker *w, enum sg_port port, uint8_t *frame,
                               uint32_t len, struct sg_pkt *p, enum sg_pkt_class *cls,
                               struct sg_flow_ref *fr)
{
	*cls = sg_pkt_parse(p, frame, len);
	fr->valid = false;
	if (*cls == SG_PKT_TCP && !p->first_frag) {
		sg_flow_ref_fill(w->p, fr, p, port);
		sg_ct_prefetch_bucket(w->p->ct, fr->h);
	}
}

void sg_proxy_process_burst(struct sg_proxy_worker *w, enum sg_port port,
                            uint8_t *const frames[], const uint32_t lens[], unsigned n,
                            uint64_t now_ns, enum sg_verdict verdicts[], struct sg_out outs[])
{
	struct sg_pkt p[SG_PROXY_BURST_MAX];
	enum sg_pkt_class cls[SG_PROXY_BURST_MAX];
	struct sg_flow_ref fr[SG_PROXY_BURST_MAX];
	struct sg_hs_syn_batch syns;   /* not zeroed: 11 KiB, only n is read first */
	struct sg_ct *ct = w->p->ct;

	syns.n = 0;
	w->now_ms = (uint32_t)(now_ns / 1000000u);
	w->now_us = (uint32_t)(now_ns / 1000u);
	sg_worker_sync(w);
	for (unsigned base = 0; base < n; base += SG_PROXY_BURST_MAX) {
		unsigned m = n - base < SG_PROXY_BURST_MAX ? n - base : SG_PROXY_BURST_MAX;
		uint8_t *const *f = frames + base;
		const uint32_t *len = lens + base;

		/* Fill the pipeline: nothing to decide yet, so the first
		 * frames wait for memory once, together. */
		for (unsigned i = 0; i < m && i < AHEAD_FRAME; i++)
			prefetch_frame(f[i]);
		for (unsigned i = 0; i < m && i < AHEAD_HASH; i++)
			parse_ahead(w, port, f[i], len[i], &p[i], &cls[i], &fr[i]);
		for (unsigned i = 0; i < m && i < AHEAD_ENTRY; i++)
			if (fr[i].valid)
				sg_ct_prefetch_entry(ct, fr[i].h);
		/* WAN SYNs wait for their cookies' MACs, made together after
		 * the burst's other frames (handshake.h). */
		w->syns = port == SG_PORT_WAN ? &syns : NULL;
		for (unsigned i = 0; i < m; i++) {
			unsigned j = i + AHEAD_HASH, k = i + AHEAD_ENTRY;

			if (i + AHEAD_FRAME < m)
				prefetch_frame(f[i + AHEAD_FRAME]);
			if (j < m)
				parse_ahead(w, port, f[j], len[j], &p[j], &cls[j], &fr[j]);
			if (k < m && fr[k].valid)
				sg_ct_prefetch_entry(ct, fr[k].h);
			verdicts[base + i] = process_parsed(w, port, &p[i], cls[i], &fr[i], now_ns,
			                                    &outs[base + i]);
		}
		w->syns = NULL;
		if (syns.n)
			sg_hs_syn_flush(w, &syns, outs + base, verdicts + base);
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
	sg_worker_sync(w);
	sg_ct_quiescent(w->p->ct, w->id);
	sg_ct_expire(w->p->ct, w->id, w->now_ms, sg_hs_expire, &t, TICK_BUDGET);
	sg_halfopen_tick(w->p->halfopen, w->id, w->now_ms);
	return t.full;
}
