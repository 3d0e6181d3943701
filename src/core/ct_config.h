/* The connection table's vocabulary, below the table itself
 * (conntrack.h includes it): its states and their predicates, its
 * counters, its configuration with limits, defaults and checks, and the
 * names of states and counters.  Apart so what a configuration or a
 * report needs can be read, checked and named without the table's
 * memory, hash or timers; it calls nothing of conntrack.c.
 */
#ifndef SG_CORE_CT_CONFIG_H
#define SG_CORE_CT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cfgcheck.h"

#define SG_CT_DEFAULT_CAPACITY (1u << 20)
#define SG_CT_MIN_CAPACITY     16
#define SG_CT_MAX_CAPACITY     (1u << 27)
/* Entries a full slice examines to choose a victim (closing first, then
 * the oldest embryonic): eviction work is bounded, whatever the table. */
#define SG_CT_EVICT_SCAN       512

/* States.  Downlink = opened from WAN (proxied); uplink = opened from LAN
 * (tracked).  Closing states may be evicted first and replaced by a new
 * connection on the same tuple. */
#define SG_CT_STATES(X)                                                        \
	X(FREE,        "free")        /* not in use (never seen by lookups) */ \
	X(SYN_SENT,    "syn_sent")    /* downlink: cookie verified, SYN sent */ \
	X(UP_SYN_SENT, "up_syn_sent") /* uplink: LAN host sent a SYN */       \
	X(UP_SYN_RECV, "up_syn_recv") /* uplink: the WAN host answered */     \
	X(ESTABLISHED, "established")                                          \
	X(FIN_WAIT,    "fin_wait")    /* one side sent FIN */                 \
	X(CLOSING,     "closing")     /* both sides sent FIN */               \
	X(TIME_WAIT,   "time_wait")   /* FINs acknowledged */                 \
	X(CLOSED,      "closed")      /* after an accepted RST */

enum sg_ct_state {
#define SG_CT_STATE_ENUM(id, name) SG_CT_##id,
	SG_CT_STATES(SG_CT_STATE_ENUM)
#undef SG_CT_STATE_ENUM
	SG_CT_STATE_COUNT
};

const char *sg_ct_state_name(enum sg_ct_state s);

static inline bool sg_ct_state_closing(enum sg_ct_state s)
{
	return s == SG_CT_CLOSING || s == SG_CT_TIME_WAIT || s == SG_CT_CLOSED;
}

static inline bool sg_ct_state_embryonic(enum sg_ct_state s)
{
	return s == SG_CT_SYN_SENT || s == SG_CT_UP_SYN_SENT || s == SG_CT_UP_SYN_RECV;
}

/* Per-state timeouts in seconds. */
struct sg_ct_config {
	uint32_t capacity;                        /* entries, whole table */
	uint32_t timeout_s[SG_CT_STATE_COUNT];
	/* A full slice evicts, after closing and embryonic entries, the open
	 * entry idle longest if idle this long; 0: never. */
	uint32_t evict_idle_s;
};

#define SG_CT_MIN_TIMEOUT_S 1
/* Timeouts are kept in ms in 32 bits with wrap-safe comparisons, so one
 * must stay well below 2^31 ms. */
#define SG_CT_MAX_TIMEOUT_S (7u * 86400u)

void sg_ct_config_default(struct sg_ct_config *c);
/* 0 if valid, else -1 and *why names the field (offset in sg_ct_config). */
int sg_ct_config_check(const struct sg_ct_config *c, unsigned nworkers, struct sg_cfg_fault *why);

/* Bytes of memory a table of c->capacity entries maps at sg_ct_create,
 * all of it populated at once: the entries (one more than the capacity,
 * index 0 ending every list) and the buckets, a 32-bit head each, the next
 * power of two at or above the capacity.  For the start-time check that
 * the table fits in memory (daemon/preflight.h). */
uint64_t sg_ct_config_bytes(const struct sg_ct_config *c);

/* Per-worker counters, written only by their worker; names once, here. */
#define SG_CT_STATS_LIST(X)                                                    \
	X(LOOKUPS,         "lookups")                                          \
	X(HITS,            "hits")                                             \
	X(INSERTS,         "inserts")                                          \
	X(INSERT_EXISTS,   "insert_exists")                                    \
	X(INSERT_FULL,     "insert_full")                                      \
	X(EVICT_CLOSING,   "evict_closing")                                    \
	X(EVICT_EMBRYONIC, "evict_embryonic")                                  \
	X(EVICT_IDLE,      "evict_idle")   /* open, idle past evict_idle_s */  \
	X(REFILED,         "refiled")     /* wheel visits: a later expiry */   \
	X(RECLAIMED,       "reclaimed")   /* entries back in the free pool */

enum sg_ct_stat {
#define SG_CT_STAT_ENUM(id, name) SG_CT_STAT_##id,
	SG_CT_STATS_LIST(SG_CT_STAT_ENUM)
#undef SG_CT_STAT_ENUM
	SG_CT_STAT__COUNT
};

struct sg_ct_stats {
	uint64_t c[SG_CT_STAT__COUNT];
	uint64_t expired[SG_CT_STATE_COUNT];   /* by the state they expired in */
};

const char *sg_ct_stat_name(enum sg_ct_stat s);

#endif
