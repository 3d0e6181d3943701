/* The SYN cache: while SYNs come slowly, a WAN SYN is remembered with the
 * client's exact options (no MSS table, no quantising), and synguard can
 * answer it with a non-zero window; the client's ACK then opens the
 * connection with those options.  Above a SYN rate or a fill level a
 * worker answers with cookies only.  The SYN-ACK's ISN is a cookie either
 * way, so an ACK whose entry is gone (evicted, expired, another worker's)
 * falls back to the cookie: the cache may forget anything at any time.
 *
 * One cache per worker, and no worker touches another's: a flow's SYN and
 * its ACK carry the same 4-tuple and land on the same receive queue (RSS),
 * hence the same worker; when they do not, the lookup misses and the
 * cookie takes over.  No locks, so no lock order to get wrong.  Only the
 * metrics (count, mode, counters) and the limits (a reload) cross threads,
 * as relaxed atomics.
 *
 * Bounded: `entries` per worker fixed at create, in buckets of
 * SG_HALFOPEN_WAYS under a keyed hash of the flow (no source can aim at a
 * bucket).  A new entry takes a free or expired slot of its bucket, else
 * evicts the bucket's oldest.  Expiry is lazy (in the buckets add and take
 * visit) plus a sweep from the worker's tick, the whole cache every
 * SG_HALFOPEN_SWEEP_MS, so entries of clients that never answer leave the
 * count without the SYN path paying for it.
 *
 * The adaptive rule, per worker: SYNs are counted in windows of
 * SG_HALFOPEN_WINDOW_MS, the rate is the last window's count weighted by
 * the part of it still within one window of now, plus the current's
 * (a sliding window).  A worker turns to cookies only when the rate
 * exceeds max_syn_rate or the cache is max_fill_pct full, and back once
 * both are under 3/4 of their limits.
 */
#ifndef SG_CORE_HALFOPEN_H
#define SG_CORE_HALFOPEN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cfgcheck.h"
#include "core/flow.h"

#define SG_HALFOPEN_WAYS          8          /* a bucket: one line of tags */
#define SG_HALFOPEN_MIN_ENTRIES   SG_HALFOPEN_WAYS
#define SG_HALFOPEN_MAX_ENTRIES   (1u << 20) /* per worker, 80 bytes each */
#define SG_HALFOPEN_MAX_SYN_RATE  100000000u
#define SG_HALFOPEN_MIN_TIMEOUT_S 1
#define SG_HALFOPEN_MAX_TIMEOUT_S 600
#define SG_HALFOPEN_WINDOW_MS     100
#define SG_HALFOPEN_SWEEP_MS      1000
#define SG_HALFOPEN_KEY_BYTES     16
#define SG_HALFOPEN_WS_NONE       15

struct sg_halfopen;

struct sg_halfopen_config {
	uint32_t entries;        /* per worker, rounded up to a power of two */
	uint32_t max_syn_rate;   /* SYNs per second per worker; above: cookies
	                            only.  0: cookies only always */
	uint32_t timeout_s;      /* an entry's life from its SYN */
	uint8_t  max_fill_pct;   /* 1..100: fill from which cookies only */
};

void sg_halfopen_config_default(struct sg_halfopen_config *c);
/* 0 if valid, else -1 and *why names the field (offset in
 * sg_halfopen_config) or SG_CFG_WORKERS. */
int  sg_halfopen_config_check(const struct sg_halfopen_config *c, unsigned nworkers,
                              struct sg_cfg_fault *why);

/* key: random bytes for the hash.  -EINVAL for a bad config, -ENOMEM. */
int  sg_halfopen_create(const struct sg_halfopen_config *c, unsigned nworkers,
                        const uint8_t key[SG_HALFOPEN_KEY_BYTES], struct sg_halfopen **out);
void sg_halfopen_destroy(struct sg_halfopen *h);

/* Every WAN SYN, counted for the rate: true when this one may be cached
 * (then sg_halfopen_add it), false for cookies only. */
bool sg_halfopen_admit(struct sg_halfopen *h, unsigned worker, uint32_t now_ms);

/* The worker's tick: sweeps expired entries out, as many buckets as the
 * time since the last tick owes. */
void sg_halfopen_tick(struct sg_halfopen *h, unsigned worker, uint32_t now_ms);

/* A SYN as cached: what the client sent, exactly, and what synguard
 * answered. */
struct sg_halfopen_entry {
	struct sg_flow key;
	uint32_t client_isn;     /* the SYN's SEQ */
	uint32_t our_isn;        /* the SYN-ACK's SEQ (a cookie) */
	uint32_t client_tsval;   /* the SYN's TSval, when ts */
	uint32_t our_tsval;      /* the SYN-ACK's TSval, when ts */
	uint32_t born_ms;        /* when the SYN came: add's clock */
	uint16_t mss;            /* the client's, 0: it sent none */
	uint16_t client_win;     /* the SYN's window (never scaled) */
	uint8_t  ws;             /* 0..14, SG_HALFOPEN_WS_NONE: it sent none */
	bool     sack, ts, ecn;  /* ecn: the SYN had ECE and CWR */
};

/* Caches e on worker's cache; never fails (a full bucket gives up its
 * oldest).  A SYN again on a cached flow with the same client ISN (a
 * retransmission) keeps the first entry, whose SYN-ACK the client may
 * already have; one with another ISN (a new attempt) replaces it. */
void sg_halfopen_add(struct sg_halfopen *h, unsigned worker, const struct sg_halfopen_entry *e);

/* The client's ACK on flow k: its entry, removed, when ack == our_isn + 1
 * and it has not expired; else false (an ACK with another number leaves
 * the entry: it may be forged). */
bool sg_halfopen_take(struct sg_halfopen *h, unsigned worker, const struct sg_flow *k,
                      uint32_t ack, uint32_t now_ms, struct sg_halfopen_entry *out);

/* A reload, from any thread; each worker applies them at its next SYN. */
void sg_halfopen_set_limits(struct sg_halfopen *h, uint32_t max_syn_rate, uint8_t max_fill_pct);

/* Metrics, from any thread: entries cached on all workers (approximate
 * while they run), and whether a worker answers with cookies only. */
uint32_t sg_halfopen_count(const struct sg_halfopen *h);
bool sg_halfopen_cookies_only(const struct sg_halfopen *h, unsigned worker);

/* Per-worker counters of what the callers cannot see; names once, here. */
#define SG_HALFOPEN_STATS_LIST(X)                                               \
	X(ADDED,      "halfopen_added")                                         \
	X(RETRANSMIT, "halfopen_retransmit")   /* same flow and ISN: kept */    \
	X(REPLACED,   "halfopen_replaced")     /* same flow, another ISN */     \
	X(TAKEN,      "halfopen_taken")                                         \
	X(EVICTED,    "halfopen_evicted")                                       \
	X(EXPIRED,    "halfopen_expired")                                       \
	X(TO_COOKIES, "halfopen_to_cookies")   /* switches to cookies only */   \
	X(TO_CACHE,   "halfopen_to_cache")     /* ... and back */

enum sg_halfopen_stat {
#define SG_HALFOPEN_STAT_ENUM(id, name) SG_HALFOPEN_STAT_##id,
	SG_HALFOPEN_STATS_LIST(SG_HALFOPEN_STAT_ENUM)
#undef SG_HALFOPEN_STAT_ENUM
	SG_HALFOPEN_STAT__COUNT
};

/* A copy of worker's counters, from any thread. */
void sg_halfopen_stats(const struct sg_halfopen *h, unsigned worker,
                       uint64_t out[SG_HALFOPEN_STAT__COUNT]);

#endif
