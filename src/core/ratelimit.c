/* Per-source rate limits (see ratelimit.h). */
#include "core/ratelimit.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/pages.h"
#include "sg_limits.h"

/* Units of a token per millisecond of a second: see "Arithmetic" in
 * ratelimit.h. */
#define MS_PER_S 1000u

/* 32 bytes: a window of SG_RATELIMIT_WAYS is 128 bytes, two cache lines
 * the adjacent-line prefetcher fetches together. */
struct bucket {
	uint64_t key[2];     /* the masked prefix, in the words it is loaded in */
	uint64_t tokens;     /* units, at most the depth */
	uint32_t last_ms;    /* when tokens was last brought up to date */
	uint8_t  family;     /* 4 or 6; 0: unused */
	uint8_t  pad[3];
};
_Static_assert(sizeof(struct bucket) == 32, "a bucket is 32 bytes");

#define WINDOW_BYTES (SG_RATELIMIT_WAYS * sizeof(struct bucket))

struct sg_ratelimit {
	/* Read by every worker on every take, written by set_rate only. */
	uint64_t rate_burst;          /* rate << 32 | burst, one atomic word */
	uint32_t nh[4];               /* the hash's key */
	uint64_t fam;
	uint64_t mult;                /* odd */
	uint64_t mask[2][2];          /* [family 4, 6][word]: the prefix bits */
	uint32_t nsets;               /* windows per worker */
	uint32_t cost;                /* units of one token: 1000 * nworkers */
	unsigned nworkers;
	struct bucket *b;             /* nworkers * nsets windows, worker by worker */
	size_t bytes;                 /* of b */
};

void sg_ratelimit_config_default(struct sg_ratelimit_config *c)
{
	memset(c, 0, sizeof(*c));
	c->rate = 400;
	c->burst = 2000;
	c->prefix4 = 24;
	c->prefix6 = 64;
	c->entries = 65536;
}

#define FIELD(f) offsetof(struct sg_ratelimit_config, f)

int sg_ratelimit_config_check(const struct sg_ratelimit_config *c, struct sg_cfg_fault *why)
{
	if (c->rate < 1 || c->rate > SG_RATELIMIT_RATE_MAX)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(rate));
	if (c->burst < 1 || c->burst > SG_RATELIMIT_BURST_MAX)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(burst));
	if (c->prefix4 > 32)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(prefix4));
	if (c->prefix6 > 128)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(prefix6));
	if (c->entries < SG_RATELIMIT_ENTRIES_MIN || c->entries > SG_RATELIMIT_ENTRIES_MAX)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(entries));
	return 0;
}

/* splitmix64's finaliser: a bijection whose every output bit depends on
 * every input bit. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The first `bits` bits of a 16-byte address, as the two words it is
 * loaded in (any byte order: the mask is built in bytes, like the key). */
static void make_mask(unsigned bits, uint64_t m[2])
{
	uint8_t b[16] = { 0 };

	memset(b, 0xff, bits / 8);
	if (bits % 8)
		b[bits / 8] = (uint8_t)(0xff00u >> (bits % 8));
	memcpy(m, b, 16);
}

static uint64_t pack(uint32_t rate, uint32_t burst)
{
	if (rate < 1)
		rate = 1;
	if (rate > SG_RATELIMIT_RATE_MAX)
		rate = SG_RATELIMIT_RATE_MAX;
	if (burst < 1)
		burst = 1;
	if (burst > SG_RATELIMIT_BURST_MAX)
		burst = SG_RATELIMIT_BURST_MAX;
	return (uint64_t)rate << 32 | burst;
}

int sg_ratelimit_create(const struct sg_ratelimit_config *c, unsigned nworkers,
                        const uint8_t key[SG_RATELIMIT_KEY_BYTES], struct sg_ratelimit **out)
{
	struct sg_cfg_fault why;
	struct sg_ratelimit *rl;
	uint64_t k[2], d[4];
	size_t bytes;

	if (sg_ratelimit_config_check(c, &why) || nworkers < 1 || nworkers > SG_MAX_WORKERS)
		return -EINVAL;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	rl->nsets = (c->entries + SG_RATELIMIT_WAYS - 1) / SG_RATELIMIT_WAYS;
	rl->nworkers = nworkers;
	rl->cost = MS_PER_S * nworkers;
	bytes = (size_t)nworkers * rl->nsets * WINDOW_BYTES;
	/* Zeroed pages (family 0: every bucket unused), page-aligned, which a
	 * window's alignment divides.  Not written here: a memset of the
	 * default 8 MiB was 30-40 ms of a restart's forwarding gap under load. */
	_Static_assert(4096 % WINDOW_BYTES == 0, "a page holds whole windows");
	rl->b = sg_pages_map(bytes);
	if (!rl->b) {
		free(rl);
		return -ENOMEM;
	}
	rl->bytes = bytes;
	/* Four words, each depending on all 128 bits of the key. */
	memcpy(k, key, 16);
	for (unsigned i = 0; i < 4; i++)
		d[i] = mix64(k[0] ^ mix64(k[1] + (i + 1) * 0x9e3779b97f4a7c15ull));
	rl->nh[0] = (uint32_t)d[0];
	rl->nh[1] = (uint32_t)(d[0] >> 32);
	rl->nh[2] = (uint32_t)d[1];
	rl->nh[3] = (uint32_t)(d[1] >> 32);
	rl->fam = d[2];
	rl->mult = d[3] | 1;
	make_mask(c->prefix4, rl->mask[0]);
	make_mask(c->prefix6, rl->mask[1]);
	__atomic_store_n(&rl->rate_burst, pack(c->rate, c->burst), __ATOMIC_RELAXED);
	*out = rl;
	return 0;
}

void sg_ratelimit_destroy(struct sg_ratelimit *rl)
{
	if (!rl)
		return;
	munmap(rl->b, rl->bytes);
	free(rl);
}

int sg_ratelimit_populate(struct sg_ratelimit *rl)
{
	return sg_pages_populate(rl->b, rl->bytes);
}

void sg_ratelimit_set_rate(struct sg_ratelimit *rl, uint32_t rate, uint32_t burst)
{
	__atomic_store_n(&rl->rate_burst, pack(rate, burst), __ATOMIC_RELAXED);
}

/* A source's prefix, read in the widths it was stored in (an IPv4 address
 * is 4 bytes and may be no more), masked. */
struct rl_key {
	uint64_t w[2];
	uint8_t family;
};

static inline void make_key(const struct sg_ratelimit *rl, uint8_t family,
                            const uint8_t *addr, struct rl_key *k)
{
	if (family == 4) {
		uint64_t w = 0;

		memcpy(&w, addr, 4);
		k->w[0] = w & rl->mask[0][0];
		k->w[1] = 0;
		k->family = 4;
	} else {
		memcpy(k->w, addr, 16);
		k->w[0] &= rl->mask[1][0];
		k->w[1] &= rl->mask[1][1];
		k->family = 6;
	}
}

/* NH (UMAC's inner hash, RFC 4418 §5.2) over the prefix's four 32-bit
 * words: two different prefixes get the same 64-bit value, or values a
 * given distance apart (the family's term), with a chance of at most 2^-32
 * over the key.  Then a keyed bijective mix, whose top bits pick the
 * window.  Four multiplies in all: the cost SipHash would be on every SYN
 * and every cookie ACK is not needed, since nobody sees the hash. */
static inline struct bucket *window(const struct sg_ratelimit *rl, unsigned worker,
                                    const struct rl_key *k)
{
	uint64_t h;
	uint32_t set;

	h  = (uint64_t)((uint32_t)k->w[0] + rl->nh[0]) * (uint32_t)((k->w[0] >> 32) + rl->nh[1]);
	h += (uint64_t)((uint32_t)k->w[1] + rl->nh[2]) * (uint32_t)((k->w[1] >> 32) + rl->nh[3]);
	h += k->family * rl->fam;
	h ^= h >> 32;
	h *= rl->mult;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	set = (uint32_t)(((h >> 32) * rl->nsets) >> 32);
	return rl->b + ((size_t)worker * rl->nsets + set) * SG_RATELIMIT_WAYS;
}

static inline struct bucket *find(struct bucket *win, const struct rl_key *k)
{
	for (unsigned i = 0; i < SG_RATELIMIT_WAYS; i++) {
		struct bucket *b = &win[i];

		if (b->family == k->family && !((b->key[0] ^ k->w[0]) | (b->key[1] ^ k->w[1])))
			return b;
	}
	return NULL;
}

/* The depth of a worker's bucket, in units: its share of the burst, and
 * never less than one token. */
static inline uint64_t depth(const struct sg_ratelimit *rl, uint32_t burst)
{
	uint64_t d = (uint64_t)burst * MS_PER_S;

	return d < rl->cost ? rl->cost : d;
}

/* b's tokens at now: `rate` units per elapsed millisecond, up to the
 * depth.  Elapsed time is the signed 32-bit difference, so the clock may
 * wrap; a negative one (a clock that went back, or a bucket left alone
 * for more than 24.8 days) refills nothing. */
static inline uint64_t refilled(const struct bucket *b, uint32_t now_ms, uint32_t rate,
                                uint64_t cap)
{
	int32_t dt = (int32_t)(now_ms - b->last_ms);
	uint64_t add;

	if (b->tokens >= cap)
		return cap;
	if (dt <= 0)
		return b->tokens;
	add = (uint64_t)(uint32_t)dt * rate;   /* < 2^31 * 2^32: no overflow */
	return add >= cap - b->tokens ? cap : b->tokens + add;
}

/* The bucket a prefix not in its window takes: an unused one, else the
 * fullest at now (a full one holds nothing a new bucket would not), the
 * oldest among equals. */
static struct bucket *victim(struct bucket *win, uint32_t now_ms, uint32_t rate, uint64_t cap)
{
	struct bucket *best = NULL;
	uint64_t best_tokens = 0;
	uint32_t best_age = 0;

	for (unsigned i = 0; i < SG_RATELIMIT_WAYS; i++) {
		struct bucket *b = &win[i];
		uint64_t t;
		uint32_t age;

		if (!b->family)
			return b;
		t = refilled(b, now_ms, rate, cap);
		age = now_ms - b->last_ms;
		if (!best || t > best_tokens || (t == best_tokens && age > best_age)) {
			best = b;
			best_tokens = t;
			best_age = age;
		}
	}
	return best;
}

bool sg_ratelimit_take(struct sg_ratelimit *rl, unsigned worker, uint8_t family,
                       const uint8_t *addr, uint32_t now_ms)
{
	uint64_t rb = __atomic_load_n(&rl->rate_burst, __ATOMIC_RELAXED);
	uint32_t rate = (uint32_t)(rb >> 32);
	uint64_t cap = depth(rl, (uint32_t)rb);
	struct bucket *win, *b;
	struct rl_key k;

	make_key(rl, family, addr, &k);
	win = window(rl, worker, &k);
	b = find(win, &k);
	if (!b) {
		/* A new bucket starts full, and pays for this token. */
		b = victim(win, now_ms, rate, cap);
		b->key[0] = k.w[0];
		b->key[1] = k.w[1];
		b->family = k.family;
		b->tokens = cap - rl->cost;
		b->last_ms = now_ms;
		return true;
	}
	/* Brought up to now, also when now seems earlier: a bucket left alone
	 * for more than 24.8 days then refills again from here on, instead of
	 * waiting another 24.8 days for the difference to turn positive. */
	b->tokens = refilled(b, now_ms, rate, cap);
	b->last_ms = now_ms;
	if (b->tokens < rl->cost)
		return false;
	b->tokens -= rl->cost;
	return true;
}

void sg_ratelimit_refund(struct sg_ratelimit *rl, unsigned worker, uint8_t family,
                         const uint8_t *addr)
{
	uint64_t cap = depth(rl, (uint32_t)__atomic_load_n(&rl->rate_burst, __ATOMIC_RELAXED));
	struct bucket *b;
	struct rl_key k;

	make_key(rl, family, addr, &k);
	b = find(window(rl, worker, &k), &k);
	if (!b)
		return;
	b->tokens = b->tokens + rl->cost >= cap ? cap : b->tokens + rl->cost;
}
