/* Learned and pinned server options (see learn.h). */
#include "core/learn.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcpopt.h"

#define LD_ACQ(p)    __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LD_RLX(p)    __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ST_RLX(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* A key's low 32 bits: the port (0: the address alone), the family, and,
 * in a slot, that the slot is in use; in a pin, the prefix length. */
#define K_V6         (1u << 16)
#define K_USED       (1u << 17)
#define K_PLEN_SHIFT 24

/* A record in 32 bits, the high half of a slot's word: only known fields
 * are non-zero, so two records compare as integers. */
#define V_MSS         0xffffu
#define V_WS_SHIFT    16
#define V_WS          (0xfu << V_WS_SHIFT)
#define V_SACK        (1u << 20)
#define V_TS          (1u << 21)
#define V_KNOWN_SHIFT 24

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

/* Pins, as lookups read them: an open-addressing hash of (prefix, port)
 * and, per family, the prefix lengths in use, longest first, so a lookup
 * probes once or twice per length present rather than testing every pin.
 * Two of them: the control plane builds the one lookups are not using,
 * then flips pin_gen. */
#define PIN_SLOTS (2 * SG_LEARN_PINS_MAX)   /* at most half full */
#define LEN_PORT  0x100                     /* a pin of this length has a port */
#define LEN_ANY   0x200                     /* ... and one has none */

struct pin_set {
	uint32_t n;
	uint8_t  nlen[2];                        /* [0] IPv4, [1] IPv6 */
	uint16_t len[2][129];                    /* plen | LEN_* */
	uint16_t slot[PIN_SLOTS];                /* 1 + index into pin, 0 empty */
	uint64_t pin[SG_LEARN_PINS_MAX][3];      /* a0, a1, key bits | record << 32 */
};

struct sg_learn {
	/* Read by every lookup. */
	uint32_t nh[6];               /* NH key */
	uint64_t mult;                /* odd */
	uint32_t mask;                /* buckets - 1 */
	uint32_t ttl_ms;
	struct learn_bucket *b;
	uint32_t *lock;               /* one per bucket, notes only */
	uint32_t pin_gen;             /* pins[pin_gen & 1] is current */

	/* Written by notes that change something. */
	uint32_t count __attribute__((aligned(64)));
	uint32_t hand;                /* the next bucket a note sweeps */

	/* The control plane's: the pins as set, under pin_mu. */
	pthread_mutex_t pin_mu __attribute__((aligned(64)));
	unsigned ncur;
	struct sg_learn_pin cur[SG_LEARN_PINS_MAX];
	struct pin_set stage;

	struct pin_set pins[2] __attribute__((aligned(64)));
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

/* NH (RFC 4418 §5.2) over the key's 32-bit words, then a keyed bijective
 * mix: two keys share a bucket with a chance of about 2^-32 over the key
 * plus the bucket count's share, so no one can aim at a bucket. */
static uint64_t lhash(const struct sg_learn *l, uint64_t a0, uint64_t a1, uint32_t k)
{
	const uint32_t *nh = l->nh;
	uint64_t h;

	h  = (uint64_t)((uint32_t)a0 + nh[0]) * (uint32_t)((uint32_t)(a0 >> 32) + nh[1]);
	h += (uint64_t)((uint32_t)a1 + nh[2]) * (uint32_t)((uint32_t)(a1 >> 32) + nh[3]);
	h += (uint64_t)(k + nh[4]) * nh[5];
	h ^= h >> 32;
	h *= l->mult;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static void addr_words(uint8_t family, const uint8_t *addr, uint64_t *a0, uint64_t *a1)
{
	uint8_t b[16] = { 0 };

	memcpy(b, addr, family == 4 ? 4 : 16);
	memcpy(a0, b, 8);
	memcpy(a1, b + 8, 8);
}

/* The first `bits` bits of a word loaded from 8 address bytes. */
static uint64_t prefix_mask(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 64)
		return ~0ull;
	return htobe64(~0ull << (64 - bits));
}

static uint32_t pack(const struct sg_learned *o)
{
	uint32_t known = o->known & SG_LEARN_ALL, v = 0;

	if ((known & SG_LEARN_MSS) && !o->mss)
		known &= ~(uint32_t)SG_LEARN_MSS;
	if (known & SG_LEARN_MSS)
		v |= o->mss;
	if (known & SG_LEARN_WS)
		v |= (uint32_t)(o->ws > SG_LEARN_WS_NONE ? SG_TCP_WSCALE_MAX : o->ws) << V_WS_SHIFT;
	if ((known & SG_LEARN_SACK) && o->sack)
		v |= V_SACK;
	if ((known & SG_LEARN_TS) && o->ts)
		v |= V_TS;
	return v | known << V_KNOWN_SHIFT;
}

static void unpack(uint32_t v, struct sg_learned *o)
{
	o->known = (uint8_t)(v >> V_KNOWN_SHIFT);
	o->mss = (uint16_t)(v & V_MSS);
	o->ws = (uint8_t)((v & V_WS) >> V_WS_SHIFT);
	o->sack = v & V_SACK;
	o->ts = v & V_TS;
}

static unsigned known_of(uint32_t v)
{
	return v >> V_KNOWN_SHIFT;
}

/* dst with the fields it does not know taken from src. */
static uint32_t fill(uint32_t dst, uint32_t src)
{
	static const uint32_t bits[4] = { V_MSS, V_WS, V_SACK, V_TS };
	unsigned add = known_of(src) & ~known_of(dst);

	for (unsigned i = 0; i < 4; i++)
		if (add & (1u << i))
			dst |= src & bits[i];
	return dst | add << V_KNOWN_SHIFT;
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
	uint32_t bi = (uint32_t)lhash(l, a0, a1, kbits) & l->mask, cur, oldest_age = 0;
	struct learn_bucket *b = &l->b[bi];
	struct learn_slot *free_s = NULL, *stale = NULL, *oldest = NULL, *s;

	/* The common case, the same news again: nothing is written, so notes
	 * from every worker about one busy server share the line unmodified. */
	if (find(l, b, a0, a1, kbits, now, &cur) && fill(val, cur) == cur)
		return false;
	if (!trylock(&l->lock[bi]))
		return false;
	for (unsigned i = 0; i < SG_LEARN_WAYS; i++) {
		uint64_t w;
		uint32_t born, age;

		s = &b->s[i];
		w = LD_RLX(&s->w);
		born = LD_RLX(&s->born);
		if (!(w & K_USED)) {
			if (!free_s)
				free_s = s;
			continue;
		}
		if ((uint32_t)w == kbits && LD_RLX(&s->a0) == a0 && LD_RLX(&s->a1) == a1) {
			if (expired(l, now, born)) {
				/* Learned afresh: what it said before is not merged. */
				slot_write(s, a0, a1, kbits | (uint64_t)val << 32, now);
			} else {
				cur = fill(val, (uint32_t)(w >> 32));
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

		if ((LD_RLX(&s->w) & K_USED) && expired(l, now, LD_RLX(&s->born))) {
			slot_write(s, 0, 0, 0, 0);
			__atomic_fetch_sub(&l->count, 1, __ATOMIC_RELAXED);
		}
	}
	unlock(&l->lock[bi]);
}

void sg_learn_note(struct sg_learn *l, uint8_t family, const uint8_t *addr, uint16_t port,
                   const struct sg_learned *seen, uint32_t now_ms)
{
	uint32_t val = pack(seen), v6 = family == 6 ? K_V6 : 0;
	uint64_t a0, a1;
	bool wrote = false;

	if ((family != 4 && family != 6) || !known_of(val))
		return;
	addr_words(family, addr, &a0, &a1);
	if (port)
		wrote = note_one(l, a0, a1, K_USED | v6 | port, val, now_ms);
	wrote |= note_one(l, a0, a1, K_USED | v6, val, now_ms);
	if (wrote)
		sweep(l, now_ms);
}

/* ---- pins ---- */

/* The pin of (family, masked address, kbits with port and plen) in ps:
 * its record, or 0.  ps may be rewritten under the reader, which then
 * retries; indices and probe counts are bounded whatever it reads. */
static uint32_t pin_find(const struct sg_learn *l, const struct pin_set *ps, uint64_t a0,
                         uint64_t a1, uint32_t kbits)
{
	uint32_t h = (uint32_t)lhash(l, a0, a1, kbits);

	for (unsigned probe = 0; probe < PIN_SLOTS; probe++, h++) {
		unsigned s = LD_ACQ(&ps->slot[h % PIN_SLOTS]);
		uint64_t meta;

		if (!s || s > SG_LEARN_PINS_MAX)
			return 0;
		meta = LD_ACQ(&ps->pin[s - 1][2]);
		if ((uint32_t)meta == kbits && LD_ACQ(&ps->pin[s - 1][0]) == a0 &&
		    LD_ACQ(&ps->pin[s - 1][1]) == a1)
			return (uint32_t)(meta >> 32);
	}
	return 0;
}

/* Each field from the longest prefix that pins it; at one length, a pin
 * with the port before one without. */
static uint32_t pins_match(const struct sg_learn *l, uint32_t v6, uint64_t a0, uint64_t a1,
                           uint16_t port)
{
	for (;;) {
		uint32_t gen = LD_ACQ(&l->pin_gen), val = 0;
		const struct pin_set *ps = &l->pins[gen & 1];
		unsigned fam = !!v6, nlen = LD_ACQ(&ps->nlen[fam]);

		for (unsigned i = 0; i < nlen && i < 129 && known_of(val) != SG_LEARN_ALL; i++) {
			unsigned len = LD_ACQ(&ps->len[fam][i]), plen = len & 0xff;
			uint64_t m0 = a0 & prefix_mask((int)plen), m1 = a1 & prefix_mask((int)plen - 64);
			uint32_t kbits = v6 | plen << K_PLEN_SHIFT;

			if ((len & LEN_PORT) && port)
				val = fill(val, pin_find(l, ps, m0, m1, kbits | port));
			if (len & LEN_ANY)
				val = fill(val, pin_find(l, ps, m0, m1, kbits));
		}
		/* A set rewritten while it was read was rewritten after pin_gen
		 * moved on: then read again, from the current one. */
		if (LD_RLX(&l->pin_gen) == gen)
			return val;
	}
}

/* A pin's key in canonical form (bits past plen cleared): 0 or -EINVAL. */
static int pin_key(const struct sg_learn_pin *in, struct sg_learn_pin *out)
{
	unsigned max = in->family == 4 ? 32 : in->family == 6 ? 128 : 0;

	if (!max || in->plen > max)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->family = in->family;
	out->plen = in->plen;
	out->port = in->port;
	memcpy(out->addr, in->addr, in->plen / 8);
	if (in->plen % 8)
		out->addr[in->plen / 8] = (uint8_t)(in->addr[in->plen / 8] & (0xff00u >> (in->plen % 8)));
	return 0;
}

static int pin_canon(const struct sg_learn_pin *in, struct sg_learn_pin *out)
{
	const struct sg_learned *o = &in->opts;

	if (pin_key(in, out))
		return -EINVAL;
	if (!o->known || (o->known & ~SG_LEARN_ALL))
		return -EINVAL;
	if ((o->known & SG_LEARN_MSS) &&
	    o->mss < (in->family == 4 ? SG_TCP_MSS4_MIN : SG_TCP_MSS6_MIN))
		return -EINVAL;
	if ((o->known & SG_LEARN_WS) && o->ws > SG_LEARN_WS_NONE)
		return -EINVAL;
	unpack(pack(o), &out->opts);
	return 0;
}

static bool pin_same(const struct sg_learn_pin *a, const struct sg_learn_pin *b)
{
	return a->family == b->family && a->plen == b->plen && a->port == b->port &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Builds l->cur into the set lookups are not reading, then makes it
 * current.  Under pin_mu. */
static void pins_publish(struct sg_learn *l)
{
	struct pin_set *st = &l->stage, *ps;
	bool has[2][129][2] = { { { false } } };
	uint32_t gen = LD_RLX(&l->pin_gen);

	memset(st, 0, sizeof(*st));
	st->n = l->ncur;
	for (unsigned i = 0; i < l->ncur; i++) {
		const struct sg_learn_pin *p = &l->cur[i];
		uint32_t kbits = (p->family == 6 ? K_V6 : 0) | (uint32_t)p->plen << K_PLEN_SHIFT | p->port;
		uint32_t h;

		addr_words(p->family, p->addr, &st->pin[i][0], &st->pin[i][1]);
		st->pin[i][2] = kbits | (uint64_t)pack(&p->opts) << 32;
		h = (uint32_t)lhash(l, st->pin[i][0], st->pin[i][1], kbits);
		while (st->slot[h % PIN_SLOTS])
			h++;
		st->slot[h % PIN_SLOTS] = (uint16_t)(i + 1);
		has[p->family == 6][p->plen][!p->port] = true;
	}
	for (unsigned f = 0; f < 2; f++)
		for (int plen = 128; plen >= 0; plen--)
			if (has[f][plen][0] || has[f][plen][1])
				st->len[f][st->nlen[f]++] = (uint16_t)(plen | (has[f][plen][0] ? LEN_PORT : 0) |
				                                       (has[f][plen][1] ? LEN_ANY : 0));

	/* Copied in with release stores: a lookup still reading this set (from
	 * two changes ago) that reads one of them also sees pin_gen moved. */
	ps = &l->pins[(gen + 1) & 1];
	ST_REL(&ps->n, st->n);
	for (unsigned f = 0; f < 2; f++) {
		ST_REL(&ps->nlen[f], st->nlen[f]);
		for (unsigned i = 0; i < 129; i++)
			ST_REL(&ps->len[f][i], st->len[f][i]);
	}
	for (unsigned i = 0; i < PIN_SLOTS; i++)
		ST_REL(&ps->slot[i], st->slot[i]);
	for (unsigned i = 0; i < st->n; i++)
		for (unsigned j = 0; j < 3; j++)
			ST_REL(&ps->pin[i][j], st->pin[i][j]);
	ST_REL(&l->pin_gen, gen + 1);
}

int sg_learn_set_pins(struct sg_learn *l, const struct sg_learn_pin *pins, unsigned n)
{
	struct sg_learn_pin canon[SG_LEARN_PINS_MAX];

	if (n > SG_LEARN_PINS_MAX)
		return -ENOSPC;
	for (unsigned i = 0; i < n; i++) {
		if (pin_canon(&pins[i], &canon[i]))
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (pin_same(&canon[i], &canon[j]))
				return -EINVAL;
	}
	pthread_mutex_lock(&l->pin_mu);
	memcpy(l->cur, canon, n * sizeof(canon[0]));
	l->ncur = n;
	pins_publish(l);
	pthread_mutex_unlock(&l->pin_mu);
	return 0;
}

int sg_learn_pin(struct sg_learn *l, const struct sg_learn_pin *p)
{
	struct sg_learn_pin c;
	unsigned i;
	int err = 0;

	if (pin_canon(p, &c))
		return -EINVAL;
	pthread_mutex_lock(&l->pin_mu);
	for (i = 0; i < l->ncur && !pin_same(&l->cur[i], &c); i++)
		;
	if (i == SG_LEARN_PINS_MAX) {
		err = -ENOSPC;
	} else {
		l->cur[i] = c;
		l->ncur += i == l->ncur;
		pins_publish(l);
	}
	pthread_mutex_unlock(&l->pin_mu);
	return err;
}

int sg_learn_unpin(struct sg_learn *l, const struct sg_learn_pin *p)
{
	struct sg_learn_pin c;
	unsigned i;
	int err = 0;

	if (pin_key(p, &c))
		return -ENOENT;
	pthread_mutex_lock(&l->pin_mu);
	for (i = 0; i < l->ncur && !pin_same(&l->cur[i], &c); i++)
		;
	if (i == l->ncur) {
		err = -ENOENT;
	} else {
		memmove(&l->cur[i], &l->cur[i + 1], (l->ncur - i - 1) * sizeof(l->cur[0]));
		l->ncur--;
		pins_publish(l);
	}
	pthread_mutex_unlock(&l->pin_mu);
	return err;
}

unsigned sg_learn_pins(const struct sg_learn *l, struct sg_learn_pin *out, unsigned max)
{
	for (;;) {
		uint32_t gen = LD_ACQ(&l->pin_gen);
		const struct pin_set *ps = &l->pins[gen & 1];
		unsigned n = LD_ACQ(&ps->n);

		for (unsigned i = 0; i < n && i < max && i < SG_LEARN_PINS_MAX; i++) {
			uint64_t a0 = LD_ACQ(&ps->pin[i][0]), a1 = LD_ACQ(&ps->pin[i][1]);
			uint64_t meta = LD_ACQ(&ps->pin[i][2]);
			struct sg_learn_pin *p = &out[i];

			memset(p, 0, sizeof(*p));
			p->family = meta & K_V6 ? 6 : 4;
			p->plen = (uint8_t)((uint32_t)meta >> K_PLEN_SHIFT);
			p->port = (uint16_t)meta;
			memcpy(p->addr, &a0, 8);
			memcpy(p->addr + 8, &a1, 8);
			unpack((uint32_t)(meta >> 32), &p->opts);
		}
		if (LD_RLX(&l->pin_gen) == gen)
			return n;
	}
}

/* ---- lookups ---- */

bool sg_learn_lookup(const struct sg_learn *l, uint8_t family, const uint8_t *addr,
                     uint16_t port, uint32_t now_ms, struct sg_learned *out)
{
	uint32_t v6 = family == 6 ? K_V6 : 0, val = 0, r, kbits;
	uint64_t a0, a1;

	if (family != 4 && family != 6) {
		unpack(0, out);
		return false;
	}
	addr_words(family, addr, &a0, &a1);
	val = pins_match(l, v6, a0, a1, port);
	/* Nothing learned yet (a fresh box, or only a flood so far): no
	 * probes, on every SYN. */
	if (!LD_RLX(&l->count)) {
		unpack(val, out);
		return known_of(val) != 0;
	}
	if (port && known_of(val) != SG_LEARN_ALL) {
		kbits = K_USED | v6 | port;
		if (find(l, &l->b[(uint32_t)lhash(l, a0, a1, kbits) & l->mask], a0, a1, kbits, now_ms, &r))
			val = fill(val, r);
	}
	if (known_of(val) != SG_LEARN_ALL) {
		kbits = K_USED | v6;
		if (find(l, &l->b[(uint32_t)lhash(l, a0, a1, kbits) & l->mask], a0, a1, kbits, now_ms, &r))
			val = fill(val, r);
	}
	unpack(val, out);
	return known_of(val) != 0;
}

uint32_t sg_learn_count(const struct sg_learn *l)
{
	return LD_RLX(&l->count);
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
		l->nh[i] = (uint32_t)(splitmix(&s0) ^ (splitmix(&s1) >> 32));
	l->mult = (splitmix(&s0) ^ splitmix(&s1)) | 1;
	l->mask = nb - 1;
	l->ttl_ms = c->ttl_s * 1000u;
	pthread_mutex_init(&l->pin_mu, NULL);
	*out = l;
	return 0;
}

void sg_learn_destroy(struct sg_learn *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->pin_mu);
	free(l->b);
	free(l->lock);
	free(l);
}
