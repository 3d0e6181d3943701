/* The connection table: every tracked or proxied TCP connection.
 *
 * Bounded: all memory is allocated by sg_ct_create from the configured
 * capacity and never grows.  Keyed: the bucket of a flow is a universal hash of
 * its key under a random key, so no source can aim at one chain.  Shared:
 * N workers look entries up at once without a lock; see docs/design.md,
 * "The connection table and concurrency", for who may write what and why
 * no entry is reused while another worker reads it.
 *
 * Ownership.  The pool is cut into one slice per worker.  The worker that
 * inserts an entry owns it for its whole life: the entry sits on that
 * worker's timer wheel, only that worker frees it (by expiry or eviction)
 * and only that worker's pool slice supplies it.  Any worker may look an
 * entry up and change its state, proxy fields and expiry.
 *
 * Time is the caller's: `now_ms` is a monotonic millisecond clock truncated
 * to 32 bits (wraps after 49 days; all comparisons are wrap-safe).
 */
#ifndef SG_CORE_CONNTRACK_H
#define SG_CORE_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ct_config.h"
#include "core/flow.h"
#include "sg_limits.h"

/* Bytes of payload an entry carries for its user (the proxy's record,
 * core/conn.h), in the spirit of a netfilter conntrack extension: the
 * table never reads them; sg_ct_insert copies them in before the entry is
 * published. */
#define SG_CT_PAYLOAD_BYTES 64

/* One entry.  `key` and `owner` never change while the entry is linked.
 * `state` and `expires_ms` are read and written with relaxed atomics by any
 * worker (sg_ct_state_get, sg_ct_set_state, sg_ct_touch); `lock` serialises
 * a user's multi-field updates of the payload and is taken by the table
 * when it frees the entry.  The rest is private to the table. */
struct sg_conn {
	struct sg_flow key;          /* 44 */
	uint32_t hnext;              /* hash chain, index (0 = end) */
	uint32_t wnext, wprev;       /* owner's timer wheel slot list */
	uint32_t expires_ms;
	uint8_t  state;              /* enum sg_ct_state */
	uint8_t  lock;
	uint8_t  owner;              /* worker index */
	uint8_t  wslot;              /* wheel slot, valid while wprev != NIL */
	uint8_t  payload[SG_CT_PAYLOAD_BYTES] __attribute__((aligned(8)));
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct sg_conn) == 128, "an entry is two cache lines");

struct sg_ct;

/* Random bytes keying the bucket hash; the caller draws them (the core
 * reads no entropy itself, so tests can be deterministic). */
#define SG_CT_HASH_KEY_BYTES 56

int  sg_ct_create(const struct sg_ct_config *cfg, unsigned nworkers,
                  const uint8_t hash_key[SG_CT_HASH_KEY_BYTES], struct sg_ct **out);
void sg_ct_destroy(struct sg_ct *ct);

/* sg_ct_create maps the pool and the buckets without touching them (a
 * restart's forwarding gap waits for it), so each first use of a page is
 * a page fault on the data path.  This faults every page in at once
 * (pages.h), from any thread, also while workers run: it never changes a
 * page already in use.  Idempotent.  0,
 * or -EOPNOTSUPP on a kernel without MADV_POPULATE_WRITE (< 5.14: nothing
 * done), or -errno (sg_pages_populate). */
int  sg_ct_populate(struct sg_ct *ct);

/* The bucket hash of a key.  A burst computes it once per frame and uses
 * it in stages: prefetch every frame's bucket, then every bucket's first
 * entry, then look up, so the memory latency of one frame hides behind the
 * work on others. */
uint32_t sg_ct_hash(const struct sg_ct *ct, const struct sg_flow *k);
void sg_ct_prefetch_bucket(const struct sg_ct *ct, uint32_t hash);
void sg_ct_prefetch_entry(const struct sg_ct *ct, uint32_t hash);

/* Lock-free; hash = sg_ct_hash(ct, k).  The returned entry stays readable
 * (not reused) until this worker's next sg_ct_quiescent().  NULL when
 * absent. */
struct sg_conn *sg_ct_lookup(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                             uint32_t hash);

/* Inserts a new entry in `state`, expiring after that state's timeout,
 * with its payload copied from `payload` (zeroed when NULL) before any
 * other worker can find it: no lock is needed to initialise it.
 * May evict one of this worker's entries: pointers this worker obtained
 * before the call must not be used after it.
 * Returns it, or NULL with *err = -EEXIST (another entry has this key:
 * *existing points to it) or -ENOSPC (the worker's slice is full and
 * nothing is evictable).  Never allocates. */
struct sg_conn *sg_ct_insert(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                             uint32_t hash, enum sg_ct_state state, const void *payload,
                             uint32_t now_ms, struct sg_conn **existing, int *err);

static inline enum sg_ct_state sg_ct_state_get(const struct sg_conn *c)
{
	return (enum sg_ct_state)__atomic_load_n(&c->state, __ATOMIC_RELAXED);
}

/* The state, and everything its setter wrote before sg_ct_set_state
 * (which publishes with release). */
static inline enum sg_ct_state sg_ct_state_acquire(const struct sg_conn *c)
{
	return (enum sg_ct_state)__atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
}

/* Sets state and re-arms the state's timeout from now (exactness as for
 * sg_ct_set_expiry).  -ESTALE when the
 * entry was freed meanwhile (its owner expired or evicted it): the caller
 * treats the flow as unknown. */
int sg_ct_set_state(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                    enum sg_ct_state s, uint32_t now_ms);

/* Re-arms the current state's timeout from now (a packet was seen).  It
 * stores only once less than the timeout minus a second is left, so a
 * busy connection writes its entry's line, which other workers read, once
 * a second at most. */
void sg_ct_touch(struct sg_ct *ct, struct sg_conn *c, uint32_t now_ms);

/* Sets an explicit expiry (e.g. the next SYN retransmit).  Exact when
 * called by the owner; from another worker, an expiry moved earlier is
 * noticed by the owner within 8 s (the wheel's horizon). */
void sg_ct_set_expiry(struct sg_ct *ct, unsigned worker, struct sg_conn *c, uint32_t when_ms);

static inline void sg_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static inline void sg_ct_lock(struct sg_conn *c)
{
	while (__atomic_test_and_set(&c->lock, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&c->lock, __ATOMIC_RELAXED))
			sg_cpu_relax();
}

static inline void sg_ct_unlock(struct sg_conn *c)
{
	__atomic_clear(&c->lock, __ATOMIC_RELEASE);
}

/* What an expiry callback wants done with a due entry. */
enum sg_ct_expire_action {
	SG_CT_EXPIRE_FREE = 0,   /* remove it */
	SG_CT_EXPIRE_KEEP,       /* the callback set a later expiry */
};
typedef enum sg_ct_expire_action (*sg_ct_expire_fn)(void *arg, struct sg_conn *c,
                                                     uint32_t now_ms);

/* Runs the worker's timer wheel up to now: calls fn (or frees, when fn is
 * NULL) for each due entry it owns, at most `budget` entries per call so a
 * burst of expiries cannot stall packet work.  Returns the number handled. */
unsigned sg_ct_expire(struct sg_ct *ct, unsigned worker, uint32_t now_ms,
                      sg_ct_expire_fn fn, void *arg, unsigned budget);

/* Applies cfg's timeouts and evict_idle_s while workers run (a reload):
 * entries armed before keep their expiry until their next segment. */
void sg_ct_set_timeouts(struct sg_ct *ct, const struct sg_ct_config *cfg);

/* Called by an entry's owner (worker) whenever it frees it, by expiry or
 * eviction, while the payload is still intact: the user's accounting. */
typedef void (*sg_ct_release_fn)(void *arg, const struct sg_conn *c, unsigned worker);
void sg_ct_set_release(struct sg_ct *ct, sg_ct_release_fn fn, void *arg);

/* The worker holds no entry pointer from before this call.  Call it once
 * per batch; a worker that stops polling must call sg_ct_offline first or
 * no freed entry is ever reused. */
void sg_ct_quiescent(struct sg_ct *ct, unsigned worker);
void sg_ct_offline(struct sg_ct *ct, unsigned worker);

const struct sg_ct_stats *sg_ct_stats(const struct sg_ct *ct, unsigned worker);

/* Calls fn for every entry in use (linked, not FREE), by timer slot: a
 * dump of the table for the next process (ct_dump.h).  Only while no
 * worker runs: entries are read without the table's rules for readers. */
typedef void (*sg_ct_walk_fn)(void *arg, const struct sg_conn *c);
void sg_ct_walk(const struct sg_ct *ct, sg_ct_walk_fn fn, void *arg);

/* Entries in use (linked), whole table; approximate while workers run. */
uint32_t sg_ct_count(const struct sg_ct *ct);
uint32_t sg_ct_capacity(const struct sg_ct *ct);
/* Entries per state, n[SG_CT_FREE] the free ones, from any thread: a walk
 * of the whole pool (a byte per entry, ~10 ms per million entries), for an
 * operator's question, never the per-packet path.  Approximate while
 * workers run, and each state read is a relaxed load of a live field. */
void sg_ct_count_states(const struct sg_ct *ct, uint32_t n[SG_CT_STATE_COUNT]);

/* Entry idx of the pool, 1..capacity (NULL outside), whatever its state:
 * for a reader that walks the whole pool without the hash (conn_list.h),
 * with the rules conn_list.c follows. */
const struct sg_conn *sg_ct_entry(const struct sg_ct *ct, uint32_t idx);

#endif
