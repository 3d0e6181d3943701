/* Quiescent-state-based reclamation (see qsbr.h). */
#include "core/qsbr.h"

#include <string.h>

void sg_qsbr_init(struct sg_qsbr *q, unsigned nworkers)
{
	memset(q, 0, sizeof(*q));
	q->nworkers = nworkers;
}

uint32_t sg_qsbr_retire(struct sg_qsbr *q, unsigned worker)
{
	/* The unlink must be visible before the epoch is read (a worker that
	 * saw the old epoch may still hold the object; one that sees a later
	 * one cannot find it).  C11 only promises that with a full fence. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->w[worker].retired = 1;
	return (uint32_t)__atomic_load_n(&q->epoch, __ATOMIC_ACQUIRE);
}

uint64_t sg_qsbr_horizon(const struct sg_qsbr *q, unsigned worker)
{
	uint64_t min = UINT64_MAX;

	for (unsigned i = 0; i < q->nworkers; i++) {
		uint64_t e;

		if (i == worker)
			continue;
		e = __atomic_load_n(&q->w[i].seen, __ATOMIC_ACQUIRE);
		if (e < min)
			min = e;
	}
	return min;
}

void sg_qsbr_quiescent(struct sg_qsbr *q, unsigned worker)
{
	/* Objects this worker retired were tagged with the epoch before this
	 * increment; seeing the new epoch proves a worker passed a point after
	 * they were unlinked. */
	if (q->w[worker].retired) {
		__atomic_fetch_add(&q->epoch, 1, __ATOMIC_ACQ_REL);
		q->w[worker].retired = 0;
	}
	__atomic_store_n(&q->w[worker].seen, __atomic_load_n(&q->epoch, __ATOMIC_ACQUIRE),
	                 __ATOMIC_RELEASE);
}

void sg_qsbr_offline(struct sg_qsbr *q, unsigned worker)
{
	__atomic_store_n(&q->w[worker].seen, UINT64_MAX, __ATOMIC_RELEASE);
}
