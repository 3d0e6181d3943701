/* Quiescent-state-based reclamation: the user-space cousin of RCU, for
 * objects that N workers read without a lock.
 *
 * A worker that unlinks an object (so no worker can find it any more)
 * takes a tag with sg_qsbr_retire and parks the object.  Every worker
 * calls sg_qsbr_quiescent at points where it holds no object pointer
 * (once per batch).  A parked object may be reused once
 * sg_qsbr_reusable says so: every other worker has passed such a point
 * after the object became unreachable.  The retiring worker itself is
 * exempt: it holds no pointer across its own unlink.  A worker that stops
 * polling calls sg_qsbr_offline, or it holds reuse up for ever.
 *
 * Costs: one shared increment per quiescent point that follows a retire,
 * one store to the worker's own cache line per quiescent point, and a
 * read of the others' lines when a worker wants memory back.
 */
#ifndef SG_CORE_QSBR_H
#define SG_CORE_QSBR_H

#include <stdbool.h>
#include <stdint.h>

#include "sg_limits.h"

struct sg_qsbr_worker {
	uint64_t seen;               /* the epoch at its last quiescent point */
	uint8_t  retired;            /* retired something since then */
} __attribute__((aligned(64)));

struct sg_qsbr {
	uint64_t epoch __attribute__((aligned(64)));
	unsigned nworkers;
	struct sg_qsbr_worker w[SG_MAX_WORKERS];
};

void sg_qsbr_init(struct sg_qsbr *q, unsigned nworkers);

/* The tag of an object `worker` has just unlinked (the unlink's stores
 * are ordered before the epoch is read). */
uint32_t sg_qsbr_retire(struct sg_qsbr *q, unsigned worker);

/* The oldest epoch any worker but `worker` may still hold pointers from;
 * read once, then test each parked object's tag with sg_qsbr_reusable. */
uint64_t sg_qsbr_horizon(const struct sg_qsbr *q, unsigned worker);

static inline bool sg_qsbr_reusable(uint64_t horizon, uint32_t tag)
{
	return horizon == UINT64_MAX || (int32_t)(tag - (uint32_t)horizon) < 0;
}

void sg_qsbr_quiescent(struct sg_qsbr *q, unsigned worker);
void sg_qsbr_offline(struct sg_qsbr *q, unsigned worker);

#endif
