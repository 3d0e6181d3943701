/* Capture of dropped frames (see capture.h). */
#include "core/capture.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"

/* One worker's ring.  head is the worker's (it alone advances it), tail
 * the control side's; each is published with release and read with
 * acquire, so a slot is whole when the other side sees its index. */
struct sg_cap_ring {
	uint32_t head __attribute__((aligned(64)));
	uint64_t lost;               /* copies a full ring refused (worker) */
	uint32_t tail __attribute__((aligned(64)));
	uint64_t lost_base;          /* `lost` when the capture started */
	uint32_t snap;               /* bytes to keep: written before arming */
	struct sg_capture_frame s[SG_CAPTURE_SLOTS];
};

struct sg_capture {
	unsigned n;
	bool armed;
	struct sg_cap_ring r[];
};

int sg_capture_reason(const char *name)
{
	if (strcmp(name, "all") == 0)
		return SG_CAPTURE_ALL;
	for (unsigned s = SG_STAT_DROP_FIRST; s < SG_STAT__COUNT; s++) {
		const char *full = sg_stat_name((enum sg_stat)s);

		if (strcmp(name, full) == 0 || strcmp(name, full + strlen("drop_")) == 0)
			return (int)s;
	}
	return -1;
}

const char *sg_capture_reason_name(unsigned reason)
{
	if (reason == SG_CAPTURE_ALL)
		return "all";
	if (reason < SG_STAT_DROP_FIRST || reason >= SG_STAT__COUNT)
		return "none";
	return sg_stat_name((enum sg_stat)reason) + strlen("drop_");
}

_Static_assert(SG_STAT__COUNT < SG_CAPTURE_ALL, "a reason fits in a byte beside ALL");
_Static_assert(SG_STAT_DROP_FIRST > SG_CAPTURE_NONE, "no drop reason reads as none");

int sg_proxy_capture_start(struct sg_proxy *p, unsigned reason, unsigned snap)
{
	struct sg_capture *c = p->cap;

	if (c && c->armed)
		return -EBUSY;
	if (!c) {
		size_t bytes = sizeof(*c) + p->nworkers * sizeof(c->r[0]);

		c = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
		if (!c)
			return -ENOMEM;
		memset(c, 0, bytes);
		c->n = p->nworkers;
		p->cap = c;
	}
	if (snap == 0 || snap > SG_CAPTURE_SNAP_MAX)
		snap = SG_CAPTURE_SNAP_MAX;
	for (unsigned i = 0; i < c->n; i++) {
		struct sg_cap_ring *r = &c->r[i];
		struct sg_proxy_worker *w = &p->w[i];

		/* What an earlier capture left is not this one's. */
		__atomic_store_n(&r->tail, __atomic_load_n(&r->head, __ATOMIC_ACQUIRE),
		                 __ATOMIC_RELEASE);
		r->lost_base = __atomic_load_n(&r->lost, __ATOMIC_RELAXED);
		__atomic_store_n(&r->snap, snap, __ATOMIC_RELAXED);
		__atomic_store_n(&w->cap_ring, r, __ATOMIC_RELAXED);
		__atomic_store_n(&w->cap_reason, (uint8_t)reason, __ATOMIC_RELAXED);
		__atomic_store_n(&w->cap_on, 1, __ATOMIC_RELEASE);
	}
	c->armed = true;
	return 0;
}

void sg_proxy_capture_stop(struct sg_proxy *p)
{
	if (!p->cap || !p->cap->armed)
		return;
	for (unsigned i = 0; i < p->cap->n; i++)
		__atomic_store_n(&p->w[i].cap_on, 0, __ATOMIC_RELEASE);
	p->cap->armed = false;
}

/* The oldest frame waiting in any ring: rings are drained in time order,
 * as far as their heads tell. */
bool sg_proxy_capture_next(struct sg_proxy *p, struct sg_capture_frame *f)
{
	struct sg_cap_ring *best = NULL;
	const struct sg_capture_frame *bs = NULL;

	if (!p->cap)
		return false;
	for (unsigned i = 0; i < p->cap->n; i++) {
		struct sg_cap_ring *r = &p->cap->r[i];
		uint32_t t = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
		const struct sg_capture_frame *s;

		if (t == __atomic_load_n(&r->head, __ATOMIC_ACQUIRE))
			continue;
		s = &r->s[t % SG_CAPTURE_SLOTS];
		if (!bs || s->ts_ns < bs->ts_ns) {
			best = r;
			bs = s;
		}
	}
	if (!best)
		return false;
	memcpy(f, bs, offsetof(struct sg_capture_frame, data) + bs->caplen);
	__atomic_store_n(&best->tail, __atomic_load_n(&best->tail, __ATOMIC_RELAXED) + 1,
	                 __ATOMIC_RELEASE);
	return true;
}

uint64_t sg_proxy_capture_lost(const struct sg_proxy *p)
{
	uint64_t n = 0;

	for (unsigned i = 0; p->cap && i < p->cap->n; i++)
		n += __atomic_load_n(&p->cap->r[i].lost, __ATOMIC_RELAXED) - p->cap->r[i].lost_base;
	return n;
}

/* Every frame a worker decides while armed passes here, dropped or not:
 * drop_why is reset after each, so a drop that no counter explains is not
 * taken for the reason of an earlier one. */
void sg_capture_verdict(struct sg_proxy_worker *w, enum sg_port port, enum sg_verdict v,
                        const uint8_t *frame, uint32_t len, uint64_t now_ns)
{
	struct sg_cap_ring *r = __atomic_load_n(&w->cap_ring, __ATOMIC_RELAXED);
	unsigned want = __atomic_load_n(&w->cap_reason, __ATOMIC_RELAXED);
	unsigned why = w->drop_why;
	struct sg_capture_frame *s;
	uint32_t h, snap;

	w->drop_why = SG_CAPTURE_NONE;
	if (v != SG_VERDICT_DROP || (want != SG_CAPTURE_ALL && want != why))
		return;
	h = r->head;
	if (h - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= SG_CAPTURE_SLOTS) {
		__atomic_store_n(&r->lost, r->lost + 1, __ATOMIC_RELAXED);
		return;
	}
	snap = __atomic_load_n(&r->snap, __ATOMIC_RELAXED);
	s = &r->s[h % SG_CAPTURE_SLOTS];
	s->ts_ns = now_ns;
	s->len = len;
	s->caplen = len < snap ? len : snap;
	s->port = (uint8_t)port;
	s->reason = (uint8_t)why;
	memcpy(s->data, frame, s->caplen);
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
}

void sg_capture_free(struct sg_proxy *p)
{
	free(p->cap);
	p->cap = NULL;
}
