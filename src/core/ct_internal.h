/* The connection table's own structures, shared by its two files:
 * conntrack.c (pool, hash, insert, free, reclamation) and ct_wheel.c (the
 * per-worker timer wheels).  Nothing outside those two includes this. */
#ifndef SG_CORE_CT_INTERNAL_H
#define SG_CORE_CT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/conntrack.h"

#define NIL 0xffffffffu

/* Timer wheel: 256 slots of 64 ms span 16.4 s.  An entry is never filed
 * more than HORIZON ahead: a far expiry is reached through checkpoints, so
 * an expiry that another worker moved earlier is noticed within HORIZON
 * without that worker touching the owner's wheel. */
#define WHEEL_SLOTS      256u
#define WHEEL_GRAN_SHIFT 6u
#define WHEEL_GRAN_MS    (1u << WHEEL_GRAN_SHIFT)
#define WHEEL_HORIZON_MS 8000u
_Static_assert(WHEEL_HORIZON_MS + 2 * WHEEL_GRAN_MS < WHEEL_SLOTS * WHEEL_GRAN_MS,
               "the horizon must fit in the wheel");

#define CT_HASH_WORDS 12

struct ct_hash_key {
	uint32_t nh[CT_HASH_WORDS];
	uint64_t mult;              /* odd */
};

struct ct_worker {
	/* Written only by this worker. */
	uint32_t lo, hi;            /* its pool slice [lo, hi) */
	uint32_t free_head;         /* free list, linked by wnext */
	uint32_t limbo_head, limbo_tail;   /* freed, waiting for quiescence;
	                                      linked by wnext, epoch tag in wprev */
	uint32_t hand;              /* eviction sweep position */
	uint32_t used;              /* entries linked in the hash */
	uint32_t cursor_ms;         /* start of the next wheel slot to run */
	uint8_t  wheel_started;
	uint8_t  freed_since_qs;
	uint32_t wheel[WHEEL_SLOTS];
	struct sg_ct_stats st;
} __attribute__((aligned(64)));

/* The epoch each worker saw at its last quiescent point; own cache line. */
struct ct_seen {
	uint64_t epoch;
} __attribute__((aligned(64)));

struct sg_ct {
	struct sg_conn *pool;       /* [0] unused: index 0 means "none" */
	size_t pool_bytes;
	uint32_t *buckets;
	uint32_t bmask;
	unsigned bshift;            /* bucket = hash >> bshift */
	uint32_t capacity;
	unsigned nworkers;
	struct ct_hash_key hkey;
	uint32_t timeout_ms[SG_CT_STATE_COUNT];
	/* sg_ct_touch re-arms an entry once less than this is left. */
	uint32_t refresh_below_ms[SG_CT_STATE_COUNT];
	uint64_t epoch __attribute__((aligned(64)));
	struct ct_seen seen[SG_MAX_WORKERS];
	struct ct_worker w[];
};

static inline bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Timer wheel (ct_wheel.c), owner only. */
void ct_wheel_start(struct ct_worker *w, uint32_t now_ms);
void ct_wheel_file(struct sg_ct *ct, struct ct_worker *w, struct sg_conn *c,
                   uint32_t now_ms, uint32_t min_ms);
void ct_wheel_remove(struct sg_ct *ct, struct ct_worker *w, struct sg_conn *c);

/* Unlinks c (already off the wheel) and parks it until every worker has
 * passed a quiescent point (conntrack.c). */
void ct_entry_free(struct sg_ct *ct, struct ct_worker *w, struct sg_conn *c);

#endif
