/* The connection table's timers: one wheel per worker (see conntrack.h
 * for who may move an expiry, and ct_internal.h for the structures). */
#include <stddef.h>

#include "core/conntrack.h"
#include "core/ct_internal.h"

static inline uint32_t slot_of(uint32_t t)
{
	return (t >> WHEEL_GRAN_SHIFT) & (WHEEL_SLOTS - 1);
}

void ct_wheel_start(struct ct_worker *w, uint32_t now_ms)
{
	if (!w->wheel_started) {
		w->cursor_ms = now_ms & ~(WHEEL_GRAN_MS - 1);
		w->wheel_started = 1;
	}
}

/* Files c at its expiry, or at a checkpoint HORIZON ahead, never in a slot
 * the wheel has already run (min_ms). */
void ct_wheel_file(struct sg_ct *ct, struct ct_worker *w, struct sg_conn *c,
                   uint32_t now_ms, uint32_t min_ms)
{
	uint32_t t = __atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED);
	uint32_t s;

	if (before(now_ms + WHEEL_HORIZON_MS, t))
		t = now_ms + WHEEL_HORIZON_MS;
	if (before(t, min_ms))
		t = min_ms;
	s = slot_of(t);
	c->wslot = (uint8_t)s;
	c->wprev = 0;
	c->wnext = w->wheel[s];
	if (c->wnext)
		ct->pool[c->wnext].wprev = (uint32_t)(c - ct->pool);
	w->wheel[s] = (uint32_t)(c - ct->pool);
}

void ct_wheel_remove(struct sg_ct *ct, struct ct_worker *w, struct sg_conn *c)
{
	if (c->wprev == NIL)
		return;
	if (c->wprev)
		ct->pool[c->wprev].wnext = c->wnext;
	else
		w->wheel[c->wslot] = c->wnext;
	if (c->wnext)
		ct->pool[c->wnext].wprev = c->wprev;
	c->wprev = NIL;
	c->wnext = 0;
}

void sg_ct_set_expiry(struct sg_ct *ct, unsigned worker, struct sg_conn *c, uint32_t when_ms)
{
	uint32_t old = __atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED);
	struct ct_worker *w = &ct->w[worker];

	__atomic_store_n(&c->expires_ms, when_ms, __ATOMIC_RELAXED);
	/* Only the owner may move the entry on its wheel; an entry off the
	 * wheel (inside an expiry callback) is filed by sg_ct_expire. */
	if (c->owner == worker && c->wprev != NIL && before(when_ms, old)) {
		ct_wheel_remove(ct, w, c);
		ct_wheel_file(ct, w, c, when_ms, w->cursor_ms);
	}
}

void sg_ct_touch(struct sg_ct *ct, struct sg_conn *c, uint32_t now_ms)
{
	enum sg_ct_state s = sg_ct_state_get(c);
	uint32_t e = __atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED);

	/* One store a second at most: other workers share this line. */
	if ((int32_t)(e - now_ms) < (int32_t)ct->refresh_below_ms[s])
		__atomic_store_n(&c->expires_ms, now_ms + ct->timeout_ms[s], __ATOMIC_RELAXED);
}

unsigned sg_ct_expire(struct sg_ct *ct, unsigned worker, uint32_t now_ms,
                      sg_ct_expire_fn fn, void *arg, unsigned budget)
{
	struct ct_worker *w = &ct->w[worker];
	unsigned handled = 0;

	ct_wheel_start(w, now_ms);
	/* A slot runs once its whole 64 ms have passed, so nothing in it can
	 * fire before its expiry. */
	while (!before(now_ms, w->cursor_ms + WHEEL_GRAN_MS - 1)) {
		uint32_t s = slot_of(w->cursor_ms);
		uint32_t next_ms = w->cursor_ms + WHEEL_GRAN_MS;
		uint32_t idx = w->wheel[s];

		w->wheel[s] = 0;
		while (idx) {
			struct sg_conn *c = &ct->pool[idx];
			uint32_t nidx = c->wnext;

			if (handled == budget) {
				/* Put the rest back; this slot runs again next call. */
				while (idx) {
					struct sg_conn *r = &ct->pool[idx];
					uint32_t rn = r->wnext;

					r->wprev = NIL;
					ct_wheel_file(ct, w, r, w->cursor_ms, w->cursor_ms);
					idx = rn;
				}
				return handled;
			}
			c->wprev = NIL;
			c->wnext = 0;
			if (before(now_ms, __atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED))) {
				w->st.c[SG_CT_STAT_REFILED]++;
				ct_wheel_file(ct, w, c, now_ms, next_ms);
			} else {
				enum sg_ct_state st = sg_ct_state_get(c);

				handled++;
				if (fn && fn(arg, c, now_ms) == SG_CT_EXPIRE_KEEP) {
					ct_wheel_file(ct, w, c, now_ms, next_ms);
				} else {
					w->st.expired[st]++;
					ct_entry_free(ct, w, c);
				}
			}
			idx = nidx;
		}
		w->cursor_ms = next_ms;
	}
	return handled;
}

