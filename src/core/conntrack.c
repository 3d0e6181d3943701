/* Connection table: preallocated pool, keyed hash, per-worker timer wheels,
 * quiescent-state reclamation.  The scheme is described in
 * docs/design.md ("The connection table and concurrency"). */
#include "core/conntrack.h"
#include "core/ct_hash.h"
#include "core/pages.h"
#include "core/qsbr.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

struct ct_worker {
	/* Written only by this worker. */
	uint32_t lo, hi;            /* its pool slice [lo, hi) */
	uint32_t free_head;         /* free list, linked by wnext */
	uint32_t fresh;             /* [fresh, hi) never used: not on the free
	                               list, and their pages maybe not yet
	                               touched (sg_ct_create) */
	uint32_t limbo_head, limbo_tail;   /* freed, waiting for quiescence;
	                                      linked by wnext, epoch tag in wprev */
	uint32_t hand;              /* eviction sweep position */
	uint32_t used;              /* entries linked in the hash */
	uint32_t cursor_ms;         /* start of the next wheel slot to run */
	uint8_t  wheel_started;
	uint32_t wheel[WHEEL_SLOTS];
	struct sg_ct_stats st;
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
	uint32_t evict_idle_ms;     /* 0: open entries are never evicted */
	sg_ct_release_fn release;   /* the user's, for every entry freed */
	void *release_arg;
	struct sg_qsbr qsbr;        /* when a freed entry may be reused */
	struct ct_worker w[];
};

/* Timeouts change at run time (sg_ct_set_timeouts): read them whole. */
static inline uint32_t timeout_of(const struct sg_ct *ct, enum sg_ct_state s)
{
	return __atomic_load_n(&ct->timeout_ms[s], __ATOMIC_RELAXED);
}

static inline bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline uint32_t bucket_of(const struct sg_ct *ct, uint32_t hash)
{
	return hash >> ct->bshift;
}

/* A bucket's head word doubles as its lock (bit 31; indices stay below
 * SG_CT_MAX_CAPACITY + 1 < 2^31): an insert must own the head's cache line
 * anyway, and a separate lock line would bounce between the cores on every
 * new connection and keep the handshake from scaling with workers.
 * Lookups mask the bit and never wait. */
#define BUCKET_LOCK 0x80000000u
_Static_assert(SG_CT_MAX_CAPACITY < BUCKET_LOCK, "indices must leave the lock bit free");

/* Returns the chain head, now locked. */
static inline uint32_t bucket_lock(struct sg_ct *ct, uint32_t bucket)
{
	uint32_t *h = &ct->buckets[bucket];

	for (;;) {
		uint32_t v = __atomic_fetch_or(h, BUCKET_LOCK, __ATOMIC_ACQUIRE);

		if (!(v & BUCKET_LOCK))
			return v;
		while (__atomic_load_n(h, __ATOMIC_RELAXED) & BUCKET_LOCK)
			sg_cpu_relax();
	}
}

/* Sets the head and unlocks in one release store, which also publishes
 * whatever was written under the lock. */
static inline void bucket_unlock(struct sg_ct *ct, uint32_t bucket, uint32_t head)
{
	__atomic_store_n(&ct->buckets[bucket], head, __ATOMIC_RELEASE);
}

_Static_assert(sizeof(struct ct_hash_key) == SG_CT_HASH_KEY_BYTES, "the caller draws the whole key");

int sg_ct_create(const struct sg_ct_config *cfg, unsigned nworkers,
                 const uint8_t hash_key[SG_CT_HASH_KEY_BYTES], struct sg_ct **out)
{
	struct sg_ct *ct;
	struct ct_hash_key hkey;
	struct sg_cfg_fault why;
	uint32_t nb, slice;
	unsigned bits;

	if (sg_ct_config_check(cfg, nworkers, &why))
		return -EINVAL;
	memcpy(&hkey, hash_key, sizeof(hkey));
	hkey.mult |= 1;

	ct = aligned_alloc(64, (sizeof(*ct) + nworkers * sizeof(struct ct_worker) + 63) & ~(size_t)63);
	if (!ct)
		return -ENOMEM;
	memset(ct, 0, sizeof(*ct) + nworkers * sizeof(struct ct_worker));
	ct->capacity = cfg->capacity;
	ct->nworkers = nworkers;
	sg_qsbr_init(&ct->qsbr, nworkers);
	ct->hkey = hkey;
	sg_ct_set_timeouts(ct, cfg);

	/* A chain averages under one entry at full load. */
	/* 2^bits >= capacity (at least SG_CT_MIN_CAPACITY, so bits >= 4). */
	bits = 32u - (unsigned)__builtin_clz(cfg->capacity - 1);
	nb = 1u << bits;
	ct->bmask = nb - 1;
	ct->bshift = 32u - bits;
	ct->pool_bytes = (size_t)(cfg->capacity + 1) * sizeof(struct sg_conn);
	/* Not populated: faulting in and writing 128 MiB here took 0.45 s
	 * (1 s under load) of a restart's forwarding gap.  The pages fault in
	 * on first use, or all at once in sg_ct_populate once the workers
	 * forward. */
	ct->pool = sg_pages_map(ct->pool_bytes);
	ct->buckets = sg_pages_map((size_t)nb * sizeof(uint32_t));
	if (!ct->pool || !ct->buckets) {
		sg_ct_destroy(ct);
		return -ENOMEM;
	}

	slice = cfg->capacity / nworkers;
	for (unsigned i = 0; i < nworkers; i++) {
		struct ct_worker *w = &ct->w[i];

		w->lo = 1 + i * slice;
		w->hi = i + 1 == nworkers ? cfg->capacity + 1 : w->lo + slice;
		w->hand = w->lo;
		w->limbo_head = w->limbo_tail = 0;
		/* The free list starts empty and the slice is handed out in index
		 * order (entry_alloc), so a fresh table fills predictably without
		 * writing every entry here. */
		w->free_head = 0;
		w->fresh = w->lo;
	}
	*out = ct;
	return 0;
}

void sg_ct_destroy(struct sg_ct *ct)
{
	if (!ct)
		return;
	if (ct->pool)
		munmap(ct->pool, ct->pool_bytes);
	if (ct->buckets)
		munmap(ct->buckets, (size_t)(ct->bmask + 1) * sizeof(uint32_t));
	free(ct);
}

int sg_ct_populate(struct sg_ct *ct)
{
	int rc = sg_pages_populate(ct->buckets, (size_t)(ct->bmask + 1) * sizeof(uint32_t));

	return rc ? rc : sg_pages_populate(ct->pool, ct->pool_bytes);
}

uint32_t sg_ct_hash(const struct sg_ct *ct, const struct sg_flow *k)
{
	return sg_ct_key_hash(&ct->hkey, k);
}

void sg_ct_prefetch_bucket(const struct sg_ct *ct, uint32_t hash)
{
	__builtin_prefetch(&ct->buckets[bucket_of(ct, hash)]);
}

void sg_ct_prefetch_entry(const struct sg_ct *ct, uint32_t hash)
{
	uint32_t idx = __atomic_load_n(&ct->buckets[bucket_of(ct, hash)], __ATOMIC_RELAXED) & ~BUCKET_LOCK;

	if (idx) {
		__builtin_prefetch(&ct->pool[idx]);
		__builtin_prefetch((const uint8_t *)&ct->pool[idx] + 64);
	}
}

struct sg_conn *sg_ct_lookup(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                             uint32_t hash)
{
	struct ct_worker *w = &ct->w[worker];
	uint32_t idx = __atomic_load_n(&ct->buckets[bucket_of(ct, hash)], __ATOMIC_ACQUIRE) & ~BUCKET_LOCK;

	w->st.c[SG_CT_STAT_LOOKUPS]++;
	while (idx) {
		struct sg_conn *c = &ct->pool[idx];

		if (sg_ct_key_eq(&c->key, k)) {
			w->st.c[SG_CT_STAT_HITS]++;
			return c;
		}
		idx = __atomic_load_n(&c->hnext, __ATOMIC_ACQUIRE);
	}
	return NULL;
}

/* ---- timer wheel (owner only) ---- */

static inline uint32_t slot_of(uint32_t t)
{
	return (t >> WHEEL_GRAN_SHIFT) & (WHEEL_SLOTS - 1);
}

static void wheel_start(struct ct_worker *w, uint32_t now_ms)
{
	if (!w->wheel_started) {
		w->cursor_ms = now_ms & ~(WHEEL_GRAN_MS - 1);
		w->wheel_started = 1;
	}
}

/* Files c at its expiry, or at a checkpoint HORIZON ahead, never in a slot
 * the wheel has already run (min_ms). */
static void wheel_file(struct sg_ct *ct, struct ct_worker *w, struct sg_conn *c,
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

static void wheel_remove(struct sg_ct *ct, struct ct_worker *w, struct sg_conn *c)
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

/* ---- freeing and reuse ---- */

static void hash_unlink(struct sg_ct *ct, struct sg_conn *c)
{
	uint32_t idx = (uint32_t)(c - ct->pool);
	uint32_t b = bucket_of(ct, sg_ct_key_hash(&ct->hkey, &c->key));
	uint32_t head = bucket_lock(ct, b);

	/* c->hnext is left as it is: a reader standing on c still finds the
	 * rest of the chain. */
	if (head == idx) {
		head = c->hnext;
	} else {
		uint32_t cur = head;

		while (cur && ct->pool[cur].hnext != idx)
			cur = ct->pool[cur].hnext;
		if (cur)
			__atomic_store_n(&ct->pool[cur].hnext, c->hnext, __ATOMIC_RELEASE);
	}
	bucket_unlock(ct, b, head);
}

/* Unlinks c (already off the wheel) and parks it until every worker has
 * passed a quiescent point. */
static void entry_free(struct sg_ct *ct, struct ct_worker *w, struct sg_conn *c)
{
	uint32_t idx = (uint32_t)(c - ct->pool);

	if (ct->release)
		ct->release(ct->release_arg, c, c->owner);
	hash_unlink(ct, c);
	/* Under the entry lock, so a worker still holding c sees FREE before
	 * it changes anything (sg_ct_set_state refuses a FREE entry). */
	sg_ct_lock(c);
	__atomic_store_n(&c->state, SG_CT_FREE, __ATOMIC_RELAXED);
	sg_ct_unlock(c);
	/* The tag lives in wprev: other workers may still store into
	 * expires_ms through an old pointer, never into wprev. */
	c->wprev = sg_qsbr_retire(&ct->qsbr, (unsigned)(w - ct->w));
	c->wnext = 0;
	if (w->limbo_tail)
		ct->pool[w->limbo_tail].wnext = idx;
	else
		w->limbo_head = idx;
	w->limbo_tail = idx;
	w->used--;
}

/* Moves the entries of the worker's limbo that no other worker can still
 * hold (qsbr.h) to its free list. */
static void reclaim(struct sg_ct *ct, unsigned worker)
{
	struct ct_worker *w = &ct->w[worker];
	uint64_t horizon;

	if (!w->limbo_head)
		return;
	horizon = sg_qsbr_horizon(&ct->qsbr, worker);
	while (w->limbo_head) {
		struct sg_conn *c = &ct->pool[w->limbo_head];
		uint32_t next = c->wnext;

		if (!sg_qsbr_reusable(horizon, c->wprev))
			break;
		c->wprev = NIL;
		c->wnext = w->free_head;
		w->free_head = w->limbo_head;
		w->st.c[SG_CT_STAT_RECLAIMED]++;
		w->limbo_head = next;
		if (!next)
			w->limbo_tail = 0;
	}
}

/* How long an open entry has seen no segment: its state's timeout less
 * what is left of it (sg_ct_touch re-arms within a second). */
static uint32_t idle_ms(const struct sg_ct *ct, const struct sg_conn *c, enum sg_ct_state s,
                        uint32_t now_ms)
{
	int32_t left = (int32_t)(__atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED) - now_ms);

	uint32_t t = timeout_of(ct, s);

	return left <= 0 || (uint32_t)left > t ? t : t - (uint32_t)left;
}

/* Closing entries first; else the embryonic entry that expires soonest
 * (they share one timeout, so that is the oldest); else the open entry
 * idle longest, if idle past evict_idle_ms.  Bounded sweep. */
static struct sg_conn *pick_victim(struct sg_ct *ct, struct ct_worker *w, uint32_t now_ms)
{
	struct sg_conn *best = NULL, *idle = NULL;
	uint32_t evict_idle_ms = __atomic_load_n(&ct->evict_idle_ms, __ATOMIC_RELAXED);
	uint32_t idle_best = evict_idle_ms;

	for (unsigned n = 0; n < SG_CT_EVICT_SCAN && n < w->hi - w->lo; n++) {
		struct sg_conn *c = &ct->pool[w->hand];
		enum sg_ct_state s = sg_ct_state_get(c);

		if (++w->hand == w->hi)
			w->hand = w->lo;
		if (sg_ct_state_closing(s))
			return c;
		if (sg_ct_state_embryonic(s) &&
		    (!best || before(__atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED),
		                     __atomic_load_n(&best->expires_ms, __ATOMIC_RELAXED))))
			best = c;
		if (!best && evict_idle_ms && (s == SG_CT_ESTABLISHED || s == SG_CT_FIN_WAIT)) {
			uint32_t i = idle_ms(ct, c, s, now_ms);

			if (i >= idle_best) {
				idle_best = i;
				idle = c;
			}
		}
	}
	return best ? best : idle;
}

static bool evict_one(struct sg_ct *ct, struct ct_worker *w, uint32_t now_ms)
{
	struct sg_conn *v = pick_victim(ct, w, now_ms);
	enum sg_ct_state s;

	if (!v)
		return false;
	s = sg_ct_state_get(v);
	if (sg_ct_state_closing(s))
		w->st.c[SG_CT_STAT_EVICT_CLOSING]++;
	else if (sg_ct_state_embryonic(s))
		w->st.c[SG_CT_STAT_EVICT_EMBRYONIC]++;
	else
		w->st.c[SG_CT_STAT_EVICT_IDLE]++;
	wheel_remove(ct, w, v);
	entry_free(ct, w, v);
	return true;
}

static uint32_t entry_alloc(struct sg_ct *ct, unsigned worker, uint32_t now_ms)
{
	struct ct_worker *w = &ct->w[worker];
	uint32_t idx;

	if (!w->free_head && w->fresh < w->hi)
		return w->fresh++;
	if (!w->free_head) {
		reclaim(ct, worker);
		if (!w->free_head && evict_one(ct, w, now_ms))
			reclaim(ct, worker);
		if (!w->free_head)
			return 0;
	}
	idx = w->free_head;
	w->free_head = ct->pool[idx].wnext;
	return idx;
}

static void entry_release_unused(struct sg_ct *ct, struct ct_worker *w, uint32_t idx)
{
	ct->pool[idx].wnext = w->free_head;
	w->free_head = idx;
}

struct sg_conn *sg_ct_insert(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                             uint32_t hash, enum sg_ct_state state, const void *payload,
                             uint32_t now_ms, struct sg_conn **existing, int *err)
{
	struct ct_worker *w = &ct->w[worker];
	uint32_t b = bucket_of(ct, hash);
	uint32_t idx, cur, head;
	struct sg_conn *c;

	*existing = NULL;
	/* Allocate (and maybe evict) before locking the bucket: eviction locks
	 * the victim's bucket, which may be this one. */
	idx = entry_alloc(ct, worker, now_ms);
	if (!idx) {
		w->st.c[SG_CT_STAT_INSERT_FULL]++;
		*err = -ENOSPC;
		return NULL;
	}
	head = bucket_lock(ct, b);
	for (cur = head; cur; cur = ct->pool[cur].hnext) {
		if (sg_ct_key_eq(&ct->pool[cur].key, k)) {
			bucket_unlock(ct, b, head);
			entry_release_unused(ct, w, idx);
			w->st.c[SG_CT_STAT_INSERT_EXISTS]++;
			*existing = &ct->pool[cur];
			*err = -EEXIST;
			return NULL;
		}
	}
	c = &ct->pool[idx];
	c->key = *k;
	if (payload)
		memcpy(c->payload, payload, sizeof(c->payload));
	else
		memset(c->payload, 0, sizeof(c->payload));
	c->lock = 0;
	c->owner = (uint8_t)worker;
	c->expires_ms = now_ms + timeout_of(ct, state);
	c->hnext = head;
	/* Release: a reader walking the pool (sg_ct_entry) that sees the
	 * state sees the key and payload under it (a plain move on x86). */
	__atomic_store_n(&c->state, (uint8_t)state, __ATOMIC_RELEASE);
	/* Publishes the initialised entry to lock-free readers. */
	bucket_unlock(ct, b, idx);

	wheel_start(w, now_ms);
	wheel_file(ct, w, c, now_ms, w->cursor_ms);
	w->used++;
	w->st.c[SG_CT_STAT_INSERTS]++;
	*err = 0;
	return c;
}

void sg_ct_set_expiry(struct sg_ct *ct, unsigned worker, struct sg_conn *c, uint32_t when_ms)
{
	uint32_t old = __atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED);
	struct ct_worker *w = &ct->w[worker];

	__atomic_store_n(&c->expires_ms, when_ms, __ATOMIC_RELAXED);
	/* Only the owner may move the entry on its wheel; an entry off the
	 * wheel (inside an expiry callback) is filed by sg_ct_expire. */
	if (c->owner == worker && c->wprev != NIL && before(when_ms, old)) {
		wheel_remove(ct, w, c);
		wheel_file(ct, w, c, when_ms, w->cursor_ms);
	}
}

void sg_ct_touch(struct sg_ct *ct, struct sg_conn *c, uint32_t now_ms)
{
	enum sg_ct_state s = sg_ct_state_get(c);
	uint32_t e = __atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED);

	/* One store a second at most: other workers share this line. */
	if ((int32_t)(e - now_ms) < (int32_t)__atomic_load_n(&ct->refresh_below_ms[s], __ATOMIC_RELAXED))
		__atomic_store_n(&c->expires_ms, now_ms + timeout_of(ct, s), __ATOMIC_RELAXED);
}

unsigned sg_ct_expire(struct sg_ct *ct, unsigned worker, uint32_t now_ms,
                      sg_ct_expire_fn fn, void *arg, unsigned budget)
{
	struct ct_worker *w = &ct->w[worker];
	unsigned handled = 0;

	wheel_start(w, now_ms);
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
					wheel_file(ct, w, r, w->cursor_ms, w->cursor_ms);
					idx = rn;
				}
				return handled;
			}
			c->wprev = NIL;
			c->wnext = 0;
			if (before(now_ms, __atomic_load_n(&c->expires_ms, __ATOMIC_RELAXED))) {
				w->st.c[SG_CT_STAT_REFILED]++;
				wheel_file(ct, w, c, now_ms, next_ms);
			} else {
				enum sg_ct_state st = sg_ct_state_get(c);

				handled++;
				if (fn && fn(arg, c, now_ms) == SG_CT_EXPIRE_KEEP) {
					wheel_file(ct, w, c, now_ms, next_ms);
				} else {
					w->st.expired[st]++;
					entry_free(ct, w, c);
				}
			}
			idx = nidx;
		}
		w->cursor_ms = next_ms;
	}
	return handled;
}

int sg_ct_set_state(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                    enum sg_ct_state s, uint32_t now_ms)
{
	uint8_t cur = __atomic_load_n(&c->state, __ATOMIC_RELAXED);

	do {
		if (cur == SG_CT_FREE)
			return -ESTALE;
	} while (!__atomic_compare_exchange_n(&c->state, &cur, (uint8_t)s, true,
	                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	sg_ct_set_expiry(ct, worker, c, now_ms + timeout_of(ct, s));
	return 0;
}

void sg_ct_set_timeouts(struct sg_ct *ct, const struct sg_ct_config *cfg)
{
	for (unsigned s = 0; s < SG_CT_STATE_COUNT; s++) {
		uint32_t t = cfg->timeout_s[s] * 1000u;

		__atomic_store_n(&ct->timeout_ms[s], t, __ATOMIC_RELAXED);
		__atomic_store_n(&ct->refresh_below_ms[s], t >= 1000u ? t - 1000u : 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&ct->evict_idle_ms, cfg->evict_idle_s * 1000u, __ATOMIC_RELAXED);
}

void sg_ct_set_release(struct sg_ct *ct, sg_ct_release_fn fn, void *arg)
{
	ct->release = fn;
	ct->release_arg = arg;
}

void sg_ct_quiescent(struct sg_ct *ct, unsigned worker)
{
	sg_qsbr_quiescent(&ct->qsbr, worker);
	reclaim(ct, worker);
}

void sg_ct_offline(struct sg_ct *ct, unsigned worker)
{
	sg_qsbr_offline(&ct->qsbr, worker);
}

const struct sg_ct_stats *sg_ct_stats(const struct sg_ct *ct, unsigned worker)
{
	return &ct->w[worker].st;
}

uint32_t sg_ct_count(const struct sg_ct *ct)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < ct->nworkers; i++)
		n += __atomic_load_n(&ct->w[i].used, __ATOMIC_RELAXED);
	return n;
}

/* Every linked entry sits on its owner's wheel while no worker runs, so
 * the wheels visit the live entries alone: a sweep of the whole pool read
 * 128 MiB (0.6 s on a loaded machine) to dump one connection. */
void sg_ct_walk(const struct sg_ct *ct, sg_ct_walk_fn fn, void *arg)
{
	for (unsigned i = 0; i < ct->nworkers; i++)
		for (unsigned s = 0; s < WHEEL_SLOTS; s++)
			for (uint32_t idx = ct->w[i].wheel[s]; idx; idx = ct->pool[idx].wnext)
				if (ct->pool[idx].state != SG_CT_FREE)
					fn(arg, &ct->pool[idx]);
}

uint32_t sg_ct_capacity(const struct sg_ct *ct)
{
	return ct->capacity;
}

void sg_ct_count_states(const struct sg_ct *ct, uint32_t n[SG_CT_STATE_COUNT])
{
	memset(n, 0, SG_CT_STATE_COUNT * sizeof(n[0]));
	for (uint32_t i = 1; i <= ct->capacity; i++) {
		uint8_t s = __atomic_load_n(&ct->pool[i].state, __ATOMIC_RELAXED);

		if (s < SG_CT_STATE_COUNT)
			n[s]++;
	}
}

const struct sg_conn *sg_ct_entry(const struct sg_ct *ct, uint32_t idx)
{
	return idx >= 1 && idx <= ct->capacity ? &ct->pool[idx] : NULL;
}
