/* The SYN cache (see halfopen.h). */
#include "core/halfopen.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sg_limits.h"

/* Fields only their worker writes but metrics read from other threads:
 * relaxed atomics, plain moves on the machines synguard runs on. */
#define LD_RLX(p)    __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST_RLX(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* A slot's tag (0: free) and birth, eight to a cache line: add and take
 * find their slot, or the bucket's oldest, in one line. */
struct ho_meta {
	uint32_t tag;
	uint32_t born;
};

struct ho_worker {
	struct ho_meta *meta;              /* entries, SG_HALFOPEN_WAYS per bucket */
	struct sg_halfopen_entry *e;       /* beside them, slot for slot */
	uint32_t win_start, cur, prev;     /* the rate: this window's SYNs, the last's */
	uint32_t hand;                     /* the next bucket to sweep */
	uint32_t swept_ms;                 /* the last tick's clock */
	uint32_t sweep_carry;              /* buckets owed, times SWEEP_MS */
	uint32_t used;                     /* read by metrics */
	uint8_t  cookies_only;             /* read by metrics */
	uint64_t st[SG_HALFOPEN_STAT__COUNT];
} __attribute__((aligned(64)));

struct sg_halfopen {
	uint32_t nh[12];                   /* NH key */
	uint64_t mult;                     /* odd */
	uint32_t mask;                     /* buckets per worker - 1 */
	uint32_t entries;                  /* per worker */
	uint32_t timeout_ms;
	unsigned nworkers;
	uint32_t max_rate;                 /* written by a reload */
	uint8_t  max_fill;
	struct ho_worker w[];
};

void sg_halfopen_config_default(struct sg_halfopen_config *c)
{
	c->entries = 8192;         /* 640 KiB a worker */
	/* New connections a second a worker is a busy site, not a flood;
	 * above it cookies cost less than the cache's memory traffic. */
	c->max_syn_rate = 5000;
	/* Linux gives up a SYN_RECV after about 63 s (5 SYN-ACKs); a longer
	 * life only keeps scanners' entries in the fill. */
	c->timeout_s = 60;
	c->max_fill_pct = 75;
}

#define FIELD(f) offsetof(struct sg_halfopen_config, f)

int sg_halfopen_config_check(const struct sg_halfopen_config *c, unsigned nworkers,
                             struct sg_cfg_fault *why)
{
	if (nworkers < 1 || nworkers > SG_MAX_WORKERS)
		return sg_cfg_fail(why, SG_CFG_RANGE, SG_CFG_WORKERS);
	if (c->entries < SG_HALFOPEN_MIN_ENTRIES || c->entries > SG_HALFOPEN_MAX_ENTRIES)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(entries));
	if (c->max_syn_rate > SG_HALFOPEN_MAX_SYN_RATE)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(max_syn_rate));
	if (c->timeout_s < SG_HALFOPEN_MIN_TIMEOUT_S || c->timeout_s > SG_HALFOPEN_MAX_TIMEOUT_S)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(timeout_s));
	if (c->max_fill_pct < 1 || c->max_fill_pct > 100)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(max_fill_pct));
	return 0;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* NH (RFC 4418 §5.2) over the flow's 11 words in the widths sg_flow_make
 * stores them (flow.h), then a keyed mix: no client can choose flows that
 * share a bucket with others, so a bucket is flooded only by chance. */
static uint64_t fhash(const struct sg_halfopen *h, const struct sg_flow *k)
{
	const uint8_t *b = (const uint8_t *)k;
	const uint32_t *nh = h->nh;
	uint64_t x = 0, w;
	uint32_t t;

	for (unsigned i = 0; i < 5; i++) {
		memcpy(&w, b + 8 * i, 8);
		x += (uint64_t)((uint32_t)w + nh[2 * i]) * (uint32_t)((uint32_t)(w >> 32) + nh[2 * i + 1]);
	}
	memcpy(&t, b + 40, 4);
	x += (uint64_t)(t + nh[10]) * nh[11];
	x ^= x >> 32;
	x *= h->mult;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 32);
}

static bool flow_eq(const struct sg_flow *a, const struct sg_flow *b)
{
	return !memcmp(a, b, SG_FLOW_BYTES);
}

/* An entry from a clock slightly ahead (born "in the future") is young. */
static bool expired(const struct sg_halfopen *h, uint32_t now, uint32_t born)
{
	uint32_t age = now - born;

	return age >= h->timeout_ms && age < 0x80000000u;
}

static void count(struct ho_worker *w, enum sg_halfopen_stat s)
{
	ST_RLX(&w->st[s], LD_RLX(&w->st[s]) + 1);
}

static void drop(struct ho_worker *w, uint32_t slot)
{
	w->meta[slot].tag = 0;
	ST_RLX(&w->used, LD_RLX(&w->used) - 1);
}

/* The first slot of k's bucket, and k's tag (never 0). */
static uint32_t locate(const struct sg_halfopen *h, const struct sg_flow *k, uint32_t *tag)
{
	uint64_t x = fhash(h, k);

	*tag = (uint32_t)x | 1;
	return ((uint32_t)(x >> 32) & h->mask) * SG_HALFOPEN_WAYS;
}

static void sweep_bucket(struct sg_halfopen *h, struct ho_worker *w, uint32_t now)
{
	uint32_t first = (w->hand++ & h->mask) * SG_HALFOPEN_WAYS;

	for (uint32_t s = first; s < first + SG_HALFOPEN_WAYS; s++)
		if (w->meta[s].tag && expired(h, now, w->meta[s].born)) {
			drop(w, s);
			count(w, SG_HALFOPEN_STAT_EXPIRED);
		}
}

void sg_halfopen_tick(struct sg_halfopen *h, unsigned worker, uint32_t now_ms)
{
	struct ho_worker *w = &h->w[worker];
	uint32_t el = now_ms - w->swept_ms, n;
	uint64_t owed;

	w->swept_ms = now_ms;
	if (el >= 0x80000000u || !LD_RLX(&w->used)) {
		w->sweep_carry = 0;
		return;
	}
	/* The whole cache every SG_HALFOPEN_SWEEP_MS, in step with the clock;
	 * a long pause between ticks sweeps it once, not many times. */
	if (el > SG_HALFOPEN_SWEEP_MS)
		el = SG_HALFOPEN_SWEEP_MS;
	owed = (uint64_t)el * (h->mask + 1) + w->sweep_carry;
	n = (uint32_t)(owed / SG_HALFOPEN_SWEEP_MS);
	w->sweep_carry = (uint32_t)(owed % SG_HALFOPEN_SWEEP_MS);
	while (n--)
		sweep_bucket(h, w, now_ms);
}

bool sg_halfopen_admit(struct sg_halfopen *h, unsigned worker, uint32_t now_ms)
{
	const uint32_t W = SG_HALFOPEN_WINDOW_MS;
	struct ho_worker *w = &h->w[worker];
	uint32_t rate = LD_RLX(&h->max_rate), el = now_ms - w->win_start;
	uint64_t est, cap, fill, fill_cap;
	bool co = LD_RLX(&w->cookies_only);

	if (el >= W) {
		w->prev = el >= 2 * W ? 0 : w->cur;
		w->cur = 0;
		w->win_start += el - el % W;
		el %= W;
	}
	w->cur++;
	/* SYNs within one window of now, times W: the last window's count for
	 * the part of it that is, this one's whole. */
	est = (uint64_t)w->prev * (W - el) + (uint64_t)w->cur * W;
	_Static_assert(SG_HALFOPEN_WINDOW_MS * SG_HALFOPEN_WINDOW_MS % 1000 == 0, "exact in integers");
	cap = (uint64_t)rate * (W * W / 1000);
	fill = (uint64_t)LD_RLX(&w->used) * 100;
	fill_cap = (uint64_t)LD_RLX(&h->max_fill) * h->entries;
	if (!co) {
		if (!rate || est > cap || fill >= fill_cap) {
			co = true;
			count(w, SG_HALFOPEN_STAT_TO_COOKIES);
		}
	} else if (rate && est * 4 <= cap * 3 && fill * 4 < fill_cap * 3) {
		co = false;
		count(w, SG_HALFOPEN_STAT_TO_CACHE);
	}
	ST_RLX(&w->cookies_only, co);
	return !co;
}

void sg_halfopen_add(struct sg_halfopen *h, unsigned worker, const struct sg_halfopen_entry *e)
{
	struct ho_worker *w = &h->w[worker];
	uint32_t tag, first = locate(h, &e->key, &tag), now = e->born_ms;
	uint32_t free_s = UINT32_MAX, old_s = UINT32_MAX, old_age = 0;

	for (uint32_t s = first; s < first + SG_HALFOPEN_WAYS; s++) {
		struct ho_meta *m = &w->meta[s];
		uint32_t age;

		if (m->tag && expired(h, now, m->born)) {
			drop(w, s);
			count(w, SG_HALFOPEN_STAT_EXPIRED);
		}
		if (!m->tag) {
			if (free_s == UINT32_MAX)
				free_s = s;
			continue;
		}
		if (m->tag == tag && flow_eq(&w->e[s].key, &e->key)) {
			if (w->e[s].client_isn == e->client_isn) {
				count(w, SG_HALFOPEN_STAT_RETRANSMIT);
			} else {
				w->e[s] = *e;
				m->born = now;
				count(w, SG_HALFOPEN_STAT_REPLACED);
			}
			return;
		}
		age = now - m->born;
		if (age >= 0x80000000u)
			age = 0;
		if (old_s == UINT32_MAX || age > old_age) {
			old_s = s;
			old_age = age;
		}
	}
	if (free_s == UINT32_MAX) {
		free_s = old_s;
		count(w, SG_HALFOPEN_STAT_EVICTED);
	} else {
		ST_RLX(&w->used, LD_RLX(&w->used) + 1);
	}
	w->e[free_s] = *e;
	w->meta[free_s] = (struct ho_meta){ .tag = tag, .born = now };
	count(w, SG_HALFOPEN_STAT_ADDED);
}

bool sg_halfopen_take(struct sg_halfopen *h, unsigned worker, const struct sg_flow *k,
                      uint32_t ack, uint32_t now_ms, struct sg_halfopen_entry *out)
{
	struct ho_worker *w = &h->w[worker];
	uint32_t tag, first = locate(h, k, &tag);

	for (uint32_t s = first; s < first + SG_HALFOPEN_WAYS; s++) {
		if (w->meta[s].tag != tag || !flow_eq(&w->e[s].key, k))
			continue;
		if (expired(h, now_ms, w->meta[s].born)) {
			drop(w, s);
			count(w, SG_HALFOPEN_STAT_EXPIRED);
			return false;
		}
		if (w->e[s].our_isn + 1 != ack)
			return false;
		*out = w->e[s];
		drop(w, s);
		count(w, SG_HALFOPEN_STAT_TAKEN);
		return true;
	}
	return false;
}

void sg_halfopen_set_limits(struct sg_halfopen *h, uint32_t max_syn_rate, uint8_t max_fill_pct)
{
	ST_RLX(&h->max_rate, max_syn_rate);
	ST_RLX(&h->max_fill, max_fill_pct);
}

uint32_t sg_halfopen_count(const struct sg_halfopen *h)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < h->nworkers; i++)
		n += LD_RLX(&h->w[i].used);
	return n;
}

bool sg_halfopen_cookies_only(const struct sg_halfopen *h, unsigned worker)
{
	return LD_RLX(&h->w[worker].cookies_only);
}

void sg_halfopen_stats(const struct sg_halfopen *h, unsigned worker,
                       uint64_t out[SG_HALFOPEN_STAT__COUNT])
{
	for (unsigned i = 0; i < SG_HALFOPEN_STAT__COUNT; i++)
		out[i] = LD_RLX(&h->w[worker].st[i]);
}

int sg_halfopen_create(const struct sg_halfopen_config *c, unsigned nworkers,
                       const uint8_t key[SG_HALFOPEN_KEY_BYTES], struct sg_halfopen **out)
{
	struct sg_cfg_fault why;
	struct sg_halfopen *h;
	size_t bytes;
	uint32_t entries = SG_HALFOPEN_WAYS;
	uint64_t s0, s1;

	if (sg_halfopen_config_check(c, nworkers, &why))
		return -EINVAL;
	while (entries < c->entries)
		entries <<= 1;
	bytes = sizeof(*h) + nworkers * sizeof(h->w[0]);
	h = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (!h)
		return -ENOMEM;
	memset(h, 0, bytes);
	h->nworkers = nworkers;
	for (unsigned i = 0; i < nworkers; i++) {
		struct ho_worker *w = &h->w[i];

		w->meta = aligned_alloc(64, entries * sizeof(w->meta[0]));
		w->e = malloc(entries * sizeof(w->e[0]));
		if (!w->meta || !w->e) {
			sg_halfopen_destroy(h);
			return -ENOMEM;
		}
		memset(w->meta, 0, entries * sizeof(w->meta[0]));
	}
	/* The hash key: both halves of the caller's bytes reach every word. */
	memcpy(&s0, key, 8);
	memcpy(&s1, key + 8, 8);
	for (unsigned i = 0; i < 12; i++)
		h->nh[i] = (uint32_t)(splitmix(&s0) ^ (splitmix(&s1) >> 32));
	h->mult = (splitmix(&s0) ^ splitmix(&s1)) | 1;
	h->mask = entries / SG_HALFOPEN_WAYS - 1;
	h->entries = entries;
	h->timeout_ms = c->timeout_s * 1000u;
	h->max_rate = c->max_syn_rate;
	h->max_fill = c->max_fill_pct;
	*out = h;
	return 0;
}

void sg_halfopen_destroy(struct sg_halfopen *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < h->nworkers; i++) {
		free(h->w[i].meta);
		free(h->w[i].e);
	}
	free(h);
}
