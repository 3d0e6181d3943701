/* Learned and pinned server options (see learn.h). */
#include "core/learn.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>


#define LD_ACQ(p)    __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LD_RLX(p)    __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ST_RLX(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* A worker's clock may run this far behind the one that wrote a record:
 * a record "born in the future" by less is live, by more is stale (its
 * age wrapped: see expired()). */
#define CLOCK_SKEW_MS 1000u

/* One record.  The key is the address (a0, a1) and the low half of w
 * (port, family, in use); the record is w's high half, so the key bits
 * and what they map to are written and read as one word.  seq is odd
 * while the bucket's writer changes the slot: a reader that finds it odd,
 * or changed over its reads, takes the slot as absent (seqlock). */
struct learn_slot {
	uint64_t a0, a1;
	uint64_t w;
	uint32_t seq;
	uint32_t born;   /* ms of the record's first note */
};

struct learn_bucket {
	struct learn_slot s[SG_LEARN_WAYS];
} __attribute__((aligned(64)));

struct sg_learn {
	/* Read by every lookup. */
	struct sg_learn_hkey hk;
	uint32_t mask;                /* buckets - 1 */
	uint32_t ttl_ms;
	struct learn_bucket *b;
	uint32_t *lock;               /* one per bucket, notes only */

	/* Written by notes that change something. */
	uint32_t count __attribute__((aligned(64)));
	uint32_t hand;                /* the next bucket a note sweeps */

	struct sg_learn_pins_table pins __attribute__((aligned(64)));
};

void sg_learn_config_default(struct sg_learn_config *c)
{
	c->entries = 16384;   /* 512 KiB: servers and ports behind one box */
	c->ttl_s = 600;
}

int sg_learn_config_check(const struct sg_learn_config *c, struct sg_cfg_fault *why)
{
	if (c->entries < SG_LEARN_MIN_ENTRIES || c->entries > SG_LEARN_MAX_ENTRIES)
		return sg_cfg_fail(why, SG_CFG_RANGE, offsetof(struct sg_learn_config, entries));
	if (c->ttl_s < SG_LEARN_MIN_TTL_S || c->ttl_s > SG_LEARN_MAX_TTL_S)
		return sg_cfg_fail(why, SG_CFG_RANGE, offsetof(struct sg_learn_config, ttl_s));
	return 0;
}

/* ---- keys and records ---- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A record `age` ms old is stale from ttl on; one slightly in the future
 * was born on a worker whose clock runs ahead. */
static bool expired(const struct sg_learn *l, uint32_t now, uint32_t born)
{
	uint32_t age = now - born;

	return age >= l->ttl_ms && age <= -CLOCK_SKEW_MS;
}

static uint32_t age_of(uint32_t now, uint32_t born)
{
	uint32_t age = now - born;

	return age > -CLOCK_SKEW_MS ? 0 : age;
}

/* ---- records ---- */

/* The live record of the key in bucket b, read without a lock. */
static bool find(const struct sg_learn *l, const struct learn_bucket *b, uint64_t a0, uint64_t a1,
                 uint32_t kbits, uint32_t now, uint32_t *val)
{
	for (unsigned i = 0; i < SG_LEARN_WAYS; i++) {
		const struct learn_slot *s = &b->s[i];
		uint32_t seq = LD_ACQ(&s->seq), born;
		uint64_t w, x0, x1;

		if (seq & 1)
			continue;
		/* Acquire loads: a value from a writer that began after seq was
		 * read carries the odd seq with it, so the check below sees it. */
		w = LD_ACQ(&s->w);
		if ((uint32_t)w != kbits)
			continue;
		x0 = LD_ACQ(&s->a0);
		x1 = LD_ACQ(&s->a1);
		born = LD_ACQ(&s->born);
		if (LD_RLX(&s->seq) != seq || x0 != a0 || x1 != a1 || expired(l, now, born))
			continue;
		*val = (uint32_t)(w >> 32);
		return true;
	}
	return false;
}

/* Under the bucket's lock.  The odd seq is stored first and the fields
 * with release, so none is visible before it. */
static void slot_write(struct learn_slot *s, uint64_t a0, uint64_t a1, uint64_t w, uint32_t born)
{
	uint32_t seq = LD_RLX(&s->seq);

	ST_RLX(&s->seq, seq + 1);
	ST_REL(&s->a0, a0);
	ST_REL(&s->a1, a1);
	ST_REL(&s->w, w);
	ST_REL(&s->born, born);
	ST_REL(&s->seq, seq + 2);
}

static bool trylock(uint32_t *lk)
{
	return !LD_RLX(lk) && !__atomic_exchange_n(lk, 1, __ATOMIC_ACQUIRE);
}

static void unlock(uint32_t *lk)
{
	ST_REL(lk, 0);
}

/* Updates or creates the record of one key; true when it took the lock. */
static bool note_one(struct sg_learn *l, uint64_t a0, uint64_t a1, uint32_t kbits, uint32_t val,
                     uint32_t now)
{
	uint32_t bi = (uint32_t)sg_learn_rec_hash(&l->hk, a0, a1, kbits) & l->mask, cur, oldest_age = 0;
	struct learn_bucket *b = &l->b[bi];
	struct learn_slot *free_s = NULL, *stale = NULL, *oldest = NULL, *s;

	/* The common case, the same news again: nothing is written, so notes
	 * from every worker about one busy server share the line unmodified. */
	if (find(l, b, a0, a1, kbits, now, &cur) && sg_learn_rec_fill(val, cur) == cur)
		return false;
	if (!trylock(&l->lock[bi]))
		return false;
	for (unsigned i = 0; i < SG_LEARN_WAYS; i++) {
		uint64_t w;
		uint32_t born, age;

		s = &b->s[i];
		w = LD_RLX(&s->w);
		born = LD_RLX(&s->born);
		if (!(w & SG_LEARN_K_USED)) {
			if (!free_s)
				free_s = s;
			continue;
		}
		if ((uint32_t)w == kbits && LD_RLX(&s->a0) == a0 && LD_RLX(&s->a1) == a1) {
			if (expired(l, now, born)) {
				/* Learned afresh: what it said before is not merged. */
				slot_write(s, a0, a1, kbits | (uint64_t)val << 32, now);
			} else {
				cur = sg_learn_rec_fill(val, (uint32_t)(w >> 32));
				if (cur != (uint32_t)(w >> 32))
					slot_write(s, a0, a1, kbits | (uint64_t)cur << 32, born);
			}
			goto out;
		}
		if (expired(l, now, born)) {
			if (!stale)
				stale = s;
			continue;
		}
		age = age_of(now, born);
		if (!oldest || age > oldest_age) {
			oldest = s;
			oldest_age = age;
		}
	}
	if (free_s)
		__atomic_fetch_add(&l->count, 1, __ATOMIC_RELAXED);
	s = free_s ? free_s : stale ? stale : oldest;
	slot_write(s, a0, a1, kbits | (uint64_t)val << 32, now);
out:
	unlock(&l->lock[bi]);
	return true;
}

/* Empties the expired slots of one bucket, the next after the last one
 * swept, so records of servers gone quiet leave the count (and cannot
 * come back when a 32-bit age wraps). */
static void sweep(struct sg_learn *l, uint32_t now)
{
	uint32_t bi = __atomic_fetch_add(&l->hand, 1, __ATOMIC_RELAXED) & l->mask;
	struct learn_bucket *b = &l->b[bi];

	if (!trylock(&l->lock[bi]))
		return;
	for (unsigned i = 0; i < SG_LEARN_WAYS; i++) {
		struct learn_slot *s = &b->s[i];

		if ((LD_RLX(&s->w) & SG_LEARN_K_USED) && expired(l, now, LD_RLX(&s->born))) {
			slot_write(s, 0, 0, 0, 0);
			__atomic_fetch_sub(&l->count, 1, __ATOMIC_RELAXED);
		}
	}
	unlock(&l->lock[bi]);
}

void sg_learn_note(struct sg_learn *l, uint8_t family, const uint8_t *addr, uint16_t port,
                   const struct sg_learned *seen, uint32_t now_ms)
{
	uint32_t val = sg_learn_rec_pack(seen), v6 = family == 6 ? SG_LEARN_K_V6 : 0;
	uint64_t a0, a1;
	bool wrote = false;

	if ((family != 4 && family != 6) || !sg_learn_rec_known_of(val))
		return;
	sg_learn_rec_addr_words(family, addr, &a0, &a1);
	if (port)
		wrote = note_one(l, a0, a1, SG_LEARN_K_USED | v6 | port, val, now_ms);
	wrote |= note_one(l, a0, a1, SG_LEARN_K_USED | v6, val, now_ms);
	if (wrote)
		sweep(l, now_ms);
}

/* ---- pins (learn_pins.c) ---- */

int sg_learn_set_pins(struct sg_learn *l, const struct sg_learn_pin *pins, unsigned n)
{
	return sg_learn_pins_set(&l->pins, pins, n);
}

int sg_learn_pin(struct sg_learn *l, const struct sg_learn_pin *p)
{
	return sg_learn_pins_add(&l->pins, p);
}

int sg_learn_unpin(struct sg_learn *l, const struct sg_learn_pin *p)
{
	return sg_learn_pins_remove(&l->pins, p);
}

unsigned sg_learn_pins(const struct sg_learn *l, struct sg_learn_pin *out, unsigned max)
{
	return sg_learn_pins_copy(&l->pins, out, max);
}

/* ---- lookups ---- */

bool sg_learn_lookup(const struct sg_learn *l, uint8_t family, const uint8_t *addr,
                     uint16_t port, uint32_t now_ms, struct sg_learned *out)
{
	uint32_t v6 = family == 6 ? SG_LEARN_K_V6 : 0, val = 0, r, kbits;
	uint64_t a0, a1;

	if (family != 4 && family != 6) {
		sg_learn_rec_unpack(0, out);
		return false;
	}
	sg_learn_rec_addr_words(family, addr, &a0, &a1);
	val = sg_learn_pins_match(&l->pins, v6, a0, a1, port);
	/* Nothing learned yet (a fresh box, or only a flood so far): no
	 * probes, on every SYN. */
	if (!LD_RLX(&l->count)) {
		sg_learn_rec_unpack(val, out);
		return sg_learn_rec_known_of(val) != 0;
	}
	if (port && sg_learn_rec_known_of(val) != SG_LEARN_ALL) {
		kbits = SG_LEARN_K_USED | v6 | port;
		if (find(l, &l->b[(uint32_t)sg_learn_rec_hash(&l->hk, a0, a1, kbits) & l->mask], a0, a1, kbits, now_ms, &r))
			val = sg_learn_rec_fill(val, r);
	}
	if (sg_learn_rec_known_of(val) != SG_LEARN_ALL) {
		kbits = SG_LEARN_K_USED | v6;
		if (find(l, &l->b[(uint32_t)sg_learn_rec_hash(&l->hk, a0, a1, kbits) & l->mask], a0, a1, kbits, now_ms, &r))
			val = sg_learn_rec_fill(val, r);
	}
	sg_learn_rec_unpack(val, out);
	return sg_learn_rec_known_of(val) != 0;
}

uint32_t sg_learn_count(const struct sg_learn *l)
{
	return LD_RLX(&l->count);
}

uint32_t sg_learn_pins_version(const struct sg_learn *l)
{
	return LD_RLX(&l->pins.gen);
}

/* ---- lifecycle ---- */

int sg_learn_create(const struct sg_learn_config *c, const uint8_t key[SG_LEARN_KEY_BYTES],
                    struct sg_learn **out)
{
	struct sg_cfg_fault why;
	struct sg_learn *l;
	uint32_t entries = SG_LEARN_WAYS, nb;
	uint64_t s0, s1;

	if (sg_learn_config_check(c, &why))
		return -EINVAL;
	while (entries < c->entries)
		entries <<= 1;
	nb = entries / SG_LEARN_WAYS;
	l = aligned_alloc(64, (sizeof(*l) + 63) & ~(size_t)63);
	if (!l)
		return -ENOMEM;
	memset(l, 0, sizeof(*l));
	l->b = aligned_alloc(64, nb * sizeof(l->b[0]));
	l->lock = calloc(nb, sizeof(l->lock[0]));
	if (!l->b || !l->lock) {
		free(l->b);
		free(l->lock);
		free(l);
		return -ENOMEM;
	}
	memset(l->b, 0, nb * sizeof(l->b[0]));
	/* The hash key: both halves of the caller's bytes reach every word. */
	memcpy(&s0, key, 8);
	memcpy(&s1, key + 8, 8);
	for (unsigned i = 0; i < 6; i++)
		l->hk.nh[i] = (uint32_t)(splitmix(&s0) ^ (splitmix(&s1) >> 32));
	l->hk.mult = (splitmix(&s0) ^ splitmix(&s1)) | 1;
	l->mask = nb - 1;
	l->ttl_ms = c->ttl_s * 1000u;
	sg_learn_pins_init(&l->pins, &l->hk);
	*out = l;
	return 0;
}

void sg_learn_destroy(struct sg_learn *l)
{
	if (!l)
		return;
	sg_learn_pins_destroy(&l->pins);
	free(l->b);
	free(l->lock);
	free(l);
}
