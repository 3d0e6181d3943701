/* Per-source quotas (see quota.h). */
#include "core/quota.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


struct quota_worker {
	uint32_t count[2][SG_QUOTA_COLS];
} __attribute__((aligned(64)));

struct sg_quota {
	uint64_t mul[4];            /* random, odd: the keyed hash */
	unsigned prefix4, prefix6;
	struct quota_worker w[];
};

int sg_quota_create(unsigned nworkers, unsigned prefix4, unsigned prefix6,
                    const uint8_t key[SG_QUOTA_KEY_BYTES], struct sg_quota **out)
{
	struct sg_quota *q;
	size_t bytes = sizeof(*q) + nworkers * sizeof(q->w[0]);

	if (prefix4 > 32 || prefix6 > 128)
		return -EINVAL;
	q = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (!q)
		return -ENOMEM;
	memset(q, 0, bytes);
	/* Four odd multipliers from the 16 key bytes and a fixed odd mix, so
	 * every one depends on the key. */
	for (unsigned i = 0; i < 4; i++) {
		uint32_t k32;
		uint64_t k;

		memcpy(&k32, key + 4 * i, 4);
		k = k32;
		q->mul[i] = (k * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)i << 61) ^ 0xd6e8feb86659fd93ull;
		q->mul[i] |= 1;
	}
	q->prefix4 = prefix4;
	q->prefix6 = prefix6;
	*out = q;
	return 0;
}

void sg_quota_destroy(struct sg_quota *q)
{
	free(q);
}

/* The two counters of k's source: its prefix (at most 128 bits, the rest
 * zero) hashed with keyed multiplies, which spread the prefixes over the
 * counters as long as the key is unknown; no source can choose to share
 * an innocent one's counters.  Cheaper than SipHash, on every handshake. */
static void slots(const struct sg_quota *q, const struct sg_flow *k, uint32_t idx[2])
{
	uint8_t src[16] = { 0 };
	unsigned bits = k->family == 4 ? q->prefix4 : q->prefix6;
	uint64_t lo, hi, h0, h1;

	memcpy(src, k->wan_addr, bits / 8);
	if (bits % 8)
		src[bits / 8] = (uint8_t)(k->wan_addr[bits / 8] & (0xff00u >> (bits % 8)));
	memcpy(&lo, src, 8);
	memcpy(&hi, src + 8, 8);
	/* Keyed, then mixed (xor-shift-multiply) so every input bit reaches
	 * the bits the counters are picked by. */
	h0 = (lo ^ k->family) * q->mul[0] + (hi ^ q->mul[3]) * q->mul[1];
	h0 ^= h0 >> 32;
	h0 *= q->mul[2];
	h0 ^= h0 >> 29;
	h1 = h0 * q->mul[3];
	h1 ^= h1 >> 32;
	idx[0] = (uint32_t)h0 % SG_QUOTA_COLS;
	idx[1] = (uint32_t)h1 % SG_QUOTA_COLS;
}

bool sg_quota_take(struct sg_quota *q, unsigned worker, const struct sg_flow *k, uint32_t limit)
{
	struct quota_worker *w = &q->w[worker];
	uint32_t idx[2];

	slots(q, k, idx);
	if (w->count[0][idx[0]] >= limit && w->count[1][idx[1]] >= limit)
		return false;
	w->count[0][idx[0]]++;
	w->count[1][idx[1]]++;
	return true;
}

void sg_quota_give(struct sg_quota *q, unsigned worker, const struct sg_flow *k)
{
	struct quota_worker *w = &q->w[worker];
	uint32_t idx[2];

	slots(q, k, idx);
	if (w->count[0][idx[0]])
		w->count[0][idx[0]]--;
	if (w->count[1][idx[1]])
		w->count[1][idx[1]]--;
}
