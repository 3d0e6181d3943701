/* Per-source rate limits: a token bucket per source prefix (a /24 or /64
 * by default, any length) for what a source can make synguard spend
 * before a connection exists: the SYN-ACKs and RSTs synguard emits (so it
 * cannot be used to reflect a flood at a spoofed victim's prefix) and the
 * MAC check of every ACK that claims a cookie (so an ACK flood from one
 * prefix is bounded too).  One token per such frame; the caller gives one
 * back per completed handshake, so sources that finish their handshakes
 * are not held to the rate.
 *
 * Per worker.  Each worker owns its table of buckets and alone reads and
 * writes it: no lock and no shared write on the per-packet path.  The cost
 * is arithmetic: a source whose SYNs land on several workers gets, on
 * each, rate / nworkers tokens per second and burst / nworkers of depth
 * (at least one token), so the box as a whole allows it `rate` and
 * `burst` when RSS spreads its flows evenly, and less when RSS puts them
 * all on one queue (a single flow's frames always land on one).
 *
 * Exact keys.  A bucket stores its family and masked prefix and is found
 * by comparing them, so two prefixes never share a bucket.  A keyed hash
 * (NH, the inner hash of UMAC, then a keyed mix) picks a window of
 * SG_RATELIMIT_WAYS buckets (128 bytes, two cache lines); without the key
 * no source can choose prefixes that crowd one window.
 *
 * Eviction.  A prefix that is not in its window takes a bucket, which
 * starts full: a fresh prefix is never refused.  An empty bucket first;
 * else the fullest one (counting the refill due by now), the oldest among
 * equals.  A bucket refilled to its depth holds nothing a new full bucket
 * would not, so evicting it loses nothing; the fullest otherwise is the
 * smallest debt forgiven.  Least-recently-used alone would not do: under
 * a flood of distinct (spoofed) prefixes, each touched once, a limited
 * prefix that pauses for a moment would lose its debt and get its burst
 * again.  With fullest-first, the fresh prefixes' buckets (one token
 * short, refilled within milliseconds) go first, and to take the bucket
 * of a prefix in debt an attacker must keep the other buckets of its
 * window (which it cannot locate) in deeper debt, that is, keep about
 * `entries` prefixes per worker spending at the full rate.
 *
 * Arithmetic.  Integers only.  Tokens are kept in units of
 * 1 / (1000 * nworkers) token: a worker's bucket gains `rate` units per
 * millisecond and holds 1000 * burst, one token costs 1000 * nworkers,
 * all exact.  The clock is a monotonic millisecond count that wraps after
 * 49.7 days; elapsed time is the difference taken as signed 32 bits, and
 * a clock that seems to go back refills nothing (a bucket left alone for
 * more than 24.8 days restarts its refill from where it stood, which is
 * at most burst / rate seconds of refill it misses).
 *
 * Memory: entries * 32 bytes per worker, fixed at create (2 MiB for the
 * default 65536). */
#ifndef SG_CORE_RATELIMIT_H
#define SG_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cfgcheck.h"

#define SG_RATELIMIT_KEY_BYTES 16
#define SG_RATELIMIT_WAYS      4           /* buckets a prefix may occupy */
#define SG_RATELIMIT_RATE_MAX  100000000u  /* tokens per second */
#define SG_RATELIMIT_BURST_MAX 100000000u
#define SG_RATELIMIT_ENTRIES_MIN SG_RATELIMIT_WAYS
#define SG_RATELIMIT_ENTRIES_MAX (1u << 20) /* 32 MiB per worker */

struct sg_ratelimit_config {
	uint32_t rate;      /* tokens per second per source prefix (whole box), 1.. */
	uint32_t burst;     /* bucket depth (whole box), 1.. */
	uint8_t  prefix4;   /* 0..32: the bits of an IPv4 source that make a prefix */
	uint8_t  prefix6;   /* 0..128 */
	uint32_t entries;   /* buckets per worker, fixed at create (rounded up to a
	                       multiple of SG_RATELIMIT_WAYS) */
};

struct sg_ratelimit;

/* rate 400/s, burst 2000, /24, /64, 65536 buckets per worker. */
void sg_ratelimit_config_default(struct sg_ratelimit_config *c);

/* 0 if valid, else -1 and *why names the field (its offset in struct
 * sg_ratelimit_config) and the rule it breaks (SG_CFG_RANGE). */
int  sg_ratelimit_config_check(const struct sg_ratelimit_config *c, struct sg_cfg_fault *why);

/* 0, or -EINVAL (c invalid, nworkers not in 1..SG_MAX_WORKERS), -ENOMEM.
 * key: random bytes the caller drew; they key the hash. */
int  sg_ratelimit_create(const struct sg_ratelimit_config *c, unsigned nworkers,
                         const uint8_t key[SG_RATELIMIT_KEY_BYTES], struct sg_ratelimit **out);
void sg_ratelimit_destroy(struct sg_ratelimit *rl);

/* The buckets are created untouched (pages.h); this faults them in, from
 * any thread while workers take, as sg_pages_populate. */
int  sg_ratelimit_populate(struct sg_ratelimit *rl);

/* One token of the source prefix of addr (family 4 or 6; IPv4 reads the
 * first 4 bytes of addr, IPv6 all 16) at now_ms, from worker's buckets:
 * false when that bucket is empty.  Only worker's thread may call it. */
bool sg_ratelimit_take(struct sg_ratelimit *rl, unsigned worker, uint8_t family,
                       const uint8_t *addr, uint32_t now_ms);

/* Gives one token back to the prefix's bucket on worker (call it on the
 * worker that completes the handshake: with RSS on the 4-tuple, the one
 * that took), never beyond its depth; nothing if the bucket was evicted
 * (a new one starts full).  One token per call: a handshake that took one
 * for its SYN-ACK and one for its cookie ACK may give back both. */
void sg_ratelimit_refund(struct sg_ratelimit *rl, unsigned worker, uint8_t family,
                         const uint8_t *addr);

/* Rate and burst may change at run time (a configuration reload), from
 * any thread: each worker applies them at its next take, the pair as one
 * (a lower burst trims full buckets then).  Values out of range are
 * clamped to 1..SG_RATELIMIT_*_MAX.  Table size and prefixes are fixed. */
void sg_ratelimit_set_rate(struct sg_ratelimit *rl, uint32_t rate, uint32_t burst);

#endif
